"""Trains a model of the zoo on converted TFRecords, the papers' way, resumably."""

import json
import math
import os

import keras

from keras_samplecnn.data import feed
from keras_samplecnn.data.manifest import read_manifest
from keras_samplecnn.data.portable import count_segments
from keras_samplecnn.files import write_json_atomic
from keras_samplecnn.models import build
from keras_samplecnn.models.artist import ARTIST_MODELS, ArtistHingeLoss, positive_ranked_first
from keras_samplecnn.training import config as config_lib
from keras_samplecnn.training import distribution, precision
from keras_samplecnn.training.callbacks import Backup, StagedDecay, TimeBudget
from keras_samplecnn.training.optimizers import StepDecaySGD

BEST = "best.keras"
LOG = "training_log.csv"
BACKUP = "backup"
SCHEDULE_STATE = "schedule_state.json"
SIAMESE = "artist_siamese"


def build_model(config, manifest, policy):
    """The model named in `config`, sized for the dataset described by `manifest`.

    Raises `ConfigError` before building when `model.overrides` asks for another sample rate
    than the data's or an input longer than `config.MAX_INPUT_SECONDS` (`check_model_input`).
    """
    config_lib.check_model_input(config, manifest["sample_rate"])
    task = manifest.get("task", "multi_label")
    if config.model.name in ARTIST_MODELS:
        return _build_artist_model(config, manifest, policy, task)
    kwargs = dict(config.model.overrides)
    kwargs.setdefault("sample_rate", manifest["sample_rate"])
    kwargs.setdefault("activation", "softmax" if task == "single_label" else "sigmoid")
    if config.model.multi_level:
        kwargs["multi_level"] = True
    if config.data.standardize:
        kwargs.update(_input_statistics(manifest, config.data.train_split))
    try:
        return build(
            config.model.name,
            num_classes=len(manifest["tags"]),
            tags=manifest["tags"],
            dtype=policy,
            **kwargs,
        )
    except ValueError as error:
        raise config_lib.ConfigError(f"model: {error}") from None


def _build_artist_model(config, manifest, policy, task):
    """An ISMIR 2018 artist model over the artists (single-label classes) of the data."""
    if task != "single_label":
        raise config_lib.ConfigError(
            f"model.name {config.model.name}: needs data labelled by artist (single-label, "
            f"python -m tfrecords_tools artists); {manifest.get('source', 'the data')} is {task}"
        )
    if config.model.multi_level or config.data.standardize:
        raise config_lib.ConfigError(
            f"model.name {config.model.name}: model.multi_level and data.standardize are SampleCNN "
            "options (the artist models standardise their log-mel input themselves)"
        )
    kwargs = dict(config.model.overrides)
    kwargs.setdefault("sample_rate", manifest["sample_rate"])
    if config.model.name == SIAMESE:
        kwargs["num_negatives"] = config.siamese.num_negatives
    try:
        return build(config.model.name, num_classes=len(manifest["tags"]), tags=manifest["tags"],
                     dtype=policy, **kwargs)  # fmt: skip
    except (TypeError, ValueError) as error:
        raise config_lib.ConfigError(f"model: {error}") from None


def _input_statistics(manifest, split):
    """`input_mean`/`input_std` of the training split, as the converter recorded them."""
    info = manifest["splits"].get(split, {})
    if info.get("mean") is None or not info.get("std"):
        raise config_lib.ConfigError(
            f"data.standardize: the manifest of {manifest.get('source', 'the data')} has no mean/std "
            f"for the {split!r} split; convert the data again with this version of tfrecords_tools"
        )
    return {"input_mean": info["mean"], "input_std": info["std"]}


def compile_model(model, config, jit_compile, task):
    """Compiles with the papers' optimizer (`StepDecaySGD`), loss and monitoring metrics."""
    opt = config.optimization
    optimizer = StepDecaySGD(
        opt.learning_rate, momentum=opt.momentum, nesterov=opt.nesterov, step_decay=opt.step_decay
    )
    if config.model.name == SIAMESE:
        # ISMIR 2018: the hinge loss over the cosine scores, summed over the batch as the authors do.
        loss = ArtistHingeLoss(margin=config.siamese.margin)
        metrics = [keras.metrics.MeanMetricWrapper(positive_ranked_first, name="positive_first")]
    elif task == "single_label":
        loss, metrics = "categorical_crossentropy", ["accuracy"]
    else:
        loss = "binary_crossentropy"
        # Segment-level AUCs for monitoring; final numbers come from the clip-level evaluation.
        metrics = [
            keras.metrics.AUC(multi_label=True, name="roc_auc"),
            keras.metrics.AUC(curve="PR", multi_label=True, name="pr_auc"),
        ]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit_compile)


