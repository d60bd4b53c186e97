"""tfrecords_tools msd / msd-splits: both split formats, both audio keyings, three tag sources,
rejected tracks, the restricted unpickler, the pinned download's count check, the CLI."""

import csv
import glob
import json
import os
import pickle
import shutil

import numpy as np
import pytest

from keras_samplecnn.datasets import demo_msd, make_demo_msd
from tfrecords_tools import cli, msd, msd_splits
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import read_examples

TAGS = msd.top50_tags()
SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_msd(tmp_path_factory.mktemp("demo_msd"), n_tracks=40, seed=3, clip_seconds=2.0)


def _listed_split(track, split):
    return track.choi_split if split == "choi" else track.lee_split


def _expected(demo, split, min_value=0.0, vectors=False):
    """`{track id: (split, labels)}` to convert and `{track id: reason word}` to reject, from the
    generator's own record of what it wrote (Last.fm values as strings; vectors: value > 0)."""
    keep, reject = {}, {}
    for track in demo.tracks:
        name = _listed_split(track, split)
        if name is None:
            continue
        if not track.has_audio:
            reject[track.track_id] = "no preview"
            continue
        if not track.in_tag_source:
            reject[track.track_id] = "no tags"
            continue
        floor = 0.0 if vectors else min_value
        values = [float(track.tags.get(tag, "0")) for tag in TAGS]
        labels = tuple(1.0 if value > 0 and value >= floor else 0.0 for value in values)
        if not any(labels):
            reject[track.track_id] = "none of the 50 tags"
            continue
        keep[track.track_id] = (name, labels)
    return keep, reject


def _sources(demo):
    return {
        "db": {"lastfm_db": demo.path(demo_msd.LASTFM_DB)},
        "json": {"lastfm_json": [demo.path(demo_msd.LASTFM_JSON)]},
        "vectors": {"tag_vectors": os.path.join(demo.path(demo_msd.LEE_FOLDER), msd_splits.LEE_TAG_VECTORS)},
    }


def _plan(demo, split, keying_folder, source, **kwargs):
    folder = demo_msd.LEE_FOLDER if split == "lee" else demo_msd.CHOI_FOLDER
    return msd.plan(
        demo.path(demo_msd.AUDIO_FOLDERS[keying_folder]),
        split=split,
        split_dir=demo.path(folder),
        lee_train_size=demo.lee_train_size,
        **_sources(demo)[source],
        **kwargs,
    )


@pytest.mark.parametrize("source", ["db", "json", "vectors"])
@pytest.mark.parametrize("keying_folder", demo_msd.KEYINGS)
@pytest.mark.parametrize("split", ["lee", "choi"])
def test_plan_labels_splits_and_rejections(demo, split, keying_folder, source):
    plan = _plan(demo, split, keying_folder, source)
    keep, reject = _expected(demo, split, vectors=source == "vectors")
    assert plan.dataset == "msd" and plan.task == "multi_label" and plan.tags == TAGS
    assert {job.clip_id: (job.split, job.labels) for job in plan.jobs} == keep
    assert len(plan.jobs) == len(keep)  # no track twice
    got = {r.path: r.reason for r in plan.rejected}
    assert set(got) == set(reject)
    for track_id, word in reject.items():
        assert word in got[track_id]
    # Every kind of rejection occurs in the demo, and nothing listed is lost.
    assert set(reject.values()) == {"no preview", "no tags", "none of the 50 tags"}
    listed = sum(_listed_split(t, split) is not None for t in demo.tracks)
    assert len(plan.jobs) + len(plan.rejected) == listed
    by_id = {t.track_id: t for t in demo.tracks}
    for job in plan.jobs:
        track = by_id[job.clip_id]
        if keying_folder == "7digital":
            assert job.path == demo_msd.seven_digital_path(track.seven_digital_id)
        elif keying_folder == "msd-tree":
            assert job.path == demo_msd.msd_tree_path(track.track_id)
        else:
            assert job.path in (f"{track.track_id}.mp3", f"{track.track_id}.clip.mp3")
        assert os.path.isfile(job.source)


def test_lee_is_the_default_and_a_filtered_subset_of_choi(demo):
    lee = {t.track_id: t.lee_split for t in demo.tracks if t.lee_split}
    choi = {t.track_id: t.choi_split for t in demo.tracks}
    assert all(choi[track_id] == split for track_id, split in lee.items())
    assert len(lee) < len(choi)  # tracks "shorter than 29.1 s" are out of Lee's lists
    with open(os.path.join(demo.path(demo_msd.LEE_FOLDER), "filtered_list_train.cP"), "rb") as handle:
        assert handle.read(6) == b"(lp1\nS"  # Python 2 protocol 0, as the real file
    default = msd.plan(demo.path("audio_7digital"), split_dir=demo.path(demo_msd.LEE_FOLDER),
                       lastfm_db=demo.path(demo_msd.LASTFM_DB), lee_train_size=demo.lee_train_size)  # fmt: skip
    assert {job.clip_id for job in default.jobs} == set(_expected(demo, "lee")[0])


