"""A synthetic stand-in for Speech Commands v0.02 (Warden, 2018), in the real folder layout.

`make_demo_speech_commands` writes::

    directory/
      backward/0a2b400e_nohash_0.wav ...   one folder per word; 16 kHz mono 16-bit PCM wavs
      ...                                   named <speaker>_nohash_<n>.wav
      validation_list.txt                   paths like right/0a7c2a8d_nohash_0.wav (sorted, LF)
      testing_list.txt
      _background_noise_/                   white_noise.wav, pink_noise.wav, running_tap.wav,
                                            doing_the_dishes.wav, exercise_bike.wav,
                                            dude_miaowing.wav (30 s each) and README.md
      README.md, LICENSE

so the real converter (``python -m tfrecords_tools speech-commands --root DIR``, see
`tfrecords_tools.speech_commands`) reads it unchanged. Nothing is downloaded. About 90 % of the
clips are exactly 16000 samples, the rest 0.6-0.99 s, as in the real data.

Synthesis model
---------------
Each word has a fixed pronunciation: a sequence of 2-6 phoneme-like units from a small
hand-written lexicon of the 35 v0.02 words (other words fall back to a letter-by-letter
guess). The units are rendered by a frame-based formant synthesiser:

- vowels and diphthongs: a glottal pulse train (harmonics with a 1/h source spectrum) through
  five formants: F1-F3 with targets per vowel and linear transitions to and from the
  neighbours' targets (coarticulation: a consonant's place of articulation bends the vowel's
  formants), F4-F5 fixed;
- glides (w, r, l, y) and nasals (m, n, ng): weaker voicing with their own formants; nasals
  are low-passed (a murmur);
- fricatives: band-passed noise whose band gives the place (s high, sh mid, f / th flat and
  weak); voiced ones (z, zh, v) add weak voicing;
- plosives: a closure (silence, or a faint voice bar for b / d / g), then a 12-ms burst whose
  band gives the place (p low, t high, k mid), then aspiration (noise through the next
  vowel's formants) for voiceless ones; ``h`` is aspiration alone.

Each word also has its own relative unit durations, small formant shifts of its units and
pitch contour (drawn from a hash of the word, so they do not change with the seed). Similar
words share units: tree / three, go / no, four / forward, off / on, bed / bird, five / nine...

A *speaker* (a random 8-hex-digit id) has a sex, an f0 (male 90-150 Hz, female 160-260 Hz), a
formant scale (0.85-1.2: vocal-tract length), a speaking rate (0.8-1.2), a loudness, a
breathiness and a microphone (high-pass and spectral tilt). Each speaker says a word 1-3
times; about 15 % of the speakers (with the default sizes) say several words. Each utterance
varies the pitch level and contour, the unit durations and formants slightly, the onset inside
the clip, and adds background noise (coloured noise, sometimes mains hum) at 10-30 dB SNR.

Neither level nor duration tells the words apart: an utterance's total duration comes from
the speaker's rate and a per-utterance jitter only (the units share it out), and the speech
is scaled to the speaker's loudness over that span, whatever the word.

Split rule
----------
As in the real dataset (Warden 2018, arXiv:1804.03209; TensorFlow's
``tensorflow/examples/speech_commands/input_data.py``, ``which_set``): the file name with
``_nohash_`` and everything after it removed (the speaker id) is hashed with SHA-1, and
``(int(hexdigest, 16) % 2**27) * 100 / (2**27 - 1)`` is a percentage; below 10 is validation,
below 20 testing, otherwise training. All of a speaker's files land in one split. (The
modulus is ``MAX_NUM_WAVS_PER_CLASS + 1 = 2**27``, the divisor ``2**27 - 1``, as in
TensorFlow's code; a modulus of ``2**27 - 1`` would give other, equally sized, splits.)

The output is deterministic: the same arguments give byte-identical files (on the same
platform and NumPy version), whatever the number of workers.
"""

import dataclasses
import functools
import hashlib
import os
import re

import numpy as np

from keras_samplecnn.datasets import synth
from keras_samplecnn.datasets.writing import command_line, pcm16, write_audio, write_lines, write_text

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000
WORDS = (
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
    "backward", "forward", "follow", "learn", "visual",
)  # fmt: skip
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
BACKGROUND_NOISE = "_background_noise_"
BACKGROUND_SECONDS = 30.0
BACKGROUND_FILES = (
    "white_noise.wav",
    "pink_noise.wav",
    "running_tap.wav",
    "doing_the_dishes.wav",
    "exercise_bike.wav",
    "dude_miaowing.wav",
)

# The dataset's own split rule (TensorFlow's input_data.which_set).
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1
VALIDATION_PERCENTAGE = 10.0
TESTING_PERCENTAGE = 10.0

# Speakers and utterances. Module constants, so that whoever tunes the demo's difficulty
# changes them in one place.
SHORT_CLIP_FRACTION = 0.1  # clips shorter than 1 s, like the real data's truncated recordings
SHORT_CLIP_SECONDS = (0.6, 0.99)
REPETITION_PROBS = (0.6, 0.25, 0.15)  # a speaker says a word 1, 2 or 3 times
SHARED_SPEAKER_FRACTION = 0.4  # share of a word's speakers drawn from the pool of multi-word ones
CLIPS_PER_POOL_SPEAKER = 11.5  # pool size = total clips / this: ~15 % multi-word speakers
WORD_SECONDS = 0.58  # spoken duration at rate 1; divided by the speaker's rate
SNR_DB = (12.0, 32.0)
LEVEL_DBFS = (-30.0, -16.0)  # RMS of the speech over its span
PEAK_CEILING = 0.95
HOP = 80  # frame hop of the synthesiser's parameter tracks (5 ms)
MAX_HARMONIC_HZ = 7200.0

