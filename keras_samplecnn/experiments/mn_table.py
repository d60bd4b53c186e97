"""The m^n table on MagnaTagATune: one `tagging.run` per row (a SampleCNN of filter and pooling
size m, n blocks, one input length), then the table of our clip-level ROC-AUC beside the paper's.

Each row is a run of the config's TrainConfig (`mtat_basic`: basic blocks, the papers' SGD
schedule) with `model.name` = the row's preset, in `<out>/<preset>/`; a finished row is read back
from its `evaluation/results.json`, not trained again. Every row gets `--set` overrides of the
preset's m, n, input length and 22050 Hz and of `width` times the paper's widths, before the
user's `--set` (which still wins): a profile's model overrides would otherwise erase what the row
measures. Rows of different input lengths need different segment lengths: the data is converted
once per (length, rate) into `<out>/data/<length>_<rate>Hz/tfrecords`.

Paper: Lee, Park, Kim, Nam, "Sample-level Deep Convolutional Neural Networks for Music
Auto-tagging Using Raw Waveforms", SMC 2017 (arXiv:1703.01789), the m^n table
(`keras_samplecnn.models.smc2017_table()`, each row's `mtat_auc`).
"""

import dataclasses
import json
import os
import time

from keras_samplecnn.experiments import command, settings, tagging
from keras_samplecnn.experiments.data import (
    ExperimentError,
    convert,
    dataset_of,
    find_data,
    model_segment_length,
    synthesise_demo,
)
from keras_samplecnn.experiments.results import Results, markdown_table, save_table

BASELINES = ("frame", "mel")
POSITIVE = {"check": (lambda v: v > 0, "a positive fraction of the paper's widths")}


@dataclasses.dataclass
class MnTable:
    """The experiment's keys (`mtat_mn_table.yaml`); the command line's options win over them.

    Args:
        config: the TrainConfig every row is a run of (`--profile`, `--set` and `--seed` change it).
        rows: preset names or m^n shorthands (`--rows`).
        width: the fraction of the paper's widths every row gets (`--width`).
        out: the run folder (`--out`; `_demo` appended under `--demo`).
    """

    config: str = "mtat_basic"
    rows: list = dataclasses.field(default_factory=list)
    width: float = dataclasses.field(default=1.0, metadata=POSITIVE)
    out: str = "runs/mtat_mn_table"


@dataclasses.dataclass
class MnTableDemo(settings.Demo):
    """The `demo:` section: `profile` and `settings` are the rows' (merged over `config`),
    `dataset` the demo MTAT data's size, `width` replaces the experiment's."""

    width: float = dataclasses.field(default=0.25, metadata=POSITIVE)


def load(config, demo=False, demo_sizes=()):
    """The experiment config as a `settings.Loaded`, with its `demo:` section validated under `demo`
    (its profile and settings are the rows', so they are not merged over this config)."""
    from keras_samplecnn.training.config import apply_overrides

    loaded = settings.load(config, MnTable)
    if demo:
        section = apply_overrides(dict(settings.read(config)[3] or {}), demo_sizes)
        loaded.demo = settings.build(MnTableDemo, section, "demo")
    return loaded


def table_presets():
    """`{name: Preset}` of every row of the SMC 2017 table and the two baselines."""
    from keras_samplecnn.models.registry import get_preset, smc2017_table

    presets = {preset.name: preset for preset in smc2017_table()}
    presets.update({name: get_preset(name) for name in BASELINES})
    return presets


def resolve_rows(items):
    """Preset names from row names or shorthands ("smc2017_3_9_59049", "frame", "3^9", "3^8@19683").

    Raises:
        ExperimentError: for an item that names no row, or an m^n the table holds at two lengths.
    """
    presets = table_presets()
    names = []
    for item in (str(part).strip() for part in items):
        if not item:
            continue
        if item in presets:
            names.append(item)
            continue
        shorthand, _, length = item.partition("@")
        m, caret, n = shorthand.partition("^")
        numbers = (m.strip(), n.strip(), length or "0")
        if not caret or not all(number.isdigit() for number in numbers):
            raise ExperimentError(
                f"error: --rows: {item!r} is neither a preset (see --list) nor m^n or m^n@samples"
            )
        mn = (int(m), int(n))
        matches = [name for name, preset in presets.items()
                   if name.startswith("smc2017_") and (preset.arguments["m"], preset.arguments["n"]) == mn
                   and (not length or preset.input_length == int(length))]  # fmt: skip
        if not matches:
            raise ExperimentError(f"error: --rows: the SMC 2017 table has no row {item!r} (see --list)")
        if len(matches) > 1:
            options = " or ".join(f"{shorthand}@{presets[name].input_length}" for name in matches)
            raise ExperimentError(
                f"error: --rows: {item!r} is in the table at two input lengths: say {options}"
            )
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


