"""The validation data of the ISMIR 2018 artist models, built as the authors build it: one
random excerpt per validation track, drawn once, the same every epoch.

jongpillee/ismir2018-artist @ 68841d227fef71ac76b44e704007e50452042a38, `data_generator.py`:

- `load_valid_basic`: for every validation track, `start = random.randint(0,
  tmp.shape[0]-num_frame_input)` and the one excerpt `tmp[start:start+num_frame_input,:]`
  (129 frames, `--num-frame-input 129`), with its artist's one-hot label.
- `load_valid_siamese`: for every validation track an anchor excerpt cut the same way; a
  positive, `random.choice` of the other validation tracks of its artist; `N_negs` negatives,
  the first `N_negs` of a `random.shuffle`d list of the validation tracks of other artists;
  each of them one excerpt at its own `random.randint` start.

`train.py` calls it once, before `fit_generator(..., validation_data=(x_valid, y_valid))`, so the
same excerpts are scored every epoch. Its `y_valid = np.repeat(y_valid_init, args.num_segment,
axis=0)` (`--num-segment 10`) is overwritten by that call before any use; the 10 fixed segments
per clip of their code are `encoding_cnn.py`'s feature extraction, not validation.

Here the same draws, seeded (theirs use Python's unseeded `random`): each start is uniform over
`0 .. n - L` (n samples in the clip, L the model's input; a clip shorter than L gives one
zero-padded excerpt), from `numpy.random.default_rng` of the seed. Clip i is the i-th record of
the split in manifest order. The clips stay memory-mapped views of the shards
(`keras_samplecnn.data.portable`), so a batch reads only its own excerpts and no TensorFlow is
needed.

One difference: an artist with a single validation track has no other track for the positive
(theirs fails there, `random.choice` of an empty list); its positive is another excerpt of the
same track, at its own start. How many anchors that concerns is logged.
"""

import logging
import math

import keras
import numpy as np

from keras_samplecnn.data import portable
from keras_samplecnn.data.manifest import resolve_shards

log = logging.getLogger(__name__)

REFERENCE = "jongpillee/ismir2018-artist @ 68841d2, data_generator.py load_valid_basic / load_valid_siamese"


def read_clips(data, split):
    """`(pcm, artists, num_labels)` of every clip of `split`, in manifest order.

    Args:
        data: a converted folder (single-label: one artist per clip).
        split: the split to read.

    Returns:
        `pcm`: a list of int16 views of the memory-mapped shards, one per clip; `artists`:
        int64 `[N]`, each clip's label index; `num_labels`: the number of artists.
    """
    files, _, num_labels = resolve_shards(data, split)
    pcm, artists = [], []
    for path in files:
        for clip, labels in portable._clips_of_file(path, num_labels):
            pcm.append(clip)
            artists.append(int(np.argmax(labels)))
    if not pcm:
        raise ValueError(f"split {split!r} of {data} has no clips to validate on")
    return pcm, np.asarray(artists, np.int64), num_labels


def _start(rng, length, segment_length):
    """A start uniform over `0 .. length - segment_length` (0 for a shorter clip): their
    `random.randint(0, frames - num_frame_input)`, in samples."""
    return int(rng.integers(0, max(length - segment_length, 0) + 1))


def basic_plan(lengths, segment_length, seed):
    """int64 `[N]`: the start of each clip's one validation excerpt (`load_valid_basic`)."""
    rng = np.random.default_rng([seed, 0])
    return np.asarray([_start(rng, n, segment_length) for n in lengths], np.int64)


def siamese_plan(artists, lengths, segment_length, num_negatives, seed):
    """`(clips, starts, same_track)` of the Siamese validation examples (`load_valid_siamese`).

    One example per validation clip i, in clip order: column 0 the anchor (clip i), column 1 a
    positive (another clip of i's artist, drawn uniformly; clip i itself where the artist has
    no other), columns 2.. `num_negatives` distinct clips of other artists, drawn uniformly
    without replacement. Every column has its own start.

    Args:
        artists: int `[N]`, each clip's artist.
        lengths: samples in each clip.
        segment_length: samples per excerpt.
        num_negatives: negatives per anchor.
        seed: the seed of every draw.

    Returns:
        `clips` and `starts`, int64 `[N, 2 + num_negatives]`, and how many anchors have their
        own track as the positive.

    Raises:
        ValueError: fewer than `num_negatives` clips of other artists for some anchor.
    """
    artists = np.asarray(artists, np.int64)
    total = len(artists)
    members = {}
    for index, artist in enumerate(artists.tolist()):
        members.setdefault(artist, []).append(index)
    rng = np.random.default_rng([seed, 1])
    clips = np.empty((total, 2 + num_negatives), np.int64)
    same_track = 0
    for i, artist in enumerate(artists.tolist()):
        own = members[artist]
        if total - len(own) < num_negatives:
            raise ValueError(
                f"the validation split has {total - len(own)} clips of artists other than label {artist}, "
                f"fewer than the {num_negatives} negatives of an anchor"
            )
        others_of_artist = [j for j in own if j != i]
        if others_of_artist:
            positive = others_of_artist[int(rng.integers(len(others_of_artist)))]
        else:
            positive, same_track = i, same_track + 1
        negatives = []
        while len(negatives) < num_negatives:  # rejection: the artist's own clips are few
            j = int(rng.integers(total))
            if artists[j] != artist and j not in negatives:
                negatives.append(j)
        clips[i] = [i, positive, *negatives]
    starts = np.asarray([[_start(rng, lengths[j], segment_length) for j in row] for row in clips.tolist()],
                        np.int64).reshape(clips.shape)  # fmt: skip
    return clips, starts, same_track


