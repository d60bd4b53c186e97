import keras
import numpy as np
import pytest

from keras_samplecnn.layers import MultiLevelConcat
from tests import helpers


def test_matches_numpy_reference():
    a, b, c = (
        helpers.random_input((2, 9, 3)),
        helpers.random_input((2, 3, 4), 1),
        helpers.random_input((2, 1, 5), 2),
    )
    layer = MultiLevelConcat()
    y = helpers.check_output_shape(layer, [a, b, c], (2, 12))
    expected = np.concatenate([a.max(axis=1), b.max(axis=1), c.max(axis=1)], axis=-1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y), expected)


def test_config_round_trip():
    layer = MultiLevelConcat(name="ml")
    clone = MultiLevelConcat.from_config(layer.get_config())
    assert clone.name == "ml"


def test_needs_a_list():
    with pytest.raises(ValueError, match="list"):
        MultiLevelConcat()([])


def test_gradient_flows_to_every_level():
    inputs = [keras.Input((9, 3)), keras.Input((3, 4))]
    features = MultiLevelConcat()(inputs)
    outputs = keras.layers.Dense(1)(features)
    model = keras.Model(inputs, outputs)
    x = [helpers.random_input((4, 9, 3)), helpers.random_input((4, 3, 4), 1)]
    helpers.check_training_step(model, x, helpers.random_input((4, 1), 2))
