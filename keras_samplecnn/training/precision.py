"""Chooses the dtype policy and XLA setting for the hardware at hand."""

import os

import keras

# Measured with benchmarks/bench_models.py on the 2-core AVX-512 CPU of the README: see the
# benchmark table there. GPUs always get XLA.
CPU_XLA = False


def gpu_compute_capability():
    """(major, minor) of the first GPU visible to the Keras backend, or None without one."""
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if not gpus:
                return None
            return tuple(tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0)))
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            if not gpus:
                return None
            major, minor = str(getattr(gpus[0], "compute_capability", "0.0")).split(".")[:2]
            return int(major), int(minor)
        if backend == "torch":
            import torch

            return torch.cuda.get_device_capability(0) if torch.cuda.is_available() else None
    except (RuntimeError, ValueError, ImportError):
        return None
    return None


# Mixed bfloat16 on a CPU only where its matmul runs at least this many times the float32 one.
# Measured on 2-core machines of one kind: 4.7x on a Xeon with AMX, 0.5x on a Xeon without it,
# 1.7-1.8x on an AMD EPYC with AVX-512 BF16, where the README demo trained no faster in mixed
# bfloat16 (51 s idle, against 43-53 s in float32: its narrow model is bound by memory traffic,
# not by the matmul units), with an AUC within float32's spread (docs/benchmarks.md).
CPU_BFLOAT16_SPEEDUP = 2.5
CACHE_FILE = "cpu_precision.json"


def cpu_fingerprint():
    """What the bfloat16/float32 ratio depends on: the CPU model and its matrix flags, the core
    count and the TensorFlow version (its oneDNN kernels)."""
    from keras_samplecnn.benchmarking import cpu_flags, cpu_model

    matrix = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_fp16"})
    try:
        import tensorflow as tf

        version = tf.__version__
    except ImportError:
        version = "none"
    return f"{cpu_model()} | {','.join(matrix)} | {os.cpu_count()} cores | tensorflow {version}"


def _cache_path():
    from keras_samplecnn.presets import cache_folder

    return os.path.join(cache_folder(), CACHE_FILE)


def cpu_matmul_rates(size=1024, cache=True):
    """`{"float32": FLOP/s, "bfloat16": FLOP/s}` of TensorFlow's matmul on this CPU, measured once
    per machine (`cpu_fingerprint`) and cached in Keras' folder (`~/.keras/keras_samplecnn/`)."""
    import json

    from keras_samplecnn.benchmarking import matmul_peak

    path, key = _cache_path(), cpu_fingerprint()
    try:
        with open(path, encoding="utf-8") as handle:
            known = json.load(handle)
    except (OSError, ValueError):
        known = {}
    if cache and isinstance(known.get(key), dict) and {"float32", "bfloat16"} <= set(known[key]):
        return known[key]
    rates = {"float32": 0.0, "bfloat16": 0.0}
    for _ in range(3):  # alternated, best of each: a busy moment lowers both, not one
        for dtype in rates:
            rates[dtype] = max(rates[dtype], matmul_peak(dtype, size=size, repeats=3))
    if cache:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            known[key] = rates
            temporary = f"{path}.{os.getpid()}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(known, handle, indent=1)
            os.replace(temporary, path)  # a reader never sees half a file
        except OSError:  # a read-only home: measure again next time
            pass
    return rates


def cpu_policy(rates):
    """`(policy, reason)` on a CPU from its measured matmul rates (`cpu_matmul_rates`)."""
    ratio = rates["bfloat16"] / rates["float32"]
    measured = (f"bfloat16 matmul {rates['bfloat16'] / 1e9:.0f} GFLOP/s, {ratio:.1f}x float32's "
                f"{rates['float32'] / 1e9:.0f}")  # fmt: skip
    if ratio >= CPU_BFLOAT16_SPEEDUP:
        return "mixed_bfloat16", f"auto: {measured} on this CPU"
    return "float32", f"auto: {measured} on this CPU, under {CPU_BFLOAT16_SPEEDUP}x"


def choose(policy="auto", xla="auto"):
    """`(policy_name, jit_compile, reason)`: as `resolve`, with why that policy was chosen."""
    capability = gpu_compute_capability()
    reason = "as configured"
    if policy == "auto":
        if capability is not None:
            policy = "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"
            reason = f"auto: a GPU of compute capability {capability[0]}.{capability[1]}"
        elif keras.backend.backend() == "tensorflow":
            policy, reason = cpu_policy(cpu_matmul_rates())
        else:
            policy, reason = "float32", "auto: float32 on a CPU without TensorFlow (bfloat16 is measured on its kernels)"
    if xla == "auto":
        xla = True if capability is not None else CPU_XLA
    return policy, bool(xla), reason


def resolve(policy="auto", xla="auto"):
    """The dtype policy name and `jit_compile` flag to train with.

    Args:
        policy: "auto" picks mixed_bfloat16 on GPUs with bfloat16 tensor cores (compute
            capability >= 8.0) and mixed_float16 on older GPUs; on a CPU (TensorFlow backend)
            it measures TensorFlow's bfloat16 and float32 matmuls once per machine and picks
            mixed_bfloat16 where bfloat16 runs at least `CPU_BFLOAT16_SPEEDUP` times faster
            (CPUs with AMX), float32 elsewhere; any explicit policy name is
            returned as is.
        xla: "auto" compiles with XLA on GPUs and follows `CPU_XLA` on CPU; a bool is
            returned as is.

    Returns:
        `(policy_name, jit_compile)`; `choose` also says why.
    """
    return choose(policy, xla)[:2]
