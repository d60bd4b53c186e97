"""An embedded, procedurally synthesised stand-in for MagnaTagATune ("demo MTAT").

`make_demo_mtat` writes a small dataset in MTAT's exact layout (see `mtat_layout`): mp3 clips
under ``0/`` ... ``f/``, ``annotations_final.csv`` with all 188 MTAT tag columns and
``clip_info_final.csv``, so the real MTAT converter (``python -m tfrecords_tools mtat``) reads
it unchanged. Nothing is downloaded; the music is synthesised, so its tags are true by
construction and audible in every few-second segment, which makes the demo learnable by a small
SampleCNN in minutes on a CPU.

Synthesis model
---------------
A *track* draws a style, a key and mode (major / minor / a raga-like scale), a tempo class, a
loudness class and an instrumentation; its 1-4 consecutive *clips* (29.1 s each, like MTAT's
segments, named ``...-0-29.mp3``, ``...-30-59.mp3``, ...) continue the same chord progression
with new notes. Every part plays through the whole clip, so every segment carries the cues.
Which audible cue each top-50 tag stands for:

========================  ======================================================================
tag(s)                    audible cue
========================  ======================================================================
piano                     struck strings: inharmonic partials, two detuned strings, 2-stage decay
guitar                    Karplus-Strong plucked strings: strummed chords (pop, country),
                          finger-picked arpeggios (solo, ballad), or power chords through a
                          tanh distortion and a cabinet low-pass (rock, metal)
harpsichord               bright Karplus-Strong pluck near the bridge, with an octave (4') stop,
                          fast baroque figuration
harp                      soft, round plucks in the middle of the string, wide arpeggios
sitar                     bright, long-ringing plucks with a jawari buzz and pitch slides
                          (meend), over a tanpura drone
violin / cello            sawtooth-like bowed tone with body resonances and vibrato, high
                          (G4-E6) / low (C2-C4) register; both also give ``strings``
strings                   any bowed string: the ensemble (4 detuned voices from G3 up holding
                          the chords, slow attack) or violin or cello
flute                     near-sine tone, breath noise following each note, slow vibrato
synth                     detuned band-limited saws: pads, arpeggiated leads, bass lines
vocal                     any voice: a glottal pulse train through vowel formants
singing                   a solo singer (pop, dance, rock, country, folk, opera, indian)
vocals / voice            a solo singer with drums / without drums
male, man                 solo male singer, melody in G2-C4 (man: not operatic)
female, woman             solo female singer, melody in C4-G5, formants +15 %, breathier
                          (aspiration noise) (woman: not operatic)
male vocal / male voice   male singer with drums / without drums (female likewise)
opera                     operatic singer: singer's formant near 3 kHz, wide 6-Hz vibrato
choir, choral             several voices (SATB, two singers a part) holding the chords
no vocals                 no voice at all; ``no vocal`` with drums, ``no voice`` without drums
drums                     any percussion: a kit, a drum machine or tabla
beat                      a drum machine (sine-sweep kick, noise hats)
beats                     a drum machine with hand claps
fast / slow               132-160 / 56-76 beats per minute (and note density to match);
                          92-116 BPM tracks and ``weird`` ones get neither
loud                      mixed to -10 dBFS RMS and saturated (a tanh limiter)
soft / quiet              -26 / -36 dBFS RMS (quiet tracks are also tagged soft; others -17)
classical, classic        classical instrumentation (piano, bowed strings, harpsichord, harp,
                          flute, choir, opera); ``classic`` where bowed strings or a
                          harpsichord play
solo                      a single instrument and nothing else
techno                    4/4 drum-machine kick, off-beat open hats, synth bass and arpeggio,
                          fast; with ``electronic`` and ``dance``
dance                     4/4 drum machine (techno, dance-pop)
electronic                drum machine and synths (techno, dance-pop, electronic), or ``weird``
pop                       clean guitar or piano chords, bass, kit, singer; also dance-pop
rock                      distorted guitar, bass, kit (also for metal)
metal                     low palm-muted 16th-note distorted guitar, double kick, fast, loud
country                   strummed acoustic guitar, fiddle (violin), often banjo rolls, brushed
                          snare, singer
indian                    sitar, tanpura drone, tabla
ambient                   slow synth pads, long reverb, quiet (also for new age)
new age                   ambient pads with flute, harp or piano
weird                     noise bursts, ring-modulated glides, irregular stutters
========================  ======================================================================

A few of MTAT's other 138 columns are set for some tracks ("orchestral", "trance",
"heavy metal", "fiddle", "sad", ...), each less often than any top-50 tag, and about 3 % of the
clips carry none of the 50 tags (as in MTAT, converters drop them), so the top-50 selection is
meaningful. Tracks are spread over the 16 folders so that the folder split (0-b / c / d-f) gives
about 75 / 6 / 19 % of the clips, with every album in one folder (no track crosses splits).

The output is deterministic: the same arguments give the same bytes (on the same platform and
library versions), whatever the number of workers.
"""

