"""The parts of the report data: versions, environments, aliases, metrics and analyses.

Everything here goes through the public :class:`~mlineage.tracker.Tracker` API; the data
is plain JSON (dicts, lists, strings, finite numbers, bools, None) that the page's script
renders, nothing in it markup. :func:`mlineage.report.build_report_data` assembles it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from mlineage._coerce import MAX_DEPTH, MAX_INT_DIGITS
from mlineage.errors import InvalidInput, MLineageError
from mlineage.views.report._insights import explain

if TYPE_CHECKING:
    from mlineage.analysis.lineage import AnalysedTracker
    from mlineage.records import EnvironmentSnapshot, ModelVersion

__all__ = [
    "COMPACT_ABOVE",
    "SCHEMA",
    "SUSPECTS",
    "SUSPECT_NOISE",
    "THRESHOLDS",
    "bad_direction",
    "full_parts",
    "metric_suspects",
    "suspects_by_version",
]

#: Version of the layout of the report data; the page's script checks it.
SCHEMA = 2
#: How many blame suspects (worst steps) are marked per metric, at most.
SUSPECTS = 3
#: A step is a blame suspect only when it moved its metric the bad way by at least this
#: many noise units (blame's robust score); the page states it.
SUSPECT_NOISE = 3.0
#: What the page states beside the suspects.
THRESHOLDS = {"suspect_noise": SUSPECT_NOISE, "suspects_per_metric": SUSPECTS}
#: Above this many versions the report embeds only the versions a reader will open (and
#: the lineage's structure), and downsamples the metric charts (docs/report.md).
COMPACT_ABOVE = 10_000
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


def full_parts(
    tracker: AnalysedTracker,
    metric: str | None,
    analyses: Mapping[str, Any] | None,
    window: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Everything after the head, for a model small enough to embed every version (or
    for the ``window`` of the parents-before-children order a page shows)."""
    versions = tracker.graph.topological_order()
    spine = _spine(tracker, versions)
    if window is not None:
        versions = versions[slice(*window)]
        shown = {v.id for v in versions}
        spine = [v for v in spine if v.id in shown]
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
    metrics = [
        _metric(tracker, name, counts[name], spine, change_points.get(name, []), window)
        for name in sorted(counts, key=lambda m: (m != primary, m))
    ]
    suspects = suspects_by_version(metrics)
    if window is None:
        insights, compare = explain(tracker, spine, suspects)
    else:  # a page: evidence and suspects only (drift and behaviour are along the line)
        insights, compare = explain(tracker, [], suspects)
        insights = {vid: info for vid, info in insights.items() if vid in shown}
    return {
        "primary_metric": primary,
        "spine": [v.id for v in spine],
        "versions": rows,
        "environments": environments,
        "aliases": _aliases(tracker, current_aliases),
        "metrics": metrics,
        "thresholds": THRESHOLDS,
        "insights": insights,
        "compare": compare,
        "analyses": _tables(analyses),
    }


def suspects_by_version(metrics: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Version id -> its suspect steps (with the metric's name), from the metric entries."""
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in metrics:
        for step in entry["suspects"]:
            out.setdefault(step["version"], []).append({"metric": entry["name"], **step})
    return out


# -- versions -------------------------------------------------------------------------------


def _spine(tracker: AnalysedTracker, versions: Sequence[ModelVersion]) -> Sequence[ModelVersion]:
    """The main line: the first-parent history of the tip with the longest one, oldest first.

    Like git's main branch, it is the line a long-lived model has been updated along; a
    fine-tune branch logged last does not become the main line. Ties go to the newer tip.
    """
    if not versions:
        return []
    depth: dict[str, int] = {}
    first_parent = tracker.graph.first_parent  # reads no record (a version's parent_id does)
    for version in versions:  # parents before children
        parent = first_parent(version.id)
        depth[version.id] = 1 if parent is None else depth[parent.id] + 1
    leaves = tracker.leaves()  # oldest first
    tip = max(reversed(leaves), key=lambda v: depth[v.id])
    return list(tracker.history(tip))[::-1]


def _version_row(
    tracker: AnalysedTracker, version: ModelVersion, aliases: list[str], with_events: set[str]
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


def _environment(tracker: AnalysedTracker, version: ModelVersion) -> dict[str, Any]:
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


def _aliases(tracker: AnalysedTracker, current: Mapping[str, ModelVersion]) -> list[dict[str, Any]]:
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


def _primary_metric(
    tracker: AnalysedTracker, counts: Mapping[str, int], metric: str | None
) -> str | None:
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
    tracker: AnalysedTracker,
    name: str,
    count: int,
    spine: Sequence[ModelVersion],
    change_points: list[dict[str, Any]],
    window: tuple[int, int] | None = None,
) -> dict[str, Any]:
    direction = bad_direction(name)
    timeline = [[i, v.metrics[name]] for i, v in enumerate(spine) if name in v.metrics]
    suspects: list[dict[str, Any]] = []
    if len(timeline) >= 2:
        # a window: the worst steps of its own stretch of the main line
        within = None if window is None else [spine[int(p)] for p, _ in timeline]
        suspects = metric_suspects(tracker, name, spine[-1], within)
    return {
        "name": name,
        "direction": direction,
        "versions": count,
        "timeline": timeline,
        "suspects": suspects,
        "change_points": change_points,
    }


def metric_suspects(
    tracker: AnalysedTracker,
    name: str,
    tip: ModelVersion,
    within: Sequence[ModelVersion] | None = None,
) -> list[dict[str, Any]]:
    """The worst steps of ``name`` along ``tip``'s first-parent history (or between the
    consecutive versions of ``within``, each carrying it), as ``tracker.blame_report``
    ranks and scores them, keeping those at or above the suspect rule.

    Computed from the lineage's metric column: ``blame_report`` makes an object per step
    (20 s a metric at a million versions) where the report needs three.
    """
    import numpy as np

    from mlineage.blame import robust_scale

    if within is None:
        graph = tracker.graph
        history = graph.first_parent_array(tip.id)[::-1]
        nodes, values = graph.metric_along(history, name)

        def id_of(k: int) -> str:
            return graph.node(int(nodes[k])).id

    else:
        values = np.asarray([v.metrics[name] for v in within], dtype=np.float64)
        ids = [v.id for v in within]

        def id_of(k: int) -> str:
            return ids[k]

    if len(values) < 2:
        return []
    deltas = np.diff(values)
    scale = robust_scale(deltas.tolist())
    if scale is None:  # no noise estimate: nothing is marked
        return []
    bad = deltas * (-1.0 if bad_direction(name) == "decrease" else 1.0)
    # Worst first; a stable sort keeps the older of equal steps first, as blame does.
    order = np.argsort(-bad, kind="stable")[:SUSPECTS]
    suspects: list[dict[str, Any]] = []
    for k in order.tolist():
        score = float(bad[k]) / scale
        if bad[k] <= 0 or score < SUSPECT_NOISE:
            break
        suspects.append(
            {
                "rank": len(suspects) + 1,
                "version": id_of(k + 1),
                "previous": id_of(k),
                "before": float(values[k]),
                "after": float(values[k + 1]),
                "delta": float(deltas[k]),
                "bad_amount": float(bad[k]),
                "score": score,
            }
        )
    return suspects


# -- analyses -------------------------------------------------------------------------------


def _change_points(
    tracker: AnalysedTracker, analyses: Mapping[str, Any] | None, counts: Mapping[str, int]
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
