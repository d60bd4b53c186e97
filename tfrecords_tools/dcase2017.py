"""DCASE 2017 Task 4 (large-scale weakly supervised sound event detection for smart cars), weak labels.

Layout, as in the task repository
(https://github.com/ankitshah009/Task-4-Large-scale-weakly-supervised-sound-event-detection-for-smart-cars)
after its `download_audio.py` has fetched the audio:

    root/
      groundtruth_weak_label_training_set.csv     51,172 clips (also accepted in groundtruth_release/)
      groundtruth_weak_label_testing_set.csv      488 clips (idem)
      groundtruth_release/
        groundtruth_weak_label_evaluation_set.csv 1,103 clips (also accepted at the top level)
      sound_event_list_17_classes.txt             optional: MID<TAB>confidence<TAB>label rows
                                                  after a header line
      unbalanced_train_segments_training_set_audio_formatted_and_segmented_downloads/
      unbalanced_train_segments_testing_set_audio_formatted_and_segmented_downloads/
      evaluation_set_formatted_audio_segments/
                                                  Y<ytid>_<start>_<end>.wav, up to 10 s each

The weak-label CSVs are tab-separated without a header, one row per (clip, label):
`<ytid>_<start>_<end>.wav<TAB>start<TAB>end<TAB>label` (CRLF or LF line ends). The audio
files carry a `Y` before the YouTube id (ids may start with "-"); the CSVs do not.

Multi-label over the 17 classes. Tag order: the JSTSP 2019 authors' `CLASSES` order (Lee et
al., "Comparison and analysis of SampleCNN architectures for audio classification";
tae-jun/sampleaudio `lib/data/dcs.py`), not the order of the class list file:

    Train horn, Air horn, truck horn, Car alarm, Reversing beeps, Ambulance (siren),
    Police car (siren), Fire engine, fire truck (siren), Civil defense siren, Screaming,
    Bicycle, Skateboard, Car, Car passing by, Bus, Truck, Motorcycle, Train

Splits (`--split`):

- `jstsp` (default), the authors' protocol: the training and testing sets are pooled; for
  every class, 10 % of the pooled clips having that class (rounded to the nearest integer)
  are drawn, and every clip drawn for any class is validation data; the rest is training
  data; the evaluation set is the test set. The authors draw with pandas
  (`sample(frac=0.1, random_state=123)`), whose random stream this package cannot reproduce
  without pandas, so the draw here is our own deterministic rule: per class, the clip names
  sorted, shuffled with `random.Random(f"{seed}:{class}")`, the first `round(0.1 n)` taken
  (`--seed`, default 123). The split is made from the CSVs alone, so missing audio files do
  not change it. The authors' sizes are 46,042 / 5,618 / 1,103 clips; ours differ slightly
  and are logged.
- `official`: training set -> train, testing set -> valid, evaluation set -> test.

The defaults are the authors' `DCS_CONFIG`: 22050 Hz, 1-s segments, clips shorter than 10 s
tiled (repeated end to end) to 10 s.
"""

import collections
import csv
import logging
import math
import os
import random
import re

from tfrecords_tools import dcase2017_layout as layout
from tfrecords_tools.common import SPLITS, require_dir, source_in_root, utf8_errors
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan, Rejected

log = logging.getLogger(__name__)

NAME = "dcase2017"
DEFAULTS = {
    "sample_rate": 22050,
    "segment_seconds": 1.0,  # 1-s segments (JSTSP 2019): 22,050 samples at 22,050 Hz, 16,000 at 16 kHz
    "shard_size": 300,
    "short": "tile",
    "min_seconds": 10.0,
}
CLASSES = layout.JSTSP_CLASS_ORDER  # the tag order
CLASS_LIST = layout.CLASS_LIST_FILE
GROUNDTRUTH_DIR = layout.GROUNDTRUTH_DIR
TRAIN_AUDIO = layout.AUDIO_FOLDERS["training"]
TEST_AUDIO = layout.AUDIO_FOLDERS["testing"]
EVAL_AUDIO = layout.AUDIO_FOLDERS["evaluation"]
SPLIT_RULES = ("jstsp", "official")
VALID_FRACTION = 0.1
DEFAULT_SEED = 123
# The authors' split sizes (train, valid, test), for comparison in the log.
JSTSP_SIZES = (46042, 5618, 1103)


