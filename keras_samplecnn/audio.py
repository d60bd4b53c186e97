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

# Limits on what a file's header may declare. The rates codecs use run from 8 kHz (telephony:
# G.711, GSM, AMR-NB; MPEG-2.5's lowest) to 384 kHz (DXD and other high-resolution PCM), a few
# converters record at 705.6/768 kHz; 4 kHz leaves room for old ADPCM voice files. Outside that
# the header is corrupt or hostile: 1 Hz would turn 2 KB into 22 million samples at 22050 Hz,
# 2^31 Hz would turn a clip into 0 samples.
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 768000
# 64 channels: 7th-order ambisonics; film formats stop at 24 (22.2) and music at 8 (7.1).
MAX_CHANNELS = 64
# One hour: far more than a song or a dataset clip (MTAT and MSD clips are 30 s); it bounds
# what resampling may produce (at most MAX_DURATION * sample_rate samples).
MAX_DURATION = 3600.0
# Samples held while decoding (frames x channels; frames alone for a stream mixed down to
# mono block by block): 2^28 float32 samples are 1 GiB, e.g. 50 minutes of 44.1 kHz stereo.
MAX_DECODED_SAMPLES = 2**28
# libsndfile's "length unknown" (SF_COUNT_MAX), e.g. a FLAC stream whose header says 0.
_UNKNOWN_FRAMES = 2**63 - 1
# Frames read at a time from a stream of unknown length, so that memory follows what it holds.
_BLOCK_FRAMES = 1 << 16


class AudioDecodeError(ValueError):
    """A file that cannot be used as audio: missing, empty, truncated, corrupt, not audio, or
    with a header no real file has (see `load_audio`).

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

    The header is checked before anything is decoded: a native rate outside
    [`MIN_SAMPLE_RATE`, `MAX_SAMPLE_RATE`] Hz, more than `MAX_CHANNELS` channels, or a declared
    length over `MAX_DURATION` seconds or `MAX_DECODED_SAMPLES` samples is rejected, so that a
    small file with a lying header cannot make the decoder or the resampler allocate gigabytes.

    Args:
        path: any file libsndfile decodes (MP3, FLAC, OGG, WAV, AIFF, AU, ...).
        sample_rate: target rate in Hz; the file is resampled with soxr ("HQ") if it differs.
        mono: if True, average the channels and return shape `(samples,)`; otherwise return
            shape `(samples, channels)`.

    Returns:
        A float32 NumPy array with at least one sample.

    Raises:
        AudioDecodeError: the file is missing, empty (0 bytes), not audio, corrupt, truncated
            (fewer samples decode than its header declares), has no samples, contains
            NaN/infinite samples, declares an implausible rate, channel count or length (see
            above), or resamples to 0 samples at `sample_rate`.
        ValueError: `sample_rate` is not a positive integer.
    """
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    path = os.fspath(path)
    audio, native_rate = _decode(path, mono=mono)
    if native_rate != sample_rate:
        audio = soxr.resample(audio, native_rate, int(sample_rate), quality="HQ")
    if audio.shape[0] == 0:
        raise AudioDecodeError(
            path, f"resamples to 0 samples at {int(sample_rate)} Hz (too short at {native_rate} Hz)"
        )
    return np.ascontiguousarray(audio, dtype=np.float32)


def _decode(path, mono=False):
    """Decodes a file after checking what its header declares.

    A file of known length is read at once, after its declared length passed the checks; a
    stream of unknown length in blocks of `_BLOCK_FRAMES`, mixed down block by block when
    `mono`, with the limits checked as it grows, so that memory follows what it holds.

    Args:
        path: the file (str).
        mono: average the channels of each block as it is read.

    Returns:
        `(audio, native sample rate)`: float32 audio of shape `[frames, channels]`, or
        `[frames]` when `mono`.

    Raises:
        AudioDecodeError: see `load_audio`.
    """
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
        channels = handle.channels
        log = handle.extra_info
        seekable = handle.seekable()
        # A file of known length is read at once, as `declared x channels` samples (bounded by
        # the header check): soundfile asks a seekable file for its position before every
        # read, and libmpg123 answers that by decoding again from a frame without its bit
        # reservoir ("part2_3_length too large"), which changes samples at block boundaries.
        # A stream (unknown length) is read block by block, mixed down as it comes.
        kept_channels = 1 if mono and not seekable else channels
        _check_header(path, native_rate, channels, declared, kept_channels, seekable)
        blocks, decoded = [], 0
        try:
            while True:
                block = handle.read(-1 if seekable else _BLOCK_FRAMES, dtype="float32", always_2d=True)
                decoded += block.shape[0]
                # soundfile stops at the declared length; this guards the limits regardless.
                if decoded * kept_channels > MAX_DECODED_SAMPLES or decoded > MAX_DURATION * native_rate:
                    limit = _limit(native_rate, kept_channels)
                    raise AudioDecodeError(path, f"decodes to more than {limit}")
                blocks.append(block.mean(axis=1, dtype=np.float32) if mono else block)
                if seekable or block.shape[0] < _BLOCK_FRAMES:
                    break
        except (sf.SoundFileError, RuntimeError, OSError) as error:
            detail = getattr(error, "error_string", None) or str(error)
            raise AudioDecodeError(
                path, f"decoding failed part-way, truncated or corrupt (libsndfile: {detail})"
            ) from error
    audio = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    del blocks
    if decoded == 0:
        raise AudioDecodeError(path, "no audio samples (0 frames)")
    tolerance = max(_TRUNCATION_TOLERANCE_FRAMES, int(declared * _TRUNCATION_TOLERANCE_FRACTION))
    if 0 < declared < _UNKNOWN_FRAMES and decoded < declared - tolerance:
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


def _check_header(path, rate, channels, declared, kept_channels, seekable):
    """Raises `AudioDecodeError` for a rate, channel count or length no real file has."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioDecodeError(
            path,
            f"implausible sample rate {rate} Hz in the header (accepted: "
            f"{MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)",
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioDecodeError(
            path, f"implausible: the header declares {channels} channels (at most {MAX_CHANNELS})"
        )
    if declared >= _UNKNOWN_FRAMES:
        # An MP3 whose Xing header disagrees with its size is opened as a stream: it decodes,
        # and the limits are checked block by block. A seekable file of unknown length (a FLAC
        # whose header says 0) fails part-way: soundfile seeks after every read.
        if seekable:
            raise AudioDecodeError(path, "unknown length: the header does not declare it")
        return
    if declared * kept_channels > MAX_DECODED_SAMPLES or declared > MAX_DURATION * rate:
        raise AudioDecodeError(
            path,
            f"the header declares {declared} frames x {channels} channels "
            f"({declared / rate:.1f} s at {rate} Hz), more than {_limit(rate, kept_channels)}",
        )


def _limit(rate, kept_channels):
    """The longest file accepted at `rate`, as text for a rejection reason."""
    seconds = min(MAX_DURATION, MAX_DECODED_SAMPLES / kept_channels / rate)
    return f"the limit of {seconds:.1f} s"


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
