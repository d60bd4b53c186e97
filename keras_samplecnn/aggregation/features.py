"""Multi-level and multi-scale feature aggregation with pre-trained SampleCNNs (step 2).

Lee & Nam, "Multi-Level and Multi-Scale Feature Aggregation Using Pre-trained Convolutional
Neural Networks for Music Auto-tagging", IEEE SPL 2017 (arXiv:1703.01793), and its sample-level
version, Lee & Nam, ICML 2017 Music Discovery Workshop (arXiv:1706.06810): trained networks
become fixed extractors; the output of each chosen layer is max-pooled over time within a
segment, averaged over the segments of a clip, and the results are concatenated across layers
(multi-level) and across extractors of different input lengths (multi-scale).

The cache written by `extract_features`:

    out/
      train-00000-of-00002.npz     features float32 (clips, D), labels, clip_ids, clip_index
      ...
      features_manifest.json       written last: extractors, layers (width, offset), D, splits
      .resume/<shard>.json         sha256 and a digest of what produced the shard

Example:

```python
from keras_samplecnn.aggregation import extract_features, load_features

extract_features(["runs/a/best.keras", "runs/b/best.keras"], "data/mtat", "features/mtat")
features, labels, clip_ids = load_features("features/mtat", "train")
```
"""

import dataclasses
import hashlib
import json
import math
import os
import time
import zipfile

import keras
import numpy as np

from keras_samplecnn.data import pipeline, schema
from keras_samplecnn.files import sha256_file, write_json_atomic
from keras_samplecnn.models.backbone import block_output_name

FEATURES_MANIFEST = "features_manifest.json"
"""The file name of a feature cache's manifest, written last (extractors, layers, dimension, splits)."""
RESUME_DIR = ".resume"
TMP_PREFIX = ".tmp-"
# A fixed zip timestamp: np.savez stamps the current time, so equal arrays would give
# different bytes (and sha256) on every run.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

__all__ = [
    "FEATURES_MANIFEST",
    "FeatureVerifyReport",
    "aggregate",
    "extract_features",
    "extractor_layers",
    "feature_columns",
    "feature_model",
    "load_features",
    "read_features_manifest",
    "segment_max",
    "verify_features",
]


# ----------------------------------------------------------------------------------------------
# Layers and feature models
# ----------------------------------------------------------------------------------------------


def _block_outputs(model):
    """Names of the block outputs in depth order (`blockK`, or `blockK_se` for SE blocks; the
    conv layers of the artist models)."""
    if hasattr(model, "feature_layer_names"):
        return list(model.feature_layer_names)
    if not hasattr(model, "block") or not hasattr(model, "n"):
        return []
    return [block_output_name(k, model.block) for k in range(1, model.n + 1)]


def _graph(model):
    """The single-input graph features are taken from: a Siamese model's shared encoder."""
    return model.encoder if isinstance(model.input, dict) else model


def extractor_layers(model, layers="top3"):
    """The layers whose outputs are aggregated into features.

    Args:
        model: a `SampleCNN` (layers `block1` ... `blockN`, with SE also `blockK_se`, whose
            output is then the block's output).
        layers: `"top3"`, the last three blocks (the "top three hidden layers" of Lee & Nam,
            ICML-W 2017, arXiv:1706.06810); `"all"`, every block (the multi-level features of
            Lee & Nam, IEEE SPL 2017, arXiv:1703.01793); or a list (or comma-separated string)
            of layer names, taken literally.

    Returns:
        the list of layer names, shallow to deep for `"top3"` / `"all"`.

    Raises:
        ValueError: the model has no `blockK` layers, or a named layer does not exist.
    """
    if isinstance(layers, str) and layers in ("top3", "all"):
        blocks = _block_outputs(model)
        if not blocks:
            raise ValueError(f"model {model.name!r} has no block1 ... blockN layers to take features from")
        return blocks[-3:] if layers == "top3" else blocks
    names = [n.strip() for n in layers.split(",")] if isinstance(layers, str) else [str(n) for n in layers]
    names = [n for n in names if n]
    if not names:
        raise ValueError('layers must be "top3", "all" or a non-empty list of layer names')
    known = {layer.name for layer in _graph(model).layers}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"model {model.name!r} has no layer(s) {unknown}; blocks: {_block_outputs(model)}")
    return names


