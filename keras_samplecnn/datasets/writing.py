"""Writing a demo dataset's files: audio jobs in worker processes (or this one) with a progress
bar, canonical 16-bit PCM wav and VBR mp3 files, text, and the demos' shared command line.

Every file is written to `path.part` and then moved into place, so an interrupted run leaves no
half file under a real name."""

import argparse
import csv
import io
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


def pcm16(audio):
    """Float samples in [-1, 1] as int16 (clipped, rounded to the nearest step)."""
    return np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def write_wav(path, samples, sample_rate):
    """A mono 16-bit wav with the canonical 44-byte header.

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


def write_mp3(path, audio, sample_rate):
    """A mono VBR mp3 (LAME quality 0.5, like MTAT's ~32 kbit/s 16-kHz files); VBR keeps the
    exact length (the LAME header carries the encoder delay and padding).

    Args:
        path: the file to write.
        audio: float samples in [-1, 1].
        sample_rate: in Hz.
    """
    import soundfile as sf

    sf.write(path + ".part", audio, sample_rate, format="MP3", bitrate_mode="VARIABLE", compression_level=0.5)
    os.replace(path + ".part", path)


def write_text(path, text):
    """UTF-8 text, line ends exactly as in `text`."""
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_lines(path, lines, newline="\n"):
    """`lines`, each ended by `newline`, as UTF-8 text."""
    write_text(path, "".join(f"{line}{newline}" for line in lines))


def write_csv(path, rows, header=None, newline="\n"):
    """``header`` (if any), then ``rows``, as CSV text with the csv module's minimal quoting (a
    field with a comma, a quote or a line end is double-quoted)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    write_text(path, out.getvalue())


def write_bytes(path, data):
    """`data` as the file `path`."""
    with open(path + ".part", "wb") as handle:
        handle.write(data)
    os.replace(path + ".part", path)


def write_job(job):
    """A `run_jobs` job `(path, sample_rate, render, args)`: writes `render(*args)` to `path`, an
    mp3 if its name says so (float samples), else a wav (int16 samples, or floats quantised)."""
    path, sample_rate, render, args = job
    audio = render(*args)
    if path.endswith(".mp3"):
        write_mp3(path, audio, sample_rate)
    else:
        write_wav(path, audio if audio.dtype == np.int16 else pcm16(audio), sample_rate)
    return path


def write_audio(directory, items, sample_rate, workers=None, progress=True, desc="files", unit="file", chunksize=4):
    """Renders and writes audio files below `directory` (their folders created), in worker
    processes; the same files, byte for byte, whatever the number of workers.

    Args:
        directory: the dataset root.
        items: `(relative path with "/", render, args)` triples: the file gets `render(*args)`
            (a picklable top-level function).
        sample_rate: of every file.
        workers, progress, desc, unit, chunksize: as `run_jobs`.
    """
    jobs = [(os.path.join(directory, *path.split("/")), sample_rate, render, args) for path, render, args in items]
    for folder in dict.fromkeys(os.path.dirname(job[0]) for job in jobs):
        os.makedirs(folder, exist_ok=True)
    run_jobs(write_job, jobs, workers, desc, unit, progress, chunksize)


def command_line(argv, name, description, add_arguments, make):
    """A demo's command line, ``python -m keras_samplecnn.datasets NAME DIR [options]``.

    Args:
        argv: the arguments after the demo's name (default `sys.argv[1:]`).
        name: the demo's name on the command line.
        description: the `--help` text.
        add_arguments: `add_arguments(parser)` of the demo module: its size options, each with
            `dest` the maker's keyword argument.
        make: the maker, `make(directory, **sizes, seed=, workers=, progress=)`.

    Returns:
        `(directory, what make returned)`.
    """
    parser = argparse.ArgumentParser(prog=f"python -m keras_samplecnn.datasets {name}", description=description)
    parser.add_argument("directory", help="output folder (write into an empty one)")
    add_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same files (default 0)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all CPUs; 0: this one)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    sizes = vars(parser.parse_args(argv))
    directory = sizes.pop("directory")
    return directory, make(directory, **sizes)
