"""Collect what the HTML lineage report shows from a tracker, as JSON-ready data.

Everything here goes through the public :class:`~mlineage.tracker.Tracker` API. The result
of :func:`build_report_data` is plain JSON (dicts, lists, strings, finite numbers, bools,
None) that the page's script renders; nothing in it is markup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from mlineage._coerce import MAX_DEPTH, MAX_INT_DIGITS
from mlineage._text import surrogate_message
from mlineage.errors import InvalidInput, MLineageError

if TYPE_CHECKING:
    from mlineage.records import EnvironmentSnapshot, ModelVersion
    from mlineage.tracker import Tracker

__all__ = ["SCHEMA", "SUSPECTS", "bad_direction", "build_report_data"]

#: Version of the layout of the report data; the page's script checks it.
SCHEMA = 1
#: How many blame suspects (worst steps) are marked per metric.
SUSPECTS = 3
#: Metric names for which a rise is the bad direction (matched as substrings).
_RISING_IS_BAD = re.compile(r"loss|error|mse|mae|rmse|latency", re.IGNORECASE)
#: Keys of ``analyses`` the page knows; any other key is shown as a table titled by the key.
_CHANGE_POINTS = "change_points"


def bad_direction(metric: str) -> Literal["decrease", "increase"]:
    """The direction in which ``metric`` gets worse, guessed from its name.

    Parameters
    ----------
    metric : str
        A metric name.

    Returns
    -------
    {"decrease", "increase"}
        ``"increase"`` when the name contains loss, error, mse, mae, rmse or latency (in
        any case), else ``"decrease"``.

    Examples
    --------
    >>> bad_direction("val_loss"), bad_direction("p99_latency_ms"), bad_direction("f1")
    ('increase', 'increase', 'decrease')
    """
    return "increase" if _RISING_IS_BAD.search(metric) else "decrease"


def build_report_data(
    tracker: Tracker,
    *,
    title: str | None = None,
    metric: str | None = None,
    analyses: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Collect everything the lineage report shows, as JSON-ready data.

    Parameters
    ----------
    tracker : Tracker
        The model whose lineage to report (read only; nothing is written).
    title : str, optional
        Page title. Default: ``"<model> lineage"``.
    metric : str, optional
        The metric to show first and beside every version in the lineage list. Default:
        the metric recorded by the most versions (ties: alphabetical).
    analyses : mapping, optional
        Results of analyses to show as tables: each key (``"drift"``, ``"behaviour"`` or
        any other) maps to a list of rows, each row a mapping of column name to a string,
        number, bool or None (lists and dicts are shown as JSON text). The key
        ``"change_points"`` is special: a mapping of metric name to a list of
        ``{"version": ref, ...}`` dicts, drawn as markers on that metric's timeline.

    Returns
    -------
    dict
        ``schema``, ``title``, ``model``, ``store`` (the store's URI), ``generated_at``,
        ``mlineage_version``, ``primary_metric``, ``spine`` (ids of the main line, oldest
        first: the first-parent history of the branch tip with the longest one),
        ``versions`` (parents before children, each a dict of its record fields, current
        status, annotations, all tags and the aliases pointing at it now),
        ``environments`` (each distinct environment once, keyed by its store key),
        ``aliases`` (current target and every move), ``metrics`` (per metric: the bad
        direction, its values along the spine, the worst blame steps, change points) and
        ``analyses``.

    Raises
    ------
    InvalidInput
        If ``tracker`` is not a Tracker, ``title`` is not a string, ``metric`` is not
        recorded by any version, or ``analyses`` is not shaped as described (the message
        names the offending key or row).

    Examples
    --------
    >>> import mlineage as ml
    >>> from mlineage.report import build_report_data
    >>> t = ml.Tracker("doc-report", storage="memory://report-data-doc",
    ...                capture_environment=False)
    >>> for i, acc in enumerate([0.90, 0.92, 0.85]):
    ...     _ = t.log(model_path=f"m{i}.pt", dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
    ...               metrics={"accuracy": acc}, name=f"v{i}")
    >>> data = build_report_data(t)
    >>> [v["name"] for v in data["versions"]]
    ['v0', 'v1', 'v2']
    >>> [data["metrics"][0]["name"], data["metrics"][0]["direction"]]
    ['accuracy', 'decrease']
    >>> data["metrics"][0]["suspects"][0]["version"] == t.get_version("v2").id
    True
    """
    from mlineage import __version__
    from mlineage.tracker import Tracker

    if not isinstance(tracker, Tracker):
        raise InvalidInput(
            f"build_report_data needs a mlineage Tracker, got {type(tracker).__name__}"
        )
    if title is not None and not isinstance(title, str):
        raise InvalidInput(f"title must be a string, got {type(title).__name__}")
    problem = None if title is None else surrogate_message(title, "title")
    if problem is not None:
        raise InvalidInput(problem)
    versions = tracker.graph.topological_order()
    spine = _spine(tracker, versions)
    counts = _metric_counts(versions)
    primary = _primary_metric(tracker, counts, metric)
    current_aliases = tracker.aliases()
    aliases_of: dict[str, list[str]] = {}
    for alias, target in current_aliases.items():
        aliases_of.setdefault(target.id, []).append(alias)
    environments: dict[str, dict[str, Any]] = {}
    # Only these versions have annotations or status changes to look up; the others'
    # come from their records (10^4 versions, 10^3 events: one lookup per event).
    with_events = set(tracker.versions_with_events())
    rows = []
    for version in versions:
        row = _version_row(tracker, version, aliases_of.get(version.id, []), with_events)
        rows.append(row)
        ref = version.environment_ref
        if ref is not None and ref not in environments:
            environments[ref] = _environment(tracker, version)
    change_points = _change_points(tracker, analyses, counts)
    return {
        "schema": SCHEMA,
        "title": title if title is not None else f"{tracker.model} lineage",
        "model": tracker.model,
        "store": tracker.store.uri,
        "generated_at": datetime.now(timezone.utc).isoformat(),
        "mlineage_version": __version__,
        "primary_metric": primary,
        "spine": [v.id for v in spine],
        "versions": rows,
        "environments": environments,
        "aliases": _aliases(tracker, current_aliases),
        "metrics": [
            _metric(tracker, name, counts[name], spine, change_points.get(name, []))
            for name in sorted(counts, key=lambda m: (m != primary, m))
        ],
        "analyses": _tables(analyses),
    }


