"""The DCUE experiment (`keras_samplecnn.experiments.dcue`, `recipes/dcue.py`) on tiny synthetic
listeners, and samplecnn recommend / embed on its DCUE model."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from keras_samplecnn import cli
from keras_samplecnn.experiments import dcue
from keras_samplecnn.training.config import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(ROOT, "recipes")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
TINY = ["--demo", "--seeds", "1", "--workers", "1", "--variants", "basic",
        "--demo-size", "dataset.num_artists=6", "--demo-size", "dataset.tracks_per_artist=4",
        "--demo-size", "dataset.num_users=30", "--demo-size", "dataset.seconds=3.2",
        "--demo-size", "convert.num_users=30", "--demo-size", "convert.cold_fraction=0.25",
        "--set", "training.epochs=1", "--set", "tagging.epochs=3"]  # fmt: skip


def _run(*args):
    out = subprocess.run([sys.executable, os.path.join(RECIPES, "dcue.py"), *args], check=False,
                         capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=900)  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dcue_recipe") / "run"
    return out, _run(*TINY, "--out", str(out))


def test_the_table_has_dcue_and_the_baselines_under_both_protocols(demo_run):
    out, stdout = demo_run
    rows = json.loads((out / "dcue_table.json").read_text())["rows"]
    found = {(r["method"], r["protocol"], r["task"]) for r in rows}
    both = {(p, t) for p in ("authors", "heldout") for t in ("warm", "cold")}
    assert found == ({("DCUE basic", *c) for c in both} | {("untrained", *c) for c in both}
                     | {("popularity", *c) for c in both} | {("ALS (implicit)", "heldout", "warm"),
                     ("DCUE basic", "authors", "tags"), ("untrained", "authors", "tags")})  # fmt: skip
    for row in rows:
        assert row["value"] is None or 0.0 <= row["value"] <= 1.0
    # Held-out protocol: popularity ties every cold-start song: exactly 0.5 for every user.
    assert [r["value"] for r in rows if (r["method"], r["protocol"], r["task"]) == ("popularity", "heldout",
                                                                                    "cold")] == [0.5]  # fmt: skip
    text = (out / "dcue_table.md").read_text()
    assert "| ALS (implicit) |" in text and "cannot score" in text and "held-out: cold-start songs" in text
    assert "authors': test songs" in text
    assert "GFLOP/s" in stdout
    # The converter's split: cold-start songs never among the training interactions.
    data = np.load(out / "data" / "taste" / "interactions.npz")
    assert not np.isin(data["song"][data["split"] == 0], np.flatnonzero(data["cold"])).any()
    # Each protocol trained its own model.
    for protocol in ("authors", "heldout"):
        assert (out / "seed1" / protocol / "basic" / "model.keras").exists()


def test_a_second_run_trains_nothing_and_synthesises_nothing(demo_run):
    out, _ = demo_run
    model = out / "seed1" / "authors" / "basic" / "model.keras"
    before = os.path.getmtime(model)
    stdout = _run(*TINY, "--out", str(out))
    assert "holds a finished DCUE (basic, authors) run" in stdout and "training DCUE" not in stdout
    assert "Synthesising" not in stdout and os.path.getmtime(model) == before


def _ranking(model_path, data_dir, user_index):
    """The expected top songs, computed from the model's branches and the interactions."""
    import keras

    from keras_samplecnn.data.interaction_split import load_interaction_split
    from keras_samplecnn.data.song_mels import song_mel_table
    from keras_samplecnn.recommender import embed_song_table

    model = keras.saving.load_model(model_path)
    split = load_interaction_split(data_dir)
    table, frames = song_mel_table(data_dir, split.songs, model.mel_frontend(), progress=False)
    songs = embed_song_table(model, table, frames)
    user = np.asarray(model.user_encoder(np.array([user_index], "int32")), np.float64)[0]
    scores = songs @ (user / np.linalg.norm(user))
    played = set(split.song[split.user == user_index].tolist())
    order = [i for i in np.argsort(-scores) if i not in played]
    return split, [str(split.songs[i]) for i in order], scores


