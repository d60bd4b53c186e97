"""Fuzzing the `folder` converter with mutated WAV, FLAC and MP3 files and mutated label CSVs.

Every input must end as a clean per-file rejection (in `rejected.csv`) or as a clip whose
stored samples are what `load_audio` returns; a malformed label file must end as a clean
`DatasetError`. No crash, no hang, no decode that takes long or allocates from a lying header,
and the unmutated files always stored.

The files are decoded first in a subprocess under an address-space limit, so that a crash in
libsndfile fails the test instead of killing pytest, and a huge allocation fails there instead
of swapping. The base files are written by libsndfile itself (its MP3 support encodes with
LAME). Everything is seeded, so a failure reproduces.
"""

import csv
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.audio import AudioDecodeError, load_audio, to_int16
from keras_samplecnn.data import schema
from tests.hostile_audio import ROOT
from tfrecords_tools import folder, writer
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import Settings, convert

SEED = 20240624
MUTANTS_PER_BASE = 100  # 6 bases: 600 mutated files
SETTINGS = Settings(sample_rate=16000, segment_length=2048)
MAX_DECODE_SECONDS = 2.0  # each file; a lying header is refused in milliseconds

# Values that headers may hold but no real file has.
_WAV_RATES = [0, 1, 2, 3999, 768001, 2**31 - 1, 2**32 - 1]
_WAV_CHANNELS = [0, 3, 65, 1023, 1024, 65535]
_WAV_BITS = [0, 1, 7, 12, 64, 255, 65535]
_WAV_SIZES = [0, 1, 3, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFF0]
_FLAC_TOTALS = [0, 1, 2, 2**20, 2**30, 2**36 - 1]
_U32 = [0, 1, 2**31 - 1, 2**32 - 1]


def _tone(seconds, rate, channels, frequency=440.0):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.4 * np.sin(2 * np.pi * frequency * t)
    return np.stack([x, 0.5 * x], axis=1) if channels == 2 else x


def _bases(folder_path):
    """Small valid files: `{name: bytes}`."""
    specs = {
        "mono.wav": dict(rate=16000, channels=1, format="WAV", subtype="PCM_16"),
        "stereo.wav": dict(rate=22050, channels=2, format="WAV", subtype="FLOAT"),
        "mono.flac": dict(rate=16000, channels=1, format="FLAC", subtype="PCM_16"),
        "stereo.flac": dict(rate=44100, channels=2, format="FLAC", subtype="PCM_24"),
        "mono.mp3": dict(rate=16000, channels=1, format="MP3", subtype=None),
        "stereo.mp3": dict(rate=44100, channels=2, format="MP3", subtype=None),
    }
    bases = {}
    for name, spec in specs.items():
        path = folder_path / name
        sf.write(path, _tone(0.3, spec["rate"], spec["channels"]), spec["rate"], format=spec["format"],
                 subtype=spec["subtype"])  # fmt: skip
        bases[name] = path.read_bytes()
    return bases


def _put(data, offset, fmt, value):
    if 0 <= offset and offset + struct.calcsize(fmt) <= len(data):
        struct.pack_into(fmt, data, offset, value)


def _mutate_fields(rng, name, data):
    """Sets one header field to an extreme value."""
    if name.endswith(".wav"):
        fmt, chunk = data.find(b"fmt "), data.find(b"data")
        field = rng.integers(6)
        if field == 0:
            _put(data, fmt + 12, "<I", int(rng.choice(_WAV_RATES)))
        elif field == 1:
            _put(data, fmt + 10, "<H", int(rng.choice(_WAV_CHANNELS)))
        elif field == 2:
            _put(data, fmt + 22, "<H", int(rng.choice(_WAV_BITS)))
        elif field == 3:
            _put(data, chunk + 4, "<I", int(rng.choice(_WAV_SIZES)))
        elif field == 4:
            _put(data, fmt + 20, "<H", int(rng.choice([0, 1, 65535])))  # block align
        else:
            _put(data, 4, "<I", int(rng.choice(_WAV_SIZES)))  # RIFF size
    elif name.endswith(".flac"):
        # STREAMINFO: bytes 8..11 block sizes, 18..25 rate (20 bits), channels - 1 (3),
        # bits - 1 (5) and total frames (36).
        word = int.from_bytes(data[18:26], "big")
        field = rng.integers(5)
        if field == 0:
            word = (word & ~(0xFFFFF << 44)) | (int(rng.choice([0, 1, 2, 3999, 2**20 - 1])) << 44)
        elif field == 1:
            word = (word & ~(0x7 << 41)) | (int(rng.integers(8)) << 41)
        elif field == 2:
            word = (word & ~(0x1F << 36)) | (int(rng.integers(32)) << 36)
        elif field == 3:
            word = (word >> 36 << 36) | int(rng.choice(_FLAC_TOTALS))
        else:
            _put(data, 8 + 2 * int(rng.integers(2)), ">H", int(rng.choice([0, 1, 15, 65535])))
        data[18:26] = word.to_bytes(8, "big")
    else:
        xing = data.find(b"Xing")
        field = rng.integers(3)
        if field == 0 and xing >= 0:
            _put(data, xing + 8, ">I", int(rng.choice(_U32)))  # frame count
        elif field == 1 and xing >= 0:
            _put(data, xing + 12, ">I", int(rng.choice(_U32)))  # byte count
        else:
            data[2] = int(rng.integers(256))  # bitrate, sample rate and padding of frame 1
    return data


