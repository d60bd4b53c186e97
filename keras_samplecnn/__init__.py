"""Sample-level CNNs for raw-waveform audio tagging, in Keras 3.

The public surface: `build(name, num_classes=50, **overrides)`, `list_models()`,
`describe_models()`, `SampleCNN`, `Tagger`, the pretrained models `from_preset(name)` and
`list_presets()` (`keras_samplecnn.presets`), and the subpackages `layers`, `models`,
`data`, `datasets`, `training`, `evaluation`, `viz`; recommendation from audio (DCUE, Lee, Lee,
Park, Park, Nam, DLRS 2018, arXiv:1807.06786) in `models.dcue`, `recommender` and `song_index`.

The layers, models and the training optimizer are imported with the package, so that their
classes are registered and `keras.saving.load_model("model.keras")` works after
`import keras_samplecnn`; the other subpackages are imported on first use.
"""

import importlib

from keras_samplecnn.backend_choice import choose_backend
from keras_samplecnn.quiet import import_keras

choose_backend()  # JAX or PyTorch where TensorFlow, Keras's default, is not installed
import_keras()  # before anything imports TensorFlow: its start-up log lines are dropped

from keras_samplecnn import layers, models  # noqa: E402
from keras_samplecnn.models import SampleCNN, build, describe_models, list_models  # noqa: E402
from keras_samplecnn.presets import from_preset, list_presets  # noqa: E402
from keras_samplecnn.training import optimizers as _optimizers  # noqa: E402, F401  (registers StepDecaySGD)

__version__ = "0.1.0"

_ATTRIBUTES = {"Tagger": "keras_samplecnn.tagger"}
_SUBPACKAGES = ("data", "datasets", "training", "evaluation", "viz")

__all__ = [
    "SampleCNN",
    "Tagger",
    "build",
    "describe_models",
    "from_preset",
    "layers",
    "list_models",
    "list_presets",
    "models",
    *_SUBPACKAGES,
]


def __getattr__(name):
    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"keras_samplecnn.{name}")
    else:
        raise AttributeError(f"module 'keras_samplecnn' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
