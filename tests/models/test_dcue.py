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
from keras_samplecnn.training.optimizers import StepDecaySGD

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


def _as_list(outputs):  # one output comes back bare
    return [np.asarray(o, np.float64) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_scores_are_the_cosines_of_each_levels_user_and_song_embeddings(variant):
    # Independently: each level's user and song embeddings, their cosines by NumPy; "multi_mean"
    # joins its levels, so its one score is the mean of the per-level cosines of its heads.
    model = _model(variant)
    x = _inputs()
    scores = _as_list(model(x))
    assert len(scores) == (5 if variant == "multi" else 1) and all(s.shape == (4, 4) for s in scores)
    all_songs = np.concatenate([x["positive"][:, None], x["negatives"]], axis=1).reshape(-1, F, M)
    if variant == "multi_mean":
        songs = keras.Model(model.song_encoder.input, [model.song_encoder.get_layer(f"song_head_{lv}").output
                                                      for lv in VARIANTS[variant]])  # fmt: skip
        people = keras.Model(model.user_encoder.input, [model.user_encoder.get_layer(f"user_head_{lv}").output
                                                        for lv in VARIANTS[variant]])  # fmt: skip
        song_levels, user_levels = _as_list(songs(all_songs)), _as_list(people(x["user"]))
        cosines = [np.einsum("bd,bnd->bn", _unit(u), _unit(s.reshape(4, 4, -1))) for u, s in zip(user_levels,
                                                                                                 song_levels)]  # fmt: skip
        np.testing.assert_allclose(scores[0], np.mean(cosines, 0), atol=1e-5)
        return
    song_levels, user_levels = _as_list(model.song_encoder(all_songs)), _as_list(model.user_encoder(x["user"]))
    for got, u, s in zip(scores, user_levels, song_levels):
        np.testing.assert_allclose(got, np.einsum("bd,bnd->bn", _unit(u), _unit(s.reshape(4, 4, -1))), atol=1e-5)


def _authors_parameter_count(num_users, levels, bands=128):
    """jongpillee/deep-content-user @0e57b68 model.py, counted by hand: Embedding(num_user, 300);
    per level Dense(300) and Dense(256) on it; Conv1D(128, 4), Conv1D(256, 4) x 2, Conv1D(256, 2),
    Conv1D(256, 1), all with a bias; Dense(256) on the global average."""
    user = num_users * 300 + levels * ((300 * 300 + 300) + (300 * 256 + 256))
    convs = [(4, bands, 128), (4, 128, 256), (4, 256, 256), (2, 256, 256), (1, 256, 256)]
    audio = sum(k * c_in * c_out + c_out for k, c_in, c_out in convs) + 256 * 256 + 256
    return user + audio


@pytest.mark.parametrize("variant, levels", [("basic", 1), ("multi", 5)])
def test_the_architecture_is_the_authors(variant, levels):
    model = DCUE(num_users=50, num_negatives=2, variant=variant)
    assert model.count_params() == _authors_parameter_count(50, levels)
    songs = model.song_encoder
    assert [layer.name for layer in songs.layers if "conv" in layer.name and "level" not in layer.name] == [
        f"conv{i}" for i in range(1, 6)
    ]
    for i, (filters, kernel, pool) in enumerate([(128, 4, 4), (256, 4, 4), (256, 4, 4), (256, 2, 2), (256, 1, None)],
                                                start=1):  # fmt: skip
        conv = songs.get_layer(f"conv{i}")
        assert (conv.filters, conv.kernel_size, conv.padding, conv.use_bias) == (filters, (kernel,), "same", True)
        assert conv.kernel_regularizer is None and conv.kernel_initializer.__class__.__name__ == "HeUniform"
        assert (songs.get_layer(f"pool{i}").pool_size if pool else None) == ((pool,) if pool else None)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in songs.layers)
    # The user table's output goes through a ReLU (model.py user_activ1).
    assert model.user_encoder.get_layer("user_table_relu") is not None
    assert model.levels == VARIANTS[variant] and model.losses == []


