"""Where a training step's time goes, op by op: TensorFlow's profiler on one model.

Trains `--model` on random data at batch `--batch` (float32 unless `--policy`), traces
`--steps` steps with `tf.profiler`, and prints a Markdown table of the time per step of each
op type (and, with `--top`, of the slowest single ops), the convolution and matmul share, and
the step's FLOP/s as a fraction of the float32 matmul peak measured in the same run.

TensorFlow runs independent ops of a step at the same time (inter-op parallelism), and then
two ops sharing two cores both look slow; this script runs one op at a time
(`set_inter_op_parallelism_threads(1)`), so the ops' times add up to the step's and each is
the op's own. A step is timed that way too, so it can differ a little from `bench_models.py`.

    python benchmarks/bench_step_profile.py --model rese
    python benchmarks/bench_step_profile.py --model se --top 20 --policy mixed_bfloat16
"""

import argparse
import collections
import glob
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"  # it traces TensorFlow's ops, whatever the default backend

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_samplecnn  # noqa: E402

tf.get_logger().setLevel("ERROR")  # the v1 FLOP profiler prints deprecation notes
from keras_samplecnn.benchmarking import describe_machine, forward_flops, matmul_peak  # noqa: E402

# What an op type does, for the table (oneDNN's kernels carry an `_Mkl` prefix).
KINDS = {
    "Conv2D": "convolution (forward, input gradient)",
    "MatMul": "matmul (per-tap weight gradients, dense layers)",
    "FusedMatMul": "matmul (per-tap weight gradients, dense layers)",
    "Conv2DBackpropFilter": "convolution weight gradient (strided stem)",
    "FusedBatchNormV3": "batch normalisation",
    "FusedBatchNormGradV3": "batch normalisation gradient",
    "MaxPool": "max-pooling",
    "MaxPoolGrad": "max-pooling gradient",
    "Relu": "ReLU",
    "ReluGrad": "ReLU gradient",
    "Mul": "elementwise products (SE scaling, dropout, optimizer)",
    "StatelessRandomUniformV2": "dropout's random numbers (Keras)",
    "StatelessRandomUniformFullIntV2": "dropout's random bits (`relu_dropout`)",
    "GreaterEqual": "dropout's comparison",
    "SelectV2": "dropout's selection",
    "AddN": "gradient sums (an activation used twice)",
    "AddV2": "residual addition",
    "Sum": "SE scaling gradient",
    "Mean": "SE squeeze",
    "Tile": "SE squeeze gradient",
    "Pad": "padded copies",
    "StridedSliceGrad": "a slice's gradient (a full copy)",
}
COMPUTE = {"Conv2D", "MatMul", "FusedMatMul", "Conv2DBackpropFilter"}


def op_times(logdir, steps):
    """{(op name, op type): ms per step} from the trace in `logdir`."""
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError as error:  # a TensorFlow that moved its profiler protos
        raise SystemExit(f"cannot read TensorFlow's trace: {error}") from error
    (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
    space = xplane_pb2.XSpace()
    with open(path, "rb") as file:
        space.ParseFromString(file.read())
    times = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                # Op events are "name:Type"; the executor's own are "Class::method" or "What: name".
                if ":" in name and "::" not in name and ": " not in name:
                    op, kind = name.rsplit(":", 1)
                    times[op, kind.removeprefix("_MklNative").removeprefix("_Mkl")] += event.duration_ps / 1e9 / steps
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="rese")
    parser.add_argument("--batch", type=int, default=23)
    parser.add_argument("--steps", type=int, default=3, help="traced steps")
    parser.add_argument("--policy", default="float32", choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--top", type=int, default=0, help="also list the N slowest ops")
    args = parser.parse_args()
    tf.config.threading.set_inter_op_parallelism_threads(1)

    peak_before = matmul_peak(size=4096) / 1e9  # GFLOP/s, as bench_models.py
    model = keras_samplecnn.build(args.model, dtype=args.policy)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), loss="binary_crossentropy",
                  jit_compile=False)  # fmt: skip
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, model.input_length)).astype("float32") * 0.1
    y = (rng.random((args.batch, model.output_shape[-1])) > 0.9).astype("float32")
    for _ in range(5):  # tracing and oneDNN's kernel preparation
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(args.steps):
        model.train_on_batch(x, y)
    step_ms = (time.perf_counter() - start) / args.steps * 1000
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        tf.profiler.experimental.stop()
        times = op_times(logdir, args.steps)
    # Shared machines change speed: the peak is measured before and after, the higher counts.
    peak = max(peak_before, matmul_peak(size=4096) / 1e9)

    gflop = 3 * forward_flops(model) / 1e9 * args.batch  # forward + two backward products
    print(f"{describe_machine(peak * 1e9)} (before the steps {peak_before:.0f}); TF {tf.__version__}, Keras {keras.__version__}")
    print(f"`{args.model}`, {args.policy}, batch {args.batch}: {step_ms:.0f} ms per training step (one op at a time), "
          f"{gflop:.0f} GFLOP, {gflop / step_ms * 1000:.0f} GFLOP/s = {gflop / step_ms * 1000 / peak:.0%} of the "
          "float32 peak\n")  # fmt: skip
    by_kind = collections.Counter()
    for (_, kind), ms in times.items():
        by_kind[kind] += ms
    total = sum(by_kind.values())
    compute = sum(ms for kind, ms in by_kind.items() if kind in COMPUTE)
    print("| op | what | ms per step | share |\n|---|---|---:|---:|")
    for kind, ms in by_kind.most_common():
        if ms >= 0.005 * total:
            print(f"| `{kind}` | {KINDS.get(kind, '')} | {ms:.1f} | {ms / total:.0%} |")
    rest = sum(ms for ms in by_kind.values() if ms < 0.005 * total)
    print(f"| (others) | | {rest:.1f} | {rest / total:.0%} |")
    print(f"\nConvolutions and matmuls: {compute:.0f} ms ({compute / total:.0%}), "
          f"{gflop / compute * 1000:.0f} GFLOP/s = {gflop / compute * 1000 / peak:.0%} of the peak; "
          f"everything else: {total - compute:.0f} ms ({1 - compute / total:.0%}).")  # fmt: skip
    if args.top:
        print("\n| slowest ops | type | ms per step |\n|---|---|---:|")
        for (name, kind), ms in times.most_common(args.top):
            print(f"| `{name}` | `{kind}` | {ms:.1f} |")


if __name__ == "__main__":
    main()
