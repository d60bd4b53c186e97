"""A synthetic artist-labelled collection ("demo artists"), from the demo music synthesiser.

`make_demo_artists` writes::

    directory/
      audio/<artist-slug>/<NN>-<title-slug>.wav    22050 Hz mono 16-bit PCM wavs, the opening
                                                   seconds (6 s by default) of each track,
                                                   numbered 01, 02, ... per artist
      artists.csv                                  path,artist,track_id,album (path relative
                                                   to audio/; track_id ART<aaa>T<tt>)
      README.md                                    written last: a finished dataset

the layout the artist converter reads unchanged (``python -m tfrecords_tools artists
--audio-dir DIR/audio --labels DIR/artists.csv --tracks-per-artist 6,2,2 --out OUT``, see
`tfrecords_tools.artists`). Nothing is downloaded. It exists to demonstrate artist-label
representation learning (Park, Lee, Park, Ha, Nam, "Representation Learning of Music Using
Artist Labels", ISMIR 2018, arXiv:1710.06648): a CNN trained to tell these artists apart learns
features that should transfer to the demo MagnaTagATune tags (`demo_mtat`) and the demo GTZAN
genres (`demo_gtzan`), tasks it was not trained for.

The artist model
----------------
An artist is a consistent sound: most of what `demo_mtat.make_track` draws per track is drawn
once per artist and kept on every track; the rest is drawn again for each track:

=============================  ================================================================
drawn once per artist          every track of the artist
=============================  ================================================================
style                          the same (styles dealt round-robin, see below)
instrumentation (``parts``)    the same parts with the same options (the style's builder, drawn
                               once), each part's level in the mix moved by up to +-3 dB (the
                               artist's mix), and the same one-shot recordings of plucked and
                               struck instruments (template variant, ``seed % 3``)
home key, mode                 the home key on ~75 % of tracks, else 1-2 semitones away; the
                               same mode (major, minor or raga)
tempo class, bpm               the same class; the artist's bpm jittered by up to +-4 %
loudness class                 the same (the renderer adds +-1.5 dB per clip)
name, 1-3 album names          tracks fill the albums in order, in nearly equal runs
=============================  ================================================================

Per track there are new notes (the track's own audio seed: melody, rhythm details, chord
progression), a new title, and the track's MTAT tags in ``track.tags`` (`demo_mtat.track_tags`,
so artists' tracks stay usable for tag-transfer checks).

Styles are dealt to artists round-robin in a seeded shuffle of the synthesiser's 19 styles
(`demo_mtat.STYLES`), unweighted: with the default 60 artists every style has 3 or 4 artists, so
telling artists apart needs more than telling styles apart: two artists of one style can differ
in instrumentation and singer, and differ in home key, tempo, loudness and mix. Names are
`demo_mtat`'s, unique within a dataset.

Determinism
-----------
Artist ``i`` is drawn from its own seed stream ``SeedSequence([seed, "ARTS", i])`` (not demo
MTAT's ``"MTAT"`` or demo GTZAN's ``"GTZN"``), and its style from a shuffle that depends only on
``seed``; a name is redrawn only if an earlier artist holds it. So a smaller dataset (fewer
artists, same seed) is a prefix of a larger one, artist for artist; with fewer tracks per
artist, each artist and its first tracks are the same (only their grouping into albums
changes). The same arguments give byte-identical files (on the same platform and NumPy
version), whatever the number of workers.

Every sound here is synthetic: accuracies on it say nothing about real artists.
"""

import dataclasses
import os

from keras_samplecnn.datasets import demo_mtat, demo_music, synth
from keras_samplecnn.datasets.writing import command_line, write_audio, write_csv, write_text
from tfrecords_tools import mtat_layout

SAMPLE_RATE = 22050
CLIP_SECONDS = 6.0
AUDIO_FOLDER = "audio"
LABELS_FILE = "artists.csv"
CSV_COLUMNS = ("path", "artist", "track_id", "album")
HOME_KEY_PROBABILITY = 0.75
KEY_MOVES = (-2, -1, 1, 2)  # semitones from the home key, for the other tracks
BPM_JITTER = 0.04  # a track's bpm within +-4 % of the artist's
MIX_JITTER_DB = 3.0  # the artist's own balance of its parts
_STREAM = 0x41525453  # "ARTS"; demo MTAT's stream is "MTAT", demo GTZAN's "GTZN"

