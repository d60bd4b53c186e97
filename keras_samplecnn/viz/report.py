"""`samplecnn visualize`: one filter-spectrum image per layer, and an index page."""

import os

from tqdm.auto import tqdm


from keras_samplecnn.viz.filters import filter_responses, filter_spectra, kernel_spectra, spectra_figure


def convolutional_layers(model):
    """Names of the stem and the blocks, in depth order."""
    return [layer.name for layer in model.layers if layer.name == "stem" or layer.name[5:].isdigit()]


def visualize_model(
    model,
    out_dir,
    input_length=729,
    steps=18,
    filters=None,
    fmt="png",
    method="robust",
    batch_size=None,
    max_length=None,
):
    """Writes the sorted filter spectra of every layer and `index.md` into `out_dir`.

    The cost of a layer grows with its probe length: a block of the 3^9 model whose
    receptive field is 59049 samples costs 81 times a 729-sample probe per filter (about
    8 TFLOP for 64 filters and 18 steps), so `max_length` can skip such layers.

    Args:
        model: a `SampleCNN` or the path of its `.keras` file.
        out_dir: output folder (created).
        input_length: probe length in samples (729 as in the papers; a deeper layer whose
            receptive field exceeds it is probed with its receptive field instead).
        steps: gradient-ascent steps.
        filters: at most this many filters per layer (default: all).
        fmt: "png" or "svg".
        method: "robust" (default) or "paper" (SMC 2017's exact recipe), see
            `filter_responses` and `filter_spectra`.
        batch_size: filters optimised together (default: bounded by memory), see
            `filter_responses`.
        max_length: skip layers whose receptive field exceeds both `input_length` and
            this many samples, and list them in `index.md` (default: probe every layer).

    Returns:
        list of the image paths written.
    """
    from keras_samplecnn.models.loading import load_model

    model = load_model(model)
    if getattr(model, "frontend", "waveform") != "waveform":
        raise ValueError("filter spectra need a raw-waveform model (this one has a mel front end)")
    os.makedirs(out_dir, exist_ok=True)
    intro = (
        f"Each image: the input maximising each filter (gradient ascent, method {method!r}), "
        "its spectrum, filters sorted by peak frequency (SMC 2017, fig. 4)."
    )
    written, lines = [], [f"# Filters of `{model.name}`", "", intro, ""]
    result = kernel_spectra(model)
    path = os.path.join(out_dir, f"00_stem_kernels.{fmt}")
    spectra_figure(result, f"{model.name}: stem kernels (direct frequency response)").savefig(path, dpi=100)
    written.append(path)
    lines += [f"## stem kernels\n\n![stem kernels]({os.path.basename(path)})\n"]
    longest = None if max_length is None else max(input_length, max_length)
    for depth, name in enumerate(tqdm(convolutional_layers(model), desc="layers", unit="layer"), start=1):
        length = max(input_length, receptive_field(model, name))
        if longest is not None and length > longest:
            skipped = f"Skipped: its receptive field is {length} samples (`--max-length {length}` probes it)."
            lines += [f"## {name}\n\n{skipped}\n"]
            continue
        layer = model.get_layer(name)
        channels = layer.output.shape[-1]
        chosen = None if filters is None or filters >= channels else range(filters)
        response = filter_responses(
            model,
            name,
            input_length=length,
            filters=chosen,
            steps=steps,
            method=method,
            batch_size=batch_size,
        )
        result = filter_spectra(response["inputs"], model.sample_rate, method=method, frame=input_length)
        path = os.path.join(out_dir, f"{depth:02d}_{name}.{fmt}")
        spectra_figure(
            result, f"{model.name}: {name} ({len(result['spectra'])} filters, {length} samples, {method})"
        ).savefig(path, dpi=100)
        written.append(path)
        lines += [f"## {name}\n\n![{name}]({os.path.basename(path)})\n"]
    with open(os.path.join(out_dir, "index.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return written


def receptive_field(model, name):
    """Samples one output frame of layer `name` sees: the stem size times m per block."""
    size = model.stem_size
    for layer in convolutional_layers(model)[1:]:
        size *= model.m
        if layer == name:
            break
    return size if name != "stem" else model.stem_size
