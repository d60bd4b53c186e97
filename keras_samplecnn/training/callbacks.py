"""Callbacks for the papers' training schedule, surviving interruption."""

import json
import os
import shutil
import time

import keras
import numpy as np

from keras_samplecnn.files import fsync_file, sha256_file, write_json_atomic
from keras_samplecnn.messages import one_line


class StagedDecay(keras.callbacks.Callback):
    """The papers' staged learning rates, best checkpoint, resumable (SampleCNN papers).

    Stage k trains at `learning_rate * factor**k` (0.01 → 0.002 → 0.0004 → 0.00008 →
    0.000016 for 5 stages), whatever a reload or a restart put in the optimizer. A stage ends
    when `monitor` has not improved on the stage's own best for `patience` epochs; the next
    stage starts from the best weights so far with a reset optimizer (momentum and step count
    zero, as the authors' code, which compiles a fresh SGD for every stage). A plateau in the
    last stage ends training. Each stage's best starts afresh, as the authors' per-stage
    `EarlyStopping` does, so every stage lasts at least `patience + 1` epochs.

    Each epoch that improves on the best of the whole run is saved to `best_path`. The best
    values, stage and patience counter go to `state_path` after every epoch, so a run
    restarted by `Backup` continues the same schedule; put this callback before `Backup` so
    that a backup is taken after a stage change. Files are replaced atomically: a kill at any
    moment leaves the previous version intact.

    Patience: the authors' Keras 2.0.5 `EarlyStopping(patience=p)` stopped after p + 1
    epochs without improvement (an off-by-one fixed later, keras-team/keras#8100);
    here `patience` counts the epochs without improvement that end a stage, so their p = 2
    (tae-jun/resemul, ICASSP 2018) is `patience=3` and their p = 3 (jongpillee/sampleCNN,
    SMC 2017, Keras 1) is `patience=4`. Their tf.keras code (tae-jun/sampleaudio, JSTSP
    2019) had the fix: p = 2 is `patience=2`.

    Args:
        learning_rate: the rate of stage 0 (0.01 in the papers).
        factor: learning-rate multiplier from one stage to the next (0.2).
        patience: epochs without improvement that end a stage.
        stages: number of learning rates in the schedule (5).
        best_path: where the best model is saved (`.keras`).
        state_path: JSON file holding the schedule's state between restarts.
        monitor: the metric, lower is better (`val_loss`).
    """

    def __init__(
        self,
        learning_rate=0.01,
        factor=0.2,
        patience=3,
        stages=5,
        best_path=None,
        state_path=None,
        monitor="val_loss",
    ):
        super().__init__()
        if patience < 1 or stages < 1:
            raise ValueError(f"need patience >= 1 and stages >= 1, got {patience} and {stages}")
        self.learning_rate = learning_rate
        self.factor = factor
        self.patience = patience
        self.stages = stages
        self.best_path = best_path
        self.state_path = state_path
        self.monitor = monitor
        self.state = {
            "best": float("inf"),
            "stage_best": float("inf"),
            "wait": 0,
            "stage": 0,
            "finished": False,
        }

    def stage_rate(self, stage=None):
        """The learning rate of `stage` (default: the current one)."""
        stage = self.state["stage"] if stage is None else stage
        return self.learning_rate * self.factor**stage

    def on_train_begin(self, logs=None):
        if self.state_path and os.path.exists(self.state_path):
            with open(self.state_path, encoding="utf-8") as f:
                self.state.update(json.load(f))
        if self.state["finished"]:
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        # Here rather than in on_train_begin: BackupAndRestore restores the optimizer there,
        # learning rate included, and the stage's rate must win.
        _optimizer(self.model).learning_rate.assign(self.stage_rate())

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            raise RuntimeError(f"StagedDecay needs a finite {self.monitor!r} each epoch, got {value!r}")
        if logs is not None:  # what this epoch trained with (read back), before any change below
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(_optimizer(self.model).learning_rate))
            logs["stage"] = self.state["stage"]
        if value < self.state["best"]:
            self.state["best"] = float(value)
            if self.best_path:
                temporary = os.path.join(os.path.dirname(self.best_path) or ".", ".saving-best.keras")
                self.model.save(temporary)
                os.replace(temporary, self.best_path)
        if value < self.state["stage_best"]:
            self.state.update(stage_best=float(value), wait=0)
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.patience:
                self._next_stage(epoch)
        self._save()

    def _next_stage(self, epoch):
        if self.state["stage"] + 1 >= self.stages:
            print(f"\nEpoch {epoch + 1}: no improvement in the last stage; training ends.")
            self.state["finished"] = True
            self.model.stop_training = True
            return
        if self.best_path and os.path.exists(self.best_path):
            self.model.load_weights(self.best_path)  # also loads that epoch's optimizer state
        self.state.update(stage=self.state["stage"] + 1, wait=0, stage_best=float("inf"))
        optimizer = _optimizer(self.model)
        for variable in optimizer.variables:  # momentum and step count, as a fresh SGD
            variable.assign(np.zeros(variable.shape, variable.dtype))
        optimizer.learning_rate.assign(self.stage_rate())
        print(
            f"\nEpoch {epoch + 1}: stage {self.state['stage'] + 1}/{self.stages}, best weights reloaded, "
            f"optimizer reset, learning rate {self.stage_rate():.6g}"
        )

    def restore(self, state=None):
        """Sets the schedule to `state` (a copy of `self.state` taken by `Backup`), or to its
        start when None, and saves it; training stops at once if that state is finished."""
        start = {"best": float("inf"), "stage_best": float("inf"), "wait": 0, "stage": 0, "finished": False}
        self.state = {**start, **(state or {})}
        self.model.stop_training = bool(self.state["finished"])
        self._save()

    def _save(self):
        if self.state_path:
            write_json_atomic(self.state_path, self.state)