# ----------------------------------------------------------------------------------------------
# Phonemes and the lexicon
# ----------------------------------------------------------------------------------------------

# Adult male formants F1-F3 (Hz; classic American English averages); speakers scale them.
VOWELS = {
    "iy": (270, 2290, 3010),
    "ih": (390, 1990, 2550),
    "eh": (530, 1840, 2480),
    "ae": (660, 1720, 2410),
    "aa": (730, 1090, 2440),
    "ah": (640, 1190, 2390),
    "ao": (570, 840, 2410),
    "uh": (440, 1020, 2240),
    "uw": (300, 870, 2240),
    "er": (490, 1350, 1690),
}
DIPHTHONGS = {
    "ey": ("eh", "iy"),
    "ay": ("aa", "iy"),
    "ow": ("ao", "uw"),
    "aw": ("aa", "uw"),
    "oy": ("ao", "iy"),
}
GLIDES = {"w": (300, 650, 2200), "r": (350, 1100, 1450), "l": (380, 950, 2650), "y": (270, 2150, 3000)}
NASALS = {"m": (270, 1000, 2200), "n": (270, 1600, 2600), "ng": (270, 2000, 2500)}
# Formant "loci" of the places of articulation: where a vowel's transition starts or ends.
LOCI = {
    "labial": (250, 900, 2200),
    "dental": (270, 1500, 2600),
    "alveolar": (250, 1700, 2600),
    "postalveolar": (250, 2000, 2500),
    "velar": (250, 2000, 2300),
}
# Fricatives: place, noise band (Hz), noise level (relative to a stressed vowel), voiced.
FRICATIVES = {
    "s": ("alveolar", (3800, 7600), 0.32, False),
    "z": ("alveolar", (3800, 7600), 0.2, True),
    "sh": ("postalveolar", (1900, 5000), 0.4, False),
    "zh": ("postalveolar", (1900, 5000), 0.25, True),
    "f": ("labial", (1200, 7600), 0.07, False),
    "v": ("labial", (1200, 7600), 0.06, True),
    "th": ("dental", (1800, 7600), 0.06, False),
}
# Plosives: place, burst band (Hz), burst level, voiced.
PLOSIVES = {
    "p": ("labial", (200, 1500), 0.35, False),
    "b": ("labial", (200, 1500), 0.25, True),
    "t": ("alveolar", (3000, 7500), 0.5, False),
    "d": ("alveolar", (3000, 7500), 0.35, True),
    "k": ("velar", (1400, 3200), 0.5, False),
    "g": ("velar", (1400, 3200), 0.35, True),
}
HIGH_FORMANTS = (3300.0, 4500.0)  # F4, F5 of a male voice
BANDWIDTHS = (80.0, 100.0, 150.0, 250.0, 300.0)  # of F1-F5 (Hz)

# Pronunciations of the 35 v0.02 words (ARPAbet-like, simplified).
LEXICON = {
    "yes": "y eh s",
    "no": "n ow",
    "up": "ah p",
    "down": "d aw n",
    "left": "l eh f t",
    "right": "r ay t",
    "on": "aa n",
    "off": "ao f",
    "stop": "s t aa p",
    "go": "g ow",
    "zero": "z iy r ow",
    "one": "w ah n",
    "two": "t uw",
    "three": "th r iy",
    "four": "f ao r",
    "five": "f ay v",
    "six": "s ih k s",
    "seven": "s eh v ah n",
    "eight": "ey t",
    "nine": "n ay n",
    "bed": "b eh d",
    "bird": "b er d",
    "cat": "k ae t",
    "dog": "d ao g",
    "happy": "hh ae p iy",
    "house": "hh aw s",
    "marvin": "m aa r v ih n",
    "sheila": "sh iy l ah",
    "tree": "t r iy",
    "wow": "w aw",
    "backward": "b ae k w er d",
    "forward": "f ao r w er d",
    "follow": "f aa l ow",
    "learn": "l er n",
    "visual": "v ih zh uw l",
}
_LETTER_UNITS = {
    "a": "ae", "e": "eh", "i": "ih", "o": "aa", "u": "ah", "y": "iy",
    "b": "b", "c": "k", "d": "d", "f": "f", "g": "g", "h": "hh", "j": "zh", "k": "k", "l": "l",
    "m": "m", "n": "n", "p": "p", "q": "k", "r": "r", "s": "s", "t": "t", "v": "v", "w": "w",
    "x": "s", "z": "z",
}  # fmt: skip


def _is_vowel(unit):
    return unit in VOWELS or unit in DIPHTHONGS


def pronunciation(word):
    """The unit sequence a word is synthesised from.

    Args:
        word: a v0.02 word (from the lexicon), or any other word (a letter-by-letter guess:
            ``sh``/``th``/``ng`` digraphs, one unit per other letter, doubled letters merged,
            at most 6 units).

    Returns:
        a tuple of unit names (keys of `VOWELS`, `DIPHTHONGS`, `GLIDES`, `NASALS`,
        `FRICATIVES`, `PLOSIVES`, or ``"hh"``).
    """
    if word in LEXICON:
        return tuple(LEXICON[word].split())
    units = []
    letters = re.sub(r"[^a-z]", "", word.lower())
    i = 0
    while i < len(letters):
        pair = letters[i : i + 2]
        if pair in ("sh", "th", "ng"):
            unit, i = pair, i + 2
        else:
            unit, i = _LETTER_UNITS[letters[i]], i + 1
        if not units or units[-1] != unit:
            units.append(unit)
    if not any(_is_vowel(u) for u in units):
        units.append("ah")
    if len(units) == 1:
        units.insert(0, "hh")
    return tuple(units[:6]) if any(_is_vowel(u) for u in units[:6]) else tuple(units[:5] + ["ah"])


