"""The m^n sample-level CNN backbone: waveform in, every block's output out.

`SampleCNNBackbone` is the feature extractor of the papers without a head; `SampleCNN`
(models/samplecnn.py) builds its graph with the same function, `backbone_graph`, and adds
the tagging head, so both have the same layer names and weights layout.
"""

import math

import keras

from keras_samplecnn.layers import LogMelSpectrogram, ResBlock, SampleConv, SEBlock, initializers
from keras_samplecnn.layers.mel import LEGACY_MODEL_FRONTEND
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
"""The block types `SampleCNN(block=...)` takes: name -> (residual?, convs on the main path,
squeeze-and-excitation?)."""
FRONTENDS = ("waveform", "mel")


def default_filters(n):
    """Widths of the n blocks: 128, 128, then 256, and 512 for the last block.

    For n = 9 this is the 3^9 model of the papers (128, 128, 256 ×6, 512); the
    JSTSP 2019 code uses the same rule for its 8-block speech/scene models.
    """
    return [128 if i < 2 else 512 if i == n - 1 else 256 for i in range(n)]


def block_pools(m, n, pool_sizes=None):
    """The pooling length of each of the n blocks: `pool_sizes`, or m for every block."""
    if pool_sizes is None:
        return [m] * n
    pools = [int(p) for p in pool_sizes]
    if len(pools) != n or any(p < 1 or p != q for p, q in zip(pools, pool_sizes)):
        raise ValueError(f"pool_sizes must list one integer >= 1 per block ({n} values), got {pool_sizes}")
    return pools