def _mutants(rng, bases):
    """`{file name: bytes}`: flips in the first 64 bytes, truncation, extreme fields, or a mix."""
    mutants = {}
    for base_name, base in bases.items():
        stem, ext = os.path.splitext(base_name)
        for i in range(MUTANTS_PER_BASE):
            data = bytearray(base)
            kind = ("flip", "truncate", "field", "field+flip", "field+truncate")[i % 5]
            if "field" in kind:
                data = _mutate_fields(rng, base_name, data)
            if "flip" in kind:
                for _ in range(rng.integers(1, 5)):
                    data[rng.integers(64)] = rng.integers(256)
            if "truncate" in kind:
                data = data[: rng.integers(1, len(data))]
            mutants[f"{stem}-{i:03d}-{kind.replace('+', '-')}{ext}"] = bytes(data)
    # An ID3v2 tag declaring 256 MB before an MP3.
    mutants["id3-huge.mp3"] = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + bases["mono.mp3"]
    return mutants


_DECODE_ALL = """
import json, resource, sys, time
from tests.hostile_audio import standalone_audio_module
audio = standalone_audio_module()
status = open("/proc/self/status").read().split("VmSize:")[1]
limit = int(status.split()[0]) * 1024 + 768 * 2**20  # what is mapped now plus 768 MiB
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
for path in json.load(open(sys.argv[1])):
    print(json.dumps({"start": path}), flush=True)  # the last line names the file if this crashes
    start = time.perf_counter()
    try:
        outcome = {"samples": int(audio.load_audio(path, 16000).shape[0])}
    except audio.AudioDecodeError as error:
        outcome = {"rejected": error.reason}
    except BaseException as error:
        outcome = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps({"path": path, "seconds": time.perf_counter() - start, **outcome}), flush=True)
"""


