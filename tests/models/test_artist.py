"""The ISMIR 2018 artist-label CNN: encoder geometry, the Siamese scores and hinge loss against NumPy, save/load."""

import keras
import numpy as np
import pytest

from keras_samplecnn.models.artist import ArtistCNN, ArtistHingeLoss, CosineScores, SiameseArtistModel
from tests import helpers


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def _encoder_parameters():
    """By hand from the authors' model.py: bias-free kernels (BN follows) and BN's 4 per channel."""
    layers = [(128, 128, 4), (128, 128, 4), (128, 128, 4), (128, 128, 2), (128, 256, 1)]
    return sum(k * c_in * c_out + 4 * c_out for c_in, c_out, k in layers)


def test_encoder_has_the_papers_geometry():
    model = ArtistCNN(num_artists=7)
    assert model.input_length == 128 * 512 and model.get_layer("mel").output.shape[1:] == (129, 128)
    frames = [model.get_layer(f"conv{k}").output.shape[1:] for k in range(1, 6)]
    assert frames == [(32, 128), (8, 128), (2, 128), (1, 128), (1, 256)]  # pools 4, 4, 4, 2, none
    assert model.encoder.output.shape == (None, 256)
    assert model.count_params() == _encoder_parameters() + 256 * 7 + 7
    assert SiameseArtistModel(num_negatives=4).count_params() == _encoder_parameters()
    reg = model.get_layer("conv1").conv.kernel_regularizer
    assert isinstance(reg, keras.regularizers.L2) and reg.l2 == pytest.approx(1e-5)


def test_hinge_loss_against_numpy():
    rng = np.random.default_rng(0)
    scores = rng.uniform(-1, 1, (6, 5)).astype("float32")
    expected = np.maximum(0.0, 0.4 - scores[:, :1] + scores[:, 1:]).sum(axis=1)
    loss = ArtistHingeLoss(margin=0.4)
    assert float(loss(np.zeros_like(scores), scores)) == pytest.approx(expected.sum(), rel=1e-5)
    mean = ArtistHingeLoss(margin=0.4, reduction="sum_over_batch_size")
    assert float(mean(np.zeros_like(scores), scores)) == pytest.approx(expected.mean(), rel=1e-5)
    clone = ArtistHingeLoss.from_config(loss.get_config())
    assert clone.margin == 0.4


def test_cosine_scores_against_numpy():
    rng = np.random.default_rng(1)
    a, p, n = rng.normal(size=(3, 8)), rng.normal(size=(3, 8)), rng.normal(size=(3, 4, 8))

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    expected = np.concatenate(
        [(unit(a) * unit(p)).sum(-1, keepdims=True), np.einsum("bd,bnd->bn", unit(a), unit(n))], 1
    )
    got = numpy(CosineScores()([a.astype("float32"), p.astype("float32"), n.astype("float32")]))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def _excerpts(model, batch, rng):
    shape = (batch, model.input_length)
    return {
        "anchor": (rng.standard_normal(shape) * 0.1).astype("float32"),
        "positive": (rng.standard_normal(shape) * 0.1).astype("float32"),
        "negatives": (rng.standard_normal((batch, model.num_negatives, model.input_length)) * 0.1).astype(
            "float32"
        ),
    }


def test_siamese_scores_are_cosines_of_one_shared_encoder():
    model = SiameseArtistModel(num_negatives=2)
    x = _excerpts(model, 2, np.random.default_rng(2))
    scores = numpy(model(x, training=False))
    encode = model.encoder
    a, p = numpy(encode(x["anchor"])), numpy(encode(x["positive"]))
    n = np.stack([numpy(encode(x["negatives"][:, j])) for j in range(2)], axis=1)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    expected = np.concatenate(
        [(unit(a) * unit(p)).sum(-1, keepdims=True), np.einsum("bd,bnd->bn", unit(a), unit(n))], 1
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [ArtistCNN, SiameseArtistModel])
def test_save_load_config_and_one_training_step(cls, tmp_path):
    rng = np.random.default_rng(3)
    if cls is ArtistCNN:
        model = cls(artists=["a", "b", "c"])
        x = (rng.standard_normal((2, model.input_length)) * 0.1).astype("float32")
        y = np.eye(3, dtype="float32")[[0, 2]]
        model.compile(
            optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), loss="categorical_crossentropy"
        )
    else:
        model = cls(num_negatives=2)
        x = _excerpts(model, 2, rng)
        y = np.zeros((2, 3), "float32")
        model.compile(
            optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), loss=ArtistHingeLoss()
        )
    assert cls.from_config(model.get_config()).get_config() == model.get_config()
    before = [numpy(w).copy() for w in model.encoder.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.array_equal(b, numpy(w)) for b, w in zip(before, model.encoder.trainable_weights))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls
    np.testing.assert_allclose(
        numpy(loaded(x, training=False)), numpy(model(x, training=False)), rtol=1e-5, atol=1e-6
    )


def test_mixed_precision_reaches_the_encoder():
    model = ArtistCNN(num_artists=3, dtype="mixed_bfloat16")
    helpers.check_policy_reaches_sublayers(model, "mixed_bfloat16")
    assert model.get_layer("conv3").conv.compute_dtype == "bfloat16"
    out = model(helpers.random_input((1, model.input_length)))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"  # the softmax stays float32


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least 128"):
        ArtistCNN(num_artists=3, num_frames=100)
    with pytest.raises(ValueError, match="artist names"):
        ArtistCNN(num_artists=3, artists=["a"])
    with pytest.raises(ValueError, match="num_negatives"):
        SiameseArtistModel(num_negatives=0)


_EMBED = """
import sys, numpy as np, keras, keras_samplecnn
model = keras.saving.load_model(sys.argv[1])
np.save(sys.argv[3], keras.ops.convert_to_numpy(model.encoder(np.load(sys.argv[2]), training=False)))
"""


@pytest.mark.large
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_embeddings_agree_across_backends(backend, tmp_path):
    import importlib.util
    import os
    import subprocess
    import sys

    if importlib.util.find_spec(backend) is None:
        if os.environ.get("SAMPLECNN_REQUIRE_BACKENDS"):
            pytest.fail(f"{backend} is not installed")
        pytest.skip(f"{backend} is not installed (pip install -e '.[backends]')")
    keras.utils.set_random_seed(0)
    model = ArtistCNN(num_artists=4)
    x = (np.random.default_rng(0).standard_normal((2, model.input_length)) * 0.1).astype("float32")
    expected = numpy(model.encoder(x, training=False))
    model.save(tmp_path / "artist.keras")
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-c", _EMBED, str(tmp_path / "artist.keras"), str(tmp_path / "x.npy"),
               str(tmp_path / "out.npy")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # The STFT, convolutions and pooling of each backend give the same 256-d features.
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-4, atol=1e-4)
