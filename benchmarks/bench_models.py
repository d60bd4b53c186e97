"""Model-zoo throughput on this machine: float32 vs mixed_bfloat16, XLA off vs on.

For each model: inference (forward) and training-step segments per second at batch
`--batch`, and the achieved FLOP/s as a fraction of this machine's float32 matmul peak,
measured in the same run (a 4096² matmul, the best of several). FLOPs per segment come
from TensorFlow's graph profiler on the float32 forward pass; a training step is counted as
3× the forward FLOPs (forward + two backward products), the usual convention.

    python benchmarks/bench_models.py                      # all models, ~15-25 min on 2 cores
    python benchmarks/bench_models.py --models samplecnn resse --seconds 5
    python benchmarks/bench_models.py --models samplecnn se rese --seconds 10 --no-xla

Prints a Markdown table (the README's benchmark table comes from it) with the ratios
bf16/fp32 and XLA/no-XLA. Run it on an idle machine: the numbers are wall-clock.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras  # noqa: E402
import keras_samplecnn  # noqa: E402
from keras_samplecnn.benchmarking import forward_flops, matmul_peak  # noqa: E402

tf.get_logger().setLevel("ERROR")  # the v1 profiler API prints deprecation notes


def rate(step, batch, seconds, warmup=3):
    """Segments per second of `step()` after `warmup` calls, timed for about `seconds`.

    TensorFlow's first steps trace the graph and prepare oneDNN's kernels: measured with one
    warm-up call, the ReSE model read 52 % of the peak in 4 s and 66 % in 10 s.
    """
    for _ in range(warmup):
        step()
    done, start = 0, time.perf_counter()
    while done < 2 or time.perf_counter() - start < seconds:
        step()
        done += 1
    return done * batch / (time.perf_counter() - start)


def measure(name, policy, xla, batch, seconds):
    keras.backend.clear_session()
    model = keras_samplecnn.build(name, dtype=policy)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
        loss="binary_crossentropy",
        jit_compile=xla,
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, model.input_length)).astype("float32") * 0.1
    y = (rng.random((batch, 50)) > 0.9).astype("float32")
    infer = rate(lambda: model.predict_on_batch(x), batch, seconds)
    train = rate(lambda: model.train_on_batch(x, y), batch, seconds)
    return infer, train


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=keras_samplecnn.list_models())
    parser.add_argument("--batch", type=int, default=23, help="segments per step (23 as in the papers)")
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per measurement")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA rows (slow to compile)")
    args = parser.parse_args()

    peak32 = matmul_peak(tf.float32, size=4096)
    peak16 = matmul_peak(tf.bfloat16, size=4096)
    print(
        f"matmul peak: float32 {peak32 / 1e9:.0f} GFLOP/s, bfloat16 {peak16 / 1e9:.0f} GFLOP/s "
        f"({peak16 / peak32:.2f}x); {os.cpu_count()} CPUs, TF {tf.__version__}, Keras {keras.__version__}\n"
    )

    header = (
        "| model | GFLOP/seg (fwd) | setting | infer seg/s | train seg/s | train % of fp32 peak "
        "| train % of the setting's peak |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|")
    summary = []
    for name in args.models:
        flops = forward_flops(keras_samplecnn.build(name))
        results = {}
        for policy in ("float32", "mixed_bfloat16"):
            for xla in (False,) if args.no_xla else (False, True):
                infer, train = measure(name, policy, xla, args.batch, args.seconds)
                results[policy, xla] = (infer, train)
                setting = f"{'bf16' if policy != 'float32' else 'fp32'}{' +XLA' if xla else ''}"
                share = 3 * flops * train / peak32
                own = 3 * flops * train / (peak32 if policy == "float32" else peak16)
                print(
                    f"| `{name}` | {flops / 1e9:.2f} | {setting} | {infer:.1f} | {train:.1f} | {share:.0%} "
                    f"| {own:.0%} |",
                    flush=True,
                )
        base_i, base_t = results["float32", False]
        best = max(results, key=lambda k: results[k][1])
        def ratio(key, column):
            return f"{results[key][column] / (base_i, base_t)[column]:.2f}x" if key in results else "–"

        summary.append(
            f"| `{name}` | {ratio(('mixed_bfloat16', False), 0)} | {ratio(('mixed_bfloat16', False), 1)} | "
            f"{ratio(('float32', True), 1)} | {ratio(('mixed_bfloat16', True), 1)} | "
            f"{'bf16' if best[0] != 'float32' else 'fp32'}{' +XLA' if best[1] else ''} |"
        )
    print("\nRatios against float32 without XLA:\n")
    print("| model | bf16 infer | bf16 train | fp32+XLA train | bf16+XLA train | fastest training |")
    print("|---|---|---|---|---|---|")
    print("\n".join(summary))
    # A shared machine can change speed while this runs (one start measured 282 GFLOP/s on a
    # CPU that gave 525 before and after): measure the peak again and say so if it moved.
    end32 = matmul_peak(tf.float32, size=4096)
    if abs(end32 / peak32 - 1) > 0.1:
        print(f"\nThe float32 matmul peak was {end32 / 1e9:.0f} GFLOP/s at the end against {peak32 / 1e9:.0f} "
              "at the start: the machine's speed changed during the run, so rerun it for the fractions.")  # fmt: skip


if __name__ == "__main__":
    main()