# ----------------------------------------------------------------------------------------------
# Deterministic randomness and the split rule
# ----------------------------------------------------------------------------------------------


def which_set(filename, validation_percentage=VALIDATION_PERCENTAGE, testing_percentage=TESTING_PERCENTAGE):
    """The Speech Commands split of a file, by the dataset's own hashing rule.

    The name without ``_nohash_`` and what follows (the speaker id) is hashed, so all of a
    speaker's files share a split, and a file's split never changes as files are added.

    Args:
        filename: a file name or path such as ``right/0a7c2a8d_nohash_0.wav``.
        validation_percentage, testing_percentage: split sizes in percent.

    Returns:
        ``"validation"``, ``"testing"`` or ``"training"``.
    """
    name = re.sub(r"_nohash_.*$", "", os.path.basename(filename))
    value = int(hashlib.sha1(name.encode("utf-8")).hexdigest(), 16)
    percentage = (value % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < validation_percentage + testing_percentage:
        return "testing"
    return "training"


# ----------------------------------------------------------------------------------------------
# Speakers and the plan
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Speaker:
    """A voice: everything that stays the same across a speaker's utterances."""

    speaker_id: str
    female: bool
    f0: float  # Hz
    formant_scale: float  # vocal-tract length: formants (and fricative bands, less) scale by it
    rate: float  # speaking rate; a word lasts WORD_SECONDS / rate
    level_dbfs: float  # RMS of the speech over its span
    breathiness: float  # 0..1: source tilt and aspiration noise
    highpass_hz: float  # the microphone's low cut
    tilt_db_per_octave: float  # the microphone's spectral tilt around 1 kHz


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One file of the dataset (the summary `make_demo_speech_commands` returns)."""

    path: str  # relative, e.g. "right/0a7c2a8d_nohash_0.wav"
    word: str
    speaker_id: str
    repetition: int  # the n of <speaker>_nohash_<n>.wav
    split: str  # "training", "validation" or "testing"
    num_samples: int


def make_speaker(speaker_id, seed=0):
    """The voice of a speaker id (a pure function of the id and the seed)."""
    rng = synth.hashed_rng("speaker", seed, speaker_id)
    female = bool(rng.random() < 0.5)
    if female:
        f0 = rng.uniform(160.0, 260.0)
        scale = rng.uniform(1.02, 1.2)
    else:
        f0 = rng.uniform(90.0, 150.0)
        scale = rng.uniform(0.85, 1.05)
    return Speaker(
        speaker_id=speaker_id,
        female=female,
        f0=float(f0),
        formant_scale=float(scale),
        rate=float(rng.uniform(0.8, 1.2)),
        level_dbfs=float(rng.uniform(*LEVEL_DBFS)),
        breathiness=float(rng.uniform(0.0, 0.7 if female else 0.4)),
        highpass_hz=float(rng.uniform(40.0, 250.0)),
        tilt_db_per_octave=float(rng.uniform(-2.0, 2.0)),
    )


def plan(clips_per_word=60, words=None, seed=0):
    """Decide every file: its word, speaker, repetition number, split and length.

    Each word's speakers are drawn in turn: with probability `SHARED_SPEAKER_FRACTION` from a
    pool of speakers shared by all words (so some speakers say several words), otherwise a
    new speaker; each says the word 1-3 times until the word has ``clips_per_word`` files.

    Args:
        clips_per_word: files per word folder.
        words: word folders (default: the 35 v0.02 words).
        seed: seeds the speaker ids, voices and clip lengths.

    Returns:
        (utterances, speakers): a list of `Utterance` in word order, then by speaker and
        repetition, and a dict {speaker id: `Speaker`}.
    """
    words = _check_words(words)
    if int(clips_per_word) != clips_per_word or clips_per_word < 1:
        raise ValueError(f"clips_per_word must be a positive integer, got {clips_per_word!r}")
    clips_per_word = int(clips_per_word)
    pool_size = max(1, round(clips_per_word * len(words) / CLIPS_PER_POOL_SPEAKER))
    used = set()
    pool = [_fresh_id(used, "pool", seed, k) for k in range(pool_size)]
    utterances = []
    for word in words:
        rng = synth.hashed_rng("plan", seed, word)
        order = rng.permutation(pool_size)
        next_shared = 0
        remaining = clips_per_word
        new_speakers = 0
        members = []
        while remaining > 0:
            reps = min(remaining, 1 + int(rng.choice(len(REPETITION_PROBS), p=REPETITION_PROBS)))
            if rng.random() < SHARED_SPEAKER_FRACTION and next_shared < pool_size:
                sid = pool[order[next_shared]]
                next_shared += 1
            else:
                sid = _fresh_id(used, "speaker", seed, word, new_speakers)
                new_speakers += 1
            members.append((sid, reps))
            remaining -= reps
        for sid, reps in sorted(members):
            for rep in range(reps):
                lengths = synth.hashed_rng("length", seed, word, sid, rep)
                if lengths.random() < SHORT_CLIP_FRACTION:
                    num_samples = round(lengths.uniform(*SHORT_CLIP_SECONDS) * SAMPLE_RATE)
                else:
                    num_samples = CLIP_SAMPLES
                path = f"{word}/{sid}_nohash_{rep}.wav"
                utterances.append(Utterance(path, word, sid, rep, which_set(path), num_samples))
    speakers = {u.speaker_id: make_speaker(u.speaker_id, seed) for u in utterances}
    return utterances, speakers


def _fresh_id(used, *parts):
    """An 8-hex-digit id from ``parts`` that no other speaker has (a suffix on a collision)."""
    attempt = 0
    while True:
        sid = synth.digest(*parts, *([attempt] if attempt else [])).hex()[:8]
        if sid not in used:
            used.add(sid)
            return sid
        attempt += 1


def _check_words(words):
    words = list(WORDS if words is None else words)
    if not words:
        raise ValueError("words is empty")
    for word in words:
        if not isinstance(word, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", word):
            raise ValueError(f"a word must be a lowercase folder name such as 'yes', got {word!r}")
        if word == BACKGROUND_NOISE:
            raise ValueError(f"{BACKGROUND_NOISE} is not a word")
    if len(set(words)) != len(words):
        raise ValueError(f"words has duplicates: {words}")
    return words


# ----------------------------------------------------------------------------------------------
# The word synthesiser
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Segment:
    """A stretch of a word with constant source settings."""

    start: float  # seconds from the word's start
    duration: float
    voice: float  # voicing amplitude (a stressed vowel is 1)
    nasal: float = 0.0  # 1: low-pass the voicing (a nasal murmur)
    anchors: tuple = ()  # ((time fraction in the segment, (F1, F2, F3)), ...) before scaling
    noise: tuple = None  # (kind "band"/"formant", band or formants, level, envelope "flat"/"decay")


def _word_style(word):
    """How a word is said, whatever the seed: its units, their relative duration factors and
    formant shifts (a vowel is coloured by its word, as allophones are), and the pitch contour
    (start, accent, end) as multiples of the speaker's f0."""
    rng = synth.hashed_rng("word", word)
    units = pronunciation(word)
    factors = np.exp(rng.normal(0.0, 0.15, len(units)))
    shifts = np.exp(rng.normal(0.0, 0.04, (len(units), 3)))
    contour = (rng.uniform(0.95, 1.12), rng.uniform(1.04, 1.25), rng.uniform(0.72, 0.95))
    return units, factors, shifts, contour


# Nominal unit durations (ms at rate 1) when long (a stressed vowel, a word-final nasal, s and
# sh) and otherwise, and whether the unit stretches with the word. Plosives: `_plosive_ms`.
_UNIT_MS = (
    (VOWELS, 170.0, 120.0, True), (DIPHTHONGS, 220.0, 160.0, True), (GLIDES, 75.0, 75.0, True),
    (NASALS, 110.0, 75.0, True), (FRICATIVES, 140.0, 105.0, False), (("hh",), 70.0, 70.0, False),
)  # fmt: skip


def _nominal_ms(units):
    """Nominal unit durations (ms, at rate 1) and whether each one stretches with the word."""
    stressed = next(i for i, u in enumerate(units) if _is_vowel(u))
    out = []
    for i, unit in enumerate(units):
        if unit in PLOSIVES:
            out.append((sum(_plosive_ms(unit, i == 0)), False))
            continue
        long = i == stressed or unit in ("s", "sh") or (unit in NASALS and i == len(units) - 1)
        long_ms, ms, elastic = next(row[1:] for row in _UNIT_MS if unit in row[0])
        out.append((long_ms if long else ms, elastic))
    return out, stressed


def _plosive_ms(unit, initial):
    """Closure, burst and aspiration of a plosive (ms at rate 1). A word-initial closure is
    short: its silence merges with the pause before the word."""
    aspiration = 8.0 if PLOSIVES[unit][3] else (45.0 if initial else 25.0)
    return (30.0 if initial else 55.0), 12.0, aspiration


def _next_vowel_formants(units, i):
    for unit in units[i + 1 :]:
        if unit in VOWELS:
            return VOWELS[unit]
        if unit in DIPHTHONGS:
            return VOWELS[DIPHTHONGS[unit][0]]
        if unit in GLIDES:
            return GLIDES[unit]
    return VOWELS["ah"]


def _segments(units, durations, stressed, shifts, rng):
    """The timeline of a word: segments with voicing, formant anchors and noise events."""

    def target(formants, i):  # the word's colouring, and no utterance hits a target exactly
        return tuple(float(f) * shifts[i, j] * (1.0 + rng.normal(0.0, 0.03)) for j, f in enumerate(formants))

    segments = []
    t = 0.0
    for i, (unit, dur) in enumerate(zip(units, durations)):
        if unit in VOWELS or unit in DIPHTHONGS:
            first, last = DIPHTHONGS.get(unit, (unit, unit))
            voice = 1.0 if i == stressed else 0.72
            anchors = ((0.25, target(VOWELS[first], i)), (0.8, target(VOWELS[last], i)))
            segments.append(_Segment(t, dur, voice, anchors=anchors))
        elif unit in GLIDES:
            segments.append(_Segment(t, dur, 0.55, anchors=((0.5, target(GLIDES[unit], i)),)))
        elif unit in NASALS:
            segments.append(_Segment(t, dur, 0.35, nasal=1.0, anchors=((0.5, target(NASALS[unit], i)),)))
        elif unit in FRICATIVES:
            place, band, level, voiced = FRICATIVES[unit]
            noise = ("band", band, level * rng.uniform(0.8, 1.25), "flat")
            segments.append(
                _Segment(t, dur, 0.25 if voiced else 0.0, anchors=((0.5, LOCI[place]),), noise=noise)
            )
        elif unit == "hh":
            noise = ("formant", _next_vowel_formants(units, i), 0.12 * rng.uniform(0.8, 1.25), "flat")
            segments.append(_Segment(t, dur, 0.0, noise=noise))
        else:
            place, band, level, voiced = PLOSIVES[unit]
            # The unit was stretched as a whole: each part keeps its nominal share.
            parts = np.array(_plosive_ms(unit, i == 0))
            closure, burst, _ = dur * parts / parts.sum()
            release = dur - closure
            segments.append(
                _Segment(t, closure, 0.06 if voiced and i > 0 else 0.0, anchors=((0.9, LOCI[place]),))
            )
            noise = ("band", band, level * rng.uniform(0.8, 1.25), "decay")
            segments.append(_Segment(t + closure, release, 0.0, noise=noise))
            if not voiced:
                asp = ("formant", _next_vowel_formants(units, i), 0.09, "flat")
                start = t + closure + min(burst, release / 2)
                segments.append(_Segment(start, t + dur - start, 0.0, noise=asp))
        t += dur
    return segments


def _durations(units, factors, total, rng):
    """Share ``total`` seconds among the units: consonants stretch a little, vowels absorb
    the rest, so the word's length is whatever the speaker's rate says (not the word's)."""
    nominal, stressed = _nominal_ms(units)
    base = np.array([ms for ms, _ in nominal]) / 1000.0 * factors * np.exp(rng.normal(0.0, 0.08, len(units)))
    elastic = np.array([e for _, e in nominal])
    scale = total / base.sum()
    fixed = base[~elastic].sum() * scale**0.4
    if elastic.any() and total - fixed > 0.3 * base[elastic].sum() * scale:
        out = base * scale**0.4
        out[elastic] = base[elastic] * (total - fixed) / base[elastic].sum()
    else:
        out = base * scale
    return out, stressed


def render_word(word, speaker, rng, num_samples, sample_rate=SAMPLE_RATE):
    """Synthesise one utterance of ``word`` by ``speaker``, without noise or microphone.

    Args:
        word: the word (see `pronunciation`).
        speaker: a `Speaker`.
        rng: the utterance's generator.
        num_samples: the word's spoken length in samples.

    Returns:
        float32 [num_samples], RMS 1.
    """
    units, factors, shifts, contour = _word_style(word)
    durations, stressed = _durations(units, factors, num_samples / sample_rate, rng)
    segments = _segments(units, durations, stressed, shifts, rng)
    n = num_samples
    num_frames = n // HOP + 2
    frame_t = np.arange(num_frames) * HOP / sample_rate

    # Voicing and nasality per frame, smoothed over ~20 ms (no clicks, soft onsets).
    voice = np.zeros(num_frames)
    nasal = np.zeros(num_frames)
    for s in segments:
        sel = (frame_t >= s.start) & (frame_t < s.start + s.duration)
        if s.voice > 0 or s.nasal > 0:
            voice[sel] = s.voice
            nasal[sel] = s.nasal
    window = np.hanning(6)[1:-1]
    window /= window.sum()
    voice = np.convolve(voice, window, mode="same")
    nasal = np.convolve(nasal, window, mode="same")

    # Formant tracks: linear interpolation between the segments' anchors (coarticulation).
    anchors = sorted((s.start + frac * s.duration, f) for s in segments for frac, f in s.anchors)
    times = [time for time, _ in anchors]
    targets = np.array([f for _, f in anchors], dtype=np.float64) * speaker.formant_scale
    formants = np.stack([np.interp(frame_t, times, targets[:, j]) for j in range(3)], axis=1)
    # F4 and F5 barely move between vowels, but they keep energy above F3, as in real voices.
    high = np.broadcast_to(np.array(HIGH_FORMANTS) * speaker.formant_scale, (num_frames, 2))
    formants = np.concatenate([formants, high], axis=1)

    # Pitch: the word's contour (start, accent on the stressed vowel, end), varied per
    # utterance, plus a slow wander.
    accent = next(s for s in segments if s.voice >= 0.7)
    accent_t = (accent.start + 0.4 * accent.duration) / (n / sample_rate)
    shape = np.array(contour) * np.exp(rng.normal(0.0, 0.03, 3))
    t_rel = np.arange(n) / n
    f0 = speaker.f0 * rng.uniform(0.93, 1.07) * np.interp(t_rel, [0.0, accent_t, 1.0], shape)
    knots = rng.normal(0.0, 0.012, 6)
    f0 *= np.exp(np.interp(t_rel, np.linspace(0, 1, 6), knots))

    # Harmonic amplitudes per frame: 1/h source (steeper when breathy) through the formants.
    f0_frames = f0[np.minimum(np.arange(num_frames) * HOP, n - 1)]
    num_harmonics = int(MAX_HARMONIC_HZ / f0.min())
    harmonic = np.arange(1, num_harmonics + 1, dtype=np.float64)
    freqs = f0_frames[:, None] * harmonic[None, :]
    source = harmonic ** -(1.0 + 0.6 * speaker.breathiness)
    amplitudes = synth.formant_gain(freqs, formants[:, None, :], BANDWIDTHS) * source
    amplitudes *= 1.0 - nasal[:, None] + nasal[:, None] * synth.lowpass(freqs, 350.0, 2)
    amplitudes *= np.clip((MAX_HARMONIC_HZ - freqs) / (0.2 * MAX_HARMONIC_HZ), 0.0, 1.0)
    amplitudes *= voice[:, None]
    amplitudes = amplitudes.astype(np.float32)

    # Additive synthesis with a continuous phase; amplitudes interpolated between frames.
    cycles = np.cumsum(f0) / sample_rate + rng.uniform()
    frac = (cycles - np.floor(cycles)).astype(np.float32)
    idx = np.arange(n) // HOP
    w = ((np.arange(n) % HOP) / HOP).astype(np.float32)[:, None]
    per_sample = amplitudes[idx] * (1.0 - w) + amplitudes[idx + 1] * w
    phases = frac[:, None] * harmonic.astype(np.float32)[None, :]
    voiced = np.einsum("nh,nh->n", per_sample, np.sin(np.float32(2 * np.pi) * (phases - np.floor(phases))))
    envelope = voice[idx] * (1.0 - w[:, 0]) + voice[idx + 1] * w[:, 0]
    reference = synth.rms(voiced[envelope > 0.8]) if (envelope > 0.8).any() else synth.rms(voiced)
    out = voiced / reference
    if speaker.breathiness > 0:
        breath = synth.coloured_noise(n, sample_rate, rng, lambda f: synth.highpass(f, 1500.0))
        out += 0.15 * speaker.breathiness * envelope * breath / synth.rms(breath)

    # Noise events: fricatives, bursts, aspiration.
    band_scale = np.sqrt(speaker.formant_scale)
    for s in segments:
        if s.noise is None:
            continue
        kind, shape_params, level, envelope_kind = s.noise
        a, length = int(s.start * sample_rate), int(s.duration * sample_rate)
        length = min(length, n - a)
        if length < 16:
            continue
        if kind == "band":
            lo, hi = shape_params[0] * band_scale, min(shape_params[1] * band_scale, 7800.0)
            response = functools.partial(_band_response, low=lo, high=hi)
        else:
            centres = np.asarray(shape_params, dtype=np.float64) * speaker.formant_scale
            response = functools.partial(synth.formant_gain, formants=centres)
        noise = synth.coloured_noise(length, sample_rate, rng, response)
        noise = noise / synth.rms(noise)
        t = np.arange(length) / sample_rate
        if envelope_kind == "decay":
            env = np.exp(-t / 0.004) * np.minimum(1.0, t / 0.001)
            level = level * 3.0  # a burst's peak: its short energy is what is heard
        else:
            ramp = min(0.02, length / sample_rate / 3)
            env = np.minimum(1.0, np.minimum(t, t[-1] - t) / ramp)
        out[a : a + length] += (level * env * noise).astype(np.float32)
    return (out / synth.rms(out)).astype(np.float32)


def _band_response(freqs, low, high):
    return synth.bandpass(freqs, low, high, 3)


def _background(rng, n, sample_rate):
    """Room noise under an utterance: coloured noise (white to reddish), sometimes mains hum."""
    slope = lambda f: np.maximum(f, 30.0) ** (-rng.uniform(0.0, 0.6))  # white to a little beyond pink
    noise = synth.coloured_noise(n, sample_rate, rng, slope, dtype=np.float64)
    noise /= synth.rms(noise)
    if rng.random() < 0.2:
        mains = rng.choice([50.0, 60.0])
        t = np.arange(n) / sample_rate
        hum = sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3))
        noise = noise + rng.uniform(0.3, 1.5) * hum / synth.rms(hum)
        noise /= synth.rms(noise)
    return noise


