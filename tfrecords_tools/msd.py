"""The Million Song Dataset (MSD) tagging task: 7digital previews, last.fm top-50 tags, Choi's or Lee's split.

Audio, as users hold it (`--audio-dir`, found by one walk at any depth):

    audio_dir/8/9/8947470.clip.mp3   keyed by 7digital id: the previews' own tree
                                     `<1st digit>/<2nd digit>/<7d_id>.clip.mp3` (ids of 2-6
                                     digits too), or any `<7d_id>.<ext>`
    audio_dir/A/B/C/TRABC....mp3     keyed by MSD track id: MSD's tree `<tid[2]>/<tid[3]>/<tid[4]>/`
    audio_dir/TRABC....mp3           (tbertinmahieux/MSongsDB `msd_pathname.m`) or flat;
                                     `<TRACKID>.clip.mp3` and any audio extension too

`--keying auto` (default) looks a listed track up by its track id, then by its 7digital id;
`track-id` or `7digital` allow only one. The 7digital ids come from the split folder: Lee's
`MSD_id_to_7D_id.pkl`, or Choi's `*_x_msd_id.txt` / `*_x_7d_id.txt` taken as aligned line by
line (not verified upstream; both files must have the same length).

The split (`--split`, lists in `--split-dir`, default the package's `keras_samplecnn/resources/msd/`
when vendored; `python -m tfrecords_tools msd-splits` fetches them, see `tfrecords_tools.msd_splits`):

    lee   (default) jongpillee/music_dataset_split MSD_split/ @ 8a3ce9e: filtered_list_train.cP,
          whose first 201,680 ids are train and the rest (11,774) valid (`--lee-train-size`), and
          filtered_list_test.cP (28,435); tracks with audio longer than 29.1 s. The split of the
          sample-level CNN papers' MSD numbers (Lee et al. 2017, 2018).
    choi  keunwoochoi/MSD_split_for_tagging @ f5690f2 (Choi, Fazekas, Sandler, ISMIR 2016):
          {train,valid,test}_x_msd_id.txt, 201,680 / 12,634 / 28,540.

Lists whose counts differ from these published numbers are used, with a warning naming both
(users may hold a subset on purpose; their numbers are then not comparable to the papers').

The labels are the 50 last.fm tags of both splits (`keras_samplecnn/resources/msd_top50_tags.txt`,
the order of Lee's `50tagList.txt` and Choi's `tags.py`), from one tag source:

    --lastfm-db lastfm_tags.db       the Last.fm dataset's SQLite: tids(tid), tags(tag),
                                     tid_tag(tid -> tids.rowid, tag -> tags.rowid, val)
    --lastfm-json DIR [DIR ...]      Last.fm JSON trees A/B/C/TRxxx.json ({"track_id", "tags":
                                     [["rock", "100"], ...]}); a DIR holding lastfm_train/ and
                                     lastfm_test/ is searched in both
    --tag-vectors msd_id_to_tag_vector.cP   Lee's dict MSD id -> 50-value vector

A last.fm tag counts when its value is above 0 and at least `--min-tag-value` (default 0);
names must match exactly (case-sensitive: "Mellow", "Hip-Hop"). A vector entry counts when
above 0. Every listed track that is not converted is in `rejected.csv` (path: the MSD id) and
counted per split in the log: no preview under `--audio-dir`, no entry in the tag source, or
none of the 50 tags there. Nothing listed is dropped silently. Clip ids are MSD track ids;
`clips.csv` adds the 7digital id where known.
"""

import collections
import importlib.resources
import json
import logging
import os
import pathlib
import sqlite3

from tfrecords_tools import msd_splits
from tfrecords_tools.common import SPLITS, find_audio_by_stem, require_dir, require_file
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan, Rejected

log = logging.getLogger(__name__)

