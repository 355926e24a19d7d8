"""What the UI shows, as JSON-ready data: one read-only view of a store, shared by requests.

:class:`StoreView` keeps one read-only :class:`~mlineage.tracker.Tracker` per model, brings
it up to date with ``refresh()`` at most once per :data:`REFRESH_S` (so a version logged by
another process shows within a few seconds), and caches each built page under the model's
state (its version count and refresh generation). Everything goes through the public API;
the model page is :func:`mlineage.report.build_report_data`, the same data the offline
report embeds.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from mlineage.errors import InvalidInput, MLineageError, ModelNotFound
from mlineage.records import ModelVersion, validate_name
from mlineage.tracker import Tracker, list_models
from mlineage.views import report_analyses
from mlineage.views.report import build_report_data

__all__ = ["PAGE", "REFRESH_S", "StoreView", "check_model", "check_ref"]

#: Versions per page of the lineage list; a model with more is paged, newest page first.
PAGE = 2000
#: Seconds between two ``refresh()`` calls of one model's tracker.
REFRESH_S = 1.0
#: Results a search returns at most.
SEARCH_LIMIT = 500
_ID = re.compile(r"^[0-9a-f]{32}$")
_PREFIX = re.compile(r"^[0-9a-f]{4,32}$")


def check_model(name: str) -> str:
    """``name`` if it is a valid model name, else :class:`~mlineage.errors.InvalidName`."""
    return validate_name(name, "model")


def check_ref(ref: str) -> str:
    """``ref`` if it can name a version (id, id prefix, name or alias), else InvalidName.

    The library's own name rule (ASCII letters, digits, ``.``, ``_``, ``-``, at most 128
    characters, no path separators): a reference that breaks it names nothing in a store.
    """
    if _ID.match(ref) or _PREFIX.match(ref):
        return ref
    return validate_name(ref, "version reference")


def _iso(version: ModelVersion | None) -> str | None:
    return None if version is None else version.created_at.isoformat()


def _events(tracker: Tracker) -> tuple[Any, ...]:
    """What changes when events arrive: refresh() counts new versions only, but alias moves,
    annotations and evidence change the pages too."""
    return (
        len(tracker.versions_with_events()),
        len(tracker.evidence()),
        tuple(sorted((a, v.id) for a, v in tracker.aliases().items())),
    )


class _Model:
    """One model's tracker, its state and the pages built for that state."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.generation = 0
        self.checked = time.monotonic()
        self.lock = threading.Lock()
        self.cache: dict[tuple[Any, ...], Any] = {}
        self.events = _events(tracker)  # what the events looked like last


