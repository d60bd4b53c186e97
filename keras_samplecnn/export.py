"""Exported taggers: a SavedModel, an ONNX file or a LiteRT model, each with a JSON sidecar.

Every format carries the same clip-level signature, built from one `tf.function`: a mono
float32 waveform of any length at the model's sample rate → zero-padded to one segment when
shorter, cut into non-overlapping segments (the tail shorter than a segment dropped, as
`keras_samplecnn.tagger.split_segments` does), the model on all segments, the mean over segments
→ `(num_tags,)` clip-level scores: the papers' clip-level protocol inside the graph, so a caller
needs neither this package nor Keras. Beside the model, `model.json` states that contract, the
tag list, the sample rate and the segment length (a sidecar, as Essentia and model hubs ship).

    samplecnn export runs/se/best.keras --format saved_model --out exported/se_sm
    samplecnn export runs/se/best.keras --format onnx --out exported/se_onnx      (pip install .[export])
    samplecnn export runs/se/best.keras --format litert --out exported/se_litert  (pip install .[export])
    samplecnn tag song.mp3 --model exported/se_onnx --trust-export

Reading an export back runs the graph it holds: a SavedModel or a LiteRT model may contain any
TensorFlow op (reading and writing files among them), so an export is code, and `ExportedModel`
loads one only when told it is trusted (`trust=True`, `samplecnn tag --trust-export`): one you
made or got from someone you trust. A `.keras` file needs no such flag (Keras loads it in safe
mode: no Lambda layers, no arbitrary code). The sidecar's `file` must be the format's own name
inside the export folder, never a path elsewhere.

Reference: Lee et al., SMC 2017 (arXiv:1703.01789), clip-level averaging of segment predictions.
"""

import json
import os
import warnings

import numpy as np

