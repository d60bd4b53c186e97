"""What every recipe does: find or convert the data, train, evaluate, report.

A recipe is `run(<config name>, __doc__, dataset=<name>)`; see `recipes/mtat_se.py`. Its
config is `configs/<name>.yaml`; `--profile NAME` merges `configs/profiles/NAME.yaml` (or any
YAML file) on top, `--set` overrides last. `--demo` runs on the dataset's synthetic demo
(in the real layout) with the profile its demo file names (`configs/demo.yaml` for MTAT,
`configs/demo_<dataset>.yaml` for the others).
"""

import argparse
import contextlib
import dataclasses
import os
import sys
import time

STARTED = time.monotonic()  # the recipe's own start, so that the timings include importing TensorFlow
HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")

MTAT_HELP = """\
No MagnaTagATune data found{where}.

Download MagnaTagATune (https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset):
  mp3.zip.001, mp3.zip.002, mp3.zip.003   (cat them into one zip, unzip: folders 0/ ... f/)
  annotations_final.csv                   (and clip_info_final.csv)
into one folder, e.g. data/mtat/, so that data/mtat/annotations_final.csv and data/mtat/0/
exist, then run:
  python {script} --data data/mtat
The first run converts the mp3s to TFRecords in <out>/tfrecords (resumable), later runs reuse them.
A folder already converted with `python -m tfrecords_tools mtat` (it holds manifest.json)
can be given to --data directly.

No data at hand? `python {script} --demo` runs the whole recipe on a synthetic demo dataset
in MTAT's exact layout (a few minutes on a 2-core CPU).
"""

SPEECH_COMMANDS_HELP = """\
No Speech Commands data found{where}.

Download Speech Commands v0.02 (Warden 2018; 2.3 GB, 105,829 one-second 16 kHz wavs):
  http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz
and extract it into one folder, e.g. data/speech_commands_v0.02/, so that
data/speech_commands_v0.02/validation_list.txt and data/speech_commands_v0.02/yes/ exist, then run:
  python {script} --data data/speech_commands_v0.02
The first run converts the wavs to TFRecords in <out>/tfrecords (resumable), later runs reuse them.
A folder already converted with `python -m tfrecords_tools speech-commands` (it holds
manifest.json) can be given to --data directly.

No data at hand? `python {script} --demo` runs the whole recipe on synthetic words in the
Speech Commands layout (a few minutes on a 2-core CPU).
"""

DCASE2017_HELP = """\
No DCASE 2017 Task 4 data found{where}.

Get the task's lists and labels from its repository
  https://github.com/ankitshah009/Task-4-Large-scale-weakly-supervised-sound-event-detection-for-smart-cars
(groundtruth_weak_label_training_set.csv, groundtruth_weak_label_testing_set.csv,
groundtruth_release/groundtruth_weak_label_evaluation_set.csv) and download the audio with its
download script (52,763 ten-second AudioSet clips from YouTube, about 22 GB as wav; some videos
are gone, the converter lists them in rejected.csv) into one folder, e.g. data/dcase2017/, with
the audio in unbalanced_train_segments_training_set_audio_formatted_and_segmented_downloads/,
unbalanced_train_segments_testing_set_audio_formatted_and_segmented_downloads/ and
evaluation_set_formatted_audio_segments/, then run:
  python {script} --data data/dcase2017
A folder already converted with `python -m tfrecords_tools dcase2017` (manifest.json) can be
given to --data directly.

No data at hand? `python {script} --demo` runs the whole recipe on synthetic street sounds in
the DCASE 2017 Task 4 layout (a few minutes on a 2-core CPU).
"""


GTZAN_HELP = """\
No GTZAN data found{where}.

Get the GTZAN genre collection (Tzanetakis & Cook 2002; 1,000 30-s clips, 10 genres) and unpack
it into one folder, e.g. data/gtzan/, so that data/gtzan/genres/blues/blues.00000.au (or the
Kaggle copy's genres_original/blues/blues.00000.wav) exists, then run:
  python {script} --data data/gtzan
It is converted with the fault-filtered split of Kereliuk, Sturm & Larsen 2015 (443 / 197 / 290
clips, the split of the SPL 2017 paper), packaged with keras_samplecnn.

No data at hand? `python {script} --demo` uses synthetic genres in GTZAN's layout.
"""

