"""Sample-level CNNs for raw-waveform audio tagging, in Keras 3.

The public surface: `build(name, num_classes=50, **overrides)`, `list_models()`,
`describe_models()`, `SampleCNN`, `Tagger`, the pretrained models `from_preset(name)` and
`list_presets()` (`keras_samplecnn.presets`), and the subpackages `layers`, `models`,
`data`, `datasets`, `training`, `evaluation`, `viz`, `experiments`; recommendation from audio
(DCUE, Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786) in `models.dcue`, `recommender`
and `song_index`.

Everything is imported on first use: `import keras_samplecnn` imports no Keras, so the
converters (`tfrecords_tools`), demo makers and commands start fast. Our layers, models and
training optimizer are registered with Keras as soon as Keras is imported, by anyone and in any
order (`keras_samplecnn.registration`), so `keras.saving.load_model("model.keras")` works after
`import keras_samplecnn`.
"""

import importlib

from keras_samplecnn import registration
from keras_samplecnn.backend_choice import choose_backend

choose_backend()  # JAX or PyTorch where TensorFlow, Keras's default, is not installed (sets KERAS_BACKEND only)
registration.install()

__version__ = "0.1.0"

_ATTRIBUTES = {
    "SampleCNN": "keras_samplecnn.models",
    "build": "keras_samplecnn.models",
    "describe_models": "keras_samplecnn.models",
    "list_models": "keras_samplecnn.models",
    "from_preset": "keras_samplecnn.presets",
    "list_presets": "keras_samplecnn.presets",
    "Tagger": "keras_samplecnn.tagger",
}
_SUBPACKAGES = ("layers", "models", "data", "datasets", "training", "evaluation", "viz", "experiments", "presets")

__all__ = [
    "SampleCNN",
    "Tagger",
    "build",
    "describe_models",
    "from_preset",
    "list_models",
    "list_presets",
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
