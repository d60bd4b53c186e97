"""Tests for the packaged GTZAN fault-filtered split lists and `--split-files filtered`."""

import collections
import json
import logging
import os
import subprocess
import sys

import pytest

from keras_samplecnn.data import schema
from tfrecords_tools import gtzan, synthetic
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import verify

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Kereliuk, Sturm & Larsen (2015) as summarised in shared/datasets.md section 3, independent of
# the packaged files.
EXPECTED_COUNTS = {"train": 443, "valid": 197, "test": 290}
EXPECTED_PER_GENRE = {
    "blues": 100,
    "classical": 99,
    "country": 98,
    "disco": 93,
    "hiphop": 92,
    "jazz": 87,
    "metal": 91,
    "pop": 84,
    "reggae": 86,
    "rock": 100,
}


def _filtered_lists():
    """{split: [line, ...]} of the packaged lists."""
    lists = {}
    for split, path in zip(("train", "valid", "test"), gtzan.filtered_split_files()):
        with open(path) as handle:
            lists[split] = handle.read().splitlines()
    return lists


def test_packaged_filtered_lists_match_the_published_counts():
    lists = _filtered_lists()

    assert {split: len(lines) for split, lines in lists.items()} == EXPECTED_COUNTS
    every = [line for lines in lists.values() for line in lines]
    assert len(set(every)) == len(every) == 930
    assert all(line == f"{line.split('.')[0]}.{line.split('.')[1]}.wav" for line in every)
    assert collections.Counter(line.split("/")[0] for line in every) == EXPECTED_PER_GENRE
    for path in gtzan.filtered_split_files():
        with open(path, "rb") as handle:
            assert handle.read().endswith(b".wav\n")


@pytest.fixture(scope="module")
def full_gtzan(tmp_path_factory):
    """10 genres x 100 tiny clips: the plan only lists files, it does not read them."""
    root = tmp_path_factory.mktemp("gtzan")
    synthetic.fake_gtzan(root, files_per_genre=100, seconds=0.01, corrupt=None)
    return root


@pytest.mark.parametrize("split_files", ["filtered", ["filtered"]])
def test_filtered_plan_on_full_gtzan(full_gtzan, split_files, caplog):
    with caplog.at_level(logging.INFO):
        plan = gtzan.plan(full_gtzan, split_files=split_files)

    split_of = {job.clip_id: job.split for job in plan.jobs}
    assert split_of["blues.00012"] == "test"
    assert split_of["blues.00029"] == "train"
    assert split_of["blues.00000"] == "valid"
    assert collections.Counter(split_of.values()) == EXPECTED_COUNTS
    listed = {line.split("/")[1][: -len(".wav")] for lines in _filtered_lists().values() for line in lines}
    every = {f"{genre}.{number:05d}" for genre in synthetic.GTZAN_GENRES for number in range(100)}
    dropped = every - set(split_of)
    assert len(dropped) == 70 and not dropped & listed
    assert "70 of the 1000 files" in caplog.text and "none of the split lists (dropped)" in caplog.text
    assert "missing from" not in caplog.text


def test_filtered_keyword_is_the_same_as_the_packaged_paths(full_gtzan):
    by_keyword = gtzan.plan(full_gtzan, split_files="filtered")
    by_paths = gtzan.plan(full_gtzan, split_files=gtzan.filtered_split_files())

    assert [(job.path, job.split) for job in by_keyword.jobs] == [
        (job.path, job.split) for job in by_paths.jobs
    ]


def test_split_files_other_than_three_lists_or_filtered(full_gtzan):
    with pytest.raises(DatasetError, match="expects 'filtered' or 3 files"):
        gtzan.plan(full_gtzan, split_files=["reference"])
    with pytest.raises(DatasetError, match="expects 'filtered' or 3 files"):
        gtzan.plan(full_gtzan, split_files=gtzan.filtered_split_files()[:2])


def _write_listed_files(root, genres, lists):
    """Writes short clips of only the listed files of `genres`; returns {split: count}."""
    counts = collections.Counter()
    for split, lines in lists.items():
        for line in lines:
            genre = line.split("/")[0]
            if genre in genres:
                synthetic.write_audio(
                    root / "genres_original" / line, synthetic.tone(300, 0.05, 22050), 22050, format="WAV"
                )
                counts[split] += 1
    return dict(counts)


def test_cli_split_files_filtered_end_to_end(tmp_path):
    root, out = tmp_path / "gtzan", tmp_path / "out"
    expected = _write_listed_files(root, ("classical", "rock"), _filtered_lists())
    assert expected == {"train": 92, "valid": 44, "test": 63}

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfrecords_tools",
            "gtzan",
            "--root",
            str(root),
            "--out",
            str(out),
            "--split-files",
            "filtered",
            "--segment-length",
            "512",
            "--workers",
            "1",
            "--no-progress",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / schema.MANIFEST).read_text())
    assert manifest["tags"] == ["classical", "rock"]
    assert {split: info["clips"] for split, info in manifest["splits"].items()} == expected
    assert manifest["rejected"] == 0
    assert verify(out).ok
    # the 8 other genres' 731 listed files are not in the folder, and that is reported
    assert "731 of the 930 files on the split lists are missing from" in result.stderr
    assert "train 351, valid 153, test 227" in result.stderr
