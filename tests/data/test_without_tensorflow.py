"""Training, evaluation and tagging on a machine without TensorFlow (JAX or PyTorch backend).

Each run is a fresh process in which TensorFlow, TensorBoard and protobuf cannot be found
(`tests/hide_tensorflow.py`), driving the `samplecnn` commands on the tiny MTAT demo that this
process converted with TensorFlow. Its clip-level scores are then compared with those of the
tf.data reader here. The `large` test does the same in a real environment without TensorFlow
(`pip install -e '.[jax]'`, made by `.ci/run`, named in `SAMPLECNN_NOTF_PYTHON`).
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
import yaml

from keras_samplecnn.evaluation import predict_clips
from tests.helpers import unavailable
from tests.tiny_data import SAMPLE_RATE, make_tiny_mtat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = {"name": "se", "overrides": {"n": 4, "input_length": 243, "filters": [16, 16, 32, 32], "stem_filters": 16,
                                     "se_ratio": 0.5, "head_units": 32}}  # fmt: skip

RUN = """
import contextlib, io, json, sys
from keras_samplecnn.cli import main  # first: it picks the backend before Keras is imported
import keras
import numpy as np
from keras_samplecnn.evaluation import predict_clips
from tests.helpers import unavailable

folder, data, song = sys.argv[1:4]
assert main(["train", folder + "/config.yaml"]) == 0
best = folder + "/run/best.keras"
assert main(["evaluate", best, "--data", data, "--out", folder + "/eval"]) == 0
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    assert main(["tag", song, "--model", best, "--json", "--top-k", "3"]) == 0
labels, scores = predict_clips(keras.saving.load_model(best), data, "test")
np.savez(folder + "/scores.npz", labels=labels, scores=scores)
print(json.dumps({"backend": keras.config.backend(), "tags": json.loads(printed.getvalue())[song],
                  "imported": sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "tensorboard"})}))
"""


def require(module):
    if importlib.util.find_spec(module) is None:
        unavailable(f"{module} is not installed (pip install -e '.[backends]')")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notf")
    data = make_tiny_mtat(str(folder / "data"))
    song = str(folder / "song.wav")
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    sf.write(song, 0.4 * np.sin(2 * np.pi * 1200.0 * t), SAMPLE_RATE)  # the "mid" tone
    return data, song


def run_without_tensorflow(python, folder, data, song, env, hide):
    config = {
        "model": MODEL,
        "data": {"dir": data, "batch_size": 8, "steps_per_epoch": 6, "shuffle_buffer": 16},
        "optimization": {"max_epochs": 2, "learning_rate": 0.05},
        "output": {"dir": str(folder / "run"), "verbose": 0},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    script = ("import tests.hide_tensorflow\n" if hide else "") + textwrap.dedent(RUN)
    env = {**{k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}, "KERAS_HOME": str(folder / "kh"),
           "TF_CPP_MIN_LOG_LEVEL": "3", **env}  # fmt: skip
    result = subprocess.run([python, "-c", script, str(folder), data, song], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    return result.stdout, facts.pop("tags"), facts


def check_run(folder, data, out, tags, facts, backend):
    assert facts == {"backend": backend, "imported": []}
    assert f"{backend} backend, reader portable" in out and "No TensorBoard logs" in out
    log = (folder / "run" / "training_log.csv").read_text().splitlines()
    assert len(log) == 3 and "val_loss" in log[0]  # two epochs, each validated
    results = json.loads((folder / "eval" / "results.json").read_text())
    assert results["num_clips"] == 9 and (folder / "eval" / "report.md").exists()
    assert sorted(tags) == ["high", "low", "mid"] and all(0 <= p <= 1 for p in tags.values())
    # The same model, read here by tf.data on the TensorFlow backend: the same clip-level scores.
    import keras

    saved = np.load(folder / "scores.npz")
    labels, scores = predict_clips(keras.saving.load_model(str(folder / "run" / "best.keras")), data, "test",
                                   reader="tf_data")  # fmt: skip
    np.testing.assert_array_equal(labels, saved["labels"])
    np.testing.assert_allclose(scores, saved["scores"], atol=2e-5)


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_train_evaluate_tag_without_tensorflow(tiny, tmp_path, backend):
    require(backend)
    data, song = tiny
    # JAX: no backend named anywhere, so keras_samplecnn picks one (JAX first); PyTorch: named.
    env = {} if backend == "jax" else {"KERAS_BACKEND": "torch"}
    out, tags, facts = run_without_tensorflow(sys.executable, tmp_path, data, song, env, hide=True)
    check_run(tmp_path, data, out, tags, facts, backend)


@pytest.mark.large
def test_in_an_environment_without_tensorflow(tiny, tmp_path):
    python = os.environ.get("SAMPLECNN_NOTF_PYTHON")
    if not python:
        unavailable("SAMPLECNN_NOTF_PYTHON is not set (bash .ci/run creates that environment)")
    probe = subprocess.run([python, "-c", "import tensorflow"], capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'tensorflow'" in probe.stderr
    data, song = tiny
    out, tags, facts = run_without_tensorflow(python, tmp_path, data, song, {}, hide=False)
    check_run(tmp_path, data, out, tags, facts, "jax")


def test_no_backend_at_all_is_a_clear_error(tmp_path):
    script = "import tests.hide_tensorflow as h\nh.HIDDEN += ('jax', 'torch')\nimport keras_samplecnn\n"
    env = {**{k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}, "KERAS_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode != 0
    assert "needs a Keras backend, and none is installed" in result.stderr
    assert "keras_samplecnn[tensorflow]" in result.stderr
