"""docs/gate.md: its Python blocks run, in order, in one process, in an empty directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).parents[2] / "docs" / "gate.md"


def test_the_gate_page_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) == 2
    exec(compile("\n".join(blocks), str(PAGE), "exec"), {"__name__": "docs"})


def test_the_policy_on_the_page_is_a_valid_policy() -> None:
    import mlineage as ml

    (text,) = re.findall(r"```toml\n(.*?)```", PAGE.read_text(), flags=re.S)
    policy = ml.GatePolicy.loads(text)
    assert policy.evidence is not None and policy.evidence.attached[0].optional
