"""docs/fidelity.md: every row's "ours" is read from the package, equals the authors' value unless
the row states a deliberate difference, and names a test that exists."""

import importlib.util
import os
import re

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fidelity():
    spec = importlib.util.spec_from_file_location("docs_fidelity_for_test", os.path.join(ROOT, "docs", "fidelity.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIDELITY = _fidelity()
ROWS = [(paper["name"], row) for paper in FIDELITY.load_rows() for row in paper["rows"]]


def _same(ours, theirs):
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and set(ours) == set(theirs) and all(_same(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, (list, tuple)):
        return isinstance(theirs, (list, tuple)) and len(ours) == len(theirs) and all(
            _same(a, b) for a, b in zip(ours, theirs))
    if isinstance(ours, (int, float)) and not isinstance(ours, bool) and isinstance(theirs, (int, float)):
        return bool(np.isclose(ours, theirs, rtol=1e-12, atol=0))
    return ours == theirs


@pytest.mark.parametrize("paper, row", ROWS, ids=[f"{paper}: {row['setting']}" for paper, row in ROWS])
def test_ours_is_the_authors_or_a_stated_difference(paper, row):
    assert ("expected" in row) != ("differs" in row), "a row gives the authors' values or a difference, not both"
    values = [FIDELITY.value_of(source) for source in row["ours"]]
    if "expected" in row:
        assert len(row["expected"]) == len(values)
        for source, ours, theirs in zip(row["ours"], values, row["expected"]):
            assert _same(ours, theirs), f"{source}: ours {ours!r}, the authors' {theirs!r}"
    path, _, name = row["test"].partition("::")
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        text = handle.read()
    assert not name or re.search(rf"^def {re.escape(name)}\(", text, re.MULTILINE), f"no test {row['test']}"


def test_a_changed_value_is_caught():
    # The check can fail: a value other than the authors' does not pass for theirs.
    assert not _same([128, 256, 256, 256, 128], [128, 256, 256, 256, 256])
    assert not _same(0.02, 0.2) and not _same("sum", "sum_over_batch_size")
    assert _same({"a": [1, None]}, {"a": [1, None]}) and not _same({"a": [1]}, {"a": [1], "b": 2})


def test_the_page_renders_every_paper():
    text = FIDELITY.tables()
    for paper in FIDELITY.load_rows():
        assert f"### {paper['name']}" in text
    assert "`dcue.yaml` `training.learning_rate` = 0.2" in text


def test_spl2017_extractors_take_the_papers_frames():
    from keras_samplecnn.models.registry import SPL2017_FRAMES, extractor_presets

    # 18, 27 and 54 frames of hop 512 (Lee & Nam, arXiv:1703.01793); 27 frames are 0.63 s.
    presets = extractor_presets("spl2017")
    assert SPL2017_FRAMES == (18, 27, 54)
    assert [p.input_length for p in presets] == [(f - 1) * 512 for f in (18, 27, 54)]
    assert "27 frames (0.63 s)" in presets[1].description
