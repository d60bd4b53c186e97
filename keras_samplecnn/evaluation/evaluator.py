"""Clip-level evaluation of a trained model on a converted split, with a written report."""

import datetime
import json
import os

import numpy as np

from keras_samplecnn.data import feed
from keras_samplecnn.data.clip_scores import average_by_clip
from keras_samplecnn.data.manifest import read_manifest
from keras_samplecnn.evaluation.metrics import (
    DCASE_THRESHOLD,
    DEFAULT_THRESHOLD,
    classification_metrics,
    tagging_metrics,
    threshold_metrics,
    thresholded_accuracy,
    tune_thresholds,
)
from keras_samplecnn.models.artist import ArtistCNN, SiameseArtistModel
from keras_samplecnn.models.dcue import DCUE
from keras_samplecnn.models.loading import load_model
from keras_samplecnn.models.samplecnn import SampleCNN

RESULTS = "results.json"
REPORT = "report.md"


def predict_clips(model, data_dir, split="test", batch_size=64, reader="auto"):
    """Clip-level scores: every non-overlapping segment predicted, then averaged per clip.

    Args:
        reader: who reads the shards: `tf_data`, `portable` (no TensorFlow) or `auto`
            (`keras_samplecnn.data.feed`); the scores are the same.

    Returns:
        `(labels, scores)`, both `(clips, K)`.

    Raises:
        ValueError: the model expects audio at another sample rate than the data's.
    """
    rate, data_rate = getattr(model, "sample_rate", None), read_manifest(data_dir)["sample_rate"]
    if rate is not None and int(rate) != int(data_rate):
        raise ValueError(
            f"the model expects {rate} Hz audio but {data_dir} holds {data_rate} Hz: evaluate it on data "
            "converted at the model's rate (python -m tfrecords_tools ... --sample-rate)"
        )
    batches = feed.eval_batches(feed.resolve_reader(reader), data_dir, split, model.input_length, batch_size)
    scores, labels, clips = [], [], []
    for audio, label, clip in batches:
        scores.append(np.asarray(model.predict_on_batch(audio)))
        labels.append(label)
        clips.append(clip)
    if not clips:
        raise ValueError(f"split {split!r} of {data_dir} holds no clips")
    clips = np.concatenate(clips)
    clip_scores = average_by_clip(np.concatenate(scores), clips)
    clip_labels = np.zeros_like(clip_scores)
    clip_labels[clips] = np.concatenate(labels)
    return clip_labels, clip_scores


def default_threshold(manifest):
    """The decision threshold for a dataset: 0.1 for DCASE 2017, else 0.5, the JSTSP code's
    (tae-jun/sampleaudio @30bd5ed, `lib/data/config.py`)."""
    return DCASE_THRESHOLD if manifest.get("dataset") == "dcase2017" else DEFAULT_THRESHOLD


def evaluate(
    model,
    data_dir,
    split="test",
    batch_size=64,
    out_dir=None,
    training_log=None,
    threshold=None,
    tune_on=None,
    reader="auto",
):
    """Clip-level metrics of a model on a split, chosen by the task.

    Every task gets macro ROC-AUC and PR-AUC, and the JSTSP 2019 code's thresholded accuracy
    (`thresholded_accuracy`: the clips whose `score > threshold` row equals their labels).
    Single-label data adds the arg-max accuracy, macro F1 and a confusion matrix; multi-label
    data adds F1 (micro, macro, per clip, per class) at a decision threshold, and optionally
    at per-class thresholds tuned on another split.

    Args:
        model: a `SampleCNN` or the path of its `.keras` file.
        data_dir: converted TFRecords (with `manifest.json`).
        split: split name.
        batch_size: segments per forward pass.
        out_dir: if given, `results.json`, `report.md` and its plots are written there.
        training_log: optional `CSVLogger` file whose curves go into the report.
        threshold: decision threshold of the multi-label F1 and of the thresholded accuracy
            (both tasks); default `default_threshold(manifest)`.
        tune_on: multi-label only: a split (e.g. "valid") on which to tune one threshold per
            class for the best F1; the tuned thresholds are then applied to `split` and
            reported under `tuned`.
        reader: who reads the shards (`keras_samplecnn.data.feed`): `tf_data`, `portable`
            (NumPy, no TensorFlow) or `auto` (`tf_data` where TensorFlow is installed).

    Returns:
        the results dict (keys `task`, `roc_auc`, `pr_auc`, `per_tag`, `num_clips`, `model`,
        `data`, `split`, `excluded_tags`, `thresholded_accuracy` (`{"value", "threshold"}`),
        and `accuracy` (the arg-max accuracy), `f1_macro`, `confusion_matrix`, `per_class`
        for single-label or `f1` (and `tuned`) for multi-label data).
    """
    model_path = model if isinstance(model, (str, os.PathLike)) else None
    model = load_model(model, kind=(SampleCNN, ArtistCNN, SiameseArtistModel, DCUE))
    if isinstance(model, (SiameseArtistModel, DCUE)):
        raise ValueError(
            f"{model.name} is a {type(model).__name__}: it scores pairs and has no classes to evaluate; its "
            "features are evaluated by transfer (recipes/artist_representation.py) or embedded (samplecnn embed)"
        )
    manifest = read_manifest(data_dir)
    tags = manifest["tags"]
    if model.tags and list(model.tags) != list(tags):
        raise ValueError(
            f"the model's {len(model.tags)} tags differ from the data's {len(tags)} tags (or their order)"
        )
    task = manifest.get("task", "multi_label")
    labels, scores = predict_clips(model, data_dir, split, batch_size, reader)
    results = tagging_metrics(labels, scores, tags)
    results["task"] = task
    threshold = default_threshold(manifest) if threshold is None else threshold
    if task == "single_label":
        results.update(classification_metrics(labels, scores, tags))
    else:
        results["f1"] = threshold_metrics(labels, scores, tags, threshold)
        if tune_on:
            tuning_labels, tuning_scores = predict_clips(model, data_dir, tune_on, batch_size, reader)
            tuned = tune_thresholds(tuning_labels, tuning_scores, default=threshold)
            results["tuned"] = {"on": tune_on, **threshold_metrics(labels, scores, tags, tuned)}
    results["thresholded_accuracy"] = {
        "value": thresholded_accuracy(labels, scores, threshold),
        "threshold": float(threshold),
    }
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


