"""SampleCNNBackbone, SampleCNN built on it, and the presets as records."""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

import keras_samplecnn
from keras_samplecnn.models import SampleCNN, SampleCNNBackbone, extractor_presets, get_preset, smc2017_table
from keras_samplecnn.models.registry import EXTRACTOR_SETS, PRESETS, SMC2017_TABLE
from tests import helpers
from tests.models.test_models import SMC2017_CONFIGS, expected_parameters

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
SMALL = {"m": 3, "n": 4, "input_length": 243, "stem_filters": 8, "filters": [8, 8, 16, 16], "se_ratio": 2}
HEAD = {"multi_level", "num_levels", "head_units", "dropout", "activation", "num_classes", "tags"}


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("block", ["basic", "se", "res2", "rese1"])
@pytest.mark.parametrize("frontend", ["waveform", "mel"])
def test_backbone_outputs_are_the_task_models_block_outputs(block, frontend):
    """On the same weights, the backbone's outputs equal the tagger's intermediate layers."""
    kwargs = dict(SMALL, block=block, frontend=frontend, input_mean=0.01, input_std=0.5)
    if frontend == "mel":
        kwargs.update(input_length=729 * 3, stem_size=27, fft_length=256, num_mel_bins=16)
    keras.utils.set_random_seed(3)
    model = SampleCNN(num_classes=5, **kwargs)
    backbone = SampleCNNBackbone(**kwargs)
    # The backbone's weights are the tagger's without the head, in the same order.
    head = len(model.weights) - len(backbone.weights)
    assert [w.path for w in model.weights[: len(backbone.weights)]] == [w.path for w in backbone.weights]
    backbone.set_weights(model.get_weights()[: len(model.weights) - head])

    x = helpers.random_input((2, model.input_length)) * 0.1
    outputs = backbone(x, training=False)
    assert list(outputs) == backbone.block_names == [f"block{i}" for i in range(1, 5)]
    suffix = "_se" if block == "se" else ""
    for i, name in enumerate(backbone.block_names):
        reference = keras.Model(model.input, model.get_layer(name + suffix).output)
        expected = numpy(reference(x, training=False))
        assert outputs[name].shape[-1] == backbone.filters[i]
        np.testing.assert_allclose(numpy(outputs[name]), expected, rtol=1e-5, atol=1e-6)
    # And the view on the tagger gives the same, without copying.
    view = model.backbone
    assert all(a is b for a, b in zip(view.weights, model.weights[: len(view.weights)]))
    np.testing.assert_allclose(numpy(view(x)["block4"]), numpy(outputs["block4"]), rtol=1e-5, atol=1e-6)


def test_backbone_attributes_and_shapes():
    backbone = SampleCNNBackbone(block="rese2")
    assert (backbone.input_length, backbone.stem_size, backbone.sample_rate) == (59049, 3, 22050)
    assert backbone.filters == [128, 128, 256, 256, 256, 256, 256, 256, 512]
    assert backbone.block_layer_names == backbone.block_names
    shapes = {name: tuple(t.shape) for name, t in backbone.output.items()}
    assert shapes["block1"] == (None, 6561, 128) and shapes["block9"] == (None, 1, 512)
    assert SampleCNNBackbone(block="se", n=3, input_length=81).block_layer_names[0] == "block1_se"
    # The tagger's parameters are the backbone's plus the head's.
    tagger = keras_samplecnn.build("rese")
    head = 512 * 512 + 4 * 512 + 512 * 50 + 50
    assert tagger.count_params() == backbone.count_params() + head == expected_parameters("rese2")


def test_backbone_has_the_structural_arguments_of_samplecnn():
    import inspect

    backbone_args = set(inspect.signature(SampleCNNBackbone.__init__).parameters) - {"self", "kwargs"}
    tagger_args = set(inspect.signature(SampleCNN.__init__).parameters) - {"self", "kwargs"}
    assert backbone_args == tagger_args - HEAD


