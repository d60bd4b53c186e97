"""Training the ISMIR 2018 artist models with the package's trainer: both objectives, from a config."""

import os

import keras
import numpy as np
import pytest

from keras_samplecnn.training import config as config_lib
from keras_samplecnn.training.trainer import finished, train
from tests import helpers

RATE = 8000
# A small front end, so a test trains in seconds: 128 frames of 32 samples.
SMALL = {"num_frames": 128, "hop_length": 32, "fft_length": 64, "num_mel_bins": 16}
LENGTH = 127 * 32


@pytest.fixture(scope="module")
def artist_data(tmp_path_factory):
    """6 artists x 5 tracks of noisy tones, one pitch per artist; split 3 / 1 / 1 per artist."""
    root = tmp_path_factory.mktemp("artist_training")
    rng = np.random.default_rng(0)
    t = np.arange(2 * LENGTH) / RATE
    waves = {(a, k): 0.3 * np.sin(2 * np.pi * 200 * (a + 1) * t) + 0.05 * rng.standard_normal(len(t))
             for a in range(6) for k in range(5)}  # fmt: skip
    return helpers.artist_tfrecords(root, waves, RATE, LENGTH, (3, 1, 1))


def _config(data, out, name, **sections):
    values = {
        "model": {"name": name, "overrides": dict(SMALL)},
        "data": {"dir": data, "batch_size": 6, "crops_per_clip": 4, "shuffle_buffer": 32},
        "optimization": {"learning_rate": 0.05, "max_epochs": 2, "stages": 1, "patience": 2},
        "precision": {"policy": "float32", "xla": False},
        "output": {"dir": str(out), "tensorboard": False, "verbose": 0},
    }
    for section, update in sections.items():
        values[section] = {**values.get(section, {}), **update}
    return config_lib.from_dict(values)


@pytest.mark.parametrize("name", ["artist_basic", "artist_siamese"])
def test_both_objectives_train_and_save(artist_data, tmp_path, name):
    config = _config(artist_data, tmp_path / name, name, siamese={"num_negatives": 3, "margin": 0.4})
    best = train(config)
    assert finished(str(tmp_path / name)) and os.path.exists(best)
    model = keras.saving.load_model(best)
    log = (tmp_path / name / "training_log.csv").read_text().splitlines()
    header = log[0].split(",")
    assert len(log) == 3  # two epochs
    if name == "artist_basic":
        assert model.num_classes == 6 and model.tags == [f"artist{a}" for a in range(6)]
        assert "val_accuracy" in header
    else:
        assert model.num_negatives == 3 and model.input_length == LENGTH
        assert {"loss", "positive_first", "val_loss", "val_positive_first"} <= set(header)
        # The summed hinge loss of a batch is bounded by batch x N x (margin + 2).
        losses = [float(row.split(",")[header.index("loss")]) for row in log[1:]]
        assert all(0 <= value <= 6 * 3 * 2.4 for value in losses)
    embedding = model.encoder(np.zeros((2, LENGTH), np.float32))
    assert tuple(embedding.shape) == (2, 256)


def test_the_siamese_objective_learns_to_rank_the_positive_first(artist_data, tmp_path):
    """One pitch per artist is easy: after training, the positive wins far more often than
    chance (1 in 1 + N)."""
    config = _config(artist_data, tmp_path / "s", "artist_siamese", siamese={"num_negatives": 3},
                     optimization={"max_epochs": 6, "learning_rate": 0.02})  # fmt: skip
    train(config)
    log = (tmp_path / "s" / "training_log.csv").read_text().splitlines()
    header = log[0].split(",")
    last = float(log[-1].split(",")[header.index("val_positive_first")])
    assert last >= 0.6, log


