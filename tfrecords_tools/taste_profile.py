"""User-song interactions with song audio, for DCUE (the Echo Nest Taste Profile subset or a CSV).

Deep content-user embedding (Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786) learns from
audio and who played what. This converter writes one record per kept song (clip id: the song
id; no labels) and, beside the shards, `interactions.npz` (users, songs, interactions and their
split; `keras_samplecnn.data.interaction_split`) and `interactions.json` (what was read, dropped
and kept).

    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \\
        --msd-tracks unique_tracks.txt --mismatches sid_mismatches.txt --out OUT
    python -m tfrecords_tools taste-profile --interactions interactions.csv --audio-dir AUDIO --out OUT

The Taste Profile subset (`--triplets`) with MSD song ids mapped to track ids and audio:

    train_triplets.txt        `user<TAB>song_id<TAB>count`, no header
    unique_tracks.txt         (`--msd-tracks`) `track_id<SEP>song_id<SEP>artist<SEP>title`
    taste_profile_song_to_tracks.txt
                              (`--song-to-tracks`, instead) `song_id<TAB>track_id[<TAB>track_id...]`
    sid_mismatches.txt        (`--mismatches`, optional) `ERROR: <SONG_ID TRACK_ID> ...`: song-track
                              pairs known to be wrong matches; they are never used
    audio_dir/A/B/C/TRABC...  audio named by MSD track id, in MSD's tree or flat, or
                              `<TRACKID>.clip.mp3` (as for `artists --msd-tracks`)

A song is given the audio of the first of its tracks (in the file's order, mismatched pairs
skipped) that has an audio file; `tracks` in the npz names that track.

Any CSV (`--interactions`) with a header naming `user`, `item` and `count` columns, and
an audio folder. An item is matched to an audio file under `--audio-dir` (any of
AUDIO_EXTENSIONS, at any depth) by the first rule that matches any file:

1. the item is the file's path relative to the folder (`/`-separated), e.g. `rock/x.mp3`;
2. the item is that path without its extension, e.g. `rock/x`;
3. the item is the file's name without its extension (`.clip.mp3` counts as one extension),
   e.g. `x`.
A rule that matches two or more files (`rock/x.wav` and `rock/x.mp3`; `a/x.wav` and `b/x.wav`
for the item `x`) is an error (exit code 2) naming them. `tracks` in the npz holds the path.

Order of work, each step counted in `interactions.json` and the log:

1. read the interactions: malformed lines (wrong field count, empty id, a count that is not a
   positive integer) are skipped and counted; repeated (user, song) pairs are summed;
2. with `--users users.txt` (one user id per line), interactions of other users are dropped
   ("unknown users", counted as distinct users and as interactions);
3. each song is mapped to one audio file (above); songs with no known track ("unknown songs":
   not in the track list, or every listed track is a known mismatch) and songs none of whose
   tracks has audio ("songs without audio") are dropped with their interactions and listed in
   `rejected.csv` (path: the song id; reason);
4. the paper's subset (`--num-songs` songs with the most listeners, then the `--num-users`
   users who played most of them; 10,000 x 20,000 in the paper), or, with `--song-list`, the
   listed songs (the DCUE authors' `data/subset_songs_20000_10000.npy`, jongpillee/
   deep-content-user @0e57b68: a NumPy array of 10,000 Echo Nest song ids, `|S18`; or a text
   file, one id per line) in the list's order, then the `--num-users` users who played most of
   them; interactions of other songs are dropped and counted, and each song's position in the
   list is kept (`order` in the npz) for the authors' song split (index modulo 10);
5. the split: a seeded `--cold-fraction` of the songs is cold-start (none of their
   interactions is trained on and their audio goes to the `test` split), and of each user's
   interactions with the warm songs a seeded `--holdout-fraction` is held out (the warm songs'
   audio is in `train`; their held-out interactions are still test pairs).
A song whose audio then fails to decode (or is shorter than a segment with `--short skip`) has
no record; it is dropped from `interactions.npz` with its interactions after the conversion
(counted as `songs_not_written`), so that the npz's songs are exactly the written clip ids.
"""

