"""Songs as log-mel tables for the deep content-user embedding model (DCUE; Lee, Lee, Park, Park,
Nam, DLRS 2018, arXiv:1807.06786), and its training batches.

Each song's whole clip is turned into a log-mel spectrogram once (`song_mel_table`, cached as
`.npy`), as the authors trained on pre-computed spectrograms: one training example scores 1 + 20
songs, so a spectrogram per song per step would cost more than the network. The table is a
float16 array `(songs, frames, bands)` read through a NumPy memory map, so the paper's 10,000
songs of 30 s (about 3.3 GB) need not fit in memory; shorter clips are zero-padded (a log-mel of
0 is silence) and `frames` records each song's real length.

`dcue_batches` draws, inside tf.data and from a seed: a training interaction, 20 songs the user
did not play (`keras_samplecnn.data.interactions.negative_examples`) and a random excerpt of
`num_frames` frames of each song; the excerpts are gathered from the table in NumPy, one call
per batch.
"""

import hashlib
import json
import os

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from keras_samplecnn.data import schema
from keras_samplecnn.data.interactions import negative_examples
from keras_samplecnn.data.pipeline import INT16_SCALE, READ_BUFFER_BYTES, shard_files
from keras_samplecnn.files import write_json_atomic, write_npy_atomic

_SPEC = {
    schema.AUDIO: tf.io.FixedLenFeature([], tf.string),
    schema.CLIP_ID: tf.io.FixedLenFeature([], tf.string, default_value=b""),
}
_LENGTH_SPEC = {
    schema.NUM_SAMPLES: tf.io.FixedLenFeature([], tf.int64),
    schema.CLIP_ID: tf.io.FixedLenFeature([], tf.string, default_value=b""),
}


def _records(data_dir, split, spec, batch_size):
    records = tf.data.TFRecordDataset(shard_files(data_dir, split), buffer_size=READ_BUFFER_BYTES)
    for serialized in records.batch(batch_size):
        yield tf.io.parse_example(serialized, spec)


def iter_clips(data_dir, split):
    """`(clip_id, float32 waveform in [-1, 1))` of every clip of a split, in file order, one at a
    time (a split of 10,000 songs of 30 s would take 26 GB as float32 at once)."""
    for parsed in _records(data_dir, split, _SPEC, 16):
        for clip_id, audio in zip(parsed[schema.CLIP_ID].numpy(), parsed[schema.AUDIO].numpy()):
            yield clip_id.decode(), np.frombuffer(audio, "<i2").astype(np.float32) / INT16_SCALE


def _clip_lengths(data_dir, split):
    """`(clip_id, samples)` of every clip of a split (the records' `num_samples`)."""
    for parsed in _records(data_dir, split, _LENGTH_SPEC, 256):
        yield from zip((c.decode() for c in parsed[schema.CLIP_ID].numpy()), parsed[schema.NUM_SAMPLES].numpy())


def _fill(table, frames, items, frontend):
    """Writes the log-mel spectrograms of `items` (`(row, waveform)`) into their table rows."""
    hop = frontend.hop_length
    samples = (int(max(frames[row] for row, _ in items)) - 1) * hop
    batch = np.zeros((len(items), samples), np.float32)
    for i, (_, wave) in enumerate(items):
        batch[i, : min(len(wave), samples)] = wave[:samples]
    mels = np.asarray(frontend(batch), np.float32)
    for i, (row, _) in enumerate(items):
        table[row, : frames[row]] = mels[i, : frames[row]]


def _frames(samples, hop, max_frames):
    frames = np.asarray(samples, np.int64) // hop + 1
    return (frames if max_frames is None else np.minimum(frames, max_frames)).astype(np.int32)


def mel_table(waveforms, frontend, max_frames=None, batch_size=16, progress=True):
    """Log-mel spectrograms of waveforms, stacked and zero-padded to one length.

    Args:
        waveforms: float arrays at the front end's sample rate.
        frontend: a `LogMelSpectrogram` (e.g. `DCUE.mel_frontend()`).
        max_frames: keep at most this many frames of each song (default: the longest song).
        batch_size: songs per front-end call.
        progress: show a progress bar.

    Returns:
        `(table, frames)`: float16 `(songs, width, bands)` and each song's int32 frame count.
    """
    if not len(waveforms):
        raise ValueError("no songs to compute spectrograms of")
    frames = _frames([len(w) for w in waveforms], frontend.hop_length, max_frames)
    table = np.zeros((len(waveforms), int(frames.max()), frontend.num_mel_bins), np.float16)
    # Songs of similar length together: little padding computed.
    order = np.argsort(frames, kind="stable")
    for start in tqdm(range(0, len(order), batch_size), desc="song spectrograms", unit="batch", disable=not progress):
        _fill(table, frames, [(row, waveforms[row]) for row in order[start : start + batch_size]], frontend)
    return table, frames


