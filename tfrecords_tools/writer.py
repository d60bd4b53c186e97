"""Writes clip jobs as sharded TFRecords: in parallel, atomically, resumably, with a manifest.

A dataset layout module (`mtat`, `folder`, `speech_commands`, `gtzan`, `dcase2017`) turns a
dataset folder into a `DatasetPlan`: one `ClipJob` per clip (audio file, labels, id, split)
plus the clips it already rejected. `convert` writes the plan to an output folder:

    out/
      train-00000-of-00004.tfrecord   one tf.train.Example per clip (keras_samplecnn.data.schema):
      ...                             mono int16 PCM at the target rate, the clip stored whole
      manifest.json                   written last: present if and only if the conversion finished
      rejected.csv                    path,reason for every clip left out
      clips.csv                       split,shard,clip_id,path (+ metadata) for every clip written
      conversion.json                 this run: start time, duration, runner, shards written/resumed
      .resume/<shard>.json            record of a finished shard, used to resume

Resuming. Jobs are sorted and dealt round-robin to a fixed number of shards per split, so a
clip always lands in the same shard of the same run configuration. Each shard is written to
`.tmp-<name>`, flushed and renamed only when complete; then its sidecar in `.resume/` records
its sha256, record count and a digest of its jobs (with their files' sizes and modification
times) and settings. A rerun skips every shard whose file still matches its sidecar and
rewrites the rest (also those whose audio files changed since), so an
interrupted conversion continues without duplicating or losing a clip, and the output is
byte-identical to an uninterrupted run.

Determinism. For the same input files, plan and settings, every file above except
`conversion.json` is byte-identical from run to run, whatever the worker count, the runner or
the number of times the conversion was resumed: `manifest.json` holds no wall-clock time (the
time, duration and runner of each run go to `conversion.json` and the log instead).

Runners. By default a local process pool writes the shards (`workers`). With `runner=` (e.g.
`"DirectRunner"`, `"DataflowRunner"`) the same shard tasks run as an Apache Beam pipeline
(`tfrecords_tools.beam_pipeline`); only that step differs, so the output is the same bytes.

Example:

```python
plan = tfrecords_tools.mtat.plan(root="/data/mtat")
manifest = convert(plan, "/data/mtat_tfrecords", Settings(sample_rate=22050), workers=2)
report = verify("/data/mtat_tfrecords")
```
"""

import concurrent.futures
import contextlib
import csv
import ctypes
import dataclasses
import datetime
import functools
import hashlib
import json
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import queue as queue_lib
import re
import signal
import struct
import sys
import threading
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from keras_samplecnn.audio import AudioDecodeError, load_audio, to_int16
from keras_samplecnn.data import schema
from keras_samplecnn.files import atomic_file, fsync_file, sha256_file, write_json_atomic
from keras_samplecnn.messages import one_line
from tfrecords_tools.version import __version__
from tfrecords_tools.common import SPLITS, TMP_PREFIX, is_inside
from tfrecords_tools.errors import DatasetError, ShardWriteError

log = logging.getLogger(__name__)

TASKS = ("multi_label", "single_label")
# Clips shorter than wanted: zero-pad, tile (repeat the clip end to end, as the JSTSP 2019
# authors do for short Speech Commands and AudioSet clips) or skip them.
SHORT_POLICIES = ("pad", "tile", "skip")
# 3^10 samples, about 2.7 s at 22050 Hz: the input of the 3^9 SampleCNN (Lee et al., 2017).
DEFAULT_SEGMENT_LENGTH = 59049
CLIPS = "clips.csv"
CONVERSION = "conversion.json"  # the one output file that differs from run to run
RESUME_DIR = ".resume"
# Bump when the bytes written for the same input and settings change, so that shards written
# by an older version are rewritten instead of resumed.
FORMAT_VERSION = 2  # 2: per-shard audio statistics (sum, sum of squares) in the sidecar
_SHARD_FILE = re.compile(r"^[A-Za-z0-9_]+-\d{5}-of-\d{5}\.tfrecord$")
_MAX_LOGGED_REJECTIONS = 20
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # gs://, s3://, hdfs://, file://, http://
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclasses.dataclass(frozen=True)
class ClipJob:
    """One clip to convert.

    Args:
        source: the audio file (absolute path).
        path: the file relative to the dataset root; stored in the record and `rejected.csv`.
        clip_id: the dataset's own id of the clip.
        labels: multi-hot or one-hot label tuple, in the plan's tag order.
        split: `train`, `valid` or `test`.
        start: seconds to skip at the start of the file (for clips cut from a longer file).
        duration: seconds to keep from `start`, or None for the rest of the file.
    """

    source: str
    path: str
    clip_id: str
    labels: tuple
    split: str
    start: float = 0.0
    duration: float = None

    def sort_key(self):
        return (self.path, self.start, self.clip_id)


