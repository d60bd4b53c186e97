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
        ([], "one of the arguments --labels --msd-tracks --split-list is required"),
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


# --- The authors' split list (jiyoungpark527/msd-artist-split @ 818fbc3 `msd-artist-list.pkl`):
# a pickled list of `7Digital_id/artist_index/song_index` strings, 20 songs per artist, read by
# their load_data_label.py: songs 1-15 train, 16-18 valid, 19-20 test, `file_list[:num_artist*20]`.


def _seven_digital(artist, song):
    return str(3_000_000 + 100 * artist + song)


def _expected_split(song):
    return "train" if song <= 15 else "valid" if song <= 18 else "test"


def _split_list(root, artists_count=4, missing=(), audio=False, fmt="pickle", protocol=2, shuffle=True):
    """Audio named by 7digital id (7digital's `d/d/ID.clip.mp3` tree, flat `ID.mp3`, `x/ID.wav`)
    and the list in their format; returns (audio folder, list path, {id: (artist, song)})."""
    import pickle
    import random

    entries, truth = [], {}
    for artist in range(1, artists_count + 1):
        for song in range(1, 21):
            seven_digital = _seven_digital(artist, song)
            entries.append(f"{seven_digital}/{artist}/{song}")
            truth[seven_digital] = (artist, song)
            if seven_digital in missing:
                continue
            path = [f"{seven_digital[0]}/{seven_digital[1]}/{seven_digital}.clip.mp3", f"{seven_digital}.mp3",
                    f"x/{seven_digital}.wav"][song % 3]  # fmt: skip
            file = root / "audio" / path
            file.parent.mkdir(parents=True, exist_ok=True)
            if audio:
                rate = 16000 if file.suffix == ".mp3" else 8000
                synthetic.write_audio(file, synthetic.tone(200.0 + 20 * song, 0.2, rate), rate)
            else:
                file.write_bytes(b"")
    if shuffle:  # within each artist only: the prefix of 20·N entries stays N artists
        blocks = [entries[i : i + 20] for i in range(0, len(entries), 20)]
        for block in blocks:
            random.Random(len(block)).shuffle(block)
        entries = [entry for block in blocks for entry in block]
    (root / "audio").mkdir(exist_ok=True)
    if fmt == "pickle":
        path = root / "msd-artist-list.pkl"
        path.write_bytes(pickle.dumps(entries, protocol=protocol))
    else:
        path = root / "msd-artist-list.txt"
        path.write_text("\n".join(entries) + "\n")
    return root / "audio", path, truth


@pytest.mark.parametrize(("fmt", "protocol"), [("pickle", 0), ("pickle", 2), ("pickle", 4), ("text", None)])
def test_split_list_gives_the_lists_assignment(tmp_path, caplog, fmt, protocol):
    gone = {_seven_digital(2, 16), _seven_digital(3, 1)}
    audio, split_list, truth = _split_list(tmp_path, missing=gone, fmt=fmt, protocol=protocol)
    (audio / "999.mp3").write_bytes(b"")  # not listed: warned, ignored
    plan = artists.plan_split_list(audio, split_list)
    assert plan.tags == ["1", "2", "3", "4"] and plan.task == "single_label"
    assert len(plan.jobs) == 80 - 2
    for job in plan.jobs:
        artist, song = truth[job.clip_id]
        assert job.split == _expected_split(song)
        assert job.labels.index(1.0) == artist - 1  # their int(artist) - 1
        assert job.path.split("/")[-1].split(".")[0] == job.clip_id
    assert any(job.path.endswith(".clip.mp3") for job in plan.jobs)
    reasons = {r.path: r.reason for r in plan.rejected}
    assert set(reasons) == gone
    assert reasons[_seven_digital(2, 16)].startswith("no audio file named by the 7digital id (")
    assert f"2 of 80 tracks in {split_list.name} have no audio under {audio}" in caplog.text
    assert "1 audio files under" in caplog.text
    counts = collections.Counter((job.labels.index(1.0), job.split) for job in plan.jobs)
    assert counts[(1, "valid")] == 2 and counts[(2, "train")] == 14 and counts[(0, "test")] == 2
    # No draw: the seeded CSV layout of the same files gives 15/3/2 too, but another assignment.
    rows = ["path,artist,track_id"] + [f"{job.path},{plan.tags[job.labels.index(1.0)]},{job.clip_id}"
                                       for job in plan.jobs]  # fmt: skip
    (tmp_path / "artists.csv").write_text("\n".join(rows) + "\n")
    drawn = artists.plan(audio, tmp_path / "artists.csv", tracks_per_artist=(10, 3, 2))
    assert {j.clip_id: j.split for j in drawn.jobs} != {j.clip_id: j.split for j in plan.jobs}


