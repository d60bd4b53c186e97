"""Tagging, taggrams and embeddings for audio files with a trained model."""

import os

import keras
import numpy as np

from keras_samplecnn.audio import load_audio
from keras_samplecnn.models.artist import ArtistCNN, SiameseArtistModel
from keras_samplecnn.models.dcue import DCUE
from keras_samplecnn.models.samplecnn import SampleCNN


def split_segments(audio, segment_length):
    """Non-overlapping segments of `audio`, as in the papers' clip-level evaluation.

    The tail shorter than a segment is dropped, except for audio shorter than one segment,
    which is zero-padded to one segment.

    Returns:
        `(segments, segment_length)` float32 array.
    """
    audio = np.asarray(audio, dtype=np.float32)
    count = len(audio) // segment_length
    if count == 0:
        return np.pad(audio, (0, segment_length - len(audio)))[None]
    return audio[: count * segment_length].reshape(count, segment_length)



class Tagger:
    """Loads a trained model once and tags, taggrams or embeds any audio file.

    Files of any format soundfile reads, any sample rate and any channel count are decoded,
    mixed to mono and resampled to the model's rate; the audio is cut into the model's
    segments, and the segment predictions are averaged (the papers' clip-level protocol).
    The tag names, sample rate and segment length come from the `.keras` file itself.

    Artist models (ISMIR 2018) work too: `ArtistCNN` tags with its artists, and both it and
    `SiameseArtistModel` embed with their 256-d feature. A `DCUE` model (DLRS 2018) embeds songs
    in its user-song space (the waveform through its front end and song branch).

    Args:
        model: a `SampleCNN`, `ArtistCNN`, `SiameseArtistModel` or `DCUE`, or the path of a
            `.keras` file saved from one, or a folder written by `samplecnn export` (SavedModel, ONNX
            or LiteRT with its `model.json` sidecar; `tag` and `taggram` only, no `embed`), or the
            name of a pretrained preset (`keras_samplecnn.presets.PRESETS`, loaded by `from_preset`).
        batch_size: segments per forward pass.
        trust_export: True to load a `samplecnn export` folder. An export's graph runs as code (a
            crafted SavedModel can write files), so it is loaded only when you trust its source;
            `.keras` files need no flag (Keras' safe mode loads no code).

    Example:
    >>> tagger = Tagger("runs/mtat_se/best.keras")          # doctest: +SKIP
    >>> tagger.tag("song.mp3", top_k=3)                     # doctest: +SKIP
    [('guitar', 0.91), ('rock', 0.74), ('loud', 0.55)]

    Reference: Lee et al., SMC 2017 (arXiv:1703.01789), clip-level averaging of segments.
    """

    def __init__(self, model, batch_size=16, trust_export=False):
        self.exported = None
        if not isinstance(model, keras.Model):
            from keras_samplecnn import presets
            from keras_samplecnn.export import ExportedModel, is_export

            if is_export(model):
                self._init_exported(ExportedModel(model, trust=trust_export), batch_size)
                return
            readable = ("a .keras file, a folder written by samplecnn export (with its model.json), or a "
                        f"preset name ({', '.join(presets.list_presets())})")  # fmt: skip
            if not presets.preset_name(model) and not os.path.exists(model):
                raise ValueError(f"{model}: no such file or folder; expected {readable}")
            from keras_samplecnn.models.loading import ModelLoadError, load_model

            try:
                model = load_model(model)
            except ModelLoadError as error:
                raise ValueError(f"{error}; expected {readable}") from None
        if not isinstance(model, (SampleCNN, ArtistCNN, SiameseArtistModel, DCUE)):
            raise ValueError(
                f"{getattr(model, 'name', model)!r} is not a keras_samplecnn model (SampleCNN, an "
                "artist model or DCUE): it carries no tags, sample rate or segment length"
            )
        self.model = model
        self.batch_size = batch_size
        if isinstance(model, (SiameseArtistModel, DCUE)):
            self.tags = None  # it scores pairs (excerpts, or users and songs): no classes to tag with
        else:
            self.tags = list(model.tags) if model.tags else [f"class_{i}" for i in range(model.num_classes)]
        self.sample_rate = model.sample_rate
        self.segment_length = model.input_length
        self._embedder = None

    def _init_exported(self, exported, batch_size):
        """An exported model (`keras_samplecnn.export`): clip scores come from its own graph."""
        self.exported, self.model, self.batch_size = exported, None, batch_size
        self.tags, self.sample_rate = exported.tags, exported.sample_rate
        self.segment_length = exported.segment_length
        self._embedder = None

    @property
    def segment_seconds(self):
        """Duration of one segment (one taggram row) in seconds."""
        return self.segment_length / self.sample_rate

    def _segments(self, path):
        return split_segments(load_audio(path, self.sample_rate), self.segment_length)

    def taggram(self, path):
        """Tag scores of every segment: array `(segments, tags)`; row i starts at `i * segment_seconds`."""
        if self.exported is not None:
            return self.exported.segment_scores(self._segments(path))
        if self.tags is None:
            kind = "a DCUE model: it scores users and songs" if isinstance(self.model, DCUE) else (
                "a Siamese artist model: it scores excerpt pairs")  # fmt: skip
            raise ValueError(
                f"{self.model.name} is {kind} and has no classes to tag with; use embed() (samplecnn "
                "embed) for its song embeddings"
            )
        return np.asarray(self.model.predict(self._segments(path), batch_size=self.batch_size, verbose=0))

    def tag(self, path, top_k=10):
        """The `top_k` tags of a file with their clip-level scores, best first.

        Returns:
            list of `(tag, score)` pairs.
        """
        if self.exported is not None:  # segments and averaging inside the exported graph
            scores = self.exported.clip_scores(load_audio(path, self.sample_rate))
        else:
            scores = self.taggram(path).mean(axis=0)
        order = np.argsort(-scores)[: top_k or len(scores)]
        return [(self.tags[i], float(scores[i])) for i in order]

    def embed(self, path):
        """Clip embedding: the features before the head (multi-level when the model has them;
        the 256-d feature of an artist model), averaged over segments. Shape `(features,)`."""
        return self.embed_waveform(load_audio(path, self.sample_rate))

    def embed_waveform(self, audio):
        """`embed` of a mono waveform already at the model's `sample_rate`."""
        if self.exported is not None:
            raise ValueError(
                f"{self.exported.path} is an exported model ({self.exported.format}): it gives tag scores "
                "only; embed with the .keras file"
            )
        if self._embedder is None:
            if isinstance(self.model, DCUE):
                self._embedder = self.model.waveform_encoder
            elif isinstance(self.model, (ArtistCNN, SiameseArtistModel)):
                self._embedder = self.model.encoder
            else:
                features = self.model.get_layer(self.model.feature_layer_name).output
                self._embedder = keras.Model(self.model.input, features)
        segments = split_segments(audio, self.segment_length)
        return np.asarray(self._embedder.predict(segments, batch_size=self.batch_size, verbose=0)).mean(axis=0)
