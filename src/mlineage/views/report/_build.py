"""Build the report's one JSON document: :func:`build_report_data`.

The static page and ``mlineage ui`` draw from the same document (docs/report.md, "The
data"); a lineage longer than :data:`~mlineage.report._data.COMPACT_ABOVE` versions gets
the compact form (:mod:`mlineage.report._compact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import mlineage.views.report._data as _data
from mlineage._text import surrogate_message
from mlineage.errors import InvalidInput
from mlineage.views.report._compact import compact_parts

if TYPE_CHECKING:
    from mlineage.analysis.lineage import AnalysedTracker

__all__ = ["build_report_data"]


def build_report_data(
    tracker: AnalysedTracker,
    *,
    title: str | None = None,
    metric: str | None = None,
    analyses: Mapping[str, Any] | None = None,
    window: tuple[int, int] | None = None,
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
    window : (int, int), optional
        Only the versions at positions ``start`` to ``stop`` (as a slice) of the
        parents-before-children order: a page of a long lineage (``mlineage ui`` serves
        100,000 versions this way). ``spine`` and the timelines keep only those
        versions, the suspects are the worst steps of that stretch of the main line, and
        ``insights`` hold evidence and suspects only (drift and behaviour are judged along
        the whole line). Default: all (compact above ``COMPACT_ABOVE`` versions).

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
        direction, its values along the spine, the blame suspects at or above
        ``thresholds["suspect_noise"]`` noise units, change points), ``thresholds``,
        ``insights`` (per version with something to say: badges, a headline, drift,
        behaviour, evidence), ``compare`` (drift and behaviour between the aliases'
        versions) and ``analyses``. Above ``COMPACT_ABOVE`` versions also ``compact``,
        ``spine_positions`` and ``spine_length``: see docs/report.md, "A million
        versions".

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
    >>> data["metrics"][0]["suspects"]  # three values give blame no noise estimate
    []
    >>> data["thresholds"]["suspect_noise"]
    3.0
    """
    from mlineage._version import __version__

    if not _is_tracker(tracker):
        raise InvalidInput(
            f"build_report_data needs a mlineage Tracker, got {type(tracker).__name__}"
        )
    if title is not None and not isinstance(title, str):
        raise InvalidInput(f"title must be a string, got {type(title).__name__}")
    problem = None if title is None else surrogate_message(title, "title")
    if problem is not None:
        raise InvalidInput(problem)
    head = {
        "schema": _data.SCHEMA,
        "title": title if title is not None else f"{tracker.model} lineage",
        "model": tracker.model,
        "store": tracker.store.uri,
        "generated_at": datetime.now(timezone.utc).isoformat(),
        "mlineage_version": __version__,
    }
    if window is None and len(tracker.graph) > _data.COMPACT_ABOVE:
        return {**head, **compact_parts(tracker, metric, analyses)}
    return {**head, **_data.full_parts(tracker, metric, analyses, window)}


def _is_tracker(value: object) -> bool:
    """``isinstance(value, mlineage.Tracker)`` without importing the facade: presentation
    sits above it, and the tracker's own presentation methods import this module."""
    return any(
        c.__name__ == "Tracker" and c.__module__ == "mlineage.tracker" for c in type(value).__mro__
    )
