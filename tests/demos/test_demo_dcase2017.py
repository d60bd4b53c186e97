"""The synthetic DCASE 2017 Task 4 demo: the release's file names and text formats (parsed here
independently of the generator), the audio format, missing downloads, class coverage,
determinism, and that the classes are learnable but not trivially so."""

import csv
import hashlib
import itertools
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from keras_samplecnn.datasets import demo_dcase2017, make_demo_dcase2017, writing
from tests import helpers

N_TRAIN, N_TEST, N_EVAL = 68, 34, 34  # 4 / 2 / 2 clips of every class at least
SECONDS = 3.0
RATE = 8000
SEED = 5

# The class list as published (sound_event_list_17_classes.txt), typed in here, not imported.
EXPECTED_CLASSES = {
    "/m/0284vy3": "Train horn",
    "/m/05x_td": "Air horn, truck horn",
    "/m/02mfyn": "Car alarm",
    "/m/02rhddq": "Reversing beeps",
    "/m/0199g": "Bicycle",
    "/m/06_fw": "Skateboard",
    "/m/012n7d": "Ambulance (siren)",
    "/m/012ndj": "Fire engine, fire truck (siren)",
    "/m/0dgbq": "Civil defense siren",
    "/m/04qvtq": "Police car (siren)",
    "/m/03qc9zr": "Screaming",
    "/m/0k4j": "Car",
    "/t/dd00134": "Car passing by",
    "/m/01bjv": "Bus",
    "/m/07r04": "Truck",
    "/m/04_sv": "Motorcycle",
    "/m/07jdr": "Train",
}
LABELS = list(EXPECTED_CLASSES.values())
FOLDERS = {
    "training": "unbalanced_train_segments_training_set_audio_formatted_and_segmented_downloads",
    "testing": "unbalanced_train_segments_testing_set_audio_formatted_and_segmented_downloads",
    "evaluation": "evaluation_set_formatted_audio_segments",
}
YTID = r"[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]"
TIME = r"\d+\.\d{3}"
GT_NAME = re.compile(rf"^({YTID})_({TIME})_({TIME})\.wav$")
AUDIO_NAME = re.compile(rf"^Y({YTID})_({TIME})_({TIME})\.wav$")
WEAK_FILES = {
    "training": [
        "groundtruth_weak_label_training_set.csv",
        "groundtruth_release/groundtruth_weak_label_training_set.csv",
    ],
    "testing": [
        "groundtruth_weak_label_testing_set.csv",
        "groundtruth_release/groundtruth_weak_label_testing_set.csv",
    ],
    "evaluation": ["groundtruth_release/groundtruth_weak_label_evaluation_set.csv"],
}
STRONG_FILES = {
    "testing": [
        "groundtruth_strong_label_testing_set.csv",
        "groundtruth_release/groundtruth_strong_label_testing_set.csv",
    ],
    "evaluation": ["groundtruth_release/groundtruth_strong_label_evaluation_set.csv"],
}
CRLF_FILES = {
    "training_set.csv",
    "testing_set.csv",
    "evaluation_set.csv",
    "groundtruth_release/groundtruth_weak_label_evaluation_set.csv",
    "groundtruth_release/groundtruth_strong_label_evaluation_set.csv",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("demo_dcase2017"))
    summary = make_demo_dcase2017(
        folder,
        N_TRAIN,
        N_TEST,
        N_EVAL,
        clip_seconds=SECONDS,
        sample_rate=RATE,
        seed=SEED,
        workers=1,
        progress=False,
    )
    return folder, summary


def read_bytes(folder, name):
    with open(os.path.join(folder, name), "rb") as f:
        return f.read()


def lines_of(folder, name):
    """The file's lines, checking its line ends: CRLF or LF as the release has them."""
    data = read_bytes(folder, name)
    if not data:
        return []
    if name in CRLF_FILES:
        assert data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r\n"), name
        return data.decode("utf-8").split("\r\n")[:-1]
    assert b"\r" not in data and data.endswith(b"\n"), name
    return data.decode("utf-8").split("\n")[:-1]


