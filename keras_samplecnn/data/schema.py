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


def serialize_example(pcm, sample_rate, labels, clip_id="", path=""):
    """One clip as a serialized `tf.train.Example`.

    Args:
        pcm: 1-D int16 NumPy array (mono PCM).
        sample_rate: sample rate in Hz.
        labels: 1-D float sequence (multi-hot or one-hot).
        clip_id, path: strings identifying the clip.
    """
    import numpy as np
    import tensorflow as tf

    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise ValueError(f"pcm must be a 1-D int16 array, got {pcm.dtype} with shape {pcm.shape}")
    feature = {
        AUDIO: tf.train.Feature(bytes_list=tf.train.BytesList(value=[pcm.astype("<i2").tobytes()])),
        NUM_SAMPLES: tf.train.Feature(int64_list=tf.train.Int64List(value=[pcm.shape[0]])),
        SAMPLE_RATE: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(sample_rate)])),
        LABELS: tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in labels])),
        CLIP_ID: tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(clip_id).encode()])),
        PATH: tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(path).encode()])),
    }
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    # Sorted map keys: the same clip gives the same bytes in every process, so a resumed
    # or parallel conversion is byte-identical to a single uninterrupted one.
    return example.SerializeToString(deterministic=True)

# The ways a split can be read: tf.data (TensorFlow), the NumPy reader of `data.portable`, or
# whichever the backend can use (`data.feed.choose_reader`).
READERS = ("auto", "tf_data", "portable")
