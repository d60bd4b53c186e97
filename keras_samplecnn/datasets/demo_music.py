"""The music of the demo dataset: a score per clip and one renderer per instrument part.

`render_parts` turns a track (style, key, mode, tempo, instrumentation; see `demo_mtat`) and a
clip index into a dry mix. Each renderer draws its notes from a `Score` (time grid, key, chord
progression, random generator) and synthesises them with `synth`. One-shot templates (plucked
and struck strings) are pure functions of (instrument, pitch, variant) and cached per process,
so a clip still depends only on its seed.
"""

import functools
import zlib

import numpy as np

from keras_samplecnn.datasets import synth

MAJOR, MINOR, RAGA = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 1, 4, 5, 7, 8, 11)
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (5, 3, 0, 4), (0, 5, 1, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2)),
    "raga": ((0, 0, 0, 0),),
}

TEMPLATE_VARIANTS = 3  # distinct "recordings" of each plucked instrument across tracks


# One-shot instruments: (f0, sample rate, generator) -> template. Karplus-Strong parameters set the
# material: damping (brightness loss per round trip), decay, pluck position, pluck softness.
PLUCKED = {
    "piano": lambda f, sr, rng: synth.piano_template(f, 1.6, sr, rng, brightness=0.85),
    "harpsichord": lambda f, sr, rng: (
        synth.karplus_strong(f, 1.2, sr, rng, damping=0.08, decay=1.0, pick=0.07)
        + 0.5 * synth.karplus_strong(2 * f, 1.2, sr, rng, damping=0.08, decay=0.8, pick=0.07)  # 4' stop
    ),
    "electric_guitar": lambda f, sr, rng: synth.karplus_strong(f, 0.8, sr, rng, damping=0.2, decay=2.0, pick=0.12),
    "nylon_guitar": lambda f, sr, rng: synth.karplus_strong(f, 2.0, sr, rng, damping=0.35, decay=2.5, pick=0.2, softness=0.4),
    "steel_guitar": lambda f, sr, rng: synth.karplus_strong(f, 1.2, sr, rng, damping=0.3, decay=1.5, pick=0.15),
    "bass_guitar": lambda f, sr, rng: synth.karplus_strong(f, 1.0, sr, rng, damping=0.45, decay=1.2, pick=0.3, softness=0.5),
    "banjo": lambda f, sr, rng: synth.karplus_strong(f, 0.7, sr, rng, damping=0.1, decay=0.6, pick=0.1),
    "harp": lambda f, sr, rng: synth.karplus_strong(f, 2.5, sr, rng, damping=0.5, decay=3.0, pick=0.5, softness=1.0),
    "sitar": lambda f, sr, rng: _buzz(synth.karplus_strong(f, 2.0, sr, rng, damping=0.05, decay=2.5, pick=0.05)),
    "tanpura": lambda f, sr, rng: _buzz(synth.karplus_strong(f, 4.0, sr, rng, damping=0.1, decay=6.0, pick=0.1), 0.8),
}  # fmt: skip


@functools.lru_cache(maxsize=384)
def template(kind, midi, variant, sample_rate):
    """The one-shot sound of instrument ``kind`` at MIDI pitch ``midi`` (read-only float32).

    A pure function of its arguments (its noise comes from a generator seeded by them), so the
    per-process cache cannot make the output depend on which clips a worker rendered before.
    """
    if kind == "sitar_meend":  # the same string, sliding up a whole tone into the note
        out = _glide_template(template("sitar", midi, variant, sample_rate), 2.0, 0.12, sample_rate)
    else:
        rng = np.random.default_rng([zlib.crc32(kind.encode()), midi, variant])
        out = np.asarray(PLUCKED[kind](float(synth.midi_to_hz(midi)), sample_rate, rng), dtype=np.float32)
    out.setflags(write=False)
    return out


