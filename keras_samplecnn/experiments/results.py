"""What every experiment reports: numbers over seeds as mean ± standard deviation, a Markdown
table, one verdict line per comparison (counted seed by seed), the time per phase beside the
machine's matmul peak, all saved as `<out>/<stem>.md` and `.json`.
"""

import contextlib
import dataclasses
import os
import time

from keras_samplecnn.evaluation.seeds import cell, markdown_table, over_seeds
from keras_samplecnn.files import write_json_atomic

__all__ = ["Results", "Timings", "cell", "markdown_table", "over_seeds", "save_table", "seed_wins", "summarise",
           "verdict"]  # fmt: skip


@dataclasses.dataclass
class Results:
    """What `run(config)` of an experiment returns.

    Args:
        table: the Markdown table as printed (with its verdict lines), "" when none.
        summary: the numbers the table shows (per experiment: a dict or a list).
        out_dir: the run folder.
        timings: seconds per phase (`Timings`).
        extra: anything else the experiment returns (e.g. the evaluation results dict).
    """

    table: str = ""
    summary: object = None
    out_dir: str = ""
    timings: dict = dataclasses.field(default_factory=dict)
    extra: dict = dataclasses.field(default_factory=dict)


def summarise(rows, key, value="value"):
    """`{key(row): over_seeds(...)}` of the rows' `value` (rows whose value is None left out)."""
    grouped = {}
    for row in rows:
        if row.get(value) is not None:
            grouped.setdefault(key(row), []).append(row[value])
    return {k: over_seeds(values) for k, values in grouped.items()}


def seed_wins(ours, theirs):
    """How many seeds `ours` beats `theirs` on (both `over_seeds` entries, seeds in the same order)."""
    return sum(a > b for a, b in zip(ours["values"], theirs["values"]))


def verdict(name, ours, baseline, theirs, where, unit=""):
    """One line: whether `ours` beats `theirs` on every seed, with the mean difference."""
    wins, seeds = seed_wins(ours, theirs), len(ours["values"])
    word = "beats" if wins == seeds else "does NOT beat"
    unit = f" {unit}" if unit else ""
    return f"{name} {word} {baseline} on {where}: {ours['mean'] - theirs['mean']:+.4f}{unit} ({wins}/{seeds} seeds)"


def save_table(out, stem, text, payload):
    """Writes `<out>/<stem>.md` (`text`) and `.json` (`payload`, every seed's numbers), and prints it."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{stem}.md"), "w", encoding="utf-8") as handle:
        handle.write(text)
    write_json_atomic(os.path.join(out, f"{stem}.json"), payload)
    print()
    print(text, end="")
    print(f"Table: {os.path.join(out, stem + '.md')} (and .json with every seed's numbers)")


class Timings(dict):
    """Wall-clock seconds per phase of one run; saved and printed with the machine's matmul peak,
    since the same run takes five times longer on one machine of the same kind than another."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.peak = None
        self.policy = None  # the dtype policy training ran in, where there was training

    @contextlib.contextmanager
    def __call__(self, phase):
        start = time.monotonic()
        try:
            yield
        finally:
            self[phase] = self.get(phase, 0.0) + time.monotonic() - start

    def measure_peak(self):
        """The float32 matmul peak (FLOP/s), measured once per run."""
        if self.peak is None:
            from keras_samplecnn.benchmarking import matmul_peak

            self.peak = matmul_peak()
        return self.peak

    def save(self, path):
        """Writes the phases, their total and the peak as JSON."""
        content = {"seconds": dict(self), "total_seconds": sum(self.values()),
                   "float32_matmul_peak_flops": self.measure_peak()}  # fmt: skip
        if self.policy:
            content["policy"] = self.policy
        write_json_atomic(path, content)

    def line(self):
        """`Time: phase N s, ...; total M min on this machine (peak)`."""
        from keras_samplecnn.benchmarking import describe_peak

        phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.items())
        policy = f", training in {self.policy}" if self.policy else ""
        return (f"Time: {phases}; total {sum(self.values()) / 60:.1f} min on this machine "
                f"({describe_peak(self.measure_peak())}{policy})")  # fmt: skip