def render(utterance, speaker, seed=0, sample_rate=SAMPLE_RATE):
    """Synthesise one file: the word, placed in the clip, with background noise and the
    speaker's microphone.

    Args:
        utterance: an `Utterance` from `plan`.
        speaker: its `Speaker`.
        seed: the dataset seed.

    Returns:
        int16 [utterance.num_samples].
    """
    rng = synth.hashed_rng("utterance", seed, utterance.word, utterance.speaker_id, utterance.repetition)
    n = utterance.num_samples
    margin = int(0.02 * sample_rate)
    spoken = WORD_SECONDS / speaker.rate * np.exp(rng.normal(0.0, 0.06))
    word_len = int(min(spoken * sample_rate, n - 2 * margin))
    speech = render_word(utterance.word, speaker, rng, word_len, sample_rate)
    onset = int(rng.integers(margin, n - word_len - margin + 1))
    level = 10.0 ** ((speaker.level_dbfs + rng.uniform(-2.0, 2.0)) / 20.0)
    snr = rng.uniform(*SNR_DB)
    clip = level * 10.0 ** (-snr / 20.0) * _background(rng, n, sample_rate)
    clip[onset : onset + word_len] += level * speech
    highpass, tilt = speaker.highpass_hz, speaker.tilt_db_per_octave

    def microphone(f):
        octaves = np.log2(np.clip(f, 100.0, 8000.0) / 1000.0)
        return synth.highpass(f, highpass, 2) * 10.0 ** (tilt * octaves / 20.0)

    # Rarely limited: a loud speaker with a peaky word.
    return pcm16(synth.limit_peak(synth.fft_filter(clip, sample_rate, microphone), PEAK_CEILING))


