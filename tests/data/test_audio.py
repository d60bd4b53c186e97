"""Tests for keras_samplecnn.audio: decoding, mix-down, resampling, int16 conversion, errors."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn import audio
from keras_samplecnn.audio import AudioDecodeError, from_int16, load_audio, to_int16
from tests.hostile_audio import wav_bytes, write_flac_declaring, write_mp3_declaring


def _sine(frequency, seconds, rate, amplitude=0.5):
    time = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * time)).astype(np.float32)


def _peak_frequency(x, rate):
    """Frequency of the largest FFT bin of a Hann-windowed signal."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spectrum) * rate / len(x)


@pytest.mark.parametrize("fmt,ext", [("WAV", "wav"), ("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")])
def test_resampling_keeps_frequency_and_duration(tmp_path, fmt, ext):
    path = tmp_path / f"tone.{ext}"
    sf.write(path, _sine(1000.0, 2.0, 16000), 16000, format=fmt)

    x = load_audio(path, sample_rate=22050)

    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) - 2 * 22050) <= 2
    # One FFT bin is 0.5 Hz here; a wrong rate would move the peak by 378 Hz.
    assert abs(_peak_frequency(x, 22050) - 1000.0) < 2.0
    assert 0.4 < np.max(np.abs(x)) < 0.6


def test_downsampling_removes_content_above_the_new_nyquist(tmp_path):
    path = tmp_path / "two_tones.wav"
    x = _sine(440.0, 1.0, 44100) + _sine(15000.0, 1.0, 44100)
    sf.write(path, x, 44100, subtype="FLOAT")

    y = load_audio(path, sample_rate=16000)

    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    frequencies = np.fft.rfftfreq(len(y), 1 / 16000)
    assert abs(frequencies[np.argmax(spectrum)] - 440.0) < 2.0
    # 15 kHz must not fold back to 1 kHz: nothing near 1 kHz but the 440 Hz leakage floor.
    near_alias = spectrum[(frequencies > 900) & (frequencies < 1100)].max()
    assert near_alias < 1e-3 * spectrum.max()


def test_stereo_is_mixed_to_channel_mean(tmp_path):
    left = _sine(300.0, 0.5, 22050, amplitude=0.8)
    right = _sine(300.0, 0.5, 22050, amplitude=0.2) + 0.1
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 22050, subtype="FLOAT")

    mono = load_audio(path, sample_rate=22050)
    both = load_audio(path, sample_rate=22050, mono=False)

    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-6)
    assert both.shape == (len(left), 2)
    np.testing.assert_allclose(both[:, 0], left, atol=1e-6)
    np.testing.assert_allclose(both[:, 1], right, atol=1e-6)


def test_stereo_mp3_at_another_rate(tmp_path):
    path = tmp_path / "stereo.mp3"
    x = np.stack([_sine(500.0, 1.0, 44100), _sine(500.0, 1.0, 44100, amplitude=0.1)], axis=1)
    sf.write(path, x, 44100, format="MP3")

    y = load_audio(path, sample_rate=16000)

    assert abs(len(y) - 16000) <= 2
    assert abs(_peak_frequency(y, 16000) - 500.0) < 2.0
    # Mean of 0.5 and 0.1 amplitudes, not either channel alone.
    assert 0.25 < np.max(np.abs(y)) < 0.35


