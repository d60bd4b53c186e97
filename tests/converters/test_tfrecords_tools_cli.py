"""Tests for the `python -m tfrecords_tools` command line."""

import json
import os
import subprocess
import sys

import pytest

from keras_samplecnn.data import schema
from tfrecords_tools import cli, synthetic, writer

COMMANDS = {
    "mtat": "--split-files",
    "folder": "--tag-separators",
    "speech-commands": "--variant {35,12}",
    "dcase2017": "--skip-unknown-labels",
    "gtzan": "--split-ratio",
    "artists": "--msd-tracks",
    "verify": "DIR",
}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"] if command else ["--help"])

    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: python -m tfrecords_tools")
    if command is None:
        assert all(name in text for name in COMMANDS)
    else:
        assert COMMANDS[command] in text
        if command != "verify":
            assert "--shard-size" in text and "--short {pad,tile,skip}" in text and "--min-seconds" in text


def test_missing_root_exits_with_code_2(tmp_path, caplog):
    code = cli.main(["mtat", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])

    assert code == 2
    assert "MTAT root not found" in caplog.text


def test_missing_column_exits_with_code_2(tmp_path, caplog):
    (tmp_path / "labels.csv").write_text("file,tags\na.wav,x\n")

    code = cli.main(
        [
            "folder",
            "--audio-dir",
            str(tmp_path),
            "--labels",
            str(tmp_path / "labels.csv"),
            "--out",
            str(tmp_path / "o"),
        ]
    )

    assert code == 2
    assert "expected a header with a 'path' column" in caplog.text


def test_bad_option_values_are_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["gtzan", "--root", str(tmp_path), "--out", str(tmp_path), "--split-ratio", "0.9,0.2"])

    assert info.value.code == 2
    assert "summing to 1" in capsys.readouterr().err


def test_speech_commands_defaults_to_the_jstsp_settings(tmp_path):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes",), files_per_word=3, noise_seconds=1.0)
    out = tmp_path / "out"

    code = cli.main(
        ["speech-commands", "--root", str(root), "--out", str(out), "--workers", "1", "--no-progress"]
    )

    assert code == 0
    manifest = json.loads((out / schema.MANIFEST).read_text())
    assert (manifest["sample_rate"], manifest["segment_length"]) == (22050, 22050)
    assert (manifest["short"], manifest["min_length"]) == ("tile", 22050)


def test_one_second_segments_follow_the_sample_rate(tmp_path):
    # The JSTSP 2019 defaults are 1-s segments and clips tiled to 1 s (dcase2017: 10 s): at
    # 16 kHz that is 16,000 samples, not 22,050 (1.38 s).
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes",), files_per_word=3, noise_seconds=1.0)
    out = tmp_path / "out"
    assert cli.main(["speech-commands", "--root", str(root), "--out", str(out), "--sample-rate", "16000",
                     "--workers", "1", "--no-progress"]) == 0  # fmt: skip
    manifest = json.loads((out / schema.MANIFEST).read_text())
    assert (manifest["sample_rate"], manifest["segment_length"], manifest["min_length"]) == (16000, 16000, 16000)
    # An explicit --segment-length still wins.
    assert cli.main(["speech-commands", "--root", str(root), "--out", str(tmp_path / "out2"), "--sample-rate",
                     "16000", "--segment-length", "8000", "--workers", "1", "--no-progress"]) == 0  # fmt: skip
    assert json.loads((tmp_path / "out2" / schema.MANIFEST).read_text())["segment_length"] == 8000


def test_failed_shards_exit_with_code_1_and_rerun_resumes(tmp_path, monkeypatch, caplog):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes",), files_per_word=3)
    out = tmp_path / "out"
    argv = ["speech-commands", "--root", str(root), "--out", str(out), "--workers", "1", "--no-progress"]

    def disk_full(path, sample_rate):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "load_audio", disk_full)
    assert cli.main(argv) == 1
    assert "rerun the same command to resume" in caplog.text
    monkeypatch.undo()
    assert cli.main(argv) == 0


def test_verify_command_exit_codes(tmp_path, caplog):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes",), files_per_word=3)
    out = tmp_path / "out"
    assert cli.main(["verify", str(out)]) == 2  # nothing converted yet
    cli.main(["speech-commands", "--root", str(root), "--out", str(out), "--workers", "1", "--no-progress"])
    assert cli.main(["verify", str(out)]) == 0

    shard = out / "train-00000-of-00001.tfrecord"
    shard.write_bytes(shard.read_bytes()[:-1] + b"\x00")

    assert cli.main(["verify", str(out)]) == 1
    assert "train-00000-of-00001.tfrecord: corrupted" in caplog.text


def test_module_entry_point_with_two_workers_matches_one_worker(tmp_path):
    root = tmp_path / "mtat"
    tags = ["guitar", "classical", "slow", "techno"]
    rows = synthetic.fake_mtat(root, tags, clips_per_folder=1, seconds=1.0)
    (root / rows[0][1]).write_bytes(b"")  # an empty mp3, as in the real archive
    out, serial = tmp_path / "out", tmp_path / "serial"
    options = [
        "--root",
        str(root),
        "--num-tags",
        "4",
        "--segment-length",
        "8000",
        "--short",
        "skip",
        "--num-shards",
        "2",
        "--no-progress",
    ]

    result = subprocess.run(
        [sys.executable, "-m", "tfrecords_tools", "mtat", *options, "--out", str(out), "--workers", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.main(["mtat", *options, "--out", str(serial), "--workers", "1"]) == 0

    assert result.returncode == 0, result.stderr
    shards = sorted(name for name in os.listdir(serial) if name.endswith(".tfrecord"))
    assert len(shards) == 5  # valid (folder c) has one clip, so one shard
    assert [(out / name).read_bytes() for name in shards] == [(serial / name).read_bytes() for name in shards]
    assert "are skipped and listed in rejected.csv (--short skip)" in result.stderr
    assert f"rejected {rows[0][1]}: empty file (0 bytes)" in result.stderr
    manifest = json.loads((out / schema.MANIFEST).read_text())
    assert manifest["rejected"] == 1
    assert sum(info["clips"] for info in manifest["splits"].values()) == 15
    assert writer.verify(out).ok
