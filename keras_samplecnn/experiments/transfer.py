"""Transfer of multi-level, multi-scale features: extractors trained on one dataset, a classifier
on another (steps 2 and 3 of `multiscale` on a target dataset).

The extractors stay fixed: the extractors of a `multiscale` run (`--source`, each seed's
`seed<S>/extractors/<preset>/best.keras`, trained there first with `--source-data` when
missing), or `.keras` files and pretrained preset names (`--models`, the same for every seed).
The target's clips are aggregated through them and the two-layer classifier is trained per
feature subset on its training split and evaluated on its test split. With `--source`, one more
row ("untrained") takes all features of the same networks with random weights: what the
pre-training on the source adds.

Paper: Lee & Nam, "Multi-Level and Multi-Scale Feature Aggregation Using Pre-trained
Convolutional Neural Networks for Music Auto-tagging", IEEE SPL 2017 (arXiv:1703.01793),
section "transfer learning": extractors trained on MSD, classifier on fault-filtered GTZAN,
accuracy 0.720.
"""

import dataclasses
import os

from keras_samplecnn.experiments import command, multiscale
from keras_samplecnn.experiments.data import ExperimentError, dataset_of, demo_data, find_data, require_splits
from keras_samplecnn.experiments.results import Results, Timings

TARGETS = ("gtzan", "mtat", "folder")


@dataclasses.dataclass
class Transfer(multiscale.Multiscale):
    """`transfer_multiscale.yaml`: `multiscale`'s keys (the extractors, their family, layers, seeds,
    classifier) and the target.

    Args:
        target: the target dataset's layout (`--target`): gtzan, mtat, or folder (audio and a
            labels CSV).
        out: the run folder's stem (`--out`): `<out>_<target>`, `_demo` appended under `--demo`.
    """

    target: str = dataclasses.field(default="gtzan", metadata={"choices": TARGETS})
    out: str = "runs/transfer_multiscale"


@dataclasses.dataclass
class Target:
    """The demo's target data: the GTZAN-layout demo genres.

    Args:
        dataset: `keras_samplecnn.datasets.make_demo_gtzan` arguments (`--target-demo-size`).
        convert_options: options of its conversion (`python -m tfrecords_tools gtzan`).
    """

    dataset: dict = dataclasses.field(default_factory=dict)
    convert_options: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class TransferDemo(multiscale.MultiscaleDemo):
    """The `demo:` section: `multiscale`'s (the source's demo MTAT data and extractors), the
    folder the source extractors are in (trained there first when missing), and the target."""

    source: str = "runs/mtat_multiscale_demo"
    target: Target = dataclasses.field(default_factory=Target)


def source_extractors(presets, seed, source, source_data, config, profile, sets, timings):
    """`[(name, path)]` of a seed's source extractors (trained first when `source_data` is given).

    Args:
        presets: the extractors' preset names.
        seed: the seed whose extractors are taken.
        source: the `multiscale` run folder.
        source_data: MTAT TFRecords to train missing extractors on, or None.
        config, profile, sets, timings: as `multiscale.train_extractors`.
    """
    if source_data:
        trained = multiscale.train_extractors(presets, source_data, source, seed, config, profile, sets,
                                              timings)  # fmt: skip
        return [(preset, os.path.join(run_dir, "best.keras")) for preset, run_dir, _ in trained]
    return [(preset, os.path.join(source_run(source, seed, preset), "best.keras")) for preset in presets]


def source_run(source, seed, preset):
    """The run folder of one extractor of a `multiscale` run."""
    return os.path.join(source, f"seed{seed}", "extractors", preset)


def require_extractors(source, presets, seeds):
    """Stops before any work when `source` lacks a trained extractor and nothing can train it."""
    for seed in seeds:
        for preset in presets:
            run_dir = source_run(source, seed, preset)
            if not os.path.isfile(os.path.join(run_dir, "best.keras")):
                raise ExperimentError(
                    f"error: {run_dir} holds no trained extractor: run recipes/mtat_multiscale.py "
                    f"--out {source} first, or give --source-data to train it here"
                )


def model_geometry(models):
    """`(longest input length, sample rate)` of `.keras` files or pretrained preset names."""
    from keras_samplecnn.models.loading import load_model

    loaded = []
    for path in models:
        try:  # a .keras file or a pretrained preset, e.g. ismir2018_siamese_msd10k
            loaded.append(load_model(path, compile=False))
        except (OSError, ValueError) as error:
            raise ExperimentError(f"error: --models: {error}") from None
    rates = {int(m.sample_rate) for m in loaded}
    if len(rates) != 1:
        raise ExperimentError(f"error: --models expect different sample rates {sorted(rates)}")
    return max(int(m.input_length) for m in loaded), rates.pop()