def download_list(folder, split):
    """{name without Y: (start, end, labels)} from <split>_set.csv, labels recovered via MIDs
    (the labels field alone is ambiguous: "Air horn, truck horn" has a comma)."""
    name = f"{split}_set.csv"
    lines = lines_of(folder, name)
    out = {}
    for line in lines:
        fields = next(csv.reader([line]))
        assert len(fields) == 5, line
        ytid, start, end, labels, mids = fields
        assert re.fullmatch(YTID, ytid) and re.fullmatch(TIME, start) and re.fullmatch(TIME, end), line
        # Minimal quoting, as in the release: a field is quoted exactly when it holds a comma.
        expected = ",".join(f'"{f}"' if "," in f else f for f in fields)
        assert line == expected
        names = [EXPECTED_CLASSES[m] for m in mids.split(",")]
        assert labels == ",".join(names)
        assert names == sorted(names, key=LABELS.index) and len(set(names)) == len(names)
        out[f"{ytid}_{start}_{end}.wav"] = (start, end, names)
    assert len(out) == len(lines)  # a clip is listed once
    return out


def tab_rows(folder, name):
    rows = [line.split("\t") for line in lines_of(folder, name)]
    assert all(len(row) == 4 for row in rows), name
    return rows


def test_layout(demo):
    folder, _ = demo
    top = set(os.listdir(folder))
    assert top == {
        "training_set.csv",
        "testing_set.csv",
        "evaluation_set.csv",
        "groundtruth_weak_label_training_set.csv",
        "groundtruth_weak_label_testing_set.csv",
        "groundtruth_strong_label_testing_set.csv",
        "sound_event_list_17_classes.txt",
        "groundtruth_release",
        *FOLDERS.values(),
    }
    assert set(os.listdir(os.path.join(folder, "groundtruth_release"))) == {
        "groundtruth_weak_label_training_set.csv",
        "groundtruth_weak_label_testing_set.csv",
        "groundtruth_strong_label_testing_set.csv",
        "groundtruth_weak_label_evaluation_set.csv",
        "groundtruth_strong_label_evaluation_set.csv",
    }
    # The release folder's copies are byte-identical to the top-level files.
    for name in WEAK_FILES["training"][:1] + WEAK_FILES["testing"][:1] + STRONG_FILES["testing"][:1]:
        assert read_bytes(folder, name) == read_bytes(folder, os.path.join("groundtruth_release", name))
    for root, _, files in os.walk(folder):
        assert not [f for f in files if f.endswith(".part")], root


def test_class_list(demo):
    folder, _ = demo
    lines = lines_of(folder, "sound_event_list_17_classes.txt")
    header, rows = lines[0], [line.split("\t") for line in lines[1:]]
    assert "\t" not in header and header.split() == [
        "Class_ID",
        "ConfidenceofAnnotation(by",
        "Google)",
        "Class_Label",
    ]
    assert len(rows) == 17 and all(len(row) == 3 for row in rows)
    assert [(mid, label) for mid, _, label in rows] == list(EXPECTED_CLASSES.items())
    assert all(0 < float(confidence) <= 10 for _, confidence, _ in rows)