def feature_model(model, layers="top3"):
    """A model from the waveform input to the outputs of the chosen layers.

    Args:
        model: a `SampleCNN`.
        layers: as in `extractor_layers`.

    Returns:
        a `keras.Model` whose outputs are a list, one `(batch, time, channels)` tensor per
        layer (a pooled layer such as `features` gives `(batch, channels)`).
    """
    names = extractor_layers(model, layers)
    graph = _graph(model)
    outputs = [graph.get_layer(name).output for name in names]
    return keras.Model(graph.input, outputs, name=f"{model.name}_extractor")


def segment_max(feature_map):
    """Max over time of each segment's layer output: `(segments, time, C)` -> `(segments, C)`.

    A map that is already pooled (`(segments, C)`) is returned as is.
    """
    feature_map = np.asarray(feature_map)
    return feature_map.max(axis=1) if feature_map.ndim == 3 else feature_map


def aggregate(segment_maps, clip_index, num_clips=None):
    """Clip features from segment layer outputs (Lee & Nam, IEEE SPL 2017, step 2).

    Per layer, the max over time within each segment, then the mean over the segments of each
    clip; the layers are concatenated in the order given.

    Args:
        segment_maps: a list of `(segments, time, C_l)` arrays, one per layer (or one array).
        clip_index: `(segments,)` clip of each segment, as `eval_dataset` yields it.
        num_clips: number of clips (default `max(clip_index) + 1`).

    Returns:
        float32 `(num_clips, sum C_l)`.
    """
    if isinstance(segment_maps, np.ndarray):
        segment_maps = [segment_maps]
    pooled = [pipeline.average_by_clip(segment_max(m), clip_index, num_clips) for m in segment_maps]
    return np.concatenate(pooled, axis=1).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Extraction
# ----------------------------------------------------------------------------------------------


def _load_extractor(extractor):
    """(model, path or None): a model, or a `.keras` file checked to be one of ours."""
    from keras_samplecnn import presets
    from keras_samplecnn.models.loading import load_model

    path = None
    if presets.preset_name(extractor):  # a pretrained preset name: recorded as the extractor's "path"
        path, extractor = extractor, load_model(extractor)
    elif isinstance(extractor, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(extractor))
        extractor = load_model(path, compile=False)
    if not hasattr(extractor, "input_length") or not hasattr(extractor, "sample_rate"):
        raise ValueError(
            f"{path or getattr(extractor, 'name', extractor)!r} is not a keras_samplecnn model "
            "(a SampleCNN or an artist model: it has no input_length and sample_rate)"
        )
    return extractor, path


