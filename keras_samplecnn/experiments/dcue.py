"""Music recommendation from audio and listening data: the deep content-user embedding model (DCUE;
Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786), cold-start songs included.

Per seed, protocol and variant ("basic", "multi"): the DCUE model is trained as the authors'
code trains it (`configs/dcue.yaml`; jongpillee/deep-content-user @0e57b68 `train.py`: SGD lr 0.2,
Nesterov momentum 0.9, decay 1e-6, batches of 10 interactions each against 20 songs the user did
not play, the hinge loss of margin 0.2 summed), then every song is embedded from its audio and
every user from the user branch, and each user's songs are ranked by cosine: per-user ROC-AUC,
averaged over users, under two protocols (`evaluation.protocols`):

  authors  the authors' split and evaluation (`load_label.py`, `evaluation.py`): songs split by
           their position in the song list modulo 10; warm = the training songs against all
           their interactions (how well the embeddings reproduce the matrix they were trained
           on), cold = the test songs; popularity counts listeners in that same matrix;
  heldout  ours: warm = held-out interactions of songs seen in training (the user's training
           pairs left out of the ranking), cold = seeded cold-start songs no training
           interaction touched; popularity counts training listeners only (cold songs tie:
           AUC 0.5), and implicit-feedback ALS (`implicit`) is the matrix-factorisation
           baseline (it cannot score cold songs);
  tags     the tagging task (`tagging.py`): an MLP (Dense 512 + BN + ReLU twice → sigmoid, SGD
           0.1 Nesterov, batch 10) on the frozen song embedding of the authors'-protocol model,
           macro ROC-AUC on held-out songs, beside the same network untrained.

The "multi" model's five levels (the song embedding, and conv5 … conv2) are each evaluated on
their own, as the authors' `evaluation.py` and `tagging.py` do.

The table (mean ± standard deviation over seeds) is printed and written to `<out>/dcue_table.md`
and `.json`. Finished training runs and the song spectrograms are reused, so an interrupted run
resumes (a training run from its last finished epoch).

Data: `--data` is a folder converted by `python -m tfrecords_tools taste-profile` (song
TFRecords beside `interactions.npz`). Tags for the tagging task: `--tags CSV` with columns
`song_id` and `tags` (tags separated by `|`), e.g. the MSD's last.fm tags of the songs.

`--demo`: `keras_samplecnn.datasets.make_demo_listeners` (synthetic listeners whose tastes follow
the demo songs' styles, tags and artists, with popularity bias and noise) converted by the same
converter, trained with the smaller settings of `dcue.yaml`'s `demo:` section (fixed work), seed
0. Songs are then listed in order of listeners, so the authors' modulo-10 split spreads popular
and rare songs over its parts. `--demo-size dataset.num_users=100` (or `num_users=100`) changes
the synthetic listeners, `--demo-size convert.cold_fraction=0.25` their conversion.
"""

import csv
import dataclasses
import os
import time
import typing

from keras_samplecnn.experiments import STARTED, command, settings
from keras_samplecnn.experiments.data import ExperimentError, dataset_of, synthesise_demo
from keras_samplecnn.experiments.results import (
    Results,
    Timings,
    cell,
    markdown_table,
    save_table,
    summarise,
    verdict,
)

CONFIG = "dcue"
VARIANTS = ("basic", "multi", "multi_mean")  # models.dcue.VARIANTS, not imported: --help needs no Keras
PROTOCOLS = ("authors", "heldout")
UNTRAINED = "untrained"
POPULARITY, ALS = "popularity", "ALS (implicit)"


def _field(default, test=None, what="", choices=None):
    """A dataclass field with its default and its allowed values (`training.config.build` checks
    them, naming the key): `test(value)` must hold, or the value be one of `choices`."""
    metadata = {"check": (test, what)} if test else {"choices": choices} if choices else {}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


POSITIVE_INT = (lambda v: v >= 1, "an int >= 1")
NON_NEGATIVE_INT = (lambda v: v >= 0, "an int >= 0")
POSITIVE = (lambda v: v > 0, "a number > 0")
NON_NEGATIVE = (lambda v: v >= 0, "a number >= 0")
MOMENTUM = (lambda v: 0 <= v < 1, "a number in [0, 1)")


