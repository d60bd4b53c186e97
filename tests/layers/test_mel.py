import importlib.util
import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from keras_samplecnn.layers import LogMelSpectrogram
from keras_samplecnn.layers.mel import LEGACY_FRONTEND, LEGACY_MODEL_FRONTEND, hz_to_mel, mel_filterbank, mel_to_hz
from tests import helpers


def _numpy_log_mel(x, layer, bank=None):
    """Centred (reflect-padded) periodic-Hann STFT -> |S|^power -> mel -> log10(1 + C*mel)."""
    n_fft, hop = layer.fft_length, layer.hop_length
    padded = np.pad(x, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = 1 + (padded.shape[1] - n_fft) // hop
    stft = np.stack(
        [np.fft.rfft(padded[:, t * hop : t * hop + n_fft] * window) for t in range(frames)], axis=1
    )
    if bank is None:
        bank = mel_filterbank(layer.num_mel_bins, n_fft, layer.sample_rate, mel_scale=layer.mel_scale, norm=layer.norm)
    mel = (np.abs(stft) ** layer.power) @ bank
    return np.log10(1 + layer.compression * mel)


def test_matches_numpy_reference():
    x = helpers.random_input((2, 4096)) * 0.1
    layer = LogMelSpectrogram(sample_rate=16000, fft_length=512, hop_length=256, num_mel_bins=40)
    y = helpers.check_output_shape(layer, x, (2, 4096 // 256 + 1, 40))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y), _numpy_log_mel(x, layer), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("mel_scale, norm", [("slaney", "slaney"), ("slaney", None), ("htk", None)])
@pytest.mark.parametrize("band", [5, 18, 40])
def test_sine_lands_in_the_right_band(mel_scale, norm, band):
    sr = 22050
    edges = mel_to_hz(np.linspace(0, hz_to_mel(sr / 2, mel_scale), 64 + 2), mel_scale)
    t = np.arange(22050) / sr
    x = np.sin(2 * np.pi * edges[band + 1] * t)[None].astype("float32")  # the band's centre
    layer = LogMelSpectrogram(sample_rate=sr, num_mel_bins=64, mel_scale=mel_scale, norm=norm)
    assert int(np.argmax(keras.ops.convert_to_numpy(layer(x))[0, 20])) == band


@pytest.mark.parametrize("mel_scale", ["slaney", "htk"])
def test_filterbank_triangles_cover_the_range(mel_scale):
    bank = mel_filterbank(40, 1024, 22050, mel_scale=mel_scale, norm=None)
    assert bank.shape == (513, 40)
    assert np.all(bank.max(axis=0) > 0.5)  # every band has a peak
    assert np.all(np.diff(bank.argmax(axis=0)) >= 0)  # centres rise with band index
    # "slaney" norm: the same triangles, each scaled to unit area in Hz (peak 2 / width).
    area = mel_filterbank(40, 1024, 22050, mel_scale=mel_scale, norm="slaney")
    edges = mel_to_hz(np.linspace(0, hz_to_mel(11025, mel_scale), 42), mel_scale)
    np.testing.assert_allclose(area, bank * (2 / (edges[2:] - edges[:-2])), rtol=1e-6)
    hz_per_bin = 22050 / 1024
    wide = (edges[2:] - edges[:-2]) > 20 * hz_per_bin  # finely sampled triangles
    np.testing.assert_allclose(area.sum(axis=0)[wide] * hz_per_bin, 1.0, rtol=0.01)


def test_mel_scales():
    # Slaney: 3 mel per 200 Hz up to 1 kHz (15 mel), then 27 mel per factor 6.4.
    np.testing.assert_allclose(hz_to_mel([0, 200, 1000, 6400, 6400 * 6.4]), [0, 3, 15, 42, 69], rtol=1e-12)
    np.testing.assert_allclose(hz_to_mel(700, "htk"), 2595 * np.log10(2), rtol=1e-12)
    freqs = np.array([0.0, 50.0, 999.0, 1000.0, 1001.0, 8000.0, 22050.0])
    for scale in ("slaney", "htk"):
        np.testing.assert_allclose(mel_to_hz(hz_to_mel(freqs, scale), scale), freqs, rtol=1e-12, atol=1e-9)


def test_bad_arguments():
    with pytest.raises(ValueError, match="hop_length"):
        LogMelSpectrogram(fft_length=256, hop_length=512)
    with pytest.raises(ValueError, match="max_freq"):
        mel_filterbank(40, 1024, 22050, max_freq=20000)
    with pytest.raises(ValueError, match="mel_scale"):
        LogMelSpectrogram(mel_scale="bark")
    with pytest.raises(ValueError, match="norm"):
        LogMelSpectrogram(norm="area")
    with pytest.raises(ValueError, match="power"):
        LogMelSpectrogram(power=0)


def test_config_round_trip():
    helpers.check_config_round_trip(
        LogMelSpectrogram,
        {"sample_rate": 16000, "fft_length": 512, "hop_length": 160, "num_mel_bins": 32, "compression": 1.0},
        helpers.random_input((1, 1600)),
    )
    helpers.check_config_round_trip(
        LogMelSpectrogram, {"mel_scale": "htk", "norm": None, "power": 2.0}, helpers.random_input((1, 4096))
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


# The ISMIR 2018 authors' front end against librosa itself. Their `mp3s_to_mel.py`
# (jongpillee/ismir2018-artist @68841d2): `librosa.stft(y, n_fft=1024, hop_length=512,
# win_length=1024)` with librosa < 0.10's defaults (centred, periodic Hann, reflect padding),
# |S|, `librosa.filters.mel(sr, n_fft=1024, n_mels=128)` (Slaney scale and norm), log10(1 + 10·mel).
SAMPLE_RATES = (22050, 16000, 44100)
FFT_LENGTHS = (1024, 512)
# Largest |ours - librosa's| over the signals, rates and FFT sizes below, measured on CPU with
# librosa 0.11: 9.8e-7 on TensorFlow, 8.3e-7 on JAX, 1.3e-6 on PyTorch, for values up to 1.7,
# where a float32 ulp is 1.2e-7. Both sides take a float32 FFT (librosa's complex64 STFT of a
# float32 signal) with different FFT libraries and summation orders, then a 513-term float32
# product with the filterbank; a few ulps apart. The bound is about 4x the worst measured, and
# far below any change of the front end (the tests check that HTK triangles or power spectra
# miss it by more than 1e-2).
LIBROSA_ATOL = 5e-6


def _librosa():
    if importlib.util.find_spec("librosa") is None:
        helpers.unavailable("librosa is not installed (pip install -e '.[test]')")
    import librosa

    return librosa


def _num_mels(fft_length):
    return 128 if fft_length >= 1024 else 64  # no band narrower than an FFT bin (librosa warns)


def _signals(sample_rate):
    """Four float32 test signals of 2 s plus part of a hop: noise, a chirp, silence with one
    click, and a mix of notes with harmonics, vibrato and decay, a kick drum and a noise floor."""
    n = 2 * sample_rate + 123
    rng = np.random.default_rng(sample_rate)
    t = np.arange(n) / sample_rate
    click = np.zeros(n)
    click[n // 3] = 1.0
    # Linear chirp from 50 Hz to Nyquist: every band sees energy.
    chirp = 0.5 * np.sin(2 * np.pi * (50 * t + (sample_rate / 2 - 50) / (2 * t[-1]) * t**2))
    pitch = 220.0 * 2 ** ((np.floor(4 * t) % 5) * 2 / 12) * (1 + 0.005 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    notes = sum(np.sin(k * phase) / k for k in range(1, 7)) * np.exp(-3 * ((4 * t) % 1))
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-20 * (t % 0.5))
    mix = 0.3 * notes + 0.4 * kick + 0.02 * rng.standard_normal(n)
    signals = {"noise": 0.1 * rng.standard_normal(n), "chirp": chirp, "click": click, "mix": mix}
    return {name: y.astype("float32") for name, y in signals.items()}


def _librosa_log_mel(librosa, y, sample_rate, fft_length):
    """`mp3s_to_mel.py` on `y`, with the defaults of the librosa its authors ran spelled out."""
    bank = librosa.filters.mel(sr=sample_rate, n_fft=fft_length, n_mels=_num_mels(fft_length), htk=False,
                               norm="slaney")  # fmt: skip
    spectrum = librosa.stft(y, n_fft=fft_length, hop_length=fft_length // 2, win_length=fft_length, center=True,
                            pad_mode="reflect")  # fmt: skip
    return np.log10(1 + 10 * bank @ np.abs(spectrum)).T


def _layer(sample_rate, fft_length, **kwargs):
    return LogMelSpectrogram(sample_rate=sample_rate, fft_length=fft_length, hop_length=fft_length // 2,
                             num_mel_bins=_num_mels(fft_length), **kwargs)  # fmt: skip


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize("fft_length", FFT_LENGTHS)
@pytest.mark.parametrize("mel_scale, norm", [("slaney", "slaney"), ("htk", None)])
def test_filterbank_matches_librosa(sample_rate, fft_length, mel_scale, norm):
    # ("htk", None) is also what the code before the front-end options computed: HTK scale, unit peaks.
    librosa = _librosa()
    n_mels = _num_mels(fft_length)
    theirs = librosa.filters.mel(sr=sample_rate, n_fft=fft_length, n_mels=n_mels, htk=mel_scale == "htk", norm=norm)
    ours = mel_filterbank(n_mels, fft_length, sample_rate, mel_scale=mel_scale, norm=norm).T
    assert ours.shape == theirs.shape
    # Both computed in float64 and rounded to float32 (measured: at most 1e-7 of the peak apart).
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6 * theirs.max())


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize("fft_length", FFT_LENGTHS)
def test_log_mel_matches_librosa(sample_rate, fft_length):
    librosa = _librosa()
    layer = _layer(sample_rate, fft_length)
    for name, y in _signals(sample_rate).items():
        expected = _librosa_log_mel(librosa, y, sample_rate, fft_length)
        got = keras.ops.convert_to_numpy(layer(y[None]))[0]
        assert got.shape == expected.shape, name  # frames and bands
        np.testing.assert_allclose(got, expected, rtol=0, atol=LIBROSA_ATOL, err_msg=name)
    # The bound tells the front ends apart: the old HTK unit-peak power front end is far off.
    for other in (_layer(sample_rate, fft_length, power=2.0), _layer(sample_rate, fft_length, mel_scale="htk")):
        assert np.abs(keras.ops.convert_to_numpy(other(y[None]))[0] - expected).max() > 1e-2


_ON_BACKEND = """
import sys, numpy as np, keras
from keras_samplecnn.layers import LogMelSpectrogram
inputs = np.load(sys.argv[1])
outputs = {}
for key in inputs.files:
    sample_rate, fft_length, num_mel_bins, _ = key.split("-")
    layer = LogMelSpectrogram(sample_rate=int(sample_rate), fft_length=int(fft_length),
                              hop_length=int(fft_length) // 2, num_mel_bins=int(num_mel_bins))
    outputs[key] = keras.ops.convert_to_numpy(layer(inputs[key][None]))[0]
np.savez(sys.argv[2], backend=keras.backend.backend(), **outputs)
"""


@pytest.mark.large
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_every_backend_matches_librosa(backend, tmp_path):
    """`ops.stft(center=True)` pads by reflection with a periodic Hann window on every backend."""
    librosa = _librosa()
    if importlib.util.find_spec(backend) is None:
        helpers.unavailable(f"{backend} is not installed (pip install -e '.[backends]')")
    inputs = {}
    for sample_rate, fft_length in [(22050, 1024), (16000, 512), (44100, 1024)]:
        for name, y in _signals(sample_rate).items():
            inputs[f"{sample_rate}-{fft_length}-{_num_mels(fft_length)}-{name}"] = y
    np.savez(tmp_path / "in.npz", **inputs)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-c", _ON_BACKEND, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = np.load(tmp_path / "out.npz")
    assert str(outputs["backend"]) == backend
    for key, y in inputs.items():
        sample_rate, fft_length = (int(v) for v in key.split("-")[:2])
        expected = _librosa_log_mel(librosa, y, sample_rate, fft_length)
        assert outputs[key].shape == expected.shape, key
        np.testing.assert_allclose(outputs[key], expected, rtol=0, atol=LIBROSA_ATOL, err_msg=f"{backend} {key}")


# Files saved before the front-end options keep their front end: HTK scale, unit peaks and (the old default)
# power spectra, filled in by `from_config` where a config lacks the new keys.


def _legacy_filterbank(num_mel_bins, fft_length, sample_rate):
    """The filterbank before the front-end options, written out: HTK mel scale, unit-peak triangles."""

    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(0.0), mel(sample_rate / 2), num_mel_bins + 2))
    freqs = np.arange(fft_length // 2 + 1) * sample_rate / fft_length
    bank = np.zeros((freqs.size, num_mel_bins))
    for k in range(num_mel_bins):
        low, centre, high = edges[k : k + 3]
        bank[:, k] = np.maximum(0.0, np.minimum((freqs - low) / (centre - low), (high - freqs) / (high - centre)))
    return bank


def _check_legacy_layer(layer, x):
    """`layer` computes the front end before the front-end options on `x`."""
    assert (layer.mel_scale, layer.norm, layer.power) == ("htk", None, 2.0)
    bank = _legacy_filterbank(layer.num_mel_bins, layer.fft_length, layer.sample_rate)
    np.testing.assert_allclose(layer._filterbank, bank, rtol=1e-6, atol=1e-7)
    got = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(got, _numpy_log_mel(x, layer, bank), rtol=1e-5, atol=1e-5)
    new = LogMelSpectrogram.from_config({**layer.get_config(), "mel_scale": "slaney", "norm": "slaney", "power": 1.0})
    assert np.abs(keras.ops.convert_to_numpy(new(x)) - got).max() > 1e-2  # the check can fail


def _as_saved_before_issue_25(path):
    """Rewrites a `.keras` file's config.json to the shape the code before the front-end options wrote: no
    `mel_scale` / `norm` in `LogMelSpectrogram` configs, no `mel_scale` / `mel_norm` /
    `mel_power` in the models' own configs."""

    def strip(node):
        if isinstance(node, dict):
            if node.get("class_name") == "LogMelSpectrogram":
                for key in ("mel_scale", "norm"):
                    node["config"].pop(key)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(entries["config.json"])
    strip(config)
    for key in LEGACY_MODEL_FRONTEND:
        config["config"].pop(key, None)
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def test_layer_config_saved_before_the_options_keeps_the_old_front_end(tmp_path):
    x = helpers.random_input((2, 4096)) * 0.1
    old = LogMelSpectrogram(sample_rate=16000, fft_length=512, hop_length=256, num_mel_bins=40).get_config()
    del old["mel_scale"], old["norm"]
    old["power"] = 2.0  # the old default, always written to configs
    _check_legacy_layer(LogMelSpectrogram.from_config(old), x)
    # And inside a saved model.
    inputs = keras.Input((4096,))
    model = keras.Model(inputs, LogMelSpectrogram(sample_rate=16000, fft_length=512, hop_length=256, num_mel_bins=40,
                                                  name="mel", **LEGACY_FRONTEND)(inputs))  # fmt: skip
    model.save(tmp_path / "old.keras")
    _as_saved_before_issue_25(tmp_path / "old.keras")
    _check_legacy_layer(keras.saving.load_model(tmp_path / "old.keras").get_layer("mel"), x)


def _old_model(name, **front_end):
    """A small model of each kind whose config carries the front end, and its mel layer."""
    from keras_samplecnn.models import DCUE, ArtistCNN, SampleCNN, SampleCNNBackbone, SiameseArtistModel

    artist = dict(num_frames=128, hop_length=32, fft_length=64, num_mel_bins=16, **front_end)
    mel = dict(frontend="mel", m=3, n=4, input_length=2187, stem_size=27, fft_length=256, num_mel_bins=16,
               stem_filters=8, filters=[8] * 4, **front_end)  # fmt: skip
    return {
        "artist_basic": lambda: ArtistCNN(num_artists=3, **artist),
        "artist_siamese": lambda: SiameseArtistModel(num_negatives=1, **artist),
        "mel": lambda: SampleCNN(num_classes=3, **mel),
        "backbone": lambda: SampleCNNBackbone(**mel),
        "dcue": lambda: DCUE(num_users=3, num_negatives=1, hop_length=32, fft_length=64, num_mel_bins=16, **front_end),
    }[name]()


def _front_end_of(model):
    """(mel layer, waveform → output function) of a model."""
    from keras_samplecnn.models import DCUE, SiameseArtistModel

    if isinstance(model, DCUE):
        return model.mel_frontend(), model.waveform_encoder
    if isinstance(model, SiameseArtistModel):
        return model.encoder.get_layer("mel"), model.encoder
    return model.get_layer("mel"), model


@pytest.mark.parametrize("name", ["artist_basic", "artist_siamese", "mel", "backbone", "dcue"])
def test_model_saved_before_the_options_keeps_the_old_front_end(name, tmp_path):
    keras.utils.set_random_seed(0)
    model = _old_model(name, **LEGACY_MODEL_FRONTEND)
    new_defaults = _old_model(name).get_config()
    assert {key: new_defaults[key] for key in LEGACY_MODEL_FRONTEND} == {
        "mel_scale": "slaney", "mel_norm": "slaney", "mel_power": 1.0}  # fmt: skip
    layer, encoder = _front_end_of(model)
    x = helpers.random_input((2, model.input_length)) * 0.1
    expected = keras.tree.map_structure(keras.ops.convert_to_numpy, encoder(x, training=False))
    model.save(tmp_path / "old.keras")
    _as_saved_before_issue_25(tmp_path / "old.keras")
    with zipfile.ZipFile(tmp_path / "old.keras") as archive:
        assert not set(LEGACY_MODEL_FRONTEND) & set(json.loads(archive.read("config.json"))["config"])
    restored = keras.saving.load_model(tmp_path / "old.keras")
    assert restored.get_config() == model.get_config()
    layer, encoder = _front_end_of(restored)
    _check_legacy_layer(layer, x)
    keras.tree.map_structure(
        lambda got, want: np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-6, atol=1e-6),
        encoder(x, training=False),
        expected,
    )
