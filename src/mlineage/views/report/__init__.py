"""An offline, self-contained HTML report of a model's lineage.

:func:`write_report` writes one HTML file that opens from disk with no network access:
the lineage DAG (main line, branches, merges, long linear runs collapsed), aliases and
their moves, a timeline per metric with blame suspects, the details of any version, a
diff between any two, and drift / behaviour analyses when given. :func:`build_report_data`
returns the JSON data the page is drawn from.

>>> import mlineage as ml
>>> from mlineage.report import write_report
>>> tracker = ml.Tracker("doc-report", storage="memory://report-doc", capture_environment=False)
>>> _ = tracker.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"),
...                 metrics={"accuracy": 0.9})
>>> import tempfile, pathlib
>>> path = write_report(tracker, pathlib.Path(tempfile.mkdtemp()) / "lineage.html")
>>> path.read_text().startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlineage.errors import InvalidInput
from mlineage.storage import map_os_errors
from mlineage.views.report._build import build_report_data
from mlineage.views.report._html import render_html

if TYPE_CHECKING:
    from mlineage.analysis.lineage import AnalysedTracker

__all__ = ["build_report_data", "write_report"]


def write_report(
    tracker: AnalysedTracker,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    metric: str | None = None,
    analyses: Mapping[str, Any] | None = None,
) -> Path:
    """Write the lineage report of ``tracker`` as one self-contained HTML file.

    The file needs no network and loads nothing from elsewhere (inline style and script,
    a Content-Security-Policy that forbids requests); open it from disk in any recent
    browser. It is written atomically: a temporary file in the same directory, renamed
    over ``path`` when complete, so a failure leaves no half-written report.

    Parameters
    ----------
    tracker : Tracker
        The model to report on (only read).
    path : str or os.PathLike
        The HTML file to write (replaced if it exists). Its directory must exist.
    title : str, optional
        Page title. Default: ``"<model> lineage"``.
    metric : str, optional
        The metric to show first and beside every version. Default: the metric recorded
        by the most versions.
    analyses : mapping, optional
        Analysis results to show as tables, e.g. ``{"drift": [...], "behaviour": [...]}``
        (each a list of dicts); see :func:`build_report_data`.

    Returns
    -------
    pathlib.Path
        The absolute path of the written report.

    Raises
    ------
    InvalidInput
        If ``path`` is not a path, is a directory, or its directory does not exist; or
        as :func:`build_report_data` raises. Nothing is written then.
    StoreFull, StoreReadOnly, PermissionDenied
        If the disk fills up or the file may not be written (each an ``OSError``; any
        other ``OSError`` passes unchanged); the message names ``path``. Nothing is left
        behind, and a report already at ``path`` is untouched.

    Examples
    --------
    ``write_report(tracker, "lineage.html", metric="accuracy")`` then open
    ``lineage.html`` in a browser.
    """
    target = _target(path)
    page = render_html(build_report_data(tracker, title=title, metric=metric, analyses=analyses))
    # The translation a checkout's target gets: a full disk is StoreFull (an OSError).
    with map_os_errors(target, "write the report to"):
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                out.write(page)
                out.flush()
                os.fsync(out.fileno())
            # mkstemp creates the file private (0600); a report is an ordinary document.
            os.chmod(temp, 0o644)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    return target


def _target(path: object) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInput(
            f"path must be a file path (str or os.PathLike), got {type(path).__name__}"
        )
    target = Path(os.fspath(path)).expanduser()
    if not str(target) or target.name in ("", ".", ".."):
        raise InvalidInput(f"path {str(path)!r} names no file; give one such as 'lineage.html'")
    target = target.absolute()
    if target.is_dir():
        raise InvalidInput(
            f"{target} is a directory; give a file path such as {target / 'lineage.html'}"
        )
    if not target.parent.is_dir():
        raise InvalidInput(
            f"cannot write {target}: directory {target.parent} does not exist (create it first)"
        )
    return target
