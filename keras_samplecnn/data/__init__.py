"""TFRecord schema, dataset manifests and the tf.data input pipelines.

`schema` and `manifest` need no TensorFlow; the pipeline functions import it on first use.
"""

from keras_samplecnn.data import schema
from keras_samplecnn.data.manifest import Manifest, ManifestError, read_manifest

_PIPELINE = (
    "TensorflowIOUnavailable",
    "audio_file_dataset",
    "average_by_clip",
    "eval_dataset",
    "shard_files",
    "train_dataset",
)

__all__ = [
    "Manifest",
    "ManifestError",
    "TensorflowIOUnavailable",
    "audio_file_dataset",
    "average_by_clip",
    "eval_dataset",
    "read_manifest",
    "schema",
    "shard_files",
    "train_dataset",
]


def __getattr__(name):
    # Lazy: importing the package (e.g. for `schema` in a converter) does not load TensorFlow.
    if name in _PIPELINE:
        from keras_samplecnn.data import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
