"""The TFRecord shards read without TensorFlow: NumPy batches for Keras on JAX or PyTorch.

The same shards, crops and clip-level evaluation as `pipeline.train_dataset` /
`pipeline.eval_dataset`, with nothing but NumPy: the TFRecord framing and the
`tf.train.Example` protobuf wire format (`schema`) are read by hand here, so neither
TensorFlow nor the protobuf runtime is needed. Every shard is memory-mapped and a clip stays a
view of its file: only the int16 samples a crop uses are read and converted to float32
(x / 32768, the same float32 values as tf.data), and `crops_per_clip=k` cuts k segments from
every clip read, so reading and parsing are paid once per k segments, as in tf.data.

What equals tf.data: `eval_batches` yields exactly `eval_dataset`'s segments, labels and
clip indices, in manifest (file) order, which tf.data yields in any order; training with
`crops_per_clip="all", random_offsets=False` yields the same multiset of segments per pass.
Random crops are drawn from NumPy's generator, not TensorFlow's Philox stream: equally
uniform over the valid starts, and the same batches for the same `seed`.

Parallelism: none by default, chosen by measurement. Training segments/s on 2 shared CPU
cores (x86_64, float32 matmul peak 214 GFLOP/s; 120 demo MTAT clips of 29.1 s at 22050 Hz,
segments of 59049 samples, batches of 23, crops_per_clip=10; two runs of
`benchmarks/bench_pipeline.py --portable --seconds 4`):

| reader | segments/s |
|---|---:|
| this generator, in the caller's thread (the default) | 27,600 - 33,800 |
| the same, made ahead in one background thread (`prefetch=2`) | 24,600 - 25,600 |
| `torch.utils.data.DataLoader`, 2 worker processes, one file shard each | 5,100 - 5,500 |
| grain 0.2.18 (`mp_prefetch`, 2 processes, random-access source) | 360 - 470 |
| tf.data `train_dataset` (for reference) | 9,900 - 10,800 |

Per segment the work is a few NumPy calls (the int16 -> float32 conversion of only the
samples used), so worker processes lose more to copying each 5.4-MB batch back to the trainer
than they gain on 2 cores (grain's figure may also hold its workers' start-up: each imports
Keras). `prefetch=N` overlaps batch making with a training step that releases the GIL (JAX
and PyTorch kernels, a GPU step); at these rates it rarely matters. tf.data is slower here
because it reads and CRC-checks every whole 1.3-MB record, whereas a crop of a memory-mapped
record touches only its own pages (the shards were in the page cache in both cases).

Integrity: each record's length CRC (masked CRC-32C of 8 bytes) is checked, which catches a
damaged framing; the data CRCs are not (a pure-Python CRC of every 1.3-MB clip would cost
more than everything else here). The manifest's sha256 per shard and
`python -m tfrecords_tools verify DIR` cover the data.

Example (any Keras backend; `keras.utils.PyDataset` is not needed, `fit` takes a generator):

```python
import os
os.environ["KERAS_BACKEND"] = "jax"  # or "torch"; TensorFlow need not be installed
from keras_samplecnn.data.manifest import read_manifest
from keras_samplecnn.data.portable import average_by_clip, eval_batches, train_batches

manifest = read_manifest("data/mtat_tfrecords")
train = train_batches("data/mtat_tfrecords", batch_size=23, crops_per_clip=4)
model.fit(train, steps_per_epoch=manifest.num_clips("train") * 4 // 23, epochs=...)

scores, clips = [], []
for audio, labels, clip in eval_batches("data/mtat_tfrecords", "test"):
    scores.append(model.predict_on_batch(audio))
    clips.append(clip)
clip_scores = average_by_clip(np.concatenate(scores), np.concatenate(clips))
```
"""

import mmap
import os
import queue
import struct
import threading

import numpy as np

from keras_samplecnn.data import schema
from keras_samplecnn.data.clip_scores import average_by_clip
from keras_samplecnn.data.manifest import read_manifest, resolve_shards

__all__ = ["average_by_clip", "count_segments", "eval_batches", "parse_example", "read_records", "train_batches"]

