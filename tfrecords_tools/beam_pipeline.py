"""Writes the shards of `writer.convert` with an Apache Beam pipeline (`--runner NAME`).

Only the step that runs the shard tasks differs from the local process pool: the launcher
plans the shards exactly as `writer.plan_shards` does and skips the ones already finished
(resume); the remaining tasks go through

    Create(shard names) | Reshuffle() | Map(write one shard)

where each worker writes its shard and `.resume/` sidecar with `ShardTask.write` (`writer.write_shard`). After
the pipeline ends, the launcher reads each shard's result from its sidecar and writes
`rejected.csv`, `clips.csv` and `manifest.json` with the same code as the local path, so the
output is byte-identical to a local conversion of the same input.

The tasks themselves (every clip's path and labels) are not embedded in the pipeline: the
launcher pickles them to `OUT/.tmp-beam-tasks-<random>.pickle` and the pipeline carries shard names
only, which keeps the submitted job small for any dataset size (a Dataflow job request is
limited to about 10 MB, less than the labels of MTAT's 25,863 clips take).

Paths. Workers open the audio files and write the output folder by path: on a cluster both
must be on storage that every worker mounts at the same path (NFS, Filestore, a gcsfuse
mount of a bucket); URLs such as `gs://` are refused. Workers also need this package and its
dependencies (a `--requirements_file`, `--setup_file` or a custom `--sdk_container_image`).

    # local, for testing: Beam's FnApiRunner with one process per --workers
    python -m tfrecords_tools mtat --root /data/mtat --out /data/mtat_tfrecords --runner DirectRunner

    # Dataflow, with the data on a Filestore share mounted at /mnt/data on every worker
    python -m tfrecords_tools mtat --root /mnt/data/mtat --out /mnt/data/mtat_tfrecords \\
        --runner DataflowRunner --project P --region europe-west1 \\
        --temp_location gs://BUCKET/tmp --sdk_container_image IMAGE_WITH_KERAS_SAMPLECNN

    # Flink or Spark through Beam's portable job server
    python -m tfrecords_tools mtat --root /mnt/data/mtat --out /mnt/data/mtat_tfrecords \\
        --runner FlinkRunner --flink_master HOST:8081 --environment_type DOCKER \\
        --environment_config IMAGE_WITH_KERAS_SAMPLECNN

`--runner DirectRunner` is run with Beam's FnApiRunner, the batch engine the DirectRunner falls
back to: Beam >= 2.6x's DirectRunner first downloads the Go "Prism" runner from GitHub at run
time (which fails offline and ignores `--direct_num_workers`). Without explicit options it
gets `--direct_num_workers=WORKERS --direct_running_mode=multi_processing`: processes, like the
local pool, so that the Python parts of decoding and encoding are not serialised by the GIL.
Measured on 2 cores (benchmarks/bench_convert.py, 1488 clips of 29 s): the local pool, Beam
multi_processing and Beam multi_threading all convert ~110 clips/s once started, with the same
bytes; start-up is ~4.5 s (local), ~7.5 s (multi_processing) and ~1 s (multi_threading, in the
launcher process), so `--direct_running_mode multi_threading` suits small runs.

A shard that fails makes the pipeline fail (runners such as Dataflow retry it first); the
shards that finished are kept and recorded, and `ShardWriteError` says that rerunning the same
command resumes. Rerun only once the failed job has stopped (a worker still writing a shard
would race the rerun). The launcher trusts the sidecars its workers wrote rather than reading
every shard back; `python -m tfrecords_tools verify OUT` rechecks them all.

Options are split by name: what the converter's parser knows is the converter's, the rest goes
to Beam, so a Beam option with the same name as a converter option (Dataflow's `--labels` with
the `folder` layout's) cannot be passed.

Beam documentation used:
    https://beam.apache.org/documentation/programming-guide/#configuring-pipeline-options
    https://beam.apache.org/documentation/runners/direct/
    https://beam.apache.org/releases/pydoc/current/apache_beam.transforms.util.html (Reshuffle)
    https://beam.apache.org/documentation/sdks/python-pipeline-dependencies/
    https://beam.apache.org/documentation/runners/flink/
    https://cloud.google.com/dataflow/docs/guides/setting-pipeline-options
"""

import logging
import os
import pickle

from tfrecords_tools.common import TMP_PREFIX
from tfrecords_tools.errors import DatasetError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install keras_samplecnn[beam]"
TASKS_FILE = TMP_PREFIX + "beam-tasks-{}.pickle"  # a `.tmp-` file: removed by the next run if this one dies
_DIRECT_NAMES = ("direct", "directrunner")
_tasks_cache = {}  # {tasks file: {shard name: ShardTask}}, loaded once per worker process


def import_beam():
    """Returns the `apache_beam` module, or raises `DatasetError` saying how to install it."""
    try:
        import apache_beam
    except ImportError as error:
        raise DatasetError(f"--runner needs Apache Beam, which is not installed: {INSTALL_HINT}") from error
    return apache_beam


