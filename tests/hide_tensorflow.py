"""Imported first by a test's subprocess: TensorFlow, TensorBoard and protobuf look uninstalled.

Every import finder is wrapped so that it does not find them: `import tensorflow` raises
ModuleNotFoundError and `importlib.util.find_spec("tensorflow")` returns None, as on a
machine where `pip install 'keras_samplecnn[jax]'` installed no TensorFlow.
"""

import sys

HIDDEN = ("tensorflow", "tensorboard", "tf_keras", "google.protobuf")


def hidden(name):
    return any(name == h or name.startswith(h + ".") for h in HIDDEN)


class _Hiding:
    def __init__(self, finder):
        self._finder = finder

    def find_spec(self, name, path=None, target=None):
        if hidden(name):
            return None
        find = getattr(self._finder, "find_spec", None)
        return find(name, path, target) if find else None

    def __getattr__(self, attribute):
        return getattr(self._finder, attribute)


if any(hidden(name) for name in sys.modules):
    raise RuntimeError("import tests.hide_tensorflow before anything imports TensorFlow")
sys.meta_path[:] = [_Hiding(finder) for finder in sys.meta_path]
