"""Named presets of the model zoo, as data: `build(name, **overrides)` and `list_models()`.

Each preset is a `Preset` record: the constructor arguments of `SampleCNN`, the paper, the
input it expects and the MTAT ROC-AUC the paper reports for it. `PRESETS` holds the zoo
(the README table); `SMC2017_PRESETS` holds every row of the SMC 2017 m^n table, which
`build()` also accepts and `smc2017_table()` lists.
"""

import dataclasses
import inspect
import types

from keras_samplecnn.models.artist import ARTIST_MODELS, build_artist_model
from keras_samplecnn.models.dcue import DCUE
from keras_samplecnn.models.samplecnn import SampleCNN, input_geometry

SMC2017 = "Lee, Park, Kim, Nam, SMC 2017, arXiv:1703.01789"
ICASSP2018 = "Kim, Lee, Nam, ICASSP 2018, arXiv:1710.10451"
SPL2017 = "Lee & Nam, IEEE SPL 2017, arXiv:1703.01793"
ICMLW2017 = "Lee & Nam, ICML 2017 Music Discovery Workshop, arXiv:1706.06810"


@dataclasses.dataclass(frozen=True)
class Preset:
    """One named configuration of `SampleCNN`, with what the paper says about it.

    Args:
        name: the name `build()` takes.
        description: one line for `describe_models()` and the README table.
        paper: citation of the paper that defines the configuration.
        arguments: `SampleCNN` constructor arguments (read-only).
        input_length: samples per input segment the model takes.
        sample_rate: sample rate of that input.
        mtat_auc: MTAT ROC-AUC reported by the paper for this configuration, None if none.
        mtat_auc_multi_level: the same with multi-level aggregation (ICASSP 2018), if reported.
    """

    name: str
    description: str
    paper: str
    arguments: types.MappingProxyType = dataclasses.field(hash=False)
    input_length: int
    sample_rate: int = 22050
    mtat_auc: float | None = None
    mtat_auc_multi_level: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "arguments", types.MappingProxyType(dict(self.arguments)))


def _preset(name, description, paper, arguments, mtat_auc=None, mtat_auc_multi_level=None):
    m, n = arguments.get("m", 3), arguments.get("n", 9)
    input_length, _ = input_geometry(
        m, n, arguments.get("input_length"), arguments.get("stem_size"), arguments.get("pool_sizes")
    )
    return Preset(name, description, paper, arguments, input_length, 22050, mtat_auc, mtat_auc_multi_level)


def _spl2017(frames, pool_sizes, filters):
    """An SPL 2017 mel-spectrogram extractor on `frames` frames (Lee & Nam, arXiv:1703.01793).

    The paper's input: 22,050 Hz, FFT 1024, hop 512, 128 mel bands; 18-, 27- and 54-frame
    segments (frames × hop: 0.42, 0.63 and 1.25 s); 3, 3 and 4 conv layers whose max-poolings
    bring the frames to 1. Kernel 3 and the widths are ours (no published code gives them): 128
    per layer and 256 in the last, the width pattern of the same lab's mel CNN (ISMIR 2018). The
    mel bands are the first layer's channels (no stem); `(frames - 1) * 512` samples give
    exactly `frames` centred STFT frames.
    """
    arguments = {
        "block": "basic", "frontend": "mel", "m": 3, "n": len(pool_sizes), "pool_sizes": pool_sizes,
        "stem_size": 512, "fft_length": 1024, "num_mel_bins": 128, "stem_filters": 0,
        "input_length": (frames - 1) * 512, "filters": filters,
    }  # fmt: skip
    seconds = frames * 512 / 22050  # the frames' hops, as the paper counts durations (27 frames: 0.63 s)
    pools = "·".join(map(str, pool_sizes))
    description = (
        f"SPL 2017 mel extractor: {frames} frames ({seconds:.2f} s) of 128 log-mel bands, "
        f"{len(pool_sizes)} conv layers pooling by {pools}"
    )
    return _preset(f"spl2017_{frames}", description, SPL2017, arguments)


