"""Multi-level feature aggregation: global max-pool of several blocks, concatenated."""

import keras
from keras import ops

from keras_samplecnn.layers.sample_conv import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class MultiLevelConcat(keras.layers.Layer):
    """Global max-pools each input over time and concatenates the results.

    Fed with the outputs of the last N blocks (N = 3 in the papers: 256 + 256 +
    512 = 1024 features for the 3^9 model), this is the multi-level
    aggregation of the ICASSP 2018 models. It has no weights.

    Args:
        **kwargs: base `Layer` arguments.

    Input: a list of tensors `(batch, time_i, channels_i)`. Output:
    `(batch, sum(channels_i))`.

    Example:
    >>> a, b = keras.random.normal((2, 9, 256)), keras.random.normal((2, 1, 512))
    >>> tuple(MultiLevelConcat()([a, b]).shape)
    (2, 768)

    References: Lee & Nam, "Multi-Level and Multi-Scale Feature Aggregation
    Using Pre-trained Convolutional Neural Networks for Music Auto-tagging",
    IEEE SPL 2017 (arXiv:1703.01793); Kim, Lee, Nam, ICASSP 2018
    (arXiv:1710.10451).
    """

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise ValueError("MultiLevelConcat expects a non-empty list of tensors")
        return ops.concatenate([ops.max(x, axis=1) for x in inputs], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = [shape[-1] for shape in input_shape]
        total = None if any(c is None for c in channels) else sum(channels)
        return (input_shape[0][0], total)
