import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

import keras

import keras_samplecnn
from keras_samplecnn.cli import main

TAGS = ["guitar", "piano", "drums"]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    model = keras_samplecnn.build(
        "se", num_classes=3, tags=TAGS, n=5, input_length=729, sample_rate=8000, se_ratio=0.5
    )
    path = str(tmp_path_factory.mktemp("model") / "model.keras")
    model.save(path)
    return path


@pytest.fixture
def songs(tmp_path):
    t = np.arange(16000) / 16000
    mp3 = str(tmp_path / "song.mp3")
    sf.write(mp3, 0.3 * np.sin(2 * np.pi * 440 * t), 16000, format="MP3")
    wav = str(tmp_path / "other.wav")
    sf.write(wav, np.stack([0.2 * np.sin(2 * np.pi * 220 * t)] * 2, axis=1), 16000)
    return mp3, wav


def test_tag_an_mp3_with_the_console_script(model_path, songs):
    executable = shutil.which("samplecnn")
    assert executable, "the samplecnn console script is not installed (pip install -e .)"
    out = subprocess.run([executable, "tag", songs[0], "--model", model_path, "--json", "--top-k", "2"],
                         capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert list(result) == [songs[0]] and len(result[songs[0]]) == 2 and set(result[songs[0]]) <= set(TAGS)


def test_bad_file_is_reported_and_the_others_tagged(model_path, songs, tmp_path, capsys):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3 not really an mp3")
    code = main(
        ["tag", songs[0], str(broken), str(tmp_path / "missing.flac"), songs[1], "--model", model_path]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.mp3" in captured.err and "missing.flac" in captured.err
    assert songs[0] in captured.out and songs[1] in captured.out


def test_model_that_is_not_ours(tmp_path, songs, capsys):
    inputs = keras.Input((4,))
    path = str(tmp_path / "other.keras")
    keras.Model(inputs, keras.layers.Dense(1)(inputs)).save(path)
    assert main(["tag", songs[0], "--model", path]) == 2
    assert "not a keras_samplecnn model" in capsys.readouterr().err


def test_embed_writes_npz(model_path, songs, tmp_path):
    out = str(tmp_path / "e.npz")
    assert main(["embed", *songs, "--model", model_path, "--out", out]) == 0
    data = np.load(out)
    assert data["embeddings"].shape == (2, 512) and list(data["paths"]) == list(songs)


def test_visualize_writes_one_image_per_layer(model_path, tmp_path):
    assert (
        main(["visualize", model_path, "--out", str(tmp_path / "viz"), "--steps", "2", "--filters", "4"]) == 0
    )
    images = sorted(os.listdir(tmp_path / "viz"))
    assert "index.md" in images and "06_block5.png" in images and len(images) == 8


def test_train_with_bad_config(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("data:\n  batch_size: lots\n")
    assert main(["train", str(config)]) == 2
    assert "data.batch_size: expected int" in capsys.readouterr().err


def test_models_table(capsys):
    assert main(["models"]) == 0
    assert "| `resse` |" in capsys.readouterr().out


def test_convert_delegates(tmp_path, capsys):
    assert main(["convert", "mtat", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2


def test_convert_help_is_the_converters(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["convert", "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "python -m tfrecords_tools" in out and "speech-commands" in out and "verify" in out


def one_error_line(capsys):
    """The single `error: ...` line a failed command printed on stderr."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    return lines[0]


@pytest.fixture(scope="module")
def tiny(tiny_mtat, tmp_path_factory):
    """The tiny converted dataset and a model that fits it (untrained: only reading is tested)."""
    from keras_samplecnn.data.manifest import read_manifest
    from tests.tiny_data import SAMPLE_RATE, SEGMENT

    data = tiny_mtat
    model = keras_samplecnn.build("samplecnn", tags=read_manifest(data)["tags"], n=4, input_length=SEGMENT,
                                  filters=[8, 8, 8, 8], stem_filters=8, sample_rate=SAMPLE_RATE)  # fmt: skip
    path = str(tmp_path_factory.mktemp("tiny_model") / "model.keras")
    model.save(path)
    return data, path


def test_corrupt_shard_through_tf_data_is_one_error_line(tiny, tmp_path, capsys):
    data, model = tiny
    copy = str(tmp_path / "data")
    shutil.copytree(data, copy)
    with open(os.path.join(copy, "manifest.json"), encoding="utf-8") as f:
        shard = os.path.join(copy, json.load(f)["splits"]["test"]["shards"][0]["file"])
    with open(shard, "r+b") as f:  # garble record bodies and their checksums
        f.seek(40)
        f.write(b"\x5a" * 400)
    assert main(["evaluate", model, "--data", copy, "--reader", "tf_data"]) == 2
    line = one_error_line(capsys)
    assert "corrupt" in line and "tfrecords_tools verify" in line


@pytest.mark.parametrize(
    "content, message",
    [
        (b"data:\n  batch_size: \xff\xfe 8\n", "not UTF-8"),
        (b"data: [1, 2\noptimization: {\n", "not valid YAML"),
    ],
)
def test_unreadable_config_is_one_error_line(tmp_path, capsys, content, message):
    config = tmp_path / "c.yaml"
    config.write_bytes(content)
    assert main(["train", str(config)]) == 2
    line = one_error_line(capsys)
    assert message in line and str(config) in line


def test_missing_files_are_one_error_line(tmp_path, capsys):
    missing = str(tmp_path / "songs.npz")
    assert main(["index", missing, "--out", str(tmp_path / "index")]) == 2
    assert missing in one_error_line(capsys)
    assert main(["train", str(tmp_path / "nowhere.yaml")]) == 2
    assert "nowhere.yaml" in one_error_line(capsys)


@pytest.mark.parametrize(
    "error, code",
    [
        (PermissionError(13, "Permission denied", "/data/out"), 3),
        (OSError(28, "No space left on device"), 3),
        (KeyboardInterrupt(), 130),
    ],
)
def test_system_errors_and_interrupts_have_their_exit_codes(monkeypatch, capsys, error, code):
    def fail(args):
        raise error

    monkeypatch.setattr("keras_samplecnn.cli._models", fail)
    assert main(["models"]) == code
    line = one_error_line(capsys)
    assert ("interrupted" if code == 130 else error.strerror) in line


def test_unexpected_errors_keep_their_traceback(monkeypatch):
    def fail(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr("keras_samplecnn.cli._models", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["models"])
