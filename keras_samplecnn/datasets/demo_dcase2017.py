"""A synthetic stand-in for DCASE 2017 Task 4, written in the real release's layout.

DCASE 2017 Task 4 ("Large-scale weakly supervised sound event detection for smart cars") is a
17-class subset of AudioSet: 10-s YouTube clips with weak (clip-level) labels for training and
strong (timed) labels for testing and evaluation. `make_demo_dcase2017` writes a small, fully
synthetic dataset with the same files, names and text formats, so code written for the real
release (the JSTSP 2019 authors' ``lib/data/dcs.py``, a TFRecord converter) reads it
unchanged. Nothing is downloaded; every event is synthesised, so the labels are true by
construction.

Layout
------
Sources: the task repository (lists, ground truth, class list, ``download_audio.py``)
``ankitshah009/Task-4-Large-scale-weakly-supervised-sound-event-detection-for-smart-cars``
and ``tae-jun/sampleaudio`` ``lib/data/dcs.py`` (the audio folder names)::

    <directory>/
      training_set.csv                        download list, CRLF, no header:
      testing_set.csv                           YTID,start,end,labels,MIDs  (csv quoting: a
      evaluation_set.csv                        field with a comma is double-quoted)
      groundtruth_weak_label_training_set.csv weak labels, TAB, no header, LF:
      groundtruth_weak_label_testing_set.csv    <ytid>_<start>_<end>.wav  start  end  label
      groundtruth_strong_label_testing_set.csv  strong labels, TAB, LF: onset/offset in the clip
      groundtruth_release/
        groundtruth_weak_label_training_set.csv   copies of the three files above
        groundtruth_weak_label_testing_set.csv
        groundtruth_strong_label_testing_set.csv
        groundtruth_weak_label_evaluation_set.csv    CRLF (as in the real repository)
        groundtruth_strong_label_evaluation_set.csv  CRLF
      sound_event_list_17_classes.txt         MID<TAB>confidence<TAB>label, header with spaces
      unbalanced_train_segments_training_set_audio_formatted_and_segmented_downloads/
      unbalanced_train_segments_testing_set_audio_formatted_and_segmented_downloads/
      evaluation_set_formatted_audio_segments/
        Y<ytid>_<start>_<end>.wav             16-bit PCM mono ("Y": ids may start with "-";
                                              the ground truth names have no "Y")

Times carry 3 decimals (``30.000``). Ground-truth rows are sorted as in the real files: by
class (class-list order), then by file name. A clip's labels in the download lists are in
class-list order too. YouTube ids are 11 characters of ``[A-Za-z0-9_-]`` whose last one is one
of the 16 that a 64-bit id can end with; about one in eight starts with ``-``.

Differences from the real release, on purpose: the audio is at ``sample_rate`` (16 kHz by
default; the real files are 44.1 kHz); ``evaluation_set.csv`` is written for symmetry (the
real evaluation list came separately); strong labels have no ``0  0`` rows (in the real files
those mark an event that was tagged but not audible: here every event is audible).
As in the real data, about 5 % of the clips are shorter than 10 s (start 0, listed with
their true end, e.g. ``_0.000_7.400``) and about 2 % of the listed training clips have no
audio (a YouTube video that is gone), so a converter's "listed but missing" path runs.

Synthesis model
---------------
A clip is a background bed plus 1-3 labelled classes (75 / 20 / 5 %). Every class first gets
a minimum number of clips per split (10 training, 3 testing, 5 evaluation at the default
sizes: the real testing set is nearly balanced); the other clips' classes follow the square
root of the real training counts (Car most common, Car alarm rarest), with
plausible co-occurrences boosted (Train horn with Train, Reversing beeps with Truck, sirens
together or with Car). Each class sounds once (horns, screams, bells and pass-bys sometimes
twice) with a random onset and duration inside the clip (at least ~1.2 s, so it fills at
least one 1-s segment), at an event-to-background SNR of -3..+15 dB measured over the event.
Each occurrence is one strong-label row. What each class and the background sound like:
`dcase2017_sounds`.

The output is deterministic: the same arguments give the same bytes (on the same platform and
library versions), whatever the number of workers. Each clip's random stream is seeded from a
SHA-256 of (seed, split, index), not Python's salted ``hash``.
"""

import dataclasses
import os

