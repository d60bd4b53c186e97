"""Every demo maker writes the same bytes as before for the same arguments, and every demo has a
command line.

`DIGESTS` were recorded from the demo synthesisers before they were refactored into one pattern
(plan / render / write / add_arguments): one SHA-256 over every file a small demo writes (sorted
relative paths and bytes). A refactor that changes no byte keeps them; a deliberate change of a
demo's audio or layout updates them (the mp3 bytes depend on the LAME version, the rest on the
NumPy version). No file holds a timestamp (`demo_msd`'s Last.fm JSON carries a fixed one); the
one environment stamp is the SQLite header's "library version that last wrote the file" (bytes
96-99 of `lastfm_tags.db`), which depends on which SQLite the process loaded first (TensorFlow
bundles its own), so it is zeroed before hashing; every other byte counts.
"""

import hashlib
import os

import pytest

from keras_samplecnn.datasets import (
    make_demo_artists,
    make_demo_dcase2017,
    make_demo_gtzan,
    make_demo_listeners,
    make_demo_msd,
    make_demo_mtat,
    make_demo_speech_commands,
)
from keras_samplecnn.datasets.__main__ import main as datasets_main
from keras_samplecnn.datasets.demo_speech_commands import WORDS
from tfrecords_tools import registry

QUIET = {"workers": 0, "progress": False}

# The smallest sizes that still write every kind of file each layout has.
MAKERS = {
    # 100 clips, seed 6: every style, instrument and most part options of the music synthesiser.
    "mtat": lambda d: make_demo_mtat(d, n_clips=100, clip_seconds=1.0, seed=6, **QUIET),
    # Every word of the lexicon, and one spelt out letter by letter.
    "speech-commands": lambda d: make_demo_speech_commands(d, clips_per_word=2, words=WORDS + ("zork",), seed=2, **QUIET),
    # Every class in every split, short clips and missing downloads.
    "dcase2017": lambda d: make_demo_dcase2017(d, 40, 17, 17, clip_seconds=3.0, sample_rate=8000, seed=5, **QUIET),
    "gtzan": lambda d: make_demo_gtzan(d, clips_per_genre=2, clip_seconds=1.0, sample_rate=8000, seed=1, **QUIET),
    "artists": lambda d: make_demo_artists(d, 2, 2, 1.0, sample_rate=8000, seed=4, **QUIET),
    "listeners": lambda d: make_demo_listeners(d, 2, 3, 5, 0.5, seed=1, sample_rate=8000, **QUIET),
    "msd": lambda d: make_demo_msd(d, n_tracks=20, seed=6, clip_seconds=0.5, **QUIET),
}

DIGESTS = {
    "mtat": "ee7c53b7e5b0f29d06b9b4557087b0afeee09504d9e5a8fc855fc8986bf4ecd9",
    "speech-commands": "825e15249cfb508e35fd7ce4e828160cbf78aa2e64caaecb2501abab87d69abe",
    "dcase2017": "99554564ff13c9e3aa95b00d3fdd4e6641be2272ce1662ec5a7edb44fd65478a",
    "gtzan": "ccd2accb48539d6b0d5b76edfb639d39d28bcf3da9ade72678064ff5406ff450",
    "artists": "5f72cd2448a65cd977d64c53c9c3a69c0b0daf17752ab0203a5ce7779ab4d4b6",
    "listeners": "5d226c353671e3d37209d55864ec10cb80cf0cc0def78192685a4961b1ad93a3",
    "msd": "c20613c21909dd12ac20b333f5682044ca5cdd79864c0844d9f7f58ce28c5f67",
}


def tree_digest(root):
    """One SHA-256 over every file below `root`: its relative path (with `/`), then its bytes."""
    paths = sorted(
        os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
        for folder, _, names in os.walk(root)
        for name in names
    )
    digest = hashlib.sha256()
    for path in paths:
        with open(os.path.join(root, *path.split("/")), "rb") as handle:
            data = handle.read()
        if data.startswith(b"SQLite format 3\0"):
            data = data[:96] + bytes(4) + data[100:]  # SQLITE_VERSION_NUMBER: the loaded library's
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def test_every_demo_has_a_digest():
    assert set(MAKERS) == set(DIGESTS) == set(registry.demos())


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_demo_bytes_are_unchanged(name, tmp_path):
    root = str(tmp_path / name)
    MAKERS[name](root)
    assert tree_digest(root) == DIGESTS[name]


# Each demo's command at a tiny size; one of the files that mark its layout must be written (the
# registry's markers, else the README every demo writes last).
COMMANDS = {
    "mtat": ["--clips", "2", "--seconds", "0.5"],
    "speech-commands": ["--clips-per-word", "1", "--words", "yes", "no"],
    "dcase2017": ["--train", "2", "--test", "1", "--eval", "1", "--seconds", "1", "--sample-rate", "8000"],
    "gtzan": ["--clips-per-genre", "1", "--seconds", "0.5", "--sample-rate", "8000"],
    "artists": ["--artists", "2", "--tracks", "1", "--seconds", "0.25"],
    "listeners": ["--artists", "2", "--tracks", "2", "--users", "3", "--seconds", "0.25"],
    "msd": ["--tracks", "20", "--seconds", "0.25", "--keyings", "msd-flat"],
}


def _markers(name):
    dataset = next(d for d in registry.DATASETS.values() if d.demo is not None and d.demo.name == name)
    return dataset.markers or ("README.md",)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_demo_has_a_command(name, tmp_path, capsys):
    assert set(COMMANDS) == set(registry.demos())
    out = tmp_path / name
    assert datasets_main([name, str(out), *COMMANDS[name], "--seed", "1", "--workers", "0", "--no-progress"]) == 0
    assert any((out / marker).exists() for marker in _markers(name))
    assert str(out) in capsys.readouterr().out
    assert registry.demos()[name].main() is not None


def test_without_a_demo_name_it_is_demo_mtat(tmp_path):
    assert datasets_main([str(tmp_path / "m"), "--clips", "1", "--seconds", "0.5", "--workers", "0", "--no-progress"]) == 0
    assert (tmp_path / "m" / "annotations_final.csv").exists()


def test_help_lists_the_demos(capsys):
    assert datasets_main(["--help"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in registry.demos())
