"""The `python -m tfrecords_tools` command: one subcommand per dataset layout, plus `verify`.

    python -m tfrecords_tools mtat --root /data/mtat --out /data/mtat_tfrecords
    python -m tfrecords_tools mtat --root /data/mtat --out OUT --split-files reference
    python -m tfrecords_tools gtzan --root /data/gtzan --out OUT --split-ratio 0.8,0.1,0.1
    python -m tfrecords_tools speech-commands --root /data/speech_commands_v0.02 --out OUT
    python -m tfrecords_tools speech-commands --root SC --variant 12 --test-root SC_TEST --out OUT
    python -m tfrecords_tools dcase2017 --root /data/dcase2017_task4 --out OUT --split jstsp
    python -m tfrecords_tools folder --audio-dir DIR --labels labels.csv --out OUT
    python -m tfrecords_tools artists --audio-dir DIR --labels artists.csv --out OUT --num-artists 500
    python -m tfrecords_tools artists --audio-dir MSD_AUDIO --msd-tracks unique_tracks.txt --out OUT
    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \
        --msd-tracks unique_tracks.txt --mismatches sid_mismatches.txt --num-users 20000 \
        --num-songs 10000 --cold-fraction 0.1 --holdout-fraction 0.2 --seed 0 --out OUT
    python -m tfrecords_tools taste-profile --interactions interactions.csv --audio-dir AUDIO --out OUT
    python -m tfrecords_tools mtat --root /data/mtat --out OUT --runner DirectRunner --workers 4
    python -m tfrecords_tools mtat --root /mnt/data/mtat --out /mnt/data/OUT --runner DataflowRunner \
        --project P --region R --temp_location gs://BUCKET/tmp --sdk_container_image IMAGE
    python -m tfrecords_tools msd-splits --out MSD_SPLITS --which both
    python -m tfrecords_tools msd --audio-dir MSD_PREVIEWS --split lee --split-dir MSD_SPLITS \
        --lastfm-db lastfm_tags.db --out OUT
    python -m tfrecords_tools verify OUT

Exit codes: 0 done; 1 some shards failed (rerun the same command to resume) or `verify`
found problems; 2 bad usage or an input that is not the expected layout; 3 a file could not
be read or written (the output path is a file, permission denied, disk full: fix that, then
rerun the same command to resume); 130 interrupted (Ctrl-C: rerun the same command to resume).

A layout module may define `after_convert(plan, out_dir, manifest)`: it runs after a successful
conversion and writes the layout's own files beside the shards (taste-profile:
`interactions.npz` and `interactions.json`).
"""

import argparse
import logging
import os
import sys

from keras_samplecnn.messages import one_line
from tfrecords_tools import __version__, msd_splits
from tfrecords_tools.errors import DatasetError, ShardWriteError
from tfrecords_tools.registry import DATASETS
from tfrecords_tools.writer import SHORT_POLICIES, Settings, convert, verify

log = logging.getLogger("tfrecords_tools")

# One subcommand per dataset of the registry (tfrecords_tools.registry), in its order.
LAYOUTS = {dataset.command: dataset.converter_module() for dataset in DATASETS.values()}


