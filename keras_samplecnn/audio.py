"""Decode, mix down and resample audio files; convert to and from int16 PCM.

Shared by the dataset converters (`tfrecords_tools`) and the Tagger, so that training data and
inference inputs go through exactly the same decoding and resampling.

Decoding uses `soundfile` (libsndfile >= 1.1: WAV, FLAC, OGG/Vorbis, MP3, AIFF, AU, ...);
resampling uses `soxr` at "HQ" quality. The sample-level CNN papers (Lee et al., 2017/2018)
train on 22050 Hz mono audio, the default here.

Example:

```python
x = load_audio("f/some_artist-some_album-01-song-0-29.mp3")  # float32, 22050 Hz, mono
pcm = to_int16(x)  # what the TFRecords store
```
"""

import os
import re

import numpy as np
import soundfile as sf
import soxr

DEFAULT_SAMPLE_RATE = 22050
INT16_SCALE = 32767.0

# A decoder may stop a little short of the length a header declares (MP3 encoder padding,
# rounding of a length estimated from the bitrate); only a larger gap means a cut-off file.
_TRUNCATION_TOLERANCE_FRAMES = 4096
_TRUNCATION_TOLERANCE_FRACTION = 0.01
# libsndfile's log for a WAV whose data chunk is shorter than its header says:
# "data : 96000 (should be 47978)".
_WAV_SHORT_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# Streaming writers leave these placeholders in the size field; they do not mean truncation.
_WAV_UNKNOWN_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF)


class AudioDecodeError(ValueError):
    """A file that cannot be used as audio: missing, empty, truncated, corrupt or not audio.

    Args:
        path: the file.
        reason: a short human-readable explanation (also written to `rejected.csv`).
    """

    def __init__(self, path, reason):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"cannot decode {self.path}: {reason}")

    def __reduce__(self):
        # Keeps the exception picklable across worker processes despite the 2-argument init.
        return type(self), (self.path, self.reason)


def load_audio(path, sample_rate=DEFAULT_SAMPLE_RATE, mono=True):
    """Reads an audio file as float32 in [-1, 1] at `sample_rate`.

    Args:
        path: any file libsndfile decodes (MP3, FLAC, OGG, WAV, AIFF, AU, ...).
        sample_rate: target rate in Hz; the file is resampled with soxr ("HQ") if it differs.
        mono: if True, average the channels and return shape `(samples,)`; otherwise return
            shape `(samples, channels)`.

    Returns:
        A float32 NumPy array.

    Raises:
        AudioDecodeError: the file is missing, empty (0 bytes), not audio, corrupt, truncated
            (fewer samples decode than its header declares), has no samples, or contains
            NaN/infinite samples.
        ValueError: `sample_rate` is not a positive integer.
    """
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    audio, native_rate = _decode(os.fspath(path))
    if mono:
        audio = audio.mean(axis=1, dtype=np.float32)
    if native_rate != sample_rate:
        audio = soxr.resample(audio, native_rate, int(sample_rate), quality="HQ")
    return np.ascontiguousarray(audio, dtype=np.float32)


def _decode(path):
    """Returns `(audio [frames, channels] float32, native sample rate)` or raises."""
    if not os.path.exists(path):
        raise AudioDecodeError(path, "file not found")
    if not os.path.isfile(path):
        raise AudioDecodeError(path, "not a regular file")
    if os.path.getsize(path) == 0:
        raise AudioDecodeError(path, "empty file (0 bytes)")
    try:
        handle = sf.SoundFile(path)
    except (sf.SoundFileError, RuntimeError, OSError) as error:
        # libsndfile reports an unrecognised MP3 as "File does not exist", which misleads;
        # existence is already checked above, so say what it really means.
        detail = getattr(error, "error_string", None) or str(error)
        raise AudioDecodeError(
            path, f"not a recognised audio file, or its header is corrupt (libsndfile: {detail})"
        ) from error
    with handle:
        declared = handle.frames
        native_rate = handle.samplerate
        log = handle.extra_info
        try:
            audio = handle.read(dtype="float32", always_2d=True)
        except (sf.SoundFileError, RuntimeError, OSError) as error:
            detail = getattr(error, "error_string", None) or str(error)
            raise AudioDecodeError(
                path, f"decoding failed part-way, truncated or corrupt (libsndfile: {detail})"
            ) from error
    decoded = audio.shape[0]
    if decoded == 0:
        raise AudioDecodeError(path, "no audio samples (0 frames)")
    tolerance = max(_TRUNCATION_TOLERANCE_FRAMES, int(declared * _TRUNCATION_TOLERANCE_FRACTION))
    if 0 < declared and decoded < declared - tolerance:
        raise AudioDecodeError(
            path, f"truncated: the header declares {declared} frames but only {decoded} decode"
        )
    match = _WAV_SHORT_DATA.search(log)
    if match:
        declared_bytes, present_bytes = int(match.group(1)), int(match.group(2))
        if declared_bytes not in _WAV_UNKNOWN_SIZES and present_bytes < declared_bytes:
            raise AudioDecodeError(
                path,
                f"truncated: the WAV data chunk declares {declared_bytes} bytes "
                f"but only {present_bytes} are present",
            )
    if not np.isfinite(audio).all():
        raise AudioDecodeError(path, "contains NaN or infinite samples")
    return audio, native_rate


def to_int16(x):
    """Float audio in [-1, 1] to int16 PCM: clipped, scaled by 32767 and rounded.

    Args:
        x: array-like of floats (any shape).

    Returns:
        An int16 NumPy array of the same shape.
    """
    x = np.asarray(x, dtype=np.float32)
    return np.round(np.clip(x, -1.0, 1.0) * INT16_SCALE).astype(np.int16)


def from_int16(pcm):
    """int16 PCM to float32 audio, the inverse of `to_int16` (up to rounding).

    Args:
        pcm: array-like of int16 samples (any shape).

    Returns:
        A float32 NumPy array of the same shape, `pcm / 32767`.
    """
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16:
        raise ValueError(f"expected int16 samples, got {pcm.dtype}")
    return pcm.astype(np.float32) / np.float32(INT16_SCALE)
