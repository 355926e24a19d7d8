"""docs/ui.md: its Python block runs in an empty directory; its API table names every
endpoint the app serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlineage.ui import create_app

PAGE = Path(__file__).parents[2] / "docs" / "ui.md"


def test_the_ui_page_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) == 1
    exec(compile("\n".join(blocks), str(PAGE), "exec"), {"__name__": "docs"})


def test_the_api_table_lists_every_endpoint() -> None:
    text = PAGE.read_text()
    documented = {
        re.sub(r"<[a-z]+>", "{x}", m.split("?")[0])
        for m in re.findall(r"\| `(/api/[^`]*)` \|", text)
    }
    served = {
        re.sub(r"\{[a-z]+\}", "{x}", r.path)  # type: ignore[attr-defined]
        for r in create_app("memory://ui-docs-test").routes
        if r.path.startswith("/api/")  # type: ignore[attr-defined]
    }
    assert documented == served
