"""DCUE negatives drawn inside tf.data (DLRS 2018): never a song the user played, fixed by the seed."""

import numpy as np
import pytest

from keras_samplecnn.data.interactions import negative_examples, played_keys


def _interactions(seed=0, num_users=12, num_songs=30, density=0.4):
    rng = np.random.default_rng(seed)
    played = rng.random((num_users, num_songs)) < density
    played[np.arange(num_users), rng.integers(num_songs, size=num_users)] = True  # everyone played one
    played[0, :] = True
    played[0, -1] = False  # user 0 played all songs but the last: one possible negative
    user, song = np.nonzero(played)
    return user, song, played


def test_negatives_are_never_played_and_positives_are_the_interactions():
    user, song, played = _interactions()
    examples = list(negative_examples(user, song, 30, num_negatives=7, seed=1).take(3 * len(user)).as_numpy_iterator())
    for u, s, negatives in examples:
        assert played[u, s] and negatives.shape == (7,)
        assert not played[u, negatives].any()
        if u == 0:
            assert (negatives == 29).all()  # the only song user 0 did not play
    # Three passes over the positives: every interaction three times.
    seen = np.zeros_like(played, int)
    for u, s, _ in examples:
        seen[u, s] += 1
    assert (seen[played] == 3).all() and (seen[~played] == 0).all()
    # Uniform over the unplayed songs: every unplayed song of a user turns up.
    drawn = np.zeros_like(played)
    for u, _, negatives in examples:
        drawn[u, negatives] = True
    assert (drawn[1:] == ~played[1:]).mean() > 0.95


def test_the_seed_fixes_the_examples():
    user, song, _ = _interactions(seed=2)

    def take(seed):
        dataset = negative_examples(user, song, 30, num_negatives=5, seed=seed)
        return [np.concatenate([[u, s], n]) for u, s, n in dataset.take(50).as_numpy_iterator()]

    assert np.array_equal(take(3), take(3)) and not np.array_equal(take(3), take(4))


def test_bad_input():
    with pytest.raises(ValueError, match="played all 3 songs"):
        negative_examples([0, 0, 0, 1], [0, 1, 2, 0], 3)
    with pytest.raises(ValueError, match="matching"):
        negative_examples([0, 1], [0], 3)
    assert list(played_keys([1, 0, 1], [2, 1, 2], 5)) == [1, 7]
    with pytest.raises(ValueError, match="played all 2 candidate songs"):
        negative_examples([0, 0, 1], [0, 1, 0], 5, candidates=[0, 1])
    with pytest.raises(ValueError, match="candidates"):
        negative_examples([0], [0], 5, candidates=[7])


def test_negatives_come_only_from_the_candidates():
    rng = np.random.default_rng(4)
    user, song = rng.integers(0, 6, 60), rng.integers(0, 20, 60)
    candidates = np.arange(0, 20, 3)
    played = set(zip(user.tolist(), song.tolist()))
    seen = set()
    for u, _, negatives in negative_examples(user, song, 20, num_negatives=5, seed=2, candidates=candidates).take(300):
        assert set(negatives.numpy().tolist()) <= set(candidates.tolist())
        assert not any((int(u), int(n)) in played for n in negatives.numpy())
        seen.update(negatives.numpy().tolist())
    # Every candidate some user did not play gets drawn.
    assert seen == {c for c in candidates.tolist() if any((u, c) not in played for u in range(6))}
