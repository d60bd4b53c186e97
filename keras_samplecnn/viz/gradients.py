"""Input gradients on every Keras backend (TensorFlow, JAX, PyTorch)."""

import numpy as np

import keras


def input_gradient(model, x, objective):
    """Value and gradient of `sum(objective(model(x)))` with respect to the input `x`.

    Args:
        model: a Keras model (evaluated with `training=False`).
        x: NumPy input batch.
        objective: maps the model output tensor to a per-example tensor, using `keras.ops`.

    Returns:
        `(values, gradient)` as NumPy arrays: per-example objective and d(sum)/dx.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            values = objective(model(x, training=False))
            total = tf.reduce_sum(values)
        return values.numpy(), tape.gradient(total, x).numpy()
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def total(inputs):
            outputs, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
            values = objective(outputs)
            return values.sum(), values

        (_, values), gradient = jax.value_and_grad(total, has_aux=True)(x)
        return np.asarray(values), np.asarray(gradient)
    if backend == "torch":
        import torch

        tensor = torch.as_tensor(
            x, device=keras.backend.get_device() if hasattr(keras.backend, "get_device") else None
        )
        tensor = tensor.detach().clone().requires_grad_(True)
        values = objective(model(tensor, training=False))
        values.sum().backward()
        return values.detach().cpu().numpy(), tensor.grad.detach().cpu().numpy()
    raise NotImplementedError(f"input gradients are not available on the {backend!r} backend")
