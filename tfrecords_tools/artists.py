"""Audio files labelled by artist, for artist-label representation learning (ISMIR 2018).

Two layouts; either gives the same split of the same files. A CSV (`--labels`):

    audio_dir/...                 audio files in any layout soundfile reads
    artists.csv                   comma- or tab-separated, with a header:
        path                      the file, relative to audio_dir (required)
        artist                    the artist's name or id (required)
        track_id                  optional: the clip id kept with every excerpt and embedding
                                  (default: the path without its extension)
        album                     optional, kept for the user (not used by the split)

The CSV must be UTF-8; paths are compared in one spelling (`./a.wav` is `a.wav`), and a path
that leaves audio_dir (absolute, or `..` above it) is not read but listed in `rejected.csv`.

or the Million Song Dataset's track list (`--msd-tracks`), for audio named by MSD track id:

    audio_dir/A/B/C/TRABC...      MSD's tree `<tid[2]>/<tid[3]>/<tid[4]>/<TRACKID>.<ext>` (the
                                  layout of the MSD HDF5 files, tbertinmahieux/MSongsDB
                                  `msd_pathname.m`, and of common audio mirrors), or flat
                                  `<TRACKID>.<ext>`; any of AUDIO_EXTENSIONS or the 7digital-style
                                  `<TRACKID>.clip.mp3`. Files are found by one walk of audio_dir,
                                  at any depth; a track id with two files is an error.
    unique_tracks.txt             the MSD's track list, one `track_id<SEP>song_id<SEP>artist
                                  name<SEP>title` line per track (title may be empty)

With the MSD list the artist is the artist-name field (two artists with one name are one
artist), the clip id is the MSD track id, and there is no album. Every track is kept: the MSD
has several tracks of many songs (same artist and title), and these are not deduplicated, so
copies of one song can land in different splits; filter unique_tracks.txt first to avoid
that. Listed tracks without audio are counted in the log and listed in `rejected.csv` (path:
the track id); audio files whose name is not a listed track id are counted in a warning.

The split of Park, Lee, Park, Ha, Nam, ISMIR 2018 (arXiv:1710.06648; jongpillee/ismir2018-artist
`train.py`: `--train-size 15`, valid up to 18, test up to 20): 20 tracks per artist, 15 for
training, 3 for validation and 2 for testing, drawn per artist from a seeded shuffle.
Artists with fewer tracks than that are left out and reported (log and `rejected.csv`);
tracks beyond the 20 are left out too (`--tracks-per-artist` changes the numbers).
`--num-artists N` keeps N of the eligible artists (the paper trains with 500 to 10,000),
drawn with the same seed. Labels are one-hot over the kept artists (single-label).

or the authors' released split list (`--split-list`), instead of a seeded draw:

    audio_dir/...                 audio named by 7digital id, `<7digital_id>.<ext>` or
                                  `<7digital_id>.clip.mp3`, at any depth (one walk of audio_dir)
    msd-artist-list.pkl           jiyoungpark527/msd-artist-split @ 818fbc3f48f5690b8b3c7e61fc00cfd98b214ec3:
                                  a pickled Python list of strings `7Digital_id/artist_index/song_index`
                                  (README.md: "20 track_ids of each artist for 17,591 artists"), or
                                  a text file of the same strings, one per line

Their `load_data_label.py` (also jongpillee/ismir2018-artist @
68841d227fef71ac76b44e704007e50452042a38 `data/load_data_label.py`, which `train.py` calls)
unpickles the list, splits each string on `/`, keeps `file_list[:num_artist*20]` (`--num-artists N` here: the list's first 20·N entries, in
the list's order, no draw) and assigns by song index: 1..15 train, 16..18 valid, 19..20 test
(`train_size=15, valid_size=18, test_size=20`; `--tracks-per-artist a,b,c` gives 1..a,
a+1..a+b, a+b+1..a+b+c; other song indices are left out, as theirs leaves them). The class of
a track is its artist index, classes in increasing index order (with artists 1..N kept that is
their `int(artist) - 1`, `data_generator.py` `train_generator_basic`); the clip id is the
7digital id. Listed tracks without audio are counted in the log and listed in `rejected.csv`
(path: the 7digital id) and the rest of the assignment stands; an artist keeps its class even
if none of its tracks has audio (the count of artists without a training track is logged).
A file ending `.pkl`, `.pickle`, `.cP` or `.p` is read as the pickle, with
`msd_splits.RestrictedUnpickler` (plain data only, no code); any other as UTF-8 text. An id
that is not a plain file name (`..`, a drive, a backslash) is not looked up but rejected.
Not verified here: the released pickle's protocol and item type (its blob was not readable in
the copy we have; their README loads it with Python 3.6's `pickle.load`, their `train.py` is
Python 2.7): str and bytes items and every protocol are accepted.
"""

