"""The synthetic Speech Commands demo: the v0.02 layout, the split rule, determinism, the real
converter's plan, and a non-deep baseline showing the words need more than loudness, length or
a time-averaged spectrum."""

import collections
import hashlib
import os
import re

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.datasets import demo_speech_commands, make_demo_speech_commands
from tests import helpers
from tfrecords_tools import speech_commands

WORDS = ("yes", "no", "tree", "three")
CLIPS_PER_WORD = 10
FILE_NAME = re.compile(r"^[0-9a-f]{8}_nohash_(\d+)\.wav$")
BACKGROUND = {
    "white_noise.wav",
    "pink_noise.wav",
    "running_tap.wav",
    "doing_the_dishes.wav",
    "exercise_bike.wav",
    "dude_miaowing.wav",
}


def expected_split(path):
    """The dataset's rule, written out again here: SHA-1 of the name before ``_nohash_``."""
    speaker = os.path.basename(path).split("_nohash_")[0]
    percentage = (int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 2**27) * 100.0 / (2**27 - 1)
    return "validation" if percentage < 10 else "testing" if percentage < 20 else "training"


def read_list(path):
    with open(path, "rb") as handle:
        data = handle.read()
    assert b"\r" not in data and (data == b"" or data.endswith(b"\n"))
    lines = data.decode("utf-8").split("\n")[:-1]
    assert all(lines) and lines == sorted(lines)
    return lines


def word_files(root):
    """{relative path: word} of every wav in a word folder."""
    out = {}
    for word in sorted(os.listdir(root)):
        folder = os.path.join(root, word)
        if os.path.isdir(folder) and word != "_background_noise_":
            for name in os.listdir(folder):
                out[f"{word}/{name}"] = word
    return out




@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("demo_sc"))
    files = make_demo_speech_commands(
        root, clips_per_word=CLIPS_PER_WORD, words=WORDS, seed=5, workers=1, progress=False
    )
    return root, files


def test_layout_folders_names_and_audio(demo):
    root, _ = demo
    assert set(os.listdir(root)) == set(WORDS) | {
        "_background_noise_",
        "validation_list.txt",
        "testing_list.txt",
        "README.md",
        "LICENSE",
    }
    files = word_files(root)
    assert len(files) == CLIPS_PER_WORD * len(WORDS)
    reps = collections.defaultdict(list)  # (word, speaker) -> repetition numbers
    lengths = []
    for path in files:
        word, name = path.split("/")
        match = FILE_NAME.match(name)
        assert match, path
        reps[word, name[:8]].append(int(match.group(1)))
        info = sf.info(os.path.join(root, path))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
        audio, _ = sf.read(os.path.join(root, path), dtype="int16")
        assert audio.dtype == np.int16 and 0.6 * 16000 <= len(audio) <= 16000
        assert np.abs(audio.astype(np.int32)).max() > 300  # not silent
        lengths.append(len(audio))
    # Each speaker says a word 1-3 times, numbered from 0.
    assert all(sorted(r) == list(range(len(r))) and len(r) <= 3 for r in reps.values())
    assert sum(n == 16000 for n in lengths) >= 0.7 * len(lengths)


def test_background_noise_and_readmes(demo):
    root, _ = demo
    folder = os.path.join(root, "_background_noise_")
    assert set(os.listdir(folder)) == BACKGROUND | {"README.md"}
    for name in BACKGROUND:
        audio, rate = sf.read(os.path.join(folder, name), dtype="int16")
        assert rate == 16000 and audio.ndim == 1 and len(audio) >= 20 * 16000
        assert 300 < np.std(audio.astype(np.float64)) < 16000
    for path in ("README.md", "LICENSE", "_background_noise_/README.md"):
        with open(os.path.join(root, path), encoding="utf-8") as handle:
            assert "synthetic" in handle.read().lower()


def test_split_lists_follow_the_hashing_rule(demo):
    root, files = demo
    validation = read_list(os.path.join(root, "validation_list.txt"))
    testing = read_list(os.path.join(root, "testing_list.txt"))
    assert not set(validation) & set(testing)
    on_disk = word_files(root)
    assert set(validation) | set(testing) <= set(on_disk)
    listed = {**{p: "validation" for p in validation}, **{p: "testing" for p in testing}}
    for path in on_disk:
        assert listed.get(path, "training") == expected_split(path), path
    # Every file of a speaker in one split, across words.
    splits = collections.defaultdict(set)
    for path in on_disk:
        splits[os.path.basename(path)[:8]].add(listed.get(path, "training"))
    assert all(len(s) == 1 for s in splits.values())
    # The returned summary describes the same files.
    assert {f.path: f.split for f in files} == {p: listed.get(p, "training") for p in on_disk}
    assert all(f.word == f.path.split("/")[0] for f in files)


def test_which_set_matches_the_formula():
    rng = np.random.default_rng(0)
    names = [f"{rng.integers(2**32):08x}_nohash_{rng.integers(3)}.wav" for _ in range(2000)]
    assert [demo_speech_commands.which_set(n) for n in names] == [expected_split(n) for n in names]
    counts = collections.Counter(expected_split(n) for n in names)
    assert 150 < counts["validation"] < 250 and 150 < counts["testing"] < 250
    assert demo_speech_commands.which_set("yes/0a7c2a8d_nohash_2.wav") == expected_split("0a7c2a8d")


