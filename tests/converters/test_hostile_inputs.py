"""Hostile or damaged converter inputs: crafted pickles, label files that point
outside the data root, output failures, same-size source changes, duplicate and non-UTF-8 rows."""

import csv
import errno
import json
import logging
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn import files
from keras_samplecnn.data import schema
from tfrecords_tools import artists, cli, dcase2017, folder, interactions, msd_splits, mtat, synthetic, writer
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan, Settings, convert, read_examples

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETTINGS = Settings(sample_rate=8000, segment_length=1000)
MSD_ID = "TRAAAAW128F429D538"


def _records(out):
    shards = sorted(name for name in os.listdir(out) if name.endswith(".tfrecord"))
    return [example for name in shards for example in read_examples(out / name)]


def _rejected(out):
    with open(out / schema.REJECTED, newline="") as handle:
        return {row["path"]: row["reason"] for row in csv.DictReader(handle)}


def _wav(path, frequency, seconds=0.2, rate=8000):
    synthetic.write_audio(path, synthetic.tone(frequency, seconds, rate), rate, format="WAV")


# -- 1. the restricted unpickler ----------------------------------------------------------------

# numpy.ndarray((3,), 'O', buffer=24 bytes): an object array whose "pointers" are the bytes 'A'.
CRAFTED_OBJECT_ARRAY = b"cnumpy\nndarray\n" + b"K\x03" + b"\x8c\x01O" + b"C\x18" + b"A" * 24 + b"\x87R."
_PY2_F4 = b"cnumpy\ndtype\np10\n(S'f4'\np11\nI0\nI1\ntp12\nRp13\n(I3\nS'<'\np14\nNNNI-1\nI-1\nI0\ntp15\nb"
# _reconstruct(ndarray, (0,), 'b') with a state of our choosing, Python 2 protocol 0.
_PY2_RECONSTRUCT = (
    b"cnumpy.core.multiarray\n_reconstruct\np3\n(cnumpy\nndarray\np4\n(I0\ntp5\nS'b'\np6\ntp7\nRp8\n"
)
HOSTILE_PICKLES = {
    "ndarray with an object dtype": CRAFTED_OBJECT_ARRAY,
    # the same array as a tag vector: read_tag_vectors converts it to float (dereferences it)
    "ndarray in a tag-vector dict": b"(dp1\nS'%s'\np2\n%ss." % (MSD_ID.encode(), CRAFTED_OBJECT_ARRAY[:-1]),
    "ndarray with a plain dtype": b"cnumpy\nndarray\nK\x02\x8c\x02f8C\x10" + b"\x00" * 16 + b"\x87R.",
    "_reconstruct with rawdata too short": _PY2_RECONSTRUCT + b"(I1\n(I3\ntp9\n%sI00\nS'ab'\ntb." % _PY2_F4,
    "_reconstruct with a list as rawdata": _PY2_RECONSTRUCT + b"(I1\n(I1\ntp9\n%sI00\n(lI1\natb." % _PY2_F4,
    "_reconstruct of a non-ndarray": b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\ndtype\n(I0\ntS'b'\ntR.",
    "object dtype": pickle.dumps(np.array([1, "a"], dtype=object), protocol=2),
    "void dtype with objects": pickle.dumps(np.zeros(2, dtype=[("a", "O")]), protocol=3),
    "structured dtype": pickle.dumps(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]), protocol=3),
    "object scalar": b"cnumpy.core.multiarray\nscalar\n(cnumpy\ndtype\n(S'O8'\nI0\nI1\ntRS'AAAAAAAA'\ntR.",
}
_CHILD = """
import sys
import numpy as np
from tfrecords_tools import msd_splits
from tfrecords_tools.errors import DatasetError
for name, path in zip(sys.argv[1::2], sys.argv[2::2]):
    try:
        if "tag-vector" in name:
            value = msd_splits.read_tag_vectors(path, 3)
        else:
            value = msd_splits.load_pickle(path)
        print(name, "LOADED", repr(value), np.asarray(value, dtype=np.float64).sum(), flush=True)
    except DatasetError as error:
        print(name, "DatasetError", str(error).replace(chr(10), " "), flush=True)
"""