def test_download_lists_match_the_summary(demo):
    folder, summary = demo
    sizes = {"training": N_TRAIN, "testing": N_TEST, "evaluation": N_EVAL}
    quoted_multi = quoted_single = 0
    for split, size in sizes.items():
        listed = download_list(folder, split)
        clips = summary.split(split)
        assert len(listed) == len(clips) == size
        for clip in clips:
            start, end, labels = listed[clip.name]
            assert (clip.start, clip.end, list(clip.labels)) == (start, end, labels)
            assert 1 <= len(labels) <= 3
        raw = read_bytes(folder, f"{split}_set.csv").decode()
        quoted_multi += len(re.findall(r',"[^",]+,[^"]+","/', raw))
        quoted_single += raw.count(',"Air horn, truck horn",/') + raw.count(
            ',"Fire engine, fire truck (siren)",/'
        )
    assert quoted_multi and quoted_single  # both kinds of quoting occur
    all_ids = [c.ytid for c in summary.clips]
    assert len(set(all_ids)) == len(all_ids)
    assert any(i.startswith("-") for i in all_ids)  # the reason for the audio's "Y"


def test_weak_labels(demo):
    folder, _ = demo
    for split, names in WEAK_FILES.items():
        listed = download_list(folder, split)
        expected = {(name, label) for name, (_, _, labels) in listed.items() for label in labels}
        for file in names:
            rows = tab_rows(folder, file)
            pairs = []
            for name, start, end, label in rows:
                match = GT_NAME.match(name)
                assert match, name  # no "Y" in the ground truth
                assert (start, end) == match.groups()[1:]  # weak rows span the whole clip
                assert label in LABELS
                pairs.append((name, label))
            assert len(pairs) == len(set(pairs)) and set(pairs) == expected
            keys = [(LABELS.index(label), name) for name, label in pairs]
            assert keys == sorted(keys)  # by class, then by name, as in the release


def test_strong_labels(demo):
    folder, summary = demo
    for split, names in STRONG_FILES.items():
        listed = download_list(folder, split)
        weak = {(name, label) for name, (_, _, labels) in listed.items() for label in labels}
        contents = {read_bytes(folder, f) for f in names}
        assert len(contents) == 1
        rows = tab_rows(folder, names[0])
        assert rows
        spans = {}
        for name, onset, offset, label in rows:
            assert re.fullmatch(TIME, onset) and re.fullmatch(TIME, offset) and label in LABELS
            start, end = (float(x) for x in GT_NAME.match(name).groups()[1:])
            assert 0.0 <= float(onset) < float(offset) <= end - start + 1e-9
            assert float(offset) - float(onset) >= 0.5
            spans.setdefault((name, label), []).append((float(onset), float(offset)))
        # The weak labels are exactly the (clip, label) pairs of the strong events.
        assert set(spans) == weak
        for intervals in spans.values():
            intervals.sort()
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(intervals))  # no overlap
        by_name = {c.name: c for c in summary.split(split)}
        assert sum(len(c.events) for c in by_name.values()) == len(rows)


def test_audio_files(demo):
    folder, _ = demo
    short = 0
    for split, sub in FOLDERS.items():
        listed = download_list(folder, split)
        files = sorted(os.listdir(os.path.join(folder, sub)))
        assert all(AUDIO_NAME.match(f) for f in files)
        assert {f[1:] for f in files} <= set(listed)  # nothing unlisted
        for name, (start, end, _) in listed.items():
            path = os.path.join(folder, sub, "Y" + name)
            if not os.path.exists(path):
                assert split == "training"
                continue
            info = sf.info(path)
            assert (info.format, info.subtype, info.channels, info.samplerate) == ("WAV", "PCM_16", 1, RATE)
            seconds = float(end) - float(start)
            assert info.frames == round(seconds * RATE) <= SECONDS * RATE
            short += seconds < SECONDS
            audio, _ = sf.read(path, dtype="int16")
            assert audio.dtype == np.int16 and np.abs(audio.astype(np.int32)).max() > 300  # not silent
    assert short >= 3  # ~5 % of the clips are cut short, and listed with their true end


