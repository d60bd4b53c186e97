import os

import keras
import numpy as np
import pytest

import keras_samplecnn
from keras_samplecnn import viz
from tests import helpers


@pytest.fixture(scope="module")
def small_se_model():
    # 3^5 blocks on 729 samples: every layer fits the papers' 729-sample probe. Seeded: with
    # unseeded weights a deep block sometimes had fewer than 4 live filters of the 8 probed.
    keras.utils.set_random_seed(0)
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
        "import keras, keras_samplecnn; from keras_samplecnn import viz;"
        "keras.utils.set_random_seed(0);"  # the same weights every run
        "m = keras_samplecnn.build('rese', n=5, input_length=729, se_ratio=0.5);"
        "r = viz.filter_responses(m, 'block3', filters=range(4), steps=4, batch_size=3);"
        "p = viz.filter_responses(m, 'block3', filters=range(4), steps=4, method='paper');"
        "v = [(x['initial_activation'], x['final_activation']) for x in (p, r)];"
        "assert all(b.mean() > 5 * a.mean() for a, b in v), v; print('ok')"
    )
    env = dict(os.environ, KERAS_BACKEND=backend)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def _bumpy(a):
    from keras import ops

    return a + 2 * ops.sin(a)


def _bumpy_conv_model(length=64, taps=5, channels=3, seed=1):
    """waveform -> Conv1D with activation a + 2 sin(a): smooth and unbounded (float32 and
    float64 agree, no near-ties at a maximum), yet a unit step often overshoots one of its
    bumps, so best-keeping and step halving show."""
    import keras

    inputs = keras.Input((length,))
    x = keras.layers.Reshape((length, 1), name="add_channel")(inputs)
    conv = keras.layers.Conv1D(channels, taps, activation=_bumpy, name="stem")
    model = keras.Model(inputs, conv(x))
    kernel = np.random.default_rng(seed).normal(0, 0.3, (taps, 1, channels)).astype("float32")
    bias = np.linspace(-0.2, 0.3, channels).astype("float32")
    conv.kernel.assign(kernel)
    conv.bias.assign(bias)
    return model, kernel[:, 0, :].astype(float), bias.astype(float)


def _numpy_activation_and_gradient(x, kernel, bias):
    """Mean over time of a + 2 sin(a), a the valid correlation, and its input gradient; row i
    probes filter i."""
    taps, rows = kernel.shape[0], len(x)
    frames = np.lib.stride_tricks.sliding_window_view(x, taps, axis=1)  # (rows, time, taps)
    pre = np.einsum("rtk,kr->rt", frames, kernel[:, :rows]) + bias[:rows, None]
    slope = (1 + 2 * np.cos(pre)) / pre.shape[1]
    gradient = np.zeros_like(x)
    for k in range(taps):  # d pre[t] / d x[t + k] = kernel[k]
        gradient[:, k : k + pre.shape[1]] += slope * kernel[k, :rows, None]
    return (pre + 2 * np.sin(pre)).mean(axis=1), gradient


def _numpy_ascent(x, kernel, bias, robust, steps):
    """Both recipes written out independently, in float64. Also returns the number of step
    halvings and the smallest gap |value - best| the robust recipe decided on."""

    def unit(g):
        return g / np.sqrt(np.mean(g**2, axis=1, keepdims=True))

    initial, gradient = _numpy_activation_and_gradient(x, kernel, bias)
    best, size, halvings, gap = initial.copy(), np.ones((len(x), 1)), 0, np.inf
    for _ in range(steps):
        if not robust:  # the papers: always step from the current input
            x = x + unit(_numpy_activation_and_gradient(x, kernel, bias)[1])
            continue
        trial = x + size * unit(gradient)
        values, trial_gradient = _numpy_activation_and_gradient(trial, kernel, bias)
        gap = min(gap, np.abs(values - best).min())
        for i in range(len(x)):  # keep the better input, else halve this filter's step
            if values[i] > best[i]:
                x[i], best[i], gradient[i] = trial[i], values[i], trial_gradient[i]
            else:
                size[i] /= 2
                halvings += 1
    final = _numpy_activation_and_gradient(x, kernel, bias)[0]
    return x, initial, final, halvings, gap


