"""The deep content-user embedding model (DCUE) of Lee, Lee, Park, Park, Nam, "Deep Content-User
Embedding Model for Music Recommendation", DLRS 2018 (arXiv:1807.06786), as the authors' code
builds it (jongpillee/deep-content-user @0e57b68, `model.py`).

A user and a song meet in one 256-d space. The user branch is an embedding of the user's index
(300 wide) → ReLU → Dense(300) → ReLU → Dense(256). The audio branch takes 130-frame log-mel
excerpts: Conv(128, 4) → ReLU → MaxPool(4) → Conv(256, 4) → ReLU → MaxPool(4) → Conv(256, 4) →
ReLU → MaxPool(4) → Conv(256, 2) → ReLU → MaxPool(2) → Conv(256, 1) → ReLU → global average →
Dense(256); convolutions with a bias, He-uniform, no batch normalisation, no regulariser. The
score of a (user, song) pair is the cosine of the two embeddings, trained with a hinge loss
(margin 0.2) that ranks a song the user played above 20 songs they did not, so a song nobody
has played yet (cold start) still gets an embedding from its audio alone.

Variants (`variant`):

- "basic": the above (`model_basic`).
- "multi": the authors' `model_multi`: five levels, each scored and trained on its own (five
  outputs, five hinge losses summed): level "embedding" is the Dense(256) song embedding, levels
  "conv5", "conv4", "conv3", "conv2" the global average of those convolutions' outputs before
  their ReLU (the authors' `output_1` … `output_5`). Each level has its own user MLP (Dense(300)
  → ReLU → Dense(256)) on the shared, ReLU'd user embedding.
- "multi_mean": this package's earlier multi-level model, kept as an option: Dense(256) heads on
  the global average of conv3, conv4 and conv5 (after ReLU and pooling), one shared user hidden
  layer with a head per level, every level L2-normalised and concatenated into one vector, so
  one score (the mean of the per-level cosines) and one loss.

The audio branch takes log-mel excerpts (`LogMelSpectrogram`'s values, standardised inside the
model), as the authors trained on pre-computed mel spectrograms: a training step scores 1 + 20
songs for each user, and computing their spectrograms once per song keeps that affordable.
`DCUE.waveform_encoder` puts the front end in front of the song branch for raw audio.
"""

import keras
from keras import ops

from keras_samplecnn.layers import LogMelSpectrogram
from keras_samplecnn.layers.conv1d import Conv1D
from keras_samplecnn.layers.mel import LEGACY_MODEL_FRONTEND, check_options
from keras_samplecnn.layers.sample_conv import PACKAGE
from keras_samplecnn.models.artist import ArtistHingeLoss

DLRS2018 = "Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786"
AUTHORS_CODE = "jongpillee/deep-content-user @0e57b68"
# Kernel and pooling of the five convolutions (model.py: conv1 … conv5, MP1 … MP4).
KERNELS, POOLS = (4, 4, 4, 2, 1), (4, 4, 4, 2, None)
# model.py: Conv1D(128, …) then Conv1D(args.dim_embedding = 256, …) four times.
AUTHORS_FILTERS = (128, 256, 256, 256, 256)
# The levels each variant scores, in the authors' output order (output_1 … output_5).
VARIANTS = {
    "basic": ("embedding",),
    "multi": ("embedding", "conv5", "conv4", "conv3", "conv2"),
    "multi_mean": ("conv3", "conv4", "conv5"),
}
MARGIN = 0.2
NUM_NEGATIVES = 20