class StoreView:
    """A read-only view of one store for the UI: models, pages, comparisons, search.

    Parameters
    ----------
    store : str or Store
        The store (a URI, path or :class:`~mlineage.storage.Store`), opened read-only.

    Examples
    --------
    >>> import mlineage as ml
    >>> t = ml.Tracker("doc-ui", storage="memory://ui-doc", capture_environment=False)
    >>> _ = t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"), name="v0")
    >>> view = StoreView(t.store)
    >>> [m["model"] for m in view.models()]
    ['doc-ui']
    """

    def __init__(self, store: Any) -> None:
        from mlineage import open_store

        self.store = open_store(store, read_only=True)
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()

    # -- trackers ------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The store's model names, sorted."""
        return list_models(self.store)

    def _model(self, name: str) -> _Model:
        check_model(name)
        with self._lock:
            entry = self._models.get(name)
        if entry is None:
            if name not in self.names():
                raise ModelNotFound(
                    f"no model {name!r} in store {self.store.uri}; the store page lists "
                    "the models there"
                )
            entry = _Model(Tracker.load(name, storage=self.store, read_only=True))
            with self._lock:
                entry = self._models.setdefault(name, entry)
        with entry.lock:
            if time.monotonic() - entry.checked >= REFRESH_S:
                entry.checked = time.monotonic()
                new = entry.tracker.refresh()
                events, entry.events = entry.events, _events(entry.tracker)
                if new or events != entry.events:
                    entry.generation += 1
                    entry.cache.clear()
        return entry

    def read(self, name: str, query: Callable[[Tracker], Any]) -> Any:
        """``query(tracker)`` on the (refreshed) tracker of model ``name``, alone: no
        refresh runs while it reads."""
        entry = self._model(name)
        with entry.lock:
            return query(entry.tracker)

    def _cached(self, name: str, key: tuple[Any, ...], build: Callable[[Tracker], Any]) -> Any:
        entry = self._model(name)
        with entry.lock:
            if key not in entry.cache:
                entry.cache[key] = build(entry.tracker)
            return entry.cache[key]

    def state(self, name: str) -> dict[str, Any]:
        """What a page polls: the version count, the latest version and a generation."""
        entry = self._model(name)
        with entry.lock:
            latest = entry.tracker.latest()
            return {
                "model": name,
                "versions": len(entry.tracker),
                "latest": None if latest is None else latest.id,
                "generation": entry.generation,
            }

    def warm(self) -> None:
        """Build the first page of every model now (a long lineage takes seconds), so the
        first visitor does not wait; a model that cannot be read is left to its page."""
        for name in self.names():
            try:
                self.report(name)
            except (MLineageError, OSError):
                continue

    # -- pages ---------------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        """One summary per model; a model that cannot be read gets an ``error`` instead."""
        out = []
        for name in self.names():
            try:
                out.append(self._cached(name, ("summary",), _summary))
            except MLineageError as exc:
                out.append({"model": name, "error": f"{type(exc).__name__}: {exc}"})
        return out

    def report(self, name: str, page: int = 0) -> dict[str, Any]:
        """The report data of one page of model ``name`` (page 0: the newest versions)."""
        if page < 0:
            raise InvalidInput(f"page must be 0 or more, got {page}")
        return dict(self._cached(name, ("report", page), lambda t: _report(t, page)))

    def compare(self, name: str, a: str, b: str) -> dict[str, Any]:
        """Drift between the stored profiles and behaviour between the stored fingerprints.

        Each half is computed on demand and independently: a version without a profile
        (or fingerprint) gives that half as ``{"error": message}``.
        """
        check_ref(a)
        check_ref(b)

        def build(tracker: Tracker) -> dict[str, Any]:
            va, vb = tracker.get_version(a), tracker.get_version(b)
            out: dict[str, Any] = {"model": name, "a": va.id, "b": vb.id}
            halves: list[tuple[str, Callable[[], dict[str, Any]]]] = [
                ("drift", lambda: tracker.analysis.drift(va, vb).to_dict()),
                ("behaviour", lambda: tracker.analysis.compare(va, vb).to_dict()),
            ]
            for key, run in halves:
                try:
                    out[key] = run()
                except MLineageError as exc:
                    out[key] = {"error": f"{type(exc).__name__}: {exc}"}
            return out

        return dict(self._cached(name, ("compare", a, b), build))

    def search(
        self,
        text: str = "",
        *,
        tag: str = "",
        alias: str = "",
        metric: str = "",
        low: float = -math.inf,
        high: float = math.inf,
    ) -> dict[str, Any]:
        """Versions of every model matching all the given criteria, newest first.

        ``text`` matches a model name or version name (substring, any case); ``tag`` a tag
        exactly (annotations' too); ``alias`` an alias exactly; ``metric`` with ``low`` and
        ``high`` a metric's value in ``[low, high]``. At most :data:`SEARCH_LIMIT` results.
        """
        if low > high:
            raise InvalidInput(f"metric range is empty: min {low} is above max {high}")
        needle = text.lower()
        results: list[dict[str, Any]] = []
        errors: dict[str, str] = {}

        def matches(tracker: Tracker) -> None:
            aliases_of: dict[str, list[str]] = {}
            for a, v in tracker.aliases().items():
                aliases_of.setdefault(v.id, []).append(a)
            model_hit = bool(needle) and needle in tracker.model.lower()
            with_events = set(tracker.versions_with_events()) if tag else set()
            for version in reversed(tracker.versions()):
                if len(results) >= SEARCH_LIMIT:
                    return
                if needle and not model_hit and needle not in (version.name or "").lower():
                    continue
                if alias and alias not in aliases_of.get(version.id, []):
                    continue
                if tag:
                    tags = tracker.tags(version) if version.id in with_events else version.tags
                    if tag not in tags:
                        continue
                if metric:
                    value = version.metrics.get(metric)
                    if value is None or not low <= value <= high:
                        continue
                results.append(_hit(tracker, version, aliases_of.get(version.id, [])))

        for name in self.names():
            if len(results) >= SEARCH_LIMIT:
                break
            try:
                self.read(name, matches)
            except MLineageError as exc:
                errors[name] = f"{type(exc).__name__}: {exc}"
        return {"results": results, "truncated": len(results) >= SEARCH_LIMIT, "errors": errors}


