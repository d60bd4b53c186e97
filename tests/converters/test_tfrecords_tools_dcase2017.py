"""Tests for the DCASE 2017 Task 4 layout (tfrecords_tools.dcase2017) on tiny fake releases."""

import collections
import csv
import json
import logging
import os
import random

import numpy as np
import pytest

from keras_samplecnn.data import schema
from tfrecords_tools import cli, dcase2017, synthetic
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import Settings, convert, read_examples, verify

# The JSTSP authors' class order (tae-jun/sampleaudio lib/data/dcs.py CLASSES), written out
# here rather than taken from the module under test.
AUTHORS_ORDER = [
    "Train horn",
    "Air horn, truck horn",
    "Car alarm",
    "Reversing beeps",
    "Ambulance (siren)",
    "Police car (siren)",
    "Fire engine, fire truck (siren)",
    "Civil defense siren",
    "Screaming",
    "Bicycle",
    "Skateboard",
    "Car",
    "Car passing by",
    "Bus",
    "Truck",
    "Motorcycle",
    "Train",
]
# sound_event_list_17_classes.txt as released: its own order, a header separated by spaces.
CLASS_LIST_FILE = (
    "Class_ID        ConfidenceofAnnotation(by Google)       Class_Label\n"
    "/m/0284vy3\t10\tTrain horn\n/m/05x_td\t9\tAir horn, truck horn\n/m/02mfyn\t7\tCar alarm\n"
    "/m/02rhddq\t5\tReversing beeps\n/m/0199g\t7\tBicycle\n/m/06_fw\t8\tSkateboard\n"
    "/m/012n7d\t6\tAmbulance (siren)\n/m/012ndj\t8\tFire engine, fire truck (siren)\n"
    "/m/0dgbq\t9\tCivil defense siren\n/m/04qvtq\t8\tPolice car (siren)\n/m/03qc9zr\t8\tScreaming\n"
    "/m/0k4j\t10\tCar\n/t/dd00134\t5\tCar passing by\n/m/01bjv\t7\tBus\n/m/07r04\t8\tTruck\n"
    "/m/04_sv\t9\tMotorcycle\n/m/07jdr\t6\tTrain\n"
)
TRAIN_CSV = "groundtruth_weak_label_training_set.csv"
TEST_CSV = "groundtruth_weak_label_testing_set.csv"
EVAL_CSV = "groundtruth_weak_label_evaluation_set.csv"
AUDIO_DIRS = {
    "training": "unbalanced_train_segments_training_set_audio_formatted_and_segmented_downloads",
    "testing": "unbalanced_train_segments_testing_set_audio_formatted_and_segmented_downloads",
    "evaluation": "evaluation_set_formatted_audio_segments",
}
RATE = 8000


class Clip:
    """A fake clip: its set, YouTube id, times, labels and audio length."""

    def __init__(self, set_name, ytid, labels, start=30.0, seconds=0.2, audio=True):
        self.set_name = set_name
        self.ytid = ytid
        self.start = start
        self.end = start + 10.0
        self.labels = list(labels)
        self.seconds = seconds
        self.audio = audio

    @property
    def name(self):
        return f"{self.ytid}_{self.start:.3f}_{self.end:.3f}.wav"

    @property
    def path(self):
        return f"{AUDIO_DIRS[self.set_name]}/Y{self.name}"