def _is_int(value, least):
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _epochs_ok(value):
    if isinstance(value, dict):
        return bool(value) and set(value) <= set(VARIANTS) and all(_is_int(v, 1) for v in value.values())
    return value >= 1


def _split_ok(value):
    if isinstance(value, str):
        return value == "authors"
    fractions = all(isinstance(f, (int, float)) and not isinstance(f, bool) and 0 < f < 1 for f in value)
    return len(value) == 3 and fractions and sum(value) <= 1 + 1e-9


@dataclasses.dataclass
class ModelSettings:
    """`models.DCUE`'s arguments (the authors' `model.py`, `train.py`; the front end's: DCUE's defaults)."""

    num_frames: int = _field(130, lambda v: v >= 128, "an int >= 128 (4·4·4·2 poolings to one frame)")
    num_negatives: int = _field(20, *POSITIVE_INT)  # models.dcue.NUM_NEGATIVES (this module imports no Keras)
    user_dim: int = _field(300, *POSITIVE_INT)
    embedding_dim: int = _field(256, *POSITIVE_INT)
    conv_filters: list = _field(
        [128, 256, 256, 256, 256], lambda v: len(v) == 5 and all(_is_int(f, 1) for f in v), "a list of 5 ints >= 1"
    )
    l2: float = _field(0.0, *NON_NEGATIVE)
    user_relu: bool = True
    fft_length: int = _field(1024, *POSITIVE_INT)
    hop_length: int = _field(512, *POSITIVE_INT)
    num_mel_bins: int = _field(128, *POSITIVE_INT)
    mel_scale: str = _field("slaney", choices=("slaney", "htk"))  # layers.mel.MEL_SCALES
    mel_norm: typing.Optional[str] = _field("slaney", choices=("slaney", None))  # layers.mel.NORMS
    mel_power: float = _field(1.0, *POSITIVE)


@dataclasses.dataclass
class TrainingSettings:
    """`training.dcue.train_dcue`'s arguments (the authors' `train.py`); `epochs` may be given per variant."""

    learning_rate: float = _field(0.2, *POSITIVE)
    momentum: float = _field(0.9, *MOMENTUM)
    nesterov: bool = True
    step_decay: float = _field(1e-6, *NON_NEGATIVE)
    loss_reduction: str = _field("sum", choices=("sum", "sum_over_batch_size"))
    epoch_divisor: int = _field(10, *POSITIVE_INT)
    batch_size: int = _field(10, *POSITIVE_INT)
    margin: float = _field(0.2, *POSITIVE)  # models.dcue.MARGIN
    epochs: typing.Union[int, dict] = _field(
        {"basic": 561, "multi": 285, "multi_mean": 561},
        _epochs_ok,
        f"an int >= 1 or {{variant: int >= 1}} with variants of {list(VARIANTS)}",
    )

    def epochs_of(self, variant):
        """The epochs of one variant."""
        if not isinstance(self.epochs, dict):
            return self.epochs
        if variant not in self.epochs:
            raise ExperimentError(f"error: training.epochs gives no number for the {variant!r} variant")
        return self.epochs[variant]

    def arguments(self, variant):
        """`train_dcue`'s keyword arguments for one variant."""
        return {**dataclasses.asdict(self), "epochs": self.epochs_of(variant)}


@dataclasses.dataclass
class EvaluationSettings:
    """The protocols (the first one also trains the embeddings the tagging task uses)."""

    protocols: list = _field(
        list(PROTOCOLS),
        lambda v: bool(v) and set(v) <= set(PROTOCOLS) and len(set(v)) == len(v),
        f"a non-empty list of distinct protocols of {list(PROTOCOLS)}",
    )


@dataclasses.dataclass
class AlsSettings:
    """`evaluation.recommendation.als_scores`'s settings (implicit-feedback ALS, ours)."""

    factors: int = _field(64, *POSITIVE_INT)
    regularization: float = _field(0.05, *NON_NEGATIVE)
    alpha: float = _field(1.0, *NON_NEGATIVE)
    iterations: int = _field(15, *POSITIVE_INT)


@dataclasses.dataclass
class BaselineSettings:
    """The baselines' settings."""

    als: AlsSettings = dataclasses.field(default_factory=AlsSettings)


