"""Writes the notebooks of this folder from the cell sources below (outputs never stored).

    python notebooks/make_notebooks.py

Editing a notebook in Jupyter is fine too; this script is how they were first written and
keeps them free of outputs. `tests/test_notebooks.py` executes every notebook.
"""

import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))

SETUP = """\
%matplotlib inline
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
import keras_samplecnn
from keras_samplecnn import viz
from IPython.display import display

# QUICK=1 (set by the test suite) shrinks every step so the notebook runs in seconds.
QUICK = os.environ.get("SAMPLECNN_NOTEBOOK_QUICK") == "1"
# A trained model to analyse instead of the small one trained below, e.g. the demo recipe's
# runs/mtat_se_demo/best.keras.
MODEL_PATH = os.environ.get("SAMPLECNN_MODEL")
keras.utils.set_random_seed(0)"""


def filter_spectra():
    return [
        new_markdown_cell("""\
# What do sample-level filters listen to?

Lee et al. (SMC 2017, fig. 4) visualise a trained SampleCNN by finding, for every filter of a
layer, the input waveform that excites it most (gradient ascent from small noise), then
taking that input's spectrum. Stacking a layer's spectra, sorted by their peak frequency,
shows which frequencies the layer covers: in the lower layers the peaks trace a
**log-frequency (mel-like) curve** — more filters for low frequencies — learned from raw
samples alone. This notebook does the same for any raw-waveform model of the zoo."""),
        new_code_cell(SETUP),
        new_markdown_cell("""\
## A model to look at

With `SAMPLECNN_MODEL` set, that model is analysed. Otherwise we train a small 3^5 SampleCNN
(729-sample input, the probe length of the paper) to tell apart tones from eight
log-spaced frequency bands: a task that rewards band-selective filters."""),
        new_code_cell("""\
SAMPLE_RATE = 22050
BANDS = np.geomspace(80, 8000, 9)  # 8 log-spaced bands

def tones(n, rng):
    band = rng.integers(0, 8, n)
    freq = rng.uniform(BANDS[band], BANDS[band + 1])
    t = np.arange(729) / SAMPLE_RATE
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = rng.uniform(0.1, 0.5, (n, 1)) * np.sin(2 * np.pi * freq[:, None] * t + phase)
    x += 0.02 * rng.standard_normal(x.shape)
    return x.astype("float32"), keras.utils.to_categorical(band, 8)

if MODEL_PATH:
    model = keras.saving.load_model(MODEL_PATH)
else:
    rng = np.random.default_rng(0)
    x, y = tones(512 if QUICK else 8192, rng)
    model = keras_samplecnn.build("samplecnn", num_classes=8, n=5, input_length=729,
                                  activation="softmax", filters=[32, 32, 64, 64, 128], stem_filters=32)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), "categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=1 if QUICK else 8, verbose=0)
    print("accuracy on new tones:", model.evaluate(*tones(512, rng), verbose=0)[1])
print(model.name, f"{model.count_params():,} parameters, sample rate {model.sample_rate} Hz")"""),
        new_markdown_cell("""\
## First layer: the kernels themselves

The stem's kernels are short (3 samples in the 3^9 model), so their direct frequency
responses are smooth: high-pass, low-pass or band-stop shapes rather than narrow bands."""),
        new_code_cell("""\
display(viz.spectra_figure(viz.kernel_spectra(model), "stem kernels: direct frequency response"))"""),
        new_markdown_cell("""\
## Deeper layers: gradient ascent

`filter_responses` starts from uniform noise in ±0.015 and takes 18 steps along the
RMS-normalised gradient of each filter's mean activation (the authors' settings);
`filter_spectra` turns the results into log spectra sorted by peak frequency. Look for the
curve of peak frequencies: flat stretches at low frequencies and a steep rise at high
frequencies mean a log-like allocation of filters."""),
        new_code_cell("""\
layers = [name for name in (layer.name for layer in model.layers) if name == "stem" or name[5:].isdigit()]
steps = 4 if QUICK else 18
peaks = {}
for name in layers[:3] if QUICK else layers:
    response = viz.filter_responses(model, name, input_length=729, steps=steps)
    result = viz.filter_spectra(response["inputs"], model.sample_rate)
    peaks[name] = result["peak_frequencies"]
    display(viz.spectra_figure(result, f"{name}: {len(result['spectra'])} filters, sorted by peak"))"""),
        new_code_cell("""\
from matplotlib.figure import Figure
fig = Figure(figsize=(6, 3.5), layout="constrained")
ax = fig.add_subplot()
for name, p in peaks.items():
    ax.plot(np.linspace(0, 1, len(p)), p / 1000, label=name)
ax.set_xlabel("filter rank (sorted, normalised)")
ax.set_ylabel("peak frequency (kHz)")
ax.set_yscale("log")
ax.legend(fontsize=7)
display(fig)"""),
        new_markdown_cell("""\
## What to look for

* **Sorted peaks**: each image's bright ridge is the filters' peak frequencies; a ridge that
  rises slowly at first and steeply later is the mel-like allocation the paper reports.
* **Depth**: lower layers respond to single bands; deeper layers, whose receptive field is
  longer than 729 samples in a full 3^9 model, respond to several bands or harmonics.
* Save any figure with `fig.savefig("block2.png")`; `samplecnn visualize MODEL --out DIR`
  writes all of them at once."""),
    ]


NOTEBOOKS = {"filter_spectra.ipynb": filter_spectra}


def main():
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells())
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(notebook, os.path.join(HERE, name))
        print("wrote", name)


if __name__ == "__main__":
    main()
