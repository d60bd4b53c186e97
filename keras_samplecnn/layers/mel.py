"""A log-mel-spectrogram front end that lives inside the model."""

import keras
import numpy as np
from keras import ops

from keras_samplecnn.layers.sample_conv import PACKAGE


MEL_SCALES = ("slaney", "htk")
NORMS = ("slaney", None)
# The models' names of the layer's front-end arguments (`ArtistCNN`, `SiameseArtistModel`, `DCUE`,
# `SampleCNN`, `SampleCNNBackbone` take them and build the layer from them).
MODEL_ARGUMENTS = {"mel_scale": "mel_scale", "norm": "mel_norm", "power": "mel_power"}


def model_arguments(front_end):
    """`front_end` (the layer's `mel_scale` / `norm` / `power`) under the models' argument names."""
    return {MODEL_ARGUMENTS[key]: value for key, value in front_end.items()}


# What a config saved before `mel_scale` and `norm` existed was computed with: the HTK mel scale,
# unit-peak triangles and, as the old default, power spectra. `from_config` fills these in for
# keys a saved config lacks, so old `.keras` files keep their front end.
LEGACY_FRONTEND = {"mel_scale": "htk", "norm": None, "power": 2.0}
LEGACY_MODEL_FRONTEND = model_arguments(LEGACY_FRONTEND)

