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

from keras_samplecnn.viz.gradients import compile_ascent


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


METHODS = ("robust", "paper")
SAMPLES_PER_BATCH = 2**18  # default chunk: rows x samples, bounds the activations in memory
_EPS = 1e-8  # keeps a dead filter's zero gradient at zero instead of NaN


def _rms_normalised(gradient):
    return gradient / (ops.sqrt(ops.mean(ops.square(gradient), axis=1, keepdims=True)) + _EPS)


def _paper_loop(steps, step_size):
    """The papers' ascent: `steps` plain steps along the RMS-normalised gradient."""

    def loop(value_and_grad, value, x):
        if steps < 1:
            values = value(x)
            return x, values, values
        initial, gradient = value_and_grad(x)
        x = x + step_size * _rms_normalised(gradient)
        x = ops.fori_loop(1, steps, lambda i, x: x + step_size * _rms_normalised(value_and_grad(x)[1]), x)
        return x, initial, value(x)

    return loop


def _robust_loop(steps, step_size):
    """The default ascent: keeps each row's best input, halves its step when a step fails."""

    def loop(value_and_grad, value, x):
        initial, gradient = value_and_grad(x)

        def step(i, state):
            best_x, best, best_gradient, sizes = state
            x = best_x + sizes[:, None] * _rms_normalised(best_gradient)
            values, gradient = value_and_grad(x)
            # A unit step can overshoot into a dead-ReLU region: keep each filter's best
            # input and halve its step when a step does not improve it.
            improved = values > best
            rows = improved[:, None]
            return (
                ops.where(rows, x, best_x),
                ops.where(improved, values, best),
                ops.where(rows, gradient, best_gradient),
                ops.where(improved, sizes, sizes * 0.5),
            )

        sizes = ops.full_like(initial, step_size)
        best_x, best, _, _ = ops.fori_loop(0, steps, step, (x, initial, gradient, sizes))
        return best_x, initial, best

    return loop


def filter_responses(
    model,
    layer,
    input_length=729,
    filters=None,
    steps=18,
    step_size=1.0,
    noise=0.015,
    seed=0,
    method="robust",
    batch_size=None,
):
    """The input that maximises each filter's mean activation, by gradient ascent.

    Starts from uniform noise in ±`noise` and takes `steps` steps of `step_size` along the
    gradient divided by its RMS. One input row per filter; the rows of a chunk of
    `batch_size` filters are optimised together, and the whole ascent is compiled once per
    call (`tf.function` / `jax.jit`), so each step costs one forward and one input-gradient
    pass and nothing is rebuilt or retraced between steps or chunks.

    `method="paper"` is the recipe of Lee et al., "Sample-level Deep Convolutional Neural
    Networks for Music Auto-tagging Using Raw Waveforms", SMC 2017 (arXiv:1703.01789,
    fig. 4 and the authors' description): noise in ±0.015, 18 unit steps along the
    RMS-normalised gradient, the last input is the result. `method="robust"` (default)
    starts the same way but keeps each filter's best input and halves its step after a
    step that does not improve it, since a unit step can overshoot into a dead ReLU.

    Args:
        model: a `SampleCNN` (any block type and backend with gradients).
        layer: layer name or layer, e.g. "stem" or "block2".
        input_length: probe length in samples (must cover the layer's receptive field).
        filters: filter indices to probe (default: all channels of the layer).
        steps, step_size, noise: gradient-ascent settings.
        seed: noise seed (the noise is drawn for all filters at once, so chunking does
            not change it).
        method: "robust" or "paper".
        batch_size: filters optimised together; default: as many as fit in
            `SAMPLES_PER_BATCH` input samples (all of a 729-sample probe, 4 rows of
            59049 samples), which bounds memory. Results do not depend on it.

    Returns:
        dict with `inputs` `(filters, input_length)`, `filters` (indices),
        `initial_activation` and `final_activation` (mean activation per filter).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    extractor = feature_extractor(model, layer, input_length)
    channels = extractor.output.shape[-1]
    filters = np.arange(channels) if filters is None else np.asarray(filters, dtype="int32").reshape(-1)
    if len(filters) and not (0 <= filters.min() and filters.max() < channels):
        raise ValueError(f"filter indices must lie in [0, {channels}), got {filters.min()}..{filters.max()}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-noise, noise, (len(filters), input_length)).astype("float32")

    def objective(outputs, index):  # mean activation of filter index[i] in input row i
        means = ops.mean(ops.cast(outputs, "float32"), axis=1)
        return ops.sum(means * ops.one_hot(index, channels, dtype="float32"), axis=-1)

    loop = (_paper_loop if method == "paper" else _robust_loop)(steps, float(step_size))
    run = compile_ascent(extractor, objective, loop)
    size = int(batch_size or max(1, SAMPLES_PER_BATCH // input_length))
    parts = [run(x[i : i + size], filters[i : i + size]) for i in range(0, len(filters), size)]
    inputs, initial, final = (
        (np.concatenate(p) for p in zip(*parts)) if parts else (x, np.zeros(0), np.zeros(0))
    )
    return {
        "inputs": inputs,
        "filters": filters,
        "initial_activation": initial,
        "final_activation": final,
        "method": method,
    }


def filter_spectra(inputs, sample_rate, sort=True, smooth=5, log=False, method="robust", frame=729):
    """Spectra of responses (one frame each, as in the papers), sorted by peak frequency.

    Args:
        inputs: `(filters, samples)` array, e.g. `filter_responses(...)["inputs"]`.
        sample_rate: to label frequencies in Hz.
        sort: order filters by the frequency of their spectral peak.
        smooth: moving-average width in bins; a single frame's spectrum is noisy, and a
            light smoothing makes each filter's band (and the sorted ridge) visible.
        log: apply the compression log10(1 + 10·P) to the normalised power P.
        method: "robust" (default): the mean-removed power spectrum of the whole input,
            smoothed and scaled to a maximum of 1 per filter (`smooth`, `log` apply).
            "paper": SMC 2017 (arXiv:1703.01789) exactly: log10(1 + 10·|X|²) of the
            DFT X of one `frame`-sample frame (the middle one), unsmoothed, unnormalised.
        frame: frame length of the "paper" method (729 as in the papers).

    Returns:
        dict with `spectra` `(filters, bins)`, `frequencies` (Hz), `order` (original filter
        index of each row), `peak_frequencies` (Hz, per row), `log` and `method`.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    inputs = np.asarray(inputs, dtype=np.float64)
    if method == "paper":
        start = max(0, (inputs.shape[1] - frame) // 2)
        inputs = inputs[:, start : start + frame]
        spectra = np.log10(1 + 10 * np.abs(np.fft.rfft(inputs, axis=1)) ** 2)
    else:
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
        "log": log or method == "paper",
        "method": method,
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
    if result.get("method") == "paper":
        label = "log10(1 + 10·|X|²)"
    else:
        label = "log10(1 + 10·P), P = power / max" if result.get("log") else "power / max, per filter"
    fig.colorbar(image, ax=ax, label=label)
    return fig