import dataclasses
import os

import numpy as np

from keras_samplecnn.datasets import demo_music, synth
from keras_samplecnn.datasets.writing import command_line, pcm16, write_audio, write_text
from tfrecords_tools import mtat_layout

DEMO_SAMPLE_RATE = mtat_layout.MTAT_SAMPLE_RATE
DEMO_CLIP_SECONDS = mtat_layout.MTAT_CLIP_SECONDS
UNANNOTATED_FRACTION = 0.03

TEMPO_RANGES = {"slow": (56, 76), "medium": (92, 116), "fast": (132, 160)}
LOUDNESS_DBFS = {"loud": -10.0, "normal": -17.0, "soft": -26.0, "quiet": -36.0}
PEAK_CEILING = 0.8
_STREAM = 0x4D544154  # "MTAT": demo MTAT's seed stream


# ----------------------------------------------------------------------------------------------
# Track plans: style -> instrumentation -> tags
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Track:
    """Everything that decides how a track sounds and how it is tagged."""

    style: str
    artist: str
    album: str
    track_number: int
    title: str
    folder: str
    num_clips: int
    key: int
    mode: str
    tempo: str
    bpm: float
    loudness: str
    parts: dict
    seed: int
    annotated: bool = True
    tags: tuple = ()


@dataclasses.dataclass
class Clip:
    clip_id: int
    track: Track
    index: int  # segment index within the track
    mp3_path: str


def _pick(rng, options):
    """Draw a key of ``options`` ({value: probability}), deterministic for a generator."""
    values = list(options)
    probs = np.array([options[v] for v in values], dtype=np.float64)
    return values[int(rng.choice(len(values), p=probs / probs.sum()))]


def _add_voice(parts, rng, female, male, kind="pop"):
    """``parts`` with a solo singer, by probabilities of female and male (or none)."""
    gender = _pick(rng, {"female": female, "male": male, None: max(0.0, 1.0 - female - male)})
    if gender is not None:
        parts["voice"] = {"gender": gender, "kind": kind}
    return parts


def _parts(base, optional=(), voice=None):
    """An instrumentation builder: the ``base`` parts, then each ``(probability, part, options)``
    of ``optional`` in turn, then a singer by ``_add_voice(..., *voice)``; fresh dicts per call."""

    def build(rng):
        parts = {name: dict(options) for name, options in base.items()}
        for probability, name, options in optional:
            if rng.random() < probability:
                parts[name] = dict(options)
        return _add_voice(parts, rng, *voice) if voice else parts

    return build


# Each style's instrumentation builder (rng -> parts); the styles with other draws are functions.
def _classical_orchestra(rng):
    parts = {"strings": {}}
    if rng.random() < 0.7:
        parts["cello"] = {}
    if rng.random() < 0.5:
        parts["violin"] = {}
    elif rng.random() < 0.4:
        parts["flute"] = {}
    if rng.random() < 0.2:
        parts["harp"] = {}
    return parts


def _chamber(rng):
    partner = _pick(rng, {"violin": 0.45, "cello": 0.35, "flute": 0.2})
    return {"piano": {"kind": "classical", "accompany": True}, partner: {}}


def _solo_instrument(rng):
    which = _pick(rng, {"violin": 0.25, "cello": 0.2, "flute": 0.2, "guitar": 0.2, "harp": 0.15})
    return {which: {"kind": "fingerpicked", "solo": True} if which == "guitar" else {"solo": True}}


def _opera(rng):
    parts = {"voice": {"gender": _pick(rng, {"female": 0.6, "male": 0.4}), "kind": "opera"}, "strings": {}}
    if rng.random() < 0.3:
        parts["piano"] = {"kind": "classical", "accompany": True}
    return parts


def _new_age(rng):
    parts = {"synth_pad": {"kind": "ambient"}}
    lead = _pick(rng, {"flute": 0.4, "harp": 0.35, "piano": 0.25})
    parts[lead] = {"kind": "sparse", "level_db": 0.0} if lead == "piano" else {"level_db": 0.0}  # over the pads
    if rng.random() < 0.25:
        parts["voice"] = {"gender": "female", "kind": "ooh"}
    return parts


