"""The embedded demo dataset: MTAT's exact layout and CSV dialect, decodable audio, tag
statistics and rules, determinism."""

import collections
import csv
import os
import re

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.datasets import demo_mtat, demo_tags, make_demo_mtat
from tfrecords_tools import mtat_layout
from tests import helpers

N_CLIPS = 20
SECONDS = 3.0
QUOTED = re.compile(r'^"[^"]*"$')
MP3_PATH = re.compile(r"^[0-9a-f]/[a-z0-9_]+-[a-z0-9_]+-\d{2}-[a-z0-9_]+-(\d+)-(\d+)\.mp3$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("demo_mtat"))
    clips = make_demo_mtat(folder, n_clips=N_CLIPS, clip_seconds=SECONDS, seed=3, workers=1, progress=False)
    return folder, clips


def read_lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read().split("\n")


def test_annotations_csv_is_mtat_dialect(demo):
    folder, clips = demo
    lines = read_lines(os.path.join(folder, "annotations_final.csv"))
    assert lines[-1] == "" and len(lines) == N_CLIPS + 2  # header, rows, final newline
    rows = [line.split("\t") for line in lines[:-1]]
    assert all(len(row) == 190 for row in rows)
    assert all(QUOTED.match(field) for row in rows for field in row)
    header = [field.strip('"') for field in rows[0]]
    assert header[0] == "clip_id" and header[-1] == "mp3_path"
    tags = header[1:-1]
    assert len(tags) == 188 == len(set(tags)) and set(demo_tags()) <= set(tags)
    assert tags[:5] == ["no voice", "singer", "duet", "plucking", "hard rock"]
    for row, clip in zip(rows[1:], clips):
        values = [field.strip('"') for field in row]
        assert values[0] == str(clip.clip_id) and values[-1] == clip.mp3_path
        assert set(values[1:-1]) <= {"0", "1"}
        assert {t for t, v in zip(tags, values[1:-1]) if v == "1"} == set(clip.track.tags)
    # The csv module reads it the way converters do.
    with open(os.path.join(folder, "annotations_final.csv"), newline="") as f:
        parsed = list(csv.reader(f, delimiter="\t"))
    assert parsed[0][0] == "clip_id" and len(parsed) == N_CLIPS + 1


def test_clip_info_csv(demo):
    folder, clips = demo
    lines = read_lines(os.path.join(folder, "clip_info_final.csv"))[:-1]
    rows = [[field.strip('"') for field in line.split("\t")] for line in lines]
    assert all(QUOTED.match(f) for line in lines for f in line.split("\t"))
    assert rows[0] == list(mtat_layout.CLIP_INFO_COLUMNS)
    for row, clip in zip(rows[1:], clips):
        info = dict(zip(rows[0], row))
        assert info["clip_id"] == str(clip.clip_id) and info["mp3_path"] == clip.mp3_path
        start, end = MP3_PATH.match(clip.mp3_path).groups()
        assert (info["segmentStart"], info["segmentEnd"]) == (start, end)
        assert mtat_layout.slug(info["artist"]) in clip.mp3_path and info["url"].startswith("http://")


def test_layout_names_and_audio(demo):
    folder, clips = demo
    assert sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))) == list(
        "0123456789abcdef"
    )
    by_track = collections.defaultdict(list)
    for clip in clips:
        match = MP3_PATH.match(clip.mp3_path)
        assert match, clip.mp3_path
        assert (int(match.group(1)), int(match.group(2))) == mtat_layout.segment_bounds(clip.index)
        by_track[id(clip.track)].append(clip)
        audio, rate = sf.read(os.path.join(folder, clip.mp3_path), dtype="float32")
        assert rate == 16000 and audio.ndim == 1 and len(audio) == round(SECONDS * 16000)
        assert 1e-4 < np.sqrt(np.mean(audio**2)) and np.abs(audio).max() <= 1.0
    for track_clips in by_track.values():  # consecutive segments of a track, in one folder
        assert [c.index for c in track_clips] == list(range(len(track_clips)))
        assert len({c.mp3_path[0] for c in track_clips}) == 1
    assert sorted(
        os.path.join(f, n) for f in "0123456789abcdef" for n in os.listdir(os.path.join(folder, f))
    ) == sorted(c.mp3_path for c in clips)


