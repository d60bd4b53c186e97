"""How long `fit` takes to return after its last epoch: the end-of-training stall, run after run.

    python benchmarks/bench_fit_end.py                 # 10 trainings of the README demo's config
    python benchmarks/bench_fit_end.py --runs 3 --epochs 2

Trains the quick start's demo config (`runs/mtat_se_demo/config.yaml`, on its converted data;
the demo is run first when it is missing) `--runs` times in this process, each into a fresh
folder, and prints for each run the seconds between the last callback (`on_train_end`) and
`fit` returning, when Keras lets go of the training and validation iterators; exits 1 when a
run took more than `--threshold`. With tf.data's autotuning on, that wait reached 40-48 s in
about half of the README command's runs (`keras_samplecnn.data.pipeline.PREFETCH_BATCHES`);
a healthy run takes milliseconds. This script, with no synthesis or conversion before the
trainings, did not reproduce that wait even then (docs/benchmarks.md).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--demo", default=os.path.join(ROOT, "runs", "mtat_se_demo"), help="a finished demo run")
    parser.add_argument("--epochs", type=int, help="fewer epochs than the demo's")
    parser.add_argument("--threshold", type=float, default=2.0, help="seconds counted as a stall")
    args = parser.parse_args(argv)
    config_path = os.path.join(args.demo, "config.yaml")
    if not os.path.exists(config_path):
        subprocess.run([sys.executable, os.path.join(ROOT, "recipes", "mtat_se.py"), "--demo", "--out", args.demo],
                       check=True)  # fmt: skip

    import keras

    from keras_samplecnn.benchmarking import describe_peak
    from keras_samplecnn.training import config as config_lib
    from keras_samplecnn.training import trainer

    class TrainEnd(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            self.at = time.perf_counter()

    ends = []
    print(f"{describe_peak()}; {args.runs} trainings of {config_path}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            config = config_lib.load(config_path)
            config.output.dir = os.path.join(folder, f"run{run}")
            config.output.verbose = 0
            if args.epochs:
                config.optimization.max_epochs = args.epochs
            end = TrainEnd()
            start = time.perf_counter()
            trainer.train(config, extra_callbacks=[end])
            returned = time.perf_counter()
            ends.append(returned - end.at)
            print(f"run {run + 1}: training {returned - start:.1f} s, end of fit {ends[-1]:.2f} s", flush=True)
            shutil.rmtree(config.output.dir, ignore_errors=True)
    stalls = [t for t in ends if t > args.threshold]
    print(f"end of fit: max {max(ends):.2f} s; {len(stalls)} of {len(ends)} runs above {args.threshold:g} s; "
          f"{describe_peak()} after")  # fmt: skip
    return 1 if stalls else 0


if __name__ == "__main__":
    sys.exit(main())
