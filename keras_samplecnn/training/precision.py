"""Chooses the dtype policy and XLA setting for the hardware at hand."""

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


def resolve(policy="auto", xla="auto"):
    """The dtype policy name and `jit_compile` flag to train with.

    Args:
        policy: "auto" picks mixed_bfloat16 on GPUs with bfloat16 tensor cores (compute
            capability >= 8.0), mixed_float16 on older GPUs and float32 on CPU; any
            explicit policy name is returned as is.
        xla: "auto" compiles with XLA on GPUs and follows `CPU_XLA` on CPU; a bool is
            returned as is.

    Returns:
        `(policy_name, jit_compile)`.
    """
    capability = gpu_compute_capability()
    if policy == "auto":
        if capability is None:
            policy = "float32"
        else:
            policy = "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"
    if xla == "auto":
        xla = True if capability is not None else CPU_XLA
    return policy, bool(xla)
