"""Multi-level and multi-scale feature aggregation on MagnaTagATune, in three steps:

1. train each extractor on MTAT tagging: `tagging.run` of the extractors' TrainConfig
   (`multiscale_extractors.yaml`, the papers' MTAT settings) with `model.name` = its preset, one
   run per extractor and seed in `<out>/seed<S>/extractors/<preset>/`; a finished run is read
   back, not retrained;
2. aggregate every clip's features from all extractors (`aggregation.extract_features`: per
   layer, max over time in a segment, mean over the clip's segments, concatenated over layers
   and extractors) into a resumable cache, `<out>/seed<S>/features`;
3. train the two-layer classifier on subsets of the cache (`aggregation.compare_features`) and
   tabulate mean ± standard deviation over seeds beside each extractor's own result, with the
   verdict against the best single extractor.

`transfer` runs steps 2 and 3 (and step 1 for missing source extractors) on another dataset.

Papers: Lee & Nam, "Multi-Level and Multi-Scale Feature Aggregation Using Pre-trained
Convolutional Neural Networks for Music Auto-tagging", IEEE SPL 2017 (arXiv:1703.01793); Lee,
Park, Kim, Nam, "Raw Waveform-based Audio Classification Using Sample-level CNN Architectures"
/ Lee & Nam, "... Using Sample-level Deep Convolutional Neural Networks for Music
Classification", ICML 2017 Music Discovery Workshop (arXiv:1706.06810).
"""

import dataclasses
import json
import os
import time

from keras_samplecnn.experiments import command, settings, tagging
from keras_samplecnn.experiments.data import ExperimentError, dataset_of, demo_data, find_data, require_splits
from keras_samplecnn.experiments.results import Results, Timings, save_table

@dataclasses.dataclass
class Multiscale:
    """The experiment's keys (`mtat_multiscale.yaml`); the command line's options win over them.

    Args:
        extractors: the TrainConfig each extractor is trained with (`model.name` set to its preset;
            `--profile` and `--set` change it).
        family: the extractor family (`models.registry.EXTRACTOR_SETS`: spl2017, icmlw2017).
        presets: presets to train instead of the family's (`--extractors`; empty: the family's).
        layers: the layers to aggregate: all, top3 or names ("": the family's; `--layers`).
        seeds: one run of every step per seed (`--seeds`).
        classifier: the classifier's options (`--classifier KEY=VALUE`).
        out: the run folder (`--out`; `_demo` appended under `--demo`).
    """

    extractors: str = "multiscale_extractors"
    family: str = "spl2017"
    presets: list = dataclasses.field(default_factory=list)
    layers: str = ""
    seeds: list = dataclasses.field(default_factory=lambda: [0], metadata=settings.SEEDS)
    classifier: settings.Classifier = dataclasses.field(default_factory=settings.Classifier)
    out: str = "runs/mtat_multiscale"


@dataclasses.dataclass
class MultiscaleDemo(settings.Demo):
    """The `demo:` section: `profile` and `settings` are the extractors' (merged over their
    TrainConfig), `dataset` the demo MTAT data's size; `seeds` and `classifier` replace the
    experiment's."""

    seeds: list = dataclasses.field(default_factory=lambda: [0], metadata=settings.SEEDS)
    classifier: settings.Classifier = dataclasses.field(default_factory=settings.Classifier)


def load(config, demo=False, demo_sizes=(), schema=Multiscale, demo_schema=MultiscaleDemo):
    """The experiment config as a `settings.Loaded`, with its `demo:` section validated under `demo`.

    The section's profile and settings belong to the training runs the experiment starts, so they
    are not merged over this config (as `settings.load` would for a tagging config).

    Args:
        config: a config name under `experiments/configs/` or a YAML path.
        demo: whether `--demo` runs.
        demo_sizes: overrides of the `demo:` section (`dataset.n_clips=200`).
        schema: the experiment's dataclass.
        demo_schema: the `demo:` section's dataclass.
    """
    from keras_samplecnn.training.config import apply_overrides

    loaded = settings.load(config, schema)
    if demo:
        section = apply_overrides(dict(settings.read(config)[3] or {}), demo_sizes)
        loaded.demo = settings.build(demo_schema, section, "demo")
    return loaded


def choose_extractors(config, family=None, extractors=None, layers=None):
    """`(presets, layers)`: the options' or else the config's family, presets and layers.

    Args:
        config: a `Multiscale`.
        family: an extractor family, over the config's.
        extractors: preset names, over the config's and the family's.
        layers: all, top3 or layer names, over the config's and the family's.
    """
    from keras_samplecnn.models.registry import EXTRACTOR_LAYERS, EXTRACTOR_SETS, get_preset

    family = family or config.family
    if family not in EXTRACTOR_SETS:
        raise ExperimentError(f"error: family: {family!r} is not one of {sorted(EXTRACTOR_SETS)}")
    presets = list(extractors or config.presets or EXTRACTOR_SETS[family])
    for preset in presets:
        try:
            get_preset(preset)
        except ValueError as error:
            raise ExperimentError(f"error: --extractors: {error}") from None
    return presets, layers or config.layers or EXTRACTOR_LAYERS.get(family, "all")


