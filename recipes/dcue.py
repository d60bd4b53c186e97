"""Music recommendation from audio and listening data: the deep content-user embedding model (DCUE;
Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786), cold-start songs included.

    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \\
        --msd-tracks unique_tracks.txt --num-users 20000 --num-songs 10000 --out data/taste
    python recipes/dcue.py --data data/taste [--tags song_tags.csv]    # the paper's run
    python recipes/dcue.py --demo                                       # synthetic listeners, 3 seeds

Per seed and variant ("basic", "multi"): the DCUE model is trained on the training interactions
(`configs/dcue.yaml`: SGD at lr 0.2, batches of 10 interactions, each against 20 songs the user
did not play, hinge margin 0.2), then every song is embedded from its audio and every user from
the user branch, and each user's songs are ranked by cosine. Reported, as in the paper: ROC-AUC
per user, averaged over users,

  warm   on the held-out interactions of songs seen in training (the user's training songs left
         out of the ranking), against the popularity baseline (listeners in training) and
         implicit-feedback ALS (`implicit`, the matrix-factorisation baseline);
  cold   on the cold-start songs, which no training interaction touched: DCUE scores them from
         audio alone; popularity gives them all 0 (a tie, AUC 0.5), ALS cannot score them;
  tags   the tagging task: an MLP (Dense 512 × 2 → sigmoid) on the frozen song embedding,
         macro ROC-AUC on held-out songs, beside the same network untrained.

The table (mean ± standard deviation over seeds) is printed and written to `<out>/dcue_table.md`
and `.json`. Finished training runs and the song spectrograms are reused, so an interrupted run
resumes (a training run from its last finished epoch).

Data: `--data` is a folder converted by `python -m tfrecords_tools taste-profile` (song
TFRecords beside `interactions.npz`). Tags for the tagging task: `--tags CSV` with columns
`song_id` and `tags` (tags separated by `|`), e.g. the MSD's last.fm tags of the songs.

`--demo`: `keras_samplecnn.datasets.make_demo_listeners` (synthetic listeners whose tastes follow
the demo songs' styles, tags and artists, with popularity bias and noise) converted by the same
converter, trained with `configs/demo_dcue.yaml`'s smaller settings (fixed work), 3 seeds.
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
VARIANTS = ("basic", "multi")
UNTRAINED = "untrained"
POPULARITY, ALS = "popularity", "ALS (implicit)"
DATA_HELP = """\
error: no converted Taste Profile data{where}.

DCUE needs user-song interactions and the songs' audio, converted once:

    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \\
        --msd-tracks unique_tracks.txt --num-users 20000 --num-songs 10000 --out data/taste
    python recipes/dcue.py --data data/taste

(the Echo Nest Taste Profile subset's train_triplets.txt, the MSD's unique_tracks.txt, and the
songs' audio named by MSD track id; or any user,item,count CSV with `--interactions`). Without
data, `python recipes/dcue.py --demo` runs the whole recipe on synthetic listeners.
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="a folder converted by python -m tfrecords_tools taste-profile")
    parser.add_argument("--tags", metavar="CSV", help="song_id,tags (|-separated) for the tagging task")
    parser.add_argument("--variants", default="basic,multi", help="basic, multi or both (default)")
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


def truth_matrices(split):
    """`(trained, held-out warm, cold)` boolean (users, songs) matrices, made once per run."""
    return split.matrix(split.train), split.matrix(split.test_warm), split.matrix(split.test_cold)


def recommendation_rows(scores, split, truth, method, seed):
    """Per-user ROC-AUC on warm held-out interactions and on cold-start songs."""
    from keras_samplecnn.evaluation.recommendation import per_user_auc

    trained, held_out, cold_pairs = truth
    warm = per_user_auc(scores, held_out, ~split.cold, exclude=trained)
    cold = per_user_auc(scores, cold_pairs, split.cold)
    return [{"method": method, "seed": seed, "task": "warm", "value": warm["auc"], "users": warm["users"]},
            {"method": method, "seed": seed, "task": "cold", "value": cold["auc"], "users": cold["users"]}]  # fmt: skip


def tagging_split(num_songs, fractions, seed):
    import numpy as np

    order = np.random.default_rng(np.random.SeedSequence([seed, 0x54414753])).permutation(num_songs)
    train_end = int(round(fractions[0] * num_songs))
    valid_end = train_end + int(round(fractions[1] * num_songs))
    return order[:train_end], order[train_end:valid_end], order[valid_end:]


