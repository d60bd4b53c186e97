"""Tests for tfrecords_tools.writer: records, manifest, resuming, verification, bad clips."""

import csv
import json
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.audio import load_audio, to_int16
from keras_samplecnn.data import schema
from tfrecords_tools import writer
from tfrecords_tools.errors import DatasetError, ShardWriteError
from tfrecords_tools.synthetic import tone
from tfrecords_tools.writer import ClipJob, DatasetPlan, Settings, convert, verify
from tests.hostile_audio import wav_bytes, write_flac_declaring, write_mp3_declaring

SETTINGS = Settings(sample_rate=16000, segment_length=2048)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPLIT_CYCLE = ("train", "train", "valid", "test")


def _toy_plan(tmp_path, num_clips=12, seconds=0.3, extra=()):
    """Clips c00, c01, ... as 16 kHz wav files (c03 at 22050 Hz stereo, c05 as mp3)."""
    source = tmp_path / "src"
    jobs = []
    for i in range(num_clips):
        rate, channels, ext = (22050, 2, "wav") if i == 3 else (16000, 1, "wav")
        if i == 5:
            ext = "mp3"
        path = f"clips/c{i:02d}.{ext}"
        (source / "clips").mkdir(parents=True, exist_ok=True)
        sf.write(source / path, tone(200 + 25 * i, seconds, rate, channels), rate)
        jobs.append(
            ClipJob(
                source=str(source / path),
                path=path,
                clip_id=f"c{i:02d}",
                labels=(float(i % 2), float(i % 3 == 0)),
                split=SPLIT_CYCLE[i % 4],
            )
        )
    for path, split in extra:
        jobs.append(
            ClipJob(source=str(source / path), path=path, clip_id=path, labels=(1.0, 0.0), split=split)
        )
    return DatasetPlan(dataset="toy", task="multi_label", tags=["a", "b"], source=str(source), jobs=jobs)


def _shards(out):
    return {
        name: (out / name).read_bytes()
        for name in sorted(os.listdir(out))
        if name.endswith(".tfrecord") and not name.startswith(".")
    }


def _records(out):
    """Every record of every shard, as (shard, example dict)."""
    return [(name, example) for name in _shards(out) for example in writer.read_examples(out / name)]


def _rejected(out):
    with open(out / schema.REJECTED, newline="") as handle:
        return list(csv.DictReader(handle))


