"""The TFRecord schema shared by `tfrecords_tools` (writer) and the pipelines (reader).

One `tf.train.Example` per clip, the clip stored whole:

| key           | type            | meaning                                               |
|---------------|-----------------|-------------------------------------------------------|
| `audio`       | bytes           | mono int16 PCM, little endian, whole clip             |
| `num_samples` | int64           | number of samples in `audio`                          |
| `sample_rate` | int64           | sample rate of `audio` in Hz                          |
| `labels`      | float32 [K]     | multi-hot (multi-label) or one-hot (single-label)     |
| `clip_id`     | bytes           | the dataset's own id of the clip (MTAT `clip_id`, …)  |
| `path`        | bytes           | source path relative to the dataset root              |

The tag vocabulary (K names, in label order), the task type and the sample rate are stored in
the `manifest.json` beside the shards.
"""

AUDIO = "audio"
NUM_SAMPLES = "num_samples"
SAMPLE_RATE = "sample_rate"
LABELS = "labels"
CLIP_ID = "clip_id"
PATH = "path"

MANIFEST = "manifest.json"
REJECTED = "rejected.csv"
PCM_BYTES_PER_SAMPLE = 2  # int16


def feature_spec(num_labels):
    """`tf.io.parse_example` spec for records with `num_labels` labels."""
    import tensorflow as tf

    return {
        AUDIO: tf.io.FixedLenFeature([], tf.string),
        NUM_SAMPLES: tf.io.FixedLenFeature([], tf.int64),
        SAMPLE_RATE: tf.io.FixedLenFeature([], tf.int64),
        LABELS: tf.io.FixedLenFeature([num_labels], tf.float32),
        CLIP_ID: tf.io.FixedLenFeature([], tf.string, default_value=b""),
        PATH: tf.io.FixedLenFeature([], tf.string, default_value=b""),
    }


def shard_name(split, index, num_shards):
    """`train-00000-of-00016.tfrecord`."""
    return f"{split}-{index:05d}-of-{num_shards:05d}.tfrecord"