def _pop(rng):
    parts = {"bass": {}, "kit": {"pattern": "pop"}}
    if rng.random() < 0.55:
        parts["guitar"] = {"kind": "strum", "level_db": -2.0}
    else:
        parts["piano"] = {"kind": "chords", "level_db": 0.0}
    return _add_voice(parts, rng, 0.6, 0.3)


def _folk_ballad(rng):
    gender = _pick(rng, {"male": 0.6, "female": 0.4})
    return {"guitar": {"kind": "fingerpicked"}, "voice": {"gender": gender, "kind": "pop"}}


_solo_piano = _parts({"piano": {"kind": "classical"}})
_baroque = _parts({"harpsichord": {}}, [(0.5, "strings", {}), (0.35, "cello", {})])
_choir = _parts({"choir": {}}, [(0.3, "strings", {})])
_techno = _parts({"drum_machine": {"pattern": "techno"}, "synth_bass": {}, "synth_lead": {"kind": "arp"}},
                 [(0.4, "synth_pad", {})])  # fmt: skip
_dance = _parts({"drum_machine": {"pattern": "dance"}, "synth_bass": {}, "synth_pad": {}}, voice=(0.55, 0.2))
_electronic = _parts({"drum_machine": {"pattern": "broken"}, "synth_pad": {}}, [(0.6, "synth_lead", {"kind": "lead"})])
# Pads alone: a melody instrument over them is what makes a track "new age" here.
_ambient = _parts({"synth_pad": {"kind": "ambient"}})
_rock = _parts({"guitar": {"kind": "distorted"}, "bass": {}, "kit": {"pattern": "rock"}}, voice=(0.2, 0.5))
_metal = _parts({"guitar": {"kind": "metal"}, "bass": {}, "kit": {"pattern": "metal"}},
                [(0.35, "voice", {"gender": "male", "kind": "shout"})])  # fmt: skip
_country = _parts({"guitar": {"kind": "strum"}, "violin": {"kind": "fiddle", "level_db": 1.0}, "bass": {}},
                  [(0.6, "banjo", {}), (0.6, "kit", {"pattern": "country"})], voice=(0.3, 0.6))  # fmt: skip
_indian = _parts({"sitar": {}, "tanpura": {}}, [(0.7, "tabla", {})], voice=(0.3, 0.15, "indian"))
_weird = _parts({"fx": {}}, [(0.4, "synth_pad", {"kind": "dark"})])


