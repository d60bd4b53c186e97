"""The sample-level convolution block and the strided stem."""

import keras

from keras_samplecnn.layers.batch_norm import BatchNorm
from keras_samplecnn.layers.conv1d import Conv1D
from keras_samplecnn.layers.initializers import get as get_initializer

PACKAGE = "keras_samplecnn"


@keras.saving.register_keras_serializable(package=PACKAGE)
class SampleConv(keras.layers.Layer):
    """Conv1D → BatchNorm → ReLU → optional MaxPool: the sample-level block.

    With the defaults this is one block of the m^n-DCNN: a convolution with a
    small kernel (m = 3) at stride 1 and "same" padding, batch normalisation,
    ReLU, then max-pooling by m so each block divides the time axis by m.
    `SampleConv.stem(filters, size)` gives the strided first layer instead
    (kernel = stride = size, "valid" padding, no pooling).

    Args:
        filters: number of output channels.
        kernel_size: convolution length (m in the paper).
        strides: convolution stride (1 for blocks, = kernel for the stem).
        padding: `"same"` or `"valid"`.
        pool_size: max-pooling length after the ReLU; `None` or 1 for no pooling.
        kernel_initializer: initialiser of the convolution: any Keras initializer, or
            `"taejun_uniform"` (`TaejunUniform`, the JSTSP 2019 code's). Default He
            uniform, as in the SMC 2017 / ICASSP 2018 code.
        kernel_regularizer: optional regulariser of the convolution kernel (L2
            1e-5 in the ISMIR 2018 artist model).
        batch_norm: False for Conv1D (with a bias) → ReLU → MaxPool, no BatchNorm (the
            audio branch of the DCUE model, DLRS 2018).
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Input shape: `(batch, time, channels)`. Output shape:
    `(batch, time // pool_size, filters)` for the block (time // strides for
    the stem).

    Example:
    >>> x = keras.random.normal((2, 243, 1))
    >>> tuple(SampleConv(128)(x).shape)
    (2, 81, 128)

    Reference: Lee, Park, Kim, Nam, "Sample-level Deep Convolutional Neural
    Networks for Music Auto-tagging Using Raw Waveforms", SMC 2017
    (arXiv:1703.01789).
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        padding="same",
        pool_size=3,
        kernel_initializer="he_uniform",
        kernel_regularizer=None,
        batch_norm=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if pool_size is not None and pool_size < 1:
            raise ValueError(f"pool_size must be >= 1 or None, got {pool_size}")
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.pool_size = pool_size
        self.kernel_initializer = get_initializer(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.batch_norm = bool(batch_norm)

        # Sublayers share the parent's dtype policy so mixed precision reaches them.
        self.conv = Conv1D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            use_bias=not batch_norm,  # a bias before BatchNorm would be cancelled by its mean
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name="conv",
        )
        self.bn = BatchNorm(dtype=self.dtype_policy, name="bn") if batch_norm else None
        self.relu = keras.layers.ReLU(dtype=self.dtype_policy, name="relu")
        self.pool = None
        if pool_size and pool_size > 1:
            self.pool = keras.layers.MaxPooling1D(pool_size, dtype=self.dtype_policy, name="pool")

    @classmethod
    def stem(cls, filters, size, **kwargs):
        """The strided first layer: kernel = stride = `size`, valid padding, no pooling."""
        return cls(filters, kernel_size=size, strides=size, padding="valid", pool_size=None, **kwargs)

    def build(self, input_shape):
        self.conv.build(input_shape)
        if self.bn is not None:
            self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, inputs, training=None):
        x = self.conv(inputs)
        x = self.bn(x, training=training) if self.bn is not None else x
        # ReLU after the pooling: max and ReLU commute (same outputs and gradients), and
        # the ReLU then runs on a third of the samples.
        x = self.pool(x) if self.pool is not None else x
        return self.relu(x)

    def compute_output_shape(self, input_shape):
        shape = self.conv.compute_output_shape(input_shape)
        if self.pool is not None:
            shape = self.pool.compute_output_shape(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            pool_size=self.pool_size,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
            batch_norm=self.batch_norm,
        )
        return config
