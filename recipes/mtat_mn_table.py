"""The SMC 2017 m^n table on MagnaTagATune: one mtat_basic run per row, then the table.

    python recipes/mtat_mn_table.py --list                       # the rows and the paper's AUCs
    python recipes/mtat_mn_table.py --data data/mtat             # the default rows (best per m)
    python recipes/mtat_mn_table.py --data data/mtat --rows 3^9,2^14,smc2017_3_8_19683 --baselines
    python recipes/mtat_mn_table.py --demo --rows 3^3,2^6        # synthetic demo data, end to end

Each row is the `mtat_basic` recipe (basic blocks, the papers' SGD schedule) with
`model.name=<row's preset>`, trained in `<out>/<preset>/` (default out: runs/mtat_mn_table,
runs/mtat_mn_table_demo with --demo). A finished row is not trained again: its numbers are
read back from `<out>/<preset>/evaluation/results.json`. The table (preset, m^n, input
samples, stem, parameters, our clip-level macro ROC-AUC on the test split, the paper's) is
printed and written to `<out>/mn_table.md` and `<out>/mn_table.json`.

--rows takes preset names (`smc2017_<m>_<n>_<samples>`, see --list, and `frame`, `mel`) or
`m^n` shorthands; an m^n that the table holds at two input lengths needs the length:
`3^8@19683` or `3^8@59049`. Default: the paper's best row per m (2^14 on 32768 samples,
3^9 on 59049, 4^7 on 65536, 5^6 on 78125). --baselines adds the frame-level raw-waveform
(`frame`: the 3^4 row, a 729-sample strided first convolution) and mel-spectrogram (`mel`)
baselines.

Data: rows with different input lengths need data converted with different segment
lengths. The raw MTAT folder (or the demo, synthesised once in `<out>/demo_mtat`) is
converted once per (input length, sample rate) into `<out>/data/<length>_<rate>Hz/tfrecords`
and shared by the rows of that length. A folder already converted (manifest.json) is used
as it is for every row, so give one only when its segments fit the rows you train.

Geometry is kept whatever the profile: every row gets `--set` overrides of the preset's m,
n, input length and 22050 Hz, and widths of `--width` times the paper's (stem 128, blocks
`default_filters(n)`: 128, 128, 256..., 512), before your own --set (which still wins).
The plain cpu profile would change n, the rate and the widths and so erase the row it is
meant to measure; --demo therefore uses `configs/profiles/cpu_mn.yaml`, the cpu profile's
optimisation, data and output settings without its model overrides, and a quarter of the
widths (--width 0.25).

Paper's numbers: the m^n table (MTAT clip-level ROC-AUC per m, n and input length) of Lee,
Park, Kim, Nam, "Sample-level Deep Convolutional Neural Networks for Music Auto-tagging
Using Raw Waveforms", SMC 2017, arXiv:1703.01789 (papers.md section 1; in the code:
`keras_samplecnn.models.smc2017_table()`, each row's `mtat_auc`). The frame baseline is
that table's 3^4 row on 59049 samples (.8655); the paper's mel model (.9059) does not
publish its frame sizes, so no paper number is given for `mel`.

Hardware and time: on one GPU each row is a full mtat_basic run (hours; the 2^n and short
rows are cheaper per segment but have more segments per clip), so the whole table is days;
run a few rows at a time, reruns resume. --demo has not been run end to end: a 3^9 row at a
quarter of the widths on 22050-Hz audio does about 5 times the work per epoch of the
`mtat_se.py --demo` model (3^8 on 16 kHz audio, profiles/cpu.yaml), whose 5 epochs train in
147 s on a 2-core CPU with a 206 GFLOP/s matmul peak, so expect about 12 minutes of training
per such row there (an estimate). The tiny test demo (48 clips of 3 s, 1 epoch of 2 steps,
two short rows) takes well under a minute.
"""

import argparse
import json
import os
import sys
import time

import common

