"""``tracker.lineage(ref)``: structural queries around one version."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlineage.graph import VersionSequence
from mlineage.records import ModelVersion

if TYPE_CHECKING:
    from mlineage._tracker_protocol import TrackerLike

__all__ = ["Lineage"]


class Lineage:
    """Structural queries around one version: ``tracker.lineage(ref)``."""

    def __init__(self, tracker: TrackerLike, version: ModelVersion) -> None:
        self.tracker = tracker
        self.version = version

    def ancestors(self) -> VersionSequence:
        """Every version this one descends from (through any parent), newest first.

        A :class:`~mlineage.VersionSequence` (each version made when looked at).
        """
        return self.tracker.graph.ancestors_by_creation(self.version.id)

    def descendants(self) -> VersionSequence:
        """Every version descending from this one, oldest first.

        A :class:`~mlineage.VersionSequence` (each version made when looked at).
        """
        return self.tracker.graph.descendants_by_creation(self.version.id)

    def history(self) -> VersionSequence:
        """This version and its first-parent ancestors, newest first.

        A :class:`~mlineage.VersionSequence` (each version made when looked at).
        """
        return self.tracker.graph.first_parent_chain(self.version.id)

    def parents(self) -> list[ModelVersion]:
        """Direct parents, first parent first."""
        return self.tracker.graph.parents(self.version.id)

    def children(self) -> list[ModelVersion]:
        """Direct children, oldest first."""
        return self.tracker.graph.children(self.version.id)

    def __repr__(self) -> str:
        return f"<Lineage of {self.version!r}>"