@pytest.mark.parametrize(
    "kwargs, message",
    [({"block": "dense"}, "unknown block"), ({"n": 9, "input_length": 10000}, "n <= 7"),
     ({"filters": [8]}, "one width per block"), ({"input_std": 0.0}, "input_std must be positive")],
)  # fmt: skip
def test_backbone_rejects_what_samplecnn_rejects(kwargs, message):
    for cls in (SampleCNNBackbone, SampleCNN):
        with pytest.raises(ValueError, match=message):
            cls(**{**SMALL, **kwargs})


def test_backbone_config_round_trip():
    kwargs = dict(SMALL, block="rese2", input_mean=0.1, input_std=2.0, sample_rate=16000)
    x = helpers.random_input((2, 243))
    backbone = SampleCNNBackbone(**kwargs)
    config = backbone.get_config()
    clone = SampleCNNBackbone.from_config(config)
    clone.set_weights(backbone.get_weights())
    assert clone.get_config() == config
    np.testing.assert_allclose(numpy(clone(x)["block4"]), numpy(backbone(x)["block4"]), rtol=1e-5, atol=1e-6)
    assert set(config) - {"name", "trainable", "dtype"} == set(kwargs) | {"stem_size", "block_dropout",
                                                                         "frontend", "fft_length", "num_mel_bins",
                                                                         "pool_sizes", "mel_scale", "mel_norm",
                                                                         "mel_power", "kernel_initializer",
                                                                         "stem_initializer",
                                                                         "kernel_regularizer"}  # fmt: skip


def test_backbone_save_and_load(tmp_path):
    backbone = SampleCNNBackbone(**SMALL, block="se")
    x = helpers.random_input((2, 243))
    path = str(tmp_path / "backbone.keras")
    expected = backbone(x)
    backbone.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is SampleCNNBackbone and restored.get_config() == backbone.get_config()
    for name in backbone.block_names:
        np.testing.assert_allclose(numpy(restored(x)[name]), numpy(expected[name]), rtol=1e-5, atol=1e-6)


def test_view_of_a_tagger_saves_as_a_plain_backbone(tmp_path):
    """`model.backbone` saved alone reloads as a SampleCNNBackbone with the tagger's weights."""
    keras.utils.set_random_seed(0)
    model = SampleCNN(num_classes=3, **SMALL, block="res1")
    x = helpers.random_input((2, 243))
    expected = numpy(model.backbone(x)["block3"])
    path = str(tmp_path / "view.keras")
    model.backbone.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is SampleCNNBackbone
    np.testing.assert_allclose(numpy(restored(x)["block3"]), expected, rtol=1e-5, atol=1e-6)
    # The view is not stored on the tagger: its layout is unchanged by asking for it.
    assert [layer.name for layer in model.layers][-1] == "predictions"


def test_backbone_training_step_moves_every_weight():
    backbone = SampleCNNBackbone(**SMALL, block="rese2")
    features = keras.layers.GlobalMaxPooling1D()(backbone.output["block4"])
    model = keras.Model(backbone.input, keras.layers.Dense(2)(features))
    x = helpers.random_input((4, 243))
    helpers.check_training_step(model, x, helpers.random_input((4, 2), 1))


@pytest.mark.parametrize("policy", helpers.MIXED_POLICIES)
@pytest.mark.parametrize("block, frontend", [("se", "waveform"), ("rese2", "waveform"), ("basic", "mel")])
def test_backbone_mixed_precision(policy, block, frontend):
    kwargs = dict(SMALL, block=block, frontend=frontend, input_mean=0.1, input_std=2.0)
    if frontend == "mel":
        kwargs.update(input_length=729 * 3, stem_size=27, fft_length=256, num_mel_bins=16)
    backbone = SampleCNNBackbone(**kwargs, dtype=policy)
    helpers.check_policy_reaches_sublayers(backbone, policy, exempt=())
    outputs = backbone(helpers.random_input((1, backbone.input_length)) * 0.1)
    assert keras.backend.standardize_dtype(outputs["block4"].dtype) == policy.split("_")[1]
    restored = SampleCNNBackbone.from_config(backbone.get_config())
    helpers.check_policy_reaches_sublayers(restored, policy, exempt=())
    # The view on a mixed-precision tagger keeps its policy.
    tagger = SampleCNN(num_classes=2, **kwargs, dtype=policy)
    assert tagger.backbone.get_config()["dtype"] == backbone.get_config()["dtype"]


