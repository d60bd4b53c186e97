"""A tiny synthetic Million Song Dataset tagging collection, in the real files' layouts and formats.

`make_demo_msd` writes::

    directory/
      audio_7digital/8/9/8947470.clip.mp3    previews keyed by 7digital id (`<d1>/<d2>/<id>.clip.mp3`;
                                             a few ids have 2-6 digits, as some real ones do)
      audio_msd_tree/A/B/C/TRABC....mp3      the same previews keyed by MSD track id, MSD's tree
      audio_msd_flat/TRABC....mp3            ... and flat (every other one as `<TRACKID>.clip.mp3`)
      choi_split/{train,valid,test}_x_{msd_id,7d_id,filename}.txt
                                             Choi et al.'s text lists (sorted by MSD id; the 7d_id
                                             and filename `<d1>/<d2>/<7d_id>.npy` lines aligned)
      lee_split/filtered_list_train.cP       Lee et al.'s Python 2 cPickles, protocol 0, written byte
      lee_split/filtered_list_test.cP        by byte as Python 2 writes them: `(lp1\\nS'TR...'\\np2\\na...`;
      lee_split/MSD_id_to_7D_id.pkl          train then valid ids in one list (`lee_train_size` of
      lee_split/7D_id_to_path.pkl            them train), the test ids sorted; the tag vectors are
      lee_split/msd_id_to_tag_vector.cP      NumPy float64 0/1 arrays as Python 2 NumPy
                                             pickles them (the real files' dtype is not known)
      lee_split/50tagList.txt
      lastfm_tags.db                         the Last.fm dataset's SQLite: tids, tags, tid_tag(val)
      lastfm_json/lastfm_{train,test}/A/B/C/TR....json   Last.fm's JSON files
      README.md                              written last: a finished dataset

the layouts `python -m tfrecords_tools msd` reads (see `tfrecords_tools.msd`). Lee's lists are a
subset of Choi's (tracks marked shorter than 29.1 s are left out, as Lee's filter does); the
demo's own train size replaces the real 201,680 (pass `--lee-train-size`).

On purpose, some listed tracks have no preview in any audio folder (`has_audio` false), some
have no entry in any tag source (`in_tag_source` false), and some have only tags outside the
top 50, a top-50 tag at value 0, or "mellow" (not the top-50 "Mellow"): the converter must
reject and count them. The audio is a few seconds of a synthetic tone per track (the real
previews are about 30 s); it carries no information about the tags, so this collection tests
the converter, not a model. Only the tag names come from the real dataset.

The same arguments give the same files (mp3 bytes depend on the LAME version).
"""

import dataclasses
import importlib.resources
import json
import os
import shutil
import sqlite3

import numpy as np

from keras_samplecnn.datasets import synth
from keras_samplecnn.datasets.demo_listeners import msd_path
from keras_samplecnn.datasets.writing import command_line, write_audio, write_bytes, write_lines, write_text

SAMPLE_RATE = 22050
CLIP_SECONDS = 3.0
KEYINGS = ("7digital", "msd-tree", "msd-flat")
AUDIO_FOLDERS = {"7digital": "audio_7digital", "msd-tree": "audio_msd_tree", "msd-flat": "audio_msd_flat"}
CHOI_FOLDER = "choi_split"
LEE_FOLDER = "lee_split"
LASTFM_DB = "lastfm_tags.db"
LASTFM_JSON = "lastfm_json"
OTHER_TAGS = ("seen live", "favorites", "mellow", "british", "love", "awesome")
LEE_MIN_SECONDS = 29.1
_STREAM = 0x4D534454  # "MSDT"

README = """\
# Demo MSD tagging collection (synthetic)

Written by `keras_samplecnn.datasets.make_demo_msd` to test `python -m tfrecords_tools msd`: the
Million Song Dataset tagging layouts (7digital previews in two keyings, Choi's and Lee's split
files, the Last.fm tag database and JSON files) filled with synthetic tones. The tags are drawn
at random: the audio says nothing about them.
"""


