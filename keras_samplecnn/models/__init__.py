"""The model zoo: the m^n SampleCNN backbone, the tagger built on it, its named presets, and the
ISMIR 2018 artist-label models."""

from keras_samplecnn.models.artist import ArtistCNN, ArtistHingeLoss, SiameseArtistModel
from keras_samplecnn.models.backbone import SampleCNNBackbone
from keras_samplecnn.models.registry import (
    Preset,
    build,
    describe_models,
    extractor_presets,
    get_preset,
    list_models,
    preset_config,
    smc2017_table,
)
from keras_samplecnn.models.samplecnn import BLOCKS, SampleCNN, default_filters

__all__ = [
    "ArtistCNN",
    "ArtistHingeLoss",
    "BLOCKS",
    "Preset",
    "SampleCNN",
    "SampleCNNBackbone",
    "SiameseArtistModel",
    "build",
    "default_filters",
    "describe_models",
    "extractor_presets",
    "get_preset",
    "list_models",
    "preset_config",
    "smc2017_table",
]