_ZOO = [
    # AUCs: section 1-2 tables of the papers (ICASSP 2018 poster: without / with multi-level).
    _preset("samplecnn", "3^9 SampleCNN on 59049 raw samples (SMC 2017; MTAT AUC .9055)", SMC2017,
            {"block": "basic"}, 0.9055, 0.9077),
    _preset("se", "basic blocks + squeeze-and-excitation (ICASSP 2018; .9083, multi-level .9111)", ICASSP2018,
            {"block": "se"}, 0.9083, 0.9111),
    _preset("res1", "residual, one conv per block (ICASSP 2018; .9048 / .9037)", ICASSP2018,
            {"block": "res1"}, 0.9048, 0.9037),
    _preset("res", "residual, two convs per block, Res-2 (ICASSP 2018; .9061 / .9098)", ICASSP2018,
            {"block": "res2"}, 0.9061, 0.9098),
    _preset("rese1", "ReSE-1: Res-1 + SE (ICASSP 2018; .9066 / .9053)", ICASSP2018,
            {"block": "rese1"}, 0.9066, 0.9053),
    _preset("rese", "ReSE-2: Res-2 + SE (ICASSP 2018; .9102 / .9113)", ICASSP2018,
            {"block": "rese2"}, 0.9102, 0.9113),
    _preset("resse", "ReSE-2 + multi-level aggregation, the ICASSP 2018 best model (.9113)", ICASSP2018,
            {"block": "rese2", "multi_level": True}, 0.9113),
    # The 3^4 row of the SMC 2017 table at 59049 samples (stem 729): .8655. The paper's other
    # frame-level raw-waveform model (.8487) has unpublished frame sizes, so it is not this one.
    _preset("frame",
            "frame-level raw-waveform baseline: 729-sample strided first conv (33 ms), 3^4 blocks (SMC 2017)",
            SMC2017, {"block": "basic", "m": 3, "n": 4, "input_length": 59049}, 0.8655),
    # The paper's mel model reports .9059, but its frame sizes are not published; ours (hop
    # 729, 3^4 blocks) are our choice, so no reference number is claimed for it.
    _preset("mel", "frame-level mel-spectrogram baseline: in-model log-mel, hop 729, 3^4 blocks (SMC 2017)",
            SMC2017, {"block": "basic", "m": 3, "n": 4, "input_length": 59049, "frontend": "mel"}),
]  # fmt: skip

# The SMC 2017 m^n table (papers.md section 1): (m, input samples) -> {n: MTAT ROC-AUC}.
# The stem filter length = stride is input_samples / m**n, the "f" column of the table.
SMC2017_TABLE = {
    (2, 16384): {6: .8839, 7: .8899, 8: .8968, 9: .8994, 10: .9011, 11: .9031, 12: .9036, 13: .9032},
    (2, 32768): {7: .8834, 8: .8872, 9: .8980, 10: .8988, 11: .9017, 12: .9031, 13: .9039, 14: .9040},
    (3, 19683): {3: .8655, 4: .8753, 5: .8961, 6: .9012, 7: .9033, 8: .9039},
    (3, 59049): {4: .8655, 5: .8823, 6: .8936, 7: .9002, 8: .9030, 9: .9055},
    (4, 16384): {3: .8828, 4: .8968, 5: .9010, 6: .9021},
    (4, 65536): {4: .8813, 5: .8950, 6: .9001, 7: .9026},
    (5, 15625): {3: .8901, 4: .9005, 5: .9024},
    (5, 78125): {4: .8870, 5: .9004, 6: .9041},
}  # fmt: skip


def _smc2017_presets():
    presets = []
    for (m, length), results in SMC2017_TABLE.items():
        for n, auc in results.items():
            # The name carries the length: the same m^n appears with two input lengths.
            name = f"smc2017_{m}_{n}_{length}"
            description = (
                f"{m}^{n} SampleCNN on {length} samples, stem {length // m**n} (SMC 2017 table; {auc:.4f}); "
                "block widths by `default_filters(n)`, the paper lists none per row"
            )
            presets.append(
                _preset(
                    name,
                    description,
                    SMC2017,
                    {"block": "basic", "m": m, "n": n, "input_length": length},
                    auc,
                )
            )
    return presets


