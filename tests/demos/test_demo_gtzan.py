"""The synthetic GTZAN: the layout the real converter reads, the wav format, determinism, its
own tracks (not demo MTAT's), and genres that a simple spectral and rhythm feature tells apart."""

import itertools
import os
import re

import numpy as np
import pytest

from keras_samplecnn.datasets import demo_gtzan, demo_mtat, make_demo_gtzan
from tests import helpers
from tfrecords_tools import gtzan

CLIPS_PER_GENRE = 2
SECONDS = 1.5
RATE = 22050
FILE_PATH = re.compile(r"^([a-z]+)/\1\.(\d{5})\.wav$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("demo_gtzan"))
    clips = make_demo_gtzan(
        folder, clips_per_genre=CLIPS_PER_GENRE, clip_seconds=SECONDS, seed=0, workers=0, progress=False
    )
    return folder, clips


def test_layout_is_what_the_gtzan_converter_reads(demo):
    folder, clips = demo
    assert sorted(os.listdir(folder)) == ["README.md", "genres_original"]
    plan = gtzan.plan(folder)
    assert plan.tags == list(demo_gtzan.GENRES) == ["classical", "country", "disco", "metal", "pop", "rock"]
    assert not set(plan.tags) & set(demo_gtzan.ABSENT_GENRES)
    assert len(plan.jobs) == len(clips) == CLIPS_PER_GENRE * len(demo_gtzan.GENRES)
    assert plan.source == os.path.join(folder, "genres_original")
    for job in plan.jobs:
        genre, number = FILE_PATH.match(job.path).groups()
        assert int(number) < CLIPS_PER_GENRE and job.clip_id == f"{genre}.{number}"
        assert list(job.labels) == [float(g == genre) for g in plan.tags]
    assert sorted("genres_original/" + job.path for job in plan.jobs) == sorted(c.path for c in clips)
    for genre in demo_gtzan.GENRES:
        names = sorted(os.listdir(os.path.join(folder, "genres_original", genre)))
        assert names == [f"{genre}.{i:05d}.wav" for i in range(CLIPS_PER_GENRE)]


def test_wav_format(demo):
    folder, clips = demo
    for clip in clips:
        path = os.path.join(folder, clip.path)
        helpers.check_demo_wav(path, RATE, SECONDS)


def test_same_arguments_give_the_same_bytes(demo, tmp_path):
    folder, _ = demo
    again, other = str(tmp_path / "again"), str(tmp_path / "other")
    make_demo_gtzan(again, CLIPS_PER_GENRE, SECONDS, seed=0, workers=2, progress=False)
    assert helpers.folder_digest(again) == helpers.folder_digest(folder)
    make_demo_gtzan(other, CLIPS_PER_GENRE, SECONDS, seed=1, workers=0, progress=False)
    same, changed = helpers.folder_digest(folder), helpers.folder_digest(other)
    assert same.keys() == changed.keys()
    assert all(same[p] != changed[p] for p in same if p.endswith(".wav"))


def test_tracks_are_not_demo_mtat_tracks():
    clips = demo_gtzan.plan(30, seed=0)
    for clip in clips:
        assert clip.track.style in demo_gtzan.GENRE_STYLES[clip.genre]
    assert {c.track.style for c in clips if c.genre == "classical"} == set(
        demo_gtzan.GENRE_STYLES["classical"]
    )
    mtat_seeds = {c.track.seed for c in demo_mtat.demo_plan(3000, seed=0)}
    assert not mtat_seeds & {c.track.seed for c in clips}
    # A genre's clips do not depend on the dataset's size.
    small = demo_gtzan.plan(3, seed=0)
    assert [c.track.seed for c in small] == [c.track.seed for c in clips if int(c.path[-9:-4]) < 3]


def _features(samples, rate=RATE, num_bands=8):
    """Spectral shape (level removed), centroid, onset strength, beat periodicity, flatness."""
    x = samples.astype(np.float64) / 32768.0
    n_fft, hop = 1024, 256
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-10
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    edges = np.geomspace(60, rate / 2, num_bands + 1)
    bands = np.log(
        np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in itertools.pairwise(edges)], 1)
    )
    rise = np.maximum(np.diff(bands, axis=0), 0)  # spectral flux per band
    flux = rise.mean(1) - rise.mean(1).mean()
    autocorrelation = np.correlate(flux, flux, "full")[len(flux) - 1 :] / (flux @ flux + 1e-12)
    frames_per_second = rate / hop
    periodicity = autocorrelation[int(0.2 * frames_per_second) : int(1.5 * frames_per_second)].max()
    centroid = (power * freqs).sum(1) / power.sum(1)
    flatness = np.exp(np.log(power).mean(1)) / power.mean(1)
    return np.concatenate(
        [
            bands.mean(0) - bands.mean(),
            [np.log(centroid.mean()), rise.mean(), rise[:, -3:].mean(), periodicity, np.log(flatness.mean())],
        ]
    )


def _leave_one_out_accuracy(features, labels):
    """Nearest class mean (standardised features) for each clip, fitted on the others."""
    hits = []
    for i in range(len(labels)):
        train = np.arange(len(labels)) != i
        z = (features - features[train].mean(0)) / (features[train].std(0) + 1e-9)
        means = np.stack([z[train & (labels == k)].mean(0) for k in np.unique(labels)])
        hits.append(np.unique(labels)[np.argmin(((z[i] - means) ** 2).sum(1))] == labels[i])
    return float(np.mean(hits))


def test_genres_are_acoustically_distinct():
    # 6 genres: chance is 1/6. Seeds 0-7 give 0.47-0.75 (seed 0: 0.53); shuffled labels stay below 0.37.
    clips = demo_gtzan.plan(6, seed=0)
    features = np.stack([_features(demo_gtzan.render(c, RATE, 3.0)) for c in clips])
    labels = np.array([demo_gtzan.GENRES.index(c.genre) for c in clips])
    accuracy = _leave_one_out_accuracy(features, labels)
    assert accuracy >= 0.45, accuracy
    shuffled = [
        _leave_one_out_accuracy(features, np.random.default_rng(k).permutation(labels)) for k in range(3)
    ]
    assert max(shuffled) < 0.45, shuffled  # the check can fail: it does for labels that mean nothing