README = """\
# Demo artists (synthetic)

Synthetic tracks labelled by artist, written by `keras_samplecnn.datasets.make_demo_artists` for
artist-label representation learning (Park et al., ISMIR 2018). Nothing here was recorded: each
artist is a procedurally synthesised sound (one style, instrumentation, mix, home key, tempo
and loudness), and each of its tracks plays new notes with that sound.

- `audio/<artist>/<NN>-<title>.wav`: 22050 Hz mono 16-bit wavs, the opening seconds of each track
- `artists.csv`: `path,artist,track_id,album`, paths relative to `audio/`

Convert with `python -m tfrecords_tools artists --audio-dir audio --labels artists.csv
--tracks-per-artist 6,2,2 --out <folder>`. It exists to try artist-label training and its
transfer to the demo MagnaTagATune and demo GTZAN end to end without downloading anything.
Accuracies on it say nothing about real artists.
"""


@dataclasses.dataclass
class ArtistTrack:
    """One track: its wav path below ``audio/``, its CSV fields and the `demo_mtat.Track` it renders."""

    path: str
    artist: str
    track_id: str
    album: str
    track: demo_mtat.Track


@dataclasses.dataclass
class Artist:
    """What an artist draws once (see the module docstring), and its tracks."""

    index: int
    name: str
    style: str
    parts: dict
    key: int
    mode: str
    tempo: str
    bpm: float
    loudness: str
    variant: int
    albums: tuple
    tracks: list


def plan(num_artists=60, tracks_per_artist=10, seed=0):
    """Draw the artists of a demo-artists dataset and their tracks, without audio (cheap).

    Args:
        num_artists: number of artists (>= 2: one artist is no classification task).
        tracks_per_artist: tracks of each artist (>= 1).
        seed: integer seed; the same arguments give the same plan, and fewer artists with the
            same seed give a prefix of it.

    Returns:
        list of `Artist`, by index, each with ``tracks_per_artist`` `ArtistTrack`.
    """
    if num_artists < 2:
        raise ValueError(f"num_artists must be >= 2, got {num_artists}")
    if tracks_per_artist < 1:
        raise ValueError(f"tracks_per_artist must be >= 1, got {tracks_per_artist}")
    styles = list(demo_mtat.STYLES)
    deal = synth.stream_rng(seed, _STREAM).permutation(len(styles))
    artists, used = [], set()
    for index in range(num_artists):
        rng = synth.stream_rng(seed, _STREAM, index)
        artist = _draw_artist(rng, index, styles[deal[index % len(styles)]], used)
        artist.tracks = [
            _draw_track(rng, artist, number, tracks_per_artist) for number in range(tracks_per_artist)
        ]
        artist.albums = tuple(dict.fromkeys(item.album for item in artist.tracks))  # those with tracks
        artists.append(artist)
    return artists


def _draw_artist(rng, index, style, used):
    """The fields an artist keeps on every track; ``used`` holds the slugs of earlier names."""
    _, build, tempos, levels, modes, _, _ = demo_mtat.STYLES[style]
    parts = build(rng)
    for name in sorted(parts):  # sorted: the draws must not depend on dict order
        base = parts[name].get("level_db", demo_music.PART_LEVEL_DB[name])
        parts[name] = {**parts[name], "level_db": round(base + float(rng.uniform(-1, 1)) * MIX_JITTER_DB, 2)}
    tempo = demo_mtat._pick(rng, tempos)
    mode = demo_mtat._pick(rng, modes)
    key = int(rng.integers(12))
    bpm = float(rng.uniform(*demo_mtat.TEMPO_RANGES[tempo]))
    loudness = demo_mtat._pick(rng, levels)
    variant = int(rng.integers(demo_music.TEMPLATE_VARIANTS))
    name = demo_mtat.unique_artist_name(rng, style, used, mtat_layout.slug)  # slugs are folder names
    albums = tuple(demo_mtat._album_name(rng) for _ in range(int(rng.integers(1, 4))))
    return Artist(index=index, name=name, style=style, parts=parts, key=key, mode=mode, tempo=tempo, bpm=bpm,
                  loudness=loudness, variant=variant, albums=albums, tracks=[])  # fmt: skip


def _draw_track(rng, artist, number, tracks_per_artist):
    """Track ``number`` (from 0) of ``artist``: `demo_mtat.make_track`'s draw (title, audio
    seed), with the artist's sound written over the rest."""
    track = demo_mtat.make_track(rng, artist.style, max_clips=1)
    track.parts = artist.parts
    track.mode, track.tempo, track.loudness = artist.mode, artist.tempo, artist.loudness
    track.bpm = artist.bpm * float(1.0 + rng.uniform(-BPM_JITTER, BPM_JITTER))
    home = rng.random() < HOME_KEY_PROBABILITY
    track.key = artist.key if home else (artist.key + int(rng.choice(KEY_MOVES))) % 12
    track.title = demo_mtat._title(rng, artist.style, track.key, artist.mode)  # classical titles name the key
    # The renderer picks the one-shot recordings from seed % 3: the artist's instruments.
    track.seed = track.seed - track.seed % demo_music.TEMPLATE_VARIANTS + artist.variant
    album_index = number * len(artist.albums) // tracks_per_artist
    track.artist, track.album, track.track_number = artist.name, artist.albums[album_index], number + 1
    track.folder, track.num_clips, track.annotated = mtat_layout.slug(artist.name), 1, True
    track.tags = demo_mtat.track_tags(track, rng)
    path = f"{track.folder}/{number + 1:02d}-{mtat_layout.slug(track.title)}.wav"
    track_id = f"ART{artist.index:03d}T{number:02d}"
    return ArtistTrack(path=path, artist=artist.name, track_id=track_id, album=track.album, track=track)