def _decode_in_subprocess(tmp_path, paths):
    """`{path: outcome}` from decoding each file in a memory-limited subprocess."""
    listing = tmp_path / "paths.json"
    listing.write_text(json.dumps([str(path) for path in paths]))
    result = subprocess.run(
        [sys.executable, "-c", _DECODE_ALL, str(listing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    crashed = lines[-1].get("start") if lines else "before the first file"
    assert result.returncode == 0, (
        f"decoding crashed on {crashed} (exit {result.returncode}): {result.stderr[-2000:]}"
    )
    return {line["path"]: line for line in lines if "path" in line}


def _stored(out):
    records = {}
    for name in sorted(os.listdir(out)):
        if name.endswith(".tfrecord") and not name.startswith("."):
            for example in writer.read_examples(out / name):
                assert example["path"] not in records, f"{example['path']} stored twice"
                records[example["path"]] = example
    return records


def _rejected(out):
    with open(out / schema.REJECTED, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    reasons = {row["path"]: row["reason"] for row in rows}
    assert len(reasons) == len(rows), "a file rejected twice"
    return reasons


def _expected_pcm(path):
    x = load_audio(path, SETTINGS.sample_rate)
    if x.shape[0] < SETTINGS.target_length:
        x = np.pad(x, (0, SETTINGS.target_length - x.shape[0]))
    return to_int16(x)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status")
def test_mutated_audio_files_end_as_clean_rejections_or_correct_clips(tmp_path):
    rng = np.random.default_rng(SEED)
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    bases = _bases(tmp_path)
    files = {f"good-{name}": data for name, data in bases.items()}
    files.update(_mutants(rng, bases))
    for name, data in files.items():
        (audio_dir / name).write_bytes(data)

    outcomes = _decode_in_subprocess(tmp_path, [audio_dir / name for name in files])

    assert len(outcomes) == len(files)
    for path, outcome in outcomes.items():
        assert "error" not in outcome, f"{path}: {outcome['error']} instead of AudioDecodeError"
        assert outcome["seconds"] < MAX_DECODE_SECONDS, f"{path}: {outcome['seconds']:.1f} s"
        # Never empty; never longer than a 0.3 s source stretched by a lying header within the
        # accepted rates (44100 / 4000 Hz, twice that if 16-bit data is read as 8-bit): < 10 s.
        assert 0 < outcome.get("samples", 1) <= 10 * 16000, f"{path}: {outcome['samples']} samples"
    decoded = {os.path.basename(path) for path, outcome in outcomes.items() if "samples" in outcome}
    assert {name for name in files if name.startswith("good-")} <= decoded
    # The fuzzing reaches both outcomes often, not just one.
    assert 0.1 < len(decoded) / len(files) < 0.9, len(decoded)

    splits = ("train", "train", "valid", "test")
    rows = ["path,tags,split,clip_id"] + [
        f"{name},{'ab'[i % 2]},{splits[i % 4]},{name}" for i, name in enumerate(sorted(files))
    ]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    plan = folder.plan(str(audio_dir), str(tmp_path / "labels.csv"))
    out = tmp_path / "out"
    manifest = convert(plan, out, SETTINGS, num_shards=2, workers=1, show_progress=False)

    stored, rejected = _stored(out), _rejected(out)
    assert set(stored) | set(rejected) == set(files) and not set(stored) & set(rejected)
    assert set(stored) == decoded
    for name, outcome in outcomes.items():
        name = os.path.basename(name)
        if name in rejected:
            assert rejected[name] == outcome["rejected"], name
    for name, example in stored.items():
        np.testing.assert_array_equal(example["audio"], _expected_pcm(audio_dir / name), err_msg=name)
    assert manifest["rejected"] == len(rejected)
    assert writer.verify(out).ok


# -- label files ------------------------------------------------------------------------------

_GOOD_ROWS = ["path,tags,split", "a.wav,x,train", "b.wav,y;x,valid", "c.wav,y,test", "d.wav,x,train"]


def _label_case(case, tmp_path, rng):
    """Writes the audio and a mutated labels CSV; returns the CSV's path."""
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    for i, name in enumerate("abcd"):
        sf.write(audio_dir / f"{name}.wav", _tone(0.2, 16000, 1, 300 + 100 * i), 16000)
    sf.write(tmp_path / "outside.wav", _tone(0.2, 16000, 1), 16000)  # beside the root, not in it
    rows = list(_GOOD_ROWS)
    if case == "parent_path":
        rows.append("../outside.wav,x,train")
    elif case == "absolute_path":
        rows.append(f"{tmp_path / 'outside.wav'},x,train")
    elif case == "duplicate_row":
        rows.append(rows[1])
    elif case == "missing_column":
        rows = [row.rsplit(",", 2)[0] + "," + row.rsplit(",", 1)[1] for row in rows]  # no tags
    elif case == "huge_field":  # over the csv module's field limit (128 KiB)
        rows.append("d.wav," + "x" * 300_000 + ",train")
    elif case == "huge_tag":  # under it: a legal, if odd, tag
        rows[1] = "a.wav," + "t" * 100_000 + ",train"
    text = ("\n".join(rows) + "\n").encode()
    if case == "not_utf8":
        text = text.replace(b"y;x", b"y;\xff\xfe")
    elif case.startswith("random"):
        text = bytearray(text)
        for _ in range(rng.integers(1, 6)):
            text[rng.integers(len(text))] = rng.integers(256)
        text = bytes(text)
    labels = tmp_path / "labels.csv"
    labels.write_bytes(text)
    return audio_dir, labels


LABEL_CASES = {
    # What the converter must do with each; "either" for random damage: a plan or a DatasetError.
    "parent_path": "reject outside.wav",
    "absolute_path": "reject outside.wav",
    "duplicate_row": "DatasetError",
    "missing_column": "DatasetError",
    "huge_field": "DatasetError",
    "huge_tag": "either",
    "not_utf8": "DatasetError",
    **{f"random{i}": "either" for i in range(8)},
}


@pytest.mark.parametrize("case", list(LABEL_CASES))
def test_mutated_label_files_end_as_dataset_errors_or_clean_conversions(tmp_path, case):
    rng = np.random.default_rng([SEED, list(LABEL_CASES).index(case)])
    audio_dir, labels = _label_case(case, tmp_path, rng)
    expected = LABEL_CASES[case]

    try:
        plan = folder.plan(str(audio_dir), str(labels))
    except DatasetError:
        assert expected in ("DatasetError", "either"), f"{case}: a DatasetError, expected {expected}"
        return
    assert expected != "DatasetError", f"{case}: planned without a DatasetError"
    out = tmp_path / "out"
    convert(plan, out, SETTINGS, num_shards=1, workers=1, show_progress=False)

    stored, rejected = _stored(out), _rejected(out)
    assert not set(stored) & set(rejected)
    root = os.path.realpath(audio_dir)
    for path, example in stored.items():
        source = os.path.realpath(os.path.join(root, path))
        assert source.startswith(root + os.sep), f"{path}: stored from outside the audio folder"
        np.testing.assert_array_equal(example["audio"], _expected_pcm(source))
    if expected == "reject outside.wav":
        assert [path for path in rejected if path.endswith("outside.wav")], rejected
    for job in plan.jobs:  # every planned clip is stored or rejected, once
        assert (job.path in stored) != (job.path in rejected), job.path


def test_the_decoder_in_this_process_agrees_on_a_rejection(tmp_path):
    # The subprocess loads audio.py on its own; this checks it is the same decoder.
    path = tmp_path / "x.wav"
    sf.write(path, _tone(0.1, 16000, 1), 16000)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 24, 1)  # 1 Hz
    path.write_bytes(bytes(data))
    outcomes = _decode_in_subprocess(tmp_path, [path])
    with pytest.raises(AudioDecodeError) as info:
        load_audio(path, 16000)
    assert outcomes[str(path)]["rejected"] == info.value.reason
