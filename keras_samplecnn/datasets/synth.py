"""Vectorised NumPy synthesis primitives for the embedded demo dataset.

Everything here renders a whole clip (or a whole note template) with array operations, so a
29.1-s clip takes a fraction of a second on one CPU core. Two kinds of sources:

- *sustained* lines (bowed strings, flute, voices, synth pads and leads, drones):
  :func:`render_line` reads per-note wavetables with a continuous phase, so vibrato, glides
  and envelopes are per-sample array maths;
- *one-shot* sounds (plucked and struck strings, drums): a template per distinct pitch or
  stroke, rendered once (Karplus-Strong, additive piano partials, membrane models), then
  scatter-added at every onset with :func:`scatter`.

All functions take an explicit ``numpy.random.Generator`` so a clip is a pure function of its
seed; `stream_rng` and `hashed_rng` are the demos' two ways of seeding one. The demos share the
filters here too: one FFT filter (`fft_filter`), coloured noise, decays and level normalisation.
"""

import hashlib

import numpy as np

TABLE_SIZE = 2048  # samples per wavetable period; nearest-sample lookup is ~-60 dB clean

# Vowel formants of an adult male voice (Hz; classic phonetics averages), and bandwidths.
# A female voice uses the same pattern scaled by ~1.15 (shorter vocal tract).
VOWEL_FORMANTS = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (270.0, 2290.0, 3010.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (300.0, 870.0, 2240.0),
}
FORMANT_BANDWIDTHS = (90.0, 110.0, 170.0)
VOWELS = tuple(VOWEL_FORMANTS)


def stream_rng(*entropy):
    """A generator seeded by integers, e.g. ``(seed, stream, index)`` (`numpy.random.SeedSequence`):
    a demo draws each independent part (a track, an artist, a genre) from its own stream."""
    return np.random.default_rng(np.random.SeedSequence(list(entropy)))


def digest(*parts):
    """SHA-256 of ``parts`` (as text, joined by a unit separator): stable across processes and
    Python versions, unlike the salted `hash`."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()


def hashed_rng(*parts, size=16):
    """A generator seeded by the first ``size`` bytes of `digest` of ``parts`` (names, words,
    splits as well as numbers)."""
    return np.random.default_rng(int.from_bytes(digest(*parts)[:size], "little"))


def draw_ids(rng, count, make, used):
    """``count`` new ids from ``make(rng)`` (redrawn on a repeat), none in ``used`` (updated)."""
    ids = []
    while len(ids) < count:
        candidate = make(rng)
        if candidate not in used:
            used.add(candidate)
            ids.append(candidate)
    return ids


def midi_to_hz(midi):
    """Equal-tempered frequency of MIDI note number(s), A4 = 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


# --------------------------------------------------------------------------------------------
# Wavetables
# --------------------------------------------------------------------------------------------


