"""Tests for the folder, Speech Commands and GTZAN layouts."""

import collections
import csv

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.audio import to_int16
from keras_samplecnn.data import schema
from tfrecords_tools import folder, gtzan, speech_commands, synthetic
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import Settings, convert, read_examples, verify


def _examples(out, manifest):
    """{split: [example, ...]} over the manifest's shards."""
    return {
        split: [e for shard in info["shards"] for e in read_examples(out / shard["file"])]
        for split, info in manifest["splits"].items()
    }


def _rejected(out):
    with open(out / schema.REJECTED, newline="") as handle:
        return {row["path"]: row["reason"] for row in csv.DictReader(handle)}


# -- folder -----------------------------------------------------------------------------------


def _folder_dataset(tmp_path, header, rows):
    """Audio in several formats, rates and channel counts, plus a labels CSV."""
    audio = tmp_path / "audio"
    formats = [
        ("rock/a.wav", 44100, 2),
        ("rock/b.flac", 16000, 1),
        ("jazz/c.ogg", 22050, 1),
        ("jazz/d.mp3", 16000, 2),
        ("pop/e.wav", 8000, 1),
        ("pop/f.wav", 22050, 1),
    ]
    for index, (path, rate, channels) in enumerate(formats):
        synthetic.write_audio(audio / path, synthetic.tone(300 + 40 * index, 0.5, rate, channels), rate)
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join([header, *rows]) + "\n")
    return audio, labels


def test_folder_multi_label_with_split_column(tmp_path):
    audio, labels = _folder_dataset(
        tmp_path,
        "path,tags,split",
        [
            "rock/a.wav,guitar;drums,train",
            "rock/b.flac,guitar|loud,train",
            'jazz/c.ogg,"piano; slow",val',
            "jazz/d.mp3,,test",
            "pop/e.wav,synth,validation",
            "pop/missing.wav,synth,train",
        ],
    )
    out = tmp_path / "out"

    manifest = convert(
        folder.plan(audio, labels),
        out,
        Settings(segment_length=2048),
        num_shards=1,
        workers=1,
        show_progress=False,
    )

    assert manifest["task"] == "multi_label"
    assert manifest["tags"] == ["drums", "guitar", "loud", "piano", "slow", "synth"]
    examples = _examples(out, manifest)
    labels_of = {e["path"]: list(e["labels"]) for split in examples for e in examples[split]}
    assert labels_of == {
        "rock/a.wav": [1, 1, 0, 0, 0, 0],
        "rock/b.flac": [0, 1, 1, 0, 0, 0],
        "jazz/c.ogg": [0, 0, 0, 1, 1, 0],
        "jazz/d.mp3": [0, 0, 0, 0, 0, 0],
        "pop/e.wav": [0, 0, 0, 0, 0, 1],
    }
    assert {split: sorted(e["path"] for e in found) for split, found in examples.items()} == {
        "train": ["rock/a.wav", "rock/b.flac"],
        "valid": ["jazz/c.ogg", "pop/e.wav"],
        "test": ["jazz/d.mp3"],
    }
    # Every rate and channel count comes out as 0.5 s of mono 22050 Hz audio.
    assert {e["num_samples"] for found in examples.values() for e in found} == {11025}
    assert examples["train"][0]["clip_id"] == "rock/a"
    assert _rejected(out) == {"pop/missing.wav": "file not found (line 7 of the labels CSV)"}


def test_folder_single_label_ratio_split_is_stratified_and_seeded(tmp_path):
    audio = tmp_path / "audio"
    rows = []
    for name in ("cat", "dog"):
        for number in range(10):
            path = f"{name}s/{name}{number}.wav"
            synthetic.write_audio(audio / path, synthetic.tone(500, 0.1, 8000), 8000)
            rows.append(f"{path}\t{name}")
    labels = tmp_path / "labels.tsv"
    labels.write_text("path\tlabel\n" + "\n".join(rows) + "\n")

    plan = folder.plan(audio, labels, split_ratio=(0.8, 0.1, 0.1), seed=3)

    assert plan.task == "single_label" and plan.tags == ["cat", "dog"]
    counts = collections.Counter((job.labels, job.split) for job in plan.jobs)
    for labels_ in ((1.0, 0.0), (0.0, 1.0)):
        assert [counts[labels_, split] for split in ("train", "valid", "test")] == [8, 1, 1]
    same = folder.plan(audio, labels, seed=3)
    other = folder.plan(audio, labels, seed=4)
    assert [j.split for j in same.jobs] == [j.split for j in plan.jobs]
    assert [j.split for j in other.jobs] != [j.split for j in plan.jobs]


