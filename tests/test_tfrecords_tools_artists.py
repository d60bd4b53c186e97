"""tfrecords_tools artists: the ISMIR 2018 per-artist split (15 / 3 / 2 of 20 tracks), reporting, bad input, CLI."""

import collections
import csv
import json
import subprocess
import sys

import pytest

from tfrecords_tools import artists, cli, synthetic
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


# --- The Million Song Dataset layout: audio named by track id, artists from unique_tracks.txt.


def _track_id(artist, number):
    return f"TR{artist[0]}{'XYZ'[number % 3]}{number:02d}128F932D{len(artist)}{number:02d}"


def _msd_path(track_id, number):
    """Every third track in MSD's A/B/C tree, flat, or as a 7digital-style `.clip.mp3`."""
    if number % 3 == 0:
        return f"{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}.wav"
    return f"{track_id}.flac" if number % 3 == 1 else f"{track_id}.clip.mp3"


def _msd(root, tracks=TRACKS, audio=False, missing=(), extra_lines=()):
    """An MSD-style audio folder and unique_tracks.txt; returns (audio folder, list, {track id: path})."""
    lines, paths = [], {}
    for artist, count in tracks.items():
        for number in range(count):
            track_id = _track_id(artist, number)
            title = "" if number == 1 else f"Song {number}"  # titles may be empty
            lines.append(f"{track_id}<SEP>SO{track_id[2:]}<SEP>{artist}<SEP>{title}")
            if track_id in missing:
                continue
            paths[track_id] = _msd_path(track_id, number)
            file = root / "msd" / paths[track_id]
            file.parent.mkdir(parents=True, exist_ok=True)
            if audio:
                sample_rate = 16000 if file.suffix == ".mp3" else 8000
                synthetic.write_audio(
                    file, synthetic.tone(200.0 + 20 * number, 0.2, sample_rate), sample_rate
                )
            else:
                file.write_bytes(b"")
    unique_tracks = root / "unique_tracks.txt"
    unique_tracks.write_text("\n".join([*lines, *extra_lines]) + "\n")
    return root / "msd", unique_tracks, paths


def _jobs(plan):
    return sorted((job.clip_id, job.path, job.split, plan.tags[job.labels.index(1.0)]) for job in plan.jobs)


def test_msd_tree_flat_and_clip_names_give_the_plan_of_the_same_csv(tmp_path, caplog):
    audio, unique_tracks, paths = _msd(tmp_path)
    (audio / "A" / "B").mkdir(parents=True)
    (audio / "A" / "B" / "TRNOTLISTED.mp3").write_bytes(b"")  # not in unique_tracks.txt: warned
    (audio / "cover.jpg").write_bytes(b"")  # not audio: ignored
    plan = artists.plan_msd(audio, unique_tracks, seed=2)
    assert plan.tags == ["Ada", "Bea", "Cyd"] and plan.task == "single_label"
    found = {job.path for job in plan.jobs}
    assert any(p.count("/") == 3 for p in found) and any(p.endswith(".clip.mp3") for p in found)
    assert any(p.endswith(".flac") and "/" not in p for p in found)
    assert all(job.clip_id == job.path.split("/")[-1].split(".")[0] for job in plan.jobs)
    assert "1 audio files under" in caplog.text and "no audio under" not in caplog.text
    # The same files through the CSV layout: the same clip ids, splits and labels.
    rows = ["path,artist,track_id"] + [
        f"{paths[_track_id(a, n)]},{a},{_track_id(a, n)}" for a, count in TRACKS.items() for n in range(count)
    ]
    (tmp_path / "artists.csv").write_text("\n".join(rows) + "\n")
    from_csv = artists.plan(audio, tmp_path / "artists.csv", seed=2)
    assert _jobs(plan) == _jobs(from_csv) and len(plan.jobs) == 60
    assert sorted(plan.rejected) == sorted(from_csv.rejected)  # Dee's 5, Ada's 2 surplus
    assert _jobs(artists.plan_msd(audio, unique_tracks, seed=3)) != _jobs(plan)


