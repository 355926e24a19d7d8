"""What the layers under the facade may ask of a tracker: :class:`TrackerLike`.

Functions of a tracker live below :class:`mlineage.Tracker` (the write verbs in
:mod:`mlineage.evidence` and :mod:`mlineage.fingerprints`, lineage analysis, the promotion
gate, presentation) and the facade binds them as its methods. They are typed against this
protocol rather than against the facade, so that no module under the facade imports it, even
for type hints: every import arrow points down (CONTRIBUTING, "Package map"). The protocol
names the members those functions use; ``mypy --strict`` checks that :class:`~mlineage.Tracker`
provides each of them wherever one of these functions is bound as its method or called with
it. Each member is documented on the facade.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mlineage.blame import BlameReport, Direction
    from mlineage.diff import VersionDiff
    from mlineage.graph import LineageGraph
    from mlineage.index import LineageIndex
    from mlineage.lineage_reads import LineageReads
    from mlineage.records import (
        AliasEvent,
        AnnotationEvent,
        EnvironmentSnapshot,
        ModelVersion,
        VersionStatus,
    )
    from mlineage.refs import Ref
    from mlineage.storage import Store
    from mlineage.writer import Writer

__all__ = ["TrackerLike"]


class TrackerLike(Protocol):
    """The members of :class:`mlineage.Tracker` that the functions of a tracker use.

    ``_index``, ``_writer`` and ``_reads`` are the facade's documented internal interfaces:
    the write path (:mod:`mlineage.evidence`, :mod:`mlineage.fingerprints`) writes through
    the writer; lineage analysis and the gate read through ``_reads`` only.
    """

    model: str
    store: Store
    read_only: bool
    _index: LineageIndex
    _writer: Writer

    def __len__(self) -> int: ...
    @property
    def _reads(self) -> LineageReads: ...
    @property
    def graph(self) -> LineageGraph: ...
    def refresh(self) -> int: ...
    def get_version(self, ref: Ref) -> ModelVersion: ...
    def abbrev(self, ref: Ref, minimum: int = 8) -> str: ...
    def latest(self) -> ModelVersion | None: ...
    def leaves(self) -> list[ModelVersion]: ...
    def history(
        self, ref: Ref | None = None, *, from_version_id: str | None = None
    ) -> Sequence[ModelVersion]: ...
    def annotations(self, ref: Ref) -> list[AnnotationEvent]: ...
    def tags(self, ref: Ref) -> list[str]: ...
    def status(self, ref: Ref) -> VersionStatus: ...
    def aliases(self) -> dict[str, ModelVersion]: ...
    def alias_history(self, alias: str) -> list[AliasEvent]: ...
    def versions_with_events(self) -> list[str]: ...
    def environment(self, ref: Ref) -> EnvironmentSnapshot | None: ...
    def diff(self, a: Ref, b: Ref) -> VersionDiff: ...
    def blame_report(
        self, metric: str, direction: Direction = "decrease", on: Ref | None = None
    ) -> BlameReport: ...
    @property
    def set_alias(self) -> Callable[..., AliasEvent]:
        """``Tracker.set_alias`` (the gate moves an alias through it)."""
        ...