def untrained_baseline(presets, data, folder, layers, seed, options, timings):
    """The same extractors with random weights (seeded), all their features: what training on
    the source task adds. One row, kind "untrained"."""
    import keras

    from keras_samplecnn.aggregation import compare_features, extract_features, feature_variants
    from keras_samplecnn.aggregation.comparison import FeatureVariant
    from keras_samplecnn.models import build

    keras.utils.set_random_seed(seed)
    models = [build(preset) for preset in presets]
    with timings("extraction"):
        content = extract_features(models, data, folder, splits=("train", "valid", "test"), layers=layers,
                                   show_progress=False)  # fmt: skip
    everything = feature_variants(content)[-1]
    variant = FeatureVariant("untrained extractors, all cached layers", "untrained", everything.extractors,
                             everything.layers)  # fmt: skip
    with timings("classifiers"):
        return compare_features(folder, seed=seed, variants=[variant], **options)


def target_data(target, data, labels, out, segment_length, sample_rate, workers, timings, script,
                demo_target=None):  # fmt: skip
    """The target TFRecords at the extractors' rate: `data` converted, or the demo genres (`demo_target`)."""
    if demo_target is not None:
        return demo_data(dataset_of("gtzan"), out, demo_target.dataset, segment_length, sample_rate, workers,
                         timings, demo_target.convert_options)  # fmt: skip
    extra = ["--labels", labels] if target == "folder" and labels else []
    with timings("conversion"):
        return find_data(dataset_of(target), data, out, script, segment_length, sample_rate, workers, extra)


def check_options(demo, data, target, labels, source, models):
    """Refuses, before any work, a run without target data, extractors, or a folder target's labels."""
    from keras_samplecnn.data.schema import MANIFEST

    if not demo and not data:
        raise ExperimentError("error: give --data (the target dataset), or --demo")
    if not models and not source:
        raise ExperimentError(
            "error: give the extractors: --source DIR (from mtat_multiscale.py) or --models A.keras,B.keras"
        )
    if target == "folder" and not labels and not (data and os.path.exists(os.path.join(data, MANIFEST))):
        raise ExperimentError("error: --target folder needs --labels CSV (or --data a converted folder)")


