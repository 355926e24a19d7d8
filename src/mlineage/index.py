"""What a tracker knows of one model: the lineage graph, names, events, alias moves, origins.

:class:`LineageIndex` owns the store reader (:class:`~mlineage._reader.StoreReader`) and
keeps what it read: :meth:`LineageIndex.refresh` adds what other processes wrote since.
Queries (:mod:`mlineage.refs`, blame, diff) and the write path (:mod:`mlineage.writer`)
work on an index; the :class:`~mlineage.Tracker` facade holds one.
"""

from __future__ import annotations

import bisect
import gc
import mmap
import os
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Literal

from mlineage import _keys
from mlineage._columns import VersionColumns
from mlineage._reader import RELIST_ATTEMPTS, ReadResult, StoreReader, map_each, misplaced
from mlineage.codec import (
    MAX_PACK_SIZE,
    MAX_RECORD_SIZE,
    STORE_MARKER_KEY,
    PackContents,
    decode_marker,
    decode_version,
    read_pack,
)
from mlineage.errors import AliasNotFound, CorruptRecord, MLineageError, ModelNotFound, NotFound
from mlineage.graph import LineageGraph
from mlineage.records import (
    AliasEvent,
    AnnotationEvent,
    EnvironmentReader,
    Event,
    EvidenceEvent,
    FingerprintEvent,
    ModelVersion,
    RecordCache,
    StatusEvent,
    VersionStatus,
    bind_environments,
)
from mlineage.storage import Store

__all__ = ["LineageIndex", "OnError", "list_models"]

OnError = Literal["raise", "skip"]
VersionEvent = AnnotationEvent | StatusEvent | FingerprintEvent | EvidenceEvent


def list_models(storage: str | os.PathLike[str] | Store | None = None) -> list[str]:
    """Return the names of the models in a store, sorted.

    Parameters
    ----------
    storage : str, os.PathLike, Store or None
        As for :class:`Tracker`.

    Examples
    --------
    >>> list_models("memory://list-models-doc")
    []
    """
    from mlineage.storage import open_store

    store = open_store(storage)
    return [m for m in store.list_dir(_keys.MODELS) if _has_records(store, m)]


def _has_records(store: Store, model: str) -> bool:
    return any(
        next(iter(store.list(prefix)), None) is not None
        for prefix in (_keys.versions_prefix(model), _keys.packs_prefix(model))
    )


def _pack_ids(contents: PackContents) -> list[str]:
    # A list, not a generator: a set takes 10^6 ids from a list several times faster.
    return [*contents.versions.ids, *[event.id for event in contents.events]]


@dataclass
class _Found:
    """What one refresh read besides versions: events, and the packs it read (recorded
    as loaded once their versions are in the graph)."""

    events: dict[str, Event] = field(default_factory=dict)
    #: pack key -> what it holds
    packs: dict[str, LoadedPack] = field(default_factory=dict)


