"""Recommending songs with a trained deep content-user embedding model (DCUE; Lee, Lee, Park, Park,
Nam, DLRS 2018, arXiv:1807.06786): song and user embeddings, and a user's ranking of a catalogue.

A song's embedding is the mean of its excerpts' embeddings (non-overlapping 130-frame excerpts of
its whole clip), normalised; a user's is the user branch's output. For a model with several
levels (DCUE "multi"), serving uses the first, the song embedding. The score of
a (user, song) pair is their cosine, so songs nobody has played rank beside played ones.
"""

import numpy as np

from keras_samplecnn.data.song_mels import excerpts, song_mel_table, window_starts


def _unit(x):
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _level(outputs, level):
    """One level's output of an encoder that returns one tensor or a list (DCUE "multi")."""
    if isinstance(outputs, (list, tuple)):
        return outputs[level]
    if level:
        raise ValueError(f"this model has one level; got level={level}")
    return outputs


def embed_song_table(model, table, frames, batch_size=64, level=0):
    """Embeddings of every song of a log-mel table (`song_mel_table`): `(songs, width)`, unit norm.

    A song's embedding is the mean of its non-overlapping excerpts' embeddings, normalised (the
    authors' `encoding.py` averages the excerpts' outputs; the cosine then normalises).

    Args:
        model: a `DCUE`.
        table, frames: the songs' log-mel table and frame counts.
        batch_size: excerpts per forward pass.
        level: which of the model's `levels` (an index; 0, the song embedding, by default).
    """
    song, start = window_starts(frames, model.num_frames)
    total = None
    encoder = model.song_encoder
    for first in range(0, len(song), batch_size):
        chosen = slice(first, first + batch_size)
        mels = excerpts(table, song[chosen], start[chosen], model.num_frames)
        outputs = np.asarray(_level(encoder(mels, training=False), level), np.float64)
        if total is None:
            total = np.zeros((len(frames), outputs.shape[-1]), np.float64)
        np.add.at(total, song[chosen], outputs)
    return _unit(total if total is not None else np.zeros((0, model.embedding_width)))


def embed_users(model, users=None, batch_size=1024, level=0):
    """User embeddings `(users, width)`, unit norm, for user indices (default: every user), of one
    of the model's `levels` (an index)."""
    users = np.arange(model.num_users, dtype=np.int32) if users is None else np.asarray(users, np.int32)
    parts = [np.asarray(_level(model.user_encoder(users[i : i + batch_size], training=False), level))
             for i in range(0, len(users), batch_size)]  # fmt: skip
    return _unit(np.concatenate(parts)) if parts else np.zeros((0, model.embedding_width), np.float32)


def embed_catalogue(model, data_dir, cache_dir=None, progress=True):
    """Every song of a folder converted by `python -m tfrecords_tools taste-profile`, embedded.

    Args:
        model: a `DCUE`.
        data_dir: the converted folder (song TFRecords and `interactions.npz`).
        cache_dir: where to keep the songs' log-mel table for the next call (see `song_mel_table`).
        progress: show a progress bar while computing spectrograms.

    Returns:
        `(split, embeddings)`: the folder's `InteractionSplit` and `(songs, width)` unit-norm song
        embeddings in its song order.
    """
    from keras_samplecnn.data.interaction_split import load_interaction_split

    split = load_interaction_split(data_dir)
    table, frames = song_mel_table(data_dir, split.songs, model.mel_frontend(), cache_dir=cache_dir,
                                   progress=progress)  # fmt: skip
    return split, embed_song_table(model, table, frames)


def played_by_user(user, song):
    """`{user index: song indices}` of interactions."""
    played = {}
    for u, s in zip(np.asarray(user).tolist(), np.asarray(song).tolist()):
        played.setdefault(u, []).append(s)
    return played


def load_dcue(model):
    """A `DCUE` as given, or loaded from a `.keras` path (`models.loading.load_model`); a clear
    error for anything else."""
    from keras_samplecnn.models.dcue import DCUE
    from keras_samplecnn.models.loading import load_model

    return load_model(model, kind=DCUE, what="a DCUE model (users and songs)")


