"""Training configuration: YAML on disk, validated dataclasses in code.

A config has eight sections; every key is optional and defaults to the papers' setting:

```yaml
model:        {name: se, multi_level: false, overrides: {se_ratio: 16}}
data:         {dir: runs/mtat/tfrecords, batch_size: 23, crops_per_clip: all, ...}
optimization: {learning_rate: 0.01, momentum: 0.9, step_decay: 1.0e-6, decay_factor: 0.2, patience: 3, ...}
precision:    {policy: auto, xla: auto}
output:       {dir: runs/mtat_se, tensorboard: true}
evaluation:   {threshold: null, tune_on: null}
siamese:      {num_negatives: 4, margin: 0.4}   # model.name: artist_siamese only
distribution: {strategy: auto, devices: null, sync_batch_norm: true}  # training/distribution.py
```

A file may start from another one with `extends: base.yaml` (a path relative to the file):
its values are merged over the base's, section by section, so a recipe states only what
differs. Overlays (profiles such as `keras_samplecnn/experiments/configs/profiles/cpu.yaml`) are merged the same
way on top, then `--set` overrides.

An unknown key, a value of the wrong type or out of range, or a float that is not finite
(`.inf`, `.nan`, in `model.overrides` too) stops loading with a `ConfigError` that names the
key and what is allowed. YAML aliases (`*name`) are refused (`keras_samplecnn.safe_yaml`).
"""

import dataclasses
import math
import os
import reprlib
import typing

import yaml

from keras_samplecnn import safe_yaml
from keras_samplecnn.data.schema import READERS
from keras_samplecnn.files import atomic_file
from keras_samplecnn.messages import one_line


class ConfigError(ValueError):
    """A config file or override that does not fit the schema."""


class _NotFinite(ConfigError):
    """An infinite or NaN float (raised whatever else a `Union` field would accept)."""


# A bad value is shown by a short repr: a config value can be megabytes long.
_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxstring = _REPR.maxother = 60
_REPR_LIMIT = 80


def show(value):
    """A repr of `value` of at most about 80 characters, for error messages."""
    text = _REPR.repr(value)
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


@dataclasses.dataclass
class ModelConfig:
    """Which network to train. `overrides` are any `SampleCNN` arguments."""

    name: str = "se"
    multi_level: bool = False
    overrides: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class DataConfig:
    """Where the converted TFRecords are and how batches are made."""

    dir: str = ""
    batch_size: int = 23
    # "all": an epoch is every segment of every training clip once (the papers' epoch);
    # k: an epoch is k random crops per clip.
    crops_per_clip: typing.Union[int, str] = "all"
    shuffle_buffer: int = 512  # clips (about 1.3 MB each at 22050 Hz)
    segment_shuffle_buffer: int = 2048  # segments, with crops_per_clip: all
    random_offsets: bool = True  # crops_per_clip: all: shift each clip's segment grid every epoch
    train_split: str = "train"
    valid_split: str = "valid"
    test_split: str = "test"
    steps_per_epoch: typing.Optional[int] = None  # None: one pass (see crops_per_clip)
    eval_batch_size: int = 64
    # Standardise the model's input by the training split's mean and std (from the manifest),
    # as the JSTSP 2019 code does (tae-jun/sampleaudio lib/data/batch.py).
    standardize: bool = False
    # A tf.data service dispatcher, grpc://host:port: parse, crop and decode the training
    # batches on its workers (keras_samplecnn.data.service); trainers naming one service_job
    # share its batches.
    service: typing.Optional[str] = None
    service_job: typing.Optional[str] = None
    # Who reads the shards (keras_samplecnn.data.feed): tf_data, portable (NumPy, no
    # TensorFlow), or auto: tf_data where TensorFlow is installed, else portable.
    reader: str = "auto"


@dataclasses.dataclass
class OptimizationConfig:
    """SGD with Nesterov momentum, per-step and staged decay, as in the papers' code.

    `patience` counts the epochs without improvement that end a stage: the authors' Keras
    2.0.5 `EarlyStopping(patience=2)` (ICASSP 2018) waited 3 (see `StagedDecay`).
    `max_minutes` is a safety net only: a run it stops is reported as cut short.
    """

    learning_rate: float = 0.01
    momentum: float = 0.9
    nesterov: bool = True
    step_decay: float = 1e-6  # lr / (1 + step_decay * steps in the stage), Keras 2's SGD(decay=)
    decay_factor: float = 0.2
    patience: int = 3
    stages: int = 5
    max_epochs: int = 100
    max_minutes: typing.Optional[float] = None  # wall-clock safety net, checked after each epoch
    seed: int = 0