def test_records_hold_whole_clips_and_manifest_describes_them(tmp_path):
    plan = _toy_plan(tmp_path)
    out = tmp_path / "out"

    manifest = convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    records = _records(out)
    assert sorted(example["clip_id"] for _, example in records) == [f"c{i:02d}" for i in range(12)]
    by_id = {job.clip_id: job for job in plan.jobs}
    for _, example in records:
        job = by_id[example["clip_id"]]
        expected = to_int16(load_audio(job.source, 16000))
        np.testing.assert_array_equal(example["audio"], expected)
        assert example["num_samples"] == len(expected) == 4800
        assert example["sample_rate"] == 16000
        np.testing.assert_array_equal(example["labels"], job.labels)
        assert example["path"] == job.path
    assert set(_shards(out)) == {
        schema.shard_name(s, i, 2) for s in ("train", "valid", "test") for i in range(2)
    }
    with open(out / schema.MANIFEST) as handle:
        assert json.load(handle) == manifest
    assert {
        key: manifest[key]
        for key in ("dataset", "task", "tags", "sample_rate", "segment_length", "rejected", "source")
    } == {
        "dataset": "toy",
        "task": "multi_label",
        "tags": ["a", "b"],
        "sample_rate": 16000,
        "segment_length": 2048,
        "rejected": 0,
        "source": str(tmp_path / "src"),
    }
    assert manifest["tool_version"] and "created" not in manifest  # the time is in conversion.json
    conversion = json.loads((out / writer.CONVERSION).read_text())
    assert conversion["runner"] == "local" and conversion["started"] <= conversion["finished"]
    assert {split: info["clips"] for split, info in manifest["splits"].items()} == {
        "train": 6,
        "valid": 3,
        "test": 3,
    }
    assert manifest["splits"]["train"]["segments"] == 6 * (4800 // 2048)
    for info in manifest["splits"].values():
        for shard in info["shards"]:
            assert shard["sha256"] == writer.sha256_file(out / shard["file"])
            assert shard["records"] == writer.count_records(out / shard["file"])
    assert _rejected(out) == []


def test_clips_are_dealt_round_robin_from_the_sorted_list(tmp_path):
    plan = _toy_plan(tmp_path)
    plan.jobs.reverse()  # The input order must not matter.
    out = tmp_path / "out"

    convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    train_ids = ["c00", "c01", "c04", "c05", "c08", "c09"]
    ids = {name: [e["clip_id"] for e in writer.read_examples(out / name)] for name in _shards(out)}
    assert ids["train-00000-of-00002.tfrecord"] == train_ids[0::2]
    assert ids["train-00001-of-00002.tfrecord"] == train_ids[1::2]


def test_shard_size_sets_the_shard_count(tmp_path):
    manifest = convert(
        _toy_plan(tmp_path), tmp_path / "out", SETTINGS, shard_size=4, workers=1, show_progress=False
    )

    assert [len(info["shards"]) for info in manifest["splits"].values()] == [2, 1, 1]


def test_tensorflow_reads_the_shards(tmp_path):
    import tensorflow as tf

    out = tmp_path / "out"
    convert(_toy_plan(tmp_path), out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    files = sorted(str(out / name) for name in _shards(out))
    batch = next(iter(tf.data.TFRecordDataset(files).batch(100)))
    parsed = tf.io.parse_example(batch, schema.feature_spec(2))
    assert parsed[schema.LABELS].shape == (12, 2)
    assert set(parsed[schema.NUM_SAMPLES].numpy()) == {4800}


def test_resume_skips_finished_shards_and_rewrites_missing_ones(tmp_path):
    plan = _toy_plan(tmp_path)
    reference, out = tmp_path / "reference", tmp_path / "out"
    convert(plan, reference, SETTINGS, num_shards=2, workers=1, show_progress=False)
    convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)
    # An interrupted run: one shard never renamed into place, one half-written.
    missing = "train-00001-of-00002.tfrecord"
    os.remove(out / missing)
    (out / (writer.TMP_PREFIX + missing)).write_bytes(b"half a shard")
    damaged = "valid-00000-of-00002.tfrecord"
    (out / damaged).write_bytes((out / damaged).read_bytes()[:100])
    untouched = out / "test-00000-of-00002.tfrecord"
    inode_before = untouched.stat().st_ino, untouched.stat().st_mtime_ns

    convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    assert _shards(out) == _shards(reference)
    assert (untouched.stat().st_ino, untouched.stat().st_mtime_ns) == inode_before
    assert not [name for name in os.listdir(out) if name.startswith(writer.TMP_PREFIX)]
    ids = [example["clip_id"] for _, example in _records(out)]
    assert sorted(ids) == sorted(set(ids)) == [f"c{i:02d}" for i in range(12)]
    assert verify(out).ok


def test_crash_mid_conversion_then_resume_gives_the_same_records(tmp_path, monkeypatch):
    plan = _toy_plan(tmp_path)
    reference, out = tmp_path / "reference", tmp_path / "out"
    convert(plan, reference, SETTINGS, num_shards=2, workers=1, show_progress=False)

    def crash_on_c06(path, sample_rate):
        if str(path).endswith("c06.wav"):
            # An I/O error fails the shard (a rerun retries it); a bad file would only be rejected.
            raise OSError(5, "Input/output error (simulated)")
        return load_audio(path, sample_rate)

    monkeypatch.setattr(writer, "load_audio", crash_on_c06)
    with pytest.raises(ShardWriteError, match="rerun the same command to resume"):
        convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)
    assert not (out / schema.MANIFEST).exists()
    assert (out / (writer.TMP_PREFIX + "valid-00001-of-00002.tfrecord")).exists()
    assert len(_shards(out)) == 5  # Every other shard finished.

    monkeypatch.setattr(writer, "load_audio", load_audio)
    manifest = convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    assert _shards(out) == _shards(reference)
    ids = [example["clip_id"] for _, example in _records(out)]
    assert len(ids) == len(set(ids)) == 12
    assert sum(info["clips"] for info in manifest["splits"].values()) == 12