class Rejected(NamedTuple):
    """A clip left out of the conversion, one row of `rejected.csv`."""

    path: str
    reason: str


@dataclasses.dataclass
class DatasetPlan:
    """What a layout module hands to `convert`.

    Args:
        dataset: dataset name for the manifest (`mtat`, `gtzan`, ...).
        task: `multi_label` or `single_label`.
        tags: label names in label order.
        source: the dataset root, recorded in the manifest.
        jobs: the `ClipJob`s to convert.
        rejected: `Rejected` clips found while planning (e.g. listed but missing files).
        metadata: optional `{job.path: {column: value}}` copied into `clips.csv`.
        other_roots: further folders the jobs may read from besides `source` (e.g. Speech
            Commands' separate test set); `convert` rejects a job whose file lies in none.
    """

    dataset: str
    task: str
    tags: list
    source: str
    jobs: list
    rejected: list = dataclasses.field(default_factory=list)
    metadata: dict = dataclasses.field(default_factory=dict)
    other_roots: tuple = ()


@dataclasses.dataclass(frozen=True)
class Settings:
    """How clips are stored.

    Args:
        sample_rate: target sample rate in Hz; files at other rates are resampled.
        segment_length: the model's input length in samples; the manifest counts full
            segments per split.
        short: what happens to a clip shorter than `min_length`: `pad` (zero-pad it),
            `tile` (repeat it end to end, then cut) or `skip` (reject it if it is shorter
            than one segment; longer clips are kept as they are).
        min_length: the length in samples short clips are padded or tiled to; default one
            segment. The JSTSP 2019 recipes bring every DCASE clip to 10 s this way.
    """

    sample_rate: int = 22050
    segment_length: int = DEFAULT_SEGMENT_LENGTH
    short: str = "pad"
    min_length: int = None

    def __post_init__(self):
        if int(self.sample_rate) != self.sample_rate or self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer, got {self.sample_rate}")
        if int(self.segment_length) != self.segment_length or self.segment_length <= 0:
            raise ValueError(f"segment_length must be a positive integer, got {self.segment_length}")
        if self.short not in SHORT_POLICIES:
            raise ValueError(f"short must be one of {SHORT_POLICIES}, got {self.short!r}")
        if self.min_length is not None and (int(self.min_length) != self.min_length or self.min_length <= 0):
            raise ValueError(f"min_length must be a positive integer or None, got {self.min_length}")

    @property
    def target_length(self):
        """The length short clips are padded or tiled to: `min_length`, at least one segment."""
        return max(self.segment_length, self.min_length or 0)


@dataclasses.dataclass(frozen=True)
class ShardTask:
    """One shard to write: its file name and the jobs dealt to it."""

    out_dir: str
    split: str
    index: int
    num_shards: int
    jobs: tuple
    settings: Settings

    @property
    def name(self):
        return schema.shard_name(self.split, self.index, self.num_shards)

    @functools.cached_property
    def _digest(self):
        content = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "settings": dataclasses.asdict(self.settings),
            # File sizes and modification times make a rerun pick up a re-downloaded file that
            # used to be empty or cut, or a file replaced by one of the same size. (Adding the
            # times changed every digest, so older sidecars are not resumed: no FORMAT_VERSION
            # bump was needed for that.)
            "jobs": [
                [job.path, job.clip_id, list(job.labels), job.start, job.duration, *_file_stamp(job.source)]
                for job in self.jobs
            ],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    def digest(self):
        """sha256 over everything that determines the shard's bytes (not the source root)."""
        return self._digest

    # What a runner needs of a task (`beam_pipeline` calls these, so it imports no writer code).
    def write(self, progress=None):
        """`write_shard(self)`: writes the shard and its sidecar; returns its `ShardResult`."""
        return write_shard(self, progress)

    def finished(self):
        """`finished_shard(self)`: the result of a complete, intact shard, else None."""
        return finished_shard(self)

    def recorded(self):
        """`recorded_shard(self)`: the result recorded in the shard's sidecar, else None."""
        return recorded_shard(self)


@dataclasses.dataclass
class ShardResult:
    """What writing (or resuming) one shard produced."""

    file: str
    split: str
    records: int = 0
    sha256: str = ""
    segments: int = 0
    clips: list = dataclasses.field(default_factory=list)  # [clip_id, path] per record
    rejected: list = dataclasses.field(default_factory=list)  # [path, reason]
    padded: list = dataclasses.field(default_factory=list)  # paths padded or tiled to the target length
    # Sums over every stored sample (as float in [-1, 1]), for the split's mean and std.
    samples: int = 0
    sum: float = 0.0
    sum_squares: float = 0.0
    resumed: bool = False