def harmonic_tables(amplitudes, size=TABLE_SIZE):
    """One-period wavetables from harmonic amplitudes.

    Args:
        amplitudes: array [..., H]; column h is the amplitude of harmonic h + 1.
        size: table length (samples per period).

    Returns:
        float32 array [..., size], sine-phase partials, unnormalised.
    """
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    num_harmonics = amplitudes.shape[-1]
    spectrum = np.zeros(amplitudes.shape[:-1] + (size // 2 + 1,), dtype=np.complex128)
    spectrum[..., 1 : num_harmonics + 1] = -1j * amplitudes * (size / 2)
    return np.fft.irfft(spectrum, n=size).astype(np.float32)


def band_limit(amplitudes, f0, sample_rate, cutoff_hz=None):
    """Zero the harmonics of each note above Nyquist (or ``cutoff_hz``), with a soft edge.

    Args:
        amplitudes: [N, H] harmonic amplitudes.
        f0: [N] fundamental of each note in Hz.
    """
    f0 = np.asarray(f0, dtype=np.float64)[:, None]
    harmonic = np.arange(1, amplitudes.shape[-1] + 1)[None, :]
    limit = 0.45 * sample_rate if cutoff_hz is None else min(cutoff_hz, 0.45 * sample_rate)
    freq = f0 * harmonic
    # Soft roll-off over the last 20 % below the limit: no hard brick wall (and no aliasing).
    weight = np.clip((limit - freq) / (0.2 * limit), 0.0, 1.0)
    return amplitudes * weight


def formant_gain(freqs, formants, bandwidths=FORMANT_BANDWIDTHS):
    """Magnitude of a cascade of two-pole resonators (a vocal tract) at ``freqs``.

    Args:
        freqs: array of frequencies (Hz), any shape.
        formants: sequence of formant centre frequencies (Hz), broadcastable with ``freqs``
            after a trailing axis (shape [..., F]).
        bandwidths: formant bandwidths (Hz), same length as the last axis of ``formants``.
    """
    f = np.asarray(freqs, dtype=np.float64)[..., None]
    centre = np.asarray(formants, dtype=np.float64)
    band = np.asarray(bandwidths, dtype=np.float64)
    ratio = f / centre
    magnitude = 1.0 / np.sqrt((1.0 - ratio**2) ** 2 + (f * band / centre**2) ** 2)
    return np.prod(magnitude, axis=-1)


def voice_amplitudes(f0, vowels, sample_rate, female, operatic=False, breathy=0.0):
    """Harmonic amplitudes of sung vowels: a glottal pulse train through vowel formants.

    Args:
        f0: [N] fundamentals (Hz).
        vowels: [N] vowel letters (keys of ``VOWEL_FORMANTS``).
        female: scale formants up by 15 % (shorter vocal tract).
        operatic: add the singer's formant (a resonance cluster near 2.8-3 kHz) that makes
            trained classical voices carry over an orchestra.
        breathy: 0..1, extra tilt of the source (softer, breathier voice).

    Returns:
        [N, H] amplitudes, band-limited.
    """
    f0 = np.asarray(f0, dtype=np.float64)
    num_harmonics = int(np.ceil(0.45 * sample_rate / max(f0.min(), 50.0)))
    harmonic = np.arange(1, num_harmonics + 1, dtype=np.float64)
    freqs = f0[:, None] * harmonic[None, :]
    scale = 1.15 if female else 1.0
    formants = np.array([VOWEL_FORMANTS[v] for v in vowels]) * scale  # [N, 3]
    gain = formant_gain(freqs, formants[:, None, :])
    if operatic:
        gain = gain * (1.0 + 6.0 * np.exp(-0.5 * ((freqs - 2900.0 * scale) / 350.0) ** 2))
    source = 1.0 / harmonic ** (1.0 + breathy)  # glottal -12 dB/oct, lips +6 dB/oct
    amplitudes = source[None, :] * gain
    amplitudes /= np.sqrt((amplitudes**2).sum(axis=1, keepdims=True)) + 1e-12
    return band_limit(amplitudes, f0, sample_rate)


def sawtooth_amplitudes(f0, sample_rate, num_harmonics=64, tilt=1.0, cutoff_hz=None):
    """Harmonic amplitudes 1/h**tilt (a sawtooth for tilt = 1), band-limited per note."""
    harmonic = np.arange(1, num_harmonics + 1, dtype=np.float64)
    amplitudes = np.broadcast_to(1.0 / harmonic**tilt, (len(np.atleast_1d(f0)), num_harmonics))
    return band_limit(np.array(amplitudes), np.atleast_1d(f0), sample_rate, cutoff_hz)


def shaped_amplitudes(f0, sample_rate, base, resonances=(), num_harmonics=64, cutoff_hz=None):
    """Harmonic amplitudes ``base(h)`` times fixed-frequency body resonances.

    Args:
        base: [H] amplitudes before the body (e.g. a sawtooth for a bowed string).
        resonances: sequence of (centre Hz, bandwidth Hz, gain) bumps, like an instrument
            body (violin, cello) that colours every note at the same frequencies.
    """
    f0 = np.atleast_1d(np.asarray(f0, dtype=np.float64))
    harmonic = np.arange(1, num_harmonics + 1, dtype=np.float64)
    freqs = f0[:, None] * harmonic[None, :]
    amplitudes = np.broadcast_to(np.asarray(base, dtype=np.float64)[:num_harmonics], freqs.shape)
    body = np.ones_like(freqs)
    for centre, width, gain in resonances:
        body += gain * np.exp(-0.5 * ((freqs - centre) / width) ** 2)
    return band_limit(amplitudes * body, f0, sample_rate, cutoff_hz)


# --------------------------------------------------------------------------------------------
# Sustained lines
# --------------------------------------------------------------------------------------------


def render_line(
    num_samples,
    sample_rate,
    onsets,
    durations,
    f0,
    tables,
    velocity=None,
    bright_tables=None,
    bright_tau=0.1,
    attack=0.02,
    decay=0.3,
    sustain=0.8,
    release=0.1,
    vibrato_rate=0.0,
    vibrato_cents=0.0,
    vibrato_delay=0.2,
    glide=0.0,
    drift_cents=0.0,
    rng=None,
):
    """Render a monophonic line of notes from per-note wavetables.

    A note sounds from its onset until the next onset: attack, decay to ``sustain`` while the
    key is held (``durations``), then an exponential release. The oscillator phase runs on
    across notes, as in a voice or a bowed string.

    Args:
        num_samples: length of the output.
        onsets: [N] int note onsets in samples, increasing.
        durations: [N] held length of each note in samples.
        f0: [N] fundamental of each note in Hz.
        tables: [N, T] wavetable of each note (or [1, T] shared by all).
        velocity: [N] amplitude of each note (default 1).
        bright_tables: optional [N, T] tables crossfaded into ``tables`` with time constant
            ``bright_tau`` after each onset (a filter envelope: bright attack, duller tail).
        attack, decay, release: envelope times in seconds; ``sustain`` level in 0..1.
        vibrato_rate, vibrato_cents: periodic pitch modulation, faded in over
            ``vibrato_delay`` seconds after each onset.
        glide: time constant (s) of the pitch slide from the previous note (portamento).
        drift_cents: slow random pitch wander (ensemble players are never exactly in tune).
        rng: generator for vibrato phase and drift.

    Returns:
        float32 [num_samples].
    """
    onsets = np.asarray(onsets, dtype=np.int64)
    out = np.zeros(num_samples, dtype=np.float32)
    keep = onsets < num_samples
    if not keep.any():
        return out
    onsets = onsets[keep]
    durations = np.asarray(durations, dtype=np.float64)[keep]
    f0 = np.asarray(f0, dtype=np.float64)[keep]
    tables = np.asarray(tables, dtype=np.float32)
    if tables.shape[0] > 1:
        tables = tables[keep]
    velocity = np.ones(len(onsets)) if velocity is None else np.asarray(velocity)[keep]
    rng = np.random.default_rng(0) if rng is None else rng

    start = int(onsets[0])
    span = num_samples - start
    lengths = np.diff(np.append(onsets, num_samples))
    idx = np.repeat(np.arange(len(onsets)), lengths)  # note index of every sample
    t = (np.arange(span, dtype=np.float32) - (onsets[idx] - start).astype(np.float32)) / sample_rate

    # Pitch: glide from the previous note, vibrato, drift (cents), as a log-frequency.
    log_f = np.log(f0)[idx].astype(np.float32)
    if glide > 0 and len(f0) > 1:
        prev = np.log(np.concatenate([f0[:1], f0[:-1]]))[idx].astype(np.float32)
        log_f = log_f + (prev - log_f) * np.exp(-t / glide)
    cents = np.zeros(span, dtype=np.float32)
    if vibrato_cents > 0:
        absolute = np.arange(start, num_samples, dtype=np.float32) / sample_rate
        phase0 = rng.uniform(0, 2 * np.pi)
        fade = 1.0 - np.exp(-t / max(vibrato_delay, 1e-3))
        cents += vibrato_cents * fade * np.sin(2 * np.pi * vibrato_rate * absolute + phase0)
    if drift_cents > 0:
        knots = rng.normal(0.0, drift_cents, size=int(span / sample_rate * 3) + 2)
        cents += np.interp(np.linspace(0, len(knots) - 1, span), np.arange(len(knots)), knots).astype(
            np.float32
        )
    freq = np.exp(log_f + cents * np.float32(np.log(2) / 1200))
    phase = np.cumsum(freq, dtype=np.float64) / sample_rate + rng.uniform()
    size = tables.shape[1]
    pos = ((phase - np.floor(phase)) * size).astype(np.int64) % size
    table_row = idx if tables.shape[0] > 1 else np.zeros_like(idx)
    flat = table_row * size + pos
    wave = np.take(tables.ravel(), flat)
    if bright_tables is not None:
        bright = np.take(np.asarray(bright_tables, dtype=np.float32).ravel(), flat)
        wave = wave + (bright - wave) * np.exp(-t / bright_tau)

    # Envelope: attack-decay-sustain while held, then release from the level reached.
    gate = (durations / sample_rate).astype(np.float32)
    level_at_gate = np.minimum(1.0, gate / attack) * (
        sustain + (1 - sustain) * np.exp(-np.maximum(gate - attack, 0) / decay)
    )
    held = t < gate[idx]
    on = np.minimum(1.0, t / attack) * (sustain + (1 - sustain) * np.exp(-np.maximum(t - attack, 0) / decay))
    off = level_at_gate[idx] * np.exp(-(t - gate[idx]) / release)
    env = np.where(held, on, off).astype(np.float32)
    out[start:] = wave * env * velocity[idx].astype(np.float32)
    return out


# --------------------------------------------------------------------------------------------
# One-shot templates
# --------------------------------------------------------------------------------------------


def karplus_strong(f0, seconds, sample_rate, rng, damping=0.5, decay=1.5, pick=0.15, softness=0.0):
    """A plucked string by the Karplus-Strong algorithm, tuned exactly.

    The string loop runs at an internal rate that makes its period an integer number of
    samples, then the result is resampled to ``sample_rate``: this keeps every pitch exactly in
    tune without a fractional-delay filter. The loop is evaluated one period at a time, so the
    Python loop runs ``seconds * f0`` times on vectors of one period.

    Args:
        f0: fundamental (Hz).
        seconds: template length.
        damping: weight of the one-sample-delayed tap in the loop's averaging filter
            (0 = no loss of brightness, 0.5 = classic, dull strings).
        decay: T60-like decay time (s) of the fundamental.
        pick: plucking position as a fraction of the string (a comb notch per 1/pick harmonic).
        softness: 0..1 low-pass on the excitation (finger or felt instead of a plectrum).

    Returns:
        float32 [round(seconds * sample_rate)].
    """
    period = max(round(sample_rate / f0 - damping), 2)
    internal_rate = f0 * (period + damping)
    n_internal = int(seconds * internal_rate) + period + 2
    n_periods = n_internal // period + 1
    burst = rng.uniform(-1.0, 1.0, period)
    if softness > 0:
        # Three-tap circular smoothing, repeated: a gentler, rounder pluck.
        for _ in range(1 + int(4 * softness)):
            burst = 0.25 * np.roll(burst, 1) + 0.5 * burst + 0.25 * np.roll(burst, -1)
    shift = max(int(pick * period), 1)
    burst = burst - np.roll(burst, shift)
    burst -= burst.mean()
    loss = 10.0 ** (-3.0 * period / (internal_rate * decay))  # -60 dB after `decay` seconds
    y = np.zeros(n_periods * period + 1)
    y[1 : period + 1] = burst
    for k in range(1, n_periods):
        prev = y[(k - 1) * period + 1 - 1 : k * period + 1 - 1]
        cur = y[(k - 1) * period + 1 : k * period + 1]
        y[k * period + 1 : (k + 1) * period + 1] = loss * ((1 - damping) * cur + damping * prev)
    y = y[1:]
    n_out = round(seconds * sample_rate)
    positions = np.arange(n_out) * (internal_rate / sample_rate)
    out = np.interp(positions, np.arange(len(y)), y)
    peak = np.abs(out).max() + 1e-9
    return (out / peak).astype(np.float32)


def piano_template(f0, seconds, sample_rate, rng, brightness=1.0):
    """A struck piano string: inharmonic partials, two detuned strings, two-stage decay.

    Partial k sits at ``k f0 sqrt(1 + B k^2)`` (stiff-string inharmonicity); higher partials
    decay faster; the pair of unison strings beats slowly; a short hammer thump starts it.
    """
    n = round(seconds * sample_rate)
    t = np.arange(n, dtype=np.float32) / sample_rate
    num_partials = int(min(14, 0.45 * sample_rate / f0))
    inharmonicity = 1e-4 * (f0 / 261.6) ** 0.5
    out = np.zeros(n, dtype=np.float32)
    for k in range(1, num_partials + 1):
        fk = k * f0 * np.sqrt(1 + inharmonicity * k * k)
        if fk > 0.45 * sample_rate:
            break
        amp = brightness ** (k - 1) / k**1.1
        fast = 0.25 / (1 + 0.5 * (k - 1)) * (261.6 / f0) ** 0.3
        slow = 2.5 / (1 + 0.3 * (k - 1)) * (261.6 / f0) ** 0.4
        env = 0.6 * np.exp(-t / fast) + 0.4 * np.exp(-t / slow)
        detune = 1.0 + rng.uniform(0.0003, 0.001)
        phase = rng.uniform(0, 2 * np.pi)
        tone = np.sin(2 * np.pi * fk * t + phase) + np.sin(2 * np.pi * fk * detune * t + phase)
        out += (amp * env * tone).astype(np.float32)
    thump = int(0.01 * sample_rate)
    out[:thump] += (
        0.2 * rng.standard_normal(thump).astype(np.float32) * np.linspace(1, 0, thump, dtype=np.float32)
    )
    return out / (np.abs(out).max() + 1e-9)


def scatter(num_samples, onsets, templates, template_index, velocity=None, max_length=None, fade=320):
    """Sum one-shot templates at their onsets (a vectorised overlap-add).

    Args:
        onsets: [N] int start samples.
        templates: list of 1-D arrays (or a 2-D array, one row each).
        template_index: [N] which template each onset plays.
        velocity: [N] gains (default 1).
        max_length: optional [N] per-onset cut (a damped note), in samples.
        fade: length in samples of the fade after a cut (avoids a click).

    Returns:
        float32 [num_samples].
    """
    onsets = np.asarray(onsets, dtype=np.int64)
    template_index = np.asarray(template_index, dtype=np.int64)
    velocity = np.ones(len(onsets)) if velocity is None else np.asarray(velocity, dtype=np.float64)
    out = np.zeros(num_samples, dtype=np.float64)
    for which in np.unique(template_index):
        template = np.asarray(templates[which], dtype=np.float64)
        sel = template_index == which
        starts = onsets[sel]
        gains = velocity[sel]
        positions = starts[:, None] + np.arange(len(template))[None, :]
        values = gains[:, None] * template[None, :]
        if max_length is not None:
            cut = np.asarray(max_length)[sel][:, None]
            over = np.arange(len(template))[None, :] - cut
            values = values * np.clip(1.0 - over / fade, 0.0, 1.0)
        valid = (positions >= 0) & (positions < num_samples)
        out += np.bincount(positions[valid], weights=values[valid], minlength=num_samples)
    return out.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Drums
# --------------------------------------------------------------------------------------------


def decay(n, sample_rate, tau):
    """An exponential decay of time constant ``tau`` seconds, ``n`` samples (float64)."""
    return np.exp(-np.arange(n, dtype=np.float64) / (tau * sample_rate))


def peak_normalised(x):
    """``x`` scaled to a peak of 1, as float32."""
    return (x / np.abs(x).max()).astype(np.float32)


def kick(sample_rate, rng, electronic=False):
    """Kick drum: a sine whose pitch falls quickly, plus a click (the beater)."""
    n = int((0.45 if electronic else 0.3) * sample_rate)
    t = np.arange(n) / sample_rate
    f_hi, f_lo = (180.0, 48.0) if electronic else (120.0, 55.0)
    freq = f_lo + (f_hi - f_lo) * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    body = np.sin(phase) * decay(n, sample_rate, 0.18 if electronic else 0.1)
    click = rng.standard_normal(n) * decay(n, sample_rate, 0.004) * (0.15 if electronic else 0.4)
    return peak_normalised(body + click)


def snare(sample_rate, rng, brush=False):
    """Snare: a 190-Hz shell tone and band-passed noise (wires); brushes are longer and softer."""
    n = int(0.3 * sample_rate)
    t = np.arange(n) / sample_rate
    noise = coloured_noise(n, sample_rate, rng, lambda f: bandpass(f, 1500.0, 6500.0))
    tone = np.sin(2 * np.pi * 190.0 * t) * decay(n, sample_rate, 0.05)
    if brush:
        out = 0.9 * noise * decay(n, sample_rate, 0.09) + 0.15 * tone
    else:
        out = noise * decay(n, sample_rate, 0.06) + 0.6 * tone
    return peak_normalised(out)


def hihat(sample_rate, rng, open_=False):
    """Hi-hat: high-passed noise with metallic partials; open hats ring longer."""
    n = int((0.35 if open_ else 0.08) * sample_rate)
    t = np.arange(n) / sample_rate
    noise = coloured_noise(n, sample_rate, rng, lambda f: highpass(f, 5000.0))
    metal = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (3140.0, 4270.0, 5190.0)) * 0.15
    metal = fft_filter(metal, sample_rate, lambda f: highpass(f, 4000.0))
    return peak_normalised((noise + metal) * decay(n, sample_rate, 0.12 if open_ else 0.018))


def clap(sample_rate, rng):
    """Hand clap (drum-machine style): three quick noise bursts and a short diffuse tail."""
    n = int(0.25 * sample_rate)
    noise = coloured_noise(n, sample_rate, rng, lambda f: bandpass(f, 900.0, 5000.0))
    env = 0.7 * decay(n, sample_rate, 0.05)
    for offset in (0.0, 0.011, 0.022):
        k = int(offset * sample_rate)
        env[k:] += decay(n - k, sample_rate, 0.004)
    return peak_normalised(noise * env)


def tabla_strokes(sample_rate, rng, tonic_hz):
    """Tabla strokes: 'na' (ringing treble drum, harmonic membrane tuned to the tonic),
    'ge' (bass drum with its upward pitch glide), 'te' (a dry slap).

    Returns:
        dict stroke name -> float32 template.
    """
    n = int(0.6 * sample_rate)
    t = np.arange(n) / sample_rate
    # The dayan's loaded membrane has nearly harmonic modes (1, 2, 3, 4, 5 x tonic).
    na = sum(
        a * np.sin(2 * np.pi * k * tonic_hz * t)
        for k, a in ((1, 1.0), (2, 0.6), (3, 0.45), (4, 0.3), (5, 0.2))
    )
    na = na * decay(n, sample_rate, 0.18) + 0.3 * rng.standard_normal(n) * decay(n, sample_rate, 0.003)
    glide = 85.0 * (1 + 0.35 * (1 - np.exp(-t / 0.12)))
    ge = np.sin(2 * np.pi * np.cumsum(glide) / sample_rate) * decay(n, sample_rate, 0.22)
    te = coloured_noise(n, sample_rate, rng, lambda f: bandpass(f, 800.0, 4000.0)) * decay(n, sample_rate, 0.015)
    strokes = {"na": na, "ge": ge, "te": te, "dha": na + 0.8 * ge}
    return {k: peak_normalised(v) for k, v in strokes.items()}


# --------------------------------------------------------------------------------------------
# Filters and effects
# --------------------------------------------------------------------------------------------


def highpass(freqs, cutoff, order=2):
    """Butterworth-like magnitude response (used in the frequency domain)."""
    ratio = np.maximum(freqs, 1e-3) / cutoff
    return ratio**order / np.sqrt(1 + ratio ** (2 * order))


def lowpass(freqs, cutoff, order=2):
    return 1.0 / np.sqrt(1 + (np.asarray(freqs) / cutoff) ** (2 * order))


def bandpass(freqs, low, high, order=2):
    return highpass(freqs, low, order) * lowpass(freqs, high, order)


def fast_length(n):
    """The smallest 2**a 3**b 5**c >= n: FFTs of other lengths (an arbitrary sample count is
    often nearly prime) are up to 10x slower."""
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


def fft_filter(x, sample_rate, response, size=None, dtype=np.float32):
    """Zero-phase filtering of a whole signal by a magnitude response ``response(freqs_hz)``.

    Args:
        x: the signal.
        sample_rate: in Hz.
        response: magnitude as a function of frequency (Hz).
        size: FFT length (default ``len(x)``: circular); a longer one (`fast_length`) is faster
            and keeps the filter's ringing from wrapping round to the start.
        dtype: of the result.

    Returns:
        ``len(x)`` filtered samples.
    """
    x = np.asarray(x, dtype=np.float64)
    size = len(x) if size is None else size
    spectrum = np.fft.rfft(x, size)
    spectrum *= response(np.fft.rfftfreq(size, 1.0 / sample_rate))
    return np.fft.irfft(spectrum, size)[: len(x)].astype(dtype)


def coloured_noise(n, sample_rate, rng, response, size=None, dtype=np.float32):
    """``n`` samples of white noise (``size`` drawn, default ``n``) through `fft_filter`."""
    return fft_filter(rng.standard_normal(n if size is None else size), sample_rate, response, dtype=dtype)[:n]


def reverb(x, sample_rate, rng, seconds=1.2, wet=0.2, damping_hz=3000.0):
    """A room: convolution with exponentially decaying, low-passed noise (FFT convolution)."""
    if wet <= 0:
        return np.asarray(x, dtype=np.float32)
    n_ir = int(seconds * sample_rate)
    ir = rng.standard_normal(n_ir) * np.exp(-6.9 * np.arange(n_ir) / n_ir)  # -60 dB at the end
    ir = fft_filter(ir, sample_rate, lambda f: lowpass(f, damping_hz, 1))
    ir /= np.sqrt((ir**2).sum())
    n = len(x)
    size = 1 << int(np.ceil(np.log2(n + n_ir)))
    tail = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[:n]
    return ((1 - wet) * np.asarray(x) + wet * tail).astype(np.float32)


def soft_clip(x, drive):
    """tanh saturation normalised so that small signals keep unit gain."""
    return (np.tanh(drive * np.asarray(x)) / drive).astype(np.float32)


def limit_peak(x, ceiling):
    """``x`` scaled down to a peak of ``ceiling`` if it goes beyond it."""
    peak = np.abs(x).max()
    return x * (ceiling / peak) if peak > ceiling else x


def rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))