def test_recommend_from_the_converted_folder_and_from_embeddings(demo_run, tmp_path, capsys):
    out, _ = demo_run
    model, data = str(out / "seed1" / "heldout" / "basic" / "model.keras"), str(out / "data" / "taste")
    split, expected, scores = _ranking(model, data, 2)
    user = str(split.users[2])
    assert cli.main(["recommend", "--model", model, "--user", user, "--data", data, "--top-k", "4", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [g["song"] for g in got] == expected[:4]
    np.testing.assert_allclose([g["score"] for g in got], [scores[list(split.songs).index(s)] for s in expected[:4]],
                               atol=1e-4)  # fmt: skip
    songs = str(tmp_path / "songs.npz")
    assert cli.main(["embed", "--model", model, "--data", data, "--out", songs]) == 0
    saved = np.load(songs)
    assert saved["track_ids"].tolist() == split.songs.tolist()
    assert (saved["splits"] == "cold").tolist() == split.cold.tolist()
    capsys.readouterr()
    assert cli.main(["recommend", "--model", model, "--user", user, "--songs", songs, "--data", data, "--top-k", "4",
                     "--json"]) == 0  # fmt: skip
    assert [g["song"] for g in json.loads(capsys.readouterr().out)] == expected[:4]
    # Through an index of the embeddings (exact: the same ranking by construction of the test).
    index = str(tmp_path / "index")
    assert cli.main(["index", songs, "--out", index, "--exact"]) == 0
    capsys.readouterr()
    assert cli.main(["recommend", "--model", model, "--user", user, "--songs", songs, "--data", data, "--index",
                     index, "--top-k", "4", "--json"]) == 0  # fmt: skip
    assert [g["song"] for g in json.loads(capsys.readouterr().out)] == expected[:4]


def test_recommend_on_audio_files_and_clear_errors(demo_run, capsys):
    out, _ = demo_run
    model, data = str(out / "seed1" / "heldout" / "basic" / "model.keras"), str(out / "data" / "taste")
    audio = out / "data" / "demo_listeners" / "audio"
    files = sorted(str(p) for p in audio.rglob("*.wav"))[:3]
    split = np.load(os.path.join(data, "interactions.npz"))
    user = str(split["users"][0])
    assert cli.main(["recommend", "--model", model, "--user", user, *files, "--top-k", "3"]) == 0
    listed = [line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:]]
    assert sorted(listed) == sorted(files)
    # A file's song embedding: the mean of its excerpts' embeddings by the waveform branch.
    import keras

    from keras_samplecnn.audio import load_audio

    dcue = keras.saving.load_model(model)
    wave = load_audio(files[0], dcue.sample_rate)
    excerpts = wave[: len(wave) // dcue.input_length * dcue.input_length].reshape(-1, dcue.input_length)
    expected = np.asarray(dcue.waveform_encoder(excerpts)).mean(axis=0)
    capsys.readouterr()
    assert cli.main(["embed", files[0], "--model", model]) == 0
    # Un-normalised embeddings (values in the hundreds): float32 rounding relative to their size.
    np.testing.assert_allclose(json.loads(capsys.readouterr().out)[files[0]], expected,
                               atol=1e-5 * np.abs(expected).max())  # fmt: skip
    assert cli.main(["recommend", "--model", model, "--user", "nobody", "--data", data]) == 2
    assert "unknown user 'nobody'" in capsys.readouterr().err
    assert cli.main(["recommend", "--model", model, "--user", user]) == 2  # no catalogue
    assert "give the catalogue" in capsys.readouterr().err
    assert cli.main(["tag", files[0], "--model", model]) == 2
    assert "DCUE model" in capsys.readouterr().err


def test_no_data_is_a_clear_message(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(RECIPES, "dcue.py"), "--data", str(tmp_path)],
                         capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)  # fmt: skip
    assert out.returncode != 0 and "tfrecords_tools taste-profile" in out.stderr


def test_the_table_is_the_mean_and_sample_deviation_and_verdicts_count_seeds():
    def rows(method, protocol, task, values):
        return [{"method": method, "protocol": protocol, "task": task, "seed": s, "value": v}
                for s, v in enumerate(values)]  # fmt: skip

    rows_ = (rows("DCUE basic", "heldout", "cold", (0.6, 0.7, 0.65)) + rows("popularity", "heldout", "cold", [0.5] * 3)
             + rows("DCUE basic", "heldout", "warm", (0.6, 0.62, 0.7))
             + rows("popularity", "heldout", "warm", [0.63] * 3)
             + rows("DCUE basic", "authors", "cold", (0.5, 0.5, 0.5)))  # fmt: skip
    summary = dcue.summarise_rows(rows_)
    entry = summary[("DCUE basic", "heldout", "cold")]
    assert entry["mean"] == pytest.approx(0.65) and entry["std"] == pytest.approx(np.std([0.6, 0.7, 0.65], ddof=1))
    columns = dcue.columns_of(["authors", "heldout"], "authors", False)
    lines = dcue.verdicts(summary, ["DCUE basic"], columns)
    assert "DCUE basic beats popularity on held-out: cold-start songs: +0.1500 (3/3 seeds)" in lines
    # A better mean that loses on some seed is not a win.
    assert "DCUE basic does NOT beat popularity on held-out: warm songs: +0.0100 (1/3 seeds)" in lines
    table = dcue.table_of(summary, ["DCUE basic", "popularity", "ALS (implicit)"], columns)
    assert table.splitlines()[:2] == [("| method | held-out: warm songs | held-out: cold-start songs | authors': "
                                       "training songs | authors': test songs |"), "|---|---|---|---|---|"]  # fmt: skip
    assert "| DCUE basic | 0.6400 ± 0.0529 | 0.6500 ± 0.0500 | — | 0.5000 ± 0.0000 |" in table
    # One seed: the mean alone; ALS cannot rank cold-start songs, and says so.
    assert "| popularity | 0.6300 ± 0.0000 | 0.5000 ± 0.0000 | — | — |" in table
    assert "| ALS (implicit) | — | cannot score | — | — |" in table
    one = dcue.table_of(dcue.summarise_rows(rows("DCUE basic", "heldout", "warm", [0.61])), ["DCUE basic"],
                        columns[:1])  # fmt: skip
    assert one.splitlines()[-1] == "| DCUE basic | 0.6100 |"


def test_demo_settings_are_the_authors_with_the_demo_file_over_them():
    paper = dcue.load().config
    model, training, tagging = paper.model, paper.training, paper.tagging
    # jongpillee/deep-content-user @0e57b68 train.py's argparse defaults and SGD call.
    assert model.num_negatives == 20 and training.learning_rate == 0.2
    assert training.batch_size == 10 and training.margin == 0.2
    assert (training.momentum, training.nesterov, training.step_decay) == (0.9, True, 1e-6)
    assert training.loss_reduction == "sum" and training.epoch_divisor == 10
    assert model.conv_filters == [128, 256, 256, 256, 256] and model.l2 == 0
    assert model.user_relu is True and paper.evaluation.protocols == ["authors", "heldout"]
    # tagging.py: Dense(512) + BN, SGD 0.1 Nesterov, batch 10, patience 9 / 4, factor 0.2.
    assert (tagging.hidden, tagging.batch_norm, tagging.learning_rate, tagging.batch_size) == (512, True, 0.1, 10)
    assert (tagging.patience, tagging.reduce_patience, tagging.reduce_factor) == (9, 4, 0.2)
    assert training.arguments("multi")["epochs"] == 285  # the released multi checkpoint's
    assert training.arguments("basic")["epochs"] == 561
    demo = dcue.load(demo=True, sets=["training.epochs=7"])
    assert demo.config.training.arguments("multi")["epochs"] == 7 and demo.config.model.num_negatives < 20
    assert demo.demo.seeds == [0] and demo.demo.convert.num_users == demo.demo.dataset["num_users"]
    # --demo-size: a key of the demo section as given, any other the demo maker's.
    sized = dcue.load(demo=True, demo_sizes=dcue.demo_sets(["num_users=30", "convert.num_users=20"]))
    assert (sized.demo.dataset["num_users"], sized.demo.convert.num_users) == (30, 20)
    assert dcue.load(demo=True).config.training.epochs == {"basic": 15, "multi": 15, "multi_mean": 15}


@pytest.mark.parametrize("sets, demo_sizes, key", [
    (["training.batch_size=0"], [], "training.batch_size"),
    (["training.bogus=1"], [], "'bogus'] in 'training'"),
    (["bogus.key=1"], [], "'bogus'"),
    (["model.num_frames=100"], [], "model.num_frames"),
    (["model.conv_filters=[128, 256]"], [], "model.conv_filters"),
    (["training.loss_reduction=mean"], [], "training.loss_reduction"),
    (["training.epochs={basic: 0}"], [], "training.epochs"),
    (["training.epochs={other: 3}"], [], "training.epochs"),
    (["evaluation.protocols=[authors, authors]"], [], "evaluation.protocols"),
    (["evaluation.protocols=[ours]"], [], "evaluation.protocols"),
    (["baselines.als.factors=0"], [], "baselines.als.factors"),
    (["tagging.momentum=1.5"], [], "tagging.momentum"),
    ([], ["convert.colder=0.2"], "'colder'] in 'demo.convert'"),
    ([], ["convert.cold_fraction=2"], "demo.convert.cold_fraction"),
    ([], ["seeds=[]"], "demo.seeds"),
    ([], ["seeds=[0.5]"], "demo.seeds"),
])  # fmt: skip
def test_a_bad_key_or_value_is_refused_naming_it(sets, demo_sizes, key):
    with pytest.raises(ConfigError, match=re.escape(key)):
        dcue.load(demo=bool(demo_sizes), sets=sets, demo_sizes=dcue.demo_sets(demo_sizes))


def test_bad_options_are_refused_before_any_work(tmp_path):
    with pytest.raises(dcue.ExperimentError, match="--variants"):
        dcue.variants_of("basic,deep")
    # A per-variant epoch count that leaves out a variant to run: said before training.
    with pytest.raises(dcue.ExperimentError, match="no number for the 'multi' variant"):
        dcue.run(out=str(tmp_path), sets=["training.epochs={basic: 3}"])
    with pytest.raises(dcue.ExperimentError, match="tfrecords_tools taste-profile"):
        dcue.run(data=str(tmp_path), out=str(tmp_path), variants=["basic"])
    assert os.listdir(tmp_path) == []
    with pytest.raises(SystemExit, match="training.batch_size: 0 is not an int >= 1"):
        from keras_samplecnn.experiments import main

        main("dcue", argv=["--set", "training.batch_size=0"])


def test_the_tagging_mlp_is_the_authors():
    import keras

    options = dcue.load().config.tagging
    model = dcue.tagging_model(256, 50, options)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Dense", "BatchNormalization", "ReLU", "Dense", "BatchNormalization", "ReLU", "Dense"]
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)] == [512, 512, 50]
    assert model.layers[-1].activation.__name__ == "sigmoid"
    # tagging.py splits its songs by position % 10: 0-6 train, 7 valid, 8-9 test.
    train, valid, test = dcue.tagging_split(30, "authors", 0)
    assert (train.tolist(), valid.tolist(), test.tolist()) == (
        [i for i in range(30) if i % 10 < 7], [7, 17, 27], [i for i in range(30) if i % 10 >= 8])