def tagging_auc(embeddings, labels, tags, options, seed):
    """Macro ROC-AUC on held-out songs of an MLP on frozen song embeddings (tags with at least
    `min_positives` positive songs in every part are kept)."""
    import keras
    import numpy as np

    from keras_samplecnn.aggregation.classifier import _in_memory_dataset, build_classifier
    from keras_samplecnn.evaluation.metrics import tagging_metrics

    parts = tagging_split(len(labels), options["split"], seed)
    keep = np.all([labels[p].sum(axis=0) >= options["min_positives"] for p in parts], axis=0)
    if not keep.any():
        return None
    (x_train, x_valid, x_test), (y_train, y_valid, y_test) = ([embeddings[p] for p in parts],
                                                              [labels[p][:, keep] for p in parts])  # fmt: skip
    keras.utils.set_random_seed(seed)
    model = build_classifier(x_train.shape[1], int(keep.sum()), hidden=options["hidden"], dropout=options["dropout"],
                             mean=x_train.mean(axis=0), variance=x_train.var(axis=0))  # fmt: skip
    # No XLA: the model is tiny and trains in less time than XLA takes to compile it.
    model.compile(optimizer=keras.optimizers.Adam(options["learning_rate"]), loss="binary_crossentropy",
                  jit_compile=False)  # fmt: skip
    stop = keras.callbacks.EarlyStopping(patience=options["patience"], restore_best_weights=True)
    model.fit(_in_memory_dataset(x_train, y_train, options["batch_size"], seed=seed), epochs=options["epochs"],
              validation_data=_in_memory_dataset(x_valid, y_valid, 1024), callbacks=[stop], verbose=0)  # fmt: skip
    scores = np.asarray(model(x_test, training=False))
    return tagging_metrics(y_test, scores, [t for t, k in zip(tags, keep) if k])["roc_auc"]


def run_seed(seed, variants, split, truth, table, frames, tags, settings, sample_rate, statistics, out, timings):
    """Every row of one seed: DCUE variants, the untrained network, popularity and ALS."""
    import keras

    from keras_samplecnn.evaluation.recommendation import als_scores, popularity_scores
    from keras_samplecnn.recommender import embed_song_table, embed_users
    from keras_samplecnn.training.dcue import MODEL_FILE, RunMismatchError, train_dcue

    rows = []
    train = split.train
    for variant in variants:
        run_dir = os.path.join(out, f"seed{seed}", variant)
        if os.path.exists(os.path.join(run_dir, MODEL_FILE)):
            print(f"seed {seed}: {run_dir} holds a finished DCUE ({variant}) run, reused")
        else:
            print(f"\n=== seed {seed}: training DCUE ({variant}) ===", flush=True)
        keras.utils.set_random_seed(seed)
        model = new_model(variant, split, settings, sample_rate, statistics)
        with timings("training"):
            try:
                model = train_dcue(model, table, frames, split.user[train], split.song[train], seed=seed,
                                   run_dir=run_dir, **settings["training"])  # fmt: skip
            except RunMismatchError as error:  # other settings or data than the run kept there
                sys.exit(f"error: {error}")
        with timings("evaluation"):
            songs = embed_song_table(model, table, frames)
            rows += recommendation_rows(embed_users(model) @ songs.T, split, truth, f"DCUE {variant}", seed)
            if tags is not None:
                value = tagging_auc(songs, tags[1], tags[0], settings["tagging"], seed)
                rows.append({"method": f"DCUE {variant}", "seed": seed, "task": "tags", "value": value})
    with timings("evaluation"):
        keras.utils.set_random_seed(seed)
        untrained = new_model(variants[0], split, settings, sample_rate, statistics)
        songs = embed_song_table(untrained, table, frames)
        rows += recommendation_rows(embed_users(untrained) @ songs.T, split, truth, UNTRAINED, seed)
        if tags is not None:
            value = tagging_auc(songs, tags[1], tags[0], settings["tagging"], seed)
            rows.append({"method": UNTRAINED, "seed": seed, "task": "tags", "value": value})
        counts = (split.user[train], split.song[train])
        rows += recommendation_rows(popularity_scores(*counts, split.num_users, split.num_songs), split, truth,
                                    POPULARITY, seed)  # fmt: skip
        als = als_scores(*counts, split.count[train], split.num_users, split.num_songs, seed=seed,
                         **settings["baselines"]["als"])  # fmt: skip
        # ALS gives cold-start songs no factors: it cannot rank them, so no cold number.
        rows += [row for row in recommendation_rows(als, split, truth, ALS, seed) if row["task"] == "warm"]
    return rows


