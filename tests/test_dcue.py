"""The DCUE model (DLRS 2018), its loss, its training batches, its training loop and its recommender."""

import os

import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from keras_samplecnn.data.song_mels import dcue_batches, excerpts, mel_table, window_starts
from keras_samplecnn.layers import LogMelSpectrogram
from keras_samplecnn.models.dcue import DCUE, VARIANTS, dcue_loss
from keras_samplecnn.recommender import Recommender, embed_song_table, embed_users
from keras_samplecnn.training.dcue import train_dcue

F, M = 130, 16  # excerpt frames; few mel bands keep the tests fast


def _model(variant="basic", users=6, negatives=3, **kwargs):
    return DCUE(num_users=users, num_negatives=negatives, variant=variant, num_mel_bins=M, **kwargs)


def _inputs(batch=4, negatives=3, users=6, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "user": rng.integers(0, users, batch).astype("int32"),
        "positive": rng.random((batch, F, M)).astype("float32"),
        "negatives": rng.random((batch, negatives, F, M)).astype("float32"),
    }


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_scores_are_the_mean_cosine_over_levels(variant):
    # Independently: each level's user and song head outputs, their cosines averaged by NumPy.
    model = _model(variant)
    x = _inputs()
    scores = np.asarray(model(x))
    assert scores.shape == (4, 4)
    levels = VARIANTS[variant]
    songs = keras.Model(model.song_encoder.input, [model.song_encoder.get_layer(f"song_head_{lv}").output
                                                  for lv in levels])  # fmt: skip
    people = keras.Model(model.user_encoder.input, [model.user_encoder.get_layer(f"user_head_{lv}").output
                                                    for lv in levels])  # fmt: skip
    all_songs = np.concatenate([x["positive"][:, None], x["negatives"]], axis=1).reshape(-1, F, M)

    def as_list(outputs):  # one output comes back bare
        return [np.asarray(o, np.float64) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]

    song_levels = [s.reshape(4, 4, -1) for s in as_list(songs(all_songs))]
    user_levels = as_list(people(x["user"]))
    expected = np.mean([np.einsum("bd,bnd->bn", _unit(u), _unit(s)) for u, s in zip(user_levels, song_levels)], 0)
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    assert model.song_encoder.output.shape[-1] == model.embedding_width == 256 * len(levels)


def test_loss_against_numpy():
    rng = np.random.default_rng(1)
    scores = rng.uniform(-1, 1, (5, 21)).astype("float32")
    expected = np.maximum(0.0, 0.2 - scores[:, :1] + scores[:, 1:]).sum(axis=1).mean()
    actual = float(dcue_loss()(np.zeros(5), scores))
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


def test_config_round_trip_and_keras_file(tmp_path):
    model = DCUE(users=["a", "b", "c"], num_negatives=3, variant="multi", num_mel_bins=M, mel_mean=0.3, mel_std=2.0)
    config = model.get_config()
    assert DCUE.from_config(config).get_config() == config
    path = os.path.join(tmp_path, "dcue.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = _inputs(users=3)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    assert loaded.users == ["a", "b", "c"] and loaded.user_index("b") == 1
    with pytest.raises(KeyError, match="unknown user"):
        loaded.user_index("zz")


def test_waveform_encoder_is_the_front_end_then_the_song_branch():
    model = _model()
    wave = np.random.default_rng(2).uniform(-0.5, 0.5, (2, model.input_length)).astype("float32")
    mel = np.asarray(LogMelSpectrogram(num_mel_bins=M)(wave))
    assert mel.shape == (2, F, M)
    np.testing.assert_allclose(np.asarray(model.waveform_encoder(wave)), np.asarray(model.song_encoder(mel)),
                               atol=1e-5)  # fmt: skip


def test_mixed_precision_and_one_training_step():
    model = _model(dtype="mixed_bfloat16")
    x = _inputs()
    assert keras.backend.standardize_dtype(model(x).dtype) == "float32"
    assert model.song_encoder.get_layer("conv1").dtype_policy.name == "mixed_bfloat16"
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss=dcue_loss())
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(x, np.zeros(4))
    assert np.isfinite(loss)
    assert any(not np.allclose(a, np.asarray(b)) for a, b in zip(before, model.trainable_weights))


