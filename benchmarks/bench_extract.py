"""Feature-extraction throughput: `extract_features` against the extractors' own inference rates.

Multi-scale feature aggregation (Lee & Nam, IEEE SPL 2017) runs every extractor over every
non-overlapping segment of every clip, then max-pools each chosen layer over time, averages
over the clip's segments and writes `.npz` shards. This script measures how much that costs
beyond the forward passes themselves:

1. a small synthetic dataset of `--clips` clips of `--seconds` s (tones and noise, 22050 Hz
   wav) is written and converted with `tfrecords_tools` in a temporary folder;
2. for each extractor alone, `feature_model(model, "top3")` runs on batches of random
   segments (`predict_on_batch`, after a warm-up): segments/s, and the equivalent clips/s
   for a clip of `--seconds` s (`clip samples // input length` segments per clip);
3. `extract_features` with all the extractors together, into a fresh cache folder each
   time (`--repeats` runs): clips/s.

The implied rate is `1 / sum(1 / clips/s of each extractor)`: what extraction would reach if
it cost nothing but the forward passes. The ratio measured / implied is near 1 when reading,
batching, pooling, aggregating and writing the cache are cheap. `extract_features` pads the
last batch of each extractor to `--batch-size` (one batch shape, no retracing), so a second
implied rate counts those padded segments as work; `padded batches` is segments computed /
segments needed. Each run also builds and traces its feature models once, which a few clips
do not amortize.

    python benchmarks/bench_extract.py                          # three untrained extractors, ~2 min on 2 cores
    python benchmarks/bench_extract.py --family spl2017         # the SPL 2017 mel extractors, all layers
    python benchmarks/bench_extract.py --clips 32 --batch-size 32
    python benchmarks/bench_extract.py --extractors runs/a/best.keras runs/b/best.keras

Without `--extractors` it builds untrained models (the speed does not depend on the weights):
by default the 3^9 SampleCNN on 59049 samples, a 3^8 one with a stem of 3 on 19683 samples,
and the frame-level 3^4 model on 59049 samples, all at 22050 Hz; with `--family` the presets
of that extractor family (`keras_samplecnn.models.extractor_presets`) and its layers (all for
spl2017, the top three for icmlw2017). Run it on an idle machine: the numbers are wall-clock.
It is a benchmark, not a test.
"""

import argparse
import csv
import math
import os
import platform
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

SAMPLE_RATE = 22050
LAYERS = "top3"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=16, help="synthetic clips (default 16)")
    parser.add_argument("--clip-seconds", type=float, default=29.0, help="clip duration (default 29 s)")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="timed seconds per extractor's inference rate (default 5)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="segments per forward pass (default 64)")
    parser.add_argument(
        "--repeats", type=int, default=2, help="extract_features runs, each timed (default 2)"
    )
    parser.add_argument(
        "--extractors",
        nargs="+",
        metavar="MODEL.keras",
        help="trained extractors (default: three untrained ones)",
    )
    parser.add_argument(
        "--family",
        choices=("spl2017", "icmlw2017"),
        help="untrained extractors of this family, with its layers (default: the three above, top3)",
    )
    parser.add_argument(
        "--work-dir", help="folder for the audio, TFRecords and caches (default: a temporary one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    return parser.parse_args()


def default_extractors():
    import keras_samplecnn

    return [
        ("samplecnn 3^9, 59049", keras_samplecnn.build("samplecnn")),
        (
            "samplecnn 3^8 stem 3, 19683",
            keras_samplecnn.build("samplecnn", n=8, input_length=19683, stem_size=3),
        ),
        ("frame 3^4, 59049", keras_samplecnn.build("frame")),
    ]


def family_extractors(family):
    import keras_samplecnn
    from keras_samplecnn.models import extractor_presets

    return [(preset.name, keras_samplecnn.build(preset.name)) for preset in extractor_presets(family)]


def load_extractors(paths):
    from keras_samplecnn.tagger import Tagger

    return [(os.path.basename(p), Tagger(p).model) for p in paths]


def write_dataset(audio_dir, clips, seconds, sample_rate):
    """`clips` wav files of tones plus noise and a folder-layout labels CSV (all in `test`)."""
    from tfrecords_tools import synthetic

    rng = np.random.default_rng(0)
    tags = ["low", "mid", "high"]
    rows = []
    for i in range(clips):
        frequency = float(rng.uniform(80, 2000))
        audio = synthetic.tone(frequency, seconds, sample_rate, amplitude=0.3)
        audio = audio + 0.05 * rng.standard_normal(len(audio)).astype(np.float32)
        path = f"clip{i:04d}.wav"
        synthetic.write_audio(os.path.join(audio_dir, path), audio, sample_rate)
        tag = tags[0] if frequency < 300 else tags[1] if frequency < 1000 else tags[2]
        rows.append((path, tag, "test"))
    labels_csv = os.path.join(audio_dir, "labels.csv")
    with open(labels_csv, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "tags", "split"])
        writer.writerows(rows)
    return labels_csv


def convert(audio_dir, labels_csv, out_dir, segment_length):
    from tfrecords_tools import folder, writer

    plan = folder.plan(audio_dir, labels_csv)
    settings = writer.Settings(sample_rate=SAMPLE_RATE, segment_length=segment_length)
    writer.convert(plan, out_dir, settings, workers=1, show_progress=False)


