"""Siamese training examples for the artist model (ISMIR 2018): an anchor excerpt, an excerpt of
the same artist and N excerpts of other artists, sampled inside tf.data from a seed.

Two seeded streams of random excerpts (`pipeline.train_dataset`, one crop per clip, repeated):
the first is grouped by artist two at a time (`group_by_window`), which pairs each anchor with
the next excerpt of its artist; the second, batched by N, gives the negatives, and a group
holding an excerpt of the anchor's artist is dropped. No Python runs per step, and the same
seed gives the same examples. Memory: at most one waiting excerpt per artist. Each track is
read once per pass, so the positive is another track of the artist except where a pair
straddles two passes: 30 of 300 pairs came from one track with 3 training tracks per artist
(tests/data/test_siamese_data.py's data), fewer with the paper's 15.

Reference: Park, Lee, Park, Ha, Nam, ISMIR 2018 (arXiv:1710.06648); jongpillee/ismir2018-artist
`data_generator.py` draws the positive and the 4 negatives per anchor in Python.
"""

import tensorflow as tf

from keras_samplecnn.data import pipeline


def siamese_dataset(
    data, split="train", segment_length=65536, num_negatives=4, batch_size=15, seed=0, shuffle_buffer=256,
    reshuffle=True,
):  # fmt: skip
    """Batches of `({"anchor", "positive", "negatives"}, zeros)` for `SiameseArtistModel`.

    Args:
        data: a folder converted by `tfrecords_tools artists` (single-label: one artist per clip).
        split: the split to sample from.
        segment_length: samples per excerpt (the model's `input_length`).
        num_negatives: N excerpts of other artists per anchor.
        batch_size: anchors per batch (15 in the authors' code).
        seed: the seed of every draw.
        shuffle_buffer: clips in each stream's shuffle buffer.
        reshuffle: new examples each time the dataset is iterated (training); False: the same
            examples every time (a fixed draw; the trainer's validation is the authors',
            one anchor per validation track: `keras_samplecnn.data.artist_validation`).

    Returns:
        an infinite `tf.data.Dataset`: anchor and positive float32 `(b, L)`, negatives
        `(b, N, L)`, and float32 zeros `(b, 1 + N)` as the (unused) targets of
        `ArtistHingeLoss`. `siamese_examples` gives the same examples unbatched, with their
        artists.
    """
    examples = siamese_examples(data, split, segment_length, num_negatives, seed, shuffle_buffer, reshuffle)

    def to_inputs(anchor, positive, negatives, anchor_artist, negative_artists):
        del anchor_artist, negative_artists
        return {"anchor": anchor, "positive": positive, "negatives": negatives}, tf.zeros([1 + num_negatives])

    # no autotuning thread to wait for at the end of fit (pipeline.PREFETCH_BATCHES)
    return pipeline.ready(examples.map(to_inputs).batch(batch_size, drop_remainder=True))


def siamese_examples(
    data, split="train", segment_length=65536, num_negatives=4, seed=0, shuffle_buffer=256, reshuffle=True
):
    """Unbatched `(anchor, positive, negatives, anchor_artist, negative_artists)`, artists as
    label indices: what `siamese_dataset` batches (and what tests check)."""
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
    manifest = pipeline.read_manifest(data)
    if manifest.task != "single_label" or manifest.num_labels < 2:
        raise ValueError(f"{data}: Siamese sampling needs single-label data with 2 or more artists")

    def excerpts(stream_seed):
        stream = pipeline.train_dataset(
            data, split, segment_length=segment_length, batch_size=1, crops_per_clip=1,
            shuffle_buffer=shuffle_buffer, seed=stream_seed, repeat=True, deterministic=True, reshuffle=reshuffle,
        )  # fmt: skip
        return stream.unbatch().map(lambda audio, labels: (audio, tf.argmax(labels, output_type=tf.int64)))

    pairs = excerpts(seed).group_by_window(
        key_func=lambda audio, artist: artist,
        reduce_func=lambda artist, window: window.batch(2, drop_remainder=True),
        window_size=2,
    )
    negatives = excerpts(seed + 1_000_003).batch(num_negatives, drop_remainder=True)

    def flatten(pair, group):
        (audio, artists), (negative_audio, negative_artists) = pair, group
        return audio[0], audio[1], negative_audio, artists[0], negative_artists

    examples = tf.data.Dataset.zip((pairs, negatives)).map(flatten)
    return examples.filter(lambda a, p, n, artist, others: tf.reduce_all(others != artist))
