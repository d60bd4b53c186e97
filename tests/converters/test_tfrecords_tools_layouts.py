"""Tests for the folder, Speech Commands and GTZAN layouts."""

import collections
import csv
import logging

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
    assert _rejected(out) == {"go/ffffffff_nohash_0.wav": "file not found (listed in testing_list.txt:4)"}
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


def test_speech_commands_defaults_are_the_jstsp_settings():
    assert speech_commands.DEFAULTS == {
        "sample_rate": 22050,
        "segment_seconds": 1.0,
        "shard_size": 1000,
        "short": "tile",
        "min_seconds": 1.0,
    }


# The TFDS 12-class label order, written out here rather than taken from the module.
TFDS_12 = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "_silence_", "_unknown_"]


def _label(labels):
    return TFDS_12[list(labels).index(1.0)]


def _fake_test_set(folder):
    """A speech_commands_test_set_v0.02 folder: one folder per label, a `.wav.wav` name."""
    files = {
        "yes/aaaa0001_nohash_0.wav": "yes",
        "yes/aaaa0002_nohash_0.wav.wav": "yes",
        "no/bbbb0001_nohash_0.wav": "no",
        "_silence_/silence_0001.wav": "_silence_",
        "_unknown_/cccc0001_nohash_0.wav": "_unknown_",
    }
    for index, path in enumerate(files):
        synthetic.write_audio(
            folder / path, synthetic.tone(400 + 30 * index, 1.0, 16000), 16000, format="WAV"
        )
    return files


def test_speech_commands_12_classes_with_the_separate_test_set(tmp_path):
    root = tmp_path / "speech_commands_v0.02"
    lists = synthetic.fake_speech_commands(root, words=("yes", "no", "bed", "happy"), noise_seconds=3.0)
    test_root = tmp_path / "speech_commands_test_set_v0.02"
    test_files = _fake_test_set(test_root)

    plan = speech_commands.plan(root, variant=12, test_root=test_root)

    assert plan.tags == TFDS_12
    words = {job.path: (job.split, _label(job.labels)) for job in plan.jobs if job.split != "test"}
    words = {path: value for path, value in words.items() if not path.startswith("_background_noise_")}
    expected = {}
    for word in ("yes", "no", "bed", "happy"):
        for path in sorted((root / word).iterdir()):
            relative = f"{word}/{path.name}"
            if relative in lists["testing"]:
                continue  # the separate test set replaces testing_list.txt
            split = "valid" if relative in lists["validation"] else "train"
            expected[relative] = (split, word if word in ("yes", "no") else "_unknown_")
    assert words == expected
    tests = {job.path: (job.clip_id, _label(job.labels)) for job in plan.jobs if job.split == "test"}
    assert tests == {
        f"speech_commands_test_set_v0.02/{path}": (
            "speech_commands_test_set_v0.02/" + path.replace(".wav.wav", "").replace(".wav", ""),
            label,
        )
        for path, label in test_files.items()
    }
    # As TFDS: 1-s windows every 0.5 s; running_tap.wav to valid, the other recording to train.
    silence = collections.Counter(
        (job.path.split("/")[1], job.split) for job in plan.jobs if job.clip_id.startswith("_silence_/")
    )
    assert silence == {("running_tap.wav", "valid"): 5, ("white_noise.wav", "train"): 5}
    assert all(_label(job.labels) == "_silence_" for job in plan.jobs if job.path.startswith("_background"))
    assert plan.rejected == []

    out = tmp_path / "out"
    manifest = convert(
        plan,
        out,
        Settings(sample_rate=16000, segment_length=16000),
        num_shards=1,
        workers=1,
        show_progress=False,
    )
    examples = [e for found in _examples(out, manifest).values() for e in found]
    double = next(e for e in examples if e["path"].endswith("yes/aaaa0002_nohash_0.wav.wav"))
    assert double["num_samples"] == 16000 and np.any(double["audio"])
    window = next(e for e in examples if e["clip_id"] == "_silence_/running_tap/0003")
    noise, _ = sf.read(root / "_background_noise_" / "running_tap.wav", dtype="float32")
    np.testing.assert_array_equal(window["audio"], to_int16(noise[24000:40000]))


def test_speech_commands_12_classes_with_the_testing_list(tmp_path):
    root = tmp_path / "sc"
    lists = synthetic.fake_speech_commands(root, words=("go", "marvin"), noise_seconds=10.0)

    plan = speech_commands.plan(root, variant=12)

    tests = {job.path: _label(job.labels) for job in plan.jobs if job.split == "test" and job.start == 0.0}
    tests = {path: label for path, label in tests.items() if not path.startswith("_background")}
    assert tests == {path: ("go" if path.startswith("go/") else "_unknown_") for path in lists["testing"]}
    # Without the separate test set, every split gets 1-s silence clips (80/10/10 of each file).
    silence = collections.Counter(job.split for job in plan.jobs if job.clip_id.startswith("_silence_/"))
    assert silence == {"train": 16, "valid": 2, "test": 2}