@dataclasses.dataclass
class TaggingSettings:
    """The authors' tagging MLP on the frozen song embedding (`tagging.py`)."""

    hidden: int = _field(512, *POSITIVE_INT)
    batch_norm: bool = True
    dropout: float = _field(0.0, lambda v: 0 <= v < 1, "a number in [0, 1)")
    learning_rate: float = _field(0.1, *POSITIVE)
    momentum: float = _field(0.9, *MOMENTUM)
    nesterov: bool = True
    step_decay: float = _field(1e-6, *NON_NEGATIVE)
    batch_size: int = _field(10, *POSITIVE_INT)
    epochs: int = _field(1000, *POSITIVE_INT)
    patience: int = _field(9, *NON_NEGATIVE_INT)
    reduce_factor: float = _field(0.2, lambda v: 0 < v < 1, "a number in (0, 1)")
    reduce_patience: int = _field(4, *NON_NEGATIVE_INT)
    min_learning_rate: float = _field(1.6e-7, *NON_NEGATIVE)
    split: typing.Union[str, list] = _field(
        "authors", _split_ok, "'authors' or [train, valid, test] fractions in (0, 1) summing to 1"
    )
    levels: str = _field("all", choices=("all", "first"))


@dataclasses.dataclass
class OutputSettings:
    """Where a run writes (`--out` wins; `_demo` appended under `--demo`)."""

    dir: str = "runs/dcue"


@dataclasses.dataclass
class DcueConfig:
    """`dcue.yaml`: the authors' settings (the sections' defaults are theirs too)."""

    model: ModelSettings = dataclasses.field(default_factory=ModelSettings)
    training: TrainingSettings = dataclasses.field(default_factory=TrainingSettings)
    evaluation: EvaluationSettings = dataclasses.field(default_factory=EvaluationSettings)
    baselines: BaselineSettings = dataclasses.field(default_factory=BaselineSettings)
    tagging: TaggingSettings = dataclasses.field(default_factory=TaggingSettings)
    output: OutputSettings = dataclasses.field(default_factory=OutputSettings)


@dataclasses.dataclass
class DemoConvert:
    """`python -m tfrecords_tools taste-profile` options for the demo listeners (None: its default)."""

    num_users: typing.Optional[int] = _field(None, lambda v: v is None or v >= 1, "null or an int >= 1")
    num_songs: typing.Optional[int] = _field(None, lambda v: v is None or v >= 1, "null or an int >= 1")
    cold_fraction: typing.Optional[float] = _field(None, lambda v: v is None or 0 <= v < 1,
                                                   "null or a number in [0, 1)")  # fmt: skip
    holdout_fraction: typing.Optional[float] = _field(None, lambda v: v is None or 0 <= v < 1,
                                                      "null or a number in [0, 1)")  # fmt: skip
    seed: typing.Optional[int] = None


@dataclasses.dataclass
class DcueDemo(settings.Demo):
    """`dcue.yaml`'s `demo:` section: `dataset` (`make_demo_listeners`' arguments), `convert`, the
    seeds run without `--seeds`, and `settings` over the config."""

    convert: DemoConvert = dataclasses.field(default_factory=DemoConvert)
    seeds: list = _field(
        [0], lambda v: bool(v) and all(_is_int(s, 0) for s in v), "a non-empty list of ints >= 0"
    )


def load(config=CONFIG, demo=False, profile=None, sets=(), demo_sizes=()):
    """The validated config of a run (`settings.Loaded`; `.config` a `DcueConfig`, `.demo` a `DcueDemo`)."""
    return settings.load(config, DcueConfig, demo=demo, profile=profile, sets=sets, demo_schema=DcueDemo,
                         demo_sets=demo_sizes)  # fmt: skip


def demo_sets(items):
    """`--demo-size` items as overrides of the `demo:` section: a key of the section as given
    (`convert.num_users=30`), any other the demo maker's (`num_users=30` is `dataset.num_users=30`)."""
    sections = {f.name for f in dataclasses.fields(DcueDemo)}
    return [item if item.split("=", 1)[0].split(".")[0].strip() in sections else f"dataset.{item}"
            for item in items]  # fmt: skip