def _top50_tags():
    """The packaged MSD top-50 tags (`resources/msd_top50_tags.txt`, read by the converter too)."""
    text = (importlib.resources.files("keras_samplecnn") / "resources" / "msd_top50_tags.txt").read_text(
        "utf-8"
    )
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclasses.dataclass
class MsdTrack:
    """One demo track and what was written for it.

    Args:
        track_id: its MSD track id.
        seven_digital_id: its 7digital id (a string of digits).
        tags: `{tag name: value}` as in the Last.fm files (values are strings "0"-"100").
        choi_split: its split in Choi's lists.
        lee_split: its split in Lee's lists, or None (filtered out: `preview_seconds` < 29.1).
        preview_seconds: the length Lee's filter sees (the written audio is shorter).
        has_audio: whether a preview was written.
        in_tag_source: whether the tag database, JSON files and tag vectors have it.
        lastfm_folder: `lastfm_train` or `lastfm_test`: where its JSON file is.
    """

    track_id: str
    seven_digital_id: str
    tags: dict
    choi_split: str
    lee_split: str
    preview_seconds: float
    has_audio: bool
    in_tag_source: bool
    lastfm_folder: str


@dataclasses.dataclass
class DemoMsd:
    """What `make_demo_msd` wrote.

    Args:
        directory: the root folder.
        tracks: the `MsdTrack`s, in generation order.
        lee_train_size: how many ids at the start of Lee's train pickle are train.
        keyings: the audio keyings written (`AUDIO_FOLDERS` keys).
    """

    directory: str
    tracks: list
    lee_train_size: int
    keyings: tuple

    def path(self, name):
        """`directory/name`.

        Args:
            name: a file or folder name of the layout (e.g. `LASTFM_DB`, `AUDIO_FOLDERS[...]`).
        """
        return os.path.join(self.directory, name)


def seven_digital_path(number, extension=".clip.mp3"):
    """The 7digital preview path `<d1>/<d2>/<id>.clip.mp3`.

    Args:
        number: the 7digital id as a string of at least 2 digits.
        extension: the file name's ending (Choi's lists name `.npy` files).
    """
    return f"{number[0]}/{number[1]}/{number}{extension}"


def msd_tree_path(track_id):
    """MSD's `<tid[2]>/<tid[3]>/<tid[4]>/<TRACKID>.mp3`.

    Args:
        track_id: the MSD track id.
    """
    return msd_path(track_id, ".mp3")


def plan(n_tracks=48, seed=0, tags=None):
    """Draw the listed tracks: ids, tags, splits and the special cases, without audio.

    Args:
        n_tracks: listed tracks (>= 20, so that every split and every special case occurs).
        seed: the same arguments give the same tracks.
        tags: the top-50 tag names (default: the packaged list).

    Returns:
        list of `MsdTrack`, in generation order.
    """
    if n_tracks < 20:
        raise ValueError(f"n_tracks must be >= 20, got {n_tracks}")
    tags = _top50_tags() if tags is None else tags
    rng = synth.stream_rng(seed, _STREAM)
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    tracks, ids, numbers = [], set(), set()
    order = rng.permutation(n_tracks)  # Choi's split: 70 / 10 / 20 % of a shuffle
    num_train, num_valid = round(0.7 * n_tracks), max(2, round(0.1 * n_tracks))
    for i in range(n_tracks):
        (track_id,) = synth.draw_ids(rng, 1, lambda r: "TR" + "".join(r.choice(alphabet, 16)), ids)
        digits = int(rng.integers(2, 7)) if i % 9 == 4 else 7
        low = 10 ** (digits - 1)
        (number,) = synth.draw_ids(rng, 1, lambda r: str(int(r.integers(low, 10 * low))), numbers)
        position = int(np.nonzero(order == i)[0][0])
        choi = "train" if position < num_train else "valid" if position < num_train + num_valid else "test"
        if i % 17 == 3:  # only tags outside the top 50, or at value 0, or in another case
            track_tags = {"seen live": "100", "mellow": "80", tags[int(rng.integers(50))]: "0"}
        else:
            chosen = rng.choice(50, size=int(rng.integers(1, 6)), replace=False)
            track_tags = {tags[int(c)]: str(int(rng.integers(1, 101))) for c in chosen}
            for other in rng.choice(len(OTHER_TAGS), size=int(rng.integers(0, 3)), replace=False):
                track_tags.setdefault(OTHER_TAGS[int(other)], str(int(rng.integers(0, 101))))
            if i % 5 == 2:  # a top-50 tag present at value 0: it does not count
                track_tags.setdefault(tags[int(rng.integers(50))], "0")
        seconds = float(rng.uniform(20.0, 29.0)) if i % 7 == 6 else 30.0
        tracks.append(
            MsdTrack(
                track_id=track_id,
                seven_digital_id=number,
                tags=track_tags,
                choi_split=choi,
                lee_split=choi if seconds >= LEE_MIN_SECONDS else None,
                preview_seconds=seconds,
                has_audio=i % 11 != 5,
                in_tag_source=i % 13 != 7,
                lastfm_folder="lastfm_train" if rng.random() < 0.8 else "lastfm_test",
            )
        )
    return tracks