@dataclasses.dataclass
class PrecisionConfig:
    """`policy`: auto | float32 | mixed_bfloat16 | mixed_float16; `xla`: auto | true | false."""

    policy: str = "auto"
    xla: typing.Union[bool, str] = "auto"


@dataclasses.dataclass
class OutputConfig:
    """Where checkpoints, logs and reports go."""

    dir: str = "runs/experiment"
    tensorboard: bool = True
    verbose: int = 2


@dataclasses.dataclass
class EvaluationConfig:
    """How the recipes evaluate: the threshold of the multi-label F1 and of the JSTSP code's
    thresholded accuracy (null: 0.1 for DCASE 2017, else 0.5) and an optional split to tune
    per-class thresholds on (e.g. `valid`)."""

    threshold: typing.Optional[float] = None
    tune_on: typing.Optional[str] = None


@dataclasses.dataclass
class SiameseConfig:
    """The Siamese artist model's sampling and loss (`model.name: artist_siamese`; Park, Lee,
    Park, Ha, Nam, ISMIR 2018): negatives of other artists per anchor, hinge margin."""

    num_negatives: int = 4  # models.artist.NUM_NEGATIVES and MARGIN (kept Keras-free here; a test ties them)
    margin: float = 0.4


@dataclasses.dataclass
class DistributionConfig:
    """Training on several devices (see `keras_samplecnn.training.distribution`).

    `strategy`: `mirrored` (TensorFlow backend: `tf.distribute.MirroredStrategy` over the GPUs,
    or over the logical CPU devices on a machine without one), `data_parallel` (JAX backend:
    `keras.distribution.DataParallel` on a 1-D mesh of every device of every host), `none`
    (one device), or `auto` (mirrored when TensorFlow sees several GPUs, data_parallel when
    JAX sees several GPUs or TPUs, else none). `devices`: how many devices to use (null: all).
    `data.batch_size` stays the global batch, split across the devices; the learning rate is
    not scaled. `sync_batch_norm` (mirrored only): batch statistics over the global batch, as
    on one device; false: over each replica's share. data_parallel always has the former.
    """

    strategy: str = "auto"
    devices: typing.Optional[int] = None
    sync_batch_norm: bool = True


@dataclasses.dataclass
class TrainConfig:
    """The whole configuration of a training run."""

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optimization: OptimizationConfig = dataclasses.field(default_factory=OptimizationConfig)
    precision: PrecisionConfig = dataclasses.field(default_factory=PrecisionConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)
    siamese: SiameseConfig = dataclasses.field(default_factory=SiameseConfig)
    distribution: DistributionConfig = dataclasses.field(default_factory=DistributionConfig)

    def to_dict(self):
        return dataclasses.asdict(self)


CHOICES = {
    ("precision", "policy"): ("auto", "float32", "mixed_bfloat16", "mixed_float16"),
    ("precision", "xla"): ("auto", True, False),
    ("distribution", "strategy"): ("auto", "none", "mirrored", "data_parallel"),
    ("data", "reader"): READERS,
}

# The Keras backend each explicit strategy runs on.
STRATEGY_BACKENDS = {"mirrored": "tensorflow", "data_parallel": "jax"}


