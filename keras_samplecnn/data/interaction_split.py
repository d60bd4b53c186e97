"""User-song interactions split for DCUE (Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786):
the `interactions.npz` that `python -m tfrecords_tools taste-profile` writes beside the song shards.
NumPy only (no TensorFlow).

The file's arrays (the contract; `load_interaction_split` checks it):

| key      | dtype | length        | meaning                                                          |
|----------|-------|---------------|------------------------------------------------------------------|
| `users`  | str   | users         | user ids, in index order                                         |
| `songs`  | str   | songs         | song ids, in index order; a song's id is its TFRecord `clip_id`  |
| `tracks` | str   | songs         | the MSD track id (or the audio path) whose audio the song has    |
| `user`   | int32 | interactions  | index into `users`                                               |
| `song`   | int32 | interactions  | index into `songs`                                               |
| `count`  | int32 | interactions  | play count (>= 1)                                                |
| `split`  | int8  | interactions  | 0 train, 1 held-out interaction of a warm song, 2 cold-start song |
| `cold`   | bool  | songs         | the song is cold-start: none of its interactions is trained on   |
| `order`  | int32 | songs         | the song's position in the song list it was chosen from (the     |
|          |       |               | DCUE authors' subset list), for `authors_protocol`; optional: a  |
|          |       |               | file without it reads as `0 … songs - 1`                         |

Every (user, song) pair appears at most once; `split == 2` exactly for the interactions of
the cold songs.

Example:

```python
data = load_interaction_split("data/taste_tfrecords")  # the folder or the .npz
played = data.matrix(data.train)  # bool [num_users, num_songs]
data.songs[data.cold]  # the cold-start songs: scored from audio alone
```
"""

import dataclasses
import os

import numpy as np

FILE_NAME = "interactions.npz"
TRAIN, TEST_WARM, TEST_COLD = 0, 1, 2
_STRINGS = ("users", "songs", "tracks")
_KEYS = (*_STRINGS, "user", "song", "count", "split", "cold")
_OPTIONAL = ("order",)


@dataclasses.dataclass(frozen=True, eq=False)
class InteractionSplit:
    """The interactions of the kept users and songs, and their split (see the module docstring).

    Construction converts the arrays to the contract's dtypes and validates them.

    Raises:
        ValueError: arrays of the wrong length, indices out of range, repeated ids or pairs,
            counts below 1, unknown split codes, or a cold song with a training interaction.
    """

    users: np.ndarray
    songs: np.ndarray
    tracks: np.ndarray
    user: np.ndarray
    song: np.ndarray
    count: np.ndarray
    split: np.ndarray
    cold: np.ndarray
    order: np.ndarray = None

    def __post_init__(self):
        for name in _STRINGS:
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=str).reshape(-1))
        for name, dtype in (("user", np.int32), ("song", np.int32), ("count", np.int32), ("split", np.int8)):
            values = np.asarray(getattr(self, name)).reshape(-1)
            if values.size and not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"{name} must be integers, got dtype {values.dtype}")
            object.__setattr__(self, name, values.astype(dtype))
        cold = np.asarray(self.cold).reshape(-1)
        if cold.size and cold.dtype != bool:
            raise ValueError(f"cold must be booleans, got dtype {cold.dtype}")
        object.__setattr__(self, "cold", cold.astype(bool))
        order = np.arange(len(self.songs)) if self.order is None else np.asarray(self.order).reshape(-1)
        if order.size and not np.issubdtype(order.dtype, np.integer):
            raise ValueError(f"order must be integers, got dtype {order.dtype}")
        object.__setattr__(self, "order", order.astype(np.int32))
        self._validate()

    def _validate(self):
        if len(self.tracks) != len(self.songs) or len(self.cold) != len(self.songs):
            raise ValueError(f"songs, tracks and cold must have one length, got {len(self.songs)}, "
                             f"{len(self.tracks)}, {len(self.cold)}")  # fmt: skip
        if len(self.order) != len(self.songs) or len(np.unique(self.order)) != len(self.order) or (
            self.order.size and self.order.min() < 0
        ):
            raise ValueError(f"order must give each of the {len(self.songs)} songs its own position >= 0")
        lengths = {name: len(getattr(self, name)) for name in ("user", "song", "count", "split")}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"user, song, count and split must have one length, got {lengths}")
        for name in ("users", "songs"):
            ids = getattr(self, name)
            if len(np.unique(ids)) != len(ids):
                raise ValueError(f"{name} has repeated ids")
        for name, size in (("user", self.num_users), ("song", self.num_songs)):
            index = getattr(self, name)
            if index.size and (index.min() < 0 or index.max() >= size):
                raise ValueError(f"{name} indices must be in [0, {size}), got {index.min()}..{index.max()}")
        if self.count.size and self.count.min() < 1:
            raise ValueError(f"counts must be >= 1, got {self.count.min()}")
        if not np.isin(self.split, (TRAIN, TEST_WARM, TEST_COLD)).all():
            raise ValueError(f"split codes must be {TRAIN} (train), {TEST_WARM} (warm test) or {TEST_COLD} "
                             f"(cold test), got {sorted(set(np.unique(self.split).tolist()))}")  # fmt: skip
        of_cold = self.cold[self.song]
        if (self.split[of_cold] != TEST_COLD).any():
            bad = int(self.song[of_cold & (self.split != TEST_COLD)][0])
            raise ValueError(f"cold song {self.songs[bad]} has an interaction that is not split {TEST_COLD}")
        if (self.split[~of_cold] == TEST_COLD).any():
            bad = int(self.song[~of_cold & (self.split == TEST_COLD)][0])
            raise ValueError(f"warm song {self.songs[bad]} has an interaction split {TEST_COLD} (cold)")
        keys = self.user.astype(np.int64) * max(self.num_songs, 1) + self.song
        if len(np.unique(keys)) != len(keys):
            raise ValueError("a (user, song) pair appears more than once")

    @property
    def num_users(self):
        return len(self.users)

    @property
    def num_songs(self):
        return len(self.songs)

    @property
    def train(self):
        """Boolean mask over the interactions: the training pairs."""
        return self.split == TRAIN

    @property
    def test_warm(self):
        """Boolean mask: held-out interactions of warm songs."""
        return self.split == TEST_WARM

    @property
    def test_cold(self):
        """Boolean mask: interactions of cold-start songs (never trained on)."""
        return self.split == TEST_COLD

    def matrix(self, mask=None):
        """Dense boolean `[num_users, num_songs]` matrix of the pairs under `mask` (None: all).

        Memory: one byte per cell, e.g. 20,000 users x 10,000 songs = 200 MB.
        """
        mask = np.ones(len(self.user), bool) if mask is None else np.asarray(mask, bool)
        if mask.shape != self.user.shape:
            raise ValueError(f"mask must have one entry per interaction ({len(self.user)}), got {mask.shape}")
        played = np.zeros((self.num_users, self.num_songs), bool)
        played[self.user[mask], self.song[mask]] = True
        return played


