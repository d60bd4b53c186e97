"""Running a demo maker's file-writing jobs: in worker processes or in this one, with a progress bar."""

import os
from concurrent.futures import ProcessPoolExecutor


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
