"""What every MTAT recipe does: find or convert the data, train, evaluate, report.

A recipe is `run(<config name>, __doc__)`; see `recipes/mtat_se.py`. Its config is
`configs/<name>.yaml`; `--profile NAME` merges `configs/profiles/NAME.yaml` (or any YAML file)
on top, `--set` overrides last. `--demo` runs on the synthetic demo dataset with the profile
that `configs/demo.yaml` names (`cpu`).
"""

import argparse
import contextlib
import os
import sys
import time


STARTED = time.monotonic()  # the recipe's own start, so that the timings include importing TensorFlow
HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")

DOWNLOAD_HELP = """\
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


def parse_args(doc, argv):
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="converted TFRecords (manifest.json) or the raw MTAT folder")
    parser.add_argument("--out", help="output folder (default: the config's output.dir)")
    parser.add_argument("--profile", metavar="NAME",
                        help="settings merged over the config: configs/profiles/NAME.yaml or a YAML path "
                             "(cpu: the demo's CPU-sized model and schedule)")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set optimization.learning_rate=0.005")  # fmt: skip
    parser.add_argument("--seed", type=int, help="training seed (optimization.seed)")
    parser.add_argument("--demo", action="store_true",
                        help="generate the synthetic demo dataset, convert, train and evaluate with the cpu profile")  # fmt: skip
    parser.add_argument("--demo-clips", type=int, default=None, help="clips in the demo dataset")
    parser.add_argument("--demo-seconds", type=float, default=None, help="length of each demo clip")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes for demo synthesis and conversion"
    )
    return parser.parse_args(argv)


def convert_mtat(root, out_dir, segment_length, sample_rate, workers=None, reference_split=True):
    """Converts an MTAT-layout folder, unless already done.

    The real MTAT uses the packaged reference split of the papers (15,244 / 1,529 / 4,332
    clips); the demo data, whose file names are its own, uses the folder rule it follows.
    """
    from keras_samplecnn.data.schema import MANIFEST
    from tfrecords_tools.cli import main as convert_main

    if os.path.exists(os.path.join(out_dir, MANIFEST)):
        return out_dir
    argv = ["mtat", "--root", root, "--out", out_dir, "--segment-length", str(segment_length),
            "--sample-rate", str(sample_rate)]  # fmt: skip
    if reference_split:
        argv += ["--split-files", "reference"]
    if workers:
        argv += ["--workers", str(workers)]
    code = convert_main(argv)
    if code != 0:
        sys.exit(f"conversion of {root} failed (exit {code}); rerun the same command to resume")
    return out_dir


def find_data(data, out_dir, script, segment_length, sample_rate, workers):
    """A converted TFRecords folder: `data` itself, or `data` converted into `out_dir/tfrecords`."""
    from keras_samplecnn.data.schema import MANIFEST

    where = f" at {data!r}" if data else " (no --data given and the config's data.dir is empty)"
    if not data or not os.path.isdir(data):
        sys.exit(DOWNLOAD_HELP.format(where=where, script=script))
    if os.path.exists(os.path.join(data, MANIFEST)):
        return data
    if os.path.exists(os.path.join(data, "annotations_final.csv")):
        return convert_mtat(data, os.path.join(out_dir, "tfrecords"), segment_length, sample_rate, workers)
    sys.exit(DOWNLOAD_HELP.format(where=f" in {data!r} (neither manifest.json nor annotations_final.csv)",
                                  script=script))  # fmt: skip


def run(config_name, doc, argv=None):
    """Runs a recipe: `configs/<config_name>.yaml`, a `--profile` over it (`--demo`: demo.yaml's), `--set` last."""
    args = parse_args(doc, argv)
    from keras_samplecnn.quiet import filter_native_logs

    filter_native_logs()  # a recipe is a command: keep TensorFlow's native chatter off the terminal
    from keras_samplecnn.training import config as config_lib

    script = os.path.relpath(sys.argv[0]) if sys.argv and sys.argv[0] else f"recipes/{config_name}.py"
    overrides = list(args.set)
    if args.seed is not None:
        overrides.append(f"optimization.seed={args.seed}")
    demo = _read_yaml(os.path.join(CONFIGS, "demo.yaml")) if args.demo else None
    profile = args.profile or (demo["profile"] if demo else None)
    try:
        overlays = [profile_path(profile)] if profile else []
        config = config_lib.load(os.path.join(CONFIGS, f"{config_name}.yaml"), overrides, overlays)
    except config_lib.ConfigError as error:
        sys.exit(f"error: {error}")
    out_dir = args.out or (config.output.dir + ("_demo" if args.demo else ""))
    config.output.dir = out_dir

    from keras_samplecnn.models import preset_config
    from keras_samplecnn.models.samplecnn import input_geometry

    # The segment length and rate the data must be converted for, without building the model.
    try:
        model_args = {**preset_config(config.model.name), **config.model.overrides}
    except ValueError as error:
        sys.exit(f"error: model.name: {error}")
    geometry = {k: model_args[k] for k in ("m", "n", "input_length", "stem_size") if k in model_args}
    segment_length, _ = input_geometry(**geometry)
    sample_rate = model_args.get("sample_rate", 22050)

    timings = Timings({"start-up": time.monotonic() - STARTED})
    if args.demo:
        dataset = dict(demo["dataset"])
        dataset["n_clips"] = args.demo_clips or dataset["n_clips"]
        dataset["clip_seconds"] = args.demo_seconds or dataset["clip_seconds"]
        data_dir = make_demo_data(out_dir, dataset, segment_length, sample_rate, args.workers, timings)
    else:
        with timings("conversion"):
            data_dir = find_data(
                args.data or config.data.dir, out_dir, script, segment_length, sample_rate, args.workers
            )
    config.data.dir = data_dir

    from keras_samplecnn.evaluation import evaluate
    from keras_samplecnn.training.trainer import LOG, read_state, train

    with timings("training"):
        best = train(config)
    with timings("evaluation"):
        results = evaluate(best, data_dir, split=config.data.test_split,
                           out_dir=os.path.join(out_dir, "evaluation"), training_log=os.path.join(out_dir, LOG))  # fmt: skip
    timings.save(os.path.join(out_dir, "timings.json"))
    print_summary(results, out_dir, timings, read_state(out_dir))
    return results


class Timings(dict):
    """Wall-clock seconds per phase of this invocation, saved with the machine's matmul peak."""

    @contextlib.contextmanager
    def __call__(self, phase):
        start = time.monotonic()
        yield
        self[phase] = self.get(phase, 0.0) + time.monotonic() - start

    def save(self, path):
        from keras_samplecnn.benchmarking import matmul_peak
        from keras_samplecnn.training.callbacks import write_json_atomic

        self.peak = matmul_peak()
        write_json_atomic(path, {"seconds": dict(self), "total_seconds": sum(self.values()),
                                 "float32_matmul_peak_flops": self.peak})  # fmt: skip


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


def _read_yaml(path):
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def make_demo_data(out_dir, dataset, segment_length, sample_rate, workers, timings):
    """Synthesises the demo MTAT folder and converts it, each step skipped if already done.

    `dataset` holds `n_clips`, `clip_seconds` and `seed` (demo.yaml's `dataset` section).
    """
    from keras_samplecnn.datasets.demo_mtat import make_demo_mtat

    root = os.path.join(out_dir, "demo_mtat")
    complete = os.path.join(root, ".complete")  # written last: an interrupted synthesis is redone
    if not os.path.exists(complete):
        print(f"Synthesising the demo dataset in {root} ...")
        with timings("synthesis"):
            make_demo_mtat(root, n_clips=dataset["n_clips"], clip_seconds=dataset["clip_seconds"],
                           seed=dataset["seed"], workers=workers)  # fmt: skip
        open(complete, "w").close()
    with timings("conversion"):
        return convert_mtat(
            root, os.path.join(out_dir, "tfrecords"), segment_length, sample_rate, workers, reference_split=False
        )


def print_summary(results, out_dir, timings, state):
    from keras_samplecnn.benchmarking import describe_peak

    print()
    if state.get("cut_short_by_time_budget"):
        print("NOTE: training was stopped by the time budget (optimization.max_minutes) before the configured")
        print("      epochs ended: the numbers below are not the configured run's result.")
    print(f"Clip-level results on the {results['split']} split ({results['num_clips']} clips):")
    print(f"  macro ROC-AUC  {results['roc_auc']:.4f}")
    print(f"  macro PR-AUC   {results['pr_auc']:.4f}")
    if results["excluded_tags"]:
        print(f"  left out (no positive clip): {', '.join(results['excluded_tags'])}")
    phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    print(f"Report: {os.path.join(out_dir, 'evaluation', 'report.md')}")
    print(f"Time: {phases}; total {sum(timings.values()) / 60:.1f} min on this machine "
          f"({describe_peak(timings.peak)})")  # fmt: skip
