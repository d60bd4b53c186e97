"""Clip-level tagging metrics, computed the way the papers and later literature report them."""

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
)

# The decision threshold of the JSTSP 2019 code for DCASE 2017 Task 4 (tae-jun/sampleaudio
# `lib/data/config.py`, `threshold=0.1`); its default for other multi-label data is 0.5.
DCASE_THRESHOLD = 0.1
DEFAULT_THRESHOLD = 0.5


def tagging_metrics(y_true, y_score, tags):
    """Macro ROC-AUC and PR-AUC (average precision) over tags, with a per-tag table.

    A tag whose clips in this split are all negative (or all positive) has no defined AUC:
    it is listed in `excluded_tags` and left out of both macro means, never counted as 0.

    Args:
        y_true: `(clips, K)` binary labels.
        y_score: `(clips, K)` clip-level scores.
        tags: the K tag names.

    Returns:
        dict with `roc_auc`, `pr_auc`, `per_tag` (list of {tag, roc_auc, pr_auc,
        positives}), `excluded_tags` and `num_clips`.
    """
    y_true = np.asarray(y_true) > 0.5
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.shape != y_score.shape or y_true.shape[1] != len(tags):
        raise ValueError(f"shapes differ: labels {y_true.shape}, scores {y_score.shape}, {len(tags)} tags")
    per_tag, excluded = [], []
    for k, tag in enumerate(tags):
        positives = int(y_true[:, k].sum())
        row = {"tag": tag, "positives": positives, "roc_auc": None, "pr_auc": None}
        if 0 < positives < len(y_true):
            row["roc_auc"] = float(roc_auc_score(y_true[:, k], y_score[:, k]))
            row["pr_auc"] = float(average_precision_score(y_true[:, k], y_score[:, k]))
        else:
            excluded.append(tag)
        per_tag.append(row)
    scored = [r for r in per_tag if r["roc_auc"] is not None]
    return {
        "roc_auc": float(np.mean([r["roc_auc"] for r in scored])) if scored else None,
        "pr_auc": float(np.mean([r["pr_auc"] for r in scored])) if scored else None,
        "per_tag": per_tag,
        "excluded_tags": excluded,
        "num_clips": int(len(y_true)),
    }


