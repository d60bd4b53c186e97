"""Training the deep content-user embedding model (DCUE; Lee, Lee, Park, Park, Nam, DLRS 2018,
arXiv:1807.06786): plain SGD at the paper's learning rate 0.2, batches of 10 interactions each
scored against 20 songs the user did not play, a fixed number of epochs.

An epoch is one pass over the training interactions (`ceil(interactions / batch_size)` steps of
the infinite stream `dcue_batches` draws from the seed). After every epoch the model and the
epoch count are saved atomically to the run folder; a rerun of the same call continues from
there with the same stream (the finished batches are skipped), so an interrupted run loses at
most one epoch and ends where an uninterrupted one would. The state also records the settings
and digests of the model's configuration and of the training data: a rerun with other ones
is refused (`RunMismatchError`) instead of returning the old model.
"""

import csv
import hashlib
import json
import math
import os
import time

import keras
import numpy as np

from keras_samplecnn.data.song_mels import dcue_batches
from keras_samplecnn.files import write_json_atomic
from keras_samplecnn.models.dcue import dcue_loss

MODEL_FILE = "model.keras"
_LAST = "last.keras"
_STATE = "state.json"
_HISTORY = "history.csv"


class RunMismatchError(ValueError):
    """A run folder holds a DCUE run of other settings, another model or other data."""


def train_dcue(model, table, frames, user, song, *, epochs, learning_rate=0.2, batch_size=10, margin=0.2,
               seed=0, run_dir=None, verbose=1):  # fmt: skip
    """Trains `model` (a `DCUE`) on the training interactions; returns the trained model.

    Args:
        model: a new `DCUE`. When `run_dir` holds a checkpoint of the same call, that model
            continues instead (a finished run with at least `epochs` epochs is loaded and
            returned; asking for more epochs continues it). A checkpoint of other settings
            (`learning_rate`, `batch_size`, `margin`, `seed`), another model configuration or
            other data raises `RunMismatchError`, naming what differs.
        table, frames: the songs' log-mel table and frame counts (`song_mel_table`).
        user, song: the training interactions (indices; a song never in them is never a
            positive: cold-start songs stay out of training).
        epochs: passes over the training interactions.
        learning_rate: SGD learning rate (0.2 in the paper).
        batch_size: interactions per step (10 in the paper).
        margin: hinge margin (0.2 in the paper).
        seed: seed of the interaction order, the negatives and the excerpts.
        run_dir: folder for `model.keras` (the result), the per-epoch checkpoint and
            `history.csv`; None trains in memory only.
        verbose: 0 silent, 1 a line per epoch.

    Returns:
        the trained `DCUE`.

    Raises:
        RunMismatchError: `run_dir` holds a run of other settings, model or data.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"need epochs >= 1 and batch_size >= 1, got {epochs}, {batch_size}")
    steps = math.ceil(len(user) / batch_size)
    done = 0
    record = None
    if run_dir:
        os.makedirs(run_dir, exist_ok=True)
        settings = {"learning_rate": float(learning_rate), "batch_size": int(batch_size), "margin": float(margin),
                    "seed": int(seed)}  # fmt: skip
        record = {"settings": settings, "model_sha256": _model_digest(model),
                  "data_sha256": _data_digest(table, frames, user, song)}  # fmt: skip
        done = _finished_epochs(run_dir, record)
        if done >= epochs and os.path.exists(os.path.join(run_dir, MODEL_FILE)):
            return keras.saving.load_model(os.path.join(run_dir, MODEL_FILE))
        if done:
            model = keras.saving.load_model(os.path.join(run_dir, _LAST))
    if not model.compiled:
        model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=dcue_loss(margin))
    data = dcue_batches(table, frames, user, song, len(table), num_frames=model.num_frames,
                        num_negatives=model.num_negatives, batch_size=batch_size, seed=seed,
                        start_batch=done * steps)  # fmt: skip
    callbacks = [_EpochCheckpoint(run_dir, record, verbose)] if run_dir else []
    if done < epochs:
        model.fit(data, epochs=epochs, initial_epoch=done, steps_per_epoch=steps, callbacks=callbacks, verbose=0)
    if run_dir:
        _save(model, os.path.join(run_dir, MODEL_FILE))
    return model


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
