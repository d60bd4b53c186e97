"""Representation learning from artist labels and its transfer (Park, Lee, Park, Ha, Nam, ISMIR 2018,
arXiv:1710.06648).

Per seed: (1) the two artist models are trained on the artist data: the basic model (softmax
over artists) and the Siamese model (an anchor against a track of the same artist and 4 of
others, cosine scores, hinge loss with margin 0.4); (2) every clip of each target is embedded by
both trained encoders, by any pretrained preset named, and by the same network untrained
(random weights, seeded): the 256-d feature averaged over the clip's 129-frame excerpts; (3) the
authors' linear classifier (standardised features, one softmax or sigmoid layer) is trained on
each target's training split and tested on its test split. The table holds the mean ± standard
deviation over seeds, with one line per feature set and target saying whether it beats the
untrained network on every seed.

The config (`artist_representation.yaml`) is the `training.config.TrainConfig` every artist model
trains from (a run sets `model.name` to `artist_basic` or `artist_siamese`, its seed and folders),
so profiles and `--set` keys are the training config's, plus the experiment keys: `experiment:
artist`, `dataset: artists` and a `demo:` section (`ArtistDemo`: the demo's three datasets, its
split, seeds, classifier and per-objective settings).
"""

import copy
import dataclasses
import os
import re
import time

from keras_samplecnn.experiments import STARTED, command, results, settings
from keras_samplecnn.experiments.data import (
    ExperimentError,
    convert,
    dataset_of,
    find_data,
    require_splits,
    synthesise_demo,
)
from keras_samplecnn.training.config import ConfigError

OBJECTIVES = {"basic": "artist_basic", "siamese": "artist_siamese"}
# (target, what it is, metric): in table order.
TARGETS = (
    ("artist", "artist recognition, held-out tracks", "accuracy"),
    ("genre", "genre", "accuracy"),
    ("tags", "tagging", "roc_auc"),
)
METRIC_NAMES = {"accuracy": "accuracy", "roc_auc": "ROC-AUC"}
RANDOM = "random"  # the untrained network's row
LINEAR = {"hidden": 0}  # the authors' classifier (run_gtzan_dnn.py build_model0), unless told otherwise
SPLITS = ("train", "valid", "test")


def _is_split(text):
    return re.fullmatch(r"\d+,\d+,\d+", text) is not None


@dataclasses.dataclass
class ArtistDemo(settings.Demo):
    """The `demo:` section of the artist experiment (`--demo-size KEY=VALUE` changes any key;
    `artists.KEY` is `dataset.KEY`).

    Args:
        dataset: `make_demo_artists` arguments: the artist data (the source task).
        tracks_per_artist: the converter's per-artist train/valid/test split (the paper: 15,3,2).
        tags: `make_demo_mtat` arguments: the tagging target.
        genres: `make_demo_gtzan` arguments: the genre target.
        genre_convert_options: options of the genre target's converter.
        seeds: the seeds run without `--seeds`.
        classifier: the transfer classifiers' options (`--classifier` items go over them).
        models: per objective, `section.key=value` training overrides over the profile
            (`--set` still wins), e.g. `{siamese: ["optimization.max_epochs=2"]}`.
    """

    tracks_per_artist: str = dataclasses.field(
        default="6,2,2", metadata={"check": (_is_split, "three comma-separated counts such as '6,2,2'")}
    )
    tags: dict = dataclasses.field(default_factory=dict)
    genres: dict = dataclasses.field(default_factory=dict)
    genre_convert_options: list = dataclasses.field(
        default_factory=list,
        metadata={"check": (lambda v: all(isinstance(s, str) for s in v), "a list of strings")},
    )
    seeds: list = dataclasses.field(default_factory=lambda: [0], metadata=settings.SEEDS)
    classifier: settings.Classifier = dataclasses.field(default_factory=settings.Classifier)
    models: dict = dataclasses.field(
        default_factory=dict,
        metadata={"check": (lambda v: set(v) <= set(OBJECTIVES) and all(isinstance(s, list) for s in v.values()),
                            f"a mapping of {sorted(OBJECTIVES)} to lists of section.key=value items")},
    )  # fmt: skip


