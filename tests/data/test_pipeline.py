"""tf.data pipelines: shapes, crop validity, padding, exhaustive evaluation, sharding.

The records are written with `schema.serialize_example` directly. Every clip is a ramp whose
sample value tells its position (`sample i = i - OFFSET`) and whose one-hot label tells which
clip it is, so the test can locate every segment a pipeline yields inside its clip.
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_samplecnn.data import pipeline, schema
from keras_samplecnn.data.manifest import ManifestError, read_manifest

from tests.ramp_data import LENGTHS, SEGMENT, locate, ramp, write_dataset


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("tfrecords"))
    write_dataset(folder)
    return folder


def test_train_shapes_dtypes_and_static_batch(data_dir):
    ds = pipeline.train_dataset(data_dir, segment_length=SEGMENT, batch_size=4, shuffle_buffer=8)
    audio_spec, label_spec = ds.element_spec
    assert audio_spec.shape == (4, SEGMENT) and audio_spec.dtype == tf.float32
    assert label_spec.shape == (4, len(LENGTHS)) and label_spec.dtype == tf.float32
    audio, labels = next(ds.as_numpy_iterator())  # NumPy for JAX / PyTorch users
    assert isinstance(audio, np.ndarray) and audio.shape == (4, SEGMENT) and audio.dtype == np.float32
    assert np.all(np.abs(audio) <= 1.0)
    np.testing.assert_array_equal(labels.sum(axis=1), 1.0)


@pytest.mark.parametrize("crops", [1, 3])
def test_every_training_crop_is_a_slice_of_its_clip(data_dir, crops):
    ds = pipeline.train_dataset(
        data_dir,
        segment_length=SEGMENT,
        batch_size=4,
        crops_per_clip=crops,
        repeat=False,
        drop_remainder=False,
    )
    seen = np.zeros(len(LENGTHS), int)
    starts = {c: set() for c in range(len(LENGTHS))}
    for audio, labels in ds.as_numpy_iterator():
        clips = [locate(a, y)[0] for a, y in zip(audio, labels)]
        assert len(set(clips)) == len(clips), "a batch holds each clip at most once"
        for a, y in zip(audio, labels):
            clip, start = locate(a, y)
            seen[clip] += 1
            starts[clip].add(start)
    np.testing.assert_array_equal(seen, crops)  # one epoch: every clip, `crops` times
    for c, length in enumerate(LENGTHS):
        if length <= SEGMENT:
            assert starts[c] == {0}  # short clips: start 0, zero-padded (checked in locate)


def test_crop_offsets_are_random_and_cover_the_clip(data_dir):
    ds = pipeline.train_dataset(
        data_dir, segment_length=SEGMENT, batch_size=6, crops_per_clip=4, shuffle_buffer=4
    )
    starts = []
    for audio, labels in ds.take(60).as_numpy_iterator():
        for a, y in zip(audio, labels):
            clip, start = locate(a, y)
            if clip == 11:  # 1200 samples: starts 0..1100
                starts.append(start)
    assert len(set(starts)) > 0.6 * len(starts) and min(starts) < 300 and max(starts) > 800


def test_seeded_deterministic_runs_repeat(data_dir):
    def first_batches():
        ds = pipeline.train_dataset(
            data_dir, segment_length=SEGMENT, batch_size=4, crops_per_clip=2, seed=7, deterministic=True
        )
        return [a for a, _ in ds.take(3).as_numpy_iterator()]

    for a, b in zip(first_batches(), first_batches()):
        np.testing.assert_array_equal(a, b)


def test_all_segments_pass_yields_every_segment_once_on_a_shifted_grid(data_dir):
    ds = pipeline.train_dataset(
        data_dir, segment_length=SEGMENT, batch_size=7, crops_per_clip="all", repeat=False,
        drop_remainder=False, clips_per_parse=5, segment_shuffle_buffer=30,
    )  # fmt: skip
    starts = {c: [] for c in range(len(LENGTHS))}
    for audio, labels in ds.as_numpy_iterator():
        for a, y in zip(audio, labels):
            clip, start = locate(a, y)
            starts[clip].append(start)
    for clip, length in enumerate(LENGTHS):
        count = max(1, length // SEGMENT)
        first = min(starts[clip])
        assert sorted(starts[clip]) == [first + j * SEGMENT for j in range(count)], clip
        assert 0 <= first <= max(length - count * SEGMENT, 0), clip  # the grid stays inside the clip
    total = sum(len(v) for v in starts.values())
    assert total == pipeline.count_segments(data_dir, "train", SEGMENT) == sum(max(1, n // SEGMENT) for n in LENGTHS)


def test_all_segments_grid_offsets_change_between_passes(data_dir):
    ds = pipeline.train_dataset(data_dir, segment_length=SEGMENT, batch_size=5, crops_per_clip="all")
    first_starts = set()
    for audio, labels in ds.take(200).as_numpy_iterator():  # about 14 passes of 73 segments
        for a, y in zip(audio, labels):
            clip, start = locate(a, y)
            if clip == 4:  # 999 samples: 9 segments, 99 samples of room for the grid
                first_starts.add(start % SEGMENT)
    assert len(first_starts) >= 8 and max(first_starts) <= 99


def test_all_segments_without_random_offsets_are_the_fixed_grid(data_dir):
    ds = pipeline.train_dataset(
        data_dir, segment_length=SEGMENT, batch_size=5, crops_per_clip="all", random_offsets=False,
        repeat=False, drop_remainder=False,
    )  # fmt: skip
    starts = {}
    for audio, labels in ds.as_numpy_iterator():
        for a, y in zip(audio, labels):
            clip, start = locate(a, y)
            starts.setdefault(clip, []).append(start)
    for clip, length in enumerate(LENGTHS):
        assert sorted(starts[clip]) == list(range(0, max(1, length // SEGMENT) * SEGMENT, SEGMENT)), clip


def test_count_segments_for_another_length_reads_the_shards(data_dir):
    assert pipeline.count_segments(data_dir, "train", 150) == sum(max(1, n // 150) for n in LENGTHS)


def test_bad_crops_per_clip(data_dir):
    for bad in (0, "some", 1.5):
        with pytest.raises(ValueError, match="crops_per_clip"):
            pipeline.train_dataset(data_dir, segment_length=SEGMENT, crops_per_clip=bad)


@pytest.mark.parametrize("num_shards", [2, 3, 5])  # 3 files: by file for 2 and 3, by record for 5
def test_training_shards_partition_the_clips(data_dir, num_shards):
    parts = []
    for index in range(num_shards):
        ds = pipeline.train_dataset(
            data_dir, segment_length=SEGMENT, batch_size=2, repeat=False, drop_remainder=False,
            num_shards=num_shards, shard_index=index,
        )  # fmt: skip
        parts.append(
            [locate(a, y)[0] for audio, labels in ds.as_numpy_iterator() for a, y in zip(audio, labels)]
        )
    everything = [c for part in parts for c in part]
    assert sorted(everything) == list(range(len(LENGTHS)))  # disjoint and complete


def test_evaluation_yields_every_segment_once_with_its_clip_index(tmp_path):
    order = write_dataset(str(tmp_path))
    ds = pipeline.eval_dataset(
        str(tmp_path), "train", segment_length=SEGMENT, batch_size=7, clips_per_parse=5
    )
    audio_spec, _, index_spec = ds.element_spec
    assert audio_spec.shape.as_list() == [None, SEGMENT] and index_spec.dtype == tf.int64
    found = {}
    for audio, labels, clip_index in ds.as_numpy_iterator():
        assert len(audio) <= 7
        for a, y, i in zip(audio, labels, clip_index):
            clip, start = locate(a, y)
            assert order[i] == clip, "clip index = position of the record in manifest order"
            found.setdefault(clip, []).append(start)
    for clip, length in enumerate(LENGTHS):
        expected = list(range(0, max(1, length // SEGMENT) * SEGMENT, SEGMENT))
        assert sorted(found[clip]) == expected, clip


@pytest.mark.parametrize("num_shards", [2, 3, 4])
def test_evaluation_shards_partition_the_segments(data_dir, num_shards):
    seen = []
    for index in range(num_shards):
        ds = pipeline.eval_dataset(
            data_dir, "train", SEGMENT, batch_size=16, num_shards=num_shards, shard_index=index
        )
        seen += [
            (int(i), locate(a, y)[1])
            for audio, labels, idx in ds.as_numpy_iterator()
            for a, y, i in zip(audio, labels, idx)
        ]
    assert len(seen) == len(set(seen)) == sum(max(1, n // SEGMENT) for n in LENGTHS)
    assert {i for i, _ in seen} == set(range(len(LENGTHS)))


def test_eval_and_average_by_clip_round_trip(data_dir):
    scores, clips, labels = [], [], []
    for audio, y, idx in pipeline.eval_dataset(data_dir, "train", SEGMENT, batch_size=8).as_numpy_iterator():
        scores.append(audio[:, :1])  # a "prediction": the segment's first sample
        clips.append(idx)
        labels.append(y)
    clip_scores = pipeline.average_by_clip(np.concatenate(scores), np.concatenate(clips))
    assert clip_scores.shape == (len(LENGTHS), 1)
    clip_labels = pipeline.average_by_clip(np.concatenate(labels), np.concatenate(clips))
    np.testing.assert_array_equal(clip_labels.sum(axis=1), 1.0)  # one label row per clip, unchanged


def test_average_by_clip():
    predictions = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    np.testing.assert_allclose(pipeline.average_by_clip(predictions, [1, 0, 1]), [[3.0, 2.0], [3.0, 2.5]])
    with pytest.raises(ValueError, match="no segment"):
        pipeline.average_by_clip(predictions, [0, 0, 2])


def test_file_list_input_and_manifest_errors(tmp_path):
    write_dataset(str(tmp_path / "a"))
    files = read_manifest(str(tmp_path / "a")).shard_files("train")
    ds = pipeline.train_dataset(files[:1], segment_length=SEGMENT, batch_size=2, repeat=False)
    assert ds.element_spec[1].shape == (2, len(LENGTHS))  # tags from the manifest beside the files
    os.makedirs(tmp_path / "lone")
    lone = str(tmp_path / "lone" / "x.tfrecord")
    with tf.io.TFRecordWriter(lone) as writer:
        writer.write(schema.serialize_example(ramp(300), 22050, [1.0, 0.0]))
    with pytest.raises(ValueError, match="num_labels"):
        pipeline.train_dataset([lone], segment_length=SEGMENT)
    _, labels = next(
        pipeline.train_dataset([lone], segment_length=SEGMENT, batch_size=1, num_labels=2).as_numpy_iterator()
    )
    assert labels.tolist() == [[1.0, 0.0]]
    with pytest.raises(ManifestError, match="tfrecords_tools"):
        pipeline.train_dataset(str(tmp_path / "lone"))
    with pytest.raises(ManifestError, match="no split 'valid'"):
        pipeline.eval_dataset(str(tmp_path / "a"), "valid")


def test_manifest_accessors(data_dir):
    manifest = read_manifest(data_dir)
    assert (
        manifest.num_labels == len(LENGTHS)
        and manifest.sample_rate == 22050
        and manifest.task == "multi_label"
    )
    assert manifest.num_clips("train") == len(LENGTHS) and manifest["splits"]["train"]["clips"] == len(
        LENGTHS
    )
    assert manifest.shard_records("train") == [4, 4, 4]


def test_audio_file_dataset_without_tensorflow_io(tmp_path):
    try:
        pipeline._import_tfio()
    except pipeline.TensorflowIOUnavailable as error:
        assert isinstance(error, ImportError)
        assert "2.17" in str(error) and "TFRecords" in str(error)
    else:
        pytest.skip("tensorflow-io is usable here")


def test_audio_file_dataset_with_tensorflow_io(tmp_path):
    pytest.importorskip("tensorflow_io")
    sf = pytest.importorskip("soundfile")
    rng = np.random.default_rng(0)
    paths, lengths = [], [16000, 5000, 44100]
    for i, (n, ext) in enumerate(zip(lengths, [".wav", ".flac", ".mp3"])):
        path = str(tmp_path / f"clip{i}{ext}")
        sf.write(
            path,
            (0.1 * rng.standard_normal(n)).astype(np.float32),
            16000,
            **({"format": "MP3"} if ext == ".mp3" else {}),
        )
        paths.append(path)
    labels = np.eye(3)
    train = pipeline.audio_file_dataset(
        paths, labels, sample_rate=22050, segment_length=8000, batch_size=4, crops_per_clip=2
    )
    audio, y = next(train.as_numpy_iterator())
    assert audio.shape == (4, 8000) and y.shape == (4, 3)
    evaluation = pipeline.audio_file_dataset(
        paths, labels, sample_rate=22050, segment_length=8000, batch_size=5, training=False
    )
    counts = np.bincount(np.concatenate([i for _, _, i in evaluation.as_numpy_iterator()]), minlength=3)
    resampled = [round(n * 22050 / 16000) for n in lengths]
    assert counts.tolist() == [max(1, n // 8000) for n in resampled]


FIT_SCRIPT = """
import sys
import numpy as np
import keras
from keras_samplecnn.data import pipeline

