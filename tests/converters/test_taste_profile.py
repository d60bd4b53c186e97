"""tfrecords_tools taste-profile (DCUE, issue 12): the real Taste Profile / MSD formats, the CSV form, bad
input (malformed lines, unknown users and songs, songs without audio), the subset, the cold-start split,
interactions.npz (keras_samplecnn.data.interaction_split) and the song records."""

import collections
import csv
import glob
import json
import logging
import os

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.data.interaction_split import (
    authors_protocol,
    authors_song_sets,
    InteractionSplit,
    load_interaction_split,
    save_interaction_split,
)
from tfrecords_tools import cli, taste_profile
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import read_examples

RATE = 22050
SECONDS = 3  # 66,150 samples: one 66,048-sample segment, no padding


def _id(prefix, name):
    return (prefix + name.upper()).ljust(18, "X")  # MSD ids: 18 characters


def _song(name):
    return _id("SO", name)


def _track(name):
    return _id("TR", name)


def _write_wav(path, seed):
    """A distinct int16 noise clip per file; returns the samples."""
    samples = (np.random.default_rng(seed).standard_normal(RATE * SECONDS) * 3000).astype(np.int16)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, samples, RATE, subtype="PCM_16")
    return samples


# song -> its tracks in the track list's order (None: the song is not in the list)
SONG_TRACKS = {
    "s0": ["t0"],  # audio in MSD's A/B/C tree
    "s1": ["t1a", "t1b"],  # the first track has no audio: the second is used (flat)
    "s2": ["t2a", "t2b"],  # t2a has audio but (s2, t2a) is a known mismatch: t2b is used
    "s3": ["t3", "t3b"],  # both have audio: the first listed is used
    "s4": ["t4"],
    "s5": ["t5"],
    "s6": None,  # unknown song
    "s7": ["t7"],  # unknown: its only track is a mismatch (it has audio)
    "s8": ["t8"],  # no audio
}
WITH_AUDIO = {"t0": "tree", "t1b": "flat", "t2a": "flat", "t2b": "tree", "t3": "flat", "t3b": "tree",
              "t4": "tree", "t5": "flat", "t7": "flat"}  # fmt: skip
MISMATCHES = [("s2", "t2a"), ("s7", "t7"), ("s9", "t9")]  # the last one is not in the data
EXPECTED_TRACK = {"s0": "t0", "s1": "t1b", "s2": "t2b", "s3": "t3", "s4": "t4", "s5": "t5"}
UNKNOWN, NO_AUDIO = {"s6", "s7"}, {"s8"}

# (user, song, count); one repeated pair (summed)
PLAYS = [
    ("u0", "s0", 3), ("u0", "s1", 1), ("u0", "s2", 2), ("u0", "s3", 1), ("u0", "s4", 5), ("u0", "s6", 2),
    ("u1", "s0", 1), ("u1", "s1", 4), ("u1", "s3", 1), ("u1", "s5", 1), ("u1", "s8", 1),
    ("u2", "s0", 2), ("u2", "s2", 1), ("u2", "s4", 1), ("u2", "s5", 2), ("u2", "s7", 1),
    ("u3", "s1", 1), ("u3", "s2", 1), ("u3", "s3", 7), ("u3", "s0", 1),
    ("u4", "s0", 1), ("u4", "s5", 3), ("u4", "s4", 1), ("u4", "s0", 2),
    ("u5", "s6", 1), ("u5", "s7", 2),  # u5 only played dropped songs
]  # fmt: skip
MALFORMED = ["u9\t" + _song("s0"), "\t" + _song("s1") + "\t1", "u1\t" + _song("s1") + "\tabc",
             "u1\t" + _song("s2") + "\t0"]  # fmt: skip


def _expected_pairs(drop=UNKNOWN | NO_AUDIO, users=None):
    """`{(user, song id): summed count}` of the plays kept, computed from PLAYS."""
    pairs = collections.Counter()
    for user, song, count in PLAYS:
        if song not in drop and (users is None or user in users):
            pairs[(user, _song(song))] += count
    return pairs


