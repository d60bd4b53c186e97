import keras
import numpy as np
import pytest

from keras_samplecnn.layers import SampleConv
from tests import helpers
from tests import numpy_reference as ref


def _randomise_bn(bn, seed):
    rng = np.random.default_rng(seed)
    c = bn.gamma.shape[0]
    bn.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(size=c), rng.normal(size=c), rng.uniform(0.5, 2, c)])


def test_block_output_shape():
    helpers.check_output_shape(SampleConv(16), helpers.random_input((2, 81, 4)), (2, 27, 16))


def test_stem_output_shape():
    stem = SampleConv.stem(8, 3)
    helpers.check_output_shape(stem, helpers.random_input((2, 59049, 1)), (2, 19683, 8))
    assert stem.strides == 3 and stem.padding == "valid" and stem.pool is None


def test_pooling_floors_odd_lengths():
    helpers.check_output_shape(SampleConv(4), helpers.random_input((1, 10, 2)), (1, 3, 4))


@pytest.mark.parametrize("stem", [False, True])
def test_matches_numpy_reference(stem):
    x = helpers.random_input((2, 27, 3))
    layer = SampleConv.stem(5, 3) if stem else SampleConv(5, kernel_size=3, pool_size=3)
    layer(x)
    _randomise_bn(layer.bn, 1)
    (kernel,) = layer.conv.get_weights()
    bias = 0.0
    gamma, beta, mean, var = layer.bn.get_weights()
    expected = ref.conv1d_same(x, kernel, bias, strides=layer.strides, padding=layer.padding)
    expected = ref.relu(ref.batch_norm_inference(expected, gamma, beta, mean, var))
    if not stem:
        expected = ref.max_pool(expected, 3)
    actual = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_without_batch_norm_matches_numpy_reference():
    # The DCUE audio branch: Conv1D with a bias -> ReLU -> MaxPool, no BatchNorm.
    x = helpers.random_input((2, 16, 3))
    layer = SampleConv(5, kernel_size=4, pool_size=4, batch_norm=False)
    layer(x)
    rng = np.random.default_rng(2)
    kernel, bias = (rng.normal(size=w.shape).astype("float32") for w in layer.conv.get_weights())
    layer.conv.set_weights([kernel, bias])
    assert layer.bn is None and len(layer.weights) == 2
    expected = ref.max_pool(ref.relu(ref.conv1d_same(x, kernel, bias)), 4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-4, atol=1e-4)
    assert SampleConv.from_config(layer.get_config()).batch_norm is False


def test_config_round_trip():
    helpers.check_config_round_trip(
        SampleConv,
        {"filters": 6, "kernel_size": 2, "pool_size": 2, "strides": 1, "padding": "same"},
        helpers.random_input((2, 16, 3)),
    )


def test_training_step():
    model = helpers.wrap(SampleConv(4), (27, 2))
    helpers.check_training_step(model, helpers.random_input((4, 27, 2)), helpers.random_input((4, 9, 4), 1))


@pytest.mark.parametrize("policy", helpers.MIXED_POLICIES)
def test_mixed_precision(policy):
    layer = SampleConv(4, dtype=policy)
    y = layer(helpers.random_input((2, 27, 2)))
    helpers.check_policy_reaches_sublayers(layer, policy)
    assert keras.backend.standardize_dtype(y.dtype) == policy.split("_")[1]


def test_bad_pool_size():
    with pytest.raises(ValueError, match="pool_size"):
        SampleConv(4, pool_size=0)