import argparse
import collections
import logging
import os
import random

from tfrecords_tools.common import (
    SPLITS,
    clean_path,
    find_audio_by_stem,
    one_hot,
    open_csv,
    read_mixed_lines,
    require_dir,
    require_file,
    source_in_root,
    utf8_errors,
)
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan, Rejected

log = logging.getLogger(__name__)

NAME = "artists"
DEFAULTS = {"sample_rate": 22050, "segment_length": 65536, "shard_size": 128}
TRACKS_PER_ARTIST = (15, 3, 2)
MSD_SEPARATOR = "<SEP>"
# load_data_label.py: `file_list[:num_artist*20]`, a fixed 20 whatever the split sizes.
LIST_TRACKS_PER_ARTIST = 20
_LIST_ENTRY = "7Digital_id/artist_index/song_index"
_EXPECTED_COLUMNS = "a header with 'path' and 'artist' columns, optionally 'track_id' and 'album'"


def tracks_argument(text):
    """`"15,3,2"` -> (15, 3, 2): tracks per artist for train, valid, test."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        counts = ()
    if len(counts) != 3 or counts[0] < 1 or min(counts) < 0:
        raise argparse.ArgumentTypeError(
            f"expected three counts train,valid,test with train >= 1, got {text!r}"
        )
    return counts


def add_arguments(parser):
    """Adds the artist-folder options to an argparse (sub)parser."""
    parser.add_argument(
        "--audio-dir", required=True, help="folder the CSV paths are relative to, or the MSD audio folder"
    )
    labels = parser.add_mutually_exclusive_group(required=True)
    labels.add_argument("--labels", metavar="CSV", help="CSV with path and artist columns")
    labels.add_argument(
        "--msd-tracks",
        metavar="unique_tracks.txt",
        help="the Million Song Dataset's track list, instead of --labels: audio named by MSD track id "
        "(TRACKID.wav, A/B/C/TRACKID.mp3, TRACKID.clip.mp3, ...) anywhere under --audio-dir",
    )
    labels.add_argument(
        "--split-list",
        metavar="msd-artist-list.pkl",
        help="the authors' split list (jiyoungpark527/msd-artist-split: a pickled list, or a text file, "
        "of 7Digital_id/artist_index/song_index), instead of --labels: their split, no draw; audio "
        "named by 7digital id (ID.mp3, ID.clip.mp3, ...) anywhere under --audio-dir",
    )
    parser.add_argument(
        "--tracks-per-artist",
        default="15,3,2",
        type=tracks_argument,
        help="tracks per artist for train,valid,test (default 15,3,2, the paper's 20 per artist)",
    )
    parser.add_argument(
        "--num-artists", type=int, help="keep this many of the eligible artists (default all)"
    )
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the artist and track draws (default 0; no draw with --split-list)")  # fmt: skip


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments (`--labels`, `--msd-tracks` or `--split-list`)."""
    if getattr(args, "split_list", None) is not None:
        return plan_split_list(args.audio_dir, args.split_list, args.tracks_per_artist, args.num_artists)
    if args.msd_tracks is not None:
        return plan_msd(args.audio_dir, args.msd_tracks, args.tracks_per_artist, args.num_artists, args.seed)
    return plan(args.audio_dir, args.labels, args.tracks_per_artist, args.num_artists, args.seed)


