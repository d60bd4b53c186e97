"""The sounds of the synthetic DCASE 2017 Task 4 demo (`demo_dcase2017`): one synthesiser per
class, ``RENDERERS[label](n, sample_rate, rng)``, and the `background` every clip sits on.

Every function draws from the generator it is given, so an event is a pure function of the
clip's seed. The shared DSP (filters, noise, envelopes, wavetables) is `synth`'s.

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
"""

import numpy as np

from keras_samplecnn.datasets import synth

# ----------------------------------------------------------------------------------------------
# Synthesis building blocks
# ----------------------------------------------------------------------------------------------


def _time(n, sr):
    return np.arange(n, dtype=np.float64) / sr


def ramp_env(n, sr, attack, release):
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


def _filter(x, sr, response):
    """`synth.fft_filter` zero-padded to a fast length (an event's sample count is often nearly
    prime), in float64."""
    return synth.fft_filter(x, sr, response, synth.fast_length(len(x)), np.float64)


def _noise(n, sr, rng, response):
    """Coloured noise (`synth.coloured_noise`) of a fast FFT length, cut to ``n``, in float64."""
    return synth.coloured_noise(n, sr, rng, response, synth.fast_length(n), np.float64)


def _resonances(freqs, peaks, floor=0.1):
    """Magnitude of a body with resonances ``peaks`` = [(centre, bandwidth, gain), ...]."""
    out = np.full_like(freqs, floor, dtype=np.float64)
    for centre, width, gain in peaks:
        out += gain / (1.0 + ((freqs - centre) / (0.5 * width)) ** 2)
    return out


def _pink(freqs, exponent=0.5, reference=100.0):
    """Amplitude slope f**-exponent (0.5: pink, 1: brown) below ~20 Hz flattened."""
    return (np.maximum(freqs, 20.0) / reference) ** (-exponent)


def _impacts(n, sr, rng, times, gains, band, tau, body=None):
    """Short impacts (noise bursts through ``band``, decay ``tau`` s) at ``times`` (s); an
    optional ``body`` = (freq, tau) adds a damped low resonance (a board, a wheel)."""
    onsets = (np.asarray(times) * sr).astype(np.int64)
    env = synth.scatter(n, onsets, [synth.decay(int(6 * tau * sr), sr, tau)], np.zeros(len(onsets), int), gains)
    out = _noise(n, sr, rng, lambda f: synth.bandpass(f, *band)) * env
    if body is not None:
        freq, body_tau = body
        t = np.arange(int(6 * body_tau * sr)) / sr
        thump = np.sin(2 * np.pi * freq * t) * np.exp(-t / body_tau)
        out += 2.0 * synth.scatter(n, onsets, [thump], np.zeros(len(onsets), int), gains)
    return out


def unit(x):
    """``x`` in float64, scaled to RMS 1."""
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
    n, sr, rng, firing_hz, resonances, brightness=600.0, cylinders=4, lope=0.12, odd=0.0, clatter=0.0,
    clatter_band=(1500.0, 4500.0), throttle=None
):  # fmt: skip
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
        impulses, sr, lambda f: synth.lowpass(f, brightness, 2) * _resonances(f, resonances) * synth.highpass(f, 25.0)
    )  # fmt: skip
    out = unit(out)
    if clatter > 0 and len(fires):
        out += clatter * unit(_impacts(n, sr, rng, fires / sr, np.abs(gains), clatter_band, 0.0025))
    return out


def _tyres(n, sr, rng, brightness=1500.0):
    """Tyre/road noise: pinkish noise in the 200 Hz - few kHz band, with a slight tread flutter."""
    x = _noise(n, sr, rng, lambda f: _pink(f, 0.5) * synth.bandpass(f, 200.0, brightness))
    flutter = 1.0 + 0.15 * np.sin(2 * np.pi * rng.uniform(8, 20) * _time(n, sr) + rng.uniform(0, 6.3))
    return unit(x * flutter)


