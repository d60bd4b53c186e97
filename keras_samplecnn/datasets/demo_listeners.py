"""Synthetic listeners of the demo artists' songs, in the Taste Profile subset's layout ("demo listeners").

`make_demo_listeners` writes::

    directory/
      audio/<A>/<B>/<C>/<TRACKID>.wav   22050 Hz mono 16-bit PCM wavs, the opening seconds (5 s by
                                        default) of each song's track, in the Million Song
                                        Dataset's tree (A, B, C: the track id's 3rd-5th letters)
      unique_tracks.txt                 `track_id<SEP>song_id<SEP>artist<SEP>title`, one line a
                                        track (the MSD's track list)
      train_triplets.txt                `user<TAB>song_id<TAB>play count`, no header, grouped by
                                        user, each user's songs in song-id order (the Echo Nest
                                        Taste Profile subset)
      songs.csv                         song_id,track_id,artist,style,tags,popularity,has_audio
                                        (tags joined by `|`): the generator's truth, for checks and
                                        for tag-transfer experiments; no real dataset has it
      README.md                         written last: a finished dataset

Ids are in the real formats: MSD-like track ids (``TR`` + 5 letters + ``128F`` + 7 hex digits),
song ids (``SO`` + 5 letters + ``12A`` + 8 hex digits) and 40-hex user ids, drawn from the seed.
Nothing is downloaded. It exists to demonstrate DCUE, the deep content-user embedding (Lee, Lee,
Park, Park, Nam, "Deep Content-User Embedding Model for Music Recommendation", DLRS 2018,
arXiv:1807.06786): a model trained on user-song plays and song audio, so that a song nobody
has played yet (cold start) can be recommended from its audio. Here a listener's taste follows
what is audible (the songs' styles, tags and artists), so a model that hears only the audio
beats popularity on cold-start songs, while popularity still beats chance on warm songs.

Two imperfections of the real data are reproduced on purpose, so the converter's counts are
exercised too: `MISSING_AUDIO_FRACTION` of the catalogue's songs (2.5 %, at least one) have no
wav (they are in ``unique_tracks.txt`` and in the triplets), and `UNKNOWN_SONG_FRACTION` as many
extra song ids (2 %, at least one) appear only in ``train_triplets.txt``, played by 2-5 users
each, never in ``unique_tracks.txt``.

The songs
---------
The songs are `demo_artists` tracks (`demo_artists.artists_plan`, with a seed of its own, so
they are not the demo artists dataset's tracks for the same seed): one track per song, each
artist's tracks, its style and its MTAT tags (``track.tags``). A song's popularity is
log-normal, partly the artist's: ``log popularity = artist term N(0, 0.8) + song term N(0,
0.6)``, a Zipf-like spread of about 27x between the 5th and 95th percentiles.

The listener model
------------------
==========================  ===================================================================
drawn once per user         how
==========================  ===================================================================
style taste ``theta``       Dirichlet(`STYLE_CONCENTRATION` = 0.3) over the 19 styles of
                            `demo_mtat.STYLES`: sparse, most users like one to three styles
tag taste ``psi``           Dirichlet(`TAG_CONCENTRATION` = 0.1) over the top-50 MTAT tags
                            (`demo_mtat.demo_tags`): a few tags (e.g. ``female vocal``,
                            ``piano``) liked across styles
favourite artists           1-3 artists, drawn with probability ∝ theta[artist's style] x
                            artist popularity: mostly artists of the styles the user likes
activity                    the number of distinct songs played, log-normal (median 15,
                            sigma 0.7) rounded and clipped to [`MIN_SONGS`, `MAX_SONGS`] =
                            [5, 60] (and to the catalogue's size)
==========================  ===================================================================

A user's plays are the ``activity`` songs of highest score (Gumbel top-k: a draw without
replacement with probability ∝ exp of the rest of the score)::

    score(u, s) = theta_u[style_s] / STYLE_TEMPERATURE           (0.1)
                + psi_u . tags_s / TAG_TEMPERATURE               (0.5; tags_s: 0/1 over the top 50)
                + POPULARITY_BIAS * log popularity_s             (0.6)
                + FAVOURITE_ARTIST_BONUS * [artist_s favourite]  (2.0)
                + Gumbel(0, 1) noise

and each played pair's count is geometric (``>= 1``): mean ``1 / PLAY_COUNT_P`` = 2, and 3 on a
favourite artist's songs (`FAVOURITE_PLAY_COUNT_P`). The taste terms dominate (a liked style is
worth up to 10 units, popularity about 2 between its 5th and 95th percentiles), so audio that
reveals style, instrumentation and artist predicts plays of songs nobody played; popularity
still matters within a taste, so it beats chance on warm songs. With the defaults (seeds 0-2),
scoring a user's held-out plays by the share of the user's training plays in the song's style
gives a mean per-user ROC-AUC of 0.77-0.79 on warm songs and 0.76-0.79 on cold-start songs;
scoring by training listeners (popularity) gives 0.63-0.67 on warm songs and 0.5 on cold ones.
The main constants are keyword arguments of `plan` too.

Determinism
-----------
Songs, ids and users come from ``SeedSequence([seed, "LSTN", ...])`` streams; the same arguments
give the same plan, and byte-identical files (on the same platform and NumPy version), whatever
the number of workers. Every sound and every listener here is synthetic: recommendation
accuracies on it say nothing about real listeners.
"""

