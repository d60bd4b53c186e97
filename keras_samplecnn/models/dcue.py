"""The deep content-user embedding model (DCUE) of Lee, Lee, Park, Park, Nam, "Deep Content-User
Embedding Model for Music Recommendation", DLRS 2018 (arXiv:1807.06786).

A user and a song meet in one 256-d space: a user branch (an embedding of the user's index, 300
wide, then Dense(300) and Dense(256)) and an audio branch (the ISMIR 2018 artist model's mel CNN,
`keras_samplecnn.models.artist`, without batch normalisation, then Dense(256)); the score of a
(user, song) pair is the cosine of the two embeddings. Trained end to end with a hinge loss
(margin 0.2) that ranks a song the user played above 20 songs they did not, so a song nobody
has played yet (cold start) still gets an embedding from its audio alone.

The "multi" variant puts a Dense(256) head on the global average of the last three conv layers
(conv3, conv4, conv5) and gives the user branch one Dense(256) head per level; each level's
embedding is L2-normalised and the levels are concatenated, so the cosine of two concatenations
is the mean of the per-level cosines: one vector per song or user, for search and serving as
for the basic model.

The audio branch takes log-mel excerpts, 130 frames of 128 bands (`LogMelSpectrogram`'s values,
standardised inside the model), as the authors trained on pre-computed mel spectrograms: a
training step scores 1 + 20 songs for each user, and computing their spectrograms once per
song, not once per step, keeps that affordable. `DCUE.waveform_encoder` puts the front end in
front of the song branch for raw audio (tagging files, `samplecnn embed`, `samplecnn recommend`).
"""

import keras
from keras import ops

from keras_samplecnn.layers import LogMelSpectrogram, SampleConv
from keras_samplecnn.layers.mel import LEGACY_MODEL_FRONTEND, check_options
from keras_samplecnn.layers.sample_conv import PACKAGE
from keras_samplecnn.models.artist import ENCODER_LAYERS, ArtistHingeLoss

DLRS2018 = "Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786"
# The conv layers whose global average feeds a song head, per variant.
VARIANTS = {"basic": ("conv5",), "multi": ("conv3", "conv4", "conv5")}
MARGIN = 0.2
NUM_NEGATIVES = 20


