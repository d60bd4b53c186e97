"""Representation learning from artist labels and its transfer (Park, Lee, Park, Ha, Nam, ISMIR 2018).

    python recipes/artist_representation.py --artists data/my_music --artist-labels artists.csv \\
        --genres data/gtzan --tags data/mtat                       # your artist-labelled audio
    python recipes/artist_representation.py --artists data/msd_audio --msd-tracks unique_tracks.txt \\
        --num-artists 1000 --genres data/gtzan --tags data/mtat    # MSD audio named by track id
    python recipes/artist_representation.py --demo                 # synthetic artists, 3 seeds
    python recipes/artist_representation.py --demo --pretrained ismir2018_siamese_msd10k

Per seed: (1) the two artist models are trained on the artist data (`configs/artist_representation.yaml`:
the authors' SGD at lr 0.1, batch 15, one random 129-frame excerpt per training track per epoch):
the basic model (softmax over artists) and the Siamese model (an anchor against a track of the
same artist and 4 of others, cosine scores, hinge loss with margin 0.4); (2) every clip of each
target is embedded by both trained encoders and by the same network untrained (random weights,
seeded): the 256-d feature averaged over the clip's 129-frame excerpts; (3) the authors' linear
classifier (standardised features, one softmax or sigmoid layer) is trained on each target's
training split and tested on its test split:

  artist   artist recognition on the held-out tracks of the training artists (accuracy)
  genre    GTZAN (fault-filtered split) or any `folder` dataset of classes (accuracy)
  tags     MagnaTagATune or any tag dataset (clip-level macro ROC-AUC)

`--pretrained NAME` (a `keras_samplecnn.from_preset` name, repeatable) adds the authors'
released encoder, trained on the Million Song Dataset, as one more feature set: not trained
here, only its classifiers are, per seed; with a genre target its 256-d features are also drawn
as a 2-D PCA projection coloured by genre (`<out>/pretrained_genre_pca.png`).

The table (mean ± standard deviation over seeds) is printed and written to
`<out>/artist_table.md` and `.json`. Finished training runs and feature caches are reused, so
an interrupted run resumes.

Data: `--artists` is a folder converted by `python -m tfrecords_tools artists` (manifest.json)
or the audio folder, converted here with `--artist-labels CSV` (path,artist[,track_id,album]) or
`--msd-tracks unique_tracks.txt`, the paper's per-artist split (`--tracks-per-artist 15,3,2`)
drawn from a seed, or with `--split-list msd-artist-list.pkl`, the authors' released split
(jiyoungpark527/msd-artist-split; audio named by 7digital id).
`--genres` takes GTZAN (raw or converted) or, with `--genre-labels CSV`, any audio folder;
`--tags` takes MTAT (raw or converted). Targets without data are left out.

`--demo`: `keras_samplecnn.datasets.make_demo_artists` (synthetic artists: each has a style,
an instrumentation, a key and a tempo its tracks share), demo MTAT tags and demo GTZAN-layout
genres (`configs/demo_artists.yaml`), both objectives trained with the `cpu_artist` profile
(fixed work), 3 seeds. The paper reports no single transfer number to compare with here.
"""

import argparse
import os
import sys
import time

import common
import multiscale

CONFIG = "artist_representation"
DEMO_CONFIG = "demo_artists.yaml"
OBJECTIVES = {"basic": "artist_basic", "siamese": "artist_siamese"}
# (target, what it is, metric): in table order.
TARGETS = (
    ("artist", "artist recognition, held-out tracks", "accuracy"),
    ("genre", "genre", "accuracy"),
    ("tags", "tagging", "roc_auc"),
)
RANDOM = "random"  # the untrained network's row


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artists", help="artist data: converted (manifest.json) or the audio folder")
    parser.add_argument("--artist-labels", metavar="CSV", help="CSV path,artist[,track_id,album] of --artists")
    parser.add_argument("--msd-tracks", metavar="TXT", help="MSD's unique_tracks.txt: --artists holds MSD audio")
    parser.add_argument("--split-list", metavar="PKL",
                        help="the authors' msd-artist-list.pkl (jiyoungpark527/msd-artist-split): their split of "
                             "--artists, audio named by 7digital id")  # fmt: skip
    parser.add_argument("--tracks-per-artist", default="15,3,2",
                        help="per-artist split when --artists is converted here (default 15,3,2)")  # fmt: skip
    parser.add_argument("--num-artists", type=int, help="keep this many artists (the paper: 500 to 10,000)")
    parser.add_argument("--genres", help="genre target: GTZAN or a folder dataset (raw or converted)")
    parser.add_argument("--genre-labels", metavar="CSV", help="with --genres: a folder dataset's labels CSV")
    parser.add_argument("--tags", help="tagging target: MTAT (raw or converted)")
    parser.add_argument("--objectives", default="basic,siamese", help="basic, siamese or both (default)")
    parser.add_argument("--seeds", help="comma-separated seeds (default 0; with --demo those of the demo file)")
    parser.add_argument("--out", help="output folder (default runs/artist_representation[_demo])")
    parser.add_argument("--profile", metavar="NAME", help="settings merged over configs/artist_representation.yaml "
                                                          "(default with --demo: cpu_artist)")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a training config key, e.g. optimization.max_epochs=50")  # fmt: skip
    parser.add_argument("--classifier", action="append", default=[], metavar="KEY=VALUE",
                        help="classifier option: hidden (0: linear), dropout, epochs, batch_size, learning_rate, "
                             "patience")  # fmt: skip
    parser.add_argument("--pretrained", action="append", default=[], metavar="PRESET",
                        help="also a pretrained encoder (keras_samplecnn.from_preset name, e.g. "
                             "ismir2018_siamese_msd10k); repeatable")  # fmt: skip
    parser.add_argument("--demo", action="store_true", help="the synthetic demo data, end to end")
    parser.add_argument("--demo-size", action="append", default=[], metavar="KEY=VALUE",
                        help="change the demo's data, e.g. artists.num_artists=20 or tags.n_clips=200")  # fmt: skip
    parser.add_argument("--workers", type=int, help="processes for demo synthesis and conversion")
    return parser.parse_args(argv)


