"""GTZAN genre collection (Tzanetakis & Cook, 2002), as distributed.

Layout (either the original archive or the common Kaggle re-packaging):

    root/genres/<genre>/<genre>.000NN.au          original: 10 genres x 100 30-s clips,
    root/genres_original/<genre>/<genre>.000NN.wav     22050 Hz mono
    root/<genre>/<genre>.000NN.wav                 `--root` may also be the genres folder

Single-label; the classes are the sorted genre folders (blues, classical, country, disco,
hiphop, jazz, metal, pop, reggae, rock). The Kaggle copy has one corrupt file,
`jazz/jazz.00054.wav`, which ends up in `rejected.csv`.

GTZAN has no official split: `--split-ratio` (default 0.8,0.1,0.1, stratified per genre,
deterministic with `--seed`) or `--split-files` with three lists (train, valid, test), lines like
`blues/blues.00029.wav`, matched on the file name without extension (so `.au` lists fit `.wav`
files). Files in none of the lists are dropped; list entries with no file in the folder are
reported.

`--split-files filtered` uses the packaged fault-filtered split of Kereliuk, Sturm & Larsen
(2015), "Deep learning and music adversaries" (IEEE Trans. Multimedia): 443 train / 197 valid /
290 test files, split so that no artist is in two splits and with repetitions, distortions and
mislabelled files (Sturm's analysis of GTZAN's faults) left out. The lists are
`gtzan/{train,valid,test}_filtered.txt` of github.com/coreyker/dnn-mgr (identical copies in
minzwon/sota-music-tagging-models `split/gtzan/`); they name 930 of GTZAN's 1000 files, so the
other 70 are dropped.
"""

import importlib.resources
import logging
import os

from tfrecords_tools.common import (
    SPLITS,
    list_audio_files,
    one_hot,
    read_split_files,
    require_dir,
    split_by_ratio,
    split_ratio_argument,
)
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan

log = logging.getLogger(__name__)

NAME = "gtzan"
DEFAULTS = {"sample_rate": 22050, "segment_length": 59049, "shard_size": 64}
GENRE_FOLDERS = ("genres", "genres_original")
NUM_GENRES = 10
FILTERED = "filtered"