def extractor_geometry(presets):
    """`(longest input length, sample rate)` of the extractors; they must share one rate."""
    from keras_samplecnn.models.registry import get_preset

    rates = {get_preset(p).sample_rate for p in presets}
    if len(rates) != 1:
        raise ExperimentError(f"error: the extractors expect different sample rates {sorted(rates)}; use one")
    return max(get_preset(p).input_length for p in presets), rates.pop()


def train_extractors(presets, data, out, seed, config, profile, sets, timings):
    """Step 1: one training run per extractor (`tagging.run`), a finished one read back.

    Args:
        presets: the extractors' preset names.
        data: the converted MTAT TFRecords.
        out: the run folder; each run goes to `<out>/seed<seed>/extractors/<preset>`.
        seed: the training seed.
        config: the extractors' TrainConfig (a config name or path).
        profile: a profile merged over it, or None.
        sets: `--set` overrides of it, after `model.name` and before the seed.
        timings: a `Timings` that gets the "extractor training" phase.

    Returns:
        `[(preset, run folder, evaluation results dict)]`.
    """
    from keras_samplecnn.training.trainer import finished

    runs = []
    for preset in presets:
        run_dir = os.path.join(out, f"seed{seed}", "extractors", preset)
        results_path = os.path.join(run_dir, "evaluation", "results.json")
        if finished(run_dir) and os.path.exists(results_path):
            print(f"{run_dir}: a finished run, read back")
        else:
            print(f"\n=== seed {seed}: training extractor {preset} ===")
            with timings("extractor training"):
                tagging.run(config, data=data, out=run_dir, profile=profile,
                            sets=[f"model.name={preset}", *sets, f"optimization.seed={seed}"],
                            started=time.monotonic())  # fmt: skip
        with open(results_path, encoding="utf-8") as f:
            runs.append((preset, run_dir, json.load(f)))
    return runs


def extract(paths, data, feature_dir, layers, timings):
    """Step 2: the feature cache of `data` from the extractors' `.keras` files (resumable)."""
    from keras_samplecnn.aggregation import extract_features

    with timings("extraction"):
        result = extract_features(paths, data, feature_dir, splits=("train", "valid", "test"), layers=layers)
    print(f"{feature_dir}: {result['dim']} features per clip from {len(paths)} extractors ({layers} layers)")
    return result


def compare(feature_dir, seed, options, timings):
    """Step 3: one classifier per feature subset; its rows."""
    from keras_samplecnn.aggregation import compare_features

    with timings("classifiers"):
        return compare_features(feature_dir, seed=seed, **options)


def write_table(out, rows, task, title, notes=()):
    """Prints and saves (`<out>/multiscale_table.md`, `.json`) the table over seeds with the verdict.

    Returns:
        `(text, summary, verdict)`: the table as printed, `aggregation.summarise(rows)`, and
        `{"best_single", "metric", "difference"}` (None without a single and a combined row).
    """
    from keras_samplecnn.aggregation import markdown_table, summarise
    from keras_samplecnn.aggregation.comparison import best_single, headline_metric

    summary = summarise(rows)
    metric = headline_metric(task)
    lines = [title, "", markdown_table(summary, task)]
    best = best_single(summary, task)
    combined = [e for e in summary if e["kind"] == "multi-level + multi-scale"]
    verdict = None
    if best and combined:
        gain = combined[0][f"{metric}_mean"] - best[f"{metric}_mean"]
        verdict = {"best_single": best["variant"], "metric": metric, "difference": gain}
        word = "at least as good as" if gain >= 0 else "worse than"
        lines.append(f"Multi-level + multi-scale is {word} the best single extractor ({best['variant']}): "
                     f"{gain:+.4f} {metric} (means over {combined[0]['seeds']} seeds).")  # fmt: skip
    lines += list(notes)
    text = "\n".join(lines).rstrip() + "\n"
    payload = {"task": task, "rows": rows, "summary": summary, "verdict": verdict}
    save_table(out, "multiscale_table", text, payload)
    return text, summary, verdict


def options_of(config, demo_section, classifier):
    """The classifier's options: the config's, the demo section's over them, `classifier` over all."""
    options = config.classifier.options()
    if demo_section is not None:
        options.update(demo_section.classifier.options())
    return {**options, **(classifier or {})}


