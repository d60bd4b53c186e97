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
Each occurrence is one strong-label row.

Background: coloured noise (road: brownish, wind: low-passed with gusts, city: pinker with
mains hum and distant babble) at a random level, sometimes with unlabelled distractors (bird
chirps, footsteps), so that "anything but noise" is not a shortcut.

================================  ===========================================================
class                             sound
================================  ===========================================================
Train horn                        loud sustained chord of 3-5 low brassy tones (a 5-chime or
                                  3-chime horn chord, root 180-320 Hz); one long blast or the
                                  grade-crossing pattern long-long-short-long
Air horn, truck horn              two bright, saturated tones (root 260-480 Hz, a third or
                                  fourth apart), 1-4 short blasts with a fast attack
Car alarm                         a piezo square wave at 1.8-3.4 kHz cycling through
                                  patterns: warble, beeps, fast rising sweeps, two-tone trill
Reversing beeps                   pure 0.95-1.25 kHz beeps, ~1 Hz period, ~50 % duty
Bicycle                           freewheel ticking (clicks at 8-20 Hz) and 1-3 thumb-bell
                                  rings (inharmonic decaying partials, double strikes)
Skateboard                        rolling broadband rumble with wheel flutter; double clacks
                                  on pavement joints; sometimes an ollie pop and landing
Ambulance (siren)                 electronic siren: hi-lo two-tone (0.45-0.7 s per tone) or a
                                  medium wail (1.6-2.6 s sweeps)
Police car (siren)                fast yelp (2.8-4.2 sweeps/s, 650 -> 1600 Hz), sometimes a
                                  burst of hyper-yelp (8-12 /s)
Fire engine, fire truck (siren)   slow mechanical wail (4-7 s period, rich harmonics) and
                                  1-2 low air-horn blasts (110-180 Hz)
Civil defense siren               very slow rise/fall (10-16 s) of a low rotor tone (or a
                                  two-rotor minor third), rotation swells, distant reverb
Screaming                         high voice: harmonics at 500-1200 Hz f0 through
                                  (raised) vowel formants, vibrato, jitter, rough breath
Car                               petrol engine: firing pulses (4-cyl, 25-95 Hz) through
                                  exhaust/body resonances, plus tyre noise
Car passing by                    a car engine and loud tyre noise passing the microphone:
                                  Doppler glide down 6-15 %, loudness and brightness swell
Bus                               diesel: low firing rate (27-75 Hz), strong low resonance,
                                  per-firing clatter, air-brake hiss
Truck                             heavier diesel (25-95 Hz, lower resonance, more clatter),
                                  gear shifts, turbo whine
Motorcycle                        higher, raspy pulses (60-310 /s, alternating in sign: strong
                                  odd harmonics of half that rate), revving, saturated
Train                             low rumble, clickety-clack of bogies over rail joints
                                  (4 clacks per car), sometimes a locomotive hum or squeal
================================  ===========================================================

The five engine classes share one engine model and the sirens one oscillator, so they are
confusable but separable (firing rate, resonances, clatter, hiss, whine, Doppler; sweep
pattern, rate and range).

