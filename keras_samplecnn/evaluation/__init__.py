"""Clip-level evaluation: metrics (scikit-learn) and reports."""

from keras_samplecnn.data.clip_scores import average_by_clip
from keras_samplecnn.evaluation.evaluator import evaluate, predict_clips, write_report
from keras_samplecnn.evaluation.metrics import (
    classification_metrics,
    tagging_metrics,
    threshold_metrics,
    thresholded_accuracy,
    tune_thresholds,
)

__all__ = [
    "average_by_clip",
    "classification_metrics",
    "evaluate",
    "predict_clips",
    "tagging_metrics",
    "threshold_metrics",
    "thresholded_accuracy",
    "tune_thresholds",
    "write_report",
]
