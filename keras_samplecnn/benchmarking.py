"""How fast this machine is, and how much work a model does: what every timing is printed beside.

Machines that run this package differ by more than 5x in speed (a 2-core CPU with AVX-512
reaches a float32 matmul peak of about 490 GFLOP/s, one with AVX2 only about 86), so a time
means little without the machine's measured peak. `matmul_peak` measures it; `forward_flops`
counts a model's work per segment, so that a run's time on another machine can be predicted
from the ratio of the peaks.
"""

import functools
import os
import platform
import time


@functools.lru_cache(maxsize=1)
def _cpuinfo():
    """`(model name, flags)` of the first CPU in Linux's /proc/cpuinfo (elsewhere: the platform's
    processor name and no flags)."""
    model, flags = platform.processor() or platform.machine(), frozenset()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = frozenset(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return model, flags


def cpu_model():
    """The CPU's model name, e.g. "AMD EPYC" (what the bfloat16/float32 ratio depends on)."""
    return _cpuinfo()[0]


def cpu_flags():
    """The CPU's feature flags (e.g. `amx_bf16`, `avx512_bf16`), empty where unknown."""
    return _cpuinfo()[1]


def describe_machine(flops_per_second=None):
    """`"2-core AMD EPYC (float32 matmul peak 486 GFLOP/s)"`, measuring the peak when not given."""
    return f"{os.cpu_count()}-core {cpu_model()} ({describe_peak(flops_per_second)})"


def matmul_peak(dtype="float32", size=2048, repeats=5):
    """Best FLOP/s of a square `size` x `size` TensorFlow matmul in `dtype` over a few runs.

    Args:
        dtype: "float32" or "bfloat16".
        size: matrix size (2048: about 17 GFLOP per product, tens of ms on a CPU).
        repeats: timed runs after one warm-up; the fastest counts.

    Returns:
        FLOP/s (2 * size**3 / seconds).
    """
    import tensorflow as tf

    a = tf.cast(tf.random.normal((size, size), dtype=tf.float32), dtype)
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def forward_flops(model):
    """FLOPs of one segment's forward pass (TensorFlow graph profiler; TensorFlow backend).

    A training step costs about three forward passes (forward, and the gradients with respect
    to activations and to weights).
    """
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    spec = tf.TensorSpec([1, model.input_length], tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
    options = options.with_empty_output().build()
    return int(model_analyzer.profile(graph, options=options).total_float_ops)


def describe_peak(flops_per_second=None):
    """`"float32 matmul peak 486 GFLOP/s"`, measuring it when not given."""
    peak = matmul_peak() if flops_per_second is None else flops_per_second
    return f"float32 matmul peak {peak / 1e9:.0f} GFLOP/s"
