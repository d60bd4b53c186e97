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
    parser.add_argument(
        "--tracks-per-artist",
        default="15,3,2",
        type=tracks_argument,
        help="tracks per artist for train,valid,test (default 15,3,2, the paper's 20 per artist)",
    )
    parser.add_argument(
        "--num-artists", type=int, help="keep this many of the eligible artists (default all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the artist and track draws (default 0)")


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments (`--labels` or `--msd-tracks`)."""
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
