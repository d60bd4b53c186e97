"""Converters from audio dataset layouts to the TFRecords of `keras_samplecnn.data.schema`.

Run as `python -m tfrecords_tools <dataset> --help`. One module per layout (`mtat`, `folder`,
`speech_commands`, `gtzan`, `dcase2017`) builds a `DatasetPlan`; `writer.convert` writes it as
sharded, resumable TFRecords with a `manifest.json`; `writer.verify` checks a finished
conversion.
"""

import importlib.metadata

try:  # the distribution's version (keras_samplecnn.__version__), written in one place
    __version__ = importlib.metadata.version("keras_samplecnn")
except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "unknown"

from tfrecords_tools.errors import DatasetError, ShardWriteError
from tfrecords_tools.writer import (
    ClipJob,
    DatasetPlan,
    Rejected,
    Settings,
    convert,
    verify,
)

__all__ = [
    "ClipJob",
    "DatasetError",
    "DatasetPlan",
    "Rejected",
    "Settings",
    "ShardWriteError",
    "convert",
    "verify",
]
