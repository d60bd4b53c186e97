"""Siamese sampling inside tf.data (ISMIR 2018): positives of the anchor's artist, negatives never, from a seed."""

import numpy as np
import pytest

from keras_samplecnn.data.siamese import siamese_dataset, siamese_examples
from tfrecords_tools import artists, synthetic
from tfrecords_tools.writer import Settings, convert

RATE = 8000
LENGTH = 1024


@pytest.fixture(scope="module")
def artist_data(tmp_path_factory):
    """4 artists x 5 tracks; every track is a constant level that encodes (artist, track)."""
    root = tmp_path_factory.mktemp("siamese")
    rows = ["path,artist"]
    for a in range(4):
        for t in range(5):
            path = f"a{a}/t{t}.wav"
            level = (10 * (a + 1) + t) / 100.0
            synthetic.write_audio(root / "audio" / path, np.full(3 * LENGTH, level, np.float32), RATE)
            rows.append(f"{path},artist{a}")
    (root / "artists.csv").write_text("\n".join(rows) + "\n")
    plan = artists.plan(root / "audio", root / "artists.csv", tracks_per_artist=(3, 1, 1))
    out = root / "tfrecords"
    convert(
        plan,
        out,
        Settings(sample_rate=RATE, segment_length=LENGTH),
        num_shards=1,
        workers=1,
        show_progress=False,
    )
    return out


def _artist_of(audio):
    """The artist index a constant excerpt encodes (levels 0.1a + 0.01t + 0.1)."""
    return int(round(float(np.median(audio)) * 100)) // 10 - 1


def _take(data, count, seed, num_negatives=2):
    examples = siamese_examples(
        data, "train", LENGTH, num_negatives=num_negatives, seed=seed, shuffle_buffer=16
    )
    return list(examples.take(count).as_numpy_iterator())


def test_positives_share_the_anchors_artist_and_negatives_never_do(artist_data):
    examples = _take(artist_data, 120, seed=0)
    assert len(examples) == 120
    seen_negative_artists = set()
    for anchor, positive, negatives, artist, others in examples:
        assert _artist_of(anchor) == _artist_of(positive) == artist  # labels agree with the audio
        for audio, other in zip(negatives, others):
            assert _artist_of(audio) == other != artist
            seen_negative_artists.add(int(other))
    assert seen_negative_artists == {0, 1, 2, 3}
    assert {int(e[3]) for e in examples} == {0, 1, 2, 3}


def test_the_seed_fixes_the_examples(artist_data):
    first, again, other = (_take(artist_data, 30, seed) for seed in (5, 5, 6))
    for a, b in zip(first, again):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_batches_fit_the_siamese_model(artist_data):
    inputs, targets = next(iter(siamese_dataset(artist_data, "train", LENGTH, num_negatives=3, batch_size=5)))
    assert inputs["anchor"].shape == (5, LENGTH) and inputs["positive"].shape == (5, LENGTH)
    assert inputs["negatives"].shape == (5, 3, LENGTH) and targets.shape == (5, 4)
    with pytest.raises(ValueError, match="num_negatives"):
        siamese_examples(artist_data, num_negatives=0)


def test_artist_models_are_feature_extractors(artist_data, tmp_path):
    """The paper's transfer feature: the 256-d embedding averaged over a track's excerpts, from
    the basic and the Siamese model alike, by `extract_features` (paths or models)."""
    import keras

    from keras_samplecnn.aggregation import extract_features, extractor_layers, load_features
    from keras_samplecnn.models import ArtistCNN, SiameseArtistModel

    keras.utils.set_random_seed(0)
    basic = ArtistCNN(num_artists=4, sample_rate=RATE)
    siamese = SiameseArtistModel(num_negatives=2, sample_rate=RATE)
    siamese.save(tmp_path / "siamese.keras")
    assert extractor_layers(basic, "top3") == ["conv3", "conv4", "conv5"]
    out = tmp_path / "features"
    result = extract_features([basic, str(tmp_path / "siamese.keras")], artist_data, out, splits=("test",),
                              layers="embedding", show_progress=False)  # fmt: skip
    assert result["dim"] == 512 and [e["layer"] for e in result["layers"]] == ["embedding", "embedding"]
    features, _, ids = load_features(out, "test")
    # Each test clip (3,072 samples) is one zero-padded excerpt of 65,536: its embedding is the feature.
    from tests.evaluation.test_aggregation import _clips

    audio, _, clip_ids = _clips(artist_data, "test")
    assert list(ids) == clip_ids
    padded = np.stack([np.pad(a, (0, basic.input_length - len(a))) for a in audio])
    expected = np.concatenate(
        [keras.ops.convert_to_numpy(m.encoder(padded, training=False)) for m in (basic, siamese)], 1
    )
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)


def test_a_fixed_draw_repeats_and_a_training_stream_does_not(artist_data):
    """reshuffle=False (a fixed draw): every iteration gives the same examples; the training
    stream gives new ones each time it is iterated."""

    def examples(dataset):
        return np.concatenate([np.concatenate([x["anchor"].ravel(), x["positive"].ravel(), x["negatives"].ravel()])
                               for x, _ in dataset.as_numpy_iterator()])  # fmt: skip

    for reshuffle in (False, True):
        dataset = siamese_dataset(artist_data, "train", LENGTH, num_negatives=2, batch_size=4, seed=5,
                                  shuffle_buffer=16, reshuffle=reshuffle).take(4)  # fmt: skip
        first, second = examples(dataset), examples(dataset)
        assert first.shape == (4 * 4 * 4 * LENGTH,)
        assert np.array_equal(first, second) == (not reshuffle)


def test_a_fixed_draw_never_stalls_on_a_periodic_order(tmp_path):
    """5 artists of 1 track and 4 negatives: were every pass one order repeated, the anchors'
    artists and the negative groups could stay out of step forever (the filter drops them all)."""
    rows = ["path,artist"]
    for a in range(5):
        synthetic.write_audio(tmp_path / "audio" / f"a{a}.wav", np.full(2 * LENGTH, a / 10.0, np.float32), RATE)
        rows.append(f"a{a}.wav,artist{a}")
    (tmp_path / "artists.csv").write_text("\n".join(rows) + "\n")
    plan = artists.plan(tmp_path / "audio", tmp_path / "artists.csv", tracks_per_artist=(1, 0, 0))
    convert(plan, tmp_path / "tfr", Settings(sample_rate=RATE, segment_length=LENGTH), num_shards=1, workers=1,
            show_progress=False)  # fmt: skip
    from keras_samplecnn.data import pipeline

    def clip_order(seed):
        stream = pipeline.train_dataset(tmp_path / "tfr", "train", LENGTH, batch_size=1, crops_per_clip=1,
                                        shuffle_buffer=8, seed=seed, deterministic=True, reshuffle=False)  # fmt: skip
        return [round(float(audio[0, 0]) * 10) for audio, _ in stream.take(20).as_numpy_iterator()]

    for seed in range(4):
        order = clip_order(seed)
        assert order == clip_order(seed)  # a fixed draw: every iterator the same
        passes = {tuple(order[i : i + 5]) for i in range(0, 20, 5)}
        assert len(passes) > 1, order  # checked first: the Siamese draw below would never end
        dataset = siamese_dataset(tmp_path / "tfr", "train", LENGTH, num_negatives=4, batch_size=2, seed=seed,
                                  shuffle_buffer=8, reshuffle=False).take(3)  # fmt: skip
        assert len(list(dataset.as_numpy_iterator())) == 3