# The multi-scale extractors of the feature-aggregation papers. SPL 2017: mel CNNs on 18, 27 and
# 54 frames. ICML-W 2017: sample-level CNNs of different stem sizes; the paper's exact set is
# not in papers.md, so ours is three SMC 2017 rows on the same 2.7-s input with stems of 3, 9
# and 27 samples (3^9, 3^8, 3^7), the top three blocks of each aggregated.
_EXTRACTORS = [
    _spl2017(18, [2, 3, 3], [128, 128, 256]),
    _spl2017(27, [3, 3, 3], [128, 128, 256]),
    _spl2017(54, [2, 3, 3, 3], [128, 128, 128, 256]),
]
# The SPL 2017 extractors' input frames, read back from their presets (for docs/fidelity.md).
SPL2017_FRAMES = tuple(p.input_length // 512 + 1 for p in _EXTRACTORS)
EXTRACTOR_SETS = {
    "spl2017": ("spl2017_18", "spl2017_27", "spl2017_54"),
    "icmlw2017": ("smc2017_3_9_59049", "smc2017_3_8_59049", "smc2017_3_7_59049"),
}
EXTRACTOR_LAYERS = {"spl2017": "all", "icmlw2017": "top3"}

PRESETS = {preset.name: preset for preset in _ZOO}
EXTRACTOR_PRESETS = {preset.name: preset for preset in _EXTRACTORS}
SMC2017_PRESETS = {preset.name: preset for preset in _smc2017_presets()}
ALIASES = {"basic": "samplecnn", "res2": "res", "rese2": "rese"}

_ARGUMENTS = [p for p in inspect.signature(SampleCNN.__init__).parameters if p not in ("self", "kwargs")]
_ARGUMENTS += ["name", "dtype", "trainable"]


def list_models():
    """Names of the zoo's presets (aliases and the SMC 2017 table rows not included: see
    `smc2017_table()`)."""
    return list(PRESETS)


def describe_models():
    """`{name: description}` for every preset of the zoo."""
    return {name: preset.description for name, preset in PRESETS.items()}


def smc2017_table():
    """The presets of every row of the SMC 2017 m^n table, in the paper's order.

    Each is a `Preset` with (m, n, input_length) in `arguments` and the paper's MTAT
    ROC-AUC in `mtat_auc`; `build(preset.name)` builds it.

    Reference: Lee, Park, Kim, Nam, "Sample-level Deep Convolutional Neural Networks for
    Music Auto-tagging Using Raw Waveforms", SMC 2017 (arXiv:1703.01789), the m^n table.

    Example:
    >>> [p.name for p in smc2017_table()][-1]
    'smc2017_5_6_78125'
    """
    return list(SMC2017_PRESETS.values())


def extractor_presets(family=None):
    """The presets of the multi-scale feature extractors, by family.

    Args:
        family: "spl2017" (the mel CNNs of Lee & Nam, IEEE SPL 2017, arXiv:1703.01793, on
            18, 27 and 54 frames) or "icmlw2017" (sample-level CNNs, Lee & Nam, ICML 2017
            Music Discovery Workshop, arXiv:1706.06810); None for both.

    Returns:
        the list of `Preset` records, in scale order.

    Example:
    >>> [p.input_length for p in extractor_presets("spl2017")]
    [8704, 13312, 27136]
    """
    if family is not None and family not in EXTRACTOR_SETS:
        raise ValueError(f"unknown extractor family {family!r}; choose one of {sorted(EXTRACTOR_SETS)}")
    families = [family] if family else list(EXTRACTOR_SETS)
    return [get_preset(name) for f in families for name in EXTRACTOR_SETS[f]]


def get_preset(name):
    """The `Preset` record named `name` (a zoo preset, an alias, or an SMC 2017 row)."""
    key = ALIASES.get(name, name)
    if key in PRESETS:
        return PRESETS[key]
    if key in SMC2017_PRESETS:
        return SMC2017_PRESETS[key]
    if key in EXTRACTOR_PRESETS:
        return EXTRACTOR_PRESETS[key]
    choices = ", ".join(list(PRESETS) + sorted(ALIASES) + list(EXTRACTOR_PRESETS))
    raise ValueError(f"unknown model {name!r}; choose one of: {choices}, or a name of smc2017_table()")


def preset_config(name):
    """The constructor arguments of preset `name` (a copy)."""
    return dict(get_preset(name).arguments)


def build(name="samplecnn", num_classes=None, **overrides):
    """Builds a model of the zoo by name.

    Args:
        name: one of `list_models()` ("samplecnn"/"basic", "se", "res", "res1",
            "rese", "rese1", "resse", "frame", "mel"), an SMC 2017 table row
            such as "smc2017_3_9_59049" (see `smc2017_table()`), or an SPL 2017
            mel extractor "spl2017_18", "spl2017_27", "spl2017_54" (see
            `extractor_presets()`), or an ISMIR 2018 artist model "artist_basic" /
            "artist_siamese" (`keras_samplecnn.models.artist.build_artist_model`), or the
            DLRS 2018 content-user model "dcue" / "dcue_multi" (`DCUE`; give `num_users`
            or `users`).
        num_classes: number of outputs (artists for "artist_basic"); None: `len(tags)`
            when `tags` is given, else 50 (the MTAT top-50 tags).
        **overrides: any `SampleCNN` argument, e.g. `multi_level=True`,
            `input_length=19683`, `m=2, n=13`, `se_ratio=0.125`,
            `dtype="mixed_bfloat16"`.

    Returns:
        A built `SampleCNN` (a functional `keras.Model`), an artist model or a `DCUE`.

    Example:
    >>> model = build("resse")
    >>> model.count_params() > 0
    True
    """
    if name in ARTIST_MODELS:
        if num_classes is None and not overrides.get("tags"):
            num_classes = 50
        return build_artist_model(name, num_classes=num_classes, **overrides)
    if name in ("dcue", "dcue_multi"):
        return DCUE(variant="multi" if name == "dcue_multi" else overrides.pop("variant", "basic"), **overrides)
    config = preset_config(name)
    unknown = sorted(set(overrides) - set(_ARGUMENTS))
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown} for build(); valid: {sorted(_ARGUMENTS)}")
    config.update(overrides)
    config["num_classes"] = num_classes  # None: SampleCNN takes len(tags), or 50 without tags
    config.setdefault("name", ALIASES.get(name, name))
    return SampleCNN(**config)


def parameter_table(names=None):
    """A Markdown table of every preset's parameter count, with and without multi-level.

    This is the table in the README (`python -m keras_samplecnn.models` prints it).
    """
    rows = [
        "| model | description | input (samples) | parameters | with `multi_level=True` |",
        "|---|---|---|---|---|",
    ]
    for name in names or list_models():
        model = build(name)
        config = preset_config(name)
        multi = "—" if config.get("multi_level") else f"{build(name, multi_level=True).count_params():,}"
        description = get_preset(name).description
        rows.append(
            f"| `{name}` | {description} | {model.input_length} | {model.count_params():,} | {multi} |"
        )
    return "\n".join(rows)
