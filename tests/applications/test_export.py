"""Exported models (SavedModel, ONNX, LiteRT) against the Keras model they came from.

Parity is measured against the Keras model's own clip-level scores (segments by
`split_segments`, the mean of `model.predict`), on random audio of several lengths: shorter
than one segment, exactly one, with a tail, and many segments. Reference for the protocol:
Lee et al., SMC 2017 (arXiv:1703.01789).
"""

import importlib.util
import json
import os

import numpy as np
import pytest
import soundfile as sf

import keras_samplecnn
from keras_samplecnn.cli import main
from keras_samplecnn.export import SIDECAR, ExportedModel, export_model
from keras_samplecnn.tagger import Tagger, split_segments

TAGS = ["guitar", "piano", "drums", "vocals", "quiet"]
RATE = 8000
LENGTHS = (100, 729, 2000, 7 * 729 + 5)  # shorter than a segment, one, a tail, several
TOLERANCE = 1e-4

NEEDS = {
    "saved_model": (),
    "onnx": ("tf2onnx", "onnx", "onnxruntime"),
    "litert": (),  # TensorFlow's converter; read with ai-edge-litert or tf.lite
}


def _available(format):
    return all(importlib.util.find_spec(name) for name in NEEDS[format])


FORMATS = [pytest.param(f, marks=pytest.mark.skipif(not _available(f), reason=f"needs {NEEDS[f]}"))
           for f in NEEDS]  # fmt: skip


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    # The demo's SE blocks, at 3^4 on 729 samples and narrow: the whole file runs in seconds.
    model = keras_samplecnn.build("se", num_classes=5, tags=TAGS, m=3, n=4, input_length=729,
                                  sample_rate=RATE, stem_filters=8, filters=[16, 16, 16, 32])  # fmt: skip
    # Non-trivial batch-norm statistics, so a lost inference mode would show.
    for layer in model.layers:
        if "bn" in layer.name and layer.weights:
            mean, var = layer.moving_mean, layer.moving_variance
            mean.assign(np.random.default_rng(1).normal(0, 0.1, mean.shape).astype("float32"))
            var.assign(np.random.default_rng(2).uniform(0.5, 2, var.shape).astype("float32"))
    path = tmp_path_factory.mktemp("keras") / "tiny.keras"
    model.save(path)
    return model, str(path)


def _keras_scores(model, waveform):
    return np.asarray(model.predict(split_segments(waveform, model.input_length), verbose=0)).mean(axis=0)


@pytest.fixture(scope="module")
def exports(model, tmp_path_factory):
    return {}


def _export(model, exports, tmp_path_factory, format):
    if format not in exports:
        out = str(tmp_path_factory.mktemp(format))
        export_model(model[0], out, format=format)
        exports[format] = out
    return exports[format]


@pytest.mark.parametrize("format", FORMATS)
def test_clip_scores_match_keras(model, exports, tmp_path_factory, format):
    out = _export(model, exports, tmp_path_factory, format)
    exported = ExportedModel(out, trust=True)
    rng = np.random.default_rng(0)
    for length in LENGTHS:
        waveform = rng.uniform(-1, 1, length).astype(np.float32)
        expected = _keras_scores(model[0], waveform)
        got = exported.clip_scores(waveform)
        assert got.shape == (len(TAGS),)
        assert np.abs(got - expected).max() <= TOLERANCE, (format, length)
    # Segments are really averaged: two different halves give their mean, not the first's scores.
    a, b = rng.uniform(-1, 1, (2, 729)).astype(np.float32)
    assert not np.allclose(exported.clip_scores(a), exported.clip_scores(b), atol=1e-3)
    both = exported.clip_scores(np.concatenate([a, b]))
    np.testing.assert_allclose(both, (exported.clip_scores(a) + exported.clip_scores(b)) / 2, atol=TOLERANCE)


