"""Transfer of multi-level, multi-scale features: extractors trained on one dataset, a classifier on another.

    python recipes/transfer_multiscale.py --source runs/mtat_multiscale --target gtzan --data data/gtzan
    python recipes/transfer_multiscale.py --source runs/mtat_multiscale --source-data data/mtat \\
        --target gtzan --data data/gtzan               # trains the extractors on MTAT first if needed
    python recipes/transfer_multiscale.py --models a.keras,b.keras --target folder \\
        --data my_audio --labels my_audio/labels.csv  # your own classes (tfrecords_tools folder)
    python recipes/transfer_multiscale.py --models ismir2018_siamese_msd10k --layers embedding \\
        --target folder --data my_audio --labels my_audio/labels.csv --classifier hidden=0
                                                       # a linear probe on the pretrained artist encoder
    python recipes/transfer_multiscale.py --demo       # demo MTAT extractors -> demo GTZAN genres

Step 2 and 3 of Lee & Nam, IEEE SPL 2017 (arXiv:1703.01793), section "transfer learning": the
extractors stay fixed; the target data's clips are aggregated through them (per layer: max over
time in a segment, mean over the clip) and the two-layer classifier is trained on the target's
training split, per feature subset as in `mtat_multiscale.py`, and evaluated on its test split
(accuracy and ROC-AUC for genres, ROC-AUC and PR-AUC for tags). With `--source`, one more row
("untrained") takes all features of the same networks with random weights: what the
pre-training on the source adds.

Extractors: `--source DIR`, the output folder of `mtat_multiscale.py` (each seed's
`seed<S>/extractors/<preset>/best.keras`; with `--source-data` the missing ones are trained
there first, as `mtat_multiscale.py` would), or `--models`, `.keras` files or pretrained preset
names (`keras_samplecnn.presets.PRESETS`, e.g. `ismir2018_siamese_msd10k`; `--layers embedding` takes
its 256-d feature) used for every seed (the seeds then vary only the classifier).

Targets: `gtzan` (converted with the fault-filtered split of Kereliuk, Sturm & Larsen 2015, 443 /
197 / 290 clips, packaged with keras_samplecnn, as in the paper), `mtat` (the papers' split), or
`folder` (any audio folder with a labels CSV; `--labels`). `--data` may also be a folder already
converted by `python -m tfrecords_tools` (manifest.json) at the extractors' sample rate.

Paper: extractors trained on MSD, classifier on GTZAN (fault-filtered): accuracy 0.720; on
MTAT: ROC-AUC 0.9021.

`--demo`: the extractors of `mtat_multiscale.py --demo` (trained there first when
runs/mtat_multiscale_demo does not hold them yet), target: synthetic genres in GTZAN's layout
(`keras_samplecnn.datasets.make_demo_gtzan`: 6 genres the demo synthesiser plays), 3 seeds.
"""

import argparse
import os
import sys

import common
import multiscale

DEMO_CONFIG = "demo_multiscale.yaml"
DEMO_SOURCE = "runs/mtat_multiscale_demo"
TARGETS = ("gtzan", "mtat", "folder")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", choices=TARGETS, help="the target dataset's layout (default gtzan)")
    parser.add_argument("--data", help="the target data: raw folder or converted TFRecords")
    parser.add_argument("--labels", help="with --target folder: the labels CSV (path,class or path,tags)")
    parser.add_argument("--source", help="output folder of mtat_multiscale.py holding the extractors")
    parser.add_argument("--source-data", help="MTAT data to train missing extractors of --source on")
    parser.add_argument("--models", help="comma-separated .keras extractors or pretrained preset names "
                                         "(e.g. ismir2018_siamese_msd10k), instead of --source")  # fmt: skip
    parser.add_argument("--target-demo-size", action="append", default=[], metavar="KEY=VALUE",
                        help="with --demo: change the demo genres' size, e.g. clips_per_genre=10")  # fmt: skip
    multiscale.add_arguments(parser, DEMO_CONFIG)
    return parser.parse_args(argv)


def source_extractors(args, presets, seed, source_data, profile, timings):
    """`[(name, run folder or None, path)]` of the extractors for one seed."""
    if args.models:
        from keras_samplecnn.presets import preset_name

        paths = [p.strip() for p in args.models.split(",") if p.strip()]
        missing = [p for p in paths if not os.path.isfile(p) and not preset_name(p)]
        if missing:
            sys.exit(f"error: --models: no such file(s) or preset name(s) {missing}")
        return [(os.path.basename(p), None, p) for p in paths]
    if source_data:
        trained = multiscale.train_extractors(
            presets, source_data, args.source, seed, profile, args.set, timings
        )
        return [(preset, run_dir, os.path.join(run_dir, "best.keras")) for preset, run_dir, _ in trained]
    return [
        (preset, run_dir, os.path.join(run_dir, "best.keras"))
        for preset, run_dir in _source_runs(args, presets, seed)
    ]


def _source_runs(args, presets, seed):
    return [(preset, os.path.join(args.source, f"seed{seed}", "extractors", preset)) for preset in presets]


def require_extractors(args, presets, seeds):
    """Stops before any work when --source lacks a trained extractor and nothing can train it."""
    for seed in seeds:
        for _, run_dir in _source_runs(args, presets, seed):
            if not os.path.isfile(os.path.join(run_dir, "best.keras")):
                sys.exit(
                    f"error: {run_dir} holds no trained extractor: run recipes/mtat_multiscale.py "
                    f"--out {args.source} first, or give --source-data to train it here"
                )


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


