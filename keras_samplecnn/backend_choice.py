"""The Keras backend where the user chose none and TensorFlow, Keras's default, is missing.

Keras takes its backend from `KERAS_BACKEND`, else from `keras.json` in `KERAS_HOME` (default
`~/.keras`), else TensorFlow; Keras writes that file, with TensorFlow, the first time it is
imported. On a machine where only JAX or PyTorch is installed (`pip install
'keras_samplecnn[jax]'`) that default cannot work, so `import keras_samplecnn` sets
`KERAS_BACKEND` to JAX, or else PyTorch, before Keras is imported. A backend named in
`KERAS_BACKEND`, or a non-TensorFlow one in `keras.json`, is always kept.
"""

import importlib.util
import json
import os
import sys

FALLBACKS = ("jax", "torch")


def installed(module):
    """Whether `module` can be imported here (looked up, not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def configured_backend():
    """The backend Keras would use: `KERAS_BACKEND`, else `keras.json`'s, else `tensorflow`."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as f:
            return json.load(f).get("backend") or "tensorflow"
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def choose_backend():
    """Sets `KERAS_BACKEND` to an installed backend where the configured one is a missing TensorFlow.

    Returns:
        the backend set, or None where nothing was changed (Keras already imported, a backend
        chosen by `KERAS_BACKEND` or `keras.json`, or TensorFlow installed).

    Raises:
        ImportError: no backend at all is installed.
    """
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return None
    if configured_backend() != "tensorflow" or installed("tensorflow"):
        return None
    for name in FALLBACKS:
        if installed(name):
            os.environ["KERAS_BACKEND"] = name
            return name
    raise ImportError(
        "keras_samplecnn needs a Keras backend, and none is installed: pip install "
        "'keras_samplecnn[tensorflow]' (or [jax] or [torch])"
    )