def _weights_digest(model):
    """sha256 over the model's weights: what makes two extractors give the same features."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{weight.path}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _clips(manifest, split, clips_per_read=16):
    """`(clip_id, labels, float32 waveform)` of every clip of a split, read once, in clip-index
    (manifest file) order."""
    import tensorflow as tf

    spec = {
        schema.CLIP_ID: tf.io.FixedLenFeature([], tf.string, default_value=b""),
        schema.LABELS: tf.io.FixedLenFeature([manifest.num_labels], tf.float32),
        schema.AUDIO: tf.io.FixedLenFeature([], tf.string),
    }
    batches = (
        tf.data.TFRecordDataset(manifest.shard_files(split))  # sequential: clip order
        .batch(clips_per_read)
        .map(lambda serialized: tf.io.parse_example(serialized, spec))
        .prefetch(2)
    )
    for batch in batches.as_numpy_iterator():
        for clip_id, labels, pcm in zip(batch[schema.CLIP_ID], batch[schema.LABELS], batch[schema.AUDIO]):
            # The scaling of the training and evaluation pipelines (int16 / 32768).
            wave = np.frombuffer(pcm, "<i2").astype(np.float32) * np.float32(1.0 / pipeline.INT16_SCALE)
            yield clip_id.decode(), labels, wave


def _segments(wave, length):
    """`max(1, n // length)` non-overlapping segments from sample 0 (one zero-padded segment for
    a clip shorter than `length`), as `eval_dataset` cuts them."""
    if len(wave) < length:
        return np.pad(wave, (0, length - len(wave)))[None]
    count = len(wave) // length
    return wave[: count * length].reshape(count, length)


class _Accumulator:
    """One extractor's running sums: segments queue up into full batches, each batch's layer
    outputs are max-pooled over time and added to their clips' sums."""

    def __init__(self, submodel, length, num_clips, batch_size):
        self.submodel, self.length, self.batch_size = submodel, length, batch_size
        # Sums of float32 maxima in float64 are exact for a handful of segments of similar
        # magnitude: the same features whatever the batch boundaries.
        self.sums = [np.zeros((num_clips, int(o.shape[-1])), np.float64) for o in submodel.outputs]
        self.counts = np.zeros(num_clips, np.int64)
        self.queue, self.owners, self.queued = [], [], 0

    def add(self, clip, wave):
        segments = _segments(wave, self.length)
        self.queue.append(segments)
        self.owners.append(np.full(len(segments), clip, np.int64))
        self.queued += len(segments)
        while self.queued >= self.batch_size:
            self._run(self.batch_size)

    def finish(self):
        if self.queued:
            self._run(self.queued)

    def _run(self, count):
        audio, owners = np.concatenate(self.queue), np.concatenate(self.owners)
        batch, clips = audio[:count], owners[:count]
        self.queue, self.owners, self.queued = [audio[count:]], [owners[count:]], len(audio) - count
        if count < self.batch_size:
            # One batch shape for every call: no retracing, and a segment's result does not
            # depend on how many segments share its batch.
            batch = np.concatenate([batch, np.zeros((self.batch_size - count, self.length), batch.dtype)])
        outputs = self.submodel.predict_on_batch(batch)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for total, output in zip(self.sums, outputs):
            np.add.at(total, clips, segment_max(keras.ops.convert_to_numpy(output)[:count]))
        np.add.at(self.counts, clips, 1)

    def means(self):
        return [total / self.counts[:, None] for total in self.sums]