def test_crafted_pickles_are_clean_errors_not_crashes(tmp_path):
    # In a child process: before the fix the object array segfaults, which would kill pytest.
    argv = []
    for index, (name, data) in enumerate(HOSTILE_PICKLES.items()):
        path = tmp_path / f"evil{index}.cP"
        path.write_bytes(data)
        argv += [name, str(path)]
    child = subprocess.run([sys.executable, "-c", _CHILD, *argv], cwd=REPO, capture_output=True, text=True,
                           timeout=120)  # fmt: skip
    assert child.returncode == 0, f"the loader crashed ({child.returncode}):\n{child.stdout}{child.stderr}"
    lines = child.stdout.splitlines()
    assert len(lines) == len(HOSTILE_PICKLES), child.stdout
    for name, line in zip(HOSTILE_PICKLES, lines):
        assert line.startswith(f"{name} DatasetError") and "refused" in line, line


def test_python2_and_python3_pickles_of_plain_data_still_load(tmp_path):
    # Written as Python 2's cPickle.dump writes them (protocol 0, memo opcodes): a dict of
    # float32 2x2 arrays, raw bytes of [[0, 1], [0.5, -2]] and [[3, 4], [5, 6]] (little-endian).
    first = b"\\x00\\x00\\x00\\x00\\x00\\x00\\x80?\\x00\\x00\\x00?\\x00\\x00\\x00\\xc0"
    second = b"\\x00\\x00@@\\x00\\x00\\x80@\\x00\\x00\\xa0@\\x00\\x00\\xc0@"
    py2_dict = (b"(dp1\nS'" + MSD_ID.encode() + b"'\np2\n" + _PY2_RECONSTRUCT + b"(I1\n(I2\nI2\ntp9\n"
                + _PY2_F4
                + b"I00\nS'" + first + b"'\np16\ntp17\nbsS'TRAAABD128F429CF47'\np18\n"
                + b"g3\n(g4\n(I0\ntp19\ng6\ntp20\nRp21\n(I1\n(I2\nI2\ntp22\ng13\nI00\nS'" + second
                + b"'\np23\ntp24\nbs.")  # fmt: skip
    path = tmp_path / "vectors.cP"
    path.write_bytes(py2_dict)
    loaded = msd_splits.load_pickle(str(path))
    assert sorted(loaded) == [MSD_ID, "TRAAABD128F429CF47"]
    np.testing.assert_array_equal(loaded[MSD_ID], np.array([[0.0, 1.0], [0.5, -2.0]], np.float32))
    np.testing.assert_array_equal(loaded["TRAAABD128F429CF47"], np.array([[3, 4], [5, 6]], np.float32))
    assert all(type(v) is np.ndarray and v.dtype == np.dtype("<f4") for v in loaded.values())
    # A float32 scalar (1.5 = 00 00 c0 3f) in a list with a str, an int and a nested dict.
    scalar = b"cnumpy.core.multiarray\nscalar\np1\n(" + _PY2_F4 + b"S'\\x00\\x00\\xc0?'\ntR"
    path.write_bytes(b"(lp0\n" + scalar + b"aS'x'\naI7\na(dp2\nS'k'\nI1\nsa.")
    loaded = msd_splits.load_pickle(str(path))
    assert loaded == [1.5, "x", 7, {"k": 1}] and type(loaded[0]) is np.float32
    # Python 3 pickles of the same kinds of values, in every protocol that rebuilds arrays
    # from their bytes (2 to 4), C and Fortran order, ints, bools, fixed-size strings.
    values = {
        "c": np.arange(6, dtype=">i2").reshape(2, 3),
        "f": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4) / 8),
        "b": np.array([True, False]),
        "s": np.array([b"ab", b"c"]),
        "u": np.array(["x", "yz"]),
        "n": np.float64(2.25),
    }
    for protocol in (2, 3, 4):
        path.write_bytes(pickle.dumps(values, protocol=protocol))
        loaded = msd_splits.load_pickle(str(path))
        assert sorted(loaded) == sorted(values)
        for key, value in values.items():
            assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape, (protocol, key)
            np.testing.assert_array_equal(loaded[key], value)


