"""The MagnaTagATune (MTAT) on-disk layout: tag columns, file names, CSV dialect, folder split.

What MTAT ships (Law et al., ISMIR 2009), read by the converter (`tfrecords_tools.mtat`) and
reproduced byte for byte in format by the demo generator (`keras_samplecnn.datasets.demo_mtat`):

- ``0/`` ... ``f/``: 16 folders of 29.1-s mono mp3 clips, 16 kHz, named
  ``<folder>/<artist>-<album>-<track>-<title>-<start>-<end>.mp3`` (lowercase, words joined
  by underscores, the six fields joined by hyphens; ``start``/``end`` in seconds: 0-29,
  30-59, 59-88, 88-117, ... for consecutive segments of one track).
- ``annotations_final.csv``: tab separated, every field double-quoted; ``"clip_id"``, the
  188 tag columns below (values ``"0"``/``"1"``), ``"mp3_path"``.
- ``clip_info_final.csv``: tab separated, quoted; ``clip_id``, ``track_number``, ``title``,
  ``artist``, ``album``, ``url``, ``segmentStart``, ``segmentEnd``, ``original_url``,
  ``mp3_path``.
- The split used by the SampleCNN papers: folders ``0``-``b`` train, ``c`` valid, ``d``-``f``
  test.
"""

import re

# The 188 tag columns of annotations_final.csv, in the header's order (MTAT's own spelling,
# including its duplicates in meaning such as "no vocal" / "no vocals" / "no voice" and its
# misspellings "clasical", "harpsicord").
MTAT_TAG_COLUMNS = (
    "no voice", "singer", "duet", "plucking", "hard rock", "world", "bongos", "harpsichord",
    "female singing", "clasical", "sitar", "chorus", "female opera", "male vocal", "vocals",
    "clarinet", "heavy", "silence", "beats", "men", "woodwind", "funky", "no strings", "chimes",
    "foreign", "no piano", "horns", "classical", "female", "no voices", "soft rock", "eerie",
    "spacey", "jazz", "guitar", "quiet", "no beat", "banjo", "electric", "solo", "violins",
    "folk", "female voice", "wind", "happy", "ambient", "new age", "synth", "funk",
    "no singing", "middle eastern", "trumpet", "percussion", "drum", "airy", "voice",
    "repetitive", "birds", "space", "strings", "bass", "harpsicord", "medieval", "male voice",
    "girl", "keyboard", "acoustic", "loud", "classic", "string", "drums", "electronic",
    "not classical", "chanting", "no violin", "not rock", "no guitar", "organ", "no vocal",
    "talking", "choral", "weird", "opera", "soprano", "fast", "acoustic guitar",
    "electric guitar", "male singer", "man singing", "classical guitar", "country", "violin",
    "electro", "reggae", "tribal", "dark", "male opera", "no vocals", "irish", "electronica",
    "horn", "operatic", "arabic", "lol", "low", "instrumental", "trance", "chant", "strange",
    "drone", "synthesizer", "heavy metal", "modern", "disco", "bells", "man", "deep",
    "fast beat", "industrial", "hard", "harp", "no flute", "jungle", "pop", "lute",
    "female vocal", "oboe", "mellow", "orchestral", "viola", "light", "echo", "piano", "celtic",
    "male vocals", "orchestra", "eastern", "old", "flutes", "punk", "spanish", "sad", "sax",
    "slow", "male", "blues", "vocal", "indian", "no singer", "scary", "india", "woman",
    "woman singing", "rock", "dance", "piano solo", "guitars", "no drums", "jazzy", "singing",
    "cello", "calm", "female vocals", "voices", "different", "techno", "clapping", "house",
    "monks", "flute", "not opera", "not english", "oriental", "beat", "upbeat", "soft", "noise",
    "choir", "female singer", "rap", "metal", "hip hop", "quick", "water", "baroque", "women",
    "fiddle", "english",
)  # fmt: skip

ANNOTATIONS_FILE = "annotations_final.csv"
CLIP_INFO_FILE = "clip_info_final.csv"
CLIP_INFO_COLUMNS = (
    "clip_id", "track_number", "title", "artist", "album", "url", "segmentStart",
    "segmentEnd", "original_url", "mp3_path",
)  # fmt: skip

FOLDERS = tuple("0123456789abcdef")
SPLIT_OF_FOLDER = {f: ("train" if f in "0123456789ab" else "valid" if f == "c" else "test") for f in FOLDERS}
MTAT_CLIP_SECONDS = 29.1
MTAT_SAMPLE_RATE = 16000


def load_top50_tags():
    """The reference MTAT top-50 tags (most frequent first), from the package resources."""
    from importlib import resources

    text = resources.files("keras_samplecnn").joinpath("resources/mtat_top50_tags.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def segment_bounds(index):
    """(start, end) seconds in the file name of a track's ``index``-th 29-s segment, as MTAT
    writes them: 0-29, 30-59, 59-88, 88-117, ..."""
    start = 0 if index == 0 else 29 * index + 1
    return start, start + 29


def slug(text):
    """MTAT's file-name spelling: lowercase, anything but letters and digits becomes ``_``."""
    return re.sub(r"[^a-z0-9]", "_", text.lower())


def clip_path(folder, artist, album, track_number, title, index):
    """``<folder>/<artist>-<album>-<NN>-<title>-<start>-<end>.mp3``."""
    start, end = segment_bounds(index)
    fields = (slug(artist), slug(album), f"{track_number:02d}", slug(title), str(start), str(end))
    return f"{folder}/" + "-".join(fields) + ".mp3"


def quoted_tsv_line(fields):
    """One CSV line in MTAT's dialect: tab separated, every field in double quotes."""
    return "\t".join('"' + str(field).replace('"', '""') + '"' for field in fields) + "\n"
