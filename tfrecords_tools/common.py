"""Helpers shared by the dataset layouts: checked paths, split lists, deterministic splits."""

import argparse
import codecs
import collections
import contextlib
import csv
import logging
import os
import posixpath
import random
import re

from tfrecords_tools.errors import DatasetError

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
# Files and folders starting with this are a run's temporary writes: removed by the next run.
TMP_PREFIX = ".tmp-"
_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "valid": "valid",
    "val": "valid",
    "validation": "valid",
    "test": "test",
    "testing": "test",
}
# Extensions tried when a layout lists a folder; soundfile decodes all of them.
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".au", ".aiff", ".aif")
# 7digital previews (the MSD's audio) are named `<id>.clip.mp3`.
CLIP_SUFFIX = ".clip.mp3"
_DRIVE = re.compile(r"^[A-Za-z]:")  # C:/x, C:x: absolute or drive-relative on Windows


def require_dir(path, what):
    """Returns `path` as an absolute path, or raises `DatasetError` if it is not a folder."""
    if not os.path.isdir(path):
        raise DatasetError(f"{what} not found: {path} is not an existing folder")
    return os.path.abspath(path)


def require_file(path, what):
    """Returns `path` as an absolute path, or raises `DatasetError` if it is not a file."""
    if not os.path.isfile(path):
        raise DatasetError(f"{what} not found: expected the file {path}")
    return os.path.abspath(path)


def clean_path(text):
    """A relative path read from a label file, in one spelling: stripped, backslashes as `/`,
    and `.`, `..` and repeated slashes folded lexically (`posixpath.normpath`), so that
    `./a.wav`, `x/../a.wav` and `a.wav` are one file. Empty text stays empty.

    Args:
        text: the path as written in the file.
    """
    text = text.strip().replace("\\", "/")
    return posixpath.normpath(text) if text else ""


def leaves_root(path):
    """True where a `clean_path` result would name a file outside the folder it is relative
    to: an absolute path (`/x`, `//server/x`, `C:/x`), `..` or a path starting `../`.

    Args:
        path: a path from `clean_path`.
    """
    return path.startswith("/") or _DRIVE.match(path) is not None or path == ".." or path.startswith("../")


def source_in_root(root, path):
    """The file a label file's `path` names under `root`, or None if it lies outside `root`.

    Label files (a folder CSV, MTAT's `mp3_path`, an artist CSV, DCASE clip names) are
    data, not trusted configuration: a row `../../home/me/.ssh/id_rsa` must not be read
    into the shards. The decision is lexical (`clean_path`, then absolute paths and `..`
    escapes are refused), so it costs no file-system access and does not depend on what
    exists. Symbolic links inside the root are followed: the root's owner made them.

    Args:
        root: the dataset folder (absolute).
        path: the path as read from the label file.

    Returns:
        `os.path.join(root, cleaned path)`, or None where the path leaves `root`.
    """
    path = clean_path(path)
    if not path or path == "." or leaves_root(path):
        return None
    return os.path.join(root, *path.split("/"))


def is_inside(root, path):
    """True if `path`, made absolute and normalised lexically, lies inside the folder `root`.

    Args:
        root: a folder.
        path: a file path.
    """
    root = os.path.normpath(os.path.abspath(root))
    path = os.path.normpath(os.path.abspath(path))
    return path.startswith(root.rstrip(os.sep) + os.sep)


def normalize_split(name, where):
    """Maps `train`/`valid`/`val`/`validation`/`test`/... to `train`, `valid` or `test`."""
    split = _SPLIT_ALIASES.get(name.strip().lower())
    if split is None:
        raise DatasetError(
            f"{where}: unknown split {name!r}; expected one of train, valid (or val, validation), test"
        )
    return split


def parse_split_ratio(text):
    """`"0.8,0.1,0.1"` to `(0.8, 0.1, 0.1)`: three non-negative numbers summing to 1."""
    try:
        ratio = tuple(float(part) for part in text.split(","))
    except ValueError:
        ratio = ()
    if len(ratio) != 3 or min(ratio) < 0 or abs(sum(ratio) - 1.0) > 1e-6:
        raise ValueError(f"expected three non-negative fractions train,valid,test summing to 1, got {text!r}")
    return ratio


