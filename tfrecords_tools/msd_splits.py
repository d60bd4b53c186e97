"""The two Million Song Dataset tagging splits: pinned sources, readers, count checks, download.

`python -m tfrecords_tools msd-splits --out DIR [--which choi|lee|both]` downloads the files
the `msd` converter reads, at pinned commits, into one folder (the names do not collide):

    Choi et al. 2016, keunwoochoi/MSD_split_for_tagging @ f5690f26323819324cb3d54fb9ea15885d50c818
      {train,valid,test}_x_msd_id.txt     one MSD track id per line, no header (sorted)
      {train,valid,test}_x_7d_id.txt      the 7digital id of the same line's track
      published counts 201,680 / 12,634 / 28,540 (train / valid / test)
    Lee et al. (SampleCNN), jongpillee/music_dataset_split @ 8a3ce9e3af300e6d3d3775faa99c209670ce7b45,
    folder MSD_split/ (byte-identical to minzwon/sota-music-tagging-models split/msd/ @ ffd9c46):
      filtered_list_train.cP              Python 2 cPickle (protocol 0) of a list of MSD ids: the
                                          first 201,680 are train, the remaining 11,774 valid
      filtered_list_test.cP               28,435 MSD ids (sorted), a subset of Choi's test list
      MSD_id_to_7D_id.pkl                 dict MSD id -> 7digital id
      msd_id_to_tag_vector.cP             only with --tag-vectors: dict MSD id -> 50-tag vector

Lee's lists keep the tracks whose audio is longer than 29.1 s; the papers' MSD numbers use them.
The counts above are the published ones (the two repositories' READMEs); a download whose
counts differ is refused and nothing is written.
Choi's `*_x_filename.txt` (`<d1>/<d2>/<7d_id>.npy`) and `*_y.npy` are not needed: the audio path
follows from the 7digital id and the labels come from a tag source (see `tfrecords_tools.msd`).

The pickles are read with `RestrictedUnpickler`, never with plain `pickle.load`: unpickling can
run arbitrary code, and these files come from the network.

Not verified here: that Choi's msd_id and 7d_id files are aligned line by line (their filename
file is, with the 7d_id file); the readers check at least that both have the same line count.
Whether `MSD_id_to_7D_id.pkl` covers every listed id, and the exact types in the pickles (str or
bytes ids, int or str 7digital ids, array or list vectors) are not known: the readers accept all.
"""

import logging
import math
import os
import pickle
import re
import shutil
import tempfile
import urllib.error
import urllib.request

import numpy as np
from tqdm.auto import tqdm

from tfrecords_tools.common import SPLITS, require_dir, utf8_errors
from tfrecords_tools.errors import DatasetError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
CHOI_REPO = "keunwoochoi/MSD_split_for_tagging"
CHOI_COMMIT = "f5690f26323819324cb3d54fb9ea15885d50c818"
LEE_REPO = "jongpillee/music_dataset_split"
LEE_COMMIT = "8a3ce9e3af300e6d3d3775faa99c209670ce7b45"
LEE_FOLDER = "MSD_split"
PUBLISHED_COUNTS = {
    "choi": {"train": 201_680, "valid": 12_634, "test": 28_540},
    "lee": {"train": 201_680, "valid": 11_774, "test": 28_435},
}
LEE_TRAIN = "filtered_list_train.cP"
LEE_TEST = "filtered_list_test.cP"
LEE_ID_MAP = "MSD_id_to_7D_id.pkl"
LEE_TAG_VECTORS = "msd_id_to_tag_vector.cP"
LEE_FILES = (LEE_TRAIN, LEE_TEST, LEE_ID_MAP)
CHOI_MSD_IDS = "{split}_x_msd_id.txt"
CHOI_7D_IDS = "{split}_x_7d_id.txt"
CHOI_FILES = tuple(name.format(split=split) for split in SPLITS for name in (CHOI_MSD_IDS, CHOI_7D_IDS))
MSD_ID = re.compile(r"^TR[A-Z0-9]{16}$")
SEVEN_DIGITAL_ID = re.compile(r"^[0-9]+$")
WHICH = ("choi", "lee", "both")


# NumPy kinds whose items are plain bytes: bool, signed and unsigned int, float, complex,
# bytes and str. Everything else (objects, structured or void, datetimes) is refused.
_PLAIN_KINDS = "biufcSU"


