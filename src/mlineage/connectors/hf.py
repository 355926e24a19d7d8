"""Hugging Face model trees: model cards as versions, ``base_model`` edges as parents.

Needs ``pip install 'mlineage[hf]'``. Cards are read with ``huggingface_hub.ModelCard``:
from a file, from the card's text, or (a repo id) from the Hub with its own client. What
maps to what, and what is lost, is in docs/connectors.md#hugging-face.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import mlineage as ml
from mlineage.connectors import _common
from mlineage.connectors._common import ImportSummary, Progress
from mlineage.errors import InvalidName, InvalidSource, SourceNotFound
from mlineage.records import validate_name

if TYPE_CHECKING:
    from mlineage import Tracker

__all__ = ["import_model_card", "import_model_tree", "model_card_metadata", "version_name"]

SYSTEM = "hf"
#: ``base_model_relation`` values (the Hub's) -> version kinds, and back.
RELATIONS = {
    "adapter": "adapter",
    "merge": "merge",
    "quantized": "quantized",
    "finetune": "fine_tune",
}
_KINDS = {kind: relation for relation, kind in RELATIONS.items()}
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")

Card = str | os.PathLike[str]


def version_name(repo_id: str) -> str:
    """The version name of a repo: ``/`` written as ``--`` (``acme/ft`` -> ``acme--ft``).

    Examples
    --------
    >>> version_name("acme/fraud-ft")
    'acme--fraud-ft'
    """
    return repo_id.replace("/", "--")


def _read(card: Card) -> tuple[Any, str, str | None]:
    """The parsed card, a label naming it in messages, and the repo id it was fetched as."""
    hub = _common.require("huggingface_hub", "hf")
    is_text = isinstance(card, str) and ("\n" in card or card.startswith("---"))
    if is_text:
        text, label, fetched = str(card), "card text", None
    elif os.path.isfile(card):
        label, fetched = os.fspath(card), None
        with open(card, encoding="utf-8") as file:
            text = file.read()
    elif isinstance(card, str) and _REPO_ID.match(card) and "/" in card:
        try:
            return hub.ModelCard.load(card), card, card
        except OSError as exc:  # the Hub's HTTP errors, and "offline, not in the cache"
            raise SourceNotFound(
                f"model card of {card!r} could not be read from the Hub: "
                f"{' '.join(str(exc).split())[:300]}; nothing was imported"
            ) from None
    else:
        raise SourceNotFound(
            f"model card {os.fspath(card)!r} not found: give a card file, the card's text, "
            "or a repo id such as 'acme/fraud-ft'; nothing was imported"
        )
    try:
        return hub.ModelCard(text, ignore_metadata_errors=False), label, fetched
    except Exception as exc:  # yaml errors and the card's own ValueErrors alike
        raise InvalidSource(
            f"model card {label} has a YAML header that cannot be read: "
            f"{' '.join(str(exc).split())[:300]}; fix the header; nothing was imported"
        ) from None


def _list(value: object) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]  # type: ignore[attr-defined]


def _metrics(results: list[Any]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.metric_type] = counts.get(r.metric_type, 0) + 1
    out = {}
    for r in results:
        key = r.metric_type if counts[r.metric_type] == 1 else f"{r.dataset_type}:{r.metric_type}"
        value = r.metric_value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = float(value)
    return out


def _plan_card(card: Card, repo_id: str | None) -> _common.Planned:
    parsed, label, fetched = _read(card)
    data = parsed.data
    repo = repo_id or data.model_name or fetched
    if not repo or not _REPO_ID.match(repo):
        raise InvalidSource(
            f"cannot tell which repository model card {label} describes (repo id {repo!r}); "
            "pass repo_id= (or a {repo_id: card} mapping), or give the card a model-index "
            "name; nothing was imported"
        )
    bases = _list(data.base_model)
    relation = getattr(data, "base_model_relation", None)
    if relation is not None and relation not in RELATIONS:
        raise InvalidSource(
            f"model card {label}: base_model_relation {relation!r} is none of "
            f"{', '.join(RELATIONS)}; nothing was imported"
        )
    kind = RELATIONS[relation] if relation else ("merge" if len(bases) > 1 else "fine_tune")
    datasets = _list(data.datasets)
    # Dates and other YAML scalars become strings: metadata holds JSON only.
    header = json.loads(json.dumps(data.to_dict(), default=str))
    fields = {
        "model_path": f"hf://{repo}",
        "dataset": _common.unrecorded_snapshot(
            "the model card names its datasets by Hub id, without content hashes",
            path=datasets[0] if datasets else None,
            metadata={"hf_datasets": datasets},
        ),
        "metrics": _metrics(data.eval_results or []),
        "tags": _list(data.tags),
        "name": _name(repo, label),
        "metadata": {"hf": {"repo_id": repo, "base_model_relation": relation, "card": header}},
    }
    return _common.Planned(
        id=repo,
        origin=ml.Origin(system=SYSTEM, id=repo, uri=f"https://huggingface.co/{repo}"),
        fields=fields,
        parents=tuple(bases),
        kind=kind,
    )


def _name(repo: str, label: str) -> str:
    try:
        return validate_name(version_name(repo), "version name")
    except InvalidName as exc:
        raise InvalidSource(f"model card {label}: {exc}; nothing was imported") from None


def _base(repo: str) -> _common.Planned:
    """A version for a base model that no imported card describes: its repo id only."""
    return _common.Planned(
        id=repo,
        origin=ml.Origin(system=SYSTEM, id=repo, uri=f"https://huggingface.co/{repo}"),
        fields={
            "model_path": f"hf://{repo}",
            "dataset": _common.unrecorded_snapshot("a base model known only by its repo id"),
            "name": _name(repo, f"naming base model {repo!r}"),
            "metadata": {"hf": {"repo_id": repo, "card": None}},
            "notes": "base model named by an imported card; its own card was not imported",
        },
    )


def import_model_tree(
    tracker: Tracker,
    cards: Iterable[Card] | Mapping[str, Card],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import model cards as a tree of versions: ``base_model`` repos become parents.

    Each card becomes a version named after its repo id with ``/`` written as ``--``
    (``acme--fraud-ft``), its edge kind the card's ``base_model_relation`` (``adapter``,
    ``merge``, ``quantized``; ``finetune`` as ``fine_tune``; when absent, ``merge`` for
    several bases, else ``fine_tune``): a merge has several parents. ``model-index``
    results become metrics, ``datasets`` the data snapshot's path and metadata, ``tags``
    tags; the whole YAML header is kept in ``metadata["hf"]["card"]``. A base model with no
    card among ``cards`` (and not imported before) gets a version with its repo id only.
    Repos imported before are skipped. Every card is read before anything is written.

    Parameters
    ----------
    tracker : Tracker
    cards : iterable or mapping
        Card files, card texts or repo ids (fetched with ``huggingface_hub``'s client); or
        a mapping ``{repo_id: card}`` naming each card's repo. Without a mapping, a file's
        or text's repo id is its ``model-index`` name.
    dry_run : bool
        Read and report; write nothing.
    progress : callable, optional
        Called as ``progress(done, total)`` after each version.

    Returns
    -------
    ImportSummary
        Repo ids added, skipped.

    Raises
    ------
    MissingDependency
        ``huggingface_hub`` is not installed.
    SourceNotFound
        A card file that does not exist, a repo the Hub does not have.
    InvalidSource
        A card whose YAML header does not parse, with an unknown ``base_model_relation``,
        or whose repo id cannot be told; bases that go round in a circle. Nothing written.

    Examples
    --------
    >>> import mlineage as ml
    >>> t = ml.Tracker("hf-doc", storage="memory://hf-doc", capture_environment=False)
    >>> card = "---\\nbase_model: acme/base\\nbase_model_relation: adapter\\n---\\n# ft\\n"
    >>> print(import_model_tree(t, {"acme/ft": card}))
    hf import of 1 card(s): 2 added, 0 skipped (already imported), 0 failed
    >>> t.get_version("acme--ft").kind, t.get_version(t.get_version("acme--ft").parents[0]).name
    ('adapter', 'acme--base')
    """
    items = cards.items() if isinstance(cards, Mapping) else ((None, c) for c in cards)
    plan = [_plan_card(card, repo) for repo, card in items]
    described = {item.id for item in plan}
    bases = {b for item in plan for b in item.parents if b not in described}
    plan = [_base(b) for b in sorted(bases)] + plan
    return _common.write_plan(
        tracker,
        SYSTEM,
        f"{len(described)} card(s)",
        plan,
        dry_run=dry_run,
        progress=progress,
    )