def test_verify_reports_corrupted_missing_and_unlisted_shards(tmp_path):
    out = tmp_path / "out"
    convert(_toy_plan(tmp_path), out, SETTINGS, num_shards=2, workers=1, show_progress=False)
    assert verify(out).ok and verify(out).shards_checked == 6

    corrupted = out / "train-00000-of-00002.tfrecord"
    data = bytearray(corrupted.read_bytes())
    data[100] ^= 0xFF  # Inside the first record's payload, not its length field.
    corrupted.write_bytes(bytes(data))
    os.remove(out / "test-00001-of-00002.tfrecord")
    (out / "train-00005-of-00009.tfrecord").write_bytes(b"")

    report = verify(out)

    assert not report.ok
    assert report.problems == [
        "train-00000-of-00002.tfrecord: corrupted (sha256 differs from the manifest)",
        "test-00001-of-00002.tfrecord: missing",
        "train-00005-of-00009.tfrecord: not listed in manifest.json",
    ]


def test_verify_without_manifest(tmp_path):
    with pytest.raises(DatasetError, match="not a finished conversion"):
        verify(tmp_path)


@pytest.mark.parametrize("short", ["pad", "skip"])
def test_short_clips_are_padded_or_skipped(tmp_path, caplog, short):
    plan = _toy_plan(tmp_path, num_clips=4, seconds=0.05)  # 800 samples < 2048
    long_source = tmp_path / "src" / "clips" / "long.wav"
    sf.write(long_source, tone(440, 0.5, 16000), 16000)
    plan.jobs.append(ClipJob(str(long_source), "clips/long.wav", "long", (1.0, 1.0), "train"))
    out = tmp_path / "out"
    settings = Settings(sample_rate=16000, segment_length=2048, short=short)

    with caplog.at_level(logging.INFO):
        manifest = convert(plan, out, settings, num_shards=1, workers=1, show_progress=False)

    examples = {e["clip_id"]: e for _, e in _records(out)}
    if short == "pad":
        assert set(examples) == {"c00", "c01", "c02", "c03", "long"}
        padded = examples["c00"]["audio"]
        assert len(padded) == examples["c00"]["num_samples"] == 2048
        assert np.any(padded[:800]) and not np.any(padded[800:])
        assert manifest["splits"]["train"]["segments"] == 2 + 8000 // 2048
        assert "zero-padded 4 clips" in caplog.text
        assert _rejected(out) == []
    else:
        assert set(examples) == {"long"}
        assert manifest["rejected"] == 4
        rows = _rejected(out)
        assert [row["path"] for row in rows] == [
            "clips/c00.wav",
            "clips/c01.wav",
            "clips/c02.wav",
            "clips/c03.wav",
        ]
        assert all("shorter than one segment (800 < 2048" in row["reason"] for row in rows)
        assert "skipped (--short skip)" in caplog.text
    assert examples["long"]["num_samples"] == 8000


