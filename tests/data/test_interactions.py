"""Interaction data for DCUE (DLRS 2018): the Taste Profile format, CSVs, the subset and the cold-start split."""

import collections
import logging

import numpy as np
import pytest

from tfrecords_tools.errors import DatasetError
from tfrecords_tools.interactions import (
    read_interactions_csv,
    read_taste_profile,
    select_subset,
    split_interactions,
)


def _random_triplets(rng, num_users=40, num_songs=60, num_pairs=700):
    pairs = {}
    while len(pairs) < num_pairs:
        user = f"{rng.integers(num_users):040x}"  # Taste Profile user ids are 40 hex digits
        song = f"SO{rng.integers(num_songs):016d}"
        pairs[(user, song)] = int(rng.integers(1, 20))
    return pairs


def _as_dict(interactions):
    return {(interactions.users[u], interactions.songs[s]): int(c)
            for u, s, c in zip(interactions.user, interactions.song, interactions.count)}  # fmt: skip


def test_taste_profile_format_with_malformed_lines_counted(tmp_path, caplog):
    path = tmp_path / "train_triplets.txt"
    lines = ["b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAKIMP12A8C130995\t1",
             "b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAPDEY12A81C210A9\t2",
             "85c1f87fea955d09b4bec2e36aee110927aedf9a\tSOAKIMP12A8C130995\t5",
             "b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAKIMP12A8C130995\t3",  # a repeated pair: added
             "only\ttwo fields", "85c1f87fea955d09b4bec2e36aee110927aedf9a\tSOBBMDR12A8C13253B\tmany",
             "85c1f87fea955d09b4bec2e36aee110927aedf9a\tSOBBMDR12A8C13253B\t0", "\tSOX\t1"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING):
        interactions = read_taste_profile(path)
    assert interactions.malformed == 4 and "4 malformed lines skipped (first at lines 5, 6, 7, 8)" in caplog.text
    assert _as_dict(interactions) == {
        ("b80344d063b5ccb3212f76538f3d9e43d87dca9e", "SOAKIMP12A8C130995"): 4,
        ("b80344d063b5ccb3212f76538f3d9e43d87dca9e", "SOAPDEY12A81C210A9"): 2,
        ("85c1f87fea955d09b4bec2e36aee110927aedf9a", "SOAKIMP12A8C130995"): 5,
    }
    with pytest.raises(DatasetError, match="not found"):
        read_taste_profile(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("a\tb\n")
    with pytest.raises(DatasetError, match="no valid interaction"):
        read_taste_profile(tmp_path / "bad.txt")


def test_csv_layout(tmp_path):
    path = tmp_path / "plays.csv"
    path.write_text("Item,user,count,when\ns1,u1,3,2020\ns2,u1,1,2021\ns1,u2,2,2021\ns3,u2\n")
    interactions = read_interactions_csv(path)
    assert _as_dict(interactions) == {("u1", "s1"): 3, ("u1", "s2"): 1, ("u2", "s1"): 2}
    assert interactions.malformed == 1
    (tmp_path / "other.csv").write_text("user,song,plays\nu,s,1\n")
    with pytest.raises(DatasetError, match="no 'item', 'count' column"):
        read_interactions_csv(tmp_path / "other.csv")


def test_subset_is_the_most_played_songs_and_their_most_active_users(tmp_path):
    rng = np.random.default_rng(0)
    pairs = _random_triplets(rng)
    path = tmp_path / "train_triplets.txt"
    path.write_text("".join(f"{u}\t{s}\t{c}\n" for (u, s), c in pairs.items()))
    subset = select_subset(read_taste_profile(path), num_users=15, num_songs=20)
    # Independently: listeners per song, then per user the number of kept songs played.
    listeners = collections.Counter(song for _, song in pairs)
    songs = sorted(listeners, key=lambda s: (-listeners[s], s))[:20]
    played = collections.Counter(user for user, song in pairs if song in songs)
    users = sorted(played, key=lambda u: (-played[u], u))[:15]
    assert subset.songs == songs and subset.users == users
    assert _as_dict(subset) == {(u, s): c for (u, s), c in pairs.items() if u in users and s in songs}
    with pytest.raises(ValueError, match="num_users"):
        select_subset(subset, 0, 5)


def test_cold_songs_never_train_and_every_user_keeps_a_training_interaction(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "train_triplets.txt"
    path.write_text("".join(f"{u}\t{s}\t{c}\n" for (u, s), c in _random_triplets(rng).items()))
    interactions = read_taste_profile(path)
    split = split_interactions(interactions, cold_fraction=0.1, holdout_fraction=0.25, seed=3)
    train, warm, cold = split["train"], split["test_warm"], split["test_cold"]
    assert len(split["cold_songs"]) == round(0.1 * len(interactions.songs))
    assert np.array_equal(cold, np.isin(interactions.song, split["cold_songs"]))
    assert not np.isin(interactions.song[train], split["cold_songs"]).any()  # cold start: never trained on
    assert np.array_equal(train.astype(int) + warm + cold, np.ones(len(interactions), int))  # a partition
    for user in range(len(interactions.users)):
        mine = interactions.user == user
        warm_count = int((mine & ~cold).sum())
        if warm_count:
            expected = int(0.25 * warm_count)
            assert int((mine & warm).sum()) == expected and (mine & train).any()
    again = split_interactions(interactions, cold_fraction=0.1, holdout_fraction=0.25, seed=3)
    other = split_interactions(interactions, cold_fraction=0.1, holdout_fraction=0.25, seed=4)
    assert all(np.array_equal(split[k], again[k]) for k in split)
    assert not np.array_equal(split["test_warm"], other["test_warm"])
    with pytest.raises(ValueError, match="fractions"):
        split_interactions(interactions, cold_fraction=1.0)