FORMATS = ("saved_model", "onnx", "litert")
SIDECAR = "model.json"
FILES = {"saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}
ENDPOINT = "serve"  # the SavedModel / LiteRT signature name (also exported as serving_default)
INPUT_NAME = "waveform"
OUTPUT_NAME = "scores"
ONNX_OPSET = 17
INSTALL = {
    "onnx": "ONNX export needs tf2onnx and onnx, and reading it onnxruntime: pip install "
    "'keras_samplecnn[export]' (or pip install tf2onnx onnx onnxruntime)",
    "litert": "reading a LiteRT model needs ai-edge-litert (or TensorFlow's tf.lite): pip install "
    "'keras_samplecnn[export]'",
}


def clip_function(model):
    """The clip-level `tf.function` every format exports: waveform `(None,)` → scores `(num_tags,)`.

    Args:
        model: a `SampleCNN` (or any Keras model with `input_length`) taking `(batch, input_length)`.

    Returns:
        A `tf.function` with input signature `[tf.TensorSpec([None], tf.float32, name="waveform")]`
        returning `{"scores": (num_tags,) float32}`.
    """
    import tensorflow as tf

    length = int(model.input_length)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name=INPUT_NAME)])
    def clip_scores(waveform):
        size = tf.shape(waveform)[0]
        count = tf.maximum(size // length, 1)
        waveform = tf.pad(waveform, [[0, tf.maximum(length - size, 0)]])
        segments = tf.reshape(waveform[: count * length], tf.stack([count, length]))
        scores = tf.cast(model(segments, training=False), tf.float32)
        return {OUTPUT_NAME: tf.reduce_mean(scores, axis=0)}

    return clip_scores


def sidecar(model, format):
    """The JSON sidecar's content: format, file, contract, tags, rate and segment length.

    Args:
        model: the exported `SampleCNN`.
        format: one of `FORMATS`.
    """
    import keras
    import tensorflow as tf

    tags = list(model.tags or [f"class_{i}" for i in range(model.num_classes)])
    seconds = model.input_length / model.sample_rate
    return {
        "format": format,
        "file": FILES[format],
        "name": model.name,
        "sample_rate": int(model.sample_rate),
        "segment_length": int(model.input_length),
        "tags": tags,
        "activation": getattr(model, "activation", None),
        "signature": ENDPOINT if format != "onnx" else None,
        "input": {
            "name": INPUT_NAME,
            "dtype": "float32",
            "shape": [-1],
            "description": f"mono waveform of any length at {int(model.sample_rate)} Hz, samples in [-1, 1]; "
            f"cut inside the model into non-overlapping {model.input_length}-sample ({seconds:.3f} s) "
            "segments (the tail shorter than a segment dropped; audio shorter than one segment zero-padded "
            "to one)",
        },
        "output": {
            "name": OUTPUT_NAME,
            "dtype": "float32",
            "shape": [len(tags)],
            "description": "clip-level tag scores: the mean of the segments' scores, in the order of `tags`",
        },
        "exported_with": {"keras": keras.__version__, "tensorflow": tf.__version__},
        "reference": "Lee et al., Sample-level Deep Convolutional Neural Networks for Music Auto-tagging "
        "Using Raw Waveforms, SMC 2017 (arXiv:1703.01789)",
    }


def export_model(model, out_dir, format="saved_model"):
    """Exports a tagging model with the clip-level signature of `clip_function` and its sidecar.

    Args:
        model: a `SampleCNN` or `ArtistCNN`, or the path of a `.keras` file saved from one.
        out_dir: folder to write; it gets `saved_model/`, `model.onnx` or `model.tflite`, and
            `model.json`.
        format: "saved_model", "onnx" (tf2onnx, opset 17) or "litert" (TensorFlow Lite
            builtin ops; TensorFlow ops only when a layer needs them, noted in the sidecar).

    Returns:
        The path of the exported model (folder or file).

    Example:
    >>> export_model("runs/se/best.keras", "exported/se", format="onnx")   # doctest: +SKIP
    'exported/se/model.onnx'
    """
    import tempfile

    import keras

    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    from keras_samplecnn.models.loading import load_model

    model = load_model(model)
    from keras_samplecnn.models.artist import ArtistCNN
    from keras_samplecnn.models.samplecnn import SampleCNN

    if not isinstance(model, (SampleCNN, ArtistCNN)):
        raise ValueError(f"{model.name} is not a tagging model (SampleCNN or ArtistCNN): no tags to export")
    if keras.backend.backend() != "tensorflow":
        raise ValueError("export runs on the TensorFlow backend (KERAS_BACKEND=tensorflow)")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, FILES[format])
    function = clip_function(model)
    meta = sidecar(model, format)
    if format == "onnx":
        try:
            import tf2onnx
            from keras.src.export.tf2onnx_lib import patch_tf2onnx
        except ImportError:
            raise ImportError(INSTALL["onnx"]) from None
        with warnings.catch_warnings():  # its `hasattr(np, "object")` probe warns on numpy 2
            warnings.simplefilter("ignore", FutureWarning)
            patch_tf2onnx()  # Keras' own numpy 2 fixes for tf2onnx 1.17
        tf2onnx.convert.from_function(function, input_signature=function.input_signature, opset=ONNX_OPSET,
                                      output_path=path)  # fmt: skip
        _check_onnx(path, model)
        meta["opset"] = ONNX_OPSET
    elif format == "saved_model":
        _write_saved_model(model, function, path)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            _write_saved_model(model, function, os.path.join(scratch, "saved_model"))
            tflite, meta["tf_ops"] = _convert_litert(os.path.join(scratch, "saved_model"))
        with open(path, "wb") as f:
            f.write(tflite)
    with open(os.path.join(out_dir, SIDECAR), "w") as f:
        json.dump(meta, f, indent=2)
    return path


def _check_onnx(path, model):
    """tf2onnx logs ops it cannot convert and still writes a file: load it, or remove it and say why."""
    try:
        import onnxruntime

        onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return
    except ImportError:
        import onnx

        try:
            onnx.checker.check_model(path, full_check=True)
            return
        except Exception as error:  # onnx.checker.ValidationError and shape-inference errors
            reason = error
    except Exception as error:  # onnxruntime's InvalidGraph / Fail
        reason = error
    os.remove(path)
    hint = (" The mel front end (tf.signal.stft: RFFT with Real/Imag) is one tf2onnx 1.17 cannot convert;"
            " export this model as saved_model or litert.") if getattr(model, "frontend", "") == "mel" or (
            "rfft" in str(reason).lower()) else ""  # fmt: skip
    raise ValueError(f"tf2onnx wrote an ONNX graph that does not load: {str(reason)[:300]}.{hint}")


def _write_saved_model(model, function, path):
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(ENDPOINT, function)
    archive.write_out(path, verbose=False)  # serving_default is the same function


def _convert_litert(saved_model_dir):
    """LiteRT flatbuffer from the SavedModel; builtin ops first, TensorFlow (flex) ops if needed."""
    import tensorflow as tf

    builtins, flex = tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS
    for ops in ([builtins], [builtins, flex]):
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[ENDPOINT])
        converter.target_spec.supported_ops = ops
        try:
            return converter.convert(), len(ops) > 1
        except Exception:  # the converter raises ConverterError for ops outside the builtins
            if len(ops) > 1:
                raise


class UntrustedExportError(ValueError):
    """An export loaded without `trust=True`: its graph would run as code (see the module docstring)."""


