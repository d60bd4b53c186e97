"""Training the deep content-user embedding model (DCUE; Lee, Lee, Park, Park, Nam, DLRS 2018,
arXiv:1807.06786) as the authors' `train.py` does (jongpillee/deep-content-user @0e57b68): SGD at
lr 0.2 with Nesterov momentum 0.9 and Keras 2's per-step decay 1e-6, the hinge loss summed over
the batch and the negatives (`K.sum`; five such losses, summed, for "multi"), batches of 10
interactions each scored against 20 songs the user did not play, and an epoch of a tenth of
the training interactions (`steps_per_epoch = int(len_sparse / batch_size / 10)`).

One deliberate difference: the authors' generator cycles over the first tenth of an interaction
list shuffled once per worker process (`data_generator.py`, `for batch_iter in range(0,
steps_per_epoch * batch_size, …)` inside `while True`), so each worker sees the same tenth in
every epoch; ours continues through an endless, reshuffled stream, so every interaction is seen.

After every epoch the model and the epoch count are saved atomically to the run folder; a rerun
of the same call continues from there with the same stream (the finished batches are skipped),
so an interrupted run loses at most one epoch and ends where an uninterrupted one would. The
state also records the settings and digests of the model's configuration and of the training
data: a rerun with other ones is refused (`RunMismatchError`) instead of returning the old model.
"""

import csv
import hashlib
import json
import os
import time

import keras
import numpy as np

from keras_samplecnn.data.song_mels import dcue_batches
from keras_samplecnn.files import write_json_atomic
from keras_samplecnn.models.dcue import DCUE, MARGIN, dcue_loss
from keras_samplecnn.models.loading import load_model
from keras_samplecnn.training.optimizers import StepDecaySGD

MODEL_FILE = "model.keras"
_LAST = "last.keras"
_STATE = "state.json"
_HISTORY = "history.csv"


class RunMismatchError(ValueError):
    """A run folder holds a DCUE run of other settings, another model or other data."""


def train_dcue(model, table, frames, user, song, *, epochs, learning_rate=0.2, momentum=0.9, nesterov=True,
               step_decay=1e-6, loss_reduction="sum", epoch_divisor=10, batch_size=10, margin=MARGIN, seed=0,
               run_dir=None, verbose=1):  # fmt: skip
    """Trains `model` (a `DCUE`) on the training interactions; returns the trained model.

    Args:
        model: a new `DCUE`. When `run_dir` holds a checkpoint of the same call, that model
            continues instead (a finished run with at least `epochs` epochs is loaded and
            returned; asking for more epochs continues it). A checkpoint of other settings,
            another model configuration or other data raises `RunMismatchError`, naming what
            differs.
        table, frames: the songs' log-mel table and frame counts (`song_mel_table`).
        user, song: the training interactions (indices; a song never in them is never a
            positive nor a negative: cold-start songs stay out of training).
        epochs: epochs of `int(interactions / batch_size / epoch_divisor)` steps.
        learning_rate: SGD learning rate (`--lr 0.2`).
        momentum, nesterov: SGD momentum (0.9, Nesterov, as `train.py`'s `SGD`; 0 and False
            give plain SGD).
        step_decay: Keras 2's per-step decay, `lr / (1 + step_decay * step)` (`--lrdecay 1e-6`).
        loss_reduction: "sum" over the batch (the authors' `K.sum`) or "sum_over_batch_size"
            (the batch mean: a step `batch_size` times smaller).
        epoch_divisor: an epoch is this fraction of the training interactions (10 in
            `train.py`; 1 for a pass over all of them).
        batch_size: interactions per step (`--batch_size 10`).
        margin: hinge margin (`--margin 0.2`).
        seed: seed of the interaction order, the negatives and the excerpts.
        run_dir: folder for `model.keras` (the result), the per-epoch checkpoint and
            `history.csv`; None trains in memory only.
        verbose: 0 silent, 1 a line per epoch.

    Returns:
        the trained `DCUE`.

    Raises:
        RunMismatchError: `run_dir` holds a run of other settings, model or data.
    """
    if epochs < 1 or batch_size < 1 or epoch_divisor <= 0:
        raise ValueError(f"need epochs >= 1, batch_size >= 1 and epoch_divisor > 0, got {epochs}, {batch_size}, "
                         f"{epoch_divisor}")  # fmt: skip
    if loss_reduction not in ("sum", "sum_over_batch_size"):
        raise ValueError(f"loss_reduction must be 'sum' or 'sum_over_batch_size', got {loss_reduction!r}")
    user, song = _without_users_who_played_everything(np.asarray(user), np.asarray(song), verbose)
    steps = max(1, int(len(user) / batch_size / epoch_divisor))
    done = 0
    record = None
    if run_dir:
        os.makedirs(run_dir, exist_ok=True)
        settings = {"learning_rate": float(learning_rate), "momentum": float(momentum), "nesterov": bool(nesterov),
                    "step_decay": float(step_decay), "loss_reduction": loss_reduction,
                    "epoch_divisor": float(epoch_divisor), "batch_size": int(batch_size), "margin": float(margin),
                    "seed": int(seed)}  # fmt: skip
        record = {"settings": settings, "model_sha256": _model_digest(model),
                  "data_sha256": _data_digest(table, frames, user, song)}  # fmt: skip
        done = _finished_epochs(run_dir, record)
        if done >= epochs and os.path.exists(os.path.join(run_dir, MODEL_FILE)):
            return load_model(os.path.join(run_dir, MODEL_FILE), kind=DCUE)
        if done:
            model = load_model(os.path.join(run_dir, _LAST), kind=DCUE)
    outputs = len(model.outputs)
    if not model.compiled:
        optimizer = StepDecaySGD(learning_rate, momentum=momentum, nesterov=nesterov, step_decay=step_decay)
        loss = dcue_loss(margin, loss_reduction)
        model.compile(optimizer=optimizer, loss=[loss] * outputs if outputs > 1 else loss)
    data = dcue_batches(table, frames, user, song, len(table), num_frames=model.num_frames,
                        num_negatives=model.num_negatives, batch_size=batch_size, seed=seed,
                        start_batch=done * steps)  # fmt: skip
    if outputs > 1:  # one (dummy) target per level's loss
        data = data.map(lambda x, y: (x, (y,) * outputs))
    callbacks = [_EpochCheckpoint(run_dir, record, verbose)] if run_dir else []
    if done < epochs:
        model.fit(data, epochs=epochs, initial_epoch=done, steps_per_epoch=steps, callbacks=callbacks, verbose=0)
    if run_dir:
        _save(model, os.path.join(run_dir, MODEL_FILE))
    return model