# Constructor arguments of SampleCNN before the backbone split: `.keras` files store exactly
# these, so they must stay accepted (a file saved then is in tests/fixtures).
CONFIG_BEFORE_SPLIT = {
    "activation", "block", "block_dropout", "dropout", "dtype", "fft_length", "filters", "frontend",
    "head_units", "input_length", "input_mean", "input_std", "m", "multi_level", "n", "name",
    "num_classes", "num_levels", "num_mel_bins", "sample_rate", "se_ratio", "stem_filters",
    "stem_size", "tags", "trainable",
}  # fmt: skip


def test_samplecnn_config_format_only_grew_by_pool_sizes_the_mel_options_and_the_conv_weights():
    # pool_sizes (the SPL 2017 extractors), the mel front end's options and the convolutions'
    # initialisers and regulariser (the JSTSP 2019 code's taejun_uniform) are the keys added
    # since; files without them load with their defaults (pool_sizes', He uniform, no penalty)
    # and the old front end (see the next test, and tests/layers/test_mel.py for the mel options).
    assert set(keras_samplecnn.build("frame").get_config()) == CONFIG_BEFORE_SPLIT | {
        "pool_sizes", "mel_scale", "mel_norm", "mel_power",
        "kernel_initializer", "stem_initializer", "kernel_regularizer"}  # fmt: skip


def test_file_saved_before_the_split_loads_with_identical_predictions():
    """tests/fixtures/samplecnn_before_backbone.keras was written by the code before the backbone
    split (3^4, 8 filters, standardisation, seed 1) with its predictions on a fixed input."""
    path = os.path.join(FIXTURES, "samplecnn_before_backbone.keras")
    with zipfile.ZipFile(path) as archive:
        saved = json.loads(archive.read("config.json"))
    assert saved["class_name"] == "SampleCNN" and set(saved["config"]) == CONFIG_BEFORE_SPLIT
    reference = np.load(os.path.join(FIXTURES, "samplecnn_before_backbone.npz"))
    model = keras.saving.load_model(path)
    assert type(model) is SampleCNN and (model.input_mean, model.input_std) == (0.1, 0.5)
    np.testing.assert_allclose(
        numpy(model(reference["x"], training=False)), reference["y"], rtol=1e-6, atol=1e-7
    )
    # Its stem and blocks are reachable as a backbone.
    assert model.backbone(reference["x"])["block3"].shape == (2, 1, 8)


def test_presets_are_records():
    for name, preset in PRESETS.items():
        assert preset.name == name and preset.paper.startswith(("Lee", "Kim")) and "arXiv:" in preset.paper
        model = keras_samplecnn.build(name)
        assert (model.input_length, model.sample_rate) == (preset.input_length, preset.sample_rate)
        for key, value in preset.arguments.items():
            assert model.get_config()[key] == value
    with pytest.raises(TypeError):
        PRESETS["samplecnn"].arguments["block"] = "se"  # read-only: build() cannot change it
    # Paper results where papers.md gives them (sections 1-2).
    aucs = {name: (p.mtat_auc, p.mtat_auc_multi_level) for name, p in PRESETS.items()}
    assert aucs["samplecnn"] == (0.9055, 0.9077) and aucs["resse"] == (0.9113, None)
    assert aucs["rese"] == (0.9102, 0.9113) and aucs["res1"] == (0.9048, 0.9037)
    assert aucs["frame"][0] == 0.8655 and aucs["mel"] == (None, None)
    assert get_preset("basic") is PRESETS["samplecnn"]