import collections
import csv
import dataclasses
import logging
import os
import re

import numpy as np

from keras_samplecnn.data.interaction_split import FILE_NAME, InteractionSplit, save_interaction_split
from keras_samplecnn.files import write_json_atomic
from tfrecords_tools.artists import MSD_SEPARATOR
from tfrecords_tools.common import (
    find_audio_by_stem,
    read_mixed_lines,
    require_dir,
    require_file,
    utf8_errors,
)
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.interactions import (
    Interactions,
    read_interactions_csv,
    read_taste_profile,
    select_subset,
    split_interactions,
)
from tfrecords_tools.writer import CLIPS, ClipJob, DatasetPlan, Rejected

log = logging.getLogger(__name__)

NAME = "taste-profile"
# 129 hops of 512 samples: a clip padded to one segment still gives DCUE's 130-frame excerpt.
DEFAULTS = {"sample_rate": 22050, "segment_length": 66048, "shard_size": 128}
REPORT = "interactions.json"
_MISMATCH = re.compile(r"^ERROR: <(\S+) (\S+)>")


@dataclasses.dataclass
class TasteProfilePlan(DatasetPlan):
    """A `DatasetPlan` that also carries the interaction split and the report for `write_interactions`."""

    interactions: InteractionSplit = None
    report: dict = dataclasses.field(default_factory=dict)


def add_arguments(parser):
    """Adds the taste-profile options to an argparse (sub)parser."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--triplets", metavar="train_triplets.txt", help="the Taste Profile triplets")
    source.add_argument(
        "--interactions", metavar="CSV", help="a CSV with user, item, count columns (items matched to audio)"
    )
    parser.add_argument("--audio-dir", required=True, help="audio named by MSD track id, or the CSV's items")
    tracks = parser.add_mutually_exclusive_group()
    tracks.add_argument("--msd-tracks", metavar="unique_tracks.txt", help="with --triplets: MSD's track list")
    tracks.add_argument(
        "--song-to-tracks",
        metavar="taste_profile_song_to_tracks.txt",
        help="with --triplets, instead of --msd-tracks: song_id<TAB>track_id[<TAB>track_id...]",
    )
    parser.add_argument(
        "--mismatches", metavar="sid_mismatches.txt", help="with --triplets: song-track pairs never to use"
    )
    parser.add_argument("--users", metavar="users.txt", help="keep only these users (one id per line)")
    parser.add_argument("--num-users", type=int, default=20000, help="most active users kept (default 20000)")
    parser.add_argument("--num-songs", type=int, default=10000, help="most played songs kept (default 10000)")
    parser.add_argument(
        "--song-list",
        metavar="subset_songs_20000_10000.npy",
        help="keep these songs, in this order, instead of the most played (the DCUE authors' .npy or a text file)",
    )
    parser.add_argument(
        "--cold-fraction", type=float, default=0.1, help="share of songs kept out of training (default 0.1)"
    )
    parser.add_argument(
        "--holdout-fraction",
        type=float,
        default=0.2,
        help="share of each user's warm interactions held out for testing (default 0.2)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments; checks the argument combinations."""
    if args.triplets is not None and (args.msd_tracks is None) == (args.song_to_tracks is None):
        raise DatasetError("--triplets needs the song-track mapping: give --msd-tracks or --song-to-tracks")
    if args.interactions is not None:
        flags = (("--msd-tracks", args.msd_tracks), ("--song-to-tracks", args.song_to_tracks),
                 ("--mismatches", args.mismatches))  # fmt: skip
        given = [flag for flag, value in flags if value is not None]
        if given:
            raise DatasetError(f"--interactions matches items to audio files by name; "
                               f"{', '.join(given)} only go with --triplets")  # fmt: skip
    return plan(
        args.audio_dir,
        triplets=args.triplets,
        interactions_csv=args.interactions,
        msd_tracks=args.msd_tracks,
        song_to_tracks=args.song_to_tracks,
        mismatches=args.mismatches,
        users=args.users,
        num_users=args.num_users,
        num_songs=args.num_songs,
        song_list=args.song_list,
        cold_fraction=args.cold_fraction,
        holdout_fraction=args.holdout_fraction,
        seed=args.seed,
    )


