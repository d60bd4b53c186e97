"""Shared checks for layers and models, in the manner of keras-hub's TestCase.

Each helper asserts one behaviour every layer of the package must have: output
shape, `get_config`/`from_config` round trip, one training step that changes
the weights, dtype policies reaching every sublayer, `.keras` save/load.
"""

import os

import keras
import numpy as np

from keras_samplecnn.files import sha256_file

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def random_input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def wrap(layer, input_shape):
    """A functional model around one layer (batch dimension left out of `input_shape`)."""
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


def check_output_shape(layer, x, expected_shape):
    y = layer(x)
    assert tuple(y.shape) == tuple(expected_shape), (tuple(y.shape), expected_shape)
    input_shape = [a.shape for a in x] if isinstance(x, list) else x.shape
    assert tuple(layer.compute_output_shape(input_shape)) == tuple(expected_shape)
    return y


def check_config_round_trip(layer_cls, init_kwargs, x):
    """`from_config(get_config())` gives an equal config and, with the same weights, equal outputs."""
    layer = layer_cls(**init_kwargs)
    y = keras.ops.convert_to_numpy(layer(x))
    config = layer.get_config()
    for key in init_kwargs:
        assert key in config, f"get_config() misses constructor argument {key!r}"
    clone = layer_cls.from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x)), y, rtol=1e-5, atol=1e-5)


def check_training_step(model, x, y, loss="mse"):
    """One optimiser step moves the trainable weights and gives a finite loss."""
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    changed = [not np.allclose(a, b) for a, b in zip(before, after)]
    assert all(changed), f"{changed.count(False)} of {len(changed)} trainable weights did not move"


def all_sublayers(layer):
    return [sub for sub in layer._flatten_layers(include_self=False, recursive=True)]


def check_policy_reaches_sublayers(layer, policy, exempt=("predictions",)):
    """Every sublayer (except the float32 output layer) runs under `policy`."""
    wrong = [
        f"{sub.name}: {sub.dtype_policy.name}"
        for sub in all_sublayers(layer)
        if sub.name not in exempt
        and not isinstance(sub, keras.layers.InputLayer)
        and sub.dtype_policy.name != policy
    ]
    assert not wrong, f"sublayers not under {policy}: {wrong}"


def check_saving(model, x, tmp_path):
    """A `.keras` file reloads to the same class and the same outputs."""
    path = os.path.join(str(tmp_path), "model.keras")
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    assert restored.get_config() == model.get_config()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored(x, training=False)), expected, rtol=1e-5, atol=1e-6
    )
    return restored


def folder_digest(folder):
    """`{relative path: sha256}` of every file below `folder`, to compare two generated trees."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = sha256_file(path)
    return out


def check_demo_wav(path, sample_rate, seconds):
    """A demo maker's wav: mono 16-bit PCM at `sample_rate`, exactly `seconds` long, a canonical
    44-byte header, audible and below full scale."""
    import soundfile as sf

    info = sf.info(path)
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", sample_rate, 1)
    assert info.frames == round(seconds * sample_rate)
    assert os.path.getsize(path) == 44 + 2 * info.frames  # a canonical header, no extra chunks
    audio, _ = sf.read(path, dtype="float32")
    assert 1e-3 < np.sqrt(np.mean(audio**2)) and np.abs(audio).max() < 0.99


def unavailable(message):
    """Skips a test whose optional dependency or environment is missing; fails it in CI.

    `.ci/run` sets `SAMPLECNN_REQUIRE_BACKENDS`, so there a missing backend or environment is
    a failure instead of a silent skip.
    """
    import pytest

    if os.environ.get("SAMPLECNN_REQUIRE_BACKENDS"):
        pytest.fail(message)
    pytest.skip(message)


# The ISMIR 2018 authors' released encoders (keras_samplecnn.presets), for the tests that load
# them: $SAMPLECNN_WEIGHTS_DIR, else the shared data folder beside the repository.
SHARED_WEIGHTS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "shared", "weights",
    "ismir2018-artist",
)


def preset_weights_dir():
    """The folder holding the preset weight files, or a skip saying how to provide one.

    The weights are data the repository does not carry, so their absence skips (not a missing
    backend); `.ci/run` sets `SAMPLECNN_REQUIRE_WEIGHTS` where it finds them, and there a
    missing file fails instead.
    """
    import pytest

    from keras_samplecnn.presets import PRESETS, WEIGHTS_DIR_VARIABLE

    folder = os.environ.get(WEIGHTS_DIR_VARIABLE) or SHARED_WEIGHTS
    names = [preset.file_name for preset in PRESETS.values()]
    if all(os.path.isfile(os.path.join(folder, name)) for name in names):
        return folder
    message = f"the ISMIR 2018 weight files ({', '.join(names)}) are not in {folder}: set {WEIGHTS_DIR_VARIABLE}"
    if os.environ.get("SAMPLECNN_REQUIRE_WEIGHTS"):
        pytest.fail(message)
    pytest.skip(message)


def artist_tfrecords(root, waves, sample_rate, segment_length, tracks_per_artist, num_shards=1):
    """Writes `waves` (`{(artist index, track index): float32 samples}`) as `a{A}/t{K}.wav` with an
    `artists.csv` (`path,artist,track_id`) under `root`, converts them with the artists converter
    and returns the TFRecord folder."""
    from tfrecords_tools import artists, synthetic
    from tfrecords_tools.writer import Settings, convert

    rows = ["path,artist,track_id"]
    for (a, k), wave in waves.items():
        path = f"a{a}/t{k}.wav"
        synthetic.write_audio(root / "audio" / path, np.asarray(wave, np.float32), sample_rate)
        rows.append(f"{path},artist{a},A{a}T{k}")
    (root / "artists.csv").write_text("\n".join(rows) + "\n")
    plan = artists.plan(root / "audio", root / "artists.csv", tracks_per_artist=tracks_per_artist)
    out = root / "tfrecords"
    convert(plan, out, Settings(sample_rate=sample_rate, segment_length=segment_length), num_shards=num_shards,
            workers=1, show_progress=False)  # fmt: skip
    return str(out)