def write_release(root, clips, layout="repository", class_list=True):
    """Writes a DCASE 2017 Task 4 folder: weak-label CSVs as released, audio, class list.

    Rows are grouped by label as in the release. The training CSV has CRLF line ends and
    unquoted labels (as released), the testing CSV LF and the comma label double-quoted, the
    evaluation CSV CRLF.

    Args:
        layout: "repository" (training/testing CSVs at the top, evaluation CSV in
            groundtruth_release/) or "swapped" (the other accepted places).

    Returns:
        `{csv file name: {(clip name, label): line number}}`.
    """
    lines = {}
    for set_name, csv_name, newline, quote in (
        ("training", TRAIN_CSV, "\r\n", False),
        ("testing", TEST_CSV, "\n", True),
        ("evaluation", EVAL_CSV, "\r\n", False),
    ):
        in_release = (set_name == "evaluation") == (layout == "repository")
        folder = root / "groundtruth_release" if in_release else root
        folder.mkdir(parents=True, exist_ok=True)
        rows = sorted(
            (AUTHORS_ORDER.index(label), clip.name, label)
            for clip in clips
            if clip.set_name == set_name
            for label in clip.labels
        )
        text = []
        lines[csv_name] = {}
        for number, (_, name, label) in enumerate(rows, start=1):
            start, end = name[: -len(".wav")].rsplit("_", 2)[1:]
            shown = f'"{label}"' if quote and "," in label else label
            text.append(f"{name}\t{start}\t{end}\t{shown}{newline}")
            lines[csv_name][name, label] = number
        (folder / csv_name).write_bytes("".join(text).encode())
    for folder in AUDIO_DIRS.values():
        (root / folder).mkdir(parents=True, exist_ok=True)
    for index, clip in enumerate(clips):
        if clip.audio:
            tone = synthetic.tone(200 + 7 * index, clip.seconds, RATE)
            synthetic.write_audio(root / clip.path, tone, RATE, format="WAV")
    if class_list:
        (root / "sound_event_list_17_classes.txt").write_text(CLASS_LIST_FILE)
    return lines


def small_release():
    """Eight clips over the three sets: multi-label ones, ids with '-' and '_'."""
    return [
        Clip("training", "-5QrBL6MzLg", ["Train horn", "Air horn, truck horn"]),
        Clip("training", "-9oKZsjjf_0", ["Skateboard"], start=20.0),
        Clip("training", "02w3vd_GgF0", ["Car", "Car passing by", "Bus"], start=390.0),
        Clip("training", "0HqeYIREv8M", ["Fire engine, fire truck (siren)"], seconds=2.0),
        Clip("testing", "1T1i2rny8RU", ["Air horn, truck horn"]),
        Clip("testing", "2ZciT0XrifM", ["Motorcycle", "Train"], start=0.0),
        Clip("evaluation", "06si40RVDco", ["Motorcycle"]),
        Clip("evaluation", "bpdCMWWiB_0", ["Train", "Truck"]),
    ]


def _multi_hot(labels):
    return [1.0 if label in labels else 0.0 for label in AUTHORS_ORDER]


def _examples(out, manifest):
    return {
        split: [e for shard in info["shards"] for e in read_examples(out / shard["file"])]
        for split, info in manifest["splits"].items()
    }


def _rejected(out):
    with open(out / schema.REJECTED, newline="") as handle:
        return {row["path"]: row["reason"] for row in csv.DictReader(handle)}


def _shards(out):
    return {name: (out / name).read_bytes() for name in sorted(os.listdir(out)) if name.endswith(".tfrecord")}


SETTINGS = Settings(sample_rate=RATE, segment_length=RATE, short="tile", min_length=10 * RATE)


# -- labels and splits ------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["repository", "swapped"])
def test_official_split_labels_and_ids(tmp_path, layout):
    clips = small_release()
    write_release(tmp_path / "dcase", clips, layout=layout)

    plan = dcase2017.plan(tmp_path / "dcase", split="official")

    assert plan.tags == AUTHORS_ORDER
    assert plan.task == "multi_label"
    expected_split = {"training": "train", "testing": "valid", "evaluation": "test"}
    assert {job.path: (job.clip_id, job.split, list(job.labels)) for job in plan.jobs} == {
        clip.path: (clip.name[: -len(".wav")], expected_split[clip.set_name], _multi_hot(clip.labels))
        for clip in clips
    }
    assert all(os.path.isfile(job.source) for job in plan.jobs)
    assert plan.rejected == []
    assert plan.metadata[clips[4].path] == {"set": "testing"}


def test_built_in_class_list_when_the_file_is_absent(tmp_path):
    write_release(tmp_path / "dcase", small_release(), class_list=False)

    assert dcase2017.plan(tmp_path / "dcase").tags == AUTHORS_ORDER