import dataclasses
import os

import numpy as np

from keras_samplecnn.datasets import demo_artists, demo_mtat, synth
from keras_samplecnn.datasets.writing import command_line, write_audio, write_csv, write_lines, write_text

SAMPLE_RATE = 22050
CLIP_SECONDS = 5.0
NUM_ARTISTS = 40
TRACKS_PER_ARTIST = 8
NUM_USERS = 300
AUDIO_FOLDER = "audio"
TRACKS_FILE = "unique_tracks.txt"
TRIPLETS_FILE = "train_triplets.txt"
SONGS_FILE = "songs.csv"
SEPARATOR = "<SEP>"
SONGS_COLUMNS = ("song_id", "track_id", "artist", "style", "tags", "popularity", "has_audio")

STYLE_CONCENTRATION = 0.3
TAG_CONCENTRATION = 0.1
STYLE_TEMPERATURE = 0.1
TAG_TEMPERATURE = 0.5
POPULARITY_BIAS = 0.6
ARTIST_POPULARITY_SIGMA = 0.8
SONG_POPULARITY_SIGMA = 0.6
FAVOURITE_ARTISTS = (1, 3)
FAVOURITE_ARTIST_BONUS = 2.0
ACTIVITY_MEDIAN = 15
ACTIVITY_SIGMA = 0.7
MIN_SONGS, MAX_SONGS = 5, 60
PLAY_COUNT_P = 0.5
FAVOURITE_PLAY_COUNT_P = 1 / 3
MISSING_AUDIO_FRACTION = 0.025
UNKNOWN_SONG_FRACTION = 0.02
UNKNOWN_SONG_LISTENERS = (2, 5)

_STREAM = 0x4C53544E  # "LSTN"
_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
_HEX = np.array(list("0123456789ABCDEF"))

README = """\
# Demo listeners (synthetic)

Synthetic listeners of synthetic songs, in the Echo Nest Taste Profile subset's layout, written by
`keras_samplecnn.datasets.make_demo_listeners` for recommendation from audio (DCUE; Lee et al.,
DLRS 2018). Nothing here was recorded or listened to: the songs are procedurally synthesised
demo-artist tracks, and each listener's plays follow a drawn taste for styles, tags and
favourite artists, with popularity bias and noise.

- `audio/<A>/<B>/<C>/<TRACKID>.wav`: 22050 Hz mono 16-bit wavs, the opening {seconds:g} s of each
  song's track, in the Million Song Dataset's tree
- `unique_tracks.txt`: `track_id<SEP>song_id<SEP>artist<SEP>title`, one line a track
- `train_triplets.txt`: `user<TAB>song_id<TAB>play count`, no header
- `songs.csv`: the generator's truth per song (`song_id,track_id,artist,style,tags,popularity,has_audio`,
  tags joined by `|`); no real dataset has it

Counts: {users} users, {songs} songs in `unique_tracks.txt`, {triplets} triplets. On purpose, like
the real data: {missing} listed songs have no audio file, and {unknown} song ids
({unknown_triplets} triplets) are in `train_triplets.txt` but not in `unique_tracks.txt`.

Recommendation accuracies on it say nothing about real listeners.
"""


@dataclasses.dataclass
class Song:
    """A catalogue song: its ids, the generator's truth, its wav path below ``audio/`` and the
    `demo_artists.ArtistTrack` it renders."""

    song_id: str
    track_id: str
    artist: str
    title: str
    style: str
    tags: tuple
    popularity: float
    has_audio: bool
    path: str
    item: demo_artists.ArtistTrack


@dataclasses.dataclass
class User:
    """A listener: its id and what it drew once (see the module docstring)."""

    user_id: str
    style_taste: np.ndarray  # over `ListenersPlan.styles`
    tag_taste: np.ndarray  # over `ListenersPlan.tags`
    favourite_artists: tuple
    activity: int


