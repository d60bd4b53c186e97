import json
import os
import re
import subprocess
import sys

import keras

import keras_samplecnn  # noqa: F401  (registers SampleCNN for loading)
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = ["mtat_basic.py", "mtat_se.py", "mtat_rese.py", "mtat_resse.py"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_docstring_gives_command_time_and_number(recipe):
    with open(os.path.join(ROOT, "recipes", recipe), encoding="utf-8") as f:
        doc = f.read().split('"""')[1]
    assert f"python recipes/{recipe} --demo" in doc and "ROC-AUC 0.9" in doc and "minutes" in doc


@pytest.mark.parametrize("recipe", ["speech_commands_basic.py", "speech_commands_resse.py", "dcase2017_basic.py",
                                    "dcase2017_resse.py"])  # fmt: skip
def test_jstsp_docstring_gives_command_time_and_number(recipe):
    with open(os.path.join(ROOT, "recipes", recipe), encoding="utf-8") as f:
        doc = f.read().split('"""')[1]
    metric = r"accuracy\s+(0\.9|1\.0)\d*" if recipe.startswith("speech") else r"ROC-AUC\s+0\.9\d*"
    assert re.search(metric, doc), metric  # the demo's number, at least 0.9 as the issue asks
    assert f"python recipes/{recipe} --demo" in doc and "minutes" in doc and "GFLOP/s" in doc


def test_without_data_it_says_what_to_download(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    script = os.path.join(ROOT, "recipes", "mtat_se.py")
    out = subprocess.run([sys.executable, script, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert out.returncode != 0
    for expected in ("annotations_final.csv", "mp3.zip.001", "--data data/mtat", "--demo"):
        assert expected in out.stderr, expected


JSTSP_RECIPES = ["speech_commands_basic.py", "speech_commands_resse.py", "dcase2017_basic.py", "dcase2017_resse.py"]
# The ReSE-2 recipes differ from the basic ones by their config only: their end-to-end runs are `large`.
END_TO_END = [pytest.param(r, marks=pytest.mark.large) if "resse" in r else r for r in JSTSP_RECIPES]
# A few seconds of work: the recipe's whole path (synthesis in the real layout, the real
# converter, training, evaluation) with a 3-block model, one short epoch and a tiny demo.
TINY_PROFILE = """\
model:
  overrides: {sample_rate: 8000, n: 3, input_length: 8000, stem_filters: 8, filters: [8, 8, 16], se_ratio: 0.5}
data: {batch_size: 4, eval_batch_size: 16, steps_per_epoch: 2}
optimization: {max_epochs: 1, stages: 1}
output: {tensorboard: false}
"""
TINY_DEMO = {
    "speech_commands": ["clips_per_word=6", "words=[left, right, up, down]", "seed=3"],
    # basic: the official split (testing set = valid); resse: the JSTSP split, which needs
    # at least 5 clips of a class to hold one out
    "dcase2017_basic.py": ["n_train=10", "n_test=3", "n_eval=6", "clip_seconds=2.0"],
    "dcase2017_resse.py": ["n_train=60", "n_test=6", "n_eval=6", "clip_seconds=2.0"],
}


@pytest.mark.parametrize("recipe", END_TO_END)
def test_jstsp_recipe_runs_end_to_end_on_a_tiny_demo(recipe, tmp_path):
    profile = tmp_path / "tiny.yaml"
    profile.write_text(TINY_PROFILE)
    dataset = "speech_commands" if recipe.startswith("speech") else "dcase2017"
    command = [sys.executable, os.path.join(ROOT, "recipes", recipe), "--demo", "--out", str(tmp_path / "run"),
               "--profile", str(profile), "--workers", "1"]  # fmt: skip
    for item in TINY_DEMO.get(dataset) or TINY_DEMO[recipe]:
        command += ["--demo-size", item]
    if recipe == "dcase2017_basic.py":
        command += ["--split", "official"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    with open(tmp_path / "run" / "evaluation" / "results.json", encoding="utf-8") as f:
        results = json.load(f)
    with open(tmp_path / "run" / "tfrecords" / "manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["dataset"] == dataset and manifest["sample_rate"] == 8000
    model = keras.saving.load_model(str(tmp_path / "run" / "best.keras"))
    # JSTSP settings the profile does not touch: standardisation by the training split's statistics
    assert model.input_std == pytest.approx(manifest["splits"]["train"]["std"])
    if dataset == "speech_commands":
        assert results["task"] == "single_label" and model.activation == "softmax"
        assert manifest["tags"] == ["down", "left", "right", "up"]
        assert "accuracy" in results and len(results["confusion_matrix"]) == 4
        assert "accuracy" in out.stdout and "macro F1" in out.stdout
        assert os.path.exists(tmp_path / "run" / "evaluation" / "confusion_matrix.png")
    else:
        assert results["task"] == "multi_label" and model.activation == "sigmoid"
        assert len(manifest["tags"]) == 17 and manifest["min_length"] == 10 * 8000  # clips tiled to 10 s
        assert results["f1"]["threshold"] == 0.1 and "F1 at threshold (0.1)" in out.stdout
    assert model.multi_level == recipe.endswith("resse.py")


@pytest.mark.parametrize("recipe", JSTSP_RECIPES)
def test_jstsp_recipe_says_what_to_download(recipe, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    script = os.path.join(ROOT, "recipes", recipe)
    out = subprocess.run([sys.executable, script, "--data", str(tmp_path / "nowhere")],
                         capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert out.returncode != 0
    expected = ("speech_commands_v0.02.tar.gz", "validation_list.txt") if recipe.startswith("speech") else (
        "groundtruth_weak_label_training_set.csv", "evaluation_set_formatted_audio_segments")  # fmt: skip
    for text in (*expected, "--demo"):
        assert text in out.stderr, text


def test_an_empty_split_stops_with_a_clear_message(tmp_path):
    # 8 clips of two words: the speaker-hash rule puts them all in train (seed 0).
    command = [sys.executable, os.path.join(ROOT, "recipes", "speech_commands_basic.py"), "--demo", "--out",
               str(tmp_path / "run"), "--workers", "1", "--demo-size", "clips_per_word=4",
               "--demo-size", "words=[left, right]"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))  # fmt: skip
    assert out.returncode != 0
    assert "the valid and test split(s)" in out.stderr and "hold no clip" in out.stderr, out.stderr[-2000:]


def test_speech_recipe_12_class_variant(tmp_path):
    profile = tmp_path / "tiny.yaml"
    profile.write_text(TINY_PROFILE)
    command = [sys.executable, os.path.join(ROOT, "recipes", "speech_commands_basic.py"), "--demo", "--variant", "12",
               "--profile", str(profile), "--workers", "1", *[a for item in TINY_DEMO["speech_commands"]
                                                               for a in ("--demo-size", item)]]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    run = tmp_path / "runs" / "speech_commands_basic_12_demo"  # the variant gets its own folder
    with open(run / "tfrecords" / "manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    words = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes"]
    assert manifest["tags"] == [*words, "_silence_", "_unknown_"]


def test_an_unknown_demo_size_key_names_the_allowed_ones(tmp_path):
    command = [sys.executable, os.path.join(ROOT, "recipes", "dcase2017_basic.py"), "--demo", "--out",
               str(tmp_path / "run"), "--demo-size", "n_clips=10"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))  # fmt: skip
    assert out.returncode != 0
    assert "unknown key(s) ['n_clips']" in out.stderr and "'n_train'" in out.stderr, out.stderr[-2000:]