def test_missing_downloads(demo):
    folder, summary = demo
    missing = summary.missing
    assert len(missing) == max(1, round(0.02 * N_TRAIN))
    listed = download_list(folder, "training")
    weak = {row[0] for row in tab_rows(folder, WEAK_FILES["training"][0])}
    for clip in missing:
        assert clip.split == "training" and not clip.written
        assert clip.name in listed and clip.name in weak
        assert not os.path.exists(os.path.join(folder, FOLDERS["training"], "Y" + clip.name))
    present = set(os.listdir(os.path.join(folder, FOLDERS["training"])))
    assert len(present) == N_TRAIN - len(missing)


def test_every_class_in_every_split(demo):
    folder, _ = demo
    for split, size in (("training", N_TRAIN), ("testing", N_TEST), ("evaluation", N_EVAL)):
        counts = dict.fromkeys(LABELS, 0)
        audio = set(os.listdir(os.path.join(folder, FOLDERS[split])))
        for name, (_, _, labels) in download_list(folder, split).items():
            if "Y" + name in audio:
                for label in labels:
                    counts[label] += 1
        assert min(counts.values()) >= size // 17, (split, counts)


def test_default_plan():
    clips = demo_dcase2017.plan()
    summary = demo_dcase2017.DemoDcase2017("unused", tuple(clips), 16000)
    for split, size, minimum in (("training", 400, 10), ("testing", 60, 3), ("evaluation", 120, 5)):
        assert len(summary.split(split)) == size
        assert min(summary.class_counts(split).values()) >= minimum
        durations = [c.duration_ms for c in summary.split(split)]
        assert max(durations) == 10_000 and 0.03 <= np.mean(np.array(durations) < 10_000) <= 0.07
        assert all(6_000 <= d <= 10_000 for d in durations)
    assert len(summary.missing) == 8  # 2 % of 400
    counts = summary.class_counts("training")
    assert counts["Car"] == max(counts.values()) and counts["Car"] > 3 * counts["Car alarm"]  # uneven
    assert len({c.ytid for c in clips}) == len(clips)


def test_events_are_audible(tmp_path):
    """Full-length clips with one event at >= 6 dB SNR are louder during the event than outside."""
    folder = str(tmp_path / "audible")
    summary = make_demo_dcase2017(folder, 51, 0, 0, sample_rate=RATE, seed=2, workers=2, progress=False)
    louder, total = 0, 0
    for clip in summary.clips:
        if not clip.written or len(clip.events) != 1 or clip.events[0].snr_db < 6.0:
            continue
        event = clip.events[0]
        if event.offset_ms - event.onset_ms > 0.6 * clip.duration_ms:
            continue
        audio, rate = sf.read(os.path.join(folder, clip.audio_path), dtype="float64")
        a, b = event.onset_ms * rate // 1000, event.offset_ms * rate // 1000
        inside = np.sqrt(np.mean(audio[a:b] ** 2))
        outside = np.sqrt(np.mean(np.concatenate([audio[:a], audio[b:]]) ** 2))
        louder += inside > outside
        total += 1
    assert total >= 5 and louder >= 0.8 * total, (louder, total)




def test_same_arguments_give_the_same_bytes(demo, tmp_path):
    folder, _ = demo
    again = str(tmp_path / "again")
    make_demo_dcase2017(
        again,
        N_TRAIN,
        N_TEST,
        N_EVAL,
        clip_seconds=SECONDS,
        sample_rate=RATE,
        seed=SEED,
        workers=2,
        progress=False,
    )
    first, second = helpers.folder_digest(folder), helpers.folder_digest(again)
    assert len(first) == len(second) > N_TRAIN + N_TEST + N_EVAL - 5
    assert first == second
    other = str(tmp_path / "other")
    make_demo_dcase2017(
        other, 17, 0, 0, clip_seconds=SECONDS, sample_rate=RATE, seed=SEED + 1, workers=1, progress=False
    )
    audio = {path: h for path, h in first.items() if path.endswith(".wav")}
    assert set(helpers.folder_digest(other).values()).isdisjoint(audio.values())  # another seed, other sounds