data, segment = sys.argv[1], int(sys.argv[2])
inputs = keras.Input((segment,))
x = keras.layers.Reshape((segment, 1))(inputs)
x = keras.layers.Conv1D(4, 3, strides=3, activation="relu")(x)
outputs = keras.layers.Dense(12, activation="sigmoid")(keras.layers.GlobalMaxPooling1D()(x))
model = keras.Model(inputs, outputs)
model.compile("sgd", "binary_crossentropy")
history = model.fit(pipeline.train_dataset(data, segment_length=segment, batch_size=4), steps_per_epoch=3, verbose=0)
assert np.isfinite(history.history["loss"][-1])
scores, clips = [], []
for audio, labels, clip in pipeline.eval_dataset(data, "train", segment).as_numpy_iterator():
    scores.append(keras.ops.convert_to_numpy(model.predict_on_batch(audio)))
    clips.append(clip)
assert pipeline.average_by_clip(np.concatenate(scores), np.concatenate(clips)).shape == (12, 12)
print(keras.backend.backend(), "ok")
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_datasets_feed_fit_and_predict_on_every_backend(data_dir, backend):
    """Keras 3 `fit` takes the tf.data dataset on JAX and PyTorch too; eval runs as NumPy."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", FIT_SCRIPT, data_dir, str(SEGMENT)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and f"{backend} ok" in result.stdout, result.stderr[-3000:]


def test_training_and_evaluation_pipelines_run_without_an_autotuning_thread(data_dir):
    # Destroying an autotuned iterator (Keras does at the end of fit and of every validation
    # pass) was seen to wait 40-48 s for its autotuning thread; these pipelines have none.
    datasets = {
        "train, every segment": pipeline.train_dataset(data_dir, "train", segment_length=SEGMENT, batch_size=4,
                                                       crops_per_clip="all", seed=0),  # fmt: skip
        "train, crops": pipeline.train_dataset(data_dir, "train", segment_length=SEGMENT, batch_size=4, seed=0),
        "evaluation": pipeline.eval_dataset(data_dir, "train", SEGMENT, 4),
    }
    for name, dataset in datasets.items():
        assert dataset.options().autotune.enabled is False, name
        next(iter(dataset))  # and they still deliver