# ----------------------------------------------------------------------------------------------
# Background noise recordings
# ----------------------------------------------------------------------------------------------


def _coloured(rng, n, sample_rate, response):
    x = synth.coloured_noise(n, sample_rate, rng, response)
    return x / synth.rms(x)


def _slow(rng, n, knots_per_second, sample_rate, depth):
    """A slowly varying gain around 1 (random knots, linearly interpolated)."""
    count = int(n / sample_rate * knots_per_second) + 2
    knots = rng.normal(0.0, depth, count)
    return np.exp(np.interp(np.arange(n), np.linspace(0, n - 1, count), knots))


def _white(rng, n, sr):
    return rng.standard_normal(n)


def _pink(rng, n, sr):
    return _coloured(rng, n, sr, lambda f: 1.0 / np.sqrt(np.maximum(f, 20.0)))


def _running_tap(rng, n, sr):
    """Rushing water: band-limited noise that flickers, plus bubbles (rising chirps)."""
    rush = _coloured(rng, n, sr, lambda f: synth.bandpass(f, 400.0, 5000.0, 2)) * _slow(rng, n, 8.0, sr, 0.25)
    out = rush
    bubble_len = int(0.02 * sr)
    t = np.arange(bubble_len) / sr
    for onset in rng.integers(0, n - bubble_len, int(n / sr * 25)):
        f = rng.uniform(800.0, 2500.0) * (1.0 + 8.0 * t)
        bubble = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.006)
        out[onset : onset + bubble_len] += rng.uniform(0.5, 2.0) * bubble
    return out


