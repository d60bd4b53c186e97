"""Figures shared by evaluation reports and the visualisation tools.

Every function returns a `matplotlib.figure.Figure` built without pyplot, so it works
headless (no display, no global state); save it with `fig.savefig("x.png")` or `.svg`.
"""

import csv

import numpy as np
from matplotlib.figure import Figure


def per_tag_bars(per_tag, metric="roc_auc", title=None):
    """Horizontal bars of one metric per tag, best first.

    Args:
        per_tag: list of dicts with keys "tag" and `metric` (as in `results.json`);
            tags whose metric is None (no positive clip) are left out.
        metric: "roc_auc" or "pr_auc".
        title: figure title.
    """
    rows = sorted((r for r in per_tag if r.get(metric) is not None), key=lambda r: r[metric])
    fig = Figure(figsize=(6, max(2.5, 0.18 * len(rows) + 1)), layout="constrained")
    ax = fig.add_subplot()
    values = [r[metric] for r in rows]
    ax.barh(np.arange(len(rows)), values, color="tab:blue")
    ax.set_yticks(np.arange(len(rows)), [r["tag"] for r in rows], fontsize=7)
    low = min(values + [0.5])
    ax.set_xlim(max(0.0, low - 0.05), 1.0)
    label = {"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC"}.get(metric, metric)
    ax.set_xlabel(label)
    if values:
        ax.axvline(
            np.mean(values),
            color="tab:red",
            linestyle="--",
            linewidth=1,
            label=f"macro {np.mean(values):.3f}",
        )
        ax.legend(loc="lower right", fontsize=7)
    ax.set_title(title or f"Per-tag {label}")
    return fig


def training_curves(log_csv):
    """Loss and validation metrics per epoch from a Keras `CSVLogger` file."""
    with open(log_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{log_csv} holds no epochs")
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    loss_ax, metric_ax = fig.subplots(1, 2)
    for key, style in (("loss", "-"), ("val_loss", "--")):
        if key in rows[0]:
            loss_ax.plot(epochs, [float(r[key]) for r in rows], style, label=key)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss")
    loss_ax.legend(fontsize=7)
    for key in ("roc_auc", "val_roc_auc", "pr_auc", "val_pr_auc", "accuracy", "val_accuracy"):
        if key in rows[0]:
            metric_ax.plot(
                epochs, [float(r[key]) for r in rows], "--" if key.startswith("val") else "-", label=key
            )
    metric_ax.set_xlabel("epoch")
    metric_ax.set_ylabel("segment-level accuracy" if "accuracy" in rows[0] else "segment-level AUC")
    metric_ax.legend(fontsize=7)
    fig.suptitle("Training curves")
    return fig


def confusion_matrix_figure(matrix, classes, title="Confusion matrix"):
    """Rows = true class, columns = predicted class, each row normalised to sum to 1.

    Args:
        matrix: `(K, K)` clip counts (`results["confusion_matrix"]`).
        classes: the K class names.
        title: figure title.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = min(14.0, 2.5 + 0.3 * len(classes))
    fig = Figure(figsize=(size, size * 0.9), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    ticks = np.arange(len(classes))
    fontsize = 7 if len(classes) <= 20 else 5
    ax.set_xticks(ticks, classes, rotation=90, fontsize=fontsize)
    ax.set_yticks(ticks, classes, fontsize=fontsize)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(classes) <= 15:  # counts stay legible
        for (i, j), count in np.ndenumerate(counts.astype(int)):
            if count:
                ax.text(j, i, count, ha="center", va="center", fontsize=6,
                        color="white" if rates[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_title(f"{title} (accuracy {np.trace(counts) / max(counts.sum(), 1):.3f})")
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    return fig


def taggram_figure(taggram, tags, segment_seconds, top=None, title="Taggram"):
    """Time × tag image of segment-level scores (`Tagger.taggram`).

    Args:
        taggram: `(segments, tags)` scores.
        tags: tag names.
        segment_seconds: duration of one row.
        top: show only the `top` tags with the highest mean score (default: all).
        title: figure title.
    """
    taggram = np.asarray(taggram)
    rows = np.arange(len(tags))
    if top:
        rows = np.sort(np.argsort(-taggram.mean(axis=0))[:top])
    fig = Figure(figsize=(8, 0.22 * len(rows) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(
        taggram[:, rows].T,
        aspect="auto",
        origin="lower",
        cmap="Blues",
        vmin=0,
        vmax=1,
        extent=(0, len(taggram) * segment_seconds, -0.5, len(rows) - 0.5),
        interpolation="nearest",
    )
    ax.set_yticks(range(len(rows)), [tags[i] for i in rows], fontsize=7)
    ax.set_xlabel("time (s)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="score")
    return fig


def embedding_projection(features, labels, class_names=None, title=None):
    """The 2-D PCA projection of clip embeddings, one colour per class.

    Standardised features (each dimension to zero mean and unit variance, as the transfer
    classifiers see them) projected on their first two principal components (scikit-learn's
    `PCA`), e.g. the pretrained encoder's 256-d features of a genre dataset.

    Args:
        features: `(clips, dims)` embeddings.
        labels: `(clips,)` class indices, or `(clips, classes)` one-hot rows.
        class_names: names of the classes in index order (default "class i").
        title: figure title.

    Returns:
        `(figure, points)`: the `Figure` and the `(clips, 2)` projected coordinates.
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    if features.ndim != 2 or len(features) != len(labels) or len(features) < 3:
        raise ValueError(f"need (clips >= 3, dims) features and one label per clip, got {features.shape}, "
                         f"{labels.shape}")  # fmt: skip
    pca = PCA(n_components=2, random_state=0)
    points = pca.fit_transform(StandardScaler().fit_transform(features))
    classes = sorted(set(labels.tolist()))
    names = list(class_names) if class_names is not None else [f"class {c}" for c in range(max(classes) + 1)]
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    cmap = _qualitative_colours(len(classes))
    for position, cls in enumerate(classes):
        chosen = labels == cls
        ax.scatter(points[chosen, 0], points[chosen, 1], s=12, color=cmap(position), label=names[cls], alpha=0.8)
    variance = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC 1 ({variance[0]:.0%} of the variance)")
    ax.set_ylabel(f"PC 2 ({variance[1]:.0%})")
    ax.legend(fontsize=7, loc="best", markerscale=1.5)
    ax.set_title(title or "Embeddings, first two principal components")
    return fig, points


def _qualitative_colours(count):
    """A qualitative colormap with at least `count` distinct colours (tab10, or tab20 beyond 10)."""
    from matplotlib import colormaps

    return colormaps["tab10" if count <= 10 else "tab20"]