def test_song_table_streams_the_records_in_song_order_and_is_cached(demo_run, tmp_path):
    from keras_samplecnn.data.interaction_split import load_interaction_split
    from keras_samplecnn.data.song_mels import iter_clips, mel_table, song_mel_table
    from keras_samplecnn.layers import LogMelSpectrogram

    out, _ = demo_run
    data = str(out / "data" / "taste")
    songs = list(load_interaction_split(data).songs)[::-1]  # any order the caller asks for
    waves = dict(kv for split in ("train", "test") for kv in iter_clips(data, split))
    frontend = LogMelSpectrogram(num_mel_bins=32)
    expected, expected_frames = mel_table([waves[s] for s in songs], frontend, progress=False)
    table, frames = song_mel_table(data, songs, frontend, cache_dir=str(tmp_path), batch_size=5, progress=False)
    np.testing.assert_array_equal(frames, expected_frames)
    for row, count in enumerate(frames):  # the last frame sees the batch's zero padding
        np.testing.assert_allclose(table[row, : count - 1].astype(np.float32),
                                   expected[row, : count - 1].astype(np.float32), atol=2e-3, rtol=2e-3)  # fmt: skip
    again, _ = song_mel_table(data, songs, frontend, cache_dir=str(tmp_path), progress=False)
    assert isinstance(again, np.memmap) and np.array_equal(again, table)
    other, _ = song_mel_table(data, songs[::-1], frontend, cache_dir=str(tmp_path), progress=False)
    np.testing.assert_array_equal(other, np.asarray(table)[::-1])  # another order: computed again
    with pytest.raises(ValueError, match="no audio record"):
        song_mel_table(data, ["SONOTHERE"], frontend, progress=False)


