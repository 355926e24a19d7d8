"""The one store reader: a model's loose records and packs, in the order that is safe while
other processes write and compact.

:class:`~mlineage.index.LineageIndex` (what a tracker loads) and :func:`mlineage.fsck`
both read through :class:`StoreReader`; each decides what to do with the damage it reports.

Why the order matters: a compactor writes a pack and only then deletes the loose records
it holds, and merges packs by writing the merged pack before deleting the small ones. So
loose keys are listed *before* packs, a listed loose record that has vanished by the time
it is read is in a pack that a fresh listing shows, and a listed pack that has vanished
was merged into one a fresh listing shows.

Nor is a listing a snapshot: it can return a version and miss ancestors written while it
ran. Those are read by key (:meth:`StoreReader.read_versions`), and the packs listed again
(:meth:`StoreReader.read_packs`) for any that is no longer loose; the index decides how
long to look (:meth:`mlineage.index.LineageIndex.refresh`, docs/storage-format.md).
Alias logs (format 4) are never packed or deleted, so their one listing can come at any
point.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mlineage import _keys
from mlineage.codec import MAX_PACK_SIZE, MAX_RECORD_SIZE, decode_event, decode_version
from mlineage.errors import CorruptRecord, NotFound, StoreFormatError
from mlineage.records import AliasEvent, Event, ModelVersion
from mlineage.storage import Store

__all__ = ["AliasEntry", "Damage", "LooseRecord", "PackRead", "ReadResult", "StoreReader"]

T = TypeVar("T")
R = TypeVar("R", ModelVersion, Event, ModelVersion | Event)
#: How many times a reader lists again when something it listed vanished meanwhile.
RELIST_ATTEMPTS = 3


@dataclass(frozen=True)
class Damage:
    """A key that could not be read as what it should hold."""

    key: str
    error: CorruptRecord | StoreFormatError
    #: ``"corrupt-record"``, ``"newer-format"`` or ``"misplaced-record"`` (fsck's kinds).
    kind: str


@dataclass(frozen=True)
class LooseRecord:
    """A loose record that decoded and sits under its own key in its own model."""

    key: str
    record: ModelVersion | Event


@dataclass(frozen=True)
class AliasEntry:
    """An alias log entry that decoded and holds the move its key names."""

    key: str
    event: AliasEvent


@dataclass(frozen=True)
class PackRead(Generic[T]):
    """A pack that was read: its key, bytes and what the caller's decoder made of them."""

    key: str
    data: bytes | mmap.mmap
    contents: T


@dataclass
class ReadResult(Generic[T]):
    """Everything one :meth:`StoreReader.read` found."""

    loose: list[LooseRecord] = field(default_factory=list)
    packs: list[PackRead[T]] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    #: Loose keys deleted while reading and found in no pack (lost, unless a compactor ran).
    vanished: list[str] = field(default_factory=list)
    #: Alias log entries that decoded, each under its own key.
    alias_log: list[AliasEntry] = field(default_factory=list)
    #: Alias -> the highest entry number listed, damaged entries included (the next move
    #: of that alias is written after it).
    alias_heads: dict[str, int] = field(default_factory=dict)


def _json_keys(keys: Iterable[str]) -> list[str]:
    # Readers ignore keys without the .json suffix (temporary files, foreign objects).
    return sorted(k for k in keys if k.endswith(".json"))


def read_each(
    store: Store, keys: list[str], limit: int
) -> Iterator[tuple[str, bytes | CorruptRecord | None]]:
    """``store.get_many(keys, limit=limit)``, where a key that is not a readable object (or
    one larger than ``limit``) is its own damage.

    A special file, a symlink out of the store or an oversized object raises
    :class:`CorruptRecord` from the store; it must not hide the keys after it, so the rest
    are then read one by one. Yields the bytes, None (vanished) or the error, in order.
    """
    done = 0
    try:
        for item in store.get_many(keys, limit=limit):
            yield item
            done += 1
    except CorruptRecord:
        yield from _one_by_one(store.get_limited, keys[done:], limit)


def map_each(
    store: Store, keys: list[str], limit: int
) -> Iterator[tuple[str, bytes | mmap.mmap | CorruptRecord | None]]:
    """:func:`read_each` of a store that maps its objects (``Store.map_limited``); the
    others are read in bulk, as :func:`read_each` does."""
    if type(store).map_limited is Store.map_limited:
        yield from read_each(store, keys, limit)
        return
    yield from _one_by_one(store.map_limited, keys, limit)


_Bytes = TypeVar("_Bytes", bound="bytes | mmap.mmap")


def _one_by_one(
    read: Callable[[str, int], _Bytes], keys: list[str], limit: int
) -> Iterator[tuple[str, _Bytes | CorruptRecord | None]]:
    """``read`` each key; a vanished key yields None, a damaged one its error."""
    for key in keys:
        try:
            yield key, read(key, limit)
        except NotFound:
            yield key, None
        except CorruptRecord as exc:
            yield key, exc