def test_smc2017_table_has_every_row_of_the_paper():
    table = smc2017_table()
    assert len(table) == sum(len(row) for row in SMC2017_TABLE.values()) == 42
    assert len({p.name for p in table}) == 42 and not {p.name for p in table} & set(PRESETS)
    best = get_preset("smc2017_3_9_59049")
    assert best.mtat_auc == PRESETS["samplecnn"].mtat_auc == 0.9055
    assert max(table, key=lambda p: p.mtat_auc) is best
    # Spot checks against papers.md, and the zoo's "frame" preset is the 3^4 row at 59049.
    spots = {"smc2017_2_6_16384": 0.8839, "smc2017_2_14_32768": 0.9040, "smc2017_3_3_19683": 0.8655,
             "smc2017_4_7_65536": 0.9026, "smc2017_5_4_15625": 0.9005, "smc2017_5_6_78125": 0.9041}  # fmt: skip
    assert {name: get_preset(name).mtat_auc for name in spots} == spots
    frame = get_preset("smc2017_3_4_59049")
    assert frame.mtat_auc == PRESETS["frame"].mtat_auc and dict(frame.arguments) == dict(
        PRESETS["frame"].arguments
    )
    rows = {(p.arguments["m"], p.arguments["n"], p.input_length): p for p in table}
    for m, n, length, frames, stem in SMC2017_CONFIGS:
        preset = rows[(m, n, length)]
        assert preset.arguments["input_length"] == length and length // m**n == stem and frames == m**n
        assert preset.mtat_auc is not None and 0.86 < preset.mtat_auc < 0.91


@pytest.mark.parametrize("preset", smc2017_table(), ids=lambda p: p.name)
def test_smc2017_presets_build_with_the_tables_geometry(preset):
    m, n = preset.arguments["m"], preset.arguments["n"]
    model = keras_samplecnn.build(preset.name)
    assert model.input_length == preset.input_length
    assert model.stem_size == preset.input_length // m**n  # the table's f column
    assert model.get_layer("stem").output.shape[1] == m**n  # the table's frames column
    assert model.get_layer(f"block{n}").output.shape[1] == 1
    assert model.count_params() == expected_parameters(m=m, n=n, stem_size=model.stem_size)


# ---------------------------------------------------------------------------------------------
# Per-block pooling, the stem-less mel front end, and the SPL 2017 / ICML-W 2017 extractors
# ---------------------------------------------------------------------------------------------


def test_pool_sizes_set_each_blocks_pooling():
    kwargs = dict(SMALL, input_length=2 * 3 * 2 * 3 * 3, pool_sizes=[2, 3, 2, 3], stem_size=3)
    for cls in (SampleCNNBackbone, SampleCNN):
        model = cls(**kwargs)
        frames = [model.get_layer(f"block{k}").output.shape[1] for k in range(1, 5)]
        assert frames == [36 // 2, 36 // 6, 36 // 12, 36 // 36]  # 108 samples / stem 3 = 36 frames
        assert model.get_config()["pool_sizes"] == [2, 3, 2, 3]
    # Without an input length, the pools' product replaces m**n.
    assert SampleCNN(**dict(kwargs, input_length=None)).input_length == 3 * 2 * 3 * 2 * 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"pool_sizes": [2, 3]}, "one integer >= 1 per block"), ({"pool_sizes": [2, 0, 3, 3]}, "one integer"),
     ({"pool_sizes": [3, 3, 3, 3], "input_length": 100}, "too few frames"),
     ({"stem_filters": 0}, "needs frontend='mel'")],
)  # fmt: skip
def test_bad_pool_sizes_and_stemless_waveform_are_rejected(kwargs, message):
    for cls in (SampleCNNBackbone, SampleCNN):
        with pytest.raises(ValueError, match=message):
            cls(**{**SMALL, **kwargs})