def segments_per_epoch(config, segment_length):
    """Training segments in one epoch of `config` for a model input of `segment_length`.

    `steps_per_epoch` batches when it is set; else every segment of every training clip
    (`crops_per_clip: all`, the papers' epoch) or k random crops per clip.
    """
    data = config.data
    if data.steps_per_epoch:
        return data.steps_per_epoch * data.batch_size
    if data.crops_per_clip == "all":
        return count_segments(data.dir, data.train_split, segment_length)
    return read_manifest(data.dir).num_clips(data.train_split) * data.crops_per_clip


def finished(out):
    """Whether `out` holds a completed run (schedule ended or epochs done, best model saved)."""
    return os.path.exists(os.path.join(out, BEST)) and bool(read_state(out).get("finished"))


def train(config, extra_callbacks=()):
    """Trains as configured; running the same config again resumes an interrupted run.

    Writes into `config.output.dir`: `config.yaml`, `best.keras` (lowest validation loss),
    `training_log.csv`, `tensorboard/`, `schedule_state.json`, and `backup/` while the run
    is unfinished. A finished run is not trained again.

    Args:
        config: a `TrainConfig`.
        extra_callbacks: more Keras callbacks (appended after the built-in ones).

    Returns:
        the path of the best checkpoint.
    """
    out = config.output.dir
    best_path = os.path.join(out, BEST)
    if finished(out):
        print(f"{out} holds a finished run; its best model is {best_path}")
        return best_path
    plan = distribution.resolve(config)
    # The model is built, compiled and fitted under the strategy or distribution: Keras keeps
    # the tf.distribute strategy of the scope a model was built in; JAX's DataParallel lays
    # out variables when they are created and batches when they are fed.
    with plan.scope:
        return _train(config, plan, extra_callbacks)


