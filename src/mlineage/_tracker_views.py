"""The tracker's methods whose code lives above the facade, imported on first call.

``Tracker.summary``, ``summary_text``, ``to_pandas``, ``plot`` and ``report`` are
presentation (:mod:`mlineage.views`); ``Tracker.bisect`` is lineage analysis
(:mod:`mlineage.analysis`). The facade may not import presentation when it is imported
(it sits below it, and ``import mlineage`` stays light), so each method here imports its
module inside the call; the architecture test allows exactly these arrows
(``ALLOWED_UPWARD``). Each function's own docstring is the one of the function it calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlineage.analysis import BisectResult
    from mlineage.analysis.lineage import AnalysedTracker
    from mlineage.records import ModelVersion
    from mlineage.refs import Ref
    from mlineage.views.text import SummaryText

__all__ = ["bisect", "plot", "report", "summary", "summary_text", "to_pandas"]


def summary_text(tracker: AnalysedTracker, ref: Ref | None = None, limit: int | None = 50) -> str:
    """The history of ``ref`` as a table (:func:`mlineage.views.text.summary_text`)."""
    from mlineage.views.text import summary_text

    return summary_text(tracker, ref, limit)


def summary(
    tracker: AnalysedTracker, ref: Ref | None = None, *, file: IO[str] | None = None
) -> SummaryText:
    """The history of ``ref`` as a table, newest first; printed to ``file`` when given
    (:func:`mlineage.views.text.summary`)."""
    from mlineage.views.text import summary

    return summary(tracker, ref, file=file)


def to_pandas(tracker: AnalysedTracker) -> Any:
    """Every version as a ``pandas.DataFrame``, oldest first (:func:`mlineage.views.to_pandas`)."""
    from mlineage.views.frames import to_pandas

    return to_pandas(tracker)


def plot(tracker: AnalysedTracker, metric: str, ax: Any = None, **options: Any) -> Any:
    """Plot ``metric`` along the first-parent history, marking blame suspects
    (:func:`mlineage.views.plot`: ``direction``, ``on``, ``change_points``, ``suspects``)."""
    from mlineage.views.frames import plot

    return plot(tracker, metric, ax, **options)


def report(tracker: AnalysedTracker, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write the offline HTML lineage report (:func:`mlineage.views.write_report`:
    ``title``, ``metric``, ``analyses``); returns its absolute path."""
    from mlineage.views.frames import write_report

    return write_report(tracker, path, **options)


def bisect(
    tracker: AnalysedTracker,
    good: Ref,
    bad: Ref,
    test: Callable[[ModelVersion], bool | None],
    *,
    skip: Iterable[Ref] = (),
) -> BisectResult:
    """The first bad version between ``good`` and ``bad``, like ``git bisect``
    (:func:`mlineage.analysis._bisect.bisect`, docs/analysis.md)."""
    from mlineage.analysis._bisect import bisect  # numpy: imported on first use

    return bisect(tracker, good, bad, test, skip=skip)
