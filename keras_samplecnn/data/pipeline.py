"""tf.data input pipelines over the sharded TFRecords written by `tfrecords_tools`.

Records follow `keras_samplecnn.data.schema`: one `tf.train.Example` per clip, the whole clip
as int16 PCM bytes. Everything below is graph ops, so the pipelines run in TensorFlow's C++
threads, outside the Python interpreter.

Training (`train_dataset`), in the order the TensorFlow input-pipeline guide recommends:

    shard files -> shuffle files -> interleave reads (parallel, any order) -> [cache]
    -> shuffle clips -> repeat -> batch -> parse the whole batch (one `parse_example`)
    -> random crop(s) per clip, cut from the PCM *bytes* with `substr` at an even offset
    -> [shuffle batches] -> decode the batch (`decode_raw`, int16 -> float32 / 32768)
    -> prefetch

Cropping the bytes before decoding converts only the samples that are used (a 2.7-s segment
of a 29-s clip is 9 % of it). `crops_per_clip=k` takes k independent crops from every clip
read: k batches cut from the same B clips, each batch holding B different clips, shuffled
among other batches; reading and parsing is then paid once per k segments, which is what lets
a two-core machine feed thousands of segments per second.

Evaluation (`eval_dataset`) cuts every clip into all its non-overlapping full segments (a clip
shorter than one segment gives one zero-padded segment) and tags each with its clip index, so
that `average_by_clip` can average the segment predictions of a clip, the test protocol of the
SampleCNN papers (Lee et al., SMC 2017, arXiv:1703.01789; Kim et al., ICASSP 2018,
arXiv:1710.10451).

Several input pipelines (data-parallel replicas, hosts) each read a disjoint part of the data
with `num_shards` / `shard_index`: by file when there are at least as many files as shards,
else by record.

Every Keras backend. The datasets yield plain tensors. With the TensorFlow backend pass them to
`model.fit` / `predict`; Keras 3 also accepts a `tf.data.Dataset` in `fit` with the JAX and
PyTorch backends (it iterates it as NumPy), or iterate `dataset.as_numpy_iterator()` yourself.
When TensorFlow only feeds JAX or PyTorch on a GPU machine, hide the GPU from it first
(`tf.config.set_visible_devices([], "GPU")`), or it reserves the GPU's memory.

`audio_file_dataset` decodes audio files in the graph with the optional tensorflow-io package
instead (TensorFlow <= 2.17 only): slower, but needs no conversion.

Example:

```python
from keras_samplecnn.data import train_dataset, eval_dataset, average_by_clip, read_manifest

manifest = read_manifest("data/mtat_tfrecords")
train = train_dataset("data/mtat_tfrecords", batch_size=23, crops_per_clip=4)
model.fit(train, steps_per_epoch=manifest.num_clips("train") * 4 // 23, epochs=...)

scores, clips = [], []
for audio, labels, clip in eval_dataset("data/mtat_tfrecords", "test").as_numpy_iterator():
    scores.append(model.predict_on_batch(audio))
    clips.append(clip)
clip_scores = average_by_clip(np.concatenate(scores), np.concatenate(clips))
```
"""

import os

import numpy as np
import tensorflow as tf

from keras_samplecnn.data import schema
from keras_samplecnn.data import service as data_service
from keras_samplecnn.data.clip_scores import average_by_clip  # moved; re-exported here
from keras_samplecnn.data.manifest import Manifest, ManifestError, read_manifest, resolve_shards
from keras_samplecnn.data.portable import count_segments  # TensorFlow-free; re-exported here

