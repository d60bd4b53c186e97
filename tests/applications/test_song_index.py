"""SongIndex (keras_samplecnn.song_index): exact search against an independent NumPy argsort,
HNSW recall against exact search, save / load, exclusion and input errors."""

import ast
import json
import os

import numpy as np
import pytest

from keras_samplecnn import song_index
from keras_samplecnn.song_index import SongIndex, exact_top_k

N, DIM, K = 5000, 32, 10


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def reference(songs, queries, k, exclude=None):
    """Row indices and cosines of the top k, by a float64 argsort of the full score matrix."""
    scores = unit(queries) @ unit(songs).T
    if exclude is not None:
        for row, rows in enumerate(exclude):
            scores[row, list(rows)] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, 1)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(12)
    songs = rng.standard_normal((N, DIM)).astype(np.float32)
    queries = rng.standard_normal((300, DIM)).astype(np.float32)
    ids = np.array([f"song-{i}" for i in range(N)])
    return songs, queries, ids


@pytest.fixture(scope="module")
def ann(data):
    songs, _, ids = data
    return SongIndex(songs, ids)


@pytest.fixture(scope="module")
def exact(data):
    songs, _, ids = data
    return SongIndex(songs, ids, exact=True)


def test_exact_index_matches_numpy_argsort(data, exact):
    songs, queries, ids = data
    rows, scores = reference(songs, queries, K)
    found, found_scores = exact.search(queries, K)
    assert found.shape == found_scores.shape == (len(queries), K)
    np.testing.assert_array_equal(found, ids[rows])
    np.testing.assert_allclose(found_scores, scores, atol=1e-5)


def test_exact_top_k_in_small_chunks(data):
    songs, queries, _ = data
    rows, scores = reference(songs, queries[:40], 7)
    found, found_scores = exact_top_k(unit(songs), unit(queries[:40]), 7, query_chunk=3, song_chunk=11)
    np.testing.assert_array_equal(found, rows)
    np.testing.assert_allclose(found_scores, scores, atol=1e-12)


