"""The papers' experiments as package capabilities: one module per experiment, each with a validated
config schema read by one loader (`settings`), a `run(...) -> Results` and a command line.

| module       | experiment                                                            | configs            |
|--------------|-----------------------------------------------------------------------|--------------------|
| `tagging`    | train, evaluate, report one model on one dataset (SMC 2017, ICASSP 2018, JSTSP 2019) | `mtat_*`, `speech_commands_*`, `dcase2017_*` |
| `mn_table`   | the m^n model table of SMC 2017 / TASLP                               | `mtat_mn_table`    |
| `multiscale` | multi-level, multi-scale features from several extractors (SPL 2017)  | `mtat_multiscale`  |
| `transfer`   | those features transferred to other datasets (ICML-W 2017)            | `transfer_multiscale` |
| `artist`     | artist-label representations and their transfer (ISMIR 2018)         | `artist_representation` |
| `dcue`       | deep content-user embedding for recommendation (DLRS 2018)            | `dcue`             |

A config names its experiment (`experiment:`, default `tagging`) and dataset (`dataset:`, a
`tfrecords_tools.registry` key); `samplecnn run CONFIG [--demo]` and every `recipes/*.py` run one:

    from keras_samplecnn.experiments import main
    main("mtat_se")          # as `python recipes/mtat_se.py` or `samplecnn run mtat_se`
"""

import importlib
import sys
import time

STARTED = time.monotonic()  # a run's start-up time includes importing TensorFlow, after this

EXPERIMENTS = ("tagging", "mn_table", "multiscale", "transfer", "artist", "dcue")


def module_of(config):
    """The experiment module that runs a config (by name or path)."""
    from keras_samplecnn.experiments import settings

    experiment = settings.read(config)[1]
    if experiment not in EXPERIMENTS:
        raise settings.ConfigError(f"experiment: {experiment!r} is not one of {list(EXPERIMENTS)}")
    return importlib.import_module(f"keras_samplecnn.experiments.{experiment}")


def main(config, doc=None, argv=None, prog=None):
    """Runs the experiment of `config` from a command line; exits with a message on a bad config
    or missing data.

    Args:
        config: a config name under `experiments/configs/` or a YAML path.
        doc: the `--help` text (a recipe's docstring; default: the experiment module's).
        argv: the command-line arguments (default `sys.argv[1:]`).
        prog: the command's name in messages (default: the running script).

    Returns:
        the experiment's `Results`.
    """
    from keras_samplecnn.experiments.data import ExperimentError
    from keras_samplecnn.training.config import ConfigError

    try:
        module = module_of(config)
        return module.main(config, doc=doc, argv=argv, prog=prog)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    except ExperimentError as error:
        sys.exit(str(error))
