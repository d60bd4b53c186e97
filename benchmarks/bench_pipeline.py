"""Input-pipeline throughput: TFRecords + tf.data against a plain Python loader, same audio.

What it measures, on the embedded demo dataset (synthetic MTAT, 29.1-s 16-kHz mp3 clips):

1. generating the demo (clips/s), and converting it with `python -m tfrecords_tools mtat`
   (mp3 decode + resampling to 22050 Hz + sharded TFRecords; clips/s);
2. training segments per second (59049-sample segments at 22050 Hz, batches of 23) from
   `keras_samplecnn.data.train_dataset`, for several `crops_per_clip` and with `cache`;
3. the same from the loader a user would write without TFRecords: a Python generator that
   decodes an mp3 with soundfile, resamples it with soxr, takes a random crop with NumPy and
   stacks batches (one decode per segment, and one decode per `k` segments);
4. evaluation segments per second (`eval_dataset`, every segment of every test clip);
5. with `--portable`, the same from the TensorFlow-free reader (`keras_samplecnn.data.portable`:
   NumPy batches for Keras on JAX / PyTorch) for k = 1, 4, 10 and "all", and its parallelism
   options at k = 10: a plain generator (its default), one prefetch thread, a PyTorch
   DataLoader with worker processes, grain with worker processes (each if installed).

Run (about 2-3 minutes on a 2-core CPU):

    python benchmarks/bench_pipeline.py                 # 200 demo clips in a temporary folder
    python benchmarks/bench_pipeline.py --clips 400 --work-dir /tmp/bench --keep
    python benchmarks/bench_pipeline.py --service 2     # + batches from 2 tf.data service workers
    python benchmarks/bench_pipeline.py --portable      # + the TensorFlow-free reader

It prints a Markdown table; targets: >= 5,000 training segments/s and >= 10x the plain loader.
"""

import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

SAMPLE_RATE = 22050
SEGMENT = 59049
BATCH = 23


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=200, help="demo clips to generate (default 200)")
    parser.add_argument("--work-dir", help="folder for the demo and its TFRecords (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per configuration")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="processes for generation/conversion"
    )
    parser.add_argument(
        "--service",
        type=int,
        default=0,
        metavar="N",
        help="also time the training batches from a tf.data service of N workers in this process "
        "(keras_samplecnn.data.service; on one machine: the service's overhead, not its scaling)",
    )
    parser.add_argument(
        "--portable",
        action="store_true",
        help="also time the TensorFlow-free reader (keras_samplecnn.data.portable) and its "
        "parallelism options (generator, prefetch thread, torch DataLoader, grain)",
    )
    return parser.parse_args()


def throughput(batches, seconds, warmup=5):
    """Segments per second of an iterator of (audio, labels) batches, after a warm-up."""
    for _ in range(warmup):
        next(batches)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        audio = next(batches)[0]
        count += len(audio)
    return count / (time.perf_counter() - start)


def plain_loader(paths, labels, crops_per_clip, rng):
    """What one writes without TFRecords: decode, resample, crop in Python, stack batches."""
    import soundfile as sf
    import soxr

    def segments():
        while True:
            i = rng.integers(len(paths))
            audio, rate = sf.read(paths[i], dtype="float32")
            if audio.ndim > 1:
                audio = audio.mean(axis=1)
            audio = soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ")
            if len(audio) < SEGMENT:
                audio = np.pad(audio, (0, SEGMENT - len(audio)))
            for _ in range(crops_per_clip):
                start = rng.integers(len(audio) - SEGMENT + 1)
                yield audio[start : start + SEGMENT], labels[i]

    stream = segments()
    while True:
        batch = [next(stream) for _ in range(BATCH)]
        yield np.stack([a for a, _ in batch]), np.stack([y for _, y in batch])