# -- 4. label files that point outside the data root ------------------------------------------


def test_folder_csv_paths_outside_the_audio_folder_are_rejected(tmp_path):
    audio = tmp_path / "audio"
    _wav(audio / "in" / "a.wav", 300)
    _wav(tmp_path / "secret.wav", 500)  # beside the audio folder, not in it
    _wav(tmp_path / "secret2.wav", 500)
    outside = ["../secret.wav", str(tmp_path / "secret2.wav"), "in/../../secret2.wav", "..\\secret3.wav"]
    labels = tmp_path / "labels.csv"
    labels.write_text("path,class\nin/a.wav,x\n" + "".join(f"{p},y\n" for p in outside))
    out = tmp_path / "out"

    plan = folder.plan(audio, labels)
    convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)

    assert [e["path"] for e in _records(out)] == ["in/a.wav"]
    rejected = _rejected(out)
    assert len(rejected) == len(outside)
    assert all("outside the audio folder" in reason for reason in rejected.values()), rejected


def test_mtat_mp3_paths_outside_the_root_are_rejected(tmp_path):
    root = tmp_path / "mtat"
    rows = [("2", "0/a-b-01-c-0-29.mp3", {"x"}), ("3", "0/../../secret-b-01-c-0-29.mp3", {"x"})]
    synthetic.write_mtat(root, rows, ["x"], seconds=0.2, sample_rate=8000)  # writes tmp_path/secret...
    assert (tmp_path / "secret-b-01-c-0-29.mp3").is_file()

    plan = mtat.plan(root, num_tags=1)

    assert [job.path for job in plan.jobs] == ["0/a-b-01-c-0-29.mp3"]
    # reported in its normal spelling, as paths are matched
    assert [(r.path, "outside the MTAT root" in r.reason) for r in plan.rejected] == [
        ("../secret-b-01-c-0-29.mp3", True)
    ]


def test_artist_csv_paths_outside_the_audio_folder_are_rejected(tmp_path):
    audio = tmp_path / "audio"
    rows = ["path,artist"]
    for number in range(3):
        _wav(audio / f"ada/{number}.wav", 300 + number)
        _wav(tmp_path / f"secret{number}.wav", 400 + number)
        rows += [f"ada/{number}.wav,Ada", f"../secret{number}.wav,Eve"]
    labels = tmp_path / "artists.csv"
    labels.write_text("\n".join(rows) + "\n")

    plan = artists.plan(audio, labels, tracks_per_artist=(1, 1, 1))

    assert plan.tags == ["Ada"]
    assert all(job.source.startswith(str(audio) + os.sep) for job in plan.jobs)
    outside = {r.path: r.reason for r in plan.rejected if r.path.startswith("../")}
    assert sorted(outside) == [f"../secret{n}.wav" for n in range(3)]
    assert all("outside the audio folder" in reason for reason in outside.values())


