"""The Apache Beam runner of the converters against the local converter, byte for byte.

Every output file (shards, `.resume/` sidecars, manifest.json, rejected.csv, clips.csv) of a
DirectRunner conversion must equal the local process pool's; only `conversion.json` (this
run's time and runner) may differ. Small demo datasets (MTAT with two broken mp3s, GTZAN).
"""

import importlib.util
import json
import os
import shutil
import sys

import pytest

from keras_samplecnn.datasets import make_demo_gtzan, make_demo_mtat
from tfrecords_tools import beam_pipeline, cli, mtat, writer
from tfrecords_tools.errors import DatasetError, ShardWriteError
from tfrecords_tools.writer import CONVERSION, Settings, convert

SETTINGS = Settings(sample_rate=16000, segment_length=2048)
IN_MEMORY = ["--direct_running_mode=in_memory"]  # in this process: fast, and monkeypatch reaches it


@pytest.fixture
def beam():
    if importlib.util.find_spec("apache_beam") is None:
        if os.environ.get("SAMPLECNN_REQUIRE_BACKENDS"):  # CI: a missing extra is a failure
            pytest.fail("apache-beam is not installed")
        pytest.skip("apache-beam is not installed (pip install -e '.[beam]')")


@pytest.fixture(scope="module")
def mtat_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_mtat")
    clips = make_demo_mtat(str(root), n_clips=24, clip_seconds=1.0, seed=1, workers=1, progress=False)
    (root / clips[0].mp3_path).write_bytes(b"")  # empty, as in the real archive
    data = (root / clips[1].mp3_path).read_bytes()
    (root / clips[1].mp3_path).write_bytes(data[:300])  # cut inside the first frames
    return root


@pytest.fixture(scope="module")
def mtat_local(mtat_root, tmp_path_factory):
    """The local converter's output, the reference for every comparison."""
    out = tmp_path_factory.mktemp("local") / "out"
    convert(mtat.plan(str(mtat_root)), out, SETTINGS, num_shards=2, workers=1, show_progress=False)
    return out


def _files(out):
    """{relative path: bytes} of every file but conversion.json."""
    files = {}
    for folder, _, names in os.walk(out):
        for name in names:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, out)
            if relative != CONVERSION:
                with open(path, "rb") as handle:
                    files[relative] = handle.read()
    return files


def _assert_same_output(out, reference):
    got, expected = _files(out), _files(reference)
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], f"{name} differs"


def _shard_names(out):
    """Finished shards; not the `.tmp-` file of a shard a failed run was writing."""
    return sorted(name for name in os.listdir(out) if name.endswith(".tfrecord") and not name.startswith("."))


def test_direct_runner_writes_the_local_bytes(beam, mtat_root, mtat_local, tmp_path):
    out = tmp_path / "beam"

    manifest = convert(
        mtat.plan(str(mtat_root)), out, SETTINGS, num_shards=2, workers=2, runner="DirectRunner"
    )

    _assert_same_output(out, mtat_local)
    assert [name[:5] for name in _shard_names(out)] == ["test-", "test-", "train", "train", "valid", "valid"]
    assert "created" not in manifest  # no wall-clock time: the reason the bytes can match
    rejected = (out / "rejected.csv").read_text().splitlines()
    assert len(rejected) >= 2  # header + at least the empty mp3
    run = json.loads((out / CONVERSION).read_text())
    assert (run["runner"], run["workers"], run["shards_written"]) == ("DirectRunner", 2, len(_shard_names(out)))
    assert json.loads((mtat_local / CONVERSION).read_text())["runner"] == "local"
    assert not [name for name in os.listdir(out) if name.startswith(writer.TMP_PREFIX)]  # tasks file removed
    assert writer.verify(out).ok


def test_resume_rewrites_only_the_missing_shard(beam, mtat_local, mtat_root, tmp_path):
    out = tmp_path / "beam"
    shutil.copytree(mtat_local, out)
    shards = _shard_names(out)
    missing = shards[1]
    (out / missing).unlink()
    (out / "manifest.json").unlink()
    before = {name: os.stat(out / name).st_mtime_ns for name in shards if name != missing}

    convert(mtat.plan(str(mtat_root)), out, SETTINGS, num_shards=2, runner="DirectRunner", pipeline_args=IN_MEMORY)

    _assert_same_output(out, mtat_local)
    assert {name: os.stat(out / name).st_mtime_ns for name in before} == before
    run = json.loads((out / CONVERSION).read_text())
    assert (run["shards_written"], run["shards_resumed"]) == (1, len(shards) - 1)


