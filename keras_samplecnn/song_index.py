"""Nearest-neighbour search over song embeddings, the retrieval step of the deep content-user
embedding model (DCUE; Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786): songs and users
live in one 256-d space and a user's score for a song is their cosine similarity, so recommending
is finding the songs nearest to the user's vector.

Cosine similarity is computed as the inner product of unit vectors: `SongIndex` normalises the
song embeddings once when built and every query when searched, so the scores it returns are
cosines in [-1, 1] and a query's norm does not matter.

`SongIndex(exact=True)` is a brute-force NumPy search (`exact_top_k`): exact, and fast enough for
catalogues of up to some 100 k songs. The default is an approximate HNSW graph (Malkov &
Yashunin, 2018) from faiss-cpu (`faiss.IndexHNSWFlat`, inner-product metric), for 1 M songs.

Why faiss-cpu rather than usearch (both HNSW, both maintained: faiss by Meta since 2017, its
CPU wheels built per release; usearch by Unum): on a 2-core AMD EPYC (AVX-512, float32 matmul
peak measured at 111 GFLOP/s) with 100 k random unit 256-d vectors, 1000 queries, the same graph
(M = connectivity 16, efConstruction = expansion_add 128, efSearch = expansion_search 64),
faiss 1.15.1 built the index in 36 s against 88 s for usearch 2.26.6, answered a batch of
queries in 0.15 ms per query against 0.81 ms and a single query in 0.30 ms against 0.85 ms, at
the same recall@10 (0.115 against 0.110: random Gaussian vectors are the hard case, see
`benchmarks/bench_index.py`); on 20 k vectors, at efSearch 64 / 256 / 1024, faiss reached
recall 0.34 / 0.74 / 0.98 in 0.06 / 0.19 / 0.77 ms per query and usearch 0.33 / 0.71 / 0.98 in
0.12 / 0.38 / 1.19 ms. Installed sizes are alike (faiss-cpu 66 MB, usearch with its numkong
dependency 57 MB). faiss also reads back the stored vectors (`reconstruct_n`), which the exact
fallback of `search(exclude=...)` uses.

faiss is imported only when an approximate index is built or loaded, so `import keras_samplecnn`
does not need it.
"""

import json
import os

import numpy as np

METRIC = "cosine"
FORMAT_VERSION = 1
_META, _IDS, _FAISS, _VECTORS = "index.json", "ids.npy", "index.faiss", "embeddings.npy"


def _faiss():
    from keras_samplecnn.messages import needs_extra

    return needs_extra("faiss", "recommend", "SongIndex(exact=False), an HNSW index (or exact=True / --exact)")


def exact_top_k(embeddings, queries, k, query_chunk=256, song_chunk=65536):
    """The `k` largest inner products of each query with the catalogue, by brute force.

    Works in blocks of `query_chunk` queries by `song_chunk` songs, keeping a running top `k`, so
    that searching 1 M songs needs one `(query_chunk, song_chunk)` score block at a time, not a
    `(queries, songs)` matrix. Scores are computed in the inputs' common float type (float32 for
    float32 inputs). Pass unit vectors for cosine similarity.

    Args:
        embeddings: `(n, d)` catalogue.
        queries: `(q, d)` queries.
        k: neighbours per query, 1 <= k <= n.
        query_chunk, song_chunk: block sizes (memory is about `query_chunk * song_chunk` floats).

    Returns:
        `(indices, scores)`, both `(q, k)`: catalogue rows and their inner products, best first;
        equal scores are ordered by row.
    """
    embeddings, queries = np.asarray(embeddings), np.asarray(queries)
    if embeddings.ndim != 2 or queries.ndim != 2 or embeddings.shape[1] != queries.shape[1]:
        raise ValueError(
            f"need (n, d) embeddings and (q, d) queries, got {embeddings.shape}, {queries.shape}"
        )
    n = len(embeddings)
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must be between 1 and the catalogue size {n}")
    dtype = np.result_type(embeddings.dtype, queries.dtype, np.float32)
    indices = np.empty((len(queries), k), np.int64)
    scores = np.empty((len(queries), k), dtype)
    for q0 in range(0, len(queries), query_chunk):
        block = queries[q0 : q0 + query_chunk].astype(dtype, copy=False)
        best_i = np.empty((len(block), 0), np.int64)
        best_s = np.empty((len(block), 0), dtype)
        for s0 in range(0, n, song_chunk):
            part = block @ embeddings[s0 : s0 + song_chunk].astype(dtype, copy=False).T
            # The block's own top k first, so that the merge with the running top k stays small.
            part_i = np.broadcast_to(np.arange(part.shape[1]), part.shape)
            if part.shape[1] > k:
                part_i = np.argpartition(-part, k - 1, axis=1)[:, :k]
                part = np.take_along_axis(part, part_i, 1)
            cand_i = np.concatenate([best_i, part_i + s0], 1)
            cand_s = np.concatenate([best_s, part], 1)
            if cand_s.shape[1] > k:
                keep = np.argpartition(-cand_s, k - 1, axis=1)[:, :k]
                cand_i = np.take_along_axis(cand_i, keep, 1)
                cand_s = np.take_along_axis(cand_s, keep, 1)
            best_i, best_s = cand_i, cand_s
        # argpartition leaves the top k unordered: sort by score, then by row for a stable tie order.
        order = np.lexsort((best_i, -best_s), axis=1)
        indices[q0 : q0 + len(block)] = np.take_along_axis(best_i, order, 1)
        scores[q0 : q0 + len(block)] = np.take_along_axis(best_s, order, 1)
    return indices, scores


