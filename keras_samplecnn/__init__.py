"""Sample-level CNNs for raw-waveform audio tagging, in Keras 3."""

__version__ = "0.1.0"