def misplaced(key: str, record: ModelVersion | Event, model: str) -> CorruptRecord:
    """The error for a record that does not sit under its own key in its own model."""
    return CorruptRecord(
        f"{key!r} holds record {record.id} of model {record.model!r}; a record must sit "
        f"under its own key in its own model ({model!r}); run `mlineage fsck`"
    )


class StoreReader(Generic[T]):
    """Reads one model's records from a store.

    Parameters
    ----------
    store : Store
    model : str
    decode_pack : callable
        ``(bytes, key) -> T``: how to read a pack (lazily for a tracker, everything for
        fsck). It may raise :class:`CorruptRecord` or :class:`StoreFormatError`.
    pack_ids : callable
        ``T -> ids``: the ids of the records a decoded pack holds (to tell a loose record
        that vanished because it was packed from one that was lost).
    mapped : bool
        Give ``decode_pack`` a memory map of each pack where the store has files.
    """

    def __init__(
        self,
        store: Store,
        model: str,
        decode_pack: Callable[[bytes | mmap.mmap, str], T],
        pack_ids: Callable[[T], Iterable[str]],
        *,
        mapped: bool = False,
    ) -> None:
        self.store = store
        #: Packs are memory-mapped where the store can (a tracker's lazy reads)
        self.mapped = mapped
        self.model = model
        self._decode_pack = decode_pack
        self._pack_ids = pack_ids

    def list_packs(self) -> list[str]:
        """Keys of the model's packs, sorted."""
        return _json_keys(self.store.list(_keys.packs_prefix(self.model)))

    def read(
        self,
        *,
        known_versions: Callable[[str], bool] = lambda _: False,
        known_events: Callable[[str], bool] = lambda _: False,
        known_packs: Collection[str] = (),
        known_alias_keys: Collection[str] = (),
    ) -> ReadResult[T]:
        """Read every record not already known: loose versions and events, then packs,
        then the alias logs.

        Parameters
        ----------
        known_versions, known_events : callable
            Ids already loaded (their loose records are not read again).
        known_packs : collection of str
            Pack keys already loaded.
        known_alias_keys : collection of str
            Alias log entries already loaded.
        """
        result: ResultBuilder[T] = ResultBuilder(self, set(known_packs))
        versions = [
            k
            for k in _json_keys(self.store.list(_keys.versions_prefix(self.model)))
            if not known_versions(_keys.record_id(k))
        ]
        events = [
            k
            for k in _json_keys(self.store.list(_keys.events_prefix(self.model)))
            if not known_events(_keys.record_id(k))
        ]
        result.read_packs()
        vanished = result.read_loose(versions, decode_version)
        vanished += result.read_loose(events, decode_event)
        for _ in range(RELIST_ATTEMPTS):
            vanished = [k for k in vanished if _keys.record_id(k) not in result.packed_ids]
            if not vanished:
                break
            result.read_packs()
        result.result.vanished = vanished
        result.read_alias_log(self.store.list(_keys.aliases_prefix(self.model)), known_alias_keys)
        return result.result

    def read_alias_log(self, alias: str, known: Collection[str] = ()) -> ReadResult[T]:
        """Read the entries of one alias's log not in ``known`` (one listing of its prefix).

        What a mover reads again when its compare-and-set write found the next entry taken.
        """
        result: ResultBuilder[T] = ResultBuilder(self, set())
        result.read_alias_log(self.store.list(_keys.alias_log_prefix(self.model, alias)), known)
        return result.result

    def read_packs(self, known_packs: Collection[str]) -> ReadResult[T]:
        """List the packs again and read those not in ``known_packs`` (only packs).

        For parents that were neither listed nor loose when read by key: their loose
        records were deleted by a compactor after the packs holding them became durable,
        so a listing of packs made now shows them.
        """
        result: ResultBuilder[T] = ResultBuilder(self, set(known_packs))
        result.read_packs()
        return result.result

    def read_versions(self, version_ids: Iterable[str]) -> ReadResult[T]:
        """Read the loose records of these versions by key, without listing.

        For parents that a concurrent listing did not return: a listing is not a
        snapshot, but a read by key sees every completed write. A version that is not
        loose is in :attr:`ReadResult.vanished` (by key).
        """
        result: ResultBuilder[T] = ResultBuilder(self, set())
        keys = [_keys.version_key(self.model, i) for i in version_ids]
        result.result.vanished = result.read_loose(keys, decode_version)
        return result.result


