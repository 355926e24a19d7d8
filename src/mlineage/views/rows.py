"""The analyses the HTML report shows for a tracker, as table rows.

``tracker.report(path)`` collects them when it is not given ``analyses=``: change points of
every metric along the main history, data drift of every step (when the versions' data
snapshots have profiles), behaviour shifts (when versions have fingerprints on a shared
probe set) and the evidence attached to versions (an Evidently report's drift share and
drifted columns, its full JSON). An analysis with nothing to show is left out, and the
report says so.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

from mlineage import evidence as _evidence
from mlineage.errors import MLineageError

if TYPE_CHECKING:
    from mlineage.analysis.lineage import AnalysedTracker
    from mlineage.records import EvidenceEvent, ModelVersion

__all__ = ["collect"]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _recent(tracker: AnalysedTracker, count: int) -> list[ModelVersion]:
    """The latest version and its ``count - 1`` nearest first-parent ancestors, newest
    first, without making an object for every version of a long history."""
    latest = tracker.latest()
    if latest is None:
        return []
    graph = tracker.graph
    return [graph.node(i) for i in graph.first_parent_array(latest.id)[:count].tolist()]


def change_point_rows(tracker: AnalysedTracker) -> dict[str, list[dict[str, Any]]]:
    """Metric -> its level shifts along the latest version's history."""
    out: dict[str, list[dict[str, Any]]] = {}
    latest = tracker.latest()
    if latest is None:
        return out
    names: list[str] = []
    for version in _recent(tracker, 200):  # the metrics recorded lately
        names += [m for m in version.metrics if m not in names]
    from mlineage.stats.changepoints import change_points

    graph = tracker.graph
    history = graph.first_parent_array(latest.id)[::-1]
    for metric in names:
        # As tracker.analysis.change_points(metric) finds them (L2 binary segmentation,
        # min_size 1), from the metric column: no version object per point of a history
        # that may be a million long.
        nodes, values = graph.metric_along(history, metric)
        if len(values) < 2:
            continue
        try:
            points = change_points(values, min_size=1)
        except MLineageError:
            continue
        bounds = [0, *points, len(values)]
        means = [float(values[a:b].mean()) for a, b in pairwise(bounds)]
        rows = [
            {"version": graph.node(int(nodes[b])).id, "before": means[k], "after": means[k + 1]}
            for k, b in enumerate(points)
        ]
        if rows:
            out[metric] = rows
    return out


def drift_rows(tracker: AnalysedTracker) -> list[dict[str, Any]]:
    """One row per step of the latest history whose two versions have data profiles."""
    # The latest steps say whether versions are profiled (a million records are not read
    # to find out); drift_along then reads the profiles it needs.
    if not any(v.dataset.profile for v in _recent(tracker, 200)):
        return []
    along = tracker.analysis.drift_along()
    rows = []
    for step in along.steps:
        report = step.report
        if report is None:
            continue
        correction = "Bonferroni" if report.correction == "bonferroni" else "BH"
        label = report.label
        rows.append(
            {
                "version": step.version.name or step.version.short_id,
                "parent": step.parent.name or step.parent.short_id,
                # every verdict in words with the rule it applies (docs/analysis.md)
                f"features drifted (p < {report.alpha:g}, {correction})": (
                    f"{len(report.drifted)} of {len(report.features)}"
                ),
                f"dataset drift (≥ {report.drift_share * 100:.0f} % of features)": (
                    f"{'yes' if report.dataset_drift else 'no'} "
                    f"({report.drifted_share * 100:.0f} %)"
                ),
                f"anomalous step (z ≥ {along.threshold:g})": (
                    None
                    if step.z is None
                    else f"{'yes' if step.anomalous else 'no'} (z {step.z:.1f})"
                ),
                "label shift": None
                if label is None
                else f"{'shifted' if label.drifted else 'no'} (p {_p(label.pvalue)})",
                "score": _round(step.score),
                "top features": ", ".join(f.name for f in step.top()),
            }
        )
    return rows


def _p(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.2g}"


def behaviour_rows(tracker: AnalysedTracker) -> list[dict[str, Any]]:
    """One row per step whose versions share a fingerprint's probe set."""
    if not any(tracker.analysis.fingerprints(v) for v in _recent(tracker, 50)):
        return []
    shifts = tracker.analysis.silent_shifts()
    silent = {step.version.id for step in shifts.shifts}
    return [
        {
            "version": step.version.name or step.version.short_id,
            "previous": step.previous.name or step.previous.short_id,
            "churn": _round(step.churn),
            "linear CKA": _round(step.cka),
            "ECE before": _round(step.ece_before),
            "ECE after": _round(step.ece_after),
            "behaviour moved": ", ".join(step.moved),
            "metrics moved": ", ".join(step.outside),
            "silent shift": "yes" if step.version.id in silent else "no",
        }
        for step in shifts.steps
    ]


#: Largest evidence payload embedded in the report; the whole page embeds at most 8 times it.
MAX_EMBED = 1 << 20


def _full_json(
    tracker: AnalysedTracker, event: EvidenceEvent, budget: list[int]
) -> dict[str, Any] | None:
    """The payload to embed (``json``), or why it is not (``note``)."""
    if event.payload is None:
        return None
    cell: dict[str, Any] = {"event": event.id, "bytes": event.payload_size, "json": None}
    size = event.payload_size or 0
    if size > min(MAX_EMBED, budget[0]):
        cell["note"] = f"too large to embed: mlineage evidence MODEL --json, then {event.id}"
        return cell
    try:
        cell["json"] = _evidence.load_evidence(tracker, event, raw=True).decode("utf-8")
    except MLineageError as exc:  # a damaged blob must not stop the report (fsck's job)
        cell["note"] = str(exc)
        return cell
    budget[0] -= size
    return cell


def evidence_rows(tracker: AnalysedTracker) -> list[dict[str, Any]]:
    """One row per evidence event, newest first: its version, summary (the drift share
    and drifted columns apart) and the full JSON payload, embedded up to a size."""
    budget = [8 * MAX_EMBED]
    rows = []
    for event in _evidence.evidence(tracker):
        summary = dict(event.summary)
        drifted = summary.pop("drifted_columns", None)
        rows.append(
            {
                "version": event.version,
                "kind": event.kind,
                "recorded": event.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                "tool": " ".join(t for t in (event.tool, event.tool_version) if t) or None,
                "drift share": summary.pop("drift_share", None),
                "drifted columns": (
                    ", ".join(map(str, drifted)) if isinstance(drifted, list) else drifted
                ),
                "summary": summary,
                "full JSON": _full_json(tracker, event, budget),
            }
        )
    return rows


def collect(tracker: AnalysedTracker) -> dict[str, Any]:
    """The ``analyses`` mapping of :func:`mlineage.report.write_report` for ``tracker``.

    Each part is computed from what the store holds (metric columns, stored profiles,
    stored fingerprints); a part that cannot be computed (no profiles, no shared probe
    set) is left out rather than failing the report.
    """
    analyses: dict[str, Any] = {}
    points = change_point_rows(tracker)
    if points:
        analyses["change_points"] = points
    for key, rows_of in (
        ("drift", drift_rows),
        ("behaviour", behaviour_rows),
        ("evidence", evidence_rows),
    ):
        try:
            rows = rows_of(tracker)
        except MLineageError:
            continue
        if rows:
            analyses[key] = rows
    return analyses