class LineageIndex:
    """The loaded lineage of one model in one store.

    Parameters
    ----------
    store : Store
    model : str
        A validated model name.
    on_error : {"raise", "skip"}
        A damaged record raises :class:`~mlineage.errors.CorruptRecord`, or is skipped
        with one warning per key.
    """

    def __init__(
        self,
        store: Store,
        model: str,
        *,
        on_error: OnError = "raise",
        environments: EnvironmentReader | None = None,
    ) -> None:
        self.store = store
        self.model = model
        #: How the versions of this index read their environment (``version.environment``)
        self.environments = environments
        self.on_error: OnError = on_error
        self.lock = threading.RLock()
        self.graph = LineageGraph()
        if environments is not None:
            self.graph.held_state["environment"] = environments
        #: The records of the versions read last: a lazy version reads its record into
        #: it, so reading every version of a large store holds a bounded number of them
        self.records = RecordCache()
        self.graph.held_state["records"] = self.records
        #: Where the versions this process wrote are read back from when asked for
        self.written = StoreSource(self)
        #: version name -> version id
        self.names: dict[str, str] = {}
        self.events: dict[str, Event] = {}
        #: alias -> its moves, in the order they took effect
        self.alias_events: dict[str, list[AliasEvent]] = {}
        #: alias -> the highest entry of its log listed so far (0: none); the next move
        #: is written after it
        self.alias_seq: dict[str, int] = {}
        #: alias log entries loaded (keys)
        self.alias_log_keys: set[str] = set()
        #: version id -> its annotations, status changes, fingerprints and evidence, oldest first
        self.version_events: dict[str, list[VersionEvent]] = {}
        #: every evidence event, oldest first
        self.evidence: list[EvidenceEvent] = []
        #: (system, foreign id) -> the versions imported from there, oldest first
        self.origins: dict[tuple[str, str], list[str]] = {}
        #: pack key -> what it holds (its ids while small enough to merge)
        self.loaded_packs: dict[str, LoadedPack] = {}
        #: packs with damage: never merged away, so fsck keeps reporting them
        self.damaged_packs: set[str] = set()
        #: versions this process logged since it last compacted (``compaction.AUTO_COMPACT``)
        self.loose_written = 0
        #: the store marker's format once read or written (None: not yet)
        self.marker_format: int | None = None
        self._warned: set[str] = set()
        self.reader: StoreReader[PackContents] = StoreReader(
            store, model, self._read_pack, _pack_ids, mapped=True
        )

    def _read_pack(self, data: bytes | mmap.mmap, key: str) -> PackContents:
        return read_pack(data, key, self.model, lenient=self.on_error == "skip")

    # -- damage -------------------------------------------------------------------------

    def warn_skip(self, key: str, error: Exception) -> None:
        """Warn once per key that a damaged record was skipped."""
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"skipped damaged record: {error}", RuntimeWarning, stacklevel=4)

    def record_error(self, key: str, error: MLineageError) -> None:
        """Raise ``error``, or (``on_error="skip"``) warn and go on.

        A record in a newer format is never skipped: this mlineage cannot tell damage
        from what it does not know yet.
        """
        if self.on_error == "raise" or not isinstance(error, CorruptRecord):
            raise error
        self.warn_skip(key, error)

    # -- loading ------------------------------------------------------------------------

    def check_marker(self) -> None:
        """Refuse a store written in a newer format (if it has a marker yet)."""
        try:
            data = self.store.get_limited(STORE_MARKER_KEY, MAX_RECORD_SIZE)
        except NotFound:
            return
        self.marker_format = decode_marker(data, self.store.uri)

    def refresh(self) -> int:
        """Load the versions and events written since the last refresh; return how many
        versions are new.

        A pack is remembered as loaded (and not read again) only once every version it
        holds is in the graph: a refresh cut short by an error leaves the rest of its
        packs to the next one, so no version is lost to this index for good.
        """
        import numpy  # noqa: F401  # the graph's index needs it; import it with the data

        with self.lock, _gc_paused():
            before = len(self.graph)
            new = _Found()
            versions = VersionColumns()
            result = self.reader.read(
                known_versions=self.graph.__contains__,
                known_events=self.events.__contains__,
                known_packs=self.loaded_packs,
                known_alias_keys=self.alias_log_keys,
            )
            self._take_alias_log(result, new.events)
            self._take(result, versions, new)
            orphans = self._find_parents(versions.take(self._add(versions)), new)
            # The columns and what was read die here, while the cyclic GC is paused: with
            # them alive, its first pass after the pause walked their 10^6 parents tuples.
            del versions, result
            for event in sorted(new.events.values(), key=_by_id):
                if event.id not in self.events:
                    self.add_event(event)
            left_out = set(orphans.ids)
            for key, pack in new.packs.items():
                # a pack with a version left out is read again by the next refresh (a full
                # pack keeps no ids: any left-out id in its range counts)
                if not left_out or not pack.may_hold(left_out):
                    self.loaded_packs[key] = pack
            for row, version_id in enumerate(orphans.ids):
                missing = [p for p in orphans.parents[row] if p not in self.graph]
                where = (
                    "that descend from it (a parent cycle)"
                    if set(missing) <= left_out
                    else "that are not in the store"
                )
                self.record_error(
                    _keys.version_key(self.model, version_id),
                    CorruptRecord(
                        f"version {version_id} of model {self.model!r} names parent(s) "
                        f"{', '.join(missing)} {where}; run `mlineage fsck`"
                    ),
                )
            return len(self.graph) - before

    def _take(
        self, result: ReadResult[PackContents], versions: VersionColumns, new: _Found
    ) -> None:
        """Report what ``result`` found damaged; add its versions to ``versions`` and its
        events and packs to ``new``."""
        for damage in result.damage:
            if damage.kind == "corrupt-record" and damage.key.startswith(
                _keys.packs_prefix(self.model)
            ):
                self.damaged_packs.add(damage.key)
            self.record_error(damage.key, damage.error)
        for pack in result.packs:
            contents = pack.contents
            for problem in contents.problems:
                self.warn_skip(pack.key, problem)
            if contents.problems:
                self.damaged_packs.add(pack.key)
            versions.extend(contents.versions)
            for event in contents.events:
                new.events.setdefault(event.id, event)
            new.packs[pack.key] = LoadedPack.of(
                contents.versions.ids, [e.id for e in contents.events]
            )
        # A record both packed and loose (an interrupted compaction) is the same record;
        # the packed copy is kept.
        loose: dict[str, ModelVersion] = {}
        for item in result.loose:
            record = item.record
            if isinstance(record, ModelVersion):
                loose.setdefault(record.id, record)
            else:
                new.events.setdefault(record.id, record)
        versions.extend(VersionColumns.from_versions(loose.values()))

    def _find_parents(self, orphans: VersionColumns, new: _Found) -> VersionColumns:
        """Look for the parents of versions whose parents were not seen; return the
        versions still without them.

        A listing is not a snapshot. A directory is read in hash order, an object store
        page by page, and a listing of thousands of loose records takes long enough on a
        busy machine for a writer to add a whole chain behind it: the listing returns a
        child and misses its parent, grandparent and more, all written earlier. So the
        missing ancestors are read by key, one generation a round, for as many rounds as
        the chain is long. A round that finds a version not seen before is progress; only
        rounds that find nothing count against :data:`RELIST_ATTEMPTS`, so the search
        ends (every round of progress finds a version in the store). Counting every round
        was the window of issue 16: a missed chain of four, common under load, was
        reported as a parent "not in the store".

        A parent that is not loose either was packed, and its loose record deleted, by a
        compactor after this read listed the packs; the compactor made the pack durable
        first, and merges write the merged pack before deleting the small ones, so a
        fresh listing of packs shows one that holds it.
        """
        fruitless = 0
        while len(orphans) and fruitless < RELIST_ATTEMPTS:
            wanted = {p for parents in orphans.parents for p in parents if p not in self.graph}
            wanted -= set(orphans.ids)
            if not wanted:
                break  # their parents are among them: a parent cycle
            found = VersionColumns()
            by_key = self.reader.read_versions(sorted(wanted))
            self._take(by_key, found, new)
            if by_key.vanished:
                self._take(self.reader.read_packs({*self.loaded_packs, *new.packs}), found, new)
            located = len(self.graph) + len(orphans)
            found.extend(orphans)
            orphans = found.take(self._add(found))
            # Progress: a version neither placed nor waiting before (placed or waiting now).
            fruitless = 0 if len(self.graph) + len(orphans) > located else fruitless + 1
        return orphans

    def _take_alias_log(self, result: ReadResult[PackContents], events: dict[str, Event]) -> None:
        """Keep the alias log entries read (and how far each log goes)."""
        for alias, seq in result.alias_heads.items():
            self.alias_seq[alias] = max(seq, self.alias_seq.get(alias, 0))
        for item in result.alias_log:
            self.alias_log_keys.add(item.key)
            events.setdefault(item.event.id, item.event)

    def refresh_alias(self, alias: str) -> None:
        """Load the moves of one alias written since it was last read (one listing)."""
        with self.lock:
            result = self.reader.read_alias_log(alias, self.alias_log_keys)
            events: dict[str, Event] = {}
            self._take_alias_log(result, events)
            for damage in result.damage:
                self.record_error(damage.key, damage.error)
            for event in events.values():
                if event.id not in self.events:
                    self.add_event(event)

    def _add(self, columns: VersionColumns) -> list[int]:
        """Add versions to the graph, their names and origins; return the rows left out."""
        orphans = set(self.graph.add_columns(columns))
        read = self.environments
        if read is not None:
            for version in columns.nodes:
                if version is not None:
                    bind_environments(version, read)
        names = self.names
        for row, name in enumerate(columns.names):
            if name is not None and row not in orphans:
                names.setdefault(name, columns.ids[row])
        for row, system, foreign in columns.origins:
            if row not in orphans:
                self.origins.setdefault((system, foreign), []).append(columns.ids[row])
        return sorted(orphans, key=columns.ids.__getitem__)

    def add_version(self, version: ModelVersion) -> None:
        """Add a version this process just wrote (the graph keeps its columns and reads
        it back from the store when asked: a process that logs for months stays small)."""
        with self.lock:
            if self.environments is not None:
                bind_environments(version, self.environments)
            self.graph.add(version, self.written)
            if version.name is not None:
                self.names[version.name] = version.id
            if version.origin is not None:
                key = (version.origin.system, version.origin.id)
                self.origins.setdefault(key, []).append(version.id)

    def add_event(self, event: Event) -> None:
        """Add an event (read, or just written)."""
        with self.lock:
            self.events[event.id] = event
            if isinstance(event, AliasEvent):
                moves = self.alias_events.setdefault(event.alias, [])
                bisect.insort(moves, event, key=_alias_order)
                if event.seq is not None and event.seq > self.alias_seq.get(event.alias, 0):
                    self.alias_seq[event.alias] = event.seq
            else:
                if isinstance(event, EvidenceEvent):
                    bisect.insort(self.evidence, event, key=_by_id)
                about = self.version_events.setdefault(event.version, [])
                bisect.insort(about, event, key=_by_id)

    def require_model(self) -> None:
        """Raise :class:`ModelNotFound` (listing the models there) if the store has none
        of this model's records."""
        if len(self.graph) == 0 and not self.events:
            models = list_models(self.store)
            if self.model in models:
                return  # every record was damaged and skipped (warnings issued)
            have = ", ".join(repr(m) for m in models) if models else "none"
            raise ModelNotFound(
                f"model {self.model!r} is not in store {self.store.uri} (models there: {have})"
            )

    def alias_head(self, alias: str) -> AliasEvent | None:
        """The move of ``alias`` recorded last (None if it was never set): what a
        compare-and-set move compares with."""
        moves = self.alias_events.get(alias)
        return None if not moves else max(moves, key=record_order)

    def alias_moves(self, alias: str) -> list[AliasEvent]:
        """Every move of ``alias``, in the order they took effect.

        Raises
        ------
        AliasNotFound
            If the alias was never set; the message lists the aliases there are.
        """
        try:
            return list(self.alias_events[alias])
        except KeyError:
            known = ", ".join(sorted(self.alias_events)) or "none"
            raise AliasNotFound(
                f"alias {alias!r} was never set in model {self.model!r} (aliases: {known})"
            ) from None

    # -- events of a version --------------------------------------------------------------

    def annotations(self, version_id: str) -> list[AnnotationEvent]:
        """Annotations of a version, oldest first."""
        return [
            e for e in self.version_events.get(version_id, ()) if isinstance(e, AnnotationEvent)
        ]

    def tags(self, version: ModelVersion) -> list[str]:
        """A version's tags plus those added later by annotations (``Tracker.tags``)."""
        out = list(version.tags)
        for event in self.annotations(version.id):
            out += [t for t in event.tags if t not in out]
        return out

    def status(self, version_id: str) -> VersionStatus:
        """A version's current status: its last status change, else ``COMMITTED``."""
        changes = [e for e in self.version_events.get(version_id, ()) if isinstance(e, StatusEvent)]
        return changes[-1].status if changes else VersionStatus.COMMITTED

    def versions_with_events(self) -> Iterable[str]:
        """Ids of the versions that have annotations or status changes."""
        return self.version_events.keys()


