"""TFRecord schema, dataset manifests and the input pipelines.

`train_dataset` / `eval_dataset` (tf.data, `pipeline`) and `portable.train_batches` /
`portable.eval_batches` (NumPy, no TensorFlow) read the same shards. Names are imported on
first use, so that `keras_samplecnn.data.portable` and `manifest` load without TensorFlow.
"""

import importlib
import importlib.util

_ATTRIBUTES = {
    "Manifest": "keras_samplecnn.data.manifest",
    "ManifestError": "keras_samplecnn.data.manifest",
    "read_manifest": "keras_samplecnn.data.manifest",
    "average_by_clip": "keras_samplecnn.data.clip_scores",
    "TensorflowIOUnavailable": "keras_samplecnn.data.pipeline",
    "audio_file_dataset": "keras_samplecnn.data.pipeline",
    "eval_dataset": "keras_samplecnn.data.pipeline",
    "shard_files": "keras_samplecnn.data.pipeline",
    "train_dataset": "keras_samplecnn.data.pipeline",
}

__all__ = sorted([*_ATTRIBUTES, "schema"])


def __getattr__(name):
    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    elif importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")  # a submodule, e.g. `data.pipeline`
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
