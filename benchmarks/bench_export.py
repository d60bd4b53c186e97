"""Exported taggers on this machine: clips/s, model size and parity for SavedModel, ONNX and LiteRT.

The demo's model (experiments/configs/mtat_base.yaml's demo: section with the cpu profile: SE blocks, 3^8 on 19683
samples at 16 kHz, 50 tags), or a trained `--model`, is exported in each format
(`keras_samplecnn.export`); each export then scores the same `--clips` random clips of
`--seconds` (the demo's 8 s: 6 segments each) one clip at a time through its clip-level
signature (segments and averaging inside the graph), as a server would. The Keras baseline
cuts the same segments with `split_segments` and averages `model(segments)` (called eagerly,
and through a `tf.function`). Parity is the
largest absolute difference from the Keras scores over those clips (float32). Beside the
timings is this machine's float32 matmul peak, measured just before, so times from different
machines can be compared. ONNX and LiteRT need `pip install 'keras_samplecnn[export]'`.

    python benchmarks/bench_export.py                   # the demo architecture, ~20 s on 2 cores
    python benchmarks/bench_export.py --model runs/mtat_se_demo/best.keras --clips 50

On the trained demo model (recipes/mtat_se.py --demo), 50 clips of 8 s, a 2-core CPU with a
float32 matmul peak of 108 GFLOP/s: Keras eager 21.9 clips/s, Keras tf.function 96.4, SavedModel
148.0 (11.5 MB), ONNX (onnxruntime 1.32) 252.0 (5.5 MB), LiteRT (ai-edge-litert 2.3, XNNPACK)
146.7 (5.5 MB); largest difference from Keras 1.4e-6, 1.6e-6 and 4.4e-6.

The work is fixed (clips, lengths), not a wall-clock loop; run it on an idle machine.
Reference: Lee et al., SMC 2017 (arXiv:1703.01789), clip-level averaging of segments.
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from keras_samplecnn.benchmarking import matmul_peak  # noqa: E402
from keras_samplecnn.export import FORMATS, ExportedModel, export_model  # noqa: E402
from keras_samplecnn.tagger import split_segments  # noqa: E402

DEMO = dict(sample_rate=16000, n=8, stem_filters=32, filters=[32, 32, 64, 64, 64, 64, 64, 128])


def size_of(path):
    """Bytes of a file, or of every file under a folder."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def timed(score, clips):
    """Clips per second of `score` over `clips` one at a time (after one warm-up call), and the scores."""
    score(clips[0])
    start = time.perf_counter()
    scores = np.stack([score(clip) for clip in clips])
    return len(clips) / (time.perf_counter() - start), scores


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="a .keras tagging model (default: the demo architecture, untrained)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated export formats")
    parser.add_argument("--clips", type=int, default=20, help="clips scored per format")
    parser.add_argument("--seconds", type=float, default=8.0, help="clip length (the demo's 8 s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras

    import keras_samplecnn

    if args.model:
        model = keras.saving.load_model(args.model)
        name = args.model
    else:
        model = keras_samplecnn.build("se", num_classes=50, **DEMO)
        name = "demo architecture (se, 3^8, 19683 samples at 16 kHz, 50 tags; untrained)"
    rng = np.random.default_rng(args.seed)
    clips = rng.uniform(-1, 1, (args.clips, int(args.seconds * model.sample_rate))).astype(np.float32)
    segments = len(split_segments(clips[0], model.input_length))

    def keras_score(clip):
        return np.asarray(model(split_segments(clip, model.input_length), training=False)).mean(axis=0)

    import tensorflow as tf

    graph_call = tf.function(lambda segments: model(segments, training=False))

    def graph_score(clip):
        return np.asarray(graph_call(split_segments(clip, model.input_length))).mean(axis=0)

    peak = matmul_peak() / 1e9
    print(f"model: {name}, {model.count_params():,} parameters")
    print(f"{args.clips} clips of {args.seconds:g} s ({segments} segments each), one clip per call; "
          f"float32 matmul peak {peak:.0f} GFLOP/s\n")  # fmt: skip
    print("| format | export (s) | size (MB) | clips/s | max abs diff vs Keras |")
    print("|---|---|---|---|---|")
    rate, reference = timed(keras_score, clips)
    with tempfile.TemporaryDirectory() as scratch:
        keras_path = os.path.join(scratch, "model.keras")
        model.save(keras_path)
        print(f"| keras (.keras, eager call) | — | {size_of(keras_path) / 1e6:.2f} | {rate:.1f} | 0 |")
        rate, scores = timed(graph_score, clips)
        print(f"| keras (tf.function) | — | — | {rate:.1f} | {np.abs(scores - reference).max():.1e} |")
        for format in [f for f in args.formats.split(",") if f]:
            out = os.path.join(scratch, format)
            try:
                start = time.perf_counter()
                path = export_model(model, out, format=format)
                seconds = time.perf_counter() - start
                exported = ExportedModel(out, trust=True)  # written just above
            except ImportError as error:
                print(f"| {format} | not available: {error} | | | |")
                continue
            rate, scores = timed(exported.clip_scores, clips)
            diff = np.abs(scores - reference).max()
            print(f"| {format} | {seconds:.1f} | {size_of(path) / 1e6:.2f} | {rate:.1f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
