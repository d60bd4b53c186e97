"""Ramp clips written as TFRecords, so a test can locate every segment a pipeline yields.

Every clip is a ramp whose sample value tells its position (`sample i = i - OFFSET`) and whose
one-hot label tells which clip it is. Used by the tf.data, portable-reader, feed and tf.data
service tests.
"""

import json
import os

import numpy as np
import tensorflow as tf

from keras_samplecnn.data import schema

SEGMENT = 100
OFFSET = 16000  # ramp value of sample 0, so positions up to 32767 + OFFSET fit in int16
# Clip lengths (samples): long ones, one of exactly a segment, ones shorter than a segment.
LENGTHS = [1000, 450, 100, 60, 999, 301, 250, 30, 777, 520, 205, 1200]


def ramp(length):
    return (np.arange(length) - OFFSET).astype(np.int16)


def write_dataset(folder, lengths=LENGTHS, files=3, split="train"):
    """Clips dealt round-robin to `files` shards; returns {clip number: length}, in record order."""
    os.makedirs(folder, exist_ok=True)
    num = len(lengths)
    shards, order = [], []
    for f in range(files):
        name = schema.shard_name(split, f, files)
        clips = list(range(f, num, files))
        with tf.io.TFRecordWriter(os.path.join(folder, name)) as writer:
            for c in clips:
                writer.write(schema.serialize_example(ramp(lengths[c]), 22050, np.eye(num)[c], clip_id=c))
        shards.append({"file": name, "records": len(clips), "sha256": ""})
        order += clips
    manifest = {
        "tags": [f"clip{c}" for c in range(num)],
        "task": "multi_label",
        "sample_rate": 22050,
        "segment_length": SEGMENT,
        "splits": {
            split: {"clips": num, "segments": sum(max(1, n // SEGMENT) for n in lengths), "shards": shards}
        },
    }
    with open(os.path.join(folder, schema.MANIFEST), "w") as f:
        json.dump(manifest, f)
    return order  # clip number of record i (the eval clip index)


def locate(segment, label, lengths=LENGTHS):
    """(clip, start) of a segment, after checking it is a contiguous piece (zero-padded past the end)."""
    clip = int(np.argmax(label))
    pcm = np.round(segment * 32768.0).astype(np.int64)
    start = int(pcm[0]) + OFFSET
    length = lengths[clip]
    valid = min(SEGMENT, length - start)
    assert 0 <= start <= max(length - SEGMENT, 0), (clip, start)
    np.testing.assert_array_equal(pcm[:valid], np.arange(start, start + valid) - OFFSET)
    np.testing.assert_array_equal(pcm[valid:], 0)
    return clip, start