@pytest.mark.parametrize(
    "content,message",
    [
        ("file,tags\na.wav,x\n", "no 'path' column; expected a header with a 'path' column"),
        ("path,genre\na.wav,x\n", "no label column"),
        ("path,tags,class\na.wav,x,y\n", "several label columns"),
        ("path,class,split\na.wav,x,dev\n", "unknown split 'dev'"),
        ("path,class\na.wav,x\na.wav,y\n", "a.wav is already listed on line 2"),
        ("path,class\na.wav,x,extra\n", "line 2: 3 fields, expected 2"),
        ("", "empty file"),
    ],
)
def test_folder_csv_problems_stop_with_a_clear_message(tmp_path, content, message):
    (tmp_path / "labels.csv").write_text(content)

    with pytest.raises(DatasetError, match=message):
        folder.plan(tmp_path, tmp_path / "labels.csv")


def test_folder_missing_inputs(tmp_path):
    with pytest.raises(DatasetError, match="audio folder not found"):
        folder.plan(tmp_path / "nowhere", tmp_path / "labels.csv")
    with pytest.raises(DatasetError, match="labels CSV not found"):
        folder.plan(tmp_path, tmp_path / "labels.csv")


# -- Speech Commands --------------------------------------------------------------------------


def test_speech_commands_with_silence(tmp_path):
    root = tmp_path / "speech_commands_v0.02"
    lists = synthetic.fake_speech_commands(root, noise_seconds=10.0)
    with open(root / "testing_list.txt", "a") as handle:
        handle.write("go/ffffffff_nohash_0.wav\n")  # listed, but not in the archive
    out = tmp_path / "out"

    plan = speech_commands.plan(root, silence=True)
    manifest = convert(
        plan,
        out,
        Settings(sample_rate=16000, segment_length=16000),
        num_shards=1,
        workers=1,
        show_progress=False,
    )

    assert manifest["tags"] == ["down", "go", "left", "_silence_"]
    assert manifest["task"] == "single_label"
    examples = _examples(out, manifest)
    words = {
        split: sorted(e["path"] for e in found if not e["path"].startswith("_"))
        for split, found in examples.items()
    }
    assert words["valid"] == sorted(lists["validation"])
    assert words["test"] == sorted(lists["testing"])
    assert len(words["train"]) == 3 * 2
    short = next(e for e in examples["train"] if e["path"] == "down/00000002_nohash_0.wav")
    assert short["num_samples"] == 16000 and not np.any(short["audio"][8000:])
    silence = [e for found in examples.values() for e in found if e["clip_id"].startswith("_silence_/")]
    assert len(silence) == 2 * 10
    assert {
        split: sum(e["clip_id"].startswith("_silence_/") for e in found) for split, found in examples.items()
    } == {"train": 16, "valid": 2, "test": 2}
    crop = next(e for e in silence if e["clip_id"] == "_silence_/white_noise/0003")
    noise, _ = sf.read(root / "_background_noise_" / "white_noise.wav", dtype="float32")
    np.testing.assert_array_equal(crop["audio"], to_int16(noise[3 * 16000 : 4 * 16000]))
    np.testing.assert_array_equal(crop["labels"], [0, 0, 0, 1])
    assert _rejected(out) == {"go/ffffffff_nohash_0.wav": "file not found (listed in testing_list.txt)"}
    assert verify(out).ok


