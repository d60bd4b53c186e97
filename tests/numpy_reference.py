"""Plain NumPy versions of the layers' inference-time math, to test against."""

import numpy as np


def conv1d_same(x, kernel, bias, strides=1, padding="same"):
    """x: (B, T, Cin), kernel: (k, Cin, Cout). Keras 'same' pads (k-1)//2 left."""
    k = kernel.shape[0]
    if padding == "same":
        total = k - 1
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    steps = (x.shape[1] - k) // strides + 1
    out = np.stack(
        [np.einsum("bkc,kcd->bd", x[:, t * strides : t * strides + k], kernel) for t in range(steps)],
        axis=1,
    )
    return out + bias


def batch_norm_inference(x, gamma, beta, mean, var, epsilon=1e-3):
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


def max_pool(x, size):
    steps = x.shape[1] // size
    return x[:, : steps * size].reshape(x.shape[0], steps, size, x.shape[2]).max(axis=2)


def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))
