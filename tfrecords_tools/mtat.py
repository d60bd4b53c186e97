"""MagnaTagATune (MTAT), read exactly as distributed.

Layout (Law et al., 2009, https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset):

    root/
      annotations_final.csv   TAB separated, every field double-quoted: "clip_id", 188 tag
                              columns ("0"/"1"), "mp3_path" last
      clip_info_final.csv     optional, TAB separated & quoted: clip_id, track_number, title,
                              artist, album, url, segmentStart, segmentEnd, original_url,
                              mp3_path
      0/ 1/ ... f/            the 29-s, 16 kHz mp3 clips, e.g.
                              f/american_bach_soloists-j_s__bach__cantatas_volume_v-01-...-0-29.mp3

The sample-level CNN papers (Lee et al., 2017/2018) follow the usual protocol: keep the 50 most
frequent tags, drop clips that have none of them, and split by folder (`0`-`b` train, `c` valid,
`d`-`f` test). The widely used split lists of that protocol ship with this package
(`--split-files reference`), as does the reference top-50 list the chosen tags are compared with.
"""

import csv
import importlib.resources
import logging
import os

import numpy as np

from tfrecords_tools.common import (
    SPLITS,
    clean_path,
    open_csv,
    read_split_files,
    require_dir,
    require_file,
    source_in_root,
    utf8_errors,
)
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan, Rejected

log = logging.getLogger(__name__)

NAME = "mtat"
DEFAULTS = {"sample_rate": 22050, "segment_length": 59049, "shard_size": 128}
ANNOTATIONS = "annotations_final.csv"
CLIP_INFO = "clip_info_final.csv"
NUM_TAG_COLUMNS = 188  # in the distributed annotations_final.csv
FOLDER_SPLITS = {
    **{folder: "train" for folder in "0123456789ab"},
    "c": "valid",
    **{folder: "test" for folder in "def"},
}
METADATA_COLUMNS = ("title", "artist", "album")
_EXPECTED_HEADER = f'tab-separated, double-quoted header "clip_id", {NUM_TAG_COLUMNS} tag columns, "mp3_path"'