def _extract_split(extractors, manifest, split, batch_size, bar):
    """`(features (clips, D) float32, clip ids, labels)` of a split, extractors and layers in order.

    The audio is read once; every extractor cuts its own segments from each clip.
    """
    num_clips = manifest.num_clips(split)
    accumulators = [
        _Accumulator(submodel, int(model.input_length), num_clips, batch_size)
        for model, submodel in extractors
    ]
    ids, labels, lengths = [], [], []
    for clip, (clip_id, clip_labels, wave) in enumerate(_clips(manifest, split)):
        if clip >= num_clips:
            raise RuntimeError(f"{split}: the shards hold more clips than the manifest's {num_clips}")
        ids.append(clip_id)
        labels.append(clip_labels)
        lengths.append(len(wave))
        for accumulator in accumulators:
            accumulator.add(clip, wave)
        if bar is not None:
            bar.update(len(accumulators))
    if len(ids) != num_clips:
        raise RuntimeError(f"{split}: the shards hold {len(ids)} clips, the manifest {num_clips}")
    blocks = []
    for (model, _), accumulator in zip(extractors, accumulators):
        accumulator.finish()
        expected = np.maximum(np.asarray(lengths) // int(model.input_length), 1)
        if not np.array_equal(accumulator.counts, expected):
            raise RuntimeError(
                f"{split}: {int(np.sum(accumulator.counts != expected))} clips got the wrong number of segments"
            )
        blocks.extend(accumulator.means())
    return (
        np.concatenate(blocks, axis=1).astype(np.float32),
        np.array(ids),
        np.stack(labels).astype(np.float32),
    )


def _shard_names(split, num_clips, shard_clips):
    count = max(1, math.ceil(num_clips / shard_clips))
    return [f"{split}-{i:05d}-of-{count:05d}.npz" for i in range(count)]


def _write_npz_atomic(path, arrays):
    """An uncompressed .npz with fixed timestamps, written to a temporary name and renamed."""
    folder, name = os.path.split(path)
    tmp_path = os.path.join(folder, TMP_PREFIX + name)
    with zipfile.ZipFile(tmp_path, "w", zipfile.ZIP_STORED) as archive:
        for key, value in arrays.items():
            with archive.open(zipfile.ZipInfo(key + ".npy", date_time=_ZIP_DATE), "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(value), allow_pickle=False)
    with open(tmp_path, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp_path, path)


def _finished_shard(out_dir, name, digest):
    """The shard's sidecar record if the file is intact and was made by the same inputs."""
    try:
        with open(os.path.join(out_dir, RESUME_DIR, name + ".json"), encoding="utf-8") as handle:
            record = json.load(handle)
        path = os.path.join(out_dir, name)
        if record.get("digest") == digest and sha256_file(path) == record["sha256"]:
            return record
    except (OSError, ValueError, KeyError):
        pass
    return None


def extract_features(
    extractors,
    data_dir,
    out_dir,
    splits=("train", "valid", "test"),
    layers="top3",
    batch_size=64,
    shard_clips=512,
    show_progress=True,
):
    """Writes the aggregated features of every clip of `data_dir` to a resumable cache.

    Each extractor reads every non-overlapping segment of each clip at its own input length;
    each chosen layer's output is max-pooled over time per segment and averaged over the clip's
    segments; the vectors are concatenated over layers (multi-level) and extractors
    (multi-scale), in the order given (Lee & Nam, IEEE SPL 2017, arXiv:1703.01793; with
    sample-level extractors and their top three layers, Lee & Nam, ICML 2017 Music Discovery
    Workshop, arXiv:1706.06810).

    Resuming: every shard has a sidecar with its sha256 and a digest of what produced it (the
    extractors' weights, the layers, the data's manifest, the split and its shard size). A
    split whose shards all match is skipped; otherwise its features are recomputed and only
    the shards that are missing, corrupted or stale are rewritten. Shard bytes are
    reproducible, so a resumed cache is identical to an uninterrupted one.

    Args:
        extractors: `SampleCNN` models, `.keras` paths or pretrained preset names
            (`keras_samplecnn.presets.PRESETS`; with `layers="embedding"` the 256-d feature of the
            ISMIR 2018 artist encoders); input lengths may differ, sample rates must equal the data's.
        data_dir: TFRecords converted by `tfrecords_tools` (with `manifest.json`).
        out_dir: the cache folder.
        splits: split names to extract (each must exist in the data).
        layers: `"top3"`, `"all"` or layer names (see `extractor_layers`), for every extractor.
        batch_size: segments per forward pass.
        shard_clips: clips per `.npz` shard.
        show_progress: a tqdm bar over clips (all extractors).

    Returns:
        the features manifest (a dict), with `run` statistics added: per split `status`
        (`"computed"` or `"skipped"`), `shards_written`, `seconds`.

    Raises:
        ValueError: no extractors, an extractor at another sample rate than the data, an
            unknown split or layer.
    """
    manifest = pipeline.read_manifest(data_dir)
    if not extractors:
        raise ValueError("give at least one extractor (a SampleCNN or a .keras path)")
    if shard_clips < 1 or batch_size < 1:
        raise ValueError("shard_clips and batch_size must be >= 1")
    loaded = [_load_extractor(e) for e in extractors]
    for model, path in loaded:
        if int(model.sample_rate) != manifest.sample_rate:
            raise ValueError(
                f"extractor {path or model.name!r} expects {model.sample_rate} Hz audio but {data_dir} "
                f"holds {manifest.sample_rate} Hz: convert the data at the extractor's rate"
            )
    splits = [splits] if isinstance(splits, str) else list(splits)
    for split in splits:
        manifest.split(split)  # a clear error for an unknown split, before any work
    models = [(model, feature_model(model, layers)) for model, _ in loaded]

    entries, offset = [], 0
    extractor_info = []
    for index, ((model, path), (_, submodel)) in enumerate(zip(loaded, models)):
        names = extractor_layers(model, layers)
        extractor_info.append({
            "path": path, "name": model.name, "input_length": int(model.input_length),
            "sample_rate": int(model.sample_rate), "weights_sha256": _weights_digest(model),
        })  # fmt: skip
        for name, output in zip(names, submodel.outputs):
            width = int(output.shape[-1])
            entries.append({"extractor": index, "layer": name, "width": width, "offset": offset})
            offset += width
    with open(os.path.join(manifest.directory, schema.MANIFEST), "rb") as handle:
        data_digest = hashlib.sha256(handle.read()).hexdigest()
    recipe = {
        "extractors": [e["weights_sha256"] + str(e["input_length"]) for e in extractor_info],
        "layers": [(e["extractor"], e["layer"]) for e in entries],
        "data": data_digest,
        "shard_clips": shard_clips,
    }

    os.makedirs(os.path.join(out_dir, RESUME_DIR), exist_ok=True)
    manifest_path = os.path.join(out_dir, FEATURES_MANIFEST)
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # present only once a run has finished

    # Clip counts from the manifest: a finished split is skipped without reading its audio.
    counts = {split: manifest.num_clips(split) for split in splits}
    empty = [split for split, count in counts.items() if not count]
    if empty:
        raise ValueError(f"split(s) {empty} of {manifest.directory} hold no clips")
    total = sum(counts.values()) * len(models)
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="clip", desc="extracting")
    result_splits, run = {}, {}
    try:
        for split in splits:
            started = time.perf_counter()
            num_clips = counts[split]
            names = _shard_names(split, num_clips, shard_clips)
            digests = {
                name: hashlib.sha256(
                    json.dumps({**recipe, "split": split, "shard": name}).encode()
                ).hexdigest()
                for name in names
            }
            records = {name: _finished_shard(out_dir, name, digests[name]) for name in names}
            written = []
            if all(records.values()):
                if bar is not None:
                    bar.update(num_clips * len(models))
                status = "skipped"
            else:
                features, ids, labels = _extract_split(models, manifest, split, batch_size, bar)
                for i, name in enumerate(names):
                    if records[name]:
                        continue
                    rows = slice(i * shard_clips, (i + 1) * shard_clips)
                    path = os.path.join(out_dir, name)
                    _write_npz_atomic(path, {
                        "features": features[rows], "labels": labels[rows], "clip_ids": ids[rows],
                        "clip_index": np.arange(len(ids), dtype=np.int64)[rows],
                    })  # fmt: skip
                    records[name] = {
                        "sha256": sha256_file(path),
                        "records": len(ids[rows]),
                        "digest": digests[name],
                    }
                    write_json_atomic(os.path.join(out_dir, RESUME_DIR, name + ".json"), records[name])
                    written.append(name)
                status = "computed"
            result_splits[split] = {
                "clips": num_clips,
                "shards": [
                    {"file": n, "records": records[n]["records"], "sha256": records[n]["sha256"]}
                    for n in names
                ],
            }
            run[split] = {
                "status": status,
                "shards_written": written,
                "seconds": time.perf_counter() - started,
            }
    finally:
        if bar is not None:
            bar.close()

    content = {
        "extractors": [{k: v for k, v in e.items()} for e in extractor_info],
        "layers": entries,
        "dim": offset,
        "splits": result_splits,
        "data": {
            "dir": os.path.abspath(manifest.directory),
            "tags": manifest.tags,
            "task": manifest.task,
            "dataset": manifest.get("dataset"),
            "sample_rate": manifest.sample_rate,
            "manifest_sha256": data_digest,
        },
        "method": "per layer: max over time per segment, mean over the clip's segments; "
        "concatenated over layers and extractors (Lee & Nam, IEEE SPL 2017, arXiv:1703.01793)",
    }
    write_json_atomic(manifest_path, content)
    return {**content, "run": run}


# ----------------------------------------------------------------------------------------------
# Reading and checking the cache
# ----------------------------------------------------------------------------------------------


def read_features_manifest(out_dir):
    """The `features_manifest.json` of a finished extraction (a dict)."""
    path = os.path.join(out_dir, FEATURES_MANIFEST)
    if not os.path.isfile(path):
        raise ValueError(f"no {FEATURES_MANIFEST} in {out_dir}: not a finished extraction (rerun it)")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def feature_columns(content, extractors=None, layers=None):
    """Column indices of a subset of the cached features: some extractors, some layers.

    Args:
        content: a features manifest (`read_features_manifest`).
        extractors: extractor indices (positions in `content["extractors"]`); None for all.
        layers: layer names, or negative positions counted from each extractor's last chosen
            layer (`[-1]`: the last layer of each); None for all.

    Returns:
        an int64 array of column indices, in cache order.

    Raises:
        ValueError: an unknown extractor index or layer, or an empty selection.

    Example: the 27-frame extractor's layers alone, or the last layer of every extractor:
    `feature_columns(content, extractors=[1])`, `feature_columns(content, layers=[-1])`.
    """
    count = len(content["extractors"])
    chosen = range(count) if extractors is None else list(extractors)
    bad = [e for e in chosen if not 0 <= e < count]
    if bad:
        raise ValueError(f"no extractor(s) {bad}: the cache holds {count}")
    columns = []
    for index in chosen:
        entries = [e for e in content["layers"] if e["extractor"] == index]
        if layers is None:
            picked = entries
        else:
            picked = []
            for layer in layers:
                if isinstance(layer, int):
                    if not -len(entries) <= layer < 0:
                        raise ValueError(
                            f"layer position {layer} outside extractor {index}'s {len(entries)} layers"
                        )
                    picked.append(entries[layer])
                else:
                    match = [e for e in entries if e["layer"] == layer]
                    if not match:
                        raise ValueError(f"extractor {index} has no cached layer {layer!r}")
                    picked.extend(match)
        for entry in sorted(picked, key=lambda e: e["offset"]):
            columns.extend(range(entry["offset"], entry["offset"] + entry["width"]))
    if not columns:
        raise ValueError("the selection holds no feature column")
    return np.asarray(columns, np.int64)


def load_features(out_dir, split, columns=None):
    """The cached features of a split.

    Args:
        out_dir: a folder written by `extract_features`.
        split: split name.
        columns: column indices to keep (`feature_columns`); None for all.

    Returns:
        `(features, labels, clip_ids)`: float32 `(clips, D)`, float32 `(clips, K)` and a
        string array `(clips,)`, in clip-index order.
    """
    content = read_features_manifest(out_dir)
    if split not in content["splits"]:
        raise ValueError(f"{out_dir} has no features for split {split!r}; it has {sorted(content['splits'])}")
    features, labels, ids = [], [], []
    for shard in content["splits"][split]["shards"]:
        with np.load(os.path.join(out_dir, shard["file"]), allow_pickle=False) as arrays:
            features.append(arrays["features"])
            labels.append(arrays["labels"])
            ids.append(arrays["clip_ids"])
    features = np.concatenate(features)
    if columns is not None:
        features = features[:, np.asarray(columns)]
    return features, np.concatenate(labels), np.concatenate(ids)


@dataclasses.dataclass
class FeatureVerifyReport:
    """What `verify_features` found: `ok`, the number of shards checked, and the problems."""

    ok: bool
    shards_checked: int
    problems: list


def verify_features(out_dir):
    """Rechecks every shard of a feature cache against its manifest (sha256, clip count).

    Args:
        out_dir: a folder written by `extract_features`.

    Returns:
        a `FeatureVerifyReport`; `problems` names each missing or corrupted shard.
    """
    content = read_features_manifest(out_dir)
    problems, checked = [], 0
    for split, info in content["splits"].items():
        rows = 0
        for shard in info["shards"]:
            checked += 1
            path = os.path.join(out_dir, shard["file"])
            if not os.path.isfile(path):
                problems.append(f"{shard['file']}: missing")
                continue
            if sha256_file(path) != shard["sha256"]:
                problems.append(f"{shard['file']}: corrupted (sha256 differs from the manifest)")
                continue
            with np.load(path, allow_pickle=False) as arrays:
                found = arrays["features"].shape
            if found != (shard["records"], content["dim"]):
                problems.append(
                    f"{shard['file']}: features {found}, expected ({shard['records']}, {content['dim']})"
                )
            rows += shard["records"]
        if rows != info["clips"] and not any(p.startswith(split + "-") for p in problems):
            problems.append(f"{split}: the shards hold {rows} clips but the split has {info['clips']}")
    return FeatureVerifyReport(ok=not problems, shards_checked=checked, problems=problems)
