"""Your own music: embed every audio file of a folder and search it by similarity.

`index_library(LIBRARY_DIR, model, OUT)` finds the audio files under a folder (any depth, every
extension libsndfile decodes, hidden files and folders skipped, sorted), embeds each with a model
(`Tagger.embed`: the clip embedding averaged over segments; a `.keras` file or a pretrained preset
name such as `ismir2018_siamese_msd10k`), and saves a cosine `SongIndex` whose ids are the paths
relative to the folder. `LibraryIndex(OUT).similar(QUERY)` embeds a query file with the same model
and returns the nearest tracks. The `samplecnn index` and `samplecnn similar` commands run them.

A file that does not decode (corrupt, truncated, not audio, a format libsndfile does not read such
as `.m4a`) is listed in `OUT/rejected.csv` with its reason; the others are indexed.

Resuming: embeddings are written as they are computed, every `save_every` files, to
`OUT/embeddings/chunk-NNNNNN.npz` (each written atomically, with the file's size and modification
time). A rerun (after a kill, or after songs were added) embeds only the files that have no
embedding yet or that changed since; files that disappeared are dropped; rejected files are tried
again. `OUT/library.json` records the model (a preset name, or the `.keras` path and its sha256),
the library's root and the embedding size: a rerun with another model or another root into the same
folder is refused, and `similar` embeds its query with that model.
"""

import csv
import glob
import io
import os
import time
from typing import NamedTuple

import numpy as np

from keras_samplecnn.files import atomic_file, sha256_file, write_json_atomic

FORMAT = "samplecnn-library-index"
FORMAT_VERSION = 1
META = "library.json"
REJECTED = "rejected.csv"
CHUNKS = "embeddings"
# An exact (brute-force) search is fast enough up to this many tracks (see song_index); larger
# libraries get an HNSW graph unless exact=True.
EXACT_UP_TO = 100_000
# Extensions of the formats libsndfile (soundfile) decodes, lower case.
AUDIO_EXTENSIONS = frozenset({
    ".wav", ".wave", ".bwf", ".rf64", ".w64", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".aiff",
    ".aif", ".aifc", ".au", ".snd", ".caf", ".voc", ".avr", ".sd2", ".paf", ".pvf", ".sds",
})  # fmt: skip
# Common audio formats libsndfile does not decode: listed as rejected, with a hint to convert them.
OTHER_AUDIO_EXTENSIONS = frozenset({".m4a", ".mp4", ".aac", ".alac", ".wma", ".ape", ".wv", ".mpc", ".mka"})


def find_audio(root):
    """The audio files under `root`, relative to it (with `/`), sorted.

    Walks every depth; hidden files and folders (a name starting with `.`) are skipped; extensions
    are compared case-insensitively.

    Returns:
        `(audio, other)`: the files of `AUDIO_EXTENSIONS`, and those of `OTHER_AUDIO_EXTENSIONS`
        (audio libsndfile does not decode).
    """
    audio, other = [], []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in names:
            extension = os.path.splitext(name)[1].lower()
            if name.startswith(".") or not os.path.isfile(os.path.join(folder, name)):
                continue
            relative = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if extension in AUDIO_EXTENSIONS:
                audio.append(relative)
            elif extension in OTHER_AUDIO_EXTENSIONS:
                other.append(relative)
    return sorted(audio), sorted(other)


def model_identity(model):
    """What identifies a model in `library.json`: `{"preset": name}` for a pretrained preset name
    (`keras_samplecnn.presets.PRESETS`), `{"path": absolute path, "sha256": hex}` for a `.keras` file.

    Raises:
        ValueError: neither a preset name nor an existing file.
    """
    from keras_samplecnn.presets import list_presets, preset_name

    if preset_name(model):
        return {"preset": model}
    path = os.fspath(model)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such model file; expected a .keras file or a preset name "
                         f"({', '.join(list_presets())})")  # fmt: skip
    return {"path": os.path.abspath(path), "sha256": sha256_file(path)}


def same_model(a, b):
    """Whether two `model_identity` dicts name the same model (a `.keras` file by its sha256)."""
    if "preset" in a or "preset" in b:
        return a.get("preset") == b.get("preset")
    return a.get("sha256") == b.get("sha256")


def describe_model(identity):
    """A model identity in words: the preset name, or the path with the start of its sha256."""
    if "preset" in identity:
        return identity["preset"]
    return f"{identity.get('path')} (sha256 {str(identity.get('sha256'))[:12]}...)"