def plan(audio_dir, labels_csv, tracks_per_artist=TRACKS_PER_ARTIST, num_artists=None, seed=0):
    """Plans the conversion of artist-labelled audio with the ISMIR 2018 per-artist split.

    Args:
        audio_dir: the folder the CSV's paths are relative to.
        labels_csv: the CSV (see the module docstring).
        tracks_per_artist: `(train, valid, test)` tracks per artist.
        num_artists: keep this many eligible artists (None: all).
        seed: seed of the draws; the same inputs and seed give the same split.

    Returns:
        A single-label `DatasetPlan` over the kept artists (sorted names).

    Raises:
        DatasetError: missing folder or CSV, a CSV that is not UTF-8, no `path`/`artist`
            column, a malformed row or a repeated track (paths compared after `clean_path`), no
            artist with enough tracks, `num_artists` above the eligible count. A path that
            leaves `audio_dir` (absolute or `..`) is not an error: it is not read, and listed
            in `rejected` (its artist counts only its other tracks).
    """
    audio_dir = require_dir(audio_dir, "audio folder")
    labels_csv = require_file(labels_csv, "artist CSV")
    rows, outside = [], []
    for row in _read_rows(labels_csv):
        if source_in_root(audio_dir, row[1]) is None:
            reason = f"outside the audio folder (absolute or '..'), not read (line {row[0]} of the CSV)"
            outside.append(Rejected(row[1], reason))
        else:
            rows.append(row)
    return _plan_rows(
        audio_dir,
        labels_csv,
        rows,
        rejected=outside,
        has_audio=lambda path: os.path.isfile(os.path.join(audio_dir, path)),
        missing_reason=lambda line: f"file not found (line {line} of the artist CSV)",
        tracks_per_artist=tracks_per_artist,
        num_artists=num_artists,
        seed=seed,
    )


def plan_msd(audio_dir, unique_tracks, tracks_per_artist=TRACKS_PER_ARTIST, num_artists=None, seed=0):
    """Like `plan`, for audio named by Million Song Dataset track id and MSD's `unique_tracks.txt`.

    Args:
        audio_dir: the folder holding `<TRACKID>.<ext>` files at any depth (MSD's
            `A/B/C/TRACKID` tree or flat; see the module docstring).
        unique_tracks: MSD's `unique_tracks.txt` (`track_id<SEP>song_id<SEP>artist<SEP>title`).
        tracks_per_artist, num_artists, seed: as for `plan`.

    Returns:
        A single-label `DatasetPlan`; clip ids are the MSD track ids. Listed tracks without
        audio are in its `rejected` (path: the track id).

    Raises:
        DatasetError: as for `plan`, or a line without 4 fields, or a track id with two audio files.
    """
    audio_dir = require_dir(audio_dir, "audio folder")
    unique_tracks = require_file(unique_tracks, "MSD track list")
    listed = _read_msd_tracks(unique_tracks)
    found = find_audio_by_stem(audio_dir)
    rows, with_audio = [], set()
    for line, artist, track_id in listed:
        paths = found.get(track_id, ())
        if len(paths) > 1:
            raise DatasetError(f"track id {track_id} (line {line} of {unique_tracks}) has {len(paths)} audio "
                               f"files under {audio_dir}: {', '.join(paths)}")  # fmt: skip
        if paths:
            with_audio.add(paths[0])
        rows.append((line, paths[0] if paths else track_id, artist, track_id))  # no audio: path = track id
    name = os.path.basename(unique_tracks)
    if len(with_audio) < len(listed):
        log.warning("%d of %d tracks in %s have no audio under %s (see rejected.csv)",
                    len(listed) - len(with_audio), len(listed), name, audio_dir)  # fmt: skip
    listed_ids = {track_id for _, _, track_id in listed}
    unlisted = sum(len(paths) for stem, paths in found.items() if stem not in listed_ids)
    if unlisted:
        log.warning("%d audio files under %s are not named by a track id in %s and are ignored",
                    unlisted, audio_dir, name)  # fmt: skip
    return _plan_rows(
        audio_dir,
        unique_tracks,
        rows,
        has_audio=with_audio.__contains__,
        missing_reason=lambda line: f"no audio file named by the track id (line {line} of {name})",
        tracks_per_artist=tracks_per_artist,
        num_artists=num_artists,
        seed=seed,
    )