def build_parser():
    """The argparse parser with a subcommand per layout and `verify`."""
    parser = argparse.ArgumentParser(
        prog="python -m tfrecords_tools",
        description="Convert audio datasets to sharded, resumable TFRecords for keras_samplecnn.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tfrecords_tools {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command, module in LAYOUTS.items():
        subparser = commands.add_parser(
            command,
            help=module.__doc__.splitlines()[0],
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(subparser)
        _add_output_arguments(subparser, module.DEFAULTS)
        subparser.set_defaults(run=_run_conversion, layout=module)
    verify_parser = commands.add_parser(
        "verify",
        help="check the shards of a finished conversion against manifest.json",
        description="Recompute every shard's sha256 and record count and compare them with "
        "manifest.json; exit 1 if any shard is missing or corrupted.",
    )
    verify_parser.add_argument("out_dir", metavar="DIR", help="a folder written by a conversion")
    _add_log_argument(verify_parser)
    verify_parser.set_defaults(run=_run_verify)
    splits_parser = commands.add_parser(
        "msd-splits",
        help="download the MSD tagging split lists (Choi 2016, Lee/SampleCNN) at pinned commits",
        description=msd_splits.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    msd_splits.add_arguments(splits_parser)
    _add_log_argument(splits_parser)
    splits_parser.set_defaults(run=msd_splits.run)
    return parser


def main(argv=None):
    """Runs the command line; returns the exit code."""
    parser = build_parser()
    # Options the parser does not know go to Apache Beam, and only with --runner.
    args, pipeline_args = parser.parse_known_args(argv)
    if pipeline_args and not getattr(args, "runner", None):
        parser.error(f"unrecognized arguments: {' '.join(pipeline_args)}")
    args.pipeline_args = pipeline_args
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    if args.log_level != "DEBUG":  # Beam's launcher logs every stage at INFO
        logging.getLogger("apache_beam").setLevel(logging.WARNING)
    try:
        return args.run(args)
    except DatasetError as error:
        log.error("%s", error)
        return 2
    except ShardWriteError as error:
        log.error("%s", error)
        return 1
    except OSError as error:  # not a layout problem, and not "just rerun": the system said no
        log.error("%s; fix that, then rerun the same command%s", one_line(error), _kept(args))
        return 3
    except KeyboardInterrupt:
        log.error("interrupted; rerun the same command to resume%s", _kept(args))
        return 130


def _kept(args):
    return " (finished shards are kept)" if getattr(args, "layout", None) is not None else ""



def segment_samples(defaults, sample_rate):
    """A layout's default segment length in samples: `segment_length`, or `segment_seconds`
    at `sample_rate` (the speech and sound-event layouts' 1-s segments follow the rate).

    Args:
        defaults: the layout module's `DEFAULTS`.
        sample_rate: the conversion's target rate in Hz.
    """
    if "segment_seconds" in defaults:
        return round(defaults["segment_seconds"] * sample_rate)
    return defaults["segment_length"]


def _run_conversion(args):
    from tfrecords_tools.beam_pipeline import import_beam  # apache_beam itself only with --runner
    from tfrecords_tools.writer import check_local_path

    for name, value in sorted(vars(args).items()):  # every path option, before any planning
        if isinstance(value, str) and "url" not in name:
            check_local_path(value, "--" + name.replace("_", "-"))
    if args.runner:
        import_beam()  # fails early, saying how to install it
    min_length = round(args.min_seconds * args.sample_rate) if args.min_seconds else None
    segment_length = args.segment_length or segment_samples(args.layout.DEFAULTS, args.sample_rate)
    settings = Settings(
        sample_rate=args.sample_rate,
        segment_length=segment_length,
        short=args.short,
        min_length=min_length,
    )
    plan = args.layout.plan_from_args(args)
    manifest = convert(
        plan,
        args.out,
        settings,
        shard_size=args.shard_size,
        num_shards=args.num_shards,
        workers=args.workers,
        show_progress=not args.no_progress,
        runner=args.runner,
        pipeline_args=args.pipeline_args,
    )
    after_convert = getattr(args.layout, "after_convert", None)
    if after_convert is not None:  # the layout's own files beside the shards
        after_convert(plan, args.out, manifest)
    return 0


def _run_verify(args):
    report = verify(args.out_dir)
    for problem in report.problems:
        log.error("%s", problem)
    if report.ok:
        log.info("OK: %d shards match the manifest", report.shards_checked)
        return 0
    log.error("%d problems in %d shards", len(report.problems), report.shards_checked)
    return 1


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _add_output_arguments(parser, defaults):
    group = parser.add_argument_group("output")
    group.add_argument(
        "--out",
        required=True,
        help="output folder (created; rerunning the same command resumes; "
        "shards of another configuration in it are replaced)",
    )
    group.add_argument(
        "--sample-rate",
        type=_positive_int,
        default=defaults["sample_rate"],
        help=f"target sample rate in Hz (default {defaults['sample_rate']})",
    )
    if "segment_seconds" in defaults:
        segment_default = f"{defaults['segment_seconds']:g} s at --sample-rate"
    else:
        segment_default = str(defaults["segment_length"])
    group.add_argument(
        "--segment-length",
        type=_positive_int,
        default=None,
        help=f"model input length in samples (default {segment_default})",
    )
    short = defaults.get("short", "pad")
    group.add_argument(
        "--short",
        choices=SHORT_POLICIES,
        default=short,
        help="clips shorter than --min-seconds (or one segment): zero-pad, tile (repeat end to "
        f"end) or skip them if shorter than a segment, listed in rejected.csv (default {short})",
    )
    min_seconds = defaults.get("min_seconds")
    group.add_argument(
        "--min-seconds",
        type=_positive_float,
        default=min_seconds,
        help="pad or tile shorter clips to this length (default "
        f"{f'{min_seconds:g} s' if min_seconds else 'one segment'})",
    )
    sharding = group.add_mutually_exclusive_group()
    sharding.add_argument(
        "--shard-size",
        type=_positive_int,
        default=defaults["shard_size"],
        help=f"clips per shard (default {defaults['shard_size']})",
    )
    sharding.add_argument(
        "--num-shards", type=_positive_int, help="shards per split, instead of --shard-size"
    )
    group.add_argument(
        "--workers",
        type=_positive_int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes, one shard each at a time (default min(2, CPUs)); with "
        "--runner DirectRunner, its --direct_num_workers",
    )
    group.add_argument(
        "--runner",
        metavar="NAME",
        help="write the shards with this Apache Beam runner (DirectRunner, DataflowRunner, "
        "FlinkRunner, SparkRunner, ...) instead of local processes; options this command does "
        "not know (--project P --region R --temp_location gs://...) go to Beam. Audio and --out "
        "must be paths every worker mounts. Needs pip install keras_samplecnn[beam]",
    )
    group.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_log_argument(group)


def _add_log_argument(parser):
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="default INFO"
    )


if __name__ == "__main__":
    sys.exit(main())
