"""tfrecords_tools artists: the ISMIR 2018 per-artist split (15 / 3 / 2 of 20 tracks), reporting, bad input, CLI."""

import collections
import csv
import json
import subprocess
import sys

import pytest

from tfrecords_tools import artists, synthetic
from tfrecords_tools.errors import DatasetError

TRACKS = {"Ada": 22, "Bea": 20, "Cyd": 20, "Dee": 5}


def _folder(root, tracks=TRACKS, audio=False, missing=()):
    """An audio folder and artists.csv; files are empty unless `audio` (planning reads no audio)."""
    rows = ["path,artist,track_id,album"]
    for artist, count in tracks.items():
        for number in range(count):
            path = f"{artist.lower()}/{number:02d}.wav"
            rows.append(f"{path},{artist},TR{artist.upper()}{number:03d},first")
            if path in missing:
                continue
            file = root / "audio" / path
            file.parent.mkdir(parents=True, exist_ok=True)
            if audio:
                synthetic.write_audio(file, synthetic.tone(200.0 + 20 * number, 0.2, 8000), 8000)
            else:
                file.write_bytes(b"")
    labels = root / "artists.csv"
    labels.write_text("\n".join(rows) + "\n")
    return root / "audio", labels


def _by_split(plan):
    counts = collections.Counter()
    for job in plan.jobs:
        counts[(plan.tags[job.labels.index(1.0)], job.split)] += 1
    return counts


def test_split_takes_15_3_2_tracks_of_every_artist_with_20(tmp_path):
    audio, labels = _folder(tmp_path)
    plan = artists.plan(audio, labels, seed=0)
    assert plan.tags == ["Ada", "Bea", "Cyd"] and plan.task == "single_label"
    counts = _by_split(plan)
    for artist in plan.tags:
        assert (counts[(artist, "train")], counts[(artist, "valid")], counts[(artist, "test")]) == (15, 3, 2)
    reasons = {r.path: r.reason for r in plan.rejected}
    assert sum("fewer than 20" in reason for reason in reasons.values()) == 5  # Dee's 5 tracks
    assert sum("beyond the 20" in reason for reason in reasons.values()) == 2  # Ada's surplus
    assert {job.clip_id for job in plan.jobs if job.path.startswith("bea/")} == {
        f"TRBEA{n:03d}" for n in range(20)
    }
    # Reproducible from the seed; another seed draws other tracks.
    again = artists.plan(audio, labels, seed=0)
    assert [(j.path, j.split) for j in again.jobs] == [(j.path, j.split) for j in plan.jobs]
    other = artists.plan(audio, labels, seed=1)
    assert [(j.path, j.split) for j in other.jobs] != [(j.path, j.split) for j in plan.jobs]


def test_num_artists_and_other_counts(tmp_path):
    audio, labels = _folder(tmp_path)
    plan = artists.plan(audio, labels, num_artists=2, seed=3)
    assert len(plan.tags) == 2 and set(plan.tags) < {"Ada", "Bea", "Cyd"}
    assert sum("not among the 2 drawn" in r.reason for r in plan.rejected) >= 20
    small = artists.plan(audio, labels, tracks_per_artist=(3, 1, 1))
    assert small.tags == ["Ada", "Bea", "Cyd", "Dee"] and len(small.jobs) == 4 * 5
    with pytest.raises(DatasetError, match="only 3 artists"):
        artists.plan(audio, labels, num_artists=5)
    with pytest.raises(DatasetError, match="no artist has 30 tracks"):
        artists.plan(audio, labels, tracks_per_artist=(20, 5, 5))


def test_missing_files_count_against_the_artist(tmp_path):
    audio, labels = _folder(tmp_path, missing={"bea/00.wav"})
    plan = artists.plan(audio, labels)
    reasons = {r.path: r.reason for r in plan.rejected}
    assert "file not found (line" in reasons["bea/00.wav"]
    assert plan.tags == ["Ada", "Cyd"]  # Bea has 19 tracks with audio now
    assert "fewer than 20" in reasons["bea/01.wav"]


@pytest.mark.parametrize(
    ("content", "message"),
    [("path,singer\na.wav,x\n", "no 'artist' column"), ("file,artist\na.wav,x\n", "no 'path' column"),
     ("path,artist\na.wav\n", "line 2: 1 fields"), ("path,artist\na.wav,\n", "empty path or artist"),
     ("path,artist,track_id\na.wav,x,T1\nb.wav,y,T1\n", "track id 'T1' already on line 2")],
)  # fmt: skip
def test_bad_csvs_are_clear_errors(tmp_path, content, message):
    (tmp_path / "audio").mkdir()
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(DatasetError, match=message):
        artists.plan(tmp_path / "audio", tmp_path / "bad.csv")


def test_cli_end_to_end(tmp_path):
    audio, labels = _folder(tmp_path, {"Ada": 20, "Bea": 21, "Cyd": 4}, audio=True)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tfrecords_tools", "artists", "--audio-dir", str(audio), "--labels",
               str(labels), "--out", str(out), "--sample-rate", "8000", "--segment-length", "800", "--workers", "1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tags"] == ["Ada", "Bea"] and manifest["task"] == "single_label"
    assert {s: manifest["splits"][s]["clips"] for s in ("train", "valid", "test")} == {
        "train": 30,
        "valid": 6,
        "test": 4,
    }
    with open(out / "clips.csv", newline="") as f:
        ids = {row["clip_id"] for row in csv.DictReader(f)}
    assert "TRADA000" in ids and len(ids) == 40
    with open(out / "rejected.csv", newline="") as f:
        reasons = [row["reason"] for row in csv.DictReader(f)]
    assert sum("fewer than 20" in r for r in reasons) == 4 and sum("beyond the 20" in r for r in reasons) == 1
    bad = subprocess.run(
        [*command[:-2], "--tracks-per-artist", "15,3"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "three counts" in bad.stderr