def objectives_of(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(OBJECTIVES))
    if unknown or not names:
        sys.exit(f"error: --objectives: {text!r}; choose from {sorted(OBJECTIVES)}")
    return names


def load_config(profile, sets):
    """`configs/artist_representation.yaml` with the profile over it and `--set` items last."""
    from keras_samplecnn.training import config as config_lib

    try:
        overlays = [common.profile_path(profile)] if profile else []
        return config_lib.load(os.path.join(common.CONFIGS, f"{CONFIG}.yaml"), sets, overlays)
    except config_lib.ConfigError as error:
        sys.exit(f"error: {error}")


def model_geometry(config):
    """`(input length, sample rate)` of the artist models a config builds (not built)."""
    import inspect

    from keras_samplecnn.models.artist import ArtistCNN

    parameters = inspect.signature(ArtistCNN.__init__).parameters
    geometry = {key: parameters[key].default for key in ("num_frames", "hop_length", "sample_rate")}
    geometry.update({k: v for k, v in config.model.overrides.items() if k in geometry})
    return (geometry["num_frames"] - 1) * geometry["hop_length"], geometry["sample_rate"]


def artist_data(args, demo, out, segment_length, sample_rate, timings):
    """The artist TFRecords: --artists converted, converted here, or the demo's."""
    from keras_samplecnn.data.schema import MANIFEST

    dataset = common.DATASETS["artists"]
    split = ["--tracks-per-artist", str(demo["tracks_per_artist"] if demo else args.tracks_per_artist)]
    if args.num_artists:
        split += ["--num-artists", str(args.num_artists)]
    target = os.path.join(out, "data", "artists")
    if demo:
        root = common.synthesise_demo(dataset, os.path.join(out, "data"), demo["artists"], args.workers, timings)
        with timings("conversion"):
            return common.convert(dataset, os.path.join(root, "audio"), target, segment_length, sample_rate,
                                  args.workers, ["--labels", os.path.join(root, "artists.csv"), *split])  # fmt: skip
    if not args.artists or not os.path.isdir(args.artists):
        sys.exit(common.ARTISTS_HELP.format(where=f" at {args.artists!r}" if args.artists else "",
                                            script="recipes/artist_representation.py"))  # fmt: skip
    if os.path.exists(os.path.join(args.artists, MANIFEST)):
        return args.artists
    given = [(flag, value) for flag, value in (("--labels", args.artist_labels), ("--msd-tracks", args.msd_tracks),
                                                ("--split-list", args.split_list)) if value]  # fmt: skip
    if len(given) != 1:
        sys.exit("error: --artists is an audio folder: give one of --artist-labels CSV, --msd-tracks "
                 "unique_tracks.txt or --split-list msd-artist-list.pkl")  # fmt: skip
    labels = list(given[0])
    with timings("conversion"):
        return common.convert(dataset, args.artists, target, segment_length, sample_rate, args.workers,
                              [*labels, *split])  # fmt: skip


