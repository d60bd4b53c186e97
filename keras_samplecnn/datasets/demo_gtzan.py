"""A synthetic genre collection in GTZAN's layout ("demo GTZAN"), from the demo music synthesiser.

`make_demo_gtzan` writes::

    directory/
      genres_original/<genre>/<genre>.00000.wav ...   22050 Hz mono 16-bit PCM wavs,
                                                      numbered from 00000 in each genre
      README.md                                       written last: a finished dataset

the layout of the common Kaggle copy of GTZAN (Tzanetakis & Cook, 2002), so the real
converter (``python -m tfrecords_tools gtzan --root DIR``, see `tfrecords_tools.gtzan`) reads
it unchanged. Nothing is downloaded. It exists to demonstrate and test transfer learning:
features learned on the demo MagnaTagATune (`demo_mtat`, tags) feed a classifier trained on
genres, a task the features were not trained for.

Genres and styles
-----------------
Each clip is one track of one of the demo synthesiser's styles (`demo_mtat.STYLES`), drawn
with `demo_mtat.make_track`; a genre cycles through its styles, from a random start:

==========  ==========================================  ===========================================
genre       demo styles                                 what plays
==========  ==========================================  ===========================================
classical   classical_orchestra, chamber, baroque,      bowed string ensemble, cello, violin,
            solo_piano                                  flute, harp; piano with a violin, cello or
                                                        flute; harpsichord; solo piano. No drums,
                                                        no singer, mostly soft or quiet
country     country                                     strummed acoustic guitar, fiddle, banjo
                                                        rolls, bass, brushed snare, singer
disco       dance                                       4/4 drum machine (kick on every beat,
                                                        claps on 2 and 4, off-beat open hats),
                                                        synth bass and pads, mostly a singer
metal       metal                                       low palm-muted 16th-note distorted
                                                        guitar, double kick, fast, loud, minor
pop         pop                                         clean strummed guitar or piano chords,
                                                        bass, kit, singer, medium tempo, major
rock        rock                                        distorted guitar chords, bass, rock kit,
                                                        mostly a singer, loud
==========  ==========================================  ===========================================

GTZAN's other four genres are absent, because the synthesiser cannot play them: its music is
diatonic triads in major, natural minor or a raga scale on a straight 16th-note grid, and its
drum patterns are rock, metal, pop, country, techno, dance and broken-beat ones. So there is no
**blues** (no blue notes, 12-bar form or shuffle), no **jazz** (no swing, walking bass, ride
cymbal or extended chords), no **hiphop** (no rapped voice, boom-bap beat or samples) and no
**reggae** (no off-beat skank, one-drop drum pattern or dub bass). The converter warns that it
found 6 genre folders instead of 10; the classes are the 6 sorted folder names.

The demo styles that no GTZAN genre holds (techno, electronic, ambient, new_age, folk_ballad,
indian, weird, and opera, choir and solo_instrument, which GTZAN's mostly orchestral, chamber
and piano "classical" rarely resembles) are not used.

Not demo MTAT again
-------------------
The tracks come from their own seed stream (``SeedSequence([seed, "GTZN", genre])``, not demo
MTAT's ``[seed, "MTAT"]``), so their notes, keys, tempi, instrumentations and audio seeds are
new draws; every clip is the opening of its own track (10 s by default), rendered at 22050 Hz;
and the classes are genres, not MTAT's tags (for the MTAT tags a track also carries, see ``clip.track.tags``).
Genre *is* close to some MTAT tags (rock, metal, pop, country, classical, dance are top-50
tags), which is the point of a transfer demo: features that tell styles apart on MTAT should
help on GTZAN.

Each genre's clips depend only on (seed, genre, clip number): a smaller dataset is a prefix of
a larger one. The output is deterministic: the same arguments give byte-identical files (on
the same platform and NumPy version), whatever the number of workers.
"""

import dataclasses
import os

from keras_samplecnn.datasets import demo_mtat, synth
from keras_samplecnn.datasets.writing import command_line, write_audio, write_text

SAMPLE_RATE = 22050
CLIP_SECONDS = 10.0
GENRE_FOLDER = "genres_original"
GENRE_STYLES = {
    "classical": ("classical_orchestra", "chamber", "baroque", "solo_piano"),
    "country": ("country",),
    "disco": ("dance",),
    "metal": ("metal",),
    "pop": ("pop",),
    "rock": ("rock",),
}
GENRES = tuple(sorted(GENRE_STYLES))
ABSENT_GENRES = ("blues", "hiphop", "jazz", "reggae")  # GTZAN's, beyond the synthesiser
_STREAM = 0x47545A4E  # "GTZN"; demo MTAT's stream is "MTAT"