The output is deterministic: the same arguments give the same bytes (on the same platform and
library versions), whatever the number of workers. Each clip's random stream is seeded from a
SHA-256 of (seed, split, index), not Python's salted ``hash``.
"""

import csv
import dataclasses
import hashlib
import io
import os

import numpy as np

from keras_samplecnn.datasets import synth
from keras_samplecnn.datasets.writing import run_jobs

# ----------------------------------------------------------------------------------------------
# The release's names
# ----------------------------------------------------------------------------------------------

# Class-list order of sound_event_list_17_classes.txt (also the order of the ground-truth rows).
CLASSES = (
    "Train horn",
    "Air horn, truck horn",
    "Car alarm",
    "Reversing beeps",
    "Bicycle",
    "Skateboard",
    "Ambulance (siren)",
    "Fire engine, fire truck (siren)",
    "Civil defense siren",
    "Police car (siren)",
    "Screaming",
    "Car",
    "Car passing by",
    "Bus",
    "Truck",
    "Motorcycle",
    "Train",
)

# AudioSet MIDs and Google's annotation confidence, as in the real class list.
CLASS_MIDS = {
    "Train horn": "/m/0284vy3",
    "Air horn, truck horn": "/m/05x_td",
    "Car alarm": "/m/02mfyn",
    "Reversing beeps": "/m/02rhddq",
    "Bicycle": "/m/0199g",
    "Skateboard": "/m/06_fw",
    "Ambulance (siren)": "/m/012n7d",
    "Fire engine, fire truck (siren)": "/m/012ndj",
    "Civil defense siren": "/m/0dgbq",
    "Police car (siren)": "/m/04qvtq",
    "Screaming": "/m/03qc9zr",
    "Car": "/m/0k4j",
    "Car passing by": "/t/dd00134",
    "Bus": "/m/01bjv",
    "Truck": "/m/07r04",
    "Motorcycle": "/m/04_sv",
    "Train": "/m/07jdr",
}
CLASS_CONFIDENCE = {
    "Train horn": 10,
    "Air horn, truck horn": 9,
    "Car alarm": 7,
    "Reversing beeps": 5,
    "Bicycle": 7,
    "Skateboard": 8,
    "Ambulance (siren)": 6,
    "Fire engine, fire truck (siren)": 8,
    "Civil defense siren": 9,
    "Police car (siren)": 8,
    "Screaming": 8,
    "Car": 10,
    "Car passing by": 5,
    "Bus": 7,
    "Truck": 8,
    "Motorcycle": 9,
    "Train": 6,
}
# Clips per class in the real training set (training_set_num_files_per_class.csv).
REAL_TRAINING_COUNTS = {
    "Train horn": 345,
    "Air horn, truck horn": 313,
    "Car alarm": 180,
    "Reversing beeps": 245,
    "Bicycle": 1897,
    "Skateboard": 1516,
    "Ambulance (siren)": 524,
    "Fire engine, fire truck (siren)": 2288,
    "Civil defense siren": 1409,
    "Police car (siren)": 2364,
    "Screaming": 636,
    "Car": 25077,
    "Car passing by": 3598,
    "Bus": 3617,
    "Truck": 6885,
    "Motorcycle": 3162,
    "Train": 2075,
}

SPLITS = ("training", "testing", "evaluation")
# Audio folders, named as lib/data/dcs.py (DIR_TRAIN, DIR_TEST, DIR_EVAL) expects them.
AUDIO_FOLDERS = {
    "training": "unbalanced_train_segments_training_set_audio_formatted_and_segmented_downloads",
    "testing": "unbalanced_train_segments_testing_set_audio_formatted_and_segmented_downloads",
    "evaluation": "evaluation_set_formatted_audio_segments",
}
DOWNLOAD_LISTS = {s: f"{s}_set.csv" for s in SPLITS}
RELEASE_FOLDER = "groundtruth_release"
CLASS_LIST_FILE = "sound_event_list_17_classes.txt"
CLASS_LIST_HEADER = "Class_ID        ConfidenceofAnnotation(by Google)       Class_Label"

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

# Typical event durations (s) in a 10-s clip; shorter clips cap them.
DURATIONS = {
    "Train horn": (1.5, 5.0),
    "Air horn, truck horn": (1.2, 3.5),
    "Car alarm": (3.0, 10.0),
    "Reversing beeps": (2.5, 10.0),
    "Bicycle": (2.0, 6.0),
    "Skateboard": (2.5, 8.0),
    "Ambulance (siren)": (3.0, 10.0),
    "Fire engine, fire truck (siren)": (4.0, 10.0),
    "Civil defense siren": (5.0, 10.0),
    "Police car (siren)": (3.0, 10.0),
    "Screaming": (1.2, 4.0),
    "Car": (3.0, 10.0),
    "Car passing by": (3.0, 7.0),
    "Bus": (3.0, 10.0),
    "Truck": (3.0, 10.0),
    "Motorcycle": (3.0, 10.0),
    "Train": (4.0, 10.0),
}
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


def stable_seed(*parts):
    """A 64-bit seed from a SHA-256 of ``parts`` (stable across runs, unlike ``hash``)."""
    text = "\x1f".join(str(p) for p in ("demo_dcase2017",) + parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def _rng(*parts):
    return np.random.default_rng(stable_seed(*parts))


def _class_weights():
    counts = np.array([REAL_TRAINING_COUNTS[c] for c in CLASSES], dtype=np.float64)
    weights = np.sqrt(counts)  # uneven like the real data, but every class learnable
    return weights / weights.sum()


def _ytids(count, seed):
    """``count`` distinct ids; about one in eight starts with "-" (they exist, and need "Y")."""
    rng = _rng(seed, "ytids")
    ids, seen = [], set()
    alphabet = np.array(list(YTID_ALPHABET))
    while len(ids) < count:
        chars = alphabet[rng.integers(0, 64, 10)]
        if rng.uniform() < 0.125:
            chars[0] = "-"
        ytid = "".join(chars) + YTID_LAST[rng.integers(0, 16)]
        if ytid not in seen:
            seen.add(ytid)
            ids.append(ytid)
    return ids


def demo_plan(n_train=400, n_test=60, n_eval=120, clip_seconds=10.0, seed=0):
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
# Synthesis building blocks
# ----------------------------------------------------------------------------------------------


def _time(n, sr):
    return np.arange(n, dtype=np.float64) / sr


def _ramp_env(n, sr, attack, release):
    """1 inside, raised-cosine ramps of ``attack`` / ``release`` seconds at the ends."""
    env = np.ones(n, dtype=np.float64)
    for length, sl in ((attack, slice(None)), (release, slice(None, None, -1))):
        k = min(int(length * sr), n // 2)
        if k > 0:
            env[sl][:k] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
    return env


def _smooth_square(phase, duty=0.5, sharpness=12.0):
    """A square wave in 0..1 of ``phase`` (cycles) with soft edges (no clicks)."""
    x = np.cos(2 * np.pi * (phase - duty / 2)) - np.cos(np.pi * duty)
    return 0.5 + 0.5 * np.tanh(sharpness * x)


def _wander(n, sr, rng, rate, low, high):
    """A slow random curve between ``low`` and ``high``: random knots ``rate`` per second,
    cosine-interpolated."""
    knots = rng.uniform(low, high, int(n / sr * rate) + 2)
    # The cosine shape on a coarse grid (>= 50 points between knots), then linear: 5x faster.
    step = max(1, int(sr / (50.0 * rate)))
    grid = np.arange(0, n + step, step)
    pos = grid * ((len(knots) - 1) / max(n - 1, 1))
    i = np.minimum(pos.astype(np.int64), len(knots) - 2)
    w = 0.5 - 0.5 * np.cos(np.pi * np.minimum(pos - i, 1.0))
    return np.interp(np.arange(n), grid, knots[i] * (1 - w) + knots[i + 1] * w)


def _oscillator(freq, sr, rng, amplitudes):
    """A harmonic tone following the per-sample frequency ``freq`` (Hz).

    One band-limited wavetable (harmonics above 0.45 sr at the highest pitch are dropped), read
    with a continuous phase: cheap for any glide or vibrato.
    """
    amplitudes = np.asarray(amplitudes, dtype=np.float64)[None, :]
    limited = synth.band_limit(amplitudes, [float(np.max(freq))], sr)
    table = synth.harmonic_tables(limited)[0]
    phase = np.cumsum(freq, dtype=np.float64) / sr + rng.uniform()
    pos = ((phase - np.floor(phase)) * len(table)).astype(np.int64) % len(table)
    return table[pos].astype(np.float64)


def _fast_length(n):
    """The smallest 2**a 3**b 5**c >= n: FFTs of other lengths (an event's arbitrary sample
    count is often nearly prime) are up to 10x slower."""
    best = 1 << max(int(n) - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _filter(x, sr, response):
    """Zero-phase filtering by a magnitude ``response(freqs_hz)`` (zero-padded to a fast FFT
    length, which also keeps the filter's ringing from wrapping round to the start)."""
    x = np.asarray(x, dtype=np.float64)
    m = _fast_length(len(x))
    spectrum = np.fft.rfft(x, m)
    spectrum *= response(np.fft.rfftfreq(m, 1.0 / sr))
    return np.fft.irfft(spectrum, m)[: len(x)]


def _noise(n, sr, rng, response):
    """Coloured noise: white noise of a fast FFT length, filtered, cut to ``n``."""
    m = _fast_length(n)
    spectrum = np.fft.rfft(rng.standard_normal(m))
    spectrum *= response(np.fft.rfftfreq(m, 1.0 / sr))
    return np.fft.irfft(spectrum, m)[:n]


def _resonances(freqs, peaks, floor=0.1):
    """Magnitude of a body with resonances ``peaks`` = [(centre, bandwidth, gain), ...]."""
    out = np.full_like(freqs, floor, dtype=np.float64)
    for centre, width, gain in peaks:
        out += gain / (1.0 + ((freqs - centre) / (0.5 * width)) ** 2)
    return out


def _pink(freqs, exponent=0.5, reference=100.0):
    """Amplitude slope f**-exponent (0.5: pink, 1: brown) below ~20 Hz flattened."""
    return (np.maximum(freqs, 20.0) / reference) ** (-exponent)


def _decay_template(sr, tau, length):
    return np.exp(-np.arange(int(length * sr)) / (tau * sr))


def _impacts(n, sr, rng, times, gains, band, tau, body=None):
    """Short impacts (noise bursts through ``band``, decay ``tau`` s) at ``times`` (s); an
    optional ``body`` = (freq, tau) adds a damped low resonance (a board, a wheel)."""
    onsets = (np.asarray(times) * sr).astype(np.int64)
    env = synth.scatter(n, onsets, [_decay_template(sr, tau, 6 * tau)], np.zeros(len(onsets), int), gains)
    out = _noise(n, sr, rng, lambda f: synth.bandpass(f, *band)) * env
    if body is not None:
        freq, body_tau = body
        t = np.arange(int(6 * body_tau * sr)) / sr
        thump = np.sin(2 * np.pi * freq * t) * np.exp(-t / body_tau)
        out += 2.0 * synth.scatter(n, onsets, [thump], np.zeros(len(onsets), int), gains)
    return out


def _unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / synth.rms(x)


# ----------------------------------------------------------------------------------------------
# Engines and vehicles
# ----------------------------------------------------------------------------------------------


def _rpm_track(n, sr, rng, low, high, style):
    """Engine speed over the event: 'cruise' (slow wander), 'accelerate' (ramps broken by
    gear shifts), 'rev' (throttle blips, a motorcycle at a light)."""
    t = _time(n, sr)
    if style == "cruise":
        return _wander(n, sr, rng, 0.7, low + 0.2 * (high - low), high - 0.2 * (high - low))
    if style == "accelerate":
        gear = rng.uniform(1.2, 2.5)  # seconds per gear
        frac = (t / gear + rng.uniform()) % 1.0
        return low + (high - low) * (0.3 + 0.7 * frac**0.8)
    # Rev: idle with blips up to near `high`, fast up, slower down.
    rpm = np.full(n, low, dtype=np.float64)
    blip_times = np.cumsum(rng.uniform(0.6, 1.6, int(n / sr) + 2)) - 0.3
    for start in blip_times[blip_times < n / sr]:
        dt = t - start
        peak = rng.uniform(0.6, 1.0) * (high - low)
        shape = np.where(dt < 0, 0.0, np.where(dt < 0.18, dt / 0.18, np.exp(-(dt - 0.18) / 0.35)))
        rpm = np.maximum(rpm, low + peak * shape)
    return rpm


def _engine(
    n,
    sr,
    rng,
    firing_hz,
    resonances,
    brightness=600.0,
    cylinders=4,
    lope=0.12,
    odd=0.0,
    clatter=0.0,
    clatter_band=(1500.0, 4500.0),
    throttle=None,
):
    """Combustion pulses at ``firing_hz`` (per sample) through exhaust and body resonances.

    A firing is an impulse whose size follows a per-cylinder pattern (an uneven engine gives
    sub-harmonics, its "lope") with cycle-to-cycle jitter; ``odd`` flips every other pulse
    (a V-twin's uneven firing: strong odd harmonics of half the pulse rate). The impulse
    train goes through one FFT filter: the pulse shape (a low-pass at ``brightness`` Hz:
    sharper pulses, higher cutoff, raspier) times the resonances. ``clatter`` adds a diesel's knock: a noise tick at every
    firing.
    """
    phase = np.cumsum(firing_hz, dtype=np.float64) / sr + rng.uniform()
    fires = np.flatnonzero(np.diff(np.floor(phase)) > 0) + 1
    k = np.arange(len(fires))
    pattern = 1.0 + lope * rng.standard_normal(cylinders)
    gains = pattern[k % cylinders] * (1.0 + 0.1 * rng.standard_normal(len(fires)))
    if throttle is not None:
        gains = gains * throttle[fires]
    signs = np.where(k % 2 == 0, 1.0, 1.0 - 2.0 * odd)  # odd=1: alternating, odd=0: same sign
    impulses = np.bincount(fires, weights=gains * signs, minlength=n)[:n]
    out = _filter(
        impulses,
        sr,
        lambda f: synth.lowpass(f, brightness, 2) * _resonances(f, resonances) * synth.highpass(f, 25.0),
    )
    out = _unit(out)
    if clatter > 0 and len(fires):
        out += clatter * _unit(_impacts(n, sr, rng, fires / sr, np.abs(gains), clatter_band, 0.0025))
    return out


def _tyres(n, sr, rng, brightness=1500.0):
    """Tyre/road noise: pinkish noise in the 200 Hz - few kHz band, with a slight tread flutter."""
    x = _noise(n, sr, rng, lambda f: _pink(f, 0.5) * synth.bandpass(f, 200.0, brightness))
    flutter = 1.0 + 0.15 * np.sin(2 * np.pi * rng.uniform(8, 20) * _time(n, sr) + rng.uniform(0, 6.3))
    return _unit(x * flutter)


def _car(n, sr, rng):
    rpm = _rpm_track(n, sr, rng, 750.0, 2800.0, rng.choice(["cruise", "accelerate"], p=[0.6, 0.4]))
    peaks = [
        (rng.uniform(90, 160), 70.0, 3.0),
        (rng.uniform(350, 550), 150.0, 1.2),
        (rng.uniform(900, 1400), 300.0, 0.4),
    ]
    engine = _engine(
        n,
        sr,
        rng,
        rpm / 60.0 * 2.0,
        peaks,
        brightness=rng.uniform(500, 800),
        cylinders=4,
        lope=0.08,
        throttle=0.6 + 0.4 * rpm / rpm.max(),
    )
    tyres = rng.uniform(0.2, 0.8) if rng.uniform() < 0.7 else 0.0  # 30 %: idling
    return engine + tyres * _tyres(n, sr, rng, rng.uniform(1200, 2500))


def _bus(n, sr, rng):
    rpm = _rpm_track(n, sr, rng, 550.0, 1500.0, rng.choice(["cruise", "accelerate"], p=[0.5, 0.5]))
    peaks = [(rng.uniform(65, 100), 50.0, 5.0), (rng.uniform(250, 400), 120.0, 1.5), (1200.0, 400.0, 0.3)]
    out = _engine(
        n,
        sr,
        rng,
        rpm / 60.0 * 3.0,
        peaks,
        brightness=rng.uniform(350, 500),
        cylinders=6,
        lope=0.1,
        clatter=rng.uniform(0.4, 0.8),
        clatter_band=(1500.0, 4000.0),
    )
    out += rng.uniform(0.1, 0.35) * _tyres(n, sr, rng, 1200.0)
    t = _time(n, sr)
    for _ in range(1 if rng.uniform() < 0.75 else 2):
        # Air brakes / door: a sharp "pssht" of high noise, fast attack, ~0.3-0.8 s decay.
        start = rng.uniform(0, max(n / sr - 0.5, 0.01))
        dt = t - start
        env = np.where(
            dt < 0, 0.0, np.minimum(dt / 0.02, 1.0) * np.exp(-np.maximum(dt, 0) / rng.uniform(0.3, 0.8))
        )
        hiss = _noise(n, sr, rng, lambda f: synth.bandpass(f, 2000.0, 7000.0))
        out += rng.uniform(1.5, 3.0) * env * _unit(hiss)
    return out


def _truck(n, sr, rng):
    rpm = _rpm_track(n, sr, rng, 500.0, 1900.0, rng.choice(["cruise", "accelerate"], p=[0.4, 0.6]))
    peaks = [(rng.uniform(45, 80), 40.0, 6.0), (rng.uniform(180, 300), 90.0, 2.0), (900.0, 300.0, 0.3)]
    out = _engine(
        n,
        sr,
        rng,
        rpm / 60.0 * 3.0,
        peaks,
        brightness=rng.uniform(300, 450),
        cylinders=6,
        lope=0.15,
        clatter=rng.uniform(0.7, 1.2),
        clatter_band=(1200.0, 3500.0),
        throttle=0.5 + 0.5 * rpm / rpm.max(),
    )
    out += rng.uniform(0.2, 0.5) * _tyres(n, sr, rng, 1000.0)
    if rng.uniform() < 0.7:
        # Turbocharger whine: a thin tone tracking engine speed at a few kHz.
        whine_hz = np.minimum(rpm * rng.uniform(1.8, 2.6), 0.4 * sr)
        out += rng.uniform(0.08, 0.2) * np.sqrt(2) * _oscillator(whine_hz, sr, rng, [1.0])
    return out


def _motorcycle(n, sr, rng):
    rpm = _rpm_track(
        n, sr, rng, 1800.0, 7500.0, rng.choice(["rev", "accelerate", "cruise"], p=[0.4, 0.4, 0.2])
    )
    pulses_hz = rpm / 60.0 * rng.uniform(2.0, 2.5)  # 60-310 pulses per second
    peaks = [
        (rng.uniform(200, 350), 120.0, 2.0),
        (rng.uniform(700, 1200), 300.0, 1.5),
        (rng.uniform(2000, 3000), 800.0, 0.8),
    ]
    out = _engine(
        n,
        sr,
        rng,
        pulses_hz,
        peaks,
        brightness=rng.uniform(1200, 2000),
        cylinders=2,
        lope=0.2,
        odd=rng.uniform(0.6, 0.95),
        throttle=0.4 + 0.6 * rpm / rpm.max(),
    )
    out = synth.soft_clip(out / np.abs(out).max() * rng.uniform(2.0, 4.0), 1.0)  # rasp
    return _unit(out) + rng.uniform(0.05, 0.25) * _tyres(n, sr, rng, 2000.0)


def _car_passing_by(n, sr, rng):
    """A car passing at speed v, closest distance d0: the received pitch falls by c/(c-v) to
    c/(c+v) through the pass; amplitude ~ 1/distance; brighter up close (less air and ground
    absorption)."""
    t = _time(n, sr)
    speed = rng.uniform(10.0, 25.0)
    d0 = rng.uniform(3.0, 10.0)
    t0 = rng.uniform(0.35, 0.65) * n / sr
    x = speed * (t - t0)
    distance = np.sqrt(x**2 + d0**2)
    radial = speed * x / distance  # > 0: moving away
    doppler = 343.0 / (343.0 + radial)
    rpm = _rpm_track(n, sr, rng, 1800.0, 3200.0, "cruise")
    peaks = [(rng.uniform(90, 160), 70.0, 3.0), (rng.uniform(350, 550), 150.0, 1.2), (1100.0, 300.0, 0.4)]
    engine = _engine(n, sr, rng, rpm / 60.0 * 2.0 * doppler, peaks, brightness=700.0, lope=0.08)
    dull = _tyres(n, sr, rng, 900.0)
    bright = _tyres(n, sr, rng, 4000.0)
    near = d0 / distance
    tyres = (1.0 - near) * dull + near * bright
    return (0.6 * engine + rng.uniform(0.8, 1.3) * tyres) * near


def _train(n, sr, rng):
    """Low rumble and the clickety-clack of bogies over rail joints: per car, two axles (2.5 m
    apart) of one bogie, then of the next one ~14 m on, the pattern repeating every car
    length (~20 m) at the train's speed."""
    speed = rng.uniform(8.0, 30.0)
    cutoff = rng.uniform(200, 400)
    rumble = _noise(n, sr, rng, lambda f: _pink(f, 1.0) * synth.lowpass(f, cutoff, 3))
    rumble = _unit(rumble) * _wander(n, sr, rng, 0.8, 0.7, 1.0)
    car, bogie, axle = rng.uniform(18, 24) / speed, rng.uniform(12, 16) / speed, 2.5 / speed
    first = rng.uniform(0, car)
    starts = np.arange(first - car, n / sr, car)
    times = np.concatenate([starts, starts + axle, starts + bogie, starts + bogie + axle])
    times = np.sort(times[(times >= 0) & (times < n / sr - 0.01)])
    gains = rng.uniform(0.7, 1.0, len(times))
    clacks = _impacts(n, sr, rng, times, gains, (700.0, 4000.0), 0.012, body=(rng.uniform(90, 150), 0.03))
    out = rumble + rng.uniform(0.6, 1.2) * _unit(clacks) if len(times) else rumble
    if rng.uniform() < 0.4:
        # A diesel-electric locomotive's slow engine hum.
        hum = _oscillator(np.full(n, rng.uniform(18, 30)), sr, rng, 1.0 / np.arange(1, 16))
        out += rng.uniform(0.3, 0.6) * _unit(_filter(hum, sr, lambda f: synth.lowpass(f, 300.0, 2)))
    if rng.uniform() < 0.25:
        # Flange squeal: a wobbling high whistle for part of the event.
        freq = rng.uniform(2500, 4500) * (1 + 0.01 * np.sin(2 * np.pi * 3.0 * _time(n, sr)))
        freq = np.minimum(freq, 0.4 * sr)
        env = _ramp_env(n, sr, 0.3, 0.3) * _wander(n, sr, rng, 1.5, 0.0, 1.0)
        out += rng.uniform(0.2, 0.5) * np.sqrt(2) * env * _oscillator(freq, sr, rng, [1.0])
    return out


# ----------------------------------------------------------------------------------------------
# Sirens
# ----------------------------------------------------------------------------------------------


def _siren_voice(freq, sr, rng, even=0.3, tilt=1.0, horn=(350.0, 4500.0)):
    """An electronic siren's driver: a square-ish wave (strong odd, weaker even harmonics)
    through a horn speaker's band."""
    h = np.arange(1, 17, dtype=np.float64)
    amps = np.where(h % 2 == 1, 1.0, even) / h**tilt
    tone = _oscillator(freq, sr, rng, amps)
    return _unit(_filter(tone, sr, lambda f: synth.bandpass(f, *horn)))


def _wail_track(t, rng, low, high, period):
    """A smooth slow rise and fall between ``low`` and ``high`` (Hz)."""
    phase = t / period + rng.uniform()
    return low + (high - low) * (0.5 - 0.5 * np.cos(2 * np.pi * phase))


def _ambulance(n, sr, rng):
    t = _time(n, sr)
    if rng.uniform() < 0.65:
        # Hi-lo: two tones a third or fourth apart, alternating every 0.45-0.7 s.
        low = rng.uniform(420, 800)
        high = low * rng.uniform(1.19, 1.34)
        gate = _smooth_square(t / (2 * rng.uniform(0.45, 0.7)) + rng.uniform(), 0.5, 30.0)
        freq = low + (high - low) * gate
    else:
        freq = _wail_track(t, rng, rng.uniform(600, 750), rng.uniform(1300, 1550), rng.uniform(1.6, 2.6))
    return _siren_voice(freq, sr, rng, even=0.25)


def _police(n, sr, rng):
    t = _time(n, sr)
    low, high = rng.uniform(600, 750), rng.uniform(1350, 1700)
    rate = rng.uniform(2.8, 4.2)
    phase = (t * rate + rng.uniform()) % 1.0
    rise = 0.65  # quick-ish rise, quicker fall: the "whoop" of a yelp
    shape = np.where(phase < rise, phase / rise, (1.0 - phase) / (1.0 - rise))
    freq = low + (high - low) * shape**0.8
    if rng.uniform() < 0.25 and n / sr > 2.0:
        # A burst of hyper-yelp ("phaser"): the same sweep at 8-12 per second.
        start, length = rng.uniform(0, n / sr - 1.0), rng.uniform(0.5, 1.5)
        fast = ((t * rng.uniform(8, 12)) % 1.0) ** 0.8
        inside = (t >= start) & (t < start + length)
        freq = np.where(inside, low + (high - low) * fast, freq)
    return _siren_voice(freq, sr, rng, even=0.15, tilt=0.9)


def _horn_blasts(n, sr, rng, roots, ratios, count, length, gap, tilt, attack, drive=0.0):
    """Sustained brassy tones (a chord: ``roots`` x ``ratios``) in ``count`` blasts."""
    t = _time(n, sr)
    h = np.arange(1, 25, dtype=np.float64)
    chord = np.zeros(n)
    for ratio in ratios:
        f = roots * ratio * (1.0 + 0.003 * np.sin(2 * np.pi * rng.uniform(4, 7) * t + rng.uniform(0, 6.3)))
        chord += _oscillator(f, sr, rng, 1.0 / h**tilt)
    if drive > 0:
        chord = synth.soft_clip(chord / np.abs(chord).max() * drive, 1.0)
    env = np.zeros(n)
    position = 0.0
    for i in range(count):
        dur = length[i] if hasattr(length, "__len__") else length
        a, b = int(position * sr), min(int((position + dur) * sr), n)
        if b - a > 8:
            env[a:b] = _ramp_env(b - a, sr, attack, 0.15)
        position += dur + gap
    return chord * env


def _fire_engine(n, sr, rng):
    t = _time(n, sr)
    # A mechanical siren: slow wind-up and run-down, rich harmonics (rotor chopping).
    period = rng.uniform(4.0, 7.0)
    freq = _wail_track(t, rng, rng.uniform(300, 420), rng.uniform(950, 1200), period)
    out = _siren_voice(freq, sr, rng, even=0.6, tilt=0.7, horn=(200.0, 5000.0))
    # 1-2 low air-horn blasts ("the fire truck's horn") somewhere in the event.
    for _ in range(1 if rng.uniform() < 0.6 else 2):
        dur = rng.uniform(0.4, 1.2)
        start = int(rng.uniform(0, max(n / sr - dur, 0.0)) * sr)
        m = min(int(dur * sr), n - start)
        if m > 64:
            root = rng.uniform(110, 180)
            blast = _horn_blasts(m, sr, rng, root, (1.0, 1.26), 1, dur, 0.0, 0.5, 0.04, drive=2.0)
            out[start : start + m] += rng.uniform(0.8, 1.4) * _unit(blast) * _ramp_env(m, sr, 0.02, 0.05)
    return out


def _civil_defense(n, sr, rng):
    """A rotating outdoor warning siren: a low rotor tone (often two rotors, a minor third
    apart) slowly winding up and down, swelling as the horn turns, far away."""
    t = _time(n, sr)
    top = rng.uniform(350, 520)
    period = rng.uniform(10.0, 16.0)
    freq = _wail_track(t, rng, rng.uniform(140, 220), top, period)
    h = np.arange(1, 21, dtype=np.float64)
    amps = 1.0 / h**0.8
    tone = _oscillator(freq, sr, rng, amps)
    if rng.uniform() < 0.6:
        tone += 0.8 * _oscillator(freq * 1.19, sr, rng, amps)
    rotation = rng.uniform(4.0, 8.0)
    swell = 0.35 + 0.65 * (0.5 + 0.5 * np.cos(2 * np.pi * (t / rotation + rng.uniform())))
    tone = _filter(tone, sr, lambda f: synth.lowpass(f, 2500.0, 2)) * swell
    return _unit(synth.reverb(tone, sr, rng, seconds=2.0, wet=rng.uniform(0.3, 0.5), damping_hz=2000.0))


def _car_alarm(n, sr, rng):
    """A piezo siren cycling through its patterns, each for ~1-2.5 s."""
    t = _time(n, sr)
    base = rng.uniform(1800, min(3400, 0.4 * sr))
    freq = np.full(n, base)
    gate = np.ones(n)
    position, kinds = 0.0, rng.permutation(4)
    i = 0
    while position < n / sr:
        length = rng.uniform(1.0, 2.5)
        sel = (t >= position) & (t < position + length)
        local = t[sel] - position
        kind = kinds[i % 4]
        if kind == 0:  # warble
            freq[sel] = base * (1.0 + 0.25 * np.sin(2 * np.pi * rng.uniform(5, 8) * local))
        elif kind == 1:  # beeps
            gate[sel] = _smooth_square(local * rng.uniform(3, 6), 0.5, 20.0)
        elif kind == 2:  # fast rising sweeps
            freq[sel] = base * (0.6 + 0.6 * ((local * rng.uniform(2, 4)) % 1.0))
        else:  # two-tone trill
            freq[sel] = base * (1.0 + 0.2 * _smooth_square(local * rng.uniform(6, 10), 0.5, 20.0))
        position += length
        i += 1
    freq = np.minimum(freq, 0.43 * sr)
    tone = _oscillator(freq, sr, rng, [1.0, 0.0, 1 / 3, 0.0, 1 / 5])
    return _unit(tone * gate)


def _reversing_beeps(n, sr, rng):
    t = _time(n, sr)
    freq = np.full(n, rng.uniform(950, 1250))
    gate = _smooth_square(t / rng.uniform(0.8, 1.2) + rng.uniform(), rng.uniform(0.45, 0.55), 40.0)
    tone = _oscillator(freq, sr, rng, [1.0, 0.05, 0.12])
    return _unit(tone * gate)


# ----------------------------------------------------------------------------------------------
# Horns, bicycles, skateboards, voices
# ----------------------------------------------------------------------------------------------


def _train_horn(n, sr, rng):
    seconds = n / sr
    root = rng.uniform(180, 320)
    ratios = ((1.0, 1.19, 1.335, 1.587, 2.0), (1.0, 1.26, 1.5), (1.0, 1.19, 1.5, 1.78))[rng.integers(0, 3)]
    if rng.uniform() < 0.5 and seconds > 3.0:
        # Grade crossing: long, long, short, long (proportions kept, fitted to the event).
        gap = 0.25
        parts = np.array([1.0, 1.0, 0.4, 1.3])
        lengths = parts * (seconds - 3 * gap) / parts.sum()
        out = _horn_blasts(n, sr, rng, root, ratios, 4, lengths, gap, 0.8, 0.08)
    else:
        out = _horn_blasts(n, sr, rng, root, ratios, 1, seconds, 0.0, 0.8, 0.08)
    # Big bells (the horns' flares) and distance: a mellow top.
    cutoff = rng.uniform(1500, 3000)
    return _filter(out, sr, lambda f: synth.lowpass(f, cutoff, 2))


def _air_horn(n, sr, rng):
    seconds = n / sr
    root = rng.uniform(260, 480)
    count = int(rng.integers(1, 5))
    gap = rng.uniform(0.15, 0.5)
    length = max((seconds - (count - 1) * gap) / count, 0.25)
    return _horn_blasts(
        n,
        sr,
        rng,
        root,
        (1.0, rng.uniform(1.2, 1.33)),
        count,
        length,
        gap,
        0.35,
        0.02,
        drive=rng.uniform(2.0, 4.0),
    )


def _bell(sr, rng):
    """A thumb bell: a few inharmonic partials, higher ones dying faster, each split into a
    beating pair (the dome is not quite round)."""
    f1 = rng.uniform(1800, 3200)
    seconds = rng.uniform(0.5, 1.0)
    t = np.arange(int(seconds * sr)) / sr
    out = np.zeros(len(t))
    for ratio, amp, tau in ((1.0, 1.0, 0.45), (1.51, 0.6, 0.3), (2.02, 0.4, 0.2), (2.47, 0.3, 0.12)):
        f = f1 * ratio
        if f > 0.45 * sr:
            continue
        beat = rng.uniform(2, 6)
        out += (
            amp
            * np.exp(-t / (tau * seconds))
            * (np.sin(2 * np.pi * f * t) + np.sin(2 * np.pi * (f + beat) * t))
        )
    return out / np.abs(out).max()


def _bicycle(n, sr, rng):
    seconds = n / sr
    # Freewheel pawls ticking while coasting: quick high clicks at a wandering rate.
    rate = _wander(n, sr, rng, 0.5, 8.0, 20.0)
    phase = np.cumsum(rate) / sr
    ticks = np.flatnonzero(np.diff(np.floor(phase)) > 0) / sr
    out = 0.5 * _unit(
        _impacts(n, sr, rng, ticks, rng.uniform(0.6, 1.0, len(ticks)), (3000.0, 7000.0), 0.0015)
    )
    out += 0.15 * _tyres(n, sr, rng, 3000.0)
    bell = _bell(sr, rng)
    rings = int(rng.integers(1, 4))
    starts = np.sort(
        np.concatenate([[rng.uniform(0, 0.5)], rng.uniform(0, max(seconds - 1.0, 0.1), rings - 1)])
    )
    onsets, gains = [], []
    for s in starts:
        for k in range(int(rng.integers(2, 4))):  # ring-ring(-ring): 2-3 strikes
            onsets.append(s + k * rng.uniform(0.09, 0.15))
            gains.append(rng.uniform(0.7, 1.0))
    onsets = (np.array(onsets) * sr).astype(np.int64)
    ring = synth.scatter(n, onsets, [bell], np.zeros(len(onsets), int), gains)
    return out + rng.uniform(2.0, 3.5) * ring


def _skateboard(n, sr, rng):
    seconds = n / sr
    t = _time(n, sr)
    cutoff = rng.uniform(1200, 2000)
    rumble = _noise(n, sr, rng, lambda f: _pink(f, 0.5) * synth.bandpass(f, 80.0, cutoff))
    flutter = 1.0 + 0.3 * np.sin(2 * np.pi * rng.uniform(5, 12) * t) * _wander(n, sr, rng, 1.0, 0.3, 1.0)
    out = _unit(rumble * flutter)
    # Pavement joints every 0.4-0.9 s, hit by the front then the back wheels.
    spacing = rng.uniform(0.4, 0.9)
    first = np.arange(rng.uniform(0, spacing), seconds, spacing)
    wheelbase = rng.uniform(0.08, 0.15)
    times = np.sort(np.concatenate([first, first + wheelbase]))
    times = times[times < seconds - 0.01]
    gains = list(rng.uniform(0.6, 1.0, len(times)))
    times = list(times)
    if rng.uniform() < 0.3 and seconds > 1.5:
        # An ollie: the tail's pop, then the landing a moment later.
        pop = rng.uniform(0.2, seconds - 1.0)
        times += [pop, pop + rng.uniform(0.35, 0.6)]
        gains += [2.0, 2.5]
    if times:
        clacks = _impacts(
            n, sr, rng, times, gains, (300.0, 5000.0), 0.008, body=(rng.uniform(150, 300), 0.03)
        )
        out += rng.uniform(0.8, 1.4) * _unit(clacks)
    return out


def _scream(n, sr, rng):
    """One scream: a high glottal source through raised vowel formants, with a pitch arch,
    vibrato, jitter and some breath."""
    t = _time(n, sr)
    seconds = n / sr
    peak = rng.uniform(500, 1200)
    arch = np.minimum(t / (0.3 * seconds), 1.0)
    f0 = peak * (0.75 + 0.25 * arch) * (1.0 - 0.15 * np.maximum(t / seconds - 0.7, 0) / 0.3)
    f0 *= 2.0 ** (
        rng.uniform(40, 80) / 1200 * np.sin(2 * np.pi * rng.uniform(5, 8) * t + rng.uniform(0, 6.3))
    )
    f0 *= 2.0 ** (_wander(n, sr, rng, 20.0, -30.0, 30.0) / 1200)  # jitter
    formants = np.array(synth.VOWEL_FORMANTS[synth.VOWELS[rng.integers(0, 3)]]) * rng.uniform(1.2, 1.4)
    # Harmonic amplitudes follow the formants as f0 moves: evaluated every 10 ms.
    grid = np.arange(0, n, int(0.01 * sr))
    phase = 2 * np.pi * (np.cumsum(f0) / sr)
    out = np.zeros(n)
    for h in range(1, int(0.45 * sr / f0.min()) + 1):
        gain = synth.formant_gain(h * f0[grid], formants) / h
        gain = np.where(h * f0[grid] < 0.45 * sr, gain, 0.0)
        out += np.interp(np.arange(n), grid, gain) * np.sin(h * phase)
    breath = _noise(n, sr, rng, lambda f: synth.formant_gain(f, formants))
    out = _unit(out) + rng.uniform(0.1, 0.3) * _unit(breath)
    return out * _ramp_env(n, sr, 0.05, 0.15)


def _screaming(n, sr, rng):
    """1-3 screams with short breaths between them."""
    seconds = n / sr
    count = 1 if seconds < 1.5 else int(rng.integers(1, 4))
    gap = rng.uniform(0.1, 0.4)
    length = (seconds - (count - 1) * gap) / count
    if length < 0.4:
        count, length = 1, seconds
    out = np.zeros(n)
    for i in range(count):
        a = int(i * (length + gap) * sr)
        m = min(int(length * sr), n - a)
        if m > 64:
            out[a : a + m] = _scream(m, sr, rng)
    return out


RENDERERS = {
    "Train horn": _train_horn,
    "Air horn, truck horn": _air_horn,
    "Car alarm": _car_alarm,
    "Reversing beeps": _reversing_beeps,
    "Bicycle": _bicycle,
    "Skateboard": _skateboard,
    "Ambulance (siren)": _ambulance,
    "Fire engine, fire truck (siren)": _fire_engine,
    "Civil defense siren": _civil_defense,
    "Police car (siren)": _police,
    "Screaming": _screaming,
    "Car": _car,
    "Car passing by": _car_passing_by,
    "Bus": _bus,
    "Truck": _truck,
    "Motorcycle": _motorcycle,
    "Train": _train,
}


# ----------------------------------------------------------------------------------------------
# Background
# ----------------------------------------------------------------------------------------------


def _background(n, sr, rng):
    """The bed every clip sits on: road, wind or city noise, sometimes with unlabelled sounds."""
    kind = rng.choice(["road", "wind", "city"])
    if kind == "road":
        slope, cutoff = rng.uniform(0.8, 1.1), rng.uniform(800, 2500)
        bed = _noise(n, sr, rng, lambda f: _pink(f, slope) * synth.lowpass(f, cutoff, 2))
        bed = _unit(bed) * _wander(n, sr, rng, 0.4, 0.6, 1.0)  # traffic swelling and easing
    elif kind == "wind":
        cutoff = rng.uniform(200, 600)
        bed = _noise(n, sr, rng, lambda f: _pink(f, 1.0) * synth.lowpass(f, cutoff, 2))
        bed = _unit(bed) * _wander(n, sr, rng, 1.0, 0.2, 1.0) ** 2  # gusts
    else:
        slope, cutoff = rng.uniform(0.4, 0.7), rng.uniform(3000, 6000)
        bed = _unit(_noise(n, sr, rng, lambda f: _pink(f, slope) * synth.bandpass(f, 60.0, cutoff)))
        mains = 50.0 if rng.uniform() < 0.5 else 60.0
        bed += rng.uniform(0.05, 0.2) * np.sqrt(2) * _oscillator(np.full(n, mains), sr, rng, [1.0, 0.5, 0.3])
        # Distant voices: speech-shaped noise with a syllable rhythm.
        babble = _noise(n, sr, rng, lambda f: synth.bandpass(f, 250.0, 2500.0))
        bed += rng.uniform(0.1, 0.4) * _unit(babble) * _wander(n, sr, rng, 8.0, 0.2, 1.0)
    bed = _unit(bed)
    if rng.uniform() < 0.25:
        # Bird chirps: quick downward sweeps, high and short.
        times = np.sort(rng.uniform(0, max(n / sr - 0.2, 0.01), int(rng.integers(3, 9))))
        m = int(0.08 * sr)
        tt = np.arange(m) / sr
        top = min(rng.uniform(3500, 6000), 0.42 * sr)
        sweep = np.sin(2 * np.pi * np.cumsum(top * (1 - 0.4 * tt / tt[-1])) / sr) * np.hanning(m)
        chirps = synth.scatter(n, (times * sr).astype(np.int64), [sweep], np.zeros(len(times), int))
        bed += rng.uniform(0.3, 1.0) * chirps
    if rng.uniform() < 0.15:
        # Footsteps passing: soft, dull thumps at walking pace (kept duller and quieter than
        # the skateboard's and the train's clacks, which they must not stand in for).
        step = rng.uniform(0.45, 0.65)
        times = np.arange(rng.uniform(0, step), n / sr - 0.05, step)
        gains = rng.uniform(0.6, 1.0, len(times))
        steps = _impacts(n, sr, rng, times, gains, (60.0, 400.0), 0.04)
        bed += rng.uniform(0.2, 0.5) * _unit(steps)
    return bed


# ----------------------------------------------------------------------------------------------
# Rendering a clip
# ----------------------------------------------------------------------------------------------


def render_clip(clip, sample_rate=16000, seed=0):
    """Synthesise one clip of the plan: background plus its events at their SNRs.

    Args:
        clip: a `DemoClip` from `demo_plan`.
        sample_rate: output rate (Hz).
        seed: the base seed the plan was drawn with.

    Returns:
        float32 mono waveform in [-1, 1], ``duration_ms * sample_rate / 1000`` samples long.
    """
    rng = _rng(seed, clip.split, clip.index, "audio")
    sr = sample_rate
    n = round(clip.duration_ms * sr / 1000)
    bed = _background(n, sr, rng)
    mix = bed.copy()
    for event in clip.events:
        a = round(event.onset_ms * sr / 1000)
        b = min(round(event.offset_ms * sr / 1000), n)
        if b - a < 16:
            continue
        sound = RENDERERS[event.label](b - a, sr, rng)
        sound = _unit(sound) * _ramp_env(b - a, sr, 0.015, 0.03)  # no clicks at the edges
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


def _write_clip(args):
    clip, directory, sample_rate, seed = args
    import soundfile as sf

    audio = render_clip(clip, sample_rate, seed)
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
    path = os.path.join(directory, clip.audio_path)
    tmp = path + ".part"
    sf.write(tmp, pcm, sample_rate, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)  # a killed run never leaves a truncated .wav behind
    return clip.index


# ----------------------------------------------------------------------------------------------
# Writing the release
# ----------------------------------------------------------------------------------------------


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
    clips = demo_plan(n_train, n_test, n_eval, clip_seconds, seed)
    os.makedirs(os.path.join(directory, RELEASE_FOLDER), exist_ok=True)
    for folder in AUDIO_FOLDERS.values():
        os.makedirs(os.path.join(directory, folder), exist_ok=True)
    jobs = [(clip, directory, sample_rate, seed) for clip in clips if clip.written]
    run_jobs(_write_clip, jobs, workers, "demo DCASE 2017 clips", "clip", progress)
    # The lists and ground truth last: a folder with them is a finished dataset.
    write_metadata(directory, clips)
    return DemoDcase2017(directory=directory, clips=tuple(clips), sample_rate=sample_rate)


def _write_text(path, lines, newline):
    # newline="" on open: write exactly the line ends asked for, on every platform.
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.writelines(line + newline for line in lines)


def _download_list(clips):
    """YTID,start,end,labels,MIDs with csv's minimal quoting (a field with a comma is quoted,
    as in the release: ``"Train horn,Train"`` but also ``"Air horn, truck horn"``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for clip in clips:
        writer.writerow(
            [
                clip.ytid,
                clip.start,
                clip.end,
                ",".join(clip.labels),
                ",".join(CLASS_MIDS[label] for label in clip.labels),
            ]
        )
    return buffer.getvalue()


def _weak_rows(clips):
    rows = [
        (CLASSES.index(label), clip.name, clip.start, clip.end, label)
        for clip in clips
        for label in clip.labels
    ]
    return ["\t".join(row[1:]) for row in sorted(rows)]


def _strong_rows(clips):
    rows = [
        (CLASSES.index(e.label), clip.name, e.onset_ms, e.offset_ms, e.label)
        for clip in clips
        for e in clip.events
    ]
    return [f"{name}\t{_seconds(on)}\t{_seconds(off)}\t{label}" for _, name, on, off, label in sorted(rows)]


def write_metadata(directory, clips):
    """Write the download lists, the ground truth and the class list for ``clips``."""
    by_split = {s: [c for c in clips if c.split == s] for s in SPLITS}
    release = os.path.join(directory, RELEASE_FOLDER)
    for split in SPLITS:
        with open(os.path.join(directory, DOWNLOAD_LISTS[split]), "w", encoding="utf-8", newline="") as f:
            f.write(_download_list(by_split[split]))
    for split in ("training", "testing"):
        name = f"groundtruth_weak_label_{split}_set.csv"
        for folder in (directory, release):
            _write_text(os.path.join(folder, name), _weak_rows(by_split[split]), "\n")
    for folder in (directory, release):
        _write_text(
            os.path.join(folder, "groundtruth_strong_label_testing_set.csv"),
            _strong_rows(by_split["testing"]),
            "\n",
        )
    evaluation = by_split["evaluation"]
    _write_text(
        os.path.join(release, "groundtruth_weak_label_evaluation_set.csv"), _weak_rows(evaluation), "\r\n"
    )
    _write_text(
        os.path.join(release, "groundtruth_strong_label_evaluation_set.csv"), _strong_rows(evaluation), "\r\n"
    )
    lines = [CLASS_LIST_HEADER] + [f"{CLASS_MIDS[c]}\t{CLASS_CONFIDENCE[c]}\t{c}" for c in CLASSES]
    _write_text(os.path.join(directory, CLASS_LIST_FILE), lines, "\n")
