"""Converters from audio dataset layouts to the TFRecords of `keras_samplecnn.data.schema`.

Run as `python -m tfrecords_tools <dataset> --help`. One module per layout (`mtat`, `folder`,
`speech_commands`, `gtzan`, `dcase2017`) builds a `DatasetPlan`; `writer.convert` writes it as
sharded, resumable TFRecords with a `manifest.json`; `writer.verify` checks a finished
conversion.
"""

from tfrecords_tools.errors import DatasetError, ShardWriteError
from tfrecords_tools.writer import (
    ClipJob,
    DatasetPlan,
    Rejected,
    Settings,
    convert,
    verify,
)
from tfrecords_tools import version as _version

__version__ = _version.__version__

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
