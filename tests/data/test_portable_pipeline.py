"""The TensorFlow-free reader (`keras_samplecnn.data.portable`) against tf.data.

"Same crops" where it is well defined: evaluation segments, labels and clip indices equal
`eval_dataset`'s; an epoch of every segment on the authors' grid is the same multiset as
`train_dataset`'s; random crops are valid pieces of their clips, uniform over the valid starts,
and repeat with the seed; clip-level scores and ROC-AUC of a fixed function are identical.
Uses the ramp records of `test_pipeline` (each segment can be located) and the tiny MTAT demo.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_samplecnn.data import pipeline, portable
from keras_samplecnn.evaluation.metrics import tagging_metrics
from tests.helpers import unavailable
from tests.ramp_data import LENGTHS, OFFSET, SEGMENT, locate, write_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("ramps"))
    write_dataset(folder)
    return folder


def concat(batches):
    return [np.concatenate(part) for part in zip(*batches)]


def starts_of(audio):
    return np.round(audio[:, 0] * 32768.0).astype(np.int64) + OFFSET


def test_parser_reads_what_tensorflow_wrote(data_dir):
    from tfrecords_tools.writer import read_examples

    for name in sorted(os.listdir(data_dir)):
        if not name.endswith(".tfrecord"):
            continue
        path = os.path.join(data_dir, name)
        for expected, record in zip(read_examples(path), portable.read_records(path), strict=True):
            parsed = portable.parse_example(record)
            np.testing.assert_array_equal(np.frombuffer(parsed["audio"][0], "<i2"), expected["audio"])
            np.testing.assert_array_equal(parsed["labels"], expected["labels"])
            assert parsed["num_samples"] == [expected["num_samples"]]
            assert parsed["sample_rate"] == [22050]
            assert bytes(parsed["clip_id"][0]).decode() == expected["clip_id"]


def test_damaged_length_is_caught(tmp_path, data_dir):
    name = sorted(n for n in os.listdir(data_dir) if n.endswith(".tfrecord"))[0]
    damaged = bytearray(open(os.path.join(data_dir, name), "rb").read())
    damaged[0] ^= 1
    path = tmp_path / "damaged.tfrecord"
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="CRC"):
        list(portable.read_records(path))


@pytest.mark.parametrize("num_shards", [1, 2, 5])  # 5 > 3 files: sharded by record
def test_eval_batches_equal_eval_dataset(data_dir, num_shards):
    for shard in range(num_shards):
        ours = list(portable.eval_batches(data_dir, "train", SEGMENT, batch_size=5, num_shards=num_shards,
                                          shard_index=shard))  # fmt: skip
        theirs = list(pipeline.eval_dataset(data_dir, "train", SEGMENT, batch_size=5, num_shards=num_shards,
                                            shard_index=shard).as_numpy_iterator())  # fmt: skip
        assert [len(b[0]) for b in ours] == sorted((len(b[0]) for b in theirs), reverse=True)
        audio, labels, clip = concat(ours)
        assert audio.dtype == np.float32 and labels.dtype == np.float32 and clip.dtype == np.int64
        # tf.data yields the rows in any order; ours come by clip index, then position.
        assert np.all(np.diff(clip) >= 0)
        t_audio, t_labels, t_clip = concat(theirs)
        order = np.lexsort((starts_of(t_audio), t_clip))
        np.testing.assert_array_equal(audio, t_audio[order])  # same samples, same zero padding
        np.testing.assert_array_equal(labels, t_labels[order])
        np.testing.assert_array_equal(clip, t_clip[order])


def test_every_segment_epoch_is_the_same_multiset_as_tf_data(data_dir):
    ours = concat(portable.train_batches(data_dir, segment_length=SEGMENT, batch_size=7, crops_per_clip="all",
                                         repeat=False, drop_remainder=False, random_offsets=False, seed=3))  # fmt: skip
    theirs = concat(pipeline.train_dataset(data_dir, segment_length=SEGMENT, batch_size=7, crops_per_clip="all",
                                           repeat=False, drop_remainder=False, random_offsets=False,
                                           seed=3).as_numpy_iterator())  # fmt: skip
    assert len(ours[0]) == sum(max(1, n // SEGMENT) for n in LENGTHS)
    for a, b in zip(ours, theirs):
        rows = lambda x: np.lexsort(x.reshape(len(x), -1).T[::-1])  # noqa: E731
        np.testing.assert_array_equal(a[rows(a)], b[rows(b)])


def test_every_segment_epoch_with_random_offsets_is_a_shifted_grid(data_dir):
    starts = {c: [] for c in range(len(LENGTHS))}
    for audio, labels in portable.train_batches(data_dir, segment_length=SEGMENT, batch_size=7, crops_per_clip="all",
                                                repeat=False, drop_remainder=False, seed=1):  # fmt: skip
        for a, y in zip(audio, labels):
            clip, start = locate(a, y)
            starts[clip].append(start)
    for clip, length in enumerate(LENGTHS):
        count = max(1, length // SEGMENT)
        first = min(starts[clip])
        assert sorted(starts[clip]) == [first + j * SEGMENT for j in range(count)]
        assert first + count * SEGMENT <= max(length, SEGMENT)


@pytest.mark.parametrize("crops", [1, 3])
def test_every_crop_is_a_slice_of_its_clip(data_dir, crops):
    seen = np.zeros(len(LENGTHS), int)
    for audio, labels in portable.train_batches(data_dir, segment_length=SEGMENT, batch_size=4,
                                                crops_per_clip=crops, repeat=False, seed=0):  # fmt: skip
        assert audio.shape == (4, SEGMENT) and audio.dtype == np.float32 and labels.dtype == np.float32
        clips = [locate(a, y)[0] for a, y in zip(audio, labels)]  # contiguous, zero-padded past the end
        assert len(set(clips)) == len(clips), "a batch holds each clip at most once"
        seen[clips] += 1
    np.testing.assert_array_equal(seen, crops)  # one epoch (12 clips, batches of 4): each clip k times


def test_crop_starts_are_uniform_and_seeded(data_dir):
    def draw(seed, batches):  # 4 batches of 12 clips, each cut 500 times: 2000 crops per clip
        stream = portable.train_batches(data_dir, segment_length=SEGMENT, batch_size=12, crops_per_clip=500,
                                        shuffle_buffer=4, seed=seed)  # fmt: skip
        return [next(stream) for _ in range(batches)]

    first = draw(5, 2000)
    for (a, y), (b, z) in zip(first, draw(5, 100)):  # the same seed: the same batches
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(y, z)
    assert not np.array_equal(first[0][0], draw(6, 1)[0][0])
    audio, labels = concat(first)
    clip, start = np.argmax(labels, axis=1), starts_of(audio)
    short = start[clip == 10]  # 205 samples: starts 0 .. 105
    assert set(short) == set(range(106)), "every start is reachable"
    long = start[clip == 11]  # 1200 samples: starts 0 .. 1100
    assert long.min() >= 0 and long.max() <= 1100
    assert abs(long.mean() - 550) < 4 * 318 / np.sqrt(len(long))  # uniform: sd 318
    quarters = np.bincount(np.minimum(long * 4 // 1101, 3), minlength=4)
    assert quarters.min() > 0.8 * len(long) / 4
    np.testing.assert_array_equal(start[clip == 2], 0)  # exactly one segment long
    np.testing.assert_array_equal(start[clip == 7], 0)  # shorter: start 0, zero-padded


def test_clip_level_scores_and_roc_auc_are_identical(tiny_mtat):
    from tests.tiny_data import SEGMENT as TINY_SEGMENT
    from tests.tiny_data import TAGS

    weights = np.random.default_rng(0).standard_normal((len(TAGS), TINY_SEGMENT))

    def predict(audio):  # row by row: a row's score does not depend on its batch
        return np.stack([np.abs(audio.astype(np.float64) * w).sum(axis=1) for w in weights], axis=1)

    def clip_scores(batches, canonical):
        audio, labels, clip = concat(batches)
        if canonical:  # one summation order per clip, whatever order the rows came in
            order = np.lexsort((*audio.T[::-1], clip))
            audio, labels, clip = audio[order], labels[order], clip[order]
        scores = portable.average_by_clip(predict(audio), clip)
        return scores, portable.average_by_clip(labels, clip)

    ours = list(portable.eval_batches(tiny_mtat, "test", TINY_SEGMENT, batch_size=16))
    theirs = list(pipeline.eval_dataset(tiny_mtat, "test", TINY_SEGMENT, batch_size=16).as_numpy_iterator())
    assert len(concat(ours)[0]) > 16
    (scores, truth), (t_scores, t_truth) = clip_scores(ours, True), clip_scores(theirs, True)
    np.testing.assert_array_equal(scores, t_scores)
    np.testing.assert_array_equal(truth, t_truth)
    assert tagging_metrics(truth, scores, TAGS) == tagging_metrics(t_truth, t_scores, TAGS)
    # As a user would run it, in the order each pipeline yields: the same up to summation order.
    (scores, truth), (t_scores, t_truth) = clip_scores(ours, False), clip_scores(theirs, False)
    np.testing.assert_allclose(scores, t_scores, rtol=1e-12)
    roc = tagging_metrics(truth, scores, TAGS)["roc_auc"]
    assert roc == tagging_metrics(t_truth, t_scores, TAGS)["roc_auc"] and roc is not None


def test_runs_and_feeds_keras_without_tensorflow(data_dir):
    """In a fresh process on the JAX backend where TensorFlow and protobuf cannot be imported."""
    if importlib.util.find_spec("jax") is None:
        unavailable("jax is not installed (pip install -e '.[backends]')")
    script = textwrap.dedent(
        f"""
        import sys

        import tests.hide_tensorflow  # TensorFlow, TensorBoard and protobuf cannot be found
        import numpy as np
        import keras
        from keras_samplecnn.data import portable
        from keras_samplecnn.data.manifest import read_manifest

        data = {data_dir!r}
        clips = sum(len(b[0]) for b in portable.eval_batches(data, "train", {SEGMENT}, batch_size=4))
        model = keras.Sequential([keras.Input(({SEGMENT},)), keras.layers.Dense(12, activation="sigmoid")])
        model.compile("sgd", "binary_crossentropy")
        train = portable.train_batches(data, segment_length={SEGMENT}, batch_size=4, crops_per_clip=2, seed=0)
        history = model.fit(train, steps_per_epoch=3, epochs=2, verbose=0)
        assert len(history.history["loss"]) == 2
        assert "tensorflow" not in sys.modules and "google.protobuf" not in sys.modules
        print("ok", keras.backend.backend(), clips)
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["ok", "jax", str(sum(max(1, n // SEGMENT) for n in LENGTHS))]


def test_prefetch_thread_gives_the_same_batches_and_stops(data_dir):
    def batches(prefetch):
        stream = portable.train_batches(data_dir, segment_length=SEGMENT, batch_size=4, crops_per_clip=3,
                                        seed=2, prefetch=prefetch)  # fmt: skip
        return stream, [next(stream) for _ in range(20)]

    (_, plain), (threaded, ahead) = batches(0), batches(2)
    for (a, y), (b, z) in zip(plain, ahead):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(y, z)
    threaded.close()  # the consumer stops early: the thread ends instead of filling forever
    with pytest.raises(ValueError, match="crops_per_clip"):
        portable.train_batches(data_dir, crops_per_clip=0)
