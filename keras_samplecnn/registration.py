"""Our Keras classes registered, and Keras imported quietly, whenever Keras is first imported.

`import keras_samplecnn` imports no Keras: a converter, a demo maker or `samplecnn --help` need
none, and TensorFlow takes seconds to import. Yet `keras.saving.load_model("model.keras")` must
find our layers, models and optimizer after `import keras_samplecnn`, in whichever order the
user imports Keras. So the package puts a finder for the `keras` and `tensorflow` modules on
`sys.meta_path`: when anything first imports either, it runs the import with TensorFlow's
start-up chatter filtered (`quiet.native_logs_filtered`); after Keras's, it imports the modules
whose import registers our classes (`REGISTERING`).

When a module of that chain is itself half imported at that moment (its own `import keras`
brought Keras in), importing the rest of the chain would read the half-built module: the
chain's modules call `register()` again as their last line, and the last to finish registers
what is left.
"""

import importlib
import importlib.abc
import importlib.util
import sys

# Importing these registers every class a saved model of ours may name (layers, models, the
# training optimizer); models import layers, so they go in this order.
REGISTERING = ("keras_samplecnn.layers", "keras_samplecnn.models", "keras_samplecnn.training.optimizers")


def _half_imported(name):
    module = sys.modules.get(name)
    return module is not None and getattr(getattr(module, "__spec__", None), "_initializing", False)


def _whole(name, finishing=None):
    return name == finishing or (name in sys.modules and not _half_imported(name))


def register(finishing=None):
    """Imports the `REGISTERING` modules, once Keras is imported and none of them (nor TensorFlow,
    which imports Keras halfway through its own import) is half imported.

    Args:
        finishing: the name of the module calling this as its last line (whole, though its
            import has not returned yet).
    """
    if not _whole("keras", finishing) or _half_imported("tensorflow") and finishing != "tensorflow":
        return
    if any(_half_imported(name) for name in REGISTERING if name != finishing):
        return
    for name in REGISTERING:
        if name not in sys.modules:
            importlib.import_module(name)


class _KerasFinder(importlib.abc.MetaPathFinder):
    """Finds `keras` and `tensorflow` as the next finders would, and wraps their execution: quiet,
    then `register()` (see the module docstring)."""

    WATCHED = ("keras", "tensorflow")

    def __init__(self):
        self._looking = False

    def find_spec(self, name, path=None, target=None):
        if name not in self.WATCHED or self._looking:
            return None
        self._looking = True  # the lookup below must not find us
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._looking = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            from keras_samplecnn.quiet import native_logs_filtered

            with native_logs_filtered():
                execute(module)
                if name == "tensorflow":
                    module.config.list_physical_devices()  # the device query that logs cuInit
            register(finishing=name)
            if all(_whole(watched, name) for watched in self.WATCHED) and self in sys.meta_path:
                sys.meta_path.remove(self)  # nothing left to watch

        spec.loader.exec_module = exec_module  # this spec's own loader object: no other import sees it
        return spec


def install():
    """Registers now if Keras is already imported; else waits for its import (idempotent)."""
    if "keras" in sys.modules:
        register()
    if all(name in sys.modules for name in _KerasFinder.WATCHED):
        return
    if not any(isinstance(finder, _KerasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _KerasFinder())