def add_arguments(parser):
    """Adds the MTAT options to an argparse (sub)parser."""
    parser.add_argument(
        "--root", required=True, help=f"MTAT folder holding {ANNOTATIONS} and the 0/ ... f/ mp3 folders"
    )
    parser.add_argument(
        "--num-tags",
        type=int,
        default=50,
        help="keep the N most frequent tags (ties: column order); default 50",
    )
    parser.add_argument(
        "--tags",
        metavar="FILE|reference",
        help="use these tags (one per line) instead of the most frequent; "
        "'reference' = the packaged top-50 list",
    )
    parser.add_argument(
        "--split-files",
        nargs="+",
        metavar="FILE",
        help="train.txt valid.txt test.txt (one mp3_path per line), or "
        "'reference' for the packaged lists; default: split by folder "
        "(0-b train, c valid, d-f test)",
    )


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments."""
    return plan(args.root, num_tags=args.num_tags, tags=args.tags, split_files=args.split_files)


def plan(root, num_tags=50, tags=None, split_files=None):
    """Plans the conversion of an MTAT folder.

    Args:
        root: the folder holding `annotations_final.csv` and the `0/` ... `f/` folders.
        num_tags: keep the `num_tags` most frequent tags (ties broken by column order).
        tags: None, `"reference"` (the packaged top-50 list), a path to a list of tag names
            (one per line), or a list of tag names; overrides `num_tags`.
        split_files: None (split by folder), `"reference"` / `["reference"]` (the packaged
            split lists), or three paths (train, valid, test) listing one mp3_path per line.

    Returns:
        A multi-label `DatasetPlan`.

    Raises:
        DatasetError: missing root or annotations, annotations in the wrong format or not
            UTF-8, unknown tag names, unreadable split lists. An `mp3_path` that leaves the
            root (absolute or `..`) is not an error: it is not read, and listed in `rejected`.
    """
    root = require_dir(root, "MTAT root")
    annotations = require_file(os.path.join(root, ANNOTATIONS), f"MTAT {ANNOTATIONS}")
    tag_names, clip_ids, mp3_paths, matrix = read_annotations(annotations)
    chosen = _choose_tags(tag_names, matrix, num_tags, tags)
    _compare_with_reference([tag_names[index] for index in chosen])
    labels = matrix[:, chosen]
    has_tag = labels.any(axis=1)
    log.info(
        "%s: %d clips, %d with at least one of the %d chosen tags (the others are dropped)",
        ANNOTATIONS,
        len(clip_ids),
        int(has_tag.sum()),
        len(chosen),
    )

    split_of = _split_lookup(split_files)
    jobs, rejected = [], []
    unlisted = 0
    for clip_id, mp3_path, clip_labels, keep in zip(clip_ids, mp3_paths, labels, has_tag):
        if not keep:
            continue
        if not mp3_path:
            rejected.append(Rejected(f"clip_id {clip_id}", f"empty mp3_path in {ANNOTATIONS}"))
            continue
        source = source_in_root(root, mp3_path)
        if source is None:  # the annotations are data: they must not read files elsewhere
            reason = f"outside the MTAT root (absolute or '..'), not read (listed in {ANNOTATIONS})"
            rejected.append(Rejected(mp3_path, reason))
            continue
        if split_of is None:
            split = FOLDER_SPLITS.get(mp3_path.split("/")[0])
            if split is None:
                rejected.append(Rejected(mp3_path, "not under one of the folders 0/ ... f/"))
                continue
        else:
            split = split_of.get(mp3_path)
            if split is None:
                unlisted += 1
                continue
        if not os.path.isfile(source):
            rejected.append(Rejected(mp3_path, f"file not found (listed in {ANNOTATIONS})"))
            continue
        jobs.append(
            ClipJob(
                source=source,
                path=mp3_path,
                clip_id=clip_id,
                labels=tuple(float(v) for v in clip_labels),
                split=split,
            )
        )
    if split_of is not None:
        _log_split_coverage(split_of, mp3_paths, has_tag, unlisted)
    for split in SPLITS:
        log.info("%s: %d clips", split, sum(job.split == split for job in jobs))
    return DatasetPlan(
        dataset=NAME,
        task="multi_label",
        tags=[tag_names[index] for index in chosen],
        source=root,
        jobs=jobs,
        rejected=rejected,
        metadata=_read_clip_info(os.path.join(root, CLIP_INFO), {job.path for job in jobs}),
    )


def read_annotations(path):
    """Parses `annotations_final.csv`.

    Returns:
        `(tag names, clip ids, mp3 paths, uint8 matrix [clips, tags])`.

    Raises:
        DatasetError: not the distributed format (header, field count or a value not 0/1).
    """
    with open_csv(path, "\t", _EXPECTED_HEADER) as (reader, header):
        if len(header) < 3 or header[0] != "clip_id" or header[-1] != "mp3_path":
            hint = " (it looks comma-separated)" if len(header) == 1 and "," in header[0] else ""
            raise DatasetError(
                f"{path}: expected MTAT's {ANNOTATIONS}: {_EXPECTED_HEADER}; got a header "
                f"starting {header[:3]}{hint}"
            )
        tag_names = header[1:-1]
        if len(tag_names) != NUM_TAG_COLUMNS:
            log.info(
                "%s has %d tag columns (the distributed file has %d)", path, len(tag_names), NUM_TAG_COLUMNS
            )
        clip_ids, mp3_paths, rows = [], [], []
        try:
            for fields in reader:
                if not fields:
                    continue
                if len(fields) != len(header):
                    raise DatasetError(
                        f"{path}, line {reader.line_num}: {len(fields)} fields, expected "
                        f"{len(header)} ({_EXPECTED_HEADER})"
                    )
                values = fields[1:-1]
                if not set(values) <= {"0", "1"}:
                    bad = next(value for value in values if value not in ("0", "1"))
                    raise DatasetError(
                        f"{path}, line {reader.line_num}: tag value {bad!r}, expected '0' or '1'"
                    )
                clip_ids.append(fields[0].strip())
                mp3_paths.append(clean_path(fields[-1]))
                rows.append([value == "1" for value in values])
        except csv.Error as error:
            raise DatasetError(
                f"{path}, line {reader.line_num}: not readable as CSV ({error}); expected {_EXPECTED_HEADER}"
            ) from error
    matrix = np.array(rows, dtype=np.uint8).reshape(len(rows), len(tag_names))
    return tag_names, clip_ids, mp3_paths, matrix


def reference_tags():
    """The packaged reference MTAT top-50 tag list, in its label order."""
    from tfrecords_tools.mtat_layout import load_top50_tags

    return load_top50_tags()


def reference_split_files():
    """Paths of the packaged reference split lists (train, valid, test)."""
    folder = importlib.resources.files("keras_samplecnn") / "resources"
    return [str(folder / f"mtat_split_{split}.txt") for split in SPLITS]


def _choose_tags(tag_names, matrix, num_tags, tags):
    """Column indices of the chosen tags, most frequent first (or in the given order)."""
    if tags is None:
        if not 0 < num_tags <= len(tag_names):
            raise DatasetError(f"--num-tags must be between 1 and {len(tag_names)}, got {num_tags}")
        counts = matrix.sum(axis=0)
        order = sorted(range(len(tag_names)), key=lambda index: (-int(counts[index]), index))
        return order[:num_tags]
    if isinstance(tags, str):
        if tags == "reference":
            tags = reference_tags()
        else:
            require_file(tags, "tag list")
            with utf8_errors(tags), open(tags, encoding="utf-8") as handle:
                tags = [line.strip() for line in handle if line.strip()]
    unknown = [tag for tag in tags if tag not in tag_names]
    if unknown:
        raise DatasetError(f"tags not among the {ANNOTATIONS} columns: {unknown}")
    return [tag_names.index(tag) for tag in tags]


def _compare_with_reference(chosen):
    reference = reference_tags()
    if chosen == reference:
        log.info(
            "the %d chosen tags equal the packaged reference top-50 list, in the same order", len(chosen)
        )
    elif set(chosen) == set(reference):
        log.info("the chosen tags are the packaged reference top-50 set, in a different order")
    else:
        log.warning(
            "the %d chosen tags differ from the packaged reference top-50 list: only chosen: %s; "
            "only in the reference: %s",
            len(chosen),
            sorted(set(chosen) - set(reference)),
            sorted(set(reference) - set(chosen)),
        )


def _split_lookup(split_files):
    """mp3_path -> split from split lists, or None to split by folder."""
    if split_files is None:
        return None
    if isinstance(split_files, str):
        split_files = [split_files]
    if list(split_files) == ["reference"]:
        split_files = reference_split_files()
    if len(split_files) != len(SPLITS):
        raise DatasetError(
            f"--split-files expects 'reference' or 3 files (train valid test), got {split_files}"
        )
    return read_split_files(split_files)


def _log_split_coverage(split_of, mp3_paths, has_tag, unlisted):
    if unlisted:
        log.info("%d clips with chosen tags are in none of the split lists (dropped)", unlisted)
    kept = {path for path, keep in zip(mp3_paths, has_tag) if keep}
    missing = sum(path not in kept for path in split_of)
    if missing:
        log.warning(
            "%d split-list entries are not clips with a chosen tag in %s (ignored)",
            missing,
            ANNOTATIONS,
        )


def _read_clip_info(path, wanted):
    """{mp3_path: {title, artist, album}} from clip_info_final.csv, or {} if absent/unusable."""
    if not os.path.isfile(path):
        return {}
    # errors="replace": titles and artists are only copied to clips.csv, never matched.
    with open_csv(path, "\t", "MTAT clip_info_final.csv", errors="replace") as (reader, header):
        if "mp3_path" not in header or not set(METADATA_COLUMNS) <= set(header):
            # Only metadata: tell the user and go on without it.
            log.warning("%s: no mp3_path/%s columns, metadata not used", path, "/".join(METADATA_COLUMNS))
            return {}
        columns = [header.index(name) for name in ("mp3_path", *METADATA_COLUMNS)]
        metadata = {}
        try:
            for fields in reader:
                if len(fields) != len(header):
                    continue
                values = [fields[index].strip() for index in columns]
                if values[0] in wanted:
                    metadata[values[0]] = dict(zip(METADATA_COLUMNS, values[1:]))
        except csv.Error as error:
            log.warning("%s: unreadable (%s), metadata not used", path, error)
            return {}
    return metadata
