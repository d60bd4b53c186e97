"""Which reader feeds `fit` and the evaluation (`data.feed`), and the backend choice without TensorFlow."""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_samplecnn import backend_choice
from keras_samplecnn.data import feed
from keras_samplecnn.training import config as config_lib
from keras_samplecnn.training.trainer import train
from tests.helpers import unavailable
from tests.ramp_data import LENGTHS, SEGMENT, write_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("ramps"))
    path = os.path.join(folder, "manifest.json")
    write_dataset(folder, split="valid")  # the same clips as the training split
    with open(path) as f:
        valid = json.load(f)["splits"]["valid"]
    write_dataset(folder)
    with open(path) as f:
        manifest = json.load(f)
    manifest["splits"]["valid"] = valid
    with open(path, "w") as f:
        json.dump(manifest, f)
    return folder, manifest


def test_reader_choice(monkeypatch):
    assert feed.resolve_reader("portable") == "portable"
    assert feed.resolve_reader("auto") == "tf_data"  # TensorFlow is installed here
    monkeypatch.setattr(feed, "installed", lambda module: False)
    assert feed.resolve_reader("auto") == "portable"
    with pytest.raises(ImportError, match="needs TensorFlow"):
        feed.resolve_reader("tf_data")
    with pytest.raises(ValueError, match="reader must be one of"):
        feed.resolve_reader("grain")


def test_restartable_reads_each_pass_once_and_restarts_on_a_jump():
    passes = []

    def make_stream():
        passes.append(1)
        return iter([(np.full(2, i),) for i in range(5)])

    data = feed.Restartable(make_stream, 5)
    assert len(data) == 5 and data.num_batches == 5
    assert [int(data[i][0][0]) for i in range(5)] == [0, 1, 2, 3, 4] and len(passes) == 1
    assert int(data[3][0][0]) == 3 and len(passes) == 2  # an earlier index: a new pass
    assert int(data[4][0][0]) == 4 and len(passes) == 2
    with pytest.raises(IndexError):
        data[5]
    with pytest.raises(IndexError, match="ended after 5 of 6"):
        feed.Restartable(make_stream, 6)[5]


@pytest.mark.parametrize("count", [1, 7, 40, 53, 1000])
def test_first_rows_rebatches_a_prefix(count):
    rng = np.random.default_rng(count)
    sizes = rng.integers(1, 12, size=10)
    batches = [(rng.standard_normal((n, 3)), np.arange(n) + 100 * i) for i, n in enumerate(sizes)]
    out = list(feed._first_rows(iter(batches), count, 8))
    expected = [np.concatenate(column)[:count] for column in zip(*batches)]
    assert all(len(b[0]) == 8 for b in out[:-1]) and 0 < len(out[-1][0]) <= 8
    for got, want in zip(zip(*out), expected):
        np.testing.assert_array_equal(np.concatenate(got), want)


def rows(batches):
    """The rows of `(audio, labels)` batches as a sorted list of (label argmax, first sample)."""
    audio, labels = (np.concatenate(part) for part in zip(*batches))
    return sorted(zip(labels.argmax(axis=1).tolist(), audio[:, 0].tolist())), len(audio)