def test_artist_models_need_artist_labels(tmp_path):
    from keras_samplecnn.training.trainer import build_model

    config = _config("unused", tmp_path, "artist_basic")
    manifest = {"task": "multi_label", "tags": ["a", "b"], "sample_rate": RATE}
    with pytest.raises(config_lib.ConfigError, match="labelled by artist"):
        build_model(config, manifest, "float32")
    config.data.standardize = True
    with pytest.raises(config_lib.ConfigError, match="SampleCNN options"):
        build_model(config, {**manifest, "task": "single_label"}, "float32")
    with pytest.raises(config_lib.ConfigError, match="siamese.num_negatives"):
        config_lib.from_dict({"siamese": {"num_negatives": 0}})


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """Untrained (seeded) basic and Siamese models on the small front end, saved."""
    from keras_samplecnn.models import build

    folder = tmp_path_factory.mktemp("artist_models")
    keras.utils.set_random_seed(3)
    paths = {}
    for name in ("artist_basic", "artist_siamese"):
        model = build(name, num_classes=6, tags=[f"artist{a}" for a in range(6)], sample_rate=RATE, **SMALL) \
            if name == "artist_basic" else build(name, num_negatives=2, sample_rate=RATE, **SMALL)  # fmt: skip
        paths[name] = str(folder / f"{name}.keras")
        model.save(paths[name])
    return paths


@pytest.mark.parametrize("name", ["artist_basic", "artist_siamese"])
def test_embed_a_converted_folder_keeps_track_ids(artist_data, saved_models, tmp_path, name):
    import soundfile as sf

    from keras_samplecnn.cli import main

    out = tmp_path / "embeddings.npz"
    assert main(["embed", "--model", saved_models[name], "--data", artist_data, "--out", str(out)]) == 0
    result = np.load(out)
    ids = list(result["track_ids"])
    assert sorted(ids) == sorted(f"A{a}T{k}" for a in range(6) for k in range(5))
    assert list(result["splits"]).count("train") == 18 and list(result["splits"]).count("test") == 6
    # Independently: the track's wav cut into non-overlapping segments, the encoder, the mean.
    encoder = keras.saving.load_model(saved_models[name]).encoder
    audio_dir = os.path.join(os.path.dirname(artist_data), "audio")
    for row in (0, len(ids) - 1):
        artist, track = ids[row][1], ids[row][3]
        wave, rate = sf.read(os.path.join(audio_dir, f"a{artist}", f"t{track}.wav"), dtype="float32")
        assert rate == RATE
        segments = wave[: len(wave) // LENGTH * LENGTH].reshape(-1, LENGTH)
        expected = keras.ops.convert_to_numpy(encoder(segments)).mean(axis=0)
        np.testing.assert_allclose(result["embeddings"][row], expected, rtol=1e-4, atol=1e-5)
        assert result["labels"][row].argmax() == int(artist)


def test_embed_and_tag_files_with_artist_models(artist_data, saved_models, capsys):
    import json

    from keras_samplecnn.cli import main

    wav = os.path.join(os.path.dirname(artist_data), "audio", "a2", "t0.wav")
    assert main(["embed", wav, "--model", saved_models["artist_siamese"]]) == 0
    embedding = json.loads(capsys.readouterr().out)[wav]
    assert len(embedding) == 256
    assert main(["tag", wav, "--model", saved_models["artist_basic"], "--top-k", "2", "--json"]) == 0
    tags = json.loads(capsys.readouterr().out)[wav]
    assert set(tags) <= {f"artist{a}" for a in range(6)} and len(tags) == 2
    assert main(["tag", wav, "--model", saved_models["artist_siamese"]]) == 2  # nothing to tag with
    assert "Siamese artist model" in capsys.readouterr().err
    assert main(["evaluate", saved_models["artist_siamese"], "--data", artist_data]) == 2
    assert "no classes to evaluate" in capsys.readouterr().err
    assert main(["evaluate", saved_models["artist_basic"], "--data", artist_data]) == 0  # its artists
    capsys.readouterr()
    assert main(["embed", "--model", saved_models["artist_basic"], "--data", artist_data]) == 2
    assert "--out" in capsys.readouterr().err
