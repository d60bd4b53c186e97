"""Which features help: one classifier per feature subset of a cache, and the table over seeds.

The comparison of Lee & Nam, IEEE SPL 2017 (arXiv:1703.01793), Table 2 in spirit: the same
two-layer classifier trained on the last layer of one extractor (single-level, single-scale),
on every cached layer of one extractor (multi-level), on the last layer of every extractor
(multi-scale) and on everything (multi-level + multi-scale). The extractors' own clip-level
predictions (the "local model" of the paper: segment scores averaged over the clip) are the
end-to-end rows; recipes add them with `end_to_end_row`.

    rows = compare_features("features/seed0", seed=0)
    table = summarise(rows_of_all_seeds)
    print(markdown_table(table, task="multi_label"))
"""

import dataclasses

from keras_samplecnn.aggregation.classifier import evaluate_classifier, train_classifier
from keras_samplecnn.aggregation.features import feature_columns, read_features_manifest
from keras_samplecnn.evaluation.seeds import cell, over_seeds
from keras_samplecnn.evaluation.seeds import markdown_table as seeds_table

__all__ = [
    "FeatureVariant",
    "compare_features",
    "end_to_end_row",
    "feature_variants",
    "markdown_table",
    "summarise",
]

# Kinds in table order.
KINDS = ("untrained", "end to end", "single-level", "multi-level", "multi-scale", "multi-level + multi-scale")
# The kinds that use one trained extractor: the bar the aggregated features are held to.
SINGLE_EXTRACTOR_KINDS = ("end to end", "single-level", "multi-level")


@dataclasses.dataclass(frozen=True)
class FeatureVariant:
    """A subset of the cached features: `extractors` (indices, None = all), `layers`
    (names or negative positions per extractor, None = all), shown as `name` of `kind`."""

    name: str
    kind: str
    extractors: tuple | None
    layers: tuple | None


def _label(extractor):
    return extractor.get("name") or "extractor"


def feature_variants(content):
    """The feature subsets compared for a cache: per extractor its last layer and all its
    layers (when it has more than one), then, with several extractors, the last layers of all
    and everything.

    Args:
        content: a features manifest (`read_features_manifest`).

    Returns:
        a list of `FeatureVariant`, in table order.
    """
    extractors = content["extractors"]
    variants = []
    for index, extractor in enumerate(extractors):
        label = _label(extractor)
        variants.append(FeatureVariant(f"{label}, last layer", "single-level", (index,), (-1,)))
        if sum(e["extractor"] == index for e in content["layers"]) > 1:
            variants.append(FeatureVariant(f"{label}, all cached layers", "multi-level", (index,), None))
    if len(extractors) > 1:
        variants.append(FeatureVariant("all extractors, last layers", "multi-scale", None, (-1,)))
        variants.append(
            FeatureVariant("all extractors, all cached layers", "multi-level + multi-scale", None, None)
        )
    return variants


def _metrics(results):
    keep = {"roc_auc": results["roc_auc"], "pr_auc": results["pr_auc"]}
    if "accuracy" in results:
        keep["accuracy"] = results["accuracy"]
    return keep


def compare_features(feature_dir, seed=0, split="test", variants=None, **classifier_options):
    """Trains and evaluates one classifier per feature subset of a cache.

    Args:
        feature_dir: a folder written by `extract_features` (train, valid and `split`).
        seed: the classifiers' seed.
        split: the split the results are measured on.
        variants: `FeatureVariant`s (default `feature_variants` of the cache).
        **classifier_options: passed to `train_classifier` (hidden, dropout, epochs, ...).

    Returns:
        a list of row dicts: `variant`, `kind`, `dim`, `seed`, `roc_auc`, `pr_auc` and, for
        single-label data, `accuracy`.
    """
    content = read_features_manifest(feature_dir)
    rows = []
    for variant in variants if variants is not None else feature_variants(content):
        columns = feature_columns(content, variant.extractors, variant.layers)
        model = train_classifier(feature_dir, seed=seed, columns=columns, **classifier_options)
        results = evaluate_classifier(model, feature_dir, split, columns=columns)
        rows.append({"variant": variant.name, "kind": variant.kind, "dim": int(len(columns)), "seed": seed,
                     **_metrics(results)})  # fmt: skip
    return rows


def end_to_end_row(name, results, seed):
    """A table row from an extractor's own evaluation (its `evaluation/results.json`)."""
    return {
        "variant": f"{name}, end to end",
        "kind": "end to end",
        "dim": None,
        "seed": seed,
        **_metrics(results),
    }


def summarise(rows):
    """Mean and sample standard deviation over seeds of each variant's metrics.

    Args:
        rows: row dicts of `compare_features` / `end_to_end_row`, for any number of seeds.

    Returns:
        a list of dicts, one per variant in first-seen order: `variant`, `kind`, `dim`,
        `seeds` (count), and `<metric>_mean`, `<metric>_std` (std None for one seed) and
        `<metric>_values` for each metric present.
    """
    groups = {}
    for row in rows:
        groups.setdefault(row["variant"], []).append(row)
    summary = []
    for variant, group in groups.items():
        entry = {"variant": variant, "kind": group[0]["kind"], "dim": group[0]["dim"], "seeds": len(group)}
        for metric in ("roc_auc", "pr_auc", "accuracy"):
            values = [r[metric] for r in group if r.get(metric) is not None]
            if not values:
                continue
            stats = over_seeds(values)
            entry.update({f"{metric}_{key}": stats[key] for key in ("values", "mean", "std")})
        summary.append(entry)
    summary.sort(key=lambda e: KINDS.index(e["kind"]) if e["kind"] in KINDS else len(KINDS))
    return summary


def headline_metric(task):
    """The metric a task's table is judged by: accuracy for single-label data, else ROC-AUC."""
    return "accuracy" if task == "single_label" else "roc_auc"


def best_single(summary, task):
    """The best variant that uses one extractor (end to end or its own features), or None."""
    metric = headline_metric(task) + "_mean"
    single = [e for e in summary if e["kind"] in SINGLE_EXTRACTOR_KINDS and metric in e]
    return max(single, key=lambda e: e[metric]) if single else None


def _cell(entry, metric):
    if entry.get(f"{metric}_mean") is None:
        return "—"
    return cell({"mean": entry[f"{metric}_mean"], "std": entry.get(f"{metric}_std")})


def markdown_table(summary, task="multi_label"):
    """The summary as a Markdown table (mean ± standard deviation over seeds)."""
    metrics = ["accuracy", "roc_auc"] if task == "single_label" else ["roc_auc", "pr_auc"]
    titles = {"accuracy": "accuracy", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC"}
    header = ["features", "kind", "dim", "seeds", *(titles[m] for m in metrics)]
    rows = [[entry["variant"], entry["kind"], "—" if entry["dim"] is None else str(entry["dim"]), entry["seeds"],
             *(_cell(entry, m) for m in metrics)] for entry in summary]  # fmt: skip
    return seeds_table(header, rows) + "\n"
