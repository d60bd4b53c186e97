"""Pretrained presets (`keras_samplecnn.presets`): the ISMIR 2018 Siamese artist encoders.

The parity test rebuilds the authors' encoder without the package (plain Keras layers, their
HDF5 weights read with h5py, librosa's front end as in their `mp3s_to_mel.py`) and requires
`from_preset`'s embedding of the same audio to match. The weight files come from
`$SAMPLECNN_WEIGHTS_DIR`, else from `../shared/weights/ismir2018-artist` beside the repository;
without either those tests skip. The checksum, truncation, download and cache tests use a
small made-up preset and a `file://` origin, so they need neither the weights nor a network.
"""

import importlib.util
import os
import shutil

import keras
import numpy as np
import pytest

import keras_samplecnn
from keras_samplecnn import presets
from keras_samplecnn.files import sha256_file
from keras_samplecnn.models.artist import ENCODER_LAYERS, MEL_MEAN, MEL_STD, SiameseArtistModel
from keras_samplecnn.presets import PRESETS, Preset, from_preset
from keras_samplecnn.tagger import Tagger
from tests.helpers import preset_weights_dir, unavailable

SAMPLE_RATE = 22050


def weights_dir():
    return preset_weights_dir()


def music(seconds, seed=0):
    """A few seconds of something music-like: harmonic notes with vibrato, clicks and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    audio = 0.01 * rng.standard_normal(len(t))
    for start, pitch in enumerate((220.0, 277.2, 329.6, 440.0, 196.0, 246.9)):
        note = (t >= start * seconds / 6) * np.exp(-3.0 * np.maximum(t - start * seconds / 6, 0))
        for harmonic in range(1, 6):
            phase = 2 * np.pi * pitch * harmonic * t * (1 + 0.003 * np.sin(5 * t))
            audio += note * 0.3 / harmonic * np.sin(phase)
    audio[:: SAMPLE_RATE // 4] += 0.8  # a click every quarter second
    return audio.astype("float32")


# --- the authors' encoder, without the package -------------------------------------------------


def authors_front_end(segment):
    """librosa as in the authors' `mp3s_to_mel.py`, standardised as in their `train.py`:
    `(frames, 128)` of one segment. `pad_mode="reflect"` is spelled out: it was librosa's
    default when they computed their features (0.5, 0.6), librosa 0.10 changed it to zeros."""
    import librosa

    spectrum = np.abs(librosa.stft(segment, n_fft=1024, hop_length=512, win_length=1024, center=True,
                                   pad_mode="reflect"))  # fmt: skip
    mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=1024, n_mels=128) @ spectrum
    return ((np.log10(1 + 10 * mel) - MEL_MEAN) / MEL_STD).T.astype("float32")


def authors_encoder(path):
    """Their `model.py` encoder in plain Keras, the weights copied from their file with h5py."""
    import h5py

    with h5py.File(path, "r") as handle:
        group = handle["model_weights"]
        weights = {name: {key.split(":")[0]: group[name][name][key][()] for key in group[name][name]}
                   for name in group if name.startswith(("conv1d_", "batch_normalization_"))}  # fmt: skip
    x = inputs = keras.Input((129, 128))
    for index, (filters, kernel, pool) in enumerate(ENCODER_LAYERS, start=1):
        conv = keras.layers.Conv1D(filters, kernel, padding="same", use_bias=True)
        norm = keras.layers.BatchNormalization(epsilon=1e-3)  # Keras 2's default, as in their file
        x = keras.layers.Activation("relu")(norm(conv(x)))
        if pool:
            x = keras.layers.MaxPooling1D(pool)(x)
        conv.set_weights([weights[f"conv1d_{index}"]["kernel"], weights[f"conv1d_{index}"]["bias"]])
        bn = weights[f"batch_normalization_{index}"]
        norm.set_weights([bn["gamma"], bn["beta"], bn["moving_mean"], bn["moving_variance"]])
    return keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_matches_the_authors_encoder_on_librosa_features(name, tmp_path):
    if importlib.util.find_spec("librosa") is None:
        unavailable("librosa is not installed (pip install -e '.[test]')")
    folder = weights_dir()
    model = from_preset(name, weights_dir=folder)
    assert isinstance(model, SiameseArtistModel) and model.count_params() == PRESETS[name].parameters
    assert all(model.encoder.get_layer(f"conv{i}").bn.epsilon == 1e-3 for i in range(1, 6))

    audio = music(10.0)
    segments = audio[: len(audio) // model.input_length * model.input_length].reshape(-1, model.input_length)
    features = np.stack([authors_front_end(segment) for segment in segments])
    assert features.shape[1:] == (129, 128)  # the authors' excerpt: 129 frames of 128 bands
    reference = authors_encoder(os.path.join(folder, PRESETS[name].file_name))
    expected = np.asarray(reference.predict(features, verbose=0))
    got = np.asarray(model.encoder.predict(segments, verbose=0))
    # Float32 rounding only (the backend's FFT against librosa's, summation orders of the mel
    # matmul and the convolutions). Measured on this audio with TensorFlow: 7.6e-6 (10k, largest
    # value 9.0) and 4.8e-6 (5k, largest 13.1), under 1e-6 of the largest value; JAX and PyTorch
    # pass too. 1e-5 of the largest value leaves 10-30x for other CPUs and backends, while a
    # front-end slip moves the embedding by far more (measured on other audio: power spectra 34,
    # the HTK scale 41, unit-peak filters 45, zero-padded frames 0.9); a wrong BatchNorm epsilon
    # (1e-5: 3e-5) is checked above rather than left to this bound.
    tolerance = 1e-5 * np.abs(expected).max()
    assert np.abs(got - expected).max() <= tolerance, (np.abs(got - expected).max(), tolerance)
    assert np.abs(expected).max() > 1.0  # a real feature, not a dead encoder

    # The Tagger: the same audio from a file, the 256-d feature averaged over the segments.
    import soundfile as sf

    path = str(tmp_path / "song.wav")
    sf.write(path, audio, SAMPLE_RATE, subtype="FLOAT")
    clip = Tagger(model).embed(path)
    assert clip.shape == (256,)
    assert np.abs(clip - expected.mean(axis=0)).max() <= tolerance


def test_preset_model_saves_and_reloads(tmp_path):
    model = from_preset("ismir2018_siamese_msd5k", weights_dir=weights_dir())
    path = str(tmp_path / "preset.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    x = music(3.0)[None, : model.input_length]
    np.testing.assert_allclose(restored.encoder.predict(x, verbose=0), model.encoder.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)  # fmt: skip


def test_fetch_real_weights_from_a_file_origin(tmp_path, monkeypatch):
    """The download path with the real files, from a local copy of the repository's layout."""
    folder = weights_dir()
    monkeypatch.delenv(presets.WEIGHTS_DIR_VARIABLE, raising=False)
    origin = tmp_path / "origin"
    for preset in PRESETS.values():
        target = origin / preset.repository / preset.commit / preset.path
        target.parent.mkdir(parents=True)
        shutil.copy(os.path.join(folder, preset.file_name), target)
    monkeypatch.setattr(presets, "ORIGIN", f"file://{origin}/{{repository}}/{{commit}}/{{path}}")
    cache = str(tmp_path / "cache")
    model = from_preset("ismir2018_siamese_msd10k", cache_dir=cache)
    cached = os.path.join(cache, presets.CACHE_SUBDIR, "model_siamese_10000.h5")
    assert sha256_file(cached) == PRESETS["ismir2018_siamese_msd10k"].sha256
    local = from_preset("ismir2018_siamese_msd10k", weights_dir=folder)
    for a, b in zip(model.encoder.get_weights(), local.encoder.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_only_layout_loads_the_same(tmp_path):
    """A `save_weights` file (layers at the root, no `model_weights/`) maps the same way."""
    import h5py

    source = os.path.join(weights_dir(), PRESETS["ismir2018_siamese_msd5k"].file_name)
    path = str(tmp_path / "weights_only.h5")
    with h5py.File(source, "r") as whole, h5py.File(path, "w") as weights:
        for layer in whole["model_weights"]:
            whole.copy(whole["model_weights"][layer], weights, name=layer)
        for key, value in whole["model_weights"].attrs.items():
            weights.attrs[key] = value
    model = from_preset("ismir2018_siamese_msd5k", weights_dir=weights_dir())
    other = SiameseArtistModel()
    presets.load_ismir2018_weights(other.encoder, path)
    for a, b in zip(other.encoder.get_weights(), model.encoder.get_weights()):
        np.testing.assert_array_equal(a, b)


# --- the registry ------------------------------------------------------------------------------


def test_registry_and_table():
    assert keras_samplecnn.list_presets() == ["ismir2018_siamese_msd10k", "ismir2018_siamese_msd5k"]
    assert keras_samplecnn.from_preset is from_preset
    assert presets.is_preset("ismir2018_siamese_msd5k") and not presets.is_preset("runs/best.keras")
    for preset in PRESETS.values():
        assert len(preset.sha256) == 64 and len(preset.commit) == 40
        raw = "https://raw.githubusercontent.com/jongpillee/ismir2018-artist"
        assert preset.url == f"{raw}/{preset.commit}/{preset.path}"
    # The table's parameter count is the model's (the authors' 265,984 less the 768 folded biases).
    assert SiameseArtistModel().count_params() == PRESETS["ismir2018_siamese_msd10k"].parameters == 265_216
    table = presets.preset_table()
    assert table.count("\n| `ismir2018_siamese_msd") == 2 and "265,216" in table and "MIT" in table


def test_unknown_preset_lists_the_known_ones():
    known = "ismir2018_siamese_msd10k, ismir2018_siamese_msd5k"
    with pytest.raises(ValueError, match=f"unknown preset 'msd'; known presets: {known}"):
        from_preset("msd")


# --- checksums, downloads and the cache, with a made-up preset ---------------------------------

CONTENT = b"not an HDF5 file, but a file with a known checksum\n" * 100


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A preset `fake` whose file is CONTENT, served from a `file://` origin in tmp_path."""
    import hashlib

    monkeypatch.delenv(presets.WEIGHTS_DIR_VARIABLE, raising=False)
    preset = Preset(
        name="fake", description="", paper="", arxiv="", training_data="", parameters=0, licence="MIT",
        repository="someone/weights", commit="0" * 40, path="models/fake.h5",
        sha256=hashlib.sha256(CONTENT).hexdigest(), size=len(CONTENT), file_name="fake.h5",
    )  # fmt: skip
    monkeypatch.setitem(PRESETS, "fake", preset)
    origin = tmp_path / "origin"
    served = origin / preset.repository / preset.commit / preset.path
    served.parent.mkdir(parents=True)
    served.write_bytes(CONTENT)
    monkeypatch.setattr(presets, "ORIGIN", f"file://{origin}/{{repository}}/{{commit}}/{{path}}")
    return preset, served, str(tmp_path / "cache")


def test_wrong_checksum_is_one_clear_line(fake, tmp_path, monkeypatch):
    preset, _, _ = fake
    folder = tmp_path / "weights"
    folder.mkdir()
    changed = bytearray(CONTENT)
    changed[1000] ^= 1  # one byte
    (folder / "fake.h5").write_bytes(bytes(changed))
    actual = sha256_file(str(folder / "fake.h5"))
    with pytest.raises(ValueError) as error:
        from_preset("fake", weights_dir=str(folder))
    message = str(error.value)
    assert "\n" not in message and str(folder / "fake.h5") in message
    assert preset.sha256 in message and actual in message
    # The same through the environment variable.
    monkeypatch.setenv(presets.WEIGHTS_DIR_VARIABLE, str(folder))
    with pytest.raises(ValueError, match=actual):
        presets.preset_weights("fake")


def test_truncated_file_is_one_clear_line(fake, tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "fake.h5").write_bytes(CONTENT[:1000])
    with pytest.raises(ValueError, match=r"does not match the expected .*truncated \(1,000 of 5,100 bytes\)"):
        from_preset("fake", weights_dir=str(folder))


def test_weights_dir_without_the_file(fake, tmp_path):
    with pytest.raises(FileNotFoundError, match="fake.h5.*downloadable from file://"):
        presets.preset_weights("fake", weights_dir=str(tmp_path))


def test_download_is_cached_and_checked(fake, monkeypatch):
    preset, served, cache = fake
    calls = []
    real_get_file = keras.utils.get_file

    def counting_get_file(*args, **kwargs):
        calls.append(kwargs["origin"])
        return real_get_file(*args, **kwargs)

    monkeypatch.setattr(keras.utils, "get_file", counting_get_file)
    path = presets.preset_weights("fake", cache_dir=cache)
    assert path == os.path.join(cache, presets.CACHE_SUBDIR, "fake.h5") and open(path, "rb").read() == CONTENT
    assert calls == [f"file://{served}"]

    # Second call: from the cache, even with the origin gone.
    served.unlink()
    assert presets.preset_weights("fake", cache_dir=cache) == path

    # A cached copy cut short (an interrupted run) is fetched again.
    served.write_bytes(CONTENT)
    with open(path, "r+b") as handle:
        handle.truncate(10)
    assert open(presets.preset_weights("fake", cache_dir=cache), "rb").read() == CONTENT

    # A download with the wrong checksum is refused and not kept.
    served.write_bytes(CONTENT[:-1] + b"?")
    os.remove(path)
    with pytest.raises(ValueError, match=f"download's sha256 .* does not match the expected {preset.sha256}"):
        presets.preset_weights("fake", cache_dir=cache)
    assert not os.path.exists(path)


def test_offline_without_weights_says_how_to_set_the_folder(fake):
    _, served, cache = fake
    served.unlink()  # what an unreachable origin looks like to get_file
    with pytest.raises(OSError, match=f"cannot download .*set {presets.WEIGHTS_DIR_VARIABLE}=") as error:
        from_preset("fake", cache_dir=cache)
    assert "\n" not in str(error.value)


def test_a_model_without_the_authors_front_end_is_refused(fake, tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "fake.h5").write_bytes(CONTENT)
    monkeypatch.setattr(presets, "_MODEL_FRONT_END", {"mel_power": 2.0, "mel_scale": "htk"})
    with pytest.raises(ValueError, match="does not compute the ISMIR 2018 authors' front end.*'power': 2.0"):
        from_preset("fake", weights_dir=str(folder))