@dataclasses.dataclass
class VerifyReport:
    """Result of `verify`: `ok` is True when every shard matches the manifest."""

    ok: bool
    shards_checked: int
    problems: list


def plan_shards(plan, out_dir, settings, shard_size=None, num_shards=None):
    """Deals each split's sorted jobs round-robin into a fixed number of shards.

    Round-robin (job i to shard i mod N) rather than contiguous runs mixes every shard across
    the sorted list, so that a shard is not all one artist or one class.

    Args:
        plan: a `DatasetPlan`.
        out_dir: the output folder.
        settings: `Settings`.
        shard_size: clips per shard (the shard count is `ceil(clips / shard_size)`), or
        num_shards: shards per split (at most one per clip). Exactly one must be given.

    Returns:
        A list of `ShardTask`s, split by split in train, valid, test order.
    """
    if (shard_size is None) == (num_shards is None):
        raise ValueError("give exactly one of shard_size and num_shards")
    if (shard_size or num_shards) <= 0:
        raise ValueError("shard_size and num_shards must be positive")
    tasks = []
    for split in SPLITS:
        jobs = sorted((job for job in plan.jobs if job.split == split), key=ClipJob.sort_key)
        if not jobs:
            continue
        count = min(num_shards, len(jobs)) if num_shards else math.ceil(len(jobs) / shard_size)
        for index in range(count):
            tasks.append(ShardTask(out_dir, split, index, count, tuple(jobs[index::count]), settings))
    return tasks


def convert(
    plan,
    out_dir,
    settings=None,
    shard_size=128,
    num_shards=None,
    workers=None,
    show_progress=True,
    runner=None,
    pipeline_args=(),
):
    """Converts a `DatasetPlan` into TFRecord shards, `manifest.json` and `rejected.csv`.

    Rerunning with the same plan and settings resumes an interrupted conversion (see the
    module docstring). Shards in `out_dir` that belong to another configuration are removed.
    A job whose file lies outside `plan.source` (and `plan.other_roots`), judged lexically
    after normalising the path, is not read: it goes to `rejected.csv` (a last line of
    defence behind the layouts' own checks of paths read from label files).

    Args:
        plan: the `DatasetPlan` from a layout module.
        out_dir: output folder (created if needed); a local or mounted path, not a URL.
        settings: `Settings` (default: 22050 Hz, 59049-sample segments, pad short clips).
        shard_size: clips per shard; ignored when `num_shards` is given.
        num_shards: shards per split.
        workers: worker processes (default `min(2, cpu count)`); 1 writes in this process.
            Workers are started with "spawn" (each imports TensorFlow, a few seconds), so a
            script calling `convert` with workers > 1 needs the `if __name__ == "__main__":`
            guard. With the DirectRunner: its worker count unless `pipeline_args` set one.
        show_progress: show a tqdm progress bar over clips (local runner only).
        runner: None for the local process pool, or an Apache Beam runner name
            (`DirectRunner`, `DataflowRunner`, `FlinkRunner`, ...); see `beam_pipeline`.
        pipeline_args: further Beam pipeline options, e.g. `["--project=P", "--region=R"]`;
            only with `runner`.

    Returns:
        The manifest dict (also written to `out_dir/manifest.json`).

    Raises:
        DatasetError: the plan is inconsistent (duplicate clips or clip ids, wrong label
            length, ...), or
            a path is a URL (`gs://...`): workers read and write through the file system.
        ShardWriteError: some shards failed; the others are kept and a rerun resumes.
    """
    started = datetime.datetime.now(datetime.timezone.utc)
    settings = settings or Settings()
    if num_shards is not None:
        shard_size = None
    workers = workers or min(2, os.cpu_count() or 1)
    if pipeline_args and runner is None:
        raise ValueError("pipeline_args need a runner")
    _check_plan(plan)
    check_local_path(out_dir, "the output folder")
    check_local_path(plan.source, "the dataset root")
    plan = _outside_jobs_rejected(plan)
    out_dir = os.path.abspath(out_dir)
    os.makedirs(os.path.join(out_dir, RESUME_DIR), exist_ok=True)
    # No manifest means "not finished": drop the old one before touching any shard.
    _remove(os.path.join(out_dir, schema.MANIFEST))
    tasks = plan_shards(plan, out_dir, settings, shard_size, num_shards)
    _remove_leftovers(out_dir, {task.name for task in tasks})
    _log_start(plan, settings, tasks, workers, runner)

    reporter = _Reporter()
    reporter.log_rejections(plan.rejected)
    # The one step that depends on the runner; everything before and after is shared.
    if runner is None:
        results, failures = _run_tasks(tasks, workers, show_progress, reporter)
    else:
        from tfrecords_tools import beam_pipeline  # apache-beam is an optional dependency

        results, failures = beam_pipeline.run_tasks(tasks, runner, pipeline_args, workers, reporter)
    if failures:
        for name, error in failures:
            log.error("shard %s failed: %s: %s", name, type(error).__name__, error)
        raise ShardWriteError(
            f"{len(failures)} of {len(tasks)} shards failed (first: {failures[0][0]}: "
            f"{failures[0][1]}); the finished shards are kept, rerun the same command to resume"
        )
    return _finish(plan, out_dir, settings, results, reporter, started, runner, workers)