def test_short_clips_are_tiled_to_the_minimum_length(tmp_path, caplog):
    plan = _toy_plan(tmp_path, num_clips=4, seconds=0.05)  # 800 samples
    long_source = tmp_path / "src" / "clips" / "long.wav"
    sf.write(long_source, tone(440, 0.5, 16000), 16000)  # 8000 samples: above the minimum, kept whole
    plan.jobs.append(ClipJob(str(long_source), "clips/long.wav", "long", (1.0, 1.0), "train"))
    out = tmp_path / "out"
    settings = Settings(sample_rate=16000, segment_length=1000, short="tile", min_length=3000)

    with caplog.at_level(logging.INFO):
        manifest = convert(plan, out, settings, num_shards=1, workers=1, show_progress=False)

    examples = {e["clip_id"]: e for _, e in _records(out)}
    original = to_int16(load_audio(plan.jobs[0].source, 16000))
    tiled = examples["c00"]["audio"]
    assert len(original) == 800 and len(tiled) == 3000
    # 800-sample clip repeated: copies at 0, 800, 1600, 2400 (the last cut at 600 samples).
    np.testing.assert_array_equal(tiled, np.concatenate([original] * 4)[:3000])
    assert examples["long"]["num_samples"] == 8000
    assert manifest["min_length"] == 3000 and manifest["short"] == "tile"
    assert manifest["splits"]["train"]["segments"] == 2 * (3000 // 1000) + 8000 // 1000  # c00, c01, long
    assert "tiled 4 clips shorter than 3000 samples" in caplog.text


def test_manifest_holds_each_splits_mean_and_std(tmp_path):
    plan = _toy_plan(tmp_path, num_clips=8)
    out = tmp_path / "out"
    manifest = convert(plan, out, Settings(sample_rate=16000, segment_length=1024), num_shards=2, workers=1,
                       show_progress=False)  # fmt: skip
    for split in ("train", "valid", "test"):
        stored = np.concatenate(
            [e["audio"] for shard in manifest["splits"][split]["shards"] for e in writer.read_examples(out / shard["file"])]
        ).astype(np.float64) / 32768  # the int16 PCM as the pipeline reads it
        assert manifest["splits"][split]["mean"] == pytest.approx(stored.mean(), abs=1e-9)
        assert manifest["splits"][split]["std"] == pytest.approx(stored.std(), rel=1e-6)
    # A resumed conversion reads the sums back from the shard records.
    again = convert(plan, out, Settings(sample_rate=16000, segment_length=1024), num_shards=2, workers=1,
                    show_progress=False)  # fmt: skip
    assert again["splits"] == manifest["splits"]


def test_bad_files_are_rejected_and_the_rest_converts(tmp_path, caplog):
    source = tmp_path / "src" / "clips"
    source.mkdir(parents=True)
    (source / "empty.mp3").write_bytes(b"")
    (source / "text.mp3").write_text("not audio at all\n" * 20)
    sf.write(source / "cut.mp3", tone(440, 3.0, 16000), 16000, format="MP3")
    (source / "cut.mp3").write_bytes((source / "cut.mp3").read_bytes()[:1500])
    extra = [
        ("clips/empty.mp3", "train"),
        ("clips/text.mp3", "valid"),
        ("clips/cut.mp3", "test"),
        ("clips/gone.wav", "train"),
    ]
    plan = _toy_plan(tmp_path, num_clips=4, extra=extra)
    out = tmp_path / "out"

    with caplog.at_level(logging.WARNING):
        manifest = convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)

    reasons = {row["path"]: row["reason"] for row in _rejected(out)}
    assert set(reasons) == {"clips/empty.mp3", "clips/text.mp3", "clips/cut.mp3", "clips/gone.wav"}
    assert reasons["clips/empty.mp3"] == "empty file (0 bytes)"
    assert reasons["clips/text.mp3"].startswith("not a recognised audio file")
    assert reasons["clips/cut.mp3"].startswith("truncated")
    assert reasons["clips/gone.wav"] == "file not found"
    assert manifest["rejected"] == 4
    assert sorted(e["clip_id"] for _, e in _records(out)) == ["c00", "c01", "c02", "c03"]
    assert "rejected clips/empty.mp3: empty file (0 bytes)" in caplog.text


def test_changed_configuration_rewrites_and_removes_stale_shards(tmp_path):
    plan = _toy_plan(tmp_path)
    out = tmp_path / "out"
    convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    convert(plan, out, SETTINGS, num_shards=3, workers=1, show_progress=False)

    assert not [name for name in _shards(out) if "-of-00002" in name]
    assert verify(out).ok
    before = {name: (out / name).stat().st_mtime_ns for name in _shards(out)}
    changed = Settings(sample_rate=8000, segment_length=2048)
    manifest = convert(plan, out, changed, num_shards=3, workers=1, show_progress=False)
    assert all((out / name).stat().st_mtime_ns != mtime for name, mtime in before.items())
    assert {e["num_samples"] for _, e in _records(out)} == {2400}
    assert manifest["sample_rate"] == 8000


def test_inconsistent_plans_are_refused(tmp_path):
    plan = _toy_plan(tmp_path, num_clips=2)
    plan.jobs.append(plan.jobs[0])
    with pytest.raises(DatasetError, match="listed twice"):
        convert(plan, tmp_path / "out", SETTINGS, workers=1, show_progress=False)

    plan = _toy_plan(tmp_path, num_clips=2)
    plan.tags = ["a", "b", "c"]
    with pytest.raises(DatasetError, match="2 labels but the plan has 3 tags"):
        convert(plan, tmp_path / "out", SETTINGS, workers=1, show_progress=False)


