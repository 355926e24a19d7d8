"""The lineage DAG: versions as nodes, edges parent -> child.

:class:`LineageGraph` is rebuilt from records when a tracker loads and kept current as
versions are logged. The hot queries (history, ancestors, descendants, roots, leaves, metric
series) run on flat integer columns (:mod:`mlineage._graph_columns`), because a store holds
10^6 versions and networkx's generic traversals cost a few microseconds per node; a version
object is made only when a query returns it. Everything else (paths, topological order, any
algorithm a user wants) runs on a ``networkx.DiGraph`` built on first use and kept current
from then on (:attr:`LineageGraph.nx`). Tests check the fast paths against networkx on
random DAGs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mlineage._columns import VersionColumns
from mlineage._graph_columns import GraphColumns, VersionSequence
from mlineage._graph_walks import (
    chain_nodes,
    chain_ranges,
    ranges,
    reach_nodes,
    reach_ranges,
    run_starts,
    short_runs,
)
from mlineage._ids import HANDLE_LENGTH, handle
from mlineage.errors import InvalidInput, VersionNotFound
from mlineage.records import LineageEdge, ModelVersion, VersionSource

if TYPE_CHECKING:
    import numpy as np

    #: Node numbers of the graph as a numpy array.
    NodeArray = np.ndarray[Any, np.dtype[np.int64]]

__all__ = ["LineageEdge", "LineageGraph", "VersionSequence"]


class LineageGraph(GraphColumns):
    """A DAG of :class:`~mlineage.records.ModelVersion` nodes keyed by version id.

    Parameters
    ----------
    versions : iterable of ModelVersion, optional
        Versions to add, in any order (see :meth:`add_many`).

    Examples
    --------
    >>> g = LineageGraph()
    >>> len(g), g.latest()
    (0, None)
    """

    def __init__(self, versions: Iterable[ModelVersion] = ()) -> None:
        super().__init__()
        self._nx: Any = None
        self._edges: dict[tuple[str, str], LineageEdge] = {}  # added with add_edge
        self._tails: dict[str, list[str]] | None = None  # handle lookup, built on first use
        self.add_many(versions)

    # -- building -------------------------------------------------------------------------

    def add(self, version: ModelVersion, source: VersionSource | None = None) -> None:
        """Add one version whose parents are already in the graph.

        With ``source``, the graph keeps only the version's columns and reads it back
        from ``source`` (by id) when asked for it.

        Raises
        ------
        VersionNotFound
            If a parent is not in the graph.
        """
        for parent in version.parents:
            if parent not in self._index:
                raise VersionNotFound(
                    f"parent {parent} of version {version.id} is not in the lineage of "
                    f"model {version.model!r}"
                )
        if self.add_newest(version, source):
            return  # the common case, a version just logged
        columns = VersionColumns.from_versions([version])
        if source is not None:
            columns.nodes, columns.sources, columns.records = [None], [source], [-1]
        self.add_columns(columns)

    def add_many(self, versions: Iterable[ModelVersion]) -> list[ModelVersion]:
        """Add versions given in any order; return those left out because a parent is missing.

        A version is inserted once all its parents are in the graph (Kahn's algorithm), so
        the outcome does not depend on the order of ``versions``. Ids already present are
        skipped.
        """
        columns = VersionColumns.from_versions(versions)
        return [columns.nodes[row] for row in self.add_columns(columns)]  # type: ignore[misc]

    def _inserted(self, ids: list[str]) -> None:
        self._rank = None
        if self._tails is not None:
            for version_id in ids:
                self._tails.setdefault(version_id[-HANDLE_LENGTH:], []).append(version_id)
        if self._nx is not None:
            for version_id in ids:
                self._nx_add(self._index[version_id])

    def _nx_add(self, i: int) -> None:
        ids = self._ids
        version_id = ids[i]
        self._nx.add_node(version_id, version=self.node(i))
        kind = self._kinds[i]
        for k, parent in enumerate(self._parents_of(i)):
            self._nx.add_edge(ids[parent], version_id, kind=kind, first_parent=k == 0)

    @property
    def nx(self) -> Any:
        """The lineage as a ``networkx.DiGraph`` (built on first access; treat as read-only).

        Nodes are version ids with the :class:`ModelVersion` in the ``version`` attribute;
        edges run parent -> child with ``kind`` (the child's kind) and ``first_parent``.
        """
        if self._nx is None:
            import networkx as nx

            self._nx = nx.DiGraph()
            for i in range(len(self._ids)):
                self._nx_add(i)
        return self._nx

    # -- lookup ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, version_id: object) -> bool:
        return version_id in self._index

    def __iter__(self) -> Iterator[ModelVersion]:
        return iter(self.versions())

    def _idx(self, version_id: str) -> int:
        try:
            return self._index[version_id]
        except KeyError:
            raise VersionNotFound(f"no version with id {version_id!r}") from None

    def get(self, version_id: str) -> ModelVersion:
        """Return the version with exactly this id.

        Raises
        ------
        VersionNotFound
        """
        return self.node(self._idx(version_id))

    def ids(self) -> list[str]:
        """All version ids in creation order (a copy)."""
        return self._ids.sorted_ids()

    def match_prefix(self, prefix: str, limit: int = 11) -> list[str]:
        """Up to ``limit`` ids starting with ``prefix``, in creation order."""
        start = self._ids.bisect_left(prefix)
        out = []
        for candidate in self._ids.sorted_slice(start, start + limit):
            if not candidate.startswith(prefix):
                break
            out.append(candidate)
        return out

    def unique_prefix_length(self, version_id: str) -> int:
        """Length of the shortest prefix of ``version_id`` that no other id shares."""
        i = self._ids.bisect_left(version_id)
        length = 1
        for j in (i - 1, i + 1):
            for other in self._ids.sorted_slice(j, j + 1):
                common = next(
                    (k for k, (x, y) in enumerate(zip(version_id, other, strict=False)) if x != y),
                    len(version_id),
                )
                length = max(length, common + 1)
        return length

    def _sharing_tail(self, text: str) -> list[str]:
        if self._tails is None:
            self._tails = {}
            for version_id in self._ids:
                self._tails.setdefault(version_id[-HANDLE_LENGTH:], []).append(version_id)
        return self._tails.get(text[-HANDLE_LENGTH:], [])

    def handle(self, version_id: str) -> str:
        """The handle of ``version_id`` among this graph's ids (:func:`mlineage._ids.handle`)."""
        return handle(version_id, self._sharing_tail(version_id))

    def match_handle(self, text: str) -> str | None:
        """The oldest id ending with ``text`` (8 or more hex digits: a handle), or None."""
        if len(text) < HANDLE_LENGTH:
            return None
        matches = [i for i in self._sharing_tail(text) if i.endswith(text)]
        return min(matches) if matches else None

    def versions(self) -> list[ModelVersion]:
        """All versions in creation order (oldest first)."""
        return self._nodes(self.creation_indices())

    def _ranks(self) -> np.ndarray[Any, np.dtype[np.int64]]:

        if self._rank is None or len(self._rank) != len(self._ids):
            self._rank = self._ids.ranks()
        return self._rank

    def _by_creation(self, indices: Iterable[int], newest_first: bool) -> list[ModelVersion]:
        import numpy as np

        ordered = self._sorted_by_creation(np.fromiter(indices, dtype=np.int64), newest_first)
        return self._nodes(ordered.tolist())

    def _sorted_by_creation(
        self, idx: NodeArray, newest_first: bool, *, ascending: bool = False
    ) -> NodeArray:
        """``idx`` in creation order (``ascending``: ``idx`` is in node order already)."""
        import numpy as np

        if self._ordered:  # node order is creation order: ascending is oldest first
            ordered = idx if ascending else np.sort(idx)
        else:
            ordered = idx[np.argsort(self._ranks()[idx], kind="stable")]
        return ordered[::-1] if newest_first else ordered

    # -- structure ------------------------------------------------------------------------

    def parents(self, version_id: str) -> list[ModelVersion]:
        """The parents of a version, first parent first."""
        return self._nodes(self._parents_of(self._idx(version_id)))

    def first_parent(self, version_id: str) -> ModelVersion | None:
        """The first parent of a version, or None for a root."""
        first = self._first[self._idx(version_id)]
        return self.node(first) if first >= 0 else None

    def children(self, version_id: str) -> list[ModelVersion]:
        """The direct children of a version, oldest first."""
        return self._by_creation(self._children[self._idx(version_id)], newest_first=False)

    def _reach(self, start: int, upward: bool) -> NodeArray:
        """Node numbers reachable from ``start`` (itself excluded), ascending."""
        import numpy as np

        starts = run_starts(self._first)
        if short_runs(starts, len(self._first)):
            seen = reach_nodes(self._first, self._extra, self._children, start, upward)
            return np.sort(np.fromiter(seen, dtype=np.int64, count=len(seen)))
        los, his = reach_ranges(self._first, self._extra, starts, start, upward)
        # the walk's first range holds ``start``: at its top going up, its bottom going down
        if upward:
            his[0] -= 1
        else:
            los[0] += 1
        order = sorted(range(len(los)), key=los.__getitem__)
        return ranges([los[k] for k in order], [his[k] for k in order], descending=False)

    def ancestors(self, version_id: str, max_depth: int | None = None) -> VersionSequence:
        """Every version ``version_id`` descends from, breadth-first: nearest first.

        Parents, then grandparents, ... (within one level, newest first); the start is
        excluded; ``max_depth`` stops after that many levels. The same set as
        ``networkx.ancestors(graph.nx, version_id)`` when unbounded.

        Raises
        ------
        VersionNotFound
            If ``version_id`` is not in the graph.
        """
        return self._levels(version_id, self._parents_of, max_depth, newest_first=True)

    def descendants(self, version_id: str, max_depth: int | None = None) -> VersionSequence:
        """Every version descending from ``version_id``, breadth-first: nearest first.

        Children, then grandchildren, ... (within one level, oldest first); the start is
        excluded; ``max_depth`` stops after that many levels.
        """
        return self._levels(version_id, self._children.__getitem__, max_depth, newest_first=False)

    def _levels(
        self,
        version_id: str,
        edges: Callable[[int], Sequence[int]],
        max_depth: int | None,
        *,
        newest_first: bool,
    ) -> VersionSequence:
        if max_depth is not None and (
            not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 0
        ):
            raise InvalidInput(f"max_depth must be None or an int >= 0, got {max_depth!r}")
        start = self._idx(version_id)
        seen = {start}
        level = [start]
        out: list[int] = []
        depth = 0
        while level and (max_depth is None or depth < max_depth):
            following = []
            for node in level:
                for nxt in edges(node):
                    if nxt not in seen:
                        seen.add(nxt)
                        following.append(nxt)
            if len(following) == 1:  # a chain: one node a level, nothing to sort
                out += following
            elif following:
                import numpy as np

                ordered = self._sorted_by_creation(np.asarray(following), newest_first)
                out += ordered.tolist()
            level = following
            depth += 1
        return VersionSequence(self, out)

    def ancestors_by_creation(self, version_id: str) -> VersionSequence:
        """Every ancestor of ``version_id``, newest first (``Lineage.ancestors``).

        A :class:`VersionSequence`: each version is made when looked at.
        """
        reached = self._reach(self._idx(version_id), True)
        return VersionSequence(self, self._sorted_by_creation(reached, True, ascending=True))

    def descendants_by_creation(self, version_id: str) -> VersionSequence:
        """Every descendant of ``version_id``, oldest first (``Lineage.descendants``).

        A :class:`VersionSequence`: each version is made when looked at.
        """
        reached = self._reach(self._idx(version_id), False)
        return VersionSequence(self, self._sorted_by_creation(reached, False, ascending=True))

    def first_parent_array(self, version_id: str) -> NodeArray:
        """Node indices of ``version_id``'s first-parent chain, newest first (int64 array).

        Walks runs of nodes (:mod:`mlineage._graph_walks`), so a 10^6-version main line
        takes milliseconds.
        """
        import numpy as np

        start, starts = self._idx(version_id), run_starts(self._first)
        if short_runs(starts, len(self._first)):
            return np.array(chain_nodes(self._first, start), dtype=np.int64)
        return ranges(*chain_ranges(self._first, starts, start), descending=True)

    def first_parent_indices(self, version_id: str) -> list[int]:
        """Node indices of ``version_id``'s first-parent chain, newest first (a list)."""
        return self.first_parent_array(version_id).tolist()  # type: ignore[no-any-return]

    def metric_series(
        self, indices: Sequence[int] | NodeArray, metric: str
    ) -> tuple[list[int], np.ndarray[Any, np.dtype[np.float64]]]:
        """The nodes among ``indices`` that carry ``metric``, and their values, in order."""
        nodes, values = self.metric_along(indices, metric)
        return nodes.tolist(), values

    def metric_along(
        self, indices: Sequence[int] | NodeArray, metric: str
    ) -> tuple[NodeArray, np.ndarray[Any, np.dtype[np.float64]]]:
        """:meth:`metric_series` with the nodes as an int64 array (no list of 10^6 ints)."""
        import numpy as np

        column = self._metric_array(metric)
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and idx.max() >= len(column):
            idx = idx[idx < len(column)]
        values = column[idx]
        measured = ~np.isnan(values)
        if measured.all():
            return idx, values
        return idx[measured], values[measured]

    def metric_positions(
        self, indices: Sequence[int] | NodeArray, metric: str
    ) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]:
        """Positions in ``indices`` of the nodes that carry ``metric``, and their values."""
        import numpy as np

        column = self._metric_array(metric)
        idx = np.asarray(indices, dtype=np.int64)
        values = np.full(len(idx), np.nan)
        inside = idx < len(column)
        values[inside] = column[idx[inside]]
        positions = np.flatnonzero(~np.isnan(values))
        return positions, values[positions]

    def lazy_nodes(self, indices: Sequence[int] | NodeArray) -> VersionSequence:
        """The versions at ``indices`` as a sequence that makes each when looked at."""
        return VersionSequence(self, indices)

    def node_id(self, index: int) -> str:
        """The id of the version at node ``index``."""
        return self._ids[index]

    def _metric_array(self, metric: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        import numpy as np

        column = self._metrics.get(metric)
        if column is None or not len(column):
            return np.empty(0, dtype=np.float64)
        return np.frombuffer(column, dtype=np.float64)

    def metric_names(self) -> list[str]:
        """Every metric some version carries, sorted; reads no record."""
        return sorted(self._metrics)

    def metric_values(self, indices: list[int], metric: str) -> list[float | None]:
        """``metric`` at each node of ``indices`` (None where not measured); reads no record."""
        column = self._metrics.get(metric, ())
        size = len(column)
        return [
            None if i >= size or column[i] != column[i] else column[i]  # NaN: not measured
            for i in indices
        ]

    def creation_indices(self) -> list[int]:
        """Node indices of every version in creation order (oldest first)."""
        return list(self._ids.creation_nodes())

    def created_micros(self, version_id: str) -> int:
        """When ``version_id`` was created, in microseconds since the Unix epoch (UTC)."""
        return self._created[self._idx(version_id)]

    def latest_at(self, indices: Sequence[int] | NodeArray, micros: int) -> int | None:
        """Position in ``indices`` (oldest first) of the last one created at or before
        ``micros`` (microseconds since the epoch), or None if all are later.

        Reads no record: creation times are kept as a column.
        """
        import numpy as np

        created = np.frombuffer(self._created, dtype=np.int64)[np.asarray(indices, dtype=np.int64)]
        position = int(np.searchsorted(created, micros, side="right"))
        return position - 1 if position else None

    def first_parent_chain(self, version_id: str) -> VersionSequence:
        """``version_id`` and its first-parent ancestors, newest first (git's history).

        A :class:`VersionSequence`: each version is made when looked at.
        """
        return VersionSequence(self, self.first_parent_array(version_id))

    def roots(self) -> list[ModelVersion]:
        """Versions without parents, oldest first."""
        first = self._first
        return self._by_creation((i for i in range(len(first)) if first[i] < 0), False)

    def leaves(self) -> list[ModelVersion]:
        """Versions without children (branch tips), oldest first."""
        return self._by_creation(self._children.leaves(), False)

    def latest(self) -> ModelVersion | None:
        """The most recently created version, or None for an empty graph."""
        newest = self._ids.newest
        return None if newest is None else self.node(self._index[newest])

    def latest_id(self) -> str | None:
        """The id of :meth:`latest`, making no version object (the parent of a new log)."""
        return self._ids.newest

    def topological_order(self) -> list[ModelVersion]:
        """All versions, every parent before its children (ties broken by creation)."""
        # networkx's lexicographical_topological_sort(key=str) on the integer columns: the
        # same order (ids sort by creation), without building the networkx graph.
        import heapq

        first, extra, children = self._first, self._extra, self._children
        rank = self._ranks().tolist()  # ids sort as their creation ranks do
        waiting = [len(extra[i]) if i in extra else int(first[i] >= 0) for i in range(len(first))]
        ready = [(rank[i], i) for i, count in enumerate(waiting) if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            i = heapq.heappop(ready)[1]
            order.append(i)
            for child in children[i]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (rank[child], child))
        return [self.node(i) for i in order]

    def path(self, source: str, target: str) -> list[ModelVersion]:
        """A shortest parent -> child path from ``source`` to ``target``.

        Raises
        ------
        VersionNotFound
            If either id is unknown or ``target`` does not descend from ``source``.
        """
        import networkx as nx

        self._idx(source)
        self._idx(target)
        try:
            ids = nx.shortest_path(self.nx, source, target)
        except nx.NetworkXNoPath:
            raise VersionNotFound(f"version {target} does not descend from {source}") from None
        return [self.get(i) for i in ids]

    def is_ancestor(self, ancestor: str, version_id: str) -> bool:
        """Whether ``ancestor`` is a (not necessarily direct) ancestor of ``version_id``."""
        import numpy as np

        a = self._idx(ancestor)
        reached = self._reach(self._idx(version_id), True)
        k = int(np.searchsorted(reached, a))
        return k < len(reached) and int(reached[k]) == a

    # -- the prototype's standalone API ---------------------------------------------------

    def add_version(self, version: ModelVersion) -> None:
        """Add a version, with edges from its parents (which must be in the graph).

        Raises
        ------
        InvalidInput
            (a ``ValueError``) if a version with this id is already in the graph.
        VersionNotFound
            (a ``KeyError``) if a parent is not.
        """
        if version.id in self._index:
            raise InvalidInput(f"version {version.id} is already in the graph")
        self.add(version)

    def add_edge(self, edge: LineageEdge) -> None:
        """Add an edge between two versions already in the graph (another parent link).

        Raises
        ------
        VersionNotFound
            (a ``KeyError``) if either end is not in the graph.
        """
        source, target = self._idx(edge.source_id), self._idx(edge.target_id)
        links = self._parents_of(target)
        if source in links:
            return
        if links:
            self._extra[target] = (*links, source)
        else:
            self._first[target] = source
        self._children.add(source, target)
        self._edges[(edge.source_id, edge.target_id)] = edge
        if self._nx is not None:
            self._nx.add_edge(
                edge.source_id, edge.target_id, kind=edge.edge_type, first_parent=False
            )

    def get_version(self, version_id: str) -> ModelVersion:
        """The version object added under ``version_id`` (see :meth:`get`)."""
        return self.get(version_id)

    def history(self, version_id: str) -> VersionSequence:
        """The first-parent chain that ends at ``version_id``, **root first**.

        (``Tracker.history`` is newest first, as ``git log`` is.) A
        :class:`VersionSequence`: each version is made when looked at.
        """
        return self.first_parent_chain(version_id)[::-1]

    def all_versions(self) -> list[ModelVersion]:
        """Every version, by creation time (oldest first)."""
        return self.versions()

    def __repr__(self) -> str:
        edges = self._children.edges()
        return f"<LineageGraph {len(self)} versions, {edges} edges>"