def test_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        _model("deep")
    with pytest.raises(ValueError, match="num_frames"):
        _model(num_frames=100)
    with pytest.raises(ValueError, match="user ids"):
        DCUE(num_users=3, users=["a"])
    with pytest.raises(ValueError, match="num_users"):
        DCUE()


def test_window_starts_and_excerpts():
    frames = np.array([130, 300, 50, 400])
    song, start = window_starts(frames, 130)
    # 300 // 130 = 2 windows, a short song still gets one, 400 // 130 = 3.
    assert song.tolist() == [0, 1, 1, 2, 3, 3, 3]
    assert start.tolist() == [0, 0, 130, 0, 0, 130, 260]
    table = np.random.default_rng(3).random((4, 400, 2)).astype(np.float16)
    got = excerpts(table, [3, 1, 3], [260, 5, 0], 130)
    for row, (s, t) in enumerate([(3, 260), (1, 5), (3, 0)]):
        np.testing.assert_array_equal(got[row], table[s, t : t + 130].astype(np.float32))


def test_mel_table_matches_the_front_end_song_by_song():
    frontend = LogMelSpectrogram(num_mel_bins=M)
    rng = np.random.default_rng(4)
    waves = [rng.uniform(-0.5, 0.5, n).astype(np.float32) for n in (512 * 140, 512 * 200 + 7, 512 * 90)]
    table, frames = mel_table(waves, frontend, progress=False)
    assert frames.tolist() == [n // 512 + 1 for n in (512 * 140, 512 * 200 + 7, 512 * 90)]
    for i, wave in enumerate(waves):
        alone = np.asarray(frontend(wave[None]))[0]
        # The batch zero-pads the shorter songs; the last frame sees the padding, the rest must match.
        np.testing.assert_allclose(table[i, : frames[i] - 1].astype(np.float32), alone[: frames[i] - 1],
                                   atol=2e-3, rtol=2e-3)  # fmt: skip
        assert not table[i, frames[i] :].any()


def _marked_table(num_songs, width):
    """Song s's rows hold s in band 0 and the frame number in band 1, so a batch tells which
    song and which frames it holds."""
    table = np.zeros((num_songs, width, 2), np.float16)
    table[:, :, 0] = np.arange(num_songs)[:, None]
    table[:, :, 1] = np.arange(width)[None, :]
    return table


def test_training_batches_hold_played_positives_unplayed_negatives_and_valid_crops():
    rng = np.random.default_rng(5)
    num_users, num_songs = 12, 40
    user = rng.integers(0, num_users, 150)
    song = rng.integers(0, num_songs - 8, 150)  # the last 8 songs: in no training interaction
    played = set(zip(user.tolist(), song.tolist()))
    frames = rng.integers(100, 400, num_songs).astype(np.int32)
    table = _marked_table(num_songs, 400)
    data = dcue_batches(table, frames, user, song, num_songs, num_frames=130, num_negatives=4, batch_size=5, seed=0)
    first, songs = None, []
    for inputs, _ in data.take(20):
        first = inputs if first is None else first
        users = inputs["user"].numpy()
        mels = np.concatenate([inputs["positive"].numpy()[:, None], inputs["negatives"].numpy()], axis=1)
        batch_songs = mels[:, :, 0, 0].astype(int)
        songs.append(batch_songs)
        assert (mels[..., 0] == batch_songs[..., None]).all()  # one song per excerpt
        for u, row in zip(users, batch_songs):
            assert (int(u), int(row[0])) in played
            assert not any((int(u), int(s)) in played for s in row[1:])
        starts = mels[:, :, 0, 1].astype(int)
        np.testing.assert_array_equal(mels[..., 1], starts[..., None] + np.arange(130))  # contiguous frames
        assert (starts <= np.maximum(frames[batch_songs] - 130, 0)).all() and (starts >= 0).all()
    # By default negatives come from the songs of the training interactions only: a song no
    # training interaction names (a cold-start song) is never in a batch.
    unplayed = np.setdiff1d(np.arange(num_songs), song)
    assert len(unplayed) == 8 and not np.isin(unplayed, np.concatenate(songs)).any()
    every = dcue_batches(table, frames, user, song, num_songs, num_frames=130, num_negatives=4, batch_size=5, seed=0,
                         candidates="all")  # fmt: skip
    drawn = np.concatenate([b["negatives"].numpy()[:, :, 0, 0].ravel() for b, _ in every.take(60)]).astype(int)
    assert np.isin(unplayed, drawn).any()
    # The same seed gives the same stream.
    again = next(iter(dcue_batches(table, frames, user, song, num_songs, num_frames=130, num_negatives=4,
                                   batch_size=5, seed=0)))  # fmt: skip
    np.testing.assert_array_equal(again[0]["negatives"], first["negatives"])


def _taste_problem(seed=0, num_users=16, num_songs=48):
    """Two kinds of song (loud or quiet spectra) and users who play only one kind: a song's
    audio alone tells who will play it, so a trained model must rank held-out songs."""
    rng = np.random.default_rng(seed)
    kind = np.arange(num_songs) % 2
    table = (rng.random((num_songs, 160, M)) * 0.2 + kind[:, None, None] * 0.8).astype(np.float16)
    frames = np.full(num_songs, 160, np.int32)
    cold = np.arange(num_songs) >= num_songs - 8
    taste = np.arange(num_users) % 2
    user, song = [], []
    for u in range(num_users):
        liked = np.flatnonzero((kind == taste[u]) & ~cold)
        for s in rng.choice(liked, 8, replace=False):
            user.append(u)
            song.append(s)
    return table, frames, np.array(user), np.array(song), kind, taste, cold


def test_training_learns_a_taste_audio_alone_can_serve(tmp_path):
    table, frames, user, song, kind, taste, cold = _taste_problem()
    keras.utils.set_random_seed(0)
    model = _model(users=16, negatives=3)
    model = train_dcue(model, table, frames, user, song, epochs=4, learning_rate=0.2, batch_size=8, seed=0)
    scores = embed_users(model) @ embed_song_table(model, table, frames).T
    # Cold-start songs: never trained on, ranked from their audio.
    aucs = [roc_auc_score(kind[cold] == taste[u], scores[u, cold]) for u in range(16)]
    assert np.mean(aucs) > 0.8


def test_an_interrupted_run_resumes_where_an_uninterrupted_one_ends(tmp_path):
    table, frames, user, song, *_ = _taste_problem(seed=1)

    def run(folder, epochs):
        keras.utils.set_random_seed(0)
        return train_dcue(_model(users=16, negatives=2), table, frames, user, song, epochs=epochs, batch_size=16,
                          seed=3, run_dir=str(tmp_path / folder), verbose=0)  # fmt: skip

    straight = run("straight", 2)
    run("resumed", 1)
    resumed = run("resumed", 2)
    for a, b in zip(straight.weights, resumed.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
    assert len(open(tmp_path / "resumed" / "history.csv").read().splitlines()) == 3  # header + 2 epochs
    assert run("resumed", 2).optimizer.iterations.numpy() == resumed.optimizer.iterations.numpy()


def test_a_rerun_with_other_settings_or_data_is_refused(tmp_path):
    table, frames, user, song, *_ = _taste_problem(seed=1)
    run_dir = str(tmp_path / "run")

    def run(epochs=1, negatives=2, data=(table, frames, user, song), **settings):
        options = {"batch_size": 16, "seed": 3, "learning_rate": 0.2, **settings}
        return train_dcue(_model(users=16, negatives=negatives), *data, epochs=epochs, run_dir=run_dir, verbose=0,
                          **options)  # fmt: skip

    first = run()
    with open(os.path.join(run_dir, "model.keras"), "rb") as f:
        saved = f.read()
    again = run()  # the same call: the finished run, not trained again
    for a, b in zip(first.weights, again.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for changes, message in [
        ({"learning_rate": 0.05}, "learning_rate 0.2 there, 0.05 now"),
        ({"seed": 4}, "seed 3 there, 4 now"),
        ({"margin": 0.5, "batch_size": 8}, "batch_size 16 there, 8 now; margin 0.2 there, 0.5 now"),
        ({"negatives": 3}, "the model's configuration"),
        ({"data": (table, frames, user[::-1], song)}, "the training data"),
        ({"data": (table + np.float16(0.5), frames, user, song), "epochs": 2}, "the training data"),
    ]:
        with pytest.raises(ValueError, match=message) as error:
            run(**changes)
        assert f"{run_dir} holds a DCUE run" in str(error.value) and "another run_dir" in str(error.value)
    with open(os.path.join(run_dir, "model.keras"), "rb") as f:
        assert f.read() == saved  # the refused calls left the run as it was


def test_recommender_ranks_by_cosine_and_leaves_played_songs_out(tmp_path):
    model = DCUE(users=["u0", "u1", "u2"], num_negatives=2, num_mel_bins=M)
    rng = np.random.default_rng(6)
    embeddings = rng.normal(size=(30, 256)).astype(np.float32)
    ids = [f"S{i:02d}" for i in range(30)]
    recommender = Recommender(model, ids, embeddings, played={1: [3, 4]})
    user_vector = np.asarray(model.user_encoder(np.array([1], "int32")))[0]
    cosine = _unit(embeddings) @ _unit(user_vector)
    order = [i for i in np.argsort(-cosine) if i not in (3, 4)][:5]
    got = recommender.recommend("u1", top_k=5)
    assert [s for s, _ in got] == [ids[i] for i in order]
    np.testing.assert_allclose([v for _, v in got], cosine[order], atol=1e-5)
    with_played = recommender.recommend(1, top_k=30, include_played=True)
    assert {s for s, _ in with_played} == set(ids)
    with pytest.raises(KeyError, match="unknown user"):
        recommender.recommend("nobody")
    with pytest.raises(ValueError, match="song embeddings"):
        Recommender(model, ids, embeddings[:, :10])
    path = tmp_path / "not_dcue.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]).save(path)
    with pytest.raises(ValueError, match="not a DCUE"):
        Recommender(str(path), ids, embeddings)


@pytest.mark.parametrize("exact", [True, False])
def test_recommender_with_a_song_index_ranks_as_without(exact):
    from keras_samplecnn.song_index import SongIndex

    model = DCUE(users=["u0", "u1"], num_negatives=2, num_mel_bins=M)
    embeddings = np.random.default_rng(7).normal(size=(200, 256)).astype(np.float32)
    ids = [f"S{i:03d}" for i in range(200)]
    played = {0: [5, 17, 40]}
    plain = Recommender(model, ids, embeddings, played)
    indexed = Recommender(model, ids, embeddings, played, index=SongIndex(embeddings, ids, exact=exact,
                                                                          expansion_search=400))  # fmt: skip
    expected, got = plain.recommend("u0", top_k=10), indexed.recommend("u0", top_k=10)
    assert [s for s, _ in got] == [s for s, _ in expected]
    np.testing.assert_allclose([v for _, v in got], [v for _, v in expected], atol=1e-5)
    with pytest.raises(ValueError, match="index holds"):
        Recommender(model, ids[:100], embeddings[:100], index=SongIndex(embeddings, ids, exact=True))