def test_dcase_clip_names_that_leave_the_audio_folder_are_rejected(tmp_path):
    root = tmp_path / "dcase"
    sets = {"training": "train_audio", "testing": "test_audio", "evaluation": "eval_audio"}
    for set_name, folder_name in sets.items():
        (root / folder_name).mkdir(parents=True)
        name = f"ok{set_name}_0.000_10.000.wav"
        _wav(root / folder_name / f"Y{name}", 300)
        rows = f"{name}\t0.000\t10.000\tCar\n"
        if set_name == "training":  # Y../../secret_...: "Y.." is a folder name, then ".." leaves
            _wav(tmp_path / "secret_0.000_10.000.wav", 500)
            rows += "../../../secret_0.000_10.000.wav\t0.000\t10.000\tCar\n"
        (root / f"groundtruth_weak_label_{set_name}_set.csv").write_text(rows)
    (root / sets["training"] / "Y..").mkdir()  # so that the escape also resolves on disk
    (root / "sound_event_list_17_classes.txt").write_text("Class_ID\tConfidence\tLabel\n/m/0k4j\t10\tCar\n")

    plan = dcase2017.plan(root, train_audio=sets["training"], test_audio=sets["testing"],
                          eval_audio=sets["evaluation"], split="official")  # fmt: skip

    expected = [f"ok{s}_0.000_10.000" for s in ("evaluation", "testing", "training")]
    assert sorted(job.clip_id for job in plan.jobs) == expected
    reasons = [r.reason for r in plan.rejected]
    assert len(reasons) == 1 and "outside the audio folder" in reasons[0], reasons


def test_writer_rejects_a_job_outside_the_plan_root(tmp_path):
    root = tmp_path / "root"
    _wav(root / "a.wav", 300)
    _wav(tmp_path / "secret.wav", 500)
    (root / "sub").mkdir()
    os.symlink(tmp_path / "secret.wav", root / "sub" / "link.wav")  # made by the root's owner: followed
    jobs = [
        ClipJob(str(root / "a.wav"), "a.wav", "a", (1.0,), "train"),
        ClipJob(str(root / ".." / "secret.wav"), "../secret.wav", "secret", (1.0,), "train"),
        ClipJob(str(tmp_path / "secret.wav"), "secret.wav", "secret2", (1.0,), "train"),
        ClipJob(str(root / "sub" / "link.wav"), "sub/link.wav", "link", (1.0,), "train"),
    ]
    plan = DatasetPlan(dataset="toy", task="multi_label", tags=["x"], source=str(root), jobs=jobs)
    out = tmp_path / "out"

    manifest = convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)

    assert sorted(e["clip_id"] for e in _records(out)) == ["a", "link"]
    rejected = _rejected(out)
    assert sorted(rejected) == ["../secret.wav", "secret.wav"] and manifest["rejected"] == 2
    assert all("outside the dataset root" in reason for reason in rejected.values())
    assert len(plan.jobs) == 4  # the caller's plan is not changed


# -- 10. output failures: one line and a documented exit code, no partial files -------------------


def _folder_args(tmp_path, out):
    audio = tmp_path / "audio"
    for name in ("a", "b", "c"):
        _wav(audio / f"{name}.wav", 300)
    labels = tmp_path / "labels.csv"
    labels.write_text("path,class,split\na.wav,x,train\nb.wav,y,valid\nc.wav,x,test\n")
    return ["folder", "--audio-dir", str(audio), "--labels", str(labels), "--out", str(out), "--workers", "1",
            "--no-progress", "--sample-rate", "8000", "--segment-length", "1000"]  # fmt: skip


def _one_error_line(caplog, *words):
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0] and "Traceback" not in errors[0], errors
    assert all(word in errors[0] for word in words), errors


def test_an_output_path_that_is_a_file_exits_3(tmp_path, caplog):
    out = tmp_path / "out"
    out.write_text("not a folder")
    assert cli.main(_folder_args(tmp_path, out)) == 3
    _one_error_line(caplog, str(out))


