"""DCUE's evaluation (DLRS 2018): per-user ROC-AUC against scikit-learn, and the popularity baseline."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from keras_samplecnn.evaluation.recommendation import als_scores, listener_scores, per_user_auc, popularity_scores


def test_per_user_auc_is_the_mean_of_scikit_learns_per_user():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random((6, 10)), 1)  # ties: they count half
    assert any(len(np.unique(row)) < len(row) for row in scores)
    positives = rng.random((6, 10)) < 0.3
    positives[5] = False  # no positive: not scored
    train = rng.random((6, 10)) < 0.2
    train &= ~positives
    cold = np.zeros(10, bool)
    cold[[1, 4, 7]] = True
    warm = ~cold
    result = per_user_auc(scores, positives, warm, exclude=train)
    expected = []
    for u in range(6):
        keep = warm & ~train[u]
        labels = positives[u][keep]
        if 0 < labels.sum() < len(labels):
            expected.append(roc_auc_score(labels, scores[u][keep]))
    assert result["users"] == len(expected) and result["auc"] == pytest.approx(np.mean(expected))
    assert np.isnan(result["per_user"][5])
    perfect = per_user_auc(positives.astype(float), positives, np.ones(10, bool))
    assert perfect["auc"] == 1.0
    with pytest.raises(ValueError, match="shape"):
        per_user_auc(scores[:, :5], positives, warm)


def test_popularity_counts_listeners_and_cannot_rank_cold_songs():
    user = np.array([0, 0, 1, 2, 2, 2, 0])
    song = np.array([1, 2, 1, 1, 3, 3, 1])  # repeated pairs count once
    scores = popularity_scores(user, song, num_users=3, num_songs=5)
    assert scores.shape == (3, 5)
    assert (scores == np.array([0, 3, 1, 1, 0], np.float32)).all()
    # Cold songs (never trained on) all score 0: a tie, AUC 0.5 for any user.
    positives = np.zeros((3, 5), bool)
    positives[:, 4] = True
    cold = np.array([False, False, False, False, True]) | np.array([True, False, False, False, False])
    assert per_user_auc(scores, positives, cold)["auc"] == 0.5


def test_als_ranks_held_out_songs_of_a_users_group_and_cannot_rank_cold_songs():
    # Two groups of users, each playing only its own half of the songs; ALS must rank a user's
    # unplayed songs of their own half above the other half (rank 2: two factors). Songs 38, 39
    # are never played.
    rng = np.random.default_rng(0)
    user, song = [], []
    for u in range(40):
        half = 0 if u < 20 else 19
        for s in rng.choice(19, 8, replace=False):
            user.append(u)
            song.append(half + s)
    user, song = np.array(user), np.array(song)
    scores = als_scores(user, song, rng.integers(1, 5, len(user)), 40, 40, factors=2, alpha=10.0)
    assert scores.shape == (40, 40)
    played = np.zeros((40, 40), bool)
    played[user, song] = True
    own = np.zeros((40, 40), bool)
    own[:20, :19] = own[20:, 19:38] = True
    warm = np.arange(40) < 38
    assert per_user_auc(scores, own & ~played, warm, exclude=played)["auc"] > 0.9
    assert (scores[:, 38:] == 0).all()


def test_the_authors_evaluation_as_their_evaluation_py_computes_it():
    # jongpillee/deep-content-user @0e57b68 evaluation.py, rewritten here in its own shape: a
    # (songs, users) matrix binarised, its rows cut to the evaluated songs, popularity the row
    # sums, each user's roc_auc_score over those songs, users with one class skipped.
    rng = np.random.default_rng(3)
    users, songs = 30, 50
    org_mat = (rng.random((songs, users)) < 0.06).astype(float) * rng.integers(1, 5, (songs, users))
    recon = rng.normal(size=(songs, users))
    subset = np.sort(rng.choice(songs, 20, replace=False))
    org, rec = org_mat.copy(), recon[subset, :]
    org[org >= 1] = 1
    org = org[subset, :]
    pop_items = np.sum(org, axis=1)
    theirs, theirs_pop = [], []
    for user in range(users):
        # The scikit-learn of their code raised for a user with one class (`except Exception:
        # continue`); today's returns NaN with a warning, so the skip is written out.
        if len(np.unique(org[:, user])) < 2:
            continue
        theirs.append(roc_auc_score(org[:, user], rec[:, user]))
        theirs_pop.append(roc_auc_score(org[:, user], pop_items))
    played = org_mat.T >= 1  # ours: (users, songs)
    mask = np.isin(np.arange(songs), subset)
    ours = per_user_auc(recon.T, played, mask)
    ours_pop = per_user_auc(listener_scores(played), played, mask)
    assert ours["users"] == len(theirs) < users  # some users have no positive among the 20 songs
    np.testing.assert_allclose(ours["auc"], np.mean(theirs), rtol=1e-12)
    np.testing.assert_allclose(ours_pop["auc"], np.mean(theirs_pop), rtol=1e-12)


@pytest.mark.parametrize("module", ["implicit", "faiss"])
def test_a_missing_recommend_package_names_the_extra(monkeypatch, module):
    import sys

    from keras_samplecnn.song_index import SongIndex

    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    if module == "implicit":
        monkeypatch.setitem(sys.modules, "implicit.cpu.als", None)
        with pytest.raises(ImportError, match=r"the ALS baseline needs implicit: pip install 'keras_samplecnn\[recommend\]'"):
            als_scores([0, 1], [0, 1], [1, 1], 2, 2)
    else:
        vectors = np.eye(4, dtype=np.float32)
        with pytest.raises(ImportError, match=r"needs faiss: pip install 'keras_samplecnn\[recommend\]'"):
            SongIndex(vectors, ["a", "b", "c", "d"], exact=False)
        assert SongIndex(vectors, ["a", "b", "c", "d"], exact=True).search(vectors[:1], 1)[0][0][0] == "a"