FOLDER_HELP = """\
No audio folder found{where}.

Give --data the folder of your audio files and --labels a CSV with `path` and `class` (or
`tags`) columns, optionally `split` (see `python -m tfrecords_tools folder --help`), or a
folder already converted with `python -m tfrecords_tools folder` (it holds manifest.json).
"""


ARTISTS_HELP = """\
No artist data found{where}.

Give --artists a folder converted by `python -m tfrecords_tools artists` (it holds
manifest.json), or your audio folder with --artist-labels CSV (columns path,artist and
optionally track_id,album; paths relative to the folder) or, for Million Song Dataset audio
named by track id, --msd-tracks unique_tracks.txt. The paper keeps 20 tracks per artist
(15 / 3 / 2 for training / validation / test; --tracks-per-artist).

No data at hand? `python {script} --demo` uses synthetic artists.
"""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """How a recipe finds, converts and fakes one dataset.

    Args:
        command: the `python -m tfrecords_tools` subcommand that converts it.
        markers: files (relative to the raw root) of which one marks the raw layout.
        download_help: the message printed when no data is found.
        demo_config: the `configs/` file with the demo's profile and size (None: no recipe
            of its own has a demo on it).
        convert_options: recipe options passed on to the converter, `(flag, kwargs)`.
        real_data_options: converter options for the real dataset only, not its demo (MTAT:
            the papers' packaged split lists, whose file names the demo does not have).
        root_flag: the converter's option for the raw folder.
    """

    command: str
    markers: tuple
    download_help: str
    demo_config: str | None
    convert_options: tuple = ()
    real_data_options: tuple = ()
    root_flag: str = "--root"


DATASETS = {
    "mtat": Dataset(
        "mtat",
        ("annotations_final.csv",),
        MTAT_HELP,
        "demo.yaml",
        real_data_options=("--split-files", "reference"),
    ),
    "speech_commands": Dataset(
        "speech-commands",
        ("validation_list.txt",),
        SPEECH_COMMANDS_HELP,
        "demo_speech_commands.yaml",
        (
            (
                "--variant",
                {
                    "choices": ("35", "12"),
                    "default": "35",
                    "help": "35 words (default), or the 12-class yes/no/.../_silence_/_unknown_ variant",
                },
            ),
        ),
    ),  # fmt: skip
    "dcase2017": Dataset(
        "dcase2017",
        (
            "groundtruth_weak_label_training_set.csv",
            "groundtruth_release/groundtruth_weak_label_training_set.csv",
        ),
        DCASE2017_HELP,
        "demo_dcase2017.yaml",
        (
            (
                "--split",
                {
                    "choices": ("jstsp", "official"),
                    "default": "jstsp",
                    "help": "jstsp: 10%% of training+testing held out for validation, evaluation as test "
                    "(default); official: training / testing / evaluation",
                },
            ),
        ),
    ),  # fmt: skip
    "gtzan": Dataset(
        "gtzan",
        ("genres", "genres_original"),
        GTZAN_HELP,
        None,
        real_data_options=("--split-files", "filtered"),
    ),
    "folder": Dataset("folder", (), FOLDER_HELP, None, root_flag="--audio-dir"),
    "artists": Dataset("artists", (), ARTISTS_HELP, None, root_flag="--audio-dir"),
}


def parse_args(doc, argv, dataset=DATASETS["mtat"]):
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="converted TFRecords (manifest.json) or the raw dataset folder")
    parser.add_argument("--out", help="output folder (default: the config's output.dir)")
    parser.add_argument("--profile", metavar="NAME",
                        help="settings merged over the config: configs/profiles/NAME.yaml or a YAML path "
                             "(cpu: the demo's CPU-sized model and schedule)")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set optimization.learning_rate=0.005")  # fmt: skip
    parser.add_argument("--seed", type=int, help="training seed (optimization.seed)")
    parser.add_argument("--demo", action="store_true",
                        help="generate the synthetic demo dataset, convert, train and evaluate with the cpu profile")  # fmt: skip
    parser.add_argument("--demo-size", action="append", default=[], metavar="KEY=VALUE",
                        help="change the demo dataset's size, e.g. n_clips=200 (keys: the demo file's dataset section)")  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=None, help="processes for demo synthesis and conversion"
    )
    for flag, kwargs in dataset.convert_options:
        parser.add_argument(flag, **kwargs)
    return parser.parse_args(argv)