def _msd_dataset(root):
    """The real layouts: triplets (with malformed lines), unique_tracks.txt, song_to_tracks, sid_mismatches,
    audio in MSD's tree and flat. Returns the paths and `{track id: samples}`."""
    audio_dir = root / "audio"
    samples = {}
    for number, (track, layout) in enumerate(sorted(WITH_AUDIO.items())):
        tid = _track(track)
        relative = f"{tid[2]}/{tid[3]}/{tid[4]}/{tid}.wav" if layout == "tree" else f"{tid}.wav"
        samples[tid] = _write_wav(str(audio_dir / relative), seed=number)
    lines = [f"{user}\t{_song(song)}\t{count}" for user, song, count in PLAYS]
    lines[3:3] = MALFORMED[:2]
    lines += MALFORMED[2:]
    (root / "train_triplets.txt").write_text("\n".join(lines) + "\n")
    unique, to_tracks = [], []
    for song, tracks in SONG_TRACKS.items():
        if tracks is None:
            continue
        for track in tracks:
            unique.append(f"{_track(track)}<SEP>{_song(song)}<SEP>Artist {song}<SEP>Title {track}")
        to_tracks.append("\t".join([_song(song)] + [_track(track) for track in tracks]))
    unique.append(f"{_track('t99')}<SEP>{_song('s99')}<SEP>Nobody<SEP>")  # a song nobody played, empty title
    (root / "unique_tracks.txt").write_text("\n".join(unique) + "\n")
    (root / "song_to_tracks.txt").write_text("\n".join(to_tracks) + "\n")
    (root / "sid_mismatches.txt").write_text("".join(
        f"ERROR: <{_song(song)} {_track(track)}> Artist  -  Title  !=  Other  -  Other\n"
        for song, track in MISMATCHES
    ))  # fmt: skip
    return audio_dir, samples


def _read_rejected(out):
    with open(out / "rejected.csv", newline="") as handle:
        return {row["path"]: row["reason"] for row in csv.DictReader(handle)}


def _records(out):
    """`{clip_id: (split, example)}` from every shard."""
    records = {}
    for path in sorted(glob.glob(str(out / "*.tfrecord"))):
        split = os.path.basename(path).split("-")[0]
        for example in read_examples(path):
            assert example["clip_id"] not in records
            records[example["clip_id"]] = (split, example)
    return records


def _check_split(data, holdout_fraction):
    """The split's rules, checked from the arrays (not from the converter's report)."""
    cold_rows = data.cold[data.song]
    assert not (data.train & cold_rows).any() and (data.split[cold_rows] == 2).all()
    assert (data.split[~cold_rows] != 2).all()
    for user in range(data.num_users):
        warm = (data.user == user) & ~cold_rows
        assert data.test_warm[warm].sum() == int(holdout_fraction * warm.sum())