def plan_split_list(audio_dir, split_list, tracks_per_artist=TRACKS_PER_ARTIST, num_artists=None):
    """Plans the conversion with the authors' released split (jiyoungpark527/msd-artist-split).

    No draw: each track's split is the one its song index gives (see the module docstring),
    as their `load_data_label.py` assigns it.

    Args:
        audio_dir: the folder holding audio named by 7digital id at any depth.
        split_list: their `msd-artist-list.pkl` (a pickled list of `7Digital_id/artist_index/
            song_index` strings) or a text file of the same strings, one per line.
        tracks_per_artist: `(train, valid, test)`: song indices 1..train are train, the next
            `valid` valid, the next `test` test (their `train_size=15, valid_size=18,
            test_size=20`).
        num_artists: keep the list's first `20 * num_artists` entries, as their
            `file_list[:num_artist*20]` (None: the whole list).

    Returns:
        A single-label `DatasetPlan`: one class per artist index of the kept entries, in
        increasing index order; clip ids are the 7digital ids. Listed tracks without audio,
        ids that are not plain file names and song indices outside the split are in its
        `rejected` (path: the 7digital id).

    Raises:
        DatasetError: missing folder or list, a list that is not a pickled list of strings or
            UTF-8 text, an entry without 3 `/`-separated fields, an artist or song index that
            is not an integer, an empty id, a repeated id or (artist, song index), a 7digital
            id with two audio files, fewer entries than `20 * num_artists`. Errors name the
            file and the line (text) or item (pickle, counted from 0).
    """
    audio_dir = require_dir(audio_dir, "audio folder")
    split_list = require_file(split_list, "artist split list")
    entries = _read_split_list(split_list)
    name = os.path.basename(split_list)
    if num_artists is not None:
        wanted = num_artists * LIST_TRACKS_PER_ARTIST
        if num_artists < 1 or wanted > len(entries):
            raise DatasetError(f"--num-artists {num_artists}: {split_list} has {len(entries)} entries, "
                               f"fewer than the {wanted} ({LIST_TRACKS_PER_ARTIST} per artist) kept")  # fmt: skip
        log.info("%s: the first %d of %d entries (%d artists x %d, as load_data_label.py)", name, wanted,
                 len(entries), num_artists, LIST_TRACKS_PER_ARTIST)  # fmt: skip
        entries = entries[:wanted]
    bounds = (tracks_per_artist[0], tracks_per_artist[0] + tracks_per_artist[1], sum(tracks_per_artist))
    artists_kept = sorted({artist for _, _, artist, _ in entries})
    index_of = {artist: index for index, artist in enumerate(artists_kept)}
    found = find_audio_by_stem(audio_dir)
    jobs, rejected, missing = [], [], 0
    for where, seven_digital, artist, song in entries:
        if source_in_root(audio_dir, seven_digital) is None or clean_path(seven_digital) != seven_digital:
            rejected.append(Rejected(seven_digital, f"not a plain file name, not looked up ({where})"))
            continue
        if not 1 <= song <= bounds[2]:
            rejected.append(Rejected(seven_digital, f"song index {song} outside 1..{bounds[2]} ({where})"))
            continue
        paths = found.get(seven_digital, ())
        if len(paths) > 1:
            raise DatasetError(f"7digital id {seven_digital} ({where}) has {len(paths)} audio files under "
                               f"{audio_dir}: {', '.join(paths)}")  # fmt: skip
        if not paths:
            missing += 1
            rejected.append(Rejected(seven_digital, f"no audio file named by the 7digital id ({where})"))
            continue
        split = "train" if song <= bounds[0] else "valid" if song <= bounds[1] else "test"
        jobs.append(ClipJob(source=os.path.join(audio_dir, paths[0]), path=paths[0], clip_id=seven_digital,
                            labels=one_hot(index_of[artist], len(artists_kept)), split=split))  # fmt: skip
    if missing:
        log.warning("%d of %d tracks in %s have no audio under %s (see rejected.csv)",
                    missing, len(entries), name, audio_dir)  # fmt: skip
    listed_ids = {seven_digital for _, seven_digital, _, _ in entries}
    unlisted = sum(len(paths) for stem, paths in found.items() if stem not in listed_ids)
    if unlisted:
        log.warning("%d audio files under %s are not named by a 7digital id of the kept entries of %s and are "
                    "ignored", unlisted, audio_dir, name)  # fmt: skip
    if not jobs:
        raise DatasetError(f"{split_list}: none of its {len(entries)} kept tracks has audio under {audio_dir} "
                           "(files are looked up by 7digital id: ID.mp3, ID.clip.mp3, ...)")  # fmt: skip
    trained = {job.labels.index(1.0) for job in jobs if job.split == "train"}
    if len(trained) < len(artists_kept):
        log.warning("%d of %d artists of %s have no training track with audio (their classes stay, empty)",
                    len(artists_kept) - len(trained), len(artists_kept), name)  # fmt: skip
    log.info(
        "%d artists, song indices %s of %s; %s; %d rejected",
        len(artists_kept), "/".join(f"{a + 1}..{b}" for a, b in zip((0, *bounds[:2]), bounds)), name,
        ", ".join(f"{s} {sum(job.split == s for job in jobs)}" for s in SPLITS), len(rejected),
    )  # fmt: skip
    return DatasetPlan(dataset=NAME, task="single_label", tags=[str(artist) for artist in artists_kept],
                       source=audio_dir, jobs=jobs, rejected=rejected)  # fmt: skip