def convert(dataset, root, out_dir, segment_length, sample_rate, workers=None, extra=()):
    """Converts a raw dataset folder with `python -m tfrecords_tools`, unless already done.

    The converter applies the dataset's own rules (its official or papers' split, tiling of
    short clips); this passes the model's segment length and sample rate and `extra` options.
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
        sys.exit(f"conversion of {root} failed (exit {code}); rerun the same command to resume")
    return out_dir


def convert_options(dataset, args):
    """`{flag: value}` of the converter options a recipe's own flags stand for (e.g. `--variant 12`)."""
    return {
        flag: str(getattr(args, flag.lstrip("-").replace("-", "_"))) for flag, _ in dataset.convert_options
    }


def find_data(dataset, data, out_dir, script, segment_length, sample_rate, workers, extra=()):
    """A converted TFRecords folder: `data` itself, or `data` converted into `out_dir/tfrecords`."""
    from keras_samplecnn.data.schema import MANIFEST

    where = f" at {data!r}" if data else " (no --data given and the config's data.dir is empty)"
    if not data or not os.path.isdir(data):
        sys.exit(dataset.download_help.format(where=where, script=script))
    if os.path.exists(os.path.join(data, MANIFEST)):
        return data
    # A dataset without markers (a folder of your own audio) takes any folder as raw data.
    if not dataset.markers or any(os.path.exists(os.path.join(data, marker)) for marker in dataset.markers):
        extra = [*dataset.real_data_options, *extra]
        return convert(
            dataset, data, os.path.join(out_dir, "tfrecords"), segment_length, sample_rate, workers, extra
        )
    markers = " nor ".join(dataset.markers)
    sys.exit(dataset.download_help.format(where=f" in {data!r} (neither manifest.json nor {markers})",
                                          script=script))  # fmt: skip


def run(config_name, doc, argv=None, dataset="mtat"):
    """Runs a recipe: `configs/<config_name>.yaml`, a `--profile` over it (`--demo`: the demo file's), `--set` last.

    Args:
        config_name: the recipe's config in `configs/`.
        doc: the recipe's docstring, its `--help`.
        argv: command-line arguments (default `sys.argv[1:]`).
        dataset: a key of `DATASETS`: how to find, convert and synthesise the data.

    Returns:
        the evaluation results dict.
    """
    dataset = DATASETS[dataset]
    args = parse_args(doc, argv, dataset)
    from keras_samplecnn.quiet import filter_native_logs

    filter_native_logs()  # a recipe is a command: keep TensorFlow's native chatter off the terminal
    from keras_samplecnn.training import config as config_lib

    script = os.path.relpath(sys.argv[0]) if sys.argv and sys.argv[0] else f"recipes/{config_name}.py"
    overrides = list(args.set)
    if args.seed is not None:
        overrides.append(f"optimization.seed={args.seed}")
    demo = read_yaml(os.path.join(CONFIGS, dataset.demo_config)) if args.demo else None
    profile = args.profile or (demo["profile"] if demo else None)
    try:
        overlays = [profile_path(profile)] if profile else []
        path = os.path.join(CONFIGS, f"{config_name}.yaml")
        config = config_lib.load(path, overrides, overlays)
        # A demo may hold settings for one model (e.g. fewer epochs for the costlier ReSE-2
        # model, to keep every demo within its time on a slow machine); --set still wins.
        demo_sets = (demo or {}).get("models", {}).get(config.model.name, [])
        if demo_sets:
            config = config_lib.load(path, [*demo_sets, *overrides], overlays)
    except config_lib.ConfigError as error:
        sys.exit(f"error: {error}")
    options = convert_options(dataset, args)
    extra = [item for flag, value in options.items() for item in (flag, value)]
    # A converter option off its default gets its own run folder (runs/speech_commands_basic_12).
    defaults = {flag: kwargs["default"] for flag, kwargs in dataset.convert_options}
    variant = "".join(f"_{value}" for flag, value in options.items() if value != defaults[flag])
    out_dir = args.out or (config.output.dir + variant + ("_demo" if args.demo else ""))
    config.output.dir = out_dir

    from keras_samplecnn.models import preset_config

    # The segment length and rate the data must be converted for, without building the model.
    try:
        model_args = {**preset_config(config.model.name), **config.model.overrides}
    except ValueError as error:
        sys.exit(f"error: model.name: {error}")
    segment_length = model_segment_length(model_args)
    sample_rate = model_args.get("sample_rate", 22050)

    timings = Timings({"start-up": time.monotonic() - STARTED})
    if args.demo:
        size = demo_size(dataset, args.demo_size)
        data_dir = make_demo_data(
            dataset, out_dir, size, segment_length, sample_rate, args.workers, timings, extra
        )
    else:
        with timings("conversion"):
            data_dir = find_data(dataset, args.data or config.data.dir, out_dir, script, segment_length,
                                 sample_rate, args.workers, extra)  # fmt: skip
    config.data.dir = data_dir
    require_splits(data_dir, (config.data.train_split, config.data.valid_split, config.data.test_split))

    from keras_samplecnn.evaluation import evaluate
    from keras_samplecnn.training.trainer import LOG, read_state, train

    with timings("training"):
        try:
            best = train(config)
        except config_lib.ConfigError as error:  # e.g. a profile's sample rate that is not the data's
            sys.exit(f"error: {error}")
    with timings("evaluation"):
        results = evaluate(best, data_dir, split=config.data.test_split,
                           out_dir=os.path.join(out_dir, "evaluation"), training_log=os.path.join(out_dir, LOG),
                           threshold=config.evaluation.threshold, tune_on=config.evaluation.tune_on)  # fmt: skip
    timings.save(os.path.join(out_dir, "timings.json"))
    print_summary(results, out_dir, timings, read_state(out_dir))
    return results


