"""Keeps TensorFlow's chatter off the terminal, and real warnings on it.

TensorFlow 2.21 writes, from C++ and before `TF_CPP_MIN_LOG_LEVEL` is read, an absl banner
and INFO lines (oneDNN, the CUDA stub) on every import, an error line on the first device
query of a machine without a GPU (`cuInit`), and on some CPUs an error line the first time a
oneDNN kernel falls back to Eigen for a data type. They go to file descriptor 2, so Python's
`warnings` and `logging` cannot filter them.

- `import_keras()` (run by `import keras_samplecnn`) imports Keras, and TensorFlow under its
  backend, with descriptor 2 captured, then writes back every captured line but those.
- `filter_native_logs()` (run by the `samplecnn`, `python -m tfrecords_tools` and recipe
  commands) does the same for the rest of the process: descriptor 2 becomes a pipe read by a
  filtering thread, while Python's own `sys.stderr` (tracebacks, warnings, progress bars) and
  fatal-error reports go to the terminal directly.

Warnings and errors other than the known lines still show.
"""

import atexit
import contextlib
import faulthandler
import os
import re
import sys
import tempfile
import threading

# Lines known to say nothing to a user of a CPU machine.
NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+ +\d+ \S+\] "  # any absl INFO line (oneDNN, CUDA stub, CPU features)
    r"|E\d{4} [\d:.]+ +\d+ cuda_platform\.cc:\d+\] failed call to cuInit"  # no GPU here
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|E\d{4} [\d:.]+ +\d+ util\.cc:\d+\] oneDNN supports DT_\w+ only on platforms with AVX-512"
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


_filtering = False


def filter_native_logs(noise=NOISE):
    """Filters what native code writes to descriptor 2 from now on, dropping `noise` lines.

    Idempotent. Python's `sys.stderr` is pointed at the terminal itself, so only native
    writes pass through the filter; at exit the filter drains what is left.
    """
    global _filtering
    if _filtering:
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = open(terminal, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
    faulthandler.enable(file=sys.stderr)  # a crash report must not wait in the pipe

    def pump():
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                if not noise.match(line.decode(errors="replace")):
                    os.write(terminal, line)

    thread = threading.Thread(target=pump, name="native-log-filter", daemon=True)
    thread.start()

    def drain():
        os.dup2(terminal, 2)  # the pipe's last writer in this process: the pump sees its end
        thread.join(timeout=2)

    atexit.register(drain)
    _filtering = True