def classification_metrics(y_true, y_score, tags=None):
    """Accuracy, macro F1 and the confusion matrix for single-label tasks.

    The predicted class is the arg-max score; macro F1 is the unweighted mean of the per-class
    F1 over all classes (a class never predicted and absent counts as 0 only if it has clips).

    Args:
        y_true: `(clips, K)` one-hot labels.
        y_score: `(clips, K)` scores (softmax outputs).
        tags: optional class names, for the per-class rows.

    Returns:
        dict with `accuracy`, `f1_macro`, `confusion_matrix` (K×K list, rows = true class,
        columns = predicted) and `per_class` (list of {tag, clips, precision, recall, f1}).
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    if y_true.shape != y_score.shape:
        raise ValueError(f"shapes differ: labels {y_true.shape}, scores {y_score.shape}")
    classes = np.arange(y_true.shape[1])
    truth, predicted = np.argmax(y_true, axis=1), np.argmax(y_score, axis=1)
    # Only classes with clips enter the macro mean: a class absent from the split has no F1.
    present = np.unique(truth)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=classes, zero_division=0
    )
    names = tags if tags is not None else [str(k) for k in classes]
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "f1_macro": float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)),
        "confusion_matrix": confusion_matrix(truth, predicted, labels=classes).tolist(),
        "per_class": [
            {
                "tag": names[k],
                "clips": int(support[k]),
                "precision": float(precision[k]),
                "recall": float(recall[k]),
                "f1": float(f1[k]),
            }  # fmt: skip
            for k in classes
        ],
    }


def threshold_metrics(y_true, y_score, tags, threshold=DEFAULT_THRESHOLD):
    """F1, precision and recall of multi-label decisions `score >= threshold`.

    Args:
        y_true: `(clips, K)` binary labels.
        y_score: `(clips, K)` clip-level scores.
        tags: the K tag names.
        threshold: one number, or K numbers (one per class, e.g. from `tune_thresholds`).

    Returns:
        dict with `threshold`, `f1_micro` (TP, FP, FN pooled over every clip and class, the
        DCASE 2017 Task 4 ranking metric), `precision_micro`, `recall_micro`, `f1_macro` (the
        mean of the per-class F1 over classes with a positive clip), `f1_samples` (the mean
        per-clip F1, what the JSTSP 2019 code prints) and `per_class` rows.
    """
    y_true = np.asarray(y_true) > 0.5
    y_score = np.asarray(y_score, dtype=np.float64)
    thresholds = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (y_true.shape[1],))
    y_pred = y_score >= thresholds
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    micro = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    present = support > 0
    return {
        "threshold": float(thresholds[0]) if np.ndim(threshold) == 0 else thresholds.tolist(),
        "f1_micro": float(micro[2]),
        "precision_micro": float(micro[0]),
        "recall_micro": float(micro[1]),
        "f1_macro": float(np.mean(f1[present])) if present.any() else None,
        "f1_samples": float(f1_score(y_true, y_pred, average="samples", zero_division=0)),
        "per_class": [
            {
                "tag": tag,
                "positives": int(support[k]),
                "threshold": float(thresholds[k]),
                "precision": float(precision[k]),
                "recall": float(recall[k]),
                "f1": float(f1[k]),
            }  # fmt: skip
            for k, tag in enumerate(tags)
        ],
    }


def thresholded_accuracy(y_true, y_prob, threshold=DEFAULT_THRESHOLD):
    """The "acc" of the JSTSP 2019 code: the fraction of clips whose thresholded row is exact.

    tae-jun/sampleaudio @30bd5ed, `eval.py` (`evaluate`): `y_pred = (y_prob >
    config.threshold).astype(np.float32)`, `acc = metrics.accuracy_score(y_true, y_pred)`,
    with `threshold` 0.5 (the `DatasetConfig` default, MTAT and Speech Commands) or 0.1
    (DCASE 2017) in `lib/data/config.py`. On label matrices scikit-learn's `accuracy_score`
    is the subset accuracy: a clip counts only if every class is decided right, `score >
    threshold` (strictly) for its labels and not for the others. For single-label softmax
    outputs that is "the true class scores above 0.5" (at threshold 0.5), never more than
    the arg-max accuracy of `classification_metrics`: a clip whose best class scores 0.4
    counts for arg-max accuracy, not here.

    Args:
        y_true: `(clips, K)` 0/1 labels (one-hot or multi-hot).
        y_prob: `(clips, K)` clip-level scores.
        threshold: one number, the decision threshold.

    Returns:
        The accuracy, a float in [0, 1].
    """
    y_true = np.asarray(y_true, dtype=np.float32)
    y_prob = np.asarray(y_prob)
    if y_true.shape != y_prob.shape or y_true.ndim != 2:
        raise ValueError(f"expected two (clips, K) arrays, got labels {y_true.shape}, scores {y_prob.shape}")
    y_pred = (y_prob > threshold).astype(np.float32)
    return float(accuracy_score(y_true, y_pred))


def tune_thresholds(y_true, y_score, default=DEFAULT_THRESHOLD):
    """Per-class thresholds that maximise each class's F1 on (validation) data.

    For every class the candidate thresholds are its distinct scores; the best F1 wins (ties:
    the highest threshold, so fewer false alarms). A class without positive clips keeps
    `default`.

    Returns:
        A float64 array of K thresholds.
    """
    y_true = np.asarray(y_true) > 0.5
    y_score = np.asarray(y_score, dtype=np.float64)
    tuned = np.full(y_true.shape[1], float(default))
    for k in range(y_true.shape[1]):
        if not y_true[:, k].any():
            continue
        precision, recall, candidates = precision_recall_curve(y_true[:, k], y_score[:, k])
        precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        best = np.flatnonzero(f1 == f1.max())[-1]
        tuned[k] = candidates[best]
    return tuned
