import numpy as np
import pytest
import soundfile as sf

import keras

import keras_samplecnn
from keras_samplecnn.audio import AudioDecodeError, load_audio
from keras_samplecnn.tagger import Tagger, split_segments

TAGS = ["guitar", "piano", "drums", "no vocals"]
RATE = 8000  # a small model keeps the test fast; any rate works the same way


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    model = keras_samplecnn.build(
        "samplecnn", num_classes=4, tags=TAGS, m=3, n=4, input_length=2187, sample_rate=RATE, multi_level=True
    )
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return str(path)


def _write(path, seconds, rate, channels=1, **kwargs):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    x = np.stack([x, 0.5 * x], axis=1) if channels == 2 else x
    sf.write(path, x, rate, **kwargs)
    return str(path)


def test_split_segments():
    assert split_segments(np.arange(10), 3).tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    short = split_segments(np.ones(2), 4)
    assert short.tolist() == [[1, 1, 0, 0]]


@pytest.mark.parametrize(
    "name, seconds, rate, channels, kwargs",
    [
        ("a.wav", 3.0, 44100, 2, {}),
        ("b.flac", 2.0, 16000, 1, {}),
        ("c.mp3", 3.0, 22050, 1, {"format": "MP3"}),
        ("short.wav", 0.1, 8000, 1, {}),
    ],
)
def test_any_rate_channels_length(tmp_path, model_path, name, seconds, rate, channels, kwargs):
    path = _write(tmp_path / name, seconds, rate, channels, **kwargs)
    tagger = Tagger(model_path)
    taggram = tagger.taggram(path)
    expected_rows = max(1, int(round(seconds * RATE)) // 2187)
    assert taggram.shape == (expected_rows, 4)
    # Same numbers as decoding, resampling and predicting by hand.
    segments = split_segments(load_audio(path, RATE), 2187)
    np.testing.assert_allclose(taggram, tagger.model.predict(segments, verbose=0), rtol=1e-5, atol=1e-6)
    tags = tagger.tag(path, top_k=2)
    assert len(tags) == 2 and {t for t, _ in tags} <= set(TAGS)
    assert tags[0][1] >= tags[1][1]
    assert tags[0][1] == pytest.approx(taggram.mean(axis=0).max(), rel=1e-5)
    assert tagger.embed(path).shape == (128 + 256 + 512,)  # last three of n=4 blocks


def test_metadata_travels_with_the_file(model_path):
    tagger = Tagger(model_path)
    assert tagger.tags == TAGS and tagger.sample_rate == RATE and tagger.segment_length == 2187
    assert tagger.segment_seconds == pytest.approx(2187 / RATE)


def test_unreadable_file(tmp_path, model_path):
    bad = tmp_path / "bad.mp3"
    bad.write_text("not audio at all")
    with pytest.raises(AudioDecodeError):
        Tagger(model_path).tag(str(bad))


def test_not_our_model(tmp_path):
    inputs = keras.Input((10,))
    other = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    path = tmp_path / "other.keras"
    other.save(path)
    with pytest.raises(ValueError, match="not a keras_samplecnn model"):
        Tagger(str(path))
    (tmp_path / "junk.keras").write_text("junk")
    with pytest.raises(ValueError, match="cannot load"):
        Tagger(str(tmp_path / "junk.keras"))


def test_load_errors_are_one_clean_sentence(tmp_path):
    missing = str(tmp_path / "missing.keras")
    with pytest.raises(ValueError) as caught:
        Tagger(missing)
    message = str(caught.value)
    assert message.startswith(f"{missing}: no such file or folder") and ".." not in message
    folder = tmp_path / "not_a_model"
    folder.mkdir()
    with pytest.raises(ValueError) as caught:
        Tagger(str(folder))
    message = str(caught.value)
    assert "cannot load" in message and ".." not in message and "\n" not in message
