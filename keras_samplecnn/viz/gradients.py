"""Input gradients on every Keras backend (TensorFlow, JAX, PyTorch)."""

import numpy as np

import keras


def compile_ascent(model, objective, loop):
    """Compiles `loop` once for `model` on the current backend; returns a NumPy callable.

    The whole loop runs inside one traced function (`tf.function` with an input signature
    that leaves the batch free, so chunks of any size reuse one trace; `jax.jit`, which
    recompiles only for a new batch size; plain PyTorch autograd), and only the gradient
    with respect to the input is computed, never the weights'.

    Args:
        model: a Keras model (evaluated with `training=False`).
        objective: `objective(outputs, aux)` -> per-example values, in `keras.ops`;
            `aux` is an int32 vector with one entry per example (e.g. a filter index).
        loop: `loop(value_and_grad, value, x)` in `keras.ops` (use `keras.ops.fori_loop`
            for steps) returning a tuple of tensors; `value_and_grad(x)` gives the
            per-example values and d(sum)/dx, `value(x)` the values alone.

    Returns:
        `run(x, aux)` taking NumPy arrays and returning `loop`'s outputs as NumPy arrays.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def traced(x, aux):
            def value(x):
                return objective(model(x, training=False), aux)

            def value_and_grad(x):
                # Watch only the input: the weights need no gradient.
                with tf.GradientTape(watch_accessed_variables=False) as tape:
                    tape.watch(x)
                    values = value(x)
                return values, tape.gradient(values, x)

            return loop(value_and_grad, value, x)

        compiled = {}

        def run(x, aux):
            if not compiled:  # free batch axis: one trace for every chunk size
                spec = (tf.TensorSpec((None,) + x.shape[1:], "float32"), tf.TensorSpec((None,), "int32"))
                compiled["fn"] = tf.function(traced, input_signature=spec)
                # One trace per layer is the design; TF would warn after 5 layers.
                compiled["fn"]._omit_frequent_tracing_warning = True
            return tuple(
                t.numpy() for t in compiled["fn"](np.asarray(x, "float32"), np.asarray(aux, "int32"))
            )

        return run
    if backend == "jax":
        import jax

        @jax.jit
        def traced(trainable, non_trainable, x, aux):
            def value(x):
                outputs, _ = model.stateless_call(trainable, non_trainable, x, training=False)
                return objective(outputs, aux)

            def value_and_grad(x):
                values, pullback = jax.vjp(value, x)
                return values, pullback(keras.ops.ones_like(values))[0]

            return loop(value_and_grad, value, x)

        def run(x, aux):
            # Weights as arguments, not constants baked into the compiled program.
            trainable = [v.value for v in model.trainable_variables]
            non_trainable = [v.value for v in model.non_trainable_variables]
            return tuple(np.asarray(t) for t in traced(trainable, non_trainable, x, np.asarray(aux, "int32")))

        return run
    if backend == "torch":
        import torch

        def run(x, aux):
            aux = keras.ops.convert_to_tensor(np.asarray(aux, "int32"))

            def value(x):
                with torch.no_grad():
                    return objective(model(x, training=False), aux)

            def value_and_grad(x):
                x = x.detach().requires_grad_(True)
                with torch.enable_grad():
                    values = objective(model(x, training=False), aux)
                    # autograd.grad, not backward(): no weight gradients, nothing accumulated.
                    (gradient,) = torch.autograd.grad(values.sum(), x)
                return values.detach(), gradient

            outputs = loop(value_and_grad, value, keras.ops.convert_to_tensor(np.asarray(x, "float32")))
            return tuple(keras.ops.convert_to_numpy(t) for t in outputs)

        return run
    raise NotImplementedError(f"input gradients are not available on the {backend!r} backend")
