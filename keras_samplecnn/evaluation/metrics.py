"""Clip-level tagging metrics, computed the way the papers and later literature report them."""

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


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


def classification_metrics(y_true, y_score):
    """Accuracy for single-label tasks (one-hot labels, softmax scores)."""
    y_true = np.asarray(y_true)
    return {"accuracy": float(np.mean(np.argmax(y_score, axis=1) == np.argmax(y_true, axis=1)))}
