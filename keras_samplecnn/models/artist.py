"""The artist-label CNN of Park, Lee, Park, Ha, Nam, ISMIR 2018 (arXiv:1710.06648): a 256-d music
feature learned by telling artists apart, with a softmax ("basic") or a Siamese objective.

The encoder follows the authors' code (jongpillee/ismir2018-artist `model.py`): 129 frames of
128 log-mel bands, mel bands as channels, Conv(128, 4) + BN + ReLU + MaxPool(4) three times,
Conv(128, 2) + BN + ReLU + MaxPool(2), Conv(256, 1) + BN + ReLU, global average over time:
the 256-d feature. He-uniform kernels with an L2 penalty of 1e-5. Here the log-mel front end
and its standardisation live inside the model, so every model takes raw audio.
"""

import keras
from keras import ops

from keras_samplecnn.layers import LogMelSpectrogram, SampleConv
from keras_samplecnn.layers.mel import LEGACY_MODEL_FRONTEND
from keras_samplecnn.layers.sample_conv import PACKAGE

ISMIR2018 = "Park, Lee, Park, Ha, Nam, ISMIR 2018, arXiv:1710.06648"
# (filters, kernel, pool) of the five conv layers (jongpillee/ismir2018-artist model.py).
# The Siamese objective's settings (train.py --N-negs 4, --margin 0.4): defaults of the model, its
# loss and the training config's `siamese` section.
NUM_NEGATIVES = 4
MARGIN = 0.4
ENCODER_LAYERS = ((128, 4, 4), (128, 4, 4), (128, 4, 4), (128, 2, 2), (256, 1, None))
# The authors' log-mel statistics of their training set (train.py --mel-mean / --mel-std).
MEL_MEAN, MEL_STD = 0.22620339, 0.25794547


def encoder_graph(
    waveform, *, sample_rate, fft_length, hop_length, num_mel_bins, mel_mean, mel_std, l2, dtype,
    mel_scale="slaney", mel_norm="slaney", mel_power=1.0,
):  # fmt: skip
    """Log-mel → standardisation → the five conv layers → global average: the 256-d feature.

    Layer names: `mel`, `mel_standardize`, `conv1` … `conv5`, `embedding`. The front-end
    defaults are the authors' (`mp3s_to_mel.py`: magnitude STFT, Slaney mel scale,
    area-normalised triangles; see `LogMelSpectrogram`).
    """
    x = LogMelSpectrogram(
        sample_rate=sample_rate, fft_length=fft_length, hop_length=hop_length, num_mel_bins=num_mel_bins,
        mel_scale=mel_scale, norm=mel_norm, power=mel_power, dtype=dtype, name="mel",
    )(waveform)  # fmt: skip
    x = keras.layers.Rescaling(
        1.0 / mel_std, offset=-mel_mean / mel_std, dtype=dtype, name="mel_standardize"
    )(x)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    for index, (filters, kernel, pool) in enumerate(ENCODER_LAYERS, start=1):
        x = SampleConv(filters, kernel_size=kernel, pool_size=pool, kernel_regularizer=regularizer, dtype=dtype,
                       name=f"conv{index}")(x)  # fmt: skip
    return keras.layers.GlobalAveragePooling1D(dtype=dtype, name="embedding")(x)


def _check(num_frames, hop_length, mel_std):
    if num_frames < 128:
        raise ValueError(f"num_frames must be at least 128 (4·4·4·2 poolings to one frame), got {num_frames}")
    if not mel_std > 0 or hop_length < 1:
        raise ValueError(f"need mel_std > 0 and hop_length >= 1, got {mel_std}, {hop_length}")


ENCODER_KEYS = (
    "num_frames",
    "sample_rate",
    "fft_length",
    "hop_length",
    "num_mel_bins",
    "mel_mean",
    "mel_std",
    "l2",
    # The front end's filterbank and spectrum; configs saved before lack them.
    "mel_scale",
    "mel_norm",
    "mel_power",
)


