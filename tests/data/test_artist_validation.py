"""The artist models' validation as the authors build it (jongpillee/ismir2018-artist @ 68841d2,
data_generator.py load_valid_basic / load_valid_siamese): one random excerpt per validation
track, at a seeded start, drawn once."""

import collections
import os

import numpy as np
import pytest

from keras_samplecnn.data import artist_validation
from keras_samplecnn.data.manifest import read_manifest
from keras_samplecnn.training import config as config_lib
from tests import helpers
from tfrecords_tools.writer import read_examples

RATE = 8000
LENGTH = 1000  # samples per excerpt


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """5 artists x 6 tracks of noise, 1.5 to 2.9 times an excerpt long; split 2 / 3 / 1 per artist."""
    root = tmp_path_factory.mktemp("artist_validation")
    rng = np.random.default_rng(0)
    waves = {(a, k): 0.3 * rng.uniform(-1, 1, int(LENGTH * (1.5 + 0.1 * (a + 3 * k) % 1.4)))
             for a in range(5) for k in range(6)}  # fmt: skip
    return helpers.artist_tfrecords(root, waves, RATE, LENGTH, (2, 3, 1), num_shards=2)


def _valid_clips(folder):
    """The valid split's clips, independently (TensorFlow's parser), in manifest order."""
    files = read_manifest(folder).shard_files("valid")
    return [example for path in files for example in read_examples(path)]


def test_basic_validation_is_one_excerpt_per_track_at_a_seeded_start(data):
    clips = _valid_clips(data)
    assert len(clips) == 15  # 5 artists x 3
    batches, steps = artist_validation.basic_validation(data, "valid", LENGTH, batch_size=4, seed=7)
    assert steps == len(batches) == 4  # 15 excerpts in batches of 4, the last of 3
    audio = np.concatenate([batches[i][0] for i in range(steps)])
    labels = np.concatenate([batches[i][1] for i in range(steps)])
    assert audio.shape == (15, LENGTH) and audio.dtype == np.float32 and labels.shape == (15, 5)
    starts = artist_validation.basic_plan([len(c["audio"]) for c in clips], LENGTH, 7)
    for i, clip in enumerate(clips):
        assert 0 <= starts[i] <= len(clip["audio"]) - LENGTH
        np.testing.assert_array_equal(audio[i], clip["audio"][starts[i] : starts[i] + LENGTH] / 32768.0)
        np.testing.assert_array_equal(labels[i], clip["labels"])
    assert len(set(starts.tolist())) > 10  # random starts, not a grid
    # Drawn once: every epoch reads the same batches; another seed draws other starts.
    np.testing.assert_array_equal(batches[1][0], batches[1][0])
    again, _ = artist_validation.basic_validation(data, "valid", LENGTH, batch_size=4, seed=7)
    np.testing.assert_array_equal(again[3][0], batches[3][0])
    assert not np.array_equal(artist_validation.basic_plan([len(c["audio"]) for c in clips], LENGTH, 8), starts)
    even, steps = artist_validation.basic_validation(data, "valid", LENGTH, batch_size=4, seed=7, multiple_of=2)
    assert even.num_examples == 14 and steps == 4


def test_basic_starts_are_uniform_over_the_valid_positions():
    starts = artist_validation.basic_plan([LENGTH + 3] * 4000 + [LENGTH - 10], LENGTH, 0)
    counts = collections.Counter(starts[:-1].tolist())
    assert set(counts) == {0, 1, 2, 3} and min(counts.values()) > 900  # randint(0, n - L) inclusive
    assert starts[-1] == 0  # a clip shorter than an excerpt: one zero-padded excerpt


