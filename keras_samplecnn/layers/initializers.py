"""The convolution initializer of the JSTSP 2019 authors' code (`taejun_uniform`).

Kim, Lee, Nam, "Comparison and Analysis of SampleCNN Architectures for Audio
Classification", IEEE JSTSP 13(2), 2019; code tae-jun/sampleaudio @30bd5ed,
`lib/initialization.py` (`AudioVarianceScaling`, `taejun_uniform`) and `lib/model.py`
(which convolution gets which scale).
"""

import math
import random

import keras

PACKAGE = "keras_samplecnn"  # as in sample_conv, which imports this module


@keras.saving.register_keras_serializable(package=PACKAGE)
class TaejunUniform(keras.initializers.Initializer):
    """Uniform variance scaling with the fan-in of tae-jun/sampleaudio, `k · C_in²`.

    For a Conv1D kernel of shape `(k, C_in, C_out)`, the authors' `_compute_audio_fans`
    (tae-jun/sampleaudio @30bd5ed, `lib/initialization.py`) computes

        receptive_field_size = k * C_in   # their comment: it should have been k
        fan_in = C_in * receptive_field_size = k * C_in**2

    and `AudioVarianceScaling(scale, mode="fan_in", distribution="uniform")` draws from
    U(-limit, limit) with

        limit = sqrt(3 * (scale / max(1, fan_in)))

    (`scale /= max(1., fan_in)`, then `limit = math.sqrt(3.0 * scale)`). This class
    reproduces that expression in that order. With the flagged fan-in the variance is
    `scale / (k · C_in²)`, C_in times smaller than He uniform's `2 / (k · C_in)` at scale 2,
    except for the stem, whose C_in is 1. `taejun_uniform(scale=2., seed=None)` is their
    factory; their `lib/model.py` uses `taejun_uniform()` (scale 2) for every block
    convolution and `taejun_uniform(scale=1.)` for the first, strided convolution
    (`conv0`); the 1×1 shortcut convolutions and all dense layers use Glorot uniform.

    By name: `"taejun_uniform"` (scale 2) wherever the package takes a kernel initializer
    (`SampleCNN(kernel_initializer=...)`, `SampleConv`, `ResBlock`; resolved by
    `keras_samplecnn.layers.initializers.get`), or
    `{"class_name": "taejun_uniform", "config": {"scale": 1.0}}`.

    Args:
        scale: the variance scale (2.0, their `taejun_uniform` default; 1.0 for their stem).
            Must be positive, as theirs checks.
        seed: None, an int or a `keras.random.SeedGenerator`, as Keras's own random
            initializers take it. Theirs passes `seed=None` to `tf.random_uniform`, a fresh
            draw for every variable. Here, as in Keras 3, an initializer with an int or None
            seed returns the same values on every call with the same shape: None draws one
            int seed when the initializer is made (from Python's `random`, so
            `keras.utils.set_random_seed` makes it reproducible), and every layer that gets
            the name resolves its own instance, hence its own seed.

    Raises:
        ValueError: on a non-positive `scale`, or (when called) a shape that is not a
            Conv1D kernel `(k, C_in, C_out)` (theirs asserts `len(shape) == 3`).

    Example:
    >>> init = TaejunUniform(seed=0)
    >>> round(init.limit((3, 128, 128)), 6)  # sqrt(3 * 2 / (3 * 128 * 128))
    0.011049
    >>> tuple(init((3, 128, 128)).shape)
    (3, 128, 128)
    """

    def __init__(self, scale=2.0, seed=None):
        if not scale > 0.0:
            raise ValueError(f"`scale` must be a positive float, got {scale!r}")
        self.scale = float(scale)
        self._init_seed = seed
        if seed is None:
            seed = random.randint(1, int(1e9))  # what Keras's random initializers do with None
        elif isinstance(seed, dict):
            seed = keras.saving.deserialize_keras_object(seed)
        elif not isinstance(seed, (int, keras.random.SeedGenerator)):
            raise ValueError(f"`seed` must be None, an int or a keras.random.SeedGenerator, got {seed!r}")
        self.seed = seed

    @staticmethod
    def fan_in(shape):
        """The authors' fan-in of a Conv1D kernel `(k, C_in, C_out)`: `C_in · (k · C_in)`."""
        if len(shape) != 3:
            raise ValueError(
                f"TaejunUniform is for Conv1D kernels (k, C_in, C_out), got shape {tuple(shape)}"
            )
        len_filter, in_channels, _ = (int(d) for d in shape)
        receptive_field_size = len_filter * in_channels  # the authors' flagged line, kept
        return in_channels * receptive_field_size

    def limit(self, shape):
        """The bound of the uniform distribution for `shape`, as the authors compute it."""
        scale = self.scale / max(1.0, self.fan_in(shape))
        return math.sqrt(3.0 * scale)

    def __call__(self, shape, dtype=None):
        limit = self.limit(shape)
        return keras.random.uniform(shape, minval=-limit, maxval=limit, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"scale": self.scale, "seed": keras.saving.serialize_keras_object(self._init_seed)}


# Names our layers resolve besides Keras's own ("he_uniform", ...).
NAMES = {"taejun_uniform": TaejunUniform, "TaejunUniform": TaejunUniform}


def get(identifier):
    """`keras.initializers.get`, which also knows `"taejun_uniform"`.

    Args:
        identifier: None, a Keras initializer name or config dict, an initializer, or
            `"taejun_uniform"` / `{"class_name": "taejun_uniform", "config": {...}}`.

    Returns:
        An initializer (a new one for a name or config), or None.
    """
    if isinstance(identifier, str) and identifier in NAMES:
        return NAMES[identifier]()
    if isinstance(identifier, dict) and not identifier.get("module"):
        if identifier.get("class_name") in NAMES:  # written by hand; a saved one names its module
            return NAMES[identifier["class_name"]].from_config(dict(identifier.get("config") or {}))
    return keras.initializers.get(identifier)


def to_config(identifier):
    """`identifier` in a form a model's `get_config` can hold (JSON): None, a name or a
    config dict as given, an initializer object serialised. A name is not resolved here
    (the layers that get it do, and raise on an unknown one): resolving draws a seed from
    Python's `random` and would shift every later layer's seed."""
    if identifier is None or isinstance(identifier, (str, dict)):
        return identifier
    return keras.initializers.serialize(get(identifier))
