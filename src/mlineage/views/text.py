"""Text views of a tracker's lineage (``Tracker.summary``, ``mlineage history``,
``mlineage log --graph``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from mlineage.records import ModelVersion

if TYPE_CHECKING:
    from mlineage.refs import Ref
    from mlineage.tracker import Tracker

__all__ = [
    "GraphRow",
    "SummaryText",
    "graph_rows",
    "history_table",
    "summary",
    "summary_text",
]


class SummaryText(str):
    """Text that shows as itself, not as a quoted string, in a REPL and a notebook."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(str(self))}</pre>"


def summary_text(tracker: Tracker, ref: Ref | None = None, limit: int | None = 50) -> str:
    """The history of ``ref`` as a table, newest first (``Tracker.summary_text``).

    One line a version: id, time, name and aliases, up to four metrics, notes; at most
    ``limit`` versions (None: all).
    """
    return _table(tracker, tracker.history(ref), limit)


def summary(
    tracker: Tracker, ref: Ref | None = None, *, file: IO[str] | None = None
) -> SummaryText:
    """The history of ``ref`` (default: latest) as a table, newest first (``Tracker.summary``).

    Returns the text (a ``str`` that a REPL or notebook shows as the table itself:
    ``print(tracker.summary())`` prints it once); with ``file``, also writes it there.
    """
    text = SummaryText(summary_text(tracker, ref))
    if file is not None:
        print(text, file=file)
    return text


def history_table(
    tracker: Tracker, history: Sequence[ModelVersion], limit: int | None
) -> tuple[str, list[str], list[list[str]], list[str]]:
    """The parts of the history table: heading, column names, rows, lines after.

    One row a version of ``history`` (at most ``limit``): handle, time, name and aliases,
    up to four metrics, notes. ``mlineage history`` draws them with rich.
    """
    heading = (
        f"model {tracker.model!r}: {len(tracker)} versions, "
        f"{len(tracker.leaves())} branch tip(s), store {tracker.store.uri}"
    )
    shown = history if limit is None else history[:limit]
    by_version: dict[str, list[str]] = {}
    for alias, version in tracker.aliases().items():
        by_version.setdefault(version.id, []).append(alias)
    metric_names: list[str] = []
    for version in shown:
        metric_names += [m for m in version.metrics if m not in metric_names]
    metric_names = metric_names[:4]
    header = ["id", "created (UTC)", "name", *metric_names, "notes"]
    rows = []
    for version in shown:
        label = version.name or ""
        if version.id in by_version:
            label = (label + " " if label else "") + f"[{', '.join(by_version[version.id])}]"
        rows.append(
            [tracker.abbrev(version), f"{version.created_at:%Y-%m-%d %H:%M}", label]
            + [f"{version.metrics[m]:.4f}" if m in version.metrics else "-" for m in metric_names]
            + [version.notes[:50] + ("…" if len(version.notes) > 50 else "")]
        )
    after = []
    if len(history) > len(shown):
        after.append(f"... {len(history) - len(shown)} older versions")
    return heading, header, rows, after


def _table(tracker: Tracker, history: Sequence[ModelVersion], limit: int | None) -> str:
    if not history:
        return f"model {tracker.model!r}: no versions yet ({tracker.store.uri})"
    heading, header, rows, after = history_table(tracker, history, limit)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [heading, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines + after)


@dataclass(frozen=True)
class GraphRow:
    """One version of ``mlineage log --graph``: where it is drawn and the lines below it.

    Attributes
    ----------
    version : ModelVersion
    lane : int
        The column (0 = leftmost) the version's ``*`` is drawn in.
    graph : str
        The lane characters of the version's own line, e.g. ``"| *"``.
    after : tuple of str
        Connector lines drawn below it: ``|\\`` where a merge opens a lane for its
        second parent, ``|/`` where a branch joins the lane of the version it started
        from, `` /`` where a lane ends at a root and the lanes right of it move left.
    """

    version: ModelVersion
    lane: int
    graph: str
    after: tuple[str, ...]


