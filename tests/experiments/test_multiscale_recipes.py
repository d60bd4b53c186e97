"""The multi-scale experiments (`keras_samplecnn.experiments.multiscale`, `.transfer`; recipes/mtat_multiscale.py and
transfer_multiscale.py) on tiny data: the three steps, the table, resume, transfer, the configs."""

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_samplecnn  # noqa: F401  (registers SampleCNN for loading)
from keras_samplecnn.experiments import command, multiscale, transfer
from keras_samplecnn.experiments.data import ExperimentError
from keras_samplecnn.models.registry import EXTRACTOR_SETS, get_preset
from keras_samplecnn.training.config import ConfigError
from tfrecords_tools import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(ROOT, "recipes")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
TINY = ["--demo", "--demo-size", "n_clips=48", "--demo-size", "clip_seconds=3", "--set", "optimization.max_epochs=1",
        "--set", "data.steps_per_epoch=2", "--classifier", "epochs=3", "--classifier", "hidden=16", "--workers", "1"]  # fmt: skip
SPL = list(EXTRACTOR_SETS["spl2017"])


def _run(script, *args, timeout=600):
    out = subprocess.run([sys.executable, os.path.join(RECIPES, script), *args], check=False, capture_output=True,
                         text=True, env=ENV, cwd=ROOT, timeout=timeout)  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def _widths(name):
    return get_preset(name).arguments["filters"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("multiscale") / "run"
    stdout = _run("mtat_multiscale.py", *TINY, "--seeds", "0,1", "--out", str(out))
    return out, stdout


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
def test_the_three_steps_give_the_table_over_seeds(demo_run):
    out, stdout = demo_run
    table = json.loads((out / "multiscale_table.json").read_text())
    rows = table["rows"]
    assert {r["seed"] for r in rows} == {0, 1} and len(rows) == 2 * (3 + 8)
    summary = {e["variant"]: e for e in table["summary"]}
    # Dimensions from the presets' widths (every layer of each mel CNN is aggregated).
    last = [_widths(p)[-1] for p in SPL]
    every = [sum(_widths(p)) for p in SPL]
    expected = {f"{p}, last layer": w for p, w in zip(SPL, last)}
    expected |= {f"{p}, all cached layers": w for p, w in zip(SPL, every)}
    expected |= {"all extractors, last layers": sum(last), "all extractors, all cached layers": sum(every)}
    assert {v: e["dim"] for v, e in summary.items() if e["dim"] is not None} == expected
    assert sum(every) == 512 + 512 + 640
    for entry in table["summary"]:
        values = entry["roc_auc_values"]
        assert entry["seeds"] == 2 and entry["roc_auc_mean"] == pytest.approx(np.mean(values))
        assert entry["roc_auc_std"] == pytest.approx(np.std(values, ddof=1))
    for seed in (0, 1):
        for preset in SPL:
            run = out / f"seed{seed}" / "extractors" / preset
            results = json.loads((run / "evaluation" / "results.json").read_text())
            row = next(r for r in rows if r["seed"] == seed and r["variant"] == f"{preset}, end to end")
            assert row["roc_auc"] == results["roc_auc"]  # the extractor's own clip-level result
            model = keras.saving.load_model(run / "best.keras", compile=False)
            assert model.input_length == get_preset(preset).input_length and model.pool_sizes is not None
        manifest = json.loads((out / f"seed{seed}" / "features" / "features_manifest.json").read_text())
        assert [e["name"] for e in manifest["extractors"]] == SPL and manifest["dim"] == sum(every)
    verdict = table["verdict"]
    best = max((e for e in table["summary"] if e["kind"] in ("end to end", "single-level", "multi-level")),
               key=lambda e: e["roc_auc_mean"])  # fmt: skip
    assert verdict["best_single"] == best["variant"]
    assert verdict["difference"] == pytest.approx(summary["all extractors, all cached layers"]["roc_auc_mean"]
                                                  - best["roc_auc_mean"])  # fmt: skip
    assert "| all extractors, all cached layers | multi-level + multi-scale | 1664 | 2 |" in stdout
    assert "matmul peak" in stdout


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
def test_a_rerun_trains_nothing_and_reads_the_runs_back(demo_run):
    out, _ = demo_run
    mtimes = {p: os.path.getmtime(out / "seed0" / "extractors" / p / "best.keras") for p in SPL}
    again = _run("mtat_multiscale.py", *TINY, "--seeds", "0", "--out", str(out))
    assert again.count("a finished run, read back") == 3 and "Training " not in again
    assert {p: os.path.getmtime(out / "seed0" / "extractors" / p / "best.keras") for p in SPL} == mtimes


def _genre_folder(root):
    """Raw audio of three classes that are no MTAT tag, with a labels CSV (tfrecords_tools folder)."""
    rng = np.random.default_rng(7)
    rows = []
    for name, frequency in (("hum", 150.0), ("whistle", 3000.0), ("buzz", 800.0)):
        for number in range(8):
            wave = synthetic.tone(frequency * rng.uniform(0.95, 1.05), 1.5, 22050)
            wave = wave + 0.02 * rng.standard_normal(len(wave)).astype(np.float32)
            synthetic.write_audio(root / "audio" / f"{name}/{number}.wav", wave, 22050)
            split = "train" if number < 4 else "valid" if number < 6 else "test"
            rows.append(f"{name}/{number}.wav,{name},{split}")
    labels = root / "labels.csv"
    labels.write_text("path,label,split\n" + "\n".join(rows) + "\n")
    return root / "audio", labels


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
def test_transfer_to_a_folder_dataset_with_other_classes(demo_run, tmp_path):
    source, _ = demo_run
    audio, labels = _genre_folder(tmp_path)
    out = tmp_path / "transfer"
    stdout = _run("transfer_multiscale.py", "--source", str(source), "--seeds", "0,1", "--target", "folder",
                  "--data", str(audio), "--labels", str(labels), "--out", str(out), "--classifier", "epochs=3",
                  "--classifier", "hidden=16")  # fmt: skip
    assert "Training " not in stdout  # the source's extractors are used as they are
    table = json.loads((out / "multiscale_table.json").read_text())
    assert table["task"] == "single_label"
    kinds = {e["variant"]: e["kind"] for e in table["summary"]}
    assert kinds["untrained extractors, all cached layers"] == "untrained"
    assert "end to end" not in kinds.values()  # the source's tags are not the target's classes
    manifest = json.loads((out / "seed1" / "features" / "features_manifest.json").read_text())
    assert (
        manifest["data"]["tags"] == ["buzz", "hum", "whistle"] and manifest["data"]["task"] == "single_label"
    )
    assert manifest["extractors"][0]["path"] == str(
        (source / "seed1" / "extractors" / SPL[0] / "best.keras").resolve()
    )
    for entry in table["summary"]:
        assert entry["seeds"] == 2 and 0.0 <= entry["accuracy_mean"] <= 1.0
    assert "| accuracy | ROC-AUC |" in stdout

    # --models: the same files for every seed, so one feature cache shared by the seeds.
    models = ",".join(str(source / "seed0" / "extractors" / p / "best.keras") for p in SPL[:2])
    converted = out / "tfrecords"
    fixed = tmp_path / "fixed"
    _run("transfer_multiscale.py", "--models", models, "--seeds", "0,1", "--target", "folder", "--data",
         str(converted), "--out", str(fixed), "--classifier", "epochs=2", "--classifier", "hidden=8")  # fmt: skip
    assert (fixed / "features" / "features_manifest.json").exists() and not (fixed / "seed0").exists()
    kinds = {e["kind"] for e in json.loads((fixed / "multiscale_table.json").read_text())["summary"]}
    assert "untrained" not in kinds and "multi-level + multi-scale" in kinds


def test_missing_extractors_and_targets_are_clear_errors(tmp_path):
    def fails(*args):  # in this process: the errors come before any work
        with pytest.raises(ExperimentError) as info:
            transfer.main("transfer_multiscale", argv=[*args, "--out", str(tmp_path / "out")])
        return str(info.value)

    assert "holds no trained extractor" in fails("--source", str(tmp_path), "--target", "folder", "--data",
                                                  str(tmp_path), "--labels", "x.csv")  # fmt: skip
    assert "give the extractors" in fails("--target", "gtzan", "--data", str(tmp_path))
    assert "needs --labels" in fails("--models", __file__, "--target", "folder", "--data", str(tmp_path))
    assert "cannot load" in fails("--models", __file__, "--target", "gtzan", "--data", str(tmp_path))


def test_families_choose_presets_and_layers():
    config = multiscale.load("mtat_multiscale").config
    presets, layers = multiscale.choose_extractors(config, family="icmlw2017")
    assert presets == list(EXTRACTOR_SETS["icmlw2017"]) and layers == "top3" and config.seeds == [0]
    assert multiscale.options_of(config, None, {}) == {}
    presets, layers = multiscale.choose_extractors(config, extractors=["spl2017_27", "smc2017_3_3_19683"],
                                                   layers="all")  # fmt: skip
    assert presets == ["spl2017_27", "smc2017_3_3_19683"] and layers == "all"
    assert multiscale.extractor_geometry(presets) == (19683, 22050)
    assert multiscale.choose_extractors(config) == (list(EXTRACTOR_SETS["spl2017"]), "all")
    with pytest.raises(ExperimentError, match="unknown model"):
        multiscale.choose_extractors(config, extractors=["vggish"])
    with pytest.raises(ExperimentError, match="family: 'vgg'"):
        multiscale.choose_extractors(config, family="vgg")
    with pytest.raises(ExperimentError, match="KEY=VALUE"):
        command.classifier_options(["depth=3"], {})


def test_the_demo_sections_seeds_and_classifier_sit_under_the_options():
    loaded = multiscale.load("mtat_multiscale", demo=True)
    # the demo's classifier over the config's (none), the command line's over both
    assert multiscale.options_of(loaded.config, loaded.demo, {"hidden": 64, "dropout": 0.25}) == {
        "hidden": 64, "epochs": 100, "patience": 5, "dropout": 0.25}  # fmt: skip
    assert loaded.demo.seeds == [0, 1, 2] and loaded.demo.profile == "cpu_multiscale"
    # the transfer config extends mtat_multiscale's: the same extractors, their demo, and its target
    loaded = multiscale.load("transfer_multiscale", True, ["target.dataset.clips_per_genre=10"], transfer.Transfer,
                             transfer.TransferDemo)  # fmt: skip
    assert loaded.experiment == "transfer" and loaded.dataset == "mtat" and loaded.config.target == "gtzan"
    assert loaded.config.extractors == "multiscale_extractors" and loaded.demo.seeds == [0, 1, 2]
    assert loaded.demo.target.dataset["clips_per_genre"] == 10 and loaded.demo.source == "runs/mtat_multiscale_demo"


@pytest.mark.parametrize("demo, key", [("seeds: [0, one]", "demo.seeds"),
                                       ("classifier: {hidden: wide}", "demo.classifier.hidden"),
                                       ("classifier: {depth: 3}", "'demo.classifier'"),
                                       ("target: {dataset: {clips_per_genre: 4}, split: 3}", "'demo.target'"),
                                       ("source: 3", "demo.source")])  # fmt: skip
def test_a_bad_value_in_the_demo_section_is_refused_naming_the_key(tmp_path, demo, key):
    config = tmp_path / "bad.yaml"
    base = os.path.join(ROOT, "keras_samplecnn", "experiments", "configs", "transfer_multiscale.yaml")
    config.write_text(f"extends: {base}\ndemo:\n  {demo}\n")
    multiscale.load(str(config), schema=transfer.Transfer)  # without --demo the section is not read
    with pytest.raises(ConfigError, match=key.replace("[", r"\[")):
        multiscale.load(str(config), True, (), transfer.Transfer, transfer.TransferDemo)
    with pytest.raises(SystemExit, match=key.replace("[", r"\[")):  # the command says it before any work
        from keras_samplecnn.experiments import main

        main(str(config), argv=["--demo", "--out", str(tmp_path / "out")])


@pytest.mark.parametrize("item, message", [("hidden=-1", "--classifier.hidden: -1 is not null or an int >= 0"),
                                           ("dropout=1.5", "--classifier.dropout"), ("epochs=two", "expected int"),
                                           ("depth=2", "KEY one of")])  # fmt: skip
def test_classifier_options_are_checked_as_the_config_section_is(item, message):
    from keras_samplecnn.experiments import command
    from keras_samplecnn.experiments.data import ExperimentError

    assert command.classifier_options(["hidden=0", "learning_rate=0.01"], {"epochs": 5}) == {
        "epochs": 5, "hidden": 0, "learning_rate": 0.01}  # fmt: skip
    with pytest.raises(ExperimentError, match=re.escape(message)):
        command.classifier_options([item], {})
