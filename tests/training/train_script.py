"""Runs `train()` on a config; with `--kill-at EPOCH:BATCH` the process dies there like SIGKILL.

With `--kill-writing-backup EPOCH` it dies while the backup after that epoch is being written:
the weights file it was writing is cut to 96 bytes, as a kill in the middle of the write leaves it.

Used by tests/training/test_training.py to interrupt a run mid-epoch and start it again. With
`--plateau` the schedule sees a validation loss that never improves after the first epoch, so
its stage changes fall on known epochs.
"""

import argparse
import os

import keras

from keras_samplecnn.training import config as config_lib
from keras_samplecnn.training.callbacks import StagedDecay
from keras_samplecnn.training.trainer import train


class KillAt(keras.callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            os._exit(137)  # no cleanup, no callbacks: as abrupt as a kill


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--kill-at")
    parser.add_argument("--plateau", action="store_true")
    parser.add_argument("--kill-writing-backup", type=int, metavar="EPOCH")
    args = parser.parse_args()
    if args.plateau:
        schedule_epoch_end = StagedDecay.on_epoch_end

        def plateau(self, epoch, logs=None):
            logs["val_loss"] = 1.0
            schedule_epoch_end(self, epoch, logs)

        StagedDecay.on_epoch_end = plateau
    if args.kill_writing_backup is not None:
        save_weights, backups = keras.Model.save_weights, []

        def save_weights_then_die(self, filepath, *rest, **options):
            save_weights(self, filepath, *rest, **options)
            if f"{os.sep}backup{os.sep}" in os.path.abspath(filepath):
                backups.append(filepath)
                if len(backups) == args.kill_writing_backup + 1:
                    os.truncate(filepath, 96)
                    os._exit(137)

        keras.Model.save_weights = save_weights_then_die
    callbacks = []
    if args.kill_at:
        epoch, batch = map(int, args.kill_at.split(":"))
        callbacks.append(KillAt(epoch, batch))
    print(train(config_lib.load(args.config), extra_callbacks=callbacks))
