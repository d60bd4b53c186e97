"""DCUE training speed at the authors' settings, with this machine's matmul peak beside it.

    python benchmarks/bench_dcue.py                         # basic and multi, 20 negatives, batch 10
    python benchmarks/bench_dcue.py --negatives 3 --steps 30

A step scores one user against 1 + N songs for each of the batch's interactions (jongpillee/
deep-content-user @0e57b68 `train.py`: batch 10, N = 20), so it runs the audio branch on
10 · (1 + N) excerpts of 130 log-mel frames. The FLOPs are counted from the layer shapes (the
convolutions and the song Dense; the user branch is negligible), and a training step is taken
as three forward passes. Prints ms per step, excerpts per second, the achieved GFLOP/s and its
ratio to the float32 matmul peak measured in the same run.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def excerpt_flops(num_frames=130, bands=128):
    """Forward FLOPs of the audio branch on one excerpt (2 per multiply-add)."""
    from keras_samplecnn.models.dcue import AUTHORS_FILTERS, KERNELS, POOLS

    flops, frames, channels = 0, num_frames, bands
    for filters, kernel, pool in zip(AUTHORS_FILTERS, KERNELS, POOLS):
        flops += 2 * frames * kernel * channels * filters
        frames, channels = (frames // pool if pool else frames), filters
    return flops + 2 * channels * 256


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["basic", "multi"])
    parser.add_argument("--negatives", type=int, default=20)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=20, help="timed steps after 3 warm-up steps")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from keras_samplecnn.benchmarking import matmul_peak
    from keras_samplecnn.models.dcue import DCUE, dcue_loss
    from keras_samplecnn.training.optimizers import StepDecaySGD

    peak = matmul_peak()
    rng = np.random.default_rng(0)
    x = {"user": rng.integers(0, args.users, args.batch).astype("int32"),
         "positive": rng.standard_normal((args.batch, 130, 128)).astype("float32"),
         "negatives": rng.standard_normal((args.batch, args.negatives, 130, 128)).astype("float32")}  # fmt: skip
    excerpts = args.batch * (1 + args.negatives)
    work = 3 * excerpt_flops() * excerpts
    print(f"{keras.backend.backend()}, float32 matmul peak {peak / 1e9:.0f} GFLOP/s; batch {args.batch}, "
          f"{args.negatives} negatives: {excerpts} excerpts, {work / 1e9:.2f} GFLOP per step")  # fmt: skip
    for variant in args.variants:
        keras.utils.set_random_seed(0)
        model = DCUE(num_users=args.users, num_negatives=args.negatives, variant=variant)
        outputs = len(model.outputs)
        model.compile(optimizer=StepDecaySGD(0.2, momentum=0.9, nesterov=True, step_decay=1e-6),
                      loss=[dcue_loss()] * outputs if outputs > 1 else dcue_loss())  # fmt: skip
        y = [np.zeros(args.batch, "float32")] * outputs if outputs > 1 else np.zeros(args.batch, "float32")
        for _ in range(3):
            model.train_on_batch(x, y)
        started = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        seconds = (time.perf_counter() - started) / args.steps
        print(f"{variant:>6}: {seconds * 1e3:.0f} ms/step, {excerpts / seconds:.0f} excerpts/s, "
              f"{work / seconds / 1e9:.0f} GFLOP/s = {work / seconds / peak:.2f} of the peak")  # fmt: skip


if __name__ == "__main__":
    main()