def test_failed_shard_fails_the_pipeline_keeps_the_others_and_rerun_resumes(
    beam, mtat_local, mtat_root, tmp_path, monkeypatch
):
    out = tmp_path / "beam"
    plan = mtat.plan(str(mtat_root))
    doomed = _shard_names(mtat_local)[0]
    real_write = writer.write_shard

    def disk_full_for_one(task, progress=None):
        if task.name == doomed:
            raise OSError(28, "No space left on device")
        return real_write(task, progress)

    # The workers write through ShardTask.write, which calls the writer's write_shard.
    monkeypatch.setattr(writer, "write_shard", disk_full_for_one)
    # One worker thread: with two, the other thread may still be writing when the run fails.
    with pytest.raises(ShardWriteError, match="rerun the same command to resume") as info:
        convert(plan, out, SETTINGS, num_shards=2, workers=1, runner="DirectRunner", pipeline_args=IN_MEMORY)
    assert doomed in str(info.value)
    assert not (out / "manifest.json").exists() and not (out / doomed).exists()
    for name in _shard_names(out):  # every shard that exists is complete and recorded
        assert (out / name).read_bytes() == (mtat_local / name).read_bytes()
        assert (out / ".resume" / (name + ".json")).read_bytes() == (mtat_local / ".resume" / (name + ".json")).read_bytes()
    monkeypatch.undo()

    convert(plan, out, SETTINGS, num_shards=2, runner="DirectRunner", pipeline_args=IN_MEMORY)

    _assert_same_output(out, mtat_local)


def test_cli_runner_passes_beam_options_and_matches_the_local_command(beam, tmp_path):
    root = tmp_path / "gtzan"
    make_demo_gtzan(str(root), clips_per_genre=2, clip_seconds=1.0, workers=1, progress=False)
    common = ["gtzan", "--root", str(root), "--split-ratio", "0.5,0.25,0.25", "--sample-rate", "8000",
              "--segment-length", "2048", "--num-shards", "2", "--no-progress"]  # fmt: skip

    assert cli.main([*common, "--out", str(tmp_path / "local"), "--workers", "1"]) == 0
    # An option the converter does not know, with its value as a separate word, goes to Beam.
    beam_args = ["--out", str(tmp_path / "beam"), "--runner", "DirectRunner", "--direct_running_mode", "multi_threading"]
    assert cli.main([*common, *beam_args]) == 0

    _assert_same_output(tmp_path / "beam", tmp_path / "local")
    assert json.loads((tmp_path / "beam" / "manifest.json").read_text())["task"] == "single_label"


def test_unknown_options_without_runner_are_still_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["gtzan", "--root", str(tmp_path), "--out", str(tmp_path / "o"), "--project", "P"])

    assert info.value.code == 2
    assert "unrecognized arguments: --project P" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--out", "--root"])
def test_url_paths_are_refused_with_a_clear_error(option, tmp_path, caplog):
    paths = {"--root": str(tmp_path), "--out": str(tmp_path / "o"), option: "gs://bucket/mtat"}

    code = cli.main(["mtat", "--root", paths["--root"], "--out", paths["--out"], "--runner", "DirectRunner"])

    assert code == 2
    assert f"{option} gs://bucket/mtat is a URL" in caplog.text
    assert "every worker mounts" in caplog.text
    assert not os.path.exists("gs:")  # nothing was created under a local folder named gs:


def test_convert_refuses_a_url_output_folder(mtat_root):
    for url in ("s3://bucket/out", "hdfs://namenode/out"):
        with pytest.raises(DatasetError, match="is a URL"):
            convert(mtat.plan(str(mtat_root)), url, SETTINGS, num_shards=2, workers=1, show_progress=False)


def test_runner_without_apache_beam_names_the_extra(mtat_root, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # makes `import apache_beam` fail

    code = cli.main(["mtat", "--root", str(mtat_root), "--out", str(tmp_path / "o"), "--runner", "DirectRunner"])

    assert code == 2
    assert "pip install keras_samplecnn[beam]" in caplog.text
    assert not (tmp_path / "o").exists()


def test_direct_runner_options_default_to_the_workers_unless_given(beam):
    options = beam_pipeline.pipeline_options("DirectRunner", [], workers=3).get_all_options()
    assert (options["runner"], options["direct_num_workers"], options["direct_running_mode"]) == (
        "FnApiRunner",
        3,
        "multi_processing",
    )
    given = beam_pipeline.pipeline_options(
        "DirectRunner", ["--direct_num_workers", "5", "--direct_running_mode=in_memory"], workers=3
    ).get_all_options()
    assert (given["direct_num_workers"], given["direct_running_mode"]) == (5, "in_memory")
    other = beam_pipeline.pipeline_options("DataflowRunner", ["--project=P", "--region=R"]).get_all_options()
    assert (other["runner"], other["project"], other["region"]) == ("DataflowRunner", "P", "R")


def test_a_runner_beam_cannot_start_is_a_usage_error(beam, mtat_root, tmp_path, caplog):
    out = tmp_path / "o"

    code = cli.main(["mtat", "--root", str(mtat_root), "--out", str(out), "--runner", "NoSuchRunner"])

    assert code == 2
    assert "cannot start Beam's NoSuchRunner" in caplog.text
    assert not (out / "manifest.json").exists() and not _shard_names(out)
    assert not [name for name in os.listdir(out) if name.startswith(writer.TMP_PREFIX)]
