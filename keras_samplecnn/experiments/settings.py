"""The one loader of experiment configs: a named YAML under `experiments/configs/` (or a path),
its `extends:` chain, a profile, the `demo:` section when `--demo` runs, and `--set` last,
validated against the experiment's schema with errors that name the key.

An experiment config holds, beside its experiment's own sections:

```yaml
experiment: tagging       # the keras_samplecnn.experiments module that runs it (default: tagging)
dataset: mtat             # tfrecords_tools.registry key: how the data is found, converted, synthesised
extends: mtat_base.yaml   # a file this one is merged over, section by section
demo:                     # what --demo changes
  profile: cpu            #   the profile merged over the config (configs/profiles/cpu.yaml)
  dataset: {n_clips: 800} #   the demo maker's arguments (--demo-size KEY=VALUE changes one)
  settings: {optimization: {max_epochs: 10}}  # merged over the config and profile
```

An experiment may keep more keys in its `demo:` section (seeds, a second dataset); its schema
(`DEMO_SCHEMA`) says which.
"""

import dataclasses
import os
import typing

from keras_samplecnn.training import config as config_lib
from keras_samplecnn.training.config import ConfigError

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
PROFILES = os.path.join(CONFIGS, "profiles")


@dataclasses.dataclass
class Demo:
    """A config's `demo:` section (the common keys; an experiment's `DEMO_SCHEMA` adds its own).

    Args:
        profile: the profile merged over the config under `--demo`.
        dataset: the keyword arguments of the dataset's demo maker.
        settings: values merged over the config and the profile under `--demo` (`--set` still wins).
    """

    profile: str = ""
    dataset: dict = dataclasses.field(default_factory=dict)
    settings: dict = dataclasses.field(default_factory=dict)


# `metadata` of a config field holding the seeds an experiment runs.
SEEDS = {"check": (lambda v: bool(v) and all(type(s) is int for s in v), "a non-empty list of ints")}


def _optional(test, what):
    return {"check": (lambda v: v is None or test(v), f"null or {what}")}


@dataclasses.dataclass
class Classifier:
    """A config's `aggregation.train_classifier` options (null or absent: that function's default);
    `--classifier KEY=VALUE` items go over them (`command.classifier_options`).

    Args:
        hidden: units of each hidden layer (0: a linear classifier).
        dropout: dropout after each hidden layer.
        epochs: most epochs.
        batch_size: clips per step.
        learning_rate: Adam's learning rate.
        patience: epochs without a better validation loss before stopping.
    """

    hidden: typing.Optional[int] = dataclasses.field(default=None, metadata=_optional(lambda v: v >= 0, "an int >= 0"))
    dropout: typing.Optional[float] = dataclasses.field(
        default=None, metadata=_optional(lambda v: 0 <= v < 1, "a number in [0, 1)"))
    epochs: typing.Optional[int] = dataclasses.field(default=None, metadata=_optional(lambda v: v >= 1, "an int >= 1"))
    batch_size: typing.Optional[int] = dataclasses.field(
        default=None, metadata=_optional(lambda v: v >= 1, "an int >= 1"))
    learning_rate: typing.Optional[float] = dataclasses.field(
        default=None, metadata=_optional(lambda v: v > 0, "a number > 0"))
    patience: typing.Optional[int] = dataclasses.field(
        default=None, metadata=_optional(lambda v: v >= 1, "an int >= 1"))  # fmt: skip

    def options(self):
        """The options given, as `train_classifier` keyword arguments."""
        return {key: value for key, value in dataclasses.asdict(self).items() if value is not None}


@dataclasses.dataclass
class Loaded:
    """A config read for one run.

    Args:
        name: the config's name (file name without `.yaml`).
        path: the YAML file.
        experiment: the experiment that runs it (`keras_samplecnn.experiments.<experiment>`).
        dataset: its dataset's registry key.
        values: the merged, overridden values, before the schema (the schema's input).
        config: the values built by the schema (a dataclass), or `values` when no schema is given.
        demo: the validated `demo:` section under `--demo`, else None.
    """

    name: str
    path: str
    experiment: str
    dataset: str
    values: dict
    config: object
    demo: object = None


