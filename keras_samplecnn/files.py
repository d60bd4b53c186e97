"""Files written so that a kill never leaves half of one, and their checksums.

Shared by the converter (`tfrecords_tools.writer`), the feature cache
(`keras_samplecnn.aggregation`) and the training state (`keras_samplecnn.training`).
"""

import contextlib
import hashlib
import json
import os


@contextlib.contextmanager
def atomic_file(path, mode="w", **kwargs):
    """Opens `path + ".tmp"` for writing; when the block ends, flushes it to disk and renames
    it to `path`. If the block, the flush or the rename fails (disk full, Ctrl-C), the
    temporary file is removed and `path` is left as it was.

    Args:
        path: the file to write.
        mode: `"w"` or `"wb"`.
        **kwargs: further arguments of `open` (`encoding`, `newline`).
    """
    temporary = path + ".tmp"
    try:
        with open(temporary, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def write_json_atomic(path, content):
    """Writes `content` as JSON to a temporary file, flushed to disk, then renamed to `path`
    (see `atomic_file`: a failed write leaves no temporary file and the old `path`)."""
    with atomic_file(path, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")


def write_npy_atomic(path, array):
    """Writes a NumPy array as `.npy` to a temporary file, flushed to disk, then renamed to `path`."""
    import numpy as np

    with atomic_file(path, "wb") as handle:
        np.save(handle, array)


def fsync_file(path):
    """Flushes a file that was written and closed elsewhere to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def sha256_file(path, chunk_size=1 << 20):
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