NAME = "msd"
DEFAULTS = {"sample_rate": 22050, "segment_length": 59049, "shard_size": 256}
SPLIT_NAMES = ("lee", "choi")
KEYINGS = ("auto", "track-id", "7digital")
LASTFM_JSON_SUBFOLDERS = ("lastfm_train", "lastfm_test")


def top50_tags():
    """The 50 last.fm tags of both MSD splits, in label order (shipped with the package)."""
    text = (importlib.resources.files("keras_samplecnn") / "resources" / "msd_top50_tags.txt").read_text(
        "utf-8"
    )
    return [line.strip() for line in text.splitlines() if line.strip()]


def add_arguments(parser):
    """Adds the MSD options to an argparse (sub)parser.

    Args:
        parser: the parser.
    """
    parser.add_argument(
        "--audio-dir", required=True, help="the previews, named by MSD track id or 7digital id"
    )
    parser.add_argument("--split", choices=SPLIT_NAMES, default="lee",
                        help="lee (default: the SampleCNN papers' MSD split) or choi (Choi et al. 2016)")  # fmt: skip
    parser.add_argument(
        "--split-dir",
        help="folder of the split files (`python -m tfrecords_tools msd-splits --out DIR`); default the "
        "package's keras_samplecnn/resources/msd when vendored",
    )
    tags = parser.add_mutually_exclusive_group(required=True)
    tags.add_argument(
        "--lastfm-db", metavar="lastfm_tags.db", help="the Last.fm dataset's SQLite tag database"
    )
    tags.add_argument("--lastfm-json", nargs="+", metavar="DIR",
                      help="Last.fm JSON folders (lastfm_train/ lastfm_test/, or their parent)")  # fmt: skip
    tags.add_argument("--tag-vectors", metavar="msd_id_to_tag_vector.cP", help="Lee's 50-tag vectors")
    parser.add_argument("--keying", choices=KEYINGS, default="auto",
                        help="how previews are named: auto (track id, else 7digital id; default), track-id, 7digital")  # fmt: skip
    parser.add_argument("--min-tag-value", type=float, default=0.0,
                        help="a last.fm tag counts when its value (0-100) is above 0 and at least this (default 0)")  # fmt: skip
    parser.add_argument(
        "--lee-train-size",
        type=int,
        default=msd_splits.PUBLISHED_COUNTS["lee"]["train"],
        help="ids at the start of filtered_list_train.cP that are train; the rest are valid (default 201680)",
    )


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments.

    Args:
        args: the parsed arguments.
    """
    return plan(
        args.audio_dir,
        split=args.split,
        split_dir=args.split_dir,
        lastfm_db=args.lastfm_db,
        lastfm_json=args.lastfm_json,
        tag_vectors=args.tag_vectors,
        keying=args.keying,
        min_tag_value=args.min_tag_value,
        lee_train_size=args.lee_train_size,
    )


def plan(audio_dir, split="lee", split_dir=None, lastfm_db=None, lastfm_json=None, tag_vectors=None,
         keying="auto", min_tag_value=0.0, lee_train_size=msd_splits.PUBLISHED_COUNTS["lee"]["train"]):  # fmt: skip
    """Plans the conversion of MSD previews with one of the two tagging splits.

    Args:
        audio_dir: the previews' folder (see the module docstring for the names found).
        split: `"lee"` or `"choi"`.
        split_dir: the folder of the split files; None: the package's `resources/msd`.
        lastfm_db, lastfm_json, tag_vectors: exactly one tag source: the SQLite path, a folder
            or list of folders of Last.fm JSON files, or Lee's tag-vector pickle.
        keying: `"auto"`, `"track-id"` or `"7digital"`.
        min_tag_value: a last.fm tag counts when its value is > 0 and >= this.
        lee_train_size: ids at the start of Lee's train pickle that are train.

    Returns:
        A multi-label `DatasetPlan` over the 50 tags; clip ids are MSD track ids.

    Raises:
        DatasetError: a missing folder or file, no or several tag sources, lists that are not in
            the expected format, a track in two splits, two files for one id, no 7digital ids
            for `--keying 7digital`.
    """
    if split not in SPLIT_NAMES:
        raise DatasetError(f"--split must be one of {', '.join(SPLIT_NAMES)}, got {split!r}")
    if keying not in KEYINGS:
        raise DatasetError(f"--keying must be one of {', '.join(KEYINGS)}, got {keying!r}")
    sources = [s for s in (lastfm_db, lastfm_json, tag_vectors) if s is not None]
    if len(sources) != 1:
        raise DatasetError("give exactly one tag source: --lastfm-db, --lastfm-json or --tag-vectors")
    audio_dir = require_dir(audio_dir, "MSD audio folder")
    split_dir = msd_splits.require_split_dir(None if split_dir is None else os.fspath(split_dir), split)
    tags = top50_tags()

    splits = _read_split(split, split_dir, lee_train_size)
    listed = [track_id for name in SPLITS for track_id in splits[name]]
    seven_digital = _seven_digital_ids(split, split_dir, keying)

    if lastfm_db is not None:
        source = require_file(os.fspath(lastfm_db), "Last.fm tag database")
        present = read_lastfm_db(source, tags, set(listed), min_tag_value)
    elif lastfm_json is not None:
        folders = [lastfm_json] if isinstance(lastfm_json, (str, os.PathLike)) else list(lastfm_json)
        source = ", ".join(os.fspath(folder) for folder in folders)
        present = read_lastfm_json(folders, tags, listed, min_tag_value)
    else:
        source = require_file(os.fspath(tag_vectors), "tag vectors")
        if min_tag_value:
            log.warning(
                "--min-tag-value applies to last.fm values, not to %s (entries above 0 count)", source
            )
        present = read_tag_vector_tags(source, tags, set(listed))

    found = find_audio_by_stem(audio_dir)
    jobs, rejected, metadata = [], [], {}
    counts = {name: collections.Counter() for name in SPLITS}
    for name in SPLITS:
        for track_id in splits[name]:
            number = seven_digital.get(track_id)
            path = _audio_path(found, track_id, number, keying, audio_dir)
            if path is None:
                rejected.append(Rejected(track_id, f"{name}: {_missing_reason(track_id, number, keying)}"))
                counts[name]["no preview"] += 1
                continue
            track_tags = present.get(track_id)
            if track_tags is None:
                rejected.append(Rejected(track_id, f"{name}: no tags in {source}"))
                counts[name]["no tags"] += 1
                continue
            if not track_tags:
                rejected.append(Rejected(track_id, f"{name}: none of the 50 tags in {source}"))
                counts[name]["none of the 50 tags"] += 1
                continue
            labels = tuple(1.0 if index in track_tags else 0.0 for index in range(len(tags)))
            jobs.append(ClipJob(source=os.path.join(audio_dir, path), path=path, clip_id=track_id,
                                labels=labels, split=name))  # fmt: skip
            if number is not None:
                metadata[path] = {"seven_digital_id": number}
            counts[name]["converted"] += 1
    for name in SPLITS:
        left_out = {reason: count for reason, count in counts[name].items() if reason != "converted"}
        log.info("%s: %d listed, %d to convert%s", name, len(splits[name]), counts[name]["converted"],
                 "".join(f", {count} {reason}" for reason, count in sorted(left_out.items())))  # fmt: skip
    missing = sum(counts[name]["no preview"] for name in SPLITS)
    if missing:
        log.warning("%d of %d listed tracks have no preview under %s (listed in rejected.csv)",
                    missing, len(listed), audio_dir)  # fmt: skip
    return DatasetPlan(dataset=NAME, task="multi_label", tags=tags, source=audio_dir, jobs=jobs,
                       rejected=rejected, metadata=metadata)  # fmt: skip


def _read_split(split, split_dir, lee_train_size):
    """`{split: [msd ids]}`, checked: no id twice; counts compared with the published ones."""
    if split == "lee":
        splits = msd_splits.read_lee_split(split_dir, lee_train_size)
    else:
        splits = msd_splits.read_choi_split(split_dir)[0]
    seen = {}
    for name in SPLITS:
        for track_id in splits[name]:
            previous = seen.setdefault(track_id, name)
            if previous != name:
                raise DatasetError(
                    f"{split_dir}: {track_id} is listed in both the {previous} and {name} lists"
                )
        if len(set(splits[name])) != len(splits[name]):  # a repeat would be converted twice
            repeated = collections.Counter(splits[name]).most_common(1)[0][0]
            raise DatasetError(f"{split_dir}: {repeated} is listed twice in the {name} list")
    counts = {name: len(ids) for name, ids in splits.items()}
    problems = msd_splits.count_mismatches(counts, msd_splits.PUBLISHED_COUNTS[split])
    if problems:
        log.warning("the %s split lists in %s differ from the published counts (%s): results are not "
                    "comparable to the papers'", split, split_dir, "; ".join(problems))  # fmt: skip
    else:
        log.info(
            "%s split: %s tracks, the published counts", split, " / ".join(f"{c:,}" for c in counts.values())
        )
    return splits


def _seven_digital_ids(split, split_dir, keying):
    """`{msd id: 7digital id}` from the split folder: the chosen split's map first, else the other's."""
    if keying == "track-id":
        return {}
    lee_map = os.path.join(split_dir, msd_splits.LEE_ID_MAP)
    choi_list = os.path.join(split_dir, msd_splits.CHOI_7D_IDS.format(split="train"))
    readers = [(lee_map, lambda: msd_splits.read_lee_id_map(lee_map)),
               (choi_list, lambda: msd_splits.read_choi_split(split_dir)[1])]  # fmt: skip
    if split == "choi":
        readers.reverse()
    for path, read in readers:
        if os.path.isfile(path):
            mapping = read()
            log.info("7digital ids of %d tracks from %s", len(mapping), path)
            return mapping
    if keying == "7digital":
        raise DatasetError(
            f"--keying 7digital needs the MSD -> 7digital ids: {msd_splits.LEE_ID_MAP} or Choi's "
            f"*_x_7d_id.txt lists in {split_dir} (`python -m tfrecords_tools msd-splits`)"
        )
    log.info("no 7digital ids in %s: previews are looked up by MSD track id only", split_dir)
    return {}


def _missing_reason(track_id, number, keying):
    """Why a listed track has no preview: the names looked for."""
    looked = [f"{track_id}.*"] if keying != "7digital" else []
    if keying != "track-id" and number is not None:
        looked.append(f"{number}.* (its 7digital id)")
    unknown = "; no 7digital id known" if keying != "track-id" and number is None else ""
    return f"no preview under --audio-dir (no file {' or '.join(looked) or 'to look for'}{unknown})"


def _audio_path(found, track_id, number, keying, audio_dir):
    """The relative path of a track's preview, or None; two files for one id is an error."""
    candidates = []
    if keying != "7digital":
        candidates.append(track_id)
    if keying != "track-id" and number is not None:
        candidates.append(number)
    for stem in candidates:
        paths = found.get(stem, ())
        if len(paths) > 1:
            raise DatasetError(f"{stem} ({track_id}) has {len(paths)} audio files under {audio_dir}: "
                               f"{', '.join(paths)}")  # fmt: skip
        if paths:
            return paths[0]
    return None