def variants_of(text):
    """`--variants basic,multi` as a list, each checked."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or set(names) - set(VARIANTS):
        raise ExperimentError(f"error: --variants: {text!r}; choose from {list(VARIANTS)}")
    return names


def convert_demo(raw, converted, options, workers, timings):
    """Converts the demo listeners in `raw` by `python -m tfrecords_tools taste-profile`, unless done."""
    from keras_samplecnn.data.interaction_split import FILE_NAME
    from tfrecords_tools.cli import main as convert_main

    if os.path.exists(os.path.join(converted, FILE_NAME)):
        return converted
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in dataclasses.asdict(options).items()
             if value is not None]  # fmt: skip
    argv = ["taste-profile", "--triplets", os.path.join(raw, "train_triplets.txt"), "--audio-dir",
            os.path.join(raw, "audio"), "--msd-tracks", os.path.join(raw, "unique_tracks.txt"), "--out", converted,
            *flags]  # fmt: skip
    if workers:
        argv += ["--workers", str(workers)]
    with timings("conversion"):
        if convert_main(argv) != 0:
            raise ExperimentError("conversion of the demo listeners failed; rerun the same command to resume")
    return converted


def read_tags(path, song_ids):
    """`(tag names, multi-hot (songs, tags))` of the songs from a song_id,tags CSV; songs not in
    the file get no tag."""
    import numpy as np

    row_of = {song: i for i, song in enumerate(song_ids)}
    found = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"song_id", "tags"} <= set(reader.fieldnames):
            raise ExperimentError(f"error: {path}: need a header with 'song_id' and 'tags' columns")
        for row in reader:
            if row["song_id"] in row_of:
                found[row["song_id"]] = [t for t in row["tags"].split("|") if t]
    names = sorted({t for tags in found.values() for t in tags})
    column = {t: k for k, t in enumerate(names)}
    labels = np.zeros((len(song_ids), len(names)), np.float32)
    for song, tags in found.items():
        labels[row_of[song], [column[t] for t in tags]] = 1.0
    return names, labels


def mel_statistics(table, frames, rows):
    """Mean and standard deviation of the log-mel values of some songs (their real frames)."""
    import numpy as np

    total, squares, count = 0.0, 0.0, 0
    for row in rows:
        values = np.asarray(table[row, : frames[row]], np.float64)
        total, squares, count = total + values.sum(), squares + (values**2).sum(), count + values.size
    mean = total / count
    return float(mean), float(np.sqrt(max(squares / count - mean**2, 1e-12)))


def new_model(variant, split, model, sample_rate, statistics):
    """A new `DCUE` of `variant` for the split's users, standardised by `statistics` (mean, std).

    Args:
        model: a `ModelSettings`.
    """
    from keras_samplecnn.models.dcue import DCUE

    return DCUE(users=list(split.users), variant=variant, sample_rate=sample_rate, mel_mean=statistics[0],
                mel_std=statistics[1], **dataclasses.asdict(model))  # fmt: skip


def method_names(variant):
    """The table's method name of each level of a DCUE variant."""
    from keras_samplecnn.models.dcue import VARIANTS as LEVELS

    if variant != "multi":
        return [f"DCUE {variant}"]
    return [f"DCUE {variant} ({level})" for level in LEVELS[variant]]


class Protocol:
    """One protocol (see the module docstring), made once per run: `training`, the split its
    models train on, and per-user ROC-AUC of a score matrix on its warm and cold songs."""

    def __init__(self, split, protocol):
        from keras_samplecnn.data.interaction_split import authors_protocol, authors_song_sets

        self.protocol = protocol
        self.training = authors_protocol(split) if protocol == "authors" else split
        if protocol == "authors":
            train_songs, _, test_songs = authors_song_sets(split.order)
            self.played = split.matrix()
            self.sets = {"warm": (self.played, train_songs, None), "cold": (self.played, test_songs, None)}
        else:
            trained = split.matrix(split.train)
            self.sets = {"warm": (split.matrix(split.test_warm), ~split.cold, trained),
                         "cold": (split.matrix(split.test_cold), split.cold, None)}  # fmt: skip

    def rows(self, scores, method, seed, tasks=("warm", "cold")):
        from keras_samplecnn.evaluation.recommendation import per_user_auc

        rows = []
        for task in tasks:
            positives, candidates, exclude = self.sets[task]
            result = per_user_auc(scores, positives, candidates, exclude=exclude)
            rows.append({"method": method, "seed": seed, "protocol": self.protocol, "task": task,
                         "value": result["auc"], "users": result["users"]})  # fmt: skip
        return rows