AUTOTUNE = tf.data.AUTOTUNE
# TFRecordDataset's read buffer. A 29-s clip at 22050 Hz is a 1.3-MB record: read several per
# system call instead of 256-kB pieces.
READ_BUFFER_BYTES = 8 << 20
INT16_SCALE = 32768.0
# Batches the training and evaluation pipelines keep ready, at a fixed depth with tf.data's
# autotuning off (`ready`): destroying an autotuned iterator, which Keras does at the end of
# every `fit` and of every validation pass, was seen to wait 40-48 s for the root iterator's
# autotuning thread (native stack: RootDataset::Iterator::~Iterator waiting on an
# UnboundedThreadPool thread). Without autotuning, an AUTOTUNE parallel stage runs
# min(16, cores) calls at once.
PREFETCH_BATCHES = 4

__all__ = [
    "Manifest",
    "ManifestError",
    "TensorflowIOUnavailable",
    "audio_file_dataset",
    "average_by_clip",
    "count_segments",
    "eval_dataset",
    "read_manifest",
    "shard_files",
    "train_dataset",
]


# ----------------------------------------------------------------------------------------------
# Sources
# ----------------------------------------------------------------------------------------------


def shard_files(data_dir, split):
    """Absolute paths of the shards of `split` of a converted dataset, in manifest order."""
    files = read_manifest(data_dir).shard_files(split)
    if not files:
        raise ManifestError(f"split {split!r} of {data_dir} has no shards")
    return files


def _check_sharding(num_shards, shard_index):
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(
            f"need 0 <= shard_index < num_shards, got shard_index={shard_index}, num_shards={num_shards}"
        )


# ----------------------------------------------------------------------------------------------
# Graph pieces
# ----------------------------------------------------------------------------------------------


def _decode_pcm(pieces, segment_length):
    """int16 little-endian byte strings -> float32 [..., segment_length] in [-1, 1).

    `decode_raw(fixed_length=...)` zero-pads strings shorter than a segment (clips shorter
    than the model input) and gives a dense tensor with a static last dimension.
    """
    pcm = tf.io.decode_raw(
        pieces, tf.int16, little_endian=True, fixed_length=segment_length * schema.PCM_BYTES_PER_SAMPLE
    )
    return tf.cast(pcm, tf.float32) * (1.0 / INT16_SCALE)


def _num_samples(audio):
    """Samples in each PCM byte string: the bytes themselves, not the `num_samples` feature,
    decide what can be cut (O(1) per string)."""
    return tf.cast(tf.strings.length(audio), tf.int64) // schema.PCM_BYTES_PER_SAMPLE


def _uniform_starts(room, shape, seed):
    """Integer starts uniform over `0 .. room` (broadcast to `shape`), from a stateless seed."""
    uniform = tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float64)
    start = tf.cast(tf.floor(uniform * tf.cast(room + 1, tf.float64)), tf.int64)
    return tf.minimum(start, room)  # uniform is < 1, but float rounding must not overshoot


def _random_crops(audio, segment_length, crops, seed):
    """`crops` random segments of every clip, as byte strings [crops, batch].

    Each start is uniform over the valid positions `0 .. num_samples - segment_length` (0 for
    a clip shorter than a segment) and is an even byte offset, so the piece is a whole number
    of int16 samples.
    """
    room = tf.maximum(_num_samples(audio) - segment_length, 0)  # [batch]
    start = _uniform_starts(room, [crops, tf.shape(audio)[0]], seed)
    length = tf.fill(tf.shape(start), tf.constant(segment_length * schema.PCM_BYTES_PER_SAMPLE, tf.int64))
    # `audio[None]` broadcasts against the [crops, batch] positions without copying clips.
    return tf.strings.substr(audio[None, :], start * schema.PCM_BYTES_PER_SAMPLE, length)


