"""`TaejunUniform`, the JSTSP 2019 code's convolution initializer, and the JSTSP recipes'
convolution weights (tae-jun/sampleaudio @30bd5ed: `lib/initialization.py`, `lib/model.py`,
`lib/model_config.py`, `train.py`).

Backend-neutral (keras.ops / keras.random only): `test_on_every_backend` reruns the checks
marked for it under JAX and PyTorch.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_samplecnn
from keras_samplecnn.layers import ResBlock, SampleConv, TaejunUniform, initializers
from keras_samplecnn.models import SampleCNN, build
from keras_samplecnn.experiments.settings import CONFIGS
from keras_samplecnn.training import config as config_lib
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Conv1D kernels (k, C_in, C_out): the JSTSP stem and block shapes, a 1x1 shortcut, and the
# cpu_1s demo profile's 7-sample stem.
SHAPES = [(3, 1, 128), (3, 128, 128), (3, 128, 256), (3, 256, 512), (1, 128, 256), (7, 1, 32), (3, 32, 64)]
# The authors' L2 weight on the convolutions: `l2(cfg.weight_decay)` with ModelConfig's default
# weight_decay=0. (lib/model_config.py), which train.py never overrides (its --weight-decay
# flag, default 0. too, is not passed to ModelConfig).
AUTHORS_WEIGHT_DECAY = 0.0


def authors_limit(shape, scale):
    """The bound of tae-jun/sampleaudio's `AudioVarianceScaling(scale, "fan_in", "uniform")`,
    written again from `lib/initialization.py` with NumPy (not through the class under test)."""
    len_filter, in_channels, out_channels = shape
    receptive_field_size = len_filter * in_channels  # their flagged line: "should be len_filter"
    fan_in = in_channels * receptive_field_size
    return float(np.sqrt(3.0 * (scale / max(1.0, fan_in))))


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_limit_and_variance_follow_the_authors_formula(shape, scale):
    init = TaejunUniform(scale=scale, seed=7)
    limit = authors_limit(shape, scale)
    assert init.limit(shape) == pytest.approx(limit, rel=1e-12)
    assert TaejunUniform.fan_in(shape) == shape[0] * shape[1] ** 2
    w = numpy(init(shape)).astype(np.float64)
    assert w.shape == shape
    assert np.abs(w).max() <= limit * (1 + 1e-6)  # float32 rounding of the bound
    assert np.abs(w).max() > 0.9 * limit  # and the draws reach out to it
    # The variance of U(-L, L) is L²/3, and Var(w²) = L⁴/5 - L⁴/9: the mean of N squares has a
    # relative standard deviation of sqrt(4/5) / sqrt(N). Allow 6 of them.
    tolerance = 6 * np.sqrt(0.8) / np.sqrt(w.size)
    assert np.mean(w**2) == pytest.approx(limit**2 / 3, rel=tolerance)
    assert abs(np.mean(w)) < 6 * limit / np.sqrt(3 * w.size)


def test_the_flagged_fan_in_makes_it_c_in_times_smaller_than_he_uniform():
    # He uniform's variance is 2 / (k·C_in); the authors' scale-2 draw has 2 / (k·C_in²).
    for k, c_in, c_out in SHAPES:
        he = 2.0 / (k * c_in)
        assert TaejunUniform().limit((k, c_in, c_out)) ** 2 / 3 == pytest.approx(he / c_in, rel=1e-12)
    # Their stem, conv0: kernel 3 on one channel at scale 1, so U(-1, 1).
    assert TaejunUniform(scale=1.0).limit((3, 1, 128)) == pytest.approx(1.0, rel=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="positive"):
        TaejunUniform(scale=0.0)
    with pytest.raises(ValueError, match="Conv1D kernels"):
        TaejunUniform()((16, 16))  # theirs asserts a 3-D kernel
    with pytest.raises(ValueError, match="seed"):
        TaejunUniform(seed="seven")


def test_seeds():
    a, b = numpy(TaejunUniform(seed=3)((3, 8, 8))), numpy(TaejunUniform(seed=3)((3, 8, 8)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, numpy(TaejunUniform(seed=4)((3, 8, 8))))
    # Without a seed every instance draws its own; keras.utils.set_random_seed fixes them.
    assert not np.array_equal(numpy(TaejunUniform()((3, 8, 8))), numpy(TaejunUniform()((3, 8, 8))))
    keras.utils.set_random_seed(1)
    first = numpy(TaejunUniform()((3, 8, 8)))
    keras.utils.set_random_seed(1)
    np.testing.assert_array_equal(first, numpy(TaejunUniform()((3, 8, 8))))
    # A SeedGenerator gives new values on every call, as Keras's own initializers do.
    generated = TaejunUniform(seed=keras.random.SeedGenerator(2))
    assert not np.array_equal(numpy(generated((3, 8, 8))), numpy(generated((3, 8, 8))))


def test_config_round_trip_and_names():
    init = TaejunUniform(scale=1.0, seed=5)
    assert init.get_config() == {"scale": 1.0, "seed": 5}
    clone = TaejunUniform.from_config(init.get_config())
    np.testing.assert_array_equal(numpy(clone((3, 4, 4))), numpy(init((3, 4, 4))))
    # Keras's own (de)serialisation finds it by its registered name.
    restored = keras.initializers.get(keras.initializers.serialize(init))
    assert type(restored) is TaejunUniform and restored.get_config() == init.get_config()
    # Our layers resolve the plain name and a config dict of it.
    assert type(initializers.get("taejun_uniform")) is TaejunUniform
    assert initializers.get("taejun_uniform").scale == 2.0
    assert initializers.get({"class_name": "taejun_uniform", "config": {"scale": 1.0}}).scale == 1.0
    assert type(initializers.get("he_uniform")).__name__ == "HeUniform"


def test_layers_take_it_by_name():
    x = helpers.random_input((2, 27, 4))
    conv = SampleConv(8, kernel_initializer="taejun_uniform")
    conv(x)
    assert type(conv.conv.kernel_initializer) is TaejunUniform
    assert np.abs(numpy(conv.conv.kernel)).max() <= authors_limit((3, 4, 8), 2.0) * (1 + 1e-6)
    helpers.check_config_round_trip(SampleConv, {"filters": 8, "kernel_initializer": "taejun_uniform"}, x)
    block = ResBlock(8, kernel_initializer="taejun_uniform", kernel_regularizer={"class_name": "L2",
                     "config": {"l2": 1e-3}})  # fmt: skip
    block(x)
    assert type(block.conv1.kernel_initializer) is TaejunUniform
    assert type(block.shortcut_conv.kernel_initializer).__name__ == "GlorotUniform"
    for conv in (block.conv1, block.conv2, block.shortcut_conv):
        assert conv.kernel_regularizer.l2 == pytest.approx(1e-3)
    helpers.check_config_round_trip(
        ResBlock, {"filters": 8, "kernel_initializer": "taejun_uniform", "kernel_regularizer": "l2"}, x
    )


SMALL = {"n": 3, "input_length": 81, "stem_filters": 8, "filters": [8, 8, 16], "se_ratio": 0.5}


def test_model_save_and_load(tmp_path):
    stem = {"class_name": "taejun_uniform", "config": {"scale": 1.0}}
    model = SampleCNN(num_classes=4, block="rese2", kernel_initializer=TaejunUniform(), stem_initializer=stem,
                      kernel_regularizer=keras.regularizers.L2(1e-4), **SMALL)  # fmt: skip
    config = model.get_config()
    assert config["stem_initializer"] == stem
    assert config["kernel_initializer"]["class_name"] == "TaejunUniform"
    assert config["kernel_regularizer"]["config"] == {"l2": 1e-4}
    assert SampleCNN.from_config(config).get_config() == config
    path = str(tmp_path / "taejun.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is SampleCNN and restored.get_config() == config
    x = helpers.random_input((2, 81))
    np.testing.assert_allclose(numpy(restored(x, training=False)), numpy(model(x, training=False)),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    assert restored.get_layer("stem").conv.kernel_initializer.scale == 1.0
    assert restored.get_layer("block2").conv2.kernel_regularizer.l2 == pytest.approx(1e-4)
    # The stem, 2 convolutions per block, 1 shortcut (8 -> 16).
    assert len(restored.losses) == len(model.losses) == 1 + 2 * 3 + 1
    # The backbone view carries the same arguments.
    assert restored.backbone.get_config()["stem_initializer"] == stem


def conv_layers(model):
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.Conv1D)]  # fmt: skip


def l2_weight(regularizer):
    """The L2 weight a kernel regulariser puts on the loss: 0 for none."""
    if regularizer is None:
        return 0.0
    assert isinstance(regularizer, (keras.regularizers.L2, keras.regularizers.L1L2)), regularizer
    assert getattr(regularizer, "l1", 0.0) == 0.0
    return float(regularizer.l2)


@pytest.mark.parametrize("recipe", ["speech_commands_basic", "speech_commands_resse", "dcase2017_resse"])
def test_jstsp_recipes_build_the_authors_convolutions(recipe):
    config = config_lib.load(os.path.join(CONFIGS, f"{recipe}.yaml"))
    overrides = dict(config.model.overrides, filters=[8, 8, 16, 16, 16, 16, 16, 32], stem_filters=8)  # small
    model = build(config.model.name, num_classes=5, multi_level=config.model.multi_level, **overrides)
    convs = conv_layers(model)
    assert len(convs) == 1 + (8 if config.model.name == "samplecnn" else 8 * 2 + 2)
    for layer in convs:
        initializer, where = layer.kernel_initializer, layer.path
        if where.startswith("stem/"):  # conv0: taejun_uniform(scale=1.)
            assert (type(initializer), initializer.scale) == (TaejunUniform, 1.0), where
        elif "shortcut" in where:  # scut_conv: glorot_uniform
            assert type(initializer).__name__ == "GlorotUniform", where
        else:  # every block conv: taejun_uniform()
            assert (type(initializer), initializer.scale) == (TaejunUniform, 2.0), where
        assert l2_weight(layer.kernel_regularizer) == AUTHORS_WEIGHT_DECAY, where
        limit = authors_limit(tuple(layer.kernel.shape), 1.0 if where.startswith("stem/") else 2.0)
        if type(initializer) is TaejunUniform:
            assert np.abs(numpy(layer.kernel)).max() <= limit * (1 + 1e-6), where
    # The dense layers (SE, head) are not regularised in theirs or here.
    dense = [layer for layer in model._flatten_layers(recursive=True)
             if isinstance(layer, keras.layers.Dense)]  # fmt: skip
    assert dense and all(layer.kernel_regularizer is None for layer in dense)
    assert all(type(layer.kernel_initializer).__name__ == "GlorotUniform" for layer in dense)
    assert model.losses == []  # an L2 of 0 adds nothing, and none is attached


def test_other_recipes_keep_he_uniform_and_no_penalty():
    config = config_lib.load(os.path.join(CONFIGS, "mtat_rese.yaml"))
    assert not {"kernel_initializer", "stem_initializer", "kernel_regularizer"} & set(config.model.overrides)
    model = build(config.model.name, num_classes=5, **{**config.model.overrides, **SMALL})
    for layer in conv_layers(model):
        expected = "GlorotUniform" if "shortcut" in layer.path else "HeUniform"
        assert type(layer.kernel_initializer).__name__ == expected and layer.kernel_regularizer is None
    assert keras_samplecnn.build("samplecnn").get_config()["kernel_initializer"] == "he_uniform"


def check_on_this_backend():
    """What `test_on_every_backend` runs in a subprocess: the formula's checks and a save/load."""
    import tempfile

    for shape in SHAPES:
        test_limit_and_variance_follow_the_authors_formula(shape, 2.0)
    test_seeds()
    test_config_round_trip_and_names()
    with tempfile.TemporaryDirectory() as directory:
        import pathlib

        test_model_save_and_load(pathlib.Path(directory))
    print(f"{keras.config.backend()}: ok")


@pytest.mark.large
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_on_every_backend(backend):
    import importlib.util

    if importlib.util.find_spec(backend) is None:
        if os.environ.get("SAMPLECNN_REQUIRE_BACKENDS"):
            pytest.fail(f"{backend} is not installed")
        pytest.skip(f"{backend} is not installed (pip install -e '.[backends]')")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    code = "from tests.layers.test_initializers import check_on_this_backend; check_on_this_backend()"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    output = result.stdout[-2000:] + result.stderr[-3000:]
    assert result.returncode == 0 and f"{backend}: ok" in result.stdout, output
