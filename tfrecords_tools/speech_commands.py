"""Speech Commands (Warden, 2018, arXiv:1804.03209), v0.02 or v0.01, as distributed.

Layout:

    root/
      backward/0a2b400e_nohash_0.wav ...   one folder per word: 16 kHz mono 1-s wav files
      ...                                   (35 words in v0.02, 30 in v0.01; some files are
                                            shorter than 1 s)
      validation_list.txt                   paths like right/0a7c2a8d_nohash_0.wav
      testing_list.txt
      _background_noise_/*.wav              long noise recordings, not a word class
      README.md, LICENSE

Every file in neither list is training data. Single-label. Two label sets (`--variant`):

- `35` (default): every word folder is a class; tag order: the sorted word folders, then
  `_silence_` with `--silence`. With `--silence`, the background-noise recordings are cut into
  non-overlapping 1-s `_silence_` clips: the first 80 % of each recording's clips go to train,
  the next 10 % to valid and the last 10 % to test, so no stretch of noise is in two splits.
- `12`: the ten command words, `_silence_` and `_unknown_` (every other word), as in the
  TensorFlow Datasets `speech_commands` builder; tag order as there: down, go, left, no, off,
  on, right, stop, up, yes, `_silence_`, `_unknown_`. The test split is `testing_list.txt`,
  or, with `--test-root`, the separately distributed `speech_commands_test_set_v0.02` folder
  (one folder per label, `_silence_` and `_unknown_` included; some names end in `.wav.wav`);
  `testing_list.txt` is then only kept out of train. `_silence_` clips: with `--test-root`,
  as TFDS does, 1-s windows every 0.5 s of `_background_noise_/running_tap.wav` go to valid
  and those of the other recordings to train; without it, the 80/10/10 rule above, so that
  the test split has `_silence_` clips too.

The JSTSP 2019 authors' settings (`SCD_CONFIG`) are the defaults: 22050 Hz, 1-s segments,
clips shorter than 1 s tiled (repeated end to end) to 1 s.

Checks: a list line that is not `<word>/<file>` in a word folder, or that repeats a path,
stops the conversion (file and line named); a listed file that does not exist, and a non-wav
file in a word folder, are listed in `rejected.csv`; empty or corrupt wav files reach the
writer, which rejects them with the reason; files that are not 16 kHz mono are converted
(resampled, mixed down) and named in a warning.
"""

import collections
import logging
import math
import os

import soundfile as sf

from tfrecords_tools.common import SPLITS, one_hot, require_dir, utf8_errors
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan, Rejected

log = logging.getLogger(__name__)

NAME = "speech_commands"
DEFAULTS = {
    "sample_rate": 22050,
    "segment_seconds": 1.0,  # 1-s segments (JSTSP 2019): 22,050 samples at 22,050 Hz, 16,000 at 16 kHz
    "shard_size": 1000,
    "short": "tile",
    "min_seconds": 1.0,
}
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
BACKGROUND_NOISE = "_background_noise_"
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
SILENCE_SECONDS = 1.0
SILENCE_SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
VARIANTS = (35, 12)
# The 12-class variant, in the order of the TFDS builder's labels.
COMMAND_WORDS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")
CLASSES_12 = (*COMMAND_WORDS, SILENCE, UNKNOWN)
# TFDS cuts the noise into 1-s windows every 0.5 s and keeps this recording for validation.
TFDS_SILENCE_HOP_SECONDS = 0.5
TFDS_VALID_NOISE = "running_tap.wav"
# The release is 16 kHz mono; other files are converted, with a warning.
NATIVE_RATE = 16000
_MAX_NAMED_FILES = 5


