"""Recommendation metrics of the deep content-user embedding paper (DCUE; Lee, Lee, Park, Park, Nam,
DLRS 2018, arXiv:1807.06786): ROC-AUC per user, averaged over users, on warm or cold-start
songs, and the popularity baseline it is compared with.

Two protocols use them (`recipes/dcue.py`, `evaluation.protocols`):

- "authors", as jongpillee/deep-content-user @0e57b68 `evaluation.py` computes it: songs split
  by list position modulo 10 (`data.interaction_split.authors_protocol`); for the training songs
  (warm) and, separately, the test songs (cold), each user's ROC-AUC of the cosine scores
  against every interaction of those songs (`per_user_auc(scores, played, songs)`), training
  interactions included, and popularity as the songs' listener counts in that same matrix
  (`listener_scores`). It measures how well the embeddings reproduce the listening matrix of the
  training songs, and how well they rank unseen songs against a popularity that counts the
  test songs' own listeners (it knows the answer's marginals).
- "heldout", this package's: per-user held-out interactions of warm songs (the user's training
  pairs left out of the ranking) and the interactions of seeded cold-start songs, with
  popularity counted on the training interactions only (`popularity_scores`): it measures
  prediction of interactions no part of training saw.
"""

import numpy as np
from scipy.stats import rankdata


def per_user_auc(scores, positives, candidates, exclude=None):
    """ROC-AUC of each user's scores over their candidate songs, averaged over users.

    Args:
        scores: `(users, songs)` scores, higher = more likely played.
        positives: boolean `(users, songs)`: the held-out interactions to find.
        candidates: boolean `(songs,)` or `(users, songs)`: the songs ranked (e.g. the warm or
            the cold-start songs).
        exclude: optional boolean `(users, songs)`: pairs left out of the ranking (a user's
            training interactions).

    Returns:
        `{"auc": mean over users, "users": how many users were scored, "per_user": array with
        NaN for users without both a positive and a negative candidate}`.
    """
    scores, positives = np.asarray(scores, np.float64), np.asarray(positives, bool)
    if scores.shape != positives.shape:
        raise ValueError(f"scores {scores.shape} and positives {positives.shape} differ in shape")
    mask = np.broadcast_to(np.asarray(candidates, bool), scores.shape)
    if exclude is not None:
        mask = mask & ~np.asarray(exclude, bool)
    per_user = np.full(len(scores), np.nan)
    for user in range(len(scores)):
        labels = positives[user][mask[user]]
        found = int(labels.sum())
        if 0 < found < len(labels):
            # The Mann-Whitney form of ROC-AUC, ties counted half (scikit-learn's value, tested):
            # average ranks of the positives among the candidates.
            ranks = rankdata(scores[user][mask[user]])
            per_user[user] = (ranks[labels].sum() - found * (found + 1) / 2) / (found * (len(labels) - found))
    scored = ~np.isnan(per_user)
    return {
        "auc": float(per_user[scored].mean()) if scored.any() else float("nan"),
        "users": int(scored.sum()),
        "per_user": per_user,
    }


def popularity_scores(user, song, num_users, num_songs):
    """The popularity baseline: every user scores a song by its number of listeners in training.

    Args:
        user, song: the training interactions.
        num_users, num_songs: the matrix size.

    Returns:
        float32 `(num_users, num_songs)`; a song nobody played in training (a cold-start song)
        scores 0 for everyone.
    """
    listeners = np.bincount(np.unique(np.stack([user, song], 1), axis=0)[:, 1], minlength=num_songs)
    return np.broadcast_to(listeners.astype(np.float32), (num_users, num_songs)).copy()


def listener_scores(played):
    """The authors' popularity baseline (`evaluation.py`: `pop_items = np.sum(org_mat, axis=1)`
    on the binarised matrix of the evaluated songs): each song scored, for every user, by its
    number of listeners among all the given interactions, the evaluated ones included.

    Args:
        played: boolean `(users, songs)`, every interaction (`InteractionSplit.matrix()`).

    Returns:
        float32 `(users, songs)`.
    """
    played = np.asarray(played, bool)
    return np.broadcast_to(played.sum(axis=0).astype(np.float32), played.shape).copy()


def als_scores(user, song, count, num_users, num_songs, factors=64, regularization=0.05, alpha=1.0, iterations=15,
               seed=0):  # fmt: skip
    """The matrix-factorisation baseline: implicit-feedback ALS (Hu, Koren, Volinsky, ICDM 2008) by
    the `implicit` library (benfred/implicit), on the training interactions.

    Confidence `1 + alpha * log(1 + count)` (`implicit` adds the 1) for played pairs, preference
    1 for them and 0 for the rest. A song with no training interaction (a cold-start song) gets
    zero factors: it scores 0 for every user, so the baseline cannot rank cold-start songs.

    Args:
        user, song, count: the training interactions.
        num_users, num_songs: the matrix size.
        factors, regularization, alpha, iterations: ALS settings.
        seed: the factors' initialisation.

    Returns:
        float32 `(num_users, num_songs)` scores (user factors · song factors).
    """
    import scipy.sparse
    import threadpoolctl
    from keras_samplecnn.messages import needs_extra

    AlternatingLeastSquares = needs_extra("implicit.cpu.als", "recommend", "the ALS baseline").AlternatingLeastSquares

    confidence = alpha * np.log1p(np.asarray(count, np.float32))
    matrix = scipy.sparse.csr_matrix((confidence, (user, song)), shape=(num_users, num_songs), dtype=np.float32)
    matrix.sum_duplicates()
    # implicit runs its own threads; BLAS threads on top of them slow it down (its own warning).
    with threadpoolctl.threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=1.0,
                                        iterations=iterations, random_state=seed)  # fmt: skip
        model.fit(matrix, show_progress=False)
    item_factors = np.asarray(model.item_factors, np.float32).copy()
    item_factors[np.bincount(np.asarray(song), minlength=num_songs) == 0] = 0.0
    return np.asarray(model.user_factors, np.float32) @ item_factors.T