def song_mel_table(data_dir, song_ids, frontend, cache_dir=None, splits=("train", "test"), max_frames=None,
                   batch_size=16, progress=True):  # fmt: skip
    """The log-mel table of a converted folder's songs, in the order of `song_ids`.

    Two passes over the records: their lengths (the table's width), then their audio, a batch
    of songs at a time into the table (a memory map in `cache_dir`, so the paper's 10,000
    songs of 30 s, 3.3 GB, never need to fit in memory).

    Args:
        data_dir: converted TFRecords whose clip ids are the song ids (`python -m tfrecords_tools
            taste-profile` writes warm songs to "train", cold-start songs to "test").
        song_ids: the songs wanted, in table order.
        frontend: the `LogMelSpectrogram` to use.
        cache_dir: keep `song_mels.npy` / `song_frames.npy` here, reused while the songs, the
            front end's settings and the shards are unchanged.
        splits: the splits holding the songs.
        max_frames: frames kept per song (default all).
        batch_size: songs per front-end call.
        progress: show a progress bar.

    Returns:
        `(table, frames)` as in `mel_table`; the table is a read-only memory map when cached.

    Raises:
        ValueError: a song without a record, or a song recorded twice.
    """
    song_ids = [str(s) for s in song_ids]
    row_of = {song: row for row, song in enumerate(song_ids)}
    if len(row_of) != len(song_ids):
        raise ValueError("song_ids holds a song twice")
    key = _cache_key(data_dir, song_ids, frontend, splits, max_frames)
    if cache_dir:
        paths = {name: os.path.join(cache_dir, f"song_{name}.npy") for name in ("mels", "frames")}
        stamp = os.path.join(cache_dir, "song_mels.json")
        if all(map(os.path.exists, [*paths.values(), stamp])) and _read_json(stamp).get("key") == key:
            return np.load(paths["mels"], mmap_mode="r"), np.load(paths["frames"])
    samples = {}
    for split in splits:
        for clip_id, length in _clip_lengths(data_dir, split):
            if clip_id in samples:
                raise ValueError(f"song {clip_id!r} is recorded twice in {data_dir}")
            samples[clip_id] = length
    missing = [s for s in song_ids if s not in samples]
    if missing:
        raise ValueError(f"{len(missing)} songs have no audio record in {data_dir} (splits {', '.join(splits)}), "
                         f"e.g. {missing[:3]}")  # fmt: skip
    frames = _frames([samples[s] for s in song_ids], frontend.hop_length, max_frames)
    shape = (len(song_ids), int(frames.max()), frontend.num_mel_bins)
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        partial = paths["mels"] + ".part.npy"
        table = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float16, shape=shape)  # zeros
    else:
        table = np.zeros(shape, np.float16)
    pending = []
    with tqdm(total=len(song_ids), desc="song spectrograms", unit="song", disable=not progress) as bar:
        for split in splits:
            for clip_id, wave in iter_clips(data_dir, split):
                if clip_id in row_of:
                    pending.append((row_of[clip_id], wave))
                if len(pending) == batch_size:
                    _fill(table, frames, pending, frontend)
                    bar.update(len(pending))
                    pending = []
        if pending:
            _fill(table, frames, pending, frontend)
            bar.update(len(pending))
    if not cache_dir:
        return table, frames
    table.flush()
    del table
    os.replace(partial, paths["mels"])
    write_npy_atomic(paths["frames"], frames)
    write_json_atomic(stamp, {"key": key, "songs": len(song_ids), "width": shape[1]})
    return np.load(paths["mels"], mmap_mode="r"), frames


def _cache_key(data_dir, song_ids, frontend, splits, max_frames):
    from keras_samplecnn.layers.mel import LEGACY_FRONTEND  # imports Keras: only once a front end exists

    digest = hashlib.sha256("\n".join(song_ids).encode())
    config = frontend.get_config()
    settings = {k: config.get(k) for k in ("sample_rate", "fft_length", "hop_length", "num_mel_bins",
                                           "min_freq", "max_freq", "compression", "power")}  # fmt: skip
    # Options added later enter the key only where they differ from the front end that
    # tables cached before them were computed with, so those tables keep their key and stay valid.
    for key, old in LEGACY_FRONTEND.items():
        if key not in settings and config.get(key) != old:
            settings[key] = config.get(key)
    digest.update(json.dumps([settings, list(splits), max_frames], sort_keys=True).encode())
    with open(os.path.join(data_dir, schema.MANIFEST), "rb") as handle:  # its shard checksums
        digest.update(handle.read())
    return digest.hexdigest()