def _without_users_who_played_everything(user, song, verbose):
    """The interactions less those of users who played every training song: they have no
    negative to draw (the authors' generator would fail on `random.choice([])`). Small data
    only; a warning says how many."""
    songs = np.unique(song)
    pairs = np.unique(np.stack([user, song], 1), axis=0)
    everything = np.flatnonzero(np.bincount(pairs[:, 0]) >= len(songs))
    if not len(everything):
        return user, song
    keep = ~np.isin(user, everything)
    if not keep.any():
        raise ValueError(f"every user played all {len(songs)} training songs: no negative to draw")
    if verbose:
        print(f"  {len(everything)} users played all {len(songs)} training songs (no negative to draw): their "
              f"{int((~keep).sum())} interactions are left out of training", flush=True)
    return user[keep], song[keep]


def _finished_epochs(run_dir, record):
    """Epochs a run folder's checkpoint holds (0 without one), after checking it is of `record`."""
    state = os.path.join(run_dir, _STATE)
    if not (os.path.exists(state) and os.path.exists(os.path.join(run_dir, _LAST))):
        return 0
    with open(state) as handle:
        saved = json.load(handle)
    differences = [f"{key} {saved['settings'][key]} there, {value} now"
                   for key, value in record["settings"].items()
                   if key in saved.get("settings", {}) and saved["settings"][key] != value]  # fmt: skip
    if "settings" not in saved:
        differences.append("its settings are not recorded (an earlier version made it)")
    if saved.get("model_sha256") not in (None, record["model_sha256"]):
        differences.append("the model's configuration differs")
    if saved.get("data_sha256") not in (None, record["data_sha256"]):
        differences.append("the training data differ (the songs' mel table or the interactions)")
    if differences:
        raise RunMismatchError(
            f"{run_dir} holds a DCUE run of another call: {'; '.join(differences)}. Give another run_dir "
            "(a new output folder), or delete this one to start over"
        )
    return int(saved["epochs"])


def _model_digest(model):
    """sha256 of the model's configuration, less the name Keras may have made unique."""
    config = {key: value for key, value in model.get_config().items() if key not in ("name", "trainable")}
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def _data_digest(*arrays):
    """sha256 of the arrays' dtypes, shapes and values."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array.reshape(-1)).cast("B"))
    return digest.hexdigest()


def _save(model, path):
    temporary = path[: -len(".keras")] + ".tmp.keras"  # Keras wants the extension
    model.save(temporary)
    os.replace(temporary, path)


class _EpochCheckpoint(keras.callbacks.Callback):
    """Saves the model and the finished epoch count after every epoch, and logs the loss."""

    def __init__(self, run_dir, record, verbose):
        super().__init__()
        self.run_dir, self.record, self.verbose = run_dir, record, verbose

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.started
        _save(self.model, os.path.join(self.run_dir, _LAST))
        write_json_atomic(os.path.join(self.run_dir, _STATE), {"epochs": epoch + 1, **self.record})
        path = os.path.join(self.run_dir, _HISTORY)
        new = not os.path.exists(path)
        with open(path, "a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["epoch", "loss", "seconds"])
            writer.writerow([epoch + 1, f"{logs['loss']:.6f}", f"{seconds:.1f}"])
        if self.verbose:
            print(f"  epoch {epoch + 1}: hinge loss {logs['loss']:.4f} ({seconds:.1f} s)", flush=True)