def test_speech_commands_non_wav_and_empty_files_are_rejected_not_skipped(tmp_path):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes", "no"), files_per_word=3)
    (root / "yes" / "notes.txt").write_text("not audio")
    (root / "yes" / "empty_nohash_0.wav").write_bytes(b"")
    (root / "no" / "garbage_nohash_0.wav").write_bytes(b"RIFF\x00\x10\x00\x00WAVEjunk" + bytes(100))
    (root / "no" / ".DS_Store").write_bytes(b"\x00")
    (root / "README.md").write_text("readme")
    (root / "LICENSE").write_text("license")
    with open(root / "validation_list.txt", "a") as handle:
        handle.write("yes/notes.txt\n")  # listed, but not audio: rejected once
    out = tmp_path / "out"

    convert(
        speech_commands.plan(root),
        out,
        Settings(sample_rate=16000, segment_length=16000),
        num_shards=1,
        workers=1,
        show_progress=False,
    )

    with open(out / schema.REJECTED, newline="") as handle:
        rows = [row["path"] for row in csv.DictReader(handle)]
    assert sorted(rows) == ["no/garbage_nohash_0.wav", "yes/empty_nohash_0.wav", "yes/notes.txt"]
    rejected = _rejected(out)
    assert rejected["yes/notes.txt"] == "not a .wav file"
    assert rejected["yes/empty_nohash_0.wav"] == "empty file (0 bytes)"
    assert rejected["no/garbage_nohash_0.wav"].startswith("not a recognised audio file")


def test_speech_commands_warns_about_files_that_are_not_16_khz_mono(tmp_path, caplog):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes",), files_per_word=3)
    stereo = root / "yes" / "stereo_nohash_0.wav"
    synthetic.write_audio(stereo, synthetic.tone(500, 1.0, 16000, channels=2), 16000, format="WAV")
    low = root / "yes" / "low_nohash_0.wav"
    synthetic.write_audio(low, synthetic.tone(500, 1.0, 8000), 8000, format="WAV")

    with caplog.at_level(logging.WARNING):
        plan = speech_commands.plan(root)
    manifest = convert(
        plan,
        tmp_path / "out",
        Settings(sample_rate=16000, segment_length=16000),
        workers=1,
        show_progress=False,
    )

    assert "2 files are not 16000 Hz mono" in caplog.text
    assert f"{stereo} (16000 Hz, 2 ch)" in caplog.text and f"{low} (8000 Hz, 1 ch)" in caplog.text
    examples = {e["path"]: e for found in _examples(tmp_path / "out", manifest).values() for e in found}
    assert examples["yes/stereo_nohash_0.wav"]["num_samples"] == 16000
    assert examples["yes/low_nohash_0.wav"]["num_samples"] == 16000


@pytest.mark.parametrize(
    "validation,testing,message",
    [
        (
            "yes/a.wav\nyes/b.wav\nyes/a.wav\n",
            "",
            "validation_list.txt:3: yes/a.wav is already listed on line 1",
        ),
        (
            "yes/a.wav\n",
            "no/b.wav\n\nyes/a.wav\n",
            "testing_list.txt:3: yes/a.wav is also listed in validation_list.txt:1",
        ),
        (
            "../outside/a.wav\n",
            "",
            "validation_list.txt:1: '../outside/a.wav' does not name a file in a word folder",
        ),
        ("yes/a.wav\n/abs/a.wav\n", "", "validation_list.txt:2: '/abs/a.wav' does not name"),
        ("", "yes/deeper/a.wav\n", "testing_list.txt:1: 'yes/deeper/a.wav' does not name"),
        ("", "a.wav\n", "testing_list.txt:1: 'a.wav' does not name"),
        (
            "",
            "_background_noise_/white_noise.wav\n",
            "testing_list.txt:1: '_background_noise_/white_noise.wav'",
        ),
    ],
)
def test_speech_commands_bad_list_lines_name_file_and_line(tmp_path, validation, testing, message):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes", "no"), files_per_word=2)
    (root / "validation_list.txt").write_text(validation)
    (root / "testing_list.txt").write_text(testing)

    with pytest.raises(DatasetError) as info:
        speech_commands.plan(root)

    assert message in str(info.value)


def test_speech_commands_test_root_problems(tmp_path):
    root = tmp_path / "sc"
    synthetic.fake_speech_commands(root, words=("yes",), files_per_word=2)
    test_root = tmp_path / "test_set"
    _fake_test_set(test_root)

    with pytest.raises(DatasetError, match="goes with --variant 12"):
        speech_commands.plan(root, test_root=test_root)
    with pytest.raises(DatasetError, match="test set \\(--test-root\\) not found"):
        speech_commands.plan(root, variant=12, test_root=tmp_path / "nowhere")
    synthetic.write_audio(test_root / "bed" / "x.wav", synthetic.tone(300, 1.0, 16000), 16000, format="WAV")
    with pytest.raises(DatasetError, match="bed: not one of the 12 labels"):
        speech_commands.plan(root, variant=12, test_root=test_root)


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
