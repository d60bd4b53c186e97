import os
import subprocess
import sys

import numpy as np
import pytest

import keras

import keras_samplecnn
from keras_samplecnn.models import SampleCNN, default_filters
from keras_samplecnn.models.samplecnn import input_geometry, output_frames
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = keras_samplecnn.list_models()

# SMC 2017 table: (m, n, input samples, frames after the stem, stem filter length f).
SMC2017_CONFIGS = [
    (2, 6, 16384, 64, 256), (2, 9, 16384, 512, 32), (2, 13, 16384, 8192, 2),
    (2, 7, 32768, 128, 256), (2, 14, 32768, 16384, 2),
    (3, 3, 19683, 27, 729), (3, 8, 19683, 6561, 3),
    (3, 4, 59049, 81, 729), (3, 6, 59049, 729, 81), (3, 9, 59049, 19683, 3),
    (4, 3, 16384, 64, 256), (4, 6, 16384, 4096, 4), (4, 4, 65536, 256, 256), (4, 7, 65536, 16384, 4),
    (5, 3, 15625, 125, 125), (5, 5, 15625, 3125, 5), (5, 4, 78125, 625, 125), (5, 6, 78125, 15625, 5),
]  # fmt: skip


def test_list_models_and_aliases():
    assert {"samplecnn", "se", "res", "rese", "resse", "frame", "mel"} <= set(MODELS)
    assert keras_samplecnn.build("basic").get_config()["block"] == "basic"


@pytest.mark.parametrize("name", MODELS)
def test_forward_shape(name):
    model = keras_samplecnn.build(name, num_classes=7)
    x = helpers.random_input((2, model.input_length)) * 0.1
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (2, 7)
    assert np.all((y >= 0) & (y <= 1))  # untrained BN statistics may saturate the sigmoid


def test_3_9_model_matches_the_paper():
    model = keras_samplecnn.build("samplecnn")
    assert model.input_length == 59049 and model.sample_rate == 22050
    stem = model.get_layer("stem")
    assert (stem.kernel_size, stem.strides, stem.filters) == (3, 3, 128)
    widths = [model.get_layer(f"block{i}").filters for i in range(1, 10)]
    assert widths == [128, 128, 256, 256, 256, 256, 256, 256, 512]
    assert model.get_layer("block9").output.shape[1] == 1  # time axis reaches 1
    # Our count; the paper publishes none (papers.md: about 1.87 M).
    assert 1.85e6 < model.count_params() < 1.90e6


def test_multi_level_concatenates_last_three_blocks():
    model = keras_samplecnn.build("resse")
    assert model.get_layer("multi_level").output.shape == (None, 256 + 256 + 512)
    assert model.get_layer("block1").se.ratio == 16


@pytest.mark.parametrize("m, n, input_length, frames, stem", SMC2017_CONFIGS)
def test_smc2017_configurations(m, n, input_length, frames, stem):
    model = keras_samplecnn.build("samplecnn", m=m, n=n, input_length=input_length)
    assert model.stem_size == stem
    assert model.get_layer("stem").output.shape[1] == frames == m**n
    assert output_frames(input_length, m, n, stem) == 1


def expected_parameters(block="basic", m=3, n=9, multi_level=False, num_levels=3, se_ratio=16, stem_size=3,
                        frontend="waveform", num_classes=50, stem_filters=128, mel_bins=128):  # fmt: skip
    """Parameter count from the layer formulas (BN: 4 per channel; no conv bias before BN).

    Follows the authors' structure (tae-jun/resemul model.py): widths 128, 128, 256 ..., 512;
    SE Dense(alpha*C) + Dense(C) with biases; the head's hidden Dense as wide as its input.
    """
    widths = [128 if i < 2 else 512 if i == n - 1 else 256 for i in range(n)]
    bn = 4
    if frontend == "mel":
        total = bn * mel_bins + mel_bins * stem_filters + bn * stem_filters  # mel_norm, 1x1 stem
    else:
        total = stem_size * stem_filters + bn * stem_filters
    previous = stem_filters
    residual, convs, se = {"basic": (0, 1, 0), "se": (0, 1, 1), "res1": (1, 1, 0), "res2": (1, 2, 0),
                           "rese1": (1, 1, 1), "rese2": (1, 2, 1)}[block]  # fmt: skip
    for width in widths:
        total += m * previous * width + bn * width
        if convs == 2:
            total += m * width * width + bn * width
        if residual and previous != width:
            total += previous * width + bn * width  # 1x1 shortcut
        if se:
            hidden = round(width * se_ratio)
            total += width * hidden + hidden + hidden * width + width
        previous = width
    features = sum(widths[-num_levels:]) if multi_level else widths[-1]
    return total + features * features + bn * features + features * num_classes + num_classes


