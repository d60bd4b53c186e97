"""The m^n sample-level CNN backbone + tagging head, for every block type of the papers."""

import keras

from keras_samplecnn.layers import (
    LogMelSpectrogram,
    MultiLevelConcat,
    ResBlock,
    SampleConv,
    SEBlock,
)
from keras_samplecnn.layers.sample_conv import PACKAGE

# block name -> (residual?, convs on the main path, squeeze-and-excitation?)
BLOCKS = {
    "basic": (False, 1, False),
    "se": (False, 1, True),
    "res1": (True, 1, False),
    "res2": (True, 2, False),
    "rese1": (True, 1, True),
    "rese2": (True, 2, True),
}
FRONTENDS = ("waveform", "mel")


def default_filters(n):
    """Widths of the n blocks: 128, 128, then 256, and 512 for the last block.

    For n = 9 this is the 3^9 model of the papers (128, 128, 256 ×6, 512); the
    JSTSP 2019 code uses the same rule for its 8-block speech/scene models.
    """
    return [128 if i < 2 else 512 if i == n - 1 else 256 for i in range(n)]


def input_geometry(m=3, n=9, input_length=None, stem_size=None):
    """`(input_length, stem_size)` with the defaults `SampleCNN` applies.

    `input_length` defaults to `stem_size * m**n` (59049 for 3^9), `stem_size` to
    `max(m, input_length // m**n)`, so each row of the SMC 2017 table is just (m, n, length).
    """
    if input_length is None:
        input_length = (stem_size or m) * m**n
    if stem_size is None:
        stem_size = max(m, input_length // m**n)
    return input_length, stem_size


def output_frames(input_length, m, n, stem_size, frontend="waveform"):
    """Length of the time axis after the stem (or mel frames) and n poolings by m."""
    frames = input_length // stem_size
    if frontend == "mel":
        frames += 1  # centred STFT frames
    for _ in range(n):
        frames //= m
    return frames


@keras.saving.register_keras_serializable(package=PACKAGE)
class SampleCNN(keras.Model):
    """Sample-level CNN (m^n-DCNN) with basic, SE, Res or ReSE blocks and a tagging head.

    Waveform `(batch, input_length)` → [standardisation] → stem → n blocks → features → head:
    - standardisation (when `input_mean`/`input_std` are given): `(x - mean) / std`
      with the training set's statistics, as the JSTSP 2019 code does to every segment
      (tae-jun/sampleaudio `lib/data/batch.py`); inside the model, so a saved model
      takes raw audio.
    - stem: `SampleConv.stem(stem_filters, stem_size)`, a strided convolution
      with kernel = stride = `stem_size` (default `input_length // m**n`, so
      the 3^9 model with 59049 samples gets the paper's 3-sample stem and
      the 3^4 model a 729-sample "frame-level" stem); with
      `frontend="mel"` a `LogMelSpectrogram` with hop `stem_size` and a 1×1
      SampleConv instead.
    - blocks: n blocks of kernel m that each max-pool by m (`block`: "basic",
      "se", "res1", "res2", "rese1", "rese2").
    - features: the last block, globally max-pooled (its time axis is 1 for
      the papers' configurations, so this equals the paper's flattening), or
      with `multi_level=True` the max-pooled outputs of the last
      `num_levels` blocks concatenated (`MultiLevelConcat`).
    - head: Dense(head_units) → BN → ReLU → Dropout(dropout) →
      Dense(num_classes, activation) in float32. The hidden width defaults to
      the width of the features, as the authors' `Dense(x.shape[-1])`
      (tae-jun/resemul `model.py`): 512 for the 3^9 model, 1024 with
      multi-level aggregation. With the time axis at 1 the first Dense is the
      1×1 convolution of the SMC 2017 model (jongpillee/sampleCNN).

    Initialisers follow the authors' code: He uniform for the convolutions,
    Glorot uniform for the 1×1 shortcut convolutions, the SE and the head's
    dense layers (tae-jun/resemul `model.py`; jongpillee/sampleCNN uses He
    uniform convolutions and Keras' default Glorot uniform output layer).

    Args:
        num_classes: number of outputs (50 MTAT tags). Defaults to `len(tags)`
            when `tags` is given.
        m: kernel and pooling size of the blocks.
        n: number of blocks.
        input_length: samples per input segment; default `m**(n+1)` (59049
            for 3^9).
        stem_size: stem kernel = stride (or mel hop); default
            `max(m, input_length // m**n)`.
        sample_rate: sample rate the model expects (metadata; and the mel
            front end's rate).
        block: block type, one of `BLOCKS`.
        multi_level: aggregate the last `num_levels` blocks.
        num_levels: blocks in the multi-level aggregation (3 in the papers).
        stem_filters: channels of the stem.
        filters: list of n block widths; default `default_filters(n)`.
        se_ratio: SE hidden-width ratio for "se"/"rese" blocks (16 in the
            ICASSP 2018 code).
        block_dropout: dropout inside Res-2/ReSE-2 blocks (0.2).
        head_units: width of the hidden dense layer; default (None) the width
            of the features it sees.
        dropout: dropout before the output layer (0.5).
        activation: output activation, "sigmoid" (multi-label) or "softmax".
        frontend: "waveform" or "mel".
        fft_length, num_mel_bins: mel front-end settings.
        input_mean, input_std: standardise the waveform by these (the training
            set's mean and standard deviation); default no standardisation.
        tags: optional list of class names, saved with the model.
        **kwargs: `name`, `dtype` (a dtype policy such as "mixed_bfloat16"),
            and other `keras.Model` arguments.

    Example:
    >>> model = SampleCNN(num_classes=50, block="rese2", multi_level=True)
    >>> model(keras.ops.zeros((1, 59049))).shape
    (1, 50)

    References: Lee et al., SMC 2017 (arXiv:1703.01789); Kim, Lee, Nam, ICASSP
    2018 (arXiv:1710.10451); Kim, Lee, Nam, IEEE JSTSP 2019 (Res-1/ReSE-1).
    """

    def __init__(
        self,
        num_classes=None,
        m=3,
        n=9,
        input_length=None,
        stem_size=None,
        sample_rate=22050,
        block="basic",
        multi_level=False,
        num_levels=3,
        stem_filters=128,
        filters=None,
        se_ratio=16,
        block_dropout=0.2,
        head_units=None,
        dropout=0.5,
        activation="sigmoid",
        frontend="waveform",
        fft_length=2048,
        num_mel_bins=128,
        tags=None,
        input_mean=0.0,
        input_std=1.0,
        **kwargs,
    ):
        if num_classes is None:
            num_classes = len(tags) if tags else 50
        if tags is not None:
            tags = [str(t) for t in tags]
            if len(tags) != num_classes:
                raise ValueError(f"got {len(tags)} tags for num_classes={num_classes}")
        if block not in BLOCKS:
            raise ValueError(f"unknown block {block!r}; choose one of {sorted(BLOCKS)}")
        if frontend not in FRONTENDS:
            raise ValueError(f"unknown frontend {frontend!r}; choose one of {list(FRONTENDS)}")
        if int(m) != m or m < 2 or int(n) != n or n < 1:
            raise ValueError(f"need integers m >= 2 and n >= 1, got m={m}, n={n}")
        input_length, stem_size = input_geometry(m, n, input_length, stem_size)
        frames = output_frames(input_length, m, n, stem_size, frontend)
        if frames < 1:
            fits = 0  # the most blocks this length allows (integer arithmetic, no log rounding)
            while output_frames(input_length, m, fits + 1, stem_size, frontend) >= 1:
                fits += 1
            raise ValueError(
                f"input_length={input_length} is too short for a stem of {stem_size} and "
                f"{n} poolings by {m}: it needs at least {stem_size * m**n} samples "
                f"(or fewer blocks: n <= {fits})"
            )
        filters = list(filters) if filters is not None else default_filters(n)
        if len(filters) != n:
            raise ValueError(f"filters must list one width per block: {n} values, got {len(filters)}")
        if multi_level and not 1 <= num_levels <= n:
            raise ValueError(f"num_levels must be between 1 and n={n}, got {num_levels}")
        if not input_std > 0:
            raise ValueError(f"input_std must be positive, got {input_std}")
        if activation not in ("sigmoid", "softmax"):
            raise ValueError(f"activation must be 'sigmoid' or 'softmax', got {activation!r}")

        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = keras.dtype_policies.deserialize(dtype)
        residual, num_convs, use_se = BLOCKS[block]

        # Functional graph built inside the subclass, as keras-hub backbones do.
        waveform = keras.Input((input_length,), name="waveform")
        x = waveform
        if input_mean != 0.0 or input_std != 1.0:
            x = keras.layers.Rescaling(
                1.0 / input_std, offset=-input_mean / input_std, dtype=dtype, name="standardize"
            )(x)
        if frontend == "mel":
            x = LogMelSpectrogram(
                sample_rate=sample_rate,
                fft_length=fft_length,
                hop_length=stem_size,
                num_mel_bins=num_mel_bins,
                dtype=dtype,
                name="mel",
            )(x)
            x = keras.layers.BatchNormalization(dtype=dtype, name="mel_norm")(x)
            x = SampleConv(stem_filters, kernel_size=1, pool_size=None, dtype=dtype, name="stem")(x)
        else:
            x = keras.layers.Reshape((input_length, 1), dtype=dtype, name="add_channel")(x)
            x = SampleConv.stem(stem_filters, stem_size, dtype=dtype, name="stem")(x)

        block_outputs = []
        for i, width in enumerate(filters, start=1):
            name = f"block{i}"
            if residual:
                x = ResBlock(
                    width,
                    num_convs=num_convs,
                    se_ratio=se_ratio if use_se else None,
                    dropout=block_dropout,
                    kernel_size=m,
                    pool_size=m,
                    dtype=dtype,
                    name=name,
                )(x)
            else:
                x = SampleConv(width, kernel_size=m, pool_size=m, dtype=dtype, name=name)(x)
                if use_se:
                    x = SEBlock(se_ratio, dtype=dtype, name=f"{name}_se")(x)
            block_outputs.append(x)

        if multi_level:
            features = MultiLevelConcat(dtype=dtype, name="multi_level")(block_outputs[-num_levels:])
        else:
            features = keras.layers.GlobalMaxPooling1D(dtype=dtype, name="features")(x)
        # No bias: the BatchNorm after it cancels one.
        x = keras.layers.Dense(
            head_units or features.shape[-1],
            use_bias=False,
            kernel_initializer="glorot_uniform",
            dtype=dtype,
            name="head_dense",
        )(features)
        x = keras.layers.BatchNormalization(dtype=dtype, name="head_bn")(x)
        x = keras.layers.ReLU(dtype=dtype, name="head_relu")(x)
        x = keras.layers.Dropout(dropout, dtype=dtype, name="head_dropout")(x)
        # The output stays float32 under mixed precision for a stable loss.
        outputs = keras.layers.Dense(num_classes, activation=activation, dtype="float32", name="predictions")(
            x
        )
        super().__init__(inputs=waveform, outputs=outputs, **kwargs)

        self.policy = None if dtype is None else keras.dtype_policies.get(dtype)
        self.num_classes = num_classes
        self.m = m
        self.n = n
        self.input_length = input_length
        self.stem_size = stem_size
        self.sample_rate = sample_rate
        self.block = block
        self.multi_level = multi_level
        self.num_levels = num_levels
        self.stem_filters = stem_filters
        self.filters = filters
        self.se_ratio = se_ratio
        self.block_dropout = block_dropout
        self.head_units = head_units
        self.dropout = dropout
        self.activation = activation
        self.frontend = frontend
        self.fft_length = fft_length
        self.num_mel_bins = num_mel_bins
        self.tags = tags
        self.input_mean = float(input_mean)
        self.input_std = float(input_std)

    @property
    def feature_layer_name(self):
        """Name of the layer whose output is the clip embedding (before the head)."""
        return "multi_level" if self.multi_level else "features"

    def get_config(self):
        # Constructor arguments only: the graph is rebuilt from them.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": None if self.policy is None else keras.dtype_policies.serialize(self.policy),
            "num_classes": self.num_classes,
            "m": self.m,
            "n": self.n,
            "input_length": self.input_length,
            "stem_size": self.stem_size,
            "sample_rate": self.sample_rate,
            "block": self.block,
            "multi_level": self.multi_level,
            "num_levels": self.num_levels,
            "stem_filters": self.stem_filters,
            "filters": list(self.filters),
            "se_ratio": self.se_ratio,
            "block_dropout": self.block_dropout,
            "head_units": self.head_units,
            "dropout": self.dropout,
            "activation": self.activation,
            "frontend": self.frontend,
            "fft_length": self.fft_length,
            "num_mel_bins": self.num_mel_bins,
            "tags": self.tags,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