import numpy as np

from keras_samplecnn.datasets import dcase2017_sounds, synth
from keras_samplecnn.datasets.writing import command_line, write_audio, write_csv, write_lines
from tfrecords_tools import dcase2017_layout as layout

# Per class of the release's class list (tfrecords_tools.dcase2017_layout, in its order): its
# clips in the real training set (training_set_num_files_per_class.csv) and its typical event
# duration in seconds in a 10-s clip (shorter clips cap it).
CLASS_STATS = {
    "Train horn": (345, (1.5, 5.0)),
    "Air horn, truck horn": (313, (1.2, 3.5)),
    "Car alarm": (180, (3.0, 10.0)),
    "Reversing beeps": (245, (2.5, 10.0)),
    "Bicycle": (1897, (2.0, 6.0)),
    "Skateboard": (1516, (2.5, 8.0)),
    "Ambulance (siren)": (524, (3.0, 10.0)),
    "Fire engine, fire truck (siren)": (2288, (4.0, 10.0)),
    "Civil defense siren": (1409, (5.0, 10.0)),
    "Police car (siren)": (2364, (3.0, 10.0)),
    "Screaming": (636, (1.2, 4.0)),
    "Car": (25077, (3.0, 10.0)),
    "Car passing by": (3598, (3.0, 7.0)),
    "Bus": (3617, (3.0, 10.0)),
    "Truck": (6885, (3.0, 10.0)),
    "Motorcycle": (3162, (3.0, 10.0)),
    "Train": (2075, (4.0, 10.0)),
}
CLASSES = layout.CLASS_LIST_ORDER
CLASS_MIDS = {label: mid for label, mid, _ in layout.CLASS_LIST}
CLASS_CONFIDENCE = {label: confidence for label, _, confidence in layout.CLASS_LIST}
REAL_TRAINING_COUNTS = {label: CLASS_STATS[label][0] for label in CLASSES}
DURATIONS = {label: CLASS_STATS[label][1] for label in CLASSES}

SPLITS = layout.SETS
AUDIO_FOLDERS = layout.AUDIO_FOLDERS
DOWNLOAD_LISTS = {s: f"{s}_set.csv" for s in SPLITS}
RELEASE_FOLDER = layout.GROUNDTRUTH_DIR
CLASS_LIST_FILE = layout.CLASS_LIST_FILE
CLASS_LIST_HEADER = layout.CLASS_LIST_HEADER

# At the default sizes every class gets at least this many clips per split (with audio). The
# real testing set is nearly balanced (30-35 clips a class, 50-60 for Car, Truck, Train), so
# testing and evaluation are mostly these minimums; training follows the class weights more.
MIN_CLIPS_PER_CLASS = {"training": 10, "testing": 3, "evaluation": 5}
SHORT_FRACTION = 0.05  # AudioSet clips cut short by the end of the video
MISSING_FRACTION = 0.02  # training videos gone from YouTube
LABEL_COUNT_PROBS = (0.75, 0.20, 0.05)  # 1, 2 or 3 classes per clip (~1.3; real test/eval: 1.2)
SNR_DB = (-3.0, 15.0)
LEVEL_DBFS = (-30.0, -16.0)  # clip loudness (RMS) varies like uploads do
PEAK_CEILING = 0.95

# Classes that often sound twice in a clip (two horn sequences, two screams, two cars passing).
REPEATABLE = {"Train horn", "Air horn, truck horn", "Screaming", "Bicycle", "Car passing by", "Car alarm"}
# Companion boosts for the 2nd/3rd class of a clip, given its first.
COMPANIONS = {
    "Train horn": {"Train": 12.0},
    "Train": {"Train horn": 4.0},
    "Air horn, truck horn": {"Truck": 6.0, "Bus": 2.0},
    "Reversing beeps": {"Truck": 8.0, "Bus": 2.0},
    "Truck": {"Air horn, truck horn": 3.0, "Reversing beeps": 3.0},
    "Bus": {"Car": 1.5, "Air horn, truck horn": 2.0},
    "Ambulance (siren)": {"Police car (siren)": 3.0, "Fire engine, fire truck (siren)": 3.0, "Car": 1.5},
    "Police car (siren)": {"Ambulance (siren)": 2.0, "Fire engine, fire truck (siren)": 2.0, "Car": 1.5},
    "Fire engine, fire truck (siren)": {"Ambulance (siren)": 2.0, "Police car (siren)": 2.0, "Truck": 2.0},
    "Car passing by": {"Car": 2.0, "Motorcycle": 2.0},
    "Skateboard": {"Screaming": 2.0},
}
# The last character of an 11-character YouTube id carries only 4 of the id's 64 bits.
YTID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
YTID_LAST = "AEIMQUYcgkosw048"


