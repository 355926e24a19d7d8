"""The Python examples of docs/engines.md run, in order, in an empty directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("dask.dataframe")


def test_docs_engines_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = Path(__file__).parents[2] / "docs" / "engines.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), str(page), "exec"), {"__name__": "docs"})