def pipeline_options(runner, pipeline_args=(), workers=1):
    """The Beam `PipelineOptions` for `runner` and the user's extra options.

    Args:
        runner: a Beam runner name (`DirectRunner`, `DataflowRunner`, ...).
        pipeline_args: further options as command-line flags (`["--project", "P"]`).
        workers: the DirectRunner's worker processes when `pipeline_args` give none.

    Returns:
        A `PipelineOptions`.
    """
    import_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    flags = list(pipeline_args)
    if runner.lower() in _DIRECT_NAMES:
        runner = "FnApiRunner"  # see the module docstring: no Prism download
        if not _has_flag(flags, "--direct_num_workers"):
            flags.append(f"--direct_num_workers={workers}")
        if not _has_flag(flags, "--direct_running_mode"):
            flags.append("--direct_running_mode=multi_processing")
    return PipelineOptions([f"--runner={runner}", *flags])


def run_tasks(tasks, runner, pipeline_args=(), workers=1, reporter=None):
    """Writes the unfinished shards of `tasks` with a Beam pipeline; the launcher's half.

    Args:
        tasks: every `ShardTask` of the conversion.
        runner: a Beam runner name.
        pipeline_args: further Beam options.
        workers: worker processes for the DirectRunner.
        reporter: `writer._Reporter` that logs rejected clips, or None.

    Returns:
        `(results, failures)` like `writer._run_tasks`: a `ShardResult` per finished shard and
        `(shard name, exception)` per shard the pipeline did not finish.
    """
    beam = import_beam()
    results, to_write = [], []
    for task in tasks:  # resume: shards that are complete and intact are not resubmitted
        finished = task.finished()
        if finished is None:
            task.digest()  # stat the files here; the digest travels with the pickled task
            to_write.append(task)
        else:
            results.append(finished)
            _log_rejections(reporter, finished)
    if not to_write:
        return results, []
    log.info("%s: writing %d of %d shards", runner, len(to_write), len(tasks))
    out_dir = to_write[0].out_dir
    # A new name per run: a worker process that outlives a run must not reuse its cached tasks.
    tasks_file = os.path.join(out_dir, TASKS_FILE.format(os.urandom(8).hex()))
    with open(tasks_file, "wb") as handle:
        pickle.dump({task.name: task for task in to_write}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    options = pipeline_options(runner, pipeline_args, min(workers, len(to_write)))
    try:
        pipeline = beam.Pipeline(options=options)
    except (ImportError, ValueError, RuntimeError) as exc:  # unknown runner, its extra missing
        _remove(tasks_file)
        raise DatasetError(f"cannot start Beam's {runner}: {exc}") from exc
    error = None
    try:
        _ = (
            pipeline
            | "Shards" >> beam.Create(sorted(task.name for task in to_write))
            # Breaks fusion with Create, so that the runner spreads the shards over workers.
            | "Spread" >> beam.Reshuffle()
            | "Write shard" >> beam.Map(write_named_shard, tasks_file)
        )
        pipeline.run().wait_until_finish()
    except Exception as exc:  # noqa: BLE001 - reported per unfinished shard below
        error = exc
        log.error("the %s pipeline failed: %s", runner, exc)
    finally:
        _remove(tasks_file)

    failures = []
    cause = _last_line(error) if error else "the pipeline ended without writing it"
    for task in to_write:
        result = task.recorded()
        if result is None:
            if task.name in cause:  # the shard that stopped the pipeline is reported first
                failures.insert(0, (task.name, RuntimeError(f"{runner}: {cause}")))
            else:
                failures.append((task.name, RuntimeError(f"not written: {runner}: {cause}")))
            continue
        result.resumed = False
        results.append(result)
        _log_rejections(reporter, result)
    return results, failures


def write_named_shard(name, tasks_file):
    """The worker's half: writes the shard `name` of the tasks pickled in `tasks_file`.

    Returns:
        `name` (the result itself is read back from the shard's sidecar).
    """
    tasks = _tasks_cache.get(tasks_file)
    if tasks is None:
        with open(tasks_file, "rb") as handle:
            tasks = pickle.load(handle)
        _tasks_cache.clear()  # only the current run's tasks
        _tasks_cache[tasks_file] = tasks
    try:
        tasks[name].write()
    except Exception as error:
        # The runner reports the exception without the element: name the shard in it.
        raise RuntimeError(f"shard {name}: {type(error).__name__}: {error}") from error
    return name


def _has_flag(flags, name):
    return any(flag == name or flag.startswith(name + "=") for flag in flags)


def _log_rejections(reporter, result):
    if reporter is not None:
        reporter.log_rejections(result.rejected)


def _last_line(error):
    """A runner's error often carries a whole remote traceback; its last line says what."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(error).__name__


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
