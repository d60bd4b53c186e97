"""The m^n sample-level CNN backbone + tagging head, for every block type of the papers."""

import keras

from keras_samplecnn.layers import MultiLevelConcat
from keras_samplecnn.layers.mel import LEGACY_MODEL_FRONTEND
from keras_samplecnn.layers.sample_conv import PACKAGE
from keras_samplecnn.models.backbone import (  # noqa: F401  (re-exported: their historical home)
    BLOCKS,
    FRONTENDS,
    SampleCNNBackbone,
    backbone_graph,
    backbone_structure,
    block_output_name,
    conv_weight_arguments,
    default_filters,
    input_geometry,
    output_frames,
)


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
      SampleConv instead (or none: `stem_filters=0`).
    - blocks: n blocks of kernel m that each max-pool by m, or by `pool_sizes[k]` (`block`: "basic",
      "se", "res1", "res2", "rese1", "rese2"). Standardisation, stem and blocks are
      `SampleCNNBackbone`'s graph (built by the same function, with the same layer
      names); `model.backbone` gives them as a backbone sharing this model's weights.
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

    Initialisers: by default He uniform for the convolutions, Glorot uniform for
    the 1×1 shortcut convolutions, the SE and the head's dense layers, as the
    ICASSP 2018 code (tae-jun/resemul `model.py`; jongpillee/sampleCNN uses He
    uniform convolutions and Keras' default Glorot uniform output layer). The
    JSTSP 2019 code (tae-jun/sampleaudio @30bd5ed, `lib/model.py`) instead gives
    the block convolutions `taejun_uniform()` and the first convolution
    `taejun_uniform(scale=1.)` (`TaejunUniform`, with its `lib/initialization.py`
    fan-in k·C_in²): `kernel_initializer="taejun_uniform"`,
    `stem_initializer={"class_name": "taejun_uniform", "config": {"scale": 1.0}}`,
    as `keras_samplecnn/experiments/configs/jstsp_base.yaml` sets them.

    Args:
        num_classes: number of outputs (50 MTAT tags). Defaults to `len(tags)`
            when `tags` is given.
        m: kernel size of the blocks, and their pooling length unless
            `pool_sizes` is given.
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
        stem_filters: channels of the stem; 0 with the mel front end for
            none (the first block reads the mel bands).
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
        pool_sizes: pooling length of each block when they differ (the SPL
            2017 mel extractors: 2, 3, 3 on 18 frames); default m for all.
        mel_scale, mel_norm, mel_power: the mel front end's `mel_scale`,
            `norm` and `power` (`LogMelSpectrogram`; `mel_norm` is the
            filterbank's normalisation, not the `mel_norm` BatchNorm layer).
            Default: Slaney scale, area-normalised triangles, magnitude STFT,
            the front end of the same lab's mel models (ISMIR 2018, DLRS 2018).
        tags: optional list of class names, saved with the model.
        kernel_initializer: initialiser of the block convolutions (not the 1×1
            shortcuts nor the SE and dense layers): a Keras initializer name,
            config or object, or `"taejun_uniform"` (`TaejunUniform`). Default He
            uniform.
        stem_initializer: initialiser of the stem; default (None)
            `kernel_initializer`.
        kernel_regularizer: regulariser of the stem's and every block's
            convolution kernels, shortcuts included, not of the SE and dense
            layers: where the JSTSP 2019 code puts its `l2(weight_decay)`
            (tae-jun/sampleaudio @30bd5ed `lib/model.py`). E.g.
            `{"class_name": "L2", "config": {"l2": 1e-4}}`; default none.
        **kwargs: `name`, `dtype` (a dtype policy such as "mixed_bfloat16"),
            and other `keras.Model` arguments.

    Example:
    >>> model = SampleCNN(num_classes=50, block="rese2", multi_level=True)
    >>> tuple(model(keras.ops.zeros((1, 59049))).shape)
    (1, 50)

    References: Lee et al., SMC 2017 (arXiv:1703.01789); Kim, Lee, Nam, ICASSP
    2018 (arXiv:1710.10451); Kim, Lee, Nam, IEEE JSTSP 2019 (Res-1/ReSE-1);
    Lee & Nam, IEEE SPL 2017 (arXiv:1703.01793) for the mel extractors.
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
        pool_sizes=None,
        mel_scale="slaney",
        mel_norm="slaney",
        mel_power=1.0,
        kernel_initializer="he_uniform",
        stem_initializer=None,
        kernel_regularizer=None,
        **kwargs,
    ):
        if num_classes is None:
            num_classes = len(tags) if tags else 50
        if tags is not None:
            tags = [str(t) for t in tags]
            if len(tags) != num_classes:
                raise ValueError(f"got {len(tags)} tags for num_classes={num_classes}")
        input_length, stem_size, filters = backbone_structure(
            m, n, input_length, stem_size, block, frontend, filters, input_std, pool_sizes, stem_filters
        )
        if multi_level and not 1 <= num_levels <= n:
            raise ValueError(f"num_levels must be between 1 and n={n}, got {num_levels}")
        if activation not in ("sigmoid", "softmax"):
            raise ValueError(f"activation must be 'sigmoid' or 'softmax', got {activation!r}")

        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = keras.dtype_policies.deserialize(dtype)
        conv_weights = conv_weight_arguments(kernel_initializer, stem_initializer, kernel_regularizer)

        # Functional graph built inside the subclass, as keras-hub backbones do. The stem and
        # blocks come from the function `SampleCNNBackbone` uses, so the two share layer names
        # and weights layout; the backbone is not nested as a sub-model, which would move every
        # layer under a new name and break the `.keras` files saved before the split.
        waveform = keras.Input((input_length,), name="waveform")
        block_outputs = backbone_graph(
            waveform,
            m=m,
            stem_size=stem_size,
            sample_rate=sample_rate,
            block=block,
            stem_filters=stem_filters,
            filters=filters,
            pool_sizes=pool_sizes,
            se_ratio=se_ratio,
            block_dropout=block_dropout,
            frontend=frontend,
            fft_length=fft_length,
            num_mel_bins=num_mel_bins,
            input_mean=input_mean,
            input_std=input_std,
            dtype=dtype,
            mel_scale=mel_scale,
            mel_norm=mel_norm,
            mel_power=mel_power,
            **conv_weights,
        )
        x = block_outputs[-1]

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
        self.pool_sizes = None if pool_sizes is None else [int(p) for p in pool_sizes]
        self.mel_scale, self.mel_norm, self.mel_power = mel_scale, mel_norm, mel_power
        self.kernel_initializer = conv_weights["kernel_initializer"]
        self.stem_initializer = conv_weights["stem_initializer"]
        self.kernel_regularizer = conv_weights["kernel_regularizer"]

    @property
    def block_names(self):
        """`["block1", ..., "blockN"]`: the keys of `backbone`'s outputs."""
        return [f"block{i}" for i in range(1, self.n + 1)]

    @property
    def backbone(self):
        """The stem and blocks as a `SampleCNNBackbone` that shares this model's layers.

        Its output is `{"block1": ..., "blockN": ...}`, every block's output, for transfer
        (e.g. `model.backbone(audio)["block7"]`). A new view is made on each access and
        none is stored on the model: an attribute holding a model would be tracked as a
        sublayer and change the `.keras` layout.
        """
        return SampleCNNBackbone.sharing_layers_of(self)

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
            "pool_sizes": self.pool_sizes,
            "mel_scale": self.mel_scale,
            "mel_norm": self.mel_norm,
            "mel_power": self.mel_power,
            "kernel_initializer": self.kernel_initializer,
            "stem_initializer": self.stem_initializer,
            "kernel_regularizer": self.kernel_regularizer,
        }

    @classmethod
    def from_config(cls, config):
        # Saved before the front-end options existed: HTK, unit peaks, power.
        return cls(**{**LEGACY_MODEL_FRONTEND, **config})
