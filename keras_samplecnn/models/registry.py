"""Named presets of the model zoo: `build(name, **overrides)` and `list_models()`."""

import inspect

from keras_samplecnn.models.samplecnn import SampleCNN

# name -> (constructor arguments, one-line description with the paper)
PRESETS = {
    "samplecnn": (
        {"block": "basic"},
        "3^9 SampleCNN on 59049 raw samples (SMC 2017; MTAT AUC .9055)",
    ),
    "se": (
        {"block": "se"},
        "basic blocks + squeeze-and-excitation (ICASSP 2018; .9083, multi-level .9111)",
    ),
    "res1": ({"block": "res1"}, "residual, one conv per block (ICASSP 2018; .9048 / .9037)"),
    "res": ({"block": "res2"}, "residual, two convs per block, Res-2 (ICASSP 2018; .9061 / .9098)"),
    "rese1": ({"block": "rese1"}, "ReSE-1: Res-1 + SE (ICASSP 2018; .9066 / .9053)"),
    "rese": ({"block": "rese2"}, "ReSE-2: Res-2 + SE (ICASSP 2018; .9102 / .9113)"),
    "resse": (
        {"block": "rese2", "multi_level": True},
        "ReSE-2 + multi-level aggregation, the ICASSP 2018 best model (.9113)",
    ),
    "frame": (
        {"block": "basic", "m": 3, "n": 4, "input_length": 59049},
        "frame-level raw-waveform baseline: 729-sample strided first conv (33 ms), 3^4 blocks (SMC 2017)",
    ),
    "mel": (
        {"block": "basic", "m": 3, "n": 4, "input_length": 59049, "frontend": "mel"},
        "frame-level mel-spectrogram baseline: in-model log-mel, hop 729, 3^4 blocks (SMC 2017)",
    ),
}
ALIASES = {"basic": "samplecnn", "res2": "res", "rese2": "rese"}

_ARGUMENTS = [p for p in inspect.signature(SampleCNN.__init__).parameters if p not in ("self", "kwargs")]
_ARGUMENTS += ["name", "dtype", "trainable"]


def list_models():
    """Names of the presets `build()` accepts (aliases not included)."""
    return list(PRESETS)


def describe_models():
    """`{name: description}` for every preset."""
    return {name: description for name, (_, description) in PRESETS.items()}


def preset_config(name):
    """The constructor arguments of preset `name` (a copy)."""
    key = ALIASES.get(name, name)
    if key not in PRESETS:
        choices = ", ".join(list(PRESETS) + sorted(ALIASES))
        raise ValueError(f"unknown model {name!r}; choose one of: {choices}")
    return dict(PRESETS[key][0])


def build(name="samplecnn", num_classes=50, **overrides):
    """Builds a model of the zoo by name.

    Args:
        name: one of `list_models()` ("samplecnn"/"basic", "se", "res", "res1",
            "rese", "rese1", "resse", "frame", "mel").
        num_classes: number of outputs (50 for the MTAT top-50 tags).
        **overrides: any `SampleCNN` argument, e.g. `multi_level=True`,
            `input_length=19683`, `m=2, n=13`, `se_ratio=0.125`,
            `dtype="mixed_bfloat16"`.

    Returns:
        An unbuilt-free `SampleCNN` (a functional `keras.Model`).

    Example:
    >>> model = build("resse")
    >>> model.count_params() > 0
    True
    """
    config = preset_config(name)
    unknown = sorted(set(overrides) - set(_ARGUMENTS))
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown} for build(); valid: {sorted(_ARGUMENTS)}")
    config.update(overrides)
    config["num_classes"] = num_classes
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
        description = describe_models()[name]
        rows.append(
            f"| `{name}` | {description} | {model.input_length} | {model.count_params():,} | {multi} |"
        )
    return "\n".join(rows)