def _hit(tracker: Tracker, version: ModelVersion, aliases: list[str]) -> dict[str, Any]:
    return {
        "model": tracker.model,
        "id": version.id,
        "short": tracker.abbrev(version),
        "name": version.name,
        "created_at": version.created_at.isoformat(),
        "metrics": dict(version.metrics),
        "tags": list(version.tags),
        "aliases": aliases,
    }


def _summary(tracker: Tracker) -> dict[str, Any]:
    latest = tracker.latest()
    aliases = {a: v.id for a, v in sorted(tracker.aliases().items())}
    gate: dict[str, Any] | None = None
    for event in tracker.evidence(kind="gate"):  # newest first
        gate = {
            "version": event.version,
            "created_at": event.created_at.isoformat(),
            "summary": dict(event.summary),  # JSON-ready: a summary is small JSON
        }
        break
    return {
        "model": tracker.model,
        "versions": len(tracker),
        "latest": None
        if latest is None
        else {"id": latest.id, "short": tracker.abbrev(latest), "name": latest.name},
        "last_update": _iso(latest),
        "aliases": aliases,
        "gate": gate,
        "anomalies": _anomalies(tracker, gate),
    }


def _anomalies(tracker: Tracker, gate: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The rules the newest gate verdict failed, and the anomalous steps of drift along
    the main line (for a lineage of one page: along 100,000 steps it takes seconds)."""
    out: list[dict[str, Any]] = []
    failed = None if gate is None else gate["summary"].get("failed")
    if gate is not None and isinstance(failed, list):
        out += [{"kind": "gate", "version": gate["version"], "rule": str(r)} for r in failed]
    if len(tracker) <= PAGE:
        try:
            steps = tracker.analysis.drift_along().anomalous
        except MLineageError:  # no profiles, or none readable: nothing to flag
            steps = []
        out += [
            {"kind": "drift", "version": s.version.id, "name": s.version.name, "z": s.z}
            for s in steps
        ]
    return out


def _report(tracker: Tracker, page: int) -> dict[str, Any]:
    total = len(tracker)
    pages = max(1, math.ceil(total / PAGE))
    if page >= pages:
        raise InvalidInput(
            f"model {tracker.model!r} has {pages} page(s) of versions; page {page} is past the last"
        )
    stop = total - page * PAGE
    start = max(0, stop - PAGE)
    if pages == 1:  # the static report's page exactly, with what the store holds
        data = build_report_data(tracker, analyses=report_analyses(tracker))
    else:
        # Drift along a 100,000-version history takes seconds: a page of a long lineage
        # shows the lineage, metrics and aliases; any two versions compare on demand.
        data = build_report_data(tracker, window=(start, stop))
    data["paging"] = {
        "page": page,
        "pages": pages,
        "page_size": PAGE,
        "total": total,
        "start": start,
        "stop": stop,
    }
    return data