def _finish(plan, out_dir, settings, results, reporter, started, runner, workers):
    """Writes `rejected.csv`, `clips.csv`, `conversion.json` and, last, `manifest.json`."""
    results.sort(key=lambda result: (SPLITS.index(result.split), result.file))
    reporter.log_summary(results, settings)

    rejected = sorted(
        [Rejected(*row) for row in plan.rejected]
        + [Rejected(*row) for result in results for row in result.rejected]
    )
    _write_rejected(out_dir, rejected)
    _write_clips(out_dir, plan, results)
    finished = datetime.datetime.now(datetime.timezone.utc)
    write_json_atomic(
        os.path.join(out_dir, CONVERSION),
        {
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "seconds": round((finished - started).total_seconds(), 3),
            "runner": runner or "local",
            "workers": workers,
            "shards_written": sum(not result.resumed for result in results),
            "shards_resumed": sum(result.resumed for result in results),
            "tool_version": __version__,
        },
    )
    manifest = _manifest(plan, settings, results, rejected)
    write_json_atomic(os.path.join(out_dir, schema.MANIFEST), manifest)
    log.info(
        "wrote %s in %.1f s: %s; %d rejected",
        out_dir,
        (finished - started).total_seconds(),
        ", ".join(f"{split} {info['clips']} clips" for split, info in manifest["splits"].items()),
        len(rejected),
    )
    return manifest


def check_local_path(path, what):
    """Raises `DatasetError` if `path` is a URL such as `gs://bucket/x`.

    Workers open the audio files and write the shards through the file system, so with a
    cluster both must be on storage every worker mounts (NFS, Filestore, a gcsfuse mount).

    Args:
        path: the path to check (None passes).
        what: its name in the error message.
    """
    if path is not None and _URL.match(str(path)):
        raise DatasetError(
            f"{what} {path} is a URL; the converter reads and writes files by path only: put "
            "the data on storage every worker mounts (NFS, Filestore, gcsfuse) and give the "
            "mounted path"
        )


def write_shard(task, progress=None):
    """Writes one shard atomically, or returns the recorded result if it is already complete.

    Args:
        task: a `ShardTask`.
        progress: optional callable receiving the number of clips processed.

    Returns:
        A `ShardResult`.
    """
    finished = finished_shard(task)
    if finished is not None:
        if progress:
            progress(len(task.jobs))
        return finished

    import tensorflow as tf  # Only the workers need TensorFlow, for the TFRecord framing.

    final_path = os.path.join(task.out_dir, task.name)
    sidecar_path = _sidecar_path(task)
    _remove(sidecar_path)
    tmp_path = os.path.join(task.out_dir, TMP_PREFIX + task.name)
    result = ShardResult(file=task.name, split=task.split)
    with tf.io.TFRecordWriter(tmp_path) as writer:
        for job in task.jobs:
            record = _encode_clip(job, task.settings, result)
            if record is not None:
                writer.write(record)
            if progress:
                progress(1)
    fsync_file(tmp_path)
    result.sha256 = sha256_file(tmp_path)
    os.replace(tmp_path, final_path)
    # The sidecar is the completion mark: written only after the shard is in place.
    sidecar = dataclasses.asdict(result)
    sidecar.pop("resumed")
    sidecar["plan"] = task.digest()
    write_json_atomic(sidecar_path, sidecar)
    return result


def verify(out_dir):
    """Checks every shard listed in `manifest.json` (sha256 and record count).

    Args:
        out_dir: a folder written by `convert`.

    Returns:
        A `VerifyReport`; `problems` names each missing, corrupted or unlisted shard.

    Raises:
        DatasetError: there is no readable manifest (the conversion never finished).
    """
    manifest_path = os.path.join(out_dir, schema.MANIFEST)
    if not os.path.isfile(manifest_path):
        raise DatasetError(
            f"no {schema.MANIFEST} in {out_dir}: not a finished conversion "
            "(rerun the conversion command to finish it)"
        )
    try:
        with open(manifest_path, encoding="utf-8") as handle:
            splits = json.load(handle)["splits"]
    except (ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"{manifest_path}: not a valid manifest ({error})") from error
    problems = []
    listed = set()
    checked = 0
    for split, info in splits.items():
        total = 0
        for shard in info["shards"]:
            checked += 1
            listed.add(shard["file"])
            problems.extend(_check_shard(out_dir, shard))
            total += shard["records"]
        if total != info["clips"]:
            problems.append(
                f"{split}: the shards list {total} records but the split has {info['clips']} clips"
            )
    for name in sorted(os.listdir(out_dir)):
        if _SHARD_FILE.match(name) and name not in listed:
            problems.append(f"{name}: not listed in {schema.MANIFEST}")
    return VerifyReport(ok=not problems, shards_checked=checked, problems=problems)


