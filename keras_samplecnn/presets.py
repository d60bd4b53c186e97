"""Pretrained models by name: `keras_samplecnn.from_preset("ismir2018_siamese_msd10k")`.

A preset is a model of this package with weights its authors published. Today these are the
Siamese artist-label encoders of Park, Lee, Park, Ha, Nam, ISMIR 2018 (arXiv:1710.06648),
trained on the Million Song Dataset with 10,000 and 5,000 artists and released in
jongpillee/ismir2018-artist (MIT licence) as Keras 2.1.1 HDF5 files. `from_preset` returns a
`SiameseArtistModel` that takes raw audio, so `Tagger(model).embed("song.mp3")` gives the
paper's 256-d feature averaged over the song's segments.

Where the weight file comes from, in this order:

1. the `weights_dir` argument, a folder holding the file under its `Preset.file_name`;
2. the environment variable `SAMPLECNN_WEIGHTS_DIR`, the same kind of folder;
3. otherwise the authors' repository, at the pinned commit
   (`https://raw.githubusercontent.com/<repository>/<commit>/<path>`), downloaded on first
   use with `keras.utils.get_file` into Keras' cache (`~/.keras/keras_samplecnn/`, or
   `$KERAS_HOME/keras_samplecnn/`) and read from there afterwards.

Every file, local or downloaded, is checked against the preset's sha256 before it is read: a
changed or truncated file is a `ValueError` naming the file and both checksums, never a
silently different model.

Example:
>>> from keras_samplecnn.presets import list_presets
>>> list_presets()
['ismir2018_siamese_msd10k', 'ismir2018_siamese_msd5k']
"""

import contextlib
import dataclasses
import os
import sys

import keras

from keras_samplecnn.files import sha256_file
from keras_samplecnn.layers.mel import model_arguments
from keras_samplecnn.messages import one_line
from keras_samplecnn.models import artist

WEIGHTS_DIR_VARIABLE = "SAMPLECNN_WEIGHTS_DIR"
# Where downloaded weights are kept, under Keras' cache folder (`keras.utils.get_file`).
CACHE_SUBDIR = "keras_samplecnn"
# The download address of a preset's file: the raw file at the pinned commit.
ORIGIN = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"

# Keras 2's BatchNormalization epsilon, which the ISMIR 2018 encoders were trained with (their
# `model_config` says 0.001); Keras 3's default, and so that of `BatchNorm`, is the same.
KERAS2_BATCH_NORM_EPSILON = 1e-3
# The ISMIR 2018 authors' front end (`mp3s_to_mel.py`: librosa 0.5's `stft` and `filters.mel`
# defaults): magnitude spectra, the Slaney mel scale, area-normalised triangles, frames
# centred on their sample with reflected padding at the edges.
# `LogMelSpectrogram` arguments, and the artist models' names of the same arguments.
ISMIR2018_FRONT_END = {"power": 1.0, "mel_scale": "slaney", "norm": "slaney"}
_MODEL_FRONT_END = model_arguments(ISMIR2018_FRONT_END)

ISMIR2018 = 'Park, Lee, Park, Ha, Nam, "Representation Learning of Music Using Artist Labels", ISMIR 2018'
ISMIR2018_REPOSITORY = "jongpillee/ismir2018-artist"


@dataclasses.dataclass(frozen=True)
class Preset:
    """One pretrained model: what it is, and where its weight file comes from.

    Attributes:
        name: the name `from_preset` takes.
        description: one line on what the model gives.
        paper: authors, title and venue.
        arxiv: the paper's arXiv id.
        training_data: what the weights were trained on.
        parameters: the returned model's parameter count (`model.count_params()`).
        licence: the weights' licence.
        repository: the GitHub repository (`owner/name`) the file is taken from.
        commit: the commit the file is pinned to.
        path: the file's path in the repository at that commit.
        sha256: the file's sha256; every copy is checked against it.
        size: the file's size in bytes.
        file_name: the file's name in a weights folder (`weights_dir`, `SAMPLECNN_WEIGHTS_DIR`)
            and in the download cache.
        model: the model class's arguments name (`"artist_siamese"`).
    """

    name: str
    description: str
    paper: str
    arxiv: str
    training_data: str
    parameters: int
    licence: str
    repository: str
    commit: str
    path: str
    sha256: str
    size: int
    file_name: str
    model: str = "artist_siamese"

    @property
    def url(self):
        """The download address of the weight file (`ORIGIN` filled in)."""
        return ORIGIN.format(repository=self.repository, commit=self.commit, path=self.path)

    @property
    def source(self):
        """`repository@commit/path`: where the file comes from, in one string."""
        return f"{self.repository}@{self.commit}/{self.path}"


PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            name="ismir2018_siamese_msd10k",
            description="Siamese artist-label encoder: raw audio → the 256-d music feature",
            paper=ISMIR2018,
            arxiv="1710.06648",
            training_data="Million Song Dataset, 10,000 artists × 20 tracks (margin 0.4, 4 negatives)",
            parameters=265_216,
            licence="MIT",
            repository=ISMIR2018_REPOSITORY,
            commit="68841d227fef71ac76b44e704007e50452042a38",
            path="models/model_siamese_10000_4_0.40/model_siamese_10000.h5",
            sha256="3b3ad09c321786c8ea388269ee3c35ab540734ce5209f40a430f1c9b0a25f753",
            size=2_210_360,
            file_name="model_siamese_10000.h5",
        ),
        Preset(
            name="ismir2018_siamese_msd5k",
            description="Siamese artist-label encoder: raw audio → the 256-d music feature",
            paper=ISMIR2018,
            arxiv="1710.06648",
            training_data="Million Song Dataset, 5,000 artists × 20 tracks (margin 0.4, 4 negatives)",
            parameters=265_216,
            licence="MIT",
            repository=ISMIR2018_REPOSITORY,
            commit="a85ae5c48d43b3d9ff6b1f182ecc4f5078e2aa38",
            path="models/model_siamese_5000_4_0.40/weights.h5",
            sha256="1c256438c4dc2787bc7ebeebe02408dd2d4febae5e8f3be07f3ba1b1f91c1d9c",
            size=2_210_360,
            file_name="siamese_5000_weights.h5",
        ),
    )
}
"""The presets by name."""


def list_presets():
    """The names `from_preset` takes, sorted."""
    return sorted(PRESETS)


def is_preset(name):
    """True when `name` is a preset name (not a file path): what a command line asks before it
    loads a `.keras` file."""
    return isinstance(name, str) and name in PRESETS


def preset_name(model):
    """`model` when it names a preset and no file or folder of that name exists, else None:
    wherever a `.keras` path is taken, a preset name is too (a file of that name wins).

    Args:
        model: a path, a preset name, or anything else (a model object gives None).
    """
    return model if is_preset(model) and not os.path.exists(model) else None


def get_preset(name):
    """The `Preset` called `name`; a `ValueError` listing the known names otherwise."""
    if not is_preset(name):
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(list_presets())}")
    return PRESETS[name]


def verify_sha256(path, preset):
    """Raises a one-line `ValueError` unless the file at `path` has the preset's sha256.

    Args:
        path: the file.
        preset: a `Preset` (or its name).

    Returns:
        `path`.
    """
    preset = get_preset(preset) if isinstance(preset, str) else preset
    actual = sha256_file(path)
    if actual != preset.sha256:
        size = os.path.getsize(path)
        truncated = f", truncated ({size:,} of {preset.size:,} bytes)" if size < preset.size else ""
        raise ValueError(
            f"{path}: sha256 {actual} does not match the expected {preset.sha256} of preset {preset.name} "
            f"({preset.source}){truncated}; the file is not the authors' weights, replace it"
        )
    return path


def preset_weights(name, weights_dir=None, cache_dir=None):
    """The local, checked path of a preset's weight file: from `weights_dir`, else from the
    folder `$SAMPLECNN_WEIGHTS_DIR`, else downloaded into (or found in) Keras' cache.

    Args:
        name: a preset name (`list_presets()`).
        weights_dir: a folder holding the file under its `Preset.file_name`.
        cache_dir: the download cache's parent folder (default Keras' `~/.keras` or
            `$KERAS_HOME`); the file goes to `<cache_dir>/keras_samplecnn/<file_name>`.

    Returns:
        the path of a file whose sha256 is the preset's.

    Raises:
        ValueError: an unknown name, or a file whose sha256 differs (changed, truncated).
        FileNotFoundError: a weights folder (argument or variable) without the file.
        OSError: no weights folder and the download failed (offline, say).
    """
    preset = get_preset(name)
    folder, given_by = weights_dir, "weights_dir"
    if folder is None and os.environ.get(WEIGHTS_DIR_VARIABLE):
        folder, given_by = os.environ[WEIGHTS_DIR_VARIABLE], f"${WEIGHTS_DIR_VARIABLE}"
    if folder is not None:
        path = os.path.join(os.fspath(folder), preset.file_name)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{path}: no such file (the weights folder {given_by} names must hold {preset.file_name}, "
                f"downloadable from {preset.url}, sha256 {preset.sha256})"
            )
        return verify_sha256(path, preset)
    return _download(preset, cache_dir)