@pytest.mark.parametrize("format", FORMATS)
def test_sidecar_and_tag_command(model, exports, tmp_path_factory, tmp_path, format, capsys):
    out = _export(model, exports, tmp_path_factory, format)
    with open(os.path.join(out, SIDECAR)) as f:
        meta = json.load(f)
    assert meta["tags"] == TAGS and meta["sample_rate"] == RATE and meta["segment_length"] == 729
    assert meta["input"]["shape"] == [-1] and meta["output"]["shape"] == [len(TAGS)]
    assert os.path.exists(os.path.join(out, meta["file"]))

    song = str(tmp_path / "song.wav")
    sf.write(song, np.random.default_rng(3).uniform(-0.5, 0.5, 3000), RATE)
    capsys.readouterr()
    assert main(["tag", song, "--model", out, "--json", "--top-k", "0", "--trust-export"]) == 0
    got = json.loads(capsys.readouterr().out)[song]
    expected = dict(Tagger(model[1]).tag(song, top_k=0))
    assert set(got) == set(TAGS)
    assert max(abs(got[t] - expected[t]) for t in TAGS) <= TOLERANCE
    taggram = Tagger(out, trust_export=True).taggram(song)
    np.testing.assert_allclose(taggram, Tagger(model[1]).taggram(song), atol=TOLERANCE)
    with pytest.raises(ValueError, match="tag scores only"):
        Tagger(out, trust_export=True).embed(song)


def test_export_command_and_unreadable_models(model, tmp_path, capsys):
    out = str(tmp_path / "sm")
    assert main(["export", model[1], "--format", "saved_model", "--out", out]) == 0
    assert os.path.isdir(os.path.join(out, "saved_model")) and os.path.isfile(os.path.join(out, SIDECAR))
    stray = tmp_path / "other.onnx"
    stray.write_bytes(b"not a model")
    capsys.readouterr()
    assert main(["tag", str(stray), "--model", str(stray)]) == 2
    assert "written by samplecnn export" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown export format"):
        export_model(model[0], str(tmp_path / "x"), format="tfjs")


@pytest.mark.skipif(not _available("onnx"), reason="needs tf2onnx, onnx, onnxruntime")
def test_onnx_of_the_mel_front_end_says_why(tmp_path):
    # tf2onnx 1.17 writes an RFFT node onnxruntime rejects: the export must fail, not leave a broken file.
    model = keras_samplecnn.build("mel", num_classes=3, input_length=2187, stem_size=27, fft_length=256,
                                  num_mel_bins=16, stem_filters=8, filters=[8, 8, 8, 8])  # fmt: skip
    with pytest.raises(ValueError, match="saved_model or litert"):
        export_model(model, str(tmp_path), format="onnx")
    assert not os.path.exists(tmp_path / "model.onnx")


def _hostile_export(folder, marker, file="saved_model"):
    """A SavedModel export whose `serve` function writes `marker`, with a well-formed model.json."""
    import tensorflow as tf

    module = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="waveform")])
    def serve(waveform):
        tf.io.write_file(marker, "written by the export's graph")
        return {"scores": tf.reduce_mean(waveform, keepdims=True)}

    module.serve = serve
    tf.saved_model.save(module, os.path.join(folder, "saved_model"), signatures={"serve": serve})
    meta = {"format": "saved_model", "file": file, "tags": ["a"], "sample_rate": RATE, "segment_length": 729}
    with open(os.path.join(folder, SIDECAR), "w") as f:
        json.dump(meta, f)


def test_an_export_runs_only_when_trusted(tmp_path, capsys):
    folder, marker = str(tmp_path / "export"), str(tmp_path / "pwned.txt")
    _hostile_export(folder, marker)
    song = str(tmp_path / "song.wav")
    sf.write(song, np.zeros(1000), RATE)
    capsys.readouterr()
    assert main(["tag", song, "--model", folder]) == 2
    err = capsys.readouterr().err
    assert "--trust-export" in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(marker)
    with pytest.raises(ValueError, match="trust"):
        ExportedModel(folder)
    assert not os.path.exists(marker)
    # The crafted graph really does write when trusted: the refusal above is what kept it out.
    ExportedModel(folder, trust=True).clip_scores(np.zeros(10, np.float32))
    assert os.path.exists(marker)


@pytest.mark.parametrize("file", ["../outside/saved_model", "/tmp/saved_model", "saved_model/../../x",
                                  "model.onnx"])
def test_sidecar_file_must_be_the_formats_own(tmp_path, file):
    folder = str(tmp_path / "export")
    _hostile_export(folder, str(tmp_path / "marker.txt"), file=file)
    with pytest.raises(ValueError, match="'file' must be 'saved_model'"):
        ExportedModel(folder, trust=True)
    assert not os.path.exists(tmp_path / "marker.txt")