def _many_clips(per_class=12, testing=20, evaluation=10, seed=5):
    """About `per_class` pooled clips per class (some with two labels) and an evaluation set."""
    rng = random.Random(seed)
    clips = []
    for index in range(per_class * len(AUTHORS_ORDER)):
        labels = {AUTHORS_ORDER[index % len(AUTHORS_ORDER)]}
        if index % 5 == 0:
            labels.add(rng.choice(AUTHORS_ORDER))
        set_name = "testing" if index < testing else "training"
        clips.append(Clip(set_name, f"id{index:04d}-x_{index % 3}", sorted(labels), seconds=0.05))
    for index in range(evaluation):
        clips.append(Clip("evaluation", f"ev{index:04d}", [AUTHORS_ORDER[index]], seconds=0.05))
    return clips


def test_jstsp_split_holds_out_about_ten_percent_of_every_class(tmp_path, caplog):
    clips = _many_clips()
    write_release(tmp_path / "dcase", clips)
    pooled = [clip for clip in clips if clip.set_name != "evaluation"]

    with caplog.at_level(logging.INFO):
        plan = dcase2017.plan(tmp_path / "dcase")

    split_of = {job.clip_id + ".wav": job.split for job in plan.jobs}
    assert {clip.name for clip in clips if clip.set_name == "evaluation"} == {
        name for name, split in split_of.items() if split == "test"
    }
    assert {clip.name for clip in pooled} == {name for name, split in split_of.items() if split != "test"}
    valid = {name for name, split in split_of.items() if split == "valid"}
    for label in AUTHORS_ORDER:
        having = [clip.name for clip in pooled if label in clip.labels]
        assert len(having) >= 10
        # At least the clips drawn for this class; more when drawn for another of their classes.
        assert len(valid & set(having)) >= round(0.1 * len(having)) >= 1, label
    assert 0.07 <= len(valid) / len(pooled) <= 0.15
    # The rule as documented: per class, names sorted, shuffled with Random(f"{seed}:{label}"),
    # the first round(0.1 n) held out.
    expected = set()
    for label in AUTHORS_ORDER:
        names = sorted(clip.name for clip in pooled if label in clip.labels)
        random.Random(f"123:{label}").shuffle(names)
        expected.update(names[: round(0.1 * len(names))])
    assert valid == expected
    counts = collections.Counter(split_of.values())
    assert f"train {counts['train']} / valid {counts['valid']} / test {counts['test']}" in caplog.text
    assert "46,042" in caplog.text  # the authors' sizes, for comparison

    again = dcase2017.plan(tmp_path / "dcase")
    other_seed = dcase2017.plan(tmp_path / "dcase", seed=124)
    assert [(job.path, job.split) for job in again.jobs] == [(job.path, job.split) for job in plan.jobs]
    assert {job.path: job.split for job in other_seed.jobs} != {job.path: job.split for job in plan.jobs}


def test_jstsp_split_warns_about_classes_too_small_to_draw_from(tmp_path, caplog):
    write_release(tmp_path / "dcase", small_release())  # one or two clips per class

    with caplog.at_level(logging.WARNING):
        plan = dcase2017.plan(tmp_path / "dcase")

    assert not [job for job in plan.jobs if job.split == "valid"]
    assert "no validation clip for ['Train horn', 'Air horn, truck horn'," in caplog.text


def test_jstsp_split_does_not_depend_on_which_audio_is_present(tmp_path):
    clips = _many_clips()
    write_release(tmp_path / "dcase", clips)
    full = {job.path: job.split for job in dcase2017.plan(tmp_path / "dcase").jobs}
    gone = [clip for clip in clips[::7] if clip.set_name != "evaluation"]
    for clip in gone:
        os.remove(tmp_path / "dcase" / clip.path)

    plan = dcase2017.plan(tmp_path / "dcase")

    assert {job.path: job.split for job in plan.jobs} == {
        path: split for path, split in full.items() if path not in {clip.path for clip in gone}
    }
    assert {row.path for row in plan.rejected} == {clip.path for clip in gone}


# -- conversion -------------------------------------------------------------------------------