def test_split_list_num_artists_is_their_prefix_and_sizes_are_their_bounds(tmp_path):
    audio, split_list, truth = _split_list(tmp_path)
    plan = artists.plan_split_list(audio, split_list, num_artists=2)
    assert plan.tags == ["1", "2"] and len(plan.jobs) == 40
    assert {truth[job.clip_id][0] for job in plan.jobs} == {1, 2}
    # --tracks-per-artist 10,3,2: songs 1-10 train, 11-13 valid, 14-15 test, 16-20 left out.
    small = artists.plan_split_list(audio, split_list, tracks_per_artist=(10, 3, 2))
    assert collections.Counter(job.split for job in small.jobs) == {"train": 40, "valid": 12, "test": 8}
    assert all(
        job.split == ("train" if s <= 10 else "valid" if s <= 13 else "test")
        for job in small.jobs
        for s in [truth[job.clip_id][1]]
    )
    assert sum("song index" in r.reason and "outside 1..15" in r.reason for r in small.rejected) == 20
    with pytest.raises(DatasetError, match=r"--num-artists 5: .* has 80 entries, fewer than the 100"):
        artists.plan_split_list(audio, split_list, num_artists=5)


@pytest.mark.parametrize(
    ("line", "message"),
    [("3000101/1", r"msd-artist-list.txt, line 81: 2 '/'-separated fields in '3000101/1', expected 3"),
     ("3000101/1/2/3", "line 81: 4 '/'-separated fields"),
     ("/1/2", "line 81: empty 7digital id"),
     ("123/one/2", "line 81: artist index 'one' and song index '2' must be integers"),
     ("123/1/x", "line 81: artist index '1' and song index 'x' must be integers"),
     (f"{_seven_digital(1, 3)}/9/1", r"line 81: 7digital id '3000103' already at line \d+ of msd-artist-list.txt"),
     ("123/4/20", r"line 81: artist 4, song 20 already at line \d+")],
)  # fmt: skip
def test_bad_split_list_lines_are_clear_errors(tmp_path, line, message):
    audio, split_list, _ = _split_list(tmp_path, fmt="text", shuffle=False)
    with open(split_list, "a") as handle:
        handle.write(line + "\n")
    with pytest.raises(DatasetError, match=message):
        artists.plan_split_list(audio, split_list)


def test_bad_split_list_pickles_are_clear_errors(tmp_path):
    import pickle

    audio, split_list, _ = _split_list(tmp_path)
    cases = {
        "dict": (pickle.dumps({"a": 1}), "expected a pickled list of '7Digital_id/artist_index/song_index'"),
        "int": (pickle.dumps(["1/1/1", 7]), r"msd-artist-list.pkl, item 1: expected a '7Digital_id/.*' string, "
                                            "found int 7"),
        "fields": (pickle.dumps(["1/1/1", "2/1"]), r"msd-artist-list.pkl, item 1: 2 '/'-separated fields"),
        "code": (b"cos\nsystem\n(S'echo hacked'\ntR.", "refers to os.system"),
        "empty": (pickle.dumps([]), "no entries"),
    }  # fmt: skip
    for content, message in cases.values():
        split_list.write_bytes(content)
        with pytest.raises(DatasetError, match=message):
            artists.plan_split_list(audio, split_list)
    with pytest.raises(DatasetError, match="artist split list not found"):
        artists.plan_split_list(audio, tmp_path / "nothing.pkl")


def test_split_list_ids_that_are_not_file_names_are_rejected_not_looked_up(tmp_path):
    audio, split_list, _ = _split_list(tmp_path, fmt="text", shuffle=False)
    with open(split_list, "a") as handle:
        handle.write("..\\secret/5/1\nC:x/5/2\n../5/3\n./5/4\n")
    plan = artists.plan_split_list(audio, split_list)
    reasons = {r.path: r.reason for r in plan.rejected}
    assert set(reasons) == {"..\\secret", "C:x", "..", "."}
    assert reasons[".."] == "not a plain file name, not looked up (line 83 of msd-artist-list.txt)"
    assert len(plan.jobs) == 80 and plan.tags == ["1", "2", "3", "4", "5"]  # artist 5: a class, no track


def test_split_list_cli_end_to_end(tmp_path):
    gone = {_seven_digital(1, 19)}
    audio, split_list, truth = _split_list(tmp_path, artists_count=3, missing=gone, audio=True)
    out = tmp_path / "out"
    code = cli.main(["artists", "--audio-dir", str(audio), "--split-list", str(split_list), "--out", str(out),
                     "--num-artists", "2", "--sample-rate", "8000", "--segment-length", "800", "--workers", "1",
                     "--no-progress"])  # fmt: skip
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tags"] == ["1", "2"] and manifest["task"] == "single_label"
    assert {s: manifest["splits"][s]["clips"] for s in ("train", "valid", "test")} == {
        "train": 30,
        "valid": 6,
        "test": 3,
    }
    with open(out / "clips.csv", newline="") as f:
        clips = list(csv.DictReader(f))
    assert all(row["split"] == _expected_split(truth[row["clip_id"]][1]) for row in clips)
    assert {truth[row["clip_id"]][0] for row in clips} == {1, 2}
    with open(out / "rejected.csv", newline="") as f:
        reasons = {row["path"]: row["reason"] for row in csv.DictReader(f)}
    assert reasons == {_seven_digital(1, 19): reasons[_seven_digital(1, 19)]}
    assert "no audio file named by the 7digital id" in reasons[_seven_digital(1, 19)]
