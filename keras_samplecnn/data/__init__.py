"""TFRecord schema, dataset manifests and the tf.data input pipelines."""

from keras_samplecnn.data import schema
from keras_samplecnn.data.manifest import Manifest, ManifestError, read_manifest
from keras_samplecnn.data.pipeline import (
    TensorflowIOUnavailable,
    audio_file_dataset,
    average_by_clip,
    eval_dataset,
    shard_files,
    train_dataset,
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
