"""``examples/notebook.ipynb`` runs from top to bottom in a real Jupyter kernel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
NOTEBOOK = ROOT / "examples" / "notebook.ipynb"


def test_the_example_notebook_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the dev extra")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is in the dev extra")
    from jupyter_client.kernelspec import NoSuchKernel

    # The kernel is a new process: give it this checkout's source. Its plots use the
    # inline backend (PNG outputs), which needs no display.
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": tmp_path}}
    )
    try:
        client.execute()
    except (NoSuchKernel, RuntimeError) as exc:
        if client.kc is None:  # the kernel never started; a failing cell is not skipped
            print(f"skipped: no Jupyter kernel 'python3' could start: {exc}")
            pytest.skip(f"no Jupyter kernel 'python3' could start: {exc}")
        raise
    outputs = {
        i: cell.get("outputs", [])
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    }
    html = [
        o["data"]["text/html"]
        for cell in outputs.values()
        for o in cell
        if "data" in o and "text/html" in o["data"]
    ]
    assert any("mlineage Tracker" in h for h in html)  # the tracker's summary
    assert any("blame accuracy" in h for h in html)
    assert any("image/png" in o.get("data", {}) for cell in outputs.values() for o in cell)
    assert not [o for cell in outputs.values() for o in cell if o.get("output_type") == "error"]
    # the analysis results show as tables, their verdicts and rules in the caption
    for caption in (
        "dataset drift: 2 of 4 features drifted (Bonferroni p &lt; 0.05; dataset drift needs",
        "anomalous step (drift score z",
        "silent shifts on probe",
        "behaviour diff",
        "calibration of 2,000 predictions",
        "accuracy: no level shift in 12 versions",
    ):
        assert any(caption in h for h in html), caption
    # no leaked reprs, nothing huge
    texts = [
        o["data"].get("text/plain", "") if "data" in o else o.get("text", "")
        for cell in outputs.values()
        for o in cell
    ]
    assert not [t for t in texts if "object at 0x" in t or "Event(id=" in t]
    assert max(len(t) for t in texts) < 2_000 and max(len(h) for h in html) < 20_000
