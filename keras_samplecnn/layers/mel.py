"""A log-mel-spectrogram front end that lives inside the model."""

import keras
import numpy as np
from keras import ops

from keras_samplecnn.layers.sample_conv import PACKAGE


def mel_filterbank(num_mel_bins, fft_length, sample_rate, min_freq=0.0, max_freq=None):
    """Triangular filters on the HTK mel scale, shape `(fft_length // 2 + 1, num_mel_bins)`.

    Args:
        num_mel_bins: number of mel bands.
        fft_length: FFT size.
        sample_rate: sample rate in Hz.
        min_freq, max_freq: band edges in Hz (`max_freq` defaults to Nyquist).
    """
    max_freq = sample_rate / 2 if max_freq is None else max_freq
    if not 0 <= min_freq < max_freq <= sample_rate / 2:
        raise ValueError(f"need 0 <= min_freq < max_freq <= {sample_rate / 2}, got {min_freq}, {max_freq}")

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(min_freq), hz_to_mel(max_freq), num_mel_bins + 2))
    bins = np.linspace(0, sample_rate / 2, fft_length // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights.T.astype("float32")


@keras.saving.register_keras_serializable(package=PACKAGE)
class LogMelSpectrogram(keras.layers.Layer):
    """Waveform → magnitude STFT → mel filterbank → log10(1 + C·mel).

    The frame-level baseline of the SMC 2017 paper and the artist-label models
    of ISMIR 2018 take mel spectrograms; putting the front end inside the model
    means no offline features and the same raw-audio pipeline for every model.
    The STFT always runs in float32 (a half-precision STFT loses the quiet
    bins); the output is cast to the layer's compute dtype.

    Args:
        sample_rate: input sample rate in Hz.
        fft_length: FFT and window length.
        hop_length: hop between frames in samples.
        num_mel_bins: number of mel bands.
        min_freq, max_freq: mel band edges in Hz (`None` = Nyquist).
        compression: C in log10(1 + C·mel) (10 in the authors' code).
        power: 1 for magnitude, 2 for power mel spectrograms.
        **kwargs: base `Layer` arguments.

    Input shape: `(batch, samples)` or `(batch, samples, 1)`. Output:
    `(batch, frames, num_mel_bins)` with `frames = samples // hop_length + 1`
    (centred frames).

    Example:
    >>> tuple(LogMelSpectrogram(hop_length=512)(keras.random.normal((2, 22050))).shape)
    (2, 44, 128)

    Reference: Park, Lee, Park, Ha, Nam, "Representation Learning of Music Using
    Artist Labels", ISMIR 2018 (arXiv:1710.06648), for log10(1 + 10·mel).
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
        power=2.0,
        **kwargs,
    ):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        if hop_length < 1 or fft_length < hop_length:
            raise ValueError(f"need 1 <= hop_length <= fft_length, got {hop_length}, {fft_length}")
        self.sample_rate = sample_rate
        self.fft_length = fft_length
        self.hop_length = hop_length
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.compression = compression
        self.power = power
        self._filterbank = mel_filterbank(num_mel_bins, fft_length, sample_rate, min_freq, max_freq)

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
        )
        return config