def test_an_unwritable_output_folder_exits_3(tmp_path, monkeypatch, caplog):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    argv = _folder_args(tmp_path, parent / "out")
    if not hasattr(os, "geteuid") or os.geteuid() == 0:  # root ignores the mode: the refusal simulated
        def makedirs(path, *args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

        monkeypatch.setattr(writer.os, "makedirs", makedirs)
    try:
        assert cli.main(argv) == 3
    finally:
        parent.chmod(0o755)
    _one_error_line(caplog, "Permission denied", str(parent / "out"))


def test_disk_full_while_writing_the_manifest_exits_3_and_leaves_no_temp_file(tmp_path, monkeypatch, caplog):
    out = tmp_path / "out"
    real_dump = json.dump

    def dump(content, handle, **kwargs):
        if isinstance(content, dict) and "splits" in content:  # the manifest
            handle.write('{"dataset": ')
            handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        real_dump(content, handle, **kwargs)

    monkeypatch.setattr(files.json, "dump", dump)
    assert cli.main(_folder_args(tmp_path, out)) == 3
    _one_error_line(caplog, "No space left on device")
    assert not [name for name in os.listdir(out) if name.endswith(".tmp") or name.startswith(".tmp")]
    assert not (out / schema.MANIFEST).exists()
    monkeypatch.undo()
    assert cli.main(_folder_args(tmp_path, out)) == 0  # the rerun resumes and finishes
    assert (out / schema.MANIFEST).is_file()


def test_failed_csv_writes_leave_no_temp_file(tmp_path, monkeypatch):
    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def writerow(self, row):
            self.handle.write("partial")
            raise OSError(errno.ENOSPC, "No space left on device")

        writerows = writerow

    class CsvModule:  # csv, whose writer fails
        def __getattr__(self, name):
            return getattr(csv, name)

        writer = staticmethod(lambda handle, *args, **kwargs: FullDisk(handle))

    monkeypatch.setattr(writer, "csv", CsvModule())
    (tmp_path / schema.REJECTED).write_text("path,reason\nold,kept\n")
    with pytest.raises(OSError, match="No space"):
        writer._write_rejected(str(tmp_path), [writer.Rejected("a", "b")])
    plan = DatasetPlan(dataset="toy", task="multi_label", tags=["x"], source=str(tmp_path), jobs=[])
    with pytest.raises(OSError, match="No space"):
        writer._write_clips(str(tmp_path), plan, [])
    assert sorted(os.listdir(tmp_path)) == [schema.REJECTED]
    assert (tmp_path / schema.REJECTED).read_text() == "path,reason\nold,kept\n"


def test_failed_json_write_keeps_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "state.json"
    files.write_json_atomic(str(path), {"a": 1})
    with pytest.raises(TypeError):
        files.write_json_atomic(str(path), {"a": object()})  # not JSON: fails half-way through
    assert os.listdir(tmp_path) == ["state.json"]
    assert json.loads(path.read_text()) == {"a": 1}


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, monkeypatch, caplog):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "convert", interrupted)
    assert cli.main(_folder_args(tmp_path, tmp_path / "out")) == 130
    _one_error_line(caplog, "interrupted", "rerun the same command to resume")


# -- 12. resuming, duplicates, encodings ---------------------------------------------------------


def test_a_same_size_change_of_a_source_file_rewrites_its_shard(tmp_path):
    audio = tmp_path / "audio"
    _wav(audio / "a.wav", 300)
    _wav(audio / "b.wav", 350)
    labels = tmp_path / "labels.csv"
    labels.write_text("path,class,split\na.wav,x,train\nb.wav,y,train\n")
    out = tmp_path / "out"
    convert(folder.plan(audio, labels), out, SETTINGS, num_shards=1, workers=1, show_progress=False)
    before = os.stat(audio / "a.wav")

    _wav(audio / "a.wav", 700)  # other samples, same format and length: the same size
    os.utime(audio / "a.wav", ns=(before.st_atime_ns, before.st_mtime_ns + 5_000_000_000))
    assert os.path.getsize(audio / "a.wav") == before.st_size
    plan = folder.plan(audio, labels)
    manifest = convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)

    stored = {e["clip_id"]: e["audio"] for e in _records(out)}
    np.testing.assert_array_equal(stored["a"], sf.read(audio / "a.wav", dtype="int16")[0])
    assert json.loads((out / writer.CONVERSION).read_text())["shards_written"] == 1
    assert manifest["splits"]["train"]["clips"] == 2