def _check(num_users, num_negatives, num_frames, variant, hop_length, mel_std):
    if num_users < 1 or num_negatives < 1:
        raise ValueError(f"need num_users >= 1 and num_negatives >= 1, got {num_users}, {num_negatives}")
    if num_frames < 128:
        raise ValueError(f"num_frames must be at least 128 (4·4·4·2 poolings to one frame), got {num_frames}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
    if not mel_std > 0 or hop_length < 1:
        raise ValueError(f"need mel_std > 0 and hop_length >= 1, got {mel_std}, {hop_length}")


def _joined(embeddings, dtype, name):
    """L2-normalise each level's embedding and concatenate them (cosine = mean over levels)."""
    normalised = [
        keras.layers.UnitNormalization(dtype="float32", name=f"{name}_unit{i}")(e) for i, e in enumerate(embeddings)
    ]
    if len(normalised) == 1:
        return normalised[0]
    # Scaled by 1/sqrt(levels) so the joined vector has unit norm too.
    joined = keras.layers.Concatenate(dtype="float32", name=f"{name}_levels")(normalised)
    return keras.layers.Rescaling(len(normalised) ** -0.5, dtype="float32", name=name)(joined)


def song_encoder(num_frames, num_mel_bins, mel_mean, mel_std, levels, embedding_dim, l2, dtype):
    """Log-mel excerpt `(frames, bands)` → the song embedding (unit norm): a `keras.Model` whose
    layers are named `mel_standardize`, `conv1` … `conv5`, `level_conv*`, `song_head_conv*`."""
    mel = keras.Input((num_frames, num_mel_bins), name="mel")
    x = keras.layers.Rescaling(1.0 / mel_std, offset=-mel_mean / mel_std, dtype=dtype, name="mel_standardize")(mel)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    heads = []
    for index, (filters, kernel, pool) in enumerate(ENCODER_LAYERS, start=1):
        name = f"conv{index}"
        x = SampleConv(filters, kernel_size=kernel, pool_size=pool, kernel_regularizer=regularizer,
                       batch_norm=False, dtype=dtype, name=name)(x)  # fmt: skip
        if name in levels:
            pooled = keras.layers.GlobalAveragePooling1D(dtype=dtype, name=f"level_{name}")(x)
            heads.append(keras.layers.Dense(embedding_dim, dtype=dtype, name=f"song_head_{name}")(pooled))
    return keras.Model(mel, _joined(heads, dtype, "song_embedding"), name="song_encoder")


def user_encoder(num_users, user_dim, levels, embedding_dim, dtype):
    """User index → the user embedding (unit norm): Embedding(user_dim) → Dense(user_dim, ReLU)
    → one Dense(embedding_dim) head per level."""
    user = keras.Input((), dtype="int32", name="user")
    x = keras.layers.Embedding(num_users, user_dim, dtype=dtype, name="user_table")(user)
    x = keras.layers.Dense(user_dim, activation="relu", dtype=dtype, name="user_hidden")(x)
    heads = [keras.layers.Dense(embedding_dim, dtype=dtype, name=f"user_head_{level}")(x) for level in levels]
    return keras.Model(user, _joined(heads, dtype, "user_embedding"), name="user_encoder")


@keras.saving.register_keras_serializable(package=PACKAGE)
class StackSongs(keras.layers.Layer):
    """`[positive (b, F, M), negatives (b, N, F, M)]` → `(b·(1 + N), F, M)`, each example's songs
    together, the positive first: one pass of the song branch over every song of a batch (a
    larger convolution batch than a pass per song slot)."""

    def call(self, inputs):
        positive, negatives = inputs
        songs = ops.concatenate([ops.expand_dims(positive, 1), negatives], axis=1)
        return ops.reshape(songs, (-1, *songs.shape[2:]))

    def compute_output_shape(self, input_shape):
        return (None, *input_shape[0][1:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class UserSongScores(keras.layers.Layer):
    """Cosine scores `(b, S)` of user embeddings `(b, D)` against song embeddings `(b·S, D)`
    (`StackSongs`' order), with S = `songs_per_user`."""

    def __init__(self, songs_per_user, **kwargs):
        super().__init__(**kwargs)
        self.songs_per_user = songs_per_user

    def call(self, inputs):
        user, songs = inputs
        user = ops.normalize(ops.cast(user, "float32"), axis=-1)
        songs = ops.normalize(ops.cast(songs, "float32"), axis=-1)
        songs = ops.reshape(songs, (-1, self.songs_per_user, songs.shape[-1]))
        return ops.einsum("bd,bsd->bs", user, songs)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.songs_per_user)

    def get_config(self):
        return {**super().get_config(), "songs_per_user": self.songs_per_user}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DCUE(keras.Model):
    """The deep content-user embedding model: a user scored against one song they played and
    `num_negatives` songs they did not.

    Inputs `{"user": (b,) int32, "positive": (b, F, M), "negatives": (b, N, F, M)}`, the songs
    as log-mel excerpts (F = `num_frames`, M = `num_mel_bins`, values of `LogMelSpectrogram`);
    output `(b, 1 + N)` cosine scores, the played song first, to train with `dcue_loss()`.

    Args:
        num_users: rows of the user table (default `len(users)`).
        num_negatives: N, songs the user did not play per example (20 in the paper).
        variant: "basic" (one head, on conv5) or "multi" (heads on conv3, conv4 and conv5).
        num_frames: mel frames per excerpt (130, about 3 s at 22,050 Hz and hop 512).
        sample_rate, fft_length, hop_length, num_mel_bins: the log-mel front end
            (`LogMelSpectrogram`), for `waveform_encoder` and for computing song spectrograms.
        mel_scale, mel_norm, mel_power: the front end's `mel_scale`, `norm` and `power`; the
            defaults ("slaney", "slaney", 1: Slaney-scale, area-normalised filters on the
            magnitude STFT) are the authors' (jongpillee/deep-content-user @0e57b68
            `mp3s_to_mel.py`, the ISMIR 2018 artist code's front end).
        mel_mean, mel_std: standardisation of the log-mel values (a training set's statistics).
        user_dim: width of the user table and its hidden layer (300).
        embedding_dim: width of each level's embedding (256).
        l2: L2 penalty of the conv kernels (1e-5, as the artist model).
        users: optional user ids in index order, saved with the model (for `samplecnn recommend`).
        **kwargs: `name`, `dtype` (a dtype policy) and other `keras.Model` arguments.

    Attributes:
        song_encoder: log-mel excerpt → song embedding (unit norm; 256 or 3·256 wide).
        user_encoder: user index → user embedding (unit norm).
        waveform_encoder: raw audio excerpt → song embedding (made on each access).

    Example:
    >>> model = DCUE(num_users=5, num_negatives=3)
    >>> tuple(model.song_encoder(keras.ops.zeros((2, 130, 128))).shape)
    (2, 256)

    Reference: Lee, Lee, Park, Park, Nam, "Deep Content-User Embedding Model for Music
    Recommendation", DLRS 2018 (arXiv:1807.06786); the audio branch is jongpillee/ismir2018-artist
    `model.py`'s encoder (`keras_samplecnn.models.artist`).
    """

    def __init__(
        self,
        num_users=None,
        num_negatives=NUM_NEGATIVES,
        variant="basic",
        num_frames=130,
        sample_rate=22050,
        fft_length=1024,
        hop_length=512,
        num_mel_bins=128,
        mel_mean=0.0,
        mel_std=1.0,
        user_dim=300,
        embedding_dim=256,
        l2=1e-5,
        users=None,
        mel_scale="slaney",
        mel_norm="slaney",
        mel_power=1.0,
        **kwargs,
    ):
        if num_users is None:
            if not users:
                raise ValueError("give num_users or the users' ids")
            num_users = len(users)
        if users is not None:
            users = [str(u) for u in users]
            if len(users) != num_users:
                raise ValueError(f"got {len(users)} user ids for num_users={num_users}")
        _check(num_users, num_negatives, num_frames, variant, hop_length, mel_std)
        check_options(mel_scale, mel_norm, mel_power)  # now, not at the first `mel_frontend()`
        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = keras.dtype_policies.deserialize(dtype)
        levels = VARIANTS[variant]
        songs = song_encoder(num_frames, num_mel_bins, float(mel_mean), float(mel_std), levels, embedding_dim, l2,
                             dtype)  # fmt: skip
        people = user_encoder(num_users, user_dim, levels, embedding_dim, dtype)
        user = keras.Input((), dtype="int32", name="user")
        positive = keras.Input((num_frames, num_mel_bins), name="positive")
        negatives = keras.Input((num_negatives, num_frames, num_mel_bins), name="negatives")
        every_song = StackSongs(dtype=dtype, name="stack_songs")([positive, negatives])
        scores = UserSongScores(1 + num_negatives, dtype="float32", name="scores")([people(user), songs(every_song)])
        super().__init__(inputs={"user": user, "positive": positive, "negatives": negatives}, outputs=scores,
                         **kwargs)  # fmt: skip
        self.policy = None if dtype is None else keras.dtype_policies.get(dtype)
        self.num_users, self.num_negatives, self.variant, self.users = num_users, num_negatives, variant, users
        self.num_frames, self.num_mel_bins = num_frames, num_mel_bins
        self.sample_rate, self.fft_length, self.hop_length = sample_rate, fft_length, hop_length
        self.mel_mean, self.mel_std = float(mel_mean), float(mel_std)
        self.mel_scale, self.mel_norm, self.mel_power = mel_scale, mel_norm, mel_power
        self.user_dim, self.embedding_dim, self.l2 = user_dim, embedding_dim, l2
        self.input_length = (num_frames - 1) * hop_length

    @property
    def song_encoder(self):
        return self.get_layer("song_encoder")

    @property
    def user_encoder(self):
        return self.get_layer("user_encoder")

    @property
    def embedding_width(self):
        """Width of the song and user embeddings: `embedding_dim` per level."""
        return self.embedding_dim * len(VARIANTS[self.variant])

    def mel_frontend(self):
        """A `LogMelSpectrogram` with this model's settings: waveform → what the song branch takes."""
        return LogMelSpectrogram(sample_rate=self.sample_rate, fft_length=self.fft_length,
                                 hop_length=self.hop_length, num_mel_bins=self.num_mel_bins, mel_scale=self.mel_scale,
                                 norm=self.mel_norm, power=self.mel_power, name="mel")  # fmt: skip

    @property
    def waveform_encoder(self):
        """Waveform `(b, input_length)` → song embedding, sharing the song branch's weights."""
        waveform = keras.Input((self.input_length,), name="waveform")
        mel = self.mel_frontend()(waveform)
        return keras.Model(waveform, self.song_encoder(mel), name=f"{self.name}_waveform_encoder")

    def user_index(self, user_id):
        """The row of a user id (from `users`); a clear error for an unknown user."""
        if self.users is None:
            raise ValueError("this model was saved without user ids; give the user's index instead")
        try:
            return self.users.index(str(user_id))
        except ValueError:
            raise KeyError(f"unknown user {user_id!r}: not among the model's {self.num_users} users") from None

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": None if self.policy is None else keras.dtype_policies.serialize(self.policy),
            "num_users": self.num_users,
            "num_negatives": self.num_negatives,
            "variant": self.variant,
            "num_frames": self.num_frames,
            "sample_rate": self.sample_rate,
            "fft_length": self.fft_length,
            "hop_length": self.hop_length,
            "num_mel_bins": self.num_mel_bins,
            "mel_mean": self.mel_mean,
            "mel_std": self.mel_std,
            "user_dim": self.user_dim,
            "embedding_dim": self.embedding_dim,
            "l2": self.l2,
            "users": self.users,
            "mel_scale": self.mel_scale,
            "mel_norm": self.mel_norm,
            "mel_power": self.mel_power,
        }

    @classmethod
    def from_config(cls, config):
        # Saved before the front-end options existed: HTK, unit peaks, power.
        return cls(**{**LEGACY_MODEL_FRONTEND, **config})


def dcue_loss(margin=MARGIN):
    """The DCUE hinge loss: per example, the sum over its negatives of `max(0, margin - s_pos +
    s_neg)` (`ArtistHingeLoss`), averaged over the batch.

    The mean over the batch (not the artist code's sum) keeps the paper's SGD learning rate of
    0.2 independent of the batch size.
    """
    return ArtistHingeLoss(margin=margin, reduction="sum_over_batch_size", name="dcue_hinge")


def song_scores(user_embeddings, song_embeddings):
    """Cosine scores `(users, songs)` of unit-norm user and song embeddings."""
    return ops.matmul(ops.convert_to_tensor(user_embeddings), ops.transpose(ops.convert_to_tensor(song_embeddings)))
