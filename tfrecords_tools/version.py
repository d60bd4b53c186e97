"""The converters' version: the distribution's (`keras_samplecnn.__version__`), written in one
place; recorded in every `manifest.json`."""

import importlib.metadata

try:
    __version__ = importlib.metadata.version("keras_samplecnn")
except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "unknown"
