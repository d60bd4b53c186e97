"""`samplecnn index LIBRARY_DIR --model MODEL` and `samplecnn similar`: a music folder embedded with
a model (a .keras file or a pretrained preset name), bad files listed, resuming, and the search."""

import csv
import json
import os
import sys

import numpy as np
import pytest
import soundfile as sf

import keras_samplecnn
from keras_samplecnn import library as library_lib
from keras_samplecnn.cli import main
from keras_samplecnn.tagger import Tagger
from tests.helpers import preset_weights_dir

# What index finds in the folder below: sorted, relative, hidden files and notes.txt left out.
AUDIO = ["a.wav", "b.flac", "broken.mp3", "c.mp3", "sub/d.WAV", "sub/deeper/e.ogg"]
GOOD = [name for name in AUDIO if name != "broken.mp3"]


def _save_tiny(path, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras_samplecnn.build("se", num_classes=3, tags=["x", "y", "z"], n=5, input_length=729,
                                  sample_rate=8000, se_ratio=0.5)  # fmt: skip
    model.save(path)
    return str(path)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return _save_tiny(tmp_path_factory.mktemp("model") / "tiny.keras", seed=1)


@pytest.fixture(scope="module")
def other_model_path(tmp_path_factory):
    return _save_tiny(tmp_path_factory.mktemp("model") / "other.keras", seed=2)


def _make_library(root):
    """Six audio files (one garbage with an .mp3 name), two in subfolders, one hidden, an .m4a
    (a format libsndfile does not decode) and a text file."""
    rate = 16000
    t = np.arange(rate) / rate
    rng = np.random.default_rng(0)
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    sf.write(root / "a.wav", 0.3 * np.sin(2 * np.pi * 440 * t), rate)
    sf.write(root / "b.flac", 0.2 * np.sin(2 * np.pi * 97 * t) + 0.05 * rng.standard_normal(rate), rate)
    sf.write(root / "c.mp3", 0.2 * rng.standard_normal(rate), rate, format="MP3")
    sf.write(root / "sub" / "d.WAV", 0.3 * np.sin(2 * np.pi * (200 + 1500 * t) * t), rate)
    sf.write(root / "sub" / "deeper" / "e.ogg", 0.3 * np.sign(np.sin(2 * np.pi * 60 * t)), rate)
    (root / "broken.mp3").write_bytes(b"ID3" + bytes(rng.integers(0, 256, 3000, dtype=np.uint8)))
    sf.write(root / ".hidden" / "x.wav", 0.1 * t, rate)
    sf.write(root / ".skipped.wav", 0.1 * t, rate)
    (root / "voice memo.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    (root / "notes.txt").write_text("not audio")
    return str(root)


@pytest.fixture
def library(tmp_path):
    return _make_library(tmp_path / "My Music")


def _rejected(out):
    with open(os.path.join(out, "rejected.csv"), encoding="utf-8", newline="") as handle:
        return {row["path"]: row["reason"] for row in csv.DictReader(handle)}


def _cosines(embeddings, query):
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    return unit @ (query / np.linalg.norm(query))


def test_find_audio_walks_every_depth_and_skips_hidden(library):
    audio, other = library_lib.find_audio(library)
    assert audio == AUDIO and other == ["voice memo.m4a"]


def test_index_a_folder_then_similar_finds_each_file_first(library, model_path, tmp_path, capsys):
    out = str(tmp_path / "lib_index")
    code = main(["index", library, "--model", model_path, "--out", out, "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1, captured.err  # some files could not be used, the others were indexed
    assert "error: broken.mp3:" in captured.err and "error: voice memo.m4a:" in captured.err
    assert "5 files embedded" in captured.out and "5 tracks of 512 dims indexed (exact)" in captured.out
    rejected = _rejected(out)
    assert set(rejected) == {"broken.mp3", "voice memo.m4a"} and "libsndfile" in rejected["voice memo.m4a"]
    with open(os.path.join(out, "library.json"), encoding="utf-8") as handle:
        meta = json.load(handle)
    assert meta["model"]["path"] == os.path.abspath(model_path) and len(meta["model"]["sha256"]) == 64
    assert meta["root"] == os.path.abspath(library) and meta["dim"] == 512 and meta["tracks"] == 5

    tagger = Tagger(model_path)
    embeddings = np.stack([tagger.embed(os.path.join(library, name)) for name in GOOD])
    for i, name in enumerate(GOOD):
        assert main(["similar", os.path.join(library, name), "--index", out, "--json"]) == 0
        ranked = json.loads(capsys.readouterr().out)
        assert ranked[0]["track"] == name and ranked[0]["score"] == pytest.approx(1.0, abs=1e-5)
        assert ranked[0]["path"] == os.path.join(os.path.abspath(library), name)
        scores = [r["score"] for r in ranked]
        assert len(ranked) == len(GOOD) and scores == sorted(scores, reverse=True)
        expected = dict(zip(GOOD, _cosines(embeddings, embeddings[i])))
        np.testing.assert_allclose(scores, [expected[r["track"]] for r in ranked], atol=1e-5)

    assert main(["similar", os.path.join(library, "a.wav"), "--index", out, "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("nearest to") and len(lines) == 3 and lines[1].split() == ["1.000", "a.wav"]


def test_a_killed_run_resumes_with_what_is_missing(library, model_path, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "lib_index")
    real_embed, calls = Tagger.embed, []

    def interrupted(self, path):
        if len(calls) == 3:  # the fourth file: saved chunks hold what --save-every 2 wrote, no more
            assert len(library_lib._read_chunks(out)) == 2
            raise KeyboardInterrupt
        calls.append(os.path.relpath(path, library).replace(os.sep, "/"))
        return real_embed(self, path)

    monkeypatch.setattr(Tagger, "embed", interrupted)
    assert main(["index", library, "--model", model_path, "--out", out, "--no-progress", "--save-every", "2"]) == 130
    assert "interrupted" in capsys.readouterr().err
    first = [name for name in calls if name != "broken.mp3"]
    assert sorted(library_lib._read_chunks(out)) == first  # what was embedded is kept on the way out

    def counted(self, path):
        calls.append(os.path.relpath(path, library).replace(os.sep, "/"))
        return real_embed(self, path)

    calls.clear()
    monkeypatch.setattr(Tagger, "embed", counted)
    assert main(["index", library, "--model", model_path, "--out", out, "--no-progress", "--save-every", "2"]) == 1
    assert sorted(calls) == sorted(set(AUDIO) - set(first))  # the rest, and the broken file tried again
    assert "2 reused from an earlier run" in capsys.readouterr().out

    # A complete rerun embeds nothing; a changed file, a new one and a removed one are followed.
    calls.clear()
    assert main(["index", library, "--model", model_path, "--out", out, "--no-progress"]) == 1
    assert calls == ["broken.mp3"]
    os.remove(os.path.join(library, "broken.mp3"))
    os.remove(os.path.join(library, "voice memo.m4a"))
    os.remove(os.path.join(library, "c.mp3"))
    sf.write(os.path.join(library, "sub", "new.flac"), 0.1 * np.ones(4000), 8000)
    sf.write(os.path.join(library, "a.wav"), 0.3 * np.sin(np.arange(8000) / 3), 8000)
    calls.clear()
    assert main(["index", library, "--model", model_path, "--out", out, "--no-progress"]) == 0
    assert sorted(calls) == ["a.wav", "sub/new.flac"] and _rejected(out) == {}
    from keras_samplecnn.song_index import SongIndex

    index = SongIndex.load(out)
    assert index.ids.tolist() == ["a.wav", "b.flac", "sub/d.WAV", "sub/deeper/e.ogg", "sub/new.flac"]
    assert len(library_lib._chunk_paths(out)) == 1  # compacted
    stored = library_lib._read_chunks(out)
    tagger = Tagger(model_path)
    for name in index.ids.tolist():
        np.testing.assert_allclose(stored[name].embedding, tagger.embed(os.path.join(library, name)), atol=1e-5)


def test_another_model_or_library_into_the_same_folder_is_refused(
    library, model_path, other_model_path, tmp_path, capsys
):
    out = str(tmp_path / "lib_index")
    assert main(["index", library, "--model", model_path, "--out", out, "--no-progress"]) == 1
    capsys.readouterr()
    assert main(["index", library, "--model", other_model_path, "--out", out, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "was built with the model" in err and "another --out" in err
    other_library = _make_library(tmp_path / "elsewhere")
    assert main(["index", other_library, "--model", model_path, "--out", out, "--no-progress"]) == 2
    assert "indexes the library" in capsys.readouterr().err
    # A folder that is something else is not written into.
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("x")
    assert main(["index", library, "--model", model_path, "--out", str(busy), "--no-progress"]) == 2
    assert "not a samplecnn library index" in capsys.readouterr().err and os.listdir(busy) == ["thesis.tex"]


def test_clear_errors(library, model_path, tmp_path, capsys):
    out = str(tmp_path / "lib_index")
    assert main(["index", library, "--model", model_path, "--out", out, "--no-progress"]) == 1
    capsys.readouterr()
    query = os.path.join(library, "a.wav")
    cases = [
        (["similar", query, "--index", str(tmp_path)], "not a samplecnn library index"),
        (["similar", query, "--index", str(tmp_path / "nowhere")], "no such index folder"),
        (["similar", os.path.join(library, "broken.mp3"), "--index", out], "cannot decode"),
        (["similar", str(tmp_path / "missing.mp3"), "--index", out], "missing.mp3"),
        (["similar", query, "--index", out, "--top-k", "0"], "top-k must be >= 1"),
        (["index", library, "--out", str(tmp_path / "x")], "give --model"),
        (["index", library, "--model", "no_such_model", "--out", str(tmp_path / "x")], "ismir2018_siamese_msd10k"),
        (["index", str(tmp_path / "empty"), "--model", model_path, "--out", str(tmp_path / "y")], "no audio file"),
    ]
    (tmp_path / "empty").mkdir()
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, (argv, err)
    # An index of an embeddings file has no model to embed a query with.
    songs = str(tmp_path / "songs.npz")
    np.savez(songs, track_ids=np.array(["s1", "s2"]), embeddings=np.eye(2, dtype=np.float32))
    assert main(["index", songs, "--out", str(tmp_path / "songs_index"), "--exact"]) == 0
    assert main(["index", songs, "--model", model_path, "--out", str(tmp_path / "z")]) == 2
    assert main(["similar", query, "--index", str(tmp_path / "songs_index")]) == 2
    assert "samplecnn recommend --index" in capsys.readouterr().err
    # Only broken files: nothing to index.
    broken = tmp_path / "only_broken"
    broken.mkdir()
    (broken / "x.flac").write_bytes(b"fLaC garbage")
    assert main(["index", str(broken), "--model", model_path, "--out", str(tmp_path / "w"), "--no-progress"]) == 2
    assert "none of the 1 audio files" in capsys.readouterr().err


def _stand_in_presets(monkeypatch, model_path):
    """Makes `tiny_preset` a preset whose model is the tiny one, for the name handling alone."""
    import keras

    from keras_samplecnn import presets

    # A preset of the real registry whose "weights" are the tiny model: every loader goes through it.
    monkeypatch.setitem(presets.PRESETS, "tiny_preset", object())
    monkeypatch.setattr(presets, "from_preset", lambda name, weights_dir=None: keras.saving.load_model(model_path))


def test_preset_names_work_where_model_paths_do(library, model_path, tmp_path, monkeypatch, capsys):
    _stand_in_presets(monkeypatch, model_path)
    song = os.path.join(library, "a.wav")
    assert main(["embed", song, "--model", "tiny_preset"]) == 0
    by_name = np.array(json.loads(capsys.readouterr().out)[song])
    np.testing.assert_allclose(by_name, Tagger(model_path).embed(song), atol=1e-5)

    out = str(tmp_path / "lib_index")
    assert main(["index", library, "--model", "tiny_preset", "--out", out, "--no-progress"]) == 1
    assert library_lib.read_meta(out)["model"] == {"preset": "tiny_preset"}
    capsys.readouterr()
    assert main(["similar", song, "--index", out, "--top-k", "1"]) == 0
    assert "model tiny_preset" in capsys.readouterr().out
    assert main(["index", library, "--model", model_path, "--out", out, "--no-progress"]) == 2  # not the preset
    assert "tiny_preset" in capsys.readouterr().err

    from keras_samplecnn.aggregation.features import _load_extractor

    model, path = _load_extractor("tiny_preset")
    assert path == "tiny_preset" and model.input_length == 729
    # A file of that name wins over the preset.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny_preset").write_text("not a model")
    with pytest.raises(ValueError, match="cannot load"):
        Tagger("tiny_preset")


def test_the_pretrained_preset_indexes_a_folder(library, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAMPLECNN_WEIGHTS_DIR", preset_weights_dir())
    out = str(tmp_path / "lib_index")
    assert main(["index", library, "--model", "ismir2018_siamese_msd10k", "--out", out, "--no-progress"]) == 1
    assert "5 tracks of 256 dims indexed" in capsys.readouterr().out
    tagger = Tagger("ismir2018_siamese_msd10k")
    embeddings = np.stack([tagger.embed(os.path.join(library, name)) for name in GOOD])
    assert main(["similar", os.path.join(library, "c.mp3"), "--index", out, "--json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert ranked[0]["track"] == "c.mp3" and ranked[0]["score"] == pytest.approx(1.0, abs=1e-4)
    expected = dict(zip(GOOD, _cosines(embeddings, embeddings[GOOD.index("c.mp3")])))
    np.testing.assert_allclose([r["score"] for r in ranked], [expected[r["track"]] for r in ranked], atol=1e-4)


@pytest.mark.large
def test_a_linear_probe_on_the_preset_in_one_command(tmp_path):
    """recipes/transfer_multiscale.py --models PRESET --layers embedding: your labelled folder,
    converted, embedded by the pretrained encoder (256-d) and a linear classifier trained."""
    import subprocess

    weights = preset_weights_dir()
    rate, rng = 22050, np.random.default_rng(0)
    rows = ["path,class"]
    t = np.arange(rate * 3) / rate
    for kind in ("tones", "noise"):
        (tmp_path / "audio" / kind).mkdir(parents=True)
        for i in range(10):
            x = 0.3 * np.sin(2 * np.pi * rng.uniform(200, 900) * t) if kind == "tones" else 0.2 * rng.standard_normal(len(t))
            name = f"{kind}/{i}.{'flac' if i % 2 else 'wav'}"
            sf.write(tmp_path / "audio" / name, x, rate)
            rows.append(f"{name},{kind}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, os.path.join(root, "recipes", "transfer_multiscale.py"), "--models", "ismir2018_siamese_msd10k",
         "--layers", "embedding", "--target", "folder", "--data", str(tmp_path / "audio"), "--labels",
         str(tmp_path / "labels.csv"), "--classifier", "hidden=0", "--out", str(out), "--workers", "1"],
        capture_output=True, text=True, cwd=root, timeout=600,
        env=dict(os.environ, SAMPLECNN_WEIGHTS_DIR=weights, TF_CPP_MIN_LOG_LEVEL="3"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    manifest = json.loads((out / "features" / "features_manifest.json").read_text())
    assert manifest["extractors"][0]["path"] == "ismir2018_siamese_msd10k" and manifest["dim"] == 256
    assert "| ismir2018_siamese_msd10k, last layer | single-level | 256 |" in done.stdout