def add_arguments(parser):
    """Adds the GTZAN options to an argparse (sub)parser."""
    parser.add_argument(
        "--root", required=True, help="folder holding genres/ or genres_original/, or the genres folder"
    )
    parser.add_argument(
        "--split-ratio",
        default="0.8,0.1,0.1",
        type=split_ratio_argument,
        help="train,valid,test fractions per genre (default 0.8,0.1,0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument(
        "--split-files",
        nargs="+",
        metavar="FILE",
        help="train.txt valid.txt test.txt (lines like blues/blues.00000.wav, matched on the name "
        "without extension) instead of a ratio, or 'filtered' for the packaged fault-filtered "
        "split of Kereliuk, Sturm & Larsen (2015), 'Deep learning and music adversaries' "
        "(443/197/290 files, lists from github.com/coreyker/dnn-mgr gtzan/*_filtered.txt); "
        "files in none of the lists are dropped (70 of the 1000 with 'filtered')",
    )


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments."""
    return plan(args.root, split_ratio=args.split_ratio, seed=args.seed, split_files=args.split_files)


def plan(root, split_ratio=(0.8, 0.1, 0.1), seed=0, split_files=None):
    """Plans the conversion of a GTZAN folder.

    Args:
        root: a folder holding `genres/` or `genres_original/`, or the genres folder itself.
        split_ratio: `(train, valid, test)` fractions, applied per genre.
        seed: seed of the deterministic ratio split.
        split_files: None (ratio split), `"filtered"` / `["filtered"]` (the packaged
            fault-filtered lists of Kereliuk et al. 2015, see `filtered_split_files()`), or
            three paths (train, valid, test); files in none of the lists are dropped.

    Returns:
        A single-label `DatasetPlan`.

    Raises:
        DatasetError: missing root, no genre folders, unreadable split lists or not 3 of them.
    """
    root = require_dir(root, "GTZAN root")
    genre_root = next(
        (os.path.join(root, name) for name in GENRE_FOLDERS if os.path.isdir(os.path.join(root, name))),
        root,
    )
    files = {}
    for genre in sorted(os.listdir(genre_root)):
        folder = os.path.join(genre_root, genre)
        if not genre.startswith(".") and os.path.isdir(folder) and list_audio_files(folder):
            files[genre] = list_audio_files(folder)
    if not files:
        raise DatasetError(
            f"{root}: no genre folders; expected genres/<genre>/<genre>.000NN.wav (or .au), "
            "genres_original/<genre>/..., or --root pointing at the genres folder"
        )
    genres = sorted(files)
    if len(genres) != NUM_GENRES:
        log.warning("found %d genre folders; GTZAN has %d", len(genres), NUM_GENRES)

    paths = {f"{genre}/{name}": genre for genre in genres for name in files[genre]}
    if split_files:
        split_of_stem = read_split_files(_split_list_paths(split_files), key=_stem)
        split_of = {path: split_of_stem[_stem(path)] for path in paths if _stem(path) in split_of_stem}
        if len(split_of) < len(paths):
            log.info(
                "%d of the %d files in %s are in none of the split lists (dropped)",
                len(paths) - len(split_of),
                len(paths),
                genre_root,
            )
        _log_missing(split_of_stem, {_stem(path) for path in paths}, genre_root)
    else:
        split_of = split_by_ratio(list(paths), split_ratio, seed, strata=paths)

    jobs = [
        ClipJob(
            source=os.path.join(genre_root, path),
            path=path,
            clip_id=_stem(path),
            labels=one_hot(genres.index(genre), len(genres)),
            split=split_of[path],
        )
        for path, genre in sorted(paths.items())
        if path in split_of
    ]
    log.info(
        "%d genres; %s", len(genres), ", ".join(f"{s} {sum(job.split == s for job in jobs)}" for s in SPLITS)
    )
    return DatasetPlan(dataset=NAME, task="single_label", tags=genres, source=genre_root, jobs=jobs)


def filtered_split_files():
    """Paths of the packaged fault-filtered split lists (train, valid, test).

    Kereliuk, Sturm & Larsen (2015), "Deep learning and music adversaries"; copied from
    github.com/coreyker/dnn-mgr `gtzan/{train,valid,test}_filtered.txt`.
    """
    folder = importlib.resources.files("keras_samplecnn") / "resources"
    return [str(folder / f"gtzan_filtered_{split}.txt") for split in SPLITS]


def _split_list_paths(split_files):
    """`"filtered"` -> the packaged lists; otherwise the three given paths."""
    if isinstance(split_files, (str, os.PathLike)):
        split_files = [split_files]
    split_files = list(split_files)
    if len(split_files) == 1 and str(split_files[0]) == FILTERED:
        return filtered_split_files()
    if len(split_files) != len(SPLITS):
        raise DatasetError(
            f"--split-files expects '{FILTERED}' or 3 files (train valid test), got {split_files}"
        )
    return split_files


def _log_missing(split_of_stem, stems, genre_root):
    """Warns about split-list entries that have no file in the folder."""
    missing = sorted(stem for stem in split_of_stem if stem not in stems)
    if not missing:
        return
    per_split = ", ".join(f"{split} {sum(split_of_stem[m] == split for m in missing)}" for split in SPLITS)
    log.warning(
        "%d of the %d files on the split lists are missing from %s (%s); e.g. %s",
        len(missing),
        len(split_of_stem),
        genre_root,
        per_split,
        ", ".join(missing[:5]),
    )


def _stem(path):
    """`blues/blues.00000.wav` -> `blues.00000`."""
    return os.path.splitext(os.path.basename(path))[0]