def render(index, seconds=CLIP_SECONDS, sample_rate=SAMPLE_RATE, seed=0):
    """Track ``index``'s preview: a short harmonic tone with a decaying envelope (float32, mono).

    Args:
        index: the track's position in the plan.
        seconds, sample_rate: output format.
        seed: the plan's seed.
    """
    rng = synth.stream_rng(seed, _STREAM, index)
    time = np.arange(round(seconds * sample_rate)) / sample_rate
    f0 = 110.0 * 2.0 ** (rng.integers(0, 36) / 12.0)
    wave = sum(np.sin(2 * np.pi * f0 * k * time) / k for k in range(1, 5))
    envelope = np.exp(-((time * float(rng.uniform(1.0, 4.0))) % 1.0) * 3.0)
    return (0.3 * wave * envelope).astype(np.float32)


class _Py2Pickle:
    """Writes Python 2 protocol-0 pickle text (`cPickle.dump(obj, f)`) with Python 2's memo
    opcodes: every string, tuple and reduced object gets a `p<n>` entry, and a global or dtype
    seen before is fetched back with `g<n>` (Python 2 would also reuse some interned strings;
    readers do not care)."""

    def __init__(self):
        self.parts, self.memo, self.shared = [], 0, {}

    def emit(self, text):
        self.parts.append(text)

    def memoize(self):
        self.memo += 1
        self.parts.append(f"p{self.memo}\n")
        return self.memo

    def string(self, text):
        out = []
        for byte in text.encode("latin1"):
            char = chr(byte)
            if char in "\\'":
                out.append("\\" + char)
            elif 32 <= byte < 127:
                out.append(char)
            else:
                out.append({9: "\\t", 10: "\\n", 13: "\\r"}.get(byte, f"\\x{byte:02x}"))
        self.emit("S'" + "".join(out) + "'\n")
        self.memoize()

    def global_(self, module, name):
        key = ("global", module, name)
        if key in self.shared:
            self.emit(f"g{self.shared[key]}\n")
            return
        self.emit(f"c{module}\n{name}\n")
        self.shared[key] = self.memoize()

    def float64_dtype(self):
        """`numpy.dtype('<f8')` as NumPy reduces it: `dtype('f8', False, True)` then its state."""
        key = ("dtype", "<f8")
        if key in self.shared:
            self.emit(f"g{self.shared[key]}\n")
            return
        self.global_("numpy", "dtype")
        self.emit("(")
        self.string("f8")
        self.emit("I0\nI1\nt")
        self.memoize()
        self.emit("R")
        self.shared[key] = self.memoize()
        self.emit("(I3\n")
        self.string("<")
        self.emit("NNNI-1\nI-1\nI0\nt")
        self.memoize()
        self.emit("b")

    def array(self, vector):
        """A 1-D float64 array as `ndarray.__reduce__` gives it: `_reconstruct(ndarray, (0,), 'b')`,
        then the state `(1, shape, dtype, is_fortran, raw bytes)`."""
        self.global_("numpy.core.multiarray", "_reconstruct")
        self.emit("(")
        self.global_("numpy", "ndarray")
        self.emit("(I0\nt")
        self.memoize()
        self.string("b")
        self.emit("t")
        self.memoize()
        self.emit("R")
        self.memoize()
        self.emit(f"(I1\n(I{len(vector)}\nt")
        self.memoize()
        self.float64_dtype()
        self.emit("I00\n")
        self.string(np.asarray(vector, dtype="<f8").tobytes().decode("latin1"))
        self.emit("t")
        self.memoize()
        self.emit("b")

    def list_of_strings(self, items):
        self.emit("(l")
        self.memoize()
        for item in items:
            self.string(item)
            self.emit("a")
        return self.finish()

    def dict_of(self, mapping, value):
        self.emit("(d")
        self.memoize()
        for key, item in mapping.items():
            self.string(key)
            value(self, item)
            self.emit("s")
        return self.finish()

    def finish(self):
        return ("".join(self.parts) + ".").encode("latin1")


