"""Audio files with lying headers, written byte by byte, for the decoder and converter tests.

soundfile refuses to write most of these (a 1 Hz rate, 1000 channels, a FLAC or MP3 header
declaring more frames than the file holds), so they are made with `struct` or by patching a
valid file. `standalone_audio_module` loads `keras_samplecnn/audio.py` without the package (and
so without Keras and TensorFlow), for subprocesses that run under a small memory limit.
"""

import importlib.util
import os
import struct

import numpy as np
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AUDIO_PY = os.path.join(ROOT, "keras_samplecnn", "audio.py")


def wav_bytes(rate, channels=1, frames=1000, bits=16, data_size=None):
    """A PCM WAV file of `frames` frames of a ramp, with whatever rate and channel count.

    Args:
        rate: the sample rate written to the `fmt ` chunk (any uint32).
        channels: the channel count written to the `fmt ` chunk (any uint16).
        frames: frames of data actually present.
        bits: bits per sample.
        data_size: the size the `data` chunk declares (default: the true size).
    """
    block = channels * bits // 8
    data = (np.arange(frames * channels) % 200 - 100).astype(f"<i{bits // 8}").tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * block) % 2**32, block % 2**16, bits)
    declared = len(data) if data_size is None else data_size
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", declared) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def write_flac_declaring(path, total_frames, seconds=0.5, rate=16000):
    """A valid FLAC whose STREAMINFO declares `total_frames` (0 means "unknown" in FLAC)."""
    sf.write(path, 0.3 * np.sin(np.arange(int(seconds * rate)) / 5.0), rate, format="FLAC")
    data = bytearray(open(path, "rb").read())
    # STREAMINFO follows "fLaC" and a 4-byte block header; its bytes 10..17 (file bytes 18..25)
    # hold the rate (20 bits), channels - 1 (3), bits - 1 (5) and the total frames (36).
    word = int.from_bytes(data[18:26], "big")
    data[18:26] = ((word >> 36 << 36) | total_frames).to_bytes(8, "big")
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def write_mp3_declaring(path, mpeg_frames, seconds=0.5, rate=16000):
    """A valid MP3 (LAME, via libsndfile) whose Xing header declares `mpeg_frames` frames."""
    sf.write(path, 0.3 * np.sin(np.arange(int(seconds * rate)) / 5.0), rate, format="MP3")
    data = bytearray(open(path, "rb").read())
    xing = data.find(b"Xing")
    assert xing >= 0 and data[xing + 7] & 1, "expected a Xing header with a frame count"
    data[xing + 8 : xing + 12] = struct.pack(">I", mpeg_frames)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def standalone_audio_module():
    """`keras_samplecnn.audio` loaded from its file, without importing the package."""
    spec = importlib.util.spec_from_file_location("audio_standalone", AUDIO_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
