import csv
import os
import subprocess
import sys

import pytest
import yaml

import keras

from keras_samplecnn.data.pipeline import read_manifest
from keras_samplecnn.evaluation import evaluate, predict_clips, tagging_metrics
from keras_samplecnn.training import config as config_lib
from keras_samplecnn.training.trainer import BEST, LOG, finished, train
from tests.tiny_data import TAGS, make_tiny_mtat

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = {"name": "se", "overrides": {"n": 4, "input_length": 243, "filters": [16, 16, 32, 32], "stem_filters": 16,
                                     "se_ratio": 0.5, "head_units": 32}}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_mtat(str(tmp_path_factory.mktemp("tiny")))


def make_config(data, out, **optimization):
    opt = {"max_epochs": 6, "learning_rate": 0.05, **optimization}
    return config_lib.from_dict(
        {
            "model": MODEL,
            "data": {"dir": data, "batch_size": 8, "steps_per_epoch": 6, "shuffle_buffer": 16},
            "optimization": opt,
            "output": {"dir": out, "tensorboard": False, "verbose": 0},
        }
    )


def read_log(out):
    with open(os.path.join(out, LOG), newline="") as f:
        return list(csv.DictReader(f))


def test_loss_falls_and_outputs_are_written(tiny_data, tmp_path):
    out = str(tmp_path / "run")
    best = train(make_config(tiny_data, out))
    rows = read_log(out)
    assert len(rows) == 6
    assert float(rows[-1]["loss"]) < 0.8 * float(rows[0]["loss"])
    model = keras.saving.load_model(best)
    tags = read_manifest(tiny_data)["tags"]  # ordered by frequency by the converter
    assert sorted(tags) == sorted(TAGS) and model.tags == tags and model.sample_rate == 8000
    assert finished(out) and os.path.exists(os.path.join(out, "config.yaml"))
    # Evaluation agrees with a direct scikit-learn computation on the same predictions.
    results = evaluate(
        best, tiny_data, split="test", out_dir=str(tmp_path / "eval"), training_log=os.path.join(out, LOG)
    )
    labels, scores = predict_clips(model, tiny_data, "test")
    direct = tagging_metrics(labels, scores, tags)
    assert results["roc_auc"] == pytest.approx(direct["roc_auc"]) and results["num_clips"] == len(labels) == 9
    assert results["roc_auc"] > 0.6  # tones are easy: better than chance after 6 short epochs
    for name in ("results.json", "report.md", "per_tag_roc_auc.png", "training_curves.png"):
        assert os.path.getsize(tmp_path / "eval" / name) > 100
    # Running the same config again does not train again.
    assert train(make_config(tiny_data, out)) == best and len(read_log(out)) == 6


def test_staged_decay_reloads_best_and_stops(tiny_data, tmp_path):
    out = str(tmp_path / "run")
    # A huge learning rate makes validation loss stop improving at once.
    config = make_config(tiny_data, out, learning_rate=5.0, patience=1, stages=2, max_epochs=30)
    train(config)
    rows = read_log(out)
    assert len(rows) < 30  # the schedule ended training
    rates = sorted({round(float(r["learning_rate"]), 6) for r in rows}, reverse=True)
    assert rates[0] == 5.0 and rates[1] == pytest.approx(1.0)  # x0.2 at the stage change


def run_script(config_path, *extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, os.path.join(HERE, "train_script.py"), config_path, *extra]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=os.path.dirname(HERE), timeout=600
    )


def test_killed_run_resumes_where_it_was(tiny_data, tmp_path):
    out = str(tmp_path / "run")
    config_path = str(tmp_path / "config.yaml")
    config = make_config(tiny_data, out)
    with open(config_path, "w") as f:
        yaml.safe_dump(config.to_dict(), f)
    killed = run_script(config_path, "--kill-at", "3:2")  # mid-way through the 4th epoch
    assert killed.returncode == 137, killed.stderr[-2000:]
    assert [r["epoch"] for r in read_log(out)] == ["0", "1", "2"]
    assert os.path.exists(os.path.join(out, BEST)) and not finished(out)
    resumed = run_script(config_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # Continued at epoch 3: each epoch logged once, the requested number in all.
    assert [r["epoch"] for r in read_log(out)] == ["0", "1", "2", "3", "4", "5"]
    assert finished(out)
    keras.saving.load_model(os.path.join(out, BEST))