README = """\
# Demo GTZAN (synthetic)

Synthetic genre clips in the folder layout of the common copy of the GTZAN genre collection
(Tzanetakis & Cook, 2002), written by `keras_samplecnn.datasets.make_demo_gtzan`. Nothing here
was recorded: every clip is procedurally synthesised music of one of six genres the demo
synthesiser can play (classical, country, disco, metal, pop, rock); blues, hiphop, jazz and
reggae are absent.

- `genres_original/<genre>/<genre>.000NN.wav`: 22050 Hz mono 16-bit wavs

It exists to try transfer learning (features from the demo MagnaTagATune, a genre classifier
on top) end to end without downloading anything. Accuracies on it say nothing about GTZAN.
"""


@dataclasses.dataclass
class GenreClip:
    """One clip: its path below the dataset folder, its genre and the track it renders."""

    path: str
    genre: str
    track: demo_mtat.Track


def plan(clips_per_genre=30, seed=0):
    """Draw the clips of a demo GTZAN dataset (genres, styles, tracks), without audio.

    Args:
        clips_per_genre: clips in each of the `GENRES`.
        seed: integer seed; the same seed gives the same plan.

    Returns:
        list of `GenreClip`, genre by genre (sorted), numbered from 0 in each.
    """
    if clips_per_genre < 1:
        raise ValueError(f"clips_per_genre must be >= 1, got {clips_per_genre}")
    clips = []
    for number, genre in enumerate(GENRES):
        rng = synth.stream_rng(seed, _STREAM, number)
        styles = GENRE_STYLES[genre]
        start = int(rng.integers(len(styles)))
        for i in range(clips_per_genre):
            track = demo_mtat.make_track(rng, styles[(start + i) % len(styles)], max_clips=1)
            track.folder = genre
            track.tags = demo_mtat.track_tags(track)  # the audible MTAT tags, for reference
            path = f"{GENRE_FOLDER}/{genre}/{genre}.{i:05d}.wav"
            clips.append(GenreClip(path=path, genre=genre, track=track))
    return clips


def render(clip, sample_rate=SAMPLE_RATE, seconds=CLIP_SECONDS):
    """Synthesise one clip as int16 samples (`demo_mtat.render`, quantised).

    Args:
        clip: a `GenreClip` of `plan`.
        sample_rate, seconds: output format.
    """
    return demo_mtat.render_opening(clip.track, sample_rate, seconds, clip.path)


def make_demo_gtzan(
    directory,
    clips_per_genre=30,
    clip_seconds=CLIP_SECONDS,
    sample_rate=SAMPLE_RATE,
    seed=0,
    workers=None,
    progress=True,
):
    """Write the synthetic GTZAN-layout genre dataset.

    Args:
        directory: output folder (created; files with the same names are replaced, others are
            left alone, so write into an empty folder). It receives
            ``genres_original/<genre>/<genre>.000NN.wav`` and, last, ``README.md``.
        clips_per_genre: files per genre (default 30: 180 files, 30 min of audio). GTZAN has
            100 clips of 30 s per genre.
        clip_seconds: clip length (default 10 s; GTZAN's are 30 s).
        sample_rate: GTZAN's 22050 Hz by default.
        seed: the same arguments give the same files, byte for byte.
        workers: processes (default: all CPUs; 0 or 1 runs in this process).
        progress: show a tqdm progress bar.

    Returns:
        the list of `GenreClip` written.

    Example:
        >>> from keras_samplecnn.datasets import make_demo_gtzan
        >>> clips = make_demo_gtzan("data/demo_gtzan")  # ~20 s on 2 cores
        >>> # then: python -m tfrecords_tools gtzan --root data/demo_gtzan --out data/demo_gtzan_tfr
    """
    if clip_seconds <= 0 or sample_rate <= 0:
        raise ValueError(f"clip_seconds and sample_rate must be positive, got {clip_seconds}, {sample_rate}")
    clips = plan(clips_per_genre, seed)
    items = [(clip.path, render, (clip, sample_rate, clip_seconds)) for clip in clips]
    write_audio(os.fspath(directory), items, sample_rate, workers, progress, "demo GTZAN clips", "clip")
    write_text(os.path.join(directory, "README.md"), README)  # last: a finished dataset
    return clips


def add_arguments(parser):
    """The size options of ``python -m keras_samplecnn.datasets gtzan``."""
    parser.add_argument("--clips-per-genre", type=int, default=30, help="clips per genre (default 30)")
    parser.add_argument("--seconds", dest="clip_seconds", type=float, default=CLIP_SECONDS, help="clip length (default 10)")
    parser.add_argument("--sample-rate", type=int, default=SAMPLE_RATE, help=f"Hz (default {SAMPLE_RATE})")


def main(argv=None):
    """``python -m keras_samplecnn.datasets gtzan DIR [--clips-per-genre N] [--seconds S] ...``."""
    root, clips = command_line(argv, "gtzan", "Write the synthetic genre dataset in GTZAN's layout (wavs).",
                               add_arguments, make_demo_gtzan)  # fmt: skip
    print(f"wrote {len(clips)} clips of {len(GENRES)} genres to {root}")
    print(f"next: python -m tfrecords_tools gtzan --root {root} --out {root}_tfrecords")
    return 0