def row_data(dataset, data, demo_size, out, segment_length, sample_rate, workers, script, prepared):
    """The converted TFRecords for rows of this segment length and rate, converted once.

    Args:
        dataset: the registry entry (MTAT).
        data: the raw folder or a converted one (used as it is for every row).
        demo_size: the demo maker's arguments, or None for real data.
        out: the run folder; the conversion goes to `<out>/data/<length>_<rate>Hz/tfrecords`.
        prepared: `{(length, rate): folder}` of the conversions made so far (updated).
    """
    key = (segment_length, sample_rate)
    if key not in prepared:
        folder = os.path.join(out, "data", f"{segment_length}_{sample_rate}Hz")
        if demo_size is not None:
            root = synthesise_demo(dataset, out, demo_size, workers)
            folder = os.path.join(folder, "tfrecords")
            prepared[key] = convert(dataset, root, folder, segment_length, sample_rate, workers)
        else:
            prepared[key] = find_data(dataset, data, folder, script, segment_length, sample_rate, workers)
    return prepared[key]


def count_parameters(row_out):
    """The parameters of a row's trained model."""
    import keras

    import keras_samplecnn  # noqa: F401  (registers SampleCNN for loading)

    model = keras.saving.load_model(os.path.join(row_out, "best.keras"), compile=False)
    return model.count_params()