def test_stemless_mel_front_end_feeds_the_mel_bands_to_the_first_block():
    kwargs = dict(SMALL, frontend="mel", stem_size=64, fft_length=128, num_mel_bins=16, stem_filters=0,
                  input_length=26 * 64, pool_sizes=[3, 3, 3, 1])  # fmt: skip
    model = SampleCNN(num_classes=3, **kwargs)
    assert "stem" not in {layer.name for layer in model.layers}
    kernel = next(w for w in model.get_layer("block1").weights if w.path.endswith("kernel"))
    assert tuple(kernel.shape) == (3, 16, 8)  # kernel 3 over the 16 mel bands
    assert model.get_layer("mel").output.shape[1] == 27  # 26 hops, centred frames
    clone = SampleCNN.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = helpers.random_input((2, kwargs["input_length"]))
    np.testing.assert_allclose(numpy(clone(x)), numpy(model(x)), rtol=1e-5, atol=1e-6)


SPL2017 = {"spl2017_18": (18, [2, 3, 3]), "spl2017_27": (27, [3, 3, 3]), "spl2017_54": (54, [2, 3, 3, 3])}


def _spl2017_parameters(widths, classes=50):
    """Parameters counted by hand: BN on the 128 bands; per conv layer a bias-free kernel of 3
    and BN (4 per channel); head Dense without bias + BN, output Dense with bias."""
    count, channels = 4 * 128, 128
    for width in widths:
        count += 3 * channels * width + 4 * width
        channels = width
    return count + channels * channels + 4 * channels + channels * classes + classes


@pytest.mark.parametrize("name", sorted(SPL2017))
def test_spl2017_extractors_have_the_papers_geometry(name):
    """Lee & Nam, SPL 2017: 22,050 Hz, FFT 1024, hop 512, 128 bands; 18/27/54 frames; 3/3/4
    conv layers whose poolings bring the frames to one."""
    frames, pools = SPL2017[name]
    preset = get_preset(name)
    model = keras_samplecnn.build(name)
    assert (model.sample_rate, model.fft_length, model.stem_size, model.num_mel_bins) == (22050, 1024, 512, 128)
    assert model.get_layer("mel").output.shape[1:] == (frames, 128)
    assert model.n == len(pools) == {18: 3, 27: 3, 54: 4}[frames] and model.pool_sizes == pools
    length = frames
    for k, pool in enumerate(pools, start=1):
        length //= pool
        assert model.get_layer(f"block{k}").output.shape[1] == length
    assert length == 1 and preset.input_length == model.input_length == (frames - 1) * 512
    assert abs(preset.input_length / 22050 - frames * 512 / 22050) < 0.03  # 27 frames: 0.63 s
    assert model.count_params() == _spl2017_parameters(model.filters)
    assert "SPL 2017" in preset.paper and "1703.01793" in preset.paper


def test_spl2017_extractor_saves_and_trains(tmp_path):
    model = keras_samplecnn.build("spl2017_18", num_classes=4)
    path = tmp_path / "spl.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = helpers.random_input((2, model.input_length))
    np.testing.assert_allclose(numpy(loaded(x)), numpy(model(x)), rtol=1e-5, atol=1e-6)
    before = [numpy(w).copy() for w in model.trainable_weights]
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    model.train_on_batch(x, np.ones((2, 4), "float32"))
    assert all(not np.array_equal(b, numpy(w)) for b, w in zip(before, model.trainable_weights))


def test_extractor_sets():
    assert [p.name for p in extractor_presets("spl2017")] == list(EXTRACTOR_SETS["spl2017"])
    icmlw = extractor_presets("icmlw2017")
    # Sample-level extractors of different stems on the same 2.7-s input (SMC 2017 rows).
    assert {p.input_length for p in icmlw} == {59049}
    assert sorted(59049 // 3 ** p.arguments["n"] for p in icmlw) == [3, 9, 27]
    assert len(extractor_presets()) == 6
    with pytest.raises(ValueError, match="unknown extractor family"):
        extractor_presets("vggish")