def _dishes(rng, n, sr):
    """Doing the dishes: running water under random clinks (ringing inharmonic partials)."""
    out = 0.4 * _coloured(rng, n, sr, lambda f: synth.bandpass(f, 300.0, 4000.0, 2))
    clink_len = int(0.3 * sr)
    t = np.arange(clink_len) / sr
    for onset in rng.integers(0, n - clink_len, int(n / sr * 1.5)):
        base = rng.uniform(1500.0, 4000.0)
        partials = base * np.array([1.0, 2.32, 4.25, 6.63])
        clink = sum(np.sin(2 * np.pi * p * t) * np.exp(-t / rng.uniform(0.02, 0.12)) / (k + 1)
                    for k, p in enumerate(partials))  # fmt: skip
        clink = clink + rng.standard_normal(clink_len) * np.exp(-t / 0.003)
        out[onset : onset + clink_len] += rng.uniform(1.0, 6.0) * clink
    return out


def _exercise_bike(rng, n, sr):
    """A flywheel's whirr (a harmonic drone) and rushing air, both swelling with each pedal
    stroke (~1.3 Hz), plus a faint squeak per revolution."""
    t = np.arange(n) / sr
    cadence = rng.uniform(1.1, 1.5)
    stroke = 1.0 + 0.5 * np.sin(2 * np.pi * 2 * cadence * t)  # two pushes per revolution
    speed = 1.0 + 0.05 * np.sin(2 * np.pi * cadence * t)
    phase = 2 * np.pi * np.cumsum(rng.uniform(90.0, 130.0) * speed) / sr
    whirr = sum(np.sin(k * phase) / k for k in range(1, 8))
    air = _coloured(rng, n, sr, lambda f: synth.bandpass(f, 200.0, 2500.0, 2))
    out = stroke * (whirr / synth.rms(whirr) + 0.7 * air)
    squeak_len = int(0.08 * sr)
    ts = np.arange(squeak_len) / sr
    for onset in np.arange(rng.uniform(0, 1 / cadence), n / sr - 0.1, 1 / cadence):
        a = int(onset * sr)
        out[a : a + squeak_len] += 0.3 * np.sin(2 * np.pi * 2200.0 * ts) * np.sin(np.pi * ts / ts[-1])
    return out


