"""The documentation site: `mkdocs build --strict` and what the hooks of docs/hooks.py generate."""

import importlib.util
import os
import subprocess
import sys
import types

import pytest

from tests.helpers import unavailable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS_PACKAGES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_jupyter")


def _load(name, filename):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "docs", filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _require_mkdocs():
    for package in DOCS_PACKAGES:
        try:
            found = importlib.util.find_spec(package)
        except ModuleNotFoundError:
            found = None
        if found is None:
            unavailable("mkdocs is not installed (pip install -e '.[docs]')")


def _read(site, page):
    path = os.path.join(site, page, "index.html")
    assert os.path.exists(path), f"{page} was not built"
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.large
def test_site_builds_strict_with_generated_pages(tmp_path):
    _require_mkdocs()
    site = str(tmp_path / "site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", site],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip  # the first build runs the speech and DCUE demos for the figures
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]

    import keras_samplecnn
    from keras_samplecnn.cli import build_parser as samplecnn_parser
    from keras_samplecnn.models import smc2017_table
    from tfrecords_tools.cli import build_parser as converter_parser

    hooks = _load("docs_hooks_for_test", "hooks.py")

    cli = _read(site, "cli")
    assert "usage: samplecnn train" in cli
    for parser in (samplecnn_parser(), converter_parser()):
        names = list(hooks.subcommands(parser))
        assert names, parser.prog
        for name in names:
            assert f"usage: {parser.prog} {name}" in cli, name

    models = _read(site, "models")
    assert "<!-- generated" not in models
    for name in keras_samplecnn.list_models():
        assert f"<td><code>{name}</code></td>" in models, name

    pretrained = _read(site, "pretrained")
    assert "<!-- generated" not in pretrained
    for name, preset in keras_samplecnn.presets.PRESETS.items():
        assert f"<code>{name}</code>" in pretrained and preset.sha256 in pretrained, name

    smc = _read(site, "papers/smc2017")
    for preset in smc2017_table():
        assert f"<code>{preset.name}</code>" in smc, preset.name

    layers = _read(site, "api/layers")
    assert "SampleConv" in layers
    for name in keras_samplecnn.layers.__all__:
        assert f'id="keras_samplecnn.layers.{name}"' in layers, name
    assert "&gt;&gt;&gt;" in layers  # the doctest examples, rendered as code

    # Notebooks executed by the build: each page shows its figures as stored outputs.
    for notebook in ("filter_spectra", "se_excitations", "tagging_a_song"):
        assert "data:image/png;base64" in _read(site, f"notebooks/{notebook}"), notebook
    # Every figure marker became an image the site holds, with its caption.
    figures = _load("docs_figures_for_test", "figures.py")
    for name, pages in _markers("figure").items():
        # drawn now, or earlier into the build's cache; else the page says how to get the weights
        weights_missing = name in figures.NEEDS_WEIGHTS and not os.path.exists(
            os.path.join(figures.ASSETS, "figures", f"{name}.json"))  # fmt: skip
        for page in pages:
            html = _read(site, page[len("docs/"):-len(".md")].removesuffix("index"))
            if weights_missing:
                assert "SAMPLECNN_WEIGHTS_DIR" in html, page
                continue
            assert f'figures/{name}.png"' in html, (name, page)
        if not weights_missing:
            assert os.path.getsize(os.path.join(site, "figures", f"{name}.png")) > 10_000, name
    pretrained = _read(site, "pretrained")
    if os.path.exists(os.path.join(figures.ASSETS, "outputs", "pretrained-index.json")):
        assert "180 tracks of 256 dims indexed" in pretrained and "genres: accuracy" in pretrained
    assert "<!-- figure" not in pretrained and "<!-- output" not in pretrained
    for page in ("index", "data", "training", "benchmarks", "differences", "tagging"):
        assert os.path.exists(os.path.join(site, "index.html" if page == "index" else f"{page}/index.html"))
    # The README's own quick start and table of differences, included (pymdownx.snippets).
    with open(os.path.join(site, "index.html"), encoding="utf-8") as handle:
        index = handle.read()
    assert "recipes/mtat_se.py" in index and "Clip-level results on the test split" in index
    assert "Bias of the convolutions" in _read(site, "differences") and "--8&lt;--" not in index


def _fake_module():
    module = types.ModuleType("fake_docs_module")

    def documented():
        """Has a docstring."""

    def undocumented():
        pass

    class Base:
        """A documented base class."""

    class Child(Base):  # inherits Base's docstring through inspect.getdoc, but has none itself
        pass

    for value in (documented, undocumented, Base, Child):
        value.__module__ = module.__name__
        setattr(module, value.__name__, value)
    module._private = undocumented
    return module


def test_missing_docstring_check_reports_public_names_without_one(tmp_path, monkeypatch):
    hooks = _load("docs_hooks_for_test", "hooks.py")
    module = _fake_module()

    assert hooks.missing_docstrings(module) == ["fake_docs_module.Child", "fake_docs_module.undocumented"]

    module.__all__ = ["documented", "undocumented", "absent"]
    missing = hooks.missing_docstrings(module)
    assert "fake_docs_module.undocumented" in missing
    assert any(entry.startswith("fake_docs_module.absent") for entry in missing)
    assert "fake_docs_module.documented" not in missing

    # what the build runs: every `::: name` of the API pages, a module without a docstring too
    api = tmp_path / "api"
    api.mkdir()
    (api / "fake.md").write_text("# Fake\n\n::: fake_docs_module\n")
    monkeypatch.setitem(sys.modules, "fake_docs_module", module)
    reported = hooks.check_documented(str(api))
    assert "fake_docs_module (module docstring)" in reported
    assert "fake_docs_module.undocumented" in reported