def demo_sizes(items):
    """`--demo-size KEY=VALUE` items as overrides of the `demo:` section (`artists.KEY` is `dataset.KEY`)."""
    return ["dataset." + item[len("artists."):] if item.startswith("artists.") else item for item in items]


def load(config, demo=False, profile=None, sets=(), demo_sizes=()):
    """The settings of a run: a `settings.Loaded` whose `config` is the validated `TrainConfig`
    the artist models train from and, under `demo`, whose `demo` is an `ArtistDemo`.

    Args:
        config: a config name under `experiments/configs/` or a YAML path.
        demo: whether the `demo:` section applies (its profile, and its checks).
        profile: a profile over the config (default under `demo`: the demo's).
        sets: `section.key=value` overrides of the training config, applied last.
        demo_sizes: `key=value` overrides of the `demo:` section.

    Raises:
        ConfigError: naming the key, for a bad value in the config, its demo section or `sets`.
    """
    from keras_samplecnn.training import config as config_lib

    loaded = settings.load(config, demo=demo, profile=profile, sets=sets, demo_schema=ArtistDemo,
                           demo_sets=demo_sizes)  # fmt: skip
    loaded.config = config_lib.from_dict(loaded.values)
    if loaded.demo is not None:
        check_demo(loaded)
    return loaded


def check_demo(loaded):
    """Checks, before any work, what the schema cannot: each demo maker takes the keys given, and
    each objective's overrides make a valid training config."""
    import inspect

    from keras_samplecnn.training import config as config_lib

    demo = loaded.demo
    for key, name in (("dataset", loaded.dataset), ("tags", "mtat"), ("genres", "gtzan")):
        maker = dataset_of(name).demo.maker()
        parameters = inspect.signature(maker).parameters
        allowed = [p for p in parameters if p not in ("directory", "workers", "progress")]
        unknown = sorted(set(getattr(demo, key)) - set(allowed))
        if unknown:
            raise ConfigError(f"demo.{key}: unknown key(s) {unknown}; {maker.__name__} takes {allowed}")
    for objective, items in demo.models.items():
        try:
            config_lib.from_dict(config_lib.apply_overrides(copy.deepcopy(loaded.values), list(items)))
        except ConfigError as error:
            raise ConfigError(f"demo.models.{objective}: {error}") from None


def objectives_of(value):
    """The objectives to train: a comma-separated text or a list of `basic` / `siamese`."""
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value) if n.strip()]
    unknown = sorted(set(names) - set(OBJECTIVES))
    if unknown or not names:
        raise ExperimentError(f"error: --objectives: {value!r}; choose from {sorted(OBJECTIVES)}")
    return names


def check_pretrained(names):
    """Raises with a clear message for a name that is not a preset, before any work."""
    from keras_samplecnn.presets import PRESETS

    for name in names:
        if name not in PRESETS:
            raise ExperimentError(f"error: --pretrained {name!r}: not a preset; known: {', '.join(PRESETS)}")


def model_geometry(config):
    """`(input length, sample rate)` of the artist models a `TrainConfig` builds (not built)."""
    import inspect

    from keras_samplecnn.models.artist import ArtistCNN

    parameters = inspect.signature(ArtistCNN.__init__).parameters
    geometry = {key: parameters[key].default for key in ("num_frames", "hop_length", "sample_rate")}
    geometry.update({k: v for k, v in config.model.overrides.items() if k in geometry})
    return (geometry["num_frames"] - 1) * geometry["hop_length"], geometry["sample_rate"]