def test_iter_records_detects_a_truncated_file(tmp_path):
    out = tmp_path / "out"
    convert(_toy_plan(tmp_path), out, SETTINGS, num_shards=1, workers=1, show_progress=False)
    shard = out / "train-00000-of-00001.tfrecord"
    assert len(list(writer.iter_records(shard))) == writer.count_records(shard) == 6

    shard.write_bytes(shard.read_bytes()[:-10])

    with pytest.raises(ValueError, match="ends inside a record"):
        list(writer.iter_records(shard))
    with pytest.raises(ValueError, match="past the end"):
        writer.count_records(shard)


def test_rerun_picks_up_a_repaired_file(tmp_path):
    plan = _toy_plan(tmp_path, num_clips=4, extra=[("clips/fixed.wav", "train")])
    broken = tmp_path / "src" / "clips" / "fixed.wav"
    broken.write_bytes(b"")
    out = tmp_path / "out"
    convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)
    assert [row["path"] for row in _rejected(out)] == ["clips/fixed.wav"]

    sf.write(broken, tone(440, 0.3, 16000), 16000)  # e.g. downloaded again
    manifest = convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)

    assert _rejected(out) == [] and manifest["rejected"] == 0
    assert "clips/fixed.wav" in [example["path"] for _, example in _records(out)]


def test_hostile_files_are_rejected_and_their_shard_keeps_its_good_clips(tmp_path):
    clips = tmp_path / "src" / "clips"
    clips.mkdir(parents=True)
    (clips / "1hz.wav").write_bytes(wav_bytes(1))  # 2 KB: 16 million samples at 16 kHz
    (clips / "2e31hz.wav").write_bytes(wav_bytes(2**31 - 1))  # would be a silent 0-sample clip
    write_flac_declaring(clips / "huge.flac", 2**36 - 1)  # soundfile would allocate 256 GiB
    write_flac_declaring(clips / "stream.flac", 0)  # "length unknown"
    write_mp3_declaring(clips / "xing.mp3", 2**31 - 1)
    hostile = ["clips/1hz.wav", "clips/2e31hz.wav", "clips/huge.flac", "clips/stream.flac", "clips/xing.mp3"]
    plan = _toy_plan(tmp_path, num_clips=6, extra=[(path, "train") for path in hostile])
    out = tmp_path / "out"

    # One shard per split: the hostile files share the train shard with c00, c01, c04 and c05.
    manifest = convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)

    reasons = {row["path"]: row["reason"] for row in _rejected(out)}
    assert sorted(reasons) == sorted(hostile)
    assert "sample rate 1 Hz" in reasons["clips/1hz.wav"]
    assert "sample rate 2147483647 Hz" in reasons["clips/2e31hz.wav"]
    assert "declares 68719476735 frames" in reasons["clips/huge.flac"]
    assert "unknown length" in reasons["clips/stream.flac"]
    stored = {example["clip_id"]: example for _, example in _records(out)}
    assert sorted(stored) == [f"c{i:02d}" for i in range(6)]
    for example in stored.values():
        expected = to_int16(load_audio(tmp_path / "src" / example["path"], 16000))
        np.testing.assert_array_equal(example["audio"], expected)
    assert manifest["rejected"] == len(hostile)


def test_an_unexpected_error_rejects_its_clip_not_its_shard(tmp_path, monkeypatch, caplog):
    plan = _toy_plan(tmp_path, num_clips=8)
    out = tmp_path / "out"

    def fails_on_two(path, sample_rate):
        name = os.path.basename(path)
        if name == "c00.wav":
            raise MemoryError("Unable to allocate 4.00 GiB for an array")
        if name == "c04.wav":
            raise RuntimeError("a library bug")
        return load_audio(path, sample_rate)

    monkeypatch.setattr(writer, "load_audio", fails_on_two)
    with caplog.at_level(logging.WARNING):
        manifest = convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)

    reasons = {row["path"]: row["reason"] for row in _rejected(out)}
    assert reasons == {
        "clips/c00.wav": "out of memory while converting "
        "(MemoryError: Unable to allocate 4.00 GiB for an array)",
        "clips/c04.wav": "unexpected error while converting (RuntimeError: a library bug)",
    }
    assert sorted(e["clip_id"] for _, e in _records(out)) == ["c01", "c02", "c03", "c05", "c06", "c07"]
    assert manifest["rejected"] == 2
    assert "a library bug" in caplog.text and "Traceback" in caplog.text  # a bug stays visible
    # The split statistics count only the stored clips.
    train = [e["audio"] for _, e in _records(out) if e["clip_id"] in ("c01", "c05")]
    samples = np.concatenate(train).astype(np.float64) / 32768.0
    assert manifest["splits"]["train"]["mean"] == pytest.approx(samples.mean(), abs=1e-12)