class ExportedModel:
    """An exported tagger read back: clip-level scores of a waveform, whatever the format.

    Args:
        path: the export folder (with `model.json`), or the `model.onnx` / `model.tflite` file or
            `saved_model` folder inside it.
        trust: True to run the export's graph. It may do whatever its ops do (a crafted SavedModel
            can write files), so pass True only for exports you made or trust; otherwise the
            constructor raises `UntrustedExportError` before loading anything.

    Attributes:
        format: the export format (`saved_model`, `onnx` or `litert`).
        tags: the tag names, in output order.
        sample_rate: the sample rate the model takes.
        segment_length: samples per segment.
        meta: the whole `model.json` sidecar (a dict).

    Example:
    >>> exported = ExportedModel("exported/se_onnx", trust=True)  # doctest: +SKIP
    >>> exported.clip_scores(np.zeros(16000, np.float32)).shape   # doctest: +SKIP
    (50,)
    """

    def __init__(self, path, trust=False):
        path = str(path)
        has_sidecar = os.path.isfile(os.path.join(path, SIDECAR))
        folder = path if has_sidecar else os.path.dirname(os.path.abspath(path))
        sidecar_path = os.path.join(folder, SIDECAR)
        if not os.path.isfile(sidecar_path):
            raise ValueError(f"{path}: no {SIDECAR} sidecar beside it, so not a samplecnn export")
        self.meta = _read_sidecar(sidecar_path)
        self.format = self.meta["format"]
        self.tags = list(self.meta["tags"])
        self.sample_rate = int(self.meta["sample_rate"])
        self.segment_length = int(self.meta["segment_length"])
        self.path = os.path.join(folder, self.meta["file"])
        if not trust:
            raise UntrustedExportError(
                f"{folder} is a samplecnn export: loading it runs its {self.format} graph as code. Load "
                "only exports you made or trust: pass --trust-export (ExportedModel(..., trust=True))"
            )
        self._run = getattr(self, f"_load_{self.format}")()

    def _load_saved_model(self):
        import tensorflow as tf

        self._loaded = tf.saved_model.load(self.path)  # kept: the endpoint needs its variables alive
        endpoint = getattr(self._loaded, ENDPOINT)
        return lambda waveform: endpoint(tf.constant(waveform))[OUTPUT_NAME].numpy()

    def _load_onnx(self):
        try:
            import onnxruntime
        except ImportError:
            raise ImportError(INSTALL["onnx"]) from None
        session = onnxruntime.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        return lambda waveform: session.run([OUTPUT_NAME], {INPUT_NAME: waveform})[0]

    def _load_litert(self):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            try:
                import tensorflow as tf

                Interpreter = tf.lite.Interpreter
            except (ImportError, AttributeError):
                raise ImportError(INSTALL["litert"]) from None
        runner = Interpreter(model_path=self.path).get_signature_runner(ENDPOINT)
        return lambda waveform: runner(**{INPUT_NAME: waveform})[OUTPUT_NAME]

    def clip_scores(self, waveform):
        """Clip-level scores `(num_tags,)` of a mono waveform at `sample_rate` (any length)."""
        return np.asarray(self._run(np.ascontiguousarray(waveform, dtype=np.float32)), dtype=np.float32)

    def segment_scores(self, segments):
        """Scores of each segment `(segments, num_tags)`: the clip signature on one segment at a time."""
        return np.stack([self.clip_scores(segment) for segment in segments])


def _read_sidecar(path):
    """`model.json` as a dict, checked: a known format, its file named as `FILES` names it, the
    tags a list of strings, the rate and segment length positive integers."""
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path}: not a JSON sidecar ({error})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: not a samplecnn sidecar (expected a JSON object)")
    fmt = meta.get("format")
    if fmt not in FORMATS:
        raise ValueError(f"{path}: unknown format {fmt!r}; reads {', '.join(FORMATS)}")
    # Only the format's own name: no separators, no "..", nothing outside the export folder.
    if meta.get("file") != FILES[fmt]:
        raise ValueError(
            f"{path}: 'file' must be {FILES[fmt]!r} (inside the export folder), got {meta.get('file')!r}"
        )
    tags = meta.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(tag, str) for tag in tags):
        raise ValueError(f"{path}: 'tags' must be a non-empty list of strings")
    for key in ("sample_rate", "segment_length"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{path}: {key!r} must be a positive integer, got {value!r}")
    return meta


def is_export(path):
    """Whether `path` is an export folder or a file/folder inside one (a `model.json` sidecar)."""
    path = str(path)
    return os.path.isfile(os.path.join(path, SIDECAR)) or (
        os.path.basename(os.path.normpath(path)) in FILES.values()
        and os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(path)), SIDECAR))
    )