def read_lastfm_db(path, tags, wanted, min_tag_value=0.0):
    """`{track id: set of tag indices}` for the `wanted` tracks in the Last.fm SQLite database.

    A track in the `tids` table is in the result (maybe with an empty set); a tag counts when
    its `val` is > 0 and >= `min_tag_value`.

    Args:
        path: `lastfm_tags.db`.
        tags: the tag names, in label order.
        wanted: the track ids to return.
        min_tag_value: see above.

    Raises:
        DatasetError: not a SQLite database with the `tids`, `tags` and `tid_tag` tables.
    """
    index = {tag: i for i, tag in enumerate(tags)}
    present = {}
    try:
        connection = sqlite3.connect(pathlib.Path(path).as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise DatasetError(f"{path}: cannot open as SQLite ({error})") from error
    try:
        for (track_id,) in connection.execute("SELECT tid FROM tids"):
            if track_id in wanted:
                present[track_id] = set()
        marks = ",".join("?" * len(tags))
        rows = connection.execute(
            "SELECT tids.tid, tags.tag, tid_tag.val FROM tid_tag "
            "JOIN tids ON tids.rowid = tid_tag.tid JOIN tags ON tags.rowid = tid_tag.tag "
            f"WHERE tags.tag IN ({marks})",
            tags,
        )
        for track_id, tag, value in rows:
            if track_id in present and _counts(value, min_tag_value):
                present[track_id].add(index[tag])
    except sqlite3.Error as error:
        raise DatasetError(
            f"{path}: not the Last.fm tag database (tables tids(tid), tags(tag), tid_tag(tid, tag, val)): {error}"
        ) from error
    finally:
        connection.close()
    log.info("%s: %d of the %d listed tracks are in it", path, len(present), len(wanted))
    return present


def read_lastfm_json(folders, tags, wanted, min_tag_value=0.0):
    """`{track id: set of tag indices}` for the `wanted` tracks that have a Last.fm JSON file.

    Each track's file is looked up directly (`<tid[2]>/<tid[3]>/<tid[4]>/<tid>.json`) in every
    folder and in its `lastfm_train/` and `lastfm_test/` if present; the first found is read.

    Args:
        folders: the folders.
        tags: the tag names, in label order.
        wanted: the track ids, in any order.
        min_tag_value: a tag counts when its value is > 0 and >= this.

    Raises:
        DatasetError: a missing folder, unreadable JSON, or a file of another track.
    """
    roots = []
    for folder in folders:
        folder = require_dir(os.fspath(folder), "Last.fm JSON folder")
        roots.append(folder)
        roots += [
            os.path.join(folder, sub)
            for sub in LASTFM_JSON_SUBFOLDERS
            if os.path.isdir(os.path.join(folder, sub))
        ]
    index = {tag: i for i, tag in enumerate(tags)}
    present = {}
    for track_id in wanted:
        relative = os.path.join(track_id[2], track_id[3], track_id[4], track_id + ".json")
        path = next(
            (os.path.join(r, relative) for r in roots if os.path.isfile(os.path.join(r, relative))), None
        )
        if path is None:
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            pairs = data.get("tags", [])
            found = {
                index[str(tag)] for tag, value in pairs if str(tag) in index and _counts(value, min_tag_value)
            }
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise DatasetError(f"{path}: not a Last.fm track file ({{\"track_id\", \"tags\": [[tag, value], ...]}}): "
                               f"{error}") from error  # fmt: skip
        if data.get("track_id", track_id) != track_id:
            raise DatasetError(f"{path}: holds track {data.get('track_id')!r}, expected {track_id}")
        present[track_id] = found
    log.info("Last.fm JSON: files for %d of the %d listed tracks", len(present), len(wanted))
    return present


def read_tag_vector_tags(path, tags, wanted):
    """`{track id: set of tag indices}` from Lee's tag vectors (an entry counts when > 0).

    Args:
        path: `msd_id_to_tag_vector.cP` (read with the restricted unpickler).
        tags: the tag names (only their number is used: the vectors are in this order).
        wanted: the track ids to return.
    """
    vectors = msd_splits.read_tag_vectors(path, len(tags))
    present = {track_id: {int(i) for i in (vector > 0).nonzero()[0]}
               for track_id, vector in vectors.items() if track_id in wanted}  # fmt: skip
    log.info("%s: vectors for %d of the %d listed tracks", path, len(present), len(wanted))
    return present


def _counts(value, min_tag_value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return False
    return value > 0 and value >= min_tag_value
