"""Tests for tfrecords_tools.writer: records, manifest, resuming, verification, bad clips."""

import csv
import json
import logging
import os

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.audio import load_audio, to_int16
from keras_samplecnn.data import schema
from tfrecords_tools import writer
from tfrecords_tools.errors import DatasetError, ShardWriteError
from tfrecords_tools.synthetic import tone
from tfrecords_tools.writer import ClipJob, DatasetPlan, Settings, convert, verify

SETTINGS = Settings(sample_rate=16000, segment_length=2048)
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
            raise RuntimeError("simulated crash")
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