def tagging_split(num_songs, fractions, seed):
    """Song positions for the tagger's training, validation and test: "authors" (`tagging.py`:
    position modulo 10 in 0-6, 7, and 8-9) or seeded fractions."""
    import numpy as np

    if fractions == "authors":
        remainder = np.arange(num_songs) % 10
        return np.flatnonzero(remainder < 7), np.flatnonzero(remainder == 7), np.flatnonzero(remainder >= 8)
    order = np.random.default_rng(np.random.SeedSequence([seed, 0x54414753])).permutation(num_songs)
    train_end = int(round(fractions[0] * num_songs))
    valid_end = train_end + int(round(fractions[1] * num_songs))
    return order[:train_end], order[train_end:valid_end], order[valid_end:]


def tagging_model(width, num_tags, options):
    """The authors' tagging MLP (`tagging.py` `model`): (Dense(hidden) → BatchNorm → ReLU) x 2 →
    Dense(tags, sigmoid).

    Args:
        width: the song embedding's width.
        num_tags: the outputs.
        options: a `TaggingSettings`.
    """
    import keras

    inputs = keras.Input((width,), name="embedding")
    x = inputs
    for index in (1, 2):
        x = keras.layers.Dense(options.hidden, name=f"dense{index}")(x)
        if options.batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn{index}")(x)
        x = keras.layers.ReLU(name=f"relu{index}")(x)
        if options.dropout:
            x = keras.layers.Dropout(options.dropout, name=f"dropout{index}")(x)
    return keras.Model(inputs, keras.layers.Dense(num_tags, activation="sigmoid", name="tags")(x), name="tagger")


