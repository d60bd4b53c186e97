"""The site's figures and command outputs, made from the package's own demo runs.

    python docs/figures.py              # make what is missing (the docs build runs this)
    python docs/figures.py --refresh    # rerun the demos and redraw everything

Nothing here is drawn or typed by hand: every figure and every output block on the site comes
from a demo command run on this machine, and its caption says which command, what it scored
and on which machine (with the float32 matmul peak, as every timing of the package).

The demo runs are cached: the MTAT one is the quick start's own output folder
(`runs/mtat_se_demo`, so CI's README step already made it), the others live under
`runs/docs/`. A figure is redrawn when its PNG or caption is missing. What needs the
ISMIR 2018 authors' released weights (`SAMPLECNN_WEIGHTS_DIR`, or Keras' cache) is left out
when they cannot be found; the page then says how to get it.

Output: `build/docs_assets/figures/NAME.png` + `NAME.json` (caption) and
`build/docs_assets/outputs/NAME.json` (command, text, provenance); `docs/hooks.py` adds them to
the site and replaces `<!-- figure: NAME -->` and `<!-- output: NAME -->` in the pages.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = os.path.join(ROOT, "build", "docs_assets")
CACHE = os.path.join(ROOT, "runs", "docs")
PRESET = "ismir2018_siamese_msd10k"
NOT_COMPARABLE = "synthetic data in the dataset's real layout and a CPU-sized model: not comparable with the paper"

# name: (command, output folder relative to the repository, the file a finished run leaves)
RUNS = {
    "mtat": (["recipes/mtat_se.py", "--demo"], "runs/mtat_se_demo", "evaluation/results.json"),
    "speech": (
        ["recipes/speech_commands_basic.py", "--demo", "--out", "runs/docs/speech_commands_basic_demo"],
        "runs/docs/speech_commands_basic_demo",
        "evaluation/results.json",
    ),
    "dcue": (["recipes/dcue.py", "--demo", "--out", "runs/docs/dcue_demo"], "runs/docs/dcue_demo", "dcue_table.json"),
}


def _peak_of(run_dir):
    with open(os.path.join(run_dir, "timings.json"), encoding="utf-8") as handle:
        timings = json.load(handle)
    return timings.get("float32_matmul_peak_flops"), timings.get("total_seconds")


def _where(run_dir):
    """`"on a 2-core ... (float32 matmul peak 480 GFLOP/s), 2.4 min"`."""
    from keras_samplecnn.benchmarking import describe_machine

    peak, seconds = _peak_of(run_dir)
    text = f"on a {describe_machine(peak)}"
    if seconds:
        text += f", {seconds / 60:.1f} min for the whole command"
    return text


_REFRESHED = set()  # runs already redone by this process: several figures share one run


def demo_run(name, refresh=False):
    """The folder of demo run `name` (RUNS), running it first when it has not finished (or,
    with `refresh`, once per process whatever it holds)."""
    argv, out, done = RUNS[name]
    run_dir = os.path.join(ROOT, out)
    if refresh and name not in _REFRESHED and os.path.isdir(run_dir):
        shutil.rmtree(run_dir)
    _REFRESHED.add(name)
    if not os.path.exists(os.path.join(run_dir, done)):
        print(f"docs: running `python {' '.join(argv)}` for the figures ...", flush=True)
        subprocess.run([sys.executable, *argv], cwd=ROOT, check=True)
    return run_dir


def _save(name, figure, caption):
    folder = os.path.join(ASSETS, "figures")
    os.makedirs(folder, exist_ok=True)
    figure.savefig(os.path.join(folder, f"{name}.png"), dpi=110)
    with open(os.path.join(folder, f"{name}.json"), "w", encoding="utf-8") as handle:
        json.dump({"caption": caption, "made": time.strftime("%Y-%m-%d")}, handle, indent=1)


def _results(run_dir):
    with open(os.path.join(run_dir, "evaluation", "results.json"), encoding="utf-8") as handle:
        return json.load(handle)


# --- the MTAT demo (the quick start) ------------------------------------------------------------

MTAT_COMMAND = "`python recipes/mtat_se.py --demo`"


def mtat_training_curves(refresh):
    from keras_samplecnn.viz import training_curves

    run_dir = demo_run("mtat", refresh)
    results = _results(run_dir)
    caption = (f"Loss and segment-level metrics per epoch of {MTAT_COMMAND} ({NOT_COMPARABLE}); clip-level "
               f"macro ROC-AUC {results['roc_auc']:.4f} on its {results['num_clips']} test clips. "
               f"Run {_where(run_dir)}.")  # fmt: skip
    return training_curves(os.path.join(run_dir, "training_log.csv")), caption


def mtat_per_tag_auc(refresh):
    from keras_samplecnn.viz import per_tag_bars

    run_dir = demo_run("mtat", refresh)
    results = _results(run_dir)
    left_out = len(results.get("excluded_tags") or [])
    caption = (f"Clip-level ROC-AUC per tag on the test split of {MTAT_COMMAND} ({NOT_COMPARABLE}); "
               f"{left_out} tags without a positive test clip are left out. Run {_where(run_dir)}.")  # fmt: skip
    return per_tag_bars(results["per_tag"], title="Per-tag ROC-AUC, MTAT demo"), caption


def _demo_song(run_dir):
    """The first test clip of the demo (folders d/ to f/ are MTAT's test split)."""
    return sorted(glob.glob(os.path.join(run_dir, "demo_mtat", "[def]", "*.mp3")))[0]


def taggram(refresh):
    import keras_samplecnn
    from keras_samplecnn.viz import taggram_figure

    run_dir = demo_run("mtat", refresh)
    song = _demo_song(run_dir)
    tagger = keras_samplecnn.Tagger(os.path.join(run_dir, "best.keras"))
    scores = tagger.taggram(song)
    name = os.path.relpath(song, run_dir)
    figure = taggram_figure(scores, tagger.tags, tagger.segment_seconds, top=12, title=f"Taggram of {name}")
    top = ", ".join(f"{tag} {score:.2f}" for tag, score in tagger.tag(song, top_k=3))
    caption = (f"Scores of every {tagger.segment_seconds:.2f}-s segment of a test clip the model never trained on "
               f"(`Tagger.taggram`), the model of {MTAT_COMMAND}; the 12 tags with the highest mean score. Its "
               f"top three clip-level tags: {top}.")  # fmt: skip
    return figure, caption


def se_excitations(refresh):
    from keras_samplecnn.data import eval_dataset, read_manifest
    from keras_samplecnn.models.loading import load_model
    from keras_samplecnn.viz import excitation_figure, excitations

    run_dir = demo_run("mtat", refresh)
    data = os.path.join(run_dir, "tfrecords")
    model = load_model(os.path.join(run_dir, "best.keras"))
    tags = read_manifest(data)["tags"]
    segments = eval_dataset(data, split="test", segment_length=model.input_length, batch_size=16)
    result = excitations(model, segments, tags=tags)
    blocks = [key for key in result if key != "tags"]
    counts = {tag: row.any() for tag, row in zip(tags, result[blocks[0]]["per_tag"])}
    shown = [tag for tag in tags if counts[tag]][:8]
    chosen = [blocks[0], blocks[len(blocks) // 2], blocks[-1]]
    spread = ", ".join(
        f"{block} {result[block]['per_tag'][[tags.index(t) for t in shown]].std(axis=0).mean():.3f}" for block in chosen
    )
    caption = (f"Mean SE excitation per tag (rows) and channel (columns, ordered by the first tag) in the first, a "
               f"middle and the last SE block of the model of {MTAT_COMMAND}, over its test segments (ICASSP 2018, "
               f"section 4.3). Spread across tags, averaged over channels: {spread}.")  # fmt: skip
    return excitation_figure(result, tags=shown, blocks=chosen), caption


def filter_spectra(refresh):
    from matplotlib.figure import Figure

    from keras_samplecnn.models.loading import load_model
    from keras_samplecnn.viz import filter_responses
    from keras_samplecnn.viz import filter_spectra as spectra_of
    from keras_samplecnn.viz import kernel_spectra
    from keras_samplecnn.viz.report import convolutional_layers, receptive_field

    run_dir = demo_run("mtat", refresh)
    model = load_model(os.path.join(run_dir, "best.keras"))
    panels = [("stem kernels", kernel_spectra(model))]
    for name in convolutional_layers(model)[1:4]:  # blocks 1-3: receptive fields within 729 samples
        length = max(729, receptive_field(model, name))
        response = filter_responses(model, name, input_length=length, filters=range(32), steps=18)
        panels.append((f"{name} (32 filters)", spectra_of(response["inputs"], model.sample_rate, frame=729)))
    figure = Figure(figsize=(3.0 * len(panels), 3.2), layout="constrained")
    for ax, (title, result) in zip(figure.subplots(1, len(panels)), panels):
        frequencies = result["frequencies"]
        ax.imshow(result["spectra"], aspect="auto", origin="lower", cmap="magma", interpolation="nearest",
                  extent=(0, frequencies[-1] / 1000, 0, len(result["spectra"])))  # fmt: skip
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("frequency (kHz)")
    figure.axes[0].set_ylabel("filter (sorted by peak)")
    caption = (f"Spectra of the input that excites each filter most (gradient ascent, 18 steps, the package's "
               f"default robust method), sorted by peak frequency, for the stem and the first three blocks of the "
               f"model of {MTAT_COMMAND} ({model.sample_rate} Hz); the stem panel is its kernels' frequency "
               f"response (SMC 2017, fig. 4). `samplecnn visualize MODEL --out DIR` draws every layer.")  # fmt: skip
    return figure, caption


# --- the speech and DCUE demos ------------------------------------------------------------------


def speech_confusion(refresh):
    import numpy as np

    from keras_samplecnn.viz import confusion_matrix_figure

    run_dir = demo_run("speech", refresh)
    results = _results(run_dir)
    classes = [row["tag"] for row in results["per_class"]]
    matrix = np.asarray(results["confusion_matrix"])
    figure = confusion_matrix_figure(matrix, classes, title="Speech Commands demo, test split")
    caption = (f"Confusion matrix of `python recipes/speech_commands_basic.py --demo` on its "
               f"{results['num_clips']} test clips ({NOT_COMPARABLE}): accuracy {results['accuracy']:.4f}, "
               f"macro F1 {results['f1_macro']:.4f}. Run {_where(run_dir)}.")  # fmt: skip
    return figure, caption


def dcue_cold_warm(refresh):
    import numpy as np
    from matplotlib.figure import Figure

    run_dir = demo_run("dcue", refresh)
    with open(os.path.join(run_dir, "dcue_table.json"), encoding="utf-8") as handle:
        table = json.load(handle)
    rows = [row for row in table["rows"] if row.get("protocol", "heldout") == "heldout"]
    # the multi model's per-level rows (conv2 ... conv5) are in the table, not in the picture
    methods = [m for m in dict.fromkeys(row["method"] for row in rows) if "(conv" not in m]
    tasks = [("warm", "warm songs (held-out plays)"), ("cold", "cold-start songs")]
    figure = Figure(figsize=(7, 3.4), layout="constrained")
    ax = figure.add_subplot()
    width = 0.38
    for offset, (task, label) in enumerate(tasks):
        values = []
        for method in methods:
            found = [row["value"] for row in rows if row["method"] == method and row["task"] == task]
            values.append(np.mean(found) if found else np.nan)
        positions = np.arange(len(methods)) + (offset - 0.5) * width
        ax.bar(positions, values, width, label=label)
        for x, value in zip(positions, values):
            ax.text(x, 0.02 if np.isnan(value) else value + 0.01, "n/a" if np.isnan(value) else f"{value:.2f}",
                    ha="center", fontsize=7)  # fmt: skip
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xticks(np.arange(len(methods)), methods, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("per-user ROC-AUC")
    ax.legend(fontsize=8, loc="upper left")
    seeds = ", ".join(map(str, table["seeds"]))
    caption = (f"Per-user ROC-AUC of `python recipes/dcue.py --demo` (synthetic listeners of synthetic songs; seed "
               f"{seeds}) under the held-out protocol: warm songs have plays in training, cold-start songs have "
               f"none, so popularity and ALS cannot rank them (n/a, or 0.5 for a constant score). Dotted line: "
               f"chance. Run {_where(run_dir)}.")  # fmt: skip
    return figure, caption


# --- the pretrained encoder (needs the authors' weights) -----------------------------------------


def weights_available():
    """Whether `from_preset(PRESET)` can load without a download."""
    from keras_samplecnn.presets import local_weights

    return local_weights(PRESET) is not None


def genre_folder():
    """The synthetic GTZAN-layout demo (180 clips of 10 s), written once into runs/docs/."""
    folder = os.path.join(CACHE, "gtzan_demo")
    if not os.path.exists(os.path.join(folder, "README.md")):  # written last
        from keras_samplecnn.datasets.demo_gtzan import make_demo_gtzan

        make_demo_gtzan(folder, progress=False)
    return os.path.join(folder, "genres_original")


EMBED_SNIPPET = """\
import keras_samplecnn

tagger = keras_samplecnn.Tagger(keras_samplecnn.from_preset("ismir2018_siamese_msd10k"))
embedding = tagger.embed("genres_original/rock/rock.00000.wav")   # any file soundfile reads
print(embedding.shape, embedding.dtype, "first values:", embedding[:5].round(3))"""

TRANSFER_SNIPPET = """\
import glob, os
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
import keras_samplecnn

tagger = keras_samplecnn.Tagger(keras_samplecnn.from_preset("ismir2018_siamese_msd10k"))
paths = sorted(glob.glob("genres_original/*/*.wav"))
features = np.stack([tagger.embed(path) for path in paths])     # (clips, 256)
genres = [os.path.basename(os.path.dirname(path)) for path in paths]
scores = cross_val_score(LogisticRegression(max_iter=2000), features, genres, cv=5)
print(f"{len(paths)} clips, {len(set(genres))} genres: accuracy {scores.mean():.3f} ± {scores.std():.3f}")"""


def pretrained_projection(refresh):
    import keras_samplecnn
    from keras_samplecnn.viz import embedding_projection

    folder = genre_folder()
    tagger = keras_samplecnn.Tagger(keras_samplecnn.from_preset(PRESET))
    paths = sorted(glob.glob(os.path.join(folder, "*", "*.wav")))
    genres = [os.path.basename(os.path.dirname(path)) for path in paths]
    names = sorted(set(genres))
    import numpy as np

    features = np.stack([tagger.embed(path) for path in paths])
    figure, _ = embedding_projection(features, [names.index(g) for g in genres], names,
                                     title=f"{PRESET}, {len(paths)} demo genre clips")  # fmt: skip
    caption = (f"The `{PRESET}` encoder's 256-d features of {len(paths)} clips of the synthetic GTZAN-layout demo "
               f"(`python -m keras_samplecnn.datasets gtzan DIR`), standardised and projected on their first two "
               f"principal components. The encoder was trained by the ISMIR 2018 authors on real MSD artists and "
               f"never heard this synthetic audio.")  # fmt: skip
    return figure, caption


def _run_text(argv, cwd, env=None):
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def pretrained_outputs(refresh):
    """`{name: (command, text)}`: embed one clip, index the demo folder and search it, transfer.
    Run inside the demo folder with relative paths, so the outputs show no path of this machine."""
    folder = genre_folder()
    base = os.path.dirname(folder)
    samplecnn = [sys.executable, "-m", "keras_samplecnn.cli"]  # the `samplecnn` command
    shutil.rmtree(os.path.join(base, "genre_index"), ignore_errors=True)  # its output shows a fresh index
    query = "genres_original/rock/rock.00000.wav"
    commands = {
        "pretrained-index": ["index", "genres_original", "--model", PRESET, "--out", "genre_index", "--no-progress"],
        "pretrained-similar": ["similar", query, "--index", "genre_index", "--top-k", "5"],
    }
    outputs = {"pretrained-embed": (EMBED_SNIPPET, _run_text([sys.executable, "-c", EMBED_SNIPPET], base))}
    for name, argv in commands.items():
        text = _run_text([*samplecnn, *argv], base).replace(base + os.sep, "")
        outputs[name] = ("samplecnn " + " ".join(argv), text)
    outputs["pretrained-transfer"] = (TRANSFER_SNIPPET, _run_text([sys.executable, "-c", TRANSFER_SNIPPET], base))
    return outputs


FIGURES = {
    "mtat-training-curves": mtat_training_curves,
    "mtat-per-tag-auc": mtat_per_tag_auc,
    "taggram": taggram,
    "se-excitations": se_excitations,
    "filter-spectra": filter_spectra,
    "speech-confusion": speech_confusion,
    "dcue-cold-warm": dcue_cold_warm,
    "pretrained-projection": pretrained_projection,
}
NEEDS_WEIGHTS = {"pretrained-projection"}
OUTPUTS = {"pretrained": pretrained_outputs}
OUTPUT_NAMES = {"pretrained": ("pretrained-embed", "pretrained-index", "pretrained-similar", "pretrained-transfer")}


def _have(path):
    return os.path.exists(path)


def build(refresh=False, only=None):
    """Makes every figure and output that is missing (all of them with `refresh`).

    Args:
        refresh: rerun the demos and redraw everything.
        only: names of figures or outputs to make (default: all).

    Returns:
        the names left out because the authors' weights were not found.
    """
    outputs = {name for names in OUTPUT_NAMES.values() for name in names}
    unknown = sorted(set(only or ()) - set(FIGURES) - outputs)
    if unknown:
        raise SystemExit(f"unknown figure or output {', '.join(unknown)}; known: {', '.join(sorted({*FIGURES, *outputs}))}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    left_out = []
    for name, make in FIGURES.items():
        png = os.path.join(ASSETS, "figures", f"{name}.png")
        if (only and name not in only) or (not refresh and _have(png) and _have(png[:-4] + ".json")):
            continue
        if name in NEEDS_WEIGHTS and not weights_available():
            left_out.append(name)
            continue
        started = time.perf_counter()
        figure, caption = make(refresh)
        _save(name, figure, caption)
        print(f"docs: figure {name} in {time.perf_counter() - started:.0f} s", flush=True)
    folder = os.path.join(ASSETS, "outputs")
    for group, make in OUTPUTS.items():
        names = OUTPUT_NAMES[group]
        if only and not set(names) & set(only):
            continue
        if not refresh and all(_have(os.path.join(folder, f"{n}.json")) for n in names):
            continue
        if not weights_available():
            left_out += list(names)
            continue
        from keras_samplecnn.benchmarking import describe_machine

        made = make(refresh)
        machine = describe_machine()  # measured after the commands, on the machine that ran them
        os.makedirs(folder, exist_ok=True)
        for name, (command, text) in made.items():
            with open(os.path.join(folder, f"{name}.json"), "w", encoding="utf-8") as handle:
                json.dump({"command": command, "text": text, "machine": machine,
                           "made": time.strftime("%Y-%m-%d")}, handle, indent=1)  # fmt: skip
    return left_out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true", help="rerun the demos and redraw everything")
    parser.add_argument("--only", action="append", help="only this figure or output (repeatable)")
    args = parser.parse_args(argv)
    left_out = build(args.refresh, args.only)
    if left_out:
        print(f"docs: left out (the {PRESET} weights were not found): {', '.join(left_out)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    raise SystemExit(main())