def test_conversion_tiles_short_clips_to_ten_seconds(tmp_path):
    clips = small_release()
    write_release(tmp_path / "dcase", clips)
    out = tmp_path / "out"

    manifest = convert(
        dcase2017.plan(tmp_path / "dcase", split="official"),
        out,
        SETTINGS,
        num_shards=1,
        workers=1,
        show_progress=False,
    )

    examples = _examples(out, manifest)
    assert {split: len(found) for split, found in examples.items()} == {"train": 4, "valid": 2, "test": 2}
    by_path = {e["path"]: e for found in examples.values() for e in found}
    assert {path: list(e["labels"]) for path, e in by_path.items()} == {
        clip.path: _multi_hot(clip.labels) for clip in clips
    }
    two_seconds = by_path[clips[3].path]
    assert two_seconds["num_samples"] == 10 * RATE
    audio = two_seconds["audio"]
    assert np.any(audio[: 2 * RATE])
    for repeat in range(1, 5):  # the 2-s clip repeated end to end, not zero-padded
        np.testing.assert_array_equal(audio[repeat * 2 * RATE : (repeat + 1) * 2 * RATE], audio[: 2 * RATE])
    assert {e["num_samples"] for e in by_path.values()} == {10 * RATE}
    assert manifest["tags"] == AUTHORS_ORDER and manifest["min_length"] == 10 * RATE
    assert verify(out).ok


def test_missing_and_unreadable_audio_are_rejected_and_the_rest_converts(tmp_path):
    clips = small_release()
    clips[1].audio = False  # listed, never downloaded
    clips[6].audio = False
    lines = write_release(tmp_path / "dcase", clips)
    (tmp_path / "dcase" / clips[2].path).write_bytes(b"RIFF\x00\x10\x00\x00WAVEjunk" + bytes(300))
    out = tmp_path / "out"

    manifest = convert(
        dcase2017.plan(tmp_path / "dcase", split="official"),
        out,
        SETTINGS,
        num_shards=1,
        workers=1,
        show_progress=False,
    )

    rejected = _rejected(out)
    train_line = lines[TRAIN_CSV][clips[1].name, "Skateboard"]
    eval_line = lines[EVAL_CSV][clips[6].name, "Motorcycle"]
    assert rejected[clips[1].path] == f"file not found (listed in {TRAIN_CSV}:{train_line})"
    assert rejected[clips[6].path] == f"file not found (listed in groundtruth_release/{EVAL_CSV}:{eval_line})"
    assert rejected[clips[2].path].startswith("not a recognised audio file")
    assert len(rejected) == 3
    converted = {e["path"] for found in _examples(out, manifest).values() for e in found}
    assert converted == {clip.path for clip in clips} - set(rejected)
    assert manifest["rejected"] == 3


