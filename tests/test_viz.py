import os

import numpy as np
import pytest


import keras_samplecnn
from keras_samplecnn import viz
from tests import helpers


@pytest.fixture(scope="module")
def small_se_model():
    # 3^5 blocks on 729 samples: every layer fits the papers' 729-sample probe.
    return keras_samplecnn.build(
        "se", num_classes=3, tags=["a", "b", "c"], n=5, input_length=729, se_ratio=0.5
    )


def test_gradient_ascent_increases_activation(small_se_model):
    for layer in ("stem", "block2", "block5"):
        result = viz.filter_responses(small_se_model, layer, filters=range(8), steps=6)
        assert result["inputs"].shape == (8, 729)
        initial, final = result["initial_activation"], result["final_activation"]
        # Untrained deep filters can be dead ReLUs (no gradient); every live one must rise.
        live = initial > 0
        assert live.sum() >= 4, layer
        assert np.all(final[live] > initial[live]), layer
        assert final.mean() > 5 * initial.mean(), layer


def test_sinusoid_kernel_spectrum_peaks_at_its_frequency():
    model = keras_samplecnn.build("frame", num_classes=2)  # 729-tap stem
    stem = model.get_layer("stem").conv
    kernel = np.zeros(stem.kernel.shape, dtype="float32")
    rate = model.sample_rate
    frequencies = np.array([300.0, 1000.0, 4000.0, 2000.0])
    taps = np.arange(kernel.shape[0]) / rate
    for i, f in enumerate(frequencies):
        kernel[:, 0, i] = np.sin(2 * np.pi * f * taps) * np.hanning(len(taps))
    stem.kernel.assign(kernel)
    result = viz.kernel_spectra(model, fft_length=4096)
    # Sinusoid filters are 4 of 128; find them by their original index.
    peaks = {int(i): p for i, p in zip(result["order"], result["peak_frequencies"])}
    bin_width = rate / 4096
    for i, f in enumerate(frequencies):
        assert abs(peaks[i] - f) <= bin_width, (f, peaks[i])
    assert np.all(np.diff(result["peak_frequencies"]) >= 0)  # sorted by peak


def test_filter_spectra_sorting():
    rate = 8000
    t = np.arange(729) / rate
    inputs = np.stack([np.sin(2 * np.pi * f * t) for f in (3000, 500, 1500)])
    result = viz.filter_spectra(inputs, rate)
    assert result["order"].tolist() == [1, 2, 0]
    np.testing.assert_allclose(result["peak_frequencies"], [500, 1500, 3000], atol=rate / 729)


def test_bad_layer(small_se_model):
    with pytest.raises(ValueError, match="has no layer 'conv9'"):
        viz.filter_responses(small_se_model, "conv9")
    with pytest.raises(ValueError, match="not on the convolutional path"):
        viz.feature_extractor(small_se_model, "head_dense", 729)


@pytest.mark.parametrize("name", ["se", "rese"])
def test_excitations_per_block_and_tag(name):
    model = keras_samplecnn.build(
        name, num_classes=3, tags=["a", "b", "c"], n=5, input_length=729, se_ratio=0.5
    )
    x = helpers.random_input((10, 729)) * 0.1
    labels = np.eye(3)[np.arange(10) % 3]
    result = viz.excitations(model, x, labels, batch_size=4)
    blocks = [k for k in result if k != "tags"]
    assert blocks == [f"block{i}" for i in range(1, 6)]
    assert result["block5"]["per_tag"].shape == (3, 512)
    assert np.all((result["block1"]["mean"] > 0) & (result["block1"]["mean"] < 1))
    # The per-tag means, weighted by tag counts, add back up to the overall mean.
    counts = labels.sum(axis=0)
    np.testing.assert_allclose(counts @ result["block2"]["per_tag"] / 10, result["block2"]["mean"], rtol=1e-4)
    fig = viz.excitation_figure(result)
    assert len(fig.axes) >= 5


def test_excitations_need_se():
    with pytest.raises(ValueError, match="no squeeze-and-excitation"):
        viz.excitations(keras_samplecnn.build("res", n=5, input_length=729), np.zeros((1, 729), "float32"))


def test_plots_are_written_and_not_empty(tmp_path):
    per_tag = [{"tag": f"t{i}", "roc_auc": 0.5 + i / 20, "pr_auc": 0.1} for i in range(8)] + [
        {"tag": "none", "roc_auc": None, "pr_auc": None}
    ]
    log = tmp_path / "log.csv"
    log.write_text("epoch,loss,val_loss,roc_auc,val_roc_auc\n0,0.5,0.6,0.7,0.6\n1,0.4,0.5,0.8,0.7\n")
    figures = {
        "bars.png": viz.per_tag_bars(per_tag),
        "curves.svg": viz.training_curves(str(log)),
        "taggram.png": viz.taggram_figure(np.random.default_rng(0).random((6, 4)), list("abcd"), 2.68, top=3),
    }
    for name, fig in figures.items():
        path = tmp_path / name
        fig.savefig(path)
        assert path.stat().st_size > 2000, name


def test_visualize_model_writes_one_image_per_layer(tmp_path, small_se_model):
    paths = viz.visualize_model(small_se_model, str(tmp_path), steps=2, filters=8)
    names = sorted(os.path.basename(p) for p in paths)
    assert names == ["00_stem_kernels.png", "01_stem.png"] + [
        f"{i + 1:02d}_block{i}.png" for i in range(1, 6)
    ]
    assert all(os.path.getsize(p) > 2000 for p in paths)
    index = (tmp_path / "index.md").read_text()
    assert "![block5](06_block5.png)" in index


@pytest.mark.large
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_gradient_ascent_on_other_backends(backend):
    import subprocess
    import sys
    import importlib.util

    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} not installed")
    code = (
        "import numpy as np, keras_samplecnn; from keras_samplecnn import viz;"
        "m = keras_samplecnn.build('rese', n=5, input_length=729, se_ratio=0.5);"
        "r = viz.filter_responses(m, 'block3', filters=range(4), steps=4);"
        "assert r['final_activation'].mean() > 5 * r['initial_activation'].mean(); print('ok')"
    )
    env = dict(os.environ, KERAS_BACKEND=backend)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
