"""Multi-level and multi-scale feature aggregation on MagnaTagATune (Lee & Nam, SPL 2017 / ICML-W 2017).

    python recipes/mtat_multiscale.py --data data/mtat                     # SPL 2017 mel extractors
    python recipes/mtat_multiscale.py --data data/mtat --family icmlw2017  # sample-level extractors
    python recipes/mtat_multiscale.py --demo                               # synthetic demo, 3 seeds

Per seed: (1) each extractor is trained on MTAT tagging (`configs/mtat_multiscale.yaml`: the
papers' SGD schedule, batch 23) and evaluated on its own, its segment scores averaged over the
clip (the "end to end" rows; the paper's "local model"); (2) every clip's features are
aggregated from all extractors into `<out>/seed<S>/features` (per layer: max over time in a
segment, mean over the clip's segments); (3) the two-layer classifier is trained on the last
layer of each extractor, on all of its layers, on the last layers of all extractors and on
everything. The table (mean ± standard deviation over seeds, clip-level macro ROC-AUC and PR-AUC
on the test split) is printed and written to `<out>/multiscale_table.md` and `.json`.
Finished extractor runs and feature caches are reused, so an interrupted run resumes.

Families (`keras_samplecnn.models.extractor_presets`):
  spl2017    mel CNNs on 18, 27 and 54 frames of 128 log-mel bands (hop 512 at 22,050 Hz; 3, 3
             and 4 conv layers), every layer aggregated (IEEE SPL 2017, arXiv:1703.01793).
  icmlw2017  sample-level CNNs on 59,049 samples with stems of 3, 9 and 27 samples, the top three
             blocks aggregated (ICML 2017 MDW, arXiv:1706.06810).

Papers' MTAT ROC-AUC: SPL 2017 local model .8981, multi-level .9002, multi-level + multi-scale
.9017 (extractors trained on MSD instead: .9021); ICML-W 2017 .9064.

Hardware and time: on real MTAT each extractor is a full training run (hours on a GPU for the
sample-level family, less for the mel CNNs), extraction reads every clip once per extractor and
the classifiers take seconds each. `--demo` trains the three mel extractors on the demo MTAT
data at a fixed number of epochs for 3 seeds, then extracts and classifies: see the README for
its measured time and table.
"""

import argparse
import os
import sys

import common
import multiscale

DEMO_CONFIG = "demo_multiscale.yaml"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="converted TFRecords (manifest.json) or the raw MTAT folder")
    multiscale.add_arguments(parser, DEMO_CONFIG)
    return parser.parse_args(argv)


def prepare_data(args, out, segment_length, sample_rate, timings):
    """The MTAT TFRecords at the extractors' rate: --data, its conversion, or the demo's."""
    dataset = common.DATASETS["mtat"]
    if args.demo:
        size = common.demo_size(dataset, args.demo_size, DEMO_CONFIG)
        return common.make_demo_data(dataset, out, size, segment_length, sample_rate, args.workers, timings)
    with timings("conversion"):
        return common.find_data(dataset, args.data, out, "recipes/mtat_multiscale.py", segment_length,
                                sample_rate, args.workers)  # fmt: skip


def main(argv=None):
    args = parse_args(argv)
    from keras_samplecnn.quiet import filter_native_logs

    filter_native_logs()
    demo = multiscale.demo_settings(DEMO_CONFIG) if args.demo else None
    presets, layers, seeds, options, profile = multiscale.resolve(args, demo)
    out = args.out or ("runs/mtat_multiscale" + ("_demo" if args.demo else ""))
    timings = common.Timings()
    segment_length, sample_rate = multiscale.extractor_geometry(presets)
    data = prepare_data(args, out, segment_length, sample_rate, timings)
    common.require_splits(data, ("train", "valid", "test"))

    from keras_samplecnn.aggregation import end_to_end_row
    from keras_samplecnn.data import pipeline

    rows = []
    for seed in seeds:
        runs = multiscale.train_extractors(presets, data, out, seed, profile, args.set, timings)
        rows += [end_to_end_row(preset, results, seed) for preset, _, results in runs]
        feature_dir = os.path.join(out, f"seed{seed}", "features")
        paths = [os.path.join(run_dir, "best.keras") for _, run_dir, _ in runs]
        multiscale.extract(paths, data, feature_dir, layers, timings)
        rows += multiscale.compare(feature_dir, seed, options, timings)

    task = pipeline.read_manifest(data).task
    title = (f"Multi-level and multi-scale aggregation on {'the demo MTAT data' if args.demo else 'MTAT'} "
             f"({', '.join(presets)}; {layers} layers; seeds {', '.join(map(str, seeds))})")  # fmt: skip
    multiscale.write_table(out, rows, task, title)
    multiscale.print_time(timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
