"""Song-embedding search on this machine: HNSW (faiss) build time, query latency, recall@10.

For each catalogue size: random 256-d song embeddings (seeded), a `SongIndex` built on them
(timed), `--queries` query vectors searched one at a time and as one batch at each
`--expansion-search` value, recall@10 against the exact search (`exact_top_k`, whose latency is
printed as the baseline), and the index's memory. Beside every timing is this machine's float32
matmul peak, measured just before, so times from different machines can be compared.

Random Gaussian vectors are the hard case for approximate search: in 256 dimensions all points are
nearly equidistant, so a graph search needs a wide candidate list to find the true top 10. Real
embeddings (DCUE's songs) lie near a lower-dimensional, clustered set, where HNSW reaches high
recall far more cheaply; `--clustered` adds rows for such data (points around 1000 centres).

    python benchmarks/bench_index.py                  # 100 k and 1 M songs, ~15 min on 2 cores
    python benchmarks/bench_index.py --quick          # 20 k songs, under a minute
    python benchmarks/bench_index.py --sizes 100000 --clustered

The work is fixed (sizes, queries, single queries timed), not a wall-clock loop. Run it on an idle
machine: the numbers are wall-clock.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from keras_samplecnn.benchmarking import matmul_peak  # noqa: E402
from keras_samplecnn.song_index import SongIndex, exact_top_k  # noqa: E402

SINGLE = 100  # queries timed one at a time


def embeddings(n, dim, rng, clustered):
    """`n` unit float32 vectors: isotropic Gaussian, or Gaussian around 1000 random centres."""
    x = np.empty((n, dim), np.float32)
    centres = rng.standard_normal((1000, dim), dtype=np.float32) if clustered else None
    for start in range(0, n, 100_000):  # in blocks, so 1 M rows never need a float64 copy
        block = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        if clustered:
            block = centres[rng.integers(0, len(centres), len(block))] + 0.5 * block
        x[start : start + len(block)] = block
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def bench(n, args, clustered):
    rng = np.random.default_rng(args.seed + n)
    songs = embeddings(n + args.queries, args.dim, rng, clustered)
    songs, queries = songs[:n], songs[n:]
    ids = np.char.add("s", np.arange(n).astype(str))
    peak = matmul_peak() / 1e9
    data = "clustered" if clustered else "gaussian"

    start = time.perf_counter()
    truth, _ = exact_top_k(songs, queries, args.k)
    exact_batch = (time.perf_counter() - start) / len(queries)
    start = time.perf_counter()
    for query in queries[:SINGLE]:
        exact_top_k(songs, query[None], args.k)
    exact_single = (time.perf_counter() - start) / SINGLE
    print(
        f"| {n:,} | {data} | exact (NumPy) | - | - | {exact_single * 1e3:.2f} | {exact_batch * 1e3:.3f} "
        f"| 1.000 | {songs.nbytes / 2**20:.0f} | {peak:.0f} |",
        flush=True,
    )

    start = time.perf_counter()
    index = SongIndex(songs, ids, connectivity=args.connectivity, expansion_add=args.expansion_add)
    build = time.perf_counter() - start
    for ef in args.expansion_search:
        index.expansion_search = ef
        start = time.perf_counter()
        found, _ = index.search(queries, args.k)
        batch = (time.perf_counter() - start) / len(queries)
        start = time.perf_counter()
        for query in queries[:SINGLE]:
            index.search(query, args.k)
        single = (time.perf_counter() - start) / SINGLE
        recall = np.mean([len(set(a) & set(ids[b])) / args.k for a, b in zip(found, truth)])
        print(
            f"| {n:,} | {data} | HNSW M={args.connectivity} efC={args.expansion_add} | ef={ef} "
            f"| {build:.1f} | {single * 1e3:.3f} | {batch * 1e3:.3f} | {recall:.3f} "
            f"| {index.nbytes / 2**20:.0f} | {peak:.0f} |",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated catalogue sizes")
    parser.add_argument("--quick", action="store_true", help="one 20 k catalogue, 200 queries")
    parser.add_argument("--clustered", action="store_true", help="also clustered embeddings (an easier case)")
    parser.add_argument("--dim", type=int, default=256, help="embedding size (256 in DCUE)")
    parser.add_argument(
        "--queries", type=int, default=1000, help="queries per size (recall and batch latency)"
    )
    parser.add_argument("--k", type=int, default=10, help="neighbours per query (recall@k)")
    parser.add_argument("--connectivity", type=int, default=16, help="HNSW M")
    parser.add_argument("--expansion-add", type=int, default=128, help="HNSW efConstruction")
    parser.add_argument(
        "--expansion-search",
        type=lambda s: [int(v) for v in s.split(",")],
        default=[64, 128, 256, 512],
        help="comma-separated HNSW efSearch values (the recall / latency trade-off)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = [20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.quick:
        args.queries = 200

    import faiss

    print(
        f"{os.cpu_count()} CPUs, faiss {faiss.__version__} ({faiss.omp_get_max_threads()} threads), "
        f"NumPy {np.__version__}; {args.queries} queries, single-query latency over {SINGLE}; "
        "peak = float32 matmul GFLOP/s measured before each size\n"
    )
    print(
        "| songs | data | index | search | build s | ms / single query | ms / query (batch) "
        f"| recall@{args.k} | MiB | peak GFLOP/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for clustered in [False, True] if args.clustered else [False]:
            bench(n, args, clustered)


if __name__ == "__main__":
    main()
