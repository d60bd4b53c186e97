"""tf.data input pipelines over the sharded TFRecords written by `tfrecords_tools`.

Training: shards → shuffle files → parallel interleave → shuffle clips → batch → parse the
whole batch → random segment crop per clip (on the PCM bytes, before decoding) → prefetch,
non-deterministic order. Evaluation: every clip cut into all its non-overlapping segments,
each tagged with its clip index so predictions can be averaged per clip (the papers'
protocol). Both yield tensors any Keras backend's `fit`/`predict` accepts.
"""

import json
import os

import tensorflow as tf

from keras_samplecnn.data import schema

AUTOTUNE = tf.data.AUTOTUNE


def read_manifest(data_dir):
    """The `manifest.json` of a converted dataset, with a clear error when it is missing."""
    path = os.path.join(data_dir, schema.MANIFEST)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{data_dir} has no {schema.MANIFEST}: convert the dataset first "
            "(python -m tfrecords_tools mtat --root MTAT_DIR --out DIR), or the conversion has not finished"
        )
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def shard_files(data_dir, split):
    """Paths of the shards of `split`, as listed in the manifest."""
    manifest = read_manifest(data_dir)
    if split not in manifest["splits"]:
        raise ValueError(f"{data_dir} has no split {split!r}; it has {sorted(manifest['splits'])}")
    files = [os.path.join(data_dir, shard["file"]) for shard in manifest["splits"][split]["shards"]]
    if not files:
        raise ValueError(f"split {split!r} of {data_dir} is empty")
    return files


def count_segments(manifest, split, segment_length):
    """Segments `eval_dataset` yields for `split`, or None when the manifest counted another length."""
    if segment_length != manifest.get("segment_length"):
        return None
    return manifest["splits"][split]["segments"]


def _crop_bytes(audio, num_samples, segment_length, seed=None):
    """Random segment of each clip in a batch, cut from the int16 bytes, as float32."""
    segment_bytes = segment_length * schema.PCM_BYTES_PER_SAMPLE
    # Clips shorter than a segment (only with --short pad off) start at 0 and are padded.
    room = tf.maximum(num_samples - segment_length, 0) + 1
    uniform = tf.random.uniform(tf.shape(num_samples), 0, 1, dtype=tf.float32, seed=seed)
    start = tf.cast(tf.floor(uniform * tf.cast(room, tf.float32)), tf.int64)
    start = tf.minimum(start, room - 1)
    length = tf.fill(tf.shape(start), tf.constant(segment_bytes, tf.int64))
    pieces = tf.strings.substr(audio, start * schema.PCM_BYTES_PER_SAMPLE, length)
    return _decode_fixed(pieces, segment_length)


def _decode_fixed(pieces, segment_length):
    """int16 byte strings of at most `segment_length` samples → `[batch, segment_length]` float32."""
    segment_bytes = segment_length * schema.PCM_BYTES_PER_SAMPLE
    # Zero-pad short pieces to the full segment so that decode_raw gives a dense matrix.
    missing = segment_bytes - tf.strings.length(pieces)
    zeros = tf.fill(tf.shape(pieces), tf.constant(b"\x00" * segment_bytes))
    pad = tf.strings.substr(zeros, tf.zeros_like(missing), missing)
    pcm = tf.io.decode_raw(pieces + pad, tf.int16, little_endian=True)
    return tf.cast(pcm, tf.float32) / 32768.0