def _line(chars: dict[int, str]) -> str:
    width = max(chars) + 1 if chars else 0
    return "".join(chars.get(i, " ") for i in range(width)).rstrip()


def _fork(col: int, width: int) -> str:
    """A lane opens right of ``col``; the lanes right of it move one to the right."""
    chars = {2 * i: "|" for i in range(col + 1)}
    chars[2 * col + 1] = "\\"
    chars.update({2 * i + 1: "\\" for i in range(col + 1, width)})
    return _line(chars)


def _join(into: int | None, lane: int, width: int) -> str:
    """Lane ``lane`` joins lane ``into`` (or ends, ``into=None``); those right move left."""
    chars = {2 * i: "|" for i in range(lane)}
    if into is not None and into < lane:
        chars[2 * lane - 1] = "/"
        chars.update({2 * i + 1: "_" for i in range(into, lane - 1)})
    chars.update({2 * i - 1: "/" for i in range(lane + 1, width)})
    return _line(chars)


def graph_rows(
    versions: Iterable[ModelVersion],
    parents_of: Callable[[str], list[str]] | None = None,
) -> Iterator[GraphRow]:
    """Lay versions out in lanes, as ``git log --graph`` does.

    Parameters
    ----------
    versions : iterable of ModelVersion
        Children before parents (newest first, as creation order reversed gives).
    parents_of : callable, optional
        Version id -> parent ids, when known without reading each record (the graph
        knows them); default each version's ``parents``.

    Yields
    ------
    GraphRow
        One per version, lazily: drawing the newest 20 of 10^5 versions reads 20.

    Examples
    --------
    >>> from mlineage.records import DataSnapshot, ModelVersion
    >>> from datetime import datetime, timezone
    >>> def v(i, *parents):
    ...     return ModelVersion(id=f"{i:032x}", model="m", parents=parents,
    ...                         created_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
    ...                         model_path="m.pt", dataset=DataSnapshot(hash="sha256:0"))
    >>> a = v(1); b = v(2, a.id); c = v(3, a.id); m = v(4, b.id, c.id)
    >>> for row in graph_rows([m, c, b, a]):
    ...     print(row.graph, row.version.id[-1])
    ...     for line in row.after:
    ...         print(line)
    * 4
    |\\
    | * 3
    * | 2
    |/
    * 1
    """
    lanes: list[str] = []
    drawn: set[str] = set()
    for version in versions:
        version_id = version.id
        drawn.add(version_id)
        if version_id in lanes:
            col = lanes.index(version_id)
        else:  # a branch tip: a new lane on the right
            lanes.append(version_id)
            col = len(lanes) - 1
        graph = " ".join("*" if i == col else "|" for i in range(len(lanes)))
        after: list[str] = []
        parents = parents_of(version_id) if parents_of is not None else list(version.parents)
        # A parent already drawn can only come from ids out of time order across machines
        # within one millisecond; its edge is not drawn rather than left open forever.
        parents = [p for p in parents if p not in drawn]
        if not parents:
            if col < len(lanes) - 1:
                after.append(_join(None, col, len(lanes)))
            del lanes[col]
        else:
            lanes[col] = parents[0]
            for k, extra in enumerate(parents[1:], 1):
                after.append(_fork(col + k - 1, len(lanes)))
                lanes.insert(col + k, extra)
        while True:  # a lane waiting for a version another lane waits for joins it
            seen: dict[str, int] = {}
            join = None
            for k, waiting in enumerate(lanes):
                if waiting in seen:
                    join = (seen[waiting], k)
                seen.setdefault(waiting, k)
            if join is None:
                break
            after.append(_join(join[0], join[1], len(lanes)))
            del lanes[join[1]]
        yield GraphRow(version, col, graph, tuple(after))
