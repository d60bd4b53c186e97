import keras
import numpy as np
import pytest

from keras_samplecnn.layers import SEBlock
from tests import helpers
from tests import numpy_reference as ref


def test_output_shape_and_hidden_width():
    layer = SEBlock(ratio=16)
    helpers.check_output_shape(layer, helpers.random_input((2, 9, 8)), (2, 9, 8))
    # The ICASSP 2018 ratio amplifies: 8 channels -> 128 hidden units.
    assert layer.hidden.units == 128


def test_reducing_ratio():
    layer = SEBlock(ratio=0.125)
    layer(helpers.random_input((1, 3, 64)))
    assert layer.hidden.units == 8


def test_matches_numpy_reference():
    x = helpers.random_input((3, 7, 5))
    layer = SEBlock(ratio=2)
    y = keras.ops.convert_to_numpy(layer(x))
    w1, b1 = layer.hidden.get_weights()
    w2, b2 = layer.gate.get_weights()
    gate = ref.sigmoid(ref.relu(x.mean(axis=1) @ w1 + b1) @ w2 + b2)
    np.testing.assert_allclose(y, x * gate[:, None, :], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.excitation(x)), gate, rtol=1e-5, atol=1e-6)


def test_config_round_trip():
    helpers.check_config_round_trip(SEBlock, {"ratio": 0.5}, helpers.random_input((2, 5, 8)))


def test_training_step():
    model = helpers.wrap(SEBlock(ratio=1), (5, 4))
    helpers.check_training_step(model, helpers.random_input((4, 5, 4)), helpers.random_input((4, 5, 4), 1))


@pytest.mark.parametrize("policy", helpers.MIXED_POLICIES)
def test_mixed_precision(policy):
    layer = SEBlock(ratio=1, dtype=policy)
    layer(helpers.random_input((2, 5, 4)))
    helpers.check_policy_reaches_sublayers(layer, policy)


def test_bad_ratio():
    with pytest.raises(ValueError, match="ratio"):
        SEBlock(ratio=0)
