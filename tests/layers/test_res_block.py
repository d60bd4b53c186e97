import keras
import numpy as np
import pytest

from keras_samplecnn.layers import ResBlock
from tests import helpers
from tests import numpy_reference as ref


@pytest.mark.parametrize("num_convs", [1, 2])
@pytest.mark.parametrize("se_ratio", [None, 2])
def test_output_shape(num_convs, se_ratio):
    layer = ResBlock(8, num_convs=num_convs, se_ratio=se_ratio)
    helpers.check_output_shape(layer, helpers.random_input((2, 27, 4)), (2, 9, 8))
    assert (layer.conv2 is not None) == (num_convs == 2)
    assert (layer.se is not None) == (se_ratio is not None)


def test_shortcut_projection_only_when_width_changes():
    same = ResBlock(4)
    same(helpers.random_input((1, 9, 4)))
    wider = ResBlock(8)
    wider(helpers.random_input((1, 9, 4)))
    assert same.shortcut_conv is None
    assert wider.shortcut_conv is not None and wider.shortcut_conv.kernel_size == (1,)


def test_res1_identity_matches_numpy_reference():
    x = helpers.random_input((2, 9, 4))
    layer = ResBlock(4, num_convs=1)
    layer(x)
    rng = np.random.default_rng(3)
    layer.bn1.set_weights(
        [rng.uniform(0.5, 1.5, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, 4)]
    )
    (kernel,) = layer.conv1.get_weights()
    main = ref.batch_norm_inference(ref.conv1d_same(x, kernel, 0.0), *layer.bn1.get_weights())
    expected = ref.max_pool(ref.relu(main + x), 3)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x, training=False)), expected, rtol=1e-4, atol=1e-4
    )


def test_config_round_trip():
    helpers.check_config_round_trip(
        ResBlock,
        {"filters": 6, "num_convs": 2, "se_ratio": 0.5, "dropout": 0.1, "kernel_size": 3, "pool_size": 3},
        helpers.random_input((2, 9, 3)),
    )


@pytest.mark.parametrize("num_convs", [1, 2])
def test_training_step(num_convs):
    model = helpers.wrap(ResBlock(4, num_convs=num_convs, se_ratio=1), (9, 2))
    helpers.check_training_step(model, helpers.random_input((4, 9, 2)), helpers.random_input((4, 3, 4), 1))


@pytest.mark.parametrize("policy", helpers.MIXED_POLICIES)
def test_mixed_precision(policy):
    layer = ResBlock(8, se_ratio=1, dtype=policy)
    layer(helpers.random_input((2, 9, 4)))
    helpers.check_policy_reaches_sublayers(layer, policy)
    assert layer.shortcut_conv.dtype_policy.name == policy


def test_bad_num_convs():
    with pytest.raises(ValueError, match="num_convs"):
        ResBlock(4, num_convs=3)


@pytest.mark.parametrize("initializer", ["he_uniform", "taejun_uniform"])
def test_the_two_convolutions_of_a_block_start_from_their_own_kernels(initializer):
    # Keras 3 initializers repeat their values for one shape; a block as wide as its input
    # must still give conv1 and conv2 different kernels (each drawn anew in the authors' code).
    block = ResBlock(8, num_convs=2, kernel_initializer=initializer)
    block.build((None, 27, 8))
    first, second = np.asarray(block.conv1.kernel), np.asarray(block.conv2.kernel)
    assert first.shape == second.shape and not np.allclose(first, second)