def after_convert(plan, out_dir, manifest=None):
    """The CLI's hook after `convert`: writes `interactions.npz` and `interactions.json`."""
    return write_interactions(plan, out_dir)


def plan(audio_dir, *, triplets=None, interactions_csv=None, msd_tracks=None, song_to_tracks=None,
         mismatches=None, users=None, num_users=20000, num_songs=10000, song_list=None, cold_fraction=0.1,
         holdout_fraction=0.2, seed=0):  # fmt: skip
    """Plans the conversion (see the module docstring for the formats and the order of work).

    Args:
        audio_dir: the audio folder.
        triplets: `train_triplets.txt`, with `msd_tracks` or `song_to_tracks` (and optionally
            `mismatches`); or
        interactions_csv: a `user,item,count` CSV, items matched to files under `audio_dir`.
        users: optional file of user ids to keep.
        num_users, num_songs: the subset's size.
        song_list: optional list of the songs to keep, in order (`.npy` of ids, or a text file
            of one id per line); `num_songs` is then ignored.
        cold_fraction, holdout_fraction, seed: the split.

    Returns:
        A `TasteProfilePlan`: one job per kept song (split `train` for warm songs, `test` for
        cold ones), the dropped songs in `rejected`, the split in `interactions`, the counts in
        `report`.

    Raises:
        DatasetError: missing files, bad arguments, a malformed track list, an ambiguous item,
            a track with two audio files, or nothing left to keep.
    """
    if (triplets is None) == (interactions_csv is None):
        raise DatasetError("give exactly one of triplets (train_triplets.txt) and interactions_csv")
    if num_users < 1 or num_songs < 1:
        raise DatasetError(f"--num-users and --num-songs must be >= 1, got {num_users}, {num_songs}")
    if not 0 <= cold_fraction < 1 or not 0 <= holdout_fraction < 1:
        raise DatasetError(f"--cold-fraction and --holdout-fraction must be in [0, 1), got {cold_fraction}, "
                           f"{holdout_fraction}")  # fmt: skip
    audio_dir = require_dir(audio_dir, "audio folder")
    report = {"source": {"triplets": triplets, "interactions": interactions_csv, "msd_tracks": msd_tracks,
                         "song_to_tracks": song_to_tracks, "mismatches": mismatches, "users": users,
                         "song_list": song_list, "audio_dir": audio_dir}}  # fmt: skip
    listed = read_song_list(require_file(song_list, "song list")) if song_list is not None else None
    path = require_file(triplets if triplets is not None else interactions_csv, "interaction file")
    data = read_taste_profile(path) if triplets is not None else read_interactions_csv(path)
    report["lines_read"] = data.lines
    report["malformed_lines"] = data.malformed
    report["pairs_read"] = len(data)
    report["users_read"], report["songs_read"] = len(data.users), len(data.songs)

    report["unknown_users"] = report["unknown_user_interactions"] = None
    if users is not None:
        known = _read_ids(require_file(users, "user list"))
        is_known = np.array([user in known for user in data.users], bool)
        keep = is_known[data.user]
        report["unknown_users"] = int((~is_known).sum())
        report["unknown_user_interactions"] = int((~keep).sum())
        if report["unknown_users"]:
            log.warning("%d users (%d interactions) are not in %s and are dropped", report["unknown_users"],
                        report["unknown_user_interactions"], users)  # fmt: skip
        data = _restrict(data, keep)

    found = find_audio_by_stem(audio_dir)
    if triplets is not None:
        audio, reasons, report["mismatched_pairs_excluded"] = _map_msd_songs(
            data.songs, found, msd_tracks, song_to_tracks, mismatches
        )
    else:
        audio, reasons = _match_items(data.songs, found, audio_dir)
        report["mismatched_pairs_excluded"] = None
    rejected, per_song = [], np.bincount(data.song, minlength=len(data.songs))
    for kind, what in (("unknown_songs", "unknown_song_interactions"),
                       ("songs_without_audio", "songs_without_audio_interactions")):  # fmt: skip
        dropped = [index for index, song in enumerate(data.songs) if reasons.get(song, ("",))[0] == kind]
        report[kind], report[what] = len(dropped), int(per_song[dropped].sum())
        rejected.extend(Rejected(data.songs[index], reasons[data.songs[index]][1]) for index in dropped)
        if dropped:
            log.warning("%d %s (%d interactions) dropped, listed in rejected.csv", len(dropped),
                        kind.replace("_", " "), report[what])  # fmt: skip
    has_audio = np.array([song in audio for song in data.songs], bool)
    data = _restrict(data, has_audio[data.song]) if len(data) else data
    if not len(data):
        raise DatasetError(f"{path}: no interaction is left after dropping unknown users, unknown songs "
                           f"and songs without audio under {audio_dir}")  # fmt: skip

    if listed is not None:
        position = {song: index for index, song in enumerate(listed)}
        in_list = np.array([song in position for song in data.songs], bool)
        report["songs_not_in_list"] = int((~in_list).sum())
        report["songs_not_in_list_interactions"] = int((~in_list[data.song]).sum())
        report["listed_songs_missing"] = len(listed) - int(in_list.sum())
        if report["listed_songs_missing"]:
            log.warning("%d of the %d listed songs have no interaction with audio and are left out",
                        report["listed_songs_missing"], len(listed))  # fmt: skip
        data = _restrict(data, in_list[data.song])
        if not len(data):
            raise DatasetError(f"{song_list}: none of the listed songs has an interaction with audio")
        data = select_subset(data, num_users, len(listed))
        order = [position[song] for song in data.songs]
    else:
        data = select_subset(data, num_users, num_songs)
        order = None
    masks = split_interactions(data, cold_fraction, holdout_fraction, seed)
    split = np.where(masks["test_cold"], 2, np.where(masks["test_warm"], 1, 0)).astype(np.int8)
    cold = np.zeros(len(data.songs), bool)
    cold[masks["cold_songs"]] = True
    result = InteractionSplit(
        users=data.users, songs=data.songs, tracks=[audio[song][0] for song in data.songs],
        user=data.user, song=data.song, count=data.count, split=split, cold=cold, order=order,
    )  # fmt: skip
    report["arguments"] = {"num_users": num_users, "num_songs": num_songs, "song_list": song_list,
                           "cold_fraction": cold_fraction,
                           "holdout_fraction": holdout_fraction, "seed": seed}  # fmt: skip
    jobs = []
    for index, song in enumerate(data.songs):
        relative = audio[song][1]
        jobs.append(ClipJob(source=os.path.join(audio_dir, relative), path=relative, clip_id=song, labels=(),
                            split="test" if cold[index] else "train"))  # fmt: skip
    log.info("%d users x %d songs (%d cold), %d interactions: train %d, warm test %d, cold test %d",
             result.num_users, result.num_songs, int(cold.sum()), len(result.user), int(result.train.sum()),
             int(result.test_warm.sum()), int(result.test_cold.sum()))  # fmt: skip
    return TasteProfilePlan(dataset="taste_profile", task="multi_label", tags=[], source=audio_dir, jobs=jobs,
                            rejected=rejected, interactions=result, report=report)  # fmt: skip


