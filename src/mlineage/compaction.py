"""Compaction: a model's loose records (and small packs) rewritten into packs.

Safe while others log, load and compact: every new pack is written (create-only) before
anything it replaces is deleted, so a record is always in at least one place a reader
lists; a compaction killed half-way leaves records in two places, which readers merge.

A writer compacts on its own after every :data:`AUTO_COMPACT` versions it logged, so a
store that is only ever logged into loads from packs (a 10^5-version loose store takes
seconds to load; the same versions packed, a fraction of one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from mlineage import _keys
from mlineage._ids import new_id
from mlineage.codec import encode_pack
from mlineage.index import PACK_RECORDS, LineageIndex, LoadedPack
from mlineage.storage import Store

__all__ = ["AUTO_COMPACT", "PACK_RECORDS", "PackWriter", "compact"]

#: A writer compacts after logging this many versions since it last did (itself or
#: through ``Tracker.compact``); packing 1,000 records costs tens of milliseconds.
AUTO_COMPACT = 1_000


class PackWriter(Protocol):
    """What compaction needs of the write path (:class:`mlineage.writer.Writer` is one)."""

    index: LineageIndex
    store: Store

    def check_writable(self, verb: str) -> None:
        """Raise :class:`~mlineage.errors.ReadOnlyError` if this tracker cannot ``verb``."""
        ...

    def ensure_marker(self) -> None:
        """Write the store's format marker unless it is there."""
        ...


def compact(writer: PackWriter, *, merge: bool = True) -> int:
    """Pack the model's loose records (and, with ``merge``, its small packs).

    See :meth:`mlineage.Tracker.compact`; returns the records written into new packs.
    """
    writer.check_writable("compact")
    index, store, model = writer.index, writer.store, writer.index.model
    with index.lock:
        index.loose_written = 0
        index.refresh()
        version_keys = sorted(
            k
            for k in store.list(_keys.versions_prefix(model))
            if k.endswith(".json") and _keys.record_id(k) in index.graph
        )
        event_keys = sorted(
            k
            for k in store.list(_keys.events_prefix(model))
            if k.endswith(".json") and _keys.record_id(k) in index.events
        )
        version_ids = [_keys.record_id(k) for k in version_keys]
        event_ids = [_keys.record_id(k) for k in event_keys]
        merged = _packs_to_merge(index, bool(version_ids or event_ids)) if merge else []
        for key in merged:
            version_ids += index.loaded_packs[key].version_ids or ()
            event_ids += index.loaded_packs[key].event_ids or ()
        if not version_ids and not event_ids:
            return 0
        version_ids = sorted(set(version_ids))
        event_ids = sorted(set(event_ids))
        writer.ensure_marker()
        # Packs of bounded size keep a reader's peak memory low and let a remote
        # store fetch them in parallel. Everything replaced is deleted only once all
        # new packs are durable.
        for start in range(0, max(len(version_ids), len(event_ids)), PACK_RECORDS):
            versions = [index.graph.get(i) for i in version_ids[start : start + PACK_RECORDS]]
            # the graph's own id strings, not the copies parsed from the keys: the packs'
            # id lists are kept for the process's life (81 bytes a version otherwise)
            chunk_versions = [v.id for v in versions]
            chunk_events = event_ids[start : start + PACK_RECORDS]
            data = encode_pack(versions, [index.events[i] for i in chunk_events])
            key = _keys.pack_key(model, new_id())
            store.put(key, data, mode="create")
            index.loaded_packs[key] = LoadedPack.of(chunk_versions, chunk_events)
        store.delete_many(version_keys + event_keys + merged)
        for key in merged:
            del index.loaded_packs[key]
        return len(version_ids) + len(event_ids)


def _packs_to_merge(index: LineageIndex, loose: bool) -> list[str]:
    """Packs of fewer than PACK_RECORDS records to rewrite with the loose ones.

    Only intact packs whose every record is loaded (a damaged pack is kept for fsck),
    and only when that leaves fewer packs: with no loose records, at least two.
    """
    present: Iterable[str] = index.reader.list_packs()
    small = []
    for key in present:
        contents = index.loaded_packs.get(key)
        if contents is None or key in index.damaged_packs:
            continue
        versions, events = contents.version_ids, contents.event_ids
        if (
            versions is not None
            and events is not None
            and contents.size < PACK_RECORDS
            and all(i in index.graph for i in versions)
            and all(i in index.events for i in events)
        ):
            small.append(key)
    return small if loose or len(small) > 1 else []