def test_msd_tracks_end_to_end(tmp_path):
    audio_dir, samples = _msd_dataset(tmp_path)
    out = tmp_path / "out"
    code = cli.main([
        "taste-profile", "--triplets", str(tmp_path / "train_triplets.txt"), "--audio-dir", str(audio_dir),
        "--msd-tracks", str(tmp_path / "unique_tracks.txt"),
        "--mismatches", str(tmp_path / "sid_mismatches.txt"),
        "--num-users", "100", "--num-songs", "100", "--cold-fraction", "0.34", "--holdout-fraction", "0.5",
        "--seed", "3", "--out", str(out), "--workers", "1", "--no-progress",
    ])  # fmt: skip
    assert code == 0
    expected = _expected_pairs()
    report = json.loads((out / "interactions.json").read_text())
    assert report["lines_read"] == len(PLAYS) + len(MALFORMED)
    assert report["malformed_lines"] == len(MALFORMED)
    assert report["unknown_songs"] == len(UNKNOWN)
    assert report["songs_without_audio"] == len(NO_AUDIO)
    assert report["unknown_song_interactions"] == len({(u, s) for u, s, _ in PLAYS if s in UNKNOWN})
    assert report["songs_without_audio_interactions"] == len({(u, s) for u, s, _ in PLAYS if s in NO_AUDIO})
    assert report["unknown_users"] is None and report["songs_not_written"] == 0
    assert report["arguments"] == {"num_users": 100, "num_songs": 100, "song_list": None, "cold_fraction": 0.34,
                                   "holdout_fraction": 0.5, "seed": 3}  # fmt: skip
    assert report["kept"]["interactions"] == len(expected)
    assert report["kept"]["users"] == len({user for user, _ in expected}) == 5  # u5 played only dropped songs
    assert report["kept"]["songs"] == len(EXPECTED_TRACK)
    assert report["kept"]["cold_songs"] == 2  # round(0.34 * 6)

    rejected = _read_rejected(out)
    assert set(rejected) == {_song(song) for song in UNKNOWN | NO_AUDIO}
    assert "not in unique_tracks.txt" in rejected[_song("s6")]
    assert "mismatch" in rejected[_song("s7")]
    assert "no audio" in rejected[_song("s8")]

    data = load_interaction_split(out)
    assert sum(report["splits"].values()) == len(data.user)
    assert report["splits"]["train"] == int(data.train.sum())
    got = {(data.users[u], data.songs[s]): c for u, s, c in zip(data.user, data.song, data.count)}
    assert got == dict(expected)
    assert {s: t for s, t in zip(data.songs, data.tracks)} == {
        _song(s): _track(t) for s, t in EXPECTED_TRACK.items()
    }
    assert data.user.dtype == np.int32 and data.split.dtype == np.int8 and data.cold.dtype == bool
    _check_split(data, 0.5)

    records = _records(out)
    assert set(records) == set(data.songs)
    for song, track, cold in zip(data.songs, data.tracks, data.cold):
        split, example = records[song]
        assert split == ("test" if cold else "train")
        assert example["labels"].shape == (0,)
        np.testing.assert_array_equal(example["audio"], samples[track])

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tags"] == [] and manifest["dataset"] == "taste_profile"


def test_song_records_read_by_the_pipelines(tmp_path):
    """Records without labels (tags []) go through read_manifest, train_dataset and eval_dataset."""
    from keras_samplecnn.data.manifest import read_manifest
    from keras_samplecnn.data.pipeline import eval_dataset, train_dataset

    audio_dir, _ = _msd_dataset(tmp_path)
    out = tmp_path / "out"
    assert cli.main([
        "taste-profile", "--triplets", str(tmp_path / "train_triplets.txt"), "--audio-dir", str(audio_dir),
        "--song-to-tracks", str(tmp_path / "song_to_tracks.txt"), "--out", str(out), "--workers", "1",
        "--no-progress", "--cold-fraction", "0.2",
    ]) == 0  # fmt: skip
    assert read_manifest(out).tags == []
    audio, labels = next(iter(train_dataset(out, "train", segment_length=16384, batch_size=2, seed=0)))
    assert audio.shape == (2, 16384) and labels.shape == (2, 0)
    audio, labels, index = next(iter(eval_dataset(out, "test", segment_length=16384, batch_size=2)))
    assert audio.shape == (2, 16384) and labels.shape == (2, 0)