@dataclasses.dataclass
class ListenersPlan:
    """A demo-listeners dataset without audio.

    Attributes:
        songs: the catalogue, list of `Song` (the lines of ``unique_tracks.txt``, in order).
        users: list of `User`.
        unknown_songs: song ids played but not in the catalogue.
        triplets: ``(user_id, song_id, count)`` tuples, the lines of ``train_triplets.txt`` in order.
        styles, tags: the orders of the users' taste vectors.
    """

    songs: list
    users: list
    unknown_songs: list
    triplets: list
    styles: tuple
    tags: tuple

    @property
    def missing_audio(self):
        """The catalogue's song ids without a wav."""
        return [song.song_id for song in self.songs if not song.has_audio]

    @property
    def unknown_triplets(self):
        """The number of triplets whose song is not in the catalogue."""
        unknown = set(self.unknown_songs)
        return sum(song in unknown for _, song, _ in self.triplets)

    def counts(self):
        """``{"users", "songs", "triplets", "missing_audio", "unknown_songs", "unknown_triplets"}``."""
        return {
            "users": len(self.users), "songs": len(self.songs), "triplets": len(self.triplets),
            "missing_audio": len(self.missing_audio), "unknown_songs": len(self.unknown_songs),
            "unknown_triplets": self.unknown_triplets,
        }  # fmt: skip


def msd_path(track_id, extension=".wav"):
    """A track's path in the MSD tree: ``<tid[2]>/<tid[3]>/<tid[4]>/<TRACKID><extension>``."""
    return f"{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}{extension}"


def _track_id(rng):
    # Like TRMMMYQ128F932D901: 5 letters, then hex digits that mostly start with 128F.
    return "TR" + "".join(rng.choice(_LETTERS, 5)) + "128F" + "".join(rng.choice(_HEX, 7))


def _song_id(rng):
    # Like SOQMMHC12AB0180CB8: 5 letters, then hex digits that mostly start with 12A.
    return "SO" + "".join(rng.choice(_LETTERS, 5)) + "12A" + "".join(rng.choice(_HEX, 8))


def _user_id(rng):
    return "".join(rng.choice(_HEX, 40)).lower()


