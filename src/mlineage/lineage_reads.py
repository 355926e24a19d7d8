"""The read interface lineage analysis uses: ``tracker._reads``, one object per tracker.

Lineage analysis (``mlineage.analysis``) and the promotion gate walk a tracker's history and
read what is stored with its versions, and write nothing. They reach the loaded lineage
through this small interface, not through the tracker's index or writer: each method is one
question the index answers, named and documented here, so that the index can change shape
without breaking them (CONTRIBUTING, "The package map"). It is internal: users call the
tracker and ``tracker.analysis``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mlineage import refs
from mlineage.blame import blame_report
from mlineage.records import FingerprintEvent, ModelVersion

if TYPE_CHECKING:
    from mlineage.blame import BlameReport, Direction, DriftOf
    from mlineage.diff import VersionDiff
    from mlineage.graph import LineageGraph, NodeArray
    from mlineage.index import LineageIndex, VersionEvent
    from mlineage.refs import Ref

__all__ = ["LineageReads", "find_probe_blob"]


def find_probe_blob(index: LineageIndex, probe_hash: str) -> str | None:
    """Blob key of a stored copy of probe set ``probe_hash``, from any record or event.

    Reads every version record of the lineage: asked only for a fingerprint that does not
    carry its probe set.
    """
    for event in list(index.events.values()):
        if isinstance(event, FingerprintEvent) and event.fingerprint.probe == probe_hash:
            key = event.fingerprint.probe_blob
            if key is not None:
                return key
    for version in index.graph.versions():
        for f in version.fingerprints:
            if f.probe == probe_hash and f.probe_blob is not None:
                return f.probe_blob
    return None


class LineageReads:
    """What lineage analysis may read of a tracker's loaded lineage (``tracker._reads``).

    Parameters
    ----------
    index : LineageIndex
        The tracker's index; read only, always current (the tracker refreshes it).
    """

    def __init__(self, index: LineageIndex) -> None:
        self._index = index

    @property
    def graph(self) -> LineageGraph:
        """The lineage graph as loaded now (versions, parents, metric columns)."""
        return self._index.graph

    def version(self, ref: Ref) -> ModelVersion:
        """The version ``ref`` names (see :func:`mlineage.refs.get_version`)."""
        return refs.get_version(self._index, ref)

    def compared(
        self,
        old: Ref | None,
        new: Ref | None,
        *,
        empty: Callable[[], Exception],
        root: Callable[[ModelVersion], Exception],
    ) -> tuple[ModelVersion, ModelVersion]:
        """The (old, new) versions a comparison is between: ``new`` or else the latest
        version, and ``old`` or else ``new``'s first parent.

        Each comparison words its own errors: ``empty()`` is raised when ``new`` is None and
        there is no version, ``root(new)`` when ``old`` is None and ``new`` has no parent.
        ``new`` is resolved first.
        """
        if new is None:
            latest = self.graph.latest()
            if latest is None:
                raise empty()
            newer = latest
        else:
            newer = self.version(new)
        if old is not None:
            return self.version(old), newer
        parent = self.graph.first_parent(newer.id)
        if parent is None:
            raise root(newer)
        return parent, newer

    def history(self, on: Ref | None) -> NodeArray:
        """Graph indices of the first-parent history of ``on`` (default: latest), oldest first
        (an int64 array)."""
        return refs.history_indices(self._index, on)

    def history_versions(self, on: Ref | None) -> list[ModelVersion]:
        """The versions of :meth:`history`, oldest first."""
        return list(self._index.graph.lazy_nodes(self.history(on)))

    def events_of(self, version_id: str) -> Sequence[VersionEvent]:
        """The events about one version since it was written, oldest first."""
        return self._index.version_events.get(version_id, ())

    def probe_blob(self, probe_hash: str) -> str | None:
        """Blob key of a stored copy of probe set ``probe_hash`` (:func:`find_probe_blob`)."""
        return find_probe_blob(self._index, probe_hash)

    def blame_report(
        self,
        on: Ref | None,
        metric: str,
        direction: Direction,
        explain: Callable[[ModelVersion, ModelVersion], VersionDiff] | None = None,
        drift_of: DriftOf | None = None,
    ) -> BlameReport:
        """Blame ``metric`` along the first-parent history of ``on`` (see
        :func:`mlineage.blame.blame_report`)."""
        history = self.history(on)
        return blame_report(self._index, history, metric, direction, explain, drift_of)