def test_song_to_tracks_and_users(tmp_path):
    audio_dir, _ = _msd_dataset(tmp_path)
    (tmp_path / "song_to_tracks.txt").write_text(
        (tmp_path / "song_to_tracks.txt").read_text() + _song("s9") + "\n"  # a song id alone: no track
    )
    (tmp_path / "train_triplets.txt").write_text(
        (tmp_path / "train_triplets.txt").read_text() + f"u0\t{_song('s9')}\t1\n"
    )
    known = {"u0", "u1", "u2", "u3", "nobody"}
    (tmp_path / "users.txt").write_text("\n".join(sorted(known)) + "\n")
    plan = taste_profile.plan(
        str(audio_dir), triplets=str(tmp_path / "train_triplets.txt"),
        song_to_tracks=str(tmp_path / "song_to_tracks.txt"), mismatches=str(tmp_path / "sid_mismatches.txt"),
        users=str(tmp_path / "users.txt"), cold_fraction=0.0, holdout_fraction=0.0,
    )  # fmt: skip
    report, data = plan.report, plan.interactions
    assert report["unknown_users"] == 2  # u4, u5
    assert report["unknown_user_interactions"] == len({(u, s) for u, s, _ in PLAYS if u in ("u4", "u5")})
    # s6 is not listed and s9 has no track: unknown; s7 (mismatch) was played by u2 (known) only
    assert report["unknown_songs"] == 3 and report["songs_without_audio"] == 1
    assert {row.path for row in plan.rejected} == {_song(s) for s in ("s6", "s7", "s8", "s9")}
    expected = _expected_pairs(users=known)
    got = {(data.users[u], data.songs[s]): c for u, s, c in zip(data.user, data.song, data.count)}
    assert got == dict(expected)
    assert not data.cold.any() and data.train.all()
    assert {job.split for job in plan.jobs} == {"train"}
    assert {job.clip_id: job.path.rsplit("/", 1)[-1] for job in plan.jobs} == {
        _song(s): _track(t) + ".wav" for s, t in EXPECTED_TRACK.items() if _song(s) in data.songs
    }


def test_subset_selection(tmp_path):
    audio_dir, _ = _msd_dataset(tmp_path)
    plan = taste_profile.plan(
        str(audio_dir), triplets=str(tmp_path / "train_triplets.txt"),
        msd_tracks=str(tmp_path / "unique_tracks.txt"), mismatches=str(tmp_path / "sid_mismatches.txt"),
        num_users=2, num_songs=3, cold_fraction=0.0, holdout_fraction=0.0,
    )  # fmt: skip
    pairs = _expected_pairs()
    listeners = collections.Counter(song for _, song in pairs)
    songs = sorted(listeners, key=lambda s: (-listeners[s], s))[:3]
    played = collections.Counter(user for user, song in pairs if song in songs)
    users = sorted(played, key=lambda u: (-played[u], u))[:2]
    data = plan.interactions
    assert list(data.songs) == songs and list(data.users) == users
    assert len(data.user) == sum(1 for user, song in pairs if user in users and song in songs)
    assert sorted(job.clip_id for job in plan.jobs) == sorted(songs)


def test_csv_form(tmp_path):
    audio_dir = tmp_path / "audio"
    samples = {
        "rock/a.wav": _write_wav(str(audio_dir / "rock/a.wav"), 1),
        "jazz/b.wav": _write_wav(str(audio_dir / "jazz/b.wav"), 2),
        "pop/deep/c.wav": _write_wav(str(audio_dir / "pop/deep/c.wav"), 3),
    }
    items = {"rock/a.wav": "rock/a.wav", "jazz/b": "jazz/b.wav", "c": "pop/deep/c.wav"}  # rules 1, 2, 3
    rows = ["user,item,count", "x,rock/a.wav,2", "x,jazz/b,1", "y,c,4", "y,rock/a.wav,1", "z,missing,3",
            "z,c,1", "z,jazz/b", "w,c,-1"]  # fmt: skip
    (tmp_path / "plays.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    assert cli.main([
        "taste-profile", "--interactions", str(tmp_path / "plays.csv"), "--audio-dir", str(audio_dir),
        "--cold-fraction", "0.3", "--holdout-fraction", "0", "--out", str(out),
        "--workers", "1", "--no-progress",
    ]) == 0  # fmt: skip
    report = json.loads((out / "interactions.json").read_text())
    assert report["lines_read"] == len(rows) - 1 and report["malformed_lines"] == 2
    assert report["songs_without_audio"] == 1 and report["unknown_songs"] == 0
    rejected = _read_rejected(out)
    assert set(rejected) == {"missing"} and "no audio file" in rejected["missing"]
    data = load_interaction_split(out)
    assert dict(zip(data.songs, data.tracks)) == items
    got = {(data.users[u], data.songs[s]): c for u, s, c in zip(data.user, data.song, data.count)}
    assert got == {("x", "rock/a.wav"): 2, ("x", "jazz/b"): 1, ("y", "c"): 4, ("y", "rock/a.wav"): 1,
                   ("z", "c"): 1}  # fmt: skip
    assert data.cold.sum() == 1  # round(0.3 * 3)
    _check_split(data, 0.0)
    records = _records(out)
    for song, path, cold in zip(data.songs, data.tracks, data.cold):
        split, example = records[song]
        assert split == ("test" if cold else "train") and example["path"] == path
        np.testing.assert_array_equal(example["audio"], samples[path])