def iter_records(path):
    """Yields the raw serialized records of a TFRecord file, without TensorFlow.

    The TFRecord framing is: uint64 length, uint32 masked CRC of the length, the data,
    uint32 masked CRC of the data (little endian). CRCs are not checked here; `verify`
    relies on the manifest's sha256 instead.

    Raises:
        ValueError: the file ends inside a record.
    """
    with open(path, "rb") as handle:
        while True:
            header = handle.read(12)
            if not header:
                return
            if len(header) < 12:
                raise ValueError(f"{path}: ends inside a record header")
            (length,) = struct.unpack("<Q", header[:8])
            data = handle.read(length)
            if len(data) < length or len(handle.read(4)) < 4:
                raise ValueError(f"{path}: ends inside a record")
            yield data


def read_examples(path):
    """Decodes every record of a shard to plain values, for tests and inspection.

    Returns:
        A list of dicts with `audio` (int16 array), `num_samples`, `sample_rate`, `labels`
        (float32 array), `clip_id` and `path` (str), in file order.
    """
    import tensorflow as tf

    examples = []
    for record in iter_records(path):
        feature = tf.train.Example.FromString(record).features.feature
        examples.append(
            {
                schema.AUDIO: np.frombuffer(feature[schema.AUDIO].bytes_list.value[0], "<i2"),
                schema.NUM_SAMPLES: feature[schema.NUM_SAMPLES].int64_list.value[0],
                schema.SAMPLE_RATE: feature[schema.SAMPLE_RATE].int64_list.value[0],
                schema.LABELS: np.array(feature[schema.LABELS].float_list.value, np.float32),
                schema.CLIP_ID: feature[schema.CLIP_ID].bytes_list.value[0].decode(),
                schema.PATH: feature[schema.PATH].bytes_list.value[0].decode(),
            }
        )
    return examples


def count_records(path):
    """Number of records in a TFRecord file, found by walking the length fields."""
    size = os.path.getsize(path)
    count = 0
    with open(path, "rb") as handle:
        position = 0
        while position < size:
            header = handle.read(8)
            if len(header) < 8:
                raise ValueError(f"{path}: ends inside a record header")
            (length,) = struct.unpack("<Q", header)
            position += 8 + 4 + length + 4
            if position > size:
                raise ValueError(f"{path}: a record runs past the end of the file")
            handle.seek(position)
            count += 1
    return count


def _check_plan(plan):
    if plan.task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {plan.task!r}")
    seen, clip_ids = set(), {}
    for job in plan.jobs:
        if job.split not in SPLITS:
            raise DatasetError(f"{job.path}: unknown split {job.split!r}, expected {SPLITS}")
        if len(job.labels) != len(plan.tags):
            raise DatasetError(f"{job.path}: {len(job.labels)} labels but the plan has {len(plan.tags)} tags")
        key = job.sort_key()
        if key in seen:
            raise DatasetError(f"{job.path}: listed twice")
        seen.add(key)
        # Readers key records by clip id (clips.csv, evaluation, embeddings): one id, one clip.
        first = clip_ids.setdefault(job.clip_id, job)
        if first is not job:
            raise DatasetError(
                f"clip_id {job.clip_id!r} is used by two clips, {first.path} (start {first.start} s) "
                f"and {job.path} (start {job.start} s); clip ids must be unique"
            )


def _outside_jobs_rejected(plan):
    """`plan` without the jobs whose file is outside its roots, those added to its rejected
    (a copy; the caller's plan is not changed). Lexical: symlinks inside a root are followed."""
    if plan.source is None:
        return plan
    roots = [plan.source, *plan.other_roots]
    outside = [job for job in plan.jobs if not any(is_inside(root, job.source) for root in roots)]
    if not outside:
        return plan
    left_out = {id(job) for job in outside}
    where = " or ".join(str(root) for root in roots)
    reason = f"outside the dataset root {where}, not read"
    log.warning("%d clips lie outside the dataset root %s and are not read, e.g. %s", len(outside), where,
                outside[0].source)  # fmt: skip
    return dataclasses.replace(
        plan,
        jobs=[job for job in plan.jobs if id(job) not in left_out],
        rejected=[*plan.rejected, *(Rejected(job.path, reason) for job in outside)],
    )


