"""One model trained and evaluated on one dataset: the SampleCNN papers' tagging and classification
runs (SMC 2017, ICASSP 2018 on MagnaTagATune; JSTSP 2019 on Speech Commands and DCASE 2017).

The config is a `training.config.TrainConfig` plus the experiment keys (`dataset:`, `demo:`):
the data is found or converted (`--data`) or synthesised in the dataset's real layout
(`--demo`), the model trained (resumable), evaluated on the test split, and the result printed
with the time per phase and the machine's matmul peak.
"""

import os
import time

from keras_samplecnn.experiments import STARTED, command, settings
from keras_samplecnn.experiments.data import (
    demo_data,
    dataset_of,
    find_data,
    model_input,
    option_values,
    require_splits,
)
from keras_samplecnn.experiments.results import Results, Timings


def load(config, demo=False, profile=None, sets=(), demo_sizes=()):
    """The `TrainConfig` of a run (`settings.load` with the `TrainConfig` schema) as a `settings.Loaded`."""
    from keras_samplecnn.training import config as config_lib

    loaded = settings.load(config, demo=demo, profile=profile, sets=sets, demo_sets=demo_sizes)
    loaded.config = config_lib.from_dict(loaded.values)
    return loaded


def run(config, data=None, out=None, demo=False, profile=None, sets=(), demo_sizes=(), workers=None,
        converter_options=None, script=None, started=None):  # fmt: skip
    """Finds or synthesises the data, trains, evaluates on the test split, and reports.

    Args:
        config: a config name under `experiments/configs/` or a YAML path.
        data: converted TFRecords or the raw dataset folder (default: the config's `data.dir`).
        out: the run folder (default: the config's `output.dir`, `_demo` appended under `demo`).
        demo: run on the dataset's synthetic demo with the config's `demo:` settings.
        profile: a profile over the config (default under `demo`: the demo's).
        sets: `section.key=value` overrides, applied last.
        demo_sizes: overrides of the `demo:` section (`dataset.n_clips=200`).
        workers: processes for synthesis and conversion.
        converter_options: `{flag: value}` for the converter (`{"--variant": "12"}`).
        script: the command in messages (default: `samplecnn run CONFIG`).
        started: `time.monotonic()` at the run's start (default: when the experiments were
            imported; an experiment that runs several trainings passes each one's own).

    Returns:
        `Results` whose `extra["evaluation"]` is the evaluation results dict.
    """
    loaded = load(config, demo, profile, sets, demo_sizes)
    train_config = loaded.config
    dataset = dataset_of(loaded.dataset)
    options = dict(converter_options or {})
    extra = [item for flag, value in options.items() for item in (flag, value)]
    # A converter option off its default gets its own run folder (runs/speech_commands_basic_12).
    defaults = {flag: kwargs["default"] for flag, kwargs in dataset.convert_options}
    variant = "".join(f"_{value}" for flag, value in options.items() if value != defaults.get(flag))
    out_dir = out or (train_config.output.dir + variant + ("_demo" if demo else ""))
    train_config.output.dir = out_dir
    segment_length, sample_rate = model_input(train_config.model.name, train_config.model.overrides)

    timings = Timings({"start-up": time.monotonic() - (STARTED if started is None else started)})
    if demo:
        data_dir = demo_data(dataset, out_dir, loaded.demo.dataset, segment_length, sample_rate, workers,
                             timings, extra)  # fmt: skip
    else:
        with timings("conversion"):
            data_dir = find_data(dataset, data or train_config.data.dir, out_dir, script or f"samplecnn run {config}",
                                 segment_length, sample_rate, workers, extra)  # fmt: skip
    train_config.data.dir = data_dir
    data_cfg = train_config.data
    require_splits(data_dir, (data_cfg.train_split, data_cfg.valid_split, data_cfg.test_split))

    from keras_samplecnn.evaluation import evaluate
    from keras_samplecnn.training.trainer import LOG, read_state, train

    with timings("training"):
        best = train(train_config)
    timings.policy = read_state(out_dir).get("policy")  # what training chose (precision: auto)
    with timings("evaluation"):
        results = evaluate(best, data_dir, split=data_cfg.test_split, out_dir=os.path.join(out_dir, "evaluation"),
                           training_log=os.path.join(out_dir, LOG), threshold=train_config.evaluation.threshold,
                           tune_on=train_config.evaluation.tune_on)  # fmt: skip
    timings.save(os.path.join(out_dir, "timings.json"))
    print_summary(results, out_dir, timings, read_state(out_dir))
    return Results(out_dir=out_dir, timings=dict(timings), extra={"evaluation": results})


def main(config, doc=None, argv=None, prog=None):
    """The command line of a tagging config (`python recipes/mtat_se.py`, `samplecnn run mtat_se`)."""
    loaded = settings.read(config)
    dataset = dataset_of(loaded[2])
    parser = command.parser(doc or __doc__, prog)
    parser.add_argument("--seed", type=int, help="training seed (optimization.seed)")
    for flag, kwargs in dataset.convert_options:
        parser.add_argument(flag, **kwargs)
    args = parser.parse_args(argv)
    command.quiet()
    sets = list(args.set) + ([f"optimization.seed={args.seed}"] if args.seed is not None else [])
    return run(config, data=args.data, out=args.out, demo=args.demo, profile=args.profile, sets=sets,
               demo_sizes=command.demo_sizes(args.demo_size), workers=args.workers,
               converter_options=option_values(dataset, args), script=command.script(prog, config))  # fmt: skip


def print_summary(results, out_dir, timings, state):
    """The result as the user reads it: clip-level metrics, the report's path, the time."""
    from keras_samplecnn.evaluation.evaluator import summary_lines

    print()
    if state.get("cut_short_by_time_budget"):
        print("NOTE: training was stopped by the time budget (optimization.max_minutes) before the configured")
        print("      epochs ended: the numbers below are not the configured run's result.")
    print(f"Clip-level results on the {results['split']} split ({results['num_clips']} clips):")
    for line in summary_lines(results):
        print(f"  {line}")
    if results["excluded_tags"]:
        print(f"  left out (no positive clip): {', '.join(results['excluded_tags'])}")
    print(f"Report: {os.path.join(out_dir, 'evaluation', 'report.md')}")
    print(timings.line())