def _truncated_mp3(tmp_path):
    path = tmp_path / "truncated.mp3"
    sf.write(path, _sine(440.0, 3.0, 16000), 16000, format="MP3")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_wav(tmp_path):
    path = tmp_path / "truncated.wav"
    sf.write(path, _sine(440.0, 3.0, 16000), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _empty(tmp_path):
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    return path


def _text(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("this is a text file with an mp3 extension\n" * 10)
    return path


def _no_samples(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    return path


def _nan(tmp_path):
    path = tmp_path / "nan.wav"
    x = _sine(440.0, 0.1, 16000)
    x[10] = np.nan
    sf.write(path, x, 16000, subtype="FLOAT")
    return path


@pytest.mark.parametrize(
    "make,reason",
    [
        (lambda tmp_path: tmp_path / "missing.mp3", "file not found"),
        (_empty, "empty file (0 bytes)"),
        (_text, "not a recognised audio file"),
        (_truncated_mp3, "truncated"),
        (_truncated_wav, "truncated"),
        (_no_samples, "no audio samples"),
        (_nan, "NaN"),
    ],
)
def test_bad_files_raise_audio_decode_error(tmp_path, make, reason):
    path = make(tmp_path)

    with pytest.raises(AudioDecodeError) as info:
        load_audio(path)

    assert reason in info.value.reason
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


# Headers that lie: each would have decoded to a huge or an empty array. The reason each must give.
HOSTILE = {
    # 2 KB at 1 Hz resampled to 22050 Hz: 22 million samples.
    "1hz.wav": (lambda path: path.write_bytes(wav_bytes(1)), "sample rate 1 Hz"),
    # 1000 frames at 2^31 - 1 Hz: 0 samples at 22050 Hz, a silent clip.
    "2e31hz.wav": (lambda path: path.write_bytes(wav_bytes(2**31 - 1)), "sample rate 2147483647 Hz"),
    "1000ch.wav": (lambda path: path.write_bytes(wav_bytes(16000, channels=1000, frames=4)), "1000 channels"),
    # soundfile sizes its output array from the declared length: 256 GiB and 4 GiB here.
    "2e36frames.flac": (lambda path: write_flac_declaring(path, 2**36 - 1), "declares 68719476735 frames"),
    "2e30frames.flac": (lambda path: write_flac_declaring(path, 2**30), "declares 1073741824 frames"),
    "xing.mp3": (lambda path: write_mp3_declaring(path, 2**31 - 1), "the header declares"),
    # FLAC's "length unknown" (0) reaches soundfile as 2^63 - 1 frames.
    "unknown_length.flac": (lambda path: write_flac_declaring(path, 0), "length"),
}

_DECODE_UNDER_LIMIT = """
import json, resource, sys, time
from tests.hostile_audio import standalone_audio_module
audio = standalone_audio_module()
status = open("/proc/self/status").read().split("VmSize:")[1]
limit = int(status.split()[0]) * 1024 + 512 * 2**20  # what is mapped now plus 512 MiB
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
for path in sys.argv[1:]:
    start = time.perf_counter()
    try:
        outcome = ["decoded", f"{audio.load_audio(path).shape[0]} samples"]
    except audio.AudioDecodeError as error:
        outcome = ["AudioDecodeError", error.reason]
    except BaseException as error:
        outcome = [type(error).__name__, str(error)]
    print(json.dumps([path, *outcome, time.perf_counter() - start]), flush=True)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status")
def test_lying_headers_are_rejected_quickly_in_bounded_memory(tmp_path):
    paths = []
    for name, (make, _) in HOSTILE.items():
        make(tmp_path / name)
        paths.append(str(tmp_path / name))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    # In a subprocess under a 512 MiB address-space margin: an allocation sized from the
    # header fails there instead of swapping this machine.
    result = subprocess.run(
        [sys.executable, "-c", _DECODE_UNDER_LIMIT, *paths],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )

    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = {os.path.basename(row[0]): row[1:] for row in map(json.loads, result.stdout.splitlines())}
    assert set(outcomes) == set(HOSTILE)
    for name, (_, reason) in HOSTILE.items():
        kind, message, seconds = outcomes[name]
        assert (kind, name) == ("AudioDecodeError", name), f"{name}: {kind}: {message}"
        assert reason in message, f"{name}: {message}"
        assert seconds < 1.0, f"{name}: {seconds:.2f} s"


def test_a_clip_that_resamples_to_nothing_is_rejected(tmp_path):
    # 40 frames at 768 kHz are 0.42 samples at 8 kHz.
    path = tmp_path / "blip.wav"
    path.write_bytes(wav_bytes(audio.MAX_SAMPLE_RATE, frames=40))

    with pytest.raises(AudioDecodeError, match="0 samples at 8000 Hz"):
        load_audio(path, sample_rate=8000)


@pytest.mark.parametrize("rate", [audio.MIN_SAMPLE_RATE, audio.MAX_SAMPLE_RATE])
def test_the_extreme_plausible_rates_still_decode(tmp_path, rate):
    path = tmp_path / "edge.wav"
    sf.write(path, _sine(1000.0, 0.5, rate), rate)

    x = load_audio(path, sample_rate=16000)

    assert abs(len(x) - 8000) <= 2
    assert abs(_peak_frequency(x, 16000) - 1000.0) < 3.0


def test_the_duration_and_size_limits(tmp_path, monkeypatch):
    path = tmp_path / "long.wav"
    sf.write(path, np.stack([_sine(440.0, 2.0, 8000)] * 2, axis=1), 8000)
    monkeypatch.setattr(audio, "MAX_DURATION", 1.5)
    with pytest.raises(AudioDecodeError, match=r"\(2\.0 s at 8000 Hz\), more than the limit of 1\.5 s"):
        load_audio(path)

    monkeypatch.setattr(audio, "MAX_DURATION", 3.0)
    monkeypatch.setattr(audio, "MAX_DECODED_SAMPLES", 20000)
    # A file of known length is read whole: 16000 frames x 2 channels are 32000 samples.
    with pytest.raises(AudioDecodeError, match=r"16000 frames x 2 channels .* limit of 1\.2 s"):
        load_audio(path)

    # A stream (unknown length) is read block by block and mixed down as it comes: 16000 fit.
    monkeypatch.setattr(sf.SoundFile, "seekable", lambda self: False)
    monkeypatch.setattr(audio, "_BLOCK_FRAMES", 1000)
    expected = sf.read(path, dtype="float32")[0].mean(axis=1, dtype=np.float32)
    np.testing.assert_array_equal(load_audio(path, sample_rate=8000), expected)
    # Without the header check, the limit still holds block by block.
    monkeypatch.setattr(audio, "_check_header", lambda *args: None)
    with pytest.raises(AudioDecodeError, match=r"decodes to more than the limit of 1\.2 s"):
        load_audio(path, mono=False)


def test_audio_decode_error_survives_pickling():
    error = pickle.loads(pickle.dumps(AudioDecodeError("a/b.mp3", "empty file (0 bytes)")))

    assert (error.path, error.reason) == ("a/b.mp3", "empty file (0 bytes)")


def test_invalid_sample_rate(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, _sine(440.0, 0.1, 16000), 16000)

    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(path, sample_rate=0)


def test_to_int16_clips_scales_and_rounds():
    pcm = to_int16([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0, 1.5 / 32767, -0.4 / 32767])

    assert pcm.dtype == np.int16
    np.testing.assert_array_equal(pcm, [0, 16384, -16384, 32767, -32767, 32767, -32767, 2, 0])


def test_int16_round_trip():
    x = np.linspace(-1, 1, 1001, dtype=np.float32)

    y = from_int16(to_int16(x))

    assert y.dtype == np.float32
    assert np.max(np.abs(x - y)) <= 0.5 / 32767 + 1e-7
    with pytest.raises(ValueError, match="int16"):
        from_int16(np.zeros(3, np.int32))


def test_a_long_mp3_decodes_as_one_read_does(tmp_path):
    # Reading an MP3 in blocks made soundfile ask libmpg123 for its position between blocks,
    # and libmpg123 decoded frames again without their bit reservoir: samples changed near
    # block boundaries (up to 0.05 on the demo's clips). The reference is one plain read.
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3")
    rng = np.random.default_rng(0)
    rate, seconds = 22050, 12.0  # 264,600 frames: several 65,536-frame blocks
    t = np.arange(int(rate * seconds)) / rate
    music = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    music += 0.05 * rng.standard_normal(t.size)
    path = tmp_path / "song.mp3"
    sf.write(path, np.stack([music, np.roll(music, 99)], axis=1).astype(np.float32), rate, format="MP3")
    with sf.SoundFile(path) as handle:  # one read from the start (sf.read seeks first: +-1 ulp)
        reference = handle.read(dtype="float32", always_2d=True)

    np.testing.assert_array_equal(load_audio(path, sample_rate=rate, mono=False), reference)
    np.testing.assert_array_equal(load_audio(path, sample_rate=rate), reference.mean(axis=1, dtype=np.float32))
