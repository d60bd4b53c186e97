"""Music recommendation from audio and listening data: the deep content-user embedding model (DCUE;
Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786), cold-start songs included.

    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \\
        --msd-tracks unique_tracks.txt --song-list subset_songs_20000_10000.npy --num-users 20000 \\
        --out data/taste
    python recipes/dcue.py --data data/taste [--tags song_tags.csv]    # the paper's run
    python recipes/dcue.py --demo [--seeds 0,1,2]                      # synthetic listeners

Per seed, protocol and variant ("basic", "multi"): the DCUE model is trained as the authors'
code trains it (`configs/dcue.yaml`; jongpillee/deep-content-user @0e57b68 `train.py`: SGD lr 0.2,
Nesterov momentum 0.9, decay 1e-6, batches of 10 interactions each against 20 songs the user did
not play, the hinge loss of margin 0.2 summed), then every song is embedded from its audio and
every user from the user branch, and each user's songs are ranked by cosine: per-user ROC-AUC,
averaged over users, under two protocols (`evaluation.protocols`):

  authors  the authors' split and evaluation (`load_label.py`, `evaluation.py`): songs split by
           their position in the song list modulo 10; warm = the training songs against all
           their interactions (how well the embeddings reproduce the matrix they were trained
           on), cold = the test songs; popularity counts listeners in that same matrix;
  heldout  ours: warm = held-out interactions of songs seen in training (the user's training
           pairs left out of the ranking), cold = seeded cold-start songs no training
           interaction touched; popularity counts training listeners only (cold songs tie:
           AUC 0.5), and implicit-feedback ALS (`implicit`) is the matrix-factorisation
           baseline (it cannot score cold songs);
  tags     the tagging task (`tagging.py`): an MLP (Dense 512 + BN + ReLU twice → sigmoid, SGD
           0.1 Nesterov, batch 10) on the frozen song embedding of the authors'-protocol model,
           macro ROC-AUC on held-out songs, beside the same network untrained.

The "multi" model's five levels (the song embedding, and conv5 … conv2) are each evaluated on
their own, as the authors' `evaluation.py` and `tagging.py` do.

The table (mean ± standard deviation over seeds) is printed and written to `<out>/dcue_table.md`
and `.json`. Finished training runs and the song spectrograms are reused, so an interrupted run
resumes (a training run from its last finished epoch).

Data: `--data` is a folder converted by `python -m tfrecords_tools taste-profile` (song
TFRecords beside `interactions.npz`). Tags for the tagging task: `--tags CSV` with columns
`song_id` and `tags` (tags separated by `|`), e.g. the MSD's last.fm tags of the songs.

`--demo`: `keras_samplecnn.datasets.make_demo_listeners` (synthetic listeners whose tastes follow
the demo songs' styles, tags and artists, with popularity bias and noise) converted by the same
converter, trained with `configs/demo_dcue.yaml`'s smaller settings (fixed work), seed 0.
Songs are then listed in order of listeners, so the authors' modulo-10 split spreads popular and
rare songs over its parts.
"""

import argparse
import csv
import os
import sys
import time

import common
import multiscale

CONFIG = "dcue.yaml"
DEMO_CONFIG = "demo_dcue.yaml"
VARIANTS = ("basic", "multi", "multi_mean")
PROTOCOLS = ("authors", "heldout")
UNTRAINED = "untrained"
POPULARITY, ALS = "popularity", "ALS (implicit)"
DATA_HELP = """\
error: no converted Taste Profile data{where}.

DCUE needs user-song interactions and the songs' audio, converted once:

    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \\
        --msd-tracks unique_tracks.txt --song-list subset_songs_20000_10000.npy --num-users 20000 \\
        --out data/taste
    python recipes/dcue.py --data data/taste

(the Echo Nest Taste Profile subset's train_triplets.txt, the MSD's unique_tracks.txt, and the
songs' audio named by MSD track id; or any user,item,count CSV with `--interactions`). Without
data, `python recipes/dcue.py --demo` runs the whole recipe on synthetic listeners.
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="a folder converted by python -m tfrecords_tools taste-profile")
    parser.add_argument("--tags", metavar="CSV", help="song_id,tags (|-separated) for the tagging task")
    parser.add_argument("--variants", default="basic,multi",
                        help="basic, multi (default: both) and/or multi_mean")  # fmt: skip
    parser.add_argument("--seeds", help="comma-separated seeds (default 0; with --demo those of the demo file)")
    parser.add_argument("--out", help="output folder (default runs/dcue[_demo])")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configs/dcue.yaml key, e.g. training.epochs=5")  # fmt: skip
    parser.add_argument("--demo", action="store_true", help="the synthetic demo data, end to end")
    parser.add_argument("--demo-size", action="append", default=[], metavar="KEY=VALUE",
                        help="change the demo's data, e.g. dataset.num_users=100")  # fmt: skip
    parser.add_argument("--workers", type=int, help="processes for demo synthesis and conversion")
    return parser.parse_args(argv)


def settings_of(demo, sets):
    """`configs/dcue.yaml`, the demo file's `settings` over it, then `--set` items."""
    from keras_samplecnn.training import config as config_lib

    settings = common.read_yaml(os.path.join(common.CONFIGS, CONFIG))
    if demo:
        settings = config_lib.merge(settings, demo.get("settings", {}))
    try:
        return config_lib.apply_overrides(settings, sets)
    except config_lib.ConfigError as error:
        sys.exit(f"error: --set: {error}")