def artist_data(dataset, sources, demo, out, geometry, workers, timings, script):
    """The artist TFRecords: `sources["artists"]` converted, converted here, or the demo's.

    Args:
        dataset: the `artists` registry entry.
        sources: the `run` arguments that say where the data is (artists, artist_labels,
            msd_tracks, split_list, tracks_per_artist, num_artists).
        demo: the `ArtistDemo` under `--demo`, else None.
        out: the run folder; the data goes to `<out>/data/artists`.
        geometry: `(segment length, sample rate)` of the models.
        workers: processes for synthesis and conversion.
        timings: the run's `results.Timings`.
        script: the command in messages.
    """
    from keras_samplecnn.data.schema import MANIFEST

    split = ["--tracks-per-artist", str(demo.tracks_per_artist if demo else sources["tracks_per_artist"])]
    if sources["num_artists"]:
        split += ["--num-artists", str(sources["num_artists"])]
    target = os.path.join(out, "data", "artists")
    if demo:
        root = synthesise_demo(dataset, os.path.join(out, "data"), demo.dataset, workers, timings)
        with timings("conversion"):
            return convert(dataset, os.path.join(root, "audio"), target, *geometry, workers,
                           ["--labels", os.path.join(root, "artists.csv"), *split])  # fmt: skip
    artists = sources["artists"]
    if not artists or not os.path.isdir(artists):
        where = f" at {artists!r}" if artists else ""
        raise ExperimentError(dataset.download_help.format(where=where, script=script))
    if os.path.exists(os.path.join(artists, MANIFEST)):
        return artists
    given = [(flag, sources[key]) for flag, key in (("--labels", "artist_labels"), ("--msd-tracks", "msd_tracks"),
                                                    ("--split-list", "split_list")) if sources[key]]  # fmt: skip
    if len(given) != 1:
        raise ExperimentError("error: --artists is an audio folder: give one of --artist-labels CSV, --msd-tracks "
                              "unique_tracks.txt or --split-list msd-artist-list.pkl")  # fmt: skip
    with timings("conversion"):
        return convert(dataset, artists, target, *geometry, workers, [*given[0], *split])


def target_data(sources, demo, out, geometry, workers, timings, script):
    """`{target: TFRecords folder}` of the genre and tag targets that have data (arguments as
    `artist_data`'s; `sources` also holds genres, genre_labels and tags)."""
    folders = {}
    if demo:
        for target, name, size, extra in (("genre", "gtzan", demo.genres, demo.genre_convert_options),
                                          ("tags", "mtat", demo.tags, [])):  # fmt: skip
            dataset = dataset_of(name)
            root = synthesise_demo(dataset, os.path.join(out, "data"), size, workers, timings)
            with timings("conversion"):
                target_dir = os.path.join(out, "data", name)
                folders[target] = convert(dataset, root, target_dir, *geometry, workers, extra)
        return folders
    if sources["genres"]:
        name = "folder" if sources["genre_labels"] else "gtzan"
        extra = ["--labels", sources["genre_labels"]] if sources["genre_labels"] else []
        with timings("conversion"):
            folders["genre"] = find_data(dataset_of(name), sources["genres"], os.path.join(out, "data", name), script,
                                         *geometry, workers, extra)  # fmt: skip
    if sources["tags"]:
        with timings("conversion"):
            folders["tags"] = find_data(dataset_of("mtat"), sources["tags"], os.path.join(out, "data", "mtat"), script,
                                        *geometry, workers)  # fmt: skip
    return folders


def train_objective(config, objective, data, out, seed, demo, profile, sets, timings):
    """One training run of an artist model; returns its best `.keras` path (a finished run is reused).

    `sets` are the demo's overrides for this objective, then `--set` items.
    """
    from keras_samplecnn.training.trainer import train

    run_dir = os.path.join(out, f"seed{seed}", objective)
    loaded = load(config, demo, profile, [f"model.name={OBJECTIVES[objective]}", f"optimization.seed={seed}",
                                          f"data.dir={data}", f"output.dir={run_dir}", *sets])  # fmt: skip
    print(f"\n=== seed {seed}: training the {objective} artist model ===")
    with timings("training"):
        return train(loaded.config)


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
    headline metric (`results.over_seeds`: std None for one seed)."""
    summary = {}
    for target, _, metric in TARGETS:
        of_target = [row for row in rows if row["target"] == target]
        per_features = results.summarise(of_target, key=lambda row: row["features"], value=metric)
        for features, entry in per_features.items():
            summary[(target, features)] = {"metric": metric, **entry}
    return summary


def markdown_table(summary, features):
    """Rows: feature sets; columns: the targets present, `mean ± std` of each one's metric."""
    targets = [(t, what, metric) for t, what, metric in TARGETS if any(key[0] == t for key in summary)]
    header = ["features", *(f"{what} ({METRIC_NAMES[metric]})" for _, what, metric in targets)]
    rows = [[name, *(results.cell(summary.get((t, name))) for t, _, _ in targets)] for name in features]
    return results.markdown_table(header, rows)


