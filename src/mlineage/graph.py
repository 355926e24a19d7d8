"""The lineage DAG: versions as nodes of a ``networkx.DiGraph``, edges parent -> child.

:class:`LineageGraph` is rebuilt from records when a tracker loads and kept current as
versions are logged. It answers structural questions with networkx's algorithms; what a
version *contains* lives in the :class:`~mlineage.records.ModelVersion` stored on its node.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import networkx as nx

from mlineage.errors import VersionNotFound
from mlineage.records import ModelVersion

__all__ = ["LineageGraph"]


class LineageGraph:
    """A DAG of :class:`~mlineage.records.ModelVersion` nodes keyed by version id.

    Edges run parent -> child and carry ``kind`` (the child's ``kind``: ``update``,
    ``fine_tune``, ``merge``, ...) and ``first_parent`` (whether the parent is the child's
    first parent, the one history follows). The underlying graph is :attr:`nx`; treat it
    as read-only.

    Parameters
    ----------
    versions : iterable of ModelVersion, optional
        Versions to add; parents must come before children or be added in the same call.

    Examples
    --------
    >>> g = LineageGraph()
    >>> len(g)
    0
    """

    def __init__(self, versions: Iterable[ModelVersion] = ()) -> None:
        self.nx: Any = nx.DiGraph()
        self._versions: dict[str, ModelVersion] = {}
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
            if parent not in self._versions:
                raise VersionNotFound(
                    f"parent {parent} of version {version.id} is not in the lineage of "
                    f"model {version.model!r}"
                )
        self._insert(version)

    def add_many(self, versions: Iterable[ModelVersion]) -> list[ModelVersion]:
        """Add versions given in any order; return those left out because a parent is missing.

        A version is inserted once all its parents are in the graph (Kahn's algorithm), so
        the outcome does not depend on the order of ``versions``. Ids already present are
        skipped.
        """
        unresolved: dict[str, int] = {}
        waiters: dict[str, list[ModelVersion]] = {}
        ready: list[ModelVersion] = []
        for version in sorted(versions, key=lambda v: v.id, reverse=True):
            if version.id in self._versions or version.id in unresolved:
                continue
            missing = {p for p in version.parents if p not in self._versions}
            if missing:
                unresolved[version.id] = len(missing)
                for parent in missing:
                    waiters.setdefault(parent, []).append(version)
            else:
                ready.append(version)
        orphans = {w.id: w for ws in waiters.values() for w in ws}
        while ready:
            version = ready.pop()
            if version.id in self._versions:
                continue
            self._insert(version)
            orphans.pop(version.id, None)
            for waiter in waiters.pop(version.id, ()):
                unresolved[waiter.id] -= 1
                if unresolved[waiter.id] == 0:
                    ready.append(waiter)
        return sorted(orphans.values(), key=lambda v: v.id)

    def _insert(self, version: ModelVersion) -> None:
        self._versions[version.id] = version
        self.nx.add_node(version.id, version=version)
        for i, parent in enumerate(version.parents):
            self.nx.add_edge(parent, version.id, kind=version.kind, first_parent=i == 0)

    # -- lookup ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._versions)

    def __contains__(self, version_id: object) -> bool:
        return version_id in self._versions

    def __iter__(self) -> Iterator[ModelVersion]:
        return iter(self.versions())

    def get(self, version_id: str) -> ModelVersion:
        """Return the version with exactly this id.

        Raises
        ------
        VersionNotFound
        """
        try:
            return self._versions[version_id]
        except KeyError:
            raise VersionNotFound(f"no version with id {version_id!r}") from None

    def ids(self) -> list[str]:
        """All version ids in creation order."""
        return sorted(self._versions)

    def versions(self) -> list[ModelVersion]:
        """All versions in creation order (oldest first)."""
        return [self._versions[i] for i in sorted(self._versions)]

    # -- structure ------------------------------------------------------------------------

    def parents(self, version_id: str) -> list[ModelVersion]:
        """The parents of a version, first parent first."""
        return [self._versions[p] for p in self.get(version_id).parents]

    def children(self, version_id: str) -> list[ModelVersion]:
        """The direct children of a version, oldest first."""
        self.get(version_id)
        return [self._versions[c] for c in sorted(self.nx.successors(version_id))]

    def ancestors(self, version_id: str) -> list[ModelVersion]:
        """Every version ``version_id`` descends from (through any parent), newest first."""
        self.get(version_id)
        return [self._versions[i] for i in sorted(nx.ancestors(self.nx, version_id), reverse=True)]

    def descendants(self, version_id: str) -> list[ModelVersion]:
        """Every version descending from ``version_id``, oldest first."""
        self.get(version_id)
        return [self._versions[i] for i in sorted(nx.descendants(self.nx, version_id))]

    def first_parent_chain(self, version_id: str) -> list[ModelVersion]:
        """``version_id`` and its first-parent ancestors, newest first (git's history)."""
        chain = [self.get(version_id)]
        versions = self._versions
        parents = chain[0].parents
        while parents:
            version = versions[parents[0]]
            chain.append(version)
            parents = version.parents
        return chain

    def roots(self) -> list[ModelVersion]:
        """Versions without parents, oldest first."""
        return [self._versions[i] for i in sorted(self._versions) if not self._versions[i].parents]

    def leaves(self) -> list[ModelVersion]:
        """Versions without children (branch tips), oldest first."""
        out_degree = self.nx.out_degree
        return [self._versions[i] for i in sorted(self._versions) if out_degree(i) == 0]

    def latest(self) -> ModelVersion | None:
        """The most recently created version, or None for an empty graph."""
        return self._versions[max(self._versions)] if self._versions else None

    def topological_order(self) -> list[ModelVersion]:
        """All versions, every parent before its children (ties broken by creation)."""
        return [self._versions[i] for i in nx.lexicographical_topological_sort(self.nx, key=str)]

    def path(self, source: str, target: str) -> list[ModelVersion]:
        """A shortest parent -> child path from ``source`` to ``target``.

        Raises
        ------
        VersionNotFound
            If either id is unknown or ``target`` does not descend from ``source``.
        """
        self.get(source)
        self.get(target)
        try:
            ids = nx.shortest_path(self.nx, source, target)
        except nx.NetworkXNoPath:
            raise VersionNotFound(f"version {target} does not descend from {source}") from None
        return [self._versions[i] for i in ids]

    def is_ancestor(self, ancestor: str, version_id: str) -> bool:
        """Whether ``ancestor`` is a (not necessarily direct) ancestor of ``version_id``."""
        self.get(ancestor)
        self.get(version_id)
        return ancestor != version_id and bool(nx.has_path(self.nx, ancestor, version_id))

    def __repr__(self) -> str:
        return f"<LineageGraph {len(self)} versions, {self.nx.number_of_edges()} edges>"
