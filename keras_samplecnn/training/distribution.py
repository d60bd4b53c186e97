"""Which devices a training run uses, from the config's `distribution` section.

- `mirrored` (TensorFlow backend): `tf.distribute.MirroredStrategy` over the GPUs of one host,
  or over the logical CPU devices where there is no GPU (how the tests run it on one CPU).
  The global batch (`data.batch_size`, 23 in the papers) is split across the replicas by
  `tf.distribute`, unevenly where it must: 23 over 2 replicas is 12 + 11. Each replica's loss
  is the mean over its own examples divided by the number of replicas, and the gradients are
  summed, so with an uneven split an example weighs 1/24 or 1/22 rather than 1/23. Batch
  normalisation takes its statistics over the global batch (synchronised across replicas,
  `distribution.sync_batch_norm: true`), as the papers' one-GPU runs did over 23; with
  `false` each replica normalises by its own 12 or 11 (faster on many GPUs, not the papers').
  `MultiWorkerMirroredStrategy` (several hosts) is broken with Keras 3 (keras-team/keras#20585):
  for several hosts use the JAX backend.
- `data_parallel` (JAX backend): `keras.distribution.DataParallel` on a 1-D mesh of the
  devices of every host. Several hosts: start the same command on each with
  `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the coordinator's host:port),
  `KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID` set, and this
  module calls `keras.distribution.initialize()` (`jax.distributed.initialize`) first.
  JAX shards each batch evenly, so `data.batch_size` must be a multiple of the number of
  devices (24, not 23, on 2 or 8).
  The batch is one global array: the loss, the gradients and the batch-normalisation
  statistics are those of one device with the same batch.
- `none`: one device; `auto`: mirrored with several TensorFlow GPUs, data_parallel with several
  JAX GPUs or TPUs, else none.

The learning rate is the config's, whatever the number of devices.
"""

import contextlib
import dataclasses
import os

import keras

from keras_samplecnn.training.config import ConfigError, check_backend


@dataclasses.dataclass
class Plan:
    """The resolved choice: `strategy` (none | mirrored | data_parallel), `replicas`, and
    `scope`, a context manager under which the model is built, compiled and fitted."""

    strategy: str
    replicas: int
    scope: object

    def describe(self):
        if self.strategy == "none":
            return "one device"
        return f"{self.strategy} over {self.replicas} devices"


def _tensorflow_devices():
    import tensorflow as tf

    return [d.name for d in tf.config.list_logical_devices("GPU")] or [
        d.name for d in tf.config.list_logical_devices("CPU")
    ]


def _jax_devices():
    import jax

    if os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES") and not jax.distributed.is_initialized():
        keras.distribution.initialize()  # reads KERAS_DISTRIBUTION_* (jax.distributed.initialize)
    return jax.devices()


def _take(devices, wanted, strategy):
    if wanted is None:
        return list(devices)
    if wanted > len(devices):
        raise ConfigError(
            f"distribution.devices: {wanted} asked for {strategy}, but only {len(devices)} "
            f"device(s) are visible: {[str(d) for d in devices]}"
        )
    return list(devices)[:wanted]


def resolve(config):
    """The `Plan` for `config` (a `TrainConfig`), on the Keras backend in use."""
    check_backend(config)
    settings = config.distribution
    strategy = settings.strategy
    backend = keras.config.backend()
    if strategy == "auto":
        strategy = "none"
        if backend == "tensorflow":
            import tensorflow as tf

            if len(tf.config.list_logical_devices("GPU")) > 1:
                strategy = "mirrored"
        elif backend == "jax" and sum(d.platform != "cpu" for d in _jax_devices()) > 1:
            strategy = "data_parallel"
    if strategy == "none":
        return Plan("none", 1, contextlib.nullcontext())
    if strategy == "mirrored":
        import tensorflow as tf

        devices = _take(_tensorflow_devices(), settings.devices, strategy)
        mirrored = tf.distribute.MirroredStrategy(devices=devices)
        return Plan(strategy, mirrored.num_replicas_in_sync, mirrored.scope())
    devices = _take(_jax_devices(), settings.devices, strategy)
    for key in ("batch_size", "eval_batch_size"):
        batch = getattr(config.data, key)
        if batch % len(devices):
            raise ConfigError(
                f"data.{key}: {batch} does not split evenly over {len(devices)} devices, which "
                f"JAX's DataParallel needs; use a multiple of {len(devices)} "
                f"(e.g. {batch + len(devices) - batch % len(devices)}), or TensorFlow's strategy: mirrored"
            )
    parallel = keras.distribution.DataParallel(devices=devices)
    return Plan(strategy, len(devices), parallel.scope())


def synchronize_batch_norm(model):
    """Batch normalisation over the global batch under `MirroredStrategy`, not each replica's.

    Sets `synchronized=True` (TensorFlow only: moments all-reduced across replicas, weighted
    by each replica's count, so 12 + 11 gives the statistics of 23) on every
    `BatchNormalization` layer, while each still writes `synchronized: False` in its config:
    a saved model loads on any backend, where `synchronized=True` would be refused.
    """
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
            layer.synchronized = True
            layer.get_config = _unsynchronized_config(layer)


def _unsynchronized_config(layer):
    def get_config():
        return {**type(layer).get_config(layer), "synchronized": False}

    return get_config


def build_before_fit(model, dataset):
    """Builds `model` (compiled, under `MirroredStrategy`) from `dataset`'s element spec.

    Keras 3 (3.15 here) builds a model under a `tf.distribute` strategy when `fit` or
    `evaluate` starts by taking a batch from the data (`_maybe_symbolic_build` in
    keras/src/backend/tensorflow/trainer.py) and averaging its per-replica values. That fails
    when the global batch splits unevenly, 23 over 2 replicas being 12 + 11 ("Inputs to
    operation AddN ... must have the same size and shape"); it also drops that batch from the
    run (one device trains on it), and on a validation set read with `validation_steps` it
    takes a batch the evaluation then misses (End of sequence). The build only needs shapes
    and dtypes, which the dataset's element spec has; built here, `fit` has nothing to take.
    """
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=dataset.element_spec)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
