"""The synthetic artist dataset: each artist keeps its sound over its tracks, the plan is
deterministic (and a prefix for fewer artists), the files are what the artist converter reads,
and a simple spectral classifier tells the artists apart on held-out tracks."""

import collections
import csv
import itertools
import os
import re

import numpy as np
import pytest

from keras_samplecnn.datasets import artists_plan, demo_artists, demo_mtat, make_demo_artists
from keras_samplecnn.datasets.__main__ import main as datasets_main
from tests import helpers
from tfrecords_tools import artists as artists_converter

NUM_ARTISTS = 4
TRACKS = 4
SECONDS = 1.5
RATE = 22050
FILE_PATH = re.compile(r"^([a-z0-9_]+)/(\d\d)-[a-z0-9_]+\.wav$")


def _slug(text):
    return re.sub(r"[^a-z0-9]", "_", text.lower())


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("demo_artists"))
    artists = make_demo_artists(folder, NUM_ARTISTS, TRACKS, SECONDS, seed=0, workers=0, progress=False)
    return folder, artists


def _read_csv(folder):
    with open(os.path.join(folder, "artists.csv"), newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader]


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


def test_every_artist_keeps_its_sound_over_its_tracks():
    artists = artists_plan(num_artists=12, tracks_per_artist=8, seed=0)
    assert len(artists) == 12
    at_home, total = 0, 0
    for artist in artists:
        assert len(artist.tracks) == 8
        tracks = [item.track for item in artist.tracks]
        assert {t.style for t in tracks} == {artist.style}
        assert all(t.parts == tracks[0].parts for t in tracks) and tracks[0].parts == artist.parts
        assert {(t.mode, t.tempo, t.loudness) for t in tracks} == {
            (artist.mode, artist.tempo, artist.loudness)
        }
        assert {t.seed % 3 for t in tracks} == {artist.variant}  # the same recordings of its instruments
        assert len({t.seed for t in tracks}) == 8  # but new notes on every track
        for t in tracks:
            assert abs(t.bpm / artist.bpm - 1.0) <= 0.04 + 1e-9
            low, high = demo_mtat.TEMPO_RANGES[artist.tempo]
            assert low <= artist.bpm <= high
            assert min((t.key - artist.key) % 12, (artist.key - t.key) % 12) <= 2
            assert t.tags and set(t.tags) >= set(demo_mtat.track_tags(t))  # the audible tags, at least
        assert {item.artist for item in artist.tracks} == {artist.name}
        assert {item.album for item in artist.tracks} == set(artist.albums) and 1 <= len(artist.albums) <= 3
        at_home += sum(t.key == artist.key for t in tracks)
        total += len(tracks)
    assert 0.6 <= at_home / total <= 0.9, at_home / total  # ~75 % at the home key
    assert at_home < total  # and some transposed
    names = [artist.name for artist in artists]
    assert len(set(names)) == len(names) and len({_slug(n) for n in names}) == len(names)
    ids = [item.track_id for artist in artists for item in artist.tracks]
    assert len(set(ids)) == len(ids)
    assert ids[:2] == ["ART000T00", "ART000T01"] and ids[-1] == "ART011T07"


def test_styles_are_dealt_round_robin():
    styles = list(demo_mtat.STYLES)
    counts = collections.Counter(a.style for a in artists_plan(2 * len(styles), 1, seed=3))
    assert counts == {style: 2 for style in styles}  # several artists share each style
    counts = collections.Counter(a.style for a in artists_plan(60, 1, seed=0))
    assert set(counts) == set(styles) and set(counts.values()) <= {3, 4}