def variants_of(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or set(names) - set(VARIANTS):
        sys.exit(f"error: --variants: {text!r}; choose from {list(VARIANTS)}")
    return names


def demo_data(demo, out, workers, timings):
    """The demo listeners, synthesised and converted (each step skipped when done)."""
    from keras_samplecnn.data.interaction_split import FILE_NAME
    from keras_samplecnn.datasets import make_demo_listeners
    from tfrecords_tools.cli import main as convert_main

    raw, converted = os.path.join(out, "data", "demo_listeners"), os.path.join(out, "data", "taste")
    if not os.path.exists(os.path.join(raw, ".complete")):
        print(f"Synthesising the demo listeners in {raw} ...")
        with timings("synthesis"):
            make_demo_listeners(raw, workers=workers, **demo["dataset"])
        open(os.path.join(raw, ".complete"), "w").close()
    if not os.path.exists(os.path.join(converted, FILE_NAME)):
        argv = ["taste-profile", "--triplets", os.path.join(raw, "train_triplets.txt"), "--audio-dir",
                os.path.join(raw, "audio"), "--msd-tracks", os.path.join(raw, "unique_tracks.txt"), "--out", converted,
                *[f"--{key.replace('_', '-')}={value}" for key, value in demo["convert"].items()]]  # fmt: skip
        if workers:
            argv += ["--workers", str(workers)]
        with timings("conversion"):
            if convert_main(argv) != 0:
                sys.exit("conversion of the demo listeners failed; rerun the same command to resume")
    return converted, os.path.join(raw, "songs.csv")


def read_tags(path, song_ids):
    """`(tag names, multi-hot (songs, tags))` of the songs from a song_id,tags CSV; songs not in
    the file get no tag."""
    import numpy as np

    row_of = {song: i for i, song in enumerate(song_ids)}
    found = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"song_id", "tags"} <= set(reader.fieldnames):
            sys.exit(f"error: {path}: need a header with 'song_id' and 'tags' columns")
        for row in reader:
            if row["song_id"] in row_of:
                found[row["song_id"]] = [t for t in row["tags"].split("|") if t]
    names = sorted({t for tags in found.values() for t in tags})
    column = {t: k for k, t in enumerate(names)}
    labels = np.zeros((len(song_ids), len(names)), np.float32)
    for song, tags in found.items():
        labels[row_of[song], [column[t] for t in tags]] = 1.0
    return names, labels


def mel_statistics(table, frames, rows):
    """Mean and standard deviation of the log-mel values of some songs (their real frames)."""
    import numpy as np

    total, squares, count = 0.0, 0.0, 0
    for row in rows:
        values = np.asarray(table[row, : frames[row]], np.float64)
        total, squares, count = total + values.sum(), squares + (values**2).sum(), count + values.size
    mean = total / count
    return float(mean), float(np.sqrt(max(squares / count - mean**2, 1e-12)))


def new_model(variant, split, settings, sample_rate, statistics):
    from keras_samplecnn.models.dcue import DCUE

    return DCUE(users=list(split.users), variant=variant, sample_rate=sample_rate, mel_mean=statistics[0],
                mel_std=statistics[1], **settings["model"])  # fmt: skip


