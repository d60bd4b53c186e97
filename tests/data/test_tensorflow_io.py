"""In-graph decoding with tensorflow-io, in the environment where it loads (TF 2.16/2.17).

The main suite runs on the newest TensorFlow, where tensorflow-io 0.37.1 fails to load
(undefined symbols). `.ci/run` builds a second virtual environment pinned to
tensorflow-cpu 2.16.2 + tensorflow-io 0.37.1 and names its Python in
`SAMPLECNN_TFIO_PYTHON`; this test runs the pipeline's tensorflow-io tests there.
"""

import os
import subprocess

import pytest

from tests.helpers import unavailable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.large
def test_audio_file_dataset_in_the_tensorflow_io_environment():
    python = os.environ.get("SAMPLECNN_TFIO_PYTHON")
    if not python:
        unavailable("SAMPLECNN_TFIO_PYTHON is not set (bash .ci/run creates that environment)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    result = subprocess.run(
        [python, "-m", "pytest", "tests/data/test_pipeline.py", "-k", "tensorflow_io", "-rs", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # The "with" test ran (not skipped) and the "without" test skipped: tensorflow-io loaded.
    assert "1 passed, 1 skipped" in result.stdout, result.stdout[-2000:]