def make_demo_msd(directory, n_tracks=48, seed=0, keyings=KEYINGS, clip_seconds=CLIP_SECONDS,
                  sample_rate=SAMPLE_RATE, workers=None, progress=True):  # fmt: skip
    """Write the synthetic MSD tagging collection (see the module docstring).

    Args:
        directory: output folder (created; write into an empty one).
        n_tracks: listed tracks (>= 20, so that every split and every special case occurs).
        seed: the same arguments give the same lists, tags and audio.
        keyings: which audio folders to write: any of `"7digital"`, `"msd-tree"`, `"msd-flat"`.
        clip_seconds: seconds of audio per preview (the converter pads short clips).
        sample_rate: of the mp3 previews.
        workers: processes for the previews (default: all CPUs; 0 or 1 runs in this process).
        progress: show a tqdm progress bar.

    Returns:
        A `DemoMsd`: the tracks with their tags, splits and the special cases.

    Example:
        >>> from keras_samplecnn.datasets import make_demo_msd
        >>> demo = make_demo_msd("data/demo_msd")
        >>> # then: python -m tfrecords_tools msd --audio-dir data/demo_msd/audio_7digital
        >>> #   --split-dir data/demo_msd/lee_split --lee-train-size <demo.lee_train_size>
        >>> #   --lastfm-db data/demo_msd/lastfm_tags.db --out data/demo_msd_tfrecords
    """
    unknown = set(keyings) - set(KEYINGS)
    if unknown or not keyings:
        raise ValueError(f"keyings must be a non-empty subset of {KEYINGS}, got {keyings}")
    tags = _top50_tags()
    tracks = plan(n_tracks, seed, tags)
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    targets = {
        index: {
            "7digital": seven_digital_path(track.seven_digital_id),
            "msd-tree": msd_tree_path(track.track_id),
            "msd-flat": track.track_id + (".mp3" if index % 2 else ".clip.mp3"),
        }
        for index, track in enumerate(tracks)
        if track.has_audio
    }
    # Encoded once, in the first keying's folder; the other keyings get copies of the bytes.
    first, *others = [AUDIO_FOLDERS[keying] + "/" for keying in keyings]
    items = [(first + paths[keyings[0]], render, (index, clip_seconds, sample_rate, seed)) for index, paths in targets.items()]
    write_audio(directory, items, sample_rate, workers, progress, "demo MSD previews", "preview")
    for keying, folder in zip(keyings[1:], others):
        for paths in targets.values():
            path = os.path.join(directory, *(folder + paths[keying]).split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copyfile(os.path.join(directory, *(first + paths[keyings[0]]).split("/")), path)

    _write_choi(os.path.join(directory, CHOI_FOLDER), tracks)
    lee_train_size = _write_lee(os.path.join(directory, LEE_FOLDER), tracks, tags, seed)
    _write_lastfm_db(os.path.join(directory, LASTFM_DB), tracks)
    _write_lastfm_json(os.path.join(directory, LASTFM_JSON), tracks)
    write_text(os.path.join(directory, "README.md"), README)  # last: a finished dataset
    return DemoMsd(directory=directory, tracks=tracks, lee_train_size=lee_train_size, keyings=tuple(keyings))


def _write_choi(folder, tracks):
    os.makedirs(folder, exist_ok=True)
    for split in ("train", "valid", "test"):
        listed = sorted((t for t in tracks if t.choi_split == split), key=lambda t: t.track_id)
        write_lines(os.path.join(folder, f"{split}_x_msd_id.txt"), [t.track_id for t in listed])
        write_lines(os.path.join(folder, f"{split}_x_7d_id.txt"), [t.seven_digital_id for t in listed])
        filenames = [seven_digital_path(t.seven_digital_id, ".npy") for t in listed]
        write_lines(os.path.join(folder, f"{split}_x_filename.txt"), filenames)


def _write_lee(folder, tracks, tags, seed):
    """Lee's pickles; returns the number of train ids at the start of the train pickle."""
    os.makedirs(folder, exist_ok=True)
    rng = synth.stream_rng(seed, _STREAM, 1)
    train = [t.track_id for t in tracks if t.lee_split == "train"]
    valid = [t.track_id for t in tracks if t.lee_split == "valid"]
    train = [train[i] for i in rng.permutation(len(train))]  # the real list is not sorted
    test = sorted(t.track_id for t in tracks if t.lee_split == "test")
    write_bytes(os.path.join(folder, "filtered_list_train.cP"), _Py2Pickle().list_of_strings(train + valid))
    write_bytes(os.path.join(folder, "filtered_list_test.cP"), _Py2Pickle().list_of_strings(test))
    ids = {t.track_id: t.seven_digital_id for t in tracks}
    write_bytes(os.path.join(folder, "MSD_id_to_7D_id.pkl"), _Py2Pickle().dict_of(ids, _Py2Pickle.string))
    paths = {t.seven_digital_id: seven_digital_path(t.seven_digital_id) for t in tracks}
    write_bytes(os.path.join(folder, "7D_id_to_path.pkl"), _Py2Pickle().dict_of(paths, _Py2Pickle.string))
    vectors = {}
    for track in tracks:
        if track.in_tag_source:
            vectors[track.track_id] = [float(float(track.tags.get(tag, "0")) > 0) for tag in tags]
    write_bytes(
        os.path.join(folder, "msd_id_to_tag_vector.cP"), _Py2Pickle().dict_of(vectors, _Py2Pickle.array)
    )
    write_lines(os.path.join(folder, "50tagList.txt"), tags)
    return len(train)


def _write_lastfm_db(path, tracks):
    """The Last.fm dataset's `lastfm_tags.db` tables, with a few unlisted tracks."""
    tmp = path + ".part"
    if os.path.exists(tmp):
        os.remove(tmp)
    connection = sqlite3.connect(tmp)
    try:
        connection.execute("CREATE TABLE tids (tid TEXT)")
        connection.execute("CREATE TABLE tags (tag TEXT)")
        connection.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
        tag_rows = {}
        extra = [MsdTrack("TRZZZZZ12903CA0001", "1", {"rock": "100"}, "train", None, 30.0, True, True, "")]
        for track in [t for t in tracks if t.in_tag_source] + extra:
            cursor = connection.execute("INSERT INTO tids (tid) VALUES (?)", (track.track_id,))
            tid_row = cursor.lastrowid
            for tag, value in track.tags.items():
                if tag not in tag_rows:
                    tag_rows[tag] = connection.execute("INSERT INTO tags (tag) VALUES (?)", (tag,)).lastrowid
                connection.execute(
                    "INSERT INTO tid_tag (tid, tag, val) VALUES (?, ?, ?)",
                    (tid_row, tag_rows[tag], float(value)),
                )
        connection.execute("CREATE INDEX idx_tid_tag_tid ON tid_tag(tid)")
        connection.commit()
    finally:
        connection.close()
    os.replace(tmp, path)


def _write_lastfm_json(folder, tracks):
    for number, track in enumerate(tracks):
        if not track.in_tag_source:
            continue
        tid = track.track_id
        path = os.path.join(folder, track.lastfm_folder, *msd_path(tid, ".json").split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        record = {
            "artist": f"Demo Artist {number % 7}",
            "timestamp": "2011-08-02 20:13:25.674526",
            "similars": [],
            "tags": [[tag, value] for tag, value in track.tags.items()],
            "track_id": tid,
            "title": f"Demo Track {number}",
        }
        write_text(path, json.dumps(record))


def add_arguments(parser):
    """The size options of ``python -m keras_samplecnn.datasets msd``."""
    parser.add_argument("--tracks", dest="n_tracks", type=int, default=48, help="listed tracks (default 48)")
    parser.add_argument("--seconds", dest="clip_seconds", type=float, default=CLIP_SECONDS, help="preview length (default 3)")
    parser.add_argument("--keyings", nargs="+", choices=KEYINGS, default=list(KEYINGS), type=str,
                        help="audio folders to write (default all three)")  # fmt: skip


def main(argv=None):
    """``python -m keras_samplecnn.datasets msd DIR [--tracks N] [--seconds S] [--seed K] [--keyings ...]``.

    Args:
        argv: the arguments (default `sys.argv[1:]`).
    """
    description = "Write the tiny synthetic MSD tagging collection (previews, split lists, Last.fm tags)."
    root, demo = command_line(argv, "msd", description, add_arguments, make_demo_msd)
    print(f"wrote {len(demo.tracks)} tracks to {root}")
    print(
        f"next: python -m tfrecords_tools msd --audio-dir {demo.path(AUDIO_FOLDERS[demo.keyings[0]])} "
        f"--split-dir {demo.path(LEE_FOLDER)} --lee-train-size {demo.lee_train_size} "
        f"--lastfm-db {demo.path(LASTFM_DB)} --out {root}_tfrecords"
    )
    return 0
