"""What each filter listens to: gradient-ascent inputs and their spectra (SMC 2017, fig. 4).

For every filter of a layer, the input that maximises the filter's mean activation is found
by gradient ascent from small noise; its magnitude spectrum shows the frequency band the
filter responds to. Sorting a layer's filters by their peak frequency and stacking the
spectra gives the papers' figure, in which lower layers trace a log-frequency (mel-like)
curve.
"""

import numpy as np
from matplotlib.figure import Figure

import keras
from keras import ops

from keras_samplecnn.viz.gradients import input_gradient


def feature_extractor(model, layer, input_length):
    """A model from a waveform of `input_length` samples to the output of `layer`.

    Re-applies the model's own layers (shared weights) in order from the front end up to
    `layer`, so a layer can be probed with a shorter input than the model was built for
    (the papers use 729 samples for the 3^9 model).

    Args:
        model: a `SampleCNN`.
        layer: layer name (e.g. "stem", "block3", "block3_se") or the layer itself.
        input_length: samples of the probe input.
    """
    name = layer if isinstance(layer, str) else layer.name
    names = [lay.name for lay in model.layers]
    if name not in names:
        convolutional = [n for n in names if n == "stem" or n.startswith("block")]
        raise ValueError(f"model {model.name!r} has no layer {name!r}; probe one of {convolutional}")
    inputs = keras.Input((input_length,))
    x = inputs
    for lay in model.layers[1:]:  # skip the InputLayer
        if lay.name == "add_channel":
            x = keras.layers.Reshape((input_length, 1))(x)
        elif lay.name in ("multi_level", "features"):
            raise ValueError(f"{name!r} is not on the convolutional path of {model.name!r}")
        else:
            x = lay(x)
        if lay.name == name:
            return keras.Model(inputs, x, name=f"{model.name}_to_{name}")
    raise AssertionError("unreachable")


def filter_responses(
    model, layer, input_length=729, filters=None, steps=18, step_size=1.0, noise=0.015, seed=0
):
    """The input that maximises each filter's mean activation, by gradient ascent.

    Starts from uniform noise in ±`noise` and takes `steps` steps of `step_size` along the
    gradient divided by its RMS (the authors' visualisation settings: 729 samples, ±0.015,
    18 steps of size 1), keeping each filter's best input and halving its step after a step
    that does not improve it. All filters are optimised
    together, one input row per filter.

    Args:
        model: a `SampleCNN` (any block type and backend with gradients).
        layer: layer name or layer, e.g. "stem" or "block2".
        input_length: probe length in samples (must cover the layer's receptive field).
        filters: filter indices to probe (default: all channels of the layer).
        steps, step_size, noise: gradient-ascent settings.
        seed: noise seed.

    Returns:
        dict with `inputs` `(filters, input_length)`, `filters` (indices),
        `initial_activation` and `final_activation` (mean activation per filter).
    """
    extractor = feature_extractor(model, layer, input_length)
    channels = extractor.output.shape[-1]
    filters = np.arange(channels) if filters is None else np.asarray(filters)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-noise, noise, (len(filters), input_length)).astype("float32")
    selector = ops.convert_to_tensor(np.eye(channels, dtype="float32")[filters])

    def objective(outputs):  # mean activation of filter i in input row i
        outputs = ops.cast(outputs, "float32")
        return ops.sum(ops.mean(outputs, axis=1) * selector, axis=-1)

    initial, gradient = input_gradient(extractor, x, objective)
    best_x, best, best_gradient = x.copy(), initial.copy(), gradient.copy()
    sizes = np.full((len(filters), 1), float(step_size))
    for _ in range(steps):
        rms = np.sqrt(np.mean(best_gradient**2, axis=1, keepdims=True)) + 1e-8
        x = best_x + sizes * best_gradient / rms
        values, gradient = input_gradient(extractor, x, objective)
        # A unit step can overshoot into a dead-ReLU region: keep each filter's best input
        # and halve its step when a step does not improve it.
        improved = values > best
        best_x[improved], best[improved], best_gradient[improved] = (
            x[improved],
            values[improved],
            gradient[improved],
        )
        sizes[~improved] *= 0.5
    return {"inputs": best_x, "filters": filters, "initial_activation": initial, "final_activation": best}


def filter_spectra(inputs, sample_rate, sort=True, smooth=5, log=False):
    """Power spectra of responses (one frame each, as in the papers), sorted by peak frequency.

    Args:
        inputs: `(filters, samples)` array, e.g. `filter_responses(...)["inputs"]`.
        sample_rate: to label frequencies in Hz.
        sort: order filters by the frequency of their spectral peak.
        smooth: moving-average width in bins; a single frame's spectrum is noisy, and a
            light smoothing makes each filter's band (and the sorted ridge) visible.
        log: apply the authors' compression log10(1 + 10·P) instead of showing power.

    Returns:
        dict with `spectra` `(filters, bins)` (each row scaled to a maximum of 1),
        `frequencies` (Hz), `order` (original filter index of each row),
        `peak_frequencies` (Hz, per row) and `log`.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    inputs = inputs - inputs.mean(axis=1, keepdims=True)  # DC says nothing about a band
    power = np.abs(np.fft.rfft(inputs, axis=1)) ** 2
    if smooth and smooth > 1:
        kernel = np.ones(smooth) / smooth
        power = np.apply_along_axis(np.convolve, 1, power, kernel, mode="same")
    spectra = power / (power.max(axis=1, keepdims=True) + 1e-12)
    if log:
        spectra = np.log10(1 + 10 * spectra) / np.log10(11)
    peaks = np.argmax(spectra, axis=1)
    order = np.argsort(peaks, kind="stable") if sort else np.arange(len(spectra))
    frequencies = np.fft.rfftfreq(inputs.shape[1], 1 / sample_rate)
    return {
        "spectra": spectra[order],
        "frequencies": frequencies,
        "order": order,
        "peak_frequencies": frequencies[peaks[order]],
        "log": log,
    }


def kernel_spectra(model, fft_length=512, sort=True, smooth=1):
    """Frequency responses of the first layer's kernels (the stem), sorted by peak.

    Args:
        model: a raw-waveform `SampleCNN`.
        fft_length: zero-padded FFT length (finer than the kernel itself).
        sort: order kernels by peak frequency.

    Returns:
        the same dict as `filter_spectra`.
    """
    stem = model.get_layer("stem")
    if not hasattr(stem, "conv"):
        raise ValueError(f"{model.name!r} has no convolutional stem")
    kernel = keras.ops.convert_to_numpy(stem.conv.kernel)[:, 0, :].T  # (filters, taps)
    padded = np.zeros((kernel.shape[0], max(fft_length, kernel.shape[1])))
    padded[:, : kernel.shape[1]] = kernel
    return filter_spectra(padded, model.sample_rate, sort=sort, smooth=smooth)


def spectra_figure(result, title=""):
    """The papers' image: sorted filter index (y) × frequency (x) of log spectra."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    spectra, frequencies = result["spectra"], result["frequencies"]
    image = ax.imshow(
        spectra,
        aspect="auto",
        origin="lower",
        cmap="magma",
        extent=(frequencies[0] / 1000, frequencies[-1] / 1000, 0, len(spectra)),
        interpolation="nearest",
    )
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel("filter (sorted by peak frequency)")
    ax.set_title(title)
    label = "log10(1 + 10·P), P = power / max" if result.get("log") else "power / max, per filter"
    fig.colorbar(image, ax=ax, label=label)
    return fig
