"""TFRecord conversion throughput: the local process pool against Apache Beam's DirectRunner.

A demo MTAT dataset (`make_demo_mtat`: `--clips` synthetic clips of `--clip-seconds` s, 16 kHz
mp3, MTAT's layout) is written once (kept in `--data` if given), then converted at 22050 Hz
(decode, resample, int16, TFRecord) into a fresh folder by each runner, each file `--repeat`
times under distinct clip ids (read from the page cache after the first time):

1. `local`: `convert(..., workers=W)`, the default process pool;
2. `beam multi_processing`: `convert(..., runner="DirectRunner")`, W SDK worker processes
   (the converter's default for the DirectRunner);
3. `beam multi_threading`: the same with `--direct_running_mode=multi_threading` (W threads in
   one process).

Each runner converts the whole dataset and, separately, its first quarter: the difference gives
the marginal rate (clips/s once the workers are up) and the start-up (spawning workers that
import TensorFlow: seconds per run, whatever the size). For each: wall seconds and clips/s of the
whole run, the start-up, the marginal clips/s, core-seconds per clip (W / marginal, taking every
worker as one busy core), the extrapolated CPU-hours for 100,000 clips, the ratio of marginal
rates to the local pool, and whether every output file but conversion.json is byte-identical to
the local pool's.

    python benchmarks/bench_convert.py                   # 200 files of 29 s x 8, 2 workers: ~3 min on 2 cores
    python benchmarks/bench_convert.py --clips 50 --workers 4 --data /tmp/demo_mtat_50

Run it on an idle machine: the numbers are wall-clock. It is a benchmark, not a test.
"""

import argparse
import dataclasses
import logging
import os
import platform
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CLIPS_FOR_ESTIMATE = 100_000


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=200, help="demo clips (default 200)")
    parser.add_argument("--clip-seconds", type=float, default=29.0, help="clip length (default 29 s)")
    parser.add_argument("--workers", type=int, default=2, help="workers of every runner (default 2)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=8,
        help="convert each file this many times, as clips with their own ids (default 8): decoding a "
        "29 s clip takes ~10 ms, so a few hundred files are gone before the start-up is",
    )
    parser.add_argument("--shard-size", type=int, default=64, help="clips per shard (default 64)")
    parser.add_argument("--sample-rate", type=int, default=22050, help="target rate (default 22050)")
    parser.add_argument("--data", help="folder for the demo dataset, reused if it exists (default: temporary)")
    parser.add_argument(
        "--runners",
        nargs="+",
        default=["local", "multi_processing", "multi_threading"],
        choices=["local", "multi_processing", "multi_threading"],
        help="what to time (default all three)",
    )
    return parser.parse_args()


def output_files(out):
    """{relative path: bytes} of every output file but conversion.json."""
    files = {}
    for folder, _, names in os.walk(out):
        for name in names:
            relative = os.path.relpath(os.path.join(folder, name), out)
            if relative != "conversion.json":
                with open(os.path.join(folder, name), "rb") as handle:
                    files[relative] = handle.read()
    return files


def main():
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    from keras_samplecnn.benchmarking import describe_peak, matmul_peak
    from keras_samplecnn.datasets import make_demo_mtat
    from tfrecords_tools import mtat
    from tfrecords_tools.writer import Settings, convert

    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(describe_peak(matmul_peak()))
    scratch = tempfile.mkdtemp(prefix="bench_convert_")
    data = args.data or os.path.join(scratch, "demo_mtat")
    try:
        if not os.path.isfile(os.path.join(data, "annotations_final.csv")):
            start = time.perf_counter()
            make_demo_mtat(data, n_clips=args.clips, clip_seconds=args.clip_seconds, workers=args.workers,
                           progress=False)  # fmt: skip
            print(f"demo MTAT: {args.clips} clips of {args.clip_seconds:g} s in {time.perf_counter() - start:.1f} s")
        plan = mtat.plan(data)
        plan.jobs = [
            dataclasses.replace(job, clip_id=f"{job.clip_id}-{copy}") for copy in range(args.repeat) for job in plan.jobs
        ]
        clips = len(plan.jobs)
        settings = Settings(sample_rate=args.sample_rate)
        print(
            f"{clips} clips ({clips // args.repeat} files x {args.repeat}), shard size {args.shard_size}, "
            f"{args.workers} workers, {args.sample_rate} Hz"
        )
        print()
        small = max(1, clips // 4)
        small_plan = dataclasses.replace(plan, jobs=plan.jobs[:small])
        header = (
            f"{'runner':24s} {'seconds':>8s} {'clips/s':>8s} {'start s':>8s} {'marginal':>9s} "
            f"{'core-s/clip':>12s} {'CPU-h/100k':>11s} {'vs local':>9s}  same bytes"
        )
        print(header)
        print("-" * len(header))
        reference, local_rate = None, None
        for name in args.runners:
            runner, extra = (None, []) if name == "local" else ("DirectRunner", [f"--direct_running_mode={name}"])

            def run(which, out):
                start = time.perf_counter()
                convert(which, out, settings, shard_size=args.shard_size, workers=args.workers,
                        show_progress=False, runner=runner, pipeline_args=extra)  # fmt: skip
                return time.perf_counter() - start

            seconds_small = run(small_plan, os.path.join(scratch, name + "-small"))
            out = os.path.join(scratch, name)
            seconds = run(plan, out)
            # Two sizes: the difference is the cost of the extra clips, without the start-up.
            marginal = (clips - small) / max(seconds - seconds_small, 1e-9)
            startup = max(0.0, seconds - clips / marginal)
            core_seconds = args.workers / marginal
            cpu_hours = CLIPS_FOR_ESTIMATE * core_seconds / 3600
            files = output_files(out)
            if reference is None:
                reference = files
            if name == "local":
                local_rate = marginal
            same = "reference" if files is reference else ("yes" if files == reference else "NO")
            ratio = f"{marginal / local_rate:8.2f}x" if local_rate else f"{'':>9s}"
            label = name if name == "local" else f"beam {name}"
            print(
                f"{label:24s} {seconds:8.1f} {clips / seconds:8.2f} {startup:8.1f} {marginal:9.2f} "
                f"{core_seconds:12.4f} {cpu_hours:11.2f} {ratio}  {same}"
            )
            shutil.rmtree(out)
            shutil.rmtree(os.path.join(scratch, name + "-small"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(
        f"seconds, clips/s: the whole run of {clips} clips; start s: its start-up (spawning workers that "
        f"import TensorFlow, planning, finishing); marginal: clips/s beyond the start-up, from a second run "
        f"on a quarter of the clips; core-s/clip = workers / marginal (each worker one busy core); "
        f"CPU-h/100k: core-s/clip x {CLIPS_FOR_ESTIMATE:,} / 3600, the start-up amortised away."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