def _refuse(what):
    raise pickle.UnpicklingError(f"refused: {what}")


def _raw_bytes(data, what):
    """Pickled raw data as bytes: Python 3 bytes, or a Python 2 str (read as latin-1)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        try:
            return data.encode("latin1")
        except UnicodeEncodeError:
            pass
    _refuse(f"{what} is a {type(data).__name__}, not raw bytes")


class _Global:
    """A NumPy global a pickle may name: calls `function` (None: refuses calls); a BUILD
    (`__setstate__`) on it is refused, so a pickle cannot change the stand-ins."""

    def __init__(self, name, function=None):
        self.name, self.function = name, function

    def __call__(self, *args):
        if self.function is None:
            _refuse(f"a call of {self.name}")
        return self.function(*args)

    def __setstate__(self, state):
        _refuse(f"a state for {self.name}")


class _Dtype:
    """Stands in for `numpy.dtype(spec, align, copy)` while unpickling: only plain scalar dtypes.

    NumPy pickles a dtype as that call followed by `__setstate__((3, byteorder, subarray,
    names, fields, elsize, alignment, flags))`; only the byte order is taken from the state,
    and the real dtype is built afresh from its spec, so a crafted state (fields, flags)
    cannot reach NumPy.
    """

    def __init__(self, spec, align=False, copy=True):
        if not isinstance(spec, str) or len(spec) > 8:
            _refuse(f"a NumPy dtype spec {spec!r}")
        try:
            dtype = np.dtype(spec)
        except Exception:  # noqa: BLE001 - whatever NumPy says, the spec is refused
            _refuse(f"the NumPy dtype {spec!r}")
        if dtype.kind not in _PLAIN_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            _refuse(f"the NumPy dtype {spec!r} (only bool, numbers, bytes and str)")
        self.dtype = dtype

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            _refuse("a NumPy dtype state of an unknown form")
        byteorder, subarray, names, fields, elsize = state[1:6]
        if subarray is not None or names is not None or fields is not None or state[8:] not in ((), (None,)):
            _refuse("a NumPy dtype state with fields or a subarray")
        if elsize not in (-1, self.dtype.itemsize) or byteorder not in ("<", ">", "|", "="):
            _refuse(f"a NumPy dtype state {state!r}")
        if byteorder in "<>":
            self.dtype = self.dtype.newbyteorder(byteorder)


def _checked_dtype(value, what):
    if not isinstance(value, _Dtype) or not isinstance(getattr(value, "dtype", None), np.dtype):
        _refuse(f"{what} is a {type(value).__name__}, not a NumPy dtype")
    if value.dtype.itemsize == 0:
        _refuse(f"{what} has no size")
    return value.dtype


# `numpy.ndarray` only as `_reconstruct`'s first argument, as NumPy pickles arrays; calling it
# (an ndarray of any dtype over any buffer) is refused.
_NDARRAY = _Global("numpy.ndarray")


class _Array:
    """What `_reconstruct(ndarray, (0,), b"b")` returns here; `__setstate__` gets the array's
    `(version, shape, dtype, is_fortran, rawdata)` and builds it from exactly its bytes."""

    array = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5) or (len(state) == 5 and state[0] != 1):
            _refuse("a NumPy array state of an unknown form")
        shape, dtype, is_fortran, rawdata = state[-4:]
        if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
            _refuse(f"a NumPy array shape {shape!r}")
        dtype = _checked_dtype(dtype, "the array's dtype")
        rawdata = _raw_bytes(rawdata, "the array's data")
        if len(rawdata) != math.prod(shape) * dtype.itemsize:
            _refuse(f"{len(rawdata)} bytes of data for an array of shape {shape} and dtype {dtype}")
        order = "F" if is_fortran else "C"
        self.array = np.frombuffer(rawdata, dtype=dtype).reshape(shape, order=order).copy(order=order)


def _reconstruct(cls, shape, typecode):
    """Stands in for `numpy.core.multiarray._reconstruct` (NumPy's array pickles)."""
    if cls is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        _refuse("numpy _reconstruct with arguments NumPy does not pickle")
    return _Array()


def _scalar(dtype, data):
    """Stands in for `numpy.core.multiarray.scalar`: a plain NumPy scalar from its bytes."""
    dtype = _checked_dtype(dtype, "the scalar's dtype")
    data = _raw_bytes(data, "the scalar's data")
    if len(data) != dtype.itemsize:
        _refuse(f"{len(data)} bytes for a scalar of dtype {dtype}")
    return np.frombuffer(data, dtype=dtype)[0].copy()


def _codecs_encode(text, encoding):
    """Stands in for `_codecs.encode`, which Python 3 protocol-2 pickles use for bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        _refuse("_codecs.encode other than of a str to latin-1")
    return text.encode("latin1")


def _finish(value, done=None):
    """`value` with every `_Array` replaced by its array and every `_Dtype` by its dtype,
    through lists, tuples, dicts and sets (each container once, so cycles end)."""
    done = {} if done is None else done
    if isinstance(value, _Array):
        if value.array is None:
            _refuse("a NumPy array without its data")
        return value.array
    if isinstance(value, _Dtype):
        return _checked_dtype(value, "a dtype")
    if callable(value):  # a global named but not called
        _refuse(f"a {type(value).__name__} in the data")
    if not isinstance(value, (list, tuple, dict, set, frozenset)):
        return value
    if id(value) in done:
        return done[id(value)]
    if isinstance(value, list):
        done[id(value)] = value
        value[:] = [_finish(item, done) for item in value]
        return value
    if isinstance(value, dict):
        done[id(value)] = value
        items = [(_finish(key, done), _finish(item, done)) for key, item in value.items()]
        value.clear()
        value.update(items)
        return value
    result = type(value)(_finish(item, done) for item in value)
    done[id(value)] = result
    return result


class RestrictedUnpickler(pickle.Unpickler):
    """A `pickle.Unpickler` that builds only plain data and NumPy arrays of plain dtypes.

    The split pickles hold lists, dicts, strings, numbers and (the tag vectors) NumPy arrays.
    `find_class` refuses every global (e.g. `os.system`, `builtins.eval`, `numpy.ndarray` as a
    callable), so a tampered file cannot run code. NumPy's own pickling globals
    (`_reconstruct`, `scalar`, `dtype`, `ndarray` as `_reconstruct`'s argument) are replaced
    by stand-ins that rebuild an array only as `np.frombuffer(data, dtype).reshape(shape)` of
    exactly `shape x itemsize` bytes, for bool, number, bytes and str dtypes; object,
    structured and other dtypes are refused, so the data cannot hold pointers NumPy would
    follow. Python 2 strings are decoded as latin-1 (so NumPy gets its raw bytes back).
    Use `load` (or `load_pickle`), which also swaps the stand-ins for the real arrays.

    Args:
        file: a binary file object.
    """

    _ALLOWED = {
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): _Dtype,  # a class: a BUILD on it calls __setstate__ unbound and fails
        ("_codecs", "encode"): _Global("_codecs.encode", _codecs_encode),
    }
    for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # NumPy 1 and 2 names
        _ALLOWED[_module, "_reconstruct"] = _Global(f"{_module}._reconstruct", _reconstruct)
        _ALLOWED[_module, "scalar"] = _Global(f"{_module}.scalar", _scalar)
    del _module

    def __init__(self, file):
        super().__init__(file, encoding="latin1")

    def find_class(self, module, name):
        """Returns a stand-in of an allowed NumPy global; raises `pickle.UnpicklingError` otherwise.

        Args:
            module, name: the global the pickle refers to.
        """
        found = self._ALLOWED.get((module, name))
        if found is None:
            _refuse(f"the pickle refers to {module}.{name}")
        return found

    def load(self):
        """The unpickled value, NumPy arrays built (see the class docstring)."""
        return _finish(super().load())


def load_pickle(path):
    """Loads one of the split pickles with `RestrictedUnpickler`.

    Args:
        path: the file.

    Raises:
        DatasetError: unreadable, refused or not a pickle.
    """
    try:
        with open(path, "rb") as handle:
            return RestrictedUnpickler(handle).load()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read ({error})") from error
    except Exception as error:  # any malformed or refused pickle
        raise DatasetError(f"{path}: not a plain-data pickle of the MSD split files ({error})") from error


def _text(value, path, what):
    """A pickled Python 2 str (bytes, or str decoded as latin-1) or an int, as a stripped str."""
    if isinstance(value, bytes):
        value = value.decode("latin1")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise DatasetError(f"{path}: expected {what} as strings, found {type(value).__name__} {value!r}")
    return value.strip()


def _check_msd_id(track_id, where):
    if not MSD_ID.match(track_id):
        raise DatasetError(f"{where}: {track_id!r} is not an MSD track id (TR + 16 letters or digits)")
    return track_id


def read_id_list(path):
    """The MSD track ids of a split list: Choi's text file or Lee's `.cP` pickle.

    Args:
        path: a `*_x_msd_id.txt` (one id per line) or `filtered_list_*.cP` (a pickled list).

    Raises:
        DatasetError: unreadable, or an entry that is not an MSD track id.
    """
    if path.endswith(".txt"):
        with utf8_errors(path), open(path, encoding="utf-8") as handle:
            lines = [line.strip() for line in handle]
        return [_check_msd_id(line, f"{path}, line {n}") for n, line in enumerate(lines, 1) if line]
    items = load_pickle(path)
    if not isinstance(items, (list, tuple)):
        raise DatasetError(f"{path}: expected a pickled list of MSD ids, found {type(items).__name__}")
    return [_check_msd_id(_text(item, path, "MSD ids"), f"{path}, item {n}") for n, item in enumerate(items)]


def read_choi_split(folder):
    """Choi's split and its MSD -> 7digital map from `{split}_x_msd_id.txt` / `{split}_x_7d_id.txt`.

    The two files of a split are taken as aligned line by line (not verified upstream); they
    must at least have the same number of lines.

    Args:
        folder: the folder holding the six text files.

    Returns:
        `({split: [msd ids]}, {msd id: 7digital id})`.

    Raises:
        DatasetError: a missing file, an entry that is not an id, or files of different lengths.
    """
    splits, seven_digital = {}, {}
    for split in SPLITS:
        msd_path = _need(folder, CHOI_MSD_IDS.format(split=split), "choi")
        ids_path = _need(folder, CHOI_7D_IDS.format(split=split), "choi")
        msd_ids = read_id_list(msd_path)
        with utf8_errors(ids_path), open(ids_path, encoding="utf-8") as handle:
            numbers = [line.strip() for line in handle if line.strip()]
        if len(numbers) != len(msd_ids):
            raise DatasetError(
                f"{ids_path} has {len(numbers)} ids and {msd_path} {len(msd_ids)}: the two lists of a "
                "split must be aligned line by line"
            )
        for number, line in zip(numbers, range(1, len(numbers) + 1)):
            if not SEVEN_DIGITAL_ID.match(number):
                raise DatasetError(f"{ids_path}, line {line}: {number!r} is not a 7digital id")
        splits[split] = msd_ids
        seven_digital.update(zip(msd_ids, numbers))
    return splits, seven_digital


def read_lee_split(folder, train_size=PUBLISHED_COUNTS["lee"]["train"]):
    """Lee's split: `filtered_list_train.cP` (train then valid) and `filtered_list_test.cP`.

    Args:
        folder: the folder holding the two pickles.
        train_size: how many ids at the start of the train pickle are train (the README's
            201,680); the rest are valid.

    Returns:
        `{split: [msd ids]}`.

    Raises:
        DatasetError: a missing or refused file, or a train list not longer than `train_size`.
    """
    train_valid = read_id_list(_need(folder, LEE_TRAIN, "lee"))
    test = read_id_list(_need(folder, LEE_TEST, "lee"))
    if len(train_valid) <= train_size:
        raise DatasetError(
            f"{os.path.join(folder, LEE_TRAIN)} has {len(train_valid)} ids, not more than the {train_size} "
            "train ids that come first (the rest are valid); give the train size of this list "
            "(--lee-train-size)"
        )
    return {"train": train_valid[:train_size], "valid": train_valid[train_size:], "test": test}


def _load_dict(path, what):
    """A pickled dict, through the restricted unpickler; `what` names its keys and values."""
    mapping = load_pickle(path)
    if not isinstance(mapping, dict):
        raise DatasetError(f"{path}: expected a pickled dict {what}, found {type(mapping).__name__}")
    return mapping


def read_lee_id_map(path):
    """`{msd id: 7digital id}` from Lee's `MSD_id_to_7D_id.pkl` (ids as str).

    Args:
        path: the pickle.

    Raises:
        DatasetError: refused, not a dict, or a value that is not a 7digital id.
    """
    mapping = _load_dict(path, "MSD id -> 7digital id")
    result = {}
    for key, value in mapping.items():
        key, value = _text(key, path, "MSD ids"), _text(value, path, "7digital ids")
        if not SEVEN_DIGITAL_ID.match(value):
            raise DatasetError(f"{path}: {value!r} (for {key}) is not a 7digital id")
        result[key] = value
    return result


def read_tag_vectors(path, num_tags=50):
    """`{msd id: float vector}` from Lee's `msd_id_to_tag_vector.cP`.

    Args:
        path: the pickle.
        num_tags: the vectors' length.

    Raises:
        DatasetError: refused, not a dict, or a vector of another size.
    """
    mapping = _load_dict(path, "MSD id -> tag vector")
    vectors = {}
    for key, value in mapping.items():
        key = _text(key, path, "MSD ids")
        try:
            vector = np.asarray(value, dtype=np.float64).ravel()
        except (TypeError, ValueError) as error:
            raise DatasetError(f"{path}: the tag vector of {key} is not numeric ({error})") from error
        if vector.size != num_tags:
            raise DatasetError(
                f"{path}: the tag vector of {key} has {vector.size} values, expected {num_tags}"
            )
        vectors[key] = vector
    return vectors


def split_counts(which, folder, lee_train_size=PUBLISHED_COUNTS["lee"]["train"]):
    """`{split: number of ids}` of a split's lists in `folder` (also checks Choi's alignment).

    Args:
        which: `"choi"` or `"lee"`.
        folder: the folder holding the lists.
        lee_train_size: see `read_lee_split`.
    """
    splits = read_choi_split(folder)[0] if which == "choi" else read_lee_split(folder, lee_train_size)
    return {split: len(ids) for split, ids in splits.items()}


def count_mismatches(counts, expected):
    """Lines naming each split whose count differs from the expected one (empty: all match).

    Args:
        counts, expected: `{split: count}`.
    """
    return [
        f"{split}: {counts.get(split)} ids, published {expected[split]:,}"
        for split in SPLITS
        if counts.get(split) != expected[split]
    ]


def file_urls(which, base_url=DEFAULT_BASE_URL, tag_vectors=False):
    """`[(file name, url)]` of the files `download` fetches.

    Args:
        which: `"choi"`, `"lee"` or `"both"`.
        base_url: where the repositories are, `<base>/<owner>/<repo>/<commit>/<path>` (raw GitHub).
        tag_vectors: also Lee's `msd_id_to_tag_vector.cP`.
    """
    base = base_url.rstrip("/")
    urls = []
    if which in ("choi", "both"):
        urls += [(name, f"{base}/{CHOI_REPO}/{CHOI_COMMIT}/{name}") for name in CHOI_FILES]
    if which in ("lee", "both"):
        names = LEE_FILES + ((LEE_TAG_VECTORS,) if tag_vectors else ())
        urls += [(name, f"{base}/{LEE_REPO}/{LEE_COMMIT}/{LEE_FOLDER}/{name}") for name in names]
    return urls


def download(which, out, base_url=DEFAULT_BASE_URL, expected=None, tag_vectors=False, progress=True):
    """Downloads the split files into `out`, checks their counts, then moves them into place.

    Every file is fetched into a temporary folder inside `out`; only when all of them are there
    and every split's counts equal the expected ones are they moved (each `os.replace`d) into
    `out`, so a failed or refused download leaves `out` as it was.

    Args:
        which: `"choi"`, `"lee"` or `"both"`.
        out: the destination folder (created).
        base_url: see `file_urls`; a `file://` URL works too.
        expected: `{"choi"|"lee": {split: count}}`; default `PUBLISHED_COUNTS`.
        tag_vectors: also fetch Lee's tag vectors (a tag source for the converter).
        progress: show tqdm bars.

    Returns:
        The paths written.

    Raises:
        DatasetError: a download failed, a file is unreadable, or counts differ.
    """
    if which not in WHICH:
        raise DatasetError(f"--which must be one of {', '.join(WHICH)}, got {which!r}")
    expected = PUBLISHED_COUNTS if expected is None else expected
    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".msd-splits-", dir=out)
    try:
        for name, url in file_urls(which, base_url, tag_vectors):
            _fetch(url, os.path.join(staging, name), progress)
        for split in ("choi", "lee") if which == "both" else (which,):
            counts = split_counts(split, staging, expected[split]["train"])
            problems = count_mismatches(counts, expected[split])
            if problems:
                raise DatasetError(
                    f"refused the {split} split from {base_url}: its counts differ from the published ones "
                    f"({'; '.join(problems)}); nothing was written to {out}"
                )
            log.info("%s split: %s ids, as published", split, " / ".join(f"{counts[s]:,}" for s in SPLITS))
        if which in ("lee", "both"):
            _log_coverage(staging, expected["lee"]["train"], tag_vectors)
        written = []
        for name, _ in file_urls(which, base_url, tag_vectors):
            target = os.path.join(out, name)
            os.replace(os.path.join(staging, name), target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _log_coverage(folder, train_size, tag_vectors):
    """Logs how many listed ids Lee's id map (and tag vectors) cover: not published, so not refused."""
    listed = {i for ids in read_lee_split(folder, train_size).values() for i in ids}
    mapping = read_lee_id_map(os.path.join(folder, LEE_ID_MAP))
    log.info(
        "%s: 7digital ids for %d of the %d listed tracks", LEE_ID_MAP, len(listed & set(mapping)), len(listed)
    )
    if tag_vectors:
        vectors = read_tag_vectors(os.path.join(folder, LEE_TAG_VECTORS))
        log.info("%s: tag vectors for %d of the %d listed tracks", LEE_TAG_VECTORS,
                 len(listed & set(vectors)), len(listed))  # fmt: skip


def _fetch(url, path, progress):
    """Copies `url` to `path` (written as `path.part`, then renamed), with a byte progress bar."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            total = response.headers.get("Content-Length")
            with open(path + ".part", "wb") as handle, tqdm(
                total=int(total) if total else None, unit="B", unit_scale=True, desc=os.path.basename(path),
                disable=not progress, leave=False,
            ) as bar:  # fmt: skip
                while chunk := response.read(1 << 16):
                    handle.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DatasetError(f"could not download {url}: {error}") from error
    os.replace(path + ".part", path)


def _need(folder, name, which):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise DatasetError(
            f"{path} not found: the {which} split lists are not in {folder}; fetch them with "
            f"`python -m tfrecords_tools msd-splits --which {which} --out {folder}`"
        )
    return path


def add_arguments(parser):
    """Adds the `msd-splits` options to an argparse (sub)parser.

    Args:
        parser: the parser.
    """
    parser.add_argument("--out", required=True, help="folder to write the split files to (created)")
    parser.add_argument("--which", choices=WHICH, default="both", help="which split's files (default both)")
    parser.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help=f"where the pinned repositories are, as <base>/<owner>/<repo>/<commit>/<path> (default {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--tag-vectors",
        action="store_true",
        help=f"also fetch Lee's {LEE_TAG_VECTORS} (a tag source for `msd`)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def run(args):
    """The `msd-splits` command: `download` from parsed arguments; returns the exit code.

    Args:
        args: the parsed arguments.
    """
    written = download(args.which, args.out, args.base_url, tag_vectors=args.tag_vectors,
                       progress=not args.no_progress)  # fmt: skip
    log.info("wrote %d files to %s", len(written), os.path.abspath(args.out))
    return 0


def default_split_dir():
    """The package's `keras_samplecnn/resources/msd` folder (where vendored lists would be)."""
    import importlib.resources

    return str(importlib.resources.files("keras_samplecnn") / "resources" / "msd")


def require_split_dir(split_dir, which):
    """`split_dir`, or the package's folder when None; a clear error when the lists are absent.

    Args:
        split_dir: a folder or None.
        which: `"choi"` or `"lee"`, for the message.
    """
    if split_dir is not None:
        return require_dir(split_dir, f"{which} split folder (--split-dir)")
    folder = default_split_dir()
    if not os.path.isdir(folder):
        raise DatasetError(
            f"the MSD split lists are not shipped in this installation ({folder} does not exist); "
            f"fetch them with `python -m tfrecords_tools msd-splits --which {which} --out DIR` and pass "
            "--split-dir DIR (a maintainer vendors them with `python -m tfrecords_tools msd-splits "
            "--out keras_samplecnn/resources/msd`)"
        )
    return folder
