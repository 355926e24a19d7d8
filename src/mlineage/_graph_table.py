"""The lineage graph's versions as columns (``GraphColumns.table``, for ``Tracker.to_pandas``).

Built column by column from the graph's arrays and, for the fields the graph does not
hold, from each pack's table in bulk: at 10^6 versions a Python step per version and
field would cost seconds, so rows are handled per run of one pack (slices) wherever the
nodes allow, and one at a time only where a version object must be asked.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any, Protocol

from mlineage._columns import TABLE_FIELDS, table_fields
from mlineage.records import is_lazy

if TYPE_CHECKING:
    from array import array
    from collections.abc import Sequence

    import numpy as np

    from mlineage._id_column import IdColumn
    from mlineage.records import ModelVersion, VersionSource

    NodeArray = np.ndarray[Any, np.dtype[np.int64]]

__all__ = ["graph_table"]


class GraphColumns(Protocol):
    """The columns of :class:`mlineage._graph_columns.GraphColumns` read here."""

    _ids: IdColumn
    _held: dict[int, ModelVersion]
    _sources: list[VersionSource | None]
    _records: array[int]
    _first: array[int]
    _extra: dict[int, tuple[int, ...]]
    _kinds: list[str]
    _created: array[int]
    _metrics: dict[str, array[float]]

    def node(self, index: int) -> ModelVersion:
        """The version at node ``index``."""
        ...


def graph_table(graph: GraphColumns, indices: Sequence[int]) -> dict[str, Any]:
    """:meth:`GraphColumns.table <mlineage._graph_columns.GraphColumns.table>` of ``graph``."""
    import numpy as np

    idx = np.asarray(indices, dtype=np.int64)
    size = len(graph._ids)
    if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= size):
        raise IndexError(f"node out of range (the graph has {size})")
    whole = len(idx) == size and bool((idx == np.arange(size)).all())
    nodes: Sequence[int] = range(size) if whole else idx.tolist()
    firsts = np.frombuffer(graph._first, dtype=np.int64)[idx] if size else idx
    metrics = {}
    for name, column in graph._metrics.items():
        values = np.full(size, np.nan)
        values[: len(column)] = np.frombuffer(column, dtype=np.float64)
        metrics[name] = values if whole else values[idx]
    kinds = graph._kinds
    ids = graph._ids.take(nodes if whole else idx)
    out: dict[str, Any] = {
        "id": ids,
        # every node, in node order: a parent's id is the string of its row already made
        "parents": _parents(graph, idx, firsts, ids if whole else None),
        "kind": list(kinds) if whole else [kinds[i] for i in nodes],
        "created": np.frombuffer(graph._created, dtype=np.int64)[idx] if size else idx,
        "metrics": metrics,
    }
    out.update(_fields(graph, nodes, idx))
    return out


def _parents(
    graph: GraphColumns, idx: NodeArray, firsts: NodeArray, every: list[str] | None
) -> list[tuple[str, ...]]:
    """Each node's parents' ids: its first parent's, decoded in bulk (or picked from
    ``every``: each node's id, in node order); a root's (); a merge's every parent."""
    import numpy as np

    if not len(idx):
        return []
    take = graph._ids.take
    first = np.maximum(firsts, 0)
    first_ids = take(first) if every is None else list(map(every.__getitem__, first.tolist()))
    parents: list[tuple[str, ...]] = list(zip(first_ids))  # 1-tuples, made in C
    for k in np.flatnonzero(firsts < 0).tolist():
        parents[k] = ()
    extra = graph._extra
    if extra:
        merges = np.fromiter(extra, dtype=np.int64, count=len(extra))
        for k in np.flatnonzero(np.isin(idx, merges)).tolist():
            parents[k] = tuple(take(list(extra[int(idx[k])])))
    return parents


def _fields(graph: GraphColumns, nodes: Sequence[int], idx: NodeArray) -> dict[str, list[Any]]:
    """:data:`~mlineage._columns.TABLE_FIELDS` of ``nodes``: from each pack's table (its
    ``table_fields``, read once) for the versions whose record is unread, from the version
    object for the others (held and decoded or read; or a source with no table)."""
    import numpy as np

    count = len(nodes)
    out: dict[str, list[Any]] = {name: [None] * count for name in TABLE_FIELDS}
    if not count:
        return out
    every = graph._sources
    sources = every if isinstance(nodes, range) else [every[i] for i in nodes]
    # one code per row: its source's id (sources need not be hashable), or 0 for a row
    # read from its version object
    codes = np.fromiter(map(id, sources), dtype=np.uint64, count=count)
    held = graph._held
    if held:
        get = held.get
        for k, version in enumerate([get(i) for i in nodes]):
            if version is not None and not is_lazy(version):
                codes[k] = 0
    order = np.argsort(codes, kind="stable")  # rows grouped by source, in row order
    ordered = codes[order]
    bounds = [0, *(np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist(), count]
    numbers = np.frombuffer(graph._records, dtype=np.int64)[idx]
    by_object: list[int] = []
    for start, stop in pairwise(bounds):
        positions = order[start:stop]
        source: Any = sources[int(positions[0])]  # a pack has table_fields
        if not ordered[start] or not hasattr(source, "table_fields"):
            by_object += positions.tolist()
            continue
        _fill(out, source.table_fields(), positions, numbers[positions])
    node = graph.node
    for k in by_object:
        i = nodes[k]
        version = held.get(i)
        values = table_fields(node(i) if version is None else version)
        for name, value in zip(TABLE_FIELDS, values, strict=True):
            out[name][k] = value
    return out


def _fill(
    out: dict[str, list[Any]],
    fields: dict[str, list[Any]],
    positions: NodeArray,
    numbers: NodeArray,
) -> None:
    """``out[name][positions[k]] = fields[name][numbers[k]]``: a slice per run of rows that
    are consecutive records in order, else one at a time."""
    import numpy as np

    if len(positions) > 1:
        breaks = np.flatnonzero((np.diff(positions) != 1) | (np.diff(numbers) != 1)) + 1
    else:
        breaks = np.empty(0, dtype=np.int64)
    starts = [0, *breaks.tolist()]
    stops = [*starts[1:], len(positions)]
    size = min(map(len, fields.values()), default=0)
    inside = len(numbers) and int(numbers.min()) >= 0 and int(numbers.max()) < size
    if inside and len(starts) * 8 <= len(positions):  # long runs: slices
        for a, b in zip(starts, stops, strict=True):
            p, n = int(positions[a]), int(numbers[a])
            for name, column in fields.items():
                out[name][p : p + b - a] = column[n : n + b - a]
        return
    where, which = positions.tolist(), numbers.tolist()
    for name, column in fields.items():
        target = out[name]
        for p, value in zip(where, [column[n] for n in which], strict=True):
            target[p] = value