def test_song_whose_audio_fails_to_decode_leaves_the_npz(tmp_path):
    audio_dir = tmp_path / "audio"
    _write_wav(str(audio_dir / "a.wav"), 1)
    _write_wav(str(audio_dir / "c.wav"), 3)
    (audio_dir / "b.wav").write_bytes(b"not a wav file at all" * 10)
    (tmp_path / "plays.csv").write_text("user,item,count\nx,a,1\nx,b,2\ny,b,1\ny,c,1\n")
    out = tmp_path / "out"
    assert cli.main(["taste-profile", "--interactions", str(tmp_path / "plays.csv"),
                     "--audio-dir", str(audio_dir), "--cold-fraction", "0", "--out", str(out),
                     "--workers", "1", "--no-progress"]) == 0  # fmt: skip
    report = json.loads((out / "interactions.json").read_text())
    assert report["songs_not_written"] == 1 and report["kept"]["songs"] == 2
    assert "b.wav" in _read_rejected(out)
    data = load_interaction_split(out)
    assert sorted(data.songs) == ["a", "c"] == sorted(_records(out))
    got = {(data.users[u], data.songs[s]): c for u, s, c in zip(data.user, data.song, data.count)}
    assert got == {("x", "a"): 1, ("y", "c"): 1}


@pytest.mark.parametrize("files", [["x/d.wav", "y/d.wav"], ["rock/d.wav", "rock/d.flac"]])
def test_csv_ambiguous_item_is_an_error(tmp_path, caplog, files):
    for number, path in enumerate(files):
        os.makedirs(os.path.dirname(tmp_path / "audio" / path), exist_ok=True)
        sf.write(str(tmp_path / "audio" / path), np.zeros(100, np.int16), RATE)
    item = "d" if files[0].startswith("x/") else "rock/d"
    (tmp_path / "plays.csv").write_text(f"user,item,count\nu,{item},1\n")
    with caplog.at_level(logging.ERROR):
        code = cli.main(["taste-profile", "--interactions", str(tmp_path / "plays.csv"),
                         "--audio-dir", str(tmp_path / "audio"), "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    assert f"item {item!r} is ambiguous" in caplog.text and all(path in caplog.text for path in files)
    assert not (tmp_path / "out" / "interactions.npz").exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["--triplets", "T", "--msd-tracks", "U", "--song-to-tracks", "S"],  # both mappings
        ["--triplets", "T", "--interactions", "C"],  # both sources
        ["--msd-tracks", "U"],  # no source
    ],
)
def test_usage_errors_exit_2(tmp_path, extra):
    with pytest.raises(SystemExit) as info:
        cli.main(["taste-profile", "--audio-dir", str(tmp_path), "--out", str(tmp_path / "o"), *extra])
    assert info.value.code == 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--triplets", "T"], "give --msd-tracks or --song-to-tracks"),  # no mapping
        (["--interactions", "C", "--msd-tracks", "U"], "only go with --triplets"),
        (["--interactions", "C", "--mismatches", "M"], "only go with --triplets"),
    ],
)
def test_bad_argument_combinations_exit_2(tmp_path, caplog, extra, message):
    with caplog.at_level(logging.ERROR):
        code = cli.main(["taste-profile", "--audio-dir", str(tmp_path), "--out", str(tmp_path / "o"), *extra])
    assert code == 2 and message in caplog.text


