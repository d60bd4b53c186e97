"""The whole model zoo on TensorFlow, JAX and PyTorch: build, one train step, save/load.

Keras fixes its backend at import time, so each backend runs `backend_smoke.py` in its
own subprocess with `KERAS_BACKEND` set.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


@pytest.mark.large
@pytest.mark.parametrize("backend", list(BACKEND_MODULES))
def test_model_zoo_on_backend(backend):
    if importlib.util.find_spec(BACKEND_MODULES[backend]) is None:
        message = f"{backend} is not installed (pip install -e '.[backends]')"
        if os.environ.get("SAMPLECNN_REQUIRE_BACKENDS"):  # CI: a missing backend is a failure
            pytest.fail(message)
        pytest.skip(message)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, "backend_smoke.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from tests.models.backend_smoke import smoke_models

    for name in smoke_models():
        assert f"{backend} {name}: ok" in result.stdout