# -- versions -------------------------------------------------------------------------------


def _spine(tracker: Tracker, versions: Sequence[ModelVersion]) -> list[ModelVersion]:
    """The main line: the first-parent history of the tip with the longest one, oldest first.

    Like git's main branch, it is the line a long-lived model has been updated along; a
    fine-tune branch logged last does not become the main line. Ties go to the newer tip.
    """
    if not versions:
        return []
    depth: dict[str, int] = {}
    for version in versions:  # parents before children
        parent = version.parent_id
        depth[version.id] = 1 if parent is None else depth[parent] + 1
    leaves = tracker.leaves()  # oldest first
    tip = max(reversed(leaves), key=lambda v: depth[v.id])
    return tracker.history(tip)[::-1]


def _version_row(
    tracker: Tracker, version: ModelVersion, aliases: list[str], with_events: set[str]
) -> dict[str, Any]:
    has_events = version.id in with_events
    annotations = tracker.annotations(version) if has_events else []
    tags = list(version.tags)
    for event in annotations:
        tags += [t for t in event.tags if t not in tags]
    artifact = version.model_artifact
    return {
        "id": version.id,
        "short": tracker.abbrev(version),
        "name": version.name,
        "parents": list(version.parents),
        "kind": version.kind,
        "created_at": version.created_at.isoformat(),
        "started_at": None if version.started_at is None else version.started_at.isoformat(),
        "model_path": version.model_path,
        "artifact": None
        if artifact is None
        else {
            "path": artifact.path,
            "hash": artifact.hash,
            "size": artifact.size,
            "kind": artifact.kind,
            "num_files": artifact.num_files,
            "archived": artifact.blob is not None,
        },
        "dataset": version.dataset.model_dump(mode="json"),
        "metrics": dict(version.metrics),
        "hyperparameters": dict(version.hyperparameters),
        "metadata": dict(version.metadata),
        "notes": version.notes,
        "tags": list(version.tags),
        "all_tags": tags,
        "status": (tracker.status(version) if has_events else version.status).value,
        "annotations": [
            {"created_at": e.created_at.isoformat(), "notes": e.notes, "tags": list(e.tags)}
            for e in annotations
        ],
        "aliases": aliases,
        "environment_ref": version.environment_ref,
    }


def _environment(tracker: Tracker, version: ModelVersion) -> dict[str, Any]:
    """One environment blob, compactly; an unreadable blob becomes ``{"error": message}``."""
    try:
        env: EnvironmentSnapshot | None = tracker.environment(version)
    except MLineageError as exc:
        # A damaged or missing blob must not stop the report; fsck is the tool for it.
        return {"error": str(exc)}
    if env is None:
        return {"error": "no environment recorded"}
    return {
        "python_version": env.python_version,
        "implementation": env.implementation,
        "platform": env.platform,
        "machine": env.machine,
        "git_commit": env.git_commit,
        "git_branch": env.git_branch,
        "git_dirty": env.git_dirty,
        "torch_version": env.torch_version,
        "cuda_version": env.cuda_version,
        "packages": dict(sorted(env.packages.items())),
    }


def _aliases(tracker: Tracker, current: Mapping[str, ModelVersion]) -> list[dict[str, Any]]:
    # Only aliases that point somewhere now can be listed: the public API names no others.
    out = []
    for alias in sorted(current):
        out.append(
            {
                "name": alias,
                "target": current[alias].id,
                "history": [
                    {
                        "version": move.version,
                        "effective_at": move.effective_at.isoformat(),
                        "recorded_at": move.created_at.isoformat(),
                    }
                    for move in tracker.alias_history(alias)
                ],
            }
        )
    return out


