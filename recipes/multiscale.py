"""The three steps of multi-level and multi-scale feature aggregation, shared by
`mtat_multiscale.py` and `transfer_multiscale.py`.

1. Train each extractor on the source task with the existing trainer (`configs/mtat_multiscale.yaml`,
   the papers' MTAT settings, with `model.name` = the extractor's preset), one run per extractor
   and seed in `<out>/seed<S>/extractors/<preset>/`; a finished run is read back, not retrained.
2. Extract the aggregated features of every clip of the target data with all extractors
   (`keras_samplecnn.aggregation.extract_features`: max over time per segment, mean over the clip,
   concatenated over layers and extractors) into a resumable cache.
3. Train the two-layer classifier on subsets of the cache (`compare_features`) and tabulate the
   mean and standard deviation over seeds.

Papers: Lee & Nam, "Multi-Level and Multi-Scale Feature Aggregation Using Pre-trained
Convolutional Neural Networks for Music Auto-tagging", IEEE SPL 2017 (arXiv:1703.01793); Lee &
Nam, "... Using Sample-level Deep Convolutional Neural Networks for Music Classification", ICML
2017 Music Discovery Workshop (arXiv:1706.06810).
"""

import json
import os
import sys
import time

import common

EXTRACTOR_CONFIG = "mtat_multiscale"


def add_arguments(parser, demo_config):
    """The options both recipes share."""
    from keras_samplecnn.models.registry import EXTRACTOR_SETS

    parser.add_argument("--family", choices=sorted(EXTRACTOR_SETS), default="spl2017",
                        help="spl2017: mel CNNs on 18, 27 and 54 frames (all layers); icmlw2017: sample-level "
                             "CNNs with stems of 3, 9 and 27 samples (top three blocks). Default spl2017")  # fmt: skip
    parser.add_argument("--extractors", metavar="PRESETS",
                        help="comma-separated presets to train as extractors instead of the family's")  # fmt: skip
    parser.add_argument("--layers", help="layers to aggregate: all, top3 or names (default: the family's)")
    parser.add_argument("--seeds", help="comma-separated seeds (default 0; with --demo those of "
                                        f"configs/{demo_config})")  # fmt: skip
    parser.add_argument("--out", help="output folder")
    parser.add_argument("--profile", metavar="NAME",
                        help="settings merged over configs/mtat_multiscale.yaml for the extractors "
                             f"(default with --demo: the one configs/{demo_config} names)")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the extractors' training config")  # fmt: skip
    parser.add_argument("--classifier", action="append", default=[], metavar="KEY=VALUE",
                        help="classifier option: hidden, dropout, epochs, batch_size, learning_rate, patience")  # fmt: skip
    parser.add_argument("--demo", action="store_true", help="the synthetic demo data, end to end")
    parser.add_argument("--demo-size", action="append", default=[], metavar="KEY=VALUE",
                        help="change the demo dataset's size (keys of the demo file's dataset section)")  # fmt: skip
    parser.add_argument("--workers", type=int, help="processes for demo synthesis and conversion")


def demo_settings(demo_config):
    """The demo file: `profile`, `dataset` (the MTAT demo's size), `seeds`, `classifier`."""
    return common.read_yaml(os.path.join(common.CONFIGS, demo_config))


def resolve(args, demo):
    """`(presets, layers, seeds, classifier options, profile)` from the options and the demo file."""
    from keras_samplecnn.models.registry import EXTRACTOR_LAYERS, EXTRACTOR_SETS, get_preset

    if args.extractors:
        presets = [p.strip() for p in args.extractors.split(",") if p.strip()]
        for preset in presets:
            try:
                get_preset(preset)
            except ValueError as error:
                sys.exit(f"error: --extractors: {error}")
    else:
        presets = list(EXTRACTOR_SETS[args.family])
    layers = args.layers or EXTRACTOR_LAYERS.get(args.family, "all")
    seeds = parse_seeds(args.seeds, demo)
    options = classifier_options(args.classifier, (demo or {}).get("classifier", {}))
    profile = args.profile or (demo.get("profile") if demo else None)
    return presets, layers, seeds, options, profile


def parse_seeds(text, demo):
    """`--seeds "0,1,2"` as ints; without it the demo file's seeds (with --demo) or [0]."""
    if not text:
        return list(demo.get("seeds", [0])) if demo else [0]
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sys.exit(f"error: --seeds takes comma-separated integers, got {text!r}")


def classifier_options(items, defaults):
    """`train_classifier` options: `defaults` (the demo file's) with `--classifier KEY=VALUE` items over them."""
    options = dict(defaults)
    types = {"hidden": int, "dropout": float, "epochs": int, "batch_size": int, "learning_rate": float,
             "patience": int}  # fmt: skip
    for item in items:
        key, _, value = item.partition("=")
        if key not in types or not value:
            sys.exit(f"error: --classifier {item!r}: use KEY=VALUE with KEY one of {sorted(types)}")
        options[key] = types[key](value)
    return options


def extractor_geometry(presets):
    """`(longest input length, sample rate)` of the extractors; they must share one rate."""
    from keras_samplecnn.models.registry import get_preset

    rates = {get_preset(p).sample_rate for p in presets}
    if len(rates) != 1:
        sys.exit(f"error: the extractors expect different sample rates {sorted(rates)}; use one rate")
    return max(get_preset(p).input_length for p in presets), rates.pop()


def train_extractors(presets, data, out, seed, profile, sets, timings):
    """Step 1: one training run per extractor; returns `[(preset, run folder, results)]`."""
    from keras_samplecnn.training.trainer import finished

    runs = []
    for preset in presets:
        run_dir = os.path.join(out, f"seed{seed}", "extractors", preset)
        results_path = os.path.join(run_dir, "evaluation", "results.json")
        if finished(run_dir) and os.path.exists(results_path):
            print(f"{run_dir}: a finished run, read back")
        else:
            print(f"\n=== seed {seed}: training extractor {preset} ===")
            argv = ["--data", data, "--out", run_dir, "--seed", str(seed), "--set", f"model.name={preset}"]
            argv += [a for s in sets for a in ("--set", s)]
            if profile:
                argv += ["--profile", profile]
            common.STARTED = time.monotonic()
            with timings("extractor training"):
                common.run(EXTRACTOR_CONFIG, __doc__, argv=argv)
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
    """Step 3: one classifier per feature subset."""
    from keras_samplecnn.aggregation import compare_features

    with timings("classifiers"):
        return compare_features(feature_dir, seed=seed, **options)


def write_table(out, rows, task, title, notes=()):
    """Prints and saves (`<out>/multiscale_table.md`, `.json`) the table over seeds."""
    from keras_samplecnn.aggregation import markdown_table, summarise
    from keras_samplecnn.aggregation.comparison import best_single, headline_metric
    from keras_samplecnn.files import write_json_atomic

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
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "multiscale_table.md"), "w", encoding="utf-8") as f:
        f.write(text)
    write_json_atomic(os.path.join(out, "multiscale_table.json"),
                      {"task": task, "rows": rows, "summary": summary, "verdict": verdict})  # fmt: skip
    print()
    print(text, end="")
    print(f"Table: {os.path.join(out, 'multiscale_table.md')} (and .json with every seed's numbers)")
    return summary, verdict


def print_time(timings):
    from keras_samplecnn.benchmarking import describe_peak, matmul_peak

    peak = matmul_peak()
    phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    print(
        f"Time: {phases}; total {sum(timings.values()) / 60:.1f} min on this machine ({describe_peak(peak)})"
    )
    return peak