class ExcerptBatches(keras.utils.PyDataset):
    """Batches cut on demand from memory-mapped clips: `make_batch(lo, hi)` for examples
    `lo .. hi - 1`; the last batch may be smaller. Random access, so Keras may read it every
    epoch, in any order.

    Args:
        num_examples: examples in one pass.
        batch_size: examples per batch.
        make_batch: `make_batch(lo, hi)` returns one batch.
    """

    def __init__(self, num_examples, batch_size, make_batch):
        super().__init__(workers=1, use_multiprocessing=False)
        self.num_examples = int(num_examples)
        self._batch_size = int(batch_size)
        self._make_batch = make_batch

    def __len__(self):
        return math.ceil(self.num_examples / self._batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        lo = index * self._batch_size
        return self._make_batch(lo, min(lo + self._batch_size, self.num_examples))


def basic_validation(data, split, segment_length, batch_size, seed, multiple_of=1):
    """`(batches, steps)`: one excerpt per validation clip and its one-hot artist, for the basic model.

    Args:
        data: a converted folder (single-label).
        split: the validation split.
        segment_length: samples per excerpt (the model's input).
        batch_size: excerpts per batch.
        seed: the seed of the starts.
        multiple_of: keep the largest multiple of this many clips (JAX's DataParallel splits
            every batch over its devices); 1 keeps every clip.

    Returns:
        An `ExcerptBatches` of `(audio, labels)`, float32 `[b, L]` and `[b, K]`, and its length.
    """
    pcm, artists, num_labels = read_clips(data, split)
    starts = basic_plan([len(clip) for clip in pcm], segment_length, seed)
    count = len(pcm) - len(pcm) % multiple_of
    eye = np.eye(num_labels, dtype=np.float32)

    def make_batch(lo, hi):
        audio = portable._assemble([(pcm[i], starts[i]) for i in range(lo, hi)], segment_length)
        return audio, eye[artists[lo:hi]]

    log.info("validation: one excerpt of %d samples per clip, %d clips (%s)", segment_length, count, REFERENCE)
    batches = ExcerptBatches(count, batch_size, make_batch)
    return batches, len(batches)


def siamese_validation(data, split, segment_length, num_negatives, batch_size, seed):
    """`(batches, steps)`: one Siamese example per validation clip (see `siamese_plan`).

    Args:
        data, split, segment_length: as for `basic_validation`.
        num_negatives: negatives per anchor.
        batch_size: anchors per batch (the training batch: `ArtistHingeLoss` sums over the
            batch, so a smaller last batch weighs a little less in the epoch's mean).
        seed: the seed of every draw.

    Returns:
        An `ExcerptBatches` of `({"anchor", "positive", "negatives"}, zeros)`: float32 `[b, L]`,
        `[b, L]`, `[b, N, L]` and `[b, 1 + N]` (the unused targets of `ArtistHingeLoss`), and
        its length.
    """
    pcm, artists, _ = read_clips(data, split)
    clips, starts, same_track = siamese_plan(artists, [len(c) for c in pcm], segment_length, num_negatives, seed)
    if same_track:
        log.warning("validation: %d of %d anchors have no other validation track of their artist; their "
                    "positive is another excerpt of the same track", same_track, len(clips))  # fmt: skip

    def make_batch(lo, hi):
        rows = [(pcm[j], s) for row_clips, row_starts in zip(clips[lo:hi], starts[lo:hi])
                for j, s in zip(row_clips.tolist(), row_starts.tolist())]  # fmt: skip
        audio = portable._assemble(rows, segment_length).reshape(hi - lo, 2 + num_negatives, segment_length)
        inputs = {"anchor": audio[:, 0], "positive": audio[:, 1], "negatives": audio[:, 2:]}
        return inputs, np.zeros((hi - lo, 1 + num_negatives), np.float32)

    log.info("validation: one anchor per clip, %d anchors with a positive and %d negatives (%s)",
             len(clips), num_negatives, REFERENCE)  # fmt: skip
    batches = ExcerptBatches(len(clips), batch_size, make_batch)
    return batches, len(batches)