def table_row(preset, row_out):
    """One row of the summary, from the run's results.json and best.keras."""
    with open(os.path.join(row_out, "evaluation", "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    m, n, length, stem = geometry(preset)
    return {"preset": preset.name, "m^n": f"{m}^{n}", "input_samples": length, "stem": stem,
            "frontend": preset.arguments.get("frontend", "waveform"), "parameters": count_parameters(row_out),
            "roc_auc": results["roc_auc"], "paper_roc_auc": preset.mtat_auc,
            "test_clips": results["num_clips"], "run": row_out}  # fmt: skip


def auc(value):
    """An AUC cell: four decimals, "—" for none."""
    return "—" if value is None else f"{value:.4f}"


def markdown(rows, width):
    """The table as printed and saved to `mn_table.md`."""
    header = ["preset", "m^n", "input samples", "stem", "parameters", "our ROC-AUC", "paper ROC-AUC"]
    cells = [[row["preset"], row["m^n"], row["input_samples"],
              f"{row['stem']} (mel hop)" if row["frontend"] == "mel" else row["stem"],
              f"{row['parameters']:,}", auc(row["roc_auc"]), auc(row["paper_roc_auc"])]
             for row in rows]  # fmt: skip
    title = ("SMC 2017 m^n table on MTAT (clip-level macro ROC-AUC, test split; "
             f"widths x{width:g} of the paper's)")  # fmt: skip
    paper = "Paper: Lee, Park, Kim, Nam, SMC 2017 (arXiv:1703.01789), the m^n table."
    return f"{title}\n\n{markdown_table(header, cells)}\n\n{paper}\n"


def list_rows():
    """The table's rows with the paper's AUC (`--list`), as printed."""
    cells = []
    for name, preset in table_presets().items():
        m, n, length, stem = geometry(preset)
        cells.append([name, f"{m}^{n}", length, stem, auc(preset.mtat_auc)])
    return markdown_table(["preset", "m^n", "input samples", "stem", "paper ROC-AUC"], cells) + "\n"


def run(config="mtat_mn_table", rows=None, baselines=False, width=None, data=None, out=None, demo=False,
        profile=None, sets=(), seed=None, demo_sizes=(), workers=None, script=None):  # fmt: skip
    """Trains (or reads back) every row and writes the table.

    Args:
        config: the experiment config (name under `experiments/configs/` or a YAML path).
        rows: preset names or m^n shorthands (default: the config's).
        baselines: add the frame-level and mel baselines.
        width: the fraction of the paper's widths (default: the demo's under `demo`, else the config's).
        data: the raw MTAT folder or converted TFRecords.
        out: the run folder (default: the config's `out`, `_demo` appended under `demo`).
        demo: the synthetic demo MTAT data with the config's `demo:` section.
        profile: a profile over the rows' TrainConfig (default under `demo`: the demo's).
        sets: `--set` overrides of every row, after the row's own geometry.
        seed: the training seed (`optimization.seed`), or None for the config's.
        demo_sizes: overrides of the `demo:` section (`dataset.n_clips=200`).
        workers: processes for synthesis and conversion.
        script: the command in messages (default `samplecnn run CONFIG`).

    Returns:
        `Results` with the table and its rows (`summary`).
    """
    from keras_samplecnn.training.trainer import finished

    loaded = load(config, demo, demo_sizes)
    experiment, section = loaded.config, loaded.demo
    names = resolve_rows(rows if rows is not None else experiment.rows)
    if baselines:
        names += [name for name in BASELINES if name not in names]
    if not names:
        raise ExperimentError("error: --rows names no row")
    width = width if width is not None else (section.width if demo else experiment.width)
    if not width > 0:
        raise ExperimentError(f"error: --width must be positive, got {width}")
    profile = profile or (section.profile if demo else None) or None
    user_sets = [*(command.as_sets(section.settings) if demo else []), *sets]
    user_sets += [f"optimization.seed={seed}"] if seed is not None else []
    out = out or (experiment.out + ("_demo" if demo else ""))
    dataset, script = dataset_of(loaded.dataset), script or f"samplecnn run {config}"
    presets, prepared, table = table_presets(), {}, []
    for index, name in enumerate(names, 1):
        preset, row_out = presets[name], os.path.join(out, name)
        print(f"\n=== row {index}/{len(names)}: {name} ({preset.description}) ===")
        if finished(row_out) and os.path.exists(os.path.join(row_out, "evaluation", "results.json")):
            print(f"{row_out} holds a finished run: not trained again, its results are read back")
        else:
            row_set = [*row_sets(preset, width), *user_sets]
            model = tagging.load(experiment.config, profile=profile, sets=row_set).config.model
            model_args = {**dict(preset.arguments), **model.overrides}
            length, rate = model_segment_length(model_args), model_args.get("sample_rate", 22050)
            demo_size = section.dataset if demo else None
            data_dir = row_data(dataset, data, demo_size, out, length, rate, workers, script, prepared)
            tagging.run(experiment.config, data=data_dir, out=row_out, profile=profile, sets=row_set,
                        workers=workers, script=script, started=time.monotonic())  # each row's own start-up
        table.append(table_row(preset, row_out))
    text = markdown(table, width)
    save_table(out, "mn_table", text, {"width": width, "rows": table})
    return Results(text, table, out)


def main(config, doc=None, argv=None, prog=None):
    """The command line (`python recipes/mtat_mn_table.py`, `samplecnn run mtat_mn_table`)."""
    parser = command.parser(doc or __doc__, prog, data_help="converted MTAT TFRecords or the raw MTAT folder",
                            set_example="optimization.learning_rate=0.005 (every row)")  # fmt: skip
    parser.add_argument("--rows", help="comma-separated presets or m^n shorthands (default: the config's)")
    parser.add_argument("--baselines", action="store_true", help="add the frame and mel baselines")
    parser.add_argument("--list", action="store_true",
                        help="print the table's rows with the paper's AUC and exit")  # fmt: skip
    parser.add_argument("--width", type=float,
                        help="fraction of the paper's widths (default: the config's, with --demo its demo's)")
    parser.add_argument("--seed", type=int, help="training seed (optimization.seed)")
    args = parser.parse_args(argv)
    if args.list:
        text = list_rows()
        print(text, end="")
        return Results(text)
    command.quiet()
    return run(config, rows=args.rows.split(",") if args.rows else None, baselines=args.baselines,
               width=args.width, data=args.data, out=args.out, demo=args.demo, profile=args.profile,
               sets=args.set, seed=args.seed, demo_sizes=command.demo_sizes(args.demo_size),
               workers=args.workers, script=command.script(prog, config))  # fmt: skip
