"""The model zoo: the m^n SampleCNN backbone, the tagger built on it, its named presets, and the
ISMIR 2018 artist-label models and the DLRS 2018 deep content-user embedding model."""

from keras_samplecnn import registration
from keras_samplecnn.models.artist import ArtistCNN, ArtistHingeLoss, SiameseArtistModel
from keras_samplecnn.models.backbone import SampleCNNBackbone
from keras_samplecnn.models.dcue import DCUE, dcue_loss
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
    "DCUE",
    "Preset",
    "SampleCNN",
    "SampleCNNBackbone",
    "SiameseArtistModel",
    "build",
    "dcue_loss",
    "default_filters",
    "describe_models",
    "extractor_presets",
    "get_preset",
    "list_models",
    "preset_config",
    "smc2017_table",
]

# Last: if this module's own `import keras` first brought Keras in, the rest of what registers
# our classes is imported now that this module is whole (keras_samplecnn.registration).
registration.register(__name__)