def demo_source_data(args, demo_size, segment_length, sample_rate, timings):
    """The demo MTAT TFRecords in the mtat_multiscale demo's folder (made if missing)."""
    dataset = common.DATASETS["mtat"]
    return common.make_demo_data(
        dataset, args.source, demo_size, segment_length, sample_rate, args.workers, timings
    )


def target_data(args, out, segment_length, sample_rate, timings):
    """The target TFRecords at the extractors' rate: converted from --data, or the demo's genres."""
    if args.demo:
        dataset = common.DATASETS["gtzan"]
        from keras_samplecnn.training import config as config_lib

        demo = multiscale.demo_settings(DEMO_CONFIG)["target"]
        try:
            size = config_lib.apply_overrides(dict(demo["dataset"]), args.target_demo_size)
        except config_lib.ConfigError as error:
            sys.exit(f"error: --target-demo-size: {error}")
        root = common.synthesise_demo(dataset, out, size, args.workers, timings)
        with timings("conversion"):
            return common.convert(dataset, root, os.path.join(out, "tfrecords"), segment_length, sample_rate,
                                  args.workers, demo.get("convert_options", []))  # fmt: skip
    dataset = common.DATASETS[args.target]
    extra = []
    if args.target == "folder" and args.labels:
        extra = ["--labels", args.labels]
    with timings("conversion"):
        return common.find_data(dataset, args.data, out, "recipes/transfer_multiscale.py", segment_length,
                                sample_rate, args.workers, extra)  # fmt: skip


def main(argv=None):
    args = parse_args(argv)
    from keras_samplecnn.quiet import filter_native_logs

    filter_native_logs()
    demo = multiscale.demo_settings(DEMO_CONFIG) if args.demo else None
    if args.demo:
        args.target = "gtzan"
        args.source = args.source or DEMO_SOURCE
    args.target = args.target or "gtzan"
    if not args.demo and not args.data:
        sys.exit("error: give --data (the target dataset), or --demo")
    if not args.models and not args.source:
        sys.exit(
            "error: give the extractors: --source DIR (from mtat_multiscale.py) or --models A.keras,B.keras"
        )
    if args.target == "folder" and not args.labels:
        from keras_samplecnn.data.schema import MANIFEST

        if not (args.data and os.path.exists(os.path.join(args.data, MANIFEST))):
            sys.exit("error: --target folder needs --labels CSV (or --data a converted folder)")
    presets, layers, seeds, options, profile = multiscale.resolve(args, demo)
    out = args.out or (f"runs/transfer_multiscale_{args.target}" + ("_demo" if args.demo else ""))
    timings = common.Timings()

    if args.models:
        from keras_samplecnn.models.loading import load_model  # a .keras file or a preset

        models = []
        for path in (p.strip() for p in args.models.split(",") if p.strip()):
            try:  # a .keras file or a pretrained preset, e.g. ismir2018_siamese_msd10k
                models.append(load_model(path, compile=False))
            except (OSError, ValueError) as error:
                sys.exit(f"error: --models: {error}")
        rates = {int(m.sample_rate) for m in models}
        if len(rates) != 1:
            sys.exit(f"error: --models expect different sample rates {sorted(rates)}")
        segment_length, sample_rate = max(int(m.input_length) for m in models), rates.pop()
        del models
    else:
        segment_length, sample_rate = multiscale.extractor_geometry(presets)
    source_data = args.source_data
    if not args.models and not source_data and not args.demo:
        require_extractors(args, presets, seeds)
    if args.demo and not args.models:
        size = common.demo_size(common.DATASETS["mtat"], args.demo_size, DEMO_CONFIG)
        source_data = demo_source_data(args, size, segment_length, sample_rate, timings)
    data = target_data(args, out, segment_length, sample_rate, timings)
    common.require_splits(data, ("train", "valid", "test"))

    from keras_samplecnn.data import pipeline

    rows = []
    for seed in seeds:
        extractors = source_extractors(args, presets, seed, source_data, profile, timings)
        # --models: the same extractors for every seed, so one cache; --source: each seed's own.
        folder = (
            os.path.join(out, "features") if args.models else os.path.join(out, f"seed{seed}", "features")
        )
        multiscale.extract([path for _, _, path in extractors], data, folder, layers, timings)
        rows += multiscale.compare(folder, seed, options, timings)
        if not args.models:
            rows += untrained_baseline(presets, data, os.path.join(out, f"seed{seed}", "features_untrained"),
                                       layers, seed, options, timings)  # fmt: skip

    manifest = pipeline.read_manifest(data)
    source = args.models or args.source
    names = ", ".join(name for name, _, _ in extractors) if args.models else ", ".join(presets)
    target = "the demo GTZAN-layout genres" if args.demo else f"{args.target} ({data})"
    title = (f"Transfer: extractors from {source} ({names}; {layers} layers) -> classifier on {target}; "
             f"seeds {', '.join(map(str, seeds))}")  # fmt: skip
    notes = []
    if args.target == "gtzan" and not args.demo:
        notes.append("Paper (SPL 2017, MSD-trained extractors, fault-filtered GTZAN): accuracy 0.720.")
    multiscale.write_table(out, rows, manifest.task, title, notes)
    multiscale.print_time(timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
