"""Squeeze-and-excitation gates per block and per tag (ICASSP 2018, section 4.3).

The paper averages each SE block's excitation over the clips of a tag: in the first
blocks all tags excite the channels alike (the gate tracks loudness), in the last blocks
the pattern becomes tag-specific.
"""

import numpy as np
from matplotlib.figure import Figure

import keras

from keras_samplecnn.layers import ResBlock, SEBlock


def se_blocks(model):
    """`[(block name, layer with .excitation, name of the layer feeding it)]` in depth order."""
    found = []
    names = [layer.name for layer in model.layers]
    for i, layer in enumerate(model.layers):
        if isinstance(layer, SEBlock):  # "se" model: SEBlock after a basic block
            found.append((layer.name.removesuffix("_se"), layer, names[i - 1]))
        elif isinstance(layer, ResBlock) and layer.se is not None:  # ReSE: SE inside the block
            found.append((layer.name, layer, names[i - 1]))
    if not found:
        raise ValueError(
            f"{model.name!r} has no squeeze-and-excitation blocks (use an 'se', 'rese' or 'resse' model)"
        )
    return found


def excitations(model, segments, labels=None, tags=None, batch_size=16):
    """Average SE excitation per block, overall and per tag.

    Args:
        model: a `SampleCNN` with SE or ReSE blocks.
        segments: `(segments, input_length)` waveforms, or an iterable of such batches, or
            a `tf.data` dataset yielding `(audio, labels[, ...])`.
        labels: `(segments, tags)` multi-hot labels for `segments` when it is an array
            (taken from the dataset otherwise); without labels only the overall mean is given.
        tags: tag names (default: `model.tags`).
        batch_size: segments per forward pass when `segments` is an array.

    Returns:
        dict `{block: {"mean": (channels,), "per_tag": (tags, channels) or None}}` plus
        `"tags"`.
    """
    blocks = se_blocks(model)
    feeds = keras.Model(model.input, [model.get_layer(feed).output for _, _, feed in blocks])
    sums = [0.0] * len(blocks)
    tag_sums = [0.0] * len(blocks)
    count, tag_counts = 0, 0.0
    for audio, label in _batches(segments, labels, batch_size):
        inputs = feeds(audio, training=False)
        inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        for b, ((_, layer, _), x) in enumerate(zip(blocks, inputs)):
            gate = keras.ops.convert_to_numpy(keras.ops.cast(layer.excitation(x), "float32"))
            sums[b] = sums[b] + gate.sum(axis=0)
            if label is not None:
                tag_sums[b] = tag_sums[b] + label.T @ gate
        count += len(audio)
        if label is not None:
            tag_counts = tag_counts + label.sum(axis=0)
    has_tags = not np.isscalar(tag_counts)
    result = {"tags": list(tags or model.tags or [])}
    for b, (name, _, _) in enumerate(blocks):
        per_tag = None
        if has_tags:
            per_tag = tag_sums[b] / np.maximum(tag_counts, 1)[:, None]
        result[name] = {"mean": sums[b] / max(count, 1), "per_tag": per_tag}
    return result


def _batches(segments, labels, batch_size):
    if isinstance(segments, np.ndarray):
        for start in range(0, len(segments), batch_size):
            label = (
                None if labels is None else np.asarray(labels[start : start + batch_size], dtype=np.float32)
            )
            yield segments[start : start + batch_size], label
        return
    if hasattr(segments, "as_numpy_iterator"):
        segments = segments.as_numpy_iterator()
    for item in segments:
        if isinstance(item, (tuple, list)):
            yield np.asarray(item[0]), np.asarray(item[1], dtype=np.float32)
        else:
            yield np.asarray(item), None


def excitation_figure(result, tags=None, blocks=None):
    """One panel per block: tags (rows) × channels (columns, in the order of the first tag).

    Args:
        result: the dict from `excitations` (with per-tag means).
        tags: tag names to show (default: up to 8 of the result's tags).
        blocks: block names to show (default: all).
    """
    blocks = blocks or [k for k in result if k != "tags"]
    names = result["tags"]
    tags = tags or names[:8]
    rows = [names.index(t) for t in tags]
    fig = Figure(figsize=(3.2 * len(blocks), 0.35 * len(tags) + 1.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(blocks), sharey=True))
    for ax, block in zip(axes, blocks):
        per_tag = result[block]["per_tag"]
        if per_tag is None:
            raise ValueError("excitation_figure needs per-tag excitations: pass labels to excitations()")
        data = per_tag[rows]
        order = np.argsort(-data[0])
        image = ax.imshow(
            data[:, order], aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest"
        )
        ax.set_title(block)
        ax.set_xlabel("channel")
    axes[0].set_yticks(range(len(tags)), tags)
    fig.colorbar(image, ax=axes.tolist(), label="mean excitation")
    return fig
