"""Clip-level evaluation of a trained model on a converted split, with a written report."""

import datetime
import json
import os

import numpy as np

from keras_samplecnn.data import pipeline
from keras_samplecnn.evaluation.metrics import classification_metrics, tagging_metrics
from keras_samplecnn.tagger import Tagger

RESULTS = "results.json"
REPORT = "report.md"


def predict_clips(model, data_dir, split="test", batch_size=64):
    """Clip-level scores: every non-overlapping segment predicted, then averaged per clip.

    Returns:
        `(labels, scores)`, both `(clips, K)`.
    """
    dataset = pipeline.eval_dataset(
        data_dir, split=split, segment_length=model.input_length, batch_size=batch_size
    )
    scores, labels, clips = [], [], []
    for audio, label, clip in dataset.as_numpy_iterator():
        scores.append(np.asarray(model.predict_on_batch(audio)))
        labels.append(label)
        clips.append(clip)
    if not clips:
        raise ValueError(f"split {split!r} of {data_dir} holds no clips")
    clips = np.concatenate(clips)
    clip_scores = pipeline.average_by_clip(np.concatenate(scores), clips)
    clip_labels = np.zeros_like(clip_scores)
    clip_labels[clips] = np.concatenate(labels)
    return clip_labels, clip_scores


def evaluate(model, data_dir, split="test", batch_size=64, out_dir=None, training_log=None):
    """Macro ROC-AUC / PR-AUC (and accuracy for single-label data) on a split.

    Args:
        model: a `SampleCNN` or the path of its `.keras` file.
        data_dir: converted TFRecords (with `manifest.json`).
        split: split name.
        batch_size: segments per forward pass.
        out_dir: if given, `results.json`, `report.md` and its plots are written there.
        training_log: optional `CSVLogger` file whose curves go into the report.

    Returns:
        the results dict (keys `roc_auc`, `pr_auc`, `per_tag`, `num_clips`, `model`,
        `data`, `split`, `excluded_tags`, ...).
    """
    model_path = model if isinstance(model, (str, os.PathLike)) else None
    model = Tagger(model).model  # loads and checks that it is one of ours
    manifest = pipeline.read_manifest(data_dir)
    tags = manifest["tags"]
    if model.tags and list(model.tags) != list(tags):
        raise ValueError(
            f"the model's {len(model.tags)} tags differ from the data's {len(tags)} tags (or their order)"
        )
    labels, scores = predict_clips(model, data_dir, split, batch_size)
    results = tagging_metrics(labels, scores, tags)
    if manifest.get("task") == "single_label":
        results.update(classification_metrics(labels, scores))
    results.update(
        model=os.fspath(model_path) if model_path else model.name,
        data=os.fspath(data_dir),
        split=split,
        segment_length=model.input_length,
        sample_rate=model.sample_rate,
        date=datetime.datetime.now().isoformat(timespec="seconds"),
    )
    if out_dir:
        write_report(results, out_dir, training_log)
    return results


def write_report(results, out_dir, training_log=None):
    """Writes `results.json`, `report.md`, `per_tag_roc_auc.png` and `training_curves.png`."""
    from keras_samplecnn.viz.plots import per_tag_bars, training_curves

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, RESULTS), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    per_tag_bars(results["per_tag"], "roc_auc", f"Per-tag ROC-AUC, {results['split']} split").savefig(
        os.path.join(out_dir, "per_tag_roc_auc.png"), dpi=110
    )
    lines = [
        f"# Evaluation of `{results['model']}`",
        "",
        f"Data `{results['data']}`, split `{results['split']}`: {results['num_clips']} clips, "
        f"segments of {results['segment_length']} samples at {results['sample_rate']} Hz averaged per clip.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| macro ROC-AUC | {_fmt(results['roc_auc'])} |",
        f"| macro PR-AUC | {_fmt(results['pr_auc'])} |",
    ]
    if "accuracy" in results:
        lines.append(f"| accuracy | {results['accuracy']:.4f} |")
    if results["excluded_tags"]:
        lines += ["", f"Left out of the macro means (no positive or no negative clip in this split): "
                  f"{', '.join(results['excluded_tags'])}."]  # fmt: skip
    lines += ["", "![per-tag ROC-AUC](per_tag_roc_auc.png)", ""]
    if training_log and os.path.exists(training_log):
        training_curves(training_log).savefig(os.path.join(out_dir, "training_curves.png"), dpi=110)
        lines += ["![training curves](training_curves.png)", ""]
    lines += ["| tag | clips with tag | ROC-AUC | PR-AUC |", "|---|---|---|---|"]
    for row in sorted(results["per_tag"], key=lambda r: -(r["roc_auc"] or -1)):
        lines.append(
            f"| {row['tag']} | {row['positives']} | {_fmt(row['roc_auc'])} | {_fmt(row['pr_auc'])} |"
        )
    with open(os.path.join(out_dir, REPORT), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"