def _model_argument(identity):
    """What `Tagger` loads for a `model_identity`: the preset name or the `.keras` path, checked."""
    if "preset" in identity:
        return identity["preset"]
    path = identity.get("path")
    if not path or not os.path.isfile(path):
        raise ValueError(f"the model this index was built with, {path}, is not there any more")
    if sha256_file(path) != identity.get("sha256"):
        raise ValueError(
            f"the model this index was built with, {path}, has changed since (its sha256 differs): "
            "queries would be embedded differently from the library; rebuild the index"
        )
    return path


def read_meta(directory):
    """`library.json` of an index folder, checked.

    Raises:
        ValueError: not a folder written by `index_library` (the message says what it is instead).
    """
    path = os.path.join(directory, META)
    if not os.path.isdir(directory):
        raise ValueError(f"{directory}: no such index folder (build one with samplecnn index LIBRARY_DIR "
                         f"--model MODEL --out {directory})")  # fmt: skip
    if not os.path.isfile(path):
        from keras_samplecnn.song_index import SongIndex

        if SongIndex.is_saved(directory):
            raise ValueError(
                f"{directory} is an index of an embeddings file (samplecnn index SONGS.npz), with no model "
                "to embed a query with: use it with samplecnn recommend --index, or index a music folder "
                f"with samplecnn index LIBRARY_DIR --model MODEL --out DIR"
            )
        raise ValueError(f"{directory} is not a samplecnn library index ({META} is missing); build one with "
                         f"samplecnn index LIBRARY_DIR --model MODEL --out DIR")  # fmt: skip
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is damaged ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("model"), dict):
        raise ValueError(f"{path} is not a samplecnn library index description")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported format version {meta.get('format_version')}")
    return meta


class _Stored(NamedTuple):
    size: int
    mtime_ns: int
    embedding: np.ndarray


def _chunk_paths(out):
    return sorted(glob.glob(os.path.join(out, CHUNKS, "chunk-[0-9][0-9][0-9][0-9][0-9][0-9].npz")))


def _read_chunks(out):
    """`{relative path: _Stored}` of every saved chunk; a later chunk replaces an earlier one's entry."""
    stored = {}
    for path in _chunk_paths(out):
        try:
            with np.load(path, allow_pickle=False) as chunk:
                rows = zip(chunk["paths"].tolist(), chunk["sizes"].tolist(), chunk["mtimes"].tolist(),
                           chunk["embeddings"])  # fmt: skip
                for name, size, mtime, embedding in rows:
                    stored[name] = _Stored(size, mtime, embedding)
        except (OSError, ValueError, KeyError, EOFError) as error:
            raise ValueError(f"{path} is damaged ({' '.join(str(error).split())[:200]}); delete it, and a "
                             "rerun embeds its files again") from None  # fmt: skip
    return stored


def _write_chunk(out, number, entries):
    """Writes `entries` (`[(path, _Stored)]`) as chunk `number`, atomically."""
    folder = os.path.join(out, CHUNKS)
    os.makedirs(folder, exist_ok=True)
    arrays = {
        "paths": np.array([name for name, _ in entries], dtype=str),
        "sizes": np.array([s.size for _, s in entries], np.int64),
        "mtimes": np.array([s.mtime_ns for _, s in entries], np.int64),
        "embeddings": np.stack([s.embedding for _, s in entries]).astype(np.float32),
    }
    with atomic_file(os.path.join(folder, f"chunk-{number:06d}.npz"), "wb") as handle:
        np.savez(handle, **arrays)


def _next_chunk(out):
    paths = _chunk_paths(out)
    return int(os.path.basename(paths[-1])[6:12]) + 1 if paths else 1


def _write_rejected(out, rejected):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["path", "reason"])
    writer.writerows(rejected)
    with atomic_file(os.path.join(out, REJECTED), "w", encoding="utf-8", newline="") as handle:
        handle.write(text.getvalue())


class LibraryResult(NamedTuple):
    """What `index_library` did.

    Attributes:
        tracks: tracks in the index.
        embedded: files embedded by this run.
        reused: files whose embedding an earlier run had saved.
        rejected: `[(relative path, reason)]` of the files that could not be used.
        dim: the embedding size.
        exact: whether the index is exact (else HNSW).
        seconds: time spent embedding in this run.
    """

    tracks: int
    embedded: int
    reused: int
    rejected: list
    dim: int
    exact: bool
    seconds: float


