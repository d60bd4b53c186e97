"""Speech Commands (Warden, 2018, arXiv:1804.03209), v0.02 or v0.01, as distributed.

Layout:

    root/
      backward/0a2b400e_nohash_0.wav ...   one folder per word: 16 kHz mono 1-s wav files
      ...                                   (35 words in v0.02, 30 in v0.01; some files are
                                            shorter than 1 s)
      validation_list.txt                   paths like right/0a7c2a8d_nohash_0.wav
      testing_list.txt
      _background_noise_/*.wav              long noise recordings, not a word class

Every file in neither list is training data. Single-label; the classes are the sorted word
folders. With `--silence`, the background-noise recordings are cut into 1-s `_silence_` clips
(the class is appended after the words): the first 80 % of each recording's clips go to
train, the next 10 % to valid and the last 10 % to test, so no stretch of noise is in two
splits.
"""

import logging
import math
import os

import soundfile as sf

from tfrecords_tools.common import SPLITS, list_audio_files, one_hot, read_path_list, require_dir
from tfrecords_tools.errors import DatasetError
from tfrecords_tools.writer import ClipJob, DatasetPlan, Rejected

log = logging.getLogger(__name__)

NAME = "speech_commands"
DEFAULTS = {"sample_rate": 16000, "segment_length": 16000, "shard_size": 4096}
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
BACKGROUND_NOISE = "_background_noise_"
SILENCE = "_silence_"
SILENCE_SECONDS = 1.0
SILENCE_SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def add_arguments(parser):
    """Adds the Speech Commands options to an argparse (sub)parser."""
    parser.add_argument(
        "--root", required=True, help=f"folder with one folder per word, {VALIDATION_LIST} and {TESTING_LIST}"
    )
    parser.add_argument(
        "--silence",
        action="store_true",
        help=f"add a {SILENCE} class cut from {BACKGROUND_NOISE}/ (1-s clips)",
    )


def plan_from_args(args):
    """Builds the plan from parsed command-line arguments."""
    return plan(args.root, silence=args.silence)


def plan(root, silence=False):
    """Plans the conversion of a Speech Commands folder.

    Args:
        root: the extracted `speech_commands_v0.02` folder.
        silence: add a `_silence_` class cut from `_background_noise_/`.

    Returns:
        A single-label `DatasetPlan`.

    Raises:
        DatasetError: missing root or split lists, no word folders, a file in both lists.
    """
    root = require_dir(root, "Speech Commands root")
    lists = {}
    for split, name in (("valid", VALIDATION_LIST), ("test", TESTING_LIST)):
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            raise DatasetError(
                f"{path} not found: expected the Speech Commands layout (one folder per word, "
                f"{VALIDATION_LIST}, {TESTING_LIST})"
            )
        lists[split] = read_path_list(path)
    split_of = {}
    for split, paths in lists.items():
        for path in paths:
            if split_of.setdefault(path, split) != split:
                raise DatasetError(f"{path} is in both {VALIDATION_LIST} and {TESTING_LIST}")

    files = {}  # word -> wav names
    for word in sorted(os.listdir(root)):
        folder = os.path.join(root, word)
        if word == BACKGROUND_NOISE or word.startswith(".") or not os.path.isdir(folder):
            continue
        names = [name for name in list_audio_files(folder) if name.lower().endswith(".wav")]
        if names:
            files[word] = names
    if not files:
        raise DatasetError(f"{root}: no word folders with .wav files (expected e.g. yes/*.wav)")
    words = sorted(files)
    if len(words) not in (30, 35):
        log.warning("found %d word folders; Speech Commands v0.02 has 35 (v0.01: 30)", len(words))
    classes = words + ([SILENCE] if silence else [])

    jobs = []
    for index, word in enumerate(words):
        labels = one_hot(index, len(classes))
        for name in files[word]:
            path = f"{word}/{name}"
            jobs.append(
                ClipJob(
                    source=os.path.join(root, word, name),
                    path=path,
                    clip_id=os.path.splitext(path)[0],
                    labels=labels,
                    split=split_of.get(path, "train"),
                )
            )
    found = {job.path for job in jobs}
    list_name = {"valid": VALIDATION_LIST, "test": TESTING_LIST}
    rejected = [
        Rejected(path, f"file not found (listed in {list_name[split]})")
        for path, split in sorted(split_of.items())
        if path not in found
    ]
    if silence:
        silence_jobs, silence_rejected = _silence_jobs(root, one_hot(len(words), len(classes)))
        jobs.extend(silence_jobs)
        rejected.extend(silence_rejected)
    log.info(
        "%d classes; %s",
        len(classes),
        ", ".join(f"{s} {sum(job.split == s for job in jobs)}" for s in SPLITS),
    )
    return DatasetPlan(
        dataset=NAME, task="single_label", tags=classes, source=root, jobs=jobs, rejected=rejected
    )


def _silence_jobs(root, labels):
    """1-s crops of every background-noise recording, split by position in the recording."""
    folder = os.path.join(root, BACKGROUND_NOISE)
    if not os.path.isdir(folder):
        raise DatasetError(f"--silence needs {folder}, which does not exist")
    jobs, rejected = [], []
    for name in list_audio_files(folder):
        path = f"{BACKGROUND_NOISE}/{name}"
        try:
            info = sf.info(os.path.join(folder, name))
        except (sf.SoundFileError, RuntimeError) as error:
            rejected.append(Rejected(path, f"not a readable audio file ({error})"))
            continue
        count = int(info.frames // (info.samplerate * SILENCE_SECONDS))
        num_train = math.floor(count * SILENCE_SPLIT_FRACTIONS[0])
        num_valid = math.floor(count * SILENCE_SPLIT_FRACTIONS[1])
        for index in range(count):
            split = "train" if index < num_train else "valid" if index < num_train + num_valid else "test"
            stem = os.path.splitext(name)[0]
            jobs.append(
                ClipJob(
                    source=os.path.join(folder, name),
                    path=path,
                    clip_id=f"{SILENCE}/{stem}/{index:04d}",
                    labels=labels,
                    split=split,
                    start=index * SILENCE_SECONDS,
                    duration=SILENCE_SECONDS,
                )
            )
    log.info("%s: %d 1-s clips from %s", SILENCE, len(jobs), folder)
    return jobs, rejected