def test_missing_docstring_check_passes_on_the_documented_modules():
    # Module attributes' docstrings are the string after the assignment, which only griffe reads.
    if importlib.util.find_spec("griffe") is None:
        unavailable("griffe is not installed (pip install -e '.[docs]')")
    hooks = _load("docs_hooks_for_test", "hooks.py")
    assert hooks.documented_targets(), "no ::: directives found in docs/api"
    assert hooks.check_documented() == []


def test_example_headings_become_examples_sections():
    try:
        extensions = _load("docs_griffe_extensions_for_test", "griffe_extensions.py")
    except ModuleNotFoundError:
        unavailable("griffe is not installed (pip install -e '.[docs]')")
    text = "Summary.\n\nExample:\n>>> 1 + 1\n2\n\nMore text.\n    Example:\n        >>> f()\n"
    assert extensions.examples_sections(text) == (
        "Summary.\n\nExamples:\n    >>> 1 + 1\n    2\n\nMore text.\n    Examples:\n        >>> f()\n"
    )


# --- figures and command outputs (docs/figures.py through the hooks' markers) --------------------


def _markers(kind):
    """`{name: [page, ...]}` of every `<!-- figure: NAME -->` (or output) in docs/."""
    import glob
    import re

    found = {}
    for path in glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True):
        with open(path, encoding="utf-8") as handle:
            for name in re.findall(rf"^<!-- {kind}: ([a-z0-9-]+) -->$", handle.read(), re.MULTILINE):
                found.setdefault(name, []).append(os.path.relpath(path, ROOT))
    return found


def test_every_figure_and_output_is_on_a_page_and_every_marker_is_known():
    figures = _load("docs_figures_for_test", "figures.py")
    outputs = {name for names in figures.OUTPUT_NAMES.values() for name in names}
    assert set(_markers("figure")) == set(figures.FIGURES), "figures drawn but not shown, or shown but never drawn"
    assert set(_markers("output")) == outputs
    assert figures.NEEDS_WEIGHTS <= set(figures.FIGURES)


def test_asset_markers_become_figures_with_captions_or_say_what_is_missing(tmp_path, monkeypatch):
    _require_mkdocs()
    from mkdocs.exceptions import PluginError

    hooks = _load("docs_hooks_for_test", "hooks.py")
    monkeypatch.setattr(hooks, "ASSETS", str(tmp_path))
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "taggram.json").write_text('{"caption": "A caption with 0.9504.", "made": "2026-12-06"}')
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "pretrained-embed.json").write_text(
        '{"command": "samplecnn embed x.wav", "text": "1 embeddings\\n", "machine": "2-core CPU", "made": "2026-12-06"}'
    )

    page = "papers/icassp2018.md"
    markdown = "Before\n<!-- figure: taggram -->\n<!-- output: pretrained-embed -->\nAfter <!-- figure: taggram --> inline\n"
    done = hooks._ASSET.sub(lambda m: hooks._asset(m.group(1), m.group(2), page), markdown)
    assert "![taggram](../figures/taggram.png)" in done and "*A caption with 0.9504.*" in done
    assert "```bash\nsamplecnn embed x.wav\n```" in done and "```text\n1 embeddings\n```" in done
    assert "Printed on a 2-core CPU" in done
    assert "After <!-- figure: taggram --> inline" in done  # only a marker on its own line counts

    # the pretrained figure without the weights: a note with a working link, not a broken image
    note = hooks._asset("figure", "pretrained-projection", "index.md")
    assert "SAMPLECNN_WEIGHTS_DIR" in note and "(pretrained.md#where-the-weights-come-from)" in note
    with pytest.raises(PluginError, match="was not made"):
        hooks._asset("figure", "speech-confusion", page)
    with pytest.raises(PluginError, match="unknown figure"):
        hooks._asset("figure", "no-such-figure", page)


def test_dcue_figure_bars_are_the_held_out_means_per_method(tmp_path, monkeypatch):
    import json

    import numpy as np

    figures = _load("docs_figures_for_test", "figures.py")
    rows = []
    values = {("DCUE basic", "warm"): [0.61, 0.65], ("DCUE basic", "cold"): [0.6, 0.7],
              ("DCUE multi (conv3)", "warm"): [0.9, 0.9], ("popularity", "warm"): [0.64, 0.64],
              ("popularity", "cold"): [0.5, 0.5], ("ALS (implicit)", "warm"): [0.76, 0.78]}  # fmt: skip
    for (method, task), pair in values.items():
        for seed, value in enumerate(pair):
            rows.append({"method": method, "seed": seed, "protocol": "heldout", "task": task, "value": value})
            rows.append({"method": method, "seed": seed, "protocol": "authors", "task": task, "value": 0.1})
    (tmp_path / "dcue_table.json").write_text(json.dumps({"seeds": [0, 1], "rows": rows}))
    (tmp_path / "timings.json").write_text(json.dumps({"float32_matmul_peak_flops": 2e11, "total_seconds": 120}))
    monkeypatch.setattr(figures, "demo_run", lambda name, refresh=False: str(tmp_path))

    figure, caption = figures.dcue_cold_warm(False)
    ax = figure.axes[0]
    labels = [tick.get_text() for tick in ax.get_xticklabels()]
    assert labels == ["DCUE basic", "popularity", "ALS (implicit)"]  # per-level rows left out
    heights = [patch.get_height() for patch in ax.patches]
    expected_warm = [np.mean(values[(m, "warm")]) for m in labels]
    expected_cold = [np.mean(values[("DCUE basic", "cold")]), 0.5, np.nan]
    np.testing.assert_allclose(heights, expected_warm + expected_cold)
    assert "seed 0, 1" in caption and "200 GFLOP/s" in caption and "2.0 min" in caption