class _Set:
    """One of the three released sets: its weak-label CSV (name and where to look) and audio."""

    def __init__(self, name, csv_name, locations):
        self.name = name
        self.csv_name = csv_name
        self.locations = locations  # folders relative to the root, searched in order


SETS = (
    _Set("training", layout.WEAK_LABEL_CSVS["training"], ("", GROUNDTRUTH_DIR)),
    _Set("testing", layout.WEAK_LABEL_CSVS["testing"], ("", GROUNDTRUTH_DIR)),
    _Set("evaluation", layout.WEAK_LABEL_CSVS["evaluation"], (GROUNDTRUTH_DIR, "")),
)
_OFFICIAL_SPLIT = {"training": "train", "testing": "valid", "evaluation": "test"}
# <ytid>_<start>_<end>.wav; YouTube ids themselves may contain "_" and "-".
_CLIP_NAME = re.compile(r"^(?P<ytid>.+)_(?P<start>\d+(?:\.\d+)?)_(?P<end>\d+(?:\.\d+)?)\.wav$")
_ROW_FORMAT = "4 tab-separated columns <ytid>_<start>_<end>.wav, start, end, label"


_MAX_LOGGED_PROBLEMS = 10


class _Clip:
    """A clip read from a weak-label CSV: its labels and where it was first listed."""

    def __init__(self, where):
        self.where = where  # "csv:line" of its first row
        self.labels = set()
        self.unknown = []  # unknown labels dropped with --skip-unknown-labels
        self.problems = []  # "csv:line: what is wrong" for rows that reject the whole clip


