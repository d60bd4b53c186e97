"""recipes/artist_representation.py on tiny synthetic data: both objectives, three targets, the table, resume."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = os.path.join(ROOT, "recipes")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
TINY = ["--demo", "--seeds", "0,1", "--workers", "1",
        "--demo-size", "artists.num_artists=5", "--demo-size", "artists.tracks_per_artist=4",
        "--demo-size", "artists.clip_seconds=3.2", "--demo-size", "tracks_per_artist=2,1,1",
        "--demo-size", "tags.n_clips=60", "--demo-size", "tags.clip_seconds=3.2",
        "--demo-size", "genres.clips_per_genre=4", "--demo-size", "genres.clip_seconds=3.2",
        "--demo-size", "models.siamese=[]",
        "--set", "optimization.max_epochs=1", "--set", "data.crops_per_clip=1", "--set", "data.batch_size=4",
        "--classifier", "epochs=3"]  # fmt: skip


def _run(*args, check=True):
    out = subprocess.run([sys.executable, os.path.join(RECIPES, "artist_representation.py"), *args], check=False,
                         capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=900)  # fmt: skip
    if check:
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("artist_recipe") / "run"
    return out, _run(*TINY, "--out", str(out)).stdout


def test_both_objectives_and_the_random_network_on_three_targets(demo_run):
    out, stdout = demo_run
    table = json.loads((out / "artist_table.json").read_text())
    rows = table["rows"]
    assert len(rows) == 2 * 3 * 3  # seeds x feature sets x targets
    assert {(r["target"], r["features"]) for r in rows} == {
        (t, f) for t in ("artist", "genre", "tags") for f in ("basic", "siamese", "random")
    }
    for row in rows:
        assert row["dim"] == 256  # the 256-d embedding, one extractor per row
        assert 0.0 <= row["roc_auc"] <= 1.0
        assert ("accuracy" in row) == (row["target"] != "tags")
    # The summary is the mean and sample deviation of the seeds' headline metric.
    for entry in table["summary"]:
        metric = "roc_auc" if entry["target"] == "tags" else "accuracy"
        values = [r[metric] for r in rows if (r["target"], r["features"]) == (entry["target"], entry["features"])]
        assert entry["values"] == values and entry["mean"] == pytest.approx(np.mean(values))
        assert entry["std"] == pytest.approx(np.std(values, ddof=1))
    text = (out / "artist_table.md").read_text()
    assert "| basic |" in text and "| random |" in text and "tagging (ROC-AUC)" in text
    assert "GFLOP/s" in stdout  # every timing names the machine's peak
    for seed in (0, 1):
        for objective in ("basic", "siamese"):
            assert os.path.exists(out / f"seed{seed}" / objective / "best.keras")
    # The artist data keeps the per-artist split: 5 artists x 2 / 1 / 1 tracks.
    manifest = json.loads((out / "data" / "artists" / "manifest.json").read_text())
    assert [manifest["splits"][s]["clips"] for s in ("train", "valid", "test")] == [10, 5, 5]


def test_a_second_run_reuses_training_and_features(demo_run):
    out, _ = demo_run
    stdout = _run(*TINY, "--out", str(out)).stdout
    assert stdout.count("holds a finished run") == 4  # 2 seeds x 2 objectives
    assert "Synthesising" not in stdout


def test_the_recipe_geometry_is_the_models():
    sys.path.insert(0, RECIPES)
    try:
        import artist_representation
    finally:
        sys.path.remove(RECIPES)
    from keras_samplecnn.models import build

    model = build("artist_basic", num_classes=3)
    assert artist_representation.model_geometry([]) == (model.input_length, model.sample_rate)
    small = ["model.overrides.num_frames=200", "model.overrides.hop_length=256"]
    assert artist_representation.model_geometry(small) == (199 * 256, 22050)


def test_bad_input_is_a_clear_error(tmp_path):
    result = _run("--artists", str(tmp_path), "--out", str(tmp_path / "o"), check=False)
    assert result.returncode != 0 and "--artist-labels CSV or --msd-tracks" in result.stderr
    result = _run("--artists", str(tmp_path / "missing"), check=False)
    assert result.returncode != 0 and "No artist data found" in result.stderr
    result = _run("--demo", "--objectives", "triplet", check=False)
    assert result.returncode != 0 and "--objectives" in result.stderr