INT16_SCALE = np.float32(1.0 / 32768.0)  # a power of two: x * scale is exact in float32

# ----------------------------------------------------------------------------------------------
# TFRecord framing
# ----------------------------------------------------------------------------------------------


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def _masked_crc32c(data):
    """TFRecord's masked CRC-32C (Castagnoli); pure Python, for the 8-byte length fields."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path):
    """Yields the serialized records of a TFRecord file as memoryviews of the mapped file.

    The framing is: uint64 length, uint32 masked CRC-32C of the length, the data, uint32
    masked CRC-32C of the data (little endian). The length CRCs are checked, the data CRCs
    are not (see the module docstring).

    Args:
        path: a TFRecord file (uncompressed).

    Raises:
        ValueError: a damaged length field, or the file ends inside a record.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return
        # The mapping outlives the `with`: the yielded views (and crops cut from them) keep it.
        data = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    position = 0
    while position < size:
        if position + 12 > size:
            raise ValueError(f"{path}: ends inside a record header at byte {position}")
        header = data[position : position + 8]
        (length,) = struct.unpack_from("<Q", data, position)
        (crc,) = struct.unpack_from("<I", data, position + 8)
        if crc != _masked_crc32c(header):
            raise ValueError(f"{path}: damaged record length at byte {position} (CRC mismatch)")
        start = position + 12
        position = start + length + 4
        if position > size:
            raise ValueError(f"{path}: a record at byte {start - 12} runs past the end of the file")
        yield data[start : start + length]


# ----------------------------------------------------------------------------------------------
# tf.train.Example, from the protobuf wire format
# ----------------------------------------------------------------------------------------------