def cache_folder():
    """The package's folder in Keras' cache: `$KERAS_HOME/keras_samplecnn`, by default
    `~/.keras/keras_samplecnn` (where `keras.utils.get_file` puts downloaded presets)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, CACHE_SUBDIR)


def local_weights(name):
    """The path of a preset's weight file where `preset_weights` finds it without a download
    (`$SAMPLECNN_WEIGHTS_DIR`, then Keras' cache), or None; its checksum is checked on loading."""
    preset = get_preset(name)
    for folder in (os.environ.get(WEIGHTS_DIR_VARIABLE), cache_folder()):
        if folder and os.path.isfile(os.path.join(folder, preset.file_name)):
            return os.path.join(folder, preset.file_name)
    return None


def _download(preset, cache_dir):
    """The cached or freshly downloaded file of `preset`, its sha256 checked: a cached copy
    that does not match (cut short by an interrupted run, changed) is downloaded again, and a
    download that does not match is removed from the cache and refused. A download that fails
    is an `OSError` saying how to work offline."""

    def fetch():
        # No file_hash here: the checksum is checked below, with an error naming both sums.
        # get_file's message and progress bar go to stderr, so that stdout (`--json`) stays clean.
        with contextlib.redirect_stdout(sys.stderr):
            return keras.utils.get_file(
                fname=preset.file_name, origin=preset.url, cache_subdir=CACHE_SUBDIR, cache_dir=cache_dir
            )

    for _ in range(2):  # the cached (or a new) copy; once more if the cached one is damaged
        try:
            if cache_dir is not None:
                # get_file takes a folder that does not exist yet as unwritable and uses /tmp/.keras.
                os.makedirs(os.path.expanduser(cache_dir), exist_ok=True)
            path = fetch()
        except Exception as error:  # get_file turns URL errors into a bare Exception
            raise OSError(
                f"cannot download the weights of preset {preset.name} from {preset.url} ({one_line(error)}); "
                f"offline, download {preset.file_name} (sha256 {preset.sha256}) elsewhere and set "
                f"{WEIGHTS_DIR_VARIABLE}=<folder holding it> or pass weights_dir="
            ) from None
        actual = sha256_file(path)
        if actual == preset.sha256:
            return path
        os.remove(path)
    raise ValueError(
        f"{preset.url}: the download's sha256 {actual} does not match the expected {preset.sha256} of "
        f"preset {preset.name}; not kept in the cache"
    )


def _check_front_end(encoder):
    """The ISMIR 2018 presets are only right with the authors' exact front end."""
    config = encoder.get_layer("mel").get_config()
    wrong = {key: config.get(key, "(not an option)") for key, value in ISMIR2018_FRONT_END.items()
             if config.get(key) != value}  # fmt: skip
    if wrong:
        raise ValueError(
            f"the log-mel layer does not compute the ISMIR 2018 authors' front end {ISMIR2018_FRONT_END}: "
            f"got {wrong}"
        )


def load_ismir2018_weights(encoder, path):
    """Copies the weights of an ISMIR 2018 Keras 2 HDF5 file into an artist encoder.

    The file may be a whole model (`model.save`: layers under `model_weights/`) or weights only
    (`model.save_weights`: layers at the root); either way its five `Conv1D` layers and five
    `BatchNormalization` layers, in the order of the file's `layer_names`, map onto our blocks
    `conv1` … `conv5` (each `SampleConv`: `conv`, then `bn`). Kernels keep their layout
    `(taps, in, out)`, which is Keras 3's.

    The authors' convolutions have a bias; our blocks have none, since BatchNorm subtracts the
    mean right after. The bias is folded into the moving mean: `BN(conv(x) + b)` with mean `m`
    equals `BN(conv(x))` with mean `m - b`, exactly, in inference; in training BatchNorm uses
    the batch mean, which absorbs any constant, so fine-tuning is unchanged too. Folding keeps
    the preset the package's own `SiameseArtistModel`, which saves and reloads like any other.
    (The released biases are tiny, below 1.3e-6: BatchNorm gives a pre-BN bias no gradient.)

    Args:
        encoder: the waveform → 256-d model (`SiameseArtistModel.encoder` or `ArtistCNN.encoder`).
        path: the HDF5 file (check its sha256 first: `verify_sha256`).

    Raises:
        ValueError: a file without five conv and five batch-norm layers of the right shapes,
            or an encoder whose BatchNorm epsilon is not Keras 2's 1e-3.
    """
    import h5py

    convs, norms = _read_keras2_layers(h5py, path)
    if len(convs) != len(artist.ENCODER_LAYERS) or len(norms) != len(artist.ENCODER_LAYERS):
        raise ValueError(
            f"{path}: expected {len(artist.ENCODER_LAYERS)} Conv1D and BatchNormalization layers, "
            f"found {len(convs)} and {len(norms)}"
        )
    for index, (conv, norm) in enumerate(zip(convs, norms), start=1):
        block = encoder.get_layer(f"conv{index}")
        if block.bn is None or abs(block.bn.epsilon - KERAS2_BATCH_NORM_EPSILON) > 1e-12:
            raise ValueError(f"block conv{index} needs BatchNorm with epsilon {KERAS2_BATCH_NORM_EPSILON}")
        try:
            block.conv.set_weights([conv["kernel"]])
            block.bn.set_weights([norm["gamma"], norm["beta"], norm["moving_mean"] - conv["bias"],
                                  norm["moving_variance"]])  # fmt: skip
        except (ValueError, KeyError) as error:
            raise ValueError(f"{path}: layer {index} does not fit block conv{index}: {error}") from None


def _read_keras2_layers(h5py, path):
    """`(convs, norms)`: the Conv1D and BatchNormalization weights of a Keras 2 HDF5 file as
    lists of `{weight name: array}` (names without the `:0`), in the file's layer order."""
    with h5py.File(path, "r") as handle:
        group = handle["model_weights"] if "model_weights" in handle else handle
        convs, norms = [], []
        for layer in _strings(group.attrs.get("layer_names", ())):
            names = _strings(group[layer].attrs.get("weight_names", ()))
            if not names:
                continue
            # Keras 2 stores `<layer>/<weight>:0` under the layer's group.
            weights = {name.split("/")[-1].split(":")[0]: group[layer][name][()] for name in names}
            if set(weights) == {"kernel", "bias"}:
                convs.append(weights)
            elif set(weights) == {"gamma", "beta", "moving_mean", "moving_variance"}:
                norms.append(weights)
            else:
                raise ValueError(f"{path}: unexpected layer {layer} with weights {sorted(weights)}")
    return convs, norms


def _strings(values):
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def from_preset(name, weights_dir=None, cache_dir=None):
    """A pretrained model by name, its weights checked against the preset's sha256.

    For the ISMIR 2018 presets this is a `SiameseArtistModel` (4 negatives, as trained) with
    the authors' front end inside (magnitude STFT of 1,024 samples, hop 512, 128 Slaney mel
    bands, area-normalised, log10(1 + 10·mel), centred frames with reflected padding,
    standardised by the authors' mean 0.2262 and std 0.2579) and their encoder weights. It
    takes raw mono audio at 22,050 Hz in segments of `model.input_length` (65,536) samples
    (129 frames); `model.encoder` gives the 256-d feature, which `Tagger(model).embed(path)`
    averages over a song's segments.

    Args:
        name: a preset name (`list_presets()`; `PRESETS[name]` describes it).
        weights_dir: a folder holding the weight file (`PRESETS[name].file_name`); default the
            folder in `$SAMPLECNN_WEIGHTS_DIR`, else downloaded on first use and cached.
        cache_dir: the download cache's parent folder (default Keras' `~/.keras`).

    Returns:
        the model, ready for inference (and fine-tuning).

    Raises:
        ValueError: an unknown name (the message lists the known ones), or a weight file
            whose sha256 differs from the preset's.
        FileNotFoundError: a weights folder without the file.
        OSError: no weights folder and no cached copy, and the download failed.

    Example:
    >>> model = from_preset("ismir2018_siamese_msd10k")             # doctest: +SKIP
    >>> keras_samplecnn.Tagger(model).embed("song.mp3").shape        # doctest: +SKIP
    (256,)
    """
    preset = get_preset(name)
    path = preset_weights(name, weights_dir=weights_dir, cache_dir=cache_dir)
    model = artist.SiameseArtistModel(name=preset.name, **_MODEL_FRONT_END)
    _check_front_end(model.encoder)
    load_ismir2018_weights(model.encoder, path)
    return model


def preset_table():
    """The presets as a Markdown table (the docs' "Pretrained models" page)."""
    rows = [
        "| preset (`from_preset(name)`) | paper | training data | parameters | licence "
        "| source (repository@commit/path) |",
        "|---|---|---|---:|---|---|",
    ]
    for preset in PRESETS.values():
        link = f"https://github.com/{preset.repository}/blob/{preset.commit}/{preset.path}"
        rows.append(
            f"| `{preset.name}` | {preset.paper} "
            f"([arXiv:{preset.arxiv}](https://arxiv.org/abs/{preset.arxiv})) "
            f"| {preset.training_data} | {preset.parameters:,} | {preset.licence} "
            f"| [{preset.repository}@{preset.commit[:7]}/{preset.path}]({link})<br>sha256 `{preset.sha256}` |"
        )
    return "\n".join(rows)