def input_geometry(m=3, n=9, input_length=None, stem_size=None, pool_sizes=None):
    """`(input_length, stem_size)` with the defaults `SampleCNN` applies.

    `input_length` defaults to `stem_size * m**n` (59049 for 3^9), `stem_size` to
    `max(m, input_length // m**n)`, so each row of the SMC 2017 table is just (m, n, length).
    With `pool_sizes`, their product takes the place of m**n.
    """
    reduction = math.prod(block_pools(m, n, pool_sizes))
    if input_length is None:
        input_length = (stem_size or m) * reduction
    if stem_size is None:
        stem_size = max(m, input_length // reduction)
    return input_length, stem_size


def output_frames(input_length, m, n, stem_size, frontend="waveform", pool_sizes=None):
    """Length of the time axis after the stem (or mel frames) and the n blocks' poolings."""
    frames = input_length // stem_size
    if frontend == "mel":
        frames += 1  # centred STFT frames
    for pool in block_pools(m, n, pool_sizes):
        frames //= pool
    return frames


def block_output_name(index, block):
    """Name of the layer whose output is block `index` (1-based): `blockK`, or `blockK_se`
    for "se" blocks, whose SE layer follows the convolution block."""
    return f"block{index}_se" if block == "se" else f"block{index}"


def backbone_structure(
    m, n, input_length, stem_size, block, frontend, filters, input_std, pool_sizes=None, stem_filters=128
):
    """Validates the structural arguments; returns `(input_length, stem_size, filters)` with
    the defaults filled in. Shared by `SampleCNNBackbone` and `SampleCNN`, so both reject the
    same configurations with the same messages."""
    if block not in BLOCKS:
        raise ValueError(f"unknown block {block!r}; choose one of {sorted(BLOCKS)}")
    if frontend not in FRONTENDS:
        raise ValueError(f"unknown frontend {frontend!r}; choose one of {list(FRONTENDS)}")
    if int(m) != m or m < 2 or int(n) != n or n < 1:
        raise ValueError(f"need integers m >= 2 and n >= 1, got m={m}, n={n}")
    pools = block_pools(m, n, pool_sizes)
    if not stem_filters and frontend != "mel":
        raise ValueError(
            "stem_filters=0 (no stem layer) needs frontend='mel': a waveform needs its strided stem"
        )
    input_length, stem_size = input_geometry(m, n, input_length, stem_size, pool_sizes)
    if output_frames(input_length, m, n, stem_size, frontend, pool_sizes) < 1:
        if pool_sizes is not None:
            raise ValueError(
                f"input_length={input_length} gives too few frames for a stem of {stem_size} and "
                f"poolings {pools}: it needs at least {stem_size * math.prod(pools)} samples"
            )
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
    if not input_std > 0:
        raise ValueError(f"input_std must be positive, got {input_std}")
    return input_length, stem_size, filters


def conv_weight_arguments(kernel_initializer, stem_initializer, kernel_regularizer):
    """The convolutions' initialisers and regulariser in the JSON form a config holds: None,
    a name or a config dict as given, an object serialised (the layers resolve them, and
    raise on an unknown name). Shared by `SampleCNNBackbone` and `SampleCNN`."""
    if kernel_regularizer is not None and not isinstance(kernel_regularizer, (str, dict)):
        kernel_regularizer = keras.regularizers.serialize(kernel_regularizer)
    return {
        "kernel_initializer": initializers.to_config(kernel_initializer),
        "stem_initializer": initializers.to_config(stem_initializer),
        "kernel_regularizer": kernel_regularizer,
    }


def backbone_graph(
    waveform,
    *,
    m,
    stem_size,
    sample_rate,
    block,
    stem_filters,
    filters,
    pool_sizes,
    se_ratio,
    block_dropout,
    frontend,
    fft_length,
    num_mel_bins,
    input_mean,
    input_std,
    dtype,
    mel_scale="slaney",
    mel_norm="slaney",
    mel_power=1.0,
    kernel_initializer="he_uniform",
    stem_initializer=None,
    kernel_regularizer=None,
):
    """Applies [standardisation] → stem → blocks to the symbolic `waveform`.

    Arguments are validated ones (see `backbone_structure`). Every layer gets `dtype` and
    the fixed name `SampleCNN` has always used (`standardize`, `add_channel` or
    `mel`/`mel_norm`, `stem`, `block1`…`blockN`, `blockK_se`): checkpoints and code that
    reaches layers by name depend on them. With the mel front end, `stem_filters=0` leaves
    the stem out, so that the first block convolves the mel bands themselves (the SPL 2017
    extractors). `kernel_initializer` (a name or config, resolved by every block on its own,
    so that no two blocks share one seeded instance) goes to the block convolutions,
    `stem_initializer` (default: `kernel_initializer`) to the stem, `kernel_regularizer` to
    the stem and every block convolution, shortcuts included (not to the SE layers).

    Returns:
        The list of the n block outputs, `(batch, frames_k, filters[k])` each.
    """
    input_length = waveform.shape[-1]
    x = waveform
    if input_mean != 0.0 or input_std != 1.0:
        # Inside the model, so that a saved model takes raw audio.
        x = keras.layers.Rescaling(
            1.0 / input_std, offset=-input_mean / input_std, dtype=dtype, name="standardize"
        )(x)
    conv = {"kernel_initializer": kernel_initializer, "kernel_regularizer": kernel_regularizer}
    stem = dict(conv, kernel_initializer=kernel_initializer if stem_initializer is None else stem_initializer)
    if frontend == "mel":
        x = LogMelSpectrogram(
            sample_rate=sample_rate,
            fft_length=fft_length,
            hop_length=stem_size,
            num_mel_bins=num_mel_bins,
            mel_scale=mel_scale,
            norm=mel_norm,
            power=mel_power,
            dtype=dtype,
            name="mel",
        )(x)
        x = keras.layers.BatchNormalization(dtype=dtype, name="mel_norm")(x)
        if stem_filters:
            x = SampleConv(stem_filters, kernel_size=1, pool_size=None, dtype=dtype, name="stem", **stem)(x)
    else:
        x = keras.layers.Reshape((input_length, 1), dtype=dtype, name="add_channel")(x)
        x = SampleConv.stem(stem_filters, stem_size, dtype=dtype, name="stem", **stem)(x)

    residual, num_convs, use_se = BLOCKS[block]
    outputs = []
    pools = block_pools(m, len(filters), pool_sizes)
    for i, (width, pool) in enumerate(zip(filters, pools), start=1):
        name = f"block{i}"
        if residual:
            x = ResBlock(
                width,
                num_convs=num_convs,
                se_ratio=se_ratio if use_se else None,
                dropout=block_dropout,
                kernel_size=m,
                pool_size=pool,
                dtype=dtype,
                name=name,
                **conv,
            )(x)
        else:
            x = SampleConv(width, kernel_size=m, pool_size=pool, dtype=dtype, name=name, **conv)(x)
            if use_se:
                x = SEBlock(se_ratio, dtype=dtype, name=f"{name}_se")(x)
        outputs.append(x)
    return outputs


# The constructor arguments the backbone and `SampleCNN` share, with their defaults.
STRUCTURE_DEFAULTS = {
    "m": 3,
    "n": 9,
    "input_length": None,
    "stem_size": None,
    "sample_rate": 22050,
    "block": "basic",
    "stem_filters": 128,
    "filters": None,
    "se_ratio": 16,
    "block_dropout": 0.2,
    "frontend": "waveform",
    "fft_length": 2048,
    "num_mel_bins": 128,
    "input_mean": 0.0,
    "input_std": 1.0,
    "pool_sizes": None,
    # The mel front end's filterbank and spectrum. We found no front-end code of the
    # SMC 2017 mel baseline or of the SPL 2017 extractors (jongpillee/sampleCNN and
    # musicTagging_MSD read raw audio); the papers only name a log-mel input. The defaults are
    # the same lab's front end of 2017-2018, the one we could read (jongpillee/ismir2018-artist
    # @68841d2 and deep-content-user @0e57b68, `mp3s_to_mel.py`: magnitude STFT, Slaney mel
    # scale, area-normalised triangles, log10(1 + 10·mel)).
    "mel_scale": "slaney",
    "mel_norm": "slaney",
    "mel_power": 1.0,
    # The convolutions' weights: He uniform and no penalty (the SMC 2017 / ICASSP 2018 code);
    # the JSTSP 2019 recipes set the authors' `taejun_uniform` (keras_samplecnn/experiments/configs/jstsp_base.yaml).
    "kernel_initializer": "he_uniform",
    "stem_initializer": None,
    "kernel_regularizer": None,
}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SampleCNNBackbone(keras.Model):
    """The m^n sample-level CNN without a head: waveform in, every block's output out.

    Waveform `(batch, input_length)` → [standardisation] → stem → n blocks. The output is a
    dict `{"block1": (batch, frames_1, filters[0]), ..., "blockN": ...}`: transfer use takes
    blocks by name (the multi-level papers use the last three), and the names are those of
    `SampleCNN`'s layers. The layers are those `SampleCNN` builds, with the same names, so a
    task model's weights load into a backbone by name (see `SampleCNN.backbone`).

    Args:
        m: kernel size of the blocks, and their pooling length unless `pool_sizes` is given.
        n: number of blocks.
        input_length: samples per input segment; default `m**(n+1)` (59049 for 3^9).
        stem_size: stem kernel = stride (or mel hop); default `max(m, input_length // m**n)`.
        sample_rate: sample rate the model expects (metadata; and the mel front end's rate).
        block: "basic", "se", "res1", "res2", "rese1" or "rese2".
        stem_filters: channels of the stem; with the mel front end 0 means no stem (the
            first block reads the mel bands).
        filters: list of n block widths; default `default_filters(n)`.
        se_ratio: SE hidden-width ratio for "se"/"rese" blocks (16 in the ICASSP 2018 code).
        block_dropout: dropout inside Res-2/ReSE-2 blocks (0.2).
        frontend: "waveform" (strided convolution stem) or "mel" (log-mel, hop `stem_size`,
            then a 1×1 convolution).
        fft_length, num_mel_bins: mel front-end settings.
        input_mean, input_std: standardise the waveform by these (the training set's
            statistics, as the JSTSP 2019 code does); default no standardisation.
        pool_sizes: pooling length of each block, when they differ (the SPL 2017 mel
            extractors pool 18 frames by 2, 3, 3); default m for every block.
        mel_scale, mel_norm, mel_power: the mel front end's `mel_scale`, `norm` and `power`
            (`LogMelSpectrogram`; `mel_norm` is the filterbank's normalisation, not the
            `mel_norm` BatchNorm layer). Default: Slaney scale, area-normalised triangles,
            magnitude STFT, the front end of the same lab's mel models (ISMIR 2018, DLRS 2018).
        kernel_initializer: initialiser of the block convolutions (not the 1×1 shortcuts,
            Glorot uniform, nor the SE layers): a Keras initializer name, config or object,
            or `"taejun_uniform"` (`keras_samplecnn.layers.TaejunUniform`). Default He
            uniform.
        stem_initializer: initialiser of the stem; default (None) `kernel_initializer`.
        kernel_regularizer: regulariser of the stem's and every block's convolution kernels,
            shortcuts included (e.g. `{"class_name": "L2", "config": {"l2": 1e-4}}`);
            default none.
        **kwargs: `name`, `dtype` (a dtype policy such as "mixed_bfloat16", given to every
            sublayer), and other `keras.Model` arguments.

    Attributes:
        block_names: `["block1", ..., "blockN"]`, the output keys.
        block_layer_names: the layer producing each block's output (`blockK_se` for "se").
        filters, input_length, stem_size, sample_rate, ...: the constructor arguments with
            defaults filled in.

    Example:
    >>> backbone = SampleCNNBackbone(block="rese2")
    >>> features = backbone(keras.ops.zeros((1, 59049)))
    >>> tuple(features["block9"].shape), tuple(features["block7"].shape)
    ((1, 1, 512), (1, 9, 256))

    References: Lee et al., SMC 2017 (arXiv:1703.01789); Kim, Lee, Nam, ICASSP 2018
    (arXiv:1710.10451).
    """

    def __init__(
        self,
        m=3,
        n=9,
        input_length=None,
        stem_size=None,
        sample_rate=22050,
        block="basic",
        stem_filters=128,
        filters=None,
        se_ratio=16,
        block_dropout=0.2,
        frontend="waveform",
        fft_length=2048,
        num_mel_bins=128,
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
        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = keras.dtype_policies.deserialize(dtype)
        input_length, stem_size, filters = backbone_structure(
            m, n, input_length, stem_size, block, frontend, filters, input_std, pool_sizes, stem_filters
        )
        structure = {
            "m": m,
            "n": n,
            "input_length": input_length,
            "stem_size": stem_size,
            "sample_rate": sample_rate,
            "block": block,
            "stem_filters": stem_filters,
            "filters": filters,
            "se_ratio": se_ratio,
            "block_dropout": block_dropout,
            "frontend": frontend,
            "fft_length": fft_length,
            "num_mel_bins": num_mel_bins,
            "input_mean": float(input_mean),
            "input_std": float(input_std),
            "pool_sizes": None if pool_sizes is None else [int(p) for p in pool_sizes],
            "mel_scale": mel_scale,
            "mel_norm": mel_norm,
            "mel_power": mel_power,
            **conv_weight_arguments(kernel_initializer, stem_initializer, kernel_regularizer),
        }
        waveform = keras.Input((input_length,), name="waveform")
        graph_arguments = {k: v for k, v in structure.items() if k not in ("n", "input_length")}
        outputs = backbone_graph(waveform, dtype=dtype, **graph_arguments)
        super().__init__(
            inputs=waveform, outputs={f"block{i}": x for i, x in enumerate(outputs, start=1)}, **kwargs
        )
        self._store(structure, dtype)

    def _store(self, structure, dtype):
        self.policy = None if dtype is None else keras.dtype_policies.get(dtype)
        for key, value in structure.items():
            setattr(self, key, value)
        self.block_names = [f"block{i}" for i in range(1, self.n + 1)]
        self.block_layer_names = [block_output_name(i, self.block) for i in range(1, self.n + 1)]

    @classmethod
    def sharing_layers_of(cls, model, name=None):
        """A backbone over the stem and blocks of a built `SampleCNN`, sharing its layers.

        No layer is copied: training either model changes both. Saved on its own, it
        reloads as an ordinary `SampleCNNBackbone` (the layer names are the same).
        """
        structure = {key: getattr(model, key) for key in STRUCTURE_DEFAULTS}
        outputs = {
            f"block{i}": model.get_layer(block_output_name(i, model.block)).output
            for i in range(1, model.n + 1)
        }
        # Skips `__init__` (which would build new layers) but runs the functional set-up.
        backbone = cls.__new__(cls)
        # `super()` and not `keras.Model.__init__`: Keras puts `Functional` between this class
        # and `keras.Model` on first use, and the set-up must go through it.
        super(SampleCNNBackbone, backbone).__init__(
            inputs=model.input, outputs=outputs, name=name or f"{model.name}_backbone"
        )
        backbone._store(structure, model.policy)
        return backbone

    def get_config(self):
        # Constructor arguments only: the graph is rebuilt from them.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": None if self.policy is None else keras.dtype_policies.serialize(self.policy),
            **{key: getattr(self, key) for key in STRUCTURE_DEFAULTS},
            "filters": list(self.filters),
            "pool_sizes": None if self.pool_sizes is None else list(self.pool_sizes),
        }

    @classmethod
    def from_config(cls, config):
        # Saved before the front-end options existed: HTK, unit peaks, power.
        return cls(**{**LEGACY_MODEL_FRONTEND, **config})