def _all_segments(audio, segment_length, seed, random_offset=True):
    """Every non-overlapping full segment of every clip, as byte strings `[segments]`, and the
    clip (row) each one comes from.

    A clip of n samples gives `max(1, n // segment_length)` segments; with `random_offset`
    the whole grid is shifted by a random start in `0 .. n - count * segment_length` (the
    samples left over), a fresh one every time the clip is read.
    """
    samples = _num_samples(audio)  # [clips]
    counts = tf.maximum(samples // segment_length, 1)
    offset = tf.zeros_like(counts)
    if random_offset:
        offset = _uniform_starts(tf.maximum(samples - counts * segment_length, 0), tf.shape(counts), seed)
    position = tf.range(tf.reduce_max(counts), dtype=tf.int64)[None, :]  # [1, widest]
    valid = position < counts[:, None]  # [clips, widest]
    starts = tf.where(valid, offset[:, None] + position * segment_length, 0) * schema.PCM_BYTES_PER_SAMPLE
    length = tf.fill(tf.shape(starts), tf.constant(segment_length * schema.PCM_BYTES_PER_SAMPLE, tf.int64))
    pieces = tf.strings.substr(audio[:, None], starts, length)
    clip_of_segment = tf.repeat(tf.range(tf.shape(counts)[0]), tf.cast(counts, tf.int32))
    return tf.boolean_mask(pieces, valid), clip_of_segment


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------


def train_dataset(
    data,
    split="train",
    segment_length=59049,
    batch_size=23,
    crops_per_clip=1,
    shuffle_buffer=256,
    num_shards=1,
    shard_index=0,
    seed=None,
    repeat=True,
    drop_remainder=True,
    cache=False,
    batch_shuffle_buffer=None,
    parallel_reads=4,
    num_labels=None,
    deterministic=False,
    segment_shuffle_buffer=2048,
    clips_per_parse=16,
    random_offsets=True,
    reshuffle=True,
    service=None,
    service_job=None,
):
    """Training segments of the clips, shuffled and batched: every segment, or random crops.

    Args:
        data: a folder written by `tfrecords_tools` (with `manifest.json`), or a list of
            TFRecord files (then `num_labels` is needed unless a manifest sits beside them).
        split: split name in the manifest.
        segment_length: samples per segment, the model's input length (59049 = 3^10 for the
            3^9 SampleCNN, Lee et al. 2017).
        batch_size: segments per batch (23 in the papers' code).
        crops_per_clip: `"all"`: every non-overlapping segment of every clip once per pass
            (10 per 29-s MTAT clip), the authors' epoch (their data are stored as segments,
            tae-jun/resemul `build_mtt.py`), each clip's grid shifted by a random offset
            within its leftover samples, new at every pass (an augmentation the authors did
            not use); the segments of `clips_per_parse` clips at a time go through a
            `segment_shuffle_buffer`. Or an int k: independent random segments from every
            clip read. With k > 1 the same B clips give k batches, each of B different
            clips, shuffled among other batches: k times fewer bytes read and parsed per
            segment.
        shuffle_buffer: clips held for shuffling. Each clip stays whole in memory (about
            1.3 MB for 29 s at 22050 Hz).
        num_shards, shard_index: this pipeline's part of the data when several pipelines
            (replicas, hosts) read it: by file when there are at least `num_shards` files,
            else by record.
        seed: seed of the shuffles and crops; None draws a fresh one each run. Runs are
            repeatable only with `deterministic=True`.
        repeat: cycle through the data forever (give `fit` a `steps_per_epoch`).
        drop_remainder: drop a last partial batch, so the batch dimension is static.
        cache: keep the serialized records in memory after the first pass (small datasets:
            the file reads and checksums go away).
        batch_shuffle_buffer: batches held for shuffling when `crops_per_clip > 1`
            (default `4 * crops_per_clip`), so consecutive steps come from different clips.
        parallel_reads: files read at once.
        num_labels: labels per record, for files without a manifest.
        deterministic: a fixed element order (slower); with `seed`, the same batches every run.
        segment_shuffle_buffer: segments held for shuffling with `crops_per_clip="all"`
            (2048 segments of 59049 samples hold 240 MB).
        clips_per_parse: clips parsed together with `crops_per_clip="all"`.
        random_offsets: with `crops_per_clip="all"`, shift each clip's grid of segments by a
            random offset at every pass; False cuts them at 0, L, 2L, ... as the authors did.
        reshuffle: a new order and new crops each time the dataset is iterated (training);
            False: every iteration yields the same elements (with `seed` and `deterministic`),
            a fixed draw.
        service: a tf.data service dispatcher (`grpc://host:port`): parse, crop and decode on
            its workers, which must see the files at the same paths (see
            `keras_samplecnn.data.service`: the same batches as here for a fixed seed).
        service_job: with `service`, trainers giving the same name share one job.

    Returns:
        a `tf.data.Dataset` of `(audio, labels)`: float32 `[batch, segment_length]` in
        [-1, 1) and float32 `[batch, K]`.
    """
    every_segment = crops_per_clip == "all"
    if not every_segment and not (isinstance(crops_per_clip, int) and crops_per_clip >= 1):
        raise ValueError(f'crops_per_clip must be "all" or an int >= 1, got {crops_per_clip!r}')
    if batch_size < 1 or segment_length < 1:
        raise ValueError("batch_size and segment_length must be >= 1")
    _check_sharding(num_shards, shard_index)
    files, _, num_labels = resolve_shards(data, split, num_labels)
    if service and seed is None:
        # Every worker must build the same stream of records and seeds: one seed for all.
        seed = int(np.random.default_rng().integers(2**31))
    by_file = num_shards > 1 and len(files) >= num_shards
    if by_file:
        files = files[shard_index::num_shards]
    if num_shards > 1 and not by_file:
        # Record sharding needs the same record order in every pipeline: read sequentially.
        records = tf.data.TFRecordDataset(files, buffer_size=READ_BUFFER_BYTES).shard(num_shards, shard_index)
    elif len(files) > 1:
        names = tf.data.Dataset.from_tensor_slices(files).shuffle(
            len(files), seed=seed, reshuffle_each_iteration=reshuffle
        )
        records = names.interleave(
            lambda f: tf.data.TFRecordDataset(f, buffer_size=READ_BUFFER_BYTES),
            cycle_length=min(len(files), parallel_reads),
            block_length=1,
            num_parallel_calls=AUTOTUNE,
            deterministic=deterministic or bool(service),  # the workers' streams must agree
        )
    else:
        records = tf.data.TFRecordDataset(files, buffer_size=READ_BUFFER_BYTES)
    if cache:
        records = records.cache()
    if reshuffle:
        if shuffle_buffer > 1:
            records = records.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            records = records.repeat()
    else:
        # A fixed draw: every iterator starts the same, yet the passes are not one order
        # repeated (shuffling the repeated stream), so consumers that wait for a combination,
        # as the Siamese negatives do, still meet it.
        if repeat:
            records = records.repeat()
        if shuffle_buffer > 1:
            records = records.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=False)
    # One stateless seed pair per batch: crops are reproducible with a fixed `seed` however
    # the parallel map schedules its calls, and new in every epoch when not repeated.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=reshuffle).batch(2)
    spec = schema.feature_spec(num_labels)
    options = tf.data.Options()
    options.deterministic = deterministic
    if every_segment:

        def parse_and_cut(serialized, cut_seed):
            parsed = tf.io.parse_example(serialized, spec)
            pieces, clip_of_segment = _all_segments(parsed[schema.AUDIO], segment_length, cut_seed, random_offsets)
            return pieces, tf.gather(parsed[schema.LABELS], clip_of_segment)

        groups = tf.data.Dataset.zip((records.batch(clips_per_parse), seeds))
        if service:  # each worker parses and cuts every W-th group of clips
            groups = data_service.shard_here(groups)
        segments = groups.map(parse_and_cut, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
        segments = segments.unbatch()
        if segment_shuffle_buffer > 1:
            segments = segments.shuffle(segment_shuffle_buffer, seed=seed, reshuffle_each_iteration=reshuffle)
        batches = segments.batch(batch_size, drop_remainder=drop_remainder)
        return _decode_batches(batches.with_options(options), segment_length, deterministic, service, service_job)

    batches = records.batch(batch_size, drop_remainder=drop_remainder)
    k = crops_per_clip

    def parse_and_crop(serialized, crop_seed):
        parsed = tf.io.parse_example(serialized, spec)
        pieces = _random_crops(parsed[schema.AUDIO], segment_length, k, crop_seed)
        labels = parsed[schema.LABELS]
        if k == 1:
            return pieces[0], labels
        return pieces, tf.tile(labels[None], [k, 1, 1])  # [k, B] bytes: decoded after shuffling

    batches = tf.data.Dataset.zip((batches, seeds))
    if service:  # each worker parses and crops every W-th batch
        batches = data_service.shard_here(batches)
    batches = batches.map(parse_and_crop, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    if k > 1:
        batches = batches.unbatch()  # the k batches of one group, as separate elements
        buffer = batch_shuffle_buffer or 4 * k
        if buffer > 1:
            batches = batches.shuffle(buffer, seed=seed, reshuffle_each_iteration=reshuffle)
    return _decode_batches(batches.with_options(options), segment_length, deterministic, service, service_job)


def ready(dataset, prefetch=PREFETCH_BATCHES):
    """`dataset` prefetched `prefetch` deep, with tf.data's autotuning (and its thread) off; see
    `PREFETCH_BATCHES`."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(prefetch).with_options(options)


def _decode_batches(batches, segment_length, deterministic, service, service_job):
    """Decodes batches of PCM bytes to float32 and prefetches them.

    With `service` the batches are made on the tf.data service workers and travel as int16
    bytes, half the bytes of float32; decoding them here is cheap.
    """
    if service:
        batches = data_service.distribute(batches, service, service_job)
    batches = batches.map(
        lambda pieces, labels: (_decode_pcm(pieces, segment_length), labels),
        num_parallel_calls=AUTOTUNE,
        deterministic=deterministic,
    )
    return ready(batches)


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------


def eval_dataset(
    data,
    split="test",
    segment_length=59049,
    batch_size=64,
    num_shards=1,
    shard_index=0,
    clips_per_parse=16,
    parallel_reads=4,
    num_labels=None,
):
    """Every non-overlapping full segment of every clip, with its clip index.

    A clip of n samples gives `max(1, n // segment_length)` segments starting at 0, L, 2L, ...
    (the tail shorter than a segment is left out; a clip shorter than one segment gives one
    zero-padded segment). Clip `i` is the i-th record of the split in manifest (file) order,
    whatever order the segments come in, so predictions can be averaged per clip with
    `average_by_clip`, the papers' protocol.

    Args:
        data: a converted folder, or a list of TFRecord files (see `train_dataset`).
        split: split name.
        segment_length: samples per segment.
        batch_size: segments per batch (the last batch may be smaller).
        num_shards, shard_index: this pipeline's part (by file when there are enough files
            and the manifest records the files' counts, else by record); clip indices stay
            global, so the parts' predictions can be concatenated.
        clips_per_parse: clips parsed together in one `parse_example`.
        parallel_reads: files read at once.
        num_labels: labels per record, for files without a manifest.

    Returns:
        a `tf.data.Dataset` of `(audio, labels, clip_index)`: float32 `[b, segment_length]`,
        float32 `[b, K]` and int64 `[b]`.
    """
    _check_sharding(num_shards, shard_index)
    files, records, num_labels = resolve_shards(data, split, num_labels)
    by_file = num_shards > 1 and len(files) >= num_shards and records is not None
    if records is not None and (num_shards == 1 or by_file):
        # Known counts: a clip's index is its file's offset plus its position in the file,
        # so files can be read in parallel, in any order.
        offsets = np.concatenate([[0], np.cumsum(records)[:-1]]).astype(np.int64)
        chosen = list(range(len(files)))[shard_index::num_shards] if by_file else list(range(len(files)))
        pairs = tf.data.Dataset.from_tensor_slices(([files[i] for i in chosen], offsets[chosen]))
        indexed = pairs.interleave(
            lambda f, offset: tf.data.TFRecordDataset(f, buffer_size=READ_BUFFER_BYTES).enumerate(
                start=offset
            ),
            cycle_length=min(len(chosen), parallel_reads),
            num_parallel_calls=AUTOTUNE,
            deterministic=False,
        )
    else:
        indexed = tf.data.TFRecordDataset(files, buffer_size=READ_BUFFER_BYTES).enumerate()
        if num_shards > 1:
            indexed = indexed.shard(num_shards, shard_index)
    spec = schema.feature_spec(num_labels)

    def cut(index, serialized):
        parsed = tf.io.parse_example(serialized, spec)
        pieces, clip_of_segment = _all_segments(parsed[schema.AUDIO], segment_length, None, random_offset=False)
        return pieces, tf.gather(parsed[schema.LABELS], clip_of_segment), tf.gather(index, clip_of_segment)

    segments = indexed.batch(clips_per_parse).map(cut, num_parallel_calls=AUTOTUNE, deterministic=False)
    segments = segments.rebatch(batch_size)
    # In order after the rebatch, so only the last batch can be smaller (out of order, the short
    # one came before the last full one in 16 of 300 passes).
    segments = segments.map(
        lambda pieces, labels, index: (_decode_pcm(pieces, segment_length), labels, index),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    options = tf.data.Options()
    options.deterministic = False
    return ready(segments.with_options(options))


# ----------------------------------------------------------------------------------------------
# Straight from audio files (optional tensorflow-io)
# ----------------------------------------------------------------------------------------------


class TensorflowIOUnavailable(ImportError):
    """tensorflow-io is not installed or does not load with the installed TensorFlow."""


# tensorflow-io's decoders need the sample type of each container to be named up front (a
# wrong one aborts the process): 16-bit PCM for WAV and FLAC, float for the lossy codecs.
_TFIO_DTYPES = {".wav": tf.int16, ".flac": tf.int16, ".mp3": tf.float32, ".ogg": tf.float32}


def _import_tfio():
    """tensorflow_io, checked to load its kernels with this TensorFlow."""
    try:
        import tensorflow_io as tfio

        tfio.audio.AudioIOTensor  # noqa: B018  (fails when the package is a stub or broken)
    except Exception as error:  # ImportError, or NotImplementedError/NotFoundError on a TF mismatch
        raise TensorflowIOUnavailable(
            "audio_file_dataset decodes audio in the graph with tensorflow-io, an optional dependency "
            f"that is not usable here ({type(error).__name__}: {error}). tensorflow-io is abandoned "
            "upstream and works only with TensorFlow <= 2.17 (tensorflow-io 0.37.1 with TensorFlow "
            f"2.16/2.17); this is TensorFlow {tf.__version__}. Convert the audio to TFRecords instead "
            "(python -m tfrecords_tools mtat|folder|gtzan|speech-commands ... --out DIR) and use "
            "train_dataset / eval_dataset."
        ) from error
    return tfio


def audio_file_dataset(
    paths,
    labels,
    sample_rate=22050,
    segment_length=59049,
    batch_size=23,
    training=True,
    crops_per_clip=1,
    shuffle_buffer=256,
    seed=None,
    repeat=None,
):
    """Segments decoded straight from audio files in the graph, with tensorflow-io.

    An alternative to converting to TFRecords for small experiments: each file is decoded,
    mixed down to mono and resampled to `sample_rate` every time it is read, which is far slower
    than `train_dataset`. Needs `tensorflow-io` (optional; abandoned upstream, loads only with
    TensorFlow <= 2.17). WAV and FLAC must be 16-bit PCM; MP3 and Ogg Vorbis are fine.

    Args:
        paths: audio file paths (.wav, .flac, .mp3, .ogg).
        labels: `[len(paths), K]` label matrix (multi-hot or one-hot).
        sample_rate: rate the model expects.
        segment_length: samples per segment.
        batch_size: segments per batch.
        training: random crops, shuffled, repeated (like `train_dataset`); else every
            non-overlapping segment with its clip index (like `eval_dataset`; the clip index
            is the position in `paths`).
        crops_per_clip: random crops per decoded file (training).
        shuffle_buffer: files held for shuffling (training).
        seed: shuffling and cropping seed.
        repeat: cycle forever (default: `training`).

    Returns:
        training: `(audio [B, L], labels [B, K])`; else `(audio, labels, clip_index)`.

    Raises:
        TensorflowIOUnavailable: tensorflow-io missing or incompatible (an ImportError).
    """
    tfio = _import_tfio()
    paths = [os.fspath(p) for p in paths]
    labels = np.asarray(labels, dtype=np.float32)
    if labels.ndim != 2 or len(labels) != len(paths):
        raise ValueError(f"labels must be [len(paths), K], got {labels.shape} for {len(paths)} paths")
    extensions = [os.path.splitext(p)[1].lower() for p in paths]
    unknown = sorted(set(extensions) - set(_TFIO_DTYPES))
    if unknown:
        raise ValueError(f"audio_file_dataset reads {sorted(_TFIO_DTYPES)} files, not {unknown}")
    repeat = training if repeat is None else repeat

    def decode(path, dtype):
        audio = tfio.audio.AudioIOTensor(path, dtype=dtype)
        samples = tf.cast(audio.to_tensor(), tf.float32)
        if dtype == tf.int16:
            samples = samples / INT16_SCALE
        mono = tf.reduce_mean(samples, axis=1)
        rate = tf.cast(audio.rate, tf.int64)
        return tf.cond(
            tf.equal(rate, sample_rate),
            lambda: mono,
            lambda: tfio.audio.resample(mono[:, None], rate, sample_rate)[:, 0],
        )

    # One decoder per container type (its sample type is part of the graph), then merged.
    parts = []
    for extension in sorted(set(extensions)):
        chosen = [i for i, e in enumerate(extensions) if e == extension]
        part = tf.data.Dataset.from_tensor_slices(
            ([paths[i] for i in chosen], labels[chosen], np.array(chosen))
        )
        dtype = _TFIO_DTYPES[extension]
        parts.append(
            part.map(
                lambda p, y, i, dtype=dtype: (decode(p, dtype), y, tf.cast(i, tf.int64)),
                num_parallel_calls=AUTOTUNE,
            )
        )
    clips = parts[0]
    for part in parts[1:]:
        clips = clips.concatenate(part)

    def pad(audio):
        return tf.pad(audio, [[0, tf.maximum(segment_length - tf.shape(audio)[0], 0)]])

    if training:
        if shuffle_buffer > 1:
            clips = clips.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            clips = clips.repeat()

        def crop(audio, label, index, crop_seed):
            audio = pad(audio)
            room = tf.shape(audio, out_type=tf.int64)[0] - segment_length
            start = tf.random.stateless_uniform([crops_per_clip], crop_seed, 0, room + 1, dtype=tf.int64)
            window = start[:, None] + tf.range(segment_length, dtype=tf.int64)[None, :]
            return tf.gather(audio, window), tf.tile(label[None], [crops_per_clip, 1])

        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        segments = tf.data.Dataset.zip((clips, seeds)).map(
            lambda clip, s: crop(*clip, s), num_parallel_calls=AUTOTUNE, deterministic=False
        )
        segments = segments.rebatch(batch_size, drop_remainder=True)
    else:

        def frames(audio, label, index):
            framed = tf.signal.frame(pad(audio), segment_length, segment_length)  # full segments only
            count = tf.shape(framed)[0]
            return framed, tf.tile(label[None], [count, 1]), tf.fill([count], index)

        segments = clips.map(frames, num_parallel_calls=AUTOTUNE).rebatch(batch_size)
    options = tf.data.Options()
    options.deterministic = not training
    return ready(segments.with_options(options))
