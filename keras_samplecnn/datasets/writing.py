"""Writing a demo dataset's files: jobs in worker processes (or this one) with a progress bar,
and canonical 16-bit PCM wav files."""

import os
import wave
from concurrent.futures import ProcessPoolExecutor

import numpy as np


def run_jobs(function, jobs, workers=None, desc="files", unit="file", progress=True, chunksize=4):
    """Calls `function(job)` for every job, for its side effect (a file written).

    Args:
        function: a picklable top-level function of one job.
        jobs: the list of jobs.
        workers: processes (default: all CPUs); 0 or 1 runs in this process.
        desc, unit: the tqdm bar's label and unit.
        progress: show the bar.
        chunksize: jobs handed to a worker at a time.
    """
    from tqdm.auto import tqdm

    workers = os.cpu_count() if workers is None else workers
    with tqdm(total=len(jobs), desc=desc, unit=unit, disable=not progress) as bar:
        if workers and workers > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(function, jobs, chunksize=chunksize):
                    bar.update(1)
        else:
            for job in jobs:
                function(job)
                bar.update(1)


def write_wav(path, samples, sample_rate):
    """A mono 16-bit wav with the canonical 44-byte header, written to `path.part` then moved
    into place (an interrupted write leaves no half file under the real name).

    Args:
        path: the file to write.
        samples: int16 samples.
        sample_rate: in Hz.
    """
    tmp = path + ".part"
    with wave.open(tmp, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    os.replace(tmp, path)


def write_text(path, text):
    """UTF-8 text with `\n` line ends, written to `path.part` then moved into place."""
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_rendered(job):
    """A `run_jobs` job `(render, item, folder, sample_rate, seconds)`: writes
    `render(item, sample_rate, seconds)` (int16) as the wav `folder/<item.path>`; returns its path."""
    render, item, folder, sample_rate, seconds = job
    path = os.path.join(folder, *item.path.split("/"))
    write_wav(path, render(item, sample_rate, seconds), sample_rate)
    return path