def test_min_tag_value_and_keying_options(demo):
    plan = _plan(demo, "choi", "msd-tree", "db", min_tag_value=50)
    keep, reject = _expected(demo, "choi", min_value=50)
    assert {job.clip_id: job.labels for job in plan.jobs} == {k: v[1] for k, v in keep.items()}
    assert keep != _expected(demo, "choi")[0]  # the threshold matters in the demo
    # A forced keying finds nothing in the other tree: every listed track is a missing preview.
    only_ids = _plan(demo, "lee", "7digital", "db", keying="track-id")
    assert not only_ids.jobs and all("no preview" in r.reason for r in only_ids.rejected)
    only_7d = _plan(demo, "lee", "msd-flat", "json", keying="7digital")
    assert not only_7d.jobs and all("no preview" in r.reason for r in only_7d.rejected)


def test_seven_digital_ids_need_a_map(demo, tmp_path):
    lee = tmp_path / "lee"
    shutil.copytree(demo.path(demo_msd.LEE_FOLDER), lee)
    os.remove(lee / msd_splits.LEE_ID_MAP)
    kwargs = {
        "split_dir": lee,
        "lastfm_db": demo.path(demo_msd.LASTFM_DB),
        "lee_train_size": demo.lee_train_size,
    }
    with pytest.raises(DatasetError, match="--keying 7digital needs"):
        msd.plan(demo.path("audio_7digital"), keying="7digital", **kwargs)
    auto = msd.plan(demo.path("audio_7digital"), **kwargs)  # auto: by track id only, so all missing
    assert not auto.jobs and "no 7digital id known" in auto.rejected[0].reason
    # Choi's aligned lists in the same folder stand in for Lee's map.
    for name in msd_splits.CHOI_FILES:
        shutil.copy(os.path.join(demo.path(demo_msd.CHOI_FOLDER), name), lee)
    with_choi = msd.plan(demo.path("audio_7digital"), **kwargs)
    assert {job.clip_id for job in with_choi.jobs} == set(_expected(demo, "lee")[0])


def test_bad_split_folders_are_clear_errors(demo, tmp_path, monkeypatch, caplog):
    choi = tmp_path / "choi"
    shutil.copytree(demo.path(demo_msd.CHOI_FOLDER), choi)
    db = {"lastfm_db": demo.path(demo_msd.LASTFM_DB)}
    with caplog.at_level("WARNING"):
        msd.plan(demo.path("audio_msd_tree"), split="choi", split_dir=choi, **db)
    assert "published 201,680" in caplog.text and "published 28,540" in caplog.text
    lines = (choi / "valid_x_7d_id.txt").read_text().splitlines()
    (choi / "valid_x_7d_id.txt").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DatasetError, match="aligned line by line"):
        msd.plan(demo.path("audio_msd_tree"), split="choi", split_dir=choi, **db)
    (choi / "valid_x_7d_id.txt").write_text("\n".join(lines) + "\n")
    train_id = (choi / "train_x_msd_id.txt").read_text().split()[0]
    with open(choi / "test_x_msd_id.txt", "a") as handle:
        handle.write(train_id + "\n")
    with open(choi / "test_x_7d_id.txt", "a") as handle:
        handle.write("123\n")
    with pytest.raises(DatasetError, match="listed in both the train and test"):
        msd.plan(demo.path("audio_msd_tree"), split="choi", split_dir=choi, **db)
    with pytest.raises(DatasetError, match="--lee-train-size"):
        msd.plan(demo.path("audio_7digital"), split_dir=demo.path(demo_msd.LEE_FOLDER), **db)  # 201,680
    with pytest.raises(DatasetError, match="msd-splits --which lee"):
        msd.plan(demo.path("audio_7digital"), split_dir=tmp_path, **db)
    monkeypatch.setattr(msd_splits, "default_split_dir", lambda: str(tmp_path / "absent"))
    with pytest.raises(DatasetError, match="python -m tfrecords_tools msd-splits"):
        msd.plan(demo.path("audio_7digital"), **db)
    with pytest.raises(DatasetError, match="exactly one tag source"):
        msd.plan(demo.path("audio_7digital"), split_dir=demo.path(demo_msd.LEE_FOLDER))