def torch_loader(tfr_dir, k, workers, seed=0):
    """`portable.train_batches` in `workers` PyTorch DataLoader processes, one file shard each."""
    import torch.utils.data

    from keras_samplecnn.data.portable import train_batches

    class Batches(torch.utils.data.IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            shard, shards = (info.id, info.num_workers) if info else (0, 1)
            return train_batches(tfr_dir, segment_length=SEGMENT, batch_size=BATCH, crops_per_clip=k,
                                 num_shards=shards, shard_index=shard, seed=seed + shard, prefetch=0)  # fmt: skip

    # batch_size=None: the elements are whole batches; tensors come back as NumPy views.
    loader = torch.utils.data.DataLoader(Batches(), batch_size=None, num_workers=workers, prefetch_factor=4)
    return ((a.numpy(), y.numpy()) for a, y in loader)


class GrainRecords:
    """A grain random-access source: record i of the shards as (int16 pcm, labels).

    Each worker process maps the files itself (the source is pickled without them)."""

    def __init__(self, files, num_labels):
        import struct

        self.files, self.num_labels, self.spans = list(files), num_labels, []
        for f, path in enumerate(self.files):
            with open(path, "rb") as handle:
                position, size = 0, os.path.getsize(path)
                while position < size:
                    handle.seek(position)
                    (length,) = struct.unpack("<Q", handle.read(8))
                    self.spans.append((f, position + 12, length))
                    position += 16 + length
        self._maps = {}

    def __getstate__(self):
        return {**self.__dict__, "_maps": {}}

    def __len__(self):
        return len(self.spans)

    def __getitem__(self, i):
        import mmap

        from keras_samplecnn.data.portable import _clip

        f, start, length = self.spans[i]
        if f not in self._maps:
            with open(self.files[f], "rb") as handle:
                self._maps[f] = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
        return _clip(self._maps[f][start : start + length], self.num_labels, self.files[f])


class GrainCrops:
    """k batches of random crops from a batch of clips (a grain flat map of fan-out k)."""

    def __init__(self, k, seed, segment_length):
        self.max_fan_out, self.k, self.seed, self.segment_length = k, k, seed, segment_length

    def flat_map(self, element):
        from keras_samplecnn.data.portable import _assemble

        index, clips = element
        rng = np.random.default_rng((self.seed, index))
        room = np.array([max(len(pcm) - self.segment_length, 0) for pcm, _ in clips])
        labels = np.stack([y for _, y in clips])
        return [
            (_assemble([(pcm, int(s)) for (pcm, _), s in zip(clips, row)], self.segment_length), labels)
            for row in rng.integers(0, room + 1, size=(self.k, len(clips)))
        ]


def grain_loader(tfr_dir, k, workers, seed=0):
    """The grain way: a random-access source over every record, a global index shuffle, batches
    of clips cut into k batches of crops, in `workers` processes (`mp_prefetch`)."""
    import grain
    import grain.experimental
    from absl import flags

    from keras_samplecnn.data import read_manifest

    if not flags.FLAGS.is_parsed():  # grain's workers read absl flags, parsed by absl's app.run
        flags.FLAGS.mark_as_parsed()
    manifest = read_manifest(tfr_dir)
    source = GrainRecords(manifest.shard_files("train"), manifest.num_labels)
    clips = grain.MapDataset.source(source).shuffle(seed).repeat()
    groups = clips.batch(BATCH, drop_remainder=True, batch_fn=list).map_with_index(lambda i, c: (i, c))
    crops = grain.experimental.FlatMapMapDataset(groups, GrainCrops(k, seed, SEGMENT))
    return iter(crops.to_iter_dataset().mp_prefetch(grain.MultiprocessingOptions(num_workers=workers)))


def portable_results(tfr_dir, seconds):
    """segments/s of the TensorFlow-free reader (its default: in the caller's thread) for k = 1, 4,
    10, "all", and its parallelism options at k = 10."""
    from keras_samplecnn.data.portable import train_batches

    results = {}
    for k in (1, 4, 10, "all"):
        batches = train_batches(tfr_dir, segment_length=SEGMENT, batch_size=BATCH, crops_per_clip=k)
        results[f"portable k={k}"] = throughput(batches, seconds)
    batches = train_batches(tfr_dir, segment_length=SEGMENT, batch_size=BATCH, crops_per_clip=10, prefetch=2)
    results["portable k=10, prefetch thread"] = throughput(batches, seconds)
    for name, make in (("torch DataLoader", torch_loader), ("grain", grain_loader)):
        try:
            batches = make(tfr_dir, 10, workers=2)
        except ImportError as error:
            print(f"{name} not measured: {error}", file=sys.stderr)
            continue
        results[f"portable k=10, {name}, 2 worker processes"] = throughput(batches, seconds)
        getattr(batches, "close", lambda: None)()  # stop the workers now
    return results


def convert(demo_dir, out_dir, workers):
    """Convert with the project's converter; returns (clips, seconds) or None if unavailable."""
    if importlib.util.find_spec("tfrecords_tools.__main__") is None:
        return None
    command = [sys.executable, "-m", "tfrecords_tools", "mtat", "--root", demo_dir, "--out", out_dir]
    command += ["--sample-rate", str(SAMPLE_RATE), "--workers", str(workers), "--no-progress"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    from keras_samplecnn.data import read_manifest

    manifest = read_manifest(out_dir)
    return sum(manifest.num_clips(s) for s in manifest.split_names), seconds


def main():
    args = parse_args()
    work = args.work_dir or tempfile.mkdtemp(prefix="bench_pipeline_")
    demo_dir, tfr_dir = os.path.join(work, "demo_mtat"), os.path.join(work, "tfrecords")
    rows = []  # (what, number, unit, note)
    try:
        from keras_samplecnn.datasets import make_demo_mtat

        if not os.path.exists(os.path.join(demo_dir, "annotations_final.csv")):
            start = time.perf_counter()
            make_demo_mtat(demo_dir, n_clips=args.clips, workers=args.workers, progress=False)
            rows.append(
                ("demo generation", args.clips / (time.perf_counter() - start), "clips/s", "synthesis + mp3")
            )
        converted = (
            None
            if os.path.exists(os.path.join(tfr_dir, "manifest.json"))
            else convert(demo_dir, tfr_dir, args.workers)
        )
        if converted:
            rows.append(
                (
                    "conversion (tfrecords_tools mtat)",
                    converted[0] / converted[1],
                    "clips/s",
                    "mp3 -> 22050 Hz TFRecords",
                )
            )
        elif not os.path.exists(os.path.join(tfr_dir, "manifest.json")):
            print("python -m tfrecords_tools is not available: conversion not measured", file=sys.stderr)
            return 1

        import tensorflow as tf

        from keras_samplecnn.data import eval_dataset, read_manifest, train_dataset

        tf.config.set_visible_devices([], "GPU")
        manifest = read_manifest(tfr_dir)
        # The plain loader reads the same clips: the converted training split's mp3s.
        import csv

        with open(os.path.join(tfr_dir, "clips.csv"), newline="") as f:
            train_paths = [r["path"] for r in csv.DictReader(f) if r["split"] == "train"]
        paths = [p if os.path.isabs(p) else os.path.join(demo_dir, p) for p in train_paths]
        labels = np.zeros((len(paths), manifest.num_labels), np.float32)
        rng = np.random.default_rng(0)

        results = {}
        for k in (1, 4, 10):
            results[f"plain k={k}"] = throughput(plain_loader(paths, labels, k, rng), args.seconds, warmup=2)
        for k, cache in ((1, False), (4, False), (10, False), (10, True)):
            ds = train_dataset(
                tfr_dir, segment_length=SEGMENT, batch_size=BATCH, crops_per_clip=k, cache=cache
            )
            # Let `cache` fill (one pass) before timing: the steady state of a multi-epoch run.
            warmup = manifest.num_clips("train") * k // BATCH + 5 if cache else 5
            results[f"tf.data k={k}{' cache' if cache else ''}"] = throughput(iter(ds), args.seconds, warmup)
        if args.service:
            from keras_samplecnn.data.service import local_service

            # Its ports listen on every interface while the benchmark runs (data/service.py).
            with local_service(args.service, allow_open_port=True) as service:
                for k in (4, "all"):
                    ds = train_dataset(tfr_dir, segment_length=SEGMENT, batch_size=BATCH, crops_per_clip=k,
                                       service=service.target)  # fmt: skip
                    name = f"tf.data service, {args.service} workers, k={k}"
                    results[name] = throughput(iter(ds), args.seconds)
            ds = train_dataset(tfr_dir, segment_length=SEGMENT, batch_size=BATCH, crops_per_clip="all")
            results["tf.data k=all"] = throughput(iter(ds), args.seconds)
        evaluation = eval_dataset(tfr_dir, "test", segment_length=SEGMENT, batch_size=64).repeat()
        results["tf.data eval (all segments)"] = throughput(iter(evaluation), args.seconds)
        if args.portable:
            if "tf.data k=all" not in results:
                ds = train_dataset(tfr_dir, segment_length=SEGMENT, batch_size=BATCH, crops_per_clip="all")
                results["tf.data k=all"] = throughput(iter(ds), args.seconds)
            results.update(portable_results(tfr_dir, args.seconds))
            from keras_samplecnn.data.portable import eval_batches

            evaluation = (  # repeated, as tf.data's .repeat() above
                b for _ in iter(int, 1) for b in eval_batches(tfr_dir, "test", SEGMENT, batch_size=64)
            )
            results["portable eval (all segments)"] = throughput(evaluation, args.seconds)
    finally:
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)

    from keras_samplecnn.benchmarking import matmul_peak

    base = results["plain k=1"]
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"float32 matmul peak {matmul_peak() / 1e9:.0f} GFLOP/s, TensorFlow {tf.__version__}; "
          f"{args.clips} demo clips, segments of {SEGMENT} samples at {SAMPLE_RATE} Hz, batch {BATCH}; "
          "k = crops_per_clip\n")  # fmt: skip
    print("| pipeline | segments/s | vs plain loader k=1 | vs plain loader, same k |")
    print("|---|---:|---:|---:|")
    for name, value in results.items():
        k = name.split("k=")[1].split()[0].rstrip(",") if "k=" in name else None
        same = results.get(f"plain k={k}") if k and not name.startswith("plain") else None
        print(f"| {name} | {value:,.0f} | {value / base:.1f}x | {f'{value / same:.1f}x' if same else ''} |")
    print("\n| step | rate | note |")
    print("|---|---:|---|")
    for what, value, unit, note in rows:
        print(f"| {what} | {value:.1f} {unit} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