# (section, key) -> (test, what the value must be)
CHECKS = {
    ("data", "crops_per_clip"): (
        lambda v: v == "all" or (isinstance(v, int) and v >= 1),
        '"all" or an int >= 1',
    ),
    ("data", "batch_size"): (lambda v: v >= 1, "an int >= 1"),
    ("data", "eval_batch_size"): (lambda v: v >= 1, "an int >= 1"),
    ("data", "steps_per_epoch"): (lambda v: v is None or v >= 1, "null or an int >= 1"),
    ("optimization", "learning_rate"): (lambda v: v > 0, "a number > 0"),
    ("optimization", "step_decay"): (lambda v: v >= 0, "a number >= 0"),
    ("optimization", "momentum"): (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    ("optimization", "decay_factor"): (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    ("optimization", "max_minutes"): (lambda v: v is None or v > 0, "null or a number > 0"),
    ("optimization", "patience"): (lambda v: v >= 1, "an int >= 1"),
    ("optimization", "stages"): (lambda v: v >= 1, "an int >= 1"),
    ("optimization", "max_epochs"): (lambda v: v >= 1, "an int >= 1"),
    ("siamese", "num_negatives"): (lambda v: v >= 1, "an int >= 1"),
    ("siamese", "margin"): (lambda v: v > 0, "a number > 0"),
    ("evaluation", "threshold"): (lambda v: v is None or 0 < v < 1, "null or a number between 0 and 1"),
    ("distribution", "devices"): (lambda v: v is None or v >= 1, "null or an int >= 1"),
}


def _type_name(annotation):
    if typing.get_origin(annotation) is typing.Union:
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    return "null" if annotation is type(None) else annotation.__name__


def _check_value(path, value, annotation):
    """Returns `value` if it fits `annotation` (ints accepted for floats), else raises."""
    _check_finite(path, value)
    if typing.get_origin(annotation) is typing.Union:
        for option in typing.get_args(annotation):
            try:
                return _check_value(path, value, option)
            except _NotFinite:
                raise
            except ConfigError:
                pass
        raise ConfigError(f"{path}: expected {_type_name(annotation)}, got {show(value)}")
    if annotation is type(None):
        if value is None:
            return None
    elif annotation is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif annotation is float and isinstance(value, str):
        try:  # PyYAML reads 1e-6 (no dot) as a string
            number = float(value)
        except ValueError:
            pass
        else:
            _check_finite(path, number)
            return number
    elif annotation is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif annotation not in (int, float) and isinstance(value, annotation):
        return value
    raise ConfigError(f"{path}: expected {_type_name(annotation)}, got {show(value)}")


def _check_finite(path, value):
    """Raises on an infinite or NaN float anywhere in `value` (nested mappings and lists too):
    an infinite learning rate trains a whole epoch before the loss turns NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _NotFinite(f"{path}: expected a finite float, got {value!r}")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(f"{path}.{key}", item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_finite(f"{path}[{index}]", item)


def build(cls, values, path=""):
    """`values` (nested dicts) as the dataclass `cls`, every key checked: unknown keys, types
    (ints accepted for floats), non-finite floats, and the allowed values of `CHOICES` / `CHECKS`
    or of a field's own `metadata` (`{"choices": (...)}`, `{"check": (test, "what it must be")}`).

    Raises:
        ConfigError: naming the key (`path.key`) and what is allowed.
    """
    if not isinstance(values, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {show(values)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        where = f" in '{path}'" if path else ""
        raise ConfigError(f"unknown key(s) {show(unknown)}{where}; allowed: {sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        key = f"{path}.{name}" if path else name
        if dataclasses.is_dataclass(hints[name]):
            kwargs[name] = build(hints[name], value, key)
            continue
        value = _check_value(key, value, hints[name])
        metadata = fields[name].metadata
        allowed = metadata.get("choices", CHOICES.get((path, name)))
        if allowed is not None and value not in allowed:
            raise ConfigError(f"{key}: {show(value)} is not one of {list(allowed)}")
        check = metadata.get("check", CHECKS.get((path, name)))
        if check is not None and not check[0](value):
            raise ConfigError(f"{key}: {show(value)} is not {check[1]}")
        kwargs[name] = value
    return cls(**kwargs)


def from_dict(values):
    """A validated `TrainConfig` from nested dicts."""
    config = build(TrainConfig, values or {}, "")
    check_backend(config)
    return config


# The longest model input a config may ask for, in seconds of audio at the data's rate. The
# papers' inputs are 0.6 to 3 s; one 3-minute input already takes gigabytes of activations.
MAX_INPUT_SECONDS = 180


def check_model_input(config, sample_rate):
    """Raises if `model.overrides` does not fit the data, before any model is built.

    A `sample_rate` override must be the data's (a model trained on 22,050 Hz data that records
    16,000 Hz would have every tagged file resampled to the wrong rate), and an `input_length`
    override must be an int of at most `MAX_INPUT_SECONDS` seconds at that rate.

    Args:
        config: a `TrainConfig`.
        sample_rate: the converted data's rate (its manifest's `sample_rate`).
    """
    overrides = config.model.overrides
    rate = overrides.get("sample_rate", sample_rate)
    if rate != sample_rate:
        raise ConfigError(
            f"model.overrides.sample_rate: {show(rate)} Hz, but the data in {config.data.dir} is "
            f"{sample_rate} Hz: convert the data at that rate (python -m tfrecords_tools ... --sample-rate "
            f"{show(rate)}) or drop the override (the cpu profiles set 16000)"
        )
    length = overrides.get("input_length")
    if length is None:
        return
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ConfigError(f"model.overrides.input_length: expected an int >= 1, got {show(length)}")
    longest = MAX_INPUT_SECONDS * int(sample_rate)
    if length > longest:
        raise ConfigError(
            f"model.overrides.input_length: {length} samples ({length / sample_rate:g} s at "
            f"{sample_rate} Hz) is longer than {MAX_INPUT_SECONDS} s ({longest} samples), the most a "
            "config may ask for"
        )


def check_backend(config):
    """Raises if `distribution.strategy` needs another Keras backend than the one in use."""
    needed = STRATEGY_BACKENDS.get(config.distribution.strategy)
    if needed is None:
        return
    import keras

    backend = keras.config.backend()
    if backend != needed:
        hint = {
            "mirrored": "on JAX use strategy: data_parallel",
            "data_parallel": "on TensorFlow use strategy: mirrored",
        }[config.distribution.strategy]
        raise ConfigError(
            f"distribution.strategy: {config.distribution.strategy} needs the {needed} backend "
            f"(KERAS_BACKEND={needed}); this process runs {backend}: {hint}"
        )


def apply_overrides(values, overrides):
    """Applies `key.sub=value` strings (values parsed as YAML) to nested dicts, in place.

    `model.overrides.*` may hold any model argument; every other key is checked later by
    `from_dict`.
    """
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {show(item)}")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node = values
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {show(part)} is not a section")
        try:
            node[parts[-1]] = safe_yaml.load(raw)
        except yaml.YAMLError as error:
            raise ConfigError(f"--set {key}: not valid YAML: {one_line(error)}") from None
        except RecursionError:
            raise ConfigError(f"--set {key}: collections nested too deeply") from None
    return values


def merge(base, update):
    """`update` merged into a copy of `base`: mappings key by key, anything else replaced."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_values(path, _chain=()):
    """The nested dicts of a YAML config file, merged over the file its `extends:` names."""
    path = os.path.abspath(path)
    if path in _chain:
        raise ConfigError(f"{path} extends itself (through {' -> '.join(_chain)})")
    try:
        with open(path, encoding="utf-8") as f:
            values = safe_yaml.load(f) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {one_line(error)}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ConfigError(f"{path}: collections nested too deeply to be a config") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {show(values)}")
    base = values.pop("extends", None)
    if base is None:
        return values
    if not isinstance(base, str):
        raise ConfigError(f"{path}: 'extends' takes a file name, got {show(base)}")
    base = os.path.join(os.path.dirname(path), base)
    return merge(read_values(base, (*_chain, path)), values)