def write_interactions(plan, out_dir):
    """Writes `interactions.npz` and `interactions.json` into a finished conversion's folder.

    Songs that have no record in `clips.csv` (their audio failed to decode) are dropped with
    their interactions first, so that the npz's songs are exactly the written clip ids.

    Returns:
        The report dict written to `interactions.json`.
    """
    split = plan.interactions
    written = _written_clip_ids(os.path.join(out_dir, CLIPS))
    kept = np.array([song in written for song in split.songs], bool)
    report = dict(plan.report)
    report["songs_not_written"] = int((~kept).sum())
    if not kept.all():
        log.warning("%d songs have no record (see rejected.csv) and are dropped from %s with their "
                    "interactions", int((~kept).sum()), FILE_NAME)  # fmt: skip
        rows = kept[split.song]
        index = np.cumsum(kept) - 1
        split = InteractionSplit(
            users=split.users, songs=split.songs[kept], tracks=split.tracks[kept], user=split.user[rows],
            song=index[split.song[rows]], count=split.count[rows], split=split.split[rows],
            cold=split.cold[kept], order=split.order[kept],
        )  # fmt: skip
    report["kept"] = {"users": split.num_users, "songs": split.num_songs, "cold_songs": int(split.cold.sum()),
                      "warm_songs": int((~split.cold).sum()), "interactions": len(split.user)}  # fmt: skip
    report["splits"] = {"train": int(split.train.sum()), "test_warm": int(split.test_warm.sum()),
                        "test_cold": int(split.test_cold.sum())}  # fmt: skip
    report["files"] = {"interactions": FILE_NAME,
                       "audio": {"train": "warm songs", "test": "cold-start songs"}}  # fmt: skip
    save_interaction_split(os.path.join(out_dir, FILE_NAME), split)
    write_json_atomic(os.path.join(out_dir, REPORT), report)
    log.info("wrote %s and %s: %d users x %d songs, %d interactions", FILE_NAME, REPORT, split.num_users,
             split.num_songs, len(split.user))  # fmt: skip
    return report


