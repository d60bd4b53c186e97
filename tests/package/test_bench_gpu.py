"""benchmarks/bench_gpu.py, the one-command GPU benchmark, runs on the CPU too (JAX backend)."""

import importlib.util
import os
import subprocess
import sys

from tests.helpers import unavailable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "benchmarks", "bench_gpu.py")


def _require_jax():
    if importlib.util.find_spec("jax") is None:
        unavailable("JAX is not installed (pip install -e '.[backends]')")


def _load():
    # The script picks JAX in os.environ when it is imported; keep that out of later tests'
    # subprocesses.
    backend = os.environ.get("KERAS_BACKEND")
    spec = importlib.util.spec_from_file_location("bench_gpu_for_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        if backend is None:
            os.environ.pop("KERAS_BACKEND", None)
        else:
            os.environ["KERAS_BACKEND"] = backend
    return module


def test_flops_come_from_xla_and_count_a_matmul_exactly():
    _require_jax()
    import jax
    import jax.numpy as jnp

    bench = _load()
    a = jnp.ones((64, 32), jnp.float32)
    b = jnp.ones((32, 16), jnp.float32)
    flops = bench.compiled_flops(jax.jit(lambda x, y: x @ y), a, b)
    assert flops == 2 * 64 * 32 * 16  # multiply-adds of a (64, 32) x (32, 16) product
    assert bench.is_out_of_memory(RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate"))
    assert not bench.is_out_of_memory(RuntimeError("INVALID_ARGUMENT: shapes"))


def test_quick_run_prints_the_table_and_the_input_pipeline_rate(tiny_mtat):
    _require_jax()
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, SCRIPT, "--quick", "--models", "samplecnn", "--data", tiny_mtat],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("Matmul peak") and "bfloat16" in line for line in lines)
    rows = [line for line in lines if line.startswith("| `samplecnn`")]
    # float32 and mixed bfloat16, each at the first batch and the largest that fits (quick: 4 and 8)
    assert [row.split("|")[2].strip() + "@" + row.split("|")[3].strip() for row in rows] == [
        "float32@4", "float32@8", "mixed_bfloat16@4", "mixed_bfloat16@8"]  # fmt: skip
    for row in rows:
        cells = [cell.strip() for cell in row.split("|")[4:8]]
        assert float(cells[0].replace(",", "")) > 0 and float(cells[2].replace(",", "")) > 0
        assert 0 < float(cells[1]) < 100 and 0 < float(cells[3]) < 100, row  # a share of the peak
    assert any("Input pipeline" in line and "segments/s of 243 samples" in line for line in lines)
