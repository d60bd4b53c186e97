"""Training examples for the deep content-user embedding model (DCUE; Lee, Lee, Park, Park, Nam,
DLRS 2018, arXiv:1807.06786): a user, a song they played and N songs they did not, drawn inside
tf.data from a seed.

The played pairs are kept as one sorted int64 vector of `user * num_songs + song`; a candidate
negative is looked up with `tf.searchsorted`, so no Python runs per step. Each example draws
its candidates from a stateless seed derived from the run's seed and the example's position, so
the same seed gives the same examples however tf.data schedules its work; a candidate the user
played is replaced by another draw until none is left (a `tf.while_loop`; the expected number
of rounds is tiny at the Taste Profile's density).
"""

import numpy as np
import tensorflow as tf


def played_keys(user, song, num_songs):
    """The sorted, unique int64 keys `user * num_songs + song` of the played pairs."""
    return np.unique(np.asarray(user, np.int64) * num_songs + np.asarray(song, np.int64))


def negative_examples(user, song, num_songs, num_negatives=20, seed=0, shuffle=True, candidates=None):
    """An infinite dataset of `(user, positive song, negative songs)` index triples.

    Args:
        user, song: the training interactions (int arrays of one length): the positives, and
            the pairs a negative must avoid.
        num_songs: songs in the catalogue; negatives are drawn uniformly from the songs the
            user did not play.
        num_negatives: N, negatives per positive (20 in the paper).
        seed: seed of the order and of the draws.
        shuffle: reshuffle the positives at every pass.
        candidates: optional song indices negatives are drawn from (uniformly among those the
            user did not play), e.g. the songs of the training interactions, so that no other
            song (a cold-start song) is ever seen in training; default all `num_songs`.

    Returns:
        a `tf.data.Dataset` of `(int32 user, int32 song, int32 negatives [N])`.

    Raises:
        ValueError: a user who played every song (no negative exists), or bad sizes.
    """
    user, song = np.asarray(user, np.int64), np.asarray(song, np.int64)
    if len(user) != len(song) or not len(user):
        raise ValueError(f"need matching, non-empty user and song arrays, got {len(user)} and {len(song)}")
    if num_negatives < 1 or num_songs < 2:
        raise ValueError(f"need num_negatives >= 1 and num_songs >= 2, got {num_negatives}, {num_songs}")
    which = "" if candidates is None else "candidate "
    pool = np.arange(num_songs, dtype=np.int64) if candidates is None else np.unique(np.asarray(candidates, np.int64))
    if not len(pool) or pool[0] < 0 or pool[-1] >= num_songs:
        raise ValueError(f"candidates must be non-empty song indices below {num_songs}")
    keys = played_keys(user, song, num_songs)
    per_user = np.bincount((keys // num_songs)[np.isin(keys % num_songs, pool)].astype(np.int64))
    if len(per_user) and per_user.max() >= len(pool):
        raise ValueError(f"user {int(per_user.argmax())} played all {len(pool)} {which}songs: no negative to draw")
    table, pool = tf.constant(keys), tf.constant(pool)
    base = tf.constant(np.random.SeedSequence([seed, 0x4E454753]).generate_state(2, np.uint32).astype(np.int64))

    def played(u, candidates):
        query = u * num_songs + candidates
        at = tf.minimum(tf.searchsorted(table, query, out_type=tf.int64), tf.size(table, out_type=tf.int64) - 1)
        return tf.gather(table, at) == query

    def draw(position, u, s):
        def body(round_, negatives):
            fresh = tf.gather(pool, tf.random.stateless_uniform(
                [num_negatives], seed=base + tf.stack([position, round_ + 1]), maxval=tf.size(pool, tf.int64),
                dtype=tf.int64,
            ))  # fmt: skip
            negatives = tf.where(played(u, negatives), fresh, negatives)
            return round_ + 1, negatives

        first = tf.gather(pool, tf.random.stateless_uniform(
            [num_negatives], seed=base + tf.stack([position, tf.constant(0, tf.int64)]), maxval=tf.size(pool, tf.int64),
            dtype=tf.int64,
        ))  # fmt: skip
        _, negatives = tf.while_loop(
            lambda r, n: tf.reduce_any(played(u, n)), body, (tf.constant(0, tf.int64), first)
        )
        return tf.cast(u, tf.int32), tf.cast(s, tf.int32), tf.cast(negatives, tf.int32)

    positives = tf.data.Dataset.from_tensor_slices((user, song))
    if shuffle:
        positives = positives.shuffle(len(user), seed=seed, reshuffle_each_iteration=True)
    # The position in the infinite stream seeds the draws: reproducible whatever the schedule.
    return (
        positives.repeat()
        .enumerate()
        .map(lambda position, pair: draw(position, *pair), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    )