# name: (weight, builder, tempo probabilities, loudness probabilities, mode probabilities,
#        reverb wet, extra MTAT tags with their probability per track)
STYLES = {
    "classical_orchestra": (6, _classical_orchestra, {"slow": 0.45, "medium": 0.35, "fast": 0.2},
                            {"normal": 0.3, "soft": 0.4, "quiet": 0.3}, {"major": 0.5, "minor": 0.5}, 0.3,
                            {"orchestral": 0.25, "orchestra": 0.2, "no drums": 0.08, "instrumental": 0.1}),
    "solo_piano": (5, _solo_piano, {"slow": 0.4, "medium": 0.4, "fast": 0.2},
                   {"normal": 0.3, "soft": 0.35, "quiet": 0.35}, {"major": 0.5, "minor": 0.5}, 0.2,
                   {"piano solo": 0.35, "mellow": 0.15}),
    "chamber": (4, _chamber, {"slow": 0.4, "medium": 0.4, "fast": 0.2},
                {"normal": 0.4, "soft": 0.4, "quiet": 0.2}, {"major": 0.5, "minor": 0.5}, 0.2,
                {"instrumental": 0.1}),
    "baroque": (4, _baroque, {"medium": 0.5, "fast": 0.5}, {"normal": 0.6, "soft": 0.4},
                {"major": 0.6, "minor": 0.4}, 0.15, {"baroque": 0.4, "harpsicord": 0.2, "medieval": 0.1, "old": 0.1}),
    "solo_instrument": (5, _solo_instrument, {"slow": 0.5, "medium": 0.3, "fast": 0.2},
                        {"normal": 0.4, "soft": 0.4, "quiet": 0.2}, {"major": 0.5, "minor": 0.5}, 0.2,
                        {"classical guitar": 0.2, "fiddle": 0.1, "flutes": 0.15, "string": 0.1}),
    "opera": (4, _opera, {"slow": 0.5, "medium": 0.5}, {"normal": 0.6, "loud": 0.2, "soft": 0.2},
              {"major": 0.5, "minor": 0.5}, 0.3, {"female opera": 0.3, "male opera": 0.3, "operatic": 0.25, "soprano": 0.2}),
    "choir": (4, _choir, {"slow": 0.7, "medium": 0.3}, {"normal": 0.3, "soft": 0.4, "quiet": 0.3},
              {"major": 0.6, "minor": 0.4}, 0.4, {"chant": 0.2, "chanting": 0.15, "monks": 0.1, "voices": 0.2}),
    "techno": (5, _techno, {"fast": 1.0}, {"loud": 0.6, "normal": 0.4}, {"major": 0.3, "minor": 0.7}, 0.1,
               {"trance": 0.3, "electro": 0.25, "repetitive": 0.3, "house": 0.1}),
    "dance": (5, _dance, {"medium": 0.6, "fast": 0.4}, {"loud": 0.5, "normal": 0.5}, {"major": 0.6, "minor": 0.4}, 0.1,
              {"house": 0.2, "disco": 0.15, "upbeat": 0.15}),
    "electronic": (4, _electronic, {"slow": 0.3, "medium": 0.7}, {"normal": 0.7, "soft": 0.3},
                   {"major": 0.4, "minor": 0.6}, 0.2, {"electronica": 0.3, "electro": 0.15, "space": 0.1}),
    "ambient": (5, _ambient, {"slow": 1.0}, {"soft": 0.5, "quiet": 0.5}, {"major": 0.5, "minor": 0.5}, 0.5,
                {"spacey": 0.3, "airy": 0.2, "drone": 0.15, "calm": 0.2, "eerie": 0.1}),
    "new_age": (4, _new_age, {"slow": 1.0}, {"soft": 0.6, "quiet": 0.4}, {"major": 0.7, "minor": 0.3}, 0.45,
                {"calm": 0.25, "mellow": 0.2, "light": 0.15}),
    "rock": (6, _rock, {"medium": 0.5, "fast": 0.5}, {"loud": 0.7, "normal": 0.3}, {"major": 0.5, "minor": 0.5}, 0.1,
             {"hard rock": 0.3, "electric guitar": 0.25, "heavy": 0.15, "guitars": 0.1}),
    "metal": (3, _metal, {"fast": 1.0}, {"loud": 1.0}, {"minor": 1.0}, 0.05,
              {"heavy metal": 0.4, "heavy": 0.3, "hard": 0.2}),
    "pop": (6, _pop, {"medium": 1.0}, {"normal": 0.8, "loud": 0.2}, {"major": 0.75, "minor": 0.25}, 0.15,
            {"upbeat": 0.12, "soft rock": 0.15, "english": 0.1}),
    "country": (4, _country, {"medium": 0.6, "fast": 0.4}, {"normal": 1.0}, {"major": 0.9, "minor": 0.1}, 0.1,
                {"folk": 0.3, "fiddle": 0.3, "acoustic guitar": 0.25, "acoustic": 0.15}),
    "folk_ballad": (4, _folk_ballad, {"slow": 0.6, "medium": 0.4}, {"soft": 0.6, "quiet": 0.2, "normal": 0.2},
                    {"major": 0.5, "minor": 0.5}, 0.2, {"folk": 0.3, "acoustic": 0.2, "mellow": 0.1}),
    "indian": (4, _indian, {"slow": 0.3, "medium": 0.4, "fast": 0.3}, {"normal": 0.7, "soft": 0.3},
               {"raga": 1.0}, 0.2, {"india": 0.3, "eastern": 0.25, "drone": 0.15, "world": 0.15}),
    "weird": (3, _weird, {"medium": 1.0}, {"normal": 0.5, "soft": 0.3, "loud": 0.2}, {"minor": 1.0}, 0.3,
              {"strange": 0.3, "noise": 0.25, "scary": 0.15, "different": 0.15}),
}  # fmt: skip

CLASSICAL_STYLES = {"classical_orchestra", "solo_piano", "chamber", "baroque", "solo_instrument", "opera", "choir"}
GENRE_TAGS = {
    "techno": ("techno", "electronic", "dance"),
    "dance": ("dance", "electronic", "pop"),
    "electronic": ("electronic",),
    "ambient": ("ambient",),
    "new_age": ("new age", "ambient"),
    "rock": ("rock",),
    "metal": ("metal", "rock"),
    "pop": ("pop",),
    "country": ("country",),
    "indian": ("indian",),
    "weird": ("weird", "electronic"),
}
INSTRUMENT_TAGS = {
    "piano": ("piano",), "harpsichord": ("harpsichord",), "harp": ("harp",), "sitar": ("sitar",),
    "flute": ("flute",), "violin": ("violin", "strings"), "cello": ("cello", "strings"),
    "strings": ("strings",), "guitar": ("guitar",), "synth_pad": ("synth",), "synth_lead": ("synth",),
    "synth_bass": ("synth",), "choir": ("choir", "choral", "vocal"),
}  # fmt: skip