def index_library(
    root,
    model,
    out,
    exact=None,
    save_every=32,
    batch_size=16,
    progress=True,
    on_rejected=None,
    connectivity=16,
    expansion_add=128,
    expansion_search=128,
):
    """Embeds the audio files under `root` with `model` and saves a similarity index in `out`.

    Resumable (see the module docstring): rerun the same call after an interruption, or after
    adding songs, and only what is missing or changed is embedded.

    Args:
        root: the music folder.
        model: a pretrained preset name (`keras_samplecnn.presets.PRESETS`) or a `.keras` file of a
            model `Tagger` embeds with (SampleCNN, an artist model, DCUE).
        out: the index folder (created; if it exists it must hold an index of the same model and root).
        exact: True for brute-force search, False for an HNSW graph; None (default): exact up to
            `EXACT_UP_TO` tracks.
        save_every: embeddings are saved after this many files (and when the run stops).
        batch_size: segments per forward pass.
        progress: a tqdm bar on stderr.
        on_rejected: called with `(relative path, reason)` for each file that cannot be used.
        connectivity, expansion_add, expansion_search: HNSW parameters (see `SongIndex`).

    Returns:
        a `LibraryResult`.

    Raises:
        ValueError: `root` is not a folder or holds no audio file, none decodes, `model` is neither
            a preset name nor a file, or `out` holds something else (an index of another model or
            root, or files that are not an index).
    """
    from keras_samplecnn.audio import AudioDecodeError
    from keras_samplecnn.song_index import SongIndex

    if save_every < 1:
        raise ValueError(f"save_every must be >= 1, got {save_every}")
    if not os.path.isdir(root):
        raise ValueError(f"{root}: not a folder")
    root = os.path.abspath(root)
    identity = model_identity(model)
    meta = _check_out(out, identity, root)
    files, other = find_audio(root)
    if not files and not other:
        raise ValueError(f"{root} holds no audio file ({', '.join(sorted(AUDIO_EXTENSIONS))})")
    rejected = [(name, f"{os.path.splitext(name)[1].lower()} is a format libsndfile does not decode; "
                       "convert it (e.g. ffmpeg -i IN OUT.flac)") for name in other]  # fmt: skip
    for name, reason in rejected:
        if on_rejected:
            on_rejected(name, reason)

    stored = _read_chunks(out) if meta else {}
    todo, current = [], {}
    for name in files:
        stat = os.stat(os.path.join(root, name))
        have = stored.get(name)
        if have is not None and (have.size, have.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            current[name] = have
        else:
            todo.append((name, stat))
    reused = len(current)
    dim = len(next(iter(current.values())).embedding) if current else (meta or {}).get("dim")
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "model": identity, "root": root, "dim": dim,
        "tracks": (meta or {}).get("tracks"), "exact": (meta or {}).get("exact"),
    }  # fmt: skip
    os.makedirs(out, exist_ok=True)
    write_json_atomic(os.path.join(out, META), meta)  # the model is recorded before any work

    start = time.perf_counter()
    embedded = 0
    if todo:
        from tqdm.auto import tqdm

        from keras_samplecnn.tagger import Tagger

        tagger = Tagger(model, batch_size=batch_size)
        pending = []
        number = _next_chunk(out)

        def flush():
            nonlocal number, pending
            if pending:
                _write_chunk(out, number, pending)
                number, pending = number + 1, []

        try:
            with tqdm(todo, desc="embedding", unit="file", disable=not progress, dynamic_ncols=True) as bar:
                for name, stat in bar:
                    try:
                        embedding = np.asarray(tagger.embed(os.path.join(root, name)), np.float32)
                    except (AudioDecodeError, OSError) as error:
                        reason = " ".join(str(getattr(error, "reason", error)).split())
                        rejected.append((name, reason))
                        if on_rejected:
                            on_rejected(name, reason)
                        continue
                    if not np.isfinite(embedding).all() or not np.any(embedding):
                        reason = "its embedding is all zeros or not finite (silence?)"
                        rejected.append((name, reason))
                        if on_rejected:
                            on_rejected(name, reason)
                        continue
                    if dim is None:
                        dim = len(embedding)
                    entry = _Stored(stat.st_size, stat.st_mtime_ns, embedding)
                    current[name] = entry
                    pending.append((name, entry))
                    embedded += 1
                    if len(pending) >= save_every:
                        flush()
        finally:
            flush()  # what was embedded is kept, also when the run is interrupted
    seconds = time.perf_counter() - start

    rejected.sort()
    _write_rejected(out, rejected)
    if not current:
        raise ValueError(f"none of the {len(files) + len(other)} audio files under {root} could be used "
                         f"(see {os.path.join(out, REJECTED)})")  # fmt: skip
    names = sorted(current)
    embeddings = np.stack([current[name].embedding for name in names])
    exact = len(names) <= EXACT_UP_TO if exact is None else bool(exact)
    index = SongIndex(embeddings, names, exact=exact, connectivity=connectivity, expansion_add=expansion_add,
                      expansion_search=expansion_search)  # fmt: skip
    index.save(out)
    _compact(out, [(name, current[name]) for name in names])
    meta.update(dim=int(embeddings.shape[1]), tracks=len(names), exact=exact, rejected=len(rejected))
    write_json_atomic(os.path.join(out, META), meta)
    return LibraryResult(len(names), embedded, reused, rejected, int(embeddings.shape[1]), exact, seconds)