def run(config="transfer_multiscale", data=None, out=None, demo=False, target=None, labels=None, source=None,
        source_data=None, models=None, family=None, extractors=None, layers=None, seeds=None, classifier=None,
        profile=None, sets=(), demo_sizes=(), workers=None, script=None):  # fmt: skip
    """Aggregates the target's features through the source extractors and compares classifiers.

    Args:
        config: the experiment config (name under `experiments/configs/` or a YAML path).
        data: the target data: a raw folder or converted TFRecords.
        out: the run folder (default: `<config's out>_<target>`, `_demo` appended under `demo`).
        demo: the demo's source extractors (trained first when missing) and the demo genres.
        target: gtzan, mtat or folder (default: the config's; gtzan under `demo`).
        labels: with target folder: the labels CSV.
        source: a `multiscale` run folder holding the extractors (default under `demo`: the demo's).
        source_data: MTAT data to train the missing extractors of `source` on.
        models: `.keras` files or pretrained preset names, instead of `source`.
        family, extractors, layers, seeds, classifier, profile, sets, workers, script: as
            `multiscale.run` (`profile` and `sets` for the extractors trained here).
        demo_sizes: overrides of the `demo:` section (`dataset.n_clips=200` for the source,
            `target.dataset.clips_per_genre=10` for the target).

    Returns:
        `Results` as `multiscale.run`'s.
    """
    loaded = multiscale.load(config, demo, demo_sizes, Transfer, TransferDemo)
    experiment, section = loaded.config, loaded.demo
    target = "gtzan" if demo else (target or experiment.target)
    source = source or (section.source if demo else None)
    check_options(demo, data, target, labels, source, models)
    presets, layers = multiscale.choose_extractors(experiment, family, extractors, layers)
    seeds = list(seeds or (section.seeds if demo else experiment.seeds))
    options = multiscale.options_of(experiment, section, classifier)
    profile = profile or (section.profile if demo else None) or None
    sets = [*(command.as_sets(section.settings) if demo else []), *sets]
    out = out or (f"{experiment.out}_{target}" + ("_demo" if demo else ""))
    timings = Timings()
    geometry = model_geometry(models) if models else multiscale.extractor_geometry(presets)
    if not models and not source_data and not demo:
        require_extractors(source, presets, seeds)
    if demo and not models:  # the demo MTAT data in the source's folder, as `multiscale --demo` makes it
        source_data = demo_data(dataset_of(loaded.dataset), source, section.dataset, *geometry, workers,
                                timings)  # fmt: skip
    data = target_data(target, data, labels, out, *geometry, workers, timings,
                       script or f"samplecnn run {config}", section.target if demo else None)  # fmt: skip
    require_splits(data, ("train", "valid", "test"))

    from keras_samplecnn.data import pipeline

    rows = []
    for seed in seeds:
        if models:  # the same extractors for every seed, so one cache
            extractors = [(os.path.basename(path), path) for path in models]
            folder = os.path.join(out, "features")
        else:  # each seed's own
            extractors = source_extractors(presets, seed, source, source_data, experiment.extractors, profile,
                                           sets, timings)  # fmt: skip
            folder = os.path.join(out, f"seed{seed}", "features")
        multiscale.extract([path for _, path in extractors], data, folder, layers, timings)
        rows += multiscale.compare(folder, seed, options, timings)
        if not models:
            rows += untrained_baseline(presets, data, os.path.join(out, f"seed{seed}", "features_untrained"),
                                       layers, seed, options, timings)  # fmt: skip

    task = pipeline.read_manifest(data).task
    names = ", ".join(name for name, _ in extractors) if models else ", ".join(presets)
    where = "the demo GTZAN-layout genres" if demo else f"{target} ({data})"
    title = (f"Transfer: extractors from {','.join(models) if models else source} ({names}; {layers} layers) "
             f"-> classifier on {where}; seeds {', '.join(map(str, seeds))}")  # fmt: skip
    notes = []
    if target == "gtzan" and not demo:
        notes.append("Paper (SPL 2017, MSD-trained extractors, fault-filtered GTZAN): accuracy 0.720.")
    text, summary, verdict = multiscale.write_table(out, rows, task, title, notes)
    print(timings.line())
    return Results(text, summary, out, dict(timings), {"rows": rows, "verdict": verdict, "task": task})


def main(config, doc=None, argv=None, prog=None):
    """The command line (`python recipes/transfer_multiscale.py`, `samplecnn run transfer_multiscale`).

    `--profile` and `--set` change the TrainConfig of extractors trained here (`--source-data`, `--demo`).
    """
    parser = command.parser(doc or __doc__, prog, data_help="the target: a raw folder or converted TFRecords",
                            set_example="optimization.max_epochs=3 (extractors trained here)",
                            demo_size_example="n_clips=200 (the source's demo MTAT data)")  # fmt: skip
    parser.add_argument("--target", choices=TARGETS, help="the target's layout (default: the config's)")
    parser.add_argument("--labels", help="with --target folder: the labels CSV (path,class or path,tags)")
    parser.add_argument("--source", help="output folder of mtat_multiscale.py holding the extractors")
    parser.add_argument("--source-data", help="MTAT data to train missing extractors of --source on")
    parser.add_argument("--models", help="comma-separated .keras extractors or pretrained preset names "
                                         "(e.g. ismir2018_siamese_msd10k), instead of --source")  # fmt: skip
    parser.add_argument("--target-demo-size", action="append", default=[], metavar="KEY=VALUE",
                        help="with --demo: change the demo genres' size, e.g. clips_per_genre=10")  # fmt: skip
    multiscale.add_arguments(parser, multiscale.load(config, schema=Transfer).config)
    args = parser.parse_args(argv)
    command.quiet()
    targets = [f"target.dataset.{item}" for item in args.target_demo_size]  # the demo section's keys
    demo_sizes = [*command.demo_sizes(args.demo_size), *targets]
    return run(config, data=args.data, out=args.out, demo=args.demo, target=args.target, labels=args.labels,
               source=args.source, source_data=args.source_data,
               models=multiscale.presets_option(args.models),
               family=args.family, extractors=multiscale.presets_option(args.extractors), layers=args.layers,
               seeds=command.seeds(args.seeds) if args.seeds else None,
               classifier=command.classifier_options(args.classifier, {}), profile=args.profile,
               sets=args.set, demo_sizes=demo_sizes, workers=args.workers,
               script=command.script(prog, config))  # fmt: skip