# Slaney's mel scale (Auditory Toolbox, 1998): 3 mel per 200 Hz up to 1 kHz (= 15 mel), then
# 27 mel per factor 6.4 in frequency.
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
_SLANEY_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(freq, mel_scale="slaney"):
    """Hz → mel on the "slaney" scale (linear below 1 kHz, logarithmic above) or the "htk"
    scale (2595·log10(1 + f/700))."""
    freq = np.asarray(freq, dtype="float64")
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + freq / 700.0)
    above = np.maximum(freq, _SLANEY_BREAK_HZ)
    return np.where(
        freq < _SLANEY_BREAK_HZ,
        freq / _SLANEY_HZ_PER_MEL,
        _SLANEY_BREAK_MEL + np.log(above / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP,
    )


def mel_to_hz(mel, mel_scale="slaney"):
    """The inverse of `hz_to_mel`."""
    mel = np.asarray(mel, dtype="float64")
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    above = np.maximum(mel, _SLANEY_BREAK_MEL)
    return np.where(
        mel < _SLANEY_BREAK_MEL,
        mel * _SLANEY_HZ_PER_MEL,
        _SLANEY_BREAK_HZ * np.exp(_SLANEY_LOG_STEP * (above - _SLANEY_BREAK_MEL)),
    )


def check_options(mel_scale, norm, power=1.0):
    """Raises a ValueError naming a bad `mel_scale`, `norm` or `power`."""
    if not power > 0:
        raise ValueError(f"power must be positive, got {power}")
    if mel_scale not in MEL_SCALES:
        raise ValueError(f"mel_scale must be one of {list(MEL_SCALES)}, got {mel_scale!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")


def mel_filterbank(
    num_mel_bins, fft_length, sample_rate, min_freq=0.0, max_freq=None, mel_scale="slaney", norm="slaney"
):
    """Triangular mel filters, shape `(fft_length // 2 + 1, num_mel_bins)`.

    The band edges are `num_mel_bins + 2` points equally spaced in mel between `min_freq` and
    `max_freq`; band k rises linearly (in Hz) from edge k to 1 at edge k+1 and falls back to 0
    at edge k+2, sampled at the FFT bin frequencies `i·sample_rate/fft_length`.

    Args:
        num_mel_bins: number of mel bands.
        fft_length: FFT size.
        sample_rate: sample rate in Hz.
        min_freq, max_freq: band edges in Hz (`max_freq` defaults to Nyquist).
        mel_scale: "slaney" (linear below 1 kHz, logarithmic above: what
            `librosa.filters.mel` computes by default, and the ISMIR 2018 authors' front end)
            or "htk" (2595·log10(1 + f/700)).
        norm: "slaney" divides each triangle by half its width in Hz (`2 / (edge[k+2] -
            edge[k])`), so every band has the same area; None keeps unit peaks.
    """
    check_options(mel_scale, norm)
    max_freq = sample_rate / 2 if max_freq is None else max_freq
    if not 0 <= min_freq < max_freq <= sample_rate / 2:
        raise ValueError(f"need 0 <= min_freq < max_freq <= {sample_rate / 2}, got {min_freq}, {max_freq}")
    low, high = hz_to_mel(min_freq, mel_scale), hz_to_mel(max_freq, mel_scale)
    edges = mel_to_hz(np.linspace(low, high, num_mel_bins + 2), mel_scale)
    bins = np.linspace(0, sample_rate / 2, fft_length // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= 2.0 / (upper - lower)
    return weights.T.astype("float32")


@keras.saving.register_keras_serializable(package=PACKAGE)
class LogMelSpectrogram(keras.layers.Layer):
    """Waveform → magnitude STFT → mel filterbank → log10(1 + C·mel).

    The frame-level baseline of the SMC 2017 paper, the SPL 2017 extractors, the
    artist-label models of ISMIR 2018 and the DCUE audio branch take mel
    spectrograms; putting the front end inside the model means no offline
    features and the same raw-audio pipeline for every model.

    The defaults are the ISMIR 2018 authors' front end (jongpillee/ismir2018-artist
    `mp3s_to_mel.py`, the same file in jongpillee/deep-content-user):
    `librosa.stft(y, n_fft=1024, hop_length=512, win_length=1024)` with librosa's
    defaults before 0.10 (centred frames, periodic Hann window, reflect padding by
    `fft_length // 2` on both sides), the magnitude |S|, `librosa.filters.mel(sr,
    n_fft=1024, n_mels=128)` (Slaney scale, area-normalised triangles), then
    log10(1 + 10·mel). Keras' `ops.stft(center=True, window="hann")` pads by
    reflection and uses the periodic window on TensorFlow, JAX and PyTorch alike
    (checked in Keras 3.15's backends), so these values match librosa's on every
    backend (tests/layers/test_mel.py compares them). The STFT always runs in float32 (a
    half-precision STFT loses the quiet bins); the output is cast to the layer's
    compute dtype.

    Args:
        sample_rate: input sample rate in Hz.
        fft_length: FFT and window length.
        hop_length: hop between frames in samples.
        num_mel_bins: number of mel bands.
        min_freq, max_freq: mel band edges in Hz (`None` = Nyquist).
        compression: C in log10(1 + C·mel) (10 in the authors' code).
        power: 1 for magnitude (the authors' |S|), 2 for power mel spectrograms.
        mel_scale: "slaney" (linear below 1 kHz, logarithmic above; librosa's default)
            or "htk" (see `mel_filterbank`).
        norm: "slaney" (area-normalised triangles; librosa's default) or None (unit
            peaks).
        **kwargs: base `Layer` arguments.

    Configs saved before `mel_scale` and `norm` existed load with the front end they
    were trained with: `from_config` fills in `LEGACY_FRONTEND` (HTK, unit peaks,
    power 2) for the keys they lack.

    Input shape: `(batch, samples)` or `(batch, samples, 1)`. Output:
    `(batch, frames, num_mel_bins)` with `frames = samples // hop_length + 1`
    (centred frames).

    Example:
    >>> tuple(LogMelSpectrogram(hop_length=512)(keras.random.normal((2, 22050))).shape)
    (2, 44, 128)

    Reference: Park, Lee, Park, Ha, Nam, "Representation Learning of Music Using
    Artist Labels", ISMIR 2018 (arXiv:1710.06648), and its code
    (jongpillee/ismir2018-artist @68841d2, `mp3s_to_mel.py`), for the front end;
    Slaney, "Auditory Toolbox", Interval Research Technical Report 1998-010, for the
    mel scale and the area normalisation.
    """

    def __init__(
        self,
        sample_rate=22050,
        fft_length=1024,
        hop_length=512,
        num_mel_bins=128,
        min_freq=0.0,
        max_freq=None,
        compression=10.0,
        power=1.0,
        mel_scale="slaney",
        norm="slaney",
        **kwargs,
    ):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        if hop_length < 1 or fft_length < hop_length:
            raise ValueError(f"need 1 <= hop_length <= fft_length, got {hop_length}, {fft_length}")
        check_options(mel_scale, norm, power)
        self.sample_rate = sample_rate
        self.fft_length = fft_length
        self.hop_length = hop_length
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.compression = compression
        self.power = power
        self.mel_scale = mel_scale
        self.norm = norm
        self._filterbank = mel_filterbank(
            num_mel_bins, fft_length, sample_rate, min_freq, max_freq, mel_scale=mel_scale, norm=norm
        )

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        if len(x.shape) == 3:
            x = ops.squeeze(x, axis=-1)
        real, imag = ops.stft(
            x,
            sequence_length=self.fft_length,
            sequence_stride=self.hop_length,
            fft_length=self.fft_length,
            window="hann",
            center=True,
        )
        magnitude = ops.sqrt(real * real + imag * imag)
        if self.power != 1:
            magnitude = ops.power(magnitude, self.power)
        mel = ops.matmul(magnitude, ops.convert_to_tensor(self._filterbank))
        return ops.cast(ops.log10(1.0 + self.compression * mel), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else samples // self.hop_length + 1
        return (input_shape[0], frames, self.num_mel_bins)

    def get_config(self):
        config = super().get_config()
        config.update(
            sample_rate=self.sample_rate,
            fft_length=self.fft_length,
            hop_length=self.hop_length,
            num_mel_bins=self.num_mel_bins,
            min_freq=self.min_freq,
            max_freq=self.max_freq,
            compression=self.compression,
            power=self.power,
            mel_scale=self.mel_scale,
            norm=self.norm,
        )
        return config

    @classmethod
    def from_config(cls, config):
        # A config without the keys was saved before they existed: its front end was the old one.
        return cls(**{**LEGACY_FRONTEND, **config})
