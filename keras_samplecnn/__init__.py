"""Sample-level CNNs for raw-waveform audio tagging, in Keras 3.

The public surface: `build(name, num_classes=50, **overrides)`, `list_models()`,
`describe_models()`, `SampleCNN`, `Tagger`, and the subpackages `layers`, `models`,
`data`, `datasets`, `training`, `evaluation`, `viz`.

Attributes are imported on first use, so that `import keras_samplecnn.audio` (the dataset
converters) does not pay for importing Keras and TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_ATTRIBUTES = {
    "SampleCNN": "keras_samplecnn.models",
    "build": "keras_samplecnn.models",
    "describe_models": "keras_samplecnn.models",
    "list_models": "keras_samplecnn.models",
    "Tagger": "keras_samplecnn.tagger",
}
_SUBPACKAGES = ("layers", "models", "data", "datasets", "training", "evaluation", "viz")

__all__ = sorted(_ATTRIBUTES) + list(_SUBPACKAGES)


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