def _check(num_users, num_negatives, num_frames, variant, hop_length, mel_std, conv_filters):
    if num_users < 1 or num_negatives < 1:
        raise ValueError(f"need num_users >= 1 and num_negatives >= 1, got {num_users}, {num_negatives}")
    if num_frames < 128:
        raise ValueError(f"num_frames must be at least 128 (4·4·4·2 poolings to one frame), got {num_frames}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
    if not mel_std > 0 or hop_length < 1:
        raise ValueError(f"need mel_std > 0 and hop_length >= 1, got {mel_std}, {hop_length}")
    if len(conv_filters) != len(KERNELS) or min(conv_filters) < 1:
        raise ValueError(f"conv_filters must be {len(KERNELS)} positive widths, got {list(conv_filters)}")


def _joined(embeddings, name):
    """L2-normalise each level's embedding and concatenate them (cosine = mean over levels)."""
    normalised = [
        keras.layers.UnitNormalization(dtype="float32", name=f"{name}_unit{i}")(e) for i, e in enumerate(embeddings)
    ]
    # Scaled by 1/sqrt(levels) so the joined vector has unit norm too.
    joined = keras.layers.Concatenate(dtype="float32", name=f"{name}_levels")(normalised)
    return keras.layers.Rescaling(len(normalised) ** -0.5, dtype="float32", name=name)(joined)


def song_encoder(num_frames, num_mel_bins, mel_mean, mel_std, variant, conv_filters, embedding_dim, l2, dtype):
    """Log-mel excerpt `(frames, bands)` → the song embedding of each level of `variant` (one
    tensor for "basic" and "multi_mean", a list of five for "multi"): a `keras.Model` whose
    layers are named `mel_standardize`, `conv1` … `conv5` (the convolutions, before ReLU),
    `song_embedding` (the Dense) and `level_conv*` (a level's global average)."""
    mel = keras.Input((num_frames, num_mel_bins), name="mel")
    x = keras.layers.Rescaling(1.0 / mel_std, offset=-mel_mean / mel_std, dtype=dtype, name="mel_standardize")(mel)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    before_relu, after_block = {}, {}
    for index, (filters, kernel, pool) in enumerate(zip(conv_filters, KERNELS, POOLS), start=1):
        name = f"conv{index}"
        x = before_relu[name] = Conv1D(filters, kernel, padding="same", kernel_initializer="he_uniform",
                                       kernel_regularizer=regularizer, dtype=dtype, name=name)(x)  # fmt: skip
        x = keras.layers.ReLU(dtype=dtype, name=f"relu{index}")(x)
        if pool:
            x = keras.layers.MaxPooling1D(pool, dtype=dtype, name=f"pool{index}")(x)
        after_block[name] = x
    if variant == "multi_mean":
        heads = []
        for level in VARIANTS[variant]:
            pooled = keras.layers.GlobalAveragePooling1D(dtype=dtype, name=f"level_{level}")(after_block[level])
            heads.append(keras.layers.Dense(embedding_dim, dtype=dtype, name=f"song_head_{level}")(pooled))
        return keras.Model(mel, _joined(heads, "song_embedding_levels"), name="song_encoder")
    pooled = keras.layers.GlobalAveragePooling1D(dtype=dtype, name="song_average")(x)
    outputs = [keras.layers.Dense(embedding_dim, dtype=dtype, name="song_embedding")(pooled)]
    # model_multi: the global average of conv5 … conv2 before their ReLU (`pos_item_conv5_avg`, …).
    outputs += [keras.layers.GlobalAveragePooling1D(dtype=dtype, name=f"level_{level}")(before_relu[level])
                for level in VARIANTS[variant][1:]]  # fmt: skip
    return keras.Model(mel, outputs if len(outputs) > 1 else outputs[0], name="song_encoder")


def user_encoder(num_users, user_dim, variant, widths, user_relu, dtype):
    """User index → the user embedding of each level (one tensor, or a list for "multi"):
    Embedding(user_dim) → ReLU (`user_relu`) → per level Dense(user_dim, ReLU) → Dense(width).
    "multi_mean" shares one hidden layer between its heads and joins them as the song side."""
    user = keras.Input((), dtype="int32", name="user")
    x = keras.layers.Embedding(num_users, user_dim, dtype=dtype, name="user_table")(user)
    if user_relu:
        x = keras.layers.ReLU(dtype=dtype, name="user_table_relu")(x)
    levels = VARIANTS[variant]
    if variant == "multi_mean":
        hidden = keras.layers.Dense(user_dim, activation="relu", dtype=dtype, name="user_hidden")(x)
        heads = [keras.layers.Dense(width, dtype=dtype, name=f"user_head_{level}")(hidden)
                 for level, width in zip(levels, widths)]  # fmt: skip
        return keras.Model(user, _joined(heads, "user_embedding_levels"), name="user_encoder")
    heads = []
    for level, width in zip(levels, widths):
        suffix = "" if level == "embedding" else f"_{level}"
        hidden = keras.layers.Dense(user_dim, activation="relu", dtype=dtype, name=f"user_hidden{suffix}")(x)
        heads.append(keras.layers.Dense(width, dtype=dtype, name=f"user_embedding{suffix}")(hidden))
    return keras.Model(user, heads if len(heads) > 1 else heads[0], name="user_encoder")


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
    output `(b, 1 + N)` cosine scores, the played song first, to train with `dcue_loss()`: one
    such output per level (`levels`), a list of five for "multi".

    The defaults are the authors' (jongpillee/deep-content-user @0e57b68 `model.py`, `train.py`);
    `conv_filters`, `l2`, `user_relu` and `variant="multi_mean"` choose otherwise.

    Args:
        num_users: rows of the user table (default `len(users)`).
        num_negatives: N, songs the user did not play per example (`--N-negs` 20).
        variant: "basic", "multi" (the authors' five levels) or "multi_mean" (see the module).
        num_frames: mel frames per excerpt (`--num-frame` 130, about 3 s at 22,050 Hz, hop 512).
        sample_rate, fft_length, hop_length, num_mel_bins: the log-mel front end
            (`LogMelSpectrogram`), for `waveform_encoder` and for computing song spectrograms.
        mel_mean, mel_std: standardisation of the log-mel values (a training set's statistics;
            the authors' `--mel-mean 0.2262 --mel-std 0.2579` hold for their MSD previews only).
        user_dim: width of the user table and of each user hidden layer (300).
        embedding_dim: width of the song and user embeddings (`--dim-embedding` 256).
        conv_filters: widths of conv1 … conv5 (128 then `dim_embedding` = 256 four times).
        l2: L2 penalty of the conv kernels (0: the authors' DCUE has no regulariser).
        user_relu: ReLU on the user table's output (`user_activ1`, True).
        users: optional user ids in index order, saved with the model (for `samplecnn recommend`).
        mel_scale, mel_norm, mel_power: the front end's `mel_scale`, `norm` and `power`; the
            defaults ("slaney", "slaney", 1: Slaney-scale, area-normalised filters on the
            magnitude STFT) are the authors' (`mp3s_to_mel.py`).
        **kwargs: `name`, `dtype` (a dtype policy) and other `keras.Model` arguments.

    Attributes:
        song_encoder: log-mel excerpt → the levels' song embeddings (one tensor or a list).
        user_encoder: user index → the levels' user embeddings.
        levels: the level names, in output order.
        waveform_encoder: raw audio excerpt → the first level's song embedding (made on each access).

    Example:
    >>> model = DCUE(num_users=5, num_negatives=3)
    >>> tuple(model.song_encoder(keras.ops.zeros((2, 130, 128))).shape)
    (2, 256)

    Reference: Lee, Lee, Park, Park, Nam, "Deep Content-User Embedding Model for Music
    Recommendation", DLRS 2018 (arXiv:1807.06786); code jongpillee/deep-content-user @0e57b68.
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
        conv_filters=AUTHORS_FILTERS,
        l2=0.0,
        user_relu=True,
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
        conv_filters = tuple(int(f) for f in conv_filters)
        _check(num_users, num_negatives, num_frames, variant, hop_length, mel_std, conv_filters)
        check_options(mel_scale, mel_norm, mel_power)  # now, not at the first `mel_frontend()`
        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = keras.dtype_policies.deserialize(dtype)
        levels = VARIANTS[variant]
        widths = [embedding_dim if level == "embedding" or variant == "multi_mean"
                  else conv_filters[int(level[-1]) - 1] for level in levels]  # fmt: skip
        songs = song_encoder(num_frames, num_mel_bins, float(mel_mean), float(mel_std), variant, conv_filters,
                             embedding_dim, l2, dtype)  # fmt: skip
        people = user_encoder(num_users, user_dim, variant, widths, user_relu, dtype)
        user = keras.Input((), dtype="int32", name="user")
        positive = keras.Input((num_frames, num_mel_bins), name="positive")
        negatives = keras.Input((num_negatives, num_frames, num_mel_bins), name="negatives")
        every_song = StackSongs(dtype=dtype, name="stack_songs")([positive, negatives])
        user_out, song_out = people(user), songs(every_song)
        if variant == "multi":
            scores = [UserSongScores(1 + num_negatives, dtype="float32", name=f"scores_{level}")([u, s])
                      for level, u, s in zip(levels, user_out, song_out)]  # fmt: skip
        else:
            scores = UserSongScores(1 + num_negatives, dtype="float32", name="scores")([user_out, song_out])
        super().__init__(inputs={"user": user, "positive": positive, "negatives": negatives}, outputs=scores,
                         **kwargs)  # fmt: skip
        self.policy = None if dtype is None else keras.dtype_policies.get(dtype)
        self.num_users, self.num_negatives, self.variant, self.users = num_users, num_negatives, variant, users
        self.num_frames, self.num_mel_bins = num_frames, num_mel_bins
        self.sample_rate, self.fft_length, self.hop_length = sample_rate, fft_length, hop_length
        self.mel_mean, self.mel_std = float(mel_mean), float(mel_std)
        self.mel_scale, self.mel_norm, self.mel_power = mel_scale, mel_norm, mel_power
        self.user_dim, self.embedding_dim, self.l2 = user_dim, embedding_dim, float(l2)
        self.conv_filters, self.user_relu = conv_filters, bool(user_relu)
        self.level_widths = tuple(widths)
        self.input_length = (num_frames - 1) * hop_length

    @property
    def song_encoder(self):
        return self.get_layer("song_encoder")

    @property
    def user_encoder(self):
        return self.get_layer("user_encoder")

    @property
    def levels(self):
        """The level names, in the order of the outputs ("embedding", "conv5", … for "multi";
        one joined level, "mean", for "multi_mean")."""
        return ("mean",) if self.variant == "multi_mean" else VARIANTS[self.variant]

    @property
    def embedding_width(self):
        """Width of the first level's song and user embeddings (all levels joined for "multi_mean")."""
        return self.embedding_dim * 3 if self.variant == "multi_mean" else self.level_widths[0]

    def mel_frontend(self):
        """A `LogMelSpectrogram` with this model's settings: waveform → what the song branch takes."""
        return LogMelSpectrogram(sample_rate=self.sample_rate, fft_length=self.fft_length,
                                 hop_length=self.hop_length, num_mel_bins=self.num_mel_bins, mel_scale=self.mel_scale,
                                 norm=self.mel_norm, power=self.mel_power, name="mel")  # fmt: skip

    @property
    def waveform_encoder(self):
        """Waveform `(b, input_length)` → the first level's song embedding (the Dense song
        embedding, or the joined levels of "multi_mean"), sharing the song branch's weights."""
        waveform = keras.Input((self.input_length,), name="waveform")
        songs = self.song_encoder(self.mel_frontend()(waveform))
        songs = songs[0] if isinstance(songs, (list, tuple)) else songs
        return keras.Model(waveform, songs, name=f"{self.name}_waveform_encoder")

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
            "conv_filters": list(self.conv_filters),
            "l2": self.l2,
            "user_relu": self.user_relu,
            "users": self.users,
            "mel_scale": self.mel_scale,
            "mel_norm": self.mel_norm,
            "mel_power": self.mel_power,
        }

    @classmethod
    def from_config(cls, config):
        if "conv_filters" not in config:
            raise ValueError(
                "this DCUE model was saved by an earlier keras_samplecnn, whose DCUE was not the authors' "
                "(SampleConv blocks of 128 filters, an L2 penalty, no ReLU on the user table, a 3-level "
                "'multi'); its weights do not fit today's layers. Train it again with `python recipes/dcue.py` "
                "(model.conv_filters, model.l2, model.user_relu and variant 'multi_mean' give that "
                "architecture back)"
            )
        # Saved before the front-end options existed: HTK, unit peaks, power.
        return cls(**{**LEGACY_MODEL_FRONTEND, **config})


def dcue_loss(margin=MARGIN, reduction="sum"):
    """The DCUE hinge loss: per example, the sum over its negatives of `max(0, margin - s_pos +
    s_neg)` (`ArtistHingeLoss`), summed over the batch as the authors' `train.py` does
    (`K.sum(K.maximum(0., args.margin - y_pos + y_neg))`); `reduction="sum_over_batch_size"`
    averages over the batch instead (a step 1/batch as large).
    """
    return ArtistHingeLoss(margin=margin, reduction=reduction, name="dcue_hinge")
