"""Squeeze-and-excitation for 1-D feature maps."""

import keras
from keras import ops

from keras_samplecnn.layers.sample_conv import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class SEBlock(keras.layers.Layer):
    """Squeeze-and-excitation: re-weights channels by a gate computed from their means.

    Global average over time → Dense(round(C·ratio), ReLU) → Dense(C, sigmoid)
    → multiply the input channel-wise by that excitation.

    Unlike image SENets, which *reduce* the hidden width, the ICASSP 2018 code
    *amplifies* it: `ratio=16` turns 128 channels into 2048 hidden units (and
    dominates the model's parameter count). The later JSTSP 2019 code uses
    `ratio=0.125`; Won et al. (2020) use 1. The ratio is therefore a parameter.

    Args:
        ratio: hidden width as a multiple of the number of channels.
        kernel_initializer: initialiser of both dense layers (Glorot uniform, as
            `se_fn` in tae-jun/resemul `model.py`).
        **kwargs: base `Layer` arguments.

    Input shape: `(batch, time, channels)`; output: the same shape.
    `excitation(inputs)` returns the `(batch, channels)` gate alone, for the
    per-tag excitation analysis of the paper.

    Example:
    >>> x = keras.random.normal((2, 81, 128))
    >>> tuple(SEBlock(ratio=0.5)(x).shape)
    (2, 81, 128)

    Reference: Kim, Lee, Nam, "Sample-level CNN Architectures for Music
    Auto-tagging Using Raw Waveforms", ICASSP 2018 (arXiv:1710.10451).
    """

    def __init__(self, ratio=16, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if ratio <= 0:
            raise ValueError(f"SE ratio must be > 0, got {ratio}")
        self.ratio = ratio
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.squeeze = keras.layers.GlobalAveragePooling1D(dtype=self.dtype_policy, name="squeeze")
        self.hidden = None
        self.gate = None

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("SEBlock needs a known number of channels")
        units = max(1, round(channels * self.ratio))
        self.hidden = keras.layers.Dense(
            units,
            activation="relu",
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="hidden",
        )
        self.gate = keras.layers.Dense(
            channels,
            activation="sigmoid",
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="gate",
        )
        self.hidden.build((input_shape[0], channels))
        self.gate.build((input_shape[0], units))

    def excitation(self, inputs):
        """The per-channel gate in (0, 1), shape `(batch, channels)`."""
        return self.gate(self.hidden(self.squeeze(inputs)))

    def call(self, inputs):
        return inputs * ops.expand_dims(self.excitation(inputs), axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            ratio=self.ratio,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
