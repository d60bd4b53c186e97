"""Helpers shared by the dataset layouts: checked paths, split lists, deterministic splits."""

import argparse
import collections
import contextlib
import csv
import os
import random

from tfrecords_tools.errors import DatasetError

SPLITS = ("train", "valid", "test")
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

    Backslashes become slashes, so lists written on Windows match.
    """
    require_file(path, "split list")
    with open(path, encoding="utf-8") as handle:
        lines = (line.strip().replace("\\", "/") for line in handle)
        return [line for line in lines if line and not line.startswith("#")]


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
def open_csv(path, delimiter, what):
    """Opens a CSV as a context manager yielding `(csv reader, header)`.

    Header names are stripped of surrounding spaces; fields may be double-quoted.

    Args:
        path: the CSV file.
        delimiter: `","` or `"\\t"`.
        what: a description of the expected content, for the error message.

    Raises:
        DatasetError: the file is empty or not parseable as CSV.
    """
    # utf-8-sig: spreadsheet programs often save CSVs with a byte-order mark.
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quotechar='"')
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetError(f"{path}: empty file, expected {what}") from None
        except csv.Error as error:
            raise DatasetError(f"{path}: not a readable CSV ({error}), expected {what}") from error
        yield reader, [name.strip() for name in header]


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