def summary_lines(results):
    """The headline metrics of `results`, one `name value` line each, for terminals."""
    lines = [f"macro ROC-AUC  {_fmt(results['roc_auc'])}", f"macro PR-AUC   {_fmt(results['pr_auc'])}"]
    if "accuracy" in results:
        lines += [f"argmax accuracy  {results['accuracy']:.4f}", f"macro F1       {results['f1_macro']:.4f}"]
    if "thresholded_accuracy" in results:
        lines.append(f"{thresholded_accuracy_name(results)}  {results['thresholded_accuracy']['value']:.4f}")
    for key, what in (("f1", "threshold"), ("tuned", "tuned thresholds")):
        if key in results:
            f1 = results[key]
            at = f"{f1['threshold']:g}" if key == "f1" else f"per class, tuned on {f1['on']}"
            lines.append(f"F1 at {what} ({at}): micro {f1['f1_micro']:.4f}, macro {_fmt(f1['f1_macro'])}, "
                         f"per clip {f1['f1_samples']:.4f}")  # fmt: skip
    return lines


def thresholded_accuracy_name(results):
    """What `results["thresholded_accuracy"]` is, in words, with its threshold."""
    threshold = results["thresholded_accuracy"]["threshold"]
    return f"thresholded accuracy (authors' eval.py: exact match of score > {threshold:g})"


def write_report(results, out_dir, training_log=None):
    """Writes `results.json`, `report.md` and its figures.

    Figures: `per_tag_roc_auc.png`, `training_curves.png` (with a training log) and, for
    single-label data, `confusion_matrix.png`.
    """
    from keras_samplecnn.viz.plots import confusion_matrix_figure, per_tag_bars, training_curves

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
        lines += [f"| argmax accuracy | {results['accuracy']:.4f} |",
                  f"| macro F1 | {results['f1_macro']:.4f} |"]  # fmt: skip
    if "thresholded_accuracy" in results:
        value = results["thresholded_accuracy"]["value"]
        lines.append(f"| {thresholded_accuracy_name(results)} | {value:.4f} |")
    for key in ("f1", "tuned"):
        if key in results:
            f1 = results[key]
            at = (
                f"threshold {f1['threshold']:g}"
                if key == "f1"
                else f"thresholds tuned per class on `{f1['on']}`"
            )
            lines += [
                f"| F1 micro, {at} | {f1['f1_micro']:.4f} |",
                f"| F1 macro, {at} | {_fmt(f1['f1_macro'])} |",
                f"| F1 per clip, {at} | {f1['f1_samples']:.4f} |",
            ]
    if results["excluded_tags"]:
        lines += ["", f"Left out of the macro means (no positive or no negative clip in this split): "
                  f"{', '.join(results['excluded_tags'])}."]  # fmt: skip
    lines += ["", "![per-tag ROC-AUC](per_tag_roc_auc.png)", ""]
    if "confusion_matrix" in results:
        confusion_matrix_figure(
            results["confusion_matrix"], [r["tag"] for r in results["per_class"]]
        ).savefig(os.path.join(out_dir, "confusion_matrix.png"), dpi=110)
        lines += ["![confusion matrix](confusion_matrix.png)", ""]
    if training_log and os.path.exists(training_log):
        training_curves(training_log).savefig(os.path.join(out_dir, "training_curves.png"), dpi=110)
        lines += ["![training curves](training_curves.png)", ""]
    lines += _per_tag_table(results)
    with open(os.path.join(out_dir, REPORT), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def _per_tag_table(results):
    """Markdown rows per tag: AUCs, and F1 (single-label: per class; multi-label: at the threshold)."""
    f1_rows = results.get("per_class") or results.get("f1", {}).get("per_class")
    f1_of = {row["tag"]: row["f1"] for row in f1_rows} if f1_rows else {}
    header = "| tag | clips with tag | ROC-AUC | PR-AUC |" + (" F1 |" if f1_of else "")
    lines = [header, "|---|---|---|---|" + ("---|" if f1_of else "")]
    for row in sorted(results["per_tag"], key=lambda r: -(r["roc_auc"] or -1)):
        line = f"| {row['tag']} | {row['positives']} | {_fmt(row['roc_auc'])} | {_fmt(row['pr_auc'])} |"
        lines.append(line + (f" {f1_of[row['tag']]:.4f} |" if f1_of else ""))
    return lines


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"