def _encode_clip(job, settings, result):
    """Converts one clip: returns its serialized Example, or None after recording why not.

    A clip fails on its own: an unreadable or hostile file, and any unexpected error while
    converting it (a MemoryError, a library's exception), is that clip's row in `rejected.csv`,
    so that it cannot take the shard's good clips with it, on this run and on every rerun. Only
    an `OSError` (disk full, an I/O error) fails the shard, so that a rerun retries it instead of
    recording a lasting rejection.

    Args:
        job: the `ClipJob`.
        settings: `Settings`.
        result: the shard's `ShardResult`, updated only once the clip is stored or rejected.
    """
    try:
        clip = _convert_clip(job, settings)
    except _ClipRejected as rejection:
        result.rejected.append([job.path, rejection.reason])
        return None
    except AudioDecodeError as error:
        result.rejected.append([job.path, error.reason])
        return None
    except OSError:
        raise
    except MemoryError as error:
        reason = one_line(error, limit=300, with_type=True)
        result.rejected.append([job.path, f"out of memory while converting ({reason})"])
        return None
    except Exception as error:  # noqa: BLE001 - see the docstring.
        # Logged with its traceback: a bug in this code would otherwise pass for a bad file.
        log.warning("%s: unexpected error while converting", job.path, exc_info=True)
        reason = one_line(error, limit=300, with_type=True)
        result.rejected.append([job.path, f"unexpected error while converting ({reason})"])
        return None
    if clip.padded:
        result.padded.append(job.path)
    result.samples += clip.samples
    result.sum += clip.sum
    result.sum_squares += clip.sum_squares
    result.records += 1
    result.segments += clip.segments
    result.clips.append([job.clip_id, job.path])
    return clip.record