def track_tags(track, rng=None):
    """The MTAT tags of a track: the top-50 tags its audio carries (by the rules in the module
    docstring), plus, when ``rng`` is given, a few of MTAT's other columns drawn at random.

    Returns:
        sorted tuple of tag names.
    """
    parts = track.parts
    tags = set()
    for part in parts:
        tags.update(INSTRUMENT_TAGS.get(part, ()))
    tags.update(GENRE_TAGS.get(track.style, ()))
    if track.style in CLASSICAL_STYLES:
        tags.add("classical")
        if {"strings", "violin", "cello", "harpsichord"} & set(parts):
            tags.add("classic")
    drums = {"kit", "drum_machine", "tabla"} & set(parts)
    if drums:
        tags.add("drums")
    if "drum_machine" in parts:
        tags.add("beat")
        if parts["drum_machine"]["pattern"] in ("dance", "broken"):
            tags.add("beats")
    voice = parts.get("voice")
    if voice:
        gender, vocal = voice["gender"], "vocal" if drums else "voice"
        tags.update(("vocal", "singing", "vocals" if drums else "voice", gender, f"{gender} {vocal}"))
        tags.add("opera" if voice["kind"] == "opera" else {"female": "woman", "male": "man"}[gender])
    elif "choir" not in parts:
        tags.update(("no vocals", "no vocal" if drums else "no voice"))
    if track.tempo != "medium" and track.style != "weird":
        tags.add(track.tempo)
    tags.update({"loud": ("loud",), "soft": ("soft",), "quiet": ("soft", "quiet")}.get(track.loudness, ()))
    instruments = [p for p in parts if p not in ("tanpura",)]
    if len(instruments) == 1 and instruments[0] in ("piano", "violin", "cello", "flute", "guitar", "harp", "harpsichord"):
        tags.add("solo")
    if rng is not None:
        extras = dict(STYLES[track.style][6])
        if track.mode == "minor" and track.tempo == "slow":
            extras["sad"] = 0.12
        if track.mode == "major" and track.tempo == "fast":
            extras["happy"] = 0.2
        if "banjo" in parts:
            extras["banjo"] = 0.5
        for tag, prob in extras.items():
            if rng.random() < prob:
                tags.add(tag)
    return tuple(sorted(tags))


def demo_tags():
    """The top-50 MTAT tags the demo generator can produce, in the reference (frequency) order.

    The generator produces all 50: this is `mtat_layout.load_top50_tags()`; it is a function so
    that a later version that drops a tag stays honest.
    """
    return mtat_layout.load_top50_tags()


# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------

# Name parts: artists are "first last" (classical, folk, indian, solo, or 30 % of the others)
# or "the <adjective> <noun>s"; albums and titles draw from the same words.
_FIRST = tuple("anna marco lena yuki omar clara ivan sofia tomas nadia felix ravi elena jonas mira pablo ines "
               "hugo asha leo greta kofi rosa emil".split())  # fmt: skip
_LAST = tuple("holm varga okafor lindqvist moreau tanaka petrov castell brandt iyer novak ferreira dahl kowal "
              "alves berger sato quinn rossi weber".split())  # fmt: skip
_ADJ = tuple("velvet hollow silver distant paper crimson quiet electric northern glass amber wandering broken "
             "golden hidden static lunar copper violet restless".split())  # fmt: skip
_NOUN = tuple("orchard harbour signal garden machine river lantern engine meadow circuit mirror canyon island "
              "theory cathedral factory forest station comet tide".split())  # fmt: skip
_FORM = {"classical_orchestra": "symphony", "solo_piano": "nocturne", "chamber": "sonata", "baroque": "suite",
         "solo_instrument": "partita", "opera": "aria", "choir": "motet", "indian": "raga", "techno": "loop",
         "dance": "night", "electronic": "pulse", "ambient": "drift", "new_age": "dawn", "rock": "road",
         "metal": "storm", "pop": "heart", "country": "home", "folk_ballad": "song", "weird": "glitch"}  # fmt: skip


def _artist_name(rng, style):
    if (
        style in CLASSICAL_STYLES
        or style in ("folk_ballad", "indian", "solo_instrument")
        or rng.random() < 0.3
    ):
        return f"{_FIRST[rng.integers(len(_FIRST))]} {_LAST[rng.integers(len(_LAST))]}"
    return f"the {_ADJ[rng.integers(len(_ADJ))]} {_NOUN[rng.integers(len(_NOUN))]}s"