def plan(
    num_artists=NUM_ARTISTS,
    tracks_per_artist=TRACKS_PER_ARTIST,
    num_users=NUM_USERS,
    seed=0,
    *,
    style_concentration=STYLE_CONCENTRATION,
    tag_concentration=TAG_CONCENTRATION,
    style_temperature=STYLE_TEMPERATURE,
    tag_temperature=TAG_TEMPERATURE,
    popularity_bias=POPULARITY_BIAS,
    favourite_artist_bonus=FAVOURITE_ARTIST_BONUS,
    missing_audio_fraction=MISSING_AUDIO_FRACTION,
    unknown_song_fraction=UNKNOWN_SONG_FRACTION,
):
    """Draw the songs, listeners and plays of a demo-listeners dataset, without audio (cheap).

    Args:
        num_artists: demo artists (>= 2); each has ``tracks_per_artist`` songs (>= 1).
        num_users: listeners (>= 1).
        seed: integer seed; the same arguments give the same plan.
        style_concentration, tag_concentration, style_temperature, tag_temperature,
        popularity_bias, favourite_artist_bonus: the listener model's parameters (module
            docstring); a huge temperature and zero bonus leave popularity and noise only.
        missing_audio_fraction: share of the catalogue's songs without a wav (at least one when
            positive).
        unknown_song_fraction: extra song ids, as a share of the catalogue, played but not in it
            (at least one when positive).

    Returns:
        a `ListenersPlan`.
    """
    if num_users < 1:
        raise ValueError(f"num_users must be >= 1, got {num_users}")
    if not 0 <= missing_audio_fraction < 1 or not 0 <= unknown_song_fraction < 1:
        raise ValueError(
            f"fractions must be in [0, 1), got {missing_audio_fraction}, {unknown_song_fraction}"
        )
    # A seed of its own for the artists: these songs are not the demo artists dataset's tracks.
    artists = demo_artists.plan(num_artists, tracks_per_artist, seed=(_STREAM << 32) + seed)
    styles = tuple(demo_mtat.STYLES)
    tags = tuple(demo_mtat.demo_tags())
    rng = synth.stream_rng(seed, _STREAM)

    # The catalogue: one track per song, ids in the real formats, Zipf-like popularity.
    items = [item for artist in artists for item in artist.tracks]
    used = set()
    track_ids = synth.draw_ids(rng, len(items), _track_id, used)
    song_ids = synth.draw_ids(rng, len(items), _song_id, used)
    artist_term = rng.normal(0.0, ARTIST_POPULARITY_SIGMA, len(artists))
    song_term = rng.normal(0.0, SONG_POPULARITY_SIGMA, len(items))
    artist_of = np.repeat(np.arange(len(artists)), tracks_per_artist)
    popularity = np.exp(artist_term[artist_of] + song_term)
    num_missing = max(1, round(missing_audio_fraction * len(items))) if missing_audio_fraction > 0 else 0
    missing = set(rng.choice(len(items), num_missing, replace=False).tolist())
    songs = [
        Song(song_id=song_ids[i], track_id=track_ids[i], artist=item.artist, title=item.track.title,
             style=item.track.style, tags=tuple(item.track.tags), popularity=round(float(popularity[i]), 4),
             has_audio=i not in missing, path=msd_path(track_ids[i]), item=item)
        for i, item in enumerate(items)
    ]  # fmt: skip
    style_of = np.array([styles.index(song.style) for song in songs])
    tag_matrix = np.array([[tag in song.tags for tag in tags] for song in songs], dtype=np.float64)
    log_popularity = np.log([song.popularity for song in songs])
    artist_popularity = np.exp(artist_term)

    # The listeners and their plays (Gumbel top-k: without replacement, probability ∝ exp(score)).
    user_ids = synth.draw_ids(rng, num_users, _user_id, set())
    users, plays = [], []
    for user_id in user_ids:
        style_taste = rng.dirichlet(np.full(len(styles), style_concentration))
        tag_taste = rng.dirichlet(np.full(len(tags), tag_concentration))
        weights = style_taste[[styles.index(a.style) for a in artists]] * artist_popularity + 1e-12
        num_favourites = int(rng.integers(FAVOURITE_ARTISTS[0], FAVOURITE_ARTISTS[1] + 1))
        favourites = rng.choice(len(artists), min(num_favourites, len(artists)), replace=False,
                                p=weights / weights.sum())  # fmt: skip
        activity = int(
            np.clip(round(ACTIVITY_MEDIAN * np.exp(rng.normal(0.0, ACTIVITY_SIGMA))), MIN_SONGS, MAX_SONGS)
        )
        activity = min(activity, len(songs))
        favourite = np.isin(artist_of, favourites)
        score = (
            style_taste[style_of] / style_temperature
            + tag_matrix @ tag_taste / tag_temperature
            + popularity_bias * log_popularity
            + favourite_artist_bonus * favourite
            + rng.gumbel(size=len(songs))
        )
        played = np.argsort(-score, kind="stable")[:activity]
        counts = np.where(favourite[played], rng.geometric(FAVOURITE_PLAY_COUNT_P, activity),
                          rng.geometric(PLAY_COUNT_P, activity))  # fmt: skip
        users.append(User(user_id=user_id, style_taste=style_taste, tag_taste=tag_taste,
                          favourite_artists=tuple(artists[a].name for a in sorted(favourites)),
                          activity=activity))  # fmt: skip
        plays.append({songs[s].song_id: int(c) for s, c in zip(played, counts)})

    # Songs outside the catalogue, each played by a few users (as in the real triplets).
    num_unknown = max(1, round(unknown_song_fraction * len(songs))) if unknown_song_fraction > 0 else 0
    unknown_songs = synth.draw_ids(rng, num_unknown, _song_id, used)
    for song_id in unknown_songs:
        low, high = UNKNOWN_SONG_LISTENERS
        listeners = rng.choice(num_users, min(int(rng.integers(low, high + 1)), num_users), replace=False)
        for u in sorted(listeners.tolist()):
            plays[u][song_id] = int(rng.geometric(PLAY_COUNT_P))
    triplets = [
        (user.user_id, song, plays[u][song]) for u, user in enumerate(users) for song in sorted(plays[u])
    ]
    return ListenersPlan(
        songs=songs, users=users, unknown_songs=unknown_songs, triplets=triplets, styles=styles, tags=tags
    )


def render(song, sample_rate=SAMPLE_RATE, seconds=CLIP_SECONDS):
    """The opening ``seconds`` of a song's track as int16 samples (`demo_artists.render`).

    Args:
        song: a `Song` of `plan`.
        sample_rate, seconds: output format.
    """
    return demo_artists.render(song.item, sample_rate, seconds)