def test_restricted_unpickler_refuses_code_and_reads_the_real_formats(tmp_path):
    marker = tmp_path / "pwned"
    attacks = {
        "os.system": f"cos\nsystem\n(S'touch {marker}'\ntR.".encode(),
        "posix.system": f"cposix\nsystem\n(S'touch {marker}'\ntR.".encode(),
        "builtins.eval": b"cbuiltins\neval\n(S'1+1'\ntR.",
        "object dtype": pickle.dumps(np.array([1, "a"], dtype=object), protocol=2),
    }
    for name, data in attacks.items():
        path = tmp_path / "evil.cP"
        path.write_bytes(data)
        with pytest.raises(DatasetError, match="refused"):
            msd_splits.load_pickle(str(path))
    assert not marker.exists()
    # Python 2 protocol 0 strs, and bytes items (Python 3 pickles) are both MSD ids.
    ids = ["TRAADIN128F931D672", "TRAADQW128F427CE68"]
    (tmp_path / "py2.cP").write_bytes(b"(lp1\nS'TRAADIN128F931D672'\np2\naS'TRAADQW128F427CE68'\np3\na.")
    (tmp_path / "bytes.cP").write_bytes(pickle.dumps([i.encode() for i in ids], protocol=3))
    assert msd_splits.read_id_list(str(tmp_path / "py2.cP")) == ids
    assert msd_splits.read_id_list(str(tmp_path / "bytes.cP")) == ids
    (tmp_path / "bad.cP").write_bytes(b"(lp1\nS'not an id'\np2\na.")
    with pytest.raises(DatasetError, match="not an MSD track id"):
        msd_splits.read_id_list(str(tmp_path / "bad.cP"))


def _mirror(demo, base):
    """The demo's split files at the raw-GitHub paths of the pinned commits, under `base`."""
    choi = base / msd_splits.CHOI_REPO / msd_splits.CHOI_COMMIT
    lee = base / msd_splits.LEE_REPO / msd_splits.LEE_COMMIT / msd_splits.LEE_FOLDER
    choi.mkdir(parents=True)
    lee.mkdir(parents=True)
    for name in msd_splits.CHOI_FILES:
        shutil.copy(os.path.join(demo.path(demo_msd.CHOI_FOLDER), name), choi)
    for name in (*msd_splits.LEE_FILES, msd_splits.LEE_TAG_VECTORS):
        shutil.copy(os.path.join(demo.path(demo_msd.LEE_FOLDER), name), lee)
    counts = {"choi": {s: sum(t.choi_split == s for t in demo.tracks) for s in SPLITS},
              "lee": {s: sum(t.lee_split == s for t in demo.tracks) for s in SPLITS}}  # fmt: skip
    return base.as_uri(), counts


def test_msd_splits_downloads_checks_counts_and_refuses_mismatches(demo, tmp_path):
    base_url, counts = _mirror(demo, tmp_path / "mirror")
    assert counts["lee"]["train"] == demo.lee_train_size
    out = tmp_path / "splits"
    written = msd_splits.download(
        "both", str(out), base_url, expected=counts, tag_vectors=True, progress=False
    )
    assert sorted(os.listdir(out)) == sorted(
        (*msd_splits.CHOI_FILES, *msd_splits.LEE_FILES, msd_splits.LEE_TAG_VECTORS)
    )
    assert len(written) == 10
    for name in msd_splits.LEE_FILES:
        with (
            open(out / name, "rb") as got,
            open(os.path.join(demo.path(demo_msd.LEE_FOLDER), name), "rb") as want,
        ):
            assert got.read() == want.read()
    # The downloaded folder is a split folder for the converter, both splits in one place.
    plan = msd.plan(
        demo.path("audio_7digital"), split="choi", split_dir=out, tag_vectors=out / msd_splits.LEE_TAG_VECTORS
    )
    assert {job.clip_id for job in plan.jobs} == set(_expected(demo, "choi", vectors=True)[0])

    for which, split in (("choi", "test"), ("lee", "valid")):
        wrong = json.loads(json.dumps(counts))
        wrong[which][split] += 1
        refused = tmp_path / f"refused_{which}"
        with pytest.raises(
            DatasetError, match=f"refused the {which} split.*{split}: {counts[which][split]} ids"
        ):
            msd_splits.download(which, str(refused), base_url, expected=wrong, progress=False)
        assert os.listdir(refused) == []  # nothing written, no staging folder left
    with pytest.raises(DatasetError, match="could not download"):
        msd_splits.download("lee", str(tmp_path / "nowhere"), (tmp_path / "empty").as_uri(), expected=counts,
                            progress=False)  # fmt: skip
    # The command checks the published counts, which the demo's files do not have: exit 2.
    command_out = tmp_path / "command"
    assert cli.main(["msd-splits", "--out", str(command_out), "--base-url", base_url, "--no-progress"]) == 2
    assert os.listdir(command_out) == []