def test_song_table_cache_key_keeps_the_key_of_tables_cached_before_the_front_end_options(tmp_path):
    # A table cached before the front-end options was keyed by these eight settings only (the HEAD formula,
    # written out); the old front end (HTK, unit peaks, power 2) must still find it, any other
    # front end must not.
    import hashlib

    from keras_samplecnn.data import schema
    from keras_samplecnn.data.song_mels import _cache_key
    from keras_samplecnn.layers import LogMelSpectrogram

    (tmp_path / schema.MANIFEST).write_text('{"shards": []}')
    songs, splits = ["S1", "S2"], ("train", "test")

    def key_before(frontend):
        digest = hashlib.sha256("\n".join(songs).encode())
        config = frontend.get_config()
        settings = {k: config[k] for k in ("sample_rate", "fft_length", "hop_length", "num_mel_bins", "min_freq",
                                           "max_freq", "compression", "power")}  # fmt: skip
        digest.update(json.dumps([settings, list(splits), None], sort_keys=True).encode())
        digest.update((tmp_path / schema.MANIFEST).read_bytes())
        return digest.hexdigest()

    old = LogMelSpectrogram(num_mel_bins=32, mel_scale="htk", norm=None, power=2.0)
    assert _cache_key(str(tmp_path), songs, old, splits, None) == key_before(old)
    keys = {_cache_key(str(tmp_path), songs, LogMelSpectrogram(num_mel_bins=32, **options), splits, None)
            for options in ({}, {"power": 2.0}, {"mel_scale": "htk"}, {"norm": None}, {"mel_scale": "htk", "norm": None},
                            {"mel_scale": "htk", "norm": None, "power": 2.0})}  # fmt: skip
    assert len(keys) == 6 and key_before(old) in keys


