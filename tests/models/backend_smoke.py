"""Builds, trains one step, saves and reloads every model of the zoo (and the SPL 2017 mel
extractors, whose stem-less mel front end and per-block pools are their own code paths) on
one Keras backend.

Run as `KERAS_BACKEND=jax python tests/models/backend_smoke.py [model ...]`; prints one line per
model and exits non-zero on the first failure. `tests/models/test_backends.py` runs it once per
backend in a subprocess (the backend is fixed when keras is imported).
"""

import os
import sys
import tempfile
import time

import numpy as np

import keras
import keras_samplecnn


def check_dcue(name, directory):
    """The DLRS 2018 content-user model: a user against one played and two unplayed songs."""
    model = keras_samplecnn.build(name, num_users=4, num_negatives=2, num_mel_bins=16)
    rng = np.random.default_rng(0)
    x = {"user": np.array([0, 3], "int32"), "positive": rng.random((2, 130, 16)).astype("float32"),
         "negatives": rng.random((2, 2, 130, 16)).astype("float32")}  # fmt: skip
    outputs = len(model.outputs)  # "dcue_multi": five levels, five losses
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss=[keras_samplecnn.models.dcue_loss()] * outputs)
    loss = model.train_on_batch(x, [np.zeros(2, "float32")] * outputs)
    assert np.all(np.isfinite(loss)), f"{name}: loss {loss}"
    expected = keras.tree.flatten(keras.tree.map_structure(keras.ops.convert_to_numpy, model(x)))

    def first(outputs):
        return keras.ops.convert_to_numpy(keras.tree.flatten(outputs)[0])

    songs, users = first(model.song_encoder(x["positive"])), first(model.user_encoder(x["user"]))
    cosine = (songs * users).sum(-1) / np.linalg.norm(songs, axis=-1) / np.linalg.norm(users, axis=-1)
    np.testing.assert_allclose(expected[0][:, 0], cosine, atol=1e-5, err_msg=f"{name}: not cosine")
    path = os.path.join(directory, f"{name}.keras")
    model.save(path)
    got = keras.tree.flatten(keras.tree.map_structure(keras.ops.convert_to_numpy, keras.saving.load_model(path)(x)))
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"{name}: reload differs")
    return float(np.sum(loss))


def check(name, directory):
    if name.startswith("dcue"):
        return check_dcue(name, directory)
    model = keras_samplecnn.build(name, num_classes=5)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, model.input_length)).astype("float32") * 0.1
    y = (rng.random((2, 5)) > 0.5).astype("float32")
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), loss="binary_crossentropy"
    )
    before = keras.ops.convert_to_numpy(model.get_layer("predictions").kernel).copy()
    loss = model.train_on_batch(x, y)
    after = keras.ops.convert_to_numpy(model.get_layer("predictions").kernel)
    assert np.isfinite(loss), f"{name}: loss {loss}"
    assert not np.allclose(before, after), f"{name}: the output layer did not train"
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    path = os.path.join(directory, f"{name}.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    got = keras.ops.convert_to_numpy(restored(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=f"{name}: reload differs")
    return float(loss)


def smoke_models():
    from keras_samplecnn.models.registry import EXTRACTOR_SETS

    return keras_samplecnn.list_models() + list(EXTRACTOR_SETS["spl2017"]) + ["dcue", "dcue_multi"]


def main(names):
    names = names or smoke_models()
    with tempfile.TemporaryDirectory() as directory:
        for name in names:
            start = time.perf_counter()
            loss = check(name, directory)
            print(
                f"{keras.backend.backend()} {name}: ok (loss {loss:.3f}, {time.perf_counter() - start:.1f} s)"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
