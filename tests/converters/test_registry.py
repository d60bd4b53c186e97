"""The dataset registry: every entry names a converter that follows the converter pattern, a
demo maker that exists, and the command line of `python -m tfrecords_tools` is read from it."""

import importlib
import inspect

import pytest

from tfrecords_tools import registry
from tfrecords_tools.cli import build_parser


@pytest.mark.parametrize("key", sorted(registry.DATASETS))
def test_each_converter_follows_the_pattern(key):
    dataset = registry.DATASETS[key]
    module = dataset.converter_module()
    for name in ("add_arguments", "plan_from_args", "plan", "DEFAULTS"):
        assert hasattr(module, name), f"tfrecords_tools.{dataset.converter} lacks {name}"
    assert registry.by_command(dataset.command) is dataset
    # The raw-folder option the experiments pass exists on the converter's command line.
    subparser = _subcommands(build_parser())[dataset.command]
    assert dataset.root_flag in subparser._option_string_actions
    flags = [flag for flag, _ in dataset.convert_options] + list(dataset.real_data_options[:1])
    for flag in flags:
        assert flag in subparser._option_string_actions, flag


def _subcommands(parser):
    return next(a for a in parser._actions if a.dest == "command").choices


@pytest.mark.parametrize("name", sorted(registry.demos()))
def test_each_demo_names_a_maker_and_a_command(name):
    demo = registry.demos()[name]
    maker = demo.maker()
    assert maker.__name__ == demo.function
    assert "directory" in inspect.signature(maker).parameters
    assert callable(importlib.import_module(f"keras_samplecnn.datasets.{demo.module}").main)


def test_every_demo_of_the_package_is_registered():
    # Seven datasets have a demo; a new demo module without a registry entry fails here.
    import pkgutil

    import keras_samplecnn.datasets as package

    modules = {m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("demo_")}
    registered = {demo.module for demo in registry.demos().values()}
    helpers = {"demo_music"}  # shared music synthesis, not a dataset of its own
    assert modules - helpers - registered == set()
    assert len(registered) == 7


def test_the_subcommands_are_the_registry():
    assert {d.command for d in registry.DATASETS.values()} <= set(_subcommands(build_parser()))