def test_count_check_against_the_published_numbers():
    published = msd_splits.PUBLISHED_COUNTS
    assert published["choi"] == {"train": 201_680, "valid": 12_634, "test": 28_540}
    assert published["lee"] == {"train": 201_680, "valid": 11_774, "test": 28_435}
    assert msd_splits.count_mismatches(dict(published["lee"]), published["lee"]) == []
    problems = msd_splits.count_mismatches(
        {"train": 201_680, "valid": 11_773, "test": 28_435}, published["lee"]
    )
    assert problems == ["valid: 11773 ids, published 11,774"]
    urls = dict(msd_splits.file_urls("both"))
    assert urls["filtered_list_test.cP"] == (
        "https://raw.githubusercontent.com/jongpillee/music_dataset_split/"
        "8a3ce9e3af300e6d3d3775faa99c209670ce7b45/MSD_split/filtered_list_test.cP"
    )
    assert urls["valid_x_7d_id.txt"].endswith("f5690f26323819324cb3d54fb9ea15885d50c818/valid_x_7d_id.txt")
    assert msd_splits.LEE_TAG_VECTORS not in urls and len(urls) == 9


def test_cli_converts_and_lists_every_missing_preview(demo, tmp_path):
    out = tmp_path / "out"
    argv = ["msd", "--audio-dir", demo.path("audio_msd_tree"), "--split-dir", demo.path(demo_msd.LEE_FOLDER),
            "--lee-train-size", str(demo.lee_train_size), "--lastfm-db", demo.path(demo_msd.LASTFM_DB),
            "--out", str(out), "--sample-rate", "8000", "--segment-length", "800", "--workers", "1",
            "--no-progress"]  # fmt: skip
    assert cli.main(argv) == 0
    keep, reject = _expected(demo, "lee")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"] == "msd" and manifest["tags"] == TAGS and manifest["task"] == "multi_label"
    assert {s: manifest["splits"][s]["clips"] for s in SPLITS} == {
        s: sum(split == s for split, _ in keep.values()) for s in SPLITS
    }
    with open(out / "rejected.csv", newline="") as handle:
        rejected = {row["path"]: row["reason"] for row in csv.DictReader(handle)}
    missing = {t for t, word in reject.items() if word == "no preview"}
    assert missing and {p for p, r in rejected.items() if "no preview" in r} == missing
    assert set(rejected) == set(reject)
    with open(out / "clips.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["clip_id"] for row in rows} == set(keep)
    by_id = {t.track_id: t for t in demo.tracks}
    assert all(row["seven_digital_id"] == by_id[row["clip_id"]].seven_digital_id for row in rows)
    examples = [e for shard in sorted(glob.glob(str(out / "*.tfrecord"))) for e in read_examples(shard)]
    assert len(examples) == len(keep)
    for example in examples:
        np.testing.assert_array_equal(example["labels"], keep[example["clip_id"]][1])
    assert cli.main([*argv[:-1], "--split", "choi"]) == 2  # Lee's folder has no Choi lists


def test_demo_command_is_deterministic_and_checks_its_arguments(tmp_path, capsys):
    argv = ["--tracks", "20", "--seconds", "0.5", "--keyings", "msd-flat"]
    assert (
        demo_msd.main([str(tmp_path / "a"), *argv]) == 0 and demo_msd.main([str(tmp_path / "b"), *argv]) == 0
    )
    assert "python -m tfrecords_tools msd --audio-dir" in capsys.readouterr().out
    assert not (tmp_path / "a" / demo_msd.AUDIO_FOLDERS["7digital"]).exists()
    for folder in (demo_msd.CHOI_FOLDER, demo_msd.LEE_FOLDER):
        for name in sorted(os.listdir(tmp_path / "a" / folder)):
            assert (tmp_path / "a" / folder / name).read_bytes() == (
                tmp_path / "b" / folder / name
            ).read_bytes()
    with pytest.raises(ValueError, match="n_tracks"):
        make_demo_msd(tmp_path / "c", n_tracks=5)
    with pytest.raises(ValueError, match="keyings"):
        make_demo_msd(tmp_path / "c", keyings=("7d",))
