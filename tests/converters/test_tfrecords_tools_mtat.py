"""Tests for the MTAT layout: the distributed CSV dialect, top-N tags, splits, bad clips."""

import csv
import logging

import numpy as np
import pytest

from keras_samplecnn.data import schema
from tfrecords_tools import mtat, synthetic
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import Settings, convert, read_examples, verify

SETTINGS = Settings(sample_rate=16000, segment_length=2048)
REFERENCE = mtat.reference_tags()
# Scrambled column order (the real file's columns are not in frequency order) plus rare tags.
TAG_COLUMNS = REFERENCE[25:] + ["extra0", "extra1"] + REFERENCE[:25] + ["extra2"]


def _rows():
    """One clip per folder 0/ ... f/, each with 8 reference tags; extras are rarer."""
    rows = []
    for k, folder in enumerate("0123456789abcdef"):
        tags = {REFERENCE[(3 * k + j) % 50] for j in range(8)}  # each tag on 2 or 3 clips
        rows.append(
            (
                str(10 * k + 2),
                f"{folder}/artist{k}-album{k}-0{k % 9 + 1}-song-0-29.mp3",
                tags | ({"extra0"} if k == 0 else set()),
            )
        )
    rows.append(("999", "3/nobody-nothing-01-untagged-0-29.mp3", {"extra1"}))  # no chosen tag
    return rows


def _expected_top(rows, columns, count):
    """NumPy reference: sort columns by (-frequency, column index)."""
    matrix = np.array([[tag in tags for tag in columns] for _, _, tags in rows])
    frequency = matrix.sum(axis=0)
    order = sorted(range(len(columns)), key=lambda i: (-frequency[i], i))
    return [columns[i] for i in order[:count]]


