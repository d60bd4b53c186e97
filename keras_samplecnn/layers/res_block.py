"""Residual sample-level blocks (Res-1/Res-2) and their SE variants (ReSE-1/ReSE-2)."""

import keras

from keras_samplecnn.layers.batch_norm import BatchNorm
from keras_samplecnn.layers.conv1d import Conv1D
from keras_samplecnn.layers.initializers import get as get_initializer
from keras_samplecnn.layers.dropout import relu_dropout
from keras_samplecnn.layers.sample_conv import PACKAGE
from keras_samplecnn.layers.se_block import SEBlock


@keras.saving.register_keras_serializable(package=PACKAGE)
class ResBlock(keras.layers.Layer):
    """A residual sample-level block, optionally with squeeze-and-excitation (ReSE).

    Main path with `num_convs=2` (Res-2 / ReSE-2):
    Conv(k) → BN → ReLU → Dropout → Conv(k) → BN [→ SE];
    with `num_convs=1` (Res-1 / ReSE-1): Conv(k) → BN [→ SE].
    Shortcut: identity, or Conv(1×1) → BN when the number of channels changes.
    Then Add → ReLU → MaxPool(pool_size).

    Args:
        filters: number of output channels.
        num_convs: 1 or 2 convolutions on the main path.
        se_ratio: `None` for a plain residual block; else the SE hidden-width
            ratio (see `SEBlock`), which makes this a ReSE block.
        dropout: dropout rate between the two convolutions (0.2 in the paper).
        kernel_size: convolution length (3).
        pool_size: max-pooling length at the end (3); `None` or 1 for none.
        kernel_initializer: initialiser of the main-path convolutions (He uniform;
            `"taejun_uniform"` for the JSTSP 2019 code's, see `TaejunUniform`).
        shortcut_initializer: initialiser of the 1×1 shortcut convolution (Glorot
            uniform, as `rese_block` in tae-jun/resemul `model.py` and in
            tae-jun/sampleaudio @30bd5ed `lib/model.py`).
        kernel_regularizer: optional regulariser of every convolution kernel of the
            block, main path and shortcut (the JSTSP 2019 code gives all three
            `l2(cfg.weight_decay)`, tae-jun/sampleaudio @30bd5ed `lib/model.py`); default none.
        **kwargs: base `Layer` arguments.

    Input shape: `(batch, time, channels)`; output: `(batch, time // pool_size,
    filters)`.

    Example:
    >>> x = keras.random.normal((2, 81, 128))
    >>> tuple(ResBlock(256, se_ratio=0.5)(x).shape)
    (2, 27, 256)

    Reference: Kim, Lee, Nam, "Sample-level CNN Architectures for Music
    Auto-tagging Using Raw Waveforms", ICASSP 2018 (arXiv:1710.10451), and
    Kim, Lee, Nam, "Comparison and Analysis of SampleCNN Architectures for
    Audio Classification", IEEE JSTSP 2019 (Res-1/ReSE-1).
    """

    def __init__(
        self,
        filters,
        num_convs=2,
        se_ratio=None,
        dropout=0.2,
        kernel_size=3,
        pool_size=3,
        kernel_initializer="he_uniform",
        shortcut_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_convs not in (1, 2):
            raise ValueError(f"num_convs must be 1 or 2, got {num_convs}")
        self.filters = filters
        self.num_convs = num_convs
        self.se_ratio = se_ratio
        self.dropout = dropout
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.kernel_initializer = get_initializer(kernel_initializer)
        self.shortcut_initializer = get_initializer(shortcut_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

        policy = self.dtype_policy
        self.conv1 = self._conv(kernel_size, "conv1")
        self.bn1 = BatchNorm(dtype=policy, name="bn1")
        self.conv2 = self.bn2 = self.drop = None
        if num_convs == 2:
            self.relu1 = keras.layers.ReLU(dtype=policy, name="relu1")
            self.drop = keras.layers.Dropout(dropout, dtype=policy, name="dropout")
            self.conv2 = self._conv(kernel_size, "conv2")
            self.bn2 = BatchNorm(dtype=policy, name="bn2")
        self.se = SEBlock(se_ratio, dtype=policy, name="se") if se_ratio else None
        self.shortcut_conv = self.shortcut_bn = None  # made in build() if widths differ
        self.add = keras.layers.Add(dtype=policy, name="add")
        self.relu = keras.layers.ReLU(dtype=policy, name="relu")
        self.pool = None
        if pool_size and pool_size > 1:
            self.pool = keras.layers.MaxPooling1D(pool_size, dtype=policy, name="pool")

    def _conv(self, size, name, initializer=None):
        # A fresh initializer per convolution: a Keras 3 initializer returns the same values for
        # the same shape on every call, so conv1 and conv2 of a block as wide as its input would
        # start identical; the authors' code draws each kernel anew. (An explicit int seed
        # still gives both the same values, as asked.)
        initializer = initializer or self.kernel_initializer
        initializer = initializer.__class__.from_config(initializer.get_config())
        return Conv1D(
            self.filters,
            size,
            padding="same",
            use_bias=False,  # BatchNorm follows: a bias would be cancelled by its mean
            kernel_initializer=initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        main_shape = (*input_shape[:-1], self.filters)
        self.conv1.build(input_shape)
        self.bn1.build(main_shape)
        if self.conv2 is not None:
            self.conv2.build(main_shape)
            self.bn2.build(main_shape)
        if self.se is not None:
            self.se.build(main_shape)
        if input_shape[-1] != self.filters:
            self.shortcut_conv = self._conv(1, "shortcut_conv", self.shortcut_initializer)
            self.shortcut_bn = BatchNorm(dtype=self.dtype_policy, name="shortcut_bn")
            self.shortcut_conv.build(input_shape)
            self.shortcut_bn.build(main_shape)

    def _main_path(self, inputs, training=None):
        x = self.bn1(self.conv1(inputs), training=training)
        if self.conv2 is not None:
            x = relu_dropout(x, self.relu1, self.drop, training=training)
            x = self.bn2(self.conv2(x), training=training)
        return x

    def excitation(self, inputs):
        """The SE gate of a ReSE block for `inputs` (inference mode), `(batch, filters)`."""
        if self.se is None:
            raise ValueError(f"{self.name} has no squeeze-and-excitation (se_ratio=None)")
        return self.se.excitation(self._main_path(inputs, training=False))

    def call(self, inputs, training=None):
        x = self._main_path(inputs, training=training)
        if self.se is not None:
            x = self.se(x)
        shortcut = inputs
        if self.shortcut_conv is not None:
            shortcut = self.shortcut_bn(self.shortcut_conv(inputs), training=training)
        x = self.add([x, shortcut])
        x = self.pool(x) if self.pool is not None else x
        return self.relu(x)  # after the pooling: they commute, and a third of the work

    def compute_output_shape(self, input_shape):
        shape = (*input_shape[:-1], self.filters)
        if self.pool is not None:
            shape = self.pool.compute_output_shape(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            num_convs=self.num_convs,
            se_ratio=self.se_ratio,
            dropout=self.dropout,
            kernel_size=self.kernel_size,
            pool_size=self.pool_size,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            shortcut_initializer=keras.initializers.serialize(self.shortcut_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
        )
        return config