def _unit_rows(vectors, what):
    """float32 copy of `vectors` with rows scaled to unit length; ValueError on NaN, inf or zero rows."""
    vectors = np.asarray(vectors, np.float32)
    if not np.isfinite(vectors).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{what} contain all-zero vectors, which have no cosine similarity")
    return np.ascontiguousarray(vectors / norms)


class SongIndex:
    """Cosine-similarity search over a song catalogue: exact (NumPy) or approximate (faiss HNSW).

    Args:
        embeddings: `(n, d)` song embeddings (e.g. DCUE's 256-d audio embeddings); normalised to
            unit length (a copy), so scores are cosines.
        ids: `n` distinct string song ids, in the order of `embeddings`' rows.
        exact: brute-force NumPy search instead of an HNSW graph: exact, for small catalogues and
            as the reference of the approximate index.
        connectivity: HNSW neighbours per node (faiss `M`; the graph has up to `2 * M` links per node
            on its bottom layer). More: higher recall, more memory and build time.
        expansion_add: candidate list size while building (faiss `efConstruction`). More: a better
            graph, slower build.
        expansion_search: candidate list size while searching (faiss `efSearch`; at least `k` is
            used). The recall / latency trade-off; can be changed after building through the
            attribute of the same name.

    Raises:
        ValueError: empty catalogue, not `(n, d)`, NaN / infinite / all-zero vectors, ids not `n`
            distinct strings, or HNSW parameters below 1.
    """

    def __init__(
        self, embeddings, ids, exact=False, connectivity=16, expansion_add=128, expansion_search=128
    ):
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"embeddings must be (n, d), got shape {embeddings.shape}")
        if embeddings.shape[0] == 0 or embeddings.shape[1] == 0:
            raise ValueError(f"the catalogue is empty: embeddings of shape {embeddings.shape}")
        self.ids = _check_ids(ids, len(embeddings))
        for name, value in [
            ("connectivity", connectivity),
            ("expansion_add", expansion_add),
            ("expansion_search", expansion_search),
        ]:
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.exact = bool(exact)
        self.dim = embeddings.shape[1]
        self.connectivity, self.expansion_add = int(connectivity), int(expansion_add)
        self._row = {song: row for row, song in enumerate(self.ids.tolist())}
        vectors = _unit_rows(embeddings, "embeddings")
        if self.exact:
            self._vectors, self._index = vectors, None
        else:
            faiss = _faiss()
            self._index = faiss.IndexHNSWFlat(self.dim, self.connectivity, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = self.expansion_add
            self._index.add(vectors)
            self._vectors = None  # kept by faiss; read back only for the exact fallback of `search`
        self.expansion_search = int(expansion_search)

    @property
    def expansion_search(self):
        return self._expansion_search

    @expansion_search.setter
    def expansion_search(self, value):
        if int(value) < 1:
            raise ValueError(f"expansion_search must be >= 1, got {value}")
        self._expansion_search = int(value)
        if self._index is not None:
            self._index.hnsw.efSearch = self._expansion_search

    def __len__(self):
        return len(self.ids)

    @property
    def nbytes(self):
        """Memory of the stored vectors plus, for HNSW, the graph's links and levels (bytes)."""
        if self.exact:
            return self._vectors.nbytes
        hnsw = self._index.hnsw
        graph = hnsw.neighbors.size() * 4 + hnsw.levels.size() * 4 + hnsw.offsets.size() * 8
        return len(self) * self.dim * 4 + graph

    def search(self, queries, k=10, exclude=None):
        """The `k` songs most similar (cosine) to each query, best first.

        Args:
            queries: `(q, d)` query vectors (e.g. user embeddings), or one `(d,)` vector;
                normalised, so their norms do not matter.
            k: songs per query, 1 <= k <= catalogue size.
            exclude: optional songs never to return (e.g. those a user already played): for
                `(q, d)` queries a sequence of `q` collections of ids (or None), for one `(d,)`
                query a single collection. Ids not in the catalogue are ignored. Implemented by
                over-fetching `k` + the number excluded and filtering; rows that still come up
                short (an HNSW search can return fewer results than asked) are searched exactly.

        Returns:
            `(ids, scores)`: `(q, k)` string ids and float32 cosine similarities, best first;
            `(k,)` each for a `(d,)` query.

        Raises:
            ValueError: wrong dimension, NaN / infinite / all-zero queries, k out of range, an
                exclude of the wrong length or fewer than `k` songs left after excluding.
        """
        queries = np.asarray(queries)
        shape, single = queries.shape, queries.ndim == 1
        if single:
            queries = queries[None]
            exclude = None if exclude is None else [exclude]
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries must be (q, {self.dim}) or ({self.dim},), got {shape}")
        if not 1 <= k <= len(self):
            raise ValueError(f"k={k} must be between 1 and the catalogue size {len(self)}")
        queries = _unit_rows(queries, "queries")
        excluded = self._excluded_rows(exclude, len(queries), k)

        fetch = k + max((len(rows) for rows in excluded), default=0)
        rows, scores = self._search_rows(queries, min(fetch, len(self)))
        out_rows = np.empty((len(queries), k), np.int64)
        out_scores = np.empty((len(queries), k), np.float32)
        for i in range(len(queries)):
            keep = (rows[i] >= 0) & ~np.isin(rows[i], list(excluded[i]))
            found, found_scores = rows[i][keep][:k], scores[i][keep][:k]
            if len(found) < k:  # the graph search missed some: rank this query's whole catalogue
                found, found_scores = self._exact_row(queries[i], k, excluded[i])
            out_rows[i], out_scores[i] = found, found_scores
        ids = self.ids[out_rows]
        return (ids[0], out_scores[0]) if single else (ids, out_scores)

    def _excluded_rows(self, exclude, n_queries, k):
        if exclude is None:
            return [set()] * n_queries
        if isinstance(exclude, (str, bytes)) or len(exclude) != n_queries:
            raise ValueError(f"exclude must hold one collection of ids per query ({n_queries})")
        excluded = []
        for songs in exclude:
            if songs is None:
                songs = ()
            if isinstance(songs, (str, bytes)):
                raise ValueError("each exclude entry must be a collection of ids, not one string")
            rows = {self._row[song] for song in songs if song in self._row}
            if len(self) - len(rows) < k:
                raise ValueError(
                    f"only {len(self) - len(rows)} songs are left after excluding, fewer than k={k}"
                )
            excluded.append(rows)
        return excluded

    def _search_rows(self, queries, k):
        if self.exact:
            return exact_top_k(self._vectors, queries, k)
        scores, rows = self._index.search(queries, k)
        return rows, scores

    def _exact_row(self, query, k, excluded):
        vectors = self._vectors if self.exact else self._index.reconstruct_n(0, len(self))
        scores = vectors @ query
        scores[list(excluded)] = -np.inf
        rows = np.lexsort((np.arange(len(scores)), -scores))[:k]
        return rows, scores[rows]

    def save(self, directory):
        """Write the index to `directory` (created if missing).

        Files: `index.faiss` (the HNSW graph and vectors, faiss's format) or `embeddings.npy`
        (the unit vectors of an exact index), `ids.npy`, and `index.json` with the dimension,
        metric, size, HNSW parameters and the library and its version. Saving over an index of
        the other kind removes that kind's file.
        """
        os.makedirs(directory, exist_ok=True)
        stale = os.path.join(directory, _FAISS if self.exact else _VECTORS)
        if os.path.exists(stale):
            os.remove(stale)
        meta = {
            "format_version": FORMAT_VERSION,
            "dim": self.dim,
            "metric": METRIC,
            "count": len(self),
            "exact": self.exact,
            "connectivity": self.connectivity,
            "expansion_add": self.expansion_add,
            "expansion_search": self.expansion_search,
        }
        if self.exact:
            meta.update(library="numpy", library_version=np.__version__)
            np.save(os.path.join(directory, _VECTORS), self._vectors)
        else:
            faiss = _faiss()
            meta.update(library="faiss-cpu", library_version=faiss.__version__)
            faiss.write_index(self._index, os.path.join(directory, _FAISS))
        np.save(os.path.join(directory, _IDS), self.ids)
        with open(os.path.join(directory, _META), "w") as f:
            json.dump(meta, f, indent=2)

    @staticmethod
    def is_saved(directory):
        """Whether `directory` holds a saved `SongIndex` (its `index.json`)."""
        return os.path.isfile(os.path.join(directory, _META))

    @classmethod
    def load(cls, directory):
        """Read an index written by `save`.

        Raises:
            ValueError: the directory does not hold a saved index of this format, its parts
                disagree (ids, vectors, dimension), or a part is damaged (truncated, not the
                file it should be); the message names the file.
        """
        path = os.path.join(directory, _META)
        if not os.path.isfile(path):
            raise ValueError(f"{directory} holds no saved SongIndex ({_META} is missing)")

        def read_meta(path):
            with open(path, encoding="utf-8") as f:
                meta = json.load(f)
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
            return meta

        meta = _read_part(path, read_meta)
        if meta.get("format_version") != FORMAT_VERSION or meta.get("metric") != METRIC:
            raise ValueError(
                f"{path}: unsupported format {meta.get('format_version')} / metric {meta.get('metric')}"
            )
        self = cls.__new__(cls)
        try:
            self.exact, self.dim = bool(meta["exact"]), int(meta["dim"])
            self.connectivity, self.expansion_add = int(meta["connectivity"]), int(meta["expansion_add"])
            expansion_search, count = int(meta["expansion_search"]), int(meta["count"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path} is damaged: {type(error).__name__} {error}") from None
        self.ids = _read_part(os.path.join(directory, _IDS), _load_npy)
        if self.exact:
            self._index = None
            self._vectors = _read_part(os.path.join(directory, _VECTORS), _load_npy)
            shape = self._vectors.shape
        else:
            self._vectors = None
            self._index = _read_part(os.path.join(directory, _FAISS), _faiss().read_index)
            shape = (self._index.ntotal, self._index.d)
        if shape != (count, self.dim) or len(self.ids) != count:
            raise ValueError(f"{directory}: vectors {shape} and {len(self.ids)} ids disagree with {_META}")
        self._row = {song: row for row, song in enumerate(self.ids.tolist())}
        self.expansion_search = expansion_search  # a property: sets the faiss index's efSearch
        return self


def _load_npy(path):
    return np.load(path, allow_pickle=False)


def _read_part(path, read):
    """`read(path)`, with a damaged file (truncated, or not what it should be) reported as a
    one-line ValueError naming it: faiss raises a RuntimeError with its C++ location, NumPy and
    JSON a ValueError or EOFError that does not name the file."""
    try:
        return read(path)
    except FileNotFoundError:
        raise
    except (RuntimeError, ValueError, EOFError, OSError) as error:
        reason = " ".join(str(error).split())
        if len(reason) > 200:
            reason = reason[:197] + "..."
        raise ValueError(f"{path} is damaged or not a saved SongIndex part ({reason})") from None


def _check_ids(ids, n):
    """`ids` as a NumPy string array after checking there are `n` distinct strings."""
    ids = list(ids) if not isinstance(ids, (str, bytes)) else None
    if ids is None or not all(isinstance(song, str) for song in ids):
        raise ValueError("ids must be a sequence of strings")
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} embeddings")
    if len(set(ids)) != n:
        raise ValueError(f"ids must be distinct: {n - len(set(ids))} duplicates")
    return np.array(ids, dtype=str)