def test_speech_commands_without_silence_excludes_background_noise(tmp_path):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes", "no"), files_per_word=3)

    plan = speech_commands.plan(root)

    assert plan.tags == ["no", "yes"]
    assert not [job for job in plan.jobs if "_background_noise_" in job.path]
    assert len(plan.jobs) == 6


def test_speech_commands_needs_its_lists(tmp_path):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes",), files_per_word=2)
    (root / "validation_list.txt").unlink()

    with pytest.raises(DatasetError, match="validation_list.txt not found"):
        speech_commands.plan(root)
    with pytest.raises(DatasetError, match="Speech Commands root not found"):
        speech_commands.plan(tmp_path / "nowhere")


# -- GTZAN ------------------------------------------------------------------------------------


def test_gtzan_stratified_split_and_corrupt_file(tmp_path):
    synthetic.fake_gtzan(tmp_path / "gtzan", seconds=0.2, corrupt=("jazz", 4))
    out = tmp_path / "out"

    manifest = convert(
        gtzan.plan(tmp_path / "gtzan", seed=1),
        out,
        Settings(segment_length=2048),
        num_shards=2,
        workers=1,
        show_progress=False,
    )

    assert manifest["tags"] == sorted(synthetic.GTZAN_GENRES)
    assert manifest["source"] == str(tmp_path / "gtzan" / "genres_original")
    examples = _examples(out, manifest)
    per_genre = collections.Counter(
        (split, e["clip_id"].split(".")[0]) for split, found in examples.items() for e in found
    )
    for genre in synthetic.GTZAN_GENRES:
        expected = [8, 1, 1]
        if genre == "jazz":  # one file rejected, from whichever split it was dealt to
            assert sum(per_genre[s, genre] for s in ("train", "valid", "test")) == 9
            continue
        assert [per_genre[s, genre] for s in ("train", "valid", "test")] == expected
    rejected = _rejected(out)
    assert list(rejected) == ["jazz/jazz.00004.wav"]
    assert rejected["jazz/jazz.00004.wav"].startswith("not a recognised audio file")
    clip = examples["train"][0]
    assert clip["path"] == f"{clip['clip_id'].split('.')[0]}/{clip['clip_id']}.wav"
    assert clip["labels"].sum() == 1


@pytest.mark.parametrize("layout", ["genres", "genres_original", "bare"])
def test_gtzan_root_variants(tmp_path, layout):
    folder_name = "" if layout == "bare" else layout
    ext = "au" if layout == "genres" else "wav"
    synthetic.fake_gtzan(
        tmp_path / "g",
        genres=("blues", "rock"),
        files_per_genre=2,
        seconds=0.1,
        folder=folder_name,
        ext=ext,
        corrupt=None,
    )

    plan = gtzan.plan(tmp_path / "g")

    assert plan.tags == ["blues", "rock"]
    assert sorted(job.path for job in plan.jobs) == [
        f"blues/blues.00000.{ext}",
        f"blues/blues.00001.{ext}",
        f"rock/rock.00000.{ext}",
        f"rock/rock.00001.{ext}",
    ]


def test_gtzan_split_files_match_names_without_extension(tmp_path):
    synthetic.fake_gtzan(
        tmp_path / "g", genres=("blues", "rock"), files_per_genre=3, seconds=0.1, corrupt=None
    )
    lists = []
    for split, entries in (
        ("train", ["blues/blues.00000.au", "rock/rock.00000.au"]),
        ("valid", ["blues/blues.00001.au"]),
        ("test", ["rock/rock.00002.au"]),
    ):
        path = tmp_path / f"{split}.txt"
        path.write_text("\n".join(entries) + "\n")
        lists.append(path)

    plan = gtzan.plan(tmp_path / "g", split_files=lists)

    assert {job.path: job.split for job in plan.jobs} == {
        "blues/blues.00000.wav": "train",
        "rock/rock.00000.wav": "train",
        "blues/blues.00001.wav": "valid",
        "rock/rock.00002.wav": "test",
    }


def test_gtzan_without_genre_folders(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")

    with pytest.raises(DatasetError, match="no genre folders"):
        gtzan.plan(tmp_path)
