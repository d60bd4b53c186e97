"""Writes the notebooks of this folder from the cell sources below (outputs never stored).

    python notebooks/make_notebooks.py

Editing a notebook in Jupyter is fine too; this script is how they were first written and
keeps them free of outputs. `tests/package/test_notebooks.py` executes every notebook.
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


DEMO_MODEL = """\
import subprocess, sys
REPO = os.path.abspath(os.path.join(os.getcwd(), "..")) if os.path.basename(os.getcwd()) == "notebooks" else os.getcwd()
REPO = os.environ.get("SAMPLECNN_REPO", REPO)
RUN = os.environ.get("SAMPLECNN_RUN", os.path.join(REPO, "runs", "mtat_se_demo"))
DATA = os.path.join(RUN, "tfrecords")
if MODEL_PATH is None:
    MODEL_PATH = os.path.join(RUN, "best.keras")
    if not os.path.exists(MODEL_PATH):
        # The demo recipe end to end: synthesise MTAT-layout audio, convert, train, evaluate.
        command = [sys.executable, os.path.join(REPO, "recipes", "mtat_se.py"), "--demo", "--out", RUN]
        if QUICK:
            command += ["--demo-size", "n_clips=48", "--demo-size", "clip_seconds=3", "--set", "optimization.max_epochs=1",
                        "--set", "data.steps_per_epoch=4", "--set", "output.tensorboard=false"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(result.stderr[-3000:])
print("model:", MODEL_PATH)"""


def se_excitations():
    return [
        new_markdown_cell("""\
# Squeeze-and-excitation: which channels does each tag excite?

Kim, Lee and Nam (ICASSP 2018, section 4.3) average the SE gates of every block over the
clips of each tag. In the first blocks all tags excite the channels alike (the gate follows
loudness); in the last blocks the pattern becomes tag-specific. This notebook repeats the
analysis on the demo model of `recipes/mtat_se.py --demo` (or any SE / ReSE model:
set `SAMPLECNN_MODEL` and `SAMPLECNN_RUN`)."""),
        new_code_cell(SETUP),
        new_code_cell(DEMO_MODEL),
        new_code_cell("""\
from keras_samplecnn.data import eval_dataset, read_manifest
model = keras.saving.load_model(MODEL_PATH)
tags = read_manifest(DATA)["tags"]
segments = eval_dataset(DATA, split="valid", segment_length=model.input_length, batch_size=16)
result = viz.excitations(model, segments, tags=tags)
blocks = [k for k in result if k != "tags"]
print(len(blocks), "SE blocks:", ", ".join(blocks))"""),
        new_markdown_cell("""\
## Tag specificity per block

For each block: the spread of the per-tag mean excitations across tags, averaged over
channels. The paper's observation is that it grows with depth."""),
        new_code_cell("""\
present = [i for i, row in enumerate(result[blocks[0]]["per_tag"]) if row.any()]
for block in blocks:
    per_tag = result[block]["per_tag"][present]
    print(f"{block:>7}: mean gate {result[block]['mean'].mean():.3f}, spread across tags {per_tag.std(axis=0).mean():.4f}")"""),
        new_code_cell("""\
shown = [tags[i] for i in present[:8]]
display(viz.excitation_figure(result, tags=shown, blocks=[blocks[0], blocks[len(blocks) // 2], blocks[-1]]))"""),
        new_markdown_cell("""\
## What to look for

* **First block**: rows look alike: every tag opens the same channels (loudness-like).
* **Last block**: rows differ: tags excite different channels. Channels are ordered by the
  first tag's excitation, so a row that is not a smooth ramp is a tag that uses other
  channels.
* A trained demo model is small and trained for minutes; a model trained on MTAT shows the
  effect more clearly."""),
    ]


def tagging_a_song():
    return [
        new_markdown_cell("""\
# Tagging a song

`keras_samplecnn.Tagger` loads a trained model once and tags any audio file: it decodes the
file (any format soundfile reads), mixes it to mono, resamples it to the model's rate, cuts
it into the model's segments and averages the segment predictions, as the papers evaluate.
The tag list, sample rate and segment length travel inside the `.keras` file."""),
        new_code_cell(SETUP),
        new_code_cell(DEMO_MODEL),
        new_markdown_cell("## A song to tag: a test clip of the demo dataset, or your own file (`SONG`)"),
        new_code_cell("""\
import glob
# Folders d/ to f/ hold the test split: clips the model did not train on.
SONG = os.environ.get("SAMPLECNN_SONG") or sorted(glob.glob(os.path.join(RUN, "demo_mtat", "[def]", "*.mp3")))[0]
tagger = keras_samplecnn.Tagger(MODEL_PATH)
print(os.path.basename(SONG))
for tag, score in tagger.tag(SONG, top_k=5):
    print(f"{score:6.3f}  {tag}")"""),
        new_markdown_cell("""\
## Taggram: the scores of every segment over time

Each column is one segment (`tagger.segment_seconds` long); here the 15 tags with the
highest mean score."""),
        new_code_cell("""\
taggram = tagger.taggram(SONG)
display(viz.taggram_figure(taggram, tagger.tags, tagger.segment_seconds, top=15))"""),
        new_markdown_cell("""\
## Embeddings for other tasks

`tagger.embed` returns the features the head sees (the multi-level features for multi-level
models), averaged over segments: a fixed-size description of the song for similarity
search or a new classifier."""),
        new_code_cell("""\
embedding = tagger.embed(SONG)
print(embedding.shape, float(np.linalg.norm(embedding)))"""),
    ]


NOTEBOOKS = {
    "filter_spectra.ipynb": filter_spectra,
    "se_excitations.ipynb": se_excitations,
    "tagging_a_song.ipynb": tagging_a_song,
}


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