def _encoder_input(kwargs, **encoder):
    """Checks the encoder arguments and pops the dtype from `kwargs`; returns
    `(waveform input, 256-d embedding, dtype, input_length)`."""
    _check(encoder["num_frames"], encoder["hop_length"], encoder["mel_std"])
    dtype = kwargs.pop("dtype", None)
    if isinstance(dtype, dict):
        dtype = keras.dtype_policies.deserialize(dtype)
    input_length = (encoder["num_frames"] - 1) * encoder["hop_length"]
    waveform = keras.Input((input_length,), name="waveform")
    graph = {k: v for k, v in encoder.items() if k != "num_frames"}
    return waveform, encoder_graph(waveform, dtype=dtype, **graph), dtype, input_length


class _EncoderArguments:
    """Storing and serialising the encoder arguments both artist models share."""

    def _store_encoder(self, dtype, input_length, encoder):
        self.policy = None if dtype is None else keras.dtype_policies.get(dtype)
        for key in ENCODER_KEYS:
            setattr(self, key, encoder[key])
        self.mel_mean, self.mel_std = float(self.mel_mean), float(self.mel_std)
        self.input_length = input_length

    def _encoder_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": None if self.policy is None else keras.dtype_policies.serialize(self.policy),
            **{key: getattr(self, key) for key in ENCODER_KEYS},
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class ArtistCNN(_EncoderArguments, keras.Model):
    """The basic artist model: the 256-d encoder and a softmax over artists.

    Waveform `(batch, input_length)` with `input_length = (num_frames - 1) * hop_length`
    (65,536 samples, 2.97 s at 22,050 Hz, for the paper's 129 frames) → log10(1 + 10·mel)
    (FFT 1024, hop 512, 128 bands) → standardised by `mel_mean` / `mel_std` → the encoder
    (`encoder_graph`) → Dense(num_artists, softmax).

    Args:
        num_artists: output classes (defaults to `len(artists)`).
        num_frames: mel frames per excerpt (129).
        sample_rate, fft_length, hop_length, num_mel_bins: the log-mel front end.
        mel_scale, mel_norm, mel_power: the front end's `mel_scale`, `norm` and `power`
            (`LogMelSpectrogram`); the defaults ("slaney", "slaney", 1: Slaney-scale,
            area-normalised filters on the magnitude STFT) are the authors' `mp3s_to_mel.py`.
        mel_mean, mel_std: standardisation of the log-mel values (the authors' training-set
            statistics by default; a converter's manifest can supply others).
        l2: L2 penalty of the conv kernels (1e-5).
        artists: optional artist names, saved with the model.
        **kwargs: `name`, `dtype` (a dtype policy) and other `keras.Model` arguments.

    Attributes:
        input_length, sample_rate: what the model takes.
        encoder: the waveform → 256-d feature part, sharing this model's layers.

    Example:
    >>> model = ArtistCNN(num_artists=10)
    >>> tuple(model.encoder(keras.ops.zeros((2, model.input_length))).shape)
    (2, 256)

    Reference: Park, Lee, Park, Ha, Nam, "Representation Learning of Music Using Artist Labels",
    ISMIR 2018 (arXiv:1710.06648); jongpillee/ismir2018-artist `model.py` (`model_basic`).
    """

    def __init__(
        self,
        num_artists=None,
        num_frames=129,
        sample_rate=22050,
        fft_length=1024,
        hop_length=512,
        num_mel_bins=128,
        mel_mean=MEL_MEAN,
        mel_std=MEL_STD,
        l2=1e-5,
        artists=None,
        mel_scale="slaney",
        mel_norm="slaney",
        mel_power=1.0,
        **kwargs,
    ):
        if num_artists is None:
            if not artists:
                raise ValueError("give num_artists or the artists' names")
            num_artists = len(artists)
        if artists is not None:
            artists = [str(a) for a in artists]
            if len(artists) != num_artists:
                raise ValueError(f"got {len(artists)} artist names for num_artists={num_artists}")
        encoder = dict(num_frames=num_frames, sample_rate=sample_rate, fft_length=fft_length,
                       hop_length=hop_length, num_mel_bins=num_mel_bins, mel_mean=mel_mean, mel_std=mel_std, l2=l2,
                       mel_scale=mel_scale, mel_norm=mel_norm, mel_power=mel_power)  # fmt: skip
        waveform, embedding, dtype, input_length = _encoder_input(kwargs, **encoder)
        # Glorot uniform, Keras' default, as the authors' Dense; float32 for a stable loss.
        outputs = keras.layers.Dense(num_artists, activation="softmax", dtype="float32", name="predictions")(
            embedding
        )
        super().__init__(inputs=waveform, outputs=outputs, **kwargs)
        self._store_encoder(dtype, input_length, encoder)
        self.num_artists, self.artists = num_artists, artists

    # The layers `keras_samplecnn.aggregation` takes features from ("all", "top3"); the paper's
    # transfer feature is `layers="embedding"`, the 256-d average.
    feature_layer_names = ("conv1", "conv2", "conv3", "conv4", "conv5")
    # What `Tagger.embed` and `samplecnn embed` return: the 256-d feature.
    feature_layer_name = "embedding"

    @property
    def tags(self):
        """The artist names (None when not given): the classes `Tagger.tag` names."""
        return self.artists

    @property
    def num_classes(self):
        return self.num_artists

    @property
    def encoder(self):
        """Waveform → the 256-d feature, a model sharing this one's layers (made on each access)."""
        return keras.Model(self.input, self.get_layer("embedding").output, name=f"{self.name}_encoder")

    def get_config(self):
        return {**self._encoder_config(), "num_artists": self.num_artists, "artists": self.artists}

    @classmethod
    def from_config(cls, config):
        # Saved before the front-end options existed: HTK, unit peaks, power.
        return cls(**{**LEGACY_MODEL_FRONTEND, **config})