RECIPE = "mtat_basic"
DEFAULT_ROWS = ("smc2017_2_14_32768", "smc2017_3_9_59049", "smc2017_4_7_65536", "smc2017_5_6_78125")
BASELINES = ("frame", "mel")
DEMO_WIDTH = 0.25
DEMO_PROFILE = "cpu_mn"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", help="comma-separated presets or m^n shorthands (default: the best row per m)"
    )
    parser.add_argument("--baselines", action="store_true", help="add the frame and mel baselines")
    parser.add_argument(
        "--list", action="store_true", help="print the table's rows with the paper's AUC and exit"
    )
    parser.add_argument("--width", type=float,
                        help=f"fraction of the paper's widths (default 1, with --demo {DEMO_WIDTH})")  # fmt: skip
    parser.add_argument("--data", help="converted TFRecords (manifest.json) or the raw MTAT folder")
    parser.add_argument("--out", help="output folder (default runs/mtat_mn_table, with --demo ..._demo)")
    parser.add_argument("--profile", metavar="NAME",
                        help=f"settings merged over mtat_basic (default with --demo: {DEMO_PROFILE})")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for every row (after the row's own geometry)")  # fmt: skip
    parser.add_argument("--seed", type=int, help="training seed (optimization.seed)")
    parser.add_argument("--demo", action="store_true", help="the synthetic MTAT-layout demo dataset")
    parser.add_argument("--demo-size", action="append", default=[], metavar="KEY=VALUE",
                        help="change the demo dataset's size, e.g. n_clips=200")  # fmt: skip
    parser.add_argument("--workers", type=int, help="processes for demo synthesis and conversion")
    return parser.parse_args(argv)


def table_presets():
    """`{name: Preset}` of every row of the SMC 2017 table and the two baselines."""
    from keras_samplecnn.models.registry import get_preset, smc2017_table

    presets = {preset.name: preset for preset in smc2017_table()}
    presets.update({name: get_preset(name) for name in BASELINES})
    return presets


def resolve_rows(spec):
    """Preset names from `--rows` ("smc2017_3_9_59049", "frame", "3^9", "3^8@19683")."""
    presets = table_presets()
    names = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item in presets:
            names.append(item)
            continue
        shorthand, _, length = item.partition("@")
        m, caret, n = shorthand.partition("^")
        if (
            not caret
            or not m.strip().isdigit()
            or not n.strip().isdigit()
            or (length and not length.isdigit())
        ):
            sys.exit(f"error: --rows: {item!r} is neither a preset (see --list) nor m^n or m^n@samples")
        matches = [
            name
            for name, preset in presets.items()
            if name.startswith("smc2017_")
            and (preset.arguments["m"], preset.arguments["n"]) == (int(m), int(n))
            and (not length or preset.input_length == int(length))
        ]
        if not matches:
            sys.exit(f"error: --rows: the SMC 2017 table has no row {item!r} (see --list)")
        if len(matches) > 1:
            options = " or ".join(f"{shorthand}@{presets[name].input_length}" for name in matches)
            sys.exit(f"error: --rows: {item!r} is in the table at two input lengths: say {options}")
        names.append(matches[0])
    return list(dict.fromkeys(names))


def geometry(preset):
    """`(m, n, input_length, stem_size)` of a preset."""
    from keras_samplecnn.models.backbone import input_geometry

    args = preset.arguments
    m, n = args.get("m", 3), args.get("n", 9)
    length, stem = input_geometry(m, n, args.get("input_length"), args.get("stem_size"))
    return m, n, length, stem


def row_sets(preset, width):
    """The `--set` overrides that pin a row's geometry and give it `width` of the paper's widths."""
    from keras_samplecnn.models.backbone import default_filters

    m, n, length, _ = geometry(preset)
    filters = [max(1, round(f * width)) for f in default_filters(n)]
    return [
        f"model.name={preset.name}",
        f"model.overrides.m={m}",
        f"model.overrides.n={n}",
        f"model.overrides.input_length={length}",
        f"model.overrides.sample_rate={preset.sample_rate}",
        f"model.overrides.stem_filters={max(1, round(128 * width))}",
        f"model.overrides.filters=[{', '.join(map(str, filters))}]",
    ]


def row_config(preset, args, width):
    """The row's `TrainConfig` as `common.run` will load it; exits on a bad config."""
    from keras_samplecnn.training import config as config_lib

    overrides = [*row_sets(preset, width), *args.set]
    try:
        overlays = [common.profile_path(args.profile)] if args.profile else []
        return config_lib.load(os.path.join(common.CONFIGS, f"{RECIPE}.yaml"), overrides, overlays)
    except config_lib.ConfigError as error:
        sys.exit(f"error: {error}")


def prepare_data(args, out, segment_length, sample_rate, prepared):
    """The converted TFRecords for rows of this segment length and rate (converted once)."""
    key = (segment_length, sample_rate)
    if key in prepared:
        return prepared[key]
    dataset = common.DATASETS["mtat"]
    folder = os.path.join(out, "data", f"{segment_length}_{sample_rate}Hz")
    if args.demo:
        root = common.synthesise_demo(dataset, out, common.demo_size(dataset, args.demo_size), args.workers)
        data = common.convert(dataset, root, os.path.join(folder, "tfrecords"), segment_length, sample_rate,
                              args.workers)  # fmt: skip
    else:  # a converted folder (manifest.json) is used as it is
        data = common.find_data(dataset, args.data, folder, "recipes/mtat_mn_table.py", segment_length,
                                sample_rate, args.workers)  # fmt: skip
    prepared[key] = data
    return data


def count_parameters(row_out):
    import keras

    import keras_samplecnn  # noqa: F401  (registers SampleCNN for loading)

    model = keras.saving.load_model(os.path.join(row_out, "best.keras"), compile=False)
    return model.count_params()


def table_row(preset, row_out):
    """One row of the summary, from the run's results.json and best.keras."""
    with open(os.path.join(row_out, "evaluation", "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    m, n, length, stem = geometry(preset)
    return {
        "preset": preset.name,
        "m^n": f"{m}^{n}",
        "input_samples": length,
        "stem": stem,
        "frontend": preset.arguments.get("frontend", "waveform"),
        "parameters": count_parameters(row_out),
        "roc_auc": results["roc_auc"],
        "paper_roc_auc": preset.mtat_auc,
        "test_clips": results["num_clips"],
        "run": row_out,
    }


def _fmt(value):
    return "—" if value is None else f"{value:.4f}"


def markdown(rows, width):
    lines = [
        f"SMC 2017 m^n table on MTAT (clip-level macro ROC-AUC, test split; widths x{width:g} of the paper's)",
        "",
        "| preset | m^n | input samples | stem | parameters | our ROC-AUC | paper ROC-AUC |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        stem = f"{row['stem']} (mel hop)" if row["frontend"] == "mel" else str(row["stem"])
        lines.append(f"| {row['preset']} | {row['m^n']} | {row['input_samples']} | {stem} | {row['parameters']:,} | "
                     f"{_fmt(row['roc_auc'])} | {_fmt(row['paper_roc_auc'])} |")  # fmt: skip
    lines += ["", "Paper: Lee, Park, Kim, Nam, SMC 2017 (arXiv:1703.01789), the m^n table."]
    return "\n".join(lines) + "\n"


def list_rows():
    print("| preset | m^n | input samples | stem | paper ROC-AUC |")
    print("|---|---|---|---|---|")
    for name, preset in table_presets().items():
        m, n, length, stem = geometry(preset)
        print(f"| {name} | {m}^{n} | {length} | {stem} | {_fmt(preset.mtat_auc)} |")


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        list_rows()
        return 0
    from keras_samplecnn.files import write_json_atomic
    from keras_samplecnn.training.trainer import finished

    names = resolve_rows(args.rows) if args.rows else list(DEFAULT_ROWS)
    if args.baselines:
        names += [name for name in BASELINES if name not in names]
    if not names:
        sys.exit("error: --rows names no row")
    width = args.width if args.width is not None else (DEMO_WIDTH if args.demo else 1.0)
    if not width > 0:
        sys.exit(f"error: --width must be positive, got {width}")
    if args.demo and not args.profile:
        args.profile = DEMO_PROFILE
    out = args.out or ("runs/mtat_mn_table" + ("_demo" if args.demo else ""))
    presets = table_presets()
    prepared, rows = {}, []
    for index, name in enumerate(names, 1):
        preset = presets[name]
        row_out = os.path.join(out, name)
        print(f"\n=== row {index}/{len(names)}: {name} ({preset.description}) ===")
        if finished(row_out) and os.path.exists(os.path.join(row_out, "evaluation", "results.json")):
            print(f"{row_out} holds a finished run: not trained again, its results are read back")
        else:
            config = row_config(preset, args, width)
            model_args = {**dict(preset.arguments), **config.model.overrides}
            segment_length = common.model_segment_length(model_args)
            data = prepare_data(args, out, segment_length, model_args.get("sample_rate", 22050), prepared)
            argv = [
                "--data",
                data,
                "--out",
                row_out,
                *[a for s in row_sets(preset, width) for a in ("--set", s)],
            ]
            argv += [a for s in args.set for a in ("--set", s)]
            if args.profile:
                argv += ["--profile", args.profile]
            if args.seed is not None:
                argv += ["--seed", str(args.seed)]
            if args.workers:
                argv += ["--workers", str(args.workers)]
            common.STARTED = time.monotonic()  # each row's start-up time is its own
            common.run(RECIPE, __doc__, argv=argv)
        rows.append(table_row(preset, row_out))
    text = markdown(rows, width)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "mn_table.md"), "w", encoding="utf-8") as f:
        f.write(text)
    write_json_atomic(os.path.join(out, "mn_table.json"), {"width": width, "rows": rows})
    print()
    print(text, end="")
    print(f"Table: {os.path.join(out, 'mn_table.md')} and mn_table.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
