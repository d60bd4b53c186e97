"""`layers.Conv1D`: Keras's Conv1D with per-tap matmuls for the weight gradient on TensorFlow."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplecnn.layers.conv1d import Conv1D

pytestmark = pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="the fast path is TensorFlow's")


def pair(filters, taps, **kwargs):
    """Keras's layer and ours with the same weights, built for (batch, time, 5) inputs."""
    reference, ours = keras.layers.Conv1D(filters, taps, **kwargs), Conv1D(filters, taps, **kwargs)
    reference.build((None, None, 5))
    ours.build((None, None, 5))
    ours.set_weights([np.random.default_rng(taps).standard_normal(w.shape).astype("float32")
                      for w in reference.get_weights()])  # fmt: skip
    reference.set_weights(ours.get_weights())
    return reference, ours


def outputs_and_gradients(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(tf.cast(y, "float32") * upstream)
    return [y, *tape.gradient(loss, [x, *layer.trainable_weights])]


@pytest.mark.parametrize("taps", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("use_bias, activation", [(False, None), (True, "relu")])
def test_outputs_and_gradients_equal_keras(taps, padding, use_bias, activation):
    reference, ours = pair(4, taps, padding=padding, use_bias=use_bias, activation=activation)
    x = tf.random.stateless_normal((3, 31, 5), [taps, 1])
    assert ours._can_use_taps()
    out_length = 31 if padding == "same" else 31 - taps + 1
    upstream = tf.random.stateless_normal((3, out_length, 4), [taps, 2])
    for expected, got in zip(outputs_and_gradients(reference, x, upstream), outputs_and_gradients(ours, x, upstream),
                             strict=True):  # fmt: skip
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("taps", [2, 3, 5, 9])
@pytest.mark.parametrize("length", [1, 2, 3, 4, 6])
def test_short_sequences_and_example_boundaries(taps, length):
    """`same` over shifts as long as the sequence (padded fallback) and just shorter (flat rows
    minus the pairs across examples), with 4 examples so every boundary is crossed."""
    reference, ours = pair(3, taps, padding="same", use_bias=False)
    x = tf.random.stateless_normal((4, length, 5), [taps, length])
    upstream = tf.random.stateless_normal((4, length, 3), [length, taps])
    for expected, got in zip(outputs_and_gradients(reference, x, upstream), outputs_and_gradients(ours, x, upstream),
                             strict=True):  # fmt: skip
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)


def gradient_op_types(layer):
    """The op types of a traced forward + backward pass of `layer`, nested functions included."""

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) ** 2)
        return tape.gradient(loss, [x, layer.kernel])

    graph = step.get_concrete_function(tf.TensorSpec((2, 16, 5))).graph
    return {op.type for op in graph.get_operations()} | {
        op.type for f in graph._functions.values() for op in f.graph.get_operations()
    }


def test_no_padded_copy_in_the_gradient_of_a_same_convolution():
    _, ours = pair(4, 3, padding="same", use_bias=False)
    types = gradient_op_types(ours)
    assert "MatMul" in types and not {"Pad", "PadV2", "MirrorPad"} & types


def test_weight_gradient_against_numpy():
    """dW[j] = sum_t x_padded[t + j]^T dy[t], computed here with NumPy loops."""
    _, ours = pair(2, 3, padding="same", use_bias=False)
    x = tf.random.stateless_normal((2, 7, 5), [0, 1])
    upstream = tf.random.stateless_normal((2, 7, 2), [0, 2])
    _, _, dw = outputs_and_gradients(ours, x, upstream)
    padded = np.pad(x.numpy(), [(0, 0), (1, 1), (0, 0)])
    expected = np.zeros((3, 5, 2))
    for j in range(3):
        for b in range(2):
            for t in range(7):
                expected[j] += np.outer(padded[b, t + j], upstream.numpy()[b, t])
    np.testing.assert_allclose(dw.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_the_gradient_graph_has_no_backprop_filter_op():
    reference, ours = pair(4, 3, padding="same", use_bias=False)
    assert "Conv2DBackpropFilter" in gradient_op_types(reference)  # what the per-tap matmuls replace
    ours_ops = gradient_op_types(ours)
    assert "Conv2DBackpropFilter" not in ours_ops and "Conv2DBackpropInput" not in ours_ops
    assert "MatMul" in ours_ops


def test_mixed_bfloat16_gradients_are_close_to_float32():
    _, ours = pair(4, 3, padding="same", use_bias=False)
    mixed = Conv1D(4, 3, padding="same", use_bias=False, dtype="mixed_bfloat16")
    mixed.build((None, None, 5))
    mixed.set_weights(ours.get_weights())
    x = tf.random.stateless_normal((3, 40, 5), [5, 1])
    upstream = tf.random.stateless_normal((3, 40, 4), [5, 2])
    exact = outputs_and_gradients(ours, x, upstream)
    low = outputs_and_gradients(mixed, tf.cast(x, "bfloat16"), upstream)
    assert low[0].dtype == tf.bfloat16 and low[2].dtype == tf.float32  # bf16 compute, f32 weights
    for e, g in zip(exact, low):
        e, g = e.numpy(), tf.cast(g, "float32").numpy()
        assert np.abs(g - e).max() <= 0.02 * np.abs(e).max()


def test_other_settings_keep_keras_op_and_config_round_trips(tmp_path):
    strided = Conv1D(4, 3, strides=3, padding="valid")
    strided.build((None, None, 5))
    assert not strided._can_use_taps()
    assert not Conv1D(4, 3, dilation_rate=2)._can_use_taps()
    assert not Conv1D(4, 17)._can_use_taps()  # longer kernels keep TensorFlow's op
    layer = Conv1D(4, 3, padding="same", name="c")
    restored = Conv1D.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()
    inputs = keras.Input((12, 5))
    model = keras.Model(inputs, Conv1D(4, 3, padding="same")(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[-1]) is Conv1D
    x = np.random.default_rng(0).standard_normal((2, 12, 5)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
