"""The analyses the HTML report shows for a tracker, as table rows.

``tracker.report(path)`` collects them when it is not given ``analyses=``: change points of
every metric along the main history, data drift of every step (when the versions' data
snapshots have profiles), behaviour shifts (when versions have fingerprints on a shared
probe set) and the evidence attached to versions (an Evidently report's drift share and
drifted columns, its full JSON). An analysis with nothing to show is left out, and the
report says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlineage.errors import MLineageError

if TYPE_CHECKING:
    from mlineage.records import EvidenceEvent
    from mlineage.tracker import Tracker

__all__ = ["collect"]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def change_point_rows(tracker: Tracker) -> dict[str, list[dict[str, Any]]]:
    """Metric -> its level shifts along the latest version's history."""
    out: dict[str, list[dict[str, Any]]] = {}
    latest = tracker.latest()
    if latest is None:
        return out
    names: list[str] = []
    for version in tracker.history()[:200]:  # the metrics recorded lately
        names += [m for m in version.metrics if m not in names]
    for metric in names:
        try:
            found = tracker.analysis.change_points(metric)
        except MLineageError:
            continue
        rows = [
            {"version": change["version"], "before": change["before"], "after": change["after"]}
            for change in found.to_dict()["changes"]
        ]
        if rows:
            out[metric] = rows
    return out


def drift_rows(tracker: Tracker) -> list[dict[str, Any]]:
    """One row per step of the latest history whose two versions have data profiles."""
    if not any(v.dataset.profile for v in tracker.history()):
        return []
    along = tracker.analysis.drift_along()
    rows = []
    for step in along.steps:
        if step.report is None:
            continue
        rows.append(
            {
                "version": step.version.name or step.version.id[:12],
                "parent": step.parent.name or step.parent.id[:12],
                "drifted features": f"{len(step.report.drifted)} of {len(step.report.features)}",
                "dataset drift": step.report.dataset_drift,
                "score": _round(step.score),
                "robust z": _round(step.z, 2),
                "anomalous": step.anomalous,
                "top features": ", ".join(f.name for f in step.top()),
            }
        )
    return rows


def behaviour_rows(tracker: Tracker) -> list[dict[str, Any]]:
    """One row per step whose versions share a fingerprint's probe set."""
    if not any(tracker.analysis.fingerprints(v) for v in tracker.history()[:50]):
        return []
    shifts = tracker.analysis.silent_shifts()
    silent = {step.version.id for step in shifts.shifts}
    return [
        {
            "version": step.version.name or step.version.id[:12],
            "previous": step.previous.name or step.previous.id[:12],
            "churn": _round(step.churn),
            "linear CKA": _round(step.cka),
            "ECE before": _round(step.ece_before),
            "ECE after": _round(step.ece_after),
            "behaviour moved": ", ".join(step.moved),
            "metrics moved": ", ".join(step.outside),
            "silent shift": step.version.id in silent,
        }
        for step in shifts.steps
    ]


#: Largest evidence payload embedded in the report; the whole page embeds at most 8 times it.
MAX_EMBED = 1 << 20


def _full_json(tracker: Tracker, event: EvidenceEvent, budget: list[int]) -> dict[str, Any] | None:
    """The payload to embed (``json``), or why it is not (``note``)."""
    if event.payload is None:
        return None
    cell: dict[str, Any] = {"event": event.id, "bytes": event.payload_size, "json": None}
    size = event.payload_size or 0
    if size > min(MAX_EMBED, budget[0]):
        cell["note"] = f"too large to embed: mlineage evidence MODEL --json, then {event.id}"
        return cell
    try:
        cell["json"] = tracker.load_evidence(event, raw=True).decode("utf-8")
    except MLineageError as exc:  # a damaged blob must not stop the report (fsck's job)
        cell["note"] = str(exc)
        return cell
    budget[0] -= size
    return cell


def evidence_rows(tracker: Tracker) -> list[dict[str, Any]]:
    """One row per evidence event, newest first: its version, summary (the drift share
    and drifted columns apart) and the full JSON payload, embedded up to a size."""
    budget = [8 * MAX_EMBED]
    rows = []
    for event in tracker.evidence():
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


def collect(tracker: Tracker) -> dict[str, Any]:
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
