import keras
import numpy as np
import pytest

from keras_samplecnn.layers import LogMelSpectrogram
from keras_samplecnn.layers.mel import mel_filterbank
from tests import helpers


def _numpy_log_mel(x, layer):
    """Centred (reflect-padded) periodic-Hann STFT -> power -> mel -> log10(1 + C*mel)."""
    n_fft, hop = layer.fft_length, layer.hop_length
    padded = np.pad(x, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = 1 + (padded.shape[1] - n_fft) // hop
    stft = np.stack(
        [np.fft.rfft(padded[:, t * hop : t * hop + n_fft] * window) for t in range(frames)], axis=1
    )
    mel = (np.abs(stft) ** layer.power) @ mel_filterbank(layer.num_mel_bins, n_fft, layer.sample_rate)
    return np.log10(1 + layer.compression * mel)


def test_matches_numpy_reference():
    x = helpers.random_input((2, 4096)) * 0.1
    layer = LogMelSpectrogram(sample_rate=16000, fft_length=512, hop_length=256, num_mel_bins=40)
    y = helpers.check_output_shape(layer, x, (2, 4096 // 256 + 1, 40))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y), _numpy_log_mel(x, layer), rtol=1e-3, atol=1e-3)


def test_sine_lands_in_the_right_band():
    sr, freq = 22050, 1000.0
    t = np.arange(22050) / sr
    x = np.sin(2 * np.pi * freq * t)[None].astype("float32")
    layer = LogMelSpectrogram(sample_rate=sr, num_mel_bins=64)
    peak_band = int(np.argmax(keras.ops.convert_to_numpy(layer(x))[0, 20]))
    bank = mel_filterbank(64, 1024, sr)
    bin_of_freq = round(freq / (sr / 1024))
    assert peak_band == int(np.argmax(bank[bin_of_freq]))


def test_filterbank_triangles_cover_the_range():
    bank = mel_filterbank(40, 1024, 22050)
    assert bank.shape == (513, 40)
    assert np.all(bank.max(axis=0) > 0.5)  # every band has a peak
    assert np.all(np.diff(bank.argmax(axis=0)) >= 0)  # centres rise with band index


def test_bad_arguments():
    with pytest.raises(ValueError, match="hop_length"):
        LogMelSpectrogram(fft_length=256, hop_length=512)
    with pytest.raises(ValueError, match="max_freq"):
        mel_filterbank(40, 1024, 22050, max_freq=20000)


def test_config_round_trip():
    helpers.check_config_round_trip(
        LogMelSpectrogram,
        {"sample_rate": 16000, "fft_length": 512, "hop_length": 160, "num_mel_bins": 32, "compression": 1.0},
        helpers.random_input((1, 1600)),
    )


@pytest.mark.parametrize("policy", helpers.MIXED_POLICIES)
def test_computes_in_float32_returns_compute_dtype(policy):
    layer = LogMelSpectrogram(dtype=policy)
    x = helpers.random_input((1, 4096))
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == policy.split("_")[1]
    reference = LogMelSpectrogram()(x)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(y, "float32")),
        keras.ops.convert_to_numpy(reference),
        rtol=2e-2,
        atol=2e-2,
    )
