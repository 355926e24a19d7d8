"""The lineage DAG: versions as nodes, edges parent -> child.

:class:`LineageGraph` is rebuilt from records when a tracker loads and kept current as
versions are logged. The hot queries (history, ancestors, descendants, roots, leaves) run
on compact integer adjacency lists, because a store holds 10^5 versions and networkx's
generic traversals cost a few microseconds per node; everything else (paths, topological
order, any algorithm a user wants) runs on a ``networkx.DiGraph`` built on first use and
kept current from then on (:attr:`LineageGraph.nx`). Tests check the fast paths against
networkx on random DAGs.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mlineage._columns import VersionColumns
from mlineage.errors import InvalidInput, VersionNotFound
from mlineage.records import LineageEdge, ModelVersion

if TYPE_CHECKING:
    import numpy as np

__all__ = ["LineageEdge", "LineageGraph"]


class LineageGraph:
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
        self._index: dict[str, int] = {}
        self._nodes: list[ModelVersion] = []
        self._parents: list[tuple[int, ...]] = []
        self._children: list[list[int]] = []
        self._kinds: list[str] = []
        self._created: list[int] = []  # microseconds since the epoch, UTC
        self._order: list[str] = []  # ids sorted (creation order)
        self._rank: np.ndarray[Any, np.dtype[np.int64]] | None = None  # index -> position
        # metric -> value per node index (None: not measured; may be shorter than _nodes)
        self._metrics: dict[str, list[float | None]] = {}
        self._nx: Any = None
        self._edges: dict[tuple[str, str], LineageEdge] = {}  # added with add_edge
        self.add_many(versions)

    # -- building -------------------------------------------------------------------------

    def add(self, version: ModelVersion) -> None:
        """Add one version whose parents are already in the graph.

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
        self.add_columns(VersionColumns.from_versions([version]))

    def add_many(self, versions: Iterable[ModelVersion]) -> list[ModelVersion]:
        """Add versions given in any order; return those left out because a parent is missing.

        A version is inserted once all its parents are in the graph (Kahn's algorithm), so
        the outcome does not depend on the order of ``versions``. Ids already present are
        skipped.
        """
        columns = VersionColumns.from_versions(versions)
        return [columns.nodes[row] for row in self.add_columns(columns)]

    def add_columns(self, columns: VersionColumns) -> list[int]:
        """Add the versions of ``columns`` (any order); return the rows left out, by id.

        This is how a tracker adds what it loads: a pack's index gives the columns
        without decoding its records, whose nodes stay unread until looked at. A row is
        left out when a parent is in neither the graph nor ``columns``; rows whose id is
        already present (or repeated) are skipped.
        """
        ids, all_parents = columns.ids, columns.parents
        index, nodes, parents, children = self._index, self._nodes, self._parents, self._children
        base, count = len(nodes), len(ids)
        rows: range | list[int] = range(count)
        if ids != sorted(ids):
            rows = sorted(rows, key=ids.__getitem__)
        # Fast path, inlined (10^5 rows on load): ids are time-ordered and a version never
        # predates its parents, so in id order almost every version finds its parents
        # already inserted. Node i is the i-th row taken; the per-node columns are filled
        # in bulk afterwards, and the child lists made in one go (the unused ones dropped).
        left: list[int] = []  # rows skipped (already present) or deferred
        deferred: list[int] = []
        children += [[] for _ in range(count)]
        i = base
        for row in rows:
            version_id = ids[row]
            if version_id in index:
                left.append(row)
                continue
            links = all_parents[row]
            try:
                if len(links) == 1:
                    link = index[links[0]]
                    children[link].append(i)
                    parents.append((link,))
                else:
                    resolved = tuple([index[p] for p in links])
                    for p in resolved:
                        children[p].append(i)
                    parents.append(resolved)
            except KeyError:
                left.append(row)
                deferred.append(row)
                continue
            index[version_id] = i
            i += 1
        del children[i:]
        in_order = not left and isinstance(rows, range)
        taken: Sequence[int]
        if in_order:
            taken = rows
            nodes += columns.nodes
            self._kinds += columns.kinds
            self._created += columns.created
        else:
            out = set(left)
            taken = [r for r in rows if r not in out]
            nodes += [columns.nodes[r] for r in taken]
            self._kinds += [columns.kinds[r] for r in taken]
            self._created += [columns.created[r] for r in taken]
        orphans: list[int] = []
        if deferred:
            taken = [*taken, *self._insert_deferred(columns, deferred, orphans)]
        if not taken:
            return orphans
        for name, values in columns.metrics.items():
            column = self._metrics.get(name)
            if column is None:
                column = self._metrics[name] = []
            if in_order:
                column += [None] * (base - len(column))
                column += values
            else:
                for node, row in enumerate(taken, start=base):
                    value = values[row]
                    if value is not None:
                        if len(column) <= node:
                            column += [None] * (node + 1 - len(column))
                        column[node] = value
        inserted = [ids[r] for r in taken]
        order = self._order
        if (not order or inserted[0] > order[-1]) and in_order:
            order += inserted  # the common case: new versions are the newest
        else:
            order += inserted
            order.sort()
        self._rank = None
        if self._nx is not None:
            for version_id in inserted:
                self._nx_add(index[version_id])
        return orphans

    def _insert_deferred(
        self, columns: VersionColumns, deferred: list[int], orphans: list[int]
    ) -> list[int]:
        """Kahn's algorithm over the rows whose parents were not all present.

        Returns the rows inserted, in insertion order; ``orphans`` receives the rest.
        """
        index, ids, all_parents = self._index, columns.ids, columns.parents
        unresolved: dict[int, int] = {}
        waiters: dict[str, list[int]] = {}
        ready: list[int] = []
        pending: set[str] = set()
        for row in deferred:
            if ids[row] in index or ids[row] in pending:
                continue
            pending.add(ids[row])
            missing = {p for p in all_parents[row] if p not in index}
            if missing:
                unresolved[row] = len(missing)
                for parent in missing:
                    waiters.setdefault(parent, []).append(row)
            else:
                ready.append(row)
        waiting = {row for rows in waiters.values() for row in rows}
        inserted: list[int] = []
        while ready:
            row = ready.pop()
            if ids[row] in index:
                continue
            i = len(self._nodes)
            links = tuple(index[p] for p in all_parents[row])
            index[ids[row]] = i
            self._nodes.append(columns.nodes[row])
            self._parents.append(links)
            self._children.append([])
            for p in links:
                self._children[p].append(i)
            self._kinds.append(columns.kinds[row])
            self._created.append(columns.created[row])
            inserted.append(row)
            waiting.discard(row)
            for waiter in waiters.pop(ids[row], ()):
                unresolved[waiter] -= 1
                if unresolved[waiter] == 0:
                    ready.append(waiter)
        orphans += sorted(waiting, key=ids.__getitem__)
        return inserted

    def _nx_add(self, i: int) -> None:
        nodes = self._nodes
        version_id = nodes[i].id
        self._nx.add_node(version_id, version=nodes[i])
        kind = self._kinds[i]
        for k, parent in enumerate(self._parents[i]):
            self._nx.add_edge(nodes[parent].id, version_id, kind=kind, first_parent=k == 0)

    @property
    def nx(self) -> Any:
        """The lineage as a ``networkx.DiGraph`` (built on first access; treat as read-only).

        Nodes are version ids with the :class:`ModelVersion` in the ``version`` attribute;
        edges run parent -> child with ``kind`` (the child's kind) and ``first_parent``.
        """
        if self._nx is None:
            import networkx as nx

            self._nx = nx.DiGraph()
            for i in range(len(self._nodes)):
                self._nx_add(i)
        return self._nx

    # -- lookup ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._nodes)

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
        return self._nodes[self._idx(version_id)]

    def ids(self) -> list[str]:
        """All version ids in creation order (a copy)."""
        return list(self._order)

    def match_prefix(self, prefix: str, limit: int = 11) -> list[str]:
        """Up to ``limit`` ids starting with ``prefix``, in creation order."""
        order = self._order
        start = bisect.bisect_left(order, prefix)
        out = []
        for candidate in order[start : start + limit]:
            if not candidate.startswith(prefix):
                break
            out.append(candidate)
        return out

    def unique_prefix_length(self, version_id: str) -> int:
        """Length of the shortest prefix of ``version_id`` that no other id shares."""
        order = self._order
        i = bisect.bisect_left(order, version_id)
        length = 1
        for j in (i - 1, i + 1):
            if 0 <= j < len(order):
                other = order[j]
                common = next(
                    (k for k, (x, y) in enumerate(zip(version_id, other, strict=False)) if x != y),
                    len(version_id),
                )
                length = max(length, common + 1)
        return length

    def versions(self) -> list[ModelVersion]:
        """All versions in creation order (oldest first)."""
        index, nodes = self._index, self._nodes
        return [nodes[index[i]] for i in self._order]

    def _ranks(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        import numpy as np  # numpy is not imported at `import mlineage`

        if self._rank is None or len(self._rank) != len(self._nodes):
            index = self._index
            positions = np.fromiter(
                (index[version_id] for version_id in self._order),
                dtype=np.int64,
                count=len(self._order),
            )
            rank = np.empty(len(self._nodes), dtype=np.int64)
            rank[positions] = np.arange(len(positions), dtype=np.int64)
            self._rank = rank
        return self._rank

    def _by_creation(self, indices: Iterable[int], newest_first: bool) -> list[ModelVersion]:
        import numpy as np

        idx = np.fromiter(indices, dtype=np.int64)
        ordered = idx[np.argsort(self._ranks()[idx], kind="stable")]
        if newest_first:
            ordered = ordered[::-1]
        nodes = self._nodes
        return [nodes[i] for i in ordered.tolist()]

    # -- structure ------------------------------------------------------------------------

    def parents(self, version_id: str) -> list[ModelVersion]:
        """The parents of a version, first parent first."""
        return [self._nodes[p] for p in self._parents[self._idx(version_id)]]

    def first_parent(self, version_id: str) -> ModelVersion | None:
        """The first parent of a version, or None for a root."""
        links = self._parents[self._idx(version_id)]
        return self._nodes[links[0]] if links else None

    def children(self, version_id: str) -> list[ModelVersion]:
        """The direct children of a version, oldest first."""
        return self._by_creation(self._children[self._idx(version_id)], newest_first=False)

    def _reach(self, start: int, edges: list[tuple[int, ...]] | list[list[int]]) -> set[int]:
        seen: set[int] = set()
        stack = list(edges[start])
        add, pop, extend = seen.add, stack.pop, stack.extend
        while stack:
            node = pop()
            if node not in seen:
                add(node)
                extend(edges[node])
        return seen

    def ancestors(self, version_id: str, max_depth: int | None = None) -> list[ModelVersion]:
        """Every version ``version_id`` descends from, breadth-first: nearest first.

        Parents, then grandparents, ... (within one level, newest first); the start is
        excluded; ``max_depth`` stops after that many levels. The same set as
        ``networkx.ancestors(graph.nx, version_id)`` when unbounded.

        Raises
        ------
        VersionNotFound
            If ``version_id`` is not in the graph.
        """
        return self._levels(version_id, self._parents, max_depth, newest_first=True)

    def descendants(self, version_id: str, max_depth: int | None = None) -> list[ModelVersion]:
        """Every version descending from ``version_id``, breadth-first: nearest first.

        Children, then grandchildren, ... (within one level, oldest first); the start is
        excluded; ``max_depth`` stops after that many levels.
        """
        return self._levels(version_id, self._children, max_depth, newest_first=False)

    def _levels(
        self,
        version_id: str,
        edges: list[tuple[int, ...]] | list[list[int]],
        max_depth: int | None,
        *,
        newest_first: bool,
    ) -> list[ModelVersion]:
        if max_depth is not None and (
            not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 0
        ):
            raise InvalidInput(f"max_depth must be None or an int >= 0, got {max_depth!r}")
        start = self._idx(version_id)
        seen = {start}
        level = [start]
        out: list[ModelVersion] = []
        depth = 0
        while level and (max_depth is None or depth < max_depth):
            following = []
            for node in level:
                for nxt in edges[node]:
                    if nxt not in seen:
                        seen.add(nxt)
                        following.append(nxt)
            out += self._by_creation(following, newest_first)
            level = following
            depth += 1
        return out

    def ancestors_by_creation(self, version_id: str) -> list[ModelVersion]:
        """Every ancestor of ``version_id``, newest first (``Lineage.ancestors``)."""
        return self._by_creation(self._reach(self._idx(version_id), self._parents), True)

    def descendants_by_creation(self, version_id: str) -> list[ModelVersion]:
        """Every descendant of ``version_id``, oldest first (``Lineage.descendants``)."""
        return self._by_creation(self._reach(self._idx(version_id), self._children), False)

    def first_parent_indices(self, version_id: str) -> list[int]:
        """Node indices of ``version_id``'s first-parent chain, newest first."""
        parents = self._parents
        i = self._idx(version_id)
        chain = [i]
        append = chain.append
        while parents[i]:
            i = parents[i][0]
            append(i)
        return chain

    def metric_series(
        self, indices: list[int], metric: str
    ) -> tuple[list[int], np.ndarray[Any, np.dtype[np.float64]]]:
        """The nodes among ``indices`` that carry ``metric``, and their values, in order."""
        import numpy as np

        column = self._metrics.get(metric, [])
        size = len(column)
        kept = [i for i in indices if i < size and column[i] is not None]
        values = np.fromiter((column[i] for i in kept), dtype=np.float64, count=len(kept))
        return kept, values

    def metric_values(self, indices: list[int], metric: str) -> list[float | None]:
        """``metric`` at each node of ``indices`` (None where not measured); reads no record."""
        column = self._metrics.get(metric, [])
        size = len(column)
        return [column[i] if i < size else None for i in indices]

    def creation_indices(self) -> list[int]:
        """Node indices of every version in creation order (oldest first)."""
        index = self._index
        return [index[version_id] for version_id in self._order]

    def created_micros(self, version_id: str) -> int:
        """When ``version_id`` was created, in microseconds since the Unix epoch (UTC)."""
        return self._created[self._idx(version_id)]

    def latest_at(self, indices: list[int], micros: int) -> int | None:
        """Position in ``indices`` (oldest first) of the last one created at or before
        ``micros`` (microseconds since the epoch), or None if all are later.

        Reads no record: creation times are kept as a column.
        """
        created = self._created
        position = bisect.bisect_right([created[i] for i in indices], micros)
        return position - 1 if position else None

    def node(self, index: int) -> ModelVersion:
        """The version stored at node ``index`` (as returned by the index methods)."""
        return self._nodes[index]

    def first_parent_chain(self, version_id: str) -> list[ModelVersion]:
        """``version_id`` and its first-parent ancestors, newest first (git's history)."""
        nodes, parents = self._nodes, self._parents
        i = self._idx(version_id)
        chain: list[ModelVersion] = []
        append = chain.append
        while True:
            append(nodes[i])
            first = parents[i]
            if not first:
                return chain
            i = first[0]

    def roots(self) -> list[ModelVersion]:
        """Versions without parents, oldest first."""
        return self._by_creation((i for i, p in enumerate(self._parents) if not p), False)

    def leaves(self) -> list[ModelVersion]:
        """Versions without children (branch tips), oldest first."""
        return self._by_creation((i for i, c in enumerate(self._children) if not c), False)

    def latest(self) -> ModelVersion | None:
        """The most recently created version, or None for an empty graph."""
        return self._nodes[self._index[self._order[-1]]] if self._order else None

    def topological_order(self) -> list[ModelVersion]:
        """All versions, every parent before its children (ties broken by creation)."""
        import networkx as nx

        return [self.get(i) for i in nx.lexicographical_topological_sort(self.nx, key=str)]

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
        a = self._idx(ancestor)
        return a in self._reach(self._idx(version_id), self._parents)

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
        if source in self._parents[target]:
            return
        self._parents[target] = (*self._parents[target], source)
        self._children[source].append(target)
        self._edges[(edge.source_id, edge.target_id)] = edge
        if self._nx is not None:
            self._nx.add_edge(
                edge.source_id, edge.target_id, kind=edge.edge_type, first_parent=False
            )

    def get_version(self, version_id: str) -> ModelVersion:
        """The version object added under ``version_id`` (see :meth:`get`)."""
        return self.get(version_id)

    def history(self, version_id: str) -> list[ModelVersion]:
        """The first-parent chain that ends at ``version_id``, **root first**.

        (``Tracker.history`` is newest first, as ``git log`` is.)
        """
        return self.first_parent_chain(version_id)[::-1]

    def all_versions(self) -> list[ModelVersion]:
        """Every version, by creation time (oldest first)."""
        return self.versions()

    def __repr__(self) -> str:
        edges = sum(len(p) for p in self._parents)
        return f"<LineageGraph {len(self)} versions, {edges} edges>"
