"""Hugging Face connector: model cards the tests write, read with huggingface_hub itself."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from huggingface_hub import EvalResult, ModelCard, ModelCardData

import mlineage as ml
from mlineage.cli import main
from mlineage.connectors import hf
from mlineage.errors import InvalidSource, MissingDependency, SourceNotFound

BASE = """---
license: apache-2.0
datasets:
- acme/transactions
tags: [fraud]
model-index:
- name: acme/base
  results:
  - task: {type: text-classification}
    dataset: {name: Transactions, type: acme/transactions}
    metrics:
    - {type: accuracy, value: 0.91}
    - {type: f1, value: 0.88}
---
# acme/base
"""


def _card(name: str, bases: list[str], relation: str, accuracy: float) -> str:
    """A card whose YAML header huggingface_hub itself writes."""
    data = ModelCardData(
        base_model=bases if len(bases) > 1 else bases[0],
        base_model_relation=relation,
        datasets=["acme/transactions"],
        model_name=name,
        eval_results=[
            EvalResult(
                task_type="text-classification",
                dataset_type="acme/transactions",
                dataset_name="Transactions",
                metric_type="accuracy",
                metric_value=accuracy,
            )
        ],
    )
    return f"---\n{data.to_yaml()}\n---\n# {name}\n"


@pytest.fixture
def cards(tmp_path: Path) -> dict[str, Path]:
    """A tree: base -> ft (finetune) -> ft-lora (adapter), ft -> ft-q4 (quantized), and a
    merge of ft with `other/model`, which has no card."""
    texts = {
        "base": BASE,
        "ft": _card("acme/ft", ["acme/base"], "finetune", 0.93),
        "lora": _card("acme/ft-lora", ["acme/ft"], "adapter", 0.94),
        "q4": _card("acme/ft-q4", ["acme/ft"], "quantized", 0.92),
        "merged": _card("acme/merged", ["acme/ft", "other/model"], "merge", 0.95),
    }
    paths = {}
    for key, text in texts.items():
        (tmp_path / key).mkdir()
        paths[key] = tmp_path / key / "README.md"
        paths[key].write_text(text)
    return paths


def _tracker(tmp_path: Path) -> ml.Tracker:
    return ml.Tracker("llm", storage=str(tmp_path / "store"), capture_environment=False)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_cards_become_a_tree_whose_edges_carry_the_relation(
    cards: dict[str, Path], tmp_path: Path
) -> None:
    tracker = _tracker(tmp_path)
    # Children before their bases: the import orders them.
    order = [cards[k] for k in ("merged", "lora", "q4", "ft")]
    assert hf.import_model_tree(tracker, {"acme/base": cards["base"]}).added == ("acme/base",)
    summary = hf.import_model_tree(tracker, order)
    assert set(summary.added) == {
        "acme/ft",
        "acme/ft-lora",
        "acme/ft-q4",
        "acme/merged",
        "other/model",
    }

    def get(repo: str) -> ml.ModelVersion:
        return tracker.get_version(hf.version_name(repo))

    base, ft = get("acme/base"), get("acme/ft")
    assert base.metrics == {"accuracy": 0.91, "f1": 0.88}
    assert base.dataset.path == "acme/transactions" and base.dataset.hash == "unrecorded"
    assert base.tags == ("fraud",)
    assert base.origin is not None and base.origin.uri == "https://huggingface.co/acme/base"
    assert (ft.parents, ft.kind) == ((base.id,), "fine_tune")
    assert (get("acme/ft-lora").parents, get("acme/ft-lora").kind) == ((ft.id,), "adapter")
    assert get("acme/ft-q4").kind == "quantized"
    merged = get("acme/merged")
    assert merged.kind == "merge"
    assert merged.parents == (ft.id, get("other/model").id)  # the card's order kept
    assert get("other/model").metadata["hf"]["card"] is None
    again = hf.import_model_tree(tracker, [cards["base"], *order])
    assert again.num_added == 0 and again.num_skipped == 6


def test_card_metadata_round_trips_through_modelcarddata(
    cards: dict[str, Path], tmp_path: Path
) -> None:
    tracker = _tracker(tmp_path)
    hf.import_model_tree(tracker, [cards["base"], cards["ft"], cards["merged"]])
    for key in ("base", "ft", "merged"):
        original = ModelCard.load(cards[key]).data.to_dict()
        meta = hf.model_card_metadata(tracker, hf.version_name(original["model-index"][0]["name"]))
        rebuilt = ModelCardData(**meta).to_dict()
        for field in ("base_model", "base_model_relation", "datasets", "model-index"):
            assert rebuilt.get(field) == original.get(field), (key, field)


def test_a_malformed_card_is_a_typed_error_and_writes_nothing(
    cards: dict[str, Path], tmp_path: Path
) -> None:
    tracker = _tracker(tmp_path)
    hf.import_model_card(tracker, cards["base"])
    before = _files(tmp_path / "store")
    bad = tmp_path / "bad.md"
    bad.write_text("---\nbase_model: [acme/base\n---\n# broken\n")
    with pytest.raises(InvalidSource, match=re.escape(str(bad))):
        hf.import_model_tree(tracker, [cards["ft"], bad])  # the good card is not written
    with pytest.raises(SourceNotFound, match=r"missing\.md"):
        hf.import_model_card(tracker, tmp_path / "missing.md")
    odd = tmp_path / "odd.md"
    odd.write_text("---\nbase_model: acme/base\nbase_model_relation: distilled\n---\n")
    with pytest.raises(InvalidSource, match="distilled"):
        hf.import_model_card(tracker, odd, repo_id="acme/odd")
    nameless = tmp_path / "nameless.md"
    nameless.write_text("---\nbase_model: acme/base\n---\n")
    with pytest.raises(InvalidSource, match="repo_id="):
        hf.import_model_card(tracker, nameless)
    assert _files(tmp_path / "store") == before


def test_the_cli_imports_cards(
    cards: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    args = ["--store", store, "import", "hf", "llm", str(cards["base"]), str(cards["ft"])]
    assert main([*args, "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == ["acme/base", "acme/ft"]
    assert main(args) == 0
    assert "2 added" in capsys.readouterr().out
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == ["acme/base", "acme/ft"]


def test_a_missing_huggingface_hub_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, cards: dict[str, Path], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(MissingDependency, match=r"pip install 'mlineage\[hf\]'"):
        hf.import_model_card(_tracker(tmp_path), cards["base"])