def test_rerun_after_an_interruption_gives_identical_shards(tmp_path):
    clips = small_release()
    write_release(tmp_path / "dcase", clips)
    plan = dcase2017.plan(tmp_path / "dcase")
    reference, out = tmp_path / "reference", tmp_path / "out"
    convert(plan, reference, SETTINGS, num_shards=2, workers=1, show_progress=False)
    convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)
    train_shards = sorted(name for name in _shards(out) if name.startswith("train-"))
    os.remove(out / train_shards[0])
    os.remove(out / schema.MANIFEST)

    convert(dcase2017.plan(tmp_path / "dcase"), out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    assert _shards(out) == _shards(reference)
    assert verify(out).ok


# -- bad input --------------------------------------------------------------------------------


def _append(path, text):
    with open(path, "ab") as handle:
        handle.write(text.encode())


def test_unknown_label_rejects_its_clip_naming_file_and_line(tmp_path, caplog):
    clips = small_release()
    write_release(tmp_path / "dcase", clips)
    train = tmp_path / "dcase" / TRAIN_CSV
    rows = train.read_bytes().count(b"\n")
    _append(train, f"{clips[0].name}\t30.000\t40.000\tDog\r\n")

    with caplog.at_level(logging.WARNING):
        plan = dcase2017.plan(tmp_path / "dcase", split="official")

    # The clip with the unknown label is left out whole and listed; every other clip converts.
    assert [tuple(row) for row in plan.rejected] == [(clips[0].path, f"{TRAIN_CSV}:{rows + 1}: unknown label 'Dog'")]
    assert {job.path for job in plan.jobs} == {clip.path for clip in clips[1:]}
    assert f"{TRAIN_CSV}:{rows + 1}: unknown label 'Dog'" in caplog.text
    assert "Air horn, truck horn" in caplog.text and "Fire engine, fire truck (siren)" in caplog.text


def test_skip_unknown_labels_keeps_the_other_labels(tmp_path, caplog):
    clips = small_release()
    write_release(tmp_path / "dcase", clips)
    train = tmp_path / "dcase" / TRAIN_CSV
    rows = train.read_bytes().count(b"\n")
    only_unknown = Clip("training", "zzzzzzzzzzz", [])
    synthetic.write_audio(tmp_path / "dcase" / only_unknown.path, synthetic.tone(300, 0.2, RATE), RATE)
    _append(train, f"{clips[0].name}\t30.000\t40.000\tDog\r\n{only_unknown.name}\t30.000\t40.000\tCat\r\n")

    with caplog.at_level(logging.WARNING):
        plan = dcase2017.plan(tmp_path / "dcase", split="official", skip_unknown_labels=True)

    labels = {job.path: list(job.labels) for job in plan.jobs}
    assert labels[clips[0].path] == _multi_hot(clips[0].labels)
    assert only_unknown.path not in labels
    assert [tuple(row) for row in plan.rejected] == [
        (
            only_unknown.path,
            f"no known label (unknown labels ['Cat'] skipped; listed in {TRAIN_CSV}:{rows + 2})",
        )
    ]
    assert "'Cat' x1" in caplog.text and "'Dog' x1" in caplog.text


@pytest.mark.parametrize(
    "line,message",
    [
        ("abc_30.000_40.000.wav\t30.000\tTrain horn", "3 columns, expected 4 tab-separated"),
        ("abc_30.000_40.000.wav,30.000,40.000,Train horn", "1 columns, expected 4 tab-separated"),
        ("abc.wav\t30.000\t40.000\tTrain horn", "clip name 'abc.wav' is not <ytid>_<start>_<end>.wav"),
        ("abc_30.000_40.000.mp3\t30.000\t40.000\tTrain horn", "is not <ytid>_<start>_<end>.wav"),
        ("abc_30.000_40.000.wav\tthirty\t40.000\tTrain horn", "start time 'thirty' is not a number"),
        ("abc_30.000_40.000.wav\t30.000\tnan\tTrain horn", "end time 'nan' is not a number"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, line, message, caplog):
    clips = small_release()
    write_release(tmp_path / "dcase", clips)
    csv_path = tmp_path / "dcase" / "groundtruth_release" / EVAL_CSV
    rows = csv_path.read_bytes().count(b"\n")
    _append(csv_path, line + "\r\n")

    with caplog.at_level(logging.WARNING):
        plan = dcase2017.plan(tmp_path / "dcase", split="official")

    where = f"groundtruth_release/{EVAL_CSV}:{rows + 1}"
    assert f"{where}: " in caplog.text and message in caplog.text
    # The bad row is listed in rejected.csv (under its clip when the name is readable), and
    # every good clip still converts.
    (row,) = plan.rejected
    assert (row.path == where and message in row.reason) or (where in row.reason and message in row.reason)
    assert {job.path for job in plan.jobs} == {clip.path for clip in clips}


def test_a_file_in_another_format_stops_with_its_first_bad_line(tmp_path):
    write_release(tmp_path / "dcase", small_release())
    csv_path = tmp_path / "dcase" / TRAIN_CSV
    text = csv_path.read_text().replace("\t", ",")  # comma-separated: not the weak-label format
    csv_path.write_text(text)
    with pytest.raises(DatasetError, match=rf"{TRAIN_CSV}:1: 1 columns, expected 4 tab-separated.*comma-separated"):
        dcase2017.plan(tmp_path / "dcase")


def test_a_clip_in_two_sets_is_an_error(tmp_path):
    clips = small_release()
    clips.append(Clip("evaluation", clips[2].ytid, ["Bus"], start=clips[2].start))
    write_release(tmp_path / "dcase", clips)

    with pytest.raises(DatasetError, match=rf"{EVAL_CSV}:\d+: {clips[2].name} is also in the training set"):
        dcase2017.plan(tmp_path / "dcase")


def test_repeated_rows_are_counted_once(tmp_path, caplog):
    clips = small_release()
    write_release(tmp_path / "dcase", clips)
    _append(tmp_path / "dcase" / TRAIN_CSV, f"{clips[0].name}\t30.000\t40.000\tTrain horn\r\n" * 2)

    with caplog.at_level(logging.INFO):
        plan = dcase2017.plan(tmp_path / "dcase")

    assert len(plan.jobs) == len(clips)
    assert {job.path: list(job.labels) for job in plan.jobs}[clips[0].path] == _multi_hot(clips[0].labels)
    assert "2 repeated (clip, label) rows" in caplog.text


def test_missing_csv_or_audio_folder(tmp_path):
    write_release(tmp_path / "dcase", small_release())
    os.remove(tmp_path / "dcase" / "groundtruth_release" / EVAL_CSV)
    with pytest.raises(DatasetError, match="evaluation-set weak labels not found"):
        dcase2017.plan(tmp_path / "dcase")

    write_release(tmp_path / "d2", small_release())
    with pytest.raises(DatasetError, match="training-set audio folder not found"):
        dcase2017.plan(tmp_path / "d2", train_audio="elsewhere")
    with pytest.raises(DatasetError, match="DCASE 2017 Task 4 root not found"):
        dcase2017.plan(tmp_path / "nowhere")


def test_audio_folder_options(tmp_path):
    clips = small_release()
    write_release(tmp_path / "dcase", clips)
    os.rename(tmp_path / "dcase" / AUDIO_DIRS["evaluation"], tmp_path / "dcase" / "eval_audio")

    plan = dcase2017.plan(tmp_path / "dcase", eval_audio="eval_audio")

    assert sorted(job.path for job in plan.jobs if job.split == "test") == sorted(
        f"eval_audio/Y{clip.name}" for clip in clips if clip.set_name == "evaluation"
    )
    assert plan.rejected == []


# -- command line -----------------------------------------------------------------------------


def test_command_line_end_to_end(tmp_path, caplog):
    clips = small_release()
    write_release(tmp_path / "dcase", clips)
    out = tmp_path / "out"
    argv = [
        "dcase2017",
        "--root",
        str(tmp_path / "dcase"),
        "--out",
        str(out),
        "--workers",
        "1",
        "--no-progress",
    ]

    assert (
        cli.main([*argv, "--sample-rate", str(RATE), "--segment-length", str(RATE), "--split", "official"])
        == 0
    )

    manifest = json.loads((out / schema.MANIFEST).read_text())
    assert manifest["dataset"] == "dcase2017" and manifest["tags"] == AUTHORS_ORDER
    assert (manifest["short"], manifest["min_length"]) == ("tile", 10 * RATE)
    assert {split: info["clips"] for split, info in manifest["splits"].items()} == {
        "train": 4,
        "valid": 2,
        "test": 2,
    }

    # A bad row: the command still converts the good clips and lists the clip in rejected.csv.
    _append(tmp_path / "dcase" / TEST_CSV, f"{clips[4].name}\t30.000\t40.000\tDog\n")
    assert cli.main(argv) == 0
    assert f"{TEST_CSV}:" in caplog.text and "unknown label 'Dog'" in caplog.text
    rejected = (out / schema.REJECTED).read_text()
    assert clips[4].path in rejected and "unknown label 'Dog'" in rejected
    # A file that is not a weak-label CSV at all stops with exit code 2.
    (tmp_path / "dcase" / TEST_CSV).write_text("not,a,weak,label,file\n")
    assert cli.main(argv) == 2


def test_command_defaults_are_the_jstsp_settings(capsys):
    args = cli.build_parser().parse_args(["dcase2017", "--root", "r", "--out", "o"])

    assert (args.sample_rate, args.segment_length, args.shard_size) == (22050, None, 300)
    # None: 1-s segments at the chosen rate.
    assert cli.segment_samples(args.layout.DEFAULTS, 22050) == 22050
    assert cli.segment_samples(args.layout.DEFAULTS, 16000) == 16000
    assert (args.short, args.min_seconds, args.split, args.seed) == ("tile", 10.0, "jstsp", 123)
    with pytest.raises(SystemExit):
        cli.main(["dcase2017", "--help"])
    assert "--skip-unknown-labels" in capsys.readouterr().out