def _plan_rows(audio_dir, source, rows, *, has_audio, missing_reason, tracks_per_artist, num_artists, seed,
               rejected=()):  # fmt: skip
    """The eligibility, artist draw and split shared by both layouts.

    Args:
        audio_dir: the absolute audio folder the rows' paths are relative to.
        source: the label file, named in errors.
        rows: `[(line, path, artist, track_id)]` in file order.
        has_audio: `has_audio(path)` is true where the row's audio exists; rows without are
            rejected with the reason `missing_reason(line)`.
        tracks_per_artist, num_artists, seed: as for `plan`.
        rejected: rows already left out (`Rejected`), kept first in the plan's list.
    """
    needed = sum(tracks_per_artist)
    rejected = list(rejected)
    by_artist = collections.defaultdict(list)
    for line, path, artist, track_id in rows:
        if not has_audio(path):
            rejected.append(Rejected(path, missing_reason(line)))
            continue
        by_artist[artist].append((path, track_id))
    eligible = sorted(artist for artist, tracks in by_artist.items() if len(tracks) >= needed)
    for artist in sorted(set(by_artist) - set(eligible)):
        count = len(by_artist[artist])
        for path, _ in by_artist[artist]:
            rejected.append(
                Rejected(path, f"artist {artist!r} has {count} tracks with audio, fewer than {needed}")
            )
    if len(eligible) < len(by_artist):
        log.warning(
            "%d of %d artists have fewer than %d tracks with audio and are left out (see rejected.csv)",
            len(by_artist) - len(eligible), len(by_artist), needed,
        )  # fmt: skip
    if not eligible:
        raise DatasetError(f"{source}: no artist has {needed} tracks with audio ({sum(tracks_per_artist)} = "
                           f"{'+'.join(map(str, tracks_per_artist))} per artist)")  # fmt: skip
    if num_artists is not None:
        if not 1 <= num_artists <= len(eligible):
            raise DatasetError(
                f"--num-artists {num_artists}: only {len(eligible)} artists have {needed} tracks"
            )
        eligible = sorted(random.Random(f"{seed}:artists").sample(eligible, num_artists))
    kept = set(eligible)
    for artist in sorted(set(by_artist) - kept):
        if len(by_artist[artist]) >= needed:
            for path, _ in by_artist[artist]:
                rejected.append(Rejected(path, f"artist {artist!r} not among the {num_artists} drawn"))

    jobs, surplus = [], 0
    boundaries = (tracks_per_artist[0], tracks_per_artist[0] + tracks_per_artist[1])
    for index, artist in enumerate(eligible):
        tracks = sorted(by_artist[artist])
        random.Random(f"{seed}:{artist}").shuffle(tracks)
        surplus += len(tracks) - needed
        for position, (path, track_id) in enumerate(tracks[:needed]):
            split = "train" if position < boundaries[0] else "valid" if position < boundaries[1] else "test"
            jobs.append(ClipJob(source=os.path.join(audio_dir, path), path=path, clip_id=track_id,
                                labels=one_hot(index, len(eligible)), split=split))  # fmt: skip
        for path, _ in tracks[needed:]:
            rejected.append(Rejected(path, f"artist {artist!r}: beyond the {needed} tracks drawn"))
    log.info(
        "%d artists x %s tracks; %s; %d surplus tracks left out",
        len(eligible), "/".join(map(str, tracks_per_artist)),
        ", ".join(f"{s} {sum(job.split == s for job in jobs)}" for s in SPLITS), surplus,
    )  # fmt: skip
    return DatasetPlan(dataset=NAME, task="single_label", tags=eligible, source=audio_dir, jobs=jobs,
                       rejected=rejected)  # fmt: skip