def render(item, sample_rate=SAMPLE_RATE, seconds=CLIP_SECONDS):
    """Synthesise the opening ``seconds`` of a track as int16 samples (`demo_mtat.render`).

    Args:
        item: an `ArtistTrack`.
        sample_rate, seconds: output format.
    """
    return demo_mtat.render_opening(item.track, sample_rate, seconds, item.path)


def make_demo_artists(
    directory,
    num_artists=60,
    tracks_per_artist=10,
    clip_seconds=CLIP_SECONDS,
    sample_rate=SAMPLE_RATE,
    seed=0,
    workers=None,
    progress=True,
):
    """Write the synthetic artist-labelled dataset.

    Args:
        directory: output folder (created; files with the same names are replaced, others are
            left alone, so write into an empty folder). It receives ``audio/<artist>/*.wav``,
            ``artists.csv`` and, last, ``README.md``.
        num_artists: artists (default 60; the paper trains with 500 to 10,000).
        tracks_per_artist: tracks per artist (default 10, for a 6,2,2 split; the paper's is
            15,3,2 of 20).
        clip_seconds: the opening seconds of each track that are written (default 6 s).
        sample_rate: 22050 Hz by default, the converter's default rate.
        seed: the same arguments give the same files, byte for byte.
        workers: processes (default: all CPUs; 0 or 1 runs in this process).
        progress: show a tqdm progress bar.

    Returns:
        the list of `Artist` written (their tracks in ``artist.tracks``).

    Example:
        >>> from keras_samplecnn.datasets import make_demo_artists
        >>> artists = make_demo_artists("data/demo_artists")  # 600 tracks of 6 s, ~15 s on 2 cores
        >>> # then: python -m tfrecords_tools artists --audio-dir data/demo_artists/audio
        >>> #   --labels data/demo_artists/artists.csv --tracks-per-artist 6,2,2 --out data/demo_artists_tfr
    """
    if not clip_seconds > 0 or not sample_rate > 0:
        raise ValueError(f"clip_seconds and sample_rate must be positive, got {clip_seconds}, {sample_rate}")
    artists = plan(num_artists, tracks_per_artist, seed)
    directory = os.fspath(directory)
    items = [item for artist in artists for item in artist.tracks]
    jobs = [(f"{AUDIO_FOLDER}/{item.path}", render, (item, sample_rate, clip_seconds)) for item in items]
    write_audio(directory, jobs, sample_rate, workers, progress, "demo artist tracks", "track")
    rows = ((item.path, item.artist, item.track_id, item.album) for item in items)
    write_csv(os.path.join(directory, LABELS_FILE), rows, CSV_COLUMNS)  # one row per track
    write_text(os.path.join(directory, "README.md"), README)  # last: a finished dataset
    return artists


def add_arguments(parser):
    """The size options of ``python -m keras_samplecnn.datasets artists``."""
    parser.add_argument("--artists", dest="num_artists", type=int, default=60, help="number of artists (default 60)")
    parser.add_argument("--tracks", dest="tracks_per_artist", type=int, default=10, help="tracks per artist (default 10)")
    parser.add_argument("--seconds", dest="clip_seconds", type=float, default=CLIP_SECONDS, help="clip length (default 6)")
    parser.add_argument("--sample-rate", type=int, default=SAMPLE_RATE, help=f"Hz (default {SAMPLE_RATE})")


def main(argv=None):
    """``python -m keras_samplecnn.datasets artists DIR [--artists N] [--tracks N] ...``."""
    root, artists = command_line(argv, "artists", "Write the synthetic artist-labelled dataset (wavs + artists.csv).",
                                 add_arguments, make_demo_artists)  # fmt: skip
    tracks = len(artists[0].tracks)
    held_out = tracks // 5  # 6,2,2 for 10 tracks
    split = f"{tracks - 2 * held_out},{held_out},{held_out}"
    print(f"wrote {len(artists)} artists x {tracks} tracks to {root}")
    print(
        f"next: python -m tfrecords_tools artists --audio-dir {os.path.join(root, AUDIO_FOLDER)} --labels "
        f"{os.path.join(root, LABELS_FILE)} --tracks-per-artist {split} --out {root}_tfrecords"
    )
    return 0


artists_plan = plan  # the name `keras_samplecnn.datasets` exports
