"""This package against a plain PyTorch SampleCNN of the same 3^9 structure, in one run.

The peer is what a user would otherwise write: `torch.nn` Conv1d (no bias) → BatchNorm1d →
ReLU → MaxPool1d(3) blocks with the widths of `keras_samplecnn.build("samplecnn")` (stem of
128 filters with kernel = stride = 3, nine blocks 128, 128, 256 × 6, 512, global max pooling,
Dense 512 → BatchNorm → ReLU → Dropout 0.5 → Dense 50), the same batch (23 segments of 59049
samples), the same loss (binary cross-entropy) and optimizer (SGD, lr 0.01, Nesterov momentum
0.9), float32, all CPU threads. Each measurement runs in a fresh process (one Keras backend per
process), alternating package and peer `--repeats` times; the best of each is kept, which is
fairer than one run on a machine shared with anything else.

    python benchmarks/bench_peer.py                         # TF, JAX and PyTorch backends vs peer
    python benchmarks/bench_peer.py --backends tensorflow --seconds 10 --repeats 3

Prints the machine's float32 matmul peak, segments per second for training and inference,
the share of the peak (a training step counted as 3x the forward FLOPs), and the ratio to the
peer. Targets (issue 14): >= 1.3x the peer for training and >= 2x for inference.
"""

import argparse
import json
import os
import subprocess
import sys
import time

BATCH = 23
LENGTH = 59049
TAGS = 50
WIDTHS = (128, 128, 256, 256, 256, 256, 256, 256, 512)


def _rate(step, seconds):
    """Calls per second of `step` after two warm-up calls, over about `seconds`."""
    step()
    step()
    done, start = 0, time.perf_counter()
    while done < 3 or time.perf_counter() - start < seconds:
        step()
        done += 1
    return done / (time.perf_counter() - start)


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((BATCH, LENGTH)) * 0.1).astype("float32")
    y = (rng.random((BATCH, TAGS)) > 0.9).astype("float32")
    return x, y


def measure_package(backend, seconds):
    """(train, infer) segments/s of `keras_samplecnn.build("samplecnn")` on `backend`."""
    os.environ["KERAS_BACKEND"] = backend
    import keras

    import keras_samplecnn

    model = keras_samplecnn.build("samplecnn")
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), loss="binary_crossentropy"
    )
    x, y = _data()
    train = _rate(lambda: model.train_on_batch(x, y), seconds) * BATCH
    infer = _rate(lambda: model.predict_on_batch(x), seconds) * BATCH
    return train, infer


def peer_model():
    """The PyTorch SampleCNN of the same structure."""
    import torch
    from torch import nn

    def block(cin, cout, kernel, stride, pool):
        layers = [nn.Conv1d(cin, cout, kernel, stride=stride, padding=0 if stride > 1 else 1, bias=False),
                  nn.BatchNorm1d(cout, eps=1e-3, momentum=0.01), nn.ReLU()]  # fmt: skip
        return layers + ([nn.MaxPool1d(pool)] if pool else [])

    layers = block(1, WIDTHS[0], 3, 3, None)
    for cin, cout in zip(WIDTHS[:1] + WIDTHS[:-1], WIDTHS):
        layers += block(cin, cout, 3, 1, 3)
    return nn.Sequential(
        *layers,
        nn.AdaptiveMaxPool1d(1),
        nn.Flatten(),
        nn.Linear(WIDTHS[-1], 512, bias=False),
        nn.BatchNorm1d(512, eps=1e-3, momentum=0.01),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(512, TAGS),
    ).to(memory_format=torch.contiguous_format)


def measure_peer(seconds):
    """(train, infer) segments/s of the PyTorch peer."""
    import torch

    torch.set_num_threads(os.cpu_count())
    model = peer_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    x, y = (torch.from_numpy(a) for a in _data())
    x = x[:, None, :]

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer_step():
        model.eval()
        with torch.inference_mode():
            torch.sigmoid(model(x))

    return _rate(train_step, seconds) * BATCH, _rate(infer_step, seconds) * BATCH


def _run(what, seconds):
    """Runs one measurement in a fresh process; returns (train, infer)."""
    command = [sys.executable, __file__, "--worker", what, "--seconds", str(seconds)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs; the best is kept")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = measure_peer(args.seconds) if args.worker == "peer" else measure_package(args.worker, args.seconds)
        print(json.dumps(result))
        return 0

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras_samplecnn
    from keras_samplecnn.benchmarking import forward_flops, matmul_peak

    peak = matmul_peak()
    flops = forward_flops(keras_samplecnn.build("samplecnn"))
    best = {}
    for _ in range(args.repeats):
        for what in ["peer", *args.backends]:
            train, infer = _run(what, args.seconds)
            old = best.get(what, (0.0, 0.0))
            best[what] = (max(old[0], train), max(old[1], infer))
    print(f"\nfloat32 matmul peak {peak / 1e9:.0f} GFLOP/s, {os.cpu_count()} CPUs; samplecnn 3^9, "
          f"{flops / 1e9:.2f} GFLOP per segment forward, batch {BATCH}, best of {args.repeats}\n")  # fmt: skip
    print("| implementation | train seg/s | train % of peak | vs peer | infer seg/s | infer % of peak | vs peer |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    peer_train, peer_infer = best["peer"]
    for what in [*args.backends, "peer"]:
        train, infer = best[what]
        name = "PyTorch peer (torch.nn)" if what == "peer" else f"keras_samplecnn, {what} backend"
        print(f"| {name} | {train:.2f} | {3 * flops * train / peak:.0%} | {train / peer_train:.2f}x "
              f"| {infer:.1f} | {flops * infer / peak:.0%} | {infer / peer_infer:.2f}x |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