def unique_artist_name(rng, style, used, key=lambda name: name):
    """An artist name of ``style`` whose ``key`` is not in ``used`` (then added): a few redraws,
    then a numbered namesake, so that any size of plan stays finite."""
    name = _artist_name(rng, style)
    for _ in range(4):
        if key(name) not in used:
            break
        name = _artist_name(rng, style)
    base, number = name, 2
    while key(name) in used:
        name, number = f"{base} {number}", number + 1
    used.add(key(name))
    return name


def _album_name(rng):
    return f"{_ADJ[rng.integers(len(_ADJ))]} {_NOUN[rng.integers(len(_NOUN))]}"


def _title(rng, style, key, mode):
    names = ("c", "c sharp", "d", "e flat", "e", "f", "f sharp", "g", "a flat", "a", "b flat", "b")
    if style in CLASSICAL_STYLES:
        return f"{_FORM[style]} in {names[key]} {'minor' if mode == 'minor' else 'major'}"
    return f"{_ADJ[rng.integers(len(_ADJ))]} {_FORM[style]}"


# ----------------------------------------------------------------------------------------------
# The plan: tracks and clips, without audio
# ----------------------------------------------------------------------------------------------


def make_track(rng, style, max_clips=4):
    """Draw one track of ``style``: key, mode, tempo, loudness, instrumentation and audio seed.

    The draws are the style's (see `STYLES`); names, folder and tags are left empty for the
    caller. `plan` builds its tracks with it, and so do other demos that need music of a
    given style (`demo_gtzan`).

    Args:
        rng: a NumPy generator; the track depends only on its state.
        style: a key of `STYLES`.
        max_clips: upper bound on the track's 1-4 consecutive clips.

    Returns:
        a `Track`.
    """
    _, build, tempos, levels, modes, _, _ = STYLES[style]
    tempo = _pick(rng, tempos)
    mode = _pick(rng, modes)
    key = int(rng.integers(12))
    num_clips = int(min(rng.integers(1, 5), max_clips))
    return Track(
        style=style, artist="", album="", track_number=0, title=_title(rng, style, key, mode), folder="",
        num_clips=num_clips, key=key, mode=mode, tempo=tempo, bpm=float(rng.uniform(*TEMPO_RANGES[tempo])),
        loudness=_pick(rng, levels), parts=build(rng), seed=int(rng.integers(2**31)),
        annotated=bool(rng.random() >= UNANNOTATED_FRACTION),
    )  # fmt: skip


def plan(n_clips, seed=0):
    """Draw the tracks and clips of a demo dataset (names, folders, tags), without audio.

    Cheap (no synthesis): tests use it to check tag statistics on thousands of clips.

    Args:
        n_clips: number of clips.
        seed: integer seed; the same seed gives the same plan.

    Returns:
        list of `Clip` in ``clip_id`` order.
    """
    if n_clips < 1:
        raise ValueError(f"n_clips must be >= 1, got {n_clips}")
    rng = synth.stream_rng(seed, _STREAM)
    names = list(STYLES)
    weights = np.array([STYLES[n][0] for n in names], dtype=np.float64)
    weights /= weights.sum()
    credit = rng.uniform(0.0, 1.0, len(names))
    tracks, total = [], 0
    while total < n_clips:
        # Smooth weighted round robin (with a random start and jitter) rather than independent
        # draws: even a small demo gets every style in proportion to its weight.
        credit += weights * rng.uniform(0.5, 1.5, len(names))
        pick = int(np.argmax(credit))
        credit[pick] -= 1.0
        track = make_track(rng, names[pick], max_clips=n_clips - total)
        track.tags = track_tags(track, rng)
        if not track.annotated:
            # Like MTAT's clips nobody tagged with a frequent tag: at most one rare column.
            extras = [t for t in track.tags if t not in set(demo_tags())]
            track.tags = tuple(extras[:1])
        tracks.append(track)
        total += track.num_clips
    _cap_extra_tags(tracks, rng)
    _name_and_file(tracks, rng)
    clips, clip_id = [], 0
    for track in tracks:
        for index in range(track.num_clips):
            clip_id += int(rng.integers(1, 4))  # MTAT's ids have gaps too
            path = mtat_layout.clip_path(
                track.folder, track.artist, track.album, track.track_number, track.title, index
            )
            clips.append(Clip(clip_id=clip_id, track=track, index=index, mp3_path=path))
    return clips


