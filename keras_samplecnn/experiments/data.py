"""An experiment's data: a converted folder given, a raw dataset folder converted once (resumably),
or the dataset's synthetic demo written and converted, each step skipped when already done.
How each dataset is recognised, converted and synthesised is `tfrecords_tools.registry`'s.
"""

import contextlib
import inspect
import os

from tfrecords_tools.registry import DATASETS


class ExperimentError(Exception):
    """A run that cannot go on: missing or unusable data, a bad option. Its text is the whole message."""


def dataset_of(name):
    """The registry entry of a dataset key (`mtat`, `speech_commands`, ...)."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ExperimentError(f"error: dataset: {name!r} is not one of {sorted(DATASETS)}") from None


def convert(dataset, root, out_dir, segment_length, sample_rate, workers=None, extra=()):
    """Converts a raw dataset folder with `python -m tfrecords_tools`, unless already done.

    The converter applies the dataset's own rules (its official or papers' split, tiling of
    short clips); this passes the model's segment length and sample rate and `extra` options.

    Returns:
        `out_dir`.
    """
    from keras_samplecnn.data.schema import MANIFEST
    from tfrecords_tools.cli import main as convert_main

    if os.path.exists(os.path.join(out_dir, MANIFEST)):
        return out_dir
    argv = [dataset.command, dataset.root_flag, root, "--out", out_dir, "--segment-length", str(segment_length),
            "--sample-rate", str(sample_rate), *extra]  # fmt: skip
    if workers:
        argv += ["--workers", str(workers)]
    code = convert_main(argv)
    if code != 0:
        raise ExperimentError(f"conversion of {root} failed (exit {code}); rerun the same command to resume")
    return out_dir


def option_values(dataset, args):
    """`{flag: value}` of the converter options an experiment's own flags stand for (`--variant 12`)."""
    return {
        flag: str(getattr(args, flag.lstrip("-").replace("-", "_"))) for flag, _ in dataset.convert_options
    }


def find_data(dataset, data, out_dir, script, segment_length, sample_rate, workers=None, extra=()):
    """A converted TFRecords folder: `data` itself, or `data` converted into `out_dir/tfrecords`.

    Raises:
        ExperimentError: with the dataset's download help when `data` is neither.
    """
    from keras_samplecnn.data.schema import MANIFEST

    where = f" at {data!r}" if data else " (no --data given and the config's data.dir is empty)"
    if not data or not os.path.isdir(data):
        raise ExperimentError(dataset.download_help.format(where=where, script=script))
    if os.path.exists(os.path.join(data, MANIFEST)):
        return data
    # A dataset without markers (a folder of your own audio) takes any folder as raw data.
    if not dataset.markers or any(os.path.exists(os.path.join(data, marker)) for marker in dataset.markers):
        extra = [*dataset.real_data_options, *extra]
        return convert(
            dataset, data, os.path.join(out_dir, "tfrecords"), segment_length, sample_rate, workers, extra
        )
    markers = " nor ".join(dataset.markers)
    where = f" in {data!r} (neither manifest.json nor {markers})"
    raise ExperimentError(dataset.download_help.format(where=where, script=script))


def synthesise_demo(dataset, out_dir, size, workers=None, timings=None):
    """Writes the dataset's demo folder into `out_dir` (skipped if complete); returns its root.

    Args:
        dataset: a registry `Dataset` with a demo.
        out_dir: the run folder; the demo goes to `<out_dir>/<demo folder>`.
        size: the demo maker's keyword arguments (e.g. `n_clips`, `clip_seconds`, `seed` for MTAT).
        workers: processes for synthesis.
        timings: a `results.Timings` that gets a "synthesis" phase.

    Raises:
        ExperimentError: for a size key the maker does not take, naming the keys it does.
    """
    demo = dataset.demo
    make = demo.maker()
    allowed = [name for name in inspect.signature(make).parameters if name not in ("directory", "workers", "progress")]
    unknown = sorted(set(size) - set(allowed))
    if unknown:
        raise ExperimentError(f"error: --demo-size: unknown key(s) {unknown}; {demo.function} takes {allowed}")
    root = os.path.join(out_dir, demo.folder)
    complete = os.path.join(root, ".complete")  # written last: an interrupted synthesis is redone
    if not os.path.exists(complete):
        print(f"Synthesising the demo dataset in {root} ...")
        with timings("synthesis") if timings is not None else contextlib.nullcontext():
            make(root, workers=workers, **size)
        open(complete, "w").close()
    return root


def demo_data(dataset, out_dir, size, segment_length, sample_rate, workers, timings, extra=()):
    """Synthesises the dataset's demo folder and converts it, each step skipped if already done."""
    root = synthesise_demo(dataset, out_dir, size, workers, timings)
    with timings("conversion"):
        return convert(
            dataset, root, os.path.join(out_dir, "tfrecords"), segment_length, sample_rate, workers, extra
        )


def require_splits(data_dir, splits):
    """Raises with a clear message when a split the experiment needs holds no clip."""
    from keras_samplecnn.data import pipeline

    manifest = pipeline.read_manifest(data_dir)
    empty = [split for split in splits if not manifest.num_clips(split)]
    if empty:
        raise ExperimentError(
            f"error: the {' and '.join(empty)} split(s) of {data_dir} hold no clip "
            f"({', '.join(f'{s} {manifest.num_clips(s)}' for s in splits)} clips): too little data for "
            "this split rule; use more clips, or another split (e.g. --split official for DCASE)"
        )


def model_segment_length(model_args):
    """The input length in samples of a model given by its constructor arguments (not built)."""
    from keras_samplecnn.models.backbone import input_geometry

    keys = ("m", "n", "input_length", "stem_size", "pool_sizes")
    return input_geometry(**{k: model_args[k] for k in keys if k in model_args})[0]


def model_input(name, overrides):
    """`(segment length, sample rate)` the data must be converted for, for a model preset name and
    its overrides, without building the model."""
    from keras_samplecnn.models import preset_config

    try:
        model_args = {**preset_config(name), **overrides}
    except ValueError as error:
        raise ExperimentError(f"error: model.name: {error}") from None
    return model_segment_length(model_args), model_args.get("sample_rate", 22050)