class ResultBuilder(Generic[T]):
    """The state of one read (what has been loaded so far)."""

    def __init__(self, reader: StoreReader[T], known_packs: set[str]) -> None:
        self.reader = reader
        self.seen_packs = known_packs
        self.result: ReadResult[T] = ReadResult()
        self._packed_ids: set[str] = set()
        self._packs_in_ids = 0  # how many of result.packs _packed_ids holds

    @property
    def packed_ids(self) -> set[str]:
        """Ids of the records in the packs read so far.

        Built when first asked for (only when a listed loose record vanished): a load of
        10^6 packed versions that finds none vanished builds no set of 10^6 ids.
        """
        packs = self.result.packs
        for pack in packs[self._packs_in_ids :]:
            self._packed_ids.update(self.reader._pack_ids(pack.contents))
        self._packs_in_ids = len(packs)
        return self._packed_ids

    def read_packs(self) -> None:
        """Read the packs not read yet; list again when one vanished (it was merged)."""
        reader = self.reader
        for _ in range(RELIST_ATTEMPTS):
            keys = [k for k in reader.list_packs() if k not in self.seen_packs]
            vanished = False
            read = map_each if reader.mapped else read_each
            for key, data in read(reader.store, keys, MAX_PACK_SIZE):
                if data is None:
                    vanished = True
                    continue
                self.seen_packs.add(key)
                if isinstance(data, CorruptRecord):
                    self.result.damage.append(Damage(key, data, "corrupt-record"))
                    continue
                try:
                    contents = reader._decode_pack(data, key)
                except StoreFormatError as exc:
                    self.result.damage.append(Damage(key, exc, "newer-format"))
                    continue
                except CorruptRecord as exc:
                    self.result.damage.append(Damage(key, exc, "corrupt-record"))
                    continue
                self.result.packs.append(PackRead(key, data, contents))
            if not vanished:
                return

    def _decode_each(
        self,
        keys: list[str],
        decode: Callable[[bytes, str], R],
        vanished: list[str],
    ) -> Iterator[tuple[str, R]]:
        """``(key, record)`` of each key that decodes; the others go to damage, or to
        ``vanished`` if deleted meanwhile."""
        damage = self.result.damage
        for key, data in read_each(self.reader.store, keys, MAX_RECORD_SIZE):
            if data is None:
                vanished.append(key)
                continue
            if isinstance(data, CorruptRecord):
                damage.append(Damage(key, data, "corrupt-record"))
                continue
            try:
                record = decode(data, key)
            except StoreFormatError as exc:
                damage.append(Damage(key, exc, "newer-format"))
                continue
            except CorruptRecord as exc:
                damage.append(Damage(key, exc, "corrupt-record"))
                continue
            yield key, record

    def read_alias_log(self, listed: Iterable[str], known: Collection[str]) -> None:
        """Decode alias log entries; each must be the move its key names (alias, number)."""
        sink = self.result
        model = self.reader.model
        wanted: dict[str, tuple[str, int]] = {}
        for key in _json_keys(listed):
            where = _keys.parse_alias_log_key(model, key)
            if where is None:
                sink.damage.append(Damage(key, _not_an_entry(key), "misplaced-record"))
                continue
            alias, seq = where
            sink.alias_heads[alias] = max(seq, sink.alias_heads.get(alias, 0))
            if key not in known:
                wanted[key] = where
        for key, record in self._decode_each(list(wanted), decode_event, sink.vanished):
            alias, seq = wanted[key]
            if not (
                isinstance(record, AliasEvent)
                and record.alias == alias
                and record.seq == seq
                and record.model == model
            ):
                sink.damage.append(Damage(key, _wrong_entry(key, record), "misplaced-record"))
                continue
            sink.alias_log.append(AliasEntry(key, record))

    def read_loose(
        self, keys: list[str], decode: Callable[[bytes, str], ModelVersion | Event]
    ) -> list[str]:
        """Decode loose records; return the keys that vanished meanwhile."""
        vanished: list[str] = []
        model = self.reader.model
        sink = self.result
        for key, record in self._decode_each(keys, decode, vanished):
            if _keys.record_id(key) != record.id or record.model != model:
                sink.damage.append(Damage(key, misplaced(key, record, model), "misplaced-record"))
                continue
            sink.loose.append(LooseRecord(key, record))
        return vanished


def _not_an_entry(key: str) -> CorruptRecord:
    return CorruptRecord(
        f"{key!r} is not an alias log entry (models/<model>/aliases/<alias>/<12 digits>.json, "
        "numbered from 1); run `mlineage fsck`"
    )


def _wrong_entry(key: str, record: Event) -> CorruptRecord:
    what = (
        f"move {record.seq} of alias {record.alias!r}"
        if isinstance(record, AliasEvent)
        else f"a {record.type} event"
    )
    return CorruptRecord(
        f"{key!r} holds {what} of model {record.model!r} ({record.id}); an alias log entry "
        "holds the move its key names, of its own model; run `mlineage fsck`"
    )