def _car(n, sr, rng):
    rpm = _rpm_track(n, sr, rng, 750.0, 2800.0, rng.choice(["cruise", "accelerate"], p=[0.6, 0.4]))
    peaks = [
        (rng.uniform(90, 160), 70.0, 3.0),
        (rng.uniform(350, 550), 150.0, 1.2),
        (rng.uniform(900, 1400), 300.0, 0.4),
    ]
    engine = _engine(
        n, sr, rng, rpm / 60.0 * 2.0, peaks, brightness=rng.uniform(500, 800), cylinders=4, lope=0.08,
        throttle=0.6 + 0.4 * rpm / rpm.max(),
    )  # fmt: skip
    tyres = rng.uniform(0.2, 0.8) if rng.uniform() < 0.7 else 0.0  # 30 %: idling
    return engine + tyres * _tyres(n, sr, rng, rng.uniform(1200, 2500))


def _bus(n, sr, rng):
    rpm = _rpm_track(n, sr, rng, 550.0, 1500.0, rng.choice(["cruise", "accelerate"], p=[0.5, 0.5]))
    peaks = [(rng.uniform(65, 100), 50.0, 5.0), (rng.uniform(250, 400), 120.0, 1.5), (1200.0, 400.0, 0.3)]
    out = _engine(
        n, sr, rng, rpm / 60.0 * 3.0, peaks, brightness=rng.uniform(350, 500), cylinders=6, lope=0.1,
        clatter=rng.uniform(0.4, 0.8), clatter_band=(1500.0, 4000.0)
    )  # fmt: skip
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
        out += rng.uniform(1.5, 3.0) * env * unit(hiss)
    return out


def _truck(n, sr, rng):
    rpm = _rpm_track(n, sr, rng, 500.0, 1900.0, rng.choice(["cruise", "accelerate"], p=[0.4, 0.6]))
    peaks = [(rng.uniform(45, 80), 40.0, 6.0), (rng.uniform(180, 300), 90.0, 2.0), (900.0, 300.0, 0.3)]
    out = _engine(
        n, sr, rng, rpm / 60.0 * 3.0, peaks, brightness=rng.uniform(300, 450), cylinders=6, lope=0.15,
        clatter=rng.uniform(0.7, 1.2), clatter_band=(1200.0, 3500.0), throttle=0.5 + 0.5 * rpm / rpm.max()
    )  # fmt: skip
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
        n, sr, rng, pulses_hz, peaks, brightness=rng.uniform(1200, 2000), cylinders=2, lope=0.2,
        odd=rng.uniform(0.6, 0.95), throttle=0.4 + 0.6 * rpm / rpm.max(),
    )  # fmt: skip
    out = synth.soft_clip(out / np.abs(out).max() * rng.uniform(2.0, 4.0), 1.0)  # rasp
    return unit(out) + rng.uniform(0.05, 0.25) * _tyres(n, sr, rng, 2000.0)


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
    rumble = unit(rumble) * _wander(n, sr, rng, 0.8, 0.7, 1.0)
    car, bogie, axle = rng.uniform(18, 24) / speed, rng.uniform(12, 16) / speed, 2.5 / speed
    first = rng.uniform(0, car)
    starts = np.arange(first - car, n / sr, car)
    times = np.concatenate([starts, starts + axle, starts + bogie, starts + bogie + axle])
    times = np.sort(times[(times >= 0) & (times < n / sr - 0.01)])
    gains = rng.uniform(0.7, 1.0, len(times))
    clacks = _impacts(n, sr, rng, times, gains, (700.0, 4000.0), 0.012, body=(rng.uniform(90, 150), 0.03))
    out = rumble + rng.uniform(0.6, 1.2) * unit(clacks) if len(times) else rumble
    if rng.uniform() < 0.4:
        # A diesel-electric locomotive's slow engine hum.
        hum = _oscillator(np.full(n, rng.uniform(18, 30)), sr, rng, 1.0 / np.arange(1, 16))
        out += rng.uniform(0.3, 0.6) * unit(_filter(hum, sr, lambda f: synth.lowpass(f, 300.0, 2)))
    if rng.uniform() < 0.25:
        # Flange squeal: a wobbling high whistle for part of the event.
        freq = rng.uniform(2500, 4500) * (1 + 0.01 * np.sin(2 * np.pi * 3.0 * _time(n, sr)))
        freq = np.minimum(freq, 0.4 * sr)
        env = ramp_env(n, sr, 0.3, 0.3) * _wander(n, sr, rng, 1.5, 0.0, 1.0)
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
    return unit(_filter(tone, sr, lambda f: synth.bandpass(f, *horn)))


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
            env[a:b] = ramp_env(b - a, sr, attack, 0.15)
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
            out[start : start + m] += rng.uniform(0.8, 1.4) * unit(blast) * ramp_env(m, sr, 0.02, 0.05)
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
    return unit(synth.reverb(tone, sr, rng, seconds=2.0, wet=rng.uniform(0.3, 0.5), damping_hz=2000.0))


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
    return unit(tone * gate)


