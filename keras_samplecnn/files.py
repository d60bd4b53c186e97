"""Files written so that a kill never leaves half of one, and their checksums.

Shared by the converter (`tfrecords_tools.writer`), the feature cache
(`keras_samplecnn.aggregation`) and the training state (`keras_samplecnn.training`).
"""

import hashlib
import json
import os


def write_json_atomic(path, content):
    """Writes `content` as JSON to a temporary file, flushed to disk, then renamed to `path`."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_npy_atomic(path, array):
    """Writes a NumPy array as `.npy` to a temporary file, flushed to disk, then renamed to `path`."""
    import numpy as np

    temporary = path + ".tmp"
    with open(temporary, "wb") as handle:
        np.save(handle, array)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


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