def import_model_card(
    tracker: Tracker, path_or_text: Card, *, repo_id: str | None = None, dry_run: bool = False
) -> ImportSummary:
    """Import one model card (a file, its text, or a repo id read from the Hub).

    The same as :func:`import_model_tree` with one card; ``repo_id`` names the card's repo
    when the card's ``model-index`` does not.
    """
    cards: Mapping[str, Card] | list[Card] = {repo_id: path_or_text} if repo_id else [path_or_text]
    return import_model_tree(tracker, cards, dry_run=dry_run)


def _repo_of(version: ml.ModelVersion) -> str:
    if version.origin is not None and version.origin.system == SYSTEM:
        return version.origin.id
    return (version.name or version.id).replace("--", "/", 1)


def model_card_metadata(tracker: Tracker, ref: str | ml.ModelVersion) -> dict[str, Any]:
    """The YAML header fields a model card needs for a version (for ``ModelCardData``).

    ``base_model`` lists the version's parents as repo ids (a card names its direct bases;
    the Hub follows the chain), ``base_model_relation`` comes from the edge kind,
    ``datasets`` from the imported card or the data snapshot's path, ``model-index`` from
    the imported card's results when the metrics are unchanged, else one result per metric.

    Parameters
    ----------
    tracker : Tracker
    ref : str or ModelVersion

    Returns
    -------
    dict
        ``base_model``, ``base_model_relation``, ``datasets``, ``model-index`` (those that
        apply), ready for ``huggingface_hub.ModelCardData(**fields)``.

    Examples
    --------
    >>> import mlineage as ml
    >>> t = ml.Tracker("hf-meta", storage="memory://hf-meta", capture_environment=False)
    >>> base = t.log(name="acme--base", model_path="b", dataset=ml.DataSnapshot(hash="sha256:0"))
    >>> ft = t.log(name="acme--ft", model_path="f", dataset=ml.DataSnapshot(hash="sha256:0"),
    ...            kind="fine_tune", metrics={"accuracy": 0.9})
    >>> meta = model_card_metadata(t, ft)
    >>> meta["base_model"], meta["base_model_relation"]
    ('acme/base', 'finetune')
    """
    version = tracker.get_version(ref)
    repo = _repo_of(version)
    hf = version.metadata.get("hf")
    card = hf.get("card") if isinstance(hf, dict) else None
    card = card if isinstance(card, dict) else {}
    out: dict[str, Any] = {}
    bases = [_repo_of(tracker.get_version(p)) for p in version.parents]
    if bases:
        out["base_model"] = bases[0] if len(bases) == 1 else bases
        if version.kind in _KINDS:
            out["base_model_relation"] = _KINDS[version.kind]
    datasets = _list(card.get("datasets") or version.dataset.metadata.get("hf_datasets"))
    if not datasets and version.dataset.path:
        datasets = [version.dataset.path]
    if datasets:
        out["datasets"] = datasets
    index = card.get("model-index")
    hub = _common.require("huggingface_hub", "hf")
    if index and _metrics(hub.repocard_data.model_index_to_eval_results(index)[1]) == dict(
        version.metrics
    ):
        out["model-index"] = index
    elif version.metrics:
        dataset = datasets[0] if datasets else "unknown"
        metrics = [{"type": k, "value": v} for k, v in version.metrics.items()]
        out["model-index"] = [
            {
                "name": repo,
                "results": [
                    {
                        "task": {"type": "other"},
                        "dataset": {"name": dataset, "type": dataset},
                        "metrics": metrics,
                    }
                ],
            }
        ]
    return out