# An experiment config's keys that say what runs it (`keras_samplecnn.experiments.settings`):
# a training run from the same file leaves them out.
EXPERIMENT_KEYS = ("experiment", "dataset", "demo")


def load(path, overrides=(), overlays=()):
    """Reads a YAML config, merges overlays, applies `--set` overrides and validates it.

    Args:
        path: YAML file (may `extends:` another).
        overrides: iterable of `section.key=value` strings.
        overlays: YAML files merged on top of `path` in order, before `overrides`
            (profiles such as `keras_samplecnn/experiments/configs/profiles/cpu.yaml`).

    Returns:
        A `TrainConfig`.
    """
    values = read_values(path)
    experiment = values.get("experiment", "tagging")
    for key in EXPERIMENT_KEYS:  # what runs the config (keras_samplecnn.experiments), not training
        values.pop(key, None)
    for overlay in overlays:
        values = merge(values, read_values(overlay))
    try:
        return from_dict(apply_overrides(values, overrides))
    except ConfigError as error:
        if experiment == "tagging":
            raise
        # Most experiments are not one training run: say what runs this file.
        name = os.path.basename(path).rsplit(".", 1)[0]
        raise ConfigError(f"{error} ({path} configures the {show(experiment)} experiment: run it with "
                          f"`samplecnn run {name}`)") from None  # fmt: skip


def save(config, path):
    """Writes `config` as YAML (the copy kept with every run), atomically: a temporary file,
    flushed to disk, renamed over `path`, so a kill or a failure leaves the previous copy whole.

    Args:
        config: a `TrainConfig`.
        path: the YAML file to write.
    """
    with atomic_file(os.fspath(path), "w", encoding="utf-8") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