@keras.saving.register_keras_serializable(package=PACKAGE)
class CosineScores(keras.layers.Layer):
    """Cosine similarity of an anchor embedding with one positive and N negative embeddings.

    Inputs `[anchor (b, D), positive (b, D), negatives (b, N, D)]`; output `(b, 1 + N)`,
    the positive's similarity first (Keras' `dot(..., normalize=True)` in the authors' code).
    """

    def call(self, inputs):
        anchor, positive, negatives = inputs
        anchor = ops.normalize(ops.cast(anchor, "float32"), axis=-1)
        positive = ops.normalize(ops.cast(positive, "float32"), axis=-1)
        negatives = ops.normalize(ops.cast(negatives, "float32"), axis=-1)
        pos = ops.sum(anchor * positive, axis=-1, keepdims=True)
        neg = ops.einsum("bd,bnd->bn", anchor, negatives)
        return ops.concatenate([pos, neg], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1 + input_shape[2][1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class SiameseArtistModel(_EncoderArguments, keras.Model):
    """The Siamese artist model: one shared encoder scores an anchor excerpt against an excerpt
    of the same artist and `num_negatives` excerpts of other artists.

    Inputs `{"anchor": (b, L), "positive": (b, L), "negatives": (b, N, L)}` (waveforms, L =
    `input_length`); output `(b, 1 + N)` cosine similarities, the positive first, to train
    with `ArtistHingeLoss(margin=0.4)`. The encoder is `ArtistCNN`'s (`encoder_graph`).

    Args:
        num_negatives: N, negatives per anchor (4 in the paper).
        num_frames, sample_rate, fft_length, hop_length, num_mel_bins, mel_mean, mel_std, l2:
            as in `ArtistCNN`.
        mel_scale, mel_norm, mel_power: as in `ArtistCNN`.
        **kwargs: `name`, `dtype` and other `keras.Model` arguments.

    Attributes:
        encoder: the shared waveform → 256-d feature model.

    Reference: Park, Lee, Park, Ha, Nam, ISMIR 2018 (arXiv:1710.06648); jongpillee/ismir2018-artist
    `model.py` (`model_siamese`).
    """

    def __init__(
        self,
        num_negatives=NUM_NEGATIVES,
        num_frames=129,
        sample_rate=22050,
        fft_length=1024,
        hop_length=512,
        num_mel_bins=128,
        mel_mean=MEL_MEAN,
        mel_std=MEL_STD,
        l2=1e-5,
        mel_scale="slaney",
        mel_norm="slaney",
        mel_power=1.0,
        **kwargs,
    ):
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        arguments = dict(num_frames=num_frames, sample_rate=sample_rate, fft_length=fft_length,
                         hop_length=hop_length, num_mel_bins=num_mel_bins, mel_mean=mel_mean, mel_std=mel_std, l2=l2,
                         mel_scale=mel_scale, mel_norm=mel_norm, mel_power=mel_power)  # fmt: skip
        waveform, embedding, dtype, input_length = _encoder_input(kwargs, **arguments)
        encoder = keras.Model(waveform, embedding, name="encoder")
        anchor = keras.Input((input_length,), name="anchor")
        positive = keras.Input((input_length,), name="positive")
        negatives = keras.Input((num_negatives, input_length), name="negatives")
        # The negatives go through the same encoder, one excerpt at a time along axis 1.
        negative_embeddings = keras.layers.TimeDistributed(encoder, name="negative_encoder")(negatives)
        scores = CosineScores(dtype=dtype, name="scores")(
            [encoder(anchor), encoder(positive), negative_embeddings]
        )
        super().__init__(inputs={"anchor": anchor, "positive": positive, "negatives": negatives}, outputs=scores,
                         **kwargs)  # fmt: skip
        self._store_encoder(dtype, input_length, arguments)
        self.num_negatives = num_negatives

    feature_layer_names = ArtistCNN.feature_layer_names
    feature_layer_name = ArtistCNN.feature_layer_name

    @property
    def encoder(self):
        """The shared waveform → 256-d feature model."""
        return self.get_layer("encoder")

    def get_config(self):
        return {**self._encoder_config(), "num_negatives": self.num_negatives}

    @classmethod
    def from_config(cls, config):
        # Saved before the front-end options existed: HTK, unit peaks, power.
        return cls(**{**LEGACY_MODEL_FRONTEND, **config})


@keras.saving.register_keras_serializable(package=PACKAGE)
class ArtistHingeLoss(keras.losses.Loss):
    """The Siamese model's hinge loss: for each anchor, sum over its negatives of
    `max(0, margin - s_pos + s_neg)`, with `s` the cosine scores `(b, 1 + N)`, positive first.

    The authors sum over the batch too (`K.sum` in jongpillee/ismir2018-artist `train.py`), so
    the default reduction is "sum"; `reduction="sum_over_batch_size"` gives the mean.

    Args:
        margin: the hinge margin (0.4 in the paper).
        reduction, name: as for any Keras loss.
    """

    def __init__(self, margin=MARGIN, reduction="sum", name="artist_hinge", **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        self.margin = margin

    def call(self, y_true, y_pred):
        del y_true  # the positive is always column 0
        y_pred = ops.cast(y_pred, "float32")
        return ops.sum(ops.relu(self.margin - y_pred[:, :1] + y_pred[:, 1:]), axis=-1)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@keras.saving.register_keras_serializable(package=PACKAGE)
def positive_ranked_first(y_true, y_pred):
    """1 where the positive's score (column 0) beats every negative's, else 0: how often the
    Siamese model picks the anchor's artist (a monitoring metric; the loss is the hinge)."""
    del y_true
    return ops.cast(ops.argmax(y_pred, axis=-1) == 0, "float32")


# The artist models `build()` and the trainer know by name.
ARTIST_MODELS = {"artist_basic": ArtistCNN, "artist_siamese": SiameseArtistModel}


def build_artist_model(name, num_classes=None, tags=None, num_negatives=NUM_NEGATIVES, **arguments):
    """`ArtistCNN` ("artist_basic") or `SiameseArtistModel` ("artist_siamese") by name.

    Args:
        name: a key of `ARTIST_MODELS`.
        num_classes: artists of the softmax (basic model; default `len(tags)`).
        tags: the artist names (basic model).
        num_negatives: negatives per anchor (Siamese model).
        **arguments: the encoder arguments of `ArtistCNN` (num_frames, sample_rate, ..., dtype).

    Returns:
        the model.
    """
    if name not in ARTIST_MODELS:
        raise ValueError(f"unknown artist model {name!r}; expected one of {sorted(ARTIST_MODELS)}")
    if name == "artist_basic":
        return ArtistCNN(num_artists=num_classes, artists=tags, **arguments)
    return SiameseArtistModel(num_negatives=num_negatives, **arguments)