@pytest.mark.parametrize("multiple_of", [1, 5, 8])
def test_validation_data_is_the_same_from_both_readers(data_dir, multiple_of):
    folder, _ = data_dir
    total = sum(max(1, n // SEGMENT) for n in LENGTHS)  # 57
    kept = total // multiple_of * multiple_of
    seen = {}
    for reader in ("tf_data", "portable"):
        data, steps = feed.validation_data(reader, folder, "valid", SEGMENT, 8, multiple_of=multiple_of)
        assert steps == -(-kept // 8)
        batches = [tuple(np.asarray(x) for x in b) for b in (data.as_numpy_iterator() if reader == "tf_data" else
                                                            (data[i] for i in range(len(data))))]  # fmt: skip
        assert len(batches) == steps
        assert all(len(b[0]) == 8 for b in batches[:-1]) and len(batches[-1][0]) == kept - 8 * (steps - 1)
        seen[reader], count = rows(batches)
        assert count == kept
    if multiple_of == 1:  # the whole split: the same segments (tf.data's order differs)
        assert seen["tf_data"] == seen["portable"]


def test_only_the_last_tf_data_batch_is_short_pass_after_pass(data_dir):
    """tf.data decodes in parallel: out of order, the short batch came before the last full one
    in 16 of 300 passes, which broke a multiple-of-devices split."""
    folder, _ = data_dir
    for _ in range(100):
        data, steps = feed.validation_data("tf_data", folder, "valid", SEGMENT, 8)
        sizes = [len(audio) for audio, _ in data.as_numpy_iterator()]
        assert len(sizes) == steps and set(sizes[:-1]) == {8}, sizes


def test_fit_validates_every_epoch_from_the_portable_reader(data_dir):
    folder, manifest = data_dir
    model = keras.Sequential([keras.Input((SEGMENT,)), keras.layers.Dense(len(manifest["tags"]))])
    model.compile("sgd", "mse")
    valid, steps = feed.validation_data("portable", folder, "valid", SEGMENT, 8)
    train_stream = feed.train_batches("portable", folder, split="train", segment_length=SEGMENT, batch_size=4,
                                      crops_per_clip=1, shuffle_buffer=4, segment_shuffle_buffer=16,
                                      random_offsets=True, seed=0)  # fmt: skip
    model.fit(train_stream, steps_per_epoch=2, epochs=3, validation_data=valid, validation_steps=steps, shuffle=False,
              verbose=0)
    # The validation loss of the last epoch is that of the whole split, as tf.data gives it.
    tf_valid, _ = feed.validation_data("tf_data", folder, "valid", SEGMENT, 8)
    expected = model.evaluate(tf_valid, steps=steps, verbose=0)
    assert model.evaluate(valid, verbose=0) == pytest.approx(expected, rel=1e-6)
    assert model.history.history["val_loss"][-1] == pytest.approx(expected, rel=1e-6)


def make_config(folder, out, **data):
    return config_lib.from_dict({
        "model": {"name": "samplecnn", "overrides": {"n": 2, "input_length": 81, "filters": [4, 4],
                                                      "stem_filters": 4, "head_units": 4}},
        "data": {"dir": folder, "batch_size": 4, "steps_per_epoch": 1, **data},
        "optimization": {"max_epochs": 1},
        "output": {"dir": out, "tensorboard": False, "verbose": 0},
    })  # fmt: skip


def test_config_reader_errors(data_dir, tmp_path, monkeypatch):
    folder, _ = data_dir
    with pytest.raises(config_lib.ConfigError, match="data.reader"):
        make_config(folder, str(tmp_path), reader="grain")
    with pytest.raises(config_lib.ConfigError, match="tf.data service needs data.reader tf_data"):
        train(make_config(folder, str(tmp_path / "a"), reader="portable", service="grpc://localhost:1"))
    monkeypatch.setattr(feed, "installed", lambda module: False)  # as if TensorFlow were missing
    with pytest.raises(config_lib.ConfigError, match="data.reader: reader tf_data needs TensorFlow"):
        train(make_config(folder, str(tmp_path / "b"), reader="tf_data"))


def test_configured_backend(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert backend_choice.configured_backend() == "tensorflow"  # Keras's default without a keras.json
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch", "floatx": "float32"}))
    assert backend_choice.configured_backend() == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert backend_choice.configured_backend() == "jax"
    assert backend_choice.choose_backend() is None  # Keras is imported here: nothing changes


@pytest.mark.parametrize(
    "keras_json, env, hide, expected",
    [
        (None, None, True, "jax"),  # TensorFlow missing, nothing chosen: JAX
        ('{"backend": "tensorflow"}', None, True, "jax"),  # the file Keras writes by default
        ('{"backend": "torch"}', None, True, "torch"),  # a choice is kept
        (None, "torch", True, "torch"),
        (None, None, False, "tensorflow"),  # TensorFlow installed: Keras's default stays
    ],
)
def test_backend_picked_at_import(tmp_path, keras_json, env, hide, expected):
    if importlib.util.find_spec(expected) is None:
        unavailable(f"{expected} is not installed (pip install -e '.[backends]')")
    if keras_json:
        (tmp_path / "keras.json").write_text(keras_json)
    environment = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    environment.update(KERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3", **({"KERAS_BACKEND": env} if env else {}))
    script = ("import tests.hide_tensorflow\n" if hide else "") + (
        "import keras_samplecnn, keras\nprint(keras.config.backend())"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == expected