PRESET_STRUCTURE = {
    "samplecnn": {}, "se": {"block": "se"}, "res1": {"block": "res1"}, "res": {"block": "res2"},
    "rese1": {"block": "rese1"}, "rese": {"block": "rese2"}, "resse": {"block": "rese2", "multi_level": True},
    "frame": {"n": 4, "stem_size": 729}, "mel": {"n": 4, "frontend": "mel"},
}  # fmt: skip


@pytest.mark.parametrize("name", MODELS)
def test_parameter_counts_follow_the_layer_formulas(name):
    structure = PRESET_STRUCTURE[name]
    assert keras_samplecnn.build(name).count_params() == expected_parameters(**structure)
    if not structure.get("multi_level"):
        multi = keras_samplecnn.build(name, multi_level=True).count_params()
        assert multi == expected_parameters(**{**structure, "multi_level": True})


def test_head_is_as_wide_as_its_features():
    # The authors' Dense(x.shape[-1]): 512 for one block, 256 + 256 + 512 with multi-level.
    assert keras_samplecnn.build("resse").get_layer("head_dense").units == 1024
    assert keras_samplecnn.build("se").get_layer("head_dense").units == 512
    assert keras_samplecnn.build("se", head_units=64).get_layer("head_dense").units == 64


def test_initializers_follow_the_authors_code():
    model = keras_samplecnn.build("resse")
    block = model.get_layer("block3")  # 128 -> 256: has a shortcut convolution
    name = lambda initializer: type(initializer).__name__  # noqa: E731
    assert name(model.get_layer("stem").conv.kernel_initializer) == "HeUniform"
    assert name(block.conv1.kernel_initializer) == name(block.conv2.kernel_initializer) == "HeUniform"
    assert name(block.shortcut_conv.kernel_initializer) == "GlorotUniform"
    assert (
        name(block.se.hidden.kernel_initializer) == name(block.se.gate.kernel_initializer) == "GlorotUniform"
    )
    assert name(model.get_layer("head_dense").kernel_initializer) == "GlorotUniform"
    assert name(model.get_layer("predictions").kernel_initializer) == "GlorotUniform"


def test_readme_parameter_table_is_the_generated_one():
    from keras_samplecnn.models.registry import parameter_table

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert parameter_table() in readme, "regenerate the README table: python -m keras_samplecnn.models"


def test_se_ratio_is_exposed():
    small = keras_samplecnn.build("se", se_ratio=0.125)
    assert small.count_params() < keras_samplecnn.build("samplecnn").count_params() * 1.1
    assert small.get_layer("block1_se").hidden.units == 16


def test_overrides():
    model = keras_samplecnn.build(
        "rese", num_classes=35, n=8, input_length=22050, activation="softmax", dropout=0.3, filters=[64] * 8
    )
    assert model.stem_size == 3 and model.input_length == 22050
    assert model.get_layer("head_dropout").rate == 0.3
    y = keras.ops.convert_to_numpy(model(helpers.random_input((2, 22050)), training=False))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_tags_travel_with_the_model(tmp_path):
    tags = ["guitar", "piano", "no vocals"]
    model = keras_samplecnn.build("frame", num_classes=3, tags=tags)
    restored = helpers.check_saving(model, helpers.random_input((1, 59049)), tmp_path)
    assert restored.tags == tags