def _reversing_beeps(n, sr, rng):
    t = _time(n, sr)
    freq = np.full(n, rng.uniform(950, 1250))
    gate = _smooth_square(t / rng.uniform(0.8, 1.2) + rng.uniform(), rng.uniform(0.45, 0.55), 40.0)
    tone = _oscillator(freq, sr, rng, [1.0, 0.05, 0.12])
    return unit(tone * gate)


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
        n, sr, rng, root, (1.0, rng.uniform(1.2, 1.33)), count, length, gap, 0.35, 0.02, drive=rng.uniform(2.0, 4.0)
    )  # fmt: skip


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
    out = 0.5 * unit(
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
    out = unit(rumble * flutter)
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
        out += rng.uniform(0.8, 1.4) * unit(clacks)
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
    out = unit(out) + rng.uniform(0.1, 0.3) * unit(breath)
    return out * ramp_env(n, sr, 0.05, 0.15)


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
    "Train horn": _train_horn, "Air horn, truck horn": _air_horn, "Car alarm": _car_alarm,
    "Reversing beeps": _reversing_beeps, "Bicycle": _bicycle, "Skateboard": _skateboard,
    "Ambulance (siren)": _ambulance, "Fire engine, fire truck (siren)": _fire_engine,
    "Civil defense siren": _civil_defense, "Police car (siren)": _police, "Screaming": _screaming, "Car": _car,
    "Car passing by": _car_passing_by, "Bus": _bus, "Truck": _truck, "Motorcycle": _motorcycle, "Train": _train,
}  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Background
# ----------------------------------------------------------------------------------------------


def background(n, sr, rng):
    """The bed every clip sits on: road, wind or city noise, sometimes with unlabelled sounds."""
    kind = rng.choice(["road", "wind", "city"])
    if kind == "road":
        slope, cutoff = rng.uniform(0.8, 1.1), rng.uniform(800, 2500)
        bed = _noise(n, sr, rng, lambda f: _pink(f, slope) * synth.lowpass(f, cutoff, 2))
        bed = unit(bed) * _wander(n, sr, rng, 0.4, 0.6, 1.0)  # traffic swelling and easing
    elif kind == "wind":
        cutoff = rng.uniform(200, 600)
        bed = _noise(n, sr, rng, lambda f: _pink(f, 1.0) * synth.lowpass(f, cutoff, 2))
        bed = unit(bed) * _wander(n, sr, rng, 1.0, 0.2, 1.0) ** 2  # gusts
    else:
        slope, cutoff = rng.uniform(0.4, 0.7), rng.uniform(3000, 6000)
        bed = unit(_noise(n, sr, rng, lambda f: _pink(f, slope) * synth.bandpass(f, 60.0, cutoff)))
        mains = 50.0 if rng.uniform() < 0.5 else 60.0
        bed += rng.uniform(0.05, 0.2) * np.sqrt(2) * _oscillator(np.full(n, mains), sr, rng, [1.0, 0.5, 0.3])
        # Distant voices: speech-shaped noise with a syllable rhythm.
        babble = _noise(n, sr, rng, lambda f: synth.bandpass(f, 250.0, 2500.0))
        bed += rng.uniform(0.1, 0.4) * unit(babble) * _wander(n, sr, rng, 8.0, 0.2, 1.0)
    bed = unit(bed)
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
        bed += rng.uniform(0.2, 0.5) * unit(steps)
    return bed