def test_hnsw_recall_at_10_on_random_vectors(data, ann):
    # 5,000 random 32-d vectors, default graph (M 16, efConstruction 128, efSearch 128): the graph
    # search finds nearly all of the true top 10 (about 0.999 measured); 0.95 leaves room for other
    # faiss builds while a broken index (wrong metric, unnormalised vectors, shuffled ids) scores
    # far lower (chance is 10 / 5,000).
    songs, queries, ids = data
    rows, _ = reference(songs, queries, K)
    found, scores = ann.search(queries, K)
    recall = np.mean([len(set(f) & set(ids[r])) / K for f, r in zip(found, rows)])
    assert recall >= 0.95
    # The scores are the cosines of the songs returned, best first.
    position = {song: i for i, song in enumerate(ids)}
    cosines = np.einsum("qkd,qd->qk", unit(songs)[np.vectorize(position.get)(found)], unit(queries))
    np.testing.assert_allclose(scores, cosines, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_single_query_and_query_norm(data, exact, ann):
    _, queries, _ = data
    for index in (exact, ann):
        batch_ids, batch_scores = index.search(queries[:3], K)
        one_ids, one_scores = index.search(queries[1] * 7.5, K)  # the norm of a query does not matter
        assert one_ids.shape == one_scores.shape == (K,)
        np.testing.assert_array_equal(one_ids, batch_ids[1])
        np.testing.assert_allclose(one_scores, batch_scores[1], atol=1e-6)


@pytest.mark.parametrize("kind", ["exact", "ann"])
def test_save_load_round_trip(kind, data, exact, ann, tmp_path):
    _, queries, _ = data
    index = {"exact": exact, "ann": ann}[kind]
    index.save(tmp_path / "index")
    loaded = SongIndex.load(tmp_path / "index")
    for a, b in zip(index.search(queries, K), loaded.search(queries, K)):
        np.testing.assert_array_equal(a, b)
    assert loaded.expansion_search == index.expansion_search and len(loaded) == N
    with open(tmp_path / "index" / "index.json") as f:
        meta = json.load(f)
    assert meta["dim"] == DIM and meta["metric"] == "cosine" and meta["count"] == N
    assert meta["library"] == ("numpy" if kind == "exact" else "faiss-cpu") and meta["library_version"]


@pytest.mark.parametrize("kind", ["exact", "ann"])
def test_exclude_never_returns_excluded_ids(kind, data, exact, ann):
    songs, queries, ids = data
    index = {"exact": exact, "ann": ann}[kind]
    queries = queries[:50]
    top, _ = reference(songs, queries, 40)
    rng = np.random.default_rng(3)
    # Each query excludes some of its true top 40 and some random songs; a few unknown ids are ignored.
    exclude_rows = [set(t[rng.random(40) < 0.5]) | set(rng.integers(0, N, 30)) for t in top]
    exclude = [list(ids[list(rows)]) + ["not-a-song"] for rows in exclude_rows]
    found, _ = index.search(queries, K, exclude=exclude)
    for row, songs_excluded in zip(found, exclude):
        assert not set(row) & set(songs_excluded) and len(set(row)) == K
    rows, scores = reference(songs, queries, K, exclude=exclude_rows)
    if kind == "exact":
        np.testing.assert_array_equal(found, ids[rows])
    else:
        recall = np.mean([len(set(f) & set(ids[r])) / K for f, r in zip(found, rows)])
        assert recall >= 0.95
    # One query with one collection; None excludes nothing.
    one, _ = index.search(queries[0], K, exclude=set(exclude[0]))
    np.testing.assert_array_equal(one, found[0])
    none, _ = index.search(queries[:2], K, exclude=[None, None])
    np.testing.assert_array_equal(none, index.search(queries[:2], K)[0])


@pytest.mark.parametrize("kind", ["exact", "ann"])
def test_exclude_all_but_k_songs(kind, data, exact, ann):
    # Only 10 songs are left: the HNSW search cannot be relied on to find them, the exact fallback must.
    songs, queries, ids = data
    index = {"exact": exact, "ann": ann}[kind]
    keep = np.random.default_rng(5).choice(N, K, replace=False)
    excluded = set(range(N)) - set(keep.tolist())
    found, scores = index.search(queries[0], K, exclude=ids[sorted(excluded)])
    rows, expected = reference(songs, queries[:1], K, exclude=[excluded])
    np.testing.assert_array_equal(found, ids[rows[0]])
    np.testing.assert_allclose(scores, expected[0], atol=1e-5)


def test_faiss_is_imported_lazily():
    # `import keras_samplecnn` must not need faiss: no module-level import of it.
    tree = ast.parse(open(song_index.__file__).read())
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = [alias.name for node in top_level for alias in node.names] + [
        node.module for node in top_level if isinstance(node, ast.ImportFrom)
    ]
    assert not any(name and name.startswith("faiss") for name in names)


def test_errors(data, exact, ann, tmp_path):
    songs, queries, ids = data
    small, small_ids = songs[:20], ids[:20]
    cases = [
        (lambda: SongIndex(np.empty((0, DIM)), []), "empty"),
        (lambda: SongIndex(songs[0], ids[:1]), r"\(n, d\)"),
        (lambda: SongIndex(small, small_ids[:19]), "19 ids for 20"),
        (lambda: SongIndex(small, list(small_ids[:19]) + ["song-0"]), "distinct"),
        (lambda: SongIndex(small, list(range(20))), "strings"),
        (lambda: SongIndex(np.where(np.arange(DIM) == 3, np.nan, small), small_ids, exact=True), "NaN"),
        (lambda: SongIndex(np.vstack([small[:19], np.zeros(DIM)]), small_ids, exact=True), "all-zero"),
        (lambda: SongIndex(small, small_ids, connectivity=0), "connectivity"),
        (lambda: exact.search(queries[:, :-1], K), "queries must be"),
        (lambda: exact.search(queries[0, :-1], K), "queries must be"),
        (lambda: exact.search(np.full(DIM, np.nan), K), "NaN"),
        (lambda: exact.search(queries, N + 1), "catalogue size"),
        (lambda: exact.search(queries, 0), "catalogue size"),
        (lambda: exact.search(queries[:2], K, exclude=[["song-1"]]), "one collection of ids per query"),
        (lambda: exact.search(queries[:2], K, exclude=["song-1", "song-2"]), "not one string"),
        (lambda: exact.search(queries[0], K, exclude=ids[: N - K + 1]), "fewer than k"),
        (lambda: exact_top_k(songs, queries[:, :3], K), r"\(n, d\)"),
        (lambda: SongIndex.load(tmp_path), "no saved SongIndex"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message):
            make()
    with pytest.raises(ValueError, match=r"got \(31,\)"):
        ann.search(queries[0, :-1], K)
    os.makedirs(tmp_path / "bad")
    with open(tmp_path / "bad" / "index.json", "w") as f:
        json.dump({"format_version": 99, "metric": "cosine"}, f)
    with pytest.raises(ValueError, match="unsupported"):
        SongIndex.load(tmp_path / "bad")


@pytest.mark.parametrize("part", ["index.faiss", "ids.npy", "index.json"])
def test_a_damaged_saved_index_names_the_file(data, ann, tmp_path, part):
    ann.save(tmp_path / "index")
    path = tmp_path / "index" / part
    size = os.path.getsize(path)
    with open(path, "r+b") as f:  # cut short, as a full disk or a kill during a copy leaves it
        f.truncate(size // 2)
    with pytest.raises(ValueError, match=f"{part}.*(damaged|not a|truncated)") as error:
        SongIndex.load(tmp_path / "index")
    assert str(tmp_path / "index" / part) in str(error.value) and len(str(error.value).splitlines()) == 1


def test_saving_over_an_index_of_the_other_kind_leaves_only_its_own_files(exact, ann, tmp_path):
    folder = tmp_path / "index"
    assert not SongIndex.is_saved(folder)
    ann.save(folder)
    exact.save(folder)
    assert SongIndex.is_saved(folder)
    assert sorted(os.listdir(folder)) == ["embeddings.npy", "ids.npy", "index.json"]
    ann.save(folder)
    assert sorted(os.listdir(folder)) == ["ids.npy", "index.faiss", "index.json"]
    assert not SongIndex.load(folder).exact