def summarise(rows):
    """`{(method, task): {"values", "mean", "std"}}` over seeds (std None for one seed)."""
    import numpy as np

    summary = {}
    for row in rows:
        if row["value"] is not None:
            summary.setdefault((row["method"], row["task"]), []).append(row["value"])
    return {key: {"values": values, "mean": float(np.mean(values)),
                  "std": float(np.std(values, ddof=1)) if len(values) > 1 else None}
            for key, values in summary.items()}  # fmt: skip


def markdown_table(summary, methods, with_tags):
    tasks = [("warm", "warm songs (per-user ROC-AUC)"), ("cold", "cold-start songs (per-user ROC-AUC)")]
    if with_tags:
        tasks.append(("tags", "tagging (ROC-AUC)"))
    lines = ["| method | " + " | ".join(name for _, name in tasks) + " |", "|---|" + "---|" * len(tasks)]
    for method in methods:
        cells = []
        for task, _ in tasks:
            entry = summary.get((method, task))
            if entry is None:
                cells.append("cannot score" if (method, task) == (ALS, "cold") else "—")
            elif entry["std"] is None:
                cells.append(f"{entry['mean']:.4f}")
            else:
                cells.append(f"{entry['mean']:.4f} ± {entry['std']:.4f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(summary, variants):
    lines = []
    for variant in variants:
        method = f"DCUE {variant}"
        for task, baseline in (("cold", POPULARITY), ("warm", POPULARITY), ("warm", ALS), ("tags", UNTRAINED)):
            ours, theirs = summary.get((method, task)), summary.get((baseline, task))
            if ours and theirs:
                # Per seed, so "better" means on every seed, not only on average.
                wins = sum(a > b for a, b in zip(ours["values"], theirs["values"]))
                gain = ours["mean"] - theirs["mean"]
                word = "beats" if wins == len(ours["values"]) else "does NOT beat"
                lines.append(f"{method} {word} {baseline} on {task} songs: {gain:+.4f} ({wins}/{len(ours['values'])} "
                             f"seeds)" if task != "tags" else
                             f"{method} {word} the {baseline} network on tags: {gain:+.4f} "
                             f"({wins}/{len(ours['values'])} seeds)")  # fmt: skip
    return lines


def write_table(out, rows, variants, seeds, title, with_tags, notes=()):
    summary = summarise(rows)
    methods = [*(f"DCUE {v}" for v in variants), POPULARITY, ALS, UNTRAINED]
    text = "\n".join([title, "", markdown_table(summary, methods, with_tags), "", *verdicts(summary, variants),
                      *notes]).rstrip() + "\n"  # fmt: skip
    common.save_table(out, "dcue_table", text, {
        "seeds": seeds, "rows": rows,
        "summary": [{"method": m, "task": t, **entry} for (m, t), entry in summary.items()],
    })  # fmt: skip
    return summary


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
        # Standardisation from the songs training sees (not the cold-start ones).
        statistics = mel_statistics(table, frames, [i for i in range(split.num_songs) if not split.cold[i]])
    tags = read_tags(tags_csv, list(split.songs)) if tags_csv else None
    print(f"{split.num_users} users, {split.num_songs} songs ({int(split.cold.sum())} cold-start), "
          f"interactions: {int(split.train.sum())} train, {int(split.test_warm.sum())} held-out warm, "
          f"{int(split.test_cold.sum())} of cold-start songs")  # fmt: skip

    rows, truth = [], truth_matrices(split)
    for seed in seeds:
        rows += run_seed(seed, variants, split, truth, table, frames, tags, settings, sample_rate, statistics, out,
                         timings)  # fmt: skip
    source = "synthetic demo listeners" if demo else data
    title = (f"DCUE (DLRS 2018) on {source}: {split.num_users} users x {split.num_songs} songs "
             f"({int(split.cold.sum())} cold-start); seeds {', '.join(map(str, seeds))}")  # fmt: skip
    notes = ["", "Popularity gives every cold-start song the same score (no listener in training): AUC 0.5."]
    write_table(out, rows, variants, seeds, title, tags is not None, notes)
    timings.save(os.path.join(out, "timings.json"))
    multiscale.print_time(timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