def test_plan_does_not_depend_on_python_hash_seed():
    """Seeds come from SHA-256, not the per-process salted `hash`: another process with another
    PYTHONHASHSEED plans the same clips."""

    def plan_digest():
        clips = demo_dcase2017.plan(40, 17, 17, 4.0, seed=9)
        return hashlib.sha256(repr(clips).encode()).hexdigest()

    code = (
        "import hashlib; from keras_samplecnn.datasets import demo_dcase2017 as d; "
        "print(hashlib.sha256(repr(d.plan(40, 17, 17, 4.0, seed=9)).encode()).hexdigest())"
    )
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    env = dict(os.environ, PYTHONHASHSEED=seed, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == plan_digest()


def test_interrupted_run_writes_no_ground_truth(tmp_path, monkeypatch):
    written = []

    def fail_after_two(job):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(original(job))

    original = writing.write_job
    monkeypatch.setattr(writing, "write_job", fail_after_two)
    folder = str(tmp_path / "partial")
    with pytest.raises(KeyboardInterrupt):
        make_demo_dcase2017(folder, 17, 17, 17, clip_seconds=2.0, sample_rate=RATE, workers=1, progress=False)
    assert not [name for name in os.listdir(folder) if name.endswith((".csv", ".txt"))]
    assert not os.listdir(os.path.join(folder, "groundtruth_release"))
    assert len(os.listdir(os.path.join(folder, FOLDERS["training"]))) == 2


def log_band_features(path):
    """Time-pooled log spectrum: 24 log-spaced bands, their mean, spread and frame-to-frame
    change over the clip, level-normalised."""
    audio, _ = sf.read(path, dtype="float64")
    frames = np.lib.stride_tricks.sliding_window_view(audio, 256)[::128] * np.hanning(256)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.unique(np.geomspace(2, 129, 25).astype(int))
    bands = np.log(np.stack([power[:, a:b].mean(1) for a, b in itertools.pairwise(edges)], 1) + 1e-10)
    bands -= bands.mean()
    return np.concatenate([bands.mean(0), bands.std(0), np.abs(np.diff(bands, axis=0)).mean(0)])


def test_classes_are_separable_but_not_trivially(tmp_path):
    """Logistic regression on time-pooled log spectra, trained on the training folder and scored
    on the evaluation folder (written at 8 kHz, 4-s clips): clearly above chance, below
    perfect; with the training labels shuffled, at chance. (Seen when written: 0.92 / 0.50.)"""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    folder = str(tmp_path / "separable")
    summary = make_demo_dcase2017(
        folder, 170, 0, 85, clip_seconds=4.0, sample_rate=RATE, seed=1, workers=2, progress=False
    )

    def data(split):
        clips = [c for c in summary.split(split) if c.written]
        x = np.array([log_band_features(os.path.join(folder, c.audio_path)) for c in clips])
        y = np.array([[label in c.labels for label in LABELS] for c in clips], dtype=int)
        return x, y

    (x_train, y_train), (x_eval, y_eval) = data("training"), data("evaluation")
    scaler = StandardScaler().fit(x_train)
    x_train, x_eval = scaler.transform(x_train), scaler.transform(x_eval)

    def macro_auc(labels):
        aucs = []
        for k in range(len(LABELS)):
            model = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced").fit(
                x_train, labels[:, k]
            )
            aucs.append(roc_auc_score(y_eval[:, k], model.predict_proba(x_eval)[:, 1]))
        return float(np.mean(aucs)), aucs

    auc, per_class = macro_auc(y_train)
    shuffled, _ = macro_auc(y_train[np.random.default_rng(0).permutation(len(y_train))])
    report = json.dumps({"macro_auc": round(auc, 3), "shuffled": round(shuffled, 3)})
    assert 0.75 < auc < 0.99, report
    assert min(per_class) < 0.95, report  # some classes stay confusable for pooled spectra
    assert 0.35 < shuffled < 0.65, report
    print(report)
