"""Callbacks for the papers' training schedule, surviving interruption."""

import json
import os
import time

import numpy as np

import keras


def write_json_atomic(path, content):
    """Writes JSON through a temporary file and a rename: a kill never leaves half a file."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(content, f)
    os.replace(temporary, path)


class StagedDecay(keras.callbacks.Callback):
    """Best checkpoint + staged learning-rate decay on a validation plateau (SampleCNN papers).

    Each epoch that improves `monitor` is saved to `best_path`. When `monitor` has not
    improved for `patience` epochs, the best weights are reloaded and the learning rate is
    multiplied by `factor`; after `stages` learning rates (0.01 → 0.002 → 0.0004 → 0.00008
    → 0.000016 for 5 stages) a further plateau ends training. The best value, the stage and
    the patience counter are written to `state_path` after every epoch, so a run restarted
    by `BackupAndRestore` continues the same schedule and never overwrites a better
    checkpoint with a worse one (as a fresh `ModelCheckpoint` would). Files are replaced
    atomically: a kill at any moment leaves the previous version intact.

    Args:
        factor: learning-rate multiplier at each stage change (0.2).
        patience: epochs without improvement before a stage change (2 in ICASSP 2018).
        stages: number of learning rates in the schedule (5).
        best_path: where the best model is saved (`.keras`).
        state_path: JSON file holding the schedule's state between restarts.
        monitor: the metric, lower is better (`val_loss`).
    """

    def __init__(self, factor=0.2, patience=2, stages=5, best_path=None, state_path=None, monitor="val_loss"):
        super().__init__()
        self.factor = factor
        self.patience = patience
        self.stages = stages
        self.best_path = best_path
        self.state_path = state_path
        self.monitor = monitor
        self.state = {"best": float("inf"), "wait": 0, "stage": 0, "finished": False}

    def on_train_begin(self, logs=None):
        if self.state_path and os.path.exists(self.state_path):
            with open(self.state_path, encoding="utf-8") as f:
                self.state.update(json.load(f))
        if self.state["finished"]:
            self.model.stop_training = True

    def _learning_rate(self):
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            raise RuntimeError(f"StagedDecay needs a finite {self.monitor!r} each epoch, got {value!r}")
        if value < self.state["best"]:
            self.state.update(best=float(value), wait=0)
            if self.best_path:
                temporary = os.path.join(os.path.dirname(self.best_path) or ".", ".saving-best.keras")
                self.model.save(temporary)
                os.replace(temporary, self.best_path)
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.patience:
                self._next_stage(epoch)
        if logs is not None:
            logs["learning_rate"] = self._learning_rate()
            logs["stage"] = self.state["stage"]
        self._save()

    def _next_stage(self, epoch):
        if self.state["stage"] + 1 >= self.stages:
            print(f"\nEpoch {epoch + 1}: no improvement in the last stage; training ends.")
            self.state["finished"] = True
            self.model.stop_training = True
            return
        if self.best_path and os.path.exists(self.best_path):
            self.model.load_weights(self.best_path)
        new_rate = self._learning_rate() * self.factor
        self.model.optimizer.learning_rate.assign(new_rate)
        self.state.update(stage=self.state["stage"] + 1, wait=0)
        print(
            f"\nEpoch {epoch + 1}: stage {self.state['stage'] + 1}/{self.stages}, best weights reloaded, "
            f"learning rate {new_rate:.6g}"
        )

    def _save(self):
        if self.state_path:
            write_json_atomic(self.state_path, self.state)


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the epoch that would make the next one overrun `minutes`.

    Args:
        minutes: wall-clock budget for `fit`, in minutes.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = minutes * 60
        self.start = self.epoch_start = None
        self.longest = 0.0

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        self.longest = max(self.longest, now - self.epoch_start)
        if now - self.start + self.longest > self.seconds:
            print(f"\nEpoch {epoch + 1}: time budget of {self.seconds / 60:.1f} min reached; training ends.")
            self.model.stop_training = True
