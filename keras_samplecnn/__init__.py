"""Sample-level CNNs for raw-waveform audio tagging, in Keras 3.

The public surface: `build(name, num_classes=50, **overrides)`, `list_models()`,
the layers in `keras_samplecnn.layers` and the models in `keras_samplecnn.models`.
"""

__version__ = "0.1.0"

from keras_samplecnn import layers, models
from keras_samplecnn.models import SampleCNN, build, describe_models, list_models

__all__ = ["SampleCNN", "build", "describe_models", "layers", "list_models", "models"]