def make_demo_listeners(
    directory,
    num_artists=NUM_ARTISTS,
    tracks_per_artist=TRACKS_PER_ARTIST,
    num_users=NUM_USERS,
    seconds=CLIP_SECONDS,
    seed=0,
    workers=None,
    progress=True,
    sample_rate=SAMPLE_RATE,
):
    """Write the synthetic Taste-Profile-layout dataset (see the module docstring).

    Args:
        directory: output folder (created; files with the same names are replaced, others left
            alone, so write into an empty folder). It receives ``audio/``, ``unique_tracks.txt``,
            ``train_triplets.txt``, ``songs.csv`` and, last, ``README.md``.
        num_artists, tracks_per_artist: the catalogue, one song per track (default 40 x 8 = 320).
        num_users: listeners (default 300).
        seconds: the opening seconds of each track that are written (default 5 s).
        seed: the same arguments give the same files, byte for byte.
        workers: processes (default: all CPUs; 0 or 1 runs in this process).
        progress: show a tqdm progress bar.
        sample_rate: 22050 Hz by default.

    Returns:
        the `ListenersPlan` written; ``plan.counts()`` gives the numbers in the README.

    Example:
        >>> from keras_samplecnn.datasets import make_demo_listeners
        >>> plan = make_demo_listeners("data/demo_listeners")  # 320 songs of 5 s, 11-25 s on 2 cores
        >>> plan.counts()["missing_audio"], plan.counts()["unknown_songs"]
        (8, 6)
    """
    if not seconds > 0 or not sample_rate > 0:
        raise ValueError(f"seconds and sample_rate must be positive, got {seconds}, {sample_rate}")
    drawn = plan(num_artists, tracks_per_artist, num_users, seed)
    directory = os.fspath(directory)
    items = [(f"{AUDIO_FOLDER}/{song.path}", render, (song, sample_rate, seconds)) for song in drawn.songs if song.has_audio]
    write_audio(directory, items, sample_rate, workers, progress, "demo listener songs", "song")
    write_lines(os.path.join(directory, TRACKS_FILE),
                (SEPARATOR.join((song.track_id, song.song_id, song.artist, song.title)) for song in drawn.songs))  # fmt: skip
    write_lines(os.path.join(directory, TRIPLETS_FILE), (f"{u}\t{s}\t{c}" for u, s, c in drawn.triplets))
    rows = ((s.song_id, s.track_id, s.artist, s.style, "|".join(s.tags), f"{s.popularity:.4f}",
             int(s.has_audio)) for s in drawn.songs)  # fmt: skip
    write_csv(os.path.join(directory, SONGS_FILE), rows, SONGS_COLUMNS)
    counts = drawn.counts()
    readme = README.format(
        seconds=seconds, users=counts["users"], songs=counts["songs"], triplets=counts["triplets"],
        missing=counts["missing_audio"], unknown=counts["unknown_songs"],
        unknown_triplets=counts["unknown_triplets"],
    )  # fmt: skip
    write_text(os.path.join(directory, "README.md"), readme)  # last: a finished dataset
    return drawn


def add_arguments(parser):
    """The size options of ``python -m keras_samplecnn.datasets listeners``."""
    parser.add_argument("--artists", dest="num_artists", type=int, default=NUM_ARTISTS,
                        help=f"number of artists (default {NUM_ARTISTS})")  # fmt: skip
    parser.add_argument("--tracks", dest="tracks_per_artist", type=int, default=TRACKS_PER_ARTIST,
                        help=f"songs per artist (default {TRACKS_PER_ARTIST})")  # fmt: skip
    parser.add_argument("--users", dest="num_users", type=int, default=NUM_USERS, help=f"listeners (default {NUM_USERS})")
    parser.add_argument("--seconds", type=float, default=CLIP_SECONDS, help=f"clip length (default {CLIP_SECONDS:g})")
    parser.add_argument("--sample-rate", type=int, default=SAMPLE_RATE, help=f"Hz (default {SAMPLE_RATE})")


def main(argv=None):
    """``python -m keras_samplecnn.datasets listeners DIR [--artists N] [--tracks T] [--users U] ...``."""
    description = "Write the synthetic Taste-Profile-layout dataset (wavs, unique_tracks.txt, train_triplets.txt, songs.csv)."
    root, drawn = command_line(argv, "listeners", description, add_arguments, make_demo_listeners)
    counts = drawn.counts()
    print(f"wrote {counts['users']} users, {counts['songs']} songs ({counts['missing_audio']} without audio), "
          f"{counts['triplets']} triplets ({counts['unknown_triplets']} of {counts['unknown_songs']} unknown songs) "
          f"to {root}")  # fmt: skip
    return 0


listeners_plan = plan  # the name `keras_samplecnn.datasets` exports
