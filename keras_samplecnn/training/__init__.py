"""Training: validated YAML configs, the papers' schedule, resumable runs."""

from keras_samplecnn.training.config import ConfigError, TrainConfig, load

__all__ = ["ConfigError", "TrainConfig", "load"]
