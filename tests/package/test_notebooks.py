"""Every notebook runs top to bottom (with the QUICK settings) so they never rot."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "notebooks")


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    return tmp_path_factory.mktemp("demo_run") / "run"


@pytest.mark.large  # an end-to-end run: `python -m pytest -m large` (CI runs it)
@pytest.mark.parametrize("name", sorted(f for f in os.listdir(NOTEBOOKS) if f.endswith(".ipynb")))
def test_notebook_runs(name, tmp_path, monkeypatch, shared_run):
    with open(os.path.join(NOTEBOOKS, name), encoding="utf-8") as f:
        notebook = nbformat.read(f, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "stored outputs"
    )
    monkeypatch.setenv("SAMPLECNN_NOTEBOOK_QUICK", "1")
    monkeypatch.delenv("SAMPLECNN_MODEL", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("SAMPLECNN_REPO", os.path.dirname(NOTEBOOKS))
    # One quick demo run, shared by the notebooks that need a trained model.
    monkeypatch.setenv("SAMPLECNN_RUN", str(shared_run))
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    images = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert images, f"{name} displayed no figure"