def test_num_classes_defaults_to_the_number_of_tags():
    tags = ["low", "mid", "high", "noise"]
    model = keras_samplecnn.build("samplecnn", tags=tags, n=4, input_length=243)
    assert model.num_classes == 4 and model.output_shape == (None, 4) and model.tags == tags
    assert keras_samplecnn.build("samplecnn", n=4, input_length=243).num_classes == 50  # no tags: MTAT's 50
    with pytest.raises(ValueError, match="got 4 tags for num_classes=3"):
        keras_samplecnn.build("samplecnn", num_classes=3, tags=tags, n=4, input_length=243)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "vgg"}, "unknown model 'vgg'; choose one of: samplecnn, se"),
        ({"name": "se", "blocks": 3}, r"unknown argument\(s\) \['blocks'\]"),
        (
            {"name": "samplecnn", "input_length": 10000},
            r"too short .* at least 59049 samples \(or fewer blocks: n <= 7\)",
        ),
        ({"name": "samplecnn", "input_length": 729}, r"\(or fewer blocks: n <= 5\)"),
        ({"name": "samplecnn", "filters": [128] * 3}, "one width per block: 9 values"),
        ({"name": "samplecnn", "block": "dense"}, "unknown block 'dense'"),
        ({"name": "samplecnn", "m": 1}, "m >= 2"),
        ({"name": "resse", "num_levels": 12}, "num_levels"),
        ({"name": "mel", "frontend": "cqt"}, "unknown frontend"),
    ],
)
def test_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_samplecnn.build(**kwargs)


@pytest.mark.parametrize("name", MODELS)
def test_save_and_load(name, tmp_path):
    model = keras_samplecnn.build(name)
    helpers.check_saving(model, helpers.random_input((2, model.input_length)) * 0.1, tmp_path)


@pytest.mark.parametrize("policy", helpers.MIXED_POLICIES)
@pytest.mark.parametrize("name", MODELS)
def test_mixed_precision(name, policy):
    model = keras_samplecnn.build(name, dtype=policy)
    helpers.check_policy_reaches_sublayers(model, policy)
    assert model.get_layer("predictions").dtype_policy.name == "float32"
    y = model(helpers.random_input((1, model.input_length)) * 0.1, training=False)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(y)))
    assert SampleCNN.from_config(model.get_config()).get_layer("block1").dtype_policy.name == policy


def test_global_mixed_policy_is_respected():
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = keras_samplecnn.build("res1")
    helpers.check_policy_reaches_sublayers(model, "mixed_bfloat16")


def test_training_step_moves_every_weight():
    model = keras_samplecnn.build("rese1", num_classes=4, n=5, input_length=729)
    x = helpers.random_input((4, 729))
    y = (helpers.random_input((4, 4), 1) > 0).astype("float32")
    helpers.check_training_step(model, x, y, loss="binary_crossentropy")


def test_input_geometry_matches_the_built_model():
    for m, n, length, _, stem in SMC2017_CONFIGS[:6]:
        assert input_geometry(m, n, length) == (length, stem)
    assert input_geometry() == (59049, 3)


def test_standardisation_is_part_of_the_model(tmp_path):
    """input_mean/std make the model see (x - mean) / std: the same output as a model without
    them fed standardised audio, and it survives saving."""
    kwargs = dict(num_classes=4, m=3, n=3, stem_filters=8, filters=[8, 8, 8], dropout=0.0)
    keras.utils.set_random_seed(1)
    plain = keras_samplecnn.SampleCNN(**kwargs)
    standardised = keras_samplecnn.SampleCNN(**kwargs, input_mean=0.02, input_std=0.25)
    standardised.set_weights(plain.get_weights())  # Rescaling has no weights
    audio = np.random.default_rng(0).normal(0.02, 0.25, (2, 81)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(standardised(audio)),
        keras.ops.convert_to_numpy(plain((audio - 0.02) / 0.25)),
        rtol=1e-4, atol=1e-5,
    )  # fmt: skip
    path = str(tmp_path / "m.keras")
    standardised.save(path)
    loaded = keras.saving.load_model(path)
    assert (loaded.input_mean, loaded.input_std) == (0.02, 0.25)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(audio)), keras.ops.convert_to_numpy(standardised(audio)), atol=1e-6
    )
    with pytest.raises(ValueError, match="input_std must be positive"):
        keras_samplecnn.SampleCNN(**kwargs, input_std=0.0)


def test_default_filters_rule():
    assert default_filters(9) == [128, 128, 256, 256, 256, 256, 256, 256, 512]
    assert default_filters(8) == [128, 128, 256, 256, 256, 256, 256, 512]


def test_summary_runs_in_a_fresh_interpreter():
    code = "import keras_samplecnn as k; k.build('resse').summary()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "multi_level" in out and f"{expected_parameters(block='rese2', multi_level=True):,}" in out


def test_load_model_after_importing_the_package(tmp_path):
    path = tmp_path / "m.keras"
    keras_samplecnn.build("frame", num_classes=2).save(path)
    code = f"import keras, keras_samplecnn; print(type(keras.saving.load_model({str(path)!r})).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "SampleCNN", out.stderr[-2000:]
