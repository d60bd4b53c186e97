"""Where a SampleCNN training step goes: each part of a block, forward + backward, alone.

Times, on one activation of the 3^9 SampleCNN, the convolution (Keras Conv1D, this package's
Conv1D with per-tap matmuls for the weight gradient, and the whole convolution written as
im2col or three matmuls), Keras's BatchNormalization against TensorFlow's fused kernel (what
`keras_samplecnn.layers.BatchNorm` runs in training), ReLU + max-pooling, ReLU alone,
dropout, ReLU + dropout as Keras's two layers and as `relu_dropout` (what the Res-2 blocks
run), the SE block's excitation and scaling, and a residual addition. Each part runs in a
`tf.function` with `tf.GradientTape` (loss = sum of squares); the best of 5 runs is kept.

    python benchmarks/bench_block_ops.py                     # the first block, 23 x 19683 x 128
    python benchmarks/bench_block_ops.py --time 6561         # the second block's activation
    python benchmarks/bench_block_ops.py --dtype bfloat16    # as mixed_bfloat16 trains

Prints the matmul peak of the dtype, measured in the same run, and GFLOP/s for the convolutions.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_samplecnn.benchmarking import matmul_peak  # noqa: E402
from keras_samplecnn.layers import BatchNorm, Conv1D, SEBlock  # noqa: E402
from keras_samplecnn.layers.dropout import relu_dropout  # noqa: E402


def best_ms(function, x, runs=5):
    function(x)
    function(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function(x)
        tf.nest.flatten(result)[0].numpy()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def with_gradient(forward, weights=()):
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = forward(x)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x, *weights])

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=23)
    parser.add_argument("--time", type=int, default=19683, help="time steps of the activation")
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                        help="bfloat16: activations in bfloat16, weights float32 (mixed_bfloat16)")  # fmt: skip
    args = parser.parse_args()
    b, t, c = args.batch, args.time, args.channels
    policy = "mixed_bfloat16" if args.dtype == "bfloat16" else "float32"
    x = tf.cast(tf.random.normal((b, t, c)), args.dtype)

    conv = keras.layers.Conv1D(c, 3, padding="same", use_bias=False, dtype=policy)
    conv.build(x.shape)
    kernel = conv.kernel
    taps_conv = Conv1D(c, 3, padding="same", use_bias=False, dtype=policy)
    taps_conv.build(x.shape)

    def cast_kernel():
        return tf.cast(kernel, x.dtype)

    def im2col(v):
        p = tf.pad(v, [[0, 0], [1, 1], [0, 0]])
        columns = tf.concat([p[:, :-2], p[:, 1:-1], p[:, 2:]], axis=-1)
        return tf.matmul(tf.reshape(columns, [-1, 3 * c]), tf.reshape(cast_kernel(), [3 * c, c]))

    def three_matmuls(v):
        p = tf.pad(v, [[0, 0], [1, 1], [0, 0]])
        return sum(tf.matmul(tf.reshape(p[:, k : k + t], [-1, c]), cast_kernel()[k]) for k in range(3))

    keras_bn, fused_bn = keras.layers.BatchNormalization(dtype=policy), BatchNorm(dtype=policy)
    keras_bn.build(x.shape)
    fused_bn.build(x.shape)
    pool, dropout = keras.layers.MaxPooling1D(3, dtype=policy), keras.layers.Dropout(0.2, dtype=policy)
    relu = keras.layers.ReLU(dtype=policy)
    se = SEBlock(ratio=16, dtype=policy)
    se.build(x.shape)
    shortcut = tf.cast(tf.random.normal(x.shape), x.dtype)
    parts = {
        "convolution (Keras Conv1D)": with_gradient(conv, [kernel]),
        "convolution (keras_samplecnn Conv1D)": with_gradient(taps_conv, [taps_conv.kernel]),
        "convolution as im2col + matmul": with_gradient(im2col, [kernel]),
        "convolution as three matmuls": with_gradient(three_matmuls, [kernel]),
        "Keras BatchNormalization": with_gradient(lambda v: keras_bn(v, training=True), keras_bn.trainable_weights),
        "fused BatchNorm (keras_samplecnn)": with_gradient(
            lambda v: fused_bn(v, training=True), fused_bn.trainable_weights
        ),
        "max-pooling then ReLU": with_gradient(lambda v: tf.nn.relu(pool(v))),
        "ReLU alone": with_gradient(tf.nn.relu),
        "dropout 0.2 (Keras)": with_gradient(lambda v: dropout(v, training=True)),
        "ReLU then dropout 0.2 (Keras layers)": with_gradient(lambda v: dropout(relu(v), training=True)),
        "ReLU + dropout 0.2 (keras_samplecnn relu_dropout)": with_gradient(
            lambda v: relu_dropout(v, relu, dropout, training=True)
        ),
        "SE excitation and scaling (keras_samplecnn SEBlock)": with_gradient(se, se.trainable_weights),
        "residual addition": with_gradient(lambda v: v + shortcut),
    }
    peak = matmul_peak(args.dtype)
    conv_flops = 3 * 2 * b * t * 3 * c * c  # forward + two backward products
    print(f"\n{args.dtype} matmul peak {peak / 1e9:.0f} GFLOP/s; activation {b} x {t} x {c} in {args.dtype}, "
          "forward + backward\n")  # fmt: skip
    print("| part | ms | GFLOP/s |")
    print("|---|---:|---:|")
    for name, step in parts.items():
        ms = best_ms(step, x)
        rate = f"{conv_flops / ms / 1e6:.0f}" if name.startswith("convolution") else ""
        print(f"| {name} | {ms:.0f} | {rate} |", flush=True)


if __name__ == "__main__":
    main()