def _read_rows(path):
    """`[(line, path, artist, track_id)]` from the artist CSV, checked."""
    with utf8_errors(path), open(path, encoding="utf-8-sig") as handle:
        first = handle.readline()
    delimiter = "\t" if "\t" in first else ","
    rows, seen_paths, seen_ids = [], {}, {}
    with open_csv(path, delimiter, _EXPECTED_COLUMNS) as (reader, header):
        columns = [name.lower() for name in header]
        missing = [name for name in ("path", "artist") if name not in columns]
        if missing:
            raise DatasetError(f"{path}: no {' or '.join(repr(m) for m in missing)} column; expected "
                               f"{_EXPECTED_COLUMNS}; found columns {header}")  # fmt: skip
        for line, fields in enumerate(reader, start=2):
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(columns):
                raise DatasetError(
                    f"{path}, line {line}: {len(fields)} fields, the header has {len(columns)}"
                )
            row = dict(zip(columns, (field.strip() for field in fields)))
            clip_path = clean_path(row["path"])  # ./a.wav and a.wav are one file
            if not clip_path or not row["artist"]:
                raise DatasetError(f"{path}, line {line}: empty path or artist")
            track_id = row.get("track_id") or os.path.splitext(clip_path)[0]
            for key, seen, what in ((clip_path, seen_paths, "path"), (track_id, seen_ids, "track id")):
                if key in seen:
                    raise DatasetError(f"{path}, line {line}: {what} {key!r} already on line {seen[key]}")
                seen[key] = line
            rows.append((line, clip_path, row["artist"], track_id))
    return rows