def verdicts(summary, names):
    """One line per feature set and target: whether it beats the untrained network on every seed."""
    lines = []
    for target, what, metric in TARGETS:
        baseline = summary.get((target, RANDOM))
        for name in names:
            entry = summary.get((target, name))
            if entry is not None and baseline is not None:
                lines.append(results.verdict(name, entry, "the random network", baseline, what, metric))
    return lines


def run(config="artist_representation", artists=None, artist_labels=None, msd_tracks=None, split_list=None,
        tracks_per_artist="15,3,2", num_artists=None, genres=None, genre_labels=None, tags=None,
        objectives=("basic", "siamese"), seeds=None, out=None, demo=False, profile=None, sets=(), demo_sizes=(),
        classifier=(), pretrained=(), workers=None, script=None, started=None):  # fmt: skip
    """Trains the artist models per seed, embeds every target's clips and scores linear classifiers
    on them; writes `<out>/artist_table.md` and `.json`. Finished runs and feature caches are reused.

    Args:
        config: a config name under `experiments/configs/` or a YAML path.
        artists: artist data: converted (manifest.json) or the audio folder.
        artist_labels: with an audio folder, its CSV `path,artist[,track_id,album]`.
        msd_tracks: with MSD audio named by track id, MSD's `unique_tracks.txt`.
        split_list: with audio named by 7digital id, the authors' `msd-artist-list.pkl`.
        tracks_per_artist: the per-artist split when the artists are converted here.
        num_artists: keep this many artists.
        genres: the genre target: GTZAN or, with `genre_labels`, a folder dataset (raw or converted).
        genre_labels: a folder dataset's labels CSV.
        tags: the tagging target: MTAT (raw or converted).
        objectives: `basic`, `siamese` or both (a list or a comma-separated text).
        seeds: the seeds (default: the demo's under `demo`, else [0]).
        out: the run folder (default: the config's `output.dir`, `_demo` appended under `demo`).
        demo: the synthetic demo data and the config's `demo:` settings.
        profile: a profile over the config (default under `demo`: the demo's).
        sets: `section.key=value` overrides of the training config, applied last.
        demo_sizes: overrides of the `demo:` section (`tags.n_clips=200`).
        classifier: `KEY=VALUE` classifier options over the config's (the demo's, else linear).
        pretrained: `keras_samplecnn.from_preset` names: more feature sets, not trained here.
        workers: processes for synthesis and conversion.
        script: the command in messages (default: `samplecnn run CONFIG`).
        started: `time.monotonic()` at the run's start (default: when the experiments were imported).

    Returns:
        `Results` whose `summary` is `{(target, features): {"metric", "values", "mean", "std"}}`
        and `extra` holds every row (`rows`) and the `seeds`.
    """
    script = script or f"samplecnn run {config}"
    # Everything a user can get wrong is checked before any work.
    loaded = load(config, demo, profile, sets, demo_sizes)
    section = loaded.demo
    objectives = objectives_of(objectives)
    seeds = list(seeds) if seeds is not None else (list(section.seeds) if section else [0])
    # The authors' linear classifier unless the config or --classifier says otherwise.
    options = command.classifier_options(classifier, {**LINEAR, **(section.classifier.options() if section else {})})
    check_pretrained(pretrained)
    out = out or (loaded.config.output.dir + ("_demo" if demo else ""))
    timings = results.Timings({"start-up": time.monotonic() - (STARTED if started is None else started)})
    geometry = model_geometry(loaded.config)
    sources = {"artists": artists, "artist_labels": artist_labels, "msd_tracks": msd_tracks,
               "split_list": split_list, "tracks_per_artist": tracks_per_artist, "num_artists": num_artists,
               "genres": genres, "genre_labels": genre_labels, "tags": tags}  # fmt: skip

    data = artist_data(dataset_of(loaded.dataset), sources, section, out, geometry, workers, timings, script)
    require_splits(data, SPLITS)
    folders = {"artist": data, **target_data(sources, section, out, geometry, workers, timings, script)}
    for folder in folders.values():
        require_splits(folder, SPLITS)

    rows = []
    per_objective = section.models if section else {}  # the Siamese model's step costs 6 excerpts
    for seed in seeds:
        extractors = [(objective, train_objective(config, objective, data, out, seed, demo, profile,
                                                  [*per_objective.get(objective, []), *sets], timings))
                      for objective in objectives]  # fmt: skip
        extractors += [(name, name) for name in pretrained]  # loaded by extract_features
        extractors.append((RANDOM, random_network(data, seed, loaded.config.model.overrides)))
        rows += transfer(extractors, folders, out, seed, options, timings)
    if pretrained and "genre" in folders:
        genre_figure(out, seeds[0], folders["genre"], len(objectives), pretrained[0])

    source = "synthetic demo artists" if demo else data
    title = (f"Artist-label features (ISMIR 2018) from {source} -> linear classifiers on "
             f"{', '.join(t for t, _, _ in TARGETS if t in folders)}; seeds {', '.join(map(str, seeds))}")  # fmt: skip
    summary = summarise(rows)
    lines = [title, "", markdown_table(summary, [*objectives, *pretrained, RANDOM]), "",
             *verdicts(summary, [*objectives, *pretrained])]  # fmt: skip
    text = "\n".join(lines).rstrip() + "\n"
    results.save_table(out, "artist_table", text, {
        "seeds": seeds, "rows": rows,
        "summary": [{"target": t, "features": name, **entry} for (t, name), entry in summary.items()],
    })  # fmt: skip
    timings.save(os.path.join(out, "timings.json"))
    print(timings.line())
    return results.Results(table=text, summary=summary, out_dir=out, timings=dict(timings),
                           extra={"rows": rows, "seeds": seeds})  # fmt: skip


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
    figure, _ = embedding_projection(features, labels, genres, title=f"{name}, {len(features)} genre clips")
    path = os.path.join(out, "pretrained_genre_pca.png")
    figure.savefig(path, dpi=120)
    print(f"PCA projection of the {name} features of the genre clips: {path}")


