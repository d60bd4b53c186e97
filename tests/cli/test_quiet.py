"""Commands print no TensorFlow start-up chatter on a CPU machine; real warnings still show."""

import os
import subprocess
import sys

import pytest

from tests.tiny_data import SAMPLE_RATE, SEGMENT

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHATTER = ("absl::InitializeLog", "oneDNN", "cudart_stub", "cuInit", "cpu_feature_guard", "rebuild TensorFlow", "DT_")


def run(*command):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user runs it
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def assert_quiet(result):
    found = [c for c in CHATTER if c in result.stderr]
    assert not found, f"start-up chatter {found} in:\n{result.stderr[-3000:]}"


def test_filter_drops_chatter_and_keeps_warnings():
    code = (
        "import os\n"
        "from keras_samplecnn.quiet import native_logs_filtered\n"
        "with native_logs_filtered():\n"
        "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
        "    os.write(2, b'I0000 00:00:1795686606.633694    2157 port.cc:153] oneDNN custom operations are on.\\n')\n"
        "    os.write(2, b'E0000 00:00:1795686863.322862    3406 cuda_platform.cc:52] failed call to cuInit: x\\n')\n"
        "    os.write(2, b'W0000 00:00:1795686606.633694    2157 foo.cc:1] a real warning\\n')\n"
        "    os.write(2, b'E0000 00:00:1795686606.633694    2157 bar.cc:2] a real error\\n')\n"
    )
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split("] ")[-1] for line in lines] == ["a real warning", "a real error"], result.stderr


def test_process_wide_filter_keeps_python_output_and_real_native_lines():
    code = (
        "import os, sys\n"
        "from keras_samplecnn.quiet import filter_native_logs\n"
        "filter_native_logs()\n"
        "os.write(2, b'E0000 00:00:1795688706.089578   13042 util.cc:131] oneDNN supports DT_BOOL only on "
        "platforms with AVX-512. Falling back to the default Eigen-based implementation if present.\\n')\n"
        "os.write(2, b'W0000 00:00:1795688706.089578   13042 foo.cc:9] a real native warning\\n')\n"
        "print('a python line', file=sys.stderr)\n"
        "raise SystemExit('the traceback-free exit message')\n"
    )
    result = run(sys.executable, "-c", code)
    assert result.returncode == 1
    assert "oneDNN" not in result.stderr
    for expected in ("a real native warning", "a python line", "the traceback-free exit message"):
        assert expected in result.stderr, result.stderr


def test_training_command_is_quiet(tmp_path, tiny_mtat):
    data = tiny_mtat
    config = tmp_path / "config.yaml"
    config.write_text(
        "model: {name: se, overrides: {n: 4, input_length: 243, filters: [8, 8, 16, 16], stem_filters: 8}}\n"
        f"data: {{dir: {data}, batch_size: 8, steps_per_epoch: 2}}\n"
        f"optimization: {{max_epochs: 1}}\noutput: {{dir: {tmp_path / 'run'}, tensorboard: false}}\n"
    )
    result = run(os.path.join(os.path.dirname(sys.executable), "samplecnn"), "train", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    assert_quiet(result)


def test_package_import_and_commands_are_quiet(tmp_path):
    assert_quiet(run(sys.executable, "-c", "import keras_samplecnn, tensorflow as tf; print(tf.constant(1) + 1)"))
    help_ = run(sys.executable, "-m", "tfrecords_tools", "--help")
    assert help_.returncode == 0 and "mtat" in help_.stdout
    assert_quiet(help_)
    recipe = run(sys.executable, "recipes/mtat_se.py", "--data", str(tmp_path / "nowhere"))
    assert recipe.returncode != 0 and "annotations_final.csv" in recipe.stderr
    assert_quiet(recipe)


@pytest.mark.large
def test_conversion_workers_are_quiet(tmp_path, tiny_mtat):
    raw = os.path.join(os.path.dirname(tiny_mtat), "raw")  # read only: the output goes to tmp_path
    result = run(sys.executable, "-m", "tfrecords_tools", "mtat", "--root", raw, "--out", str(tmp_path / "out"),
                 "--workers", "2", "--sample-rate", str(SAMPLE_RATE), "--segment-length", str(SEGMENT),
                 "--num-tags", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert_quiet(result)