#: Records (versions and events) per pack object written by compaction
#: (``mlineage.compaction``, which is also where tests change it).
PACK_RECORDS = 10_000


@dataclass(frozen=True, slots=True)
class LoadedPack:
    """What a tracker remembers of a pack it loaded or wrote.

    Its smallest and largest version id (where to look for a version a compactor packed)
    and its size; the ids themselves only while it holds fewer than :data:`PACK_RECORDS`
    records, the packs a compaction may merge. (A full pack's ids are in the graph
    already: keeping them twice cost a writer 90 bytes a version.)
    """

    low: str | None
    high: str | None
    size: int
    version_ids: list[str] | None
    event_ids: list[str] | None

    def may_hold(self, version_ids: set[str]) -> bool:
        """Whether one of ``version_ids`` may be in the pack (its ids, else its range)."""
        if self.version_ids is not None:
            return not version_ids.isdisjoint(self.version_ids)
        low, high = self.low, self.high
        return low is not None and high is not None and any(low <= i <= high for i in version_ids)

    @classmethod
    def of(cls, version_ids: list[str], event_ids: list[str]) -> LoadedPack:
        """The entry of a pack holding these versions and events."""
        size = len(version_ids) + len(event_ids)
        small = size < PACK_RECORDS
        return cls(
            min(version_ids, default=None),
            max(version_ids, default=None),
            size,
            version_ids if small else None,
            event_ids if small else None,
        )