def test_msd_tracks_without_audio_are_counted_and_rejected(tmp_path, caplog):
    gone = {_track_id("Bea", 4), _track_id("Dee", 0)}
    audio, unique_tracks, _ = _msd(tmp_path, missing=gone)
    plan = artists.plan_msd(audio, unique_tracks, tracks_per_artist=(3, 1, 1))
    assert f"2 of 67 tracks in unique_tracks.txt have no audio under {audio}" in caplog.text
    reasons = {r.path: r.reason for r in plan.rejected}
    assert (
        reasons[_track_id("Bea", 4)] == "no audio file named by the track id (line 27 of unique_tracks.txt)"
    )
    assert _track_id("Dee", 0) in reasons
    assert plan.tags == ["Ada", "Bea", "Cyd"]  # Dee has 4 tracks with audio now, fewer than 5
    assert sum("Dee' has 4 tracks with audio, fewer than 5" in r for r in reasons.values()) == 4
    assert _track_id("Bea", 4) not in {job.clip_id for job in plan.jobs}


@pytest.mark.parametrize(
    ("line", "message"),
    [("TRBAD<SEP>SOBAD<SEP>Someone", r"unique_tracks.txt, line 69: 3 fields, expected 4"),
     ("TRBAD<SEP>SOBAD<SEP>A<SEP>B<SEP>C", "line 69: 5 fields"),
     ("TRBAD<SEP>SOBAD<SEP><SEP>Title", "line 69: empty track id or artist"),
     (f"{_track_id('Ada', 3)}<SEP>SOX<SEP>Ada<SEP>again", "line 69: track id .* already on line 4")],
)  # fmt: skip
def test_bad_msd_lines_are_clear_errors(tmp_path, line, message):
    # Line 68 is latin-1 (MSD's list mixes encodings): read with replacement, not an error.
    audio, unique_tracks, _ = _msd(tmp_path)
    with open(unique_tracks, "ab") as handle:
        handle.write("TRLATIN1<SEP>SOL<SEP>Beyonc\xe9<SEP>\n".encode("latin-1") + line.encode() + b"\n")
    with pytest.raises(DatasetError, match=message):
        artists.plan_msd(audio, unique_tracks)


def test_msd_track_id_with_two_audio_files_is_an_error(tmp_path):
    audio, unique_tracks, paths = _msd(tmp_path)
    track_id = _track_id("Bea", 3)
    (audio / f"{track_id}.mp3").write_bytes(b"")  # beside B/X/0/<id>.wav
    with pytest.raises(DatasetError, match=f"track id {track_id} .* 2 audio files") as info:
        artists.plan_msd(audio, unique_tracks)
    assert paths[track_id] in str(info.value) and f"{track_id}.mp3" in str(info.value)


def test_cli_needs_exactly_one_of_labels_and_msd_tracks(tmp_path, capsys):
    audio, unique_tracks, _ = _msd(tmp_path, {"Ada": 1})
    base = ["artists", "--audio-dir", str(audio), "--out", str(tmp_path / "out")]
    both = ["--labels", "a.csv", "--msd-tracks", str(unique_tracks)]
    for extra, message in [
        (both, "argument --msd-tracks: not allowed with argument --labels"),
        ([], "one of the arguments --labels --msd-tracks is required"),
    ]:
        with pytest.raises(SystemExit) as info:
            cli.main([*base, *extra])
        assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_msd_cli_end_to_end(tmp_path):
    audio, unique_tracks, paths = _msd(
        tmp_path, {"Ada": 5, "Bea": 6, "Cyd": 3}, audio=True, missing={_track_id("Bea", 2)}
    )
    out = tmp_path / "out"
    code = cli.main(["artists", "--audio-dir", str(audio), "--msd-tracks", str(unique_tracks), "--out",
                     str(out), "--tracks-per-artist", "3,1,1", "--sample-rate", "8000", "--segment-length",
                     "800", "--workers", "1", "--no-progress"])  # fmt: skip
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tags"] == ["Ada", "Bea"] and manifest["task"] == "single_label"
    assert {s: manifest["splits"][s]["clips"] for s in ("train", "valid", "test")} == {
        "train": 6,
        "valid": 2,
        "test": 2,
    }
    with open(out / "clips.csv", newline="") as f:
        clips = {row["clip_id"]: row["path"] for row in csv.DictReader(f)}
    assert {_track_id("Ada", n) for n in range(5)} < set(clips) and len(clips) == 10
    assert all(clips[track_id] == paths[track_id] for track_id in clips)
    assert any(path.endswith(".clip.mp3") for path in clips.values())
    with open(out / "rejected.csv", newline="") as f:
        reasons = {row["path"]: row["reason"] for row in csv.DictReader(f)}
    assert "no audio file named by the track id" in reasons[_track_id("Bea", 2)]
    assert sum("fewer than 5" in r for r in reasons.values()) == 3  # Cyd