def test_siamese_validation_is_one_anchor_per_track_with_a_positive_and_negatives(data):
    clips = _valid_clips(data)
    artist = [int(np.argmax(c["labels"])) for c in clips]
    batches, steps = artist_validation.siamese_validation(data, "valid", LENGTH, num_negatives=4, batch_size=6,
                                                          seed=3)  # fmt: skip
    assert steps == 3 and batches.num_examples == 15
    plan_clips, plan_starts, same = artist_validation.siamese_plan(
        artist, [len(c["audio"]) for c in clips], LENGTH, 4, 3
    )
    assert same == 0 and plan_clips.shape == (15, 6)
    assert plan_clips[:, 0].tolist() == list(range(15))  # every validation track is an anchor, once
    for row in plan_clips.tolist():
        anchor, positive, negatives = row[0], row[1], row[2:]
        assert positive != anchor and artist[positive] == artist[anchor]
        assert len(set(negatives)) == 4 and all(artist[n] != artist[anchor] for n in negatives)
    inputs, targets = batches[2]
    assert inputs["anchor"].shape == (3, LENGTH) and inputs["negatives"].shape == (3, 4, LENGTH)
    assert targets.shape == (3, 5)
    for b, i in enumerate(range(12, 15)):
        cut = [clips[j]["audio"][s : s + LENGTH] / 32768.0 for j, s in zip(plan_clips[i], plan_starts[i])]
        np.testing.assert_array_equal(inputs["anchor"][b], cut[0])
        np.testing.assert_array_equal(inputs["positive"][b], cut[1])
        np.testing.assert_array_equal(inputs["negatives"][b], np.stack(cut[2:]))
    # Drawn once and seeded.
    again, _ = artist_validation.siamese_validation(data, "valid", LENGTH, 4, 6, seed=3)
    np.testing.assert_array_equal(again[0][0]["negatives"], batches[0][0]["negatives"])
    other, _, _ = artist_validation.siamese_plan(artist, [len(c["audio"]) for c in clips], LENGTH, 4, 4)
    assert not np.array_equal(other, plan_clips)


def test_siamese_plan_with_one_track_per_artist_and_too_few_negatives():
    clips, starts, same = artist_validation.siamese_plan([0, 1, 2, 2], [LENGTH * 2] * 4, LENGTH, 1, 0)
    assert same == 2 and clips[0, 1] == 0 and clips[1, 1] == 1  # their own track, at another start
    assert clips[2, 1] == 3 and clips[3, 1] == 2
    assert (starts <= LENGTH).all()
    with pytest.raises(ValueError, match="2 clips of artists other than label 2, fewer than the 3 negatives"):
        artist_validation.siamese_plan([0, 1, 2, 2], [LENGTH] * 4, LENGTH, 3, 0)


@pytest.mark.parametrize("name", ["artist_basic", "artist_siamese"])
def test_the_trainer_validates_on_one_excerpt_per_track(data, tmp_path, monkeypatch, name):
    """The trainer's validation for both artist models: one example per validation track."""
    from keras_samplecnn.training import trainer

    seen = {}
    for function in ("basic_validation", "siamese_validation"):
        original = getattr(artist_validation, function)

        def spy(*args, _original=original, _name=function, **kwargs):
            seen[_name] = result = _original(*args, **kwargs)
            return result

        monkeypatch.setattr(artist_validation, function, spy)
    small = {"num_frames": 128, "hop_length": 8, "fft_length": 32, "num_mel_bins": 16}
    config = config_lib.from_dict({
        "model": {"name": name, "overrides": small},
        "data": {"dir": data, "batch_size": 5, "crops_per_clip": 1, "shuffle_buffer": 8, "eval_batch_size": 4},
        "optimization": {"learning_rate": 0.01, "max_epochs": 1, "stages": 1, "seed": 2},
        "precision": {"policy": "float32", "xla": False},
        "output": {"dir": str(tmp_path / "run"), "tensorboard": False, "verbose": 0},
        "siamese": {"num_negatives": 3},
    })  # fmt: skip
    trainer.train(config)
    key = "basic_validation" if name == "artist_basic" else "siamese_validation"
    batches, steps = seen[key]
    assert batches.num_examples == 15 and steps == (4 if name == "artist_basic" else 3)
    first = batches[0][0]["anchor"] if name == "artist_siamese" else batches[0][0]
    assert first.shape == ((5 if name == "artist_siamese" else 4), 127 * 8)  # the model's input
    log = (tmp_path / "run" / "training_log.csv").read_text().splitlines()
    assert "val_loss" in log[0] and len(log) == 2
    assert os.path.exists(tmp_path / "run" / "best.keras")