def _map_msd_songs(songs, found, msd_tracks, song_to_tracks, mismatches):
    """`({song: (track id, audio path)}, {song: (kind, reason)}, mismatched pairs excluded)`."""
    if msd_tracks is not None:
        source = require_file(msd_tracks, "MSD track list")
        tracks = _read_unique_tracks(source)
    else:
        source = require_file(song_to_tracks, "song-to-tracks file")
        tracks = _read_song_to_tracks(source)
    name = os.path.basename(source)
    bad = _read_mismatches(require_file(mismatches, "mismatch list")) if mismatches is not None else set()
    audio, reasons, excluded = {}, {}, 0
    for song in songs:
        listed = tracks.get(song, [])
        usable = [track for track in listed if (song, track) not in bad]
        excluded += len(listed) - len(usable)
        if not listed:
            reasons[song] = ("unknown_songs", f"song id not in {name}")
            continue
        if not usable:
            reasons[song] = ("unknown_songs", f"every track of the song ({', '.join(listed)}) is a known "
                                              f"mismatch in {os.path.basename(mismatches)}")  # fmt: skip
            continue
        for track in usable:
            paths = found.get(track, ())
            if len(paths) > 1:
                raise DatasetError(f"track id {track} (song {song}) has {len(paths)} audio files: "
                                   f"{', '.join(paths)}")  # fmt: skip
            if paths:
                audio[song] = (track, paths[0])
                break
        else:
            reasons[song] = ("songs_without_audio", f"no audio file for its tracks {', '.join(usable)}")
    if excluded:
        log.info("%d song-track pairs of the interactions' songs excluded as known mismatches", excluded)
    return audio, reasons, excluded


def _match_items(items, found, audio_dir):
    """`({item: (audio path, audio path)}, {item: (kind, reason)})` for the CSV form's items."""
    by_path, by_base, by_stem = {}, collections.defaultdict(list), collections.defaultdict(list)
    for stem, paths in found.items():
        for path in paths:
            by_path[path] = [path]
            base = path[: -len(path.rsplit("/", 1)[-1])] + stem  # the folder, then the stem
            by_base[base].append(path)
            by_stem[stem].append(path)
    audio, reasons = {}, {}
    for item in items:
        for rule, index in (("path", by_path), ("path without extension", by_base), ("file name", by_stem)):
            paths = index.get(item)
            if paths:
                if len(paths) > 1:
                    raise DatasetError(f"item {item!r} is ambiguous: it is the {rule} of {len(paths)} audio "
                                       f"files under {audio_dir}: {', '.join(sorted(paths))}")  # fmt: skip
                audio[item] = (paths[0], paths[0])
                break
        else:
            reasons[item] = ("songs_without_audio", f"no audio file under {audio_dir} matches the item")
    return audio, reasons