def _miaowing(rng, n, sr):
    """A quiet room with occasional miaows: pitched glides (up, then down) whose vowel opens
    from "ee" to "ah" and closes to "oo"."""
    out = 0.05 * _pink(rng, n, sr)
    onset = rng.uniform(0.5, 3.0)
    while onset < n / sr - 1.2:
        dur = rng.uniform(0.4, 1.0)
        m = int(dur * sr)
        u = np.linspace(0.0, 1.0, m)
        top = rng.uniform(600.0, 900.0)
        f0 = top * np.interp(u, [0.0, 0.35, 1.0], [0.6, 1.0, 0.7])
        frames = np.linspace(0.0, 1.0, 40)
        path = [VOWELS["iy"], VOWELS["aa"], VOWELS["uw"]]
        # A cat's vocal tract is short: formants ~1.6 times a man's.
        vowel = 1.6 * np.stack(
            [np.interp(frames, [0.0, 0.4, 1.0], [v[j] for v in path]) for j in range(3)], 1
        )
        harmonic = np.arange(1, 10)
        gains = synth.formant_gain(np.interp(frames, u, f0)[:, None] * harmonic, vowel[:, None, :]) / harmonic
        cycles = 2 * np.pi * np.cumsum(f0) / sr
        frame_of = np.minimum((u * 39).astype(int), 39)
        tone = sum(gains[frame_of, k] * np.sin((k + 1) * cycles) for k in range(len(harmonic)))
        env = np.sin(np.pi * u) ** 0.5
        a = int(onset * sr)
        out[a : a + m] += rng.uniform(0.5, 1.5) * env * tone / synth.rms(tone)
        onset += dur + rng.exponential(4.0) + 0.5
    return out


_NOISE_MAKERS = {
    "white_noise.wav": _white,
    "pink_noise.wav": _pink,
    "running_tap.wav": _running_tap,
    "doing_the_dishes.wav": _dishes,
    "exercise_bike.wav": _exercise_bike,
    "dude_miaowing.wav": _miaowing,
}


