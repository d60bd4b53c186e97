"""Multi-level / multi-scale feature aggregation (Lee & Nam, SPL 2017): extraction, cache, classifier, CLI."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score

import keras_samplecnn
from keras_samplecnn.aggregation import (
    aggregate,
    compare_features,
    end_to_end_row,
    evaluate_classifier,
    extract_features,
    extractor_layers,
    feature_columns,
    feature_variants,
    load_features,
    markdown_table,
    read_features_manifest,
    summarise,
    train_classifier,
    verify_features,
)
from keras_samplecnn.data import read_manifest
from tests.tiny_data import SAMPLE_RATE
from tfrecords_tools import folder, synthetic
from tfrecords_tools.writer import Settings, convert, read_examples

SPLITS = ("train", "valid", "test")


def _se_model(tags, input_length=243, sample_rate=SAMPLE_RATE):
    return keras_samplecnn.build(
        "se", num_classes=len(tags), n=4, input_length=input_length, filters=[8, 8, 16, 16],
        stem_filters=8, se_ratio=0.5, tags=tags, sample_rate=sample_rate,
    )  # fmt: skip


def _basic_model(tags):
    return keras_samplecnn.build(
        "basic", num_classes=len(tags), n=5, input_length=729, filters=[8, 8, 8, 16, 12],
        stem_filters=8, tags=tags, sample_rate=SAMPLE_RATE,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, tiny_mtat):
    root = tmp_path_factory.mktemp("aggregation")
    data = tiny_mtat
    tags = read_manifest(data).tags
    keras.utils.set_random_seed(1)
    return {"root": root, "data": data, "tags": tags, "models": [_se_model(tags), _basic_model(tags)]}


@pytest.fixture(scope="module")
def top3(tiny):
    out = tiny["root"] / "top3"
    result = extract_features(tiny["models"], tiny["data"], out, shard_clips=8, show_progress=False)
    return out, result


def _clips(data_dir, split):
    """(audio float32 per clip, labels, clip ids), decoded from the shards without the pipeline."""
    manifest = read_manifest(data_dir)
    examples = [e for path in manifest.shard_files(split) for e in read_examples(path)]
    audio = [e["audio"].astype(np.float32) / 32768.0 for e in examples]
    return audio, np.stack([e["labels"] for e in examples]), [e["clip_id"] for e in examples]


def _expected_features(models_and_layers, data_dir, split):
    """Each named layer run on every segment at 0, L, 2L, ... of each clip, max over time,
    mean over segments, concatenated: computed clip by clip, independently of the library."""
    audio, _, _ = _clips(data_dir, split)
    rows = []
    for clip in audio:
        parts = []
        for model, names in models_and_layers:
            length = model.input_length
            count = max(len(clip) // length, 1)
            padded = np.pad(clip, (0, max(length - len(clip), 0)))
            segments = np.stack([padded[i * length : (i + 1) * length] for i in range(count)])
            for name in names:
                probe = keras.Model(model.input, model.get_layer(name).output)
                maps = np.asarray(probe(segments, training=False))
                parts.append(maps.max(axis=1).mean(axis=0))
        rows.append(np.concatenate(parts))
    return np.stack(rows)


# -- aggregation ---------------------------------------------------------------------------


def test_aggregate_is_max_over_time_then_mean_over_segments():
    rng = np.random.default_rng(0)
    maps = [rng.normal(size=(7, 5, 3)), rng.normal(size=(7, 2, 4))]
    clip = np.array([2, 0, 2, 1, 0, 2, 1])
    got = aggregate(maps, clip, 3)
    expected = np.zeros((3, 7))
    for c in range(3):
        for s in np.flatnonzero(clip == c):
            expected[c] += np.concatenate([maps[0][s].max(axis=0), maps[1][s].max(axis=0)])
        expected[c] /= np.sum(clip == c)
    assert got.dtype == np.float32 and got.shape == (3, 7)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_extractor_layers(tiny):
    se, basic = tiny["models"]
    assert extractor_layers(se) == ["block2_se", "block3_se", "block4_se"]
    assert extractor_layers(se, "all") == ["block1_se", "block2_se", "block3_se", "block4_se"]
    assert extractor_layers(basic, "top3") == ["block3", "block4", "block5"]
    assert extractor_layers(basic, "block1,features") == ["block1", "features"]
    with pytest.raises(ValueError, match="no layer"):
        extractor_layers(basic, ["block9"])


def test_features_equal_an_independent_computation(tiny, top3):
    out, result = top3
    se, basic = tiny["models"]
    layers = [(se, ["block2_se", "block3_se", "block4_se"]), (basic, ["block3", "block4", "block5"])]
    for split in SPLITS:
        features, labels, ids = load_features(out, split)
        _, true_labels, true_ids = _clips(tiny["data"], split)
        assert features.dtype == np.float32 and features.shape == (len(true_ids), 8 + 16 + 16 + 8 + 16 + 12)
        assert list(ids) == true_ids
        np.testing.assert_array_equal(labels, true_labels)
        np.testing.assert_allclose(
            features, _expected_features(layers, tiny["data"], split), rtol=1e-5, atol=1e-5
        )
    assert {s: result["splits"][s]["clips"] for s in SPLITS} == {
        s: read_manifest(tiny["data"]).num_clips(s) for s in SPLITS
    }


def test_manifest_records_layers_widths_and_offsets(tiny, top3):
    out, _ = top3
    content = json.loads((out / "features_manifest.json").read_text())
    assert [(e["extractor"], e["layer"], e["width"], e["offset"]) for e in content["layers"]] == [
        (0, "block2_se", 8, 0), (0, "block3_se", 16, 8), (0, "block4_se", 16, 24),
        (1, "block3", 8, 40), (1, "block4", 16, 48), (1, "block5", 12, 64),
    ]  # fmt: skip
    assert content["dim"] == 76
    assert [e["input_length"] for e in content["extractors"]] == [243, 729]
    assert content["data"]["tags"] == tiny["tags"] and content["data"]["task"] == "multi_label"
    assert [len(content["splits"][s]["shards"]) for s in SPLITS] == [5, 1, 2]  # 36, 3, 9 clips by 8

    every = extract_features(tiny["models"][:1], tiny["data"], tiny["root"] / "all", splits=["valid"],
                             layers="all", show_progress=False)  # fmt: skip
    assert [(e["layer"], e["width"], e["offset"]) for e in every["layers"]] == [
        ("block1_se", 8, 0), ("block2_se", 8, 8), ("block3_se", 16, 16), ("block4_se", 16, 32),
    ]  # fmt: skip
    assert every["dim"] == 48 and list(every["splits"]) == ["valid"]
    features, _, _ = load_features(tiny["root"] / "all", "valid")
    top, _, _ = load_features(out, "valid")
    # The top three blocks are the last 40 columns of "all" and the first 40 of "top3".
    np.testing.assert_allclose(features[:, 8:], top[:, :40], rtol=1e-6, atol=1e-6)


def test_extractors_must_match_the_data_sample_rate(tiny):
    wrong = _se_model(tiny["tags"], sample_rate=16000)
    with pytest.raises(ValueError, match="16000 Hz.*8000 Hz"):
        extract_features(
            [tiny["models"][0], wrong], tiny["data"], tiny["root"] / "wrong", show_progress=False
        )
    with pytest.raises(ValueError, match="no split"):
        extract_features(
            tiny["models"], tiny["data"], tiny["root"] / "wrong", splits=["nope"], show_progress=False
        )


# -- cache and resume ----------------------------------------------------------------------


def _shard_bytes(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.npz"))}


def test_resume_recomputes_only_missing_or_corrupt_shards(tiny, top3):
    out, _ = top3
    original = _shard_bytes(out)
    assert verify_features(out).ok

    fresh = extract_features(
        tiny["models"], tiny["data"], tiny["root"] / "again", shard_clips=8, show_progress=False
    )
    assert _shard_bytes(tiny["root"] / "again") == original  # byte-reproducible
    assert all(run["status"] == "computed" for run in fresh["run"].values())

    target = tiny["root"] / "resume"
    target.mkdir()
    for name, content in original.items():
        (target / name).write_bytes(content)
    extract_features(tiny["models"], tiny["data"], target, shard_clips=8, show_progress=False)  # sidecars
    same = extract_features(tiny["models"], tiny["data"], target, shard_clips=8, show_progress=False)
    assert {s: r["status"] for s, r in same["run"].items()} == {s: "skipped" for s in SPLITS}
    # A finished cache is recognised from the manifests alone: no audio is read.
    import shutil

    blind = tiny["root"] / "no_audio"
    shutil.copytree(tiny["data"], blind)
    for shard in blind.glob("*.tfrecord"):
        shard.write_bytes(b"")
    skipped = extract_features(tiny["models"], blind, target, shard_clips=8, show_progress=False)
    assert {s: r["status"] for s, r in skipped["run"].items()} == {s: "skipped" for s in SPLITS}

    corrupt = target / "train-00002-of-00005.npz"
    data = bytearray(corrupt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    (target / "test-00001-of-00002.npz").unlink()
    report = verify_features(target)
    assert not report.ok and report.shards_checked == 8
    assert sorted(report.problems) == [
        "test-00001-of-00002.npz: missing",
        "train-00002-of-00005.npz: corrupted (sha256 differs from the manifest)",
    ]
    untouched = {p.name: p.stat().st_mtime_ns for p in target.glob("*.npz")}

    resumed = extract_features(tiny["models"], tiny["data"], target, shard_clips=8, show_progress=False)
    runs = resumed["run"]
    assert runs["valid"] == {**runs["valid"], "status": "skipped", "shards_written": []}
    assert runs["train"]["shards_written"] == ["train-00002-of-00005.npz"]
    assert runs["test"]["shards_written"] == ["test-00001-of-00002.npz"]
    for path in target.glob("*.npz"):
        if path.name not in ("train-00002-of-00005.npz", "test-00001-of-00002.npz"):
            assert path.stat().st_mtime_ns == untouched[path.name]
    assert _shard_bytes(target) == original
    assert verify_features(target).ok


def test_other_arguments_invalidate_the_cache(tiny, top3):
    out, _ = top3
    target = tiny["root"] / "changed"
    extract_features(
        tiny["models"], tiny["data"], target, splits=["valid"], shard_clips=8, show_progress=False
    )
    other = extract_features(tiny["models"][::-1], tiny["data"], target, splits=["valid"], shard_clips=8,
                             show_progress=False)  # fmt: skip
    assert other["run"]["valid"]["status"] == "computed"
    features, _, _ = load_features(target, "valid")
    top, _, _ = load_features(out, "valid")
    np.testing.assert_array_equal(features, np.concatenate([top[:, 40:], top[:, :40]], axis=1))


# -- classifier ----------------------------------------------------------------------------


def test_classifier_trains_and_its_evaluation_matches_scikit_learn(tiny, top3):
    out, _ = top3
    model = train_classifier(out, hidden=32, epochs=30, batch_size=8, learning_rate=3e-3, patience=30, seed=0)
    assert model.get_layer("hidden1").units == 32 and model.get_layer("hidden2").units == 32
    assert model.get_layer("predictions").activation.__name__ == "sigmoid"
    train, _, _ = load_features(out, "train")
    norm = model.get_layer("standardize")
    np.testing.assert_allclose(np.asarray(norm.mean).reshape(-1), train.mean(axis=0), rtol=1e-5, atol=1e-6)

    results = evaluate_classifier(model, out, "test")
    features, labels, _ = load_features(out, "test")
    scores = model.predict(features, verbose=0)
    scored = [k for k in range(labels.shape[1]) if 0 < labels[:, k].sum() < len(labels)]
    assert results["task"] == "multi_label" and results["num_clips"] == len(labels) == 9
    assert results["roc_auc"] == pytest.approx(
        np.mean([roc_auc_score(labels[:, k], scores[:, k]) for k in scored])
    )
    assert results["pr_auc"] == pytest.approx(
        np.mean([average_precision_score(labels[:, k], scores[:, k]) for k in scored])
    )
    assert results["f1"]["f1_micro"] == pytest.approx(f1_score(labels, scores >= 0.5, average="micro"))
    assert results["f1"]["threshold"] == 0.5
    # The tags are tones: features of even an untrained extractor separate them somewhat.
    assert results["roc_auc"] > 0.6


def test_a_linear_classifier_is_standardisation_then_one_dense_layer(tiny, top3):
    """hidden=0, the ISMIR 2018 transfer classifier: sigmoid((x - mean) / max(std, 1e-7) @ W + b)."""
    out, _ = top3
    model = train_classifier(out, hidden=0, epochs=3, batch_size=8, seed=0)
    assert [layer.name for layer in model.layers] == ["features", "standardize", "predictions"]
    train, _, _ = load_features(out, "train")
    test, _, _ = load_features(out, "test")
    kernel, bias = (np.asarray(w) for w in model.get_layer("predictions").get_weights())
    z = (test - train.mean(axis=0)) / np.maximum(np.sqrt(train.var(axis=0)), 1e-7) @ kernel + bias
    expected = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_allclose(model.predict(test, verbose=0), expected, rtol=1e-3, atol=1e-5)
    with pytest.raises(ValueError, match="hidden must be >= 0"):
        train_classifier(out, hidden=-1)


def _folder_dataset(root):
    """A single-label folder dataset with classes other than the tiny MTAT tags."""
    audio = root / "audio"
    rng = np.random.default_rng(4)
    rows = []
    for name, frequency in (("hum", 200.0), ("whistle", 2500.0), ("buzz", 900.0)):
        for number in range(10):
            wave = synthetic.tone(frequency * rng.uniform(0.95, 1.05), 0.4, SAMPLE_RATE)
            wave = wave + 0.02 * rng.standard_normal(len(wave)).astype(np.float32)
            synthetic.write_audio(audio / f"{name}/{number}.wav", wave, SAMPLE_RATE)
            rows.append(f"{name}/{number}.wav,{name}")
    labels = root / "labels.csv"
    labels.write_text("path,label\n" + "\n".join(rows) + "\n")
    out = root / "folder_tfrecords"
    convert(folder.plan(audio, labels), out, Settings(sample_rate=SAMPLE_RATE, segment_length=243),
            num_shards=1, workers=1, show_progress=False)  # fmt: skip
    return out


def test_transfer_to_a_single_label_folder_dataset(tiny):
    data = _folder_dataset(tiny["root"])
    manifest = read_manifest(data)
    assert manifest.task == "single_label" and manifest.tags == ["buzz", "hum", "whistle"]
    out = tiny["root"] / "transfer"
    result = extract_features(tiny["models"], data, out, layers="all", show_progress=False)
    assert result["data"]["task"] == "single_label" and result["dim"] == 48 + 52
    model = train_classifier(out, hidden=32, epochs=40, batch_size=8, learning_rate=3e-3, patience=40, seed=1)
    assert model.get_layer("predictions").activation.__name__ == "softmax"

    results = evaluate_classifier(model, out, "test")
    features, labels, _ = load_features(out, "test")
    scores = model.predict(features, verbose=0)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    assert results["task"] == "single_label" and results["num_clips"] == 3
    assert results["accuracy"] == pytest.approx(accuracy_score(labels.argmax(1), scores.argmax(1)))
    assert results["f1_macro"] == pytest.approx(f1_score(labels.argmax(1), scores.argmax(1), average="macro"))
    assert np.sum(results["confusion_matrix"]) == 3
    train_features, train_labels, _ = load_features(out, "train")
    train_accuracy = accuracy_score(
        train_labels.argmax(1), model.predict(train_features, verbose=0).argmax(1)
    )
    assert train_accuracy > 0.9  # three tones are separable from the transferred features


# -- feature subsets and the comparison table ------------------------------------------------

# Two extractors of 2 and 3 layers: widths 4, 6 | 1, 2, 3 at offsets 0, 4 | 10, 11, 13.
CONTENT = {
    "extractors": [{"name": "a"}, {"name": "b"}],
    "layers": [
        {"extractor": 0, "layer": "block1", "width": 4, "offset": 0},
        {"extractor": 0, "layer": "block2", "width": 6, "offset": 4},
        {"extractor": 1, "layer": "block3", "width": 1, "offset": 10},
        {"extractor": 1, "layer": "block4", "width": 2, "offset": 11},
        {"extractor": 1, "layer": "block5", "width": 3, "offset": 13},
    ],
    "dim": 16,
}


def test_feature_columns_select_extractors_and_layers():
    assert feature_columns(CONTENT).tolist() == list(range(16))
    assert feature_columns(CONTENT, extractors=[1]).tolist() == list(range(10, 16))
    assert feature_columns(CONTENT, layers=[-1]).tolist() == [4, 5, 6, 7, 8, 9, 13, 14, 15]
    assert feature_columns(CONTENT, extractors=[0], layers=["block1"]).tolist() == [0, 1, 2, 3]
    assert feature_columns(CONTENT, extractors=[1], layers=[-2, "block3"]).tolist() == [10, 11, 12]
    with pytest.raises(ValueError, match="no extractor"):
        feature_columns(CONTENT, extractors=[2])
    with pytest.raises(ValueError, match="no cached layer 'block9'"):
        feature_columns(CONTENT, extractors=[0], layers=["block9"])
    with pytest.raises(ValueError, match="outside"):
        feature_columns(CONTENT, extractors=[0], layers=[-3])


def test_feature_variants_of_a_cache():
    variants = feature_variants(CONTENT)
    assert [(v.name, v.kind) for v in variants] == [
        ("a, last layer", "single-level"), ("a, all cached layers", "multi-level"),
        ("b, last layer", "single-level"), ("b, all cached layers", "multi-level"),
        ("all extractors, last layers", "multi-scale"),
        ("all extractors, all cached layers", "multi-level + multi-scale"),
    ]  # fmt: skip
    one = {**CONTENT, "extractors": [{"name": "a"}], "layers": CONTENT["layers"][:1]}
    assert [v.kind for v in feature_variants(one)] == ["single-level"]  # nothing to combine


def test_summarise_means_and_sample_deviations_over_seeds():
    rows = [
        {"variant": "x", "kind": "multi-level", "dim": 8, "seed": s, "roc_auc": a, "pr_auc": p}
        for s, a, p in ((0, 0.90, 0.5), (1, 0.92, 0.6), (2, 0.97, 0.4))
    ] + [end_to_end_row("net", {"roc_auc": 0.8, "pr_auc": 0.3}, 0)]
    summary = summarise(rows)
    assert [e["variant"] for e in summary] == ["net, end to end", "x"]  # end-to-end rows first
    x = summary[1]
    assert x["seeds"] == 3 and x["roc_auc_mean"] == pytest.approx(np.mean([0.90, 0.92, 0.97]))
    assert x["roc_auc_std"] == pytest.approx(np.std([0.90, 0.92, 0.97], ddof=1))
    assert summary[0]["roc_auc_std"] is None and summary[0]["dim"] is None
    table = markdown_table(summary)
    assert "| x | multi-level | 8 | 3 | 0.9300 ± 0.0361 | 0.5000 ± 0.1000 |" in table
    assert "| net, end to end | end to end | — | 1 | 0.8000 | 0.3000 |" in table


def test_compare_features_trains_one_classifier_per_subset(tiny, top3):
    out, _ = top3
    content = read_features_manifest(out)
    rows = compare_features(out, seed=0, hidden=16, epochs=3, batch_size=8, patience=3)
    variants = feature_variants(content)
    assert [r["variant"] for r in rows] == [v.name for v in variants]
    # dims from the layer widths of the two extractors' top three blocks: SE 8+16+16, basic 8+16+12
    assert {r["variant"]: r["dim"] for r in rows} == {
        "se, last layer": 16, "se, all cached layers": 40, "samplecnn, last layer": 12,
        "samplecnn, all cached layers": 36, "all extractors, last layers": 28,
        "all extractors, all cached layers": 76,
    }  # fmt: skip
    # Each row is the classifier trained on those columns: the same seed reproduces it.
    columns = feature_columns(content, extractors=[1], layers=[-1])
    model = train_classifier(out, hidden=16, epochs=3, batch_size=8, patience=3, seed=0, columns=columns)
    again = evaluate_classifier(model, out, "test", columns=columns)
    assert again["roc_auc"] == pytest.approx(rows[2]["roc_auc"], abs=1e-6)
    with pytest.raises(ValueError, match="give the columns it was trained on"):
        evaluate_classifier(model, out, "test")


# -- CLI -----------------------------------------------------------------------------------


def test_cli_extract_end_to_end(tiny, top3):
    paths = []
    for i, model in enumerate(tiny["models"]):
        paths.append(str(tiny["root"] / f"extractor{i}.keras"))
        model.save(paths[-1])
    script = os.path.join(os.path.dirname(sys.executable), "samplecnn")
    out = tiny["root"] / "cli"
    command = [script, "extract", *paths, "--data", str(tiny["data"]), "--out", str(out),
               "--splits", "train,test", "--shard-clips", "8", "--no-progress"]  # fmt: skip
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "76 features per clip (6 layers of 2 extractors)" in done.stdout
    assert "train: 36 clips in" in done.stdout and "clips/s" in done.stdout and "test: 9 clips" in done.stdout
    content = json.loads((out / "features_manifest.json").read_text())
    assert list(content["splits"]) == ["train", "test"]
    assert [e["path"] for e in content["extractors"]] == paths
    for split in ("train", "test"):
        np.testing.assert_array_equal(load_features(out, split)[0], load_features(top3[0], split)[0])

    again = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already extracted" in again.stdout

    bad = subprocess.run([script, "extract", paths[0], "--data", str(tiny["data"]), "--out", str(out),
                          "--layers", "block1,nope"], check=False, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and "nope" in bad.stderr