def main(config="artist_representation", doc=None, argv=None, prog=None):
    """The command line of the artist experiment (`python recipes/artist_representation.py`,
    `samplecnn run artist_representation`); `--data` is `--artists`."""
    # Its demo has three datasets: --demo-size reaches the whole demo section.
    parser = command.parser(doc or __doc__, prog, demo_size_example="artists.num_artists=20, tags.n_clips=200")
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
    parser.add_argument("--seeds", help="comma-separated seeds (default 0; with --demo the demo section's)")
    parser.add_argument("--classifier", action="append", default=[], metavar="KEY=VALUE",
                        help="classifier option: hidden (0: linear), dropout, epochs, batch_size, learning_rate, "
                             "patience")  # fmt: skip
    parser.add_argument("--pretrained", action="append", default=[], metavar="PRESET",
                        help="also a pretrained encoder (keras_samplecnn.from_preset name, e.g. "
                             "ismir2018_siamese_msd10k); repeatable")  # fmt: skip
    args = parser.parse_args(argv)
    command.quiet()
    seeds = command.seeds(args.seeds) if args.seeds else None
    return run(config, artists=args.artists or args.data, artist_labels=args.artist_labels,
               msd_tracks=args.msd_tracks, split_list=args.split_list, tracks_per_artist=args.tracks_per_artist,
               num_artists=args.num_artists, genres=args.genres, genre_labels=args.genre_labels, tags=args.tags,
               objectives=args.objectives, seeds=seeds, out=args.out, demo=args.demo, profile=args.profile,
               sets=args.set, demo_sizes=demo_sizes(args.demo_size), classifier=args.classifier,
               pretrained=args.pretrained, workers=args.workers, script=command.script(prog, config))  # fmt: skip
