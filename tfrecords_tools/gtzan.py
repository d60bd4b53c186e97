"""GTZAN genre collection (Tzanetakis & Cook, 2002), as distributed.

Layout (either the original archive or the common Kaggle re-packaging):

    root/genres/<genre>/<genre>.000NN.au          original: 10 genres x 100 30-s clips,
    root/genres_original/<genre>/<genre>.000NN.wav     22050 Hz mono
    root/<genre>/<genre>.000NN.wav                 `--root` may also be the genres folder

Single-label; the classes are the sorted genre folders (blues, classical, country, disco,
hiphop, jazz, metal, pop, reggae, rock). The Kaggle copy has one corrupt file,
`jazz/jazz.00054.wav`, which ends up in `rejected.csv`.

GTZAN has no official split: `--split-ratio` (default 0.8,0.1,0.1, stratified per genre,
deterministic with `--seed`) or `--split-files` with lists such as the artist-filtered split
of Kereliuk et al. (2015), lines like `blues/blues.00029.wav` (matched on the file name without
extension, so `.au` lists fit `.wav` files).
"""

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
        nargs=3,
        metavar=("TRAIN", "VALID", "TEST"),
        help="split lists (lines like blues/blues.00000.wav) instead of a ratio",
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
        split_files: optional (train, valid, test) lists; files in none of them are dropped.

    Returns:
        A single-label `DatasetPlan`.

    Raises:
        DatasetError: missing root, no genre folders, unreadable split lists.
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
        split_of_stem = read_split_files(split_files, key=_stem)
        split_of = {path: split_of_stem[_stem(path)] for path in paths if _stem(path) in split_of_stem}
        log.info(
            "%d files are in none of the split lists (dropped); %d list entries match no file",
            len(paths) - len(split_of),
            len(set(split_of_stem) - {_stem(p) for p in paths}),
        )
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


def _stem(path):
    """`blues/blues.00000.wav` -> `blues.00000`."""
    return os.path.splitext(os.path.basename(path))[0]