def training_settings(settings, variant):
    """`configs/dcue.yaml`'s `training` for one variant (`epochs` may be given per variant)."""
    options = dict(settings["training"])
    if isinstance(options["epochs"], dict):
        if variant not in options["epochs"]:
            sys.exit(f"error: training.epochs gives no number for the {variant!r} variant")
        options["epochs"] = options["epochs"][variant]
    return options


def method_names(variant):
    """The table's method name of each level of a DCUE variant."""
    from keras_samplecnn.models.dcue import VARIANTS as LEVELS

    if variant != "multi":
        return [f"DCUE {variant}"]
    return [f"DCUE {variant} ({level})" for level in LEVELS[variant]]


class Evaluation:
    """One protocol (see the module docstring), made once per run: `training`, the split its
    models train on, and per-user ROC-AUC of a score matrix on its warm and cold songs."""

    def __init__(self, split, protocol):
        from keras_samplecnn.data.interaction_split import authors_protocol, authors_song_sets

        self.protocol = protocol
        self.training = authors_protocol(split) if protocol == "authors" else split
        if protocol == "authors":
            train_songs, _, test_songs = authors_song_sets(split.order)
            self.played = split.matrix()
            self.sets = {"warm": (self.played, train_songs, None), "cold": (self.played, test_songs, None)}
        else:
            trained = split.matrix(split.train)
            self.sets = {"warm": (split.matrix(split.test_warm), ~split.cold, trained),
                         "cold": (split.matrix(split.test_cold), split.cold, None)}  # fmt: skip

    def rows(self, scores, method, seed, tasks=("warm", "cold")):
        from keras_samplecnn.evaluation.recommendation import per_user_auc

        rows = []
        for task in tasks:
            positives, candidates, exclude = self.sets[task]
            result = per_user_auc(scores, positives, candidates, exclude=exclude)
            rows.append({"method": method, "seed": seed, "protocol": self.protocol, "task": task,
                         "value": result["auc"], "users": result["users"]})  # fmt: skip
        return rows


def tagging_split(num_songs, fractions, seed):
    """Song positions for the tagger's training, validation and test: "authors" (`tagging.py`:
    position modulo 10 in 0-6, 7, and 8-9) or seeded fractions."""
    import numpy as np

    if fractions == "authors":
        remainder = np.arange(num_songs) % 10
        return np.flatnonzero(remainder < 7), np.flatnonzero(remainder == 7), np.flatnonzero(remainder >= 8)
    order = np.random.default_rng(np.random.SeedSequence([seed, 0x54414753])).permutation(num_songs)
    train_end = int(round(fractions[0] * num_songs))
    valid_end = train_end + int(round(fractions[1] * num_songs))
    return order[:train_end], order[train_end:valid_end], order[valid_end:]


def tagging_model(width, num_tags, options):
    """The authors' tagging MLP (`tagging.py` `model`): (Dense(hidden) → BatchNorm → ReLU) x 2 →
    Dense(tags, sigmoid)."""
    import keras

    inputs = keras.Input((width,), name="embedding")
    x = inputs
    for index in (1, 2):
        x = keras.layers.Dense(options["hidden"], name=f"dense{index}")(x)
        if options["batch_norm"]:
            x = keras.layers.BatchNormalization(name=f"bn{index}")(x)
        x = keras.layers.ReLU(name=f"relu{index}")(x)
        if options["dropout"]:
            x = keras.layers.Dropout(options["dropout"], name=f"dropout{index}")(x)
    return keras.Model(inputs, keras.layers.Dense(num_tags, activation="sigmoid", name="tags")(x), name="tagger")


