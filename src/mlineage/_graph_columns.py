"""The columns of the lineage graph, and how versions get into them.

:class:`~mlineage.graph.LineageGraph` keeps one entry per version in flat columns (ids,
first parents, creation times, metric values as ``array`` of C doubles, where each
version's record is) rather than one Python object per version: a million versions
take tens of megabytes, and a version object is made only when something asks for it
(:meth:`GraphColumns.node`). This module fills the columns; ``graph`` queries them.
"""

from __future__ import annotations

import gc
import math
import operator
import weakref
from array import array
from collections.abc import Iterable, Sequence
from itertools import compress, count, repeat
from operator import is_, is_not
from typing import TYPE_CHECKING, Any

from mlineage._columns import VersionColumns, utc_micros
from mlineage._graph_table import graph_table
from mlineage._graph_walks import Children
from mlineage._id_column import IdColumn
from mlineage._version_sequence import LazySequence, VersionSequence  # old import path
from mlineage.records import ModelVersion, VersionSource

if TYPE_CHECKING:
    import numpy as np

    from mlineage._id_column import Keys

__all__ = ["GraphColumns", "LazySequence", "VersionSequence"]

_new = object.__new__
_setattr = object.__setattr__
#: Fewest rows :meth:`GraphColumns.add_columns` adds in bulk (below, numpy costs more than
#: it saves).
_BULK_ROWS = 64
#: From how many nodes :meth:`GraphColumns._nodes` makes the missing versions in bulk.
_BULK = 64


def _weak_sources(sources: list[VersionSource | None]) -> set[int]:
    """The ``id`` of each distinct source among ``sources`` that is weak (``source.weak``:
    the graph keeps its versions only while someone holds them)."""
    try:
        distinct: Iterable[Any] = set(sources)  # a few packs, or the store a writer wrote to
    except TypeError:  # an unhashable source
        distinct = {id(s): s for s in sources}.values()
    return {id(s) for s in distinct if getattr(s, "weak", False)}


def _lazy(
    ids: list[str], sources: list[VersionSource], numbers: list[int], state: dict[str, Any]
) -> list[ModelVersion]:
    """Unread versions: ``ids[k]`` is record ``numbers[k]`` of ``sources[k]``, each holding
    ``state`` too (what :func:`mlineage.records.lazy_versions` makes, inlined)."""
    out: list[ModelVersion] = []
    append, new, setattr_, cls = out.append, _new, _setattr, ModelVersion
    for version_id, source, number in zip(ids, sources, numbers, strict=True):
        version = new(cls)
        setattr_(version, "__dict__", {"id": version_id})
        setattr_(version, "__pydantic_private__", {"source": source, "index": number, **state})
        append(version)
    return out