# ----------------------------------------------------------------------------------------------
# The plan: which clips, which labels, which events when
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Event:
    """One labelled occurrence inside a clip (one strong-label row).

    Attributes:
        label: class name (one of `CLASSES`).
        onset_ms, offset_ms: where it sounds, in milliseconds from the clip's start.
        snr_db: event-to-background RMS ratio over the event.
    """

    label: str
    onset_ms: int
    offset_ms: int
    snr_db: float


@dataclasses.dataclass(frozen=True)
class DemoClip:
    """One listed clip of the demo release.

    Attributes:
        split: ``"training"``, ``"testing"`` or ``"evaluation"``.
        index: position in the split's download list.
        ytid: the 11-character (fake) YouTube id.
        start_ms, end_ms: the segment of the "video", in milliseconds (the file names' times).
        labels: the clip's classes, in class-list order (its weak labels).
        events: the `Event`s, sorted by onset.
        written: False for a listed training clip whose audio is missing on purpose.
    """

    split: str
    index: int
    ytid: str
    start_ms: int
    end_ms: int
    labels: tuple
    events: tuple
    written: bool = True

    @property
    def folder(self):
        """The split's audio folder name."""
        return AUDIO_FOLDERS[self.split]

    @property
    def start(self):
        return _seconds(self.start_ms)

    @property
    def end(self):
        return _seconds(self.end_ms)

    @property
    def duration_ms(self):
        return self.end_ms - self.start_ms

    @property
    def name(self):
        """The ground-truth name, ``<ytid>_<start>_<end>.wav`` (no ``Y``)."""
        return f"{self.ytid}_{self.start}_{self.end}.wav"

    @property
    def audio_name(self):
        """The audio file's name, ``Y<ytid>_<start>_<end>.wav``."""
        return "Y" + self.name

    @property
    def audio_path(self):
        """Path of the audio file relative to the dataset root."""
        return os.path.join(self.folder, self.audio_name)


@dataclasses.dataclass(frozen=True)
class DemoDcase2017:
    """What `make_demo_dcase2017` wrote.

    Attributes:
        directory: the dataset root.
        clips: every listed `DemoClip`, training then testing then evaluation.
        sample_rate: the audio's rate.
    """

    directory: str
    clips: tuple
    sample_rate: int

    def split(self, name):
        """The clips of one split (``"training"``, ``"testing"``, ``"evaluation"``)."""
        return [c for c in self.clips if c.split == name]

    @property
    def missing(self):
        """Listed clips without audio (training only)."""
        return [c for c in self.clips if not c.written]

    def class_counts(self, split, written_only=True):
        """Clips per class in a split, as a dict in class-list order."""
        counts = dict.fromkeys(CLASSES, 0)
        for clip in self.split(split):
            if clip.written or not written_only:
                for label in clip.labels:
                    counts[label] += 1
        return counts


def _seconds(ms):
    return f"{ms // 1000}.{ms % 1000:03d}"


def _rng(*parts):
    """The generator of ``parts`` (seed, split, index, purpose): SHA-256 seeded, 64 bits."""
    return synth.hashed_rng("demo_dcase2017", *parts, size=8)


def _class_weights():
    counts = np.array([REAL_TRAINING_COUNTS[c] for c in CLASSES], dtype=np.float64)
    weights = np.sqrt(counts)  # uneven like the real data, but every class learnable
    return weights / weights.sum()


def _ytids(count, seed):
    """``count`` distinct ids; about one in eight starts with "-" (they exist, and need "Y")."""
    alphabet = np.array(list(YTID_ALPHABET))

    def ytid(rng):
        chars = alphabet[rng.integers(0, 64, 10)]
        if rng.uniform() < 0.125:
            chars[0] = "-"
        return "".join(chars) + YTID_LAST[rng.integers(0, 16)]

    return synth.draw_ids(_rng(seed, "ytids"), count, ytid, set())


