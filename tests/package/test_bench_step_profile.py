"""benchmarks/bench_step_profile.py reads TensorFlow's trace into a per-op table that adds up."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "benchmarks", "bench_step_profile.py")


@pytest.fixture(scope="module")
def frame_profile():
    pytest.importorskip("tensorflow")
    result = subprocess.run([sys.executable, SCRIPT, "--model", "frame", "--steps", "2", "--top", "3"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_op_times_add_up_to_the_step(frame_profile):
    step_ms = float(re.search(r"batch 23: (\d+) ms per training step", frame_profile).group(1))
    rows = re.findall(r"^\| `?([^|`]+)`? \| [^|]* \| ([\d.]+) \| \d+% \|$", frame_profile, re.MULTILINE)
    kinds = {kind: float(ms) for kind, ms in rows}
    # One op at a time: the ops are most of the step (the rest is Python and Keras between steps)
    # and cannot be more than it; a double-counted or missed event breaks this.
    assert 0.4 * step_ms <= sum(kinds.values()) <= 1.1 * step_ms
    assert {"Conv2D", "FusedBatchNormV3", "FusedBatchNormGradV3", "MaxPool"} <= kinds.keys()
    assert not any(kind.startswith(("_Mkl", " ")) for kind in kinds)


def test_it_names_the_peak_and_the_slowest_ops(frame_profile):
    assert re.search(r"float32 matmul peak \d+ GFLOP/s", frame_profile)
    assert re.search(r"GFLOP/s = \d+% of the float32 peak", frame_profile)
    slowest = frame_profile.split("| slowest ops |")[1].strip().splitlines()[2:]
    times = [float(re.fullmatch(r"\| `[^`]+` \| `[A-Za-z0-9]+` \| ([\d.]+) \|", line).group(1)) for line in slowest]
    assert len(times) == 3 and times == sorted(times, reverse=True)
