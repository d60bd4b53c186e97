"""User-song interactions for recommendation from audio (DCUE; Lee, Lee, Park, Park, Nam, DLRS 2018,
arXiv:1807.06786): reading the Echo Nest Taste Profile subset or any `user,item,count` CSV, the
paper's subset (the most active users × the most played songs), and a split with cold-start songs.

Formats:

    train_triplets.txt     the Taste Profile subset: `user<TAB>song_id<TAB>play count`, no
                           header (48,373,586 lines, 1,019,318 users, 384,546 MSD songs)
    interactions.csv       any CSV with a header naming `user`, `item` and `count` columns

A malformed line (wrong field count, empty id, a count that is not a positive integer) is
skipped, counted and reported with its line number (the first few), never silently dropped; a
repeated (user, song) pair has its counts added.

Subset (`select_subset`): the `num_songs` songs with the most listeners (distinct users), then
the `num_users` users who played the most of those songs; ties go to the smaller id, so the
subset is a function of the data alone. The paper keeps 20,000 users × 10,000 songs.

Split (`split_interactions`): a seeded `cold_fraction` of the songs is cold-start: none of
their interactions is trained on, they are scored from audio alone; of every user's
interactions with the other (warm) songs, a seeded `holdout_fraction` is held out for testing,
at least one kept for training.
"""

import collections
import csv
import dataclasses
import logging

import numpy as np

from tfrecords_tools.common import utf8_errors
from tfrecords_tools.errors import DatasetError

log = logging.getLogger(__name__)

_REPORTED_LINES = 5


@dataclasses.dataclass
class Interactions:
    """Interactions as index arrays: `users[user[i]]` played `songs[song[i]]` `count[i]` times.

    Attributes:
        users, songs: the ids, in index order.
        user, song, count: int32 arrays of one length, one entry per (user, song) pair.
        malformed: lines skipped as malformed.
        lines: data lines read (the CSV's header not counted).
    """

    users: list
    songs: list
    user: np.ndarray
    song: np.ndarray
    count: np.ndarray
    malformed: int = 0
    lines: int = 0

    def __len__(self):
        return len(self.user)


def _collect(pairs, path):
    """`Interactions` from `(line, user, song, count text)` tuples; malformed ones counted."""
    users, songs, counts = {}, {}, collections.Counter()
    malformed, examples, lines = 0, [], 0
    for line, user, song, count in pairs:
        lines += 1
        try:
            value = int(count)
        except ValueError:
            value = 0
        if not user or not song or value < 1:
            malformed += 1
            if len(examples) < _REPORTED_LINES:
                examples.append(line)
            continue
        counts[(users.setdefault(user, len(users)), songs.setdefault(song, len(songs)))] += value
    if malformed:
        log.warning("%s: %d malformed lines skipped (first at lines %s)", path, malformed,
                    ", ".join(map(str, examples)))  # fmt: skip
    if not counts:
        raise DatasetError(f"{path}: no valid interaction ({malformed} malformed lines)")
    keys = np.array(list(counts), dtype=np.int32)
    return Interactions(
        users=list(users), songs=list(songs), user=keys[:, 0], song=keys[:, 1],
        count=np.fromiter(counts.values(), dtype=np.int32, count=len(counts)), malformed=malformed, lines=lines,
    )  # fmt: skip


def read_taste_profile(path):
    """The Taste Profile subset's `train_triplets.txt` (`user<TAB>song<TAB>count`, no header).

    Returns:
        `Interactions`.

    Raises:
        DatasetError: a missing file, a file that is not UTF-8, or no valid line at all.
    """

    def pairs():
        with open(path, encoding="utf-8") as handle:  # not UTF-8: a DatasetError naming the line
            for line, text in enumerate(handle, start=1):
                fields = text.rstrip("\r\n").split("\t")
                if len(fields) != 3:
                    yield line, "", "", "0"
                else:
                    yield line, fields[0].strip(), fields[1].strip(), fields[2].strip()

    try:
        with utf8_errors(path):
            return _collect(pairs(), path)
    except FileNotFoundError:
        raise DatasetError(f"interaction file not found: {path}") from None