def _varint(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf, start, end):
    """(field number, wire type, value or (start, end) span) of a message's fields."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 2:  # length-delimited: a span, not a copy
            length, pos = _varint(buf, pos)
            yield number, wire, (pos, pos + length)
            pos += length
        elif wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 5:
            yield number, wire, (pos, pos + 4)
            pos += 4
        elif wire == 1:
            yield number, wire, (pos, pos + 8)
            pos += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    if pos != end:
        raise ValueError("a protobuf field runs past its message")


def _signed64(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def _feature(buf, start, end):
    """A `tf.train.Feature`: list of memoryviews, float32 array or list of ints."""
    value = []
    for kind, wire, span in _fields(buf, start, end):
        # Feature is a oneof: bytes_list = 1, float_list = 2, int64_list = 3, each a message
        # whose field 1 is the repeated value (floats and ints packed or not).
        if kind == 1 and wire == 2:
            value = [buf[s:e] for number, w, (s, e) in _fields(buf, *span) if number == 1 and w == 2]
        elif kind == 2 and wire == 2:
            parts = [
                np.frombuffer(buf[s:e], "<f4") for number, _, (s, e) in _fields(buf, *span) if number == 1
            ]
            value = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        elif kind == 3 and wire == 2:
            value = []
            for number, w, item in _fields(buf, *span):
                if number != 1:
                    continue
                if w == 0:
                    value.append(_signed64(item))
                else:  # packed
                    pos, stop = item
                    while pos < stop:
                        v, pos = _varint(buf, pos)
                        value.append(_signed64(v))
    return value


def parse_example(record):
    """Decodes a serialized `tf.train.Example` without TensorFlow or protobuf.

    Args:
        record: the serialized bytes (bytes, or a memoryview as `read_records` yields).

    Returns:
        `{name: value}`: a bytes feature as a list of memoryviews (no copy), a float feature
        as a float32 array, an int64 feature as a list of ints.
    """
    buf = memoryview(record)
    features = {}
    for number, wire, span in _fields(buf, 0, len(buf)):
        if number != 1 or wire != 2:  # Example.features = 1
            continue
        for entry_number, entry_wire, entry in _fields(buf, *span):
            if entry_number != 1 or entry_wire != 2:  # Features.feature = 1: map entries
                continue
            key, value = "", []
            for field, field_wire, item in _fields(buf, *entry):
                if field == 1 and field_wire == 2:
                    key = bytes(buf[item[0] : item[1]]).decode()
                elif field == 2 and field_wire == 2:
                    value = _feature(buf, *item)
            features[key] = value
    return features


def _clip(record, num_labels, where):
    """(int16 PCM view, float32 labels) of one record."""
    features = parse_example(record)
    audio = features.get(schema.AUDIO)
    labels = features.get(schema.LABELS, np.zeros(0, np.float32))
    if not audio:
        raise ValueError(f"{where}: a record without {schema.AUDIO!r} bytes")
    if len(labels) != num_labels:
        raise ValueError(f"{where}: a record with {len(labels)} labels, expected {num_labels}")
    pcm = np.frombuffer(audio[0], "<i2", count=len(audio[0]) // schema.PCM_BYTES_PER_SAMPLE)
    return pcm, np.asarray(labels, np.float32)


# ----------------------------------------------------------------------------------------------
# Sources
# ----------------------------------------------------------------------------------------------


def _check(segment_length, batch_size, num_shards, shard_index):
    if batch_size < 1 or segment_length < 1:
        raise ValueError("batch_size and segment_length must be >= 1")
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(
            f"need 0 <= shard_index < num_shards, got shard_index={shard_index}, num_shards={num_shards}"
        )


def _clips_of_file(path, num_labels):
    for record in read_records(path):
        yield _clip(record, num_labels, path)


def count_segments(data_dir, split, segment_length):
    """Non-overlapping full segments of `segment_length` in a split (at least one per clip).

    What one pass of `eval_batches` (or a `crops_per_clip="all"` training pass) yields. The
    manifest records it for the length the data were converted for; for another length each
    record's `num_samples` is read from the shards (one pass, no audio decoded).
    """
    if segment_length < 1:
        raise ValueError(f"segment_length must be >= 1, got {segment_length}")
    manifest = read_manifest(data_dir)
    if manifest.segment_length == segment_length and manifest.num_segments(split) is not None:
        return int(manifest.num_segments(split))
    files, _, _ = resolve_shards(data_dir, split)
    total = 0
    for path in files:
        for record in read_records(path):
            num_samples = parse_example(record).get(schema.NUM_SAMPLES)
            if not num_samples:
                raise ValueError(f"{path}: a record without {schema.NUM_SAMPLES!r}")
            total += max(int(num_samples[0]) // segment_length, 1)
    return total


def _interleave(files, num_labels, cycle_length):
    """Clips of `cycle_length` files at a time, one from each in turn (tf.data's interleave
    with block_length 1): nearby clips come from different files."""
    pending = iter(files)
    active = [_clips_of_file(f, num_labels) for _, f in zip(range(cycle_length), pending)]
    slot = 0
    while active:
        slot %= len(active)
        try:
            yield next(active[slot])
            slot += 1
        except StopIteration:
            following = next(pending, None)
            if following is None:
                del active[slot]
            else:
                active[slot] = _clips_of_file(following, num_labels)


def _shuffled(items, size, rng):
    """tf.data's shuffle: a buffer of `size`, each output a random element of it."""
    if size <= 1:
        yield from items
        return
    buffer = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        j = int(rng.integers(size))
        yield buffer[j]
        buffer[j] = item
    for j in rng.permutation(len(buffer)):
        yield buffer[j]


def _epoch_clips(files, num_labels, rng, shuffle_buffer, parallel_reads, num_shards, shard_index, repeat):
    """Clips (pcm, labels), shuffled within each pass over this part of the data."""
    by_file = num_shards > 1 and len(files) >= num_shards
    if by_file:
        files = files[shard_index::num_shards]
    while True:
        if num_shards > 1 and not by_file:  # by record: every pipeline reads in the same order
            clips = (
                clip
                for i, clip in enumerate(c for f in files for c in _clips_of_file(f, num_labels))
                if i % num_shards == shard_index
            )
        else:
            order = [files[i] for i in rng.permutation(len(files))]
            clips = _interleave(order, num_labels, max(1, min(len(files), parallel_reads)))
        yield from _shuffled(clips, shuffle_buffer, rng)
        if not repeat:
            return


