"""The demo's work in GFLOP, this machine's matmul peak, and the demo's time predicted elsewhere.

    python benchmarks/bench_demo.py                      # runs the demo into runs/bench_demo first
    python benchmarks/bench_demo.py --recipe dcase2017_resse   # another recipe's demo
    python benchmarks/bench_demo.py --run runs/mtat_se_demo   # a finished demo (or any recipe) run

The demo does a fixed amount of work (epochs x segments of a fixed model), so its result does
not depend on the machine; its time does, roughly in proportion to the machine's float32 matmul
peak. This script counts the work (forward FLOPs per segment from the TensorFlow graph; a
training step costs about 3 forward passes), reads the phases' times that the recipe recorded
in `timings.json` with the peak measured in that run, and predicts the total time on machines
of other peaks by scaling every phase by the ratio of the peaks (conservative for synthesis and
conversion, which are not matmul-bound).
"""

import argparse
import csv
import json
import os
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_PEAKS = (86e9, 486e9)  # measured float32 matmul peaks of two 2-core machines (AVX2, AVX-512)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a finished recipe run folder (default: run the demo first)")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "bench_demo"), help="where to run the demo")
    parser.add_argument("--recipe", default="mtat_se", help="the recipe whose demo to run (default mtat_se)")
    args = parser.parse_args()
    run = args.run
    if run is None:
        run = args.out
        command = [sys.executable, os.path.join(ROOT, "recipes", f"{args.recipe}.py"), "--demo", "--out", run]
        print("Running", " ".join(command))
        subprocess.run(command, check=True)

    from keras_samplecnn.benchmarking import forward_flops, matmul_peak
    from keras_samplecnn.data import pipeline
    from keras_samplecnn.training import config as config_lib
    from keras_samplecnn.training.trainer import LOG, build_model, segments_per_epoch

    config = config_lib.load(os.path.join(run, "config.yaml"))
    manifest = pipeline.read_manifest(config.data.dir)
    model = build_model(config, manifest, "float32")
    flops = forward_flops(model)
    with open(os.path.join(run, LOG), newline="") as f:
        epochs = len(list(csv.DictReader(f)))
    length = model.input_length
    segments = {split: pipeline.count_segments(config.data.dir, split, length) for split in manifest["splits"]}
    train_segments = segments_per_epoch(config, length)
    work = {
        "training": epochs * train_segments * 3 * flops,
        "validation": epochs * segments[config.data.valid_split] * flops,
        "test": segments[config.data.test_split] * flops,
    }
    with open(os.path.join(run, "timings.json"), encoding="utf-8") as f:
        timings = json.load(f)
    then = timings["float32_matmul_peak_flops"]
    now = matmul_peak()

    print(f"\nRun: {run}")
    print(f"Model: {model.name}, {model.count_params():,} parameters, {length} samples at {model.sample_rate} Hz, "
          f"{flops / 1e9:.3f} GFLOP per segment (forward)")  # fmt: skip
    print(f"Work: {epochs} epochs of {train_segments} training segments; "
          + ", ".join(f"{k} {v / 1e12:.2f} TFLOP" for k, v in work.items())
          + f"; total {sum(work.values()) / 1e12:.2f} TFLOP")  # fmt: skip
    print(f"This machine: float32 matmul peak {now / 1e9:.0f} GFLOP/s now, {then / 1e9:.0f} GFLOP/s during the run")
    seconds = timings["seconds"]
    print("Measured: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
          + f"; total {timings['total_seconds']:.0f} s")  # fmt: skip
    if seconds.get("training"):
        achieved = work["training"] / seconds["training"]
        print(f"Training reached {achieved / 1e9:.0f} GFLOP/s, {100 * achieved / then:.0f}% of the matmul peak")
    for peak in REFERENCE_PEAKS:
        predicted = timings["total_seconds"] * then / peak
        print(f"Predicted on a {peak / 1e9:.0f} GFLOP/s machine: {predicted / 60:.1f} min")


if __name__ == "__main__":
    main()