def save_interaction_split(path, split):
    """Writes an `InteractionSplit` to `path` (an `.npz`) atomically (temp file, then rename)."""
    path = os.fspath(path)
    if not isinstance(split, InteractionSplit):
        raise TypeError(f"expected an InteractionSplit, got {type(split).__name__}")
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        np.savez(handle, **{name: getattr(split, name) for name in (*_KEYS, *_OPTIONAL)})
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_interaction_split(path_or_dir):
    """Reads `interactions.npz` (or the folder holding it) into a validated `InteractionSplit`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing array or a broken contract (see `InteractionSplit`).
    """
    path = os.fspath(path_or_dir)
    if os.path.isdir(path):
        path = os.path.join(path, FILE_NAME)
    with np.load(path, allow_pickle=False) as data:
        missing = [name for name in _KEYS if name not in data.files]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}; expected {list(_KEYS)}")
        arrays = {name: data[name] for name in (*_KEYS, *_OPTIONAL) if name in data.files}
    try:
        return InteractionSplit(**arrays)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


# The DCUE authors' song split (jongpillee/deep-content-user @0e57b68 `load_label.py`, `split()`):
# by the song's index in their subset list modulo 10. `split_v = 8` makes the validation songs
# (index % 10 == 8) a part of the test songs (index % 10 in {8, 9}), and leaves the songs of
# index % 10 == 7 in no set; kept as they wrote it.
AUTHORS_TRAIN_REMAINDERS, AUTHORS_VALID_REMAINDERS, AUTHORS_TEST_REMAINDERS = tuple(range(7)), (8,), (8, 9)


def authors_song_sets(order):
    """`(train, valid, test)` boolean masks over songs from their list positions `order`, by the
    authors' rule (`load_label.py` `split()`: index % 10 in 0-6, 8, and 8-9)."""
    remainder = np.asarray(order) % 10
    return (np.isin(remainder, AUTHORS_TRAIN_REMAINDERS), np.isin(remainder, AUTHORS_VALID_REMAINDERS),
            np.isin(remainder, AUTHORS_TEST_REMAINDERS))  # fmt: skip


def authors_protocol(split):
    """The same interactions split as the DCUE authors split them: a new `InteractionSplit`.

    Songs are split by their list position (`split.order`) modulo 10 (`authors_song_sets`): every
    interaction of a training song (0-6) is trained on; the test songs (8, 9) are cold-start
    (`cold`, split code 2), none of their interactions trained on; the interactions of the songs
    in no set (7) are held out (code 1) and used nowhere. The authors' evaluation
    (`evaluation.recommendation.authors_auc`) then scores the training songs (warm) and the test
    songs (cold) against all their interactions.
    """
    train_songs, _, test_songs = authors_song_sets(split.order)
    codes = np.where(test_songs[split.song], TEST_COLD, np.where(train_songs[split.song], TRAIN, TEST_WARM))
    return dataclasses.replace(split, split=codes.astype(np.int8), cold=test_songs)
