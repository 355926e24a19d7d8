"""What the lineage graph needs of each version, as columns.

The graph, history, blame and checkout-at-a-time need only a version's id, parents, kind,
name, creation time and metrics (and ``find_origin`` the origin's system and id). A pack
stores exactly these as columns in its header, so a tracker can build its lineage from
them and leave each full record unread until something looks at it
(:func:`mlineage.records.lazy_version`). Versions decoded eagerly (loose records, or just
logged) go through the same columns, so there is one way in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from mlineage.records import ModelVersion, VersionSource

__all__ = ["TABLE_FIELDS", "VersionColumns", "table_fields", "utc_micros"]

#: What a table of versions (``Tracker.to_pandas``) shows of each version besides the
#: graph's columns, in the order of :func:`table_fields`; a pack reads them in bulk.
TABLE_FIELDS = (
    "name",
    "dataset_hash",
    "dataset_path",
    "dataset_rows",
    "notes",
    "tags",
    "status",
    "hyperparameters",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def utc_micros(when: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact, no float rounding)."""
    return (when - _EPOCH) // _MICROSECOND


def table_fields(version: ModelVersion) -> tuple[Any, ...]:
    """:data:`TABLE_FIELDS` of a version object (reads its record)."""
    dataset = version.dataset
    return (
        version.name,
        dataset.hash,
        dataset.path,
        dataset.num_rows,
        version.notes,
        version.tags,
        version.status.value,
        version.hyperparameters,
    )


@dataclass(slots=True)
class VersionColumns:
    """Parallel lists, one row per version; ``metrics`` holds one list per metric name.

    A metric a version does not carry is ``None`` in that version's row. ``origins`` is
    sparse: ``(row, system, id)`` for the versions imported from another system. A row's
    version is either decoded (``nodes[row]``) or unread: then ``nodes[row]`` is None and
    the record is number ``records[row]`` of ``sources[row]`` (a pack), read when looked at.
    """

    ids: list[str] = field(default_factory=list)
    parents: list[Sequence[str]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    metrics: dict[str, list[float | None]] = field(default_factory=dict)
    nodes: list[ModelVersion | None] = field(default_factory=list)
    origins: list[tuple[int, str, str]] = field(default_factory=list)
    sources: list[VersionSource | None] = field(default_factory=list)
    records: list[int] = field(default_factory=list)

    @classmethod
    def unread(
        cls,
        source: VersionSource,
        index: Mapping[str, Any],
        origins: list[tuple[int, str, str]],
    ) -> VersionColumns:
        """Columns of a pack's index whose records (0, 1, ...) stay in ``source``."""
        count = len(index["ids"])
        return cls(
            ids=index["ids"],
            parents=index["parents"],
            kinds=index["kinds"],
            names=index["names"],
            created=index["created"],
            metrics=index["metrics"],
            nodes=[None] * count,
            origins=origins,
            sources=[source] * count,
            records=list(range(count)),
        )

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_versions(cls, versions: Iterable[ModelVersion]) -> VersionColumns:
        """Columns of fully decoded versions (reads every field it needs)."""
        columns = cls()
        metrics = columns.metrics
        for row, version in enumerate(versions):
            columns.ids.append(version.id)
            columns.parents.append(version.parents)
            columns.kinds.append(version.kind)
            columns.names.append(version.name)
            columns.created.append(utc_micros(version.created_at))
            columns.nodes.append(version)
            columns.sources.append(None)
            columns.records.append(0)
            if version.origin is not None:
                columns.origins.append((row, version.origin.system, version.origin.id))
            for name, value in version.metrics.items():
                column = metrics.get(name)
                if column is None:
                    column = metrics[name] = [None] * row
                column.append(value)
            for column in metrics.values():
                if len(column) == row:
                    column.append(None)
        return columns

    def extend(self, other: VersionColumns) -> None:
        """Append ``other``'s rows."""
        before, added = len(self), len(other)
        self.ids += other.ids
        self.parents += other.parents
        self.kinds += other.kinds
        self.names += other.names
        self.created += other.created
        self.nodes += other.nodes
        self.sources += other.sources
        self.records += other.records
        self.origins += [(before + row, system, id_) for row, system, id_ in other.origins]
        for name, column in other.metrics.items():
            mine = self.metrics.get(name)
            if mine is None:
                padded: list[float | None] = [None] * before
                self.metrics[name] = padded + column
            else:
                mine += column
        for column in self.metrics.values():
            if len(column) < before + added:
                column += [None] * added

    def take(self, rows: Sequence[int]) -> VersionColumns:
        """A new table of the given rows, in that order."""
        origins = []
        if self.origins:
            where = {row: position for position, row in enumerate(rows)}
            origins = [(where[r], s, i) for r, s, i in self.origins if r in where]
            origins.sort()
        return VersionColumns(
            ids=[self.ids[r] for r in rows],
            parents=[self.parents[r] for r in rows],
            kinds=[self.kinds[r] for r in rows],
            names=[self.names[r] for r in rows],
            created=[self.created[r] for r in rows],
            metrics={name: [column[r] for r in rows] for name, column in self.metrics.items()},
            nodes=[self.nodes[r] for r in rows],
            origins=origins,
            sources=[self.sources[r] for r in rows],
            records=[self.records[r] for r in rows],
        )
