"""The model zoo: the m^n SampleCNN builder and its named presets."""

from keras_samplecnn.models.registry import build, describe_models, list_models, preset_config
from keras_samplecnn.models.samplecnn import BLOCKS, SampleCNN, default_filters

__all__ = [
    "BLOCKS",
    "SampleCNN",
    "build",
    "default_filters",
    "describe_models",
    "list_models",
    "preset_config",
]