@pytest.mark.parametrize("changes, key", [({"levels": "every"}, "tagging.levels"), ({"split": "random"}, "tagging.split"),
                                          ({"split": [0.6, 0.6, 0.2]}, "tagging.split"),
                                          ({"split": [0.6, 0.2]}, "tagging.split")])  # fmt: skip
def test_bad_tagging_options_name_the_key(changes, key):
    values = dcue.settings.read("dcue")[4]
    dcue.settings.build(dcue.DcueConfig, values)  # the authors' settings pass
    assert dcue.settings.build(dcue.DcueConfig, {"tagging": {"split": [0.7, 0.1, 0.2]}}).tagging.split == [0.7, 0.1, 0.2]
    with pytest.raises(ConfigError, match=key):
        dcue.settings.build(dcue.DcueConfig, {**values, "tagging": {**values["tagging"], **changes}})


def test_the_schemas_defaults_are_the_models():
    # The margin and negatives are the models' constants; the Keras-free schemas repeat them.
    from keras_samplecnn.models import artist as artist_model
    from keras_samplecnn.models import dcue as dcue_model
    from keras_samplecnn.training.config import SiameseConfig

    assert (dcue.ModelSettings().num_negatives, dcue.TrainingSettings().margin) == (
        dcue_model.NUM_NEGATIVES, dcue_model.MARGIN)  # fmt: skip
    assert (SiameseConfig().num_negatives, SiameseConfig().margin) == (artist_model.NUM_NEGATIVES, artist_model.MARGIN)