def _read_msd_tracks(path):
    """`[(line, artist, track_id)]` from MSD's `unique_tracks.txt`, checked."""
    tracks, seen = [], {}
    # Mostly UTF-8, some Latin-1 lines: read as Latin-1, not U+FFFD, so that artists stay distinct.
    for line, text in read_mixed_lines(path):
        if not text.strip():
            continue
        fields = [field.strip() for field in text.split(MSD_SEPARATOR)]
        if len(fields) != 4:
            raise DatasetError(
                f"{path}, line {line}: {len(fields)} fields, expected 4 "
                "(track_id<SEP>song_id<SEP>artist<SEP>title)"
            )
        track_id, _, artist, _ = fields
        if not track_id or not artist:
            raise DatasetError(f"{path}, line {line}: empty track id or artist")
        if track_id in seen:
            raise DatasetError(
                f"{path}, line {line}: track id {track_id!r} already on line {seen[track_id]}"
            )
        seen[track_id] = line
        tracks.append((line, artist, track_id))
    return tracks


def _read_split_list(path):
    """`[(where, 7digital id, artist index, song index)]` of the authors' split list, checked.

    A `.pkl`/`.cP`/`.pickle` file is read as their pickled list (through the restricted
    unpickler; Python 2 str items come back as latin-1 text, bytes items are decoded so);
    anything else as UTF-8 text, one entry per line (blank lines skipped). `where` is
    `"item N of NAME"` (pickle, from 0) or `"line N of NAME"` (text).
    """
    from tfrecords_tools.msd_splits import load_pickle  # restricted: plain data only, no code

    name = os.path.basename(path)
    if os.path.splitext(path)[1].lower() in (".pkl", ".pickle", ".cp", ".p"):
        items = load_pickle(path)
        if not isinstance(items, (list, tuple)):
            raise DatasetError(f"{path}: expected a pickled list of '{_LIST_ENTRY}' strings, "
                               f"found {type(items).__name__}")  # fmt: skip
        numbered = []
        for number, item in enumerate(items):
            if isinstance(item, bytes):
                item = item.decode("latin-1")
            if not isinstance(item, str):
                raise DatasetError(f"{path}, item {number}: expected a '{_LIST_ENTRY}' string, found "
                                   f"{type(item).__name__} {item!r}")  # fmt: skip
            numbered.append((f"item {number} of {name}", f"{path}, item {number}", item))
    else:
        with utf8_errors(path), open(path, encoding="utf-8-sig") as handle:
            lines = [line.rstrip("\r\n") for line in handle]
        numbered = [(f"line {n} of {name}", f"{path}, line {n}", line) for n, line in enumerate(lines, 1)
                    if line.strip()]  # fmt: skip
    entries, seen_ids, seen_songs = [], {}, {}
    for where, error_where, text in numbered:
        fields = [field.strip() for field in text.strip().split("/")]
        if len(fields) != 3:
            raise DatasetError(f"{error_where}: {len(fields)} '/'-separated fields in {text!r}, "
                               f"expected 3 ({_LIST_ENTRY})")  # fmt: skip
        seven_digital, artist, song = fields
        if not seven_digital:
            raise DatasetError(f"{error_where}: empty 7digital id in {text!r}")
        try:
            artist_index, song_index = int(artist), int(song)
        except ValueError:
            raise DatasetError(f"{error_where}: artist index {artist!r} and song index {song!r} must be "
                               f"integers ({_LIST_ENTRY})") from None  # fmt: skip
        for key, seen, what in ((seven_digital, seen_ids, f"7digital id {seven_digital!r}"),
                                ((artist_index, song_index), seen_songs,
                                 f"artist {artist_index}, song {song_index}")):  # fmt: skip
            if key in seen:
                raise DatasetError(f"{error_where}: {what} already at {seen[key]}")
            seen[key] = where
        entries.append((where, seven_digital, artist_index, song_index))
    if not entries:
        raise DatasetError(f"{path}: no entries, expected '{_LIST_ENTRY}' strings")
    return entries