def test_folder_paths_are_normalised_before_the_duplicate_check(tmp_path):
    audio = tmp_path / "audio"
    _wav(audio / "a.wav", 300)
    labels = tmp_path / "labels.csv"
    for second in ("./a.wav", "sub/../a.wav", ".\\a.wav", "a.wav"):
        labels.write_text(f"path,class,clip_id\na.wav,x,one\n{second},y,two\n")
        with pytest.raises(DatasetError, match=r"line 3: a.wav is already listed on line 2"):
            folder.plan(audio, labels)
    labels.write_text("path,class\n./sub//../a.wav,x\n")
    assert [(j.path, j.clip_id) for j in folder.plan(audio, labels).jobs] == [("a.wav", "a")]


def test_duplicate_clip_ids_are_errors(tmp_path):
    audio = tmp_path / "audio"
    _wav(audio / "a.wav", 300)
    _wav(audio / "a.flac", 300)
    labels = tmp_path / "labels.csv"
    labels.write_text("path,class\na.wav,x\na.flac,y\n")  # both default to clip id "a"
    with pytest.raises(DatasetError, match=r"line 3: clip_id 'a' is already used on line 2"):
        folder.plan(audio, labels)
    labels.write_text("path,class,clip_id\na.wav,x,same\na.flac,y,same\n")
    with pytest.raises(DatasetError, match=r"line 3: clip_id 'same' is already used on line 2"):
        folder.plan(audio, labels)

    jobs = [ClipJob(str(audio / "a.wav"), "a.wav", "same", (1.0,), "train"),
            ClipJob(str(audio / "a.flac"), "a.flac", "same", (1.0,), "test")]  # fmt: skip
    plan = DatasetPlan(dataset="toy", task="multi_label", tags=["x"], source=str(audio), jobs=jobs)
    with pytest.raises(DatasetError, match=r"clip_id 'same' .*a.wav.* and .*a.flac"):
        convert(plan, tmp_path / "out", SETTINGS, num_shards=1, workers=1, show_progress=False)


@pytest.mark.parametrize(
    ("reader", "header"),
    [
        (lambda tmp_path, path: folder.plan(tmp_path, path), b"path,class\n"),
        (lambda tmp_path, path: artists.plan(tmp_path, path), b"path,artist\n"),
        (lambda tmp_path, path: interactions.read_interactions_csv(str(path)), b"user,item,count\n"),
        (lambda tmp_path, path: mtat.read_annotations(str(path)), b'"clip_id"\t"x"\t"mp3_path"\n'),
    ],
)
def test_label_files_that_are_not_utf8_name_the_line_and_byte(tmp_path, reader, header):
    # Line 3 holds a Latin-1 'e acute' (0xE9), at byte offset len(header) + 9 + 4.
    path = tmp_path / "labels.csv"
    first = b"a.wav,u,1\n" if b"," in header else b'"2"\t"1"\t"a.wav"\n'
    bad = b"caf\xe9.wav,x,1\n" if b"," in header else b'"3\xe9"\t"1"\t"b.wav"\n'
    path.write_bytes(header + first + bad)
    offset = len(header) + len(first) + bad.index(b"\xe9")
    with pytest.raises(DatasetError, match=rf"labels.csv, line 3 \(byte {offset}\): not UTF-8"):
        reader(tmp_path, path)


def test_msd_track_lists_read_latin1_lines_as_latin1_and_say_so(tmp_path, caplog):
    path = tmp_path / "unique_tracks.txt"
    path.write_bytes(b"TRA<SEP>SOA<SEP>Caf\xc3\xa9<SEP>x\nTRB<SEP>SOB<SEP>Beyonc\xe9<SEP>y\n")
    with caplog.at_level(logging.WARNING):
        tracks = artists._read_msd_tracks(str(path))
    assert [artist for _, artist, _ in tracks] == ["Café", "Beyoncé"]
    assert "1 lines are not UTF-8" in caplog.text and "line 2" in caplog.text