def render_background(name, seed=0, seconds=BACKGROUND_SECONDS, sample_rate=SAMPLE_RATE):
    """One ``_background_noise_`` recording (a name in `BACKGROUND_FILES`).

    Returns:
        int16 [seconds * sample_rate], RMS about -20 dBFS.
    """
    rng = synth.hashed_rng("background", seed, name)
    n = round(seconds * sample_rate)
    x = np.asarray(_NOISE_MAKERS[name](rng, n, sample_rate), dtype=np.float64)
    return pcm16(synth.limit_peak(x * (0.1 / synth.rms(x)), PEAK_CEILING))


# ----------------------------------------------------------------------------------------------
# Writing the dataset
# ----------------------------------------------------------------------------------------------

README = """\
# Demo Speech Commands (synthetic)

Synthetic demo data in the folder layout of the Speech Commands dataset v0.02
(Warden, 2018, arXiv:1804.03209), written by `keras_samplecnn.datasets.make_demo_speech_commands`.
Nothing here was recorded: every "word" is a formant-synthesised sequence of phoneme-like
units, said by made-up speakers with their own pitch, vocal-tract length, speaking rate,
loudness and microphone, with background noise.

- one folder per word: 16 kHz mono 16-bit wavs named `<speaker>_nohash_<n>.wav`
- `validation_list.txt`, `testing_list.txt`: split by the dataset's hashing rule on the
  speaker id (about 10 % / 10 %); every other file is training data
- `_background_noise_/`: synthetic noise recordings under the real file names

It exists to try a keyword-spotting pipeline end to end without downloading anything.
Accuracies on it say nothing about the real dataset.
"""

BACKGROUND_README = """\
# _background_noise_ (synthetic)

Long 16 kHz noise recordings for mixing into training clips, or cutting into a `_silence_`
class. They are synthesised and only named after the real dataset's recordings:

- `white_noise.wav`, `pink_noise.wav`: white and 1/f noise
- `running_tap.wav`: band-limited rushing noise with bubbles
- `doing_the_dishes.wav`: water and random clinks
- `exercise_bike.wav`: a flywheel's whirr swelling with each pedal stroke
- `dude_miaowing.wav`: a quiet room with occasional pitched, gliding miaows
"""

LICENSE = """\
Demo Speech Commands (synthetic)

This folder holds synthetic audio generated by the keras_samplecnn library; it contains no
recordings of people and no material from the Speech Commands dataset, whose folder layout
and file naming it imitates. It may be used, copied and modified without restriction, under
the same terms as the keras_samplecnn library that generated it (Apache-2.0).
"""


def make_demo_speech_commands(directory, clips_per_word=60, words=None, seed=0, workers=None, progress=True):
    """Write the synthetic Speech Commands v0.02 demo dataset.

    The split lists are written last, so a folder without them is an interrupted run. The
    caller may mark completion itself (e.g. with a ``.complete`` file).

    Args:
        directory: output folder (created; files with the same names are replaced, others
            are left alone, so write into an empty folder).
        clips_per_word: files per word (default 60: 2100 files, about 1700 / 210 / 210 in
            training / validation / testing with all 35 words).
        words: word folders to write (default: the 35 v0.02 words in `WORDS`). Words outside
            the v0.02 vocabulary get a letter-by-letter pronunciation.
        seed: the same arguments give the same files, byte for byte.
        workers: processes (default: all CPUs; 0 or 1 runs in this process).
        progress: show a tqdm progress bar.

    Returns:
        the list of `Utterance` written (path, word, speaker, repetition, split, length).

    Example:
        >>> from keras_samplecnn.datasets import make_demo_speech_commands
        >>> files = make_demo_speech_commands("data/demo_speech_commands")
        >>> # then: python -m tfrecords_tools speech-commands --root data/demo_speech_commands ...
    """
    utterances, speakers = plan(clips_per_word, words, seed)
    directory = os.fspath(directory)
    # The long noise recordings first, so that they do not finish last on one worker.
    items = [(f"{BACKGROUND_NOISE}/{name}", render_background, (name, seed)) for name in BACKGROUND_FILES]
    items += [(u.path, render, (u, speakers[u.speaker_id], seed)) for u in utterances]
    write_audio(directory, items, SAMPLE_RATE, workers, progress, "demo Speech Commands", "file", chunksize=8)
    write_text(os.path.join(directory, BACKGROUND_NOISE, "README.md"), BACKGROUND_README)
    write_text(os.path.join(directory, "README.md"), README)
    write_text(os.path.join(directory, "LICENSE"), LICENSE)
    for name, split in ((VALIDATION_LIST, "validation"), (TESTING_LIST, "testing")):
        write_lines(os.path.join(directory, name), sorted(u.path for u in utterances if u.split == split))
    return utterances


def add_arguments(parser):
    """The size options of ``python -m keras_samplecnn.datasets speech-commands``."""
    parser.add_argument("--clips-per-word", type=int, default=60, help="files per word (default 60)")
    parser.add_argument("--words", nargs="+", default=None, help="word folders (default: the 35 v0.02 words)")


def main(argv=None):
    """``python -m keras_samplecnn.datasets speech-commands DIR [--clips-per-word N] [--words W ...]``."""
    description = "Write the synthetic Speech Commands v0.02 demo (wavs, split lists, background noise)."
    root, utterances = command_line(argv, "speech-commands", description, add_arguments, make_demo_speech_commands)
    print(f"wrote {len(utterances)} utterances to {root}")
    print(f"next: python -m tfrecords_tools speech-commands --root {root} --out {root}_tfrecords")
    return 0