def test_msd_track_list_malformed_and_missing_files(tmp_path):
    audio_dir, _ = _msd_dataset(tmp_path)
    _write_wav(str(audio_dir / "copy" / (_track("t4") + ".flac")), 0)
    with pytest.raises(DatasetError, match=f"track id {_track('t4')} .* has 2 audio files"):
        taste_profile.plan(str(audio_dir), triplets=str(tmp_path / "train_triplets.txt"),
                           msd_tracks=str(tmp_path / "unique_tracks.txt"))  # fmt: skip
    (tmp_path / "bad_tracks.txt").write_text(f"{_track('t0')}<SEP>{_song('s0')}<SEP>only three\n")
    with pytest.raises(DatasetError, match="line 1"):
        taste_profile.plan(str(audio_dir), triplets=str(tmp_path / "train_triplets.txt"),
                           msd_tracks=str(tmp_path / "bad_tracks.txt"))  # fmt: skip
    with pytest.raises(DatasetError, match="not found"):
        taste_profile.plan(str(audio_dir), triplets=str(tmp_path / "nothing.txt"),
                           msd_tracks=str(tmp_path / "unique_tracks.txt"))  # fmt: skip


def _convert_with_song_list(tmp_path, song_list):
    audio_dir, _ = _msd_dataset(tmp_path)
    out = tmp_path / "out"
    code = cli.main([
        "taste-profile", "--triplets", str(tmp_path / "train_triplets.txt"), "--audio-dir", str(audio_dir),
        "--msd-tracks", str(tmp_path / "unique_tracks.txt"), "--mismatches", str(tmp_path / "sid_mismatches.txt"),
        "--song-list", str(song_list), "--cold-fraction", "0", "--out", str(out), "--workers", "1", "--no-progress",
    ])  # fmt: skip
    return code, out


def test_the_authors_song_list_keeps_its_songs_in_its_order(tmp_path):
    # jongpillee/deep-content-user @0e57b68 data/subset_songs_20000_10000.npy: a 1-D `|S18` array of
    # Echo Nest song ids, written by np.save, read without pickle.
    listed = ["s4", "s99", "s0", "s8", "s2", "s6", "s5"]  # s99: nobody played it; s8: no audio; s6: unknown
    path = tmp_path / "subset_songs_20000_10000.npy"
    np.save(path, np.array([_song(name) for name in listed], dtype="|S18"))
    assert np.load(path, allow_pickle=False).dtype == np.dtype("S18")
    code, out = _convert_with_song_list(tmp_path, path)
    assert code == 0
    data = load_interaction_split(out)
    kept = [name for name in listed if name in EXPECTED_TRACK]  # s4, s0, s2, s5: s1 and s3 are not listed
    assert sorted(data.songs.tolist()) == sorted(_song(name) for name in kept)
    position = {_song(name): index for index, name in enumerate(listed)}
    assert data.order.tolist() == [position[song] for song in data.songs]
    report = json.loads((out / "interactions.json").read_text())
    assert report["songs_not_in_list"] == 2  # s1, s3 (with audio, played, not listed)
    assert report["songs_not_in_list_interactions"] == len({(u, s) for u, s, _ in PLAYS if s in ("s1", "s3")})
    assert report["listed_songs_missing"] == 3  # s99, s8, s6
    got = {(data.users[u], data.songs[s]) for u, s in zip(data.user, data.song)}
    assert got == {pair for pair in _expected_pairs() if pair[1] in {_song(name) for name in kept}}


def test_a_song_list_as_text_and_bad_lists(tmp_path):
    text = tmp_path / "songs.txt"
    text.write_text(f"{_song('s5')}\n\n{_song('s0')}\n")
    assert taste_profile.read_song_list(str(text)) == [_song("s5"), _song("s0")]
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([_song("s0"), None], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match="objects.npy: not a NumPy array of song ids"):
        taste_profile.read_song_list(str(pickled))
    numbers = tmp_path / "numbers.npy"
    np.save(numbers, np.arange(3))
    with pytest.raises(DatasetError, match="1-D array of song ids"):
        taste_profile.read_song_list(str(numbers))
    twice = tmp_path / "twice.npy"
    np.save(twice, np.array([_song("s0"), _song("s0")], dtype="|S18"))
    with pytest.raises(DatasetError, match="listed twice"):
        taste_profile.read_song_list(str(twice))
    nothing = tmp_path / "nothing.txt"
    nothing.write_text(f"{_song('s77')}\n")
    code, _ = _convert_with_song_list(tmp_path, nothing)
    assert code == 2


