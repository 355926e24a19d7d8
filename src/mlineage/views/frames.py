"""Views of a tracker's lineage for notebooks: a pandas table and a metric plot.

Functions of a tracker (``Tracker.to_pandas`` and ``Tracker.plot`` are one-line
delegations to them). pandas and matplotlib are optional: each is imported inside the
function that needs it, and a missing one raises
:class:`~mlineage.errors.MissingDependency` naming what to install.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from mlineage import _optional as optional
from mlineage._columns import TABLE_FIELDS
from mlineage.errors import InvalidInput

if TYPE_CHECKING:
    import os
    from pathlib import Path

    from matplotlib.axes import Axes

    from mlineage.analysis.lineage import AnalysedTracker
    from mlineage.blame import Direction
    from mlineage.refs import Ref

__all__ = ["plot", "report_analyses", "to_pandas", "write_report"]

#: The columns every :func:`to_pandas` frame has, in order, before its metric and
#: hyperparameter columns.
#: The record's fields come in the order of :data:`mlineage._columns.TABLE_FIELDS`.
COLUMNS = (
    "id",
    "short_id",
    "name",
    "parents",
    "kind",
    "created_at",
    *TABLE_FIELDS[1:-1],  # dataset_hash ... status (the hyperparameters are spread out)
    "aliases",
)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """``{"a": {"b": 1}}`` under ``"hp"`` -> ``out["hp.a.b"] = 1``; lists stay values."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
    else:
        out[prefix] = value


def _short_ids(ids: list[str]) -> list[str]:
    """The handle of each of the sorted ``ids`` (:func:`mlineage._ids.handles`), as
    :meth:`Tracker.abbrev` gives one id at a time."""
    from mlineage._ids import handles

    return handles(ids)


