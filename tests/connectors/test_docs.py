"""docs/connectors.md's importer sections and the connectors' docstring examples run."""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from typing import Any

import pytest

from mlineage import connectors
from mlineage.connectors import _common, dvc, hf, mlflow

PAGE = Path(__file__).parents[2] / "docs" / "connectors.md"


@pytest.mark.slow
def test_the_connectors_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The Evidently and OpenLineage sections run in their own tests (Evidently needs its
    # own virtualenv); this one runs the three importers' sections, in order.
    importers = PAGE.read_text().split("\n## Evidently\n")[0]
    blocks = re.findall(r"```python\n(.*?)```", importers, flags=re.DOTALL)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)


def test_the_page_has_a_section_per_connector() -> None:
    titles = re.findall(r"^## (.+)$", PAGE.read_text(), flags=re.MULTILINE)
    assert {"MLflow", "Hugging Face", "DVC", "Evidently", "OpenLineage"} <= set(titles)
    assert all(f"``mlineage.connectors.{m}``" in connectors.__doc__ for m in ("mlflow", "hf"))


@pytest.mark.parametrize("module", [_common, mlflow, hf, dvc])
def test_docstring_examples_run(module: Any) -> None:
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