def _check_out(out, identity, root):
    """The `library.json` already in `out` (None for a new or empty folder), after checking that it
    is an index of the same model and root."""
    if not os.path.exists(out) or (os.path.isdir(out) and not os.listdir(out)):
        return None
    if not os.path.isdir(out):
        raise ValueError(f"--out {out} is a file, not a folder")
    if not os.path.isfile(os.path.join(out, META)):
        raise ValueError(f"{out} exists and is not a samplecnn library index ({META} is missing): give a new "
                         "or empty folder")  # fmt: skip
    meta = read_meta(out)
    if not same_model(meta["model"], identity):
        raise ValueError(
            f"{out} was built with the model {describe_model(meta['model'])}, not {describe_model(identity)}: "
            "embeddings of two models cannot be searched together; give another --out, or delete "
            f"{out} to rebuild it"
        )
    if os.path.normcase(meta.get("root", "")) != os.path.normcase(root):
        raise ValueError(f"{out} indexes the library {meta.get('root')}, not {root}: give another --out, or "
                         f"delete {out} to rebuild it")  # fmt: skip
    return meta


def _compact(out, entries):
    """Rewrites the embeddings as one chunk (the library's current files), then removes the others;
    a kill in between leaves the new chunk as the newest, so nothing is lost."""
    old = _chunk_paths(out)
    if len(old) == 1:
        with np.load(old[0], allow_pickle=False) as chunk:
            if chunk["paths"].tolist() == [name for name, _ in entries]:
                return
    _write_chunk(out, _next_chunk(out), entries)
    for path in old:
        os.remove(path)


class LibraryIndex:
    """A library index written by `index_library`, searched with audio files.

    Args:
        directory: the index folder (`samplecnn index LIBRARY_DIR --model MODEL --out DIR`).
        batch_size: segments per forward pass when embedding a query.

    Attributes:
        meta: `library.json` (model, root, dim, tracks, ...).
        index: the `SongIndex`; its ids are the paths relative to `root`.
        root: the library folder.

    Raises:
        ValueError: not a library index folder, or a damaged one.

    Example:
    >>> library = LibraryIndex("lib_index")             # doctest: +SKIP
    >>> library.similar("query.mp3", top_k=2)           # doctest: +SKIP
    [('rock/song1.mp3', 0.93), ('jazz/song2.flac', 0.71)]
    """

    def __init__(self, directory, batch_size=16):
        from keras_samplecnn.song_index import SongIndex

        self.meta = read_meta(directory)
        self.directory = directory
        self.root = self.meta.get("root")
        self.index = SongIndex.load(directory)
        if self.meta.get("dim") not in (None, self.index.dim):
            raise ValueError(f"{directory}: {META} says {self.meta.get('dim')} dims, the index holds "
                             f"{self.index.dim}")  # fmt: skip
        self.batch_size = batch_size
        self._tagger = None

    @property
    def model(self):
        """The model's description: its preset name, or its `.keras` path and sha256."""
        return describe_model(self.meta["model"])

    @property
    def tagger(self):
        """The `Tagger` of the model the library was embedded with (loaded on first use)."""
        if self._tagger is None:
            from keras_samplecnn.tagger import Tagger

            self._tagger = Tagger(_model_argument(self.meta["model"]), batch_size=self.batch_size)
        return self._tagger

    def embed(self, path):
        """The query embedding of an audio file, as the library's files were embedded."""
        embedding = np.asarray(self.tagger.embed(path), np.float32)
        if len(embedding) != self.index.dim:
            raise ValueError(f"the model gives {len(embedding)}-d embeddings, the index holds {self.index.dim}")
        return embedding

    def similar(self, path, top_k=10):
        """The `top_k` tracks most similar (cosine) to an audio file, best first.

        Returns:
            list of `(path relative to root, cosine)`; a file of the library comes first, with ~1.0.

        Raises:
            ValueError: `top_k` < 1, or the file does not decode (`AudioDecodeError`).
        """
        if int(top_k) < 1:
            raise ValueError(f"top-k must be >= 1, got {top_k}")
        embedding = self.embed(path)
        ids, scores = self.index.search(embedding, k=min(int(top_k), len(self.index)))
        return [(str(name), float(score)) for name, score in zip(ids.tolist(), scores.tolist())]