class Recommender:
    """Ranks a catalogue of songs for a user of a trained `DCUE`.

    Args:
        model: a `DCUE`, or the path of a `.keras` file saved from one.
        song_ids: the catalogue's song ids, in the order of `song_embeddings`.
        song_embeddings: `(songs, width)` song embeddings (`embed_song_table`, `samplecnn embed`).
        played: optional `{user index: song indices}` the user already played, left out of their
            recommendations unless asked for.
        index: optional `SongIndex` of the same catalogue (same ids): `recommend` then searches
            it (an approximate HNSW index for catalogues of millions of songs) instead of scoring
            every song.

    Example:
    >>> recommender = Recommender("runs/dcue/model.keras", ids, embeddings)   # doctest: +SKIP
    >>> recommender.recommend("b80344d063b5ccb3212f76538f3d9e43d87dca9e", top_k=3)   # doctest: +SKIP
    [('SOAKIMP12A8C130995', 0.61), ('SOBBMDR12A8C13253B', 0.58), ('SOBXHDL12A81C204C0', 0.55)]

    Reference: Lee, Lee, Park, Park, Nam, DLRS 2018 (arXiv:1807.06786).
    """

    def __init__(self, model, song_ids, song_embeddings, played=None, index=None):
        model = load_dcue(model)
        embeddings = np.asarray(song_embeddings, np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != model.embedding_width:
            raise ValueError(f"song embeddings must be (songs, {model.embedding_width}) for this model, "
                             f"got {embeddings.shape}")  # fmt: skip
        if len(song_ids) != len(embeddings) or not len(embeddings):
            raise ValueError(f"need one id per song embedding, got {len(song_ids)} ids for {len(embeddings)}")
        self.model = model
        self.song_ids = np.asarray([str(s) for s in song_ids])
        self.song_embeddings = _unit(embeddings)
        self.played = {int(u): np.asarray(list(s), np.int64) for u, s in (played or {}).items()}
        if index is not None and (len(index) != len(self.song_ids) or index.dim != self.song_embeddings.shape[1]):
            raise ValueError(f"the index holds {len(index)} songs of {index.dim} dims, the catalogue "
                             f"{len(self.song_ids)} of {self.song_embeddings.shape[1]}")  # fmt: skip
        self.index = index

    @classmethod
    def from_data(cls, model, data_dir, cache_dir=None, progress=True):
        """The songs of a converted folder (`embed_catalogue`) as the catalogue; every song a user
        played there, in any split, counts as played.

        Raises:
            ValueError: the model was trained on other users than the folder's.
        """
        model = load_dcue(model)
        split, embeddings = embed_catalogue(model, data_dir, cache_dir, progress)
        if model.users is not None and list(model.users) != [str(u) for u in split.users]:
            raise ValueError(f"{data_dir} has other users than the model was trained on "
                             f"({split.num_users} vs {model.num_users})")  # fmt: skip
        return cls(model, split.songs, embeddings, played_by_user(split.user, split.song))

    def user_index(self, user):
        """A user id (from the model's `users`) or index → the index; KeyError for an unknown user."""
        if isinstance(user, (int, np.integer)):
            if not 0 <= user < self.model.num_users:
                raise KeyError(f"user index {user} out of range: the model has {self.model.num_users} users")
            return int(user)
        return self.model.user_index(user)

    def scores(self, user):
        """Cosine scores of every catalogue song for a user, in catalogue order."""
        vector = embed_users(self.model, [self.user_index(user)])[0]
        return self.song_embeddings @ vector

    def recommend(self, user, top_k=10, include_played=False):
        """The user's `top_k` songs, best first, as `(song id, score)` pairs; songs the user
        already played are left out unless `include_played`."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        index = self.user_index(user)
        if self.index is not None:
            played = [] if include_played else self.song_ids[self.played.get(index, [])].tolist()
            k = min(top_k, len(self.song_ids) - len(set(played)))
            if k < 1:
                return []
            vector = embed_users(self.model, [index])[0]
            ids, scores = self.index.search(vector, k=k, exclude=played)
            return [(str(i), float(v)) for i, v in zip(ids, scores)]
        scores = self.scores(index)
        if not include_played and index in self.played:
            scores = scores.copy()
            scores[self.played[index]] = -np.inf
        order = np.argsort(-scores, kind="stable")[:top_k]
        return [(str(self.song_ids[i]), float(scores[i])) for i in order if np.isfinite(scores[i])]