def _assemble(rows, segment_length):
    """float32 [len(rows), L] from (int16 pcm, start) rows; only the used samples are read
    and converted, a segment past a clip's end is zero-padded."""
    out = np.empty((len(rows), segment_length), np.float32)
    for i, (pcm, start) in enumerate(rows):
        piece = pcm[start : start + segment_length]
        np.multiply(piece, INT16_SCALE, out=out[i, : len(piece)])
        out[i, len(piece) :] = 0.0
    return out


def _prefetched(batches, depth):
    """Runs the `batches` generator in a background thread, `depth` batches ahead.

    The int16 -> float32 conversion releases the GIL, so batch making overlaps the trainer.
    """
    if depth < 1:
        yield from batches
        return
    ready = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work():
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(done)
        except BaseException as error:  # handed to the consumer, raised there
            ready.put(error)

    thread = threading.Thread(target=work, name="train_batches", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the consumer stopped early (or finished): let the thread end


# ----------------------------------------------------------------------------------------------
# Training and evaluation
# ----------------------------------------------------------------------------------------------


def train_batches(
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
    batch_shuffle_buffer=None,
    parallel_reads=4,
    num_labels=None,
    segment_shuffle_buffer=2048,
    random_offsets=True,
    prefetch=0,
):
    """Training batches as NumPy arrays, like `pipeline.train_dataset` (no TensorFlow).

    Files are read in a random order per pass, `parallel_reads` at a time, one clip from each
    in turn; clips are shuffled through a buffer, batched, and cut:

    - `crops_per_clip=k`: k independent random crops (start uniform over `0 .. n - L`, 0 for
      a clip shorter than a segment, zero-padded) from every clip of a batch of B clips: k
      batches of B different clips, shuffled among `batch_shuffle_buffer` batches;
    - `crops_per_clip="all"`: every non-overlapping full segment of every clip once per pass,
      each clip's grid shifted by a random offset within its leftover samples (or at 0, L,
      2L, ... with `random_offsets=False`), shuffled through `segment_shuffle_buffer`.

    Buffers hold views of the memory-mapped shards and start positions, not sample copies.

    Args:
        data: a folder written by `tfrecords_tools`, or a list of TFRecord files.
        split: split name in the manifest.
        segment_length: samples per segment (the model's input length).
        batch_size: segments per batch.
        crops_per_clip: an int k >= 1, or `"all"`.
        shuffle_buffer: clips held for shuffling.
        num_shards, shard_index: this pipeline's part of the data (by file when there are at
            least `num_shards` files, else by record), as in `train_dataset`.
        seed: seed of the file order, shuffles and crops; the same seed gives the same batches
            (None: a fresh draw).
        repeat: cycle through the data forever (give `fit` a `steps_per_epoch`).
        drop_remainder: drop a last partial batch (only without `repeat`).
        batch_shuffle_buffer: batches held for shuffling when `crops_per_clip > 1`
            (default `4 * crops_per_clip`).
        parallel_reads: files read in turn.
        num_labels: labels per record, for files without a manifest.
        segment_shuffle_buffer: segments held for shuffling with `crops_per_clip="all"`.
        random_offsets: with `"all"`, shift each clip's grid by a random offset every pass.
        prefetch: batches made ahead in a background thread; 0 (the default, fastest on its
            own, see above): in the caller's thread.

    Yields:
        `(audio, labels)`: float32 `[B, segment_length]` in [-1, 1) and float32 `[B, K]`.
    """
    every_segment = crops_per_clip == "all"
    if not every_segment and not (isinstance(crops_per_clip, int) and crops_per_clip >= 1):
        raise ValueError(f'crops_per_clip must be "all" or an int >= 1, got {crops_per_clip!r}')
    _check(segment_length, batch_size, num_shards, shard_index)
    files, _, num_labels = resolve_shards(data, split, num_labels)
    rng = np.random.default_rng(seed)
    clips = _epoch_clips(
        files, num_labels, rng, shuffle_buffer, parallel_reads, num_shards, shard_index, repeat
    )
    if every_segment:
        batches = _all_segment_batches(
            clips, rng, segment_length, batch_size, segment_shuffle_buffer, random_offsets, drop_remainder
        )
    else:
        buffer = 4 * crops_per_clip if batch_shuffle_buffer is None else batch_shuffle_buffer
        batches = _crop_batches(
            clips, rng, segment_length, batch_size, crops_per_clip, buffer, drop_remainder
        )
    return _prefetched(batches, prefetch) if prefetch else batches


def _crop_batches(clips, rng, segment_length, batch_size, k, batch_shuffle_buffer, drop_remainder):
    def groups():  # k batches (rows, labels) per batch of clips, not yet converted
        while True:
            group = [clip for _, clip in zip(range(batch_size), clips)]
            if not group or (drop_remainder and len(group) < batch_size):
                return
            room = np.array([max(len(pcm) - segment_length, 0) for pcm, _ in group])
            starts = rng.integers(0, room + 1, size=(k, len(group)))
            labels = np.stack([y for _, y in group])
            for crop in starts:
                yield [(pcm, int(s)) for (pcm, _), s in zip(group, crop)], labels

    stream = _shuffled(groups(), batch_shuffle_buffer, rng) if k > 1 else groups()
    for rows, labels in stream:
        yield _assemble(rows, segment_length), labels


def _all_segment_batches(clips, rng, segment_length, batch_size, buffer, random_offsets, drop_remainder):
    def segments():
        for pcm, labels in clips:
            n = len(pcm)
            count = max(n // segment_length, 1)
            offset = (
                int(rng.integers(n - count * segment_length + 1))
                if random_offsets and n > segment_length
                else 0
            )
            for j in range(count):
                yield pcm, offset + j * segment_length, labels

    stream = _shuffled(segments(), buffer, rng)
    while True:
        rows = [row for _, row in zip(range(batch_size), stream)]
        if not rows or (drop_remainder and len(rows) < batch_size):
            return
        yield _assemble([(pcm, s) for pcm, s, _ in rows], segment_length), np.stack([y for _, _, y in rows])


def eval_batches(
    data, split="test", segment_length=59049, batch_size=64, num_shards=1, shard_index=0, num_labels=None
):
    """Every non-overlapping full segment of every clip with its clip index, like `eval_dataset`.

    A clip of n samples gives `max(1, n // segment_length)` segments starting at 0, L, 2L, ...
    (a clip shorter than one segment gives one zero-padded segment). Clip `i` is the i-th
    record of the split in manifest order; segments come in that order, in full batches but
    the last (tf.data yields the same batches' rows, in any order).

    Args:
        data: a converted folder, or a list of TFRecord files.
        split: split name.
        segment_length: samples per segment.
        batch_size: segments per batch (the last batch may be smaller).
        num_shards, shard_index: this pipeline's part (by file when there are enough files
            and the manifest records their counts, else by record); clip indices stay global.
        num_labels: labels per record, for files without a manifest.

    Yields:
        `(audio, labels, clip_index)`: float32 `[b, L]`, float32 `[b, K]`, int64 `[b]`.
    """
    _check(segment_length, batch_size, num_shards, shard_index)
    files, records, num_labels = resolve_shards(data, split, num_labels)
    by_file = num_shards > 1 and len(files) >= num_shards and records is not None
    if by_file:
        offsets = np.concatenate([[0], np.cumsum(records)[:-1]]).astype(np.int64)
        chosen = range(shard_index, len(files), num_shards)
        indexed = (
            (int(offsets[i]) + j, clip)
            for i in chosen
            for j, clip in enumerate(_clips_of_file(files[i], num_labels))
        )
    else:
        indexed = (
            (i, clip)
            for i, clip in enumerate(c for f in files for c in _clips_of_file(f, num_labels))
            if i % num_shards == shard_index
        )

    def segments():
        for index, (pcm, labels) in indexed:
            for j in range(max(len(pcm) // segment_length, 1)):
                yield pcm, j * segment_length, labels, index

    stream = segments()
    while True:
        rows = [row for _, row in zip(range(batch_size), stream)]
        if not rows:
            return
        yield (
            _assemble([(pcm, s) for pcm, s, _, _ in rows], segment_length),
            np.stack([y for _, _, y, _ in rows]),
            np.array([i for _, _, _, i in rows], np.int64),
        )