def target_data(args, demo, out, segment_length, sample_rate, timings):
    """`{target: TFRecords folder}` of the genre and tag targets that have data."""
    folders = {}
    if demo:
        for target, name, size, extra in (("genre", "gtzan", demo["genres"], demo.get("genre_convert_options", [])),
                                          ("tags", "mtat", demo["tags"], [])):  # fmt: skip
            dataset = common.DATASETS[name]
            root = common.synthesise_demo(dataset, os.path.join(out, "data"), size, args.workers, timings)
            with timings("conversion"):
                folders[target] = common.convert(dataset, root, os.path.join(out, "data", name), segment_length,
                                                 sample_rate, args.workers, extra)  # fmt: skip
        return folders
    script = "recipes/artist_representation.py"
    if args.genres:
        name = "folder" if args.genre_labels else "gtzan"
        extra = ["--labels", args.genre_labels] if args.genre_labels else []
        with timings("conversion"):
            folders["genre"] = common.find_data(common.DATASETS[name], args.genres, os.path.join(out, "data", name),
                                                script, segment_length, sample_rate, args.workers, extra)  # fmt: skip
    if args.tags:
        with timings("conversion"):
            folders["tags"] = common.find_data(common.DATASETS["mtat"], args.tags, os.path.join(out, "data", "mtat"),
                                               script, segment_length, sample_rate, args.workers)  # fmt: skip
    return folders


def train_objective(objective, data, out, seed, profile, sets, timings):
    """One training run of an artist model; returns its best `.keras` path (a finished run is reused).

    `sets` are `--set` items, after the demo file's for this objective (`models: {siamese: [...]}`).
    """
    from keras_samplecnn.training.trainer import train

    run_dir = os.path.join(out, f"seed{seed}", objective)
    config = load_config(profile, [f"model.name={OBJECTIVES[objective]}", f"optimization.seed={seed}",
                                   f"data.dir={data}", f"output.dir={run_dir}", *sets])  # fmt: skip
    print(f"\n=== seed {seed}: training the {objective} artist model ===")
    with timings("training"):
        return train(config)


def random_network(data, seed, overrides):
    """The basic model's network (with the config's model overrides) and seeded random weights:
    the 'no training' baseline."""
    import keras

    from keras_samplecnn.data import pipeline
    from keras_samplecnn.models import build

    manifest = pipeline.read_manifest(data)
    keras.utils.set_random_seed(seed)
    return build("artist_basic", num_classes=len(manifest.tags), tags=manifest.tags,
                 **{"sample_rate": manifest.sample_rate, **overrides})  # fmt: skip


def transfer(extractors, folders, out, seed, options, timings):
    """Rows `{target, features, seed, metric...}`: one linear classifier per target and feature set."""
    from keras_samplecnn.aggregation import compare_features, extract_features
    from keras_samplecnn.aggregation.comparison import FeatureVariant

    rows = []
    names = [name for name, _ in extractors]
    for target, _, _ in TARGETS:
        if target not in folders:
            continue
        cache = os.path.join(out, f"seed{seed}", "features", target)
        with timings("extraction"):
            extract_features([model for _, model in extractors], folders[target], cache, layers="embedding",
                             show_progress=False)  # fmt: skip
        variants = [FeatureVariant(name, "single-level", (index,), None) for index, name in enumerate(names)]
        with timings("classifiers"):
            for row in compare_features(cache, seed=seed, variants=variants, **options):
                rows.append({"target": target, "features": row.pop("variant"), **row})
    return rows


def summarise(rows):
    """`{(target, features): {"metric", "values", "mean", "std"}}` over seeds: each target's
    headline metric, from `keras_samplecnn.aggregation.summarise` (std None for one seed)."""
    from keras_samplecnn.aggregation import summarise as per_variant

    summary = {}
    for target, _, metric in TARGETS:
        for entry in per_variant([{**row, "variant": row["features"]} for row in rows if row["target"] == target]):
            summary[(target, entry["variant"])] = {
                "metric": metric, "values": entry[f"{metric}_values"], "mean": entry[f"{metric}_mean"],
                "std": entry[f"{metric}_std"],
            }  # fmt: skip
    return summary