def test_same_arguments_give_the_same_bytes(demo, tmp_path):
    folder, _ = demo
    again = str(tmp_path / "again")
    make_demo_mtat(again, n_clips=N_CLIPS, clip_seconds=SECONDS, seed=3, workers=2, progress=False)
    assert helpers.folder_digest(again) == helpers.folder_digest(folder)
    other = demo_mtat.demo_plan(N_CLIPS, seed=4)
    assert [c.mp3_path for c in other] != [c.mp3_path for c in demo_mtat.demo_plan(N_CLIPS, seed=3)]


def test_plan_statistics_match_mtat_protocol():
    clips = demo_mtat.demo_plan(3000, seed=0)
    top = demo_tags()
    counts = collections.Counter(t for c in clips for t in c.track.tags)
    columns = {t: i for i, t in enumerate(mtat_layout.MTAT_TAG_COLUMNS)}
    assert set(counts) <= set(columns)
    chosen = sorted(counts, key=lambda t: (-counts[t], columns[t]))[:50]
    assert set(chosen) == set(top), "the 50 most frequent columns are the reference top 50"
    assert len(set(counts) - set(top)) >= 20, "other MTAT columns are used too"
    splits = collections.Counter(mtat_layout.SPLIT_OF_FOLDER[c.mp3_path[0]] for c in clips)
    assert abs(splits["train"] / 3000 - 0.75) < 0.03 and abs(splits["valid"] / 3000 - 0.0625) < 0.02
    albums = collections.defaultdict(set)
    for c in clips:
        albums[(c.track.artist, c.track.album)].add(c.mp3_path[0])
    assert all(len(folders) == 1 for folders in albums.values()), "an album never crosses splits"
    unannotated = sum(not set(c.track.tags) & set(top) for c in clips) / 3000
    assert 0.005 < unannotated < 0.06


def test_tag_rules_are_consistent():
    for clip in demo_mtat.demo_plan(2000, seed=1):
        tags, track = set(clip.track.tags), clip.track
        if not track.annotated:
            continue
        assert not ({"no vocals", "no vocal", "no voice"} & tags and {"vocal", "singing", "choir"} & tags)
        assert ("no vocals" in tags) == (not {"vocal", "choir"} & tags)
        assert (
            not {"male", "female"} <= tags and not {"fast", "slow"} <= tags and not {"loud", "soft"} <= tags
        )
        assert ("quiet" not in tags or "soft" in tags) and ("female vocal" not in tags or "female" in tags)
        assert ("drums" in tags) == bool({"kit", "drum_machine", "tabla"} & set(track.parts))
        assert "techno" not in tags or {"electronic", "dance", "beat", "fast", "synth"} <= tags
        assert "solo" not in tags or not {"drums", "vocal"} & tags
        assert ("fast" in tags) == (track.bpm >= 130) and ("slow" in tags) == (track.bpm <= 80)


def test_loudness_classes_are_audible():
    clips = demo_mtat.demo_plan(300, seed=2)
    levels = {}
    for loudness in ("loud", "normal", "soft", "quiet"):
        clip = next(c for c in clips if c.track.loudness == loudness and c.track.style != "weird")
        audio = demo_mtat.render_clip(clip, seconds=2.0)
        levels[loudness] = 20 * np.log10(np.sqrt(np.mean(audio**2)))
    assert levels["loud"] > levels["normal"] + 5 > levels["soft"] + 10 > levels["quiet"] + 15


def test_demo_tags_is_the_reference_top50():
    assert demo_tags() == mtat_layout.load_top50_tags() and len(demo_tags()) == 50