class StoreSource:
    """Reads back the versions a process wrote: their loose record, or once a compactor
    packed it, the pack that holds it (implements :class:`~mlineage.records.VersionSource`
    for :meth:`LineageIndex.add_version`)."""

    #: The graph keeps these versions only while someone holds them.
    weak = True

    def __init__(self, index: LineageIndex) -> None:
        self.index = index
        # The pack read last, with its version ids -> rows: a compaction re-reads the
        # versions it packs in id order, so consecutive reads hit the same pack.
        self._pack: tuple[str, dict[str, int], VersionColumns] | None = None

    def load_version(self, record: int, version_id: str) -> ModelVersion:
        index = self.index
        key = _keys.version_key(index.model, version_id)
        try:
            version = decode_version(index.store.get_limited(key, MAX_RECORD_SIZE), key)
        except NotFound:
            version = self._packed(version_id)
        if version.id != version_id or version.model != index.model:
            raise misplaced(key, version, index.model)
        return version

    def _packed(self, version_id: str) -> ModelVersion:
        # Packed by a compactor since it was written. First the packs this process knows
        # of whose id range covers it (each read once, then kept while reads stay in it),
        # else every pack listed now (another process compacted).
        index = self.index
        if self._pack is None or version_id not in self._pack[1]:
            self._find_pack(version_id)
        if self._pack is not None and version_id in self._pack[1]:
            _, rows, columns = self._pack
            row = rows[version_id]
            node, source = columns.nodes[row], columns.sources[row]
            if node is not None:
                return node
            assert source is not None
            return source.load_version(columns.records[row], version_id)  # type: ignore[return-value]
        raise CorruptRecord(
            f"version {version_id} of model {index.model!r} is in neither its loose record "
            "nor a pack (deleted from the store?); run `mlineage fsck`"
        )

    def _keep(self, key: str, columns: VersionColumns) -> None:
        self._pack = (key, {v: row for row, v in enumerate(columns.ids)}, columns)

    def _find_pack(self, version_id: str) -> None:
        index = self.index
        packs = dict(index.loaded_packs)
        for key, known in packs.items():
            if known.low is None or known.high is None or not known.low <= version_id <= known.high:
                continue
            for _, data in map_each(index.store, [key], MAX_PACK_SIZE):
                if data is None or isinstance(data, CorruptRecord):
                    continue
                try:
                    columns = index._read_pack(data, key).versions
                except MLineageError:
                    continue  # damaged or newer: the listing below reports it
                if version_id in columns.ids:
                    self._keep(key, columns)
                    return
        for pack in index.reader.read_packs(()).packs:
            if version_id in pack.contents.versions.ids:
                self._keep(pack.key, pack.contents.versions)
                return


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Decoding 10^5 records creates millions of long-lived objects; every cyclic-GC pass
    # during that would rescan all of them (quadratic-ish). The records hold no cycles.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_by_id = attrgetter("id")


def _alias_order(event: AliasEvent) -> tuple[datetime, int, str]:
    # By effective time; at one moment, in the order recorded: moves of formats 1-3 (no
    # log entry number) by event id, then the alias log's by entry number.
    return (event.effective_at, *record_order(event))


def record_order(event: AliasEvent) -> tuple[int, str]:
    """Where a move stands in the order moves were recorded (the last one is the alias's
    latest): moves of formats 1-3 by id, before the alias log's entries by number."""
    if event.seq is None:
        return (0, event.id)
    return (event.seq, "")