def model_segment_length(model_args):
    """The input length in samples of a model given by its constructor arguments (not built)."""
    from keras_samplecnn.models.backbone import input_geometry

    keys = ("m", "n", "input_length", "stem_size", "pool_sizes")
    return input_geometry(**{k: model_args[k] for k in keys if k in model_args})[0]


def require_splits(data_dir, splits):
    """Stops with a clear message when a split the recipe needs holds no clip."""
    from keras_samplecnn.data import pipeline

    manifest = pipeline.read_manifest(data_dir)
    empty = [split for split in splits if not manifest.num_clips(split)]
    if empty:
        sys.exit(f"error: the {' and '.join(empty)} split(s) of {data_dir} hold no clip "
                 f"({', '.join(f'{s} {manifest.num_clips(s)}' for s in splits)} clips): too little data for "
                 "this split rule; use more clips, or another split (e.g. --split official for DCASE)")  # fmt: skip


class Timings(dict):
    """Wall-clock seconds per phase of this invocation, saved with the machine's matmul peak."""

    @contextlib.contextmanager
    def __call__(self, phase):
        start = time.monotonic()
        yield
        self[phase] = self.get(phase, 0.0) + time.monotonic() - start

    def save(self, path):
        from keras_samplecnn.benchmarking import matmul_peak
        from keras_samplecnn.files import write_json_atomic

        self.peak = matmul_peak()
        write_json_atomic(path, {"seconds": dict(self), "total_seconds": sum(self.values()),
                                 "float32_matmul_peak_flops": self.peak})  # fmt: skip


def demo_file(name, overrides):
    """A recipe's demo file under configs/ with `--demo-size` items applied (keys as
    `dataset.num_users=100`)."""
    from keras_samplecnn.training import config as config_lib

    demo = read_yaml(os.path.join(CONFIGS, name))
    try:
        return config_lib.apply_overrides(demo, overrides)
    except config_lib.ConfigError as error:
        sys.exit(f"error: --demo-size: {error}")


def save_table(out, stem, text, payload):
    """Writes a recipe's table as `<out>/<stem>.md` (`text`) and `.json` (`payload`), and prints it."""
    from keras_samplecnn.files import write_json_atomic

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{stem}.md"), "w", encoding="utf-8") as handle:
        handle.write(text)
    write_json_atomic(os.path.join(out, f"{stem}.json"), payload)
    print()
    print(text, end="")
    print(f"Table: {os.path.join(out, stem + '.md')} (and .json with every seed's numbers)")


def profile_path(profile):
    """The YAML file of a profile: a name under configs/profiles/, or a path."""
    from keras_samplecnn.training.config import ConfigError

    if os.path.exists(profile):
        return profile
    path = os.path.join(CONFIGS, "profiles", f"{profile}.yaml")
    if not os.path.exists(path):
        names = sorted(f[:-5] for f in os.listdir(os.path.join(CONFIGS, "profiles")) if f.endswith(".yaml"))
        raise ConfigError(f"--profile {profile!r}: no such file, and not one of {names}")
    return path