def plan(n_train=400, n_test=60, n_eval=120, clip_seconds=10.0, seed=0):
    """Decide every clip: id, segment times, labels, events and whether its audio is written.

    Args:
        n_train, n_test, n_eval: clips listed per split.
        clip_seconds: length of a full clip (10 s in the release).
        seed: base seed.

    Returns:
        a list of `DemoClip`, training then testing then evaluation.
    """
    clip_ms = round(clip_seconds * 1000)
    if clip_ms < 500:
        raise ValueError(f"clip_seconds must be at least 0.5, got {clip_seconds}")
    sizes = {"training": n_train, "testing": n_test, "evaluation": n_eval}
    for split, n in sizes.items():
        if n < 0:
            raise ValueError(f"{split} size must be >= 0, got {n}")
    ids = iter(_ytids(sum(sizes.values()), seed))
    weights = _class_weights()
    clips = []
    for split in SPLITS:
        n = sizes[split]
        srng = _rng(seed, split, "labels")
        # Every class first: each gets `minimum` clips as its first label, the rest are drawn.
        minimum = min(MIN_CLIPS_PER_CLASS[split], n // len(CLASSES))
        firsts = list(np.repeat(np.arange(len(CLASSES)), minimum))
        forced = [True] * len(firsts)
        firsts += list(srng.choice(len(CLASSES), size=n - len(firsts), p=weights))
        forced += [False] * (n - len(forced))
        order = srng.permutation(n)
        firsts = [int(firsts[i]) for i in order]
        forced = [forced[i] for i in order]
        short = set(srng.choice(n, size=round(SHORT_FRACTION * n), replace=False).tolist())
        missing = set()
        if split == "training" and n:
            n_missing = max(1, round(MISSING_FRACTION * n)) if n >= 10 else 0
            # Missing clips come from the drawn ones, so the per-class minimum keeps its audio.
            pool = [i for i in range(n) if not forced[i]] or list(range(n))
            n_missing = min(n_missing, len(pool))
            missing = set(srng.choice(pool, size=n_missing, replace=False).tolist())
        for index in range(n):
            rng = _rng(seed, split, index, "plan")
            labels = _draw_labels(rng, firsts[index], weights)
            if index in short:
                start_ms = 0  # a video shorter than the segment: listed with its true end
                duration_ms = round(clip_ms * rng.integers(60, 100) / 100.0)
            else:
                # Most AudioSet segments start at 30 s; others anywhere in the video.
                start_ms = 30_000 if rng.uniform() < 0.6 else 1000 * int(rng.integers(0, 590))
                duration_ms = clip_ms
            events = _draw_events(rng, labels, duration_ms)
            clips.append(
                DemoClip(
                    split=split,
                    index=index,
                    ytid=next(ids),
                    start_ms=start_ms,
                    end_ms=start_ms + duration_ms,
                    labels=tuple(sorted(labels, key=CLASSES.index)),
                    events=events,
                    written=index not in missing,
                )
            )
    return clips


def _draw_labels(rng, first, weights):
    count = 1 + int(rng.choice(3, p=LABEL_COUNT_PROBS))
    labels = [CLASSES[first]]
    boost = np.ones(len(CLASSES))
    for other, factor in COMPANIONS.get(CLASSES[first], {}).items():
        boost[CLASSES.index(other)] = factor
    p = weights * boost
    p[first] = 0.0
    for _ in range(count - 1):
        p = p / p.sum()
        pick = int(rng.choice(len(CLASSES), p=p))
        labels.append(CLASSES[pick])
        p[pick] = 0.0
    return labels


def _draw_events(rng, labels, duration_ms):
    events = []
    for label in labels:
        low, high = (min(int(x * 1000), duration_ms) for x in DURATIONS[label])
        length = int(rng.integers(low, high + 1))
        onset = int(rng.integers(0, duration_ms - length + 1))
        events.append(Event(label, onset, onset + length, float(np.round(rng.uniform(*SNR_DB), 2))))
        if label in REPEATABLE and rng.uniform() < 0.3:
            # A second occurrence, if it fits before or after the first without overlapping.
            gap = 300
            second = int(rng.integers(low, high + 1)) // 2
            spaces = [(0, onset - gap), (onset + length + gap, duration_ms)]
            spaces = [(a, b) for a, b in spaces if b - a >= max(second, 1200)]
            if spaces:
                a, b = spaces[int(rng.integers(0, len(spaces)))]
                second = min(max(second, 1200), b - a)
                start = int(rng.integers(a, b - second + 1))
                snr = float(np.round(rng.uniform(*SNR_DB), 2))
                events.append(Event(label, start, start + second, snr))
    return tuple(sorted(events, key=lambda e: (e.onset_ms, CLASSES.index(e.label))))


# ----------------------------------------------------------------------------------------------
# Rendering and writing
# ----------------------------------------------------------------------------------------------


def render(clip, sample_rate=16000, seed=0):
    """Synthesise one clip of the plan: background plus its events at their SNRs.

    Args:
        clip: a `DemoClip` from `plan`.
        sample_rate: output rate (Hz).
        seed: the base seed the plan was drawn with.

    Returns:
        float32 mono waveform in [-1, 1], ``duration_ms * sample_rate / 1000`` samples long.
    """
    rng = _rng(seed, clip.split, clip.index, "audio")
    sr = sample_rate
    n = round(clip.duration_ms * sr / 1000)
    bed = dcase2017_sounds.background(n, sr, rng)
    mix = bed.copy()
    for event in clip.events:
        a = round(event.onset_ms * sr / 1000)
        b = min(round(event.offset_ms * sr / 1000), n)
        if b - a < 16:
            continue
        sound = dcase2017_sounds.RENDERERS[event.label](b - a, sr, rng)
        sound = dcase2017_sounds.unit(sound) * dcase2017_sounds.ramp_env(b - a, sr, 0.015, 0.03)  # no clicks
        # SNR over the event: the event's RMS against the background's RMS in the same span.
        gain = synth.rms(bed[a:b]) * 10.0 ** (event.snr_db / 20.0) / synth.rms(sound)
        mix[a:b] += gain * sound
    mix *= 10.0 ** (rng.uniform(*LEVEL_DBFS) / 20.0) / synth.rms(mix)
    peak = np.abs(mix).max()
    if peak > PEAK_CEILING:
        # Impulsive clips (bells, clacks) come down in level; only the top ~3 dB go through a
        # soft limiter, as an upload's loudness processing would do, never wrapped round.
        mix *= min(1.0, 1.4 * PEAK_CEILING / peak)
        mix = synth.soft_clip(mix / PEAK_CEILING, 1.0) * PEAK_CEILING
    return mix.astype(np.float32)


def make_demo_dcase2017(
    directory,
    n_train=400,
    n_test=60,
    n_eval=120,
    clip_seconds=10.0,
    sample_rate=16000,
    seed=0,
    workers=None,
    progress=True,
):
    """Write the synthetic demo dataset in the DCASE 2017 Task 4 release's layout.

    Args:
        directory: output folder (created). See the module docstring for what goes in it.
        n_train, n_test, n_eval: clips listed in the training, testing and evaluation sets
            (the defaults write 580 clips, ~1.6 h of audio, ~175 MB at 16 kHz).
        clip_seconds: length of a full clip (10 s in the release; shorter makes faster tests).
            About 5 % of the clips are 60-99 % of it.
        sample_rate: audio rate in Hz (the release is 44.1 kHz; 16 kHz keeps the demo small).
        seed: the same arguments give the same files, byte for byte.
        workers: processes for synthesis (default: all CPUs; 0 or 1 runs in this process).
        progress: show a tqdm progress bar.

    Returns:
        a `DemoDcase2017`: the directory, every listed `DemoClip` (split, folder, ytid,
        start, end, labels, events, written) and ``missing``, the listed training clips whose
        audio was left out on purpose.

    Example:
        >>> from keras_samplecnn.datasets import make_demo_dcase2017
        >>> demo = make_demo_dcase2017("data/demo_dcase2017")  # ~20 s on 2 cores, 175 MB
        >>> len(demo.clips), len(demo.missing), demo.class_counts("evaluation")["Car alarm"]
        (580, 8, 5)
    """
    if sample_rate < 4000:
        raise ValueError(f"sample_rate must be at least 4000 Hz, got {sample_rate}")
    clips = plan(n_train, n_test, n_eval, clip_seconds, seed)
    for folder in (RELEASE_FOLDER, *AUDIO_FOLDERS.values()):
        os.makedirs(os.path.join(directory, folder), exist_ok=True)
    items = [(f"{clip.folder}/{clip.audio_name}", render, (clip, sample_rate, seed)) for clip in clips if clip.written]
    write_audio(directory, items, sample_rate, workers, progress, "demo DCASE 2017 clips", "clip")
    # The lists and ground truth last: a folder with them is a finished dataset.
    write_metadata(directory, clips)
    return DemoDcase2017(directory=directory, clips=tuple(clips), sample_rate=sample_rate)


def _download_rows(clips):
    """YTID,start,end,labels,MIDs (csv's minimal quoting quotes a field with a comma, as in the
    release: ``"Train horn,Train"`` but also ``"Air horn, truck horn"``)."""
    return [(c.ytid, c.start, c.end, ",".join(c.labels), ",".join(map(CLASS_MIDS.get, c.labels))) for c in clips]


def _label_rows(clips, strong=False):
    """Ground-truth lines ``name<TAB>start<TAB>end<TAB>label``, sorted by class (class-list order),
    then name, then start: a clip's segment per label (weak) or its events' times (strong)."""

    def spans(clip):
        if strong:
            return [(e.label, e.onset_ms, e.offset_ms) for e in clip.events]
        return [(label, clip.start_ms, clip.end_ms) for label in clip.labels]

    rows = sorted((CLASSES.index(label), clip.name, a, b, label) for clip in clips
                  for label, a, b in spans(clip))  # fmt: skip
    return [f"{name}\t{_seconds(a)}\t{_seconds(b)}\t{label}" for _, name, a, b, label in rows]


def write_metadata(directory, clips):
    """Write the download lists, the ground truth and the class list for ``clips``."""
    by_split = {s: [c for c in clips if c.split == s] for s in SPLITS}
    release = os.path.join(directory, RELEASE_FOLDER)
    for split, path in DOWNLOAD_LISTS.items():
        write_csv(os.path.join(directory, path), _download_rows(by_split[split]), newline="\r\n")
    testing, evaluation = by_split["testing"], by_split["evaluation"]
    for folder in (directory, release):
        for split in ("training", "testing"):
            write_lines(os.path.join(folder, layout.WEAK_LABEL_CSVS[split]), _label_rows(by_split[split]))
        write_lines(os.path.join(folder, "groundtruth_strong_label_testing_set.csv"), _label_rows(testing, True))
    # The evaluation ground truth came later, with Windows line ends.
    write_lines(os.path.join(release, layout.WEAK_LABEL_CSVS["evaluation"]), _label_rows(evaluation), "\r\n")
    write_lines(os.path.join(release, "groundtruth_strong_label_evaluation_set.csv"), _label_rows(evaluation, True), "\r\n")
    lines = [CLASS_LIST_HEADER] + [f"{CLASS_MIDS[c]}\t{CLASS_CONFIDENCE[c]}\t{c}" for c in CLASSES]
    write_lines(os.path.join(directory, CLASS_LIST_FILE), lines)


def add_arguments(parser):
    """The size options of ``python -m keras_samplecnn.datasets dcase2017``."""
    parser.add_argument("--train", dest="n_train", type=int, default=400, help="training clips (default 400)")
    parser.add_argument("--test", dest="n_test", type=int, default=60, help="testing clips (default 60)")
    parser.add_argument("--eval", dest="n_eval", type=int, default=120, help="evaluation clips (default 120)")
    parser.add_argument("--seconds", dest="clip_seconds", type=float, default=10.0, help="clip length (default 10)")
    parser.add_argument("--sample-rate", type=int, default=16000, help="Hz (default 16000)")


def main(argv=None):
    """``python -m keras_samplecnn.datasets dcase2017 DIR [--train N] [--test N] [--eval N] ...``."""
    root, demo = command_line(argv, "dcase2017", "Write the synthetic DCASE 2017 Task 4 demo (wavs, lists, ground truth).",
                              add_arguments, make_demo_dcase2017)  # fmt: skip
    print(f"wrote {len(demo.clips)} clips ({len(demo.missing)} listed without audio) to {root}")
    print(f"next: python -m tfrecords_tools dcase2017 --root {root} --out {root}_tfrecords")
    return 0