def _train(config, plan, extra_callbacks):
    out = config.output.dir
    best_path = os.path.join(out, BEST)
    os.makedirs(out, exist_ok=True)
    config_lib.save(config, os.path.join(out, "config.yaml"))
    manifest = read_manifest(config.data.dir)
    try:
        reader = feed.resolve_reader(config.data.reader)
    except ImportError as error:
        raise config_lib.ConfigError(f"data.reader: {error}") from None
    task = manifest.get("task", "multi_label")
    policy, jit_compile, why = precision.choose(config.precision.policy, config.precision.xla)
    keras.utils.set_random_seed(config.optimization.seed)

    model = build_model(config, manifest, policy)
    compile_model(model, config, jit_compile, task)

    data = config.data
    train_clips = manifest.num_clips(data.train_split)
    steps = max(1, math.ceil(segments_per_epoch(config, model.input_length) / data.batch_size))
    if config.model.name == SIAMESE:
        if data.service:
            raise config_lib.ConfigError("data.service: the Siamese examples are made locally only")
        if reader != "tf_data":
            raise config_lib.ConfigError(
                "model.name artist_siamese: its examples are made with tf.data, which needs TensorFlow "
                "(pip install 'keras_samplecnn[tensorflow]')"
            )
        train_ds, valid_ds, valid_steps = _siamese_data(config, model.input_length)
    else:
        if data.service and reader != "tf_data":
            raise config_lib.ConfigError("data.service: a tf.data service needs data.reader tf_data")
        train_ds = feed.train_batches(
            reader,
            data.dir,
            split=data.train_split,
            segment_length=model.input_length,
            batch_size=data.batch_size,
            crops_per_clip=data.crops_per_clip,
            shuffle_buffer=data.shuffle_buffer,
            segment_shuffle_buffer=data.segment_shuffle_buffer,
            random_offsets=data.random_offsets,
            seed=config.optimization.seed,
            service=data.service,
            service_job=data.service_job,
        )
        # JAX's DataParallel shards every batch evenly over its devices, the last one too.
        even = plan.replicas if plan.strategy == "data_parallel" else 1
        if config.model.name in ARTIST_MODELS:
            # The authors' validation: one random excerpt per validation track, drawn once.
            from keras_samplecnn.data.artist_validation import basic_validation

            valid_ds, valid_steps = basic_validation(data.dir, data.valid_split, model.input_length,
                                                     data.eval_batch_size, config.optimization.seed + 1,
                                                     multiple_of=even)  # fmt: skip
        else:
            valid_ds, valid_steps = feed.validation_data(
                reader, data.dir, data.valid_split, model.input_length, data.eval_batch_size, multiple_of=even
            )

    if plan.strategy == "mirrored":
        if reader != "tf_data":
            raise config_lib.ConfigError("distribution.strategy mirrored: needs data.reader tf_data")
        if config.distribution.sync_batch_norm:
            distribution.synchronize_batch_norm(model)
        distribution.build_before_fit(model, train_ds)
    opt = config.optimization
    schedule = StagedDecay(
        learning_rate=opt.learning_rate,
        factor=opt.decay_factor,
        patience=opt.patience,
        stages=opt.stages,
        best_path=best_path,
        state_path=os.path.join(out, SCHEDULE_STATE),
    )
    callbacks = [
        # The schedule before the backup, so that the backup taken at the end of an epoch holds
        # the reloaded weights and reset optimizer of a stage change (see StagedDecay); the
        # backup writes atomically and keeps the schedule's state with the weights.
        schedule,
        Backup(os.path.join(out, BACKUP), schedule=schedule),
        keras.callbacks.CSVLogger(os.path.join(out, LOG), append=True),
    ]
    tensorboard = feed.tensorflow_installed()  # Keras writes TensorBoard logs with tf.summary
    if config.output.tensorboard and tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(out, "tensorboard")))
    budget = TimeBudget(opt.max_minutes, opt.max_epochs) if opt.max_minutes else None
    if budget:
        callbacks.append(budget)
    callbacks.extend(extra_callbacks)

    what = (
        "every segment" if data.crops_per_clip == "all" else f"{data.crops_per_clip} random crop(s) per clip"
    )
    if config.model.name == SIAMESE:
        what = f"anchors, each with a positive and {config.siamese.num_negatives} negatives; as many as {what}"
    print(
        f"Training {model.name} ({model.count_params():,} parameters) on {train_clips} clips, "
        f"{steps} steps of {data.batch_size} per epoch ({what}); at most {opt.max_epochs} epochs; "
        f"policy {policy} ({why}), XLA {'on' if jit_compile else 'off'}; {plan.describe()}; "
        f"{keras.config.backend()} backend, reader {reader}; output in {out}"
    )
    if config.output.tensorboard and not tensorboard:
        print("No TensorBoard logs: Keras writes them with TensorFlow, which is not installed "
              f"(the same curves are in {LOG})")  # fmt: skip
    model.fit(
        train_ds,
        epochs=config.optimization.max_epochs,
        steps_per_epoch=steps,
        validation_data=valid_ds,
        validation_steps=valid_steps,
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles
        verbose=config.output.verbose,
    )
    _mark_finished(out, cut_short=bool(budget and budget.stopped), policy=policy)
    return best_path


def _siamese_data(config, segment_length):
    """`(train, valid, valid steps)` of Siamese examples (anchor, positive, N negatives).

    An epoch has as many anchors as the configured epoch has segments. Validation is the
    authors' (`keras_samplecnn.data.artist_validation.siamese_validation`): one anchor per
    validation clip, one random excerpt each, with a positive and N negatives, drawn once from
    the seed, the same every epoch, so its loss can drive the staged decay.
    """
    from keras_samplecnn.data.artist_validation import siamese_validation
    from keras_samplecnn.data.siamese import siamese_dataset  # tf.data

    data, seed = config.data, config.optimization.seed
    options = dict(segment_length=segment_length, num_negatives=config.siamese.num_negatives,
                   batch_size=data.batch_size, shuffle_buffer=data.shuffle_buffer)  # fmt: skip
    train_ds = siamese_dataset(data.dir, data.train_split, seed=seed, **options)
    valid_ds, valid_steps = siamese_validation(data.dir, data.valid_split, segment_length,
                                               config.siamese.num_negatives, data.batch_size, seed + 1)  # fmt: skip
    return train_ds, valid_ds, valid_steps


def _mark_finished(out, cut_short=False, policy=None):
    """Records that `fit` returned (epochs done, schedule ended, or cut short by the time budget)
    and the dtype policy it trained in."""
    state = read_state(out)
    state["finished"] = True
    state["cut_short_by_time_budget"] = cut_short
    if policy:
        state["policy"] = policy
    write_json_atomic(os.path.join(out, SCHEDULE_STATE), state)


def read_state(out):
    """The schedule state of the run in `out` (`{}` before its first epoch)."""
    state_path = os.path.join(out, SCHEDULE_STATE)
    if not os.path.exists(state_path):
        return {}
    with open(state_path, encoding="utf-8") as f:
        return json.load(f)
