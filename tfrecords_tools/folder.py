"""A folder of audio files described by a labels CSV: the layout for your own data.

Layout:

    audio_dir/...                 audio files in any layout soundfile reads
    labels.csv                    comma- or tab-separated, with a header:
        path                      the file, relative to audio_dir (required)
        tags                      multi-label: tags separated by ';' or '|' (configurable), or
        class / label             single-label: one class name
        split                     optional: train / valid (val, validation) / test;
                                  without it, --split-ratio splits deterministically (--seed)
        clip_id                   optional: default is the path without its extension

For example:

    path,tags,split
    rock/song1.mp3,guitar;drums,train
    jazz/song2.flac,piano|slow,test

The labels are the sorted set of tags (or classes) found in the CSV. Paths are compared in one
spelling (`./a.wav` is `a.wav`); a path or clip_id listed twice is an error naming both lines.
A path that leaves audio_dir (absolute, or `..` above it) is not read: it is listed in
`rejected.csv`. The CSV must be UTF-8.
"""

import csv
import logging
import os
import re

from tfrecords_tools.common import (
    SPLITS,
    clean_path,
    normalize_split,
    one_hot,
    open_csv,
    require_dir,
    require_file,
    source_in_root,
    split_by_ratio,
    split_ratio_argument,
    utf8_errors,
)
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan, Rejected

log = logging.getLogger(__name__)

NAME = "folder"
DEFAULTS = {"sample_rate": 22050, "segment_length": 59049, "shard_size": 128}
_EXPECTED_COLUMNS = (
    "a header with a 'path' column and either 'tags' (multi-label) or 'class'/'label' "
    "(single-label), optionally 'split' and 'clip_id'"
)