def add_arguments(parser):
    """Adds the Speech Commands options to an argparse (sub)parser.

    Args:
        parser: an `argparse.ArgumentParser` (the `speech-commands` subcommand).
    """
    parser.add_argument(
        "--root", required=True, help=f"folder with one folder per word, {VALIDATION_LIST} and {TESTING_LIST}"
    )
    parser.add_argument(
        "--variant",
        type=int,
        choices=VARIANTS,
        default=35,
        help="35: every word folder is a class; 12: the ten command words + _silence_ + _unknown_ "
        "(the TFDS variant) (default 35)",
    )
    parser.add_argument(
        "--silence",
        action="store_true",
        help=f"--variant 35: add a {SILENCE} class cut from {BACKGROUND_NOISE}/ (1-s clips); "
        "--variant 12 always has it",
    )
    parser.add_argument(
        "--test-root",
        metavar="DIR",
        help="--variant 12: the speech_commands_test_set_v0.02 folder, used as the test split "
        f"instead of {TESTING_LIST}",
    )


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments.

    Args:
        args: the `argparse.Namespace` of the `speech-commands` subcommand.

    Returns:
        The `DatasetPlan` of `plan`.
    """
    return plan(args.root, silence=args.silence, variant=args.variant, test_root=args.test_root)


def plan(root, silence=False, variant=35, test_root=None):
    """Plans the conversion of a Speech Commands folder.

    Args:
        root: the extracted `speech_commands_v0.02` folder.
        silence: with `variant=35`, add a `_silence_` class cut from `_background_noise_/`.
        variant: 35 (every word a class) or 12 (ten words, `_silence_`, `_unknown_`).
        test_root: with `variant=12`, the extracted `speech_commands_test_set_v0.02` folder,
            which replaces `testing_list.txt` as the test split.

    Returns:
        A single-label `DatasetPlan`.

    Raises:
        DatasetError: missing root, split list or test folder; a list line outside the word
            folders, repeated, or in both lists; no word folders; an unknown label folder in
            the test folder; `test_root` without `variant=12`.
    """
    if variant not in VARIANTS:
        raise DatasetError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    if test_root is not None and variant != 12:
        raise DatasetError("--test-root (the separate test set) goes with --variant 12")
    root = require_dir(root, "Speech Commands root")
    split_of, listed_in = _read_lists(root)

    files, rejected = _word_folders(root)
    words = sorted(files)
    if variant == 35:
        if len(words) not in (30, 35):
            log.warning("found %d word folders; Speech Commands v0.02 has 35 (v0.01: 30)", len(words))
        classes = words + ([SILENCE] if silence else [])
        label_of = {word: one_hot(index, len(classes)) for index, word in enumerate(words)}
    else:
        missing = [word for word in COMMAND_WORDS if word not in files]
        if missing:
            log.warning("no folder (or no .wav file) for the command words %s", missing)
        classes = list(CLASSES_12)
        label_of = {
            word: one_hot(classes.index(word if word in COMMAND_WORDS else UNKNOWN), len(classes))
            for word in words
        }

    # With the separate test set, testing_list.txt only keeps its files out of train (as TFDS).
    use_testing_list = test_root is None
    jobs = []
    left_out = 0
    for word in words:
        for name in files[word]:
            path = f"{word}/{name}"
            split = split_of.get(path, "train")
            if split == "test" and not use_testing_list:
                left_out += 1
                continue
            jobs.append(
                ClipJob(
                    source=os.path.join(root, word, name),
                    path=path,
                    clip_id=os.path.splitext(path)[0],
                    labels=label_of[word],
                    split=split,
                )
            )
    if left_out:
        log.info("%d files of %s left out: the test split comes from --test-root", left_out, TESTING_LIST)
    # A listed path that exists but is no .wav file is already rejected as such.
    rejected.extend(
        Rejected(path, f"file not found (listed in {listed_in[path]})")
        for path, split in sorted(split_of.items())
        if not os.path.lexists(os.path.join(root, path)) and (use_testing_list or split != "test")
    )

    if variant == 12 or silence:
        silence_labels = one_hot(classes.index(SILENCE), len(classes))
        rule = "tfds" if test_root is not None else "position"
        silence_jobs, silence_rejected = _silence_jobs(root, silence_labels, rule)
        jobs.extend(silence_jobs)
        rejected.extend(silence_rejected)
    if test_root is not None:
        test_jobs, test_rejected = _test_set_jobs(test_root, classes)
        jobs.extend(test_jobs)
        rejected.extend(test_rejected)

    _warn_unusual_formats(jobs)
    log.info(
        "%d classes; %s clips",
        len(classes),
        ", ".join(f"{s} {sum(job.split == s for job in jobs)}" for s in SPLITS),
    )
    return DatasetPlan(
        dataset=NAME, task="single_label", tags=classes, source=root, jobs=jobs, rejected=rejected,
        other_roots=() if test_root is None else (os.path.abspath(test_root),),
    )


def read_list(path):
    """Reads `validation_list.txt` or `testing_list.txt` with line numbers.

    Args:
        path: the list file.

    Returns:
        A list of `(relative path, line number)`; blank lines are skipped and backslashes
        become slashes.

    Raises:
        DatasetError: the file is missing, a line is not `<word>/<file>` inside a word folder
            (absolute, `..`, another depth, a hidden or the background-noise folder), or a
            path is listed twice; the message names the file and line.
    """
    if not os.path.isfile(path):
        raise DatasetError(
            f"{path} not found: expected the Speech Commands layout (one folder per word, "
            f"{VALIDATION_LIST}, {TESTING_LIST})"
        )
    name = os.path.basename(path)
    entries, seen = [], {}
    with utf8_errors(path), open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            entry = line.strip().replace("\\", "/")
            if not entry:
                continue
            parts = entry.split("/")
            if (
                len(parts) != 2
                or not all(parts)
                or parts[0] in (".", "..", BACKGROUND_NOISE)
                or parts[0].startswith(".")
                or parts[1] in (".", "..")
            ):
                raise DatasetError(
                    f"{name}:{number}: {entry!r} does not name a file in a word folder "
                    "(expected <word>/<file>.wav, e.g. right/0a7c2a8d_nohash_0.wav)"
                )
            if entry in seen:
                raise DatasetError(f"{name}:{number}: {entry} is already listed on line {seen[entry]}")
            seen[entry] = number
            entries.append((entry, number))
    return entries


def _read_lists(root):
    """`({path: split}, {path: "list:line"})` from the two lists."""
    split_of, listed_in = {}, {}
    for split, name in (("valid", VALIDATION_LIST), ("test", TESTING_LIST)):
        for path, number in read_list(os.path.join(root, name)):
            if path in split_of:
                raise DatasetError(f"{name}:{number}: {path} is also listed in {listed_in[path]}")
            split_of[path] = split
            listed_in[path] = f"{name}:{number}"
    return split_of, listed_in


def _is_wav(name):
    # The separate test set has some "*.wav.wav" names; those end in .wav too.
    return name.lower().endswith(".wav")


def _is_ignorable(name):
    """Hidden files and the README/LICENSE files of the release."""
    stem = name.split(".")[0].upper()
    return name.startswith(".") or stem in ("README", "LICENSE")


def _list_folder(folder, relative):
    """Wav file names in `folder`, plus a `Rejected` row for every other entry in it.

    Hidden files and README/LICENSE files are skipped. A `.wav` file is listed whatever its
    content; the writer rejects an empty or corrupt one with its reason.
    """
    names, rejected = [], []
    for name in sorted(os.listdir(folder)):
        if _is_ignorable(name):
            continue
        full = os.path.join(folder, name)
        if not os.path.isfile(full):
            rejected.append(Rejected(f"{relative}/{name}", "not a .wav file (a folder or special file)"))
        elif _is_wav(name):
            names.append(name)
        else:
            rejected.append(Rejected(f"{relative}/{name}", "not a .wav file"))
    return names, rejected


def _word_folders(root):
    """`({word: wav names}, rejected)` for every word folder of `root`."""
    files, rejected, other = {}, [], []
    for word in sorted(os.listdir(root)):
        folder = os.path.join(root, word)
        if word == BACKGROUND_NOISE or _is_ignorable(word):
            continue
        if not os.path.isdir(folder):
            if word not in (VALIDATION_LIST, TESTING_LIST):
                other.append(word)
            continue
        names, folder_rejected = _list_folder(folder, word)
        rejected.extend(folder_rejected)
        if names:
            files[word] = names
        else:
            log.warning("%s/ holds no .wav file: not a class", word)
    if other:
        log.info("top-level files that are not part of the layout, ignored: %s", ", ".join(other))
    if not files:
        raise DatasetError(f"{root}: no word folders with .wav files (expected e.g. yes/*.wav)")
    return files, rejected


def _silence_jobs(root, labels, rule):
    """1-s `_silence_` crops of every background-noise recording.

    Args:
        root: the dataset root.
        labels: the `_silence_` one-hot labels.
        rule: `"position"`: non-overlapping windows, the first 80 % of a recording's windows
            to train, the next 10 % to valid, the rest to test; `"tfds"`: windows every
            0.5 s, `running_tap.wav` to valid, the other recordings to train.

    Returns:
        `(jobs, rejected)`.
    """
    folder = os.path.join(root, BACKGROUND_NOISE)
    if not os.path.isdir(folder):
        raise DatasetError(f"{SILENCE} clips need {folder}, which does not exist")
    names, rejected = _list_folder(folder, BACKGROUND_NOISE)
    jobs = []
    for name in names:
        path = f"{BACKGROUND_NOISE}/{name}"
        try:
            info = sf.info(os.path.join(folder, name))
        except (sf.SoundFileError, RuntimeError) as error:
            rejected.append(Rejected(path, f"not a readable audio file ({error})"))
            continue
        stem = os.path.splitext(name)[0]
        if rule == "tfds":
            hop = TFDS_SILENCE_HOP_SECONDS
            # Every full window: floor((length - 1 s) / hop) + 1 starts.
            window = info.samplerate * SILENCE_SECONDS
            count = int((info.frames - window) // (info.samplerate * hop)) + 1 if info.frames >= window else 0
            splits = ["valid" if name == TFDS_VALID_NOISE else "train"] * count
        else:
            hop = SILENCE_SECONDS
            count = int(info.frames // (info.samplerate * SILENCE_SECONDS))
            num_train = math.floor(count * SILENCE_SPLIT_FRACTIONS[0])
            num_valid = math.floor(count * SILENCE_SPLIT_FRACTIONS[1])
            splits = [
                "train" if index < num_train else "valid" if index < num_train + num_valid else "test"
                for index in range(count)
            ]
        for index, split in enumerate(splits):
            jobs.append(
                ClipJob(
                    source=os.path.join(folder, name),
                    path=path,
                    clip_id=f"{SILENCE}/{stem}/{index:04d}",
                    labels=labels,
                    split=split,
                    start=index * hop,
                    duration=SILENCE_SECONDS,
                )
            )
    log.info("%s: %d 1-s clips from %s", SILENCE, len(jobs), folder)
    return jobs, rejected


def _test_set_jobs(test_root, classes):
    """Test-split jobs from the separate test set: one folder per label of the 12 classes."""
    test_root = require_dir(test_root, "Speech Commands test set (--test-root)")
    prefix = os.path.basename(test_root)
    jobs, rejected = [], []
    for label in sorted(os.listdir(test_root)):
        folder = os.path.join(test_root, label)
        if _is_ignorable(label) or not os.path.isdir(folder):
            continue
        if label not in classes:
            raise DatasetError(
                f"{folder}: not one of the 12 labels {list(classes)}; expected the "
                "speech_commands_test_set_v0.02 layout (one folder per label)"
            )
        names, folder_rejected = _list_folder(folder, f"{prefix}/{label}")
        rejected.extend(folder_rejected)
        labels = one_hot(classes.index(label), len(classes))
        for name in names:
            stem = name
            while stem.lower().endswith(".wav"):  # "x.wav.wav" -> "x"
                stem = stem[: -len(".wav")]
            jobs.append(
                ClipJob(
                    source=os.path.join(folder, name),
                    path=f"{prefix}/{label}/{name}",
                    clip_id=f"{prefix}/{label}/{stem}",
                    labels=labels,
                    split="test",
                )
            )
    if not jobs:
        raise DatasetError(f"{test_root}: no label folders with .wav files (expected e.g. yes/*.wav)")
    missing = [label for label in classes if not os.path.isdir(os.path.join(test_root, label))]
    if missing:
        log.warning("the test set %s has no folder for %s", test_root, missing)
    log.info("test set %s: %d clips", test_root, len(jobs))
    return jobs, rejected


def _warn_unusual_formats(jobs):
    """Warns about files that are not 16 kHz mono (they are converted, but unexpected).

    Reads only the headers (about 50 us a file). Unreadable files are left to the writer,
    which rejects them with the reason.
    """
    unusual = collections.Counter()
    examples = []
    for source in sorted({job.source for job in jobs}):
        try:
            info = sf.info(source)
        except (sf.SoundFileError, RuntimeError, OSError):
            continue
        if info.samplerate != NATIVE_RATE or info.channels != 1:
            unusual[info.samplerate, info.channels] += 1
            if len(examples) < _MAX_NAMED_FILES:
                examples.append(f"{source} ({info.samplerate} Hz, {info.channels} ch)")
    if unusual:
        log.warning(
            "%d files are not %d Hz mono (Speech Commands v0.02 is); they are resampled and mixed "
            "down: %s; e.g. %s",
            sum(unusual.values()),
            NATIVE_RATE,
            ", ".join(f"{count} at {rate} Hz, {ch} ch" for (rate, ch), count in sorted(unusual.items())),
            "; ".join(examples),
        )