def tagging_auc(embeddings, labels, tags, options, seed):
    """Macro ROC-AUC on held-out songs of the tagging MLP trained on frozen song embeddings of the
    songs with at least one tag (`tagging.py`: SGD with Nesterov momentum and decay, early
    stopping and rate reduction on the validation loss; tags with a positive and a negative
    test song are scored, as its `eval_retrieval` scores tags with a positive).

    Args:
        embeddings: `(songs, width)` song embeddings.
        labels: `(songs, tags)` multi-hot.
        tags: the tag names.
        options: a `TaggingSettings`.
        seed: the MLP's seed (and the split's, for fractions).

    Returns:
        the macro ROC-AUC, or None when a part of the split or the scored tags is empty.
    """
    import keras
    import numpy as np

    from keras_samplecnn.evaluation.metrics import tagging_metrics
    from keras_samplecnn.training.optimizers import StepDecaySGD

    tagged = np.flatnonzero(labels.sum(axis=1) > 0)
    parts = [tagged[p] for p in tagging_split(len(tagged), options.split, seed)]
    (x_train, x_valid, x_test), (y_train, y_valid, y_test) = ([embeddings[p] for p in parts],
                                                              [labels[p] for p in parts])  # fmt: skip
    scored = (y_test.sum(axis=0) > 0) & (y_test.sum(axis=0) < len(y_test))
    if not len(x_train) or not len(x_valid) or not scored.any():
        return None
    keras.utils.set_random_seed(seed)
    model = tagging_model(x_train.shape[1], labels.shape[1], options)
    optimizer = StepDecaySGD(options.learning_rate, momentum=options.momentum, nesterov=options.nesterov,
                             step_decay=options.step_decay)  # fmt: skip
    # No XLA: the model is tiny and trains in less time than XLA takes to compile it.
    # An epoch's steps in one call: the same updates without Keras's per-step overhead, which
    # dominates on batches of 10.
    model.compile(optimizer=optimizer, loss="binary_crossentropy", jit_compile=False,
                  steps_per_execution=max(1, -(-len(x_train) // options.batch_size)))  # fmt: skip
    callbacks = [keras.callbacks.EarlyStopping(patience=options.patience),
                 keras.callbacks.ReduceLROnPlateau(factor=options.reduce_factor, patience=options.reduce_patience,
                                                   min_lr=options.min_learning_rate)]  # fmt: skip
    model.fit(x_train, y_train, batch_size=options.batch_size, epochs=options.epochs,
              validation_data=(x_valid, y_valid), callbacks=callbacks, verbose=0)  # fmt: skip
    predicted = np.asarray(model.predict(x_test, batch_size=1024, verbose=0))
    return tagging_metrics(y_test[:, scored], predicted[:, scored], [t for t, k in zip(tags, scored) if k])["roc_auc"]


def run_seed(seed, variants, protocols, split, table, frames, tags, config, sample_rate, statistics, out, timings):
    """Every row of one seed: DCUE variants per protocol, the untrained network, popularity, ALS.

    Args:
        protocols: the `Protocol`s (the first one's models get the tagging task).
        config: a `DcueConfig`.
        statistics: `{protocol: (mean, std)}` of the log-mel values its training sees.
    """
    import keras

    from keras_samplecnn.evaluation.recommendation import als_scores, listener_scores, popularity_scores
    from keras_samplecnn.recommender import embed_song_table, embed_users
    from keras_samplecnn.training.dcue import MODEL_FILE, RunMismatchError, train_dcue

    rows = []
    tag_protocol = protocols[0].protocol
    for evaluation in protocols:
        protocol, data = evaluation.protocol, evaluation.training
        train = data.train
        for variant in variants:
            run_dir = os.path.join(out, f"seed{seed}", protocol, variant)
            if os.path.exists(os.path.join(run_dir, MODEL_FILE)):
                print(f"seed {seed}: {run_dir} holds a finished DCUE ({variant}, {protocol}) run, reused")
            else:
                print(f"\n=== seed {seed}: training DCUE ({variant}) on the {protocol} protocol's split ===", flush=True)
            keras.utils.set_random_seed(seed)
            model = new_model(variant, split, config.model, sample_rate, statistics[protocol])
            with timings("training"):
                try:
                    model = train_dcue(model, table, frames, data.user[train], data.song[train], seed=seed,
                                       run_dir=run_dir, **config.training.arguments(variant))  # fmt: skip
                except RunMismatchError as error:  # other settings or data than the run kept there
                    raise ExperimentError(f"error: {error}") from None
            with timings("evaluation"):
                for level, method in enumerate(method_names(variant)):
                    songs = embed_song_table(model, table, frames, level=level)
                    rows += evaluation.rows(embed_users(model, level=level) @ songs.T, method, seed)
                    every_level = config.tagging.levels == "all"
                    if tags is not None and protocol == tag_protocol and (level == 0 or every_level):
                        value = tagging_auc(songs, tags[1], tags[0], config.tagging, seed)
                        rows.append({"method": method, "seed": seed, "protocol": protocol, "task": "tags",
                                     "value": value})  # fmt: skip
        with timings("evaluation"):
            keras.utils.set_random_seed(seed)
            untrained = new_model(variants[0], split, config.model, sample_rate, statistics[protocol])
            songs = embed_song_table(untrained, table, frames)
            rows += evaluation.rows(embed_users(untrained) @ songs.T, UNTRAINED, seed)
            if tags is not None and protocol == tag_protocol:
                value = tagging_auc(songs, tags[1], tags[0], config.tagging, seed)
                rows.append({"method": UNTRAINED, "seed": seed, "protocol": protocol, "task": "tags", "value": value})
            if protocol == "authors":
                rows += evaluation.rows(listener_scores(evaluation.played), POPULARITY, seed)
            else:
                counts = (data.user[train], data.song[train])
                rows += evaluation.rows(popularity_scores(*counts, split.num_users, split.num_songs), POPULARITY,
                                        seed)  # fmt: skip
                als = als_scores(*counts, data.count[train], split.num_users, split.num_songs, seed=seed,
                                 **dataclasses.asdict(config.baselines.als))  # fmt: skip
                # ALS gives cold-start songs no factors: it cannot rank them, so no cold number.
                rows += evaluation.rows(als, ALS, seed, tasks=("warm",))
    return rows


def summarise_rows(rows):
    """`{(method, protocol, task): {"values", "mean", "std"}}` over seeds (std None for one seed)."""
    return summarise(rows, key=lambda row: (row["method"], row.get("protocol"), row["task"]))


COLUMNS = {
    ("heldout", "warm"): "held-out: warm songs",
    ("heldout", "cold"): "held-out: cold-start songs",
    ("authors", "warm"): "authors': training songs",
    ("authors", "cold"): "authors': test songs",
}


def columns_of(protocols, tag_protocol, with_tags):
    """The table's `(protocol, task)` columns: held-out first, then the authors', then tagging."""
    columns = [(p, t) for p in ("heldout", "authors") if p in protocols for t in ("warm", "cold")]
    return columns + ([(tag_protocol, "tags")] if with_tags else [])


def table_of(summary, methods, columns):
    """The Markdown table of the methods' `mean ± std` per column."""
    header = ["method", *(COLUMNS.get(column, "tagging (ROC-AUC)") for column in columns)]
    # ALS gives cold-start songs no factors: its cell says so rather than "—".
    rows = [[method, *(cell(summary.get((method, *column)),
                            "cannot score" if (method, *column) == (ALS, "heldout", "cold") else "—")
                       for column in columns)]
            for method in methods]  # fmt: skip
    return markdown_table(header, rows)


def verdicts(summary, methods, columns):
    """One line per DCUE level and comparison: better on every seed, or not."""
    lines = []
    for method in methods:
        if not method.startswith("DCUE"):
            continue
        for protocol, task in columns:
            for baseline in (UNTRAINED,) if task == "tags" else (POPULARITY, ALS):
                ours, theirs = summary.get((method, protocol, task)), summary.get((baseline, protocol, task))
                if ours and theirs:
                    where = "tags" if task == "tags" else COLUMNS[(protocol, task)]
                    lines.append(verdict(method, ours, baseline, theirs, where))
    return lines


def write_table(out, rows, methods, seeds, title, columns, notes=()):
    """Writes and prints `<out>/dcue_table.md` and `.json`; returns `(text, summary)`."""
    summary = summarise_rows(rows)
    methods = [m for m in methods if any(key[0] == m for key in summary)]
    lines = [title, "", table_of(summary, methods, columns), "", *verdicts(summary, methods, columns), *notes]
    text = "\n".join(lines).rstrip() + "\n"
    save_table(out, "dcue_table", text, {
        "seeds": seeds, "rows": rows,
        "summary": [{"method": m, "protocol": p, "task": t, **entry} for (m, p, t), entry in summary.items()],
    })  # fmt: skip
    return text, summary


def run(config=CONFIG, data=None, tags=None, out=None, demo=False, variants=("basic", "multi"), seeds=None,
        profile=None, sets=(), demo_sizes=(), workers=None, script=None, started=None):  # fmt: skip
    """Trains and evaluates DCUE per seed, protocol and variant beside the baselines, and writes the table.

    Args:
        config: a config name under `experiments/configs/` or a YAML path (`dcue`).
        data: a folder converted by `python -m tfrecords_tools taste-profile`.
        tags: a `song_id,tags` CSV for the tagging task (under `demo`: the demo songs' tags).
        out: the run folder (default: the config's `output.dir`, `_demo` appended under `demo`).
        demo: run on synthetic listeners with the config's `demo:` settings.
        variants: DCUE variants among `VARIANTS`.
        seeds: the seeds (default: the demo's under `demo`, else [0]).
        profile: a profile merged over the config.
        sets: `section.key=value` overrides, applied last.
        demo_sizes: overrides of the `demo:` section (`dataset.num_users=100`, `convert.seed=1`).
        workers: processes for demo synthesis and conversion.
        script: the command in messages (default: `samplecnn run CONFIG`).
        started: `time.monotonic()` at the run's start (default: when the experiments were imported).

    Returns:
        `Results` with the table, the summary `{(method, protocol, task): over_seeds}`, and
        `extra["rows"]` (every seed's numbers) and `extra["seeds"]`.
    """
    loaded = load(config, demo, profile, sets, demo_sizes)
    dcue_config, dataset = loaded.config, dataset_of(loaded.dataset)
    variants = list(variants)
    if not variants or set(variants) - set(VARIANTS):
        raise ExperimentError(f"error: variants: {variants!r}; choose from {list(VARIANTS)}")
    for variant in variants:  # now, not after the first variant's training
        dcue_config.training.epochs_of(variant)
    seeds = list(seeds) if seeds is not None else list(loaded.demo.seeds) if demo else [0]
    out = out or (dcue_config.output.dir + ("_demo" if demo else ""))
    timings = Timings({"start-up": time.monotonic() - (STARTED if started is None else started)})
    protocols = list(dcue_config.evaluation.protocols)
    if "heldout" in protocols:  # its ALS baseline; said now, not after the training
        from keras_samplecnn.messages import needs_extra

        try:
            needs_extra("implicit.cpu.als", "recommend", "the held-out protocol's ALS baseline")
        except ImportError as error:
            raise ExperimentError(f"error: {error}") from None

    import numpy as np

    from keras_samplecnn.data.interaction_split import FILE_NAME, load_interaction_split
    from keras_samplecnn.data.manifest import read_manifest
    from keras_samplecnn.data.song_mels import song_mel_table

    if demo:
        raw = synthesise_demo(dataset, os.path.join(out, "data"), loaded.demo.dataset, workers, timings)
        data = convert_demo(raw, os.path.join(out, "data", "taste"), loaded.demo.convert, workers, timings)
        tags = os.path.join(raw, "songs.csv")
    elif not data or not os.path.exists(os.path.join(data, FILE_NAME)):
        where = f" in {data!r} (no {FILE_NAME})" if data else " (no --data given)"
        script = script or f"samplecnn run {config}"
        raise ExperimentError(dataset.download_help.format(where=where, script=script))
    split = load_interaction_split(data)
    sample_rate = read_manifest(data).sample_rate
    frontend = new_model("basic", split, dcue_config.model, sample_rate, (0.0, 1.0)).mel_frontend()
    with timings("spectrograms"):
        table, frames = song_mel_table(data, split.songs, frontend, cache_dir=os.path.join(out, "cache"))
        evaluations = [Protocol(split, protocol) for protocol in protocols]
        # Standardisation from the songs each protocol's training sees (not its cold-start ones).
        statistics = {e.protocol: mel_statistics(table, frames, np.unique(e.training.song[e.training.train]))
                      for e in evaluations}  # fmt: skip
    tag_table = read_tags(tags, list(split.songs)) if tags else None
    print(f"{split.num_users} users, {split.num_songs} songs ({int(split.cold.sum())} cold-start), "
          f"interactions: {int(split.train.sum())} train, {int(split.test_warm.sum())} held-out warm, "
          f"{int(split.test_cold.sum())} of cold-start songs")  # fmt: skip

    rows = []
    for seed in seeds:
        rows += run_seed(seed, variants, evaluations, split, table, frames, tag_table, dcue_config,
                         sample_rate, statistics, out, timings)  # fmt: skip
    source = "synthetic demo listeners" if demo else data
    title = (f"DCUE (DLRS 2018) on {source}: {split.num_users} users x {split.num_songs} songs "
             f"({int(split.cold.sum())} cold-start); seeds {', '.join(map(str, seeds))}")  # fmt: skip
    notes = ["", "Held-out protocol: popularity gives every cold-start song the same score (no listener in "
             "training): AUC 0.5. Authors' protocol: popularity counts the evaluated songs' own listeners."]
    methods = [name for variant in variants for name in method_names(variant)]
    columns = columns_of(protocols, protocols[0], tag_table is not None)
    methods += [POPULARITY, ALS, UNTRAINED]
    text, summary = write_table(out, rows, methods, seeds, title, columns, notes)
    timings.save(os.path.join(out, "timings.json"))
    print(timings.line())
    return Results(table=text, summary=summary, out_dir=out, timings=dict(timings),
                   extra={"rows": rows, "seeds": seeds})  # fmt: skip


def main(config=CONFIG, doc=None, argv=None, prog=None):
    """The command line of `dcue.yaml` (`python recipes/dcue.py`, `samplecnn run dcue`)."""
    parser = command.parser(doc or __doc__, prog,
                            data_help="a folder converted by python -m tfrecords_tools taste-profile",
                            set_example="training.learning_rate=0.1", demo_size_example="num_users=100")  # fmt: skip
    parser.add_argument("--tags", metavar="CSV", help="song_id,tags (|-separated) for the tagging task")
    parser.add_argument("--variants", default="basic,multi",
                        help="basic, multi (default: both) and/or multi_mean")  # fmt: skip
    parser.add_argument("--seeds",
                        help="comma-separated seeds (default 0; with --demo the demo section's)")  # fmt: skip
    args = parser.parse_args(argv)
    command.quiet()
    return run(config, data=args.data, tags=args.tags, out=args.out, demo=args.demo,
               variants=variants_of(args.variants), seeds=command.seeds(args.seeds) if args.seeds else None,
               profile=args.profile, sets=args.set, demo_sizes=demo_sets(args.demo_size),
               workers=args.workers, script=command.script(prog, config))  # fmt: skip
