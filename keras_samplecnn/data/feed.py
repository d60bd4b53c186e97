"""What feeds training and the clip-level evaluation: tf.data, or the TensorFlow-free reader.

`data.reader` in a training config (and `reader=` here) picks it:

- `tf_data`: `pipeline.train_dataset` / `eval_dataset` (TensorFlow's input pipeline; the only
  reader that can use a tf.data service);
- `portable`: `portable.train_batches` / `eval_batches`, NumPy only, for Keras on JAX or
  PyTorch where TensorFlow is not installed;
- `auto` (the default): `tf_data` where TensorFlow is installed, else `portable`.

Both read the same converted shards and give the same evaluation segments and clip-level
scores (tests/data/test_portable_pipeline.py); their random training crops are drawn from different
generators (TensorFlow's and NumPy's), equally uniform.
"""

import keras
import numpy as np

from keras_samplecnn.backend_choice import installed
from keras_samplecnn.data.schema import READERS



def tensorflow_installed():
    """Whether TensorFlow can be imported here (looked up, not imported)."""
    return installed("tensorflow")


def resolve_reader(reader="auto"):
    """`"tf_data"` or `"portable"` for the `reader` setting (see the module docstring).

    Raises:
        ValueError: an unknown reader.
        ImportError: `tf_data` asked for where TensorFlow is not installed.
    """
    if reader not in READERS:
        raise ValueError(f"reader must be one of {', '.join(READERS)}; got {reader!r}")
    if reader == "auto":
        return "tf_data" if tensorflow_installed() else "portable"
    if reader == "tf_data" and not tensorflow_installed():
        raise ImportError(
            "reader tf_data needs TensorFlow (pip install 'keras_samplecnn[tensorflow]'); "
            "without it use reader portable"
        )
    return reader


def train_batches(reader, data_dir, *, split, segment_length, batch_size, crops_per_clip, shuffle_buffer,
                  segment_shuffle_buffer, random_offsets, seed, service=None, service_job=None):  # fmt: skip
    """Endless training batches `(audio, labels)` from `reader` (a resolved one), for `fit`.

    Returns:
        a `tf.data.Dataset` (`tf_data`) or a generator of NumPy arrays (`portable`).
    """
    options = dict(split=split, segment_length=segment_length, batch_size=batch_size,
                   crops_per_clip=crops_per_clip, shuffle_buffer=shuffle_buffer,
                   segment_shuffle_buffer=segment_shuffle_buffer, random_offsets=random_offsets,
                   seed=seed)  # fmt: skip
    if reader == "tf_data":
        from keras_samplecnn.data import pipeline

        return pipeline.train_dataset(data_dir, service=service, service_job=service_job, **options)
    if service:
        raise ValueError("a tf.data service (data.service) needs reader tf_data")
    from keras_samplecnn.data import portable

    return portable.train_batches(data_dir, **options)


def eval_batches(reader, data_dir, split, segment_length, batch_size):
    """One pass of `(audio, labels, clip_index)` NumPy batches over every segment of `split`."""
    if reader == "tf_data":
        from keras_samplecnn.data import pipeline

        return pipeline.eval_dataset(data_dir, split, segment_length, batch_size).as_numpy_iterator()
    from keras_samplecnn.data import portable

    return portable.eval_batches(data_dir, split, segment_length, batch_size)


def validation_data(reader, data_dir, split, segment_length, batch_size, multiple_of=1):
    """`(validation_data, validation_steps)` for `fit`: every segment of `split`, `(audio, labels)`.

    Args:
        multiple_of: keep the largest multiple of this many segments, in batches of
            `batch_size` (JAX's DataParallel needs every batch, the last too, to split evenly
            over its devices: pass their number); 1 keeps every segment.
    """
    from keras_samplecnn.data.portable import count_segments

    total = count_segments(data_dir, split, segment_length)
    num_segments = total - total % multiple_of
    steps = -(-num_segments // batch_size)
    if reader == "tf_data":
        from keras_samplecnn.data import pipeline

        dataset = pipeline.eval_dataset(data_dir, split, segment_length, batch_size)
        dataset = dataset.map(lambda audio, labels, clip: (audio, labels))
        if num_segments < total:
            dataset = dataset.unbatch().take(num_segments).batch(batch_size)
        return dataset, steps

    def stream():
        batches = eval_batches(reader, data_dir, split, segment_length, batch_size)
        pairs = ((audio, labels) for audio, labels, _ in batches)
        return pairs if num_segments == total else _first_rows(pairs, num_segments, batch_size)

    return Restartable(stream, steps), steps


def _first_rows(batches, count, batch_size):
    """The first `count` rows of `batches` (tuples of arrays), in batches of `batch_size`."""
    pending, held = [], 0
    for batch in batches:
        pending.append(batch)
        held += len(batch[0])
        while held >= batch_size or (held >= count > 0):
            rows = min(batch_size, count)
            parts = [np.concatenate(column) for column in zip(*pending)]
            yield tuple(part[:rows] for part in parts)
            count -= rows
            held -= rows
            pending = [tuple(part[rows:] for part in parts)] if held else []
            if count == 0:
                return
    if held and count:
        yield tuple(np.concatenate(column)[:count] for column in zip(*pending))


class Restartable(keras.utils.PyDataset):
    """A one-pass batch stream made indexable for Keras, so that `fit` can read it every epoch.

    Keras reads a `PyDataset` (with one worker, no processes) in index order, once per epoch;
    a generator would be spent after the first. Batches read in order cost one pass of the
    stream; asking for an earlier index than the next one starts the stream again.

    Args:
        make_stream: called with no argument, returns a new iterator of batches.
        num_batches: batches in one pass.
    """

    def __init__(self, make_stream, num_batches):
        super().__init__(workers=1, use_multiprocessing=False)
        self._make_stream = make_stream
        self._num_batches = int(num_batches)
        self._stream = None
        self._next = 0

    def __len__(self):
        return self._num_batches

    def __getitem__(self, index):
        if not 0 <= index < self._num_batches:
            raise IndexError(f"batch {index} of {self._num_batches}")
        if self._stream is None or index < self._next:
            self._stream, self._next = iter(self._make_stream()), 0
        batch = None
        while self._next <= index:
            batch = next(self._stream, None)
            if batch is None:
                raise IndexError(f"the stream ended after {self._next} of {self._num_batches} batches")
            self._next += 1
        return batch
