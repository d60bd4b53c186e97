"""A tiny MTAT-layout dataset whose tags are audible tones, converted with the real converter."""

import os

import numpy as np

from tfrecords_tools import mtat
from tfrecords_tools.synthetic import write_audio, write_mtat
from tfrecords_tools.writer import Settings, convert

TAGS = ("low", "mid", "high")
FREQUENCIES = {"low": 300.0, "mid": 1200.0, "high": 3000.0}
SAMPLE_RATE = 8000
SEGMENT = 243  # 3^5: a model with n=4 blocks and a 3-sample stem


def make_tiny_mtat(directory, clips_per_folder=3, seconds=0.5, seed=0):
    """Writes `directory/raw` (MTAT layout) and converts it to `directory/tfrecords`.

    Each clip holds a tone per tag it carries (plus noise), so the tags can be learned.
    Returns the TFRecords folder.
    """
    rng = np.random.default_rng(seed)
    raw = os.path.join(directory, "raw")
    rows = []
    for folder in "0123456789abcdef":
        for number in range(clips_per_folder):
            tags = {t for t in TAGS if rng.random() < 0.5} or {TAGS[number % 3]}
            path = f"{folder}/artist_{folder}-album-0{number + 1}-song_{number}-0-29.mp3"
            rows.append((str(len(rows) + 2), path, tags))
    write_mtat(raw, rows, list(TAGS), seconds=seconds, sample_rate=SAMPLE_RATE)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    for _, path, tags in rows:  # replace the placeholder tones by tag tones
        audio = 0.02 * rng.standard_normal(len(t))
        for tag in tags:
            audio += 0.25 * np.sin(2 * np.pi * FREQUENCIES[tag] * t + rng.uniform(0, 6.3))
        write_audio(os.path.join(raw, path), audio.astype("float32"), SAMPLE_RATE, format="MP3")
    out = os.path.join(directory, "tfrecords")
    settings = Settings(sample_rate=SAMPLE_RATE, segment_length=SEGMENT)
    convert(mtat.plan(raw, num_tags=len(TAGS)), out, settings, shard_size=8, workers=1, show_progress=False)
    return out