def add_arguments(parser):
    """Adds the folder options to an argparse (sub)parser."""
    parser.add_argument("--audio-dir", required=True, help="folder the CSV paths are relative to")
    parser.add_argument(
        "--labels",
        required=True,
        metavar="CSV",
        help="CSV with path and tags or class/label columns (optional split, clip_id)",
    )
    parser.add_argument(
        "--tag-separators",
        default=";|",
        help="characters that separate tags in the tags column (default ';|')",
    )
    parser.add_argument(
        "--split-ratio",
        default="0.8,0.1,0.1",
        type=split_ratio_argument,
        help="train,valid,test fractions when the CSV has no split column "
        "(default 0.8,0.1,0.1; stratified by class for single-label)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the deterministic --split-ratio split (default 0)"
    )
    parser.add_argument("--name", default=NAME, help="dataset name for the manifest")


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments."""
    return plan(
        args.audio_dir,
        args.labels,
        tag_separators=args.tag_separators,
        split_ratio=args.split_ratio,
        seed=args.seed,
        dataset=args.name,
    )


def plan(audio_dir, labels_csv, tag_separators=";|", split_ratio=(0.8, 0.1, 0.1), seed=0, dataset=NAME):
    """Plans the conversion of a folder of audio files described by a labels CSV.

    Args:
        audio_dir: the folder the CSV's paths are relative to.
        labels_csv: the CSV (see the module docstring for its columns).
        tag_separators: characters separating tags in a `tags` column.
        split_ratio: `(train, valid, test)` fractions, used when there is no `split` column.
        seed: seed of the deterministic ratio split.
        dataset: dataset name for the manifest.

    Returns:
        A `DatasetPlan`, multi-label for a `tags` column, single-label for `class`/`label`.

    Raises:
        DatasetError: missing folder or CSV, a CSV that is not UTF-8, missing or ambiguous
            columns, a malformed row, a duplicate path or clip_id (paths compared after
            `clean_path`) or an unknown split name.
    """
    audio_dir = require_dir(audio_dir, "audio folder")
    labels_csv = require_file(labels_csv, "labels CSV")
    rows, columns = _read_rows(labels_csv)
    label_column = "tags" if "tags" in columns else ("class" if "class" in columns else "label")
    multi_label = label_column == "tags"
    separators = re.compile("[" + re.escape(tag_separators) + "]")

    entries = []  # (line, path, clip_id, names, split or None)
    for line, row in rows:
        path = clean_path(row["path"])
        if not path:
            raise DatasetError(f"{labels_csv}, line {line}: empty path")
        value = row[label_column].strip()
        names = [name.strip() for name in separators.split(value)] if multi_label else [value]
        names = [name for name in names if name]
        split = None
        if "split" in columns:
            split = normalize_split(row["split"], f"{labels_csv}, line {line}")
        clip_id = row.get("clip_id", "").strip() or os.path.splitext(path)[0]
        entries.append((line, path, clip_id, names, split))
    _check_unique(labels_csv, entries)

    tags = sorted({name for entry in entries for name in entry[3]})
    if not tags:
        raise DatasetError(f"{labels_csv}: no labels in the '{label_column}' column")
    index = {tag: position for position, tag in enumerate(tags)}
    split_of = {}
    if "split" not in columns:
        strata = None if multi_label else {e[1]: e[3][0] for e in entries if e[3]}
        keys = [entry[1] for entry in entries if strata is None or entry[1] in strata]
        split_of = split_by_ratio(keys, split_ratio, seed, strata)
    jobs, rejected = [], []
    unlabelled = 0
    for line, path, clip_id, names, split in entries:
        if not names and not multi_label:
            rejected.append(Rejected(path, f"no {label_column} (line {line} of the labels CSV)"))
            continue
        unlabelled += not names
        source = source_in_root(audio_dir, path)
        if source is None:
            reason = f"outside the audio folder (absolute or '..'), not read (line {line} of the labels CSV)"
            rejected.append(Rejected(path, reason))
            continue
        if not os.path.isfile(source):
            rejected.append(Rejected(path, f"file not found (line {line} of the labels CSV)"))
            continue
        if multi_label:
            labels = tuple(1.0 if tag in names else 0.0 for tag in tags)
        else:
            labels = one_hot(index[names[0]], len(tags))
        jobs.append(
            ClipJob(source=source, path=path, clip_id=clip_id, labels=labels, split=split or split_of[path])
        )
    if unlabelled:
        log.warning("%d clips have no tags; they are kept with all-zero labels", unlabelled)
    log.info(
        "%s: %d clips, %d %s; %s",
        labels_csv,
        len(entries),
        len(tags),
        "tags" if multi_label else "classes",
        ", ".join(f"{s} {sum(job.split == s for job in jobs)}" for s in SPLITS),
    )
    return DatasetPlan(
        dataset=dataset,
        task="multi_label" if multi_label else "single_label",
        tags=tags,
        source=audio_dir,
        jobs=jobs,
        rejected=rejected,
    )


def _read_rows(path):
    """Returns `([(line, row dict)], column names)` from a comma- or tab-separated CSV."""
    with utf8_errors(path), open(path, encoding="utf-8-sig") as handle:
        first = handle.readline()
    delimiter = "\t" if "\t" in first else ","
    with open_csv(path, delimiter, _EXPECTED_COLUMNS) as (reader, header):
        columns = [name.lower() for name in header]
        label_columns = [name for name in ("tags", "class", "label") if name in columns]
        if "path" not in columns or len(label_columns) != 1:
            problem = (
                "no 'path' column"
                if "path" not in columns
                else "no label column"
                if not label_columns
                else f"several label columns {label_columns}"
            )
            raise DatasetError(f"{path}: {problem}; expected {_EXPECTED_COLUMNS}; found columns {header}")
        if len(set(columns)) != len(columns):
            raise DatasetError(f"{path}: repeated column names in {header}")
        rows = []
        try:
            for fields in reader:
                if not fields or not any(field.strip() for field in fields):
                    continue
                if len(fields) != len(columns):
                    raise DatasetError(
                        f"{path}, line {reader.line_num}: {len(fields)} fields, expected "
                        f"{len(columns)} (columns {header})"
                    )
                rows.append((reader.line_num, dict(zip(columns, fields))))
        except csv.Error as error:
            raise DatasetError(f"{path}, line {reader.line_num}: not readable as CSV ({error})") from error
    return rows, columns


def _check_unique(labels_csv, entries):
    first_line, first_id = {}, {}
    for line, path, clip_id, *_ in entries:
        if path in first_line:
            raise DatasetError(
                f"{labels_csv}, line {line}: {path} is already listed on line {first_line[path]}"
            )
        if clip_id in first_id:  # two records with one id would be one clip to every reader
            raise DatasetError(
                f"{labels_csv}, line {line}: clip_id {clip_id!r} is already used on line {first_id[clip_id]}"
            )
        first_line[path], first_id[clip_id] = line, line
