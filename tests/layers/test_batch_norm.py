"""BatchNorm: TensorFlow's fused kernel in training, the same numbers as Keras's layer."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras_samplecnn.layers import BatchNorm, ResBlock, SampleConv


def _pair(shape, **kwargs):
    reference, fused = keras.layers.BatchNormalization(**kwargs), BatchNorm(**kwargs)
    rng = np.random.default_rng(1)
    for layer in (reference, fused):
        layer.build(shape)
    gamma, beta = rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1])
    for layer in (reference, fused):
        layer.gamma.assign(gamma.astype("float32"))
        layer.beta.assign(beta.astype("float32"))
    return reference, fused


def _train_call(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.cast(y, "float32") * tf.sin(tf.cast(y, "float32")))
    return y, tape.gradient(loss, [x, layer.gamma, layer.beta])


@pytest.mark.parametrize("shape", [(4, 50, 8), (3, 1, 40, 6)])
def test_training_matches_keras(shape):
    x = tf.constant(np.random.default_rng(0).standard_normal(shape).astype("float32") * 3 + 1)
    reference, fused = _pair(shape)
    for _ in range(2):  # the moving averages after two steps
        y_ref, grads_ref = _train_call(reference, x)
        y, grads = _train_call(fused, x)
    np.testing.assert_allclose(y, y_ref, atol=1e-5)
    for got, want in zip(grads, grads_ref):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # The biased batch variance feeds the moving average, as in Keras (not the fused op's unbiased one).
    np.testing.assert_allclose(fused.moving_mean, reference.moving_mean, atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance, reference.moving_variance, rtol=1e-6)
    batch_var = np.var(x.numpy().reshape(-1, shape[-1]), axis=0)
    expected = 0.99 * (0.99 * 1 + 0.01 * batch_var) + 0.01 * batch_var
    np.testing.assert_allclose(fused.moving_variance, expected, rtol=1e-5)


def test_the_fused_kernel_runs_in_training():
    x = tf.random.normal((2, 9, 4))
    fused = BatchNorm()
    graph = tf.function(lambda t: fused(t, training=True)).get_concrete_function(x).graph
    assert any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())
    graph = tf.function(lambda t: fused(t, training=False)).get_concrete_function(x).graph
    assert not any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())


def test_mixed_bfloat16_statistics_match_keras_float32_ones():
    x = tf.constant(np.random.default_rng(2).standard_normal((3, 30, 5)).astype("float32"))
    reference, fused = _pair(x.shape, dtype="mixed_bfloat16")
    y_ref, _ = _train_call(reference, tf.cast(x, "bfloat16"))
    y, _ = _train_call(fused, tf.cast(x, "bfloat16"))
    assert y.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(y, "float32"), tf.cast(y_ref, "float32"), atol=2e-2)
    np.testing.assert_allclose(fused.moving_variance, reference.moving_variance, rtol=1e-5)


def test_synchronized_and_inference_are_keras_own():
    x = tf.random.normal((2, 9, 4))
    reference, fused = _pair(x.shape)
    np.testing.assert_array_equal(fused(x, training=False), reference(x, training=False))
    fused.synchronized = True
    graph = tf.function(lambda t: fused(t, training=True)).get_concrete_function(x).graph
    assert not any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())


def test_config_and_saved_model_round_trip(tmp_path):
    inputs = keras.Input((27, 3))
    model = keras.Model(inputs, BatchNorm(momentum=0.9, epsilon=1e-4, name="bn")(inputs))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.random.default_rng(3).standard_normal((8, 27, 3)), np.zeros((8, 27, 3)), verbose=0)
    path = str(tmp_path / "bn.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("bn")
    assert type(layer) is BatchNorm and layer.momentum == 0.9 and layer.epsilon == 1e-4
    x = np.random.default_rng(4).standard_normal((2, 27, 3))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("block", ["sample_conv", "res_block"])
def test_pooling_before_relu_gives_the_papers_block(block):
    # The blocks pool before the ReLU; Conv -> BN -> ReLU -> MaxPool (the papers' order) built
    # from Keras layers with the same weights gives the same outputs and gradients.
    x = tf.constant(np.random.default_rng(5).standard_normal((2, 81, 8)).astype("float32"))
    layer = SampleConv(8) if block == "sample_conv" else ResBlock(8, num_convs=1, se_ratio=None)
    layer.build(x.shape)
    conv = keras.layers.Conv1D(8, 3, padding="same", use_bias=False)
    bn = keras.layers.BatchNormalization()
    conv.build(x.shape)
    bn.build((2, 81, 8))
    inner_conv, inner_bn = (layer.conv, layer.bn) if block == "sample_conv" else (layer.conv1, layer.bn1)
    conv.kernel.assign(inner_conv.kernel)

    def papers_order(t):
        y = bn(conv(t), training=True)
        if block == "res_block":
            y = y + t
        return keras.layers.MaxPooling1D(3)(keras.layers.ReLU()(y))

    def gradients(function):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
            loss = tf.reduce_sum(y * tf.cos(y))
        return y, tape.gradient(loss, [x])[0]

    y, grad = gradients(lambda t: layer(t, training=True))
    y_ref, grad_ref = gradients(papers_order)
    assert inner_bn is not None
    np.testing.assert_allclose(y, y_ref, atol=1e-5)
    np.testing.assert_allclose(grad, grad_ref, atol=1e-4)
