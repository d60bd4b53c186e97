"""`precision: auto` on a CPU: bfloat16 where this CPU's bfloat16 matmul is clearly faster, from a
measurement made once per machine and cached."""

import json

import keras
import pytest

from keras_samplecnn import benchmarking
from keras_samplecnn.training import precision


@pytest.mark.parametrize(
    "bfloat16, policy",
    [(4.7e11, "mixed_bfloat16"),  # AMX: 4.7x
     (2.5e11, "mixed_bfloat16"),  # exactly the threshold
     (2.49e11, "float32"),
     (1.7e11, "float32"),  # AVX-512 BF16 without AMX: faster matmuls, slower demo training
     (0.5e11, "float32")],  # a Xeon without AMX: half  # fmt: skip
)
def test_cpu_policy_follows_the_measured_ratio(bfloat16, policy):
    chosen, reason = precision.cpu_policy({"float32": 1e11, "bfloat16": bfloat16})
    assert chosen == policy
    assert f"{bfloat16 / 1e11:.1f}x" in reason and "100 GFLOP/s" not in reason and "float32's 100" in reason


@pytest.fixture
def fake_peaks(tmp_path, monkeypatch):
    """matmul_peak replaced by a counter; Keras' folder in tmp_path."""
    calls = []

    def fake(dtype="float32", size=2048, repeats=5):
        calls.append(dtype)
        return {"float32": 2e11, "bfloat16": 5e11}[dtype]

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(benchmarking, "matmul_peak", fake)
    return calls


def test_rates_are_measured_once_per_machine_and_cached(tmp_path, fake_peaks, monkeypatch):
    first = precision.cpu_matmul_rates()
    assert first == {"float32": 2e11, "bfloat16": 5e11}
    assert fake_peaks == ["float32", "bfloat16"] * 3  # alternated, best of each
    assert precision.cpu_matmul_rates() == first and len(fake_peaks) == 6  # from the cache
    with open(tmp_path / "keras_samplecnn" / precision.CACHE_FILE, encoding="utf-8") as handle:
        assert json.load(handle) == {precision.cpu_fingerprint(): first}

    monkeypatch.setattr(precision, "cpu_fingerprint", lambda: "another CPU")  # another machine
    precision.cpu_matmul_rates()
    assert len(fake_peaks) == 12

    (tmp_path / "keras_samplecnn" / precision.CACHE_FILE).write_text("{not json")  # damaged: measured again
    assert precision.cpu_matmul_rates() == first and len(fake_peaks) == 18


def test_choose_says_why(fake_peaks, monkeypatch):
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: None)
    assert precision.choose("float32", "auto") == ("float32", precision.CPU_XLA, "as configured")
    if keras.backend.backend() == "tensorflow":
        policy, xla, reason = precision.choose("auto", False)
        assert (policy, xla) == ("mixed_bfloat16", False) and "2.5x" in reason
        assert precision.resolve("auto", False) == ("mixed_bfloat16", False)
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: (9, 0))
    assert precision.choose("auto", "auto")[:2] == ("mixed_bfloat16", True)
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: (7, 5))
    assert precision.choose("auto", "auto")[0] == "mixed_float16"