# The robust run stops at 10 steps: later, near a local maximum, its keep-or-halve decisions
# hinge on gaps near float32 resolution, which float64 NumPy may decide differently.
@pytest.mark.parametrize("method, steps", [("paper", 18), ("robust", 10)])
def test_ascent_matches_an_independent_numpy_implementation(method, steps):
    model, kernel, bias = _bumpy_conv_model()
    start = viz.filter_responses(model, "stem", input_length=64, steps=0, method=method)["inputs"]
    assert start.shape == (3, 64)
    assert 0.014 < np.abs(start).max() <= 0.015  # uniform noise in ±0.015
    robust = method == "robust"
    x, initial, final, halvings, gap = _numpy_ascent(start.astype(float), kernel, bias, robust, steps)
    if robust:
        assert halvings > 0 and gap > 1e-4  # the halving is exercised, and decided clearly

    result = viz.filter_responses(model, "stem", input_length=64, steps=steps, method=method)
    np.testing.assert_allclose(result["inputs"], x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(result["initial_activation"], initial, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result["final_activation"], final, rtol=1e-4, atol=1e-5)
    other = viz.filter_responses(
        model, "stem", input_length=64, steps=steps, method="paper" if robust else "robust"
    )
    assert not np.allclose(other["inputs"], result["inputs"], atol=1e-2)  # the methods differ here


def test_paper_spectrum_is_log10_1_plus_10_power_of_the_middle_frame():
    rate, frame, k0, amplitude = 729.0, 729, 50, 0.2
    n = np.arange(frame)
    tone = amplitude * np.cos(2 * np.pi * k0 * n / frame)
    other = np.random.default_rng(0).normal(size=frame)  # outer frames must be ignored
    inputs = np.concatenate([other, tone, other])[None]
    result = viz.filter_spectra(inputs, rate, method="paper", frame=frame)
    spectrum = result["spectra"][0]
    assert spectrum.shape == (frame // 2 + 1,)
    # |X[k0]| = A·N/2 for a cosine on bin k0; every other bin is 0 (no smoothing, no scaling).
    assert spectrum[k0] == pytest.approx(np.log10(1 + 10 * (amplitude * frame / 2) ** 2), rel=1e-9)
    np.testing.assert_allclose(np.delete(spectrum, k0), 0, atol=1e-9)
    assert result["peak_frequencies"][0] == pytest.approx(k0 * rate / frame)
    # A bare frame with DC is not mean-removed: bin 0 holds log10(1 + 10·(N·c)²).
    dc = viz.filter_spectra(np.full((1, frame), 0.01), rate, method="paper")["spectra"][0]
    assert dc[0] == pytest.approx(np.log10(1 + 10 * (frame * 0.01) ** 2))


@pytest.mark.parametrize("method", ["robust", "paper"])
def test_chunked_ascent_equals_one_batch(small_se_model, method):
    whole = viz.filter_responses(small_se_model, "block2", filters=range(10), steps=4, method=method)
    chunked = viz.filter_responses(
        small_se_model, "block2", filters=range(10), steps=4, method=method, batch_size=3
    )
    assert chunked["inputs"].shape == (10, 729)
    np.testing.assert_allclose(chunked["inputs"], whole["inputs"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(chunked["final_activation"], whole["final_activation"], rtol=1e-4)
    np.testing.assert_array_equal(chunked["filters"], np.arange(10))


def test_ascent_is_traced_once_per_layer(small_se_model, monkeypatch):
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("counts tf.function traces")
    from keras_samplecnn.viz import filters as filters_module

    calls = []
    compile_ascent = filters_module.compile_ascent

    def counting(model, objective, loop):
        return compile_ascent(model, lambda *a: calls.append(1) or objective(*a), loop)

    monkeypatch.setattr(filters_module, "compile_ascent", counting)
    counts = []
    for steps, batch_size in ((2, None), (12, 2)):  # 1 chunk vs 4 chunks of different sizes
        calls.clear()
        viz.filter_responses(small_se_model, "block1", filters=range(7), steps=steps, batch_size=batch_size)
        counts.append(len(calls))
    # The objective runs in Python only while tracing: the same few calls for 2 steps in one
    # chunk as for 12 steps in 4 chunks (nothing retraced per step or per chunk).
    assert counts[0] == counts[1] <= 3, counts


def test_bad_method_and_filter(small_se_model):
    with pytest.raises(ValueError, match="unknown method"):
        viz.filter_responses(small_se_model, "stem", method="fast")
    with pytest.raises(ValueError, match=r"must lie in \[0, 128\)"):
        viz.filter_responses(small_se_model, "stem", filters=[128])


def test_cli_visualize_paper_method_and_max_length(tmp_path):
    from keras_samplecnn.cli import main

    # n=6: block6 sees 2187 samples, more than the 729-sample probe.
    model = keras_samplecnn.build(
        "se", num_classes=2, n=6, stem_filters=8, filters=[8] * 6, se_ratio=0.5, head_units=8
    )
    path = str(tmp_path / "m.keras")
    model.save(path)
    base = ["visualize", path, "--steps", "2", "--filters", "3", "--method", "paper"]
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    images = sorted(os.listdir(tmp_path / "a"))
    assert "06_block5.png" in images and "07_block6.png" not in images
    index = (tmp_path / "a" / "index.md").read_text()
    assert "method 'paper'" in index and "--max-length 2187" in index
    assert main(base + ["--out", str(tmp_path / "b"), "--max-length", "2187", "--batch-size", "2"]) == 0
    assert "07_block6.png" in os.listdir(tmp_path / "b")


def test_embedding_projection_is_the_first_two_principal_components(tmp_path):
    rng = np.random.default_rng(0)
    # Three classes apart along one direction, plus noise in 20 dims.
    labels = np.repeat([0, 1, 2], 30)
    features = rng.standard_normal((90, 20)) + np.outer(labels, rng.standard_normal(20)) * 3
    figure, points = viz.embedding_projection(features, np.eye(3)[labels], ["rock", "jazz", "pop"])
    # PCA written out: standardise, centre, SVD; components agree up to sign.
    standard = (features - features.mean(0)) / features.std(0)
    _, _, vt = np.linalg.svd(standard - standard.mean(0), full_matrices=False)
    expected = standard @ vt[:2].T
    signs = np.sign((points * expected).sum(0))
    np.testing.assert_allclose(points * signs, expected, atol=1e-8)
    figure.savefig(tmp_path / "pca.png")
    assert (tmp_path / "pca.png").stat().st_size > 5000
    assert [text.get_text() for text in figure.axes[0].get_legend().get_texts()] == ["rock", "jazz", "pop"]
    with pytest.raises(ValueError, match="one label per clip"):
        viz.embedding_projection(features, labels[:10])
