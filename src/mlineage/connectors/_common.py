"""What every connector shares: the missing-extra error, the import plan and its summary.

A connector first reads its whole source into a list of :class:`Planned` versions (so that
bad input is found before anything is written), then :func:`write_plan` logs them through
the public tracker API, skipping what an earlier import brought in (``find_origin``).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

import mlineage as ml
from mlineage.errors import InvalidSource, MissingDependency

if TYPE_CHECKING:
    from mlineage import Tracker

__all__ = [
    "ImportSummary",
    "Planned",
    "Progress",
    "parents_first",
    "require",
    "unrecorded_snapshot",
    "write_plan",
]

#: Called as ``progress(done, total)`` after each item of a long import or export.
Progress = Callable[[int, int], None]

#: The ``hash`` of a data snapshot whose content the source system never recorded.
UNRECORDED = "unrecorded"


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or say which extra installs it.

    Parameters
    ----------
    module : str
        The module a connector needs (``"mlflow"``, ``"huggingface_hub"``, ``"yaml"``).
    extra : str
        The mlineage extra that installs it (``"mlflow"``, ``"hf"``, ``"dvc"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingDependency
        The module is not installed; the message names ``pip install 'mlineage[extra]'``.

    Examples
    --------
    >>> require("json", "none").dumps([1])
    '[1]'
    >>> require("no_such_sdk", "demo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlineage.errors.MissingDependency: ... run: pip install 'mlineage[demo]'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.split(".")[0] != exc.name.split(".")[0]:
            raise  # the SDK is there but one of its own dependencies is broken
        raise MissingDependency(
            f"this connector needs {module}, which is not installed; "
            f"run: pip install 'mlineage[{extra}]'"
        ) from None


def unrecorded_snapshot(
    note: str, path: str | None = None, metadata: dict[str, Any] | None = None
) -> ml.DataSnapshot:
    """A data snapshot whose content the source never hashed: ``hash="unrecorded"``.

    Examples
    --------
    >>> unrecorded_snapshot("the run logged no dataset").hash
    'unrecorded'
    """
    return ml.DataSnapshot(path=path, hash=UNRECORDED, notes=note, metadata=metadata or {})


@dataclass(frozen=True)
class ImportSummary:
    """What an import did (or, with ``dry_run``, would do): added, skipped and failed items.

    Ids are the source system's own (an MLflow run id, a repo id, a git commit); ``versions``
    maps each added one to the mlineage version id it became (empty on a dry run).

    Attributes
    ----------
    system : str
        ``"mlflow"``, ``"hf"``, ``"dvc"``.
    source : str
        What was imported (an experiment and tracking URI, a card, a repository).
    added : tuple of str
        Foreign ids imported now, in the order they were written.
    skipped : tuple of str
        Foreign ids an earlier import already brought in (found by their origin).
    failed : tuple of str
        Foreign ids left out, with the reason in ``reasons`` (a failed MLflow run, ...).
    reasons : dict
        Foreign id -> why it was left out.
    versions : dict
        Foreign id -> mlineage version id, for the items added now.
    aliases : dict
        Alias -> foreign id it was pointed at now (already there: not listed).
    dry_run : bool
        Nothing was written.

    Examples
    --------
    >>> s = ImportSummary("mlflow", "experiment 'demo'", added=("a1",), skipped=("b2",))
    >>> s.num_added, s.num_skipped, s.num_failed
    (1, 1, 0)
    >>> print(s)
    mlflow import of experiment 'demo': 1 added, 1 skipped (already imported), 0 failed
    >>> s.to_dict()["skipped"]
    ['b2']
    """

    system: str
    source: str
    added: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    reasons: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def num_added(self) -> int:
        """How many items were imported now."""
        return len(self.added)

    @property
    def num_skipped(self) -> int:
        """How many items were already there."""
        return len(self.skipped)

    @property
    def num_failed(self) -> int:
        """How many items were left out (see ``reasons``)."""
        return len(self.failed)

    def __str__(self) -> str:
        head = "dry run: " if self.dry_run else ""
        verb = "would be added" if self.dry_run else "added"
        lines = [
            f"{head}{self.system} import of {self.source}: {self.num_added} {verb}, "
            f"{self.num_skipped} skipped (already imported), {self.num_failed} failed"
        ]
        lines += [f"  failed {item}: {self.reasons.get(item, '')}" for item in self.failed]
        lines += [f"  alias {a} -> {item}" for a, item in self.aliases.items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (what ``--json`` prints)."""
        return {
            "system": self.system,
            "source": self.source,
            "dry_run": self.dry_run,
            "num_added": self.num_added,
            "num_skipped": self.num_skipped,
            "num_failed": self.num_failed,
            "added": list(self.added),
            "skipped": list(self.skipped),
            "failed": list(self.failed),
            "reasons": dict(self.reasons),
            "versions": dict(self.versions),
            "aliases": dict(self.aliases),
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


@dataclass
class Planned:
    """One version an import will log, before anything is written.

    ``parents`` are foreign ids of the same system: versions of this plan, or versions an
    earlier import wrote; a parent that is neither is left out. ``fields`` are
    :meth:`Tracker.log` keyword arguments (``model_path``, ``dataset``, ``metrics``, ...).
    ``blobs`` are JSON evidence payloads attached after the version (kind -> payload).
    """

    id: str
    origin: ml.Origin
    fields: dict[str, Any]
    parents: tuple[str, ...] = ()
    kind: str | None = None
    timestamp: datetime | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def parents_first(plan: Sequence[Planned]) -> list[Planned]:
    """The plan reordered so that every item comes after its parents in the plan (else in
    the order given).

    Raises
    ------
    InvalidSource
        The parent links go round in a circle (names the ids).

    Examples
    --------
    >>> origin = ml.Origin(system="demo", id="x")
    >>> plan = [Planned("b", origin, {}, parents=("a",)), Planned("a", origin, {})]
    >>> [item.id for item in parents_first(plan)]
    ['a', 'b']
    """
    by_id = {item.id: item for item in plan}
    done: set[str] = set()
    out: list[Planned] = []
    for start in plan:
        stack = [(start, iter(start.parents))]
        active = [start.id]
        while stack:
            item, pending = stack[-1]
            parent = next((p for p in pending if p in by_id and p not in done), None)
            if parent is None:
                stack.pop()
                active.pop()
                if item.id not in done:
                    done.add(item.id)
                    out.append(item)
            elif parent in active:
                circle = " -> ".join([*active[active.index(parent) :], parent])
                raise InvalidSource(
                    f"the parent links of the source go round in a circle: {circle}; "
                    "fix the parent tags or base_model fields; nothing was imported"
                )
            else:
                active.append(parent)
                stack.append((by_id[parent], iter(by_id[parent].parents)))
    return out


def _existing(tracker: Tracker, system: str, foreign_id: str) -> ml.ModelVersion | None:
    found = tracker.find_origin(system, foreign_id)
    return found[-1] if found else None


def write_plan(
    tracker: Tracker,
    system: str,
    source: str,
    plan: Sequence[Planned],
    *,
    failed: dict[str, str] | None = None,
    aliases: Iterable[tuple[str, str]] = (),
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Log the planned versions that are not there yet (parents before children).

    A version's time is its source's, moved up to its latest parent's when the source
    says otherwise (mlineage refuses a version older than its parents). ``aliases`` are
    (alias, foreign id) pairs set after the versions; an alias already there is left.

    Returns
    -------
    ImportSummary
    """
    failed = dict(failed or {})
    plan = parents_first(plan)
    written: dict[str, ml.ModelVersion] = {}
    added: list[str] = []
    skipped: list[str] = []
    for done, item in enumerate(plan, 1):
        existing = _existing(tracker, system, item.id)
        if existing is not None:
            written[item.id] = existing
            skipped.append(item.id)
        elif dry_run:
            added.append(item.id)
        else:
            parents: list[ml.ModelVersion] = []
            for parent in item.parents:
                found = written.get(parent) or _existing(tracker, system, parent)
                if found is not None and found.id not in {p.id for p in parents}:
                    parents.append(found)
            timestamp = item.timestamp
            if timestamp is not None and parents:
                timestamp = max([timestamp, *(p.created_at for p in parents)])
            kind = item.kind if parents else "initial"
            written[item.id] = tracker.log(
                parents=parents, kind=kind, timestamp=timestamp, origin=item.origin, **item.fields
            )
            for evidence_kind, payload in item.evidence.items():
                tracker.attach_evidence(
                    written[item.id],
                    evidence_kind,
                    payload,
                    {"source": item.id},
                    tool=system,
                )
            added.append(item.id)
        if progress is not None:
            progress(done, len(plan))
    moved: dict[str, str] = {}
    current = tracker.aliases()
    for alias, foreign_id in aliases:
        target = written.get(foreign_id)
        here = current.get(alias)
        if target is None:
            if dry_run and foreign_id in added:
                moved[alias] = foreign_id
        elif here is None or here.id != target.id:
            if not dry_run:
                tracker.set_alias(alias, target, reason=f"imported from {system}: {foreign_id}")
            moved[alias] = foreign_id
    return ImportSummary(
        system=system,
        source=source,
        added=tuple(added),
        skipped=tuple(skipped),
        failed=tuple(failed),
        reasons=failed,
        versions={k: written[k].id for k in added if k in written},
        aliases=moved,
        dry_run=dry_run,
    )
