import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from sklearn.metrics import f1_score

import keras

from keras_samplecnn.data.pipeline import read_manifest
from keras_samplecnn.evaluation import evaluate, predict_clips, tagging_metrics, tune_thresholds
from keras_samplecnn.training import config as config_lib
from keras_samplecnn.training.callbacks import StagedDecay
from keras_samplecnn.training.optimizers import StepDecaySGD
from keras_samplecnn.training.trainer import BEST, LOG, finished, train
from tests.tiny_data import TAGS

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = {"name": "se", "overrides": {"n": 4, "input_length": 243, "filters": [16, 16, 32, 32], "stem_filters": 16,
                                     "se_ratio": 0.5, "head_units": 32}}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_data(tiny_mtat):
    return tiny_mtat


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
    # F1 at the threshold and at thresholds tuned on the validation split, from the command line.
    command = [os.path.join(os.path.dirname(sys.executable), "samplecnn"), "evaluate", best, "--data", tiny_data,
               "--threshold", "0.3", "--tune-on", "valid", "--out", str(tmp_path / "cli")]  # fmt: skip
    printed = subprocess.run(command, capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))  # fmt: skip
    assert printed.returncode == 0, printed.stderr[-2000:]
    with open(tmp_path / "cli" / "results.json", encoding="utf-8") as f:
        cli_results = json.load(f)
    predicted = scores >= 0.3
    assert cli_results["f1"]["f1_micro"] == pytest.approx(f1_score(labels, predicted, average="micro"), abs=1e-6)
    assert f"F1 at threshold (0.3): micro {cli_results['f1']['f1_micro']:.4f}" in printed.stdout
    # The JSTSP code's "acc" at the same threshold: clips whose every tag is decided right.
    exact = np.mean(np.all((scores > 0.3) == (labels > 0.5), axis=1))
    assert cli_results["thresholded_accuracy"] == {"value": pytest.approx(exact, abs=1e-6), "threshold": 0.3}
    accuracy = cli_results["thresholded_accuracy"]["value"]
    name = "thresholded accuracy (authors' eval.py: exact match of score > 0.3)"
    assert f"{name}  {accuracy:.4f}" in printed.stdout
    assert results["thresholded_accuracy"]["threshold"] == 0.5  # the default, multi-label data but not DCASE
    valid_labels, valid_scores = predict_clips(model, tiny_data, "valid")
    tuned = tune_thresholds(valid_labels, valid_scores, default=0.3)
    assert cli_results["tuned"]["threshold"] == pytest.approx(tuned.tolist(), abs=1e-6)
    assert "tuned on valid" in printed.stdout and "macro ROC-AUC" in printed.stdout
    # Running the same config again does not train again.
    assert train(make_config(tiny_data, out)) == best and len(read_log(out)) == 6