def read_interactions_csv(path):
    """A CSV with a header naming `user`, `item` and `count` columns (other columns ignored).

    Returns:
        `Interactions` (items as songs).

    Raises:
        DatasetError: a missing file or column, a file that is not UTF-8, or no valid row.
    """
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # not UTF-8: a DatasetError naming the line
    except FileNotFoundError:
        raise DatasetError(f"interaction file not found: {path}") from None
    with utf8_errors(path), handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in ("user", "item", "count") if name not in header]
        if missing:
            raise DatasetError(f"{path}: no {', '.join(repr(m) for m in missing)} column; expected a header "
                               f"with user, item and count; found {header}")  # fmt: skip
        at = [header.index(name) for name in ("user", "item", "count")]

        def pairs():
            for line, fields in enumerate(reader, start=2):
                if len(fields) != len(header):
                    yield line, "", "", "0"
                else:
                    yield (line, *(fields[i].strip() for i in at))

        return _collect(pairs(), path)


def select_subset(interactions, num_users, num_songs):
    """The paper's subset: the `num_songs` songs with most listeners, then the `num_users` users
    who played most of them (ties to the smaller id).

    Returns:
        `Interactions` over the kept users and songs only, re-indexed (ids in rank order).
    """
    if num_users < 1 or num_songs < 1:
        raise ValueError(f"num_users and num_songs must be >= 1, got {num_users}, {num_songs}")
    listeners = np.bincount(interactions.song, minlength=len(interactions.songs))
    song_order = sorted(range(len(interactions.songs)), key=lambda s: (-listeners[s], interactions.songs[s]))
    kept_songs = song_order[:num_songs]
    in_songs = np.isin(interactions.song, kept_songs)
    played = np.bincount(interactions.user[in_songs], minlength=len(interactions.users))
    user_order = sorted((u for u in range(len(interactions.users)) if played[u] > 0),
                        key=lambda u: (-played[u], interactions.users[u]))  # fmt: skip
    kept_users = user_order[:num_users]
    keep = in_songs & np.isin(interactions.user, kept_users)
    user_map = np.full(len(interactions.users), -1, np.int32)
    user_map[kept_users] = np.arange(len(kept_users))
    song_map = np.full(len(interactions.songs), -1, np.int32)
    song_map[kept_songs] = np.arange(len(kept_songs))
    return Interactions(
        users=[interactions.users[u] for u in kept_users], songs=[interactions.songs[s] for s in kept_songs],
        user=user_map[interactions.user[keep]], song=song_map[interactions.song[keep]],
        count=interactions.count[keep], malformed=interactions.malformed,
    )  # fmt: skip


def split_interactions(interactions, cold_fraction=0.1, holdout_fraction=0.2, seed=0):
    """Cold-start songs and held-out interactions of warm songs.

    Args:
        interactions: `Interactions`.
        cold_fraction: share of the songs kept out of training entirely (rounded; at least one
            when the fraction is positive).
        holdout_fraction: share of each user's warm interactions held out, rounded down (so
            every user keeps at least one for training).
        seed: seed of both draws.

    Returns:
        `{"train", "test_warm", "test_cold"}`: boolean masks over the interactions, and
        `"cold_songs"`: the sorted indices of the cold-start songs.
    """
    if not 0 <= cold_fraction < 1 or not 0 <= holdout_fraction < 1:
        raise ValueError(f"fractions must be in [0, 1), got {cold_fraction}, {holdout_fraction}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x44435545]))  # "DCUE"
    num_songs = len(interactions.songs)
    num_cold = max(1, round(cold_fraction * num_songs)) if cold_fraction > 0 else 0
    cold_songs = np.sort(rng.choice(num_songs, size=num_cold, replace=False)).astype(np.int32)
    cold = np.isin(interactions.song, cold_songs)
    test_warm = np.zeros(len(interactions), bool)
    warm_rows = np.flatnonzero(~cold)
    order = rng.permutation(len(warm_rows))
    by_user = collections.defaultdict(list)
    for row in warm_rows[order]:
        by_user[int(interactions.user[row])].append(row)
    for rows in by_user.values():
        held = int(holdout_fraction * len(rows))  # below len(rows): a fraction < 1, rounded down
        test_warm[rows[:held]] = True
    return {"train": ~cold & ~test_warm, "test_warm": test_warm, "test_cold": cold, "cold_songs": cold_songs}