def inference_rate(model, length, batch, seconds, layers):
    """(segments/s, seconds of the first call) of the feature model's `predict_on_batch`.

    The first call builds the feature model and traces it, as each `extract_features` run
    does once per extractor; the rate is timed after it.
    """
    from keras_samplecnn.aggregation import feature_model

    x = (np.random.default_rng(0).standard_normal((batch, length)) * 0.1).astype("float32")
    start = time.perf_counter()
    submodel = feature_model(model, layers)
    submodel.predict_on_batch(x)
    first = time.perf_counter() - start
    done, start = 0, time.perf_counter()
    while done < 2 or time.perf_counter() - start < seconds:
        submodel.predict_on_batch(x)
        done += 1
    return done * batch / (time.perf_counter() - start), first


def main():
    args = parse_args()
    import keras
    import tensorflow as tf

    from keras_samplecnn.aggregation import extract_features
    from keras_samplecnn.benchmarking import describe_peak, matmul_peak
    from keras_samplecnn.data import read_manifest

    tf.get_logger().setLevel("ERROR")
    peak = matmul_peak()
    from keras_samplecnn.models.registry import EXTRACTOR_LAYERS

    if args.extractors:
        extractors, layers = load_extractors(args.extractors), LAYERS
    elif args.family:
        extractors, layers = family_extractors(args.family), EXTRACTOR_LAYERS[args.family]
    else:
        extractors, layers = default_extractors(), LAYERS
    for name, model in extractors:
        if int(model.sample_rate) != SAMPLE_RATE:
            print(
                f"{name}: {model.sample_rate} Hz, this benchmark converts at {SAMPLE_RATE} Hz",
                file=sys.stderr,
            )
            return 1

    work = args.work_dir or tempfile.mkdtemp(prefix="bench_extract_")
    audio_dir, tfr_dir = os.path.join(work, "audio"), os.path.join(work, "tfrecords")
    try:
        start = time.perf_counter()
        labels_csv = write_dataset(audio_dir, args.clips, args.clip_seconds, SAMPLE_RATE)
        synthesis = time.perf_counter() - start
        start = time.perf_counter()
        convert(audio_dir, labels_csv, tfr_dir, max(int(m.input_length) for _, m in extractors))
        conversion = time.perf_counter() - start
        manifest = read_manifest(tfr_dir)
        clips = manifest.num_clips("test")
        clip_samples = round(args.clip_seconds * SAMPLE_RATE)

        # (a) each extractor alone: the forward pass of its feature model.
        rows = []
        for name, model in extractors:
            length = int(model.input_length)
            per_clip = max(clip_samples // length, 1)
            segments, first = inference_rate(model, length, args.batch_size, args.seconds, layers)
            padded = math.ceil(clips * per_clip / args.batch_size) * args.batch_size
            rows.append(
                (name, length, per_clip, segments, segments / per_clip, padded / (clips * per_clip), first)
            )
        implied = 1 / sum(1 / row[4] for row in rows)
        # The same with the zero-padded last batch of each extractor counted as work.
        implied_padded = 1 / sum(row[5] / row[4] for row in rows)
        tracing = sum(row[6] for row in rows)

        # (b) all extractors together, through the cache writer.
        runs = []
        models = [m for _, m in extractors]
        for i in range(args.repeats):
            out = os.path.join(work, f"features{i}")
            start = time.perf_counter()
            result = extract_features(
                models, tfr_dir, out, splits=("test",), layers=layers, batch_size=args.batch_size,
                show_progress=False,
            )  # fmt: skip
            runs.append((clips / (time.perf_counter() - start), time.perf_counter() - start, result["dim"]))
    finally:
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}; {describe_peak(peak)}"
    )
    print(
        f"{clips} synthetic clips of {args.clip_seconds:g} s at {SAMPLE_RATE} Hz (written in {synthesis:.1f} s, "
        f"converted in {conversion:.1f} s); layers {layers!r}, batch {args.batch_size}\n"
    )
    print(
        "| extractor | input | segments/clip | feature-model segments/s | equivalent clips/s "
        "| padded batches | first call (build + trace) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, length, per_clip, segments, clip_rate, padding, first in rows:
        print(
            f"| {name} | {length} | {per_clip} | {segments:,.1f} | {clip_rate:.2f} | {padding:.2f}x | {first:.1f} s |"
        )
    print(
        "\n| run | extract_features clips/s | implied by the models (1 / sum 1/rate) | ratio "
        "| implied with padded batches | ratio | feature dim |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for i, (measured, _, dim) in enumerate(runs, 1):
        print(
            f"| {i} | {measured:.2f} | {implied:.2f} | {measured / implied:.2f} | {implied_padded:.2f} "
            f"| {measured / implied_padded:.2f} | {dim} |"
        )
    forward = clips / implied_padded
    for i, (_, seconds, _) in enumerate(runs, 1):
        rest = seconds - forward - tracing
        print(
            f"\nrun {i}: {seconds:.1f} s = forward passes incl. padding {forward:.1f} s (at the rates above) "
            f"+ first calls {tracing:.1f} s (as measured above) + the rest {rest:.1f} s "
            "(reading, pooling, aggregating, writing, and rate differences)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
