"""The m^n table (`keras_samplecnn.experiments.mn_table`, recipes/mtat_mn_table.py): rows of the SMC 2017 table
trained on a tiny demo, the table, resume, the rows and the config refused naming what is wrong."""

import json
import os
import re
import subprocess
import sys
import time

import keras
import pytest

import keras_samplecnn  # noqa: F401  (registers SampleCNN for loading)
from keras_samplecnn.experiments import mn_table
from keras_samplecnn.experiments.data import ExperimentError
from keras_samplecnn.models.registry import get_preset, smc2017_table
from keras_samplecnn.training.config import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "recipes", "mtat_mn_table.py")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
ROWS = ["smc2017_3_3_19683", "smc2017_2_6_16384"]  # 3^3 (stem 729) and 2^6 (stem 256): short inputs
TINY = ["--demo", "--demo-size", "n_clips=48", "--demo-size", "clip_seconds=3", "--set", "optimization.max_epochs=1",
        "--set", "data.steps_per_epoch=2", "--workers", "1"]  # fmt: skip


def _run(*args, timeout=300):
    out = subprocess.run([sys.executable, SCRIPT, *args], check=False, capture_output=True, text=True, env=ENV,
                         cwd=ROOT, timeout=timeout)  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def _table_lines(stdout):
    return {line.split("|")[1].strip(): line for line in stdout.splitlines() if line.startswith("| smc2017_")}


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
def test_rows_train_on_the_demo_and_the_table_reads_them_back(tmp_path):
    out = tmp_path / "mn"
    stdout = _run(*TINY, "--out", str(out), "--rows", "3^3,2^6")
    with open(out / "mn_table.json", encoding="utf-8") as f:
        table = json.load(f)
    assert [row["preset"] for row in table["rows"]] == ROWS and table["width"] == 0.25
    printed = _table_lines(stdout)
    assert list(printed) == ROWS
    for row, name in zip(table["rows"], ROWS):
        preset = get_preset(name)
        with open(out / name / "evaluation" / "results.json", encoding="utf-8") as f:
            results = json.load(f)
        assert row["paper_roc_auc"] == preset.mtat_auc and row["roc_auc"] == results["roc_auc"]
        assert (
            f"| {preset.mtat_auc:.4f} |" in printed[name] and f"| {results['roc_auc']:.4f} |" in printed[name]
        )
        # the row's geometry survives the demo profile: m, n, input length, stem, 22050 Hz
        model = keras.saving.load_model(str(out / name / "best.keras"), compile=False)
        m, n, length = (preset.arguments[k] for k in ("m", "n", "input_length"))
        assert (model.m, model.n, model.input_length, model.sample_rate) == (m, n, length, 22050)
        assert model.stem_size == row["stem"] == length // m**n
        assert row["m^n"] == f"{m}^{n}" and row["input_samples"] == length
        assert row["parameters"] == model.count_params()
        with open(out / "data" / f"{length}_22050Hz" / "tfrecords" / "manifest.json", encoding="utf-8") as f:
            assert json.load(f)["segment_length"] == length  # each length converted for itself
    markdown = (out / "mn_table.md").read_text()
    assert all(name in markdown for name in ROWS) and "arXiv:1703.01789" in markdown

    # A rerun trains nothing: fast, the same numbers, read back from each row's results.json.
    mtimes = {name: os.path.getmtime(out / name / "best.keras") for name in ROWS}
    start = time.monotonic()
    again = _run(*TINY, "--out", str(out), "--rows", ",".join(ROWS))
    assert time.monotonic() - start < 60
    assert again.count("holds a finished run: not trained again") == 2 and "Training " not in again
    assert {name: os.path.getmtime(out / name / "best.keras") for name in ROWS} == mtimes
    with open(out / "mn_table.json", encoding="utf-8") as f:
        assert json.load(f) == table
    assert _table_lines(again) == printed


def test_list_prints_every_row_with_the_papers_auc():
    stdout = _run("--list", timeout=120)
    for preset in smc2017_table():
        line = next(line for line in stdout.splitlines() if line.startswith(f"| {preset.name} |"))
        assert f"| {preset.mtat_auc:.4f} |" in line
    assert "| frame | 3^4 | 59049 | 729 | 0.8655 |" in stdout
    assert len(_table_lines(stdout)) == len(smc2017_table()) == 42


@pytest.mark.parametrize("rows, message", [("3^8", "3^8@19683 or 3^8@59049"), ("7^2", "has no row"),
                                           ("nonsense", "neither a preset"), ("3^x", "neither a preset"),
                                           ("3^9@5x", "neither a preset")])  # fmt: skip
def test_bad_rows_are_refused(rows, message):
    with pytest.raises(ExperimentError, match=re.escape(message)):
        mn_table.resolve_rows([rows])


def test_rows_resolve_from_names_and_shorthands():
    assert mn_table.resolve_rows(["3^9", " 2^14", "smc2017_3_8_19683", "3^8@59049", "frame", "3^9", ""]) == [
        "smc2017_3_9_59049", "smc2017_2_14_32768", "smc2017_3_8_19683", "smc2017_3_8_59049", "frame"]  # fmt: skip
    # the widths: a quarter of default_filters(9) = 128, 128, 256, 256, 256, 256, 256, 256, 512 (and stem 128)
    sets = mn_table.row_sets(get_preset("smc2017_3_9_59049"), 0.25)
    assert "model.overrides.filters=[32, 32, 64, 64, 64, 64, 64, 64, 128]" in sets
    assert "model.overrides.stem_filters=32" in sets and "model.overrides.input_length=59049" in sets


def test_a_bad_command_line_row_exits_with_the_message(tmp_path):
    out = subprocess.run([sys.executable, SCRIPT, "--rows", "3^8", "--out", str(tmp_path)], check=False,
                         capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120)  # fmt: skip
    assert out.returncode != 0 and "3^8@19683 or 3^8@59049" in out.stderr, out.stderr[-2000:]


@pytest.mark.parametrize("demo, key", [("width: 0", "demo.width: 0.0 is not a positive"),
                                       ("width: wide", "demo.width: expected float"),
                                       ("dataset: 800", "demo.dataset: expected dict"),
                                       ("rows: [3^9]", "in 'demo'")])  # fmt: skip
def test_a_bad_value_in_the_demo_section_is_refused_naming_the_key(tmp_path, demo, key):
    config = tmp_path / "bad.yaml"
    base = os.path.join(ROOT, "keras_samplecnn", "experiments", "configs", "mtat_mn_table.yaml")
    config.write_text(f"extends: {base}\ndemo:\n  {demo}\n")
    assert mn_table.load(str(config)).config.width == 1.0  # without --demo the section is not read
    with pytest.raises(ConfigError, match=key):
        mn_table.load(str(config), demo=True)
