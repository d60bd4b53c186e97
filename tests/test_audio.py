"""Tests for keras_samplecnn.audio: decoding, mix-down, resampling, int16 conversion, errors."""

import pickle

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.audio import AudioDecodeError, from_int16, load_audio, to_int16


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