def markdown_table(summary, features):
    """Rows: feature sets; columns: the targets present, `mean ± std` of each one's metric."""
    targets = [(t, what, metric) for t, what, metric in TARGETS if any(key[0] == t for key in summary)]
    names = {"accuracy": "accuracy", "roc_auc": "ROC-AUC"}
    header = "| features | " + " | ".join(f"{what} ({names[metric]})" for _, what, metric in targets) + " |"
    lines = [header, "|---|" + "---|" * len(targets)]
    for name in features:
        cells = []
        for target, _, _ in targets:
            entry = summary.get((target, name))
            if entry is None:
                cells.append("—")
            elif entry["std"] is None:
                cells.append(f"{entry['mean']:.4f}")
            else:
                cells.append(f"{entry['mean']:.4f} ± {entry['std']:.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(summary, objectives):
    """One line per trained objective and target: better than the random network or not."""
    lines = []
    for target, what, metric in TARGETS:
        baseline = summary.get((target, RANDOM))
        for objective in objectives:
            entry = summary.get((target, objective))
            if entry is None or baseline is None:
                continue
            gain = entry["mean"] - baseline["mean"]
            word = "better than" if gain > 0 else "NOT better than"
            lines.append(f"{objective} features are {word} random features on {what}: {gain:+.4f} {metric}")
    return lines


def write_table(out, rows, objectives, seeds, title, pretrained=()):
    summary = summarise(rows)
    features = [*objectives, *pretrained, RANDOM]
    lines = [title, "", markdown_table(summary, features), "", *verdicts(summary, [*objectives, *pretrained])]
    common.save_table(out, "artist_table", "\n".join(lines).rstrip() + "\n", {
        "seeds": seeds, "rows": rows,
        "summary": [{"target": t, "features": name, **entry} for (t, name), entry in summary.items()],
    })  # fmt: skip
    return summary


def check_pretrained(names):
    """Exits with a clear message for a name that is not a preset, before any work."""
    from keras_samplecnn.presets import PRESETS

    for name in names:
        if name not in PRESETS:
            sys.exit(f"error: --pretrained {name!r}: not a preset; known: {', '.join(PRESETS)}")


def genre_figure(out, seed, genre_data, extractor, name):
    """The pretrained encoder's features of every genre clip, projected on two principal
    components and coloured by genre: `<out>/pretrained_genre_pca.png`."""
    import numpy as np

    from keras_samplecnn.aggregation.features import feature_columns, load_features, read_features_manifest
    from keras_samplecnn.data import pipeline
    from keras_samplecnn.viz import embedding_projection

    cache = os.path.join(out, f"seed{seed}", "features", "genre")
    content = read_features_manifest(cache)
    columns = feature_columns(content, extractors=[extractor])
    parts = [load_features(cache, split, columns) for split in content["splits"]]
    features = np.concatenate([features for features, _, _ in parts])
    labels = np.concatenate([labels for _, labels, _ in parts])
    genres = pipeline.read_manifest(genre_data).tags
    figure, _ = embedding_projection(features, labels, genres,
                                     title=f"{name}, {len(features)} genre clips")  # fmt: skip
    path = os.path.join(out, "pretrained_genre_pca.png")
    figure.savefig(path, dpi=120)
    print(f"PCA projection of the {name} features of the genre clips: {path}")


def main(argv=None):
    args = parse_args(argv)
    from keras_samplecnn.quiet import filter_native_logs

    filter_native_logs()
    demo = common.demo_file(DEMO_CONFIG, args.demo_size) if args.demo else None
    objectives = objectives_of(args.objectives)
    seeds = multiscale.parse_seeds(args.seeds, demo)
    # The authors' linear classifier unless told otherwise.
    options = multiscale.classifier_options(args.classifier, (demo or {}).get("classifier", {"hidden": 0}))
    profile = args.profile or (demo.get("profile") if demo else None)
    out = args.out or ("runs/artist_representation" + ("_demo" if demo else ""))
    timings = common.Timings({"start-up": time.monotonic() - common.STARTED})
    config = load_config(profile, args.set)  # checked before any work; what every run builds on
    segment_length, sample_rate = model_geometry(config)
    check_pretrained(args.pretrained)

    data = artist_data(args, demo, out, segment_length, sample_rate, timings)
    common.require_splits(data, ("train", "valid", "test"))
    folders = {"artist": data, **target_data(args, demo, out, segment_length, sample_rate, timings)}
    for folder in folders.values():
        common.require_splits(folder, ("train", "valid", "test"))

    rows = []
    for seed in seeds:
        # A demo may give an objective its own settings (the Siamese model's step costs 6 excerpts).
        per_objective = (demo or {}).get("models", {})
        extractors = [(objective, train_objective(objective, data, out, seed, profile,
                                                  [*per_objective.get(objective, []), *args.set], timings))
                      for objective in objectives]  # fmt: skip
        extractors += [(name, name) for name in args.pretrained]  # loaded by extract_features
        extractors.append((RANDOM, random_network(data, seed, config.model.overrides)))
        rows += transfer(extractors, folders, out, seed, options, timings)
    if args.pretrained and "genre" in folders:
        genre_figure(out, seeds[0], folders["genre"], len(objectives), args.pretrained[0])

    source = "synthetic demo artists" if demo else data
    title = (f"Artist-label features (ISMIR 2018) from {source} -> linear classifiers on "
             f"{', '.join(t for t, _, _ in TARGETS if t in folders)}; seeds {', '.join(map(str, seeds))}")  # fmt: skip
    write_table(out, rows, objectives, seeds, title, args.pretrained)
    timings.save(os.path.join(out, "timings.json"))
    multiscale.print_time(timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
