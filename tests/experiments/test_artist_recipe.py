"""The artist-label experiment (`keras_samplecnn.experiments.artist`, `recipes/artist_representation.py`) on tiny
synthetic data: both objectives, three targets, the table, resume, and its config's checks."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_samplecnn.experiments import artist
from keras_samplecnn.experiments import main as run_experiment
from keras_samplecnn.experiments.settings import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(ROOT, "recipes")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
TINY = ["--demo", "--seeds", "1", "--workers", "1",
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


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
def test_both_objectives_and_the_random_network_on_three_targets(demo_run):
    out, stdout = demo_run
    table = json.loads((out / "artist_table.json").read_text())
    rows = table["rows"]
    assert {(r["target"], r["features"], r["seed"]) for r in rows} == {
        (t, f, 1) for t in ("artist", "genre", "tags") for f in ("basic", "siamese", "random")
    }
    assert len(rows) == 9
    for row in rows:
        assert row["dim"] == 256  # the 256-d embedding, one extractor per row
        assert 0.0 <= row["roc_auc"] <= 1.0
        assert ("accuracy" in row) == (row["target"] != "tags")
    text = (out / "artist_table.md").read_text()
    assert "| basic |" in text and "| random |" in text and "tagging (ROC-AUC)" in text
    assert "GFLOP/s" in stdout  # every timing names the machine's peak
    for objective in ("basic", "siamese"):
        assert os.path.exists(out / "seed1" / objective / "best.keras")
    # The features are the models' 256-d embeddings of the clips, cached with their track ids.
    cache = json.loads((out / "seed1" / "features" / "artist" / "features_manifest.json").read_text())
    assert cache["dim"] == 3 * 256 and [entry["layer"] for entry in cache["layers"]] == ["embedding"] * 3
    paths = [entry["path"] for entry in cache["extractors"]]
    assert paths[:2] == [str((out / "seed1" / o / "best.keras").resolve()) for o in ("basic", "siamese")]
    assert paths[2] is None  # the untrained network, built in the recipe
    # The artist data keeps the per-artist split: 5 artists x 2 / 1 / 1 tracks.
    manifest = json.loads((out / "data" / "artists" / "manifest.json").read_text())
    assert [manifest["splits"][s]["clips"] for s in ("train", "valid", "test")] == [10, 5, 5]


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
def test_a_second_run_reuses_training_and_features(demo_run):
    out, _ = demo_run
    mtimes = {o: os.path.getmtime(out / "seed1" / o / "best.keras") for o in ("basic", "siamese")}
    stdout = _run(*TINY, "--out", str(out)).stdout
    assert stdout.count("holds a finished run") == 2 and "Training " not in stdout
    assert "Synthesising" not in stdout
    assert {o: os.path.getmtime(out / "seed1" / o / "best.keras") for o in ("basic", "siamese")} == mtimes


def test_the_table_is_the_mean_and_sample_deviation_over_seeds():
    common = {"kind": "single-level", "dim": 256, "pr_auc": 0.5}  # as compare_features gives them
    rows = [{"target": "tags", "features": "basic", "seed": s, "roc_auc": v, **common}
            for s, v in enumerate((0.8, 0.9, 0.95))]  # fmt: skip
    rows += [{"target": "tags", "features": "random", "seed": s, "roc_auc": v, **common}
             for s, v in enumerate((0.85, 0.86, 0.84))]  # fmt: skip
    rows += [{"target": "genre", "features": "basic", "seed": 0, "roc_auc": 0.7, "accuracy": 0.6, **common}]
    summary = artist.summarise(rows)
    entry = summary[("tags", "basic")]
    assert entry["mean"] == pytest.approx(np.mean([0.8, 0.9, 0.95]))
    assert entry["std"] == pytest.approx(np.std([0.8, 0.9, 0.95], ddof=1))
    assert summary[("genre", "basic")] == {"metric": "accuracy", "values": [0.6], "mean": 0.6, "std": None}
    table = artist.markdown_table(summary, ["basic", "siamese", "random"])
    assert table.splitlines()[0] == "| features | genre (accuracy) | tagging (ROC-AUC) |"
    assert "| basic | 0.6000 | 0.8833 ± 0.0764 |" in table and "| siamese | — | — |" in table
    # basic beats random on seeds 1 and 2 only (0.8 < 0.85): not on every seed.
    lines = artist.verdicts(summary, ["basic"])
    assert lines == ["basic does NOT beat the random network on tagging: +0.0333 roc_auc (2/3 seeds)"]
    rows[0]["roc_auc"] = 0.86
    assert artist.verdicts(artist.summarise(rows), ["basic"])[0].startswith("basic beats the random network on tagging")


def test_the_recipe_geometry_is_the_models():
    from keras_samplecnn.models import build

    model = build("artist_basic", num_classes=3)
    config = artist.load("artist_representation").config
    assert artist.model_geometry(config) == (model.input_length, model.sample_rate)
    small = ["model.overrides.num_frames=200", "model.overrides.hop_length=256"]
    loaded = artist.load("artist_representation", profile="cpu_artist", sets=small)
    assert artist.model_geometry(loaded.config) == (199 * 256, 22050)


def test_the_config_names_its_experiment_and_its_demo():
    loaded = artist.load("artist_representation", demo=True, demo_sizes=artist.demo_sizes(["artists.num_artists=7"]))
    assert (loaded.experiment, loaded.dataset) == ("artist", "artists")
    assert loaded.demo.dataset["num_artists"] == 7  # --demo-size artists.KEY is the demo's dataset
    assert loaded.demo.classifier.options() == {"hidden": 0, "epochs": 100, "batch_size": 32, "learning_rate": 0.01,
                                                "patience": 8}  # fmt: skip
    assert loaded.config.data.crops_per_clip == 4  # the demo's cpu_artist profile, merged over the config
    assert artist.load("artist_representation").config.data.crops_per_clip == 1


@pytest.mark.parametrize(
    "where, change, message",
    [
        ("config", "optimization: {learning_rate: fast}", "optimization.learning_rate: expected float"),
        ("config", "siamese: {margin: 0}", "siamese.margin: 0.0 is not a number > 0"),
        ("demo", "seeds: [0, one]", "demo.seeds:"),
        ("demo", "tracks_per_artist: '6,2'", "demo.tracks_per_artist: '6,2' is not three comma-separated counts"),
        ("demo", "classifier: {epochs: 0}", "demo.classifier.epochs: 0 is not"),
        ("demo", "classifier: {depth: 2}", "in 'demo.classifier'"),
        ("demo", "tags: {n_tracks: 3}", "demo.tags: unknown key(s) ['n_tracks']"),
        ("demo", "genres: {clips_per_genre: 4, colour: red}", "demo.genres: unknown key(s) ['colour']"),
        ("demo", "models: {triplet: []}", "demo.models:"),
        ("demo", "models: {siamese: ['optimization.stages=none']}", "demo.models.siamese: optimization.stages"),
        ("demo", "sedes: [0]", "unknown key(s) ['sedes'] in 'demo'"),
    ],
)
def test_a_bad_value_in_the_config_or_its_demo_section_is_refused_naming_the_key(tmp_path, where, change, message):
    import yaml

    base = os.path.join(os.path.dirname(artist.__file__), "configs", "artist_representation.yaml")
    path = tmp_path / "artist_bad.yaml"
    text = f"extends: {base}\n" + ("demo:\n  " if where == "demo" else "") + change + "\n"
    assert yaml.safe_load(text)  # the change itself is valid YAML: only its value is wrong
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        artist.load(str(path), demo=True)
    assert message in str(info.value)
    # The command line says the same and stops before any work.
    with pytest.raises(SystemExit) as info:
        run_experiment(str(path), argv=["--demo", "--out", str(tmp_path / "out")])
    assert message in str(info.value.code)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--artists", "{tmp}"], "one of --artist-labels CSV, --msd-tracks unique_tracks.txt or --split-list"),
        (["--artists", "{tmp}", "--artist-labels", "a.csv", "--split-list", "b.pkl"], "give one of --artist-labels"),
        (["--artists", "{tmp}/missing"], "No artist data found"),
        (["--demo", "--objectives", "triplet"], "--objectives"),
        (["--demo", "--seeds", "zero"], "--seeds takes comma-separated integers"),
        (["--demo", "--classifier", "depth=2"], "KEY=VALUE"),
        (["--demo", "--set", "optimization.momentum=fast"], "optimization.momentum"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, args, message):
    argv = [arg.format(tmp=tmp_path) for arg in args] + ["--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as info:
        run_experiment("artist_representation", argv=argv)
    assert message in str(info.value.code)
    assert not (tmp_path / "out" / "seed0").exists()  # stopped before any training


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
def test_a_pretrained_preset_is_one_more_row_and_draws_the_genres(tmp_path):
    from tests.helpers import preset_weights_dir

    weights = preset_weights_dir()
    out = tmp_path / "run"
    env = dict(ENV, SAMPLECNN_WEIGHTS_DIR=weights)
    done = subprocess.run([sys.executable, os.path.join(RECIPES, "artist_representation.py"), *TINY, "--objectives",
                           "basic", "--pretrained", "ismir2018_siamese_msd10k", "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads((out / "artist_table.json").read_text())["rows"]
    assert {(r["target"], r["features"]) for r in rows} == {
        (t, f) for t in ("artist", "genre", "tags") for f in ("basic", "ismir2018_siamese_msd10k", "random")
    }
    cache = json.loads((out / "seed1" / "features" / "genre" / "features_manifest.json").read_text())
    assert [entry["path"] for entry in cache["extractors"]][1] == "ismir2018_siamese_msd10k"
    assert "| ismir2018_siamese_msd10k |" in (out / "artist_table.md").read_text()
    assert (out / "pretrained_genre_pca.png").stat().st_size > 10_000


def test_an_unknown_preset_is_refused_before_any_work(tmp_path):
    out = _run("--demo", "--pretrained", "no_such_preset", "--out", str(tmp_path / "run"), check=False)
    assert out.returncode != 0 and "not a preset" in out.stderr
    assert not (tmp_path / "run").exists()
