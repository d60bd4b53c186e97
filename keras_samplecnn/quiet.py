"""Keeps TensorFlow's start-up chatter off the terminal, and real warnings on it.

TensorFlow 2.21 writes, from C++ and before `TF_CPP_MIN_LOG_LEVEL` is read, an absl banner
and INFO lines (oneDNN, the CUDA stub) on every import, and an error line on the first device
query of a machine without a GPU (`cuInit`). They are written to file descriptor 2, so Python's
`warnings` and `logging` cannot filter them. `import_keras()` imports Keras (and TensorFlow
under its backend) with descriptor 2 captured, then writes back every captured line except
those: warnings and errors still show.
"""

import contextlib
import os
import re
import sys
import tempfile

# Lines known to say nothing to a user of a CPU machine.
NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+ +\d+ \S+\] "  # any absl INFO line (oneDNN, CUDA stub, CPU features)
    r"|E\d{4} [\d:.]+ +\d+ cuda_platform\.cc:\d+\] failed call to cuInit"  # no GPU here
    r"|To enable the following instructions: .* rebuild TensorFlow"
)


@contextlib.contextmanager
def native_logs_filtered(noise=NOISE):
    """Captures what native code writes to descriptor 2 in the block; replays all but `noise`."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor 2 (some embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(True) if not noise.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def import_keras():
    """Imports Keras (and TensorFlow, with its devices, under the TensorFlow backend) quietly."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # C++ INFO off; warnings and errors on
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    with native_logs_filtered():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()  # the device query that logs cuInit