def add_arguments(parser):
    """Adds the DCASE 2017 Task 4 options to an argparse (sub)parser.

    Args:
        parser: an `argparse.ArgumentParser` (the `dcase2017` subcommand).
    """
    parser.add_argument(
        "--root",
        required=True,
        help="the task folder holding the groundtruth_weak_label_*.csv files and the three audio folders",
    )
    parser.add_argument(
        "--split",
        choices=SPLIT_RULES,
        default="jstsp",
        help="jstsp: training+testing pooled, 10%% of each class's clips held out for validation, "
        "evaluation set as test (the JSTSP 2019 protocol); official: training/testing/evaluation "
        "as train/valid/test (default jstsp)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the jstsp validation draw (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--train-audio", default=TRAIN_AUDIO, help=f"training-set audio folder (default {TRAIN_AUDIO})"
    )
    parser.add_argument(
        "--test-audio", default=TEST_AUDIO, help=f"testing-set audio folder (default {TEST_AUDIO})"
    )
    parser.add_argument(
        "--eval-audio", default=EVAL_AUDIO, help=f"evaluation-set audio folder (default {EVAL_AUDIO})"
    )
    parser.add_argument(
        "--skip-unknown-labels",
        action="store_true",
        help="drop labels that are not among the 17 classes (with a warning) instead of stopping",
    )


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments.

    Args:
        args: the `argparse.Namespace` of the `dcase2017` subcommand.

    Returns:
        The `DatasetPlan` of `plan`.
    """
    return plan(
        args.root,
        split=args.split,
        seed=args.seed,
        train_audio=args.train_audio,
        test_audio=args.test_audio,
        eval_audio=args.eval_audio,
        skip_unknown_labels=args.skip_unknown_labels,
    )


def plan(
    root,
    split="jstsp",
    seed=DEFAULT_SEED,
    train_audio=TRAIN_AUDIO,
    test_audio=TEST_AUDIO,
    eval_audio=EVAL_AUDIO,
    skip_unknown_labels=False,
):
    """Plans the conversion of a DCASE 2017 Task 4 folder (weak labels).

    Args:
        root: the task folder (see the module docstring).
        split: `"jstsp"` or `"official"` (see the module docstring).
        seed: seed of the `jstsp` validation draw.
        train_audio, test_audio, eval_audio: the audio folders of the training, testing and
            evaluation sets, relative to `root` (or absolute).
        skip_unknown_labels: drop labels outside the class list with a warning and keep the
            clip's other labels; by default a clip with an unknown label is rejected whole.
            A clip left without labels is listed in `rejected.csv` either way.

    Bad rows never stop the conversion of the good clips: a malformed line or a row with an
    unknown label is logged with its file and line and listed in `rejected.csv` (under the
    clip's path when the clip name is readable, else as `csv:line`).

    Returns:
        A multi-label `DatasetPlan` over the 17 classes; `metadata` gives each clip's set.

    Raises:
        DatasetError: missing root, CSV or audio folder; a CSV most of whose lines are not
            weak-label rows (naming file and line); a clip listed in two sets.
    """
    if split not in SPLIT_RULES:
        raise DatasetError(f"unknown split rule {split!r}; expected one of {SPLIT_RULES}")
    root = require_dir(root, "DCASE 2017 Task 4 root")
    classes = read_class_list(root)
    audio_dirs = dict(zip((s.name for s in SETS), (train_audio, test_audio, eval_audio)))
    for set_name, folder in audio_dirs.items():
        require_dir(os.path.join(root, folder), f"{set_name}-set audio folder")

    clips = {}  # set name -> {clip name: _Clip}
    first_set = {}  # clip name -> (set name, "csv:line")
    rejected = []
    for dataset in SETS:
        csv_path = _find_csv(root, dataset)
        clips[dataset.name], malformed = read_weak_labels(
            csv_path, classes, skip_unknown_labels, where=os.path.relpath(csv_path, root)
        )
        rejected.extend(malformed)
        for name, clip in clips[dataset.name].items():
            previous = first_set.setdefault(name, (dataset.name, clip.where))
            if previous[0] != dataset.name:
                raise DatasetError(
                    f"{clip.where}: {name} is also in the {previous[0]} set ({previous[1]}); "
                    "a clip must be in one set only"
                )
    _log_unknown_labels(clips)

    split_of = _split(clips, classes, split, seed)
    index = {label: i for i, label in enumerate(classes)}
    jobs, metadata = [], {}
    for dataset in SETS:
        folder = os.path.join(root, audio_dirs[dataset.name])
        for name, clip in clips[dataset.name].items():
            source = source_in_root(folder, "Y" + name)
            if source is None:  # a clip name with "/" and ".." in its id, e.g. "../../x_0_10.wav"
                reason = f"outside the audio folder (absolute or '..'), not read (listed in {clip.where})"
                rejected.append(Rejected(f"{audio_dirs[dataset.name]}/Y{name}", reason))
                continue
            path = os.path.relpath(source, root).replace(os.sep, "/")
            if clip.problems:
                rejected.append(Rejected(path, "; ".join(clip.problems)))
                continue
            if not clip.labels:
                skipped = sorted(set(clip.unknown))
                reason = f"no known label (unknown labels {skipped} skipped; listed in {clip.where})"
                rejected.append(Rejected(path, reason))
                continue
            if not os.path.isfile(source):
                rejected.append(Rejected(path, f"file not found (listed in {clip.where})"))
                continue
            labels = [0.0] * len(classes)
            for label in clip.labels:
                labels[index[label]] = 1.0
            jobs.append(
                ClipJob(
                    source=source,
                    path=path,
                    clip_id=name[: -len(".wav")],
                    labels=tuple(labels),
                    split=split_of[name],
                )
            )
            metadata[path] = {"set": dataset.name}

    planned = collections.Counter(split_of.values())
    found = collections.Counter(job.split for job in jobs)
    authors = ""
    if split == "jstsp":
        authors = (
            " (the authors' pandas draw: "
            + " / ".join(f"{s} {n:,}" for s, n in zip(SPLITS, JSTSP_SIZES))
            + ")"
        )
    log.info(
        "%s split%s: %s clips listed%s; with audio found: %s; %d rejected",
        split,
        f" (seed {seed})" if split == "jstsp" else "",
        " / ".join(f"{s} {planned[s]:,}" for s in SPLITS),
        authors,
        " / ".join(f"{s} {found[s]:,}" for s in SPLITS),
        len(rejected),
    )
    return DatasetPlan(
        dataset=NAME,
        task="multi_label",
        tags=list(classes),
        source=root,
        jobs=jobs,
        rejected=rejected,
        metadata=metadata,
        # The audio folders are options (trusted), and may lie elsewhere; clip names may not.
        other_roots=tuple(os.path.join(root, folder) for folder in audio_dirs.values()),
    )


def read_class_list(root):
    """The tag names: `sound_event_list_17_classes.txt` if present, else `CLASSES`.

    Classes known to `CLASSES` keep the authors' order; any others follow in file order.

    Args:
        root: the task folder.

    Returns:
        A tuple of label strings.

    Raises:
        DatasetError: a row of the class list is not `MID<TAB>confidence<TAB>label`, or the
            file lists no class.
    """
    path = os.path.join(root, CLASS_LIST)
    if not os.path.isfile(path):
        log.info("%s not found; using the built-in list of the %d classes", CLASS_LIST, len(CLASSES))
        return CLASSES
    labels = []
    with utf8_errors(path), open(path, encoding="utf-8-sig", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            # The first line is a header (separated by spaces in the release); a first line
            # that already looks like a row (a /m/ or /t/ MID) is read as one.
            if number == 1 and not (len(fields) == 3 and fields[0].startswith("/")):
                continue
            if len(fields) != 3 or not fields[2].strip():
                raise DatasetError(f"{path}:{number}: expected MID<TAB>confidence<TAB>label, got {line!r}")
            labels.append(fields[2].strip())
    if not labels:
        raise DatasetError(f"{path}: no classes listed (expected MID<TAB>confidence<TAB>label rows)")
    if set(labels) != set(CLASSES):
        log.warning(
            "%s differs from the 17 DCASE 2017 Task 4 classes: only in the file %s; missing %s",
            path,
            [label for label in labels if label not in CLASSES],
            [label for label in CLASSES if label not in labels],
        )
    ordered = [label for label in CLASSES if label in labels]
    ordered += [label for label in dict.fromkeys(labels) if label not in CLASSES]
    return tuple(ordered)


def read_weak_labels(path, classes, skip_unknown_labels=False, where=None):
    """Reads a weak-label CSV into `{clip name: _Clip}` in file order, and its malformed lines.

    A row with an unknown label marks its clip as rejected (`_Clip.problems`), or with
    `skip_unknown_labels` only drops that label (`_Clip.unknown`). A row that cannot be read
    (wrong column count, a clip name not `<ytid>_<start>_<end>.wav`, non-numeric times) is
    returned as a `Rejected` row named `csv:line`, or, when its clip name is readable, rejects
    that clip. Each is logged with its file and line.

    Args:
        path: a `groundtruth_weak_label_*_set.csv` file.
        classes: the known labels.
        skip_unknown_labels: drop unknown labels instead of rejecting their clips.
        where: how to name the file in messages (default: `path`).

    Returns:
        `(clips, malformed)`: a dict from clip file name (without `Y`) to a `_Clip`, and a
        list of `Rejected` rows for lines naming no readable clip.

    Raises:
        DatasetError: the file has no rows, or more than half of its lines are malformed
            (not this CSV format at all); the message names the first bad line.
    """
    where = where or path
    known = set(classes)
    clips = {}
    malformed, problems = [], []  # unreadable-clip rows; every "csv:line: problem" message
    rows = duplicates = mismatched = 0
    example_mismatch = None
    # utf-8-sig: a byte-order mark would otherwise stick to the first clip name. newline="":
    # the csv module handles CRLF and LF, and quoted labels ("Air horn, truck horn").
    with utf8_errors(path), open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quotechar='"')
        try:
            for fields in reader:
                line = f"{where}:{reader.line_num}"
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                rows += 1
                problem, name = _row_problem(fields)
                if problem is None:
                    name, start, end, label = (field.strip() for field in fields)
                    match = _CLIP_NAME.match(name)
                    if abs(float(start) - float(match["start"])) > 1e-3 or abs(float(end) - float(match["end"])) > 1e-3:
                        mismatched += 1
                        example_mismatch = example_mismatch or line
                elif name is None:
                    malformed.append(Rejected(line, problem))
                clip = clips.get(name) if name else None
                if name and clip is None:
                    clip = clips[name] = _Clip(line)
                if problem is not None:
                    problems.append(f"{line}: {problem}")
                    if clip is not None:
                        clip.problems.append(f"{line}: {problem}")
                    continue
                if label not in known:
                    if skip_unknown_labels:
                        clip.unknown.append(label)
                    else:
                        message = f"{line}: unknown label {label!r}"
                        clip.problems.append(message)
                        problems.append(message)
                    continue
                if label in clip.labels:
                    duplicates += 1
                clip.labels.add(label)
        except csv.Error as error:
            raise DatasetError(
                f"{where}:{reader.line_num}: not readable as CSV ({error}); expected {_ROW_FORMAT}"
            ) from error
    unreadable = sum(1 for problem in problems if "unknown label" not in problem)
    if not rows or unreadable * 2 > rows:
        first = problems[0] if problems else f"{where}: no rows"
        raise DatasetError(f"{first}; expected {_ROW_FORMAT} (is this a DCASE 2017 Task 4 weak-label file?)")
    for problem in problems[:_MAX_LOGGED_PROBLEMS]:
        log.warning("%s; the clip is rejected", problem)
    if len(problems) > _MAX_LOGGED_PROBLEMS:
        log.warning("... and %d more bad rows, listed in rejected.csv", len(problems) - _MAX_LOGGED_PROBLEMS)
    if any("unknown label" in problem for problem in problems):
        log.warning(
            "the known labels are: %s (--skip-unknown-labels keeps such clips with their other labels)",
            "; ".join(classes),
        )
    if duplicates:
        log.info("%s: %d repeated (clip, label) rows, counted once", where, duplicates)
    if mismatched:
        log.warning(
            "%s: %d rows whose start/end columns differ from the times in the clip name (first: %s); "
            "the name is used",
            where,
            mismatched,
            example_mismatch,
        )
    log.info("%s: %d clips", where, len(clips))
    return clips, malformed


def _row_problem(fields):
    """`(what is wrong with a weak-label row or None, its clip name if readable)`."""
    if len(fields) != 4:
        hint = " (it looks comma-separated)" if len(fields) == 1 and "," in fields[0] else ""
        return f"{len(fields)} columns, expected {_ROW_FORMAT}{hint}", None
    name, start, end, _ = (field.strip() for field in fields)
    if not _CLIP_NAME.match(name):
        return f"clip name {name!r} is not <ytid>_<start>_<end>.wav", None
    for column, text in (("start", start), ("end", end)):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            return f"{column} time {text!r} is not a number", name
    return None, name


def jstsp_validation(clips_by_label, seed=DEFAULT_SEED, fraction=VALID_FRACTION):
    """The clips held out for validation by the JSTSP rule (our seeded version).

    For every class, `round(fraction * n)` of its `n` clips are drawn: the names sorted,
    shuffled with `random.Random(f"{seed}:{label}")`, the first ones taken. A clip drawn for
    any of its classes is held out.

    Args:
        clips_by_label: `{label: iterable of clip names having that label}`.
        seed: any int.
        fraction: the share of each class's clips drawn.

    Returns:
        The set of clip names held out.
    """
    held_out = set()
    for label, names in clips_by_label.items():
        members = sorted(set(names))
        random.Random(f"{seed}:{label}").shuffle(members)
        # Python's round, like pandas' sample(frac=...): half to even.
        held_out.update(members[: round(fraction * len(members))])
    return held_out


def _find_csv(root, dataset):
    candidates = [os.path.join(root, folder, dataset.csv_name) for folder in dataset.locations]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise DatasetError(
        f"{dataset.name}-set weak labels not found: expected {' or '.join(candidates)} "
        "(the DCASE 2017 Task 4 repository layout)"
    )


def _split(clips, classes, rule, seed):
    """{clip name: split} for every clip of the three sets."""
    if rule == "official":
        return {name: _OFFICIAL_SPLIT[set_name] for set_name, members in clips.items() for name in members}
    pooled = {**clips["training"], **clips["testing"]}
    by_label = {label: [name for name, clip in pooled.items() if label in clip.labels] for label in classes}
    held_out = jstsp_validation(by_label, seed)
    # round(0.1 n) is 0 below 5 clips (and at 5, half to even): such a class gets no
    # validation clip of its own.
    unseen = [label for label, names in by_label.items() if names and not held_out.intersection(names)]
    if unseen:
        log.warning("no validation clip for %s (too few clips for a 10 %% draw)", unseen)
    split_of = {name: "valid" if name in held_out else "train" for name in pooled}
    split_of.update({name: "test" for name in clips["evaluation"]})
    return split_of


def _log_unknown_labels(clips):
    unknown = collections.Counter(
        label for members in clips.values() for clip in members.values() for label in clip.unknown
    )
    if unknown:
        log.warning(
            "--skip-unknown-labels: dropped %d rows with labels outside the class list: %s",
            sum(unknown.values()),
            "; ".join(f"{label!r} x{count}" for label, count in sorted(unknown.items())),
        )