class Plateau(keras.callbacks.Callback):
    """Reports a validation loss that never improves after the first epoch."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = 1.0


class Record(keras.callbacks.Callback):
    """What each epoch starts with: learning rate, optimizer step count, weights."""

    def __init__(self):
        super().__init__()
        self.rates, self.steps, self.start_weights, self.end_weights = [], [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.rates.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
        self.steps.append(int(keras.ops.convert_to_numpy(optimizer.iterations)))
        self.start_weights.append(self.model.get_weights())

    def on_epoch_end(self, epoch, logs=None):
        self.end_weights.append(self.model.get_weights())


def test_five_stages_on_a_plateau(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(StepDecaySGD(0.01, momentum=0.9, nesterov=True, step_decay=1e-6), "mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    schedule = StagedDecay(0.01, factor=0.2, patience=1, stages=5, best_path=str(tmp_path / "best.keras"))
    record = Record()
    # Plateau runs first and changes the logs the schedule sees; Record reads what it set.
    model.fit(x, x[:, :1], batch_size=16, epochs=30, verbose=0, callbacks=[Plateau(), schedule, record])
    # A stage lasts patience + 1 epochs on a plateau (its first epoch improves on the stage's
    # fresh best); five stages, then training ends.
    expected = [0.01 * 0.2 ** (epoch // 2) for epoch in range(10)]
    np.testing.assert_allclose(record.rates, expected, rtol=1e-6)
    # Each stage starts from the best weights (epoch 0's) with a fresh optimizer.
    assert record.steps == [0, 4, 0, 4, 0, 4, 0, 4, 0, 4]
    for epoch in (2, 4, 6, 8):
        for now, best in zip(record.start_weights[epoch], record.end_weights[0]):
            np.testing.assert_array_equal(now, best)
    assert schedule.state["finished"] and schedule.state["stage"] == 4


def run_script(config_path, *extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, os.path.join(HERE, "train_script.py"), config_path, *extra]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )


def test_resume_across_a_stage_change_keeps_the_schedule(tiny_data, tmp_path):
    out = str(tmp_path / "run")
    config_path = str(tmp_path / "config.yaml")
    config = make_config(tiny_data, out, patience=1, stages=3, max_epochs=20)
    with open(config_path, "w") as f:
        yaml.safe_dump(config.to_dict(), f)
    # Stage 1 begins at epoch 2; the run dies in the middle of it.
    killed = run_script(config_path, "--plateau", "--kill-at", "2:3")
    assert killed.returncode == 137, killed.stderr[-2000:]
    assert [r["epoch"] for r in read_log(out)] == ["0", "1"]
    resumed = run_script(config_path, "--plateau")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = read_log(out)
    assert [r["epoch"] for r in rows] == [str(e) for e in range(6)]
    expected = [0.05 * 0.2 ** (epoch // 2) for epoch in range(6)]  # make_config's rate, x0.2 per stage
    np.testing.assert_allclose([float(r["learning_rate"]) for r in rows], expected, rtol=1e-6)
    assert [int(float(r["stage"])) for r in rows] == [0, 0, 1, 1, 2, 2]
    assert finished(out)


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


def test_kill_while_the_backup_is_written_resumes_from_the_last_whole_one(tiny_data, tmp_path):
    out = str(tmp_path / "run")
    config_path = str(tmp_path / "config.yaml")
    with open(config_path, "w") as f:
        yaml.safe_dump(make_config(tiny_data, out).to_dict(), f)
    killed = run_script(config_path, "--kill-writing-backup", "2")  # writing the backup of the 3rd epoch
    assert killed.returncode == 137, killed.stderr[-2000:]
    assert [r["epoch"] for r in read_log(out)] == ["0", "1"]  # CSVLogger runs after the backup
    resumed = run_script(config_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming after epoch 2" in resumed.stdout
    assert [r["epoch"] for r in read_log(out)] == ["0", "1", "2", "3", "4", "5"]
    assert finished(out) and not os.path.exists(os.path.join(out, "backup"))


@pytest.mark.parametrize("layout", ["keras", "ours"])
def test_an_unreadable_backup_is_reported_and_training_starts_over(tiny_data, tmp_path, capsys, layout):
    out = str(tmp_path / "run")
    backup = os.path.join(out, "backup")
    os.makedirs(backup)
    if layout == "keras":  # keras.callbacks.BackupAndRestore's files, as a kill mid-write left them
        with open(os.path.join(backup, "latest.weights.h5"), "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n" + bytes(88))
        with open(os.path.join(backup, "training_metadata.json"), "w") as f:
            json.dump({"epoch": 3, "batch": 0}, f)
    else:  # this version's files, the weights damaged after they were written
        with open(os.path.join(backup, "epoch00003.weights.h5"), "wb") as f:
            f.write(b"not weights")
        with open(os.path.join(backup, "backup.json"), "w") as f:
            json.dump({"epoch": 3, "weights": "epoch00003.weights.h5", "sha256": "0" * 64}, f)
    train(make_config(tiny_data, out, max_epochs=2))
    printed = capsys.readouterr().out
    assert "warning: the backup in" in printed and "starting over from epoch 1" in printed
    assert [r["epoch"] for r in read_log(out)] == ["0", "1"] and finished(out)


def test_a_whole_backup_of_keras_backup_and_restore_is_resumed(tiny_data, tmp_path, capsys):
    from keras_samplecnn.training.trainer import build_model, compile_model

    out = str(tmp_path / "run")
    config = make_config(tiny_data, out, max_epochs=2)
    model = build_model(config, read_manifest(tiny_data), "float32")
    compile_model(model, config, False, "multi_label")
    model.optimizer.build(model.trainable_variables)
    os.makedirs(os.path.join(out, "backup"))
    model.save_weights(os.path.join(out, "backup", "latest.weights.h5"))  # as an earlier version left it
    with open(os.path.join(out, "backup", "training_metadata.json"), "w") as f:
        json.dump({"epoch": 1, "batch": 0}, f)
    train(config)
    assert "Resuming after epoch 1" in capsys.readouterr().out
    assert [r["epoch"] for r in read_log(out)] == ["1"] and finished(out)


def test_standardize_uses_the_training_splits_statistics(tiny_data):
    from keras_samplecnn.training.trainer import build_model

    manifest = read_manifest(tiny_data)
    config = make_config(tiny_data, "unused")
    config.data.standardize = True
    model = build_model(config, manifest, "float32")
    # The converter's statistics, recomputed here from the stored PCM of the training shards.
    from tfrecords_tools.writer import read_examples

    pcm = np.concatenate([e["audio"] for shard in manifest["splits"]["train"]["shards"]
                          for e in read_examples(os.path.join(tiny_data, shard["file"]))]) / 32768.0  # fmt: skip
    assert model.input_mean == pytest.approx(pcm.mean(), abs=1e-9)
    assert model.input_std == pytest.approx(pcm.std(), rel=1e-6)
    assert model.get_layer("standardize") is not None
    del manifest["splits"]["train"]["std"]
    with pytest.raises(config_lib.ConfigError, match="convert the data again"):
        build_model(config, manifest, "float32")


def test_input_length_is_bounded_before_building(tiny_data, monkeypatch):
    from keras_samplecnn.training import trainer
    from keras_samplecnn.training.trainer import build_model

    manifest = read_manifest(tiny_data)
    config = make_config(tiny_data, "unused")

    def never(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(trainer, "build", never)
    longest = config_lib.MAX_INPUT_SECONDS * 8000  # the tiny data's rate
    for value, message in [
        (10**8, rf"model.overrides.input_length: 100000000 samples \(12500 s at 8000 Hz\) is longer than "
                rf"{config_lib.MAX_INPUT_SECONDS} s \({longest} samples\)"),
        (longest + 1, "is longer than"),
        ("1e8", "model.overrides.input_length: expected an int >= 1, got '1e8'"),
        (0, "expected an int >= 1, got 0"),
    ]:  # fmt: skip
        config.model.overrides = {**MODEL["overrides"], "input_length": value}
        with pytest.raises(config_lib.ConfigError, match=message):
            build_model(config, manifest, "float32")


def test_model_rate_must_be_the_datas(tiny_data, tmp_path):
    from keras_samplecnn.training.trainer import build_model

    manifest = read_manifest(tiny_data)
    config = make_config(tiny_data, str(tmp_path / "run"))
    config.model.overrides = {**MODEL["overrides"], "sample_rate": 16000}  # as --profile cpu sets it
    with pytest.raises(config_lib.ConfigError, match=r"model.overrides.sample_rate: 16000 Hz, but .* is 8000 Hz"):
        build_model(config, manifest, "float32")
    with pytest.raises(config_lib.ConfigError, match="--sample-rate 16000"):
        train(config)
    assert not os.path.exists(os.path.join(str(tmp_path / "run"), BEST))
    # The same model evaluated on data at another rate is refused too.
    model = small_model(tags=manifest["tags"], sample_rate=16000)
    with pytest.raises(ValueError, match="expects 16000 Hz audio but .* holds 8000 Hz"):
        evaluate(model, tiny_data, split="test")
    with pytest.raises(ValueError, match="expects 16000 Hz"):
        predict_clips(model, tiny_data, "test")


def small_model(**kwargs):
    """An untrained model of MODEL's size (a basic one: SE is not needed to read the data)."""
    from keras_samplecnn.models import build

    overrides = {key: value for key, value in MODEL["overrides"].items() if key != "se_ratio"}
    return build("samplecnn", **{**overrides, **kwargs})
