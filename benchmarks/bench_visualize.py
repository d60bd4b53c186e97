"""Wall time and peak memory of `samplecnn visualize` on a full-size 3^9 model.

Saves `keras_samplecnn.build("se", num_classes=10)` (untrained; the cost does not depend on
the weights) to `--model` unless it exists, prints this machine's float32 matmul peak (a
2048² `tf.matmul`, best of 10) and then runs the command once per setting, each in a fresh
process, as a user would:

    python benchmarks/bench_visualize.py                  # default and --method paper, ~1 min
    python benchmarks/bench_visualize.py --full           # also --max-length 59049 (minutes)

Peak memory is the child's maximum resident set size (`ru_maxrss`). Run it on an idle
machine: the numbers are wall-clock.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Runs the CLI in the child and reports the child's own peak RSS (kB on Linux).
CHILD = (
    "import resource, sys; from keras_samplecnn.cli import main; code = main(sys.argv[1:]); "
    "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)"
)


def run(model, extra):
    """(seconds, peak RSS in GB, exit code) of one `samplecnn visualize` in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-c", CHILD, "visualize", model, "--out", out, *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
    rss = [line.split()[1] for line in child.stdout.splitlines() if line.startswith("maxrss_kb")]
    if child.returncode or not rss:
        sys.stderr.write(child.stderr[-3000:])
    return seconds, int(rss[0]) / 1e6 if rss else float("nan"), child.returncode


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=os.path.join(tempfile.gettempdir(), "se_full.keras"))
    parser.add_argument("--full", action="store_true", help="also probe every layer (--max-length 59049)")
    args = parser.parse_args()
    if not os.path.exists(args.model):
        import keras_samplecnn

        keras_samplecnn.build("se", num_classes=10).save(args.model)
    from keras_samplecnn.benchmarking import matmul_peak

    print(f"float32 matmul peak (2048², best of 10): {matmul_peak(repeats=10) / 1e9:.0f} GFLOP/s", flush=True)
    settings = [[], ["--method", "paper"]] + ([["--max-length", "59049"]] if args.full else [])
    print("| command | seconds | peak RSS (GB) |\n|---|---:|---:|")
    for extra in settings:
        seconds, rss, code = run(args.model, extra)
        command = " ".join(["samplecnn visualize MODEL --out DIR", *extra])
        print(f"| `{command}` | {seconds:.1f} | {rss:.2f} |" + (f" exit {code}" if code else ""), flush=True)


if __name__ == "__main__":
    main()
