"""The options every experiment's command line shares (`--data`, `--out`, `--profile`, `--set`,
`--demo`, `--demo-size`, `--workers`); an experiment adds its own."""

import argparse
import dataclasses
import json
import os
import sys

from keras_samplecnn.experiments.data import ExperimentError
from keras_samplecnn.training.config import ConfigError


def parser(doc, prog=None, data_help="converted TFRecords (manifest.json) or the raw dataset folder",
           set_example="optimization.learning_rate=0.005", demo_size_example="n_clips=200"):  # fmt: skip
    """An argument parser with the shared options.

    Args:
        doc: its description (`--help`).
        prog: the command's name.
        data_help: what `--data` takes for this experiment.
        set_example: an override of this experiment's config, for `--set`'s help.
        demo_size_example: a key of this experiment's demo dataset, for `--demo-size`'s help.
    """
    result = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("--data", help=data_help)
    result.add_argument("--out", help="output folder (default: the config's output.dir)")
    result.add_argument("--profile", metavar="NAME",
                        help="settings merged over the config: experiments/configs/profiles/NAME.yaml or a YAML "
                             "path (cpu: the demo's CPU-sized model and schedule)")  # fmt: skip
    result.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a config key, e.g. --set {set_example}")  # fmt: skip
    result.add_argument("--demo", action="store_true",
                        help="generate the synthetic demo dataset, convert, train and evaluate with the "
                             "config's demo settings")  # fmt: skip
    result.add_argument("--demo-size", action="append", default=[], metavar="KEY=VALUE",
                        help=f"change the demo dataset's size, e.g. {demo_size_example} (keys: the config's "
                             "demo.dataset section)")  # fmt: skip
    result.add_argument("--workers", type=int, default=None, help="processes for demo synthesis and conversion")
    return result


def script(prog, config):
    """How the user started this run, for messages that say what to run next."""
    if prog:
        return prog
    if sys.argv and sys.argv[0] and sys.argv[0].endswith(".py"):
        return os.path.relpath(sys.argv[0])
    return f"samplecnn run {config}"


def demo_sizes(items):
    """`--demo-size KEY=VALUE` items as overrides of the `demo:` section's `dataset`."""
    return [f"dataset.{item}" if "=" in item else item for item in items]


def as_sets(values, prefix=""):
    """Nested values (a `demo.settings` section) as `section.key=value` items for `--set`, for an
    experiment that hands them to the training runs it starts."""
    items = []
    for key, value in values.items():
        if isinstance(value, dict) and value:
            items += as_sets(value, f"{prefix}{key}.")
        else:
            items.append(f"{prefix}{key}={json.dumps(value)}")  # JSON is YAML: `--set` reads it back
    return items


def quiet():
    """An experiment is a command: TensorFlow's native chatter stays off the terminal."""
    from keras_samplecnn.quiet import filter_native_logs

    filter_native_logs()


def seeds(text, default=(0,)):
    """`--seeds "0,1,2"` as ints; without it `default` (a demo's seeds, else [0])."""
    if not text:
        return list(default)
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ExperimentError(f"error: --seeds takes comma-separated integers, got {text!r}") from None


def classifier_options(items, defaults):
    """`aggregation.train_classifier` options: `defaults` with `--classifier KEY=VALUE` items over
    them, each checked as a config's `classifier` section is (`settings.Classifier`)."""
    from keras_samplecnn.experiments.settings import Classifier, build
    from keras_samplecnn.safe_yaml import load

    keys = [field.name for field in dataclasses.fields(Classifier)]
    given = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in keys or not value:
            raise ExperimentError(f"error: --classifier {item!r}: use KEY=VALUE with KEY one of {sorted(keys)}")
        given[key] = load(value)
    try:
        return {**defaults, **build(Classifier, given, "--classifier").options()}
    except ConfigError as error:
        raise ExperimentError(f"error: {error}") from None