class Score:
    """Musical context of one clip: time grid, key, chords, a generator, a template variant."""

    def __init__(self, track, clip_index, sample_rate, seconds, rng):
        self.track, self.sr, self.rng = track, sample_rate, rng
        self.n = round(seconds * sample_rate)
        self.bpm = track.bpm
        self.spb = 60.0 / self.bpm * sample_rate  # samples per beat
        self.n_beats = int(np.ceil(self.n / self.spb)) + 1
        self.scale = {"major": MAJOR, "minor": MINOR, "raga": RAGA}[track.mode]
        progressions = PROGRESSIONS[track.mode]
        progression = progressions[track.seed % len(progressions)]
        self.beats_per_chord = 8 if track.tempo == "fast" or track.style in ("ambient", "new_age") else 4
        first = clip_index * self.n_beats // self.beats_per_chord
        n_chords = self.n_beats // self.beats_per_chord + 2
        self.chord_degrees = [progression[(first + i) % len(progression)] for i in range(n_chords)]
        self.humanize = 0.0 if track.style in ("techno", "dance", "electronic") else 0.008
        self.variant = track.seed % TEMPLATE_VARIANTS  # which recording of each instrument

    def samples(self, beats, jitter=None):
        """Onset samples of positions in beats (with a little human timing if wanted)."""
        beats = np.asarray(beats, dtype=np.float64)
        out = beats * self.spb
        jitter = self.humanize if jitter is None else jitter
        if jitter:
            out = out + self.rng.normal(0.0, jitter * self.sr, size=out.shape)
        return np.maximum(np.round(out), 0).astype(np.int64)

    def chord_pcs(self, beat):
        """Pitch classes of the triad sounding at ``beat``."""
        degree = self.chord_degrees[min(int(beat // self.beats_per_chord), len(self.chord_degrees) - 1)]
        return [(self.track.key + self.scale[(degree + k) % 7]) % 12 for k in (0, 2, 4)]

    def scale_notes(self, lo, hi):
        return [m for m in range(lo, hi + 1) if (m - self.track.key) % 12 in self.scale]

    def chord_notes(self, beat, lo, hi):
        pcs = self.chord_pcs(beat)
        return [m for m in range(lo, hi + 1) if m % 12 in pcs]

    def chord_starts(self):
        return np.arange(0, self.n_beats, self.beats_per_chord, dtype=np.float64)

    def melody(self, lo, hi, durations, probs, rest=0.05, legato=0.9, chord_pull=0.6, max_step=2):
        """A random-walk melody on the scale, drawn to chord tones on the beat.

        Returns:
            (onset_beats, held_beats, midi) arrays.
        """
        rng = self.rng
        notes = self.scale_notes(lo, hi)
        i = int(rng.integers(len(notes) // 3, 2 * len(notes) // 3 + 1))
        beat, onsets, helds, pitches = 0.0, [], [], []
        probs = np.asarray(probs, dtype=np.float64) / np.sum(probs)
        while beat < self.n_beats:
            dur = float(durations[int(rng.choice(len(durations), p=probs))])
            if onsets and rng.random() < rest:
                beat += dur
                continue
            i = int(np.clip(i + rng.integers(-max_step, max_step + 1), 0, len(notes) - 1))
            if abs(beat - round(beat)) < 1e-6 and rng.random() < chord_pull:
                chord = self.chord_notes(beat, lo, hi)
                if chord:
                    target = min(chord, key=lambda m: abs(m - notes[i]))
                    i = notes.index(target) if target in notes else i
            onsets.append(beat)
            helds.append(dur * legato)
            pitches.append(notes[i])
            beat += dur
        return np.array(onsets), np.array(helds), np.array(pitches)


def _density(score, slow, medium, fast):
    """Note-duration choices (in beats) by tempo class: slow music also moves in longer notes."""
    return {"slow": slow, "medium": medium, "fast": fast}[score.track.tempo]


def _tables(amplitudes):
    """Per-note wavetables of harmonic ``amplitudes``, each scaled to a peak of 1."""
    tables = synth.harmonic_tables(amplitudes)
    tables /= np.abs(tables).max(axis=1, keepdims=True) + 1e-9
    return tables


def _line(score, onsets_b, helds_b, midi, amplitudes_fn, **kwargs):
    """Render a sustained line with per-note tables built by ``amplitudes_fn(f0)``."""
    f0 = synth.midi_to_hz(midi)
    return synth.render_line(score.n, score.sr, score.samples(onsets_b), np.asarray(helds_b) * score.spb, f0,
                             _tables(amplitudes_fn(f0)), rng=score.rng, **kwargs)  # fmt: skip


def _filtered_saw(score, onsets_b, held, midi, harmonics, dull_hz, bright_hz, **kwargs):
    """A sawtooth line whose filter opens to ``bright_hz`` at each onset and closes to ``dull_hz``
    (``held`` in samples)."""
    f0 = synth.midi_to_hz(midi)
    dull = synth.harmonic_tables(synth.sawtooth_amplitudes(f0, score.sr, harmonics, 1.0, dull_hz))
    bright = synth.harmonic_tables(synth.sawtooth_amplitudes(f0, score.sr, harmonics, 1.0, bright_hz))
    scale = np.abs(bright).max(axis=1, keepdims=True) + 1e-9
    return synth.render_line(score.n, score.sr, score.samples(onsets_b), held, f0, dull / scale,
                             bright_tables=bright / scale, rng=score.rng, **kwargs)  # fmt: skip


def _arpeggio(score, step, lo, hi, pick):
    """Broken chords: every ``step`` beats, the note ``pick(k, chord)`` of the chord's notes in
    ``[lo, hi]`` (k counts the steps). Returns (onset beats, MIDI notes)."""
    on = np.arange(0, score.n_beats, step)
    return on, [pick(round(b / step), score.chord_notes(b, lo, hi)) for b in on]


def _cycle(pattern):
    """An `_arpeggio` pick: the chord tones ``pattern`` names, in turn."""
    return lambda k, chord: chord[pattern[k % len(pattern)] % len(chord)]


def _plucked(score, onsets_b, midi, kind, velocity=None, jitter=None, cut_b=None):
    """Scatter the one-shot templates of instrument ``kind`` at their onsets (in beats)."""
    templates, index = _templates(score, kind, np.asarray(midi, dtype=np.int64))
    max_length = None if cut_b is None else (np.asarray(cut_b) * score.spb).astype(np.int64)
    return synth.scatter(score.n, score.samples(onsets_b, jitter), templates, index, velocity, max_length)


def _templates(score, kind, midi):
    """The templates of ``kind`` at the distinct pitches of ``midi``, and each note's index."""
    unique, index = np.unique(midi, return_inverse=True)
    return [template(kind, int(m), score.variant, score.sr) for m in unique], index


def _velocity(score, count, base=0.8, spread=0.15):
    return np.clip(score.rng.normal(base, spread, count), 0.3, 1.0)


# -- Instruments -------------------------------------------------------------------------------


def _piano(score, opt):
    kind = opt.get("kind", "classical")
    if kind == "chords":  # pop: block chords on every beat, bass note on each chord
        notes = [(b, m) for b in np.arange(0, score.n_beats, 1.0) for m in score.chord_notes(b, 55, 72)[:3]]
        notes += [(c, score.chord_notes(c, 36, 47)[0]) for c in score.chord_starts()]
        on, mid = zip(*notes)
        return _plucked(score, on, mid, "piano", _velocity(score, len(on), 0.6))
    if kind == "sparse":  # new age: a few notes over the pads
        on, _, mid = score.melody(60, 84, (2.0, 3.0, 4.0), (0.4, 0.3, 0.3), rest=0.1)
        return _plucked(score, on, mid, "piano", _velocity(score, len(on), 0.6))
    # Classical: right-hand melody over a left-hand broken-chord accompaniment.
    on, mid = _arpeggio(score, _density(score, 1.0, 0.5, 0.25), 40, 59, _cycle((0, 2, 1, 2)))
    on = list(on)
    vel = list(_velocity(score, len(on), 0.5, 0.1))
    if not opt.get("accompany"):
        m_on, _, m_mid = score.melody(62, 86, _density(score, (1.0, 2.0), (0.5, 1.0), (0.25, 0.5)), (0.6, 0.4))
        on += list(m_on)
        mid += list(m_mid)
        vel += list(_velocity(score, len(m_on), 0.8, 0.1))
    return _plucked(score, on, mid, "piano", np.array(vel))


def _harpsichord(score, opt):
    step = _density(score, 0.5, 0.25, 0.25)
    m_on, _, m_mid = score.melody(60, 84, (step, 2 * step), (0.8, 0.2), rest=0.0, chord_pull=0.4)
    b_on = np.arange(0, score.n_beats, 2 * step)
    b_mid = [score.chord_notes(b, 43, 55)[int(i) % 2] for i, b in enumerate(b_on)]
    on = np.concatenate([m_on, b_on])
    mid = np.concatenate([m_mid, b_mid])
    return _plucked(score, on, mid, "harpsichord", _velocity(score, len(on), 0.8, 0.05))


def _guitar(score, opt):
    kind = opt.get("kind", "strum")
    if kind in ("distorted", "metal"):
        metal = kind == "metal"
        step = 0.25 if metal else 0.5
        on, mid, cut = [], [], []
        for b in np.arange(0, score.n_beats, step):
            root = score.track.key if metal else score.chord_pcs(b)[0]  # metal: pedal on the tonic
            low = 40 + (root - 4) % 12  # the lowest such note from E2 up
            for m in (low, low + 7, low + 12)[: 2 if metal else 3]:
                on.append(b)
                mid.append(m)
                cut.append(step * (0.5 if metal else 0.95))
        dry = _plucked(score, on, mid, "electric_guitar", _velocity(score, len(on), 0.9, 0.05), jitter=0.002, cut_b=cut)
        drive = 30.0 if metal else 12.0
        wet = synth.soft_clip(dry / (np.abs(dry).max() + 1e-9), drive)
        return synth.fft_filter(wet, score.sr, lambda f: synth.lowpass(f, 3800.0, 3) * synth.highpass(f, 80.0))
    if kind == "fingerpicked":
        on, mid = _arpeggio(score, _density(score, 0.5, 0.5, 0.25), 40, 67, _cycle((0, 3, 2, 4, 3, 2)))
        on = list(on)
        if opt.get("solo"):
            probs = (0.6, 0.4) if score.track.tempo != "fast" else (1.0,)
            m_on, _, m_mid = score.melody(64, 79, _density(score, (1.0, 2.0), (0.5, 1.0), (0.5,)), probs)
            on += list(m_on)
            mid += list(m_mid)
        return _plucked(score, on, mid, "nylon_guitar", _velocity(score, len(on), 0.7, 0.1))
    # Strummed chords (pop, country): six strings a few ms apart, down-up pattern on 8ths.
    on, mid, vel = [], [], []
    pattern = (1.0, 0.0, 0.6, 0.5, 0.0, 0.5, 0.8, 0.5)  # 8th-note strum strengths in a bar
    for b in np.arange(0, score.n_beats, 0.5):
        strength = pattern[round(b * 2) % 8]
        if strength == 0:
            continue
        chord = score.chord_notes(b, 40, 66)[:6]
        up = round(b * 2) % 2 == 1
        for j, m in enumerate(reversed(chord) if up else chord):
            on.append(b + j * 0.012 * score.bpm / 60.0)
            mid.append(m)
            vel.append(strength * (0.8 if up else 1.0))
    return _plucked(score, on, mid, "steel_guitar", np.array(vel), cut_b=np.full(len(on), 0.6))


def _banjo(score, opt):
    """Three-finger rolls: 16th notes cycling through the chord, bright and short."""
    on, mid = _arpeggio(score, 0.25, 55, 74, _cycle((0, 2, 4, 1, 3, 5, 2, 4)))
    return _plucked(score, on, mid, "banjo", _velocity(score, len(on), 0.75, 0.1))


def _bass(score, opt):
    step = 0.5 if score.track.tempo == "fast" or score.track.style == "rock" else 1.0
    on = np.arange(0, score.n_beats, step)
    mid = [28 + (score.chord_pcs(b)[0] - 28) % 12 for b in on]
    return _plucked(score, on, mid, "bass_guitar", _velocity(score, len(on), 0.9, 0.05), cut_b=np.full(len(on), step * 0.9))


_VIOLIN_BODY = ((480.0, 120.0, 1.5), (1100.0, 300.0, 0.8), (2700.0, 500.0, 1.2))
_CELLO_BODY = ((220.0, 60.0, 1.5), (600.0, 200.0, 0.8), (1600.0, 400.0, 0.6))


def _bowed_amplitudes(sr, body):
    return lambda f0: synth.shaped_amplitudes(f0, sr, 1.0 / np.arange(1, 65), body)


def _violin(score, opt):
    fiddle = opt.get("kind") == "fiddle"
    durations = _density(score, (1.0, 2.0), (0.5, 1.0), (0.25, 0.5))
    on, held, mid = score.melody(67, 88, durations, (0.6, 0.4), rest=0.03, legato=0.95)
    return _line(
        score, on, held, mid, _bowed_amplitudes(score.sr, _VIOLIN_BODY), attack=0.05, decay=0.4, sustain=0.85,
        release=0.15, vibrato_rate=6.0, vibrato_cents=8.0 if fiddle else 22.0, vibrato_delay=0.15, glide=0.02,
    )  # fmt: skip


def _cello(score, opt):
    durations = _density(score, (2.0, 4.0), (1.0, 2.0), (0.5, 1.0))
    on, held, mid = score.melody(36, 60, durations, (0.6, 0.4), rest=0.03, legato=0.97)
    return _line(
        score, on, held, mid, _bowed_amplitudes(score.sr, _CELLO_BODY), attack=0.08, decay=0.5, sustain=0.85,
        release=0.2, vibrato_rate=5.0, vibrato_cents=18.0, vibrato_delay=0.2, glide=0.03,
    )  # fmt: skip


def _strings(score, opt):
    """Ensemble: four bowed voices holding the chord tones, slow attack, each a bit out of tune.

    Violins and violas only (G3 and up): the low register is left to the ``cello`` part, so
    that tag has a cue of its own.
    """
    out = np.zeros(score.n, dtype=np.float32)
    starts = score.chord_starts()
    for voice, (lo, hi) in enumerate(((55, 66), (60, 71), (64, 76), (67, 79))):
        mid = [score.chord_notes(b, lo, hi)[voice % 2] for b in starts]
        held = np.full(len(starts), score.beats_per_chord * 0.98)
        out += _line(
            score, starts, held, mid, _bowed_amplitudes(score.sr, _VIOLIN_BODY),
            attack=0.3, decay=1.0, sustain=0.9, release=0.4, vibrato_rate=5.0 + 0.4 * voice, vibrato_cents=12.0,
            drift_cents=5.0,
        )  # fmt: skip
    return out


def _envelope(score, onsets, held_b, **envelope):
    """The amplitude envelope of a line alone (a line of constant wavetables)."""
    ones = np.ones((1, synth.TABLE_SIZE), np.float32)
    f0 = np.full(len(onsets), 100.0)
    return synth.render_line(score.n, score.sr, onsets, np.asarray(held_b) * score.spb, f0, ones, **envelope)


def _breath(score, envelope, low, high, level, reference):
    """Band-passed noise that follows ``envelope``, at ``level`` times the RMS of ``reference``."""
    noise = synth.fft_filter(
        score.rng.standard_normal(score.n), score.sr, lambda f: synth.bandpass(f, low, high)
    )
    noise *= envelope
    return level * noise * synth.rms(reference) / (synth.rms(noise) + 1e-9)


def _flute(score, opt):
    durations = _density(score, (1.0, 2.0), (0.5, 1.0), (0.25, 0.5))
    on, held, mid = score.melody(67, 91, durations, (0.6, 0.4), rest=0.08, legato=0.9)
    amps = lambda f0: synth.band_limit(np.tile([1.0, 0.3, 0.12, 0.05, 0.02], (len(f0), 1)), f0, score.sr)
    common = {"attack": 0.06, "decay": 0.5, "sustain": 0.85, "release": 0.08}
    tone = _line(
        score,
        on,
        held,
        mid,
        amps,
        vibrato_rate=4.8,
        vibrato_cents=12.0,
        vibrato_delay=0.3,
        glide=0.015,
        **common,
    )
    # The player's breath: noise through the same envelope (the timing jitter is shared).
    onsets = score.samples(on, 0.0)
    return tone + _breath(score, _envelope(score, onsets, held, **common), 1500.0, 6000.0, 0.25, tone)


def _harp(score, opt):
    def up_and_down(k, chord):
        k %= 2 * len(chord) - 2
        return chord[k if k < len(chord) else 2 * len(chord) - 2 - k]

    on, mid = _arpeggio(score, _density(score, 0.5, 0.25, 0.25), 48, 84, up_and_down)
    return _plucked(score, on, mid, "harp", _velocity(score, len(on), 0.7, 0.1))


def _buzz(template, amount=0.5):
    """The sitar's jawari: the string grazing a curved bridge adds a bright buzz."""
    return (template + amount * np.tanh(6.0 * template)).astype(np.float32)


def _glide_template(sound, semitones, tau, sr):
    """Resample a one-shot sound with a rising pitch: a meend (slide) into the note."""
    t = np.arange(len(sound)) / sr
    rate = 2.0 ** (-semitones * np.exp(-t / tau) / 12.0)
    pos = np.cumsum(rate)
    return np.interp(pos, np.arange(len(sound)), sound, right=0.0).astype(np.float32)


def _sitar(score, opt):
    rng = score.rng
    durations = _density(score, (1.0, 2.0), (0.5, 1.0), (0.25, 0.5))
    on, _, mid = score.melody(60, 84, durations, (0.6, 0.4), rest=0.05)
    plain, index = _templates(score, "sitar", mid)
    slid, _ = _templates(score, "sitar_meend", mid)
    which = index + len(plain) * (rng.random(len(index)) < 0.35)
    out = synth.scatter(score.n, score.samples(on), plain + slid, which, _velocity(score, len(on), 0.85, 0.1))
    return synth.fft_filter(out, score.sr, lambda f: 1.0 + 1.5 * synth.bandpass(f, 1500.0, 4500.0))


def _tanpura(score, opt):
    tonic = 48 + (score.track.key - 48) % 12
    cycle = (tonic - 5, tonic + 12, tonic + 12, tonic)  # Pa, Sa', Sa', Sa
    period = 0.9 * score.sr  # a pluck every 0.9 s, independent of the tala
    onsets = np.arange(0, score.n, period).astype(np.int64)
    mid = [cycle[i % 4] for i in range(len(onsets))]
    templates, index = _templates(score, "tanpura", mid)
    return synth.scatter(score.n, onsets, templates, index, np.full(len(onsets), 0.5))


def _saw_amplitudes(sr, cutoff):
    return lambda f0: synth.sawtooth_amplitudes(f0, sr, 64, 1.0, cutoff)


def _synth_pad(score, opt):
    kind = opt.get("kind", "pad")
    out = np.zeros(score.n, dtype=np.float32)
    starts = score.chord_starts()
    cutoff = {"ambient": 1800.0, "dark": 900.0}.get(kind, 2600.0)
    attack = {"ambient": 1.5, "dark": 1.0}.get(kind, 0.4)
    for voice, (lo, hi) in enumerate(((48, 59), (55, 67), (62, 74))):
        mid = [score.chord_notes(b, lo, hi)[0] for b in starts]
        for detune in (-8.0, 8.0):  # two detuned oscillators per note: the chorus of a pad
            f_mid = np.asarray(mid) + detune / 100.0
            out += _line(
                score, starts, np.full(len(starts), score.beats_per_chord), f_mid, _saw_amplitudes(score.sr, cutoff),
                attack=attack, decay=2.0, sustain=0.9, release=1.5, drift_cents=3.0,
            )  # fmt: skip
    return out


def _synth_lead(score, opt):
    kind = opt.get("kind", "lead")
    sr = score.sr
    if kind == "arp":  # techno: 16th-note arpeggio with a plucky filter envelope
        on, mid = _arpeggio(score, 0.25, 57, 81, lambda k, chord: chord[k % len(chord)])
        return _filtered_saw(score, on, np.full(len(on), 0.2) * score.spb, mid, 64, 700.0, 5000.0,
                             bright_tau=0.05, attack=0.003, decay=0.12, sustain=0.2, release=0.05)  # fmt: skip
    on, held, mid = score.melody(
        60, 84, _density(score, (1.0, 2.0), (0.5, 1.0), (0.25, 0.5)), (0.6, 0.4), rest=0.1
    )
    out = np.zeros(score.n, dtype=np.float32)
    for detune in (-10.0, 10.0):
        out += _line(
            score, on, held, np.asarray(mid) + detune / 100.0, _saw_amplitudes(sr, 4000.0),
            attack=0.01, decay=0.3, sustain=0.7, release=0.1, glide=0.03,
        )  # fmt: skip
    return out


def _synth_bass(score, opt):
    on = np.arange(0.5, score.n_beats, 1.0)  # off-beat 8ths: the techno / house bass
    mid = [36 + (score.chord_pcs(b)[0] - 36) % 12 for b in on]
    return _filtered_saw(score, on, np.full(len(on), 0.4 * score.spb), mid, 32, 400.0, 2000.0,
                         bright_tau=0.04, attack=0.005, decay=0.2, sustain=0.5, release=0.05)  # fmt: skip


def _voice(score, opt):
    """A solo singer: syllables on a melody, a vowel per note, consonant noise at onsets."""
    female = opt["gender"] == "female"
    kind = opt.get("kind", "pop")
    rng = score.rng
    lo, hi = (60, 79) if female else (43, 60)  # D4-G5 / G2-C4: little overlap
    if kind == "opera":
        lo, hi = (lo + 5, hi + 5) if female else (lo + 2, hi + 2)
        durations, probs = _density(score, (1.0, 2.0), (1.0, 2.0), (0.5, 1.0)), (0.5, 0.5)
        vib, vib_cents, breathy, rest = 6.0, 55.0, 0.0, 0.02
    elif kind == "ooh":
        durations, probs = (2.0, 4.0), (0.5, 0.5)
        vib, vib_cents, breathy, rest = 5.0, 15.0, 0.6, 0.1
    elif kind == "indian":
        durations, probs = _density(score, (1.0, 2.0), (0.5, 1.0), (0.5, 1.0)), (0.6, 0.4)
        vib, vib_cents, breathy, rest = 5.5, 30.0, 0.1, 0.05
    else:  # pop, shout
        durations, probs = _density(score, (0.5, 1.0), (0.5, 1.0), (0.25, 0.5)), (0.6, 0.4)
        vib, vib_cents, breathy, rest = 5.5, 28.0, 0.2, 0.08
    on, held, mid = score.melody(lo, hi, durations, probs, rest=rest, legato=0.92)
    vowels = ["u"] * len(mid) if kind == "ooh" else [synth.VOWELS[i] for i in rng.integers(0, 5, len(mid))]
    if kind == "opera":
        vowels = [("a", "o", "e")[i] for i in rng.integers(0, 3, len(mid))]
    f0 = synth.midi_to_hz(mid)
    tables = _tables(synth.voice_amplitudes(f0, vowels, score.sr, female, operatic=kind == "opera", breathy=breathy))
    onsets = score.samples(on)
    envelope = {"attack": 0.04, "decay": 0.5, "sustain": 0.85, "release": 0.12}
    out = synth.render_line(
        score.n, score.sr, onsets, held * score.spb, f0, tables, vibrato_rate=vib, vibrato_cents=vib_cents,
        vibrato_delay=0.25, glide=0.04 if kind != "indian" else 0.09, drift_cents=4.0, rng=rng, **envelope,
    )  # fmt: skip
    # Aspiration noise: female voices are breathier (a glottis that never quite closes).
    out += _breath(
        score, _envelope(score, onsets, held, **envelope), 2500.0, 7500.0, 0.3 if female else 0.06, out
    )
    if kind == "shout":
        out = synth.soft_clip(out / (np.abs(out).max() + 1e-9), 4.0)
    if kind in ("pop", "shout", "indian"):
        # Consonants: short high-passed noise bursts starting most syllables.
        burst = synth.fft_filter(
            rng.standard_normal(int(0.04 * score.sr)), score.sr, lambda f: synth.highpass(f, 3000.0)
        )
        burst *= np.exp(-np.arange(len(burst)) / (0.012 * score.sr))
        keep = rng.random(len(onsets)) < 0.7
        out += synth.scatter(
            score.n,
            onsets[keep],
            [burst],
            np.zeros(int(keep.sum()), int),
            np.full(int(keep.sum()), 0.15 * np.abs(out).max()),
        )
    return out


def _choir(score, opt):
    """SATB, two singers a part, holding the chord tones on a shared vowel per chord."""
    out = np.zeros(score.n, dtype=np.float32)
    starts = score.chord_starts()
    vowels = [("a", "o", "u", "e")[i] for i in score.rng.integers(0, 4, len(starts))]
    for voice, (lo, hi, female) in enumerate(
        ((43, 55, False), (50, 62, False), (57, 69, True), (64, 76, True))
    ):
        mid = [score.chord_notes(b, lo, hi)[voice % 2] for b in starts]
        f0 = synth.midi_to_hz(mid)
        tables = _tables(synth.voice_amplitudes(f0, vowels, score.sr, female, breathy=0.3))
        for singer in range(2):
            out += synth.render_line(
                score.n, score.sr, score.samples(starts, 0.02), np.full(len(starts), score.beats_per_chord * score.spb * 0.97),
                f0 * 2 ** (score.rng.normal(0, 8) / 1200), tables, attack=0.25, decay=1.0, sustain=0.9, release=0.3,
                vibrato_rate=5.0 + score.rng.uniform(0, 1.0), vibrato_cents=15.0, drift_cents=6.0, rng=score.rng,
            )  # fmt: skip
    return out


# 16-step (16th-note) patterns per bar; "x" = hit, "o" = accent-less hit.
_KIT_PATTERNS = {
    "rock": {"kick": "x.......x.x.....", "snare": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
    "metal": {"kick": "xxxxxxxxxxxxxxxx", "snare": "....x.......x...", "hat": "x...x...x...x..."},
    "pop": {"kick": "x.....x.x.......", "snare": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
    "country": {"kick": "x.......x.......", "brush": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
    "techno": {"kick": "x...x...x...x...", "hat": "..x...x...x...x.", "closed": "xxxxxxxxxxxxxxxx"},
    "dance": {
        "kick": "x...x...x...x...",
        "clap": "....x.......x...",
        "hat": "..x...x...x...x.",
        "closed": "x.x.x.x.x.x.x.x.",
    },
    "broken": {"kick": "x.....x...x.....", "clap": "....x.......x...", "closed": "x.xxx.x.x.xxx.x."},
}


def _drums(score, opt, electronic):
    pattern_name = opt["pattern"]
    rng = score.rng
    sr = score.sr
    sounds = {
        "kick": synth.kick(sr, rng, electronic), "snare": synth.snare(sr, rng), "brush": synth.snare(sr, rng, brush=True),
        "hat": synth.hihat(sr, rng, open_=electronic), "closed": synth.hihat(sr, rng), "clap": synth.clap(sr, rng),
    }  # fmt: skip
    if pattern_name in ("rock", "pop", "metal", "country"):
        sounds["hat"] = synth.hihat(sr, rng)
    gains = {"kick": 1.0, "snare": 0.8, "brush": 0.5, "hat": 0.35, "closed": 0.25, "clap": 0.7}
    pattern = _KIT_PATTERNS[pattern_name]
    steps = np.arange(0, score.n_beats * 4)
    names = list(pattern)
    onsets, which, vel = [], [], []
    for k, name in enumerate(names):
        hits = steps[[pattern[name][s % 16] == "x" for s in steps]]
        onsets.append(hits / 4.0)
        which.append(np.full(len(hits), k))
        vel.append(gains[name] * _velocity(score, len(hits), 0.9, 0.06 if electronic else 0.12))
    onsets = score.samples(np.concatenate(onsets), 0.0 if electronic else 0.004)
    return synth.scatter(
        score.n, onsets, [sounds[n] for n in names], np.concatenate(which), np.concatenate(vel)
    )


def _tabla(score, opt):
    strokes = synth.tabla_strokes(score.sr, score.rng, float(synth.midi_to_hz(60 + score.track.key % 12)))
    theka = "dha na na dha dha na na dha dha te te na na na na dha".split()  # a 16-beat cycle
    names = list(strokes)
    step = 0.5 if score.track.tempo != "fast" else 0.25
    on = np.arange(0, score.n_beats, step)
    which = np.array([names.index(theka[i % 16]) for i in range(len(on))])
    return synth.scatter(
        score.n,
        score.samples(on, 0.004),
        [strokes[n] for n in names],
        which,
        _velocity(score, len(on), 0.8, 0.1),
    )


def _fx(score, opt):
    """'weird': ring-modulated glides, filtered noise bursts and stutters at irregular times."""
    rng, sr, n = score.rng, score.sr, score.n
    out = np.zeros(n, dtype=np.float32)
    t_all = 0.0
    while t_all < n / sr:
        length = rng.uniform(0.15, 1.2)
        m = int(length * sr)
        t = np.arange(m) / sr
        kind = rng.integers(3)
        if kind == 0:
            f = rng.uniform(100, 2000) * 2 ** (rng.uniform(-3, 3) * t / length)
            sound = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.sin(2 * np.pi * rng.uniform(30, 400) * t)
        elif kind == 1:
            lo = rng.uniform(200, 3000)
            sound = synth.fft_filter(
                rng.standard_normal(m), sr, lambda fr, lo=lo: synth.bandpass(fr, lo, lo * 1.5, 4)
            )
        else:
            grain = np.sin(2 * np.pi * rng.uniform(200, 1500) * t[: int(0.03 * sr)])
            sound = np.tile(grain, m // len(grain) + 1)[:m] * (
                np.arange(m) % int(rng.uniform(0.04, 0.12) * sr) < len(grain)
            )
        env = np.sin(np.pi * t / length) ** rng.uniform(0.3, 3)
        start = int(t_all * sr)
        end = min(n, start + m)
        out[start:end] += (sound * env)[: end - start].astype(np.float32) * rng.uniform(0.3, 1.0)
        t_all += length * rng.uniform(0.6, 1.4)
    return out


RENDERERS = {
    "piano": _piano, "harpsichord": _harpsichord, "guitar": _guitar, "banjo": _banjo, "bass": _bass, "violin": _violin,
    "cello": _cello, "strings": _strings, "flute": _flute, "harp": _harp, "sitar": _sitar, "tanpura": _tanpura,
    "synth_pad": _synth_pad, "synth_lead": _synth_lead, "synth_bass": _synth_bass, "voice": _voice,
    "choir": _choir, "kit": functools.partial(_drums, electronic=False),
    "drum_machine": functools.partial(_drums, electronic=True), "tabla": _tabla, "fx": _fx,
}  # fmt: skip

# Relative RMS level of each part in the mix (dB); the lead (voice, solo) sits on top.
PART_LEVEL_DB = {
    "voice": 5.0, "choir": 0.0, "banjo": -4.0, "kit": -2.0, "drum_machine": -1.0, "tabla": -3.0, "bass": -6.0,
    "synth_bass": -5.0, "strings": -6.0, "synth_pad": -7.0, "tanpura": -9.0, "cello": -4.0, "violin": -2.0,
    "flute": -2.0, "harp": -4.0, "piano": -3.0, "guitar": -4.0, "harpsichord": -3.0, "sitar": -1.0,
    "synth_lead": -4.0, "fx": 0.0,
}  # fmt: skip


def render_parts(track, clip_index, sample_rate, seconds, rng):
    """The dry mix of a clip: every part rendered, normalised, and mixed at its level.

    Args:
        track: a `demo_mtat.Track` (style, key, mode, tempo, parts, seed).
        clip_index: the clip's segment index within the track (the music continues).
        sample_rate, seconds: output format.
        rng: the clip's generator.

    Returns:
        float32 [round(seconds * sample_rate)].
    """
    score = Score(track, clip_index, sample_rate, seconds, rng)
    mix = np.zeros(score.n, dtype=np.float32)
    for name in sorted(track.parts):  # sorted: the draws must not depend on dict order
        part = RENDERERS[name](score, track.parts[name])[: score.n]
        level = 10.0 ** (track.parts[name].get("level_db", PART_LEVEL_DB[name]) / 20.0)
        mix += (level * part / (synth.rms(part) + 1e-9)).astype(np.float32)
    return mix