def test_plan_is_deterministic_and_a_prefix():
    plan = artists_plan(30, 5, seed=0)
    assert plan == artists_plan(30, 5, seed=0)
    other = artists_plan(30, 5, seed=1)
    assert [a.name for a in plan] != [a.name for a in other]
    assert not {i.track.seed for a in plan for i in a.tracks} & {
        i.track.seed for a in other for i in a.tracks
    }
    assert artists_plan(7, 5, seed=0) == plan[:7]  # fewer artists: the same first artists
    fewer_tracks = artists_plan(30, 2, seed=0)
    for small, big in zip(fewer_tracks, plan):
        assert (small.name, small.style, small.parts, small.key, small.bpm) == (
            big.name, big.style, big.parts, big.key, big.bpm
        )  # fmt: skip
        assert [i.track.seed for i in small.tracks] == [i.track.seed for i in big.tracks[:2]]


def test_tracks_are_not_demo_mtat_tracks():
    seeds = {i.track.seed for a in artists_plan(60, 10, seed=0) for i in a.tracks}
    assert not seeds & {c.track.seed for c in demo_mtat.demo_plan(3000, seed=0)}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_artists": 1}, "num_artists"),
        ({"tracks_per_artist": 0}, "tracks_per_artist"),
        ({"clip_seconds": 0.0}, "clip_seconds"),
        ({"sample_rate": -1}, "sample_rate"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_demo_artists(str(tmp_path / "never"), **kwargs, workers=0, progress=False)
    assert not (tmp_path / "never").exists()


# ---------------------------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------------------------


def test_layout_and_csv(demo):
    folder, artists = demo
    assert sorted(os.listdir(folder)) == ["README.md", "artists.csv", "audio"]
    header, rows = _read_csv(folder)
    assert header == ["path", "artist", "track_id", "album"]
    assert len(rows) == NUM_ARTISTS * TRACKS
    on_disk = {
        os.path.relpath(os.path.join(root, name), os.path.join(folder, "audio")).replace(os.sep, "/")
        for root, _, names in os.walk(os.path.join(folder, "audio"))
        for name in names
    }
    assert on_disk == {row["path"] for row in rows}
    by_artist = collections.defaultdict(list)
    for row in rows:
        artist_folder, number = FILE_PATH.match(row["path"]).groups()
        assert artist_folder == _slug(row["artist"]) and row["album"]
        by_artist[row["artist"]].append((int(number), row["track_id"], row["album"]))
    assert sorted(by_artist) == sorted(a.name for a in artists)
    for tracks in by_artist.values():
        assert sorted(n for n, _, _ in tracks) == list(range(1, TRACKS + 1))
        assert 1 <= len({album for _, _, album in tracks}) <= 3
    ids = [row["track_id"] for row in rows]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"ART\d{3}T\d{2}", i) for i in ids)
    with open(os.path.join(folder, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    assert readme.startswith("# Demo artists") and "say nothing about real artists" in readme
    assert not [name for name in on_disk if name.endswith(".part")]


def test_wav_format(demo):
    folder, _ = demo
    _, rows = _read_csv(folder)
    for row in rows:
        path = os.path.join(folder, "audio", row["path"])
        helpers.check_demo_wav(path, RATE, SECONDS)


def test_same_arguments_give_the_same_bytes(demo, tmp_path):
    folder, _ = demo
    again, other = str(tmp_path / "again"), str(tmp_path / "other")
    make_demo_artists(again, NUM_ARTISTS, TRACKS, SECONDS, seed=0, workers=2, progress=False)
    assert helpers.folder_digest(again) == helpers.folder_digest(folder)
    make_demo_artists(other, NUM_ARTISTS, TRACKS, SECONDS, seed=1, workers=0, progress=False)
    assert helpers.folder_digest(other) != helpers.folder_digest(folder)


def test_the_artist_converter_reads_it(demo):
    folder, _ = demo
    _, rows = _read_csv(folder)
    plan = artists_converter.plan(
        os.path.join(folder, "audio"), os.path.join(folder, "artists.csv"), (2, 1, 1)
    )
    names = sorted({row["artist"] for row in rows})
    assert plan.tags == names and plan.task == "single_label" and not plan.rejected
    assert collections.Counter(job.split for job in plan.jobs) == {
        "train": 2 * NUM_ARTISTS,
        "valid": NUM_ARTISTS,
        "test": NUM_ARTISTS,
    }
    row_of = {row["path"]: row for row in rows}
    assert sorted(job.path for job in plan.jobs) == sorted(row_of)
    for job in plan.jobs:
        row = row_of[job.path]
        assert job.clip_id == row["track_id"]
        assert list(job.labels) == [float(name == row["artist"]) for name in names]
    for name in names:  # each artist's 4 tracks split 2 / 1 / 1
        splits = collections.Counter(job.split for job in plan.jobs if row_of[job.path]["artist"] == name)
        assert splits == {"train": 2, "valid": 1, "test": 1}


def test_command_line(tmp_path):
    out = tmp_path / "cli"
    argv = ["artists", str(out), "--artists", "2", "--tracks", "1", "--seconds", "0.25", "--workers", "0"]
    assert datasets_main(argv + ["--no-progress"]) == 0
    _, rows = _read_csv(str(out))
    assert len(rows) == 2 and (out / "README.md").exists()


# ---------------------------------------------------------------------------------------------
# Learnable: the artist is audible
# ---------------------------------------------------------------------------------------------


def _features(samples, rate=RATE, num_bands=16):
    """Mean and standard deviation over frames of log band energies, and of their frame-to-frame
    rise (onsets): timbre, level and rhythm density, with NumPy only."""
    x = samples.astype(np.float64) / 32768.0
    n_fft, hop = 1024, 256
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-10
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    edges = np.geomspace(50, rate / 2, num_bands + 1)
    bands = np.log(
        np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in itertools.pairwise(edges)], 1)
    )
    rise = np.maximum(np.diff(bands, axis=0), 0)
    return np.concatenate([bands.mean(0), bands.std(0), rise.mean(0)])


