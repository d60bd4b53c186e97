import numpy as np
import pytest

import keras

from keras_samplecnn.training.optimizers import StepDecaySGD


def test_step_decay_follows_keras2_inverse_time_formula():
    # Constant gradient 1 on w = x (loss = sum(w)): after t plain-SGD steps
    # w_t = w_0 - sum_{i<t} lr / (1 + decay * i), Keras 2's SGD(decay=...) rule.
    lr, decay, steps = 0.1, 0.5, 6
    w = keras.Variable(np.zeros(3, "float32"))
    optimizer = StepDecaySGD(lr, step_decay=decay)
    for _ in range(steps):
        optimizer.apply([keras.ops.ones(3)], [w])
    expected = -sum(lr / (1 + decay * i) for i in range(steps))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), expected, rtol=1e-6)


def test_no_decay_is_plain_sgd():
    a, b = keras.Variable(np.ones(2, "float32")), keras.Variable(np.ones(2, "float32"))
    ours, plain = StepDecaySGD(0.05, momentum=0.9, nesterov=True), keras.optimizers.SGD(0.05, 0.9, True)
    for step in range(4):
        gradient = keras.ops.convert_to_tensor(np.array([step, -step], "float32"))
        ours.apply([gradient], [a])
        plain.apply([gradient], [b])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-6)


def test_config_round_trip_and_bad_decay():
    optimizer = StepDecaySGD(0.01, momentum=0.9, nesterov=True, step_decay=1e-6)
    clone = StepDecaySGD.from_config(optimizer.get_config())
    assert clone.step_decay == 1e-6 and clone.nesterov and clone.momentum == 0.9
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer)).step_decay == 1e-6
    with pytest.raises(ValueError, match="step_decay"):
        StepDecaySGD(step_decay=-1)