def split_ratio_argument(text):
    """`parse_split_ratio` for argparse `type=`, so that the message reaches the user."""
    try:
        return parse_split_ratio(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def read_path_list(path):
    """Reads a split list: one relative path per line (blank lines and `#` comments skipped).

    Paths are in `clean_path`'s spelling: backslashes become slashes, so lists written on
    Windows match, and `./0/x.mp3` is `0/x.mp3`.

    Args:
        path: the list file.

    Raises:
        DatasetError: the file is missing or not UTF-8.
    """
    require_file(path, "split list")
    with utf8_errors(path), open(path, encoding="utf-8") as handle:
        lines = (line.strip() for line in handle)
        # clean_path: ./0/x.mp3 and 0/x.mp3 are one file
        return [clean_path(line) for line in lines if line and not line.startswith("#")]


def read_mixed_lines(path):
    """Yields `(line number, text without its line end)` of a text file whose lines are UTF-8
    or, some of them, Latin-1 (the Million Song Dataset's lists mix both).

    A line that is not UTF-8 is decoded as Latin-1, byte for byte, rather than with U+FFFD
    replacements that would make `Beyonc\\xe9` and `Beyonc\\xe8` one artist; how many lines
    that concerns (and the first) is logged as a warning.

    Args:
        path: the file.
    """
    fallback, first = 0, None
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
                fallback += 1
                first = first or number
            yield number, text.rstrip("\r\n")
    if fallback:
        log.warning(
            "%s: %d lines are not UTF-8 and were read as Latin-1 (the first: line %d)", path, fallback, first
        )


def read_split_files(paths, key=lambda path: path):
    """Maps `key(path)` to its split from three lists in train, valid, test order.

    Raises:
        DatasetError: a list is missing or a path is in two lists.
    """
    if len(paths) != len(SPLITS):
        raise DatasetError(f"expected 3 split lists (train valid test), got {len(paths)}")
    split_of = {}
    for split, list_path in zip(SPLITS, paths):
        for entry in read_path_list(list_path):
            previous = split_of.setdefault(key(entry), split)
            if previous != split:
                raise DatasetError(f"{list_path}: {entry} is listed in both the {previous} and {split} lists")
    return split_of


def split_by_ratio(keys, ratio, seed, strata=None):
    """Assigns each key to train/valid/test deterministically.

    Keys are sorted, shuffled with `random.Random(seed)` and cut by `ratio`; with `strata`
    (a key -> class mapping) each class is cut separately, so that every split has the same
    class balance (e.g. 80/10/10 files per GTZAN genre).

    Args:
        keys: unique, sortable identifiers (e.g. relative paths).
        ratio: `(train, valid, test)` fractions.
        seed: any int; the same seed and keys always give the same split.
        strata: optional dict from key to a stratum (class).

    Returns:
        A dict from key to split name.
    """
    groups = collections.defaultdict(list)
    for key in keys:
        groups[strata[key] if strata is not None else None].append(key)
    split_of = {}
    for stratum in sorted(groups, key=repr):
        members = sorted(groups[stratum])
        random.Random(f"{seed}:{stratum}").shuffle(members)
        num_train = round(len(members) * ratio[0])
        num_valid = round(len(members) * ratio[1])
        num_valid = min(num_valid, len(members) - num_train)
        for index, key in enumerate(members):
            if index < num_train:
                split_of[key] = "train"
            elif index < num_train + num_valid:
                split_of[key] = "valid"
            else:
                split_of[key] = "test"
    return split_of


def one_hot(index, size):
    """A one-hot label tuple."""
    labels = [0.0] * size
    labels[index] = 1.0
    return tuple(labels)


@contextlib.contextmanager
def open_csv(path, delimiter, what, errors="strict"):
    """Opens a CSV as a context manager yielding `(csv reader, header)`.

    Header names are stripped of surrounding spaces; fields may be double-quoted.

    Args:
        path: the CSV file.
        delimiter: `","` or `"\\t"`.
        what: a description of the expected content, for the error message.
        errors: `"strict"`: bytes that are not UTF-8 are a `DatasetError` (a wrong byte in
            a path or label would otherwise become U+FFFD silently); `"replace"` only for
            files whose text is shown, never matched (metadata).

    Raises:
        DatasetError: the file is empty, not UTF-8 or not parseable as CSV.
    """
    # utf-8-sig: spreadsheet programs often save CSVs with a byte-order mark.
    with utf8_errors(path), open(path, encoding="utf-8-sig", errors=errors, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quotechar='"')
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetError(f"{path}: empty file, expected {what}") from None
        except csv.Error as error:
            raise DatasetError(f"{path}: not a readable CSV ({error}), expected {what}") from error
        yield reader, [name.strip() for name in header]


@contextlib.contextmanager
def utf8_errors(path):
    """Turns a `UnicodeDecodeError` while reading the text file `path` into a `DatasetError`
    naming the line and byte offset of the file's first byte that is not UTF-8.

    Args:
        path: the file read inside the `with` block.
    """
    try:
        yield
    except UnicodeDecodeError:
        where = first_bad_utf8(path)
        if where is None:  # the error came from something else read in the block
            raise
        raise DatasetError(
            f"{path}, {where}: not UTF-8 (save the file as UTF-8; a wrong byte in a path or "
            "label would otherwise change it silently)"
        ) from None


def first_bad_utf8(path, chunk_size=1 << 20):
    """`"line N (byte M)"` of the first byte of `path` that is not valid UTF-8 (M counts from
    0), read in chunks; `"end of file"` for a multi-byte character cut at the end; None if
    the whole file decodes.

    Args:
        path: the file.
        chunk_size: bytes read at a time.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                # error.object is the bytes held back from the last chunk, then this chunk.
                position = offset - (len(error.object) - len(chunk)) + error.start
                line = lines + chunk[: max(0, position - offset)].count(b"\n") + 1
                return f"line {line} (byte {position})"
            offset += len(chunk)
            lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"line {lines + 1} (end of file)"
    return None


def list_audio_files(folder):
    """Sorted names of the audio files directly inside `folder` (hidden files skipped)."""
    return sorted(
        name
        for name in os.listdir(folder)
        if not name.startswith(".")
        and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS
        and os.path.isfile(os.path.join(folder, name))
    )


def find_audio_by_stem(audio_dir):
    """`{stem: [relative paths]}` of the audio files under `audio_dir`, from one walk.

    The stem is the name without its audio extension, or without `.clip.mp3` (7digital
    previews), so that files named by an id (an MSD track id, a 7digital id) are found at any
    depth. Hidden files and folders are skipped; folders and names are visited in sorted order.

    Args:
        audio_dir: the folder to walk.

    Returns:
        A defaultdict from stem to the sorted relative paths (with `/`) of its files.
    """
    found = collections.defaultdict(list)
    for folder, subfolders, names in os.walk(audio_dir):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(names):
            stem, extension = os.path.splitext(name)
            if name.startswith(".") or extension.lower() not in AUDIO_EXTENSIONS:
                continue
            if name.lower().endswith(CLIP_SUFFIX):
                stem = name[: -len(CLIP_SUFFIX)]
            path = os.path.relpath(os.path.join(folder, name), audio_dir).replace(os.sep, "/")
            found[stem].append(path)
    return found
