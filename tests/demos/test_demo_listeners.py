"""The synthetic listeners (Taste Profile layout, for DCUE): the files are in the real formats with
the deliberate missing audio and unknown songs, the plan is deterministic, and the plays carry a
taste signal that content beats popularity with on held-out and cold-start songs, while
popularity beats chance; each checked independently of the generator's code."""

import collections
import csv
import os
import re

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from keras_samplecnn.datasets import demo_listeners, listeners_plan, make_demo_listeners
from keras_samplecnn.datasets.__main__ import main as datasets_main
from tests import helpers
from tfrecords_tools import artists as artists_converter
from tfrecords_tools import interactions as interactions_converter

NUM_ARTISTS, TRACKS, USERS, SECONDS, RATE = 4, 10, 20, 0.5, 22050
TRACK_ID = re.compile(r"TR[A-Z0-9]{16}")
SONG_ID = re.compile(r"SO[A-Z0-9]{16}")
USER_ID = re.compile(r"[0-9a-f]{40}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("demo_listeners"))
    plan = make_demo_listeners(folder, NUM_ARTISTS, TRACKS, USERS, SECONDS, seed=0, workers=0, progress=False)
    return folder, plan


def _read_lines(path):
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    assert text.endswith("\n") and "\r" not in text
    return text[:-1].split("\n")


def _wavs(folder):
    audio = os.path.join(folder, "audio")
    return {
        os.path.relpath(os.path.join(root, name), audio).replace(os.sep, "/")
        for root, _, names in os.walk(audio)
        for name in names
    }


# ---------------------------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------------------------


def test_layout_is_the_taste_profile_and_msd_formats(demo):
    folder, plan = demo
    assert sorted(os.listdir(folder)) == [
        "README.md",
        "audio",
        "songs.csv",
        "train_triplets.txt",
        "unique_tracks.txt",
    ]
    tracks = [line.split("<SEP>") for line in _read_lines(os.path.join(folder, "unique_tracks.txt"))]
    assert len(tracks) == NUM_ARTISTS * TRACKS
    for fields in tracks:
        assert len(fields) == 4 and TRACK_ID.fullmatch(fields[0]) and SONG_ID.fullmatch(fields[1])
        assert fields[2] and fields[3] and "\t" not in "".join(fields)
    assert len({f[0] for f in tracks}) == len(tracks) and len({f[1] for f in tracks}) == len(tracks)
    assert len({f[2] for f in tracks}) == NUM_ARTISTS

    triplets = [line.split("\t") for line in _read_lines(os.path.join(folder, "train_triplets.txt"))]
    assert all(len(t) == 3 for t in triplets)  # no header: every line is a triplet
    for user, song, count in triplets:
        assert USER_ID.fullmatch(user) and SONG_ID.fullmatch(song) and re.fullmatch(r"[1-9]\d*", count)
    assert len({(u, s) for u, s, _ in triplets}) == len(triplets)  # one line per pair
    runs = [user for i, (user, _, _) in enumerate(triplets) if i == 0 or triplets[i - 1][0] != user]
    assert len(runs) == len(set(runs)) == USERS  # grouped by user, every user plays
    for user in runs:  # each user's songs in song-id order
        songs = [s for u, s, _ in triplets if u == user]
        assert songs == sorted(songs)

    # Audio: the MSD tree of the track id, for every listed track but the deliberately missing.
    on_disk = _wavs(folder)
    expected = {f"{t[2]}/{t[3]}/{t[4]}/{t}.wav" for t, _, _, _ in tracks}
    assert on_disk <= expected
    missing = [t for t, _, _, _ in tracks if f"{t[2]}/{t[3]}/{t[4]}/{t}.wav" not in on_disk]
    assert len(missing) == 1 == round(0.025 * len(tracks))  # 2.5 %, at least one
    listed_songs = {s for _, s, _, _ in tracks}
    unknown = {s for _, s, _ in triplets} - listed_songs
    assert len(unknown) == 1  # 2 % of 40 rounds to 1
    unknown_lines = sum(s in unknown for _, s, _ in triplets)
    assert 2 <= unknown_lines <= 5
    song_of_track = {t: s for t, s, _, _ in tracks}
    assert plan.counts() == {
        "users": USERS, "songs": len(tracks), "triplets": len(triplets), "missing_audio": 1,
        "unknown_songs": 1, "unknown_triplets": unknown_lines,
    }  # fmt: skip
    assert plan.missing_audio == [song_of_track[missing[0]]] and plan.unknown_songs == sorted(unknown)
    with open(os.path.join(folder, "README.md"), encoding="utf-8") as handle:
        readme = " ".join(handle.read().split())
    assert readme.startswith("# Demo listeners")
    assert f"{USERS} users, {len(tracks)} songs in `unique_tracks.txt`, {len(triplets)} triplets" in readme
    assert f"1 listed songs have no audio file, and 1 song ids ({unknown_lines} triplets)" in readme
    assert not [name for name in on_disk if name.endswith(".part")]


def test_wav_format(demo):
    folder, _ = demo
    for path in _wavs(folder):
        helpers.check_demo_wav(os.path.join(folder, "audio", path), RATE, SECONDS)


def test_songs_csv_matches_the_track_list(demo):
    folder, plan = demo
    with open(os.path.join(folder, "songs.csv"), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["song_id", "track_id", "artist", "style", "tags", "popularity", "has_audio"]
    tracks = [line.split("<SEP>") for line in _read_lines(os.path.join(folder, "unique_tracks.txt"))]
    assert [(r["track_id"], r["song_id"], r["artist"]) for r in rows] == [tuple(t[:3]) for t in tracks]
    on_disk = _wavs(folder)
    for row in rows:
        tid = row["track_id"]
        assert row["has_audio"] == str(int(f"{tid[2]}/{tid[3]}/{tid[4]}/{tid}.wav" in on_disk))
        assert row["style"] in demo_listeners.demo_mtat.STYLES and float(row["popularity"]) > 0
        assert row["tags"] and all(tag.strip() == tag and tag for tag in row["tags"].split("|"))
    by_artist = collections.defaultdict(set)
    for row in rows:
        by_artist[row["artist"]].add(row["style"])
    assert all(len(styles) == 1 for styles in by_artist.values())  # an artist keeps its style


def test_same_arguments_give_the_same_bytes(demo, tmp_path):
    folder, _ = demo
    again, other = str(tmp_path / "again"), str(tmp_path / "other")
    make_demo_listeners(again, NUM_ARTISTS, TRACKS, USERS, SECONDS, seed=0, workers=2, progress=False)
    assert helpers.folder_digest(again) == helpers.folder_digest(folder)
    make_demo_listeners(other, 2, 3, 5, 0.25, seed=1, workers=0, progress=False)
    with open(os.path.join(other, "unique_tracks.txt"), encoding="utf-8") as handle:
        other_tracks = {line.split("<SEP>")[0] for line in handle}
    with open(os.path.join(folder, "unique_tracks.txt"), encoding="utf-8") as handle:
        assert not other_tracks & {line.split("<SEP>")[0] for line in handle}


def test_the_converters_read_it(demo):
    folder, plan = demo
    read = interactions_converter.read_taste_profile(os.path.join(folder, "train_triplets.txt"))
    assert read.malformed == 0 and len(read) == plan.counts()["triplets"] and len(read.users) == USERS
    assert int(read.count.sum()) == sum(c for _, _, c in plan.triplets)
    # The artist converter's MSD mode finds the audio in the tree and rejects the missing track.
    msd = artists_converter.plan_msd(
        os.path.join(folder, "audio"), os.path.join(folder, "unique_tracks.txt"), (5, 2, 2)
    )
    missing_track = [s.track_id for s in plan.songs if not s.has_audio]
    assert [r.path for r in msd.rejected][:1] == missing_track
    assert len(msd.jobs) == NUM_ARTISTS * 9 and msd.task == "single_label"


def test_command_line(tmp_path):
    out = tmp_path / "cli"
    argv = ["listeners", str(out), "--artists", "2", "--tracks", "2", "--users", "3", "--seconds", "0.25"]
    assert datasets_main(argv + ["--workers", "0", "--no-progress"]) == 0
    assert len(_read_lines(str(out / "unique_tracks.txt"))) == 4 and (out / "README.md").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [({"num_users": 0}, "num_users"), ({"num_artists": 1}, "num_artists"), ({"seconds": 0.0}, "seconds")],
)
def test_bad_arguments_are_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_demo_listeners(str(tmp_path / "never"), **kwargs, workers=0, progress=False)
    assert not (tmp_path / "never").exists()


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_plan():
    return listeners_plan(seed=0)


def test_default_sizes_and_ids(default_plan):
    plan = default_plan
    assert len(plan.songs) == 320 and len(plan.users) == 300
    assert len(plan.missing_audio) == 8 and len(plan.unknown_songs) == 6  # 2.5 % and 2 % of 320
    ids = [s.song_id for s in plan.songs] + [s.track_id for s in plan.songs] + plan.unknown_songs
    assert len(set(ids)) == len(ids)
    assert len({u.user_id for u in plan.users}) == 300 and all(
        USER_ID.fullmatch(u.user_id) for u in plan.users
    )
    activity = np.array([u.activity for u in plan.users])
    assert activity.min() >= 5 and activity.max() <= 60 and 10 <= np.median(activity) <= 20
    assert activity.max() >= 3 * np.median(activity)  # heavy-tailed
    plays = collections.Counter(u for u, _, _ in plan.triplets)
    unknown = collections.Counter(u for u, s, _ in plan.triplets if s in set(plan.unknown_songs))
    assert all(plays[u.user_id] - unknown[u.user_id] == u.activity for u in plan.users)
    assert all(1 <= len(u.favourite_artists) <= 3 for u in plan.users)
    assert all(
        s.path == f"{s.track_id[2]}/{s.track_id[3]}/{s.track_id[4]}/{s.track_id}.wav" for s in plan.songs
    )


def test_plan_is_deterministic(default_plan):
    again = listeners_plan(seed=0)
    assert again.triplets == default_plan.triplets
    assert [s.song_id for s in again.songs] == [s.song_id for s in default_plan.songs]
    other = listeners_plan(seed=1)
    assert not {u.user_id for u in other.users} & {u.user_id for u in default_plan.users}
    assert not {s.track.seed for s in (x.item for x in other.songs)} & {
        x.item.track.seed for x in default_plan.songs
    }
    # Not the demo artists dataset's tracks for the same seed.
    artist_seeds = {
        i.track.seed for a in demo_listeners.demo_artists.plan(40, 8, seed=0) for i in a.tracks
    }
    assert not artist_seeds & {s.item.track.seed for s in default_plan.songs}


def test_plays_concentrate_on_favoured_styles_and_artists(default_plan):
    plan = default_plan
    song = {s.song_id: s for s in plan.songs}
    catalogue = collections.Counter(s.style for s in plan.songs)
    share, chance, favourite_share, favourite_chance = [], [], [], []
    artist_songs = collections.Counter(s.artist for s in plan.songs)
    for user in plan.users:
        top = plan.styles[int(np.argmax(user.style_taste))]
        played = [song[s] for u, s, _ in plan.triplets if u == user.user_id and s in song]
        share.append(np.mean([s.style == top for s in played]))
        chance.append(catalogue[top] / len(plan.songs))
        favourite_share.append(np.mean([s.artist in user.favourite_artists for s in played]))
        favourite_chance.append(sum(artist_songs[a] for a in user.favourite_artists) / len(plan.songs))
    assert np.mean(share) > 4 * np.mean(chance), (np.mean(share), np.mean(chance))
    assert np.mean(favourite_share) > 3 * np.mean(favourite_chance)
    # Counts: at least 1, higher on favourite artists' songs.
    counts = [(c, song[s].artist in fav) for u, s, c in plan.triplets if s in song
              for fav in [next(x.favourite_artists for x in plan.users if x.user_id == u)]]  # fmt: skip
    assert min(c for c, _ in counts) >= 1
    assert np.mean([c for c, f in counts if f]) > np.mean([c for c, f in counts if not f]) + 0.5


def _held_out_aucs(plan, seed=0, cold_fraction=0.1, holdout_fraction=0.2):
    """Mean per-user ROC-AUC of a content score (the share of the user's training plays in the
    song's style) and of popularity (training listeners), on held-out plays of warm songs and on
    plays of cold-start songs (no training play at all), candidates: songs the user did not play
    in training."""
    index = {s.song_id: i for i, s in enumerate(plan.songs)}
    styles = sorted({s.style for s in plan.songs})
    style_of = np.array([styles.index(s.style) for s in plan.songs])
    num_songs = len(plan.songs)
    rng = np.random.default_rng(seed)
    cold = np.zeros(num_songs, bool)
    cold[rng.choice(num_songs, round(cold_fraction * num_songs), replace=False)] = True
    played = collections.defaultdict(list)
    for user, song, _ in plan.triplets:
        if song in index:  # unknown songs have no audio: out of the task
            played[user].append(index[song])
    train, warm_test = {}, {}
    for user, songs in played.items():
        warm = rng.permutation([s for s in songs if not cold[s]])
        held = int(holdout_fraction * len(warm))
        warm_test[user], train[user] = set(warm[:held].tolist()), set(warm[held:].tolist())
    listeners = np.zeros(num_songs)
    for songs in train.values():
        listeners[list(songs)] += 1
    aucs = collections.defaultdict(list)
    for user, songs in played.items():
        content = (np.bincount(style_of[list(train[user])], minlength=len(styles)) / len(train[user]))[
            style_of
        ]
        for name, positives, candidates in (
            ("warm", warm_test[user], [s for s in np.flatnonzero(~cold) if s not in train[user]]),
            ("cold", set(songs) & set(np.flatnonzero(cold).tolist()), np.flatnonzero(cold)),
        ):
            truth = np.isin(candidates, list(positives))
            if truth.any() and not truth.all():
                aucs[name, "content"].append(roc_auc_score(truth, content[candidates]))
                aucs[name, "popularity"].append(roc_auc_score(truth, listeners[candidates]))
    return {key: float(np.mean(values)) for key, values in aucs.items()}


def test_content_beats_popularity_and_popularity_beats_chance(default_plan):
    # Seeds 0-2 give content 0.77-0.79 vs popularity 0.63-0.67 on warm songs, content 0.76-0.79
    # on cold-start songs (popularity: 0.5, no cold song has a training listener).
    aucs = _held_out_aucs(default_plan)
    assert aucs["warm", "content"] > aucs["warm", "popularity"] + 0.05, aucs
    assert aucs["warm", "popularity"] > 0.58, aucs
    assert aucs["cold", "content"] > 0.68, aucs
    assert aucs["cold", "popularity"] == pytest.approx(0.5)


def test_without_taste_content_says_nothing():
    # The check can fail: listeners that follow popularity and noise only leave the content
    # score at chance (0.49-0.54 for seeds 0-2) and popularity ahead.
    plan = listeners_plan(seed=0, style_temperature=1e9, tag_temperature=1e9, favourite_artist_bonus=0.0)
    aucs = _held_out_aucs(plan)
    assert abs(aucs["warm", "content"] - 0.5) < 0.06 and abs(aucs["cold", "content"] - 0.5) < 0.06, aucs
    assert aucs["warm", "popularity"] > aucs["warm", "content"] + 0.05, aucs