def read_yaml(path):
    """A demo or config file's YAML, aliases refused (`keras_samplecnn.safe_yaml`)."""
    from keras_samplecnn import safe_yaml

    with open(path, encoding="utf-8") as f:
        return safe_yaml.load(f)


DEMO_MAKERS = {
    # dataset command -> (module, function, folder name)
    "mtat": ("keras_samplecnn.datasets.demo_mtat", "make_demo_mtat", "demo_mtat"),
    "speech-commands": ("keras_samplecnn.datasets.demo_speech_commands", "make_demo_speech_commands",
                        "demo_speech_commands"),
    "dcase2017": ("keras_samplecnn.datasets.demo_dcase2017", "make_demo_dcase2017", "demo_dcase2017"),
    "gtzan": ("keras_samplecnn.datasets.demo_gtzan", "make_demo_gtzan", "demo_gtzan"),
    "artists": ("keras_samplecnn.datasets.demo_artists", "make_demo_artists", "demo_artists"),
}  # fmt: skip


def demo_size(dataset, overrides, demo_config=None):
    """The demo maker's keyword arguments: the demo file's `dataset` section with `--demo-size` applied.

    `demo_config` names another demo file than the dataset's own (a recipe with its own demo).
    """
    from keras_samplecnn.training import config as config_lib

    demo = read_yaml(os.path.join(CONFIGS, demo_config or dataset.demo_config))
    try:
        return config_lib.apply_overrides(dict(demo["dataset"]), overrides)
    except config_lib.ConfigError as error:
        sys.exit(f"error: --demo-size: {error}")


def synthesise_demo(dataset, out_dir, size, workers, timings=None):
    """Writes the dataset's demo folder into `out_dir` (skipped if complete); returns its root.

    `size` holds the keyword arguments of the demo maker (`demo_size`: e.g. `n_clips`,
    `clip_seconds` and `seed` for MTAT); an unknown key stops with the keys it takes.
    """
    import importlib
    import inspect

    module, function, folder = DEMO_MAKERS[dataset.command]
    make = getattr(importlib.import_module(module), function)
    allowed = [
        name
        for name in inspect.signature(make).parameters
        if name not in ("directory", "workers", "progress")
    ]
    unknown = sorted(set(size) - set(allowed))
    if unknown:
        sys.exit(f"error: --demo-size: unknown key(s) {unknown}; {function} takes {allowed}")
    root = os.path.join(out_dir, folder)
    complete = os.path.join(root, ".complete")  # written last: an interrupted synthesis is redone
    if not os.path.exists(complete):
        print(f"Synthesising the demo dataset in {root} ...")
        with timings("synthesis") if timings is not None else contextlib.nullcontext():
            make(root, workers=workers, **size)
        open(complete, "w").close()
    return root


def make_demo_data(dataset, out_dir, size, segment_length, sample_rate, workers, timings, extra=()):
    """Synthesises the dataset's demo folder and converts it, each step skipped if already done."""
    root = synthesise_demo(dataset, out_dir, size, workers, timings)
    with timings("conversion"):
        return convert(
            dataset, root, os.path.join(out_dir, "tfrecords"), segment_length, sample_rate, workers, extra
        )


def print_summary(results, out_dir, timings, state):
    from keras_samplecnn.benchmarking import describe_peak
    from keras_samplecnn.evaluation.evaluator import summary_lines

    print()
    if state.get("cut_short_by_time_budget"):
        print(
            "NOTE: training was stopped by the time budget (optimization.max_minutes) before the configured"
        )
        print("      epochs ended: the numbers below are not the configured run's result.")
    print(f"Clip-level results on the {results['split']} split ({results['num_clips']} clips):")
    for line in summary_lines(results):
        print(f"  {line}")
    if results["excluded_tags"]:
        print(f"  left out (no positive clip): {', '.join(results['excluded_tags'])}")
    phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    print(f"Report: {os.path.join(out_dir, 'evaluation', 'report.md')}")
    print(f"Time: {phases}; total {sum(timings.values()) / 60:.1f} min on this machine "
          f"({describe_peak(timings.peak)})")  # fmt: skip