def train_dataset(
    data_dir,
    split="train",
    segment_length=59049,
    batch_size=23,
    crops_per_clip=1,
    shuffle_buffer=512,
    num_shards=1,
    shard_index=0,
    seed=None,
    repeat=True,
    drop_remainder=True,
):
    """Random segments of the training clips, shuffled and batched.

    Args:
        data_dir: folder written by `tfrecords_tools` (with `manifest.json`).
        split: split name.
        segment_length: samples per segment (the model's `input_length`).
        batch_size: segments per batch.
        crops_per_clip: independent random segments taken from each clip read (more
            segments per byte read; 1 in the papers).
        shuffle_buffer: clips held for shuffling.
        num_shards, shard_index: this input pipeline's part, for several workers/replicas
            (by file when there are at least `num_shards` files, else by record).
        seed: shuffling and cropping seed (None: nondeterministic).
        repeat: cycle forever (use `steps_per_epoch` in `fit`).
        drop_remainder: keep the batch dimension static.

    Returns:
        a `tf.data.Dataset` of `(audio [batch, segment_length] float32, labels [batch, K])`.
    """
    manifest = read_manifest(data_dir)
    num_labels = len(manifest["tags"])
    files = shard_files(data_dir, split)
    dataset = tf.data.Dataset.from_tensor_slices(files)
    by_file = num_shards > 1 and len(files) >= num_shards
    if by_file:
        dataset = dataset.shard(num_shards, shard_index)
    dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=AUTOTUNE,
        deterministic=False,
    )
    if num_shards > 1 and not by_file:
        dataset = dataset.shard(num_shards, shard_index)
    dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    spec = schema.feature_spec(num_labels)

    def parse_and_crop(serialized):
        parsed = tf.io.parse_example(serialized, spec)
        audio, num_samples, labels = parsed[schema.AUDIO], parsed[schema.NUM_SAMPLES], parsed[schema.LABELS]
        if crops_per_clip > 1:
            audio = tf.repeat(audio, crops_per_clip, axis=0)
            num_samples = tf.repeat(num_samples, crops_per_clip, axis=0)
            labels = tf.repeat(labels, crops_per_clip, axis=0)
        return _crop_bytes(audio, num_samples, segment_length, seed), labels

    # Batch serialized clips first, then parse and crop the whole batch in one op each.
    clips_per_batch = max(1, batch_size // crops_per_clip)
    dataset = dataset.batch(clips_per_batch, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    dataset = dataset.map(parse_and_crop, num_parallel_calls=AUTOTUNE)
    if crops_per_clip > 1 and clips_per_batch * crops_per_clip != batch_size:
        dataset = dataset.unbatch().batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    options.deterministic = False
    return dataset.with_options(options).prefetch(AUTOTUNE)


def eval_dataset(data_dir, split="test", segment_length=59049, batch_size=64):
    """All non-overlapping segments of every clip, in order, with their clip index.

    A clip shorter than one segment gives one zero-padded segment. Clip indices count the
    clips of the split in file order (0, 1, ...), so `average_by_clip` can average them.

    Returns:
        a `tf.data.Dataset` of `(audio [b, segment_length], labels [b, K], clip_index [b])`.
    """
    manifest = read_manifest(data_dir)
    spec = schema.feature_spec(len(manifest["tags"]))
    segment_bytes = segment_length * schema.PCM_BYTES_PER_SAMPLE
    dataset = tf.data.TFRecordDataset(shard_files(data_dir, split))  # file order: deterministic
    dataset = dataset.enumerate()

    def segments(index, serialized):
        parsed = tf.io.parse_single_example(serialized, spec)
        count = tf.maximum(parsed[schema.NUM_SAMPLES] // segment_length, 1)
        starts = tf.range(count) * segment_bytes
        pieces = tf.strings.substr(
            tf.fill([count], parsed[schema.AUDIO]),
            starts,
            tf.fill([count], tf.constant(segment_bytes, tf.int64)),
        )
        labels = tf.tile(parsed[schema.LABELS][None], [count, 1])
        return tf.data.Dataset.from_tensor_slices((pieces, labels, tf.fill([count], index)))

    dataset = dataset.flat_map(segments).batch(batch_size)
    dataset = dataset.map(
        lambda pieces, labels, index: (_decode_fixed(pieces, segment_length), labels, index),
        num_parallel_calls=AUTOTUNE,
    )
    return dataset.prefetch(AUTOTUNE)
