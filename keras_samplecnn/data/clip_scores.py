"""Clip-level scores from segment predictions (NumPy only, no TensorFlow).

Shared by the tf.data pipeline (`pipeline.eval_dataset`) and the TensorFlow-free one
(`portable.eval_batches`), which both tag each segment with its clip index.
"""

import numpy as np

__all__ = ["average_by_clip"]


def average_by_clip(predictions, clip_index, num_clips=None):
    """Mean of the segment predictions of each clip (the papers' clip-level protocol).

    Args:
        predictions: `[segments, K]` segment scores (NumPy or anything array-like).
        clip_index: `[segments]` clip of each segment, as `eval_dataset` (or
            `portable.eval_batches`) yields it.
        num_clips: number of clips (default `max(clip_index) + 1`).

    Returns:
        float64 `[num_clips, K]`; row i averages the segments of clip i.

    Raises:
        ValueError: a clip in `0 .. num_clips - 1` has no segment (for example, predictions
            of only one of several `num_shards` parts: concatenate the parts first).
    """
    scores = np.asarray(predictions, dtype=np.float64)
    index = np.asarray(clip_index, dtype=np.int64).reshape(-1)
    if scores.ndim == 1:
        scores = scores[:, None]
    if len(index) != len(scores):
        raise ValueError(f"{len(scores)} predictions but {len(index)} clip indices")
    num_clips = int(index.max()) + 1 if num_clips is None else int(num_clips)
    counts = np.bincount(index, minlength=num_clips)
    if len(counts) > num_clips or np.any(counts == 0):
        raise ValueError(f"{int(np.sum(counts[:num_clips] == 0))} of {num_clips} clips have no segment")
    sums = np.zeros((num_clips, scores.shape[1]))
    np.add.at(sums, index, scores)
    return sums / counts[:, None]