# `python -m tfrecords_tools`, slower by 0.5 s a clip so that a shard takes seconds. Spawned
# workers run this file again (as `__mp_main__`), so the patch reaches them too.
_SLOW_CONVERTER = """
import sys
import time

from tfrecords_tools import writer

_load_audio = writer.load_audio


def _slow_load_audio(*args, **kwargs):
    time.sleep(0.5)
    return _load_audio(*args, **kwargs)


writer.load_audio = _slow_load_audio

if __name__ == "__main__":
    from tfrecords_tools.cli import main

    sys.exit(main())
"""


def _children(pid):
    """`{child pid: command line}` of the live (not zombie) children of `pid`, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # exited meanwhile
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            children[int(entry)] = command
    return children


def _alive(pid):
    """True while `pid` runs; a zombie (exited, waiting for a reaper that may never come) is not."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
def test_killed_converter_takes_its_workers_along_and_a_rerun_resumes(tmp_path):
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    rows = ["path,tags,split"]
    for i in range(24):
        sf.write(audio_dir / f"c{i:02d}.wav", tone(200 + 20 * i, 0.2, 16000), 16000)
        rows.append(f"c{i:02d}.wav,{'a' if i % 2 else 'b'},train")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    script = tmp_path / "slow_converter.py"
    script.write_text(_SLOW_CONVERTER)
    arguments = ["folder", "--audio-dir", str(audio_dir), "--labels", str(tmp_path / "labels.csv"),
                 "--out", str(out), "--sample-rate", "16000", "--segment-length", "2048",
                 "--num-shards", "2", "--workers", "2", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    log_file = open(tmp_path / "converter.log", "w")
    converter = subprocess.Popen(
        [sys.executable, str(script), *arguments], cwd=REPO, env=env, stdout=log_file, stderr=log_file
    )
    children = {}
    try:
        # Both workers are writing their shard (12 clips, 6 s each) once both temp files exist.
        temp_files = [out / f"{writer.TMP_PREFIX}train-0000{i}-of-00002.tfrecord" for i in range(2)]
        started = _wait_for(lambda: all(path.exists() for path in temp_files), timeout=120)
        children = _children(converter.pid)
        assert started and converter.poll() is None, (tmp_path / "converter.log").read_text()[-3000:]
        workers = [pid for pid, command in children.items() if "spawn_main" in command]
        trackers = [pid for pid, command in children.items() if "resource_tracker" in command]
        assert len(workers) == 2 and len(trackers) == 1, children

        converter.kill()  # SIGKILL: no handler, no cleanup in the converter itself
        converter.wait(timeout=10)

        # Without a death signal each worker would run on until its shard ends (seconds more),
        # holding the resource tracker's pipe open.
        gone = _wait_for(lambda: not any(_alive(pid) for pid in children), timeout=3)
        assert gone, {pid: command for pid, command in children.items() if _alive(pid)}
    finally:
        for pid in [converter.pid, *children]:  # only the processes this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        converter.wait(timeout=10)
        log_file.close()
    assert not (out / schema.MANIFEST).exists()

    rerun = subprocess.run(
        [sys.executable, "-m", "tfrecords_tools", *arguments],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert writer.verify(out).ok and (out / schema.MANIFEST).exists()
    assert not [name for name in os.listdir(out) if name.startswith(writer.TMP_PREFIX)]
    stored = {}
    for _, example in _records(out):
        assert example["clip_id"] not in stored
        stored[example["clip_id"]] = example["audio"]
    assert sorted(stored) == [f"c{i:02d}" for i in range(24)]
    for clip_id, pcm in stored.items():
        np.testing.assert_array_equal(pcm, to_int16(load_audio(audio_dir / f"{clip_id}.wav", 16000)))