def _read_unique_tracks(path):
    """`{song_id: [track ids in file order]}` from MSD's `unique_tracks.txt`."""
    tracks = collections.defaultdict(list)
    for line, text in read_mixed_lines(path):  # titles and artists: UTF-8 and some Latin-1
        if not text.strip():
            continue
        fields = [field.strip() for field in text.split(MSD_SEPARATOR)]
        if len(fields) != 4 or not fields[0] or not fields[1]:
            raise DatasetError(f"{path}, line {line}: expected track_id<SEP>song_id<SEP>artist<SEP>title "
                               f"with both ids, got {text[:120]!r}")  # fmt: skip
        tracks[fields[1]].append(fields[0])
    return tracks


def _read_song_to_tracks(path):
    """`{song_id: [track ids in line order]}` from `taste_profile_song_to_tracks.txt`."""
    tracks = collections.defaultdict(list)
    with utf8_errors(path), open(path, encoding="utf-8") as handle:  # ids only: UTF-8 or an error
        for text in handle:
            fields = [field.strip() for field in text.rstrip("\r\n").split("\t")]
            fields = [field for field in fields if field]
            if fields:  # a song id alone: a song without a track
                tracks[fields[0]].extend(fields[1:])
    return tracks


def _read_mismatches(path):
    """`{(song_id, track_id)}` from `sid_mismatches.txt`; lines of another form are counted."""
    pairs, other = set(), 0
    for _, text in read_mixed_lines(path):  # titles and artists: UTF-8 and some Latin-1
        match = _MISMATCH.match(text)
        if match:
            pairs.add(match.groups())
        elif text.strip():
            other += 1
    if other:
        log.warning("%s: %d lines not of the form 'ERROR: <SONG_ID TRACK_ID> ...' are ignored", path, other)
    return pairs


def read_song_list(path):
    """Song ids in order from a `.npy` array of strings (the DCUE authors' `|S18` array, read
    without pickle) or a text file of one id per line; a DatasetError for anything else or a
    repeated id."""
    if path.endswith(".npy"):
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise DatasetError(f"{path}: not a NumPy array of song ids ({error})") from None
        if array.ndim != 1 or array.dtype.kind not in "SU":
            raise DatasetError(f"{path}: expected a 1-D array of song ids, got {array.dtype} {array.shape}")
        try:
            ids = [value.decode("ascii") if isinstance(value, bytes) else str(value) for value in array.tolist()]
        except UnicodeDecodeError:
            raise DatasetError(f"{path}: song ids must be ASCII") from None
    else:
        with utf8_errors(path), open(path, encoding="utf-8") as handle:
            ids = [text.strip() for text in handle if text.strip()]
    ids = [song.strip() for song in ids]
    if not ids or not all(ids):
        raise DatasetError(f"{path}: no song ids, or an empty one")
    if len(set(ids)) != len(ids):
        repeated = next(song for song in ids if ids.count(song) > 1)
        raise DatasetError(f"{path}: song id {repeated} is listed twice")
    return ids


def _read_ids(path):
    with utf8_errors(path), open(path, encoding="utf-8") as handle:
        return {text.strip() for text in handle if text.strip()}


def _restrict(data, keep):
    """The interactions under the boolean mask `keep`, users and songs without one dropped."""
    users, user = np.unique(data.user[keep], return_inverse=True)
    songs, song = np.unique(data.song[keep], return_inverse=True)
    return Interactions(
        users=[data.users[u] for u in users], songs=[data.songs[s] for s in songs],
        user=user.astype(np.int32), song=song.astype(np.int32), count=data.count[keep],
        malformed=data.malformed,
    )  # fmt: skip


def _written_clip_ids(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["clip_id"] for row in csv.DictReader(handle)}