def test_the_authors_song_split_is_their_index_modulo_ten():
    # load_label.py split(): train = index % 10 in 0..6, valid = index % 10 == 8 (split_v), test =
    # index % 10 in 8..9; written here from their loops, not from our function.
    import itertools

    total = np.arange(40)
    train = set(itertools.chain(*[np.where(total % 10 == i)[0] for i in range(7)]))
    valid = set(np.where(total % 10 == 8)[0])
    test = set(itertools.chain(*[np.where(total % 10 == i)[0] for i in range(8, 10)]))
    order = np.random.default_rng(0).permutation(40)  # the npz's songs in another order than the list's
    sets = authors_song_sets(order)
    for mask, expected in zip(sets, (train, valid, test)):
        assert set(order[mask].tolist()) == expected
    data = _split(songs=[f"s{i}" for i in range(40)], tracks=[str(i) for i in range(40)], cold=[False] * 40,
                  order=order, user=[0, 0, 1, 1], song=[0, 1, 2, 3], split=[0, 0, 0, 0])  # fmt: skip
    authors = authors_protocol(data)
    test_songs = np.isin(order, list(test))
    np.testing.assert_array_equal(authors.cold, test_songs)
    for song, code in zip(authors.song, authors.split):
        expected = 2 if order[song] in test else (0 if order[song] in train else 1)
        assert code == expected
    with pytest.raises(ValueError, match="order"):
        _split(order=[0, 0, 1])


def _split(**changes):
    fields = dict(users=["a", "b"], songs=["s", "t", "v"], tracks=["1", "2", "3"], user=[0, 0, 1, 1],
                  song=[0, 1, 0, 2], count=[1, 2, 3, 4], split=[0, 1, 0, 2],
                  cold=[False, False, True])  # fmt: skip
    fields.update(changes)
    return InteractionSplit(**fields)


def test_interaction_split_round_trip_and_matrix(tmp_path):
    data = _split()
    save_interaction_split(tmp_path / "interactions.npz", data)
    loaded = load_interaction_split(tmp_path)
    for name in ("users", "songs", "tracks", "user", "song", "count", "split", "cold", "order"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(data, name))
    np.testing.assert_array_equal(loaded.order, [0, 1, 2])  # no list: the songs' own order
    assert loaded.num_users == 2 and loaded.num_songs == 3
    np.testing.assert_array_equal(loaded.train, [True, False, True, False])
    np.testing.assert_array_equal(loaded.matrix(loaded.train), [[True, False, False], [True, False, False]])
    np.testing.assert_array_equal(loaded.matrix(), [[True, True, False], [True, False, True]])
    np.testing.assert_array_equal(loaded.matrix(loaded.test_cold), [[False] * 3, [False, False, True]])
    assert not os.path.exists(tmp_path / "interactions.npz.tmp")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"tracks": ["1"]}, "one length"),
        ({"count": [1, 2, 3]}, "one length"),
        ({"song": [0, 1, 0, 3]}, "song indices"),
        ({"user": [0, 0, -1, 1]}, "user indices"),
        ({"split": [0, 1, 0, 0]}, "cold song v"),  # a cold song trained on
        ({"split": [2, 1, 0, 2]}, "warm song s"),
        ({"split": [0, 3, 0, 2]}, "split codes"),
        ({"count": [1, 0, 3, 4]}, "counts"),
        ({"song": [0, 0, 0, 2], "split": [0, 0, 0, 2]}, "more than once"),
        ({"users": ["a", "a"]}, "repeated"),
    ],
)
def test_interaction_split_validation(changes, message):
    with pytest.raises(ValueError, match=message):
        _split(**changes)


def test_load_rejects_a_broken_file(tmp_path):
    np.savez(tmp_path / "interactions.npz", users=np.array(["a"]))
    with pytest.raises(ValueError, match="missing arrays"):
        load_interaction_split(tmp_path / "interactions.npz")
