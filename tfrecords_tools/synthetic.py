"""Tiny fake datasets in the exact distributed layouts, for tests and smoke runs.

Each writer produces the real file names, CSV dialects and folder structure of its dataset
(quoted tab-separated MTAT annotations, Speech Commands lists, GTZAN genre folders) filled with
short sine tones, so that the converters run their real code path in seconds.

Example:

```python
rows = fake_mtat(tmp_path / "mtat", clips_per_folder=2)
plan = tfrecords_tools.mtat.plan(tmp_path / "mtat")
```
"""

import csv
import os

import numpy as np
import soundfile as sf

CLIP_INFO_COLUMNS = (
    "clip_id",
    "track_number",
    "title",
    "artist",
    "album",
    "url",
    "segmentStart",
    "segmentEnd",
    "original_url",
    "mp3_path",
)
GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


def tone(frequency, seconds, sample_rate, channels=1, amplitude=0.5):
    """A float32 sine of `seconds` at `frequency` Hz: shape `(samples,)` or `(samples, ch)`.

    With several channels, channel c has amplitude `amplitude / (c + 1)`, so a mix-down to
    the channel mean is distinguishable from taking one channel.
    """
    time = np.arange(round(seconds * sample_rate)) / sample_rate
    wave = np.sin(2 * np.pi * frequency * time).astype(np.float32)
    if channels == 1:
        return amplitude * wave
    return np.stack([amplitude / (c + 1) * wave for c in range(channels)], axis=1)


def write_audio(path, audio, sample_rate, format=None):
    """Writes audio with soundfile, creating parent folders (format from the extension)."""
    os.makedirs(os.path.dirname(os.fspath(path)), exist_ok=True)
    sf.write(path, audio, sample_rate, format=format)


def write_mtat(root, rows, tag_names, seconds=1.0, sample_rate=16000, clip_info=True):
    """Writes an MTAT folder: annotations_final.csv, clip_info_final.csv and the mp3 files.

    Args:
        root: the folder to create.
        rows: `(clip_id, mp3_path, set of tag names)` per clip, e.g.
            `("2", "f/artist-album-01-song-0-29.mp3", {"guitar", "slow"})`.
        tag_names: the tag columns, in order.
        seconds: clip duration (real clips: 29.1 s).
        sample_rate: mp3 sample rate (real clips: 16000).
        clip_info: also write clip_info_final.csv.
    """
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "annotations_final.csv"), "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["clip_id", *tag_names, "mp3_path"])
        for clip_id, mp3_path, tags in rows:
            writer.writerow([clip_id, *("1" if t in tags else "0" for t in tag_names), mp3_path])
    if clip_info:
        with open(os.path.join(root, "clip_info_final.csv"), "w", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
            writer.writerow(CLIP_INFO_COLUMNS)
            for clip_id, mp3_path, _ in rows:
                artist, album, track = os.path.basename(mp3_path).split("-")[:3]
                writer.writerow(
                    [
                        clip_id,
                        track,
                        f"song {clip_id}",
                        artist,
                        album,
                        "http://example.org",
                        "0",
                        "29",
                        "http://example.org",
                        mp3_path,
                    ]
                )
    for index, (_, mp3_path, _) in enumerate(rows):
        write_audio(
            os.path.join(root, mp3_path),
            tone(220 + 20 * index, seconds, sample_rate),
            sample_rate,
            format="MP3",
        )


def fake_mtat(root, tag_names, clips_per_folder=1, seconds=1.0, sample_rate=16000, seed=0):
    """Writes an MTAT folder with `clips_per_folder` clips in each of 0/ ... f/.

    Tag i is drawn with probability falling with i, so the most frequent tags are roughly
    the first columns; every clip gets at least one tag. Returns the rows written.
    """
    rng = np.random.default_rng(seed)
    probability = np.linspace(0.7, 0.05, len(tag_names))
    rows = []
    for folder in "0123456789abcdef":
        for number in range(clips_per_folder):
            clip_id = str(len(rows) + 2)  # MTAT ids are sparse integers, not 0-based
            mp3_path = f"{folder}/artist_{folder}-album_{number}-0{number + 1}-song-0-29.mp3"
            tags = {t for t, p in zip(tag_names, probability) if rng.random() < p}
            rows.append((clip_id, mp3_path, tags or {tag_names[-1]}))
    write_mtat(root, rows, tag_names, seconds=seconds, sample_rate=sample_rate)
    return rows


def fake_speech_commands(
    root, words=("down", "go", "left"), files_per_word=4, noise_seconds=3.0, sample_rate=16000
):
    """Writes a Speech Commands folder: word folders, the two lists, `_background_noise_/`.

    In each word, file 0 is in validation_list.txt, file 1 in testing_list.txt, the rest are
    train; file 2 lasts 0.5 s (real data has such short files), the others 1 s.
    """
    validation, testing = [], []
    for w, word in enumerate(words):
        for number in range(files_per_word):
            path = f"{word}/{w:02x}{number:06x}_nohash_0.wav"
            seconds = 0.5 if number == 2 else 1.0
            write_audio(
                os.path.join(root, path), tone(300 + 50 * w, seconds, sample_rate), sample_rate, format="WAV"
            )
            if number == 0:
                validation.append(path)
            elif number == 1:
                testing.append(path)
    for name, listed in (("validation_list.txt", validation), ("testing_list.txt", testing)):
        with open(os.path.join(root, name), "w") as handle:
            handle.write("".join(f"{path}\n" for path in listed))
    rng = np.random.default_rng(0)
    for name in ("running_tap.wav", "white_noise.wav"):
        noise = 0.1 * rng.standard_normal(round(noise_seconds * sample_rate)).astype(np.float32)
        write_audio(os.path.join(root, "_background_noise_", name), noise, sample_rate)
    with open(os.path.join(root, "_background_noise_", "README.md"), "w") as handle:
        handle.write("Background noise recordings.\n")
    return {"validation": validation, "testing": testing}


def fake_gtzan(
    root,
    genres=GTZAN_GENRES,
    files_per_genre=10,
    seconds=1.0,
    sample_rate=22050,
    folder="genres_original",
    ext="wav",
    corrupt=("jazz", 4),
):
    """Writes `root/<folder>/<genre>/<genre>.000NN.<ext>` (the original archive: `genres`, au).

    Args:
        folder: `genres_original` (Kaggle), `genres` (original archive) or "" (no folder).
        ext: `wav` or `au`.
        corrupt: `(genre, number)` of a file written as garbage with a RIFF header, like the
            real jazz.00054.wav, or None.
    """
    paths = []
    for g, genre in enumerate(genres):
        for number in range(files_per_genre):
            path = os.path.join(root, folder, genre, f"{genre}.{number:05d}.{ext}")
            if corrupt and (genre, number) == tuple(corrupt):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as handle:
                    handle.write(b"RIFF\x00\x10\x00\x00WAVEjunk" + bytes(range(256)) * 4)
            else:
                write_audio(
                    path, tone(200 + 30 * g + number, seconds, sample_rate), sample_rate, format=ext.upper()
                )
            paths.append(path)
    return paths