def _cap_extra_tags(tracks, rng):
    """Keep every non-top-50 column rarer than every top-50 tag that occurs.

    So a converter that picks "the 50 most frequent tags" picks the reference 50 on the demo
    too, whatever its size. Extra tags are removed from randomly chosen tracks until each
    falls below the rarest top-50 tag.
    """
    top = set(demo_tags())
    counts = {}
    for track in tracks:
        for tag in track.tags:
            counts[tag] = counts.get(tag, 0) + track.num_clips
    floor = min((c for t, c in counts.items() if t in top), default=0)
    for tag in sorted(t for t in counts if t not in top):
        holders = [track for track in tracks if tag in track.tags]
        for i in rng.permutation(len(holders)):
            if counts[tag] < floor:
                break
            holders[i].tags = tuple(t for t in holders[i].tags if t != tag)
            counts[tag] -= holders[i].num_clips


def _name_and_file(tracks, rng):
    """Group tracks into albums of 1-3 tracks by one artist, and put albums into folders.

    Albums are dealt to the 16 folders style by style, cycling through a shuffled folder order,
    so every folder (hence every split) gets its share of clips and a mix of styles.
    """
    albums, used_artists = [], set()
    by_style = {}
    for track in tracks:
        by_style.setdefault(track.style, []).append(track)
    for style in sorted(by_style):
        pending = by_style[style]
        while pending:
            size = int(min(rng.integers(1, 4), len(pending)))
            album_tracks, pending = pending[:size], pending[size:]
            artist = unique_artist_name(rng, style, used_artists)
            album = _album_name(rng)
            for number, track in enumerate(album_tracks, start=1):
                track.artist, track.album, track.track_number = artist, album, number
            albums.append(album_tracks)
    cycle = [mtat_layout.FOLDERS[i] for i in rng.permutation(len(mtat_layout.FOLDERS))]
    order = rng.permutation(len(albums))
    # Deal albums (in style order) to the folder that holds the fewest clips so far, visiting
    # folders in a shuffled cycle to break ties: balanced folders, styles spread over splits.
    counts = {f: 0 for f in mtat_layout.FOLDERS}
    albums = [albums[i] for i in sorted(order, key=lambda i: albums[i][0].style)]
    for i, album_tracks in enumerate(albums):
        folder = min(cycle, key=lambda f: (counts[f], (cycle.index(f) - i) % len(cycle)))
        for track in album_tracks:
            track.folder = folder
        counts[folder] += sum(t.num_clips for t in album_tracks)


def render(clip, sample_rate=DEMO_SAMPLE_RATE, seconds=DEMO_CLIP_SECONDS):
    """Synthesise one clip: the parts, the style's room, the loudness class.

    Args:
        clip: a `Clip` from `plan`.
        sample_rate: output rate in Hz.
        seconds: clip length.

    Returns:
        float32 mono waveform in [-1, 1].
    """
    track = clip.track
    rng = synth.stream_rng(track.seed, clip.index)
    mix = demo_music.render_parts(track, clip.index, sample_rate, seconds, rng)
    wet = STYLES[track.style][5]
    mix = synth.reverb(mix, sample_rate, rng, seconds=1.0 + 2.0 * wet, wet=wet)
    target = 10.0 ** ((LOUDNESS_DBFS[track.loudness] + rng.uniform(-1.5, 1.5)) / 20.0)
    mix *= target / synth.rms(mix)
    if track.loudness == "loud":
        mix = synth.soft_clip(mix, 1.5)  # a limiter: loud music is compressed, too
        mix *= target / synth.rms(mix)
    if np.abs(mix).max() > PEAK_CEILING:
        # A soft limiter below full scale: mp3 decoding overshoots sharp peaks by a dB or two.
        mix = synth.soft_clip(mix / PEAK_CEILING, 1.0) * PEAK_CEILING
    return mix.astype(np.float32)


def render_opening(track, sample_rate, seconds, path=""):
    """The first `seconds` of a track (its clip 0, `render`) as int16 samples: what the demos
    made of whole tracks (`demo_gtzan`, `demo_artists`, `demo_listeners`) write."""
    return pcm16(render(Clip(0, track, 0, path), sample_rate, seconds))


demo_plan, render_clip = plan, render  # the names `keras_samplecnn.datasets` exports


# ----------------------------------------------------------------------------------------------
# Writing the dataset
# ----------------------------------------------------------------------------------------------