def config_path(name):
    """The YAML file of a config: a path, or a name under `experiments/configs/`."""
    if os.path.exists(name) or name.endswith((".yaml", ".yml")) and os.sep in name:
        return name
    path = os.path.join(CONFIGS, f"{name.removesuffix('.yaml')}.yaml")
    if not os.path.exists(path):
        raise ConfigError(f"config {name!r}: no such file, and not one of {list_configs()}")
    return path


def list_configs():
    """The names of the packaged experiment configs (the `*_base.yaml` files, which only other
    configs extend, left out)."""
    names = []
    for file in sorted(os.listdir(CONFIGS)):
        if file.endswith(".yaml") and not file.endswith("_base.yaml"):
            names.append(file[: -len(".yaml")])
    return names


def profile_path(profile):
    """The YAML file of a profile: a name under `configs/profiles/`, or a path."""
    if os.path.exists(profile):
        return profile
    path = os.path.join(PROFILES, f"{profile}.yaml")
    if not os.path.exists(path):
        names = sorted(f[: -len(".yaml")] for f in os.listdir(PROFILES) if f.endswith(".yaml"))
        raise ConfigError(f"--profile {profile!r}: no such file, and not one of {names}")
    return path


def build(schema, values, path=""):
    """`values` (nested dicts) as the dataclass `schema`, every key and type checked
    (`training.config`'s rules: unknown keys named, ints accepted for floats, no NaN)."""
    return config_lib.build(schema, values, path)


def read(name):
    """`(path, experiment, dataset, demo values, values)` of a config, `extends:` merged."""
    path = config_path(name)
    values = config_lib.read_values(path)
    experiment = values.pop("experiment", "tagging")
    dataset = values.pop("dataset", "mtat")
    demo = values.pop("demo", None)
    for key, value in (("experiment", experiment), ("dataset", dataset)):
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected str, got {config_lib.show(value)}")
    return path, experiment, dataset, demo, values


def load(name, schema=None, demo=False, profile=None, sets=(), demo_schema=Demo, demo_sets=()):
    """Reads a config for one run: the file, the profile (`profile`, else with `demo` the `demo:`
    section's), with `demo` the section's settings, then `sets`, validated by `schema`.

    Args:
        name: a config name under `experiments/configs/` or a YAML path.
        schema: the dataclass the values must fit (None: a dict, unchecked; the experiment checks
            it, as `training.config.from_dict` does for a `TrainConfig`).
        demo: whether `--demo` runs: the `demo:` section applies.
        profile: a profile name or path given on the command line (wins over the demo's).
        sets: `section.key=value` overrides, applied last.
        demo_schema: the dataclass of the `demo:` section.
        demo_sets: `key=value` overrides of the `demo:` section (`--demo-size n_clips=200` is
            `dataset.n_clips=200`).

    Returns:
        a `Loaded`.
    """
    path, experiment, dataset, demo_values, values = read(name)
    demo_section = None
    if demo:
        demo_values = config_lib.apply_overrides(dict(demo_values or {}), demo_sets)
        demo_section = build(demo_schema, demo_values, "demo")
        profile = profile or demo_section.profile or None
    if profile:
        values = config_lib.merge(values, config_lib.read_values(profile_path(profile)))
    if demo_section is not None:
        # After the profile: a demo may hold what one model needs beyond it (fewer epochs for
        # the costlier ReSE-2 model, to keep every demo within its time on a slow machine).
        values = config_lib.merge(values, demo_section.settings)
    values = config_lib.apply_overrides(values, sets)
    config = build(schema, values) if schema is not None else values
    stem = os.path.basename(path).rsplit(".", 1)[0]
    return Loaded(stem, path, experiment, dataset, values, config, demo_section)
