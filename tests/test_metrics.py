import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from keras_samplecnn.evaluation import average_by_clip, tagging_metrics


def test_average_by_clip():
    scores = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.4]])
    np.testing.assert_allclose(average_by_clip(scores, [0, 0, 1, 1]), [[0.5, 0.5], [0.35, 0.45]])
    with pytest.raises(ValueError, match="no segment"):
        average_by_clip(scores, [0, 0, 2, 2])


def test_against_direct_scikit_learn():
    rng = np.random.default_rng(0)
    labels = (rng.random((60, 4)) < 0.3).astype(float)
    scores = np.clip(labels * 0.3 + rng.random((60, 4)) * 0.7, 0, 1)
    result = tagging_metrics(labels, scores, ["a", "b", "c", "d"])
    assert result["roc_auc"] == pytest.approx(roc_auc_score(labels, scores, average="macro"))
    assert result["pr_auc"] == pytest.approx(average_precision_score(labels, scores, average="macro"))
    assert result["num_clips"] == 60 and result["excluded_tags"] == []
    assert [r["positives"] for r in result["per_tag"]] == labels.sum(axis=0).astype(int).tolist()


def test_tags_without_positives_are_left_out_not_zero():
    labels = np.array([[1, 0], [0, 0], [1, 0], [0, 0]], dtype=float)
    scores = np.array([[0.9, 0.1], [0.1, 0.2], [0.8, 0.3], [0.3, 0.4]])
    result = tagging_metrics(labels, scores, ["rock", "sitar"])
    assert result["excluded_tags"] == ["sitar"]
    assert result["roc_auc"] == pytest.approx(1.0)  # the mean of rock alone, not (1 + 0) / 2
    assert result["per_tag"][1]["roc_auc"] is None


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shapes differ"):
        tagging_metrics(np.zeros((3, 2)), np.zeros((3, 2)), ["only one"])