def test_multi_levels_are_global_averages_of_the_convolutions_before_their_relu():
    model = _model("multi")
    mel = np.random.default_rng(8).random((3, F, M)).astype("float32")
    songs = model.song_encoder
    probe = keras.Model(songs.input, [songs.get_layer(f"conv{i}").output for i in (5, 4, 3, 2)])
    before_relu = _as_list(probe(mel))
    assert any((b < 0).any() for b in before_relu)  # pre-activation: negative values survive
    levels = _as_list(songs(mel))
    for got, conv in zip(levels[1:], before_relu):
        np.testing.assert_allclose(got, conv.mean(axis=1), atol=1e-5)


@pytest.mark.parametrize("reduction, reduce", [("sum", np.sum), ("sum_over_batch_size", lambda a: a.sum(1).mean())])
def test_loss_against_numpy(reduction, reduce):
    # train.py hinge_loss: K.sum(K.maximum(0., margin - y_pos + y_neg)) over the batch and negatives.
    rng = np.random.default_rng(1)
    scores = rng.uniform(-1, 1, (5, 21)).astype("float32")
    expected = reduce(np.maximum(0.0, 0.2 - scores[:, :1] + scores[:, 1:]))
    actual = float(dcue_loss(reduction=reduction)(np.zeros(5), scores))
    np.testing.assert_allclose(actual, expected, rtol=1e-6)
    assert dcue_loss().reduction == "sum"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_round_trip_and_keras_file(tmp_path, variant):
    model = DCUE(users=["a", "b", "c"], num_negatives=3, variant=variant, num_mel_bins=M, mel_mean=0.3, mel_std=2.0)
    config = model.get_config()
    assert DCUE.from_config(config).get_config() == config
    path = os.path.join(tmp_path, "dcue.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = _inputs(users=3)
    for a, b in zip(_as_list(loaded(x)), _as_list(model(x))):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert loaded.users == ["a", "b", "c"] and loaded.user_index("b") == 1
    with pytest.raises(KeyError, match="unknown user"):
        loaded.user_index("zz")


def test_a_model_saved_by_the_earlier_dcue_is_refused_with_what_replaced_it():
    config = {key: value for key, value in _model().get_config().items() if key not in ("conv_filters", "user_relu")}
    with pytest.raises(ValueError, match="earlier keras_samplecnn.*recipes/dcue.py"):
        DCUE.from_config(config)


def test_our_earlier_architecture_is_a_choice_of_the_config():
    model = _model("multi_mean", conv_filters=(128, 128, 128, 128, 256), l2=1e-5, user_relu=False)
    songs = model.song_encoder
    assert [songs.get_layer(f"conv{i}").filters for i in range(1, 6)] == [128, 128, 128, 128, 256]
    assert len(model.losses) == 5  # one L2 penalty per conv kernel
    assert "user_table_relu" not in [layer.name for layer in model.user_encoder.layers]
    assert model.embedding_width == 3 * 256 and model.levels == ("mean",)


def test_waveform_encoder_is_the_front_end_then_the_song_branch():
    model = _model("multi")
    wave = np.random.default_rng(2).uniform(-0.5, 0.5, (2, model.input_length)).astype("float32")
    mel = np.asarray(LogMelSpectrogram(num_mel_bins=M)(wave))
    assert mel.shape == (2, F, M)
    # Serving uses the first level, the song embedding.
    np.testing.assert_allclose(np.asarray(model.waveform_encoder(wave)), _as_list(model.song_encoder(mel))[0],
                               atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("variant", ["basic", "multi"])
def test_mixed_precision_and_one_training_step(variant):
    model = _model(variant, dtype="mixed_bfloat16")
    x = _inputs()
    assert all(keras.backend.standardize_dtype(o.dtype) == "float32" for o in keras.tree.flatten(model(x)))
    assert model.song_encoder.get_layer("conv1").dtype_policy.name == "mixed_bfloat16"
    outputs = len(model.outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss=[dcue_loss()] * outputs)
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(x, [np.zeros(4)] * outputs)
    assert np.all(np.isfinite(loss))
    assert any(not np.allclose(a, np.asarray(b)) for a, b in zip(before, model.trainable_weights))


def test_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        _model("deep")
    with pytest.raises(ValueError, match="num_frames"):
        _model(num_frames=100)
    with pytest.raises(ValueError, match="conv_filters"):
        _model(conv_filters=(128, 256))
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
    # The authors' optimiser and summed loss at a 20th of their rate: at 0.2 the summed steps
    # collapse this 16-user toy's user branch (every user one vector) within 4 epochs.
    model = train_dcue(model, table, frames, user, song, epochs=4, epoch_divisor=1, batch_size=8, seed=0,
                       learning_rate=0.01)  # fmt: skip
    scores = embed_users(model) @ embed_song_table(model, table, frames).T
    # Cold-start songs: never trained on, ranked from their audio.
    aucs = [roc_auc_score(kind[cold] == taste[u], scores[u, cold]) for u in range(16)]
    assert np.mean(aucs) > 0.8


@pytest.mark.parametrize("variant", ["basic", "multi"])
def test_training_is_the_authors_optimiser_loss_and_epoch(variant):
    # train.py: SGD(lr=0.2, decay=1e-6, momentum=0.9, nesterov=True); steps_per_epoch =
    # int(len_sparse / batch_size / 10); "multi": five hinge losses, weights 1.
    table, frames, user, song, *_ = _taste_problem(seed=2)
    user, song = np.tile(user, 3), np.tile(song, 3)  # 384 interactions: int(384 / 10 / 10) = 3 steps
    keras.utils.set_random_seed(0)
    model = train_dcue(_model(variant, users=16, negatives=2), table, frames, user, song, epochs=2, seed=0,
                       verbose=0)  # fmt: skip
    optimizer = model.optimizer
    assert isinstance(optimizer, StepDecaySGD)
    assert (float(optimizer.learning_rate), optimizer.momentum, optimizer.nesterov, optimizer.step_decay) == (
        pytest.approx(0.2), 0.9, True, 1e-6)
    assert int(optimizer.iterations) == 2 * int(len(user) / 10 / 10) == 6
    losses = keras.tree.flatten(model.loss)
    assert len(losses) == (5 if variant == "multi" else 1)
    assert all(loss.reduction == "sum" and loss.margin == 0.2 for loss in losses)


def test_users_who_played_every_training_song_are_left_out_with_a_warning(capsys):
    table, frames, user, song, *_ = _taste_problem(seed=2)
    trained = np.unique(song)
    user = np.concatenate([user, np.full(len(trained), 16)])  # user 16 played every training song
    song = np.concatenate([song, trained])
    keras.utils.set_random_seed(0)
    train_dcue(_model(users=17, negatives=2), table, frames, user, song, epochs=1, epoch_divisor=10, seed=0)
    assert f"1 users played all {len(trained)} training songs" in capsys.readouterr().out


def test_an_interrupted_run_resumes_where_an_uninterrupted_one_ends(tmp_path):
    table, frames, user, song, *_ = _taste_problem(seed=1)

    def run(folder, epochs):
        keras.utils.set_random_seed(0)
        return train_dcue(_model(users=16, negatives=2), table, frames, user, song, epochs=epochs, batch_size=16,
                          epoch_divisor=1, seed=3, run_dir=str(tmp_path / folder), verbose=0)  # fmt: skip

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
        options = {"batch_size": 16, "seed": 3, "learning_rate": 0.2, "epoch_divisor": 1, **settings}
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
        ({"loss_reduction": "sum_over_batch_size"}, "loss_reduction sum there, sum_over_batch_size now"),
        ({"momentum": 0.0, "nesterov": False}, "momentum 0.9 there, 0.0 now; nesterov True there, False now"),
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
    with pytest.raises(ValueError, match="cannot load a DCUE model .* it holds a Sequential"):
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