def run(config="mtat_multiscale", data=None, out=None, demo=False, family=None, extractors=None, layers=None,
        seeds=None, classifier=None, profile=None, sets=(), demo_sizes=(), workers=None,
        script=None):  # fmt: skip
    """Trains the extractors, extracts and compares the features for every seed, and tabulates.

    Args:
        config: the experiment config (name under `experiments/configs/` or a YAML path).
        data: converted MTAT TFRecords or the raw MTAT folder (converted into `<out>/tfrecords`).
        out: the run folder (default: the config's `out`, `_demo` appended under `demo`).
        demo: the synthetic demo MTAT data with the config's `demo:` section.
        family: the extractor family (default: the config's).
        extractors: preset names instead of the family's.
        layers: the layers to aggregate (default: the config's, else the family's).
        seeds: the seeds (default: the demo's under `demo`, else the config's).
        classifier: classifier options over the config's (and the demo's).
        profile: a profile over the extractors' TrainConfig (default under `demo`: the demo's).
        sets: `--set` overrides of the extractors' TrainConfig.
        demo_sizes: overrides of the `demo:` section (`dataset.n_clips=200`).
        workers: processes for synthesis and conversion.
        script: the command in messages (default `samplecnn run CONFIG`).

    Returns:
        `Results`: the table, `aggregation.summarise`'s summary, and `extra` with the rows, the
        verdict and the task.
    """
    loaded = load(config, demo, demo_sizes)
    experiment, section = loaded.config, loaded.demo
    presets, layers = choose_extractors(experiment, family, extractors, layers)
    seeds = list(seeds or (section.seeds if demo else experiment.seeds))
    options = options_of(experiment, section, classifier)
    profile = profile or (section.profile if demo else None) or None
    sets = [*(command.as_sets(section.settings) if demo else []), *sets]
    out = out or (experiment.out + ("_demo" if demo else ""))
    timings = Timings()
    segment_length, sample_rate = extractor_geometry(presets)
    dataset = dataset_of(loaded.dataset)
    if demo:
        data = demo_data(dataset, out, section.dataset, segment_length, sample_rate, workers, timings)
    else:
        with timings("conversion"):
            data = find_data(dataset, data, out, script or f"samplecnn run {config}", segment_length,
                             sample_rate, workers)  # fmt: skip
    require_splits(data, ("train", "valid", "test"))

    from keras_samplecnn.aggregation import end_to_end_row
    from keras_samplecnn.data import pipeline

    rows = []
    for seed in seeds:
        runs = train_extractors(presets, data, out, seed, experiment.extractors, profile, sets, timings)
        rows += [end_to_end_row(preset, results, seed) for preset, _, results in runs]
        feature_dir = os.path.join(out, f"seed{seed}", "features")
        paths = [os.path.join(run_dir, "best.keras") for _, run_dir, _ in runs]
        extract(paths, data, feature_dir, layers, timings)
        rows += compare(feature_dir, seed, options, timings)

    task = pipeline.read_manifest(data).task
    title = (f"Multi-level and multi-scale aggregation on {'the demo MTAT data' if demo else 'MTAT'} "
             f"({', '.join(presets)}; {layers} layers; seeds {', '.join(map(str, seeds))})")  # fmt: skip
    text, summary, verdict = write_table(out, rows, task, title)
    print(timings.line())
    return Results(text, summary, out, dict(timings), {"rows": rows, "verdict": verdict, "task": task})


def add_arguments(parser, config):
    """The options `multiscale` and `transfer` share, beside `command.parser`'s."""
    from keras_samplecnn.models.registry import EXTRACTOR_SETS

    parser.add_argument("--family", choices=sorted(EXTRACTOR_SETS),
                        help="spl2017: mel CNNs on 18, 27 and 54 frames (all layers); icmlw2017: sample-level "
                             "CNNs with stems of 3, 9 and 27 samples (top three blocks). Default: the "
                             f"config's ({config.family})")  # fmt: skip
    parser.add_argument("--extractors", metavar="PRESETS",
                        help="comma-separated presets to train as extractors instead of the family's")  # fmt: skip
    parser.add_argument("--layers", help="layers to aggregate: all, top3 or names (default: the family's)")
    parser.add_argument("--seeds", help="comma-separated seeds (default: the config's, with --demo its demo's)")
    parser.add_argument("--classifier", action="append", default=[], metavar="KEY=VALUE",
                        help="classifier option: hidden, dropout, epochs, batch_size, learning_rate, patience")  # fmt: skip


def presets_option(text):
    """`--extractors "a,b"` as a list (None without it)."""
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def main(config, doc=None, argv=None, prog=None):
    """The command line (`python recipes/mtat_multiscale.py`, `samplecnn run mtat_multiscale`).

    `--profile` and `--set` change the extractors' TrainConfig (the config's `extractors`).
    """
    parser = command.parser(doc or __doc__, prog, data_help="converted MTAT TFRecords or the raw MTAT folder",
                            set_example="optimization.max_epochs=3 (the extractors' config)")  # fmt: skip
    add_arguments(parser, load(config).config)
    args = parser.parse_args(argv)
    command.quiet()
    return run(config, data=args.data, out=args.out, demo=args.demo, family=args.family,
               extractors=presets_option(args.extractors), layers=args.layers,
               seeds=command.seeds(args.seeds) if args.seeds else None,
               classifier=command.classifier_options(args.classifier, {}), profile=args.profile,
               sets=args.set,
               demo_sizes=command.demo_sizes(args.demo_size), workers=args.workers,
               script=command.script(prog, config))  # fmt: skip