def _held_out_accuracy(features, labels, train):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
    model.fit(features[train], labels[train])
    return float(np.mean(model.predict(features[~train]) == labels[~train]))


def test_artists_are_told_apart_on_held_out_tracks():
    # 8 artists x 5 tracks of 2 s: fit on 3 tracks of each, predict the artist of the other 2.
    # Chance is 1/8; seeds 0-3 give 0.94-1.0 (seed 0: 1.0), shuffled labels 0-0.125.
    artists = artists_plan(8, 5, seed=0)
    items = [item for artist in artists for item in artist.tracks]
    features = np.stack([_features(demo_artists.render(item, RATE, 2.0)) for item in items])
    labels = np.array([artist.index for artist in artists for _ in artist.tracks])
    train = np.array([number < 3 for artist in artists for number in range(len(artist.tracks))])
    accuracy = _held_out_accuracy(features, labels, train)
    assert accuracy >= 3 / 8, accuracy
    # The check can fail: labels that mean nothing stay near chance.
    shuffled = [
        _held_out_accuracy(features, np.random.default_rng(k).permutation(labels), train) for k in range(3)
    ]
    assert max(shuffled) < 3 / 8, shuffled


def test_artists_of_one_style_are_told_apart():
    # 6 styles x 2 artists each (artists i and i + 19 share a style): a classifier that heard
    # only the style would be right half the time at best. Seeds 0-4 give 0.875-1.0 (seed 0: 1.0).
    plan = artists_plan(25, 5, seed=0)
    artists = plan[:6] + plan[19:25]
    assert [a.style for a in artists[:6]] == [a.style for a in artists[6:]]
    items = [item for artist in artists for item in artist.tracks]
    features = np.stack([_features(demo_artists.render(item, RATE, 2.0)) for item in items])
    labels = np.array([artist.index for artist in artists for _ in artist.tracks])
    train = np.array([number < 3 for artist in artists for number in range(len(artist.tracks))])
    accuracy = _held_out_accuracy(features, labels, train)
    assert accuracy >= 0.75, accuracy