def make_demo_mtat(
    directory,
    n_clips=400,
    clip_seconds=DEMO_CLIP_SECONDS,
    sample_rate=DEMO_SAMPLE_RATE,
    seed=0,
    workers=None,
    progress=True,
):
    """Write the synthetic demo dataset in MagnaTagATune's layout.

    Args:
        directory: output folder (created). It receives ``0/`` ... ``f/`` with the mp3 clips,
            ``annotations_final.csv`` and ``clip_info_final.csv``.
        n_clips: number of clips (default 400: 3.2 h of audio, ~300 / 25 / 75 clips in the
            train / valid / test folders).
        clip_seconds: clip length; MTAT's is 29.1 s. Shorter clips make faster tests.
        sample_rate: MTAT's mp3s are 16 kHz mono.
        seed: the same arguments give the same files, byte for byte.
        workers: processes for synthesis and mp3 encoding (default: all CPUs; 0 or 1 runs in
            this process).
        progress: show a tqdm progress bar.

    Returns:
        the list of `Clip` written (with their tags in ``clip.track.tags``).

    Example:
        >>> from keras_samplecnn.datasets import make_demo_mtat
        >>> clips = make_demo_mtat("data/demo_mtat", n_clips=400)  # ~1 min on 2 cores
        >>> # then: python -m tfrecords_tools mtat --root data/demo_mtat --out data/demo_tfr
    """
    if clip_seconds <= 0 or sample_rate <= 0:
        raise ValueError(f"clip_seconds and sample_rate must be positive, got {clip_seconds}, {sample_rate}")
    clips = plan(n_clips, seed)
    for folder in mtat_layout.FOLDERS:  # all 16, as in MTAT, even if a small demo leaves one empty
        os.makedirs(os.path.join(directory, folder), exist_ok=True)
    items = [(clip.mp3_path, render, (clip, sample_rate, clip_seconds)) for clip in clips]
    write_audio(directory, items, sample_rate, workers, progress, "demo MTAT clips", "clip")
    # The CSVs last: a folder with annotations_final.csv is a finished dataset.
    write_annotations(directory, clips)
    return clips


def write_annotations(directory, clips):
    """Write ``annotations_final.csv`` and ``clip_info_final.csv`` in MTAT's dialect (TAB
    separated, every field double-quoted, ``\\n`` line ends)."""
    columns = mtat_layout.MTAT_TAG_COLUMNS
    lines = [mtat_layout.quoted_tsv_line(("clip_id",) + columns + ("mp3_path",))]
    for clip in clips:
        tags = set(clip.track.tags)
        lines.append(mtat_layout.quoted_tsv_line([clip.clip_id] + [int(c in tags) for c in columns] + [clip.mp3_path]))
    write_text(os.path.join(directory, mtat_layout.ANNOTATIONS_FILE), "".join(lines))
    lines = [mtat_layout.quoted_tsv_line(mtat_layout.CLIP_INFO_COLUMNS)]
    for clip in clips:
        t = clip.track
        start, end = mtat_layout.segment_bounds(clip.index)
        artist, album = mtat_layout.slug(t.artist), mtat_layout.slug(t.album)
        url = f"http://demo-mtat.invalid/artists/{artist}/{album}/"  # .invalid: never resolves
        original = f"http://demo-mtat.invalid/music/{artist}/{album}/{t.track_number:02d}-{mtat_layout.slug(t.title)}.mp3"
        row = (clip.clip_id, t.track_number, t.title, t.artist, t.album, url, start, end, original, clip.mp3_path)
        lines.append(mtat_layout.quoted_tsv_line(row))
    write_text(os.path.join(directory, mtat_layout.CLIP_INFO_FILE), "".join(lines))


def add_arguments(parser):
    """The size options of ``python -m keras_samplecnn.datasets [mtat] DIR``."""
    parser.add_argument("--clips", dest="n_clips", type=int, default=400, help="number of clips (default 400)")
    parser.add_argument("--seconds", dest="clip_seconds", type=float, default=DEMO_CLIP_SECONDS,
                        help="clip length (default 29.1)")  # fmt: skip


def main(argv=None):
    """``python -m keras_samplecnn.datasets [mtat] DIR [--clips N] [--seconds S]``: write the demo dataset."""
    import collections

    description = "Write the synthetic demo dataset in MagnaTagATune's layout (mp3 + CSVs)."
    root, clips = command_line(argv, "mtat", description, add_arguments, make_demo_mtat)
    splits = collections.Counter(mtat_layout.SPLIT_OF_FOLDER[c.mp3_path[0]] for c in clips)
    print(f"wrote {len(clips)} clips to {root} (folders: train {splits['train']}, "
          f"valid {splits['valid']}, test {splits['test']})")  # fmt: skip
    print(f"next: python -m tfrecords_tools mtat --root {root} --out {root}_tfrecords")
    return 0