def _read_json(path):
    with open(path) as handle:
        return json.load(handle)


def window_starts(frames, num_frames):
    """Non-overlapping excerpt starts of each song (0, F, 2F, …; one at 0 for a short song).

    Returns:
        `(song, start)` int arrays, one entry per excerpt.
    """
    counts = np.maximum(np.asarray(frames) // num_frames, 1)
    song = np.repeat(np.arange(len(counts)), counts)
    start = (np.arange(len(song)) - np.repeat(np.cumsum(counts) - counts, counts)) * num_frames
    return song, start


def excerpts(table, song, start, num_frames):
    """float32 `(len(song), num_frames, bands)`: `table[song[i], start[i] : start[i] + num_frames]`
    (zeros past the table's end)."""
    song, start = np.asarray(song, np.int64), np.asarray(start, np.int64)
    if table.shape[1] < num_frames:
        table = np.pad(table, ((0, 0), (0, num_frames - table.shape[1]), (0, 0)))
    start = np.minimum(start, table.shape[1] - num_frames)
    order = np.argsort(song, kind="stable")  # memory-map reads in file order
    out = np.empty((len(song), num_frames, table.shape[2]), np.float32)
    rows = start[order, None] + np.arange(num_frames)
    out[order] = table[song[order, None], rows]
    return out


def dcue_batches(table, frames, user, song, num_songs, num_frames=130, num_negatives=20, batch_size=10, seed=0,
                 start_batch=0, candidates="trained"):  # fmt: skip
    """Infinite DCUE training batches from the training interactions and the songs' table.

    Args:
        table, frames: the songs' log-mel table and frame counts (`song_mel_table`).
        user, song: the training interactions (indices).
        num_songs: the table's rows.
        num_frames: frames per excerpt (130).
        num_negatives: negatives per interaction (20).
        batch_size: interactions per batch (10 in the paper).
        seed: the seed of the order, the negatives and the excerpt starts.
        start_batch: skip this many batches (a resumed run continues the same stream); the
            skipped batches' negatives are drawn, their excerpts not gathered.
        candidates: the songs negatives are drawn from: "trained" (default), the songs of the
            training interactions, so no other song's audio (a cold-start song's) is ever seen
            in training; "all", every row of the table; or an array of song indices.

    Returns:
        a `tf.data.Dataset` of `({"user": int32 (b,), "positive": (b, F, M), "negatives": (b, N,
        F, M)}, zeros (b,))`: inputs for `DCUE` and dummy targets for `dcue_loss`.
    """
    if len(table) != num_songs or len(frames) != num_songs:
        raise ValueError(f"the table has {len(table)} songs and {len(frames)} frame counts, expected {num_songs}")
    room = tf.constant(np.maximum(np.asarray(frames, np.int64) - num_frames, 0))
    base = tf.constant(np.random.SeedSequence([seed, 0x4352_4F50]).generate_state(2, np.uint32).astype(np.int64))
    bands = table.shape[2]

    def starts(position, songs):
        uniform = tf.random.stateless_uniform(tf.shape(songs), seed=base + tf.stack([position, 0]), dtype=tf.float64)
        limit = tf.gather(room, songs)
        return tf.minimum(tf.cast(tf.floor(uniform * tf.cast(limit + 1, tf.float64)), tf.int64), limit)

    def gather(songs, start):
        return excerpts(table, songs, start, num_frames)

    def assemble(position, example):
        u, positive, negatives = example
        songs = tf.cast(tf.concat([positive[:, None], negatives], axis=1), tf.int64)  # (b, 1 + N)
        flat = tf.reshape(songs, [-1])
        mels = tf.numpy_function(gather, [flat, starts(position, flat)], tf.float32, stateful=False)
        mels = tf.reshape(mels, [-1, 1 + num_negatives, num_frames, bands])
        inputs = {"user": u, "positive": mels[:, 0], "negatives": mels[:, 1:]}
        return inputs, tf.zeros([tf.shape(u)[0]])

    if isinstance(candidates, str):
        if candidates not in ("trained", "all"):
            raise ValueError(f"candidates must be 'trained', 'all' or song indices, got {candidates!r}")
        candidates = np.unique(song) if candidates == "trained" else None
    examples = negative_examples(user, song, num_songs, num_negatives=num_negatives, seed=seed, candidates=candidates)
    batches = examples.batch(batch_size, drop_remainder=True).enumerate().skip(start_batch)
    return batches.map(assemble, num_parallel_calls=2, deterministic=True).prefetch(2)