def test_the_real_converter_plans_it(demo):
    root, _ = demo
    plan = speech_commands.plan(root)
    assert plan.tags == sorted(WORDS)
    assert not plan.rejected
    counts = collections.Counter(job.split for job in plan.jobs)
    assert counts["valid"] == len(read_list(os.path.join(root, "validation_list.txt")))
    assert counts["test"] == len(read_list(os.path.join(root, "testing_list.txt")))
    assert sum(counts.values()) == CLIPS_PER_WORD * len(WORDS)
    for job in plan.jobs:
        assert plan.tags[int(np.argmax(job.labels))] == job.path.split("/")[0]


def test_same_arguments_same_bytes_whatever_the_workers(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    kwargs = {"clips_per_word": 3, "words": ("go", "no"), "seed": 2, "progress": False}
    make_demo_speech_commands(first, workers=1, **kwargs)
    make_demo_speech_commands(second, workers=2, **kwargs)
    a, b = helpers.folder_digest(first), helpers.folder_digest(second)
    assert a == b and len(a) == 6 + 2 * 3 + 5
    assert not any(name.endswith(".part") for name in a)
    third = tmp_path / "c"
    make_demo_speech_commands(third, workers=1, **{**kwargs, "seed": 3})
    assert helpers.folder_digest(third)["go/" + min(os.listdir(third / "go"))] not in a.values()


def test_speakers_repetitions_lengths_and_splits_at_full_size():
    files, speakers = demo_speech_commands.plan(60, None, 0)
    assert len(files) == 35 * 60 and len({f.path for f in files}) == len(files)
    assert sorted({f.word for f in files}) == sorted(demo_speech_commands.WORDS)
    words_of = collections.defaultdict(set)
    for f in files:
        words_of[f.speaker_id].add(f.word)
    assert set(words_of) == set(speakers)
    shared = sum(len(w) > 1 for w in words_of.values()) / len(words_of)
    assert 0.1 <= shared <= 0.2, shared
    short = np.mean([f.num_samples < 16000 for f in files])
    assert 0.06 < short < 0.14 and min(f.num_samples for f in files) >= 9600
    split = collections.Counter(f.split for f in files)
    assert 0.05 < split["validation"] / len(files) < 0.15 and 0.05 < split["testing"] / len(files) < 0.15
    assert all(f.split == expected_split(f.path) for f in files)
    male = [s.f0 for s in speakers.values() if not s.female]
    female = [s.f0 for s in speakers.values() if s.female]
    assert 90 <= min(male) and max(male) <= 150 and 160 <= min(female) and max(female) <= 260
    assert all(0.85 <= s.formant_scale <= 1.2 and 0.8 <= s.rate <= 1.2 for s in speakers.values())


def test_bad_arguments(tmp_path):
    for kwargs in (
        {"clips_per_word": 0},
        {"words": ()},
        {"words": ("yes", "yes")},
        {"words": ("_background_noise_",)},
        {"words": ("Yes",)},
    ):
        with pytest.raises(ValueError):
            make_demo_speech_commands(tmp_path / "x", progress=False, workers=1, **kwargs)


# -- the words need temporal structure --------------------------------------------------------


def _mel_filterbank(n_fft=512, n_mels=40, rate=16000):
    def mel(hz):
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges = 700.0 * (10.0 ** (np.linspace(mel(20.0), mel(rate / 2), n_mels + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))


_MEL = _mel_filterbank()


def clip_features(audio, segments=5):
    """Three views of a clip: its time-averaged log-mel spectrum; log-mel means over
    ``segments`` equal parts of the part above -25 dB of the loudest frame (temporal order);
    and its loudness and lengths only."""
    x = np.pad(audio.astype(np.float64) / 32768.0, (0, max(0, 16000 - len(audio))))
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::160] * np.hanning(512)
    power = np.abs(np.fft.rfft(frames)) ** 2
    logmel = np.log(power @ _MEL.T + 1e-10)
    energy = 10.0 * np.log10(power.sum(axis=1) + 1e-12)
    active = np.flatnonzero(energy > energy.max() - 25.0)
    span = logmel[active[0] : active[-1] + 1]
    temporal = np.concatenate([part.mean(axis=0) for part in np.array_split(span, segments)])
    level = 10.0 * np.log10(np.mean(x[: len(audio)] ** 2) + 1e-12)
    return logmel.mean(axis=0), temporal, np.array([level, len(span), len(audio)])


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
def test_words_need_more_than_level_length_or_a_time_averaged_spectrum(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # Twelve words with confusable pairs (go / no, on / off, four / forward, tree / three, ...).
    words = ("yes", "no", "go", "on", "off", "four", "forward", "tree", "three", "bed", "bird", "six")
    root = tmp_path / "sc"
    files = make_demo_speech_commands(root, clips_per_word=40, words=words, seed=1, workers=1, progress=False)
    views = [clip_features(sf.read(root / f.path, dtype="int16")[0]) for f in files]
    labels = np.array([words.index(f.word) for f in files])
    speakers = np.array([f.speaker_id for f in files])
    accuracy = {}
    for index, name in enumerate(("pooled", "temporal", "level_length")):
        features = np.array([v[index] for v in views])
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000))
        # Held-out speakers, as in the real splits.
        predicted = cross_val_predict(model, features, labels, groups=speakers, cv=GroupKFold(5))
        accuracy[name] = float(np.mean(predicted == labels))
    chance = 1.0 / len(words)
    print(
        f"chance {chance:.3f}, logistic regression on: "
        + ", ".join(f"{k} {v:.3f}" for k, v in accuracy.items())
    )
    assert accuracy["level_length"] < 2 * chance, accuracy  # no shortcut through loudness or length
    assert 3 * chance < accuracy["pooled"] < 0.9, accuracy  # the spectrum helps, but not alone
    assert accuracy["temporal"] > accuracy["pooled"] + 0.05, accuracy  # and temporal order matters