# -- metrics --------------------------------------------------------------------------------


def _metric_counts(versions: Sequence[ModelVersion]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for version in versions:
        for name in version.metrics:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _primary_metric(tracker: Tracker, counts: Mapping[str, int], metric: str | None) -> str | None:
    if metric is None:
        return min(counts, key=lambda m: (-counts[m], m)) if counts else None
    if not isinstance(metric, str):
        raise InvalidInput(f"metric must be a string, got {type(metric).__name__}")
    if metric not in counts:
        known = ", ".join(repr(m) for m in sorted(counts)) or "none"
        raise InvalidInput(
            f"no version of model {tracker.model!r} records metric {metric!r} "
            f"(metrics recorded: {known}); pass one of them or leave metric out"
        )
    return metric


def _metric(
    tracker: Tracker,
    name: str,
    count: int,
    spine: Sequence[ModelVersion],
    change_points: list[dict[str, Any]],
) -> dict[str, Any]:
    direction = bad_direction(name)
    timeline = [[i, v.metrics[name]] for i, v in enumerate(spine) if name in v.metrics]
    suspects = []
    if len(timeline) >= 2:
        report = tracker.blame_report(name, direction, on=spine[-1])
        # Only steps that moved the bad way are suspects; `changes` is not touched (a diff
        # per step would cost a store read each).
        for rank, step in enumerate(
            (s for s in report.steps[:SUSPECTS] if s.bad_amount > 0), start=1
        ):
            suspects.append(
                {
                    "rank": rank,
                    "version": step.version.id,
                    "previous": step.previous.id,
                    "before": step.before,
                    "after": step.after,
                    "delta": step.delta,
                    "bad_amount": step.bad_amount,
                    "score": step.score,
                }
            )
    return {
        "name": name,
        "direction": direction,
        "versions": count,
        "timeline": timeline,
        "suspects": suspects,
        "change_points": change_points,
    }


# -- analyses -------------------------------------------------------------------------------


def _change_points(
    tracker: Tracker, analyses: Mapping[str, Any] | None, counts: Mapping[str, int]
) -> dict[str, list[dict[str, Any]]]:
    if analyses is None or _CHANGE_POINTS not in analyses:
        return {}
    given = analyses[_CHANGE_POINTS]
    if not isinstance(given, Mapping):
        raise InvalidInput(
            f"analyses['change_points'] must map metric names to lists of "
            f"{{'version': ref, ...}} dicts, got {type(given).__name__}"
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for metric, points in given.items():
        if metric not in counts:
            raise InvalidInput(
                f"analyses['change_points'] names metric {metric!r}, which no version records"
            )
        rows = _rows(f"analyses['change_points'][{metric!r}]", points)
        for i, row in enumerate(rows):
            if "version" not in row:
                raise InvalidInput(
                    f"analyses['change_points'][{metric!r}][{i}] has no 'version' key"
                )
            row["version"] = tracker.get_version(str(row["version"])).id
        out[str(metric)] = rows
    return out


def _tables(analyses: Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    if analyses is None:
        return {}
    if not isinstance(analyses, Mapping):
        raise InvalidInput(
            "analyses must be a mapping of table name to a list of rows (dicts), "
            f"got {type(analyses).__name__}"
        )
    out = {}
    for key, rows in analyses.items():
        if not isinstance(key, str):
            raise InvalidInput(f"analyses keys must be strings, got {key!r}")
        if key != _CHANGE_POINTS:
            out[key] = _rows(f"analyses[{key!r}]", rows)
    return out


def _rows(where: str, rows: object) -> list[dict[str, Any]]:
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise InvalidInput(f"{where} must be a list of rows (dicts), got {type(rows).__name__}")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInput(f"{where}[{i}] must be a dict, got {type(row).__name__}")
        out.append({str(k): _cell(f"{where}[{i}][{k!r}]", v) for k, v in row.items()})
    return out


def _cell(where: str, value: object, depth: int = 0) -> Any:
    """A JSON-ready copy of ``value``; NaN and infinities become their names as text.

    Nesting is bounded as for hyperparameters, which also stops a list that contains
    itself: the page's JSON must be written and read by parsers with a recursion limit.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_DIGITS * 3.33:
            raise InvalidInput(
                f"{where} is an integer of {value.bit_length()} bits; a table cell holds at "
                f"most {MAX_INT_DIGITS} digits (pass a larger one as a string)"
            )
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH and isinstance(value, (Mapping, list, tuple)):
        raise InvalidInput(
            f"{where} is nested more than {MAX_DEPTH} levels deep (or refers to itself); "
            "flatten it or pass it as a string"
        )
    if isinstance(value, Mapping):
        return {str(k): _cell(f"{where}[{k!r}]", v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cell(f"{where}[{i}]", v, depth + 1) for i, v in enumerate(value)]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "ndim", None) == 0:
        return _cell(where, item(), depth)
    raise InvalidInput(
        f"{where} is a {type(value).__name__}; a table cell must be a string, number, "
        "bool, None, or a list or dict of those"
    )