@pytest.fixture(scope="module")
def mtat_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mtat")
    rows = _rows()
    synthetic.write_mtat(root, rows, TAG_COLUMNS, seconds=2.0)
    # Bad inputs as found in the wild, each standing in for a real clip.
    (root / rows[1][1]).write_bytes(b"")  # empty mp3
    data = (root / rows[2][1]).read_bytes()
    (root / rows[2][1]).write_bytes(data[: len(data) // 2])  # truncated mp3
    (root / rows[4][1]).write_text("<html>404 Not Found</html>\n")  # not audio
    (root / rows[5][1]).unlink()  # listed in the CSV, missing on disk
    return root


def test_annotations_are_the_quoted_tab_separated_dialect(mtat_root):
    first_line = (mtat_root / "annotations_final.csv").read_text().splitlines()[0]

    assert first_line.startswith('"clip_id"\t"' + TAG_COLUMNS[0] + '"\t')
    assert first_line.endswith('\t"mp3_path"')


def test_mtat_conversion(mtat_root, tmp_path, caplog):
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO):
        plan = mtat.plan(mtat_root)
        manifest = convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    rows = _rows()
    expected_tags = _expected_top(rows, TAG_COLUMNS, 50)
    assert manifest["tags"] == expected_tags
    assert set(expected_tags) == set(REFERENCE)
    assert "packaged reference top-50 set, in a different order" in caplog.text
    assert "17 clips, 16 with at least one of the 50 chosen tags" in caplog.text
    assert manifest["task"] == "multi_label" and manifest["dataset"] == "mtat"

    with open(out / schema.REJECTED, newline="") as handle:
        rejected = {row["path"]: row["reason"] for row in csv.DictReader(handle)}
    assert rejected.keys() == {rows[1][1], rows[2][1], rows[4][1], rows[5][1]}
    assert rejected[rows[1][1]] == "empty file (0 bytes)"
    assert rejected[rows[2][1]].startswith("truncated")
    assert rejected[rows[4][1]].startswith("not a recognised audio file")
    assert rejected[rows[5][1]] == "file not found (listed in annotations_final.csv)"
    assert manifest["rejected"] == 4

    by_path = {row[1]: row for row in rows}
    splits = {"train": [], "valid": [], "test": []}
    for split, info in manifest["splits"].items():
        for shard in info["shards"]:
            for example in read_examples(out / shard["file"]):
                clip_id, path, tags = by_path[example["path"]]
                assert example["clip_id"] == clip_id
                np.testing.assert_array_equal(example["labels"], [tag in tags for tag in expected_tags])
                assert example["num_samples"] == 32000 and example["sample_rate"] == 16000
                splits[split].append(path[0])
    assert sorted(splits["train"]) == list("036789ab")  # 1, 2, 4, 5 rejected
    assert splits["valid"] == ["c"] and sorted(splits["test"]) == list("def")
    assert manifest["splits"]["train"]["segments"] == 8 * (32000 // 2048)
    assert verify(out).ok
    with open(out / "clips.csv", newline="") as handle:
        clips = list(csv.DictReader(handle))
    assert len(clips) == 12
    assert {row["artist"] for row in clips if row["path"].startswith("c/")} == {"artist12"}


def test_top_tags_break_ties_by_column_order(tmp_path):
    rows = [
        ("1", "0/a-b-01-x-0-29.mp3", {"t0", "t1", "t2", "t3"}),
        ("2", "0/a-b-02-x-0-29.mp3", {"t0", "t1", "t2"}),
        ("3", "0/a-b-03-x-0-29.mp3", {"t0"}),
    ]
    synthetic.write_mtat(tmp_path / "a", rows, ["t0", "t1", "t2", "t3"], seconds=0.2)
    synthetic.write_mtat(tmp_path / "b", rows, ["t3", "t2", "t1", "t0"], seconds=0.2)

    assert mtat.plan(tmp_path / "a", num_tags=2).tags == ["t0", "t1"]
    assert mtat.plan(tmp_path / "b", num_tags=2).tags == ["t0", "t2"]
    assert mtat.plan(tmp_path / "b", num_tags=3, tags=["t3", "t1"]).tags == ["t3", "t1"]
    with pytest.raises(DatasetError, match="not among the annotations_final.csv columns"):
        mtat.plan(tmp_path / "a", tags=["t0", "bogus"])


def test_fewer_tags_are_compared_with_the_reference(mtat_root, caplog):
    with caplog.at_level(logging.INFO):
        plan = mtat.plan(mtat_root, num_tags=45)

    dropped = sorted(set(REFERENCE) - set(plan.tags))
    assert len(dropped) == 5
    assert f"only in the reference: {dropped}" in caplog.text


def test_split_files(mtat_root, tmp_path, caplog):
    rows = _rows()
    lists = []
    for split, members in (
        ("train", [rows[0], rows[14]]),
        ("valid", [rows[3]]),
        ("test", [rows[12], ("0", "9/not-in-annotations-0-29.mp3", None)]),
    ):
        path = tmp_path / f"{split}.txt"
        path.write_text("".join(f"{row[1]}\n" for row in members))
        lists.append(str(path))

    with caplog.at_level(logging.INFO):
        plan = mtat.plan(mtat_root, split_files=lists)

    assert {job.path: job.split for job in plan.jobs} == {
        rows[0][1]: "train",
        rows[14][1]: "train",
        rows[3][1]: "valid",
        rows[12][1]: "test",
    }
    assert "1 split-list entries are not clips with a chosen tag" in caplog.text


def test_reference_split_lists_follow_the_folder_rule():
    split_of = {}
    for split, path in zip(("train", "valid", "test"), mtat.reference_split_files()):
        with open(path) as handle:
            for line in handle:
                split_of[line.strip()] = split

    assert len(split_of) == 15244 + 1529 + 4332
    assert all(mtat.FOLDER_SPLITS[path[0]] == split for path, split in split_of.items())


def test_reference_split_option_matches_no_fake_clip(mtat_root, caplog):
    with caplog.at_level(logging.INFO):
        plan = mtat.plan(mtat_root, split_files="reference")

    assert plan.jobs == []
    assert "16 clips with chosen tags are in none of the split lists" in caplog.text


def test_missing_root_and_annotations(tmp_path):
    with pytest.raises(DatasetError, match="MTAT root not found"):
        mtat.plan(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="annotations_final.csv not found"):
        mtat.plan(tmp_path)


@pytest.mark.parametrize(
    "content,message",
    [
        ("clip_id,guitar,mp3_path\n2,1,0/a.mp3\n", "it looks comma-separated"),
        (
            '"clip_id"\t"guitar"\t"path"\n"2"\t"1"\t"0/a.mp3"\n',
            'header "clip_id", 188 tag columns, "mp3_path"',
        ),
        ('"clip_id"\t"guitar"\t"mp3_path"\n"2"\t"1"\n', "line 2: 2 fields, expected 3"),
        ('"clip_id"\t"guitar"\t"mp3_path"\n"2"\t"yes"\t"0/a.mp3"\n', "tag value 'yes'"),
        ("", "empty file"),
    ],
)
def test_malformed_annotations_stop_with_a_clear_message(tmp_path, content, message):
    (tmp_path / "annotations_final.csv").write_text(content)

    with pytest.raises(DatasetError, match=message.replace("(", r"\(")):
        mtat.plan(tmp_path)