class GraphColumns:
    """The per-version columns of a lineage graph (see the module docstring)."""

    def __init__(self) -> None:
        # Columns, one entry per node index. A node's version object exists only once
        # something asked for it: versions read from packs are made (unread) on first
        # access and kept; versions whose record lives in a store (``source.weak``) are
        # kept only while someone holds them, so a process that logs for months holds
        # columns, not objects.
        # node -> id (one byte array) and id -> node (a search over it)
        self._ids = IdColumn()
        self._index = self._ids.lookup
        # node -> its version object, for the nodes that hold one (made from a pack, or
        # added with no source); a dict, as most nodes of a writer's graph hold none
        self._held: dict[int, ModelVersion] = {}
        self._sources: list[VersionSource | None] = []
        self._records = array("q")  # record number of each node in its source
        self._weak: weakref.WeakValueDictionary[int, ModelVersion] = weakref.WeakValueDictionary()
        self._first = array("q")  # first parent's index, -1 for a root
        self._extra: dict[int, tuple[int, ...]] = {}  # every parent of a merge
        self._children = Children()
        self._kinds: list[str] = []
        self._created = array("q")  # microseconds since the epoch, UTC
        self._rank: np.ndarray[Any, np.dtype[np.int64]] | None = None  # index -> position
        # metric -> value per node index (NaN: not measured; may be shorter than the graph)
        self._metrics: dict[str, array[float]] = {}
        #: What each version object the graph makes holds (a tracker: how to read its
        #: environment; see ``mlineage.records.hold``).
        self.held_state: dict[str, Any] = {}

    @property
    def _ordered(self) -> bool:
        """Whether node numbers follow creation order (ids ascending)."""
        return self._ids.ordered

    def _link(self, i: int, links: Sequence[int]) -> None:
        self._first.append(links[0] if links else -1)
        if len(links) > 1:
            self._extra[i] = tuple(links)
        add = self._children.add
        for p in links:
            add(p, i)

    def add_columns(self, columns: VersionColumns) -> list[int]:
        """Add the versions of ``columns`` (any order); return the rows left out, by id.

        This is how a tracker adds what it loads: a pack's index gives the columns
        without decoding its records, whose nodes stay unread until looked at. A row is
        left out when a parent is in neither the graph nor ``columns``; rows whose id is
        already present (or repeated) are skipped.
        """
        if self._bulk and self._add_in_order(columns):
            return []
        ids, all_parents = columns.ids, columns.parents
        first, children = self._first, self._children
        # the id lookup's parts, inlined: new ids go into ``recent`` (a dict); older ones
        # are searched for in the settled, sorted part
        index, settled = self._ids.recent, self._ids.settled_node
        settled_max = self._ids.settled_max  # ids above it are not settled
        base, count = len(self._ids), len(ids)
        rows: range | list[int] = range(count)
        if ids != sorted(ids):
            rows = sorted(rows, key=ids.__getitem__)
        # Fast path, inlined (10^6 rows on load): ids are time-ordered and a version never
        # predates its parents, so in id order almost every version finds its parents
        # already inserted. Node i is the i-th row taken; the per-node columns are filled
        # in bulk afterwards, and the child column made in one go (the unused end dropped).
        left: list[int] = []  # rows skipped (already present) or deferred
        deferred: list[int] = []
        children.grow(count)
        first_child, add_child = children._first, children.add
        extra = self._extra
        i = base
        for row in rows:
            version_id = ids[row]
            if version_id in index or (
                settled_max is not None
                and version_id <= settled_max
                and settled(version_id) is not None
            ):
                left.append(row)
                continue
            links = all_parents[row]
            try:
                if len(links) == 1:
                    try:
                        link = index[links[0]]
                    except KeyError:
                        found = settled(links[0])
                        if found is None:
                            raise
                        link = found
                    if first_child[link] < 0:  # Children.add, inlined
                        first_child[link] = i
                    else:
                        add_child(link, i)
                    first.append(link)
                elif not links:
                    first.append(-1)
                else:
                    resolved = tuple([self._index[p] for p in links])
                    for p in resolved:
                        add_child(p, i)
                    first.append(resolved[0])
                    extra[i] = resolved
            except KeyError:
                left.append(row)
                deferred.append(row)
                continue
            index[version_id] = i
            i += 1
        children.truncate(i)
        in_order = not left and isinstance(rows, range)
        taken: Sequence[int]
        if in_order:
            taken = rows
        else:
            out = set(left)
            taken = [r for r in rows if r not in out]
        self._append_rows(columns, taken)
        orphans: list[int] = []
        if deferred:
            taken = [*taken, *self._insert_deferred(columns, deferred, orphans)]
        if not taken:
            self._ids.settle()
            return orphans
        self._append_metrics(columns, taken, base)
        self._ids.settle()
        self._inserted([ids[r] for r in taken])
        return orphans

    #: Whether :meth:`add_columns` takes :meth:`_add_in_order` where it can (tests compare
    #: it with the general path by turning it off).
    _bulk = True

    def _add_in_order(self, columns: VersionColumns) -> bool:
        """:meth:`add_columns` of rows that come after every node, in bulk; False (nothing
        changed) where the general path must decide.

        The common case of a load: the rows are in creation order, each newer than every
        node (so all are new), and each row's parents are found among the rows before it
        or the graph's nodes. Every row then becomes the next node, and the columns are
        filled with a few array operations instead of a Python step per row (10^6 rows
        on a load of 10^6 versions).
        """
        ids, all_parents = columns.ids, columns.parents
        count = len(ids)
        if count < _BULK_ROWS or len(all_parents) != count:
            return False
        import numpy as np

        keys = self._ids.ascending_after(ids)
        if keys is None:
            return False
        lengths = np.fromiter(map(len, all_parents), dtype=np.int64, count=count)
        # Every link (child row, parent id): each row's first parent, then the others of
        # the merges (few), ordered by child row as the general path links them.
        child_rows = np.flatnonzero(lengths)
        parent_ids = [parents[0] for parents in all_parents if parents]
        merges = np.flatnonzero(lengths > 1).tolist()
        if merges:
            more = [(row, parent) for row in merges for parent in all_parents[row][1:]]
            child_rows = np.concatenate(
                [child_rows, np.array([row for row, _ in more], dtype=np.int64)]
            )
            parent_ids += [parent for _, parent in more]
        base = len(self._ids)
        # Most parents are the row before (a string comparison in C); the others are
        # searched for.
        at = child_rows - 1
        # (itemgetter of one index returns the item, not a 1-tuple)
        before = operator.itemgetter(*at.tolist())(ids) if len(at) > 1 else [ids[i] for i in at]
        inside = np.fromiter(map(operator.eq, parent_ids, before), dtype=bool, count=len(at))
        inside &= at >= 0
        elsewhere = np.flatnonzero(~inside)
        if len(elsewhere):
            wanted = self._ids.exact_keys([parent_ids[k] for k in elsewhere.tolist()])
            if wanted is None:
                return False
            found = np.minimum(np.searchsorted(keys, wanted), count - 1)
            at[elsewhere] = found
            inside[elsewhere] = keys[found] == wanted
        if (inside & (at >= child_rows)).any():  # a parent not before its child
            return False
        links = np.where(inside, at + base, -1)
        node_of = self._ids.node_of
        for k in np.flatnonzero(~inside).tolist():
            node = node_of(parent_ids[k])
            if node is None:  # not loaded yet (or missing): the general path defers it
                return False
            links[k] = node
        if merges:  # the links in child order, as the general path makes them
            order = np.argsort(child_rows, kind="stable")
            child_rows, links = child_rows[order], links[order]
        # Every row is inserted from here on.
        child_nodes = child_rows + base
        first = np.full(count, -1, dtype=np.int64)
        starts = np.flatnonzero(np.diff(child_rows, prepend=-1))  # each row's first link
        first[child_rows[starts]] = links[starts]
        self._first.frombytes(first.tobytes())
        if merges:
            rows = np.array(merges, dtype=np.int64)
            lows = np.searchsorted(child_rows, rows).tolist()
            highs = np.searchsorted(child_rows, rows, side="right").tolist()
            for row, low, high in zip(merges, lows, highs, strict=True):
                self._extra[base + row] = tuple(links[low:high].tolist())
        children = self._children
        children.grow(count)
        # A parent's first new child goes into the first-child column if it has none yet;
        # every other link is added in order (branch points and merges: few).
        lead = np.bincount(links, minlength=base + count)[links] == 1
        seen: set[int] = set()
        for k in np.flatnonzero(~lead).tolist():  # a parent's first link of several
            if int(links[k]) not in seen:
                seen.add(int(links[k]))
                lead[k] = True
        first_child = np.frombuffer(children._first, dtype=np.int64)
        lead &= first_child[links] < 0
        first_child[links[lead]] = child_nodes[lead]
        del first_child  # the array may grow again once no view of it is left
        add = children.add
        for k in np.flatnonzero(~lead).tolist():
            add(int(links[k]), int(child_nodes[k]))
        self._append_rows(columns, range(count), keys)
        self._ids.mark_settled()
        self._append_metrics(columns, range(count), base)
        self._inserted(list(ids))
        return True

    def _append_metrics(self, columns: VersionColumns, taken: Sequence[int], base: int) -> None:
        """The metric columns of the rows inserted (in insertion order) after node ``base``."""
        nan = math.nan
        whole = isinstance(taken, range) and taken == range(len(columns))
        for name, values in columns.metrics.items():
            column = self._metrics.get(name)
            if column is None:
                column = self._metrics[name] = array("d")
            if len(column) < base:
                column.extend([nan] * (base - len(column)))
            if whole:  # numpy reads None as NaN, at C speed
                import numpy as np

                column.frombytes(np.array(values, dtype=np.float64).tobytes())
            else:
                column.extend([nan if values[r] is None else values[r] for r in taken])  # type: ignore[misc]

    def add_newest(self, version: ModelVersion, source: VersionSource | None) -> bool:
        """Add one version newer than every other, whose parents are all present: what a
        writer adds on each log, without building a one-row table for :meth:`add_columns`.

        Returns False, having changed nothing, for any other version.
        """
        version_id, index, newest = version.id, self._index, self._ids.newest
        if (newest is not None and version_id <= newest) or version_id in index:
            return False
        try:
            links = [index[parent] for parent in version.parents]
        except KeyError:
            return False
        i = len(self._ids)
        self._children.grow(1)
        self._link(i, links)
        index[version_id] = i
        self._ids.append(version_id)
        if source is None:
            self._held[i] = version
        self._sources.append(source)
        self._records.append(-1 if source is not None else 0)
        self._kinds.append(version.kind)
        self._created.append(utc_micros(version.created_at))
        for name, value in version.metrics.items():
            column = self._metrics.get(name)
            if column is None:
                column = self._metrics[name] = array("d")
            if len(column) < i:
                column.extend([math.nan] * (i - len(column)))
            column.append(value)
        self._ids.settle()
        self._inserted([version_id])
        return True

    def _append_rows(
        self, columns: VersionColumns, taken: Sequence[int], keys: Keys | None = None
    ) -> None:
        """The per-node columns of the rows inserted (in insertion order); ``keys``: the
        ids of all rows encoded already."""
        if isinstance(taken, range) and taken == range(len(columns)):
            self._ids.extend(columns.ids, keys)
            self._hold(columns.nodes, range(len(columns)))
            self._sources += columns.sources
            self._records.extend(columns.records)
            self._kinds += columns.kinds
            self._created.extend(columns.created)
            return
        self._ids.extend([columns.ids[r] for r in taken])
        self._hold(columns.nodes, taken)
        self._sources += [columns.sources[r] for r in taken]
        self._records.extend([columns.records[r] for r in taken])
        self._kinds += [columns.kinds[r] for r in taken]
        self._created.extend([columns.created[r] for r in taken])

    def _hold(self, nodes: list[ModelVersion | None], rows: Sequence[int]) -> None:
        """Keep the decoded versions among ``nodes[rows]``, as the next nodes."""
        if not any(nodes):  # a pack's rows: none decoded (checked at C speed)
            return
        held, base = self._held, len(self._sources)
        for k, row in enumerate(rows):
            version = nodes[row]
            if version is not None:
                held[base + k] = version

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
            i = len(self._ids)
            index[ids[row]] = i
            self._children.grow(1)
            self._link(i, [index[p] for p in all_parents[row]])
            self._append_rows(columns, [row])
            inserted.append(row)
            waiting.discard(row)
            for waiter in waiters.pop(ids[row], ()):
                unresolved[waiter] -= 1
                if unresolved[waiter] == 0:
                    ready.append(waiter)
        orphans += sorted(waiting, key=ids.__getitem__)
        return inserted

    def _parents_of(self, i: int) -> tuple[int, ...]:
        links = self._extra.get(i)
        if links is not None:
            return links
        first = self._first[i]
        return () if first < 0 else (first,)

    def node(self, index: int) -> ModelVersion:
        """The version stored at node ``index`` (as returned by the index methods)."""
        version = self._held.get(index)
        if version is not None:
            return version
        source = self._sources[index]
        assert source is not None  # a node is held or has a source
        if getattr(source, "weak", False):
            version = self._weak.get(index)
            if version is None:
                # Held only while someone holds it: it may take its record into itself.
                version = self._weak[index] = self._unread(index, source, cached=False)
            return version
        version = self._held[index] = self._unread(index, source)
        return version

    def _unread(self, index: int, source: VersionSource, *, cached: bool = True) -> ModelVersion:
        # What lazy_version does, inlined: a history of 10^6 versions makes 10^6 of these.
        version = _new(ModelVersion)
        _setattr(version, "__dict__", {"id": self._ids[index]})
        private = {"source": source, "index": self._records[index], **self.held_state}
        if not cached:  # reads its record into itself (records._lazy)
            private.pop("records", None)
        _setattr(version, "__pydantic_private__", private)
        return version

    def _nodes(self, indices: Iterable[int]) -> list[ModelVersion]:
        """:meth:`node` of each of ``indices`` (node numbers), in that order.

        The versions not yet made are made in bulk (:meth:`_unread_many`): a history of
        10^6 versions decodes its ids in one go rather than one call each.
        """
        # A history of 10^6 versions makes 10^6 objects (and their dicts) with no cycle:
        # with the cyclic GC on, its passes take more than half the time.
        enabled = gc.isenabled()
        gc.disable()
        try:
            nodes = indices if isinstance(indices, list) else list(indices)
            held = self._held
            if not held and len(nodes) >= _BULK:  # e.g. the first versions() after a load
                return self._unread_many(nodes)
            get = held.get
            out: list[ModelVersion | None] = [get(i) for i in nodes]
            if len(out) < _BULK:  # a few parents: one at a time costs less
                node = self.node
                return [node(i) if v is None else v for i, v in zip(nodes, out, strict=True)]
            # (compared by identity, at C speed: no version's __eq__ called)
            if all(map(is_not, out, repeat(None))):
                return out  # type: ignore[return-value]  # every one held
            if not any(map(is_not, out, repeat(None))):
                return self._unread_many(nodes)
            missing = list(compress(count(), map(is_, out, repeat(None))))
            made = self._unread_many([nodes[k] for k in missing])
            for k, version in zip(missing, made, strict=True):
                out[k] = version
            return out  # type: ignore[return-value]  # no None left
        finally:
            if enabled:
                gc.enable()

    def _unread_many(self, nodes: list[int]) -> list[ModelVersion]:
        """:meth:`node` of each of ``nodes``, none of them held: what :meth:`_unread` does,
        with the ids, record numbers and sources of all of them read in one pass."""
        import numpy as np

        idx = np.asarray(nodes, dtype=np.int64)
        size = len(self._sources)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= size):
            raise IndexError(f"node out of range (the graph has {size})")
        numbers: list[int]
        sources: list[VersionSource | None]
        if len(idx) == size and bool((idx == np.arange(size)).all()):
            # every node, in node order: the columns themselves
            ids = self._ids.take(range(size))
            numbers, sources = self._records.tolist(), self._sources
        else:
            ids = self._ids.take(idx)
            numbers = np.frombuffer(self._records, dtype=np.int64)[idx].tolist()
            every_source = self._sources
            sources = [every_source[i] for i in nodes]
        weak = _weak_sources(sources)
        if weak:  # some versions are held only while someone holds them: one at a time
            return self._made_weak(nodes, ids, numbers, sources, weak)
        made = _lazy(ids, sources, numbers, self.held_state)  # type: ignore[arg-type]
        held = self._held
        before = len(held)
        held.update(zip(nodes, made, strict=True))
        if len(held) - before != len(nodes):  # a node asked for twice: one object for it
            made = [held[i] for i in nodes]
        return made

    def _made_weak(
        self,
        nodes: list[int],
        ids: list[str],
        numbers: list[int],
        sources: list[VersionSource | None],
        weak: set[int],
    ) -> list[ModelVersion]:
        """:meth:`_unread_many` when some of ``sources`` (their ``id``: ``weak``) are weak."""
        held, kept, state = self._held, self._weak, self.held_state
        light = {k: v for k, v in state.items() if k != "records"}  # see _unread
        out: list[ModelVersion] = []
        append = out.append
        for i, version_id, source, number in zip(nodes, ids, sources, numbers, strict=True):
            assert source is not None  # a node is held or has a source
            if id(source) in weak:
                version = kept.get(i)
                if version is None:
                    version = kept[i] = _lazy([version_id], [source], [number], light)[0]
            else:
                version = held.get(i)
                if version is None:
                    version = held[i] = _lazy([version_id], [source], [number], state)[0]
            append(version)
        return out

    def _inserted(self, ids: list[str]) -> None:
        """Called with the ids each :meth:`add_columns` inserted (in insertion order)."""

    def table(self, indices: Sequence[int]) -> dict[str, Any]:
        """The versions at ``indices`` as columns, in that order (``Tracker.to_pandas``).

        ``id``, ``parents`` (tuples of ids), ``kind``, ``created`` (int64 microseconds)
        and ``metrics`` (name -> float64 array, NaN where not measured) come from the
        graph's columns; the :data:`~mlineage._columns.TABLE_FIELDS` (one list each) from
        the records: a pack's unread records in bulk, a pack at a time, without making
        version objects (``table_fields`` of its source); other versions from their object.
        """
        return graph_table(self, indices)