def tagging_auc(embeddings, labels, tags, options, seed):
    """Macro ROC-AUC on held-out songs of the tagging MLP trained on frozen song embeddings of the
    songs with at least one tag (`tagging.py`: SGD with Nesterov momentum and decay, early
    stopping and rate reduction on the validation loss; tags with a positive and a negative
    test song are scored, as its `eval_retrieval` scores tags with a positive)."""
    import keras
    import numpy as np

    from keras_samplecnn.evaluation.metrics import tagging_metrics
    from keras_samplecnn.training.optimizers import StepDecaySGD

    tagged = np.flatnonzero(labels.sum(axis=1) > 0)
    parts = [tagged[p] for p in tagging_split(len(tagged), options["split"], seed)]
    (x_train, x_valid, x_test), (y_train, y_valid, y_test) = ([embeddings[p] for p in parts],
                                                              [labels[p] for p in parts])  # fmt: skip
    scored = (y_test.sum(axis=0) > 0) & (y_test.sum(axis=0) < len(y_test))
    if not len(x_train) or not len(x_valid) or not scored.any():
        return None
    keras.utils.set_random_seed(seed)
    model = tagging_model(x_train.shape[1], labels.shape[1], options)
    optimizer = StepDecaySGD(options["learning_rate"], momentum=options["momentum"], nesterov=options["nesterov"],
                             step_decay=options["step_decay"])  # fmt: skip
    # No XLA: the model is tiny and trains in less time than XLA takes to compile it.
    # An epoch's steps in one call: the same updates without Keras's per-step overhead, which
    # dominates on batches of 10.
    model.compile(optimizer=optimizer, loss="binary_crossentropy", jit_compile=False,
                  steps_per_execution=max(1, -(-len(x_train) // options["batch_size"])))  # fmt: skip
    callbacks = [keras.callbacks.EarlyStopping(patience=options["patience"]),
                 keras.callbacks.ReduceLROnPlateau(factor=options["reduce_factor"],
                                                   patience=options["reduce_patience"],
                                                   min_lr=options["min_learning_rate"])]  # fmt: skip
    model.fit(x_train, y_train, batch_size=options["batch_size"], epochs=options["epochs"],
              validation_data=(x_valid, y_valid), callbacks=callbacks, verbose=0)  # fmt: skip
    predicted = np.asarray(model.predict(x_test, batch_size=1024, verbose=0))
    return tagging_metrics(y_test[:, scored], predicted[:, scored], [t for t, k in zip(tags, scored) if k])["roc_auc"]


def run_seed(seed, variants, evaluations, split, table, frames, tags, settings, sample_rate, statistics, out,
             timings):  # fmt: skip
    """Every row of one seed: DCUE variants per protocol, the untrained network, popularity, ALS."""
    import keras

    from keras_samplecnn.evaluation.recommendation import als_scores, listener_scores, popularity_scores
    from keras_samplecnn.recommender import embed_song_table, embed_users
    from keras_samplecnn.training.dcue import MODEL_FILE, RunMismatchError, train_dcue

    rows = []
    tag_protocol = evaluations[0].protocol
    for evaluation in evaluations:
        protocol, data = evaluation.protocol, evaluation.training
        train = data.train
        for variant in variants:
            run_dir = os.path.join(out, f"seed{seed}", protocol, variant)
            if os.path.exists(os.path.join(run_dir, MODEL_FILE)):
                print(f"seed {seed}: {run_dir} holds a finished DCUE ({variant}, {protocol}) run, reused")
            else:
                print(f"\n=== seed {seed}: training DCUE ({variant}) on the {protocol} protocol's split ===", flush=True)
            keras.utils.set_random_seed(seed)
            model = new_model(variant, split, settings, sample_rate, statistics[protocol])
            with timings("training"):
                try:
                    model = train_dcue(model, table, frames, data.user[train], data.song[train], seed=seed,
                                       run_dir=run_dir, **training_settings(settings, variant))  # fmt: skip
                except RunMismatchError as error:  # other settings or data than the run kept there
                    sys.exit(f"error: {error}")
            with timings("evaluation"):
                for level, method in enumerate(method_names(variant)):
                    songs = embed_song_table(model, table, frames, level=level)
                    rows += evaluation.rows(embed_users(model, level=level) @ songs.T, method, seed)
                    if tags is not None and protocol == tag_protocol and (level == 0 or settings["tagging"]["levels"]
                                                                         == "all"):  # fmt: skip
                        value = tagging_auc(songs, tags[1], tags[0], settings["tagging"], seed)
                        rows.append({"method": method, "seed": seed, "protocol": protocol, "task": "tags",
                                     "value": value})  # fmt: skip
        with timings("evaluation"):
            keras.utils.set_random_seed(seed)
            untrained = new_model(variants[0], split, settings, sample_rate, statistics[protocol])
            songs = embed_song_table(untrained, table, frames)
            rows += evaluation.rows(embed_users(untrained) @ songs.T, UNTRAINED, seed)
            if tags is not None and protocol == tag_protocol:
                value = tagging_auc(songs, tags[1], tags[0], settings["tagging"], seed)
                rows.append({"method": UNTRAINED, "seed": seed, "protocol": protocol, "task": "tags", "value": value})
            if protocol == "authors":
                rows += evaluation.rows(listener_scores(evaluation.played), POPULARITY, seed)
            else:
                counts = (data.user[train], data.song[train])
                rows += evaluation.rows(popularity_scores(*counts, split.num_users, split.num_songs), POPULARITY,
                                        seed)  # fmt: skip
                als = als_scores(*counts, data.count[train], split.num_users, split.num_songs, seed=seed,
                                 **settings["baselines"]["als"])  # fmt: skip
                # ALS gives cold-start songs no factors: it cannot rank them, so no cold number.
                rows += evaluation.rows(als, ALS, seed, tasks=("warm",))
    return rows


def summarise(rows):
    """`{(method, protocol, task): {"values", "mean", "std"}}` over seeds (std None for one seed)."""
    import numpy as np

    summary = {}
    for row in rows:
        if row["value"] is not None:
            summary.setdefault((row["method"], row.get("protocol"), row["task"]), []).append(row["value"])
    return {key: {"values": values, "mean": float(np.mean(values)),
                  "std": float(np.std(values, ddof=1)) if len(values) > 1 else None}
            for key, values in summary.items()}  # fmt: skip


COLUMNS = {
    ("heldout", "warm"): "held-out: warm songs",
    ("heldout", "cold"): "held-out: cold-start songs",
    ("authors", "warm"): "authors': training songs",
    ("authors", "cold"): "authors': test songs",
}


def columns_of(protocols, tag_protocol, with_tags):
    columns = [(p, t) for p in ("heldout", "authors") if p in protocols for t in ("warm", "cold")]
    return columns + ([(tag_protocol, "tags")] if with_tags else [])


def markdown_table(summary, methods, columns):
    names = [COLUMNS.get(column, "tagging (ROC-AUC)") for column in columns]
    lines = ["| method | " + " | ".join(names) + " |", "|---|" + "---|" * len(columns)]
    for method in methods:
        cells = []
        for protocol, task in columns:
            entry = summary.get((method, protocol, task))
            if entry is None:
                cells.append("cannot score" if (method, protocol, task) == (ALS, "heldout", "cold") else "—")
            elif entry["std"] is None:
                cells.append(f"{entry['mean']:.4f}")
            else:
                cells.append(f"{entry['mean']:.4f} ± {entry['std']:.4f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(summary, methods, columns):
    """One line per DCUE level and comparison: better on every seed, or not."""
    lines = []
    for method in methods:
        if not method.startswith("DCUE"):
            continue
        for protocol, task in columns:
            for baseline in ((UNTRAINED,) if task == "tags" else (POPULARITY, ALS)):
                ours, theirs = summary.get((method, protocol, task)), summary.get((baseline, protocol, task))
                if not (ours and theirs):
                    continue
                # Per seed, so "better" means on every seed, not only on average.
                wins = sum(a > b for a, b in zip(ours["values"], theirs["values"]))
                word = "beats" if wins == len(ours["values"]) else "does NOT beat"
                where = "tags" if task == "tags" else COLUMNS[(protocol, task)]
                lines.append(f"{method} {word} {baseline} on {where}: {ours['mean'] - theirs['mean']:+.4f} "
                             f"({wins}/{len(ours['values'])} seeds)")  # fmt: skip
    return lines


def write_table(out, rows, methods, seeds, title, columns, notes=()):
    summary = summarise(rows)
    methods = [m for m in methods if any(key[0] == m for key in summary)]
    text = "\n".join([title, "", markdown_table(summary, methods, columns), "", *verdicts(summary, methods, columns),
                      *notes]).rstrip() + "\n"  # fmt: skip
    common.save_table(out, "dcue_table", text, {
        "seeds": seeds, "rows": rows,
        "summary": [{"method": m, "protocol": p, "task": t, **entry} for (m, p, t), entry in summary.items()],
    })  # fmt: skip
    return summary


def check_tagging(options):
    """Exits with the key's name for a `tagging.levels` or `tagging.split` the recipe cannot use."""
    if options.get("levels") not in ("all", "first"):
        sys.exit(f"error: tagging.levels: {options.get('levels')!r}; choose 'all' or 'first'")
    split = options.get("split")
    fractions = isinstance(split, list) and len(split) == 3 and all(
        isinstance(f, (int, float)) and 0 < f < 1 for f in split) and sum(split) <= 1 + 1e-9  # fmt: skip
    if split != "authors" and not fractions:
        sys.exit(f"error: tagging.split: {split!r}; give 'authors' or [train, valid, test] fractions summing to 1")


def protocols_of(settings):
    protocols = settings.get("evaluation", {}).get("protocols", list(PROTOCOLS))
    if not protocols or set(protocols) - set(PROTOCOLS) or len(set(protocols)) != len(protocols):
        sys.exit(f"error: evaluation.protocols: {protocols!r}; choose from {list(PROTOCOLS)}")
    return list(protocols)


def main(argv=None):
    args = parse_args(argv)
    from keras_samplecnn.quiet import filter_native_logs

    filter_native_logs()
    demo = common.demo_file(DEMO_CONFIG, args.demo_size) if args.demo else None
    variants = variants_of(args.variants)
    seeds = multiscale.parse_seeds(args.seeds, demo)
    settings = settings_of(demo, args.set)
    out = args.out or ("runs/dcue" + ("_demo" if demo else ""))
    timings = common.Timings({"start-up": time.monotonic() - common.STARTED})
    protocols = protocols_of(settings)
    check_tagging(settings["tagging"])
    if "heldout" in protocols:  # its ALS baseline; said now, not after the training
        from keras_samplecnn.messages import needs_extra

        try:
            needs_extra("implicit.cpu.als", "recommend", "the held-out protocol's ALS baseline")
        except ImportError as error:
            sys.exit(f"error: {error}")

    import numpy as np

    from keras_samplecnn.data.interaction_split import FILE_NAME, load_interaction_split
    from keras_samplecnn.data.manifest import read_manifest
    from keras_samplecnn.data.song_mels import song_mel_table

    if demo:
        data, tags_csv = demo_data(demo, out, args.workers, timings)
    else:
        data, tags_csv = args.data, args.tags
        if not data or not os.path.exists(os.path.join(data, FILE_NAME)):
            sys.exit(DATA_HELP.format(where=f" in {data!r} (no {FILE_NAME})" if data else " (no --data given)"))
    split = load_interaction_split(data)
    sample_rate = read_manifest(data).sample_rate
    frontend = new_model("basic", split, settings, sample_rate, (0.0, 1.0)).mel_frontend()
    with timings("spectrograms"):
        table, frames = song_mel_table(data, split.songs, frontend, cache_dir=os.path.join(out, "cache"))
        evaluations = [Evaluation(split, protocol) for protocol in protocols]
        # Standardisation from the songs each protocol's training sees (not its cold-start ones).
        statistics = {e.protocol: mel_statistics(table, frames, np.unique(e.training.song[e.training.train]))
                      for e in evaluations}  # fmt: skip
    tags = read_tags(tags_csv, list(split.songs)) if tags_csv else None
    print(f"{split.num_users} users, {split.num_songs} songs ({int(split.cold.sum())} cold-start), "
          f"interactions: {int(split.train.sum())} train, {int(split.test_warm.sum())} held-out warm, "
          f"{int(split.test_cold.sum())} of cold-start songs")  # fmt: skip

    rows = []
    for seed in seeds:
        rows += run_seed(seed, variants, evaluations, split, table, frames, tags, settings, sample_rate, statistics,
                         out, timings)  # fmt: skip
    source = "synthetic demo listeners" if demo else data
    title = (f"DCUE (DLRS 2018) on {source}: {split.num_users} users x {split.num_songs} songs "
             f"({int(split.cold.sum())} cold-start); seeds {', '.join(map(str, seeds))}")  # fmt: skip
    notes = ["", "Held-out protocol: popularity gives every cold-start song the same score (no listener in "
             "training): AUC 0.5. Authors' protocol: popularity counts the evaluated songs' own listeners."]
    methods = [name for variant in variants for name in method_names(variant)]
    columns = columns_of(protocols, protocols[0], tags is not None)
    write_table(out, rows, [*methods, POPULARITY, ALS, UNTRAINED], seeds, title, columns, notes)
    timings.save(os.path.join(out, "timings.json"))
    multiscale.print_time(timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
