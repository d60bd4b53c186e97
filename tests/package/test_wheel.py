"""The package as users get it: a wheel and an sdist built from this tree, the wheel installed
into a fresh virtual environment outside the repository (with the `[jax]` extra, the lightest
backend), and its commands run there on a model trained here.

Large: building and installing take a minute or two (the packages come from pip's cache or
the registry).
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import pytest
import soundfile as sf

import keras_samplecnn
import tfrecords_tools
from tests.helpers import unavailable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TAGS = ["low", "mid", "high"]
RESOURCES = ["mtat_top50_tags.txt", "mtat_split_train.txt", "mtat_split_valid.txt", "mtat_split_test.txt",
             "msd_top50_tags.txt", "gtzan_filtered_train.txt"]  # fmt: skip


def test_version_is_written_once():
    installed = importlib.metadata.version("keras_samplecnn")
    assert installed == keras_samplecnn.__version__ == tfrecords_tools.__version__
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        changelog = f.read()
    assert f"## [{keras_samplecnn.__version__}]" in changelog and "## [Unreleased]" in changelog
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        assert keras_samplecnn.__version__ not in f.read()  # read from __version__, not repeated
    for command in (["samplecnn"], [sys.executable, "-m", "tfrecords_tools"]):
        printed = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=300)
        assert printed.returncode == 0 and printed.stdout.split()[-1] == installed, printed


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, " ".join(map(str, command)) + "\n" + result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def train_tiny_model(path):
    """A 3^4 SE model with three tags, trained for a few steps to tell tones apart."""

    model = keras_samplecnn.build("se", num_classes=3, tags=TAGS, n=4, input_length=243, sample_rate=8000,
                                  filters=[8, 8, 16, 16], stem_filters=8, head_units=16, se_ratio=0.5)  # fmt: skip
    model.compile("adam", "binary_crossentropy")
    t = np.arange(243) / 8000
    x = np.stack([np.sin(2 * np.pi * f * t + p) for f in (300, 1200, 3000) for p in np.linspace(0, 3, 8)])
    y = np.repeat(np.eye(3), 8, axis=0)
    model.fit(x.astype("float32"), y, epochs=3, batch_size=8, verbose=0)
    model.save(path)


@pytest.mark.large
def test_the_wheel_installs_and_runs_outside_the_repository(tmp_path):
    try:
        import build  # noqa: F401  (python -m build)
    except ImportError:
        unavailable("the build package is not installed (pip install -e '.[test]')")
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", str(dist), ROOT], cwd=ROOT)
    version = keras_samplecnn.__version__
    wheel = dist / f"keras_samplecnn-{version}-py3-none-any.whl"
    sdist = dist / f"keras_samplecnn-{version}.tar.gz"
    assert wheel.exists() and sdist.exists(), sorted(os.listdir(dist))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"keras_samplecnn/resources/{name}" for name in RESOURCES} <= names
    assert "tfrecords_tools/__main__.py" in names and not any(n.startswith("tests/") for n in names)
    with tarfile.open(sdist) as archive:
        assert f"keras_samplecnn-{version}/CHANGELOG.md" in archive.getnames()

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python, bin_dir = str(venv / "bin" / "python"), venv / "bin"
    run([python, "-m", "pip", "install", "--quiet", f"{wheel}[jax]"])
    work = tmp_path / "work"  # outside the repository: the installed copy is what runs
    work.mkdir()
    model = work / "tiny.keras"
    train_tiny_model(str(model))
    song = work / "song.wav"
    t = np.arange(8000) / 8000
    sf.write(song, 0.5 * np.sin(2 * np.pi * 3000 * t), 8000)
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "PYTHONPATH")}
    env["KERAS_HOME"] = str(tmp_path / "keras_home")

    where = run([python, "-c", "import keras_samplecnn, keras; print(keras_samplecnn.__file__, keras.config.backend(), "
                 "keras_samplecnn.__version__)"], cwd=work, env=env).split()  # fmt: skip
    assert where[0].startswith(str(venv)) and where[1:] == ["jax", version]
    assert run([str(bin_dir / "samplecnn"), "--version"], cwd=work, env=env).split() == ["samplecnn", version]
    models = run([str(bin_dir / "samplecnn"), "models"], cwd=work, env=env)
    assert all(f"`{name}`" in models for name in keras_samplecnn.list_models())
    tags = json.loads(run([str(bin_dir / "samplecnn"), "tag", str(song), "--model", str(model), "--json"],
                          cwd=work, env=env))[str(song)]  # fmt: skip
    assert sorted(tags) == sorted(TAGS) and all(0 <= p <= 1 for p in tags.values())
    assert "mtat" in run([python, "-m", "tfrecords_tools", "--help"], cwd=work, env=env)
    listed = run([python, "-c", "from importlib.resources import files; "
                  "print(*sorted(p.name for p in files('keras_samplecnn').joinpath('resources').iterdir()))"],
                 cwd=work, env=env).split()  # fmt: skip
    assert set(RESOURCES) <= set(listed)
    # The experiments' configs travel in the wheel: `samplecnn run` lists and validates them there.
    experiments = run([str(bin_dir / "samplecnn"), "run", "--help"], cwd=work, env=env)
    assert all(name in experiments for name in ("mtat_se", "dcue", "artist_representation", "mtat_multiscale"))
    bad = subprocess.run([str(bin_dir / "samplecnn"), "run", "mtat_se", "--demo", "--set", "optimization.patience=0"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and "optimization.patience" in bad.stderr, bad.stderr[-2000:]
