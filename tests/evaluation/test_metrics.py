import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from keras_samplecnn.evaluation import (
    average_by_clip,
    classification_metrics,
    tagging_metrics,
    threshold_metrics,
    thresholded_accuracy,
    tune_thresholds,
)


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


def _multi_label(seed=0, clips=80, classes=5):
    rng = np.random.default_rng(seed)
    labels = (rng.random((clips, classes)) < 0.3).astype(float)
    scores = np.clip(labels * 0.35 + rng.random((clips, classes)) * 0.65, 0, 1)
    return labels, scores


def test_classification_metrics_against_scikit_learn():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 4, 50)
    scores = rng.random((50, 4)) + np.eye(4)[truth] * rng.random((50, 1))
    result = classification_metrics(np.eye(4)[truth], scores, ["a", "b", "c", "d"])
    predicted = scores.argmax(axis=1)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == truth))
    assert result["f1_macro"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    matrix = np.zeros((4, 4), int)
    for t, p in zip(truth, predicted):  # rows true, columns predicted
        matrix[t, p] += 1
    assert result["confusion_matrix"] == matrix.tolist()
    assert [row["clips"] for row in result["per_class"]] == np.bincount(truth, minlength=4).tolist()
    # F1 of class b by hand: 2 TP / (2 TP + FP + FN).
    tp = np.sum((predicted == 1) & (truth == 1))
    fp, fn = np.sum((predicted == 1) & (truth != 1)), np.sum((predicted != 1) & (truth == 1))
    assert result["per_class"][1]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_classification_macro_f1_ignores_classes_absent_from_the_split():
    labels = np.eye(3)[[0, 0, 1, 1]]  # class 2 has no clip
    scores = np.eye(3)[[0, 0, 1, 2]]  # one clip of class 1 predicted as 2
    result = classification_metrics(labels, scores)
    # class 0: F1 1; class 1: P 1, R 0.5, F1 2/3; class 2 (no clips) is not averaged in.
    assert result["f1_macro"] == pytest.approx((1 + 2 / 3) / 2)


def test_threshold_metrics_against_scikit_learn():
    labels, scores = _multi_label()
    tags = list("abcde")
    result = threshold_metrics(labels, scores, tags, threshold=0.4)
    predicted = scores >= 0.4
    assert result["f1_micro"] == pytest.approx(f1_score(labels, predicted, average="micro"))
    assert result["f1_macro"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert result["f1_samples"] == pytest.approx(
        f1_score(labels, predicted, average="samples", zero_division=0)
    )
    # micro F1 by hand from pooled counts, as the DCASE 2017 Task 4 scorer computes it
    tp = np.sum(predicted & (labels > 0))
    fp, fn = np.sum(predicted & (labels == 0)), np.sum(~predicted & (labels > 0))
    assert result["f1_micro"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert [r["f1"] for r in result["per_class"]] == pytest.approx(f1_score(labels, predicted, average=None))
    assert result["threshold"] == 0.4


def test_per_class_thresholds_and_tuning():
    labels, scores = _multi_label(seed=2)
    tuned = tune_thresholds(labels, scores)
    for k in range(labels.shape[1]):
        # brute force over every distinct score: no threshold gives a higher F1
        best = max(f1_score(labels[:, k], scores[:, k] >= t) for t in np.unique(scores[:, k]))
        assert f1_score(labels[:, k], scores[:, k] >= tuned[k]) == pytest.approx(best)
    result = threshold_metrics(labels, scores, list("abcde"), tuned)
    assert result["threshold"] == pytest.approx(tuned.tolist())
    assert result["f1_macro"] >= threshold_metrics(labels, scores, list("abcde"), 0.5)["f1_macro"]
    # a class without positives keeps the default
    labels[:, 0] = 0
    assert tune_thresholds(labels, scores, default=0.1)[0] == 0.1


def exact_rows(labels, scores, threshold):
    """The JSTSP code's "acc" written out in NumPy: the share of clips whose every class is
    decided right by `score > threshold` (tae-jun/sampleaudio @30bd5ed, eval.py)."""
    return float(np.mean(np.all((scores > threshold) == (labels > 0.5), axis=1)))


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5])
def test_thresholded_accuracy_on_multi_label_data(threshold):
    labels, scores = _multi_label(seed=3)
    expected = exact_rows(labels, scores, threshold)
    assert thresholded_accuracy(labels, scores, threshold) == pytest.approx(expected)


def test_thresholded_accuracy_differs_from_argmax_accuracy():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 5, 200)
    logits = rng.normal(size=(200, 5)) + 1.5 * np.eye(5)[truth]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # softmax rows
    labels = np.eye(5)[truth]
    argmax = classification_metrics(labels, scores)["accuracy"]
    thresholded = thresholded_accuracy(labels, scores, 0.5)
    assert argmax == pytest.approx(np.mean(scores.argmax(axis=1) == truth))
    assert thresholded == pytest.approx(exact_rows(labels, scores, 0.5))
    # On softmax rows at 0.5: right exactly when the true class scores above 0.5.
    assert thresholded == pytest.approx(np.mean(scores[np.arange(200), truth] > 0.5))
    assert thresholded < argmax - 0.05  # right by arg-max, but under 0.5: counted by one only
    # By hand: a clip won at 0.4 counts for arg-max accuracy only, and a score exactly at the
    # threshold is not above it.
    labels = np.eye(3)[[0, 1, 2]]
    scores = np.array([[0.4, 0.3, 0.3], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])
    assert classification_metrics(labels, scores)["accuracy"] == 1.0
    assert thresholded_accuracy(labels, scores, 0.5) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="clips, K"):
        thresholded_accuracy(labels, scores[:2], 0.5)


def test_seed_statistics_are_the_sample_mean_and_deviation():
    from keras_samplecnn.evaluation.seeds import cell, markdown_table, over_seeds

    values = [0.90, 0.94, 0.95]
    entry = over_seeds(values)
    mean = sum(values) / 3
    std = (sum((v - mean) ** 2 for v in values) / 2) ** 0.5  # sample deviation, n - 1
    assert entry["values"] == values and abs(entry["mean"] - mean) < 1e-12 and abs(entry["std"] - std) < 1e-12
    assert over_seeds([0.5])["std"] is None
    assert cell(entry) == f"{mean:.4f} ± {std:.4f}" and cell(over_seeds([0.5])) == "0.5000" and cell(None) == "—"
    assert markdown_table(["a", "b"], [["x", 1]]).splitlines() == ["| a | b |", "|---|---|", "| x | 1 |"]
