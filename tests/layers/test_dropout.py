"""`relu_dropout`: ReLU + dropout fused on TensorFlow, Keras's two layers elsewhere."""

import keras
import numpy as np
import pytest

from keras_samplecnn.layers.dropout import BITS, relu_dropout
from keras_samplecnn.layers.res_block import ResBlock

tensorflow_only = pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="the fused path is TensorFlow's")


def layers(rate, seed=None):
    return keras.layers.ReLU(), keras.layers.Dropout(rate, seed=seed)


def test_inference_is_the_relu():
    x = np.random.default_rng(0).standard_normal((2, 50, 3)).astype("float32")
    relu, dropout = layers(0.2)
    for training in (False, None):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(relu_dropout(x, relu, dropout, training)),
                                      np.maximum(x, 0))  # fmt: skip


@tensorflow_only
@pytest.mark.parametrize("rate", [0.2, 0.5, 0.9])
def test_training_values_rate_and_gradient(rate):
    import tensorflow as tf

    x = tf.random.stateless_normal((8, 4000, 32), [1, 2])  # 1,024,000 elements
    relu, dropout = layers(rate, seed=5)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = relu_dropout(x, relu, dropout, training=True)
        upstream = tf.random.stateless_normal(x.shape, [3, 4])
        loss = tf.reduce_sum(y * upstream)
    dx = tape.gradient(loss, x).numpy()
    x, y, upstream = x.numpy(), y.numpy(), upstream.numpy()

    threshold = round(rate * 2**BITS)
    scale = 2**BITS / (2**BITS - threshold)  # the inverse of the exact keep probability
    positive = x > 0
    kept = positive & (y != 0)
    assert not y[~positive].any()  # the ReLU
    np.testing.assert_allclose(y[kept], x[kept] * scale, rtol=1e-6)
    # The dropped fraction of the positive elements is the rate, within 5 binomial deviations.
    dropped = 1 - kept.sum() / positive.sum()
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / positive.sum())
    # The expectation is kept: the mean output over the positive elements ~ their mean input.
    assert abs(y[positive].mean() / x[positive].mean() - 1) < 0.01
    expected = np.where(kept, upstream * scale, 0)
    np.testing.assert_allclose(dx, expected, rtol=1e-6)


@tensorflow_only
def test_the_seed_generator_decides_the_mask():
    x = np.abs(np.random.default_rng(0).standard_normal((2, 300, 4))).astype("float32") + 0.1

    def masks(seed, calls=2):
        relu, dropout = layers(0.3, seed=seed)
        return [keras.ops.convert_to_numpy(relu_dropout(x, relu, dropout, True)) != 0 for _ in range(calls)]

    first, second = masks(7)
    assert (first != second).any()  # each call draws new numbers
    np.testing.assert_array_equal(masks(7)[0], first)  # a seed repeats them
    assert (masks(8)[0] != first).any()


@tensorflow_only
def test_random_bits_are_uniform():
    import tensorflow as tf

    from keras_samplecnn.layers.dropout import _random_bits

    bits = _random_bits(tf.constant([3, 1001, 7]), tf.constant([1, 2])).numpy()  # not a multiple of 4
    assert bits.shape == (3, 1001, 7) and bits.dtype == np.uint16
    counts = np.bincount(bits.ravel() >> 12, minlength=16)  # 16 bins of the top 4 bits
    expected = bits.size / 16
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < 37.7  # the 0.1 % point of chi-square with 15 degrees of freedom
    assert abs(bits.mean() / (2**BITS - 1) - 0.5) < 0.01


@tensorflow_only
def test_other_relus_and_noise_shapes_keep_keras_layers():
    import tensorflow as tf

    x = tf.random.stateless_normal((2, 100, 4), [0, 0])
    leaky = keras.layers.ReLU(negative_slope=0.1)
    y = relu_dropout(x, leaky, keras.layers.Dropout(0.5, seed=1), training=True).numpy()
    assert (y < 0).any()  # the leaky slope survived: Keras's layers ran
    shared = relu_dropout(x, keras.layers.ReLU(), keras.layers.Dropout(0.5, noise_shape=(2, 1, 4), seed=1), True)
    kept = shared.numpy() != 0
    positive = x.numpy() > 0
    # With a noise shape a channel is kept or dropped at every time step of an example.
    kept_somewhere = (kept & positive).any(axis=1, keepdims=True)
    np.testing.assert_array_equal(kept, positive & kept_somewhere)
    assert kept_somewhere.any() and not kept_somewhere.all()


@tensorflow_only
def test_a_res_block_trains_through_the_fused_path():
    import tensorflow as tf

    block = ResBlock(4, dropout=0.5)
    x = tf.random.stateless_normal((3, 27, 4), [2, 3])
    block(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(block(x, training=True) ** 2)
    graph_types = {op.type for op in tf.function(lambda v: block(v, training=True)).get_concrete_function(
        tf.TensorSpec(x.shape)).graph.get_operations()}  # fmt: skip
    assert "StatelessRandomUniformFullIntV2" in graph_types and "StatelessRandomUniformV2" not in graph_types
    gradients = tape.gradient(loss, block.trainable_weights)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in gradients)


@tensorflow_only
def test_a_rate_that_rounds_to_one_keeps_keras_dropout():
    import tensorflow as tf

    x = tf.ones((1, 10, 4))
    y = relu_dropout(x, *layers(1 - 2**-20, seed=3), training=True).numpy()
    assert np.isfinite(y).all()  # no division by a keep probability of zero