def _optimizer(model):
    """The optimizer whose rate and state the schedule sets (inside a loss-scale wrapper)."""
    optimizer = model.optimizer
    return getattr(optimizer, "inner_optimizer", optimizer)


class Backup(keras.callbacks.Callback):
    """Backs up the training state after every epoch so that a kill at any moment leaves a whole one.

    In place of `keras.callbacks.BackupAndRestore`, which overwrites `latest.weights.h5` in
    place: a kill during that write leaves a truncated file that every rerun fails to read.
    Here each epoch's weights (model and optimizer) go to a new file, flushed to disk and
    renamed into place; only then does `backup.json`, replaced atomically, point at them with
    the finished epoch count, their sha256 and the schedule's state, and the previous epoch's
    file is deleted. So the weights, the epoch and the schedule always belong together.

    When `fit` starts, the backup is restored and `fit` continues after its epoch. A backup
    that cannot be read (a damaged file, a truncated `latest.weights.h5` of an earlier version)
    is reported with a warning and training starts over from epoch 1; a whole backup of
    `BackupAndRestore` is resumed.

    Args:
        backup_dir: folder of the backup; nothing else may write there.
        schedule: optional `StagedDecay` whose state is saved and restored with the weights.
            List it before this callback, so that a backup follows a stage change.
        delete_when_done: remove the folder when `fit` returns.
    """

    STATE = "backup.json"
    # keras.callbacks.BackupAndRestore's files (this package's backups before this callback).
    KERAS_WEIGHTS, KERAS_METADATA = "latest.weights.h5", "training_metadata.json"

    def __init__(self, backup_dir, schedule=None, delete_when_done=True):
        super().__init__()
        self.backup_dir, self.schedule, self.delete_when_done = backup_dir, schedule, delete_when_done

    def on_train_begin(self, logs=None):
        if not os.path.isdir(self.backup_dir):
            return
        before = [keras.ops.convert_to_numpy(v) for v in self._variables()]
        try:
            epoch, schedule = self._restore()
        except Exception as error:  # noqa: BLE001 - any unreadable backup: report it and start over
            for variable, value in zip(self._variables(), before):  # undo a partial load
                variable.assign(value)
            print(f"warning: the backup in {self.backup_dir} cannot be read ({one_line(error, limit=300)}); "
                  "starting over from epoch 1", flush=True)  # fmt: skip
            shutil.rmtree(self.backup_dir, ignore_errors=True)
            if self.schedule is not None:
                self.schedule.restore(None)
            return
        if epoch is None:
            return
        if self.schedule is not None and schedule is not None:
            self.schedule.restore(schedule)
        # The hook keras.callbacks.BackupAndRestore sets: fit() starts at this epoch.
        self.model._initial_epoch = epoch
        print(f"Resuming after epoch {epoch} from {self.backup_dir}", flush=True)

    def _variables(self):
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)  # its state is part of the backup
        return list(self.model.variables) + (list(optimizer.variables) if optimizer is not None else [])

    def _restore(self):
        """Loads the backup's weights; returns `(epochs done, schedule state)`, `(None, None)` if none."""
        state_path = os.path.join(self.backup_dir, self.STATE)
        if os.path.exists(state_path):
            with open(state_path, encoding="utf-8") as f:
                state = json.load(f)
            weights = os.path.join(self.backup_dir, os.path.basename(state["weights"]))
            if sha256_file(weights) != state["sha256"]:
                raise ValueError(f"{weights} does not match its sha256 in {self.STATE}")
            self._variables()
            self.model.load_weights(weights)
            return int(state["epoch"]), state.get("schedule")
        weights = os.path.join(self.backup_dir, self.KERAS_WEIGHTS)
        metadata = os.path.join(self.backup_dir, self.KERAS_METADATA)
        if not (os.path.exists(weights) or os.path.exists(metadata)):
            return None, None
        with open(metadata, encoding="utf-8") as f:
            epoch = int(json.load(f)["epoch"])
        self._variables()
        self.model.load_weights(weights)
        return epoch, None

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"epoch{epoch + 1:05d}.weights.h5"
        path = os.path.join(self.backup_dir, name)
        temporary = os.path.join(self.backup_dir, f"writing.{name}")  # Keras wants .weights.h5
        self.model.save_weights(temporary, overwrite=True)
        fsync_file(temporary)
        os.replace(temporary, path)
        state = {"epoch": epoch + 1, "weights": name, "sha256": sha256_file(path),
                 "schedule": dict(self.schedule.state) if self.schedule is not None else None}  # fmt: skip
        write_json_atomic(os.path.join(self.backup_dir, self.STATE), state)
        for other in os.listdir(self.backup_dir):  # the previous epoch's, an older version's
            if other not in (name, self.STATE):
                os.remove(os.path.join(self.backup_dir, other))

    def on_train_end(self, logs=None):
        if self.delete_when_done:
            shutil.rmtree(self.backup_dir, ignore_errors=True)



class TimeBudget(keras.callbacks.Callback):
    """A wall-clock safety net: stops after the epoch that would make the next one overrun.

    It never defines a result: a run it stops says so plainly, and `stopped` records it.

    Args:
        minutes: wall-clock budget for `fit`, in minutes.
        max_epochs: the epochs the run was meant to have (for the message).
    """

    def __init__(self, minutes, max_epochs=None):
        super().__init__()
        self.seconds = minutes * 60
        self.max_epochs = max_epochs
        self.start = self.epoch_start = None
        self.longest = 0.0
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        self.longest = max(self.longest, now - self.epoch_start)
        if not self.model.stop_training and now - self.start + self.longest > self.seconds:
            of = f" of {self.max_epochs}" if self.max_epochs else ""
            print(
                f"\nStopped by the time budget ({self.seconds / 60:.1f} min) after {epoch + 1}{of} epochs; "
                "this is not the configured run's result."
            )
            self.model.stop_training = True
            self.stopped = True