class _ClipRejected(Exception):
    """A clip left out by the conversion settings (nothing to cut, too short to keep)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class _Clip(NamedTuple):
    record: bytes
    padded: bool
    samples: int
    sum: float
    sum_squares: float
    segments: int


def _convert_clip(job, settings):
    """Decodes, cuts and pads one clip; returns a `_Clip` or raises `_ClipRejected`."""
    audio = load_audio(job.source, settings.sample_rate)
    if job.start or job.duration is not None:
        begin = round(job.start * settings.sample_rate)
        end = None if job.duration is None else begin + round(job.duration * settings.sample_rate)
        audio = audio[begin:end]
        if audio.size == 0:
            raise _ClipRejected(f"nothing to cut at {job.start} s")
    length = settings.segment_length
    padded = False
    if settings.short == "skip":
        if audio.shape[0] < length:
            raise _ClipRejected(
                f"shorter than one segment ({audio.shape[0]} < {length} samples at "
                f"{settings.sample_rate} Hz), skipped (--short skip)"
            )
    elif audio.shape[0] < settings.target_length:
        audio = _lengthen(audio, settings.target_length, settings.short)
        padded = True
    pcm = to_int16(audio)
    record = schema.serialize_example(
        pcm, settings.sample_rate, job.labels, clip_id=job.clip_id, path=job.path
    )
    stored = pcm.astype(np.float64) / 32768.0
    return _Clip(
        record=record,
        padded=padded,
        samples=int(stored.size),
        sum=float(stored.sum()),
        sum_squares=float(np.square(stored).sum()),
        segments=audio.shape[0] // length,
    )



def _lengthen(audio, length, policy):
    """Zero-pads (`pad`) or repeats end to end (`tile`) `audio` to `length` samples."""
    if policy == "tile":
        return np.tile(audio, -(-length // audio.shape[0]))[:length]
    return np.pad(audio, (0, length - audio.shape[0]))


def finished_shard(task):
    """The recorded `ShardResult` if the task's shard is complete and intact, else None.

    Complete and intact: its sidecar exists and was written for the same jobs and settings,
    and the shard file still has the recorded sha256 and record count.
    """
    result = recorded_shard(task)
    if result is None:
        return None
    final_path = os.path.join(task.out_dir, task.name)
    try:
        intact = sha256_file(final_path) == result.sha256 and count_records(final_path) == result.records
    except (OSError, ValueError):
        intact = False
    if not intact:
        log.warning("%s does not match its record; rewriting it", os.path.basename(final_path))
        return None
    return result


def recorded_shard(task):
    """The `ShardResult` recorded in the task's sidecar, if it was written for the same jobs
    and settings and the shard file exists; None otherwise. Unlike `finished_shard` it does
    not reread the shard, for a launcher collecting shards its workers have just written."""
    final_path = os.path.join(task.out_dir, task.name)
    try:
        with open(_sidecar_path(task), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    if record.get("plan") != task.digest() or not os.path.isfile(final_path):
        return None
    record.pop("plan")
    try:
        return ShardResult(**record, resumed=True)
    except TypeError:  # a sidecar of another format
        return None


def _sidecar_path(task):
    return os.path.join(task.out_dir, RESUME_DIR, task.name + ".json")


def _check_shard(out_dir, shard):
    path = os.path.join(out_dir, shard["file"])
    if not os.path.isfile(path):
        return [f"{shard['file']}: missing"]
    problems = []
    if sha256_file(path) != shard["sha256"]:
        problems.append(f"{shard['file']}: corrupted (sha256 differs from the manifest)")
    try:
        records = count_records(path)
    except ValueError as error:
        problems.append(f"{shard['file']}: corrupted ({error})")
    else:
        if records != shard["records"]:
            problems.append(f"{shard['file']}: {records} records, the manifest lists {shard['records']}")
    return problems


# -- running the shard tasks ------------------------------------------------------------------

_progress_queue = None


def _init_worker(progress_queue, parent_pid=None):
    global _progress_queue
    _progress_queue = progress_queue
    if parent_pid is not None:
        _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid):
    """Makes this worker process end when the converter that started it ends, even by SIGKILL.

    Otherwise a killed converter leaves its workers (TensorFlow loaded, ~700 MB each) writing
    shards nobody collects, and the multiprocessing resource tracker alive with them: it exits
    only once every process holding its pipe has.

    Args:
        parent_pid: the converter's process id, to detect that it died before this call.
    """
    if sys.platform.startswith("linux"):
        # The kernel sends SIGKILL when the parent dies, even while this process is busy in C
        # code. Strictly, when the parent's thread that started it ends: the one that calls
        # `submit` in `_run_tasks`, which outlives the pool.
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    # Set too late if the parent died already; then this process has a new parent.
    if os.getppid() != parent_pid:
        os._exit(1)
    # Everywhere else (and as a second line on Linux): the end of the pipe from the parent.
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(
            target=_exit_when_ready, args=(parent.sentinel,), name="exit-with-parent", daemon=True
        ).start()


def _exit_when_ready(sentinel):
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _write_shard_in_worker(task):
    return write_shard(task, progress=_progress_queue.put)


def _run_tasks(tasks, workers, show_progress, reporter):
    """Runs every task; returns `(results, [(shard name, exception)])`."""
    results, failures, to_write = [], [], []
    # Check finished shards here, so that a rerun with nothing left to do starts no workers.
    for task in tasks:
        finished = finished_shard(task)
        if finished is None:
            to_write.append(task)
        else:
            results.append(finished)
            reporter.log_rejections(finished.rejected)
    total = sum(len(task.jobs) for task in tasks)
    bar = tqdm(
        total=total,
        initial=total - sum(len(task.jobs) for task in to_write),
        unit="clip",
        disable=not show_progress,
        dynamic_ncols=True,
    )

    def finish(task, future_or_call):
        try:
            result = future_or_call()
        except Exception as error:  # noqa: BLE001 - a failed shard must not stop the others.
            failures.append((task.name, error))
            return
        results.append(result)
        reporter.log_rejections(result.rejected)

    # Route log lines through tqdm so they do not break the bar.
    redirect = logging_redirect_tqdm() if show_progress else contextlib.nullcontext()
    with bar, redirect:
        if workers <= 1 or len(to_write) <= 1:  # Also when nothing is left to write.
            for task in to_write:
                finish(task, lambda task=task: write_shard(task, progress=bar.update))
            return results, failures
        # "spawn": the parent has TensorFlow loaded, and forking a process with TensorFlow's
        # threads running can deadlock the child.
        context = multiprocessing.get_context("spawn")
        progress_queue = context.Queue()
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=min(workers, len(to_write)),
            mp_context=context,
            initializer=_init_worker,
            initargs=(progress_queue, os.getpid()),
        )
        try:
            pending = {pool.submit(_write_shard_in_worker, task): task for task in to_write}
            while pending:
                done, _ = concurrent.futures.wait(
                    pending, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
                )
                _drain(progress_queue, bar)
                for future in done:
                    finish(pending.pop(future), future.result)
            _drain(progress_queue, bar)
        finally:
            # On Ctrl-C, do not wait for queued shards; unfinished ones stay as .tmp files.
            pool.shutdown(wait=True, cancel_futures=True)
    return results, failures


def _drain(progress_queue, bar):
    while True:
        try:
            bar.update(progress_queue.get_nowait())
        except queue_lib.Empty:
            return


class _Reporter:
    """Logs rejected clips as shards finish, up to a limit, then only counts them."""

    def __init__(self):
        self.logged = 0
        self.hidden = 0

    def log_rejections(self, rows):
        for path, reason in rows:
            if self.logged < _MAX_LOGGED_REJECTIONS:
                log.warning("rejected %s: %s", path, reason)
                self.logged += 1
            else:
                self.hidden += 1

    def log_summary(self, results, settings):
        if self.hidden:
            log.warning("... and %d more rejected clips, listed in %s", self.hidden, schema.REJECTED)
        resumed = sum(result.resumed for result in results)
        if resumed:
            log.info("resumed: %d of %d shards were already complete and verified", resumed, len(results))
        padded = sum(len(result.padded) for result in results)
        if padded:
            log.info(
                "%s %d clips shorter than %d samples to that length (--short %s); e.g. %s",
                "zero-padded" if settings.short == "pad" else "tiled",
                padded,
                settings.target_length,
                settings.short,
                next(result.padded[0] for result in results if result.padded),
            )


def _log_start(plan, settings, tasks, workers, runner=None):
    length = settings.segment_length if settings.short == "skip" else settings.target_length
    action = {
        "pad": "zero-padded to that length (--short pad)",
        "tile": "repeated end to end to that length (--short tile)",
        "skip": f"skipped and listed in {schema.REJECTED} (--short skip)",
    }[settings.short]
    log.info(
        "%s: %d clips, %d labels (%s), %d shards, runner=%s, workers=%d, %d Hz; clips shorter "
        "than %d samples (%.2f s) are %s",
        plan.dataset,
        len(plan.jobs),
        len(plan.tags),
        plan.task,
        len(tasks),
        runner or "local",
        workers,
        settings.sample_rate,
        length,
        length / settings.sample_rate,
        action,
    )


# -- output files -----------------------------------------------------------------------------


def _manifest(plan, settings, results, rejected):
    splits = {}
    for split in SPLITS:
        shards = [result for result in results if result.split == split]
        splits[split] = {
            "clips": sum(result.records for result in shards),
            "segments": sum(result.segments for result in shards),
            "shards": [
                {"file": result.file, "records": result.records, "sha256": result.sha256} for result in shards
            ],
            **_statistics(shards),
        }
    return {
        "dataset": plan.dataset,
        "task": plan.task,
        "tags": list(plan.tags),
        "sample_rate": settings.sample_rate,
        "segment_length": settings.segment_length,
        "short": settings.short,
        "min_length": settings.target_length,
        "splits": splits,
        "rejected": len(rejected),
        "source": plan.source,
        "tool_version": __version__,
    }


def _statistics(shards):
    """`mean` and `std` of every stored sample of a split, for input standardisation."""
    samples = sum(result.samples for result in shards)
    if not samples:
        return {"mean": None, "std": None}
    mean = sum(result.sum for result in shards) / samples
    variance = max(0.0, sum(result.sum_squares for result in shards) / samples - mean * mean)
    return {"mean": mean, "std": math.sqrt(variance)}


def _write_rejected(out_dir, rejected):
    path = os.path.join(out_dir, schema.REJECTED)
    with atomic_file(path, "w", encoding="utf-8", newline="") as handle:  # no .tmp left on failure
        writer = csv.writer(handle)
        writer.writerow(Rejected._fields)
        writer.writerows(rejected)


def _write_clips(out_dir, plan, results):
    columns = []
    for values in plan.metadata.values():
        columns.extend(name for name in values if name not in columns)
    path = os.path.join(out_dir, CLIPS)
    with atomic_file(path, "w", encoding="utf-8", newline="") as handle:  # no .tmp left on failure
        writer = csv.writer(handle)
        writer.writerow(["split", "shard", "clip_id", "path", *columns])
        for result in results:
            for clip_id, clip_path in result.clips:
                extra = plan.metadata.get(clip_path, {})
                writer.writerow(
                    [
                        result.split,
                        result.file,
                        clip_id,
                        clip_path,
                        *(extra.get(name, "") for name in columns),
                    ]
                )


def _file_stamp(path):
    """`(size, modification time in ns)` of a file, `(-1, -1)` if it cannot be read."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return -1, -1
    return status.st_size, status.st_mtime_ns


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _remove_leftovers(out_dir, planned):
    """Removes temp files of an interrupted run and shards of another configuration."""
    for name in sorted(os.listdir(out_dir)):
        if name.startswith(TMP_PREFIX):
            _remove(os.path.join(out_dir, name))
        elif _SHARD_FILE.match(name) and name not in planned:
            log.warning("removing %s: not part of this configuration's shards", name)
            _remove(os.path.join(out_dir, name))
            _remove(os.path.join(out_dir, RESUME_DIR, name + ".json"))