def _hyperparameter_columns(rows: list[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """``hp.<a>.<b>`` -> its value in each row (None where absent), nested dicts flattened.

    Column by column (one comprehension per name, in C), rows one by one only for a name
    whose value is a dict somewhere.
    """
    count = len(rows)
    out: dict[str, list[Any]] = {}
    for name in set().union(*rows) if rows else ():
        values = [row.get(name) for row in rows]
        # JSON objects are plain dicts: the types looked at in C, the values only if one is
        if dict not in set(map(type, values)) or not any(type(v) is dict and v for v in values):
            out[f"hp.{name}"] = values
            continue
        for row, value in enumerate(values):
            flat: dict[str, Any] = {}
            if isinstance(value, Mapping) and value:
                _flatten(f"hp.{name}", value, flat)
            elif name in rows[row]:
                flat[f"hp.{name}"] = value
            for key, item in flat.items():
                out.setdefault(key, [None] * count)[row] = item
    return out


def to_pandas(tracker: AnalysedTracker) -> Any:
    """Every version of ``tracker`` as a ``pandas.DataFrame``, one row each, oldest first.

    Parameters
    ----------
    tracker : Tracker

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``short_id`` (the handle: the id's last 8 digits, unique in the
        store; see :meth:`Tracker.abbrev`), ``name``,
        ``parents`` (tuple of ids), ``kind``, ``created_at`` (UTC timestamps),
        ``dataset_hash``, ``dataset_path``, ``dataset_rows``, ``notes``, ``tags`` (tuple,
        including tags added by annotations), ``status`` (current, as a string),
        ``aliases`` (tuple of the aliases pointing at it now), then ``metric.<name>``
        (float, NaN where not recorded) for each metric and ``hp.<a>.<b>`` for each
        hyperparameter, nested dicts flattened (missing: NaN or None, as pandas infers
        the column's type).

    Raises
    ------
    MissingDependency
        If pandas is not installed (``pip install pandas``).

    Examples
    --------
    >>> import mlineage as ml
    >>> t = ml.Tracker("doc-pandas", storage="memory://views-pandas-doc",
    ...                capture_environment=False)
    >>> _ = t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"),
    ...           metrics={"accuracy": 0.9}, hyperparameters={"opt": {"lr": 0.1}})
    >>> df = to_pandas(t)
    >>> df[["kind", "metric.accuracy", "hp.opt.lr"]].values.tolist()
    [['initial', 0.9, 0.1]]
    """
    pd = optional.pandas("tracker.to_pandas()")
    # 10^6 rows make millions of long-lived objects and no reference cycle: the cyclic GC
    # would rescan them again and again (a quarter of the time at 10^6 versions).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _frame(tracker, pd)
    finally:
        if enabled:
            gc.enable()


def _frame(tracker: AnalysedTracker, pd: Any) -> Any:
    graph = tracker.graph
    # Columns of the graph, and the records' other fields read in bulk (a pack's unread
    # records without making version objects): see LineageGraph.table.
    table = graph.table(graph.creation_indices())
    ids = table["id"]
    aliases_of: dict[str, list[str]] = {}
    for alias, target in tracker.aliases().items():
        aliases_of.setdefault(target.id, []).append(alias)
    tags, status = table["tags"], table["status"]
    for version_id in tracker.versions_with_events():
        row = bisect_left(ids, version_id)  # ids are sorted: creation order
        if row < len(ids) and ids[row] == version_id:
            version = graph.get(version_id)
            tags[row] = tuple(tracker.tags(version))
            status[row] = tracker.status(version).value
    hyper = _hyperparameter_columns(table["hyperparameters"])
    columns: dict[str, list[Any]] = {
        "id": ids,
        "name": table["name"],
        "parents": table["parents"],
        "kind": table["kind"],
        "dataset_hash": table["dataset_hash"],
        "dataset_path": table["dataset_path"],
        "dataset_rows": table["dataset_rows"],
        "notes": table["notes"],
        "tags": tags,
        "status": status,
        "aliases": [tuple(aliases_of.get(i, ())) for i in ids] if aliases_of else [()] * len(ids),
    }
    columns["short_id"] = _short_ids(ids)  # ids are sorted: creation order
    data: dict[str, Any] = {}
    for name in COLUMNS:
        if name == "created_at":
            data[name] = pd.to_datetime(table["created"], unit="us", utc=True)
        elif name == "dataset_rows":
            data[name] = pd.array(columns[name], dtype="Int64")
        else:
            data[name] = columns[name]
    metrics = table["metrics"]
    for name in sorted(metrics):
        data[f"metric.{name}"] = metrics[name]
    for name in sorted(hyper):
        data[name] = hyper[name]
    return pd.DataFrame(data)


def plot(
    tracker: AnalysedTracker,
    metric: str,
    ax: Axes | None = None,
    direction: Direction | None = None,
    *,
    on: Ref | None = None,
    change_points: Sequence[Ref] = (),
    suspects: int = 3,
    x: Literal["version", "time"] = "version",
) -> Axes:
    """Plot ``metric`` along the first-parent history, marking blame suspects.

    Parameters
    ----------
    tracker : Tracker
    metric : str
        The metric to plot.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure's axes.
    direction : {"decrease", "increase"}, optional
        The bad direction, for blame. Default: guessed from the name (a rise is bad for
        names containing loss, error, mse, mae, rmse or latency).
    on : ref, optional
        The version whose history to plot (default: the latest).
    change_points : sequence of refs, optional
        Versions to mark with a dashed vertical line (e.g. from
        ``mlineage.analysis`` change-point detection).
    suspects : int
        How many of the worst blame steps to mark (default 3).
    x : {"version", "time"}
        The x axis: the versions in history order, ticks labelled with their names (else
        short ids) at whole positions only; or the time each was logged.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on: x is the version's position along the history (oldest 0,
        labelled by name) or its time, y the metric.

    Raises
    ------
    MissingDependency
        If matplotlib is not installed (``pip install 'mlineage[plot]'``).
    MetricNotFound
        If no version on the history records ``metric``.
    VersionNotFound, AmbiguousReference
        If ``on`` or a change point does not resolve.
    InvalidInput
        An unknown ``direction`` or ``x``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import mlineage as ml
    >>> t = ml.Tracker("doc-plot", storage="memory://views-plot-doc", capture_environment=False)
    >>> for acc in (0.90, 0.92, 0.85):
    ...     _ = t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"),
    ...               metrics={"accuracy": acc})
    >>> ax = plot(t, "accuracy")
    >>> ax.get_ylabel()
    'accuracy'
    """
    from mlineage.errors import MetricNotFound
    from mlineage.stats._present import new_axes, version_axis
    from mlineage.views.report._data import bad_direction

    if direction is None:
        direction = bad_direction(metric)
    elif direction not in ("decrease", "increase"):
        raise InvalidInput(f"direction must be 'decrease' or 'increase', got {direction!r}")
    history = tracker.history(on)[::-1]  # oldest first
    shown = [i for i, v in enumerate(history) if metric in v.metrics]
    if not shown:
        raise MetricNotFound(
            f"no version on the history of model {tracker.model!r} records metric {metric!r}"
        )
    ys = [history[i].metrics[metric] for i in shown]
    ax = new_axes(ax, "tracker")  # matplotlib: imported here, optional and slow
    places = version_axis(ax, history, x)
    position = {v.id: places[i] for i, v in enumerate(history)}
    ax.plot([places[i] for i in shown], ys, marker="o", markersize=3, linewidth=1.2, label=metric)
    report = tracker.blame_report(metric, direction, on=on)
    worst = [s for s in report.steps[:suspects] if s.bad_amount > 0]
    for rank, step in enumerate(worst, 1):
        x = position[step.version.id]
        ax.scatter([x], [step.after], s=80, facecolors="none", edgecolors="tab:red", zorder=3)
        label = step.version.name or tracker.abbrev(step.version)
        ax.annotate(
            f"#{rank} {label}",
            (x, step.after),
            textcoords="offset points",
            xytext=(4, -12 if direction == "decrease" else 6),
            fontsize=8,
            color="tab:red",
        )
    for ref in change_points:
        version = tracker.get_version(ref)
        if version.id in position:
            ax.axvline(position[version.id], linestyle="--", linewidth=1, color="tab:gray")
    ax.set_xlabel(f"{ax.get_xlabel()}, first-parent history of {tracker.model}")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} ({direction} is bad); red rings: blame suspects")
    return ax


def write_report(tracker: AnalysedTracker, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write the offline HTML lineage report of ``tracker`` (``tracker.report(path)``).

    The same as :func:`mlineage.report.write_report`, which documents the parameters
    (``title``, ``metric``, ``analyses``), the page and the errors; it is imported on
    first use. Without ``analyses``, the report shows what the store holds: the change
    points of every metric, the data drift of every step whose versions have profiles,
    and the behaviour shifts of every step whose versions share a probe set's
    fingerprints.

    Returns
    -------
    pathlib.Path
        The absolute path of the written report.

    Examples
    --------
    ``tracker.report("lineage.html", metric="accuracy")``, then open ``lineage.html``.
    """
    from mlineage.views.report import write_report as write  # imported when first used

    if options.get("analyses") is None:
        options["analyses"] = report_analyses(tracker)
    return write(tracker, path, **options)


def report_analyses(tracker: AnalysedTracker) -> dict[str, Any]:
    """The ``analyses`` the report of ``tracker`` shows when given none.

    What the store holds: the change points of every metric, the data drift of every step
    whose versions have profiles, the behaviour shifts of every step whose versions share
    a probe set's fingerprints, and the evidence attached; a part that cannot be computed
    is left out. ``mlineage ui`` passes the same to :func:`mlineage.report.build_report_data`.

    Returns
    -------
    dict
        The ``analyses`` mapping of :func:`mlineage.report.write_report`.
    """
    from mlineage.views.rows import collect

    return collect(tracker)
