"""Every node's version id in one fixed-width byte array, and the id -> node lookup.

A lineage graph of 10^6 versions used to keep each id as a Python string (81 bytes), in a
``dict`` to its node number (about 40 bytes a slot, and a 28-byte int object): some 150
bytes a version, most of what a process that logs for months held. :class:`IdColumn`
keeps the ids as one numpy array of ``S32`` (32 bytes a version) in node order, and looks
an id up by binary search over its sorted order. Ids are time-ordered and nodes are
numbered as versions are added, so in the common case node order *is* sorted order and
the search runs on the column itself; otherwise a sorted copy of the keys and their node
numbers is kept beside it.

The newest additions wait in a small ``dict`` (:attr:`IdColumn.recent`) until
:meth:`IdColumn.settle` merges them into the sorted index: adding a version is a dict
insert, and merging is free while the order holds (otherwise one merge of two sorted
arrays every :data:`SETTLE_AFTER` additions).

Ids are stored UTF-8 encoded; a version id is 32 lowercase hex digits, but any string
without NUL characters works (the column widens for longer ones), because byte order of
UTF-8 is code-point order, which is how Python compares strings.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    import numpy as np

    Keys = np.ndarray[Any, np.dtype[np.bytes_]]
    Nodes = np.ndarray[Any, np.dtype[np.int64]]

__all__ = ["IdColumn", "IdLookup", "SETTLE_AFTER"]

#: Additions kept in the ``recent`` dict before they are merged into the sorted index (at
#: least; see :meth:`IdColumn.settle`).
SETTLE_AFTER = 1 << 12
#: Ids per block of the column: 2^16 (2 MiB of 32-byte ids).
BLOCK_SHIFT = 16
_WIDTH = 32  # a version id's length
_CHUNK = 4096  # ids decoded at a time when iterating
# UTF-8 keeps code-point order in byte order, lone surrogates included (as Python compares)
_UTF8, _ANY = "utf-8", "surrogatepass"


def _np() -> Any:
    import numpy  # not imported at `import mlineage`

    return numpy


class IdColumn(Sequence[str]):
    """The ids of nodes ``0 .. n-1`` (``column[i]`` is node ``i``'s id), and the lookup.

    Appending (:meth:`append`, :meth:`extend`) and :attr:`lookup` assignments are made by
    the graph in two steps (nodes numbered, then their ids appended): :meth:`settle` is
    called once both are done.

    The column is a list of fixed-size blocks (:data:`BLOCK_SHIFT`): growing never copies
    what is there, so a process that logs 10^6 versions never holds two copies of its ids
    at once, and a new block costs memory only as it fills.
    """

    def __init__(self) -> None:
        self._shift = BLOCK_SHIFT
        self._block = 1 << self._shift
        self._blocks: list[Keys] = []
        self._firsts: list[bytes] = []  # the first id of each block (searching in order)
        self._n = 0
        self._width = _WIDTH
        #: every id is ASCII of exactly ``_width`` characters (the fast bulk paths)
        self._exact = True
        #: id -> node of the nodes not yet in the sorted index
        self.recent: dict[str, int] = {}
        self._settled = 0  # nodes [0, _settled) are in the sorted index
        self._settled_max: str | None = None  # the largest of their ids
        # sorted ids of nodes [0, _settled) and the node of each; None while those nodes
        # are in id order (the column is its own sorted index)
        self._keys: Keys | None = None
        self._nodes: Nodes | None = None
        self._ordered = True  # nodes [0, _n) are in ascending id order
        self._newest: str | None = None  # the largest id
        self.lookup = IdLookup(self)

    # -- the column -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return self.take(range(self._n)[index])
        n = self._n
        if -n <= index < 0:
            index += n
        elif not 0 <= index < n:
            raise IndexError(f"node {index} out of range (the graph has {n})")
        key = self._blocks[index >> self._shift][index & (self._block - 1)]
        return key.decode(_UTF8, _ANY)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        for start in range(0, self._n, _CHUNK):
            yield from self.take(range(start, min(start + _CHUNK, self._n)))

    def _gather(self, indices: Sequence[int] | Nodes) -> Keys:
        """The keys at ``indices`` (node numbers below ``len(self)``) as one array."""
        np = _np()
        idx = np.asarray(indices, dtype=np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= self._n):
            raise IndexError(f"node out of range (the graph has {self._n})")
        which = idx >> self._shift
        offsets = idx & (self._block - 1)
        if len(self._blocks) == 1 or (len(idx) and which.min() == which.max()):
            return self._blocks[int(which[0]) if len(idx) else 0][offsets]  # type: ignore[no-any-return]
        out = np.empty(len(idx), dtype=f"S{self._width}")
        for b in np.unique(which).tolist():
            inside = which == b
            out[inside] = self._blocks[b][offsets[inside]]
        return out  # type: ignore[no-any-return]

    def _span(self, start: int, stop: int) -> Keys:
        """The keys of nodes ``start .. stop-1`` as one array (a copy)."""
        np = _np()
        parts = []
        size = self._block
        while start < stop:
            b, offset = start >> self._shift, start & (size - 1)
            count = min(size - offset, stop - start)
            parts.append(self._blocks[b][offset : offset + count])
            start += count
        if not parts:
            return np.empty(0, dtype=f"S{self._width}")  # type: ignore[no-any-return]
        return np.concatenate(parts)  # type: ignore[no-any-return]

    def take(self, indices: Sequence[int] | Nodes) -> list[str]:
        """The ids of the nodes at ``indices``, in that order, as strings."""
        if not self._blocks or not len(indices):
            return []
        if isinstance(indices, range) and indices.step == 1:  # a run: block by block
            start, stop = indices.start, indices.stop
            if not 0 <= start < stop <= self._n:
                raise IndexError(f"node out of range (the graph has {self._n})")
            out: list[str] = []
            size = self._block
            while start < stop:
                b, offset = start >> self._shift, start & (size - 1)
                count = min(size - offset, stop - start)
                out += self._decode(self._blocks[b][offset : offset + count])
                start += count
            return out
        return self._decode(self._gather(indices))

    def _decode(self, keys: Keys) -> list[str]:
        """``keys`` (a contiguous array of the column's) as strings."""
        if self._exact:
            text = str(keys.data, "ascii")  # decoded from the array's buffer: no copy of it
            width = self._width
            return [text[k : k + width] for k in range(0, len(text), width)]
        return [key.decode(_UTF8, _ANY) for key in keys.tolist()]

    def _encode(self, ids: Sequence[str]) -> Keys:
        """``ids`` as a byte array of the column's width (widened when needed)."""
        np = _np()
        if not ids:
            return np.empty(0, dtype=f"S{self._width}")  # type: ignore[no-any-return]
        if self._exact:
            keys = self.exact_keys(ids)
            if keys is not None:
                return keys
        encoded = [i.encode(_UTF8, _ANY) for i in ids]
        if any(not key or key.endswith(b"\x00") for key in encoded):
            raise ValueError("a version id must be a non-empty string not ending in NUL")
        width = max(map(len, encoded))
        if width > self._width:
            self._widen(width)
        if self._exact and any(len(key) != self._width or not key.isascii() for key in encoded):
            self._exact = False
        return np.array(encoded, dtype=f"S{self._width}")  # type: ignore[no-any-return]

    def _widen(self, width: int) -> None:
        self._width = width
        self._exact = False
        self._blocks = [block.astype(f"S{width}") for block in self._blocks]
        if self._keys is not None:
            self._keys = self._keys.astype(f"S{width}")

    def _new_block(self) -> Keys:
        np = _np()
        block: Keys = np.empty(self._block, dtype=f"S{self._width}")  # pages touched as filled
        self._blocks.append(block)
        return block

    def ascending_after(self, ids: Sequence[str]) -> Keys | None:
        """``ids`` as keys if appending them keeps the column in id order with every id of
        the column's width in ASCII (they ascend, each newer than every id here, and the
        column is in order), else None; changes nothing."""
        if (
            not ids
            or not self._ordered
            or not self._exact
            or (self._newest is not None and ids[0] <= self._newest)
        ):
            return None
        keys = self.exact_keys(ids)
        if keys is None or (len(keys) > 1 and not bool((keys[1:] > keys[:-1]).all())):
            return None
        return keys

    def exact_keys(self, ids: Sequence[str]) -> Keys | None:
        """``ids`` as keys if each is ASCII of the column's width, else None (the column is
        not widened)."""
        np = _np()
        width = self._width
        if not ids:
            return np.empty(0, dtype=f"S{width}")  # type: ignore[no-any-return]
        text = "".join(ids)
        if len(text) != width * len(ids) or not text.isascii() or set(map(len, ids)) != {width}:
            return None
        return np.frombuffer(text.encode("ascii"), dtype=f"S{width}")  # type: ignore[no-any-return]

    def mark_settled(self) -> None:
        """Index every node at once, as :meth:`settle` does for a column in id order (the
        column is then its own sorted index); for ids appended in order with no entry in
        :attr:`recent` (a pack added in bulk)."""
        if not self._ordered:
            raise AssertionError("mark_settled() on a column out of id order")
        self._keys = self._nodes = None
        self._settled = self._n
        self._settled_max = self._newest
        self.recent.clear()

    def extend(self, ids: Sequence[str], keys: Keys | None = None) -> None:
        """Append the ids of the next ``len(ids)`` nodes (``keys``: them encoded already,
        by :meth:`ascending_after`)."""
        if not ids:
            return
        new = self._encode(ids) if keys is None else keys
        count = len(new)
        if self._ordered:  # then the last node's id is the newest
            after_last = self._newest is None or ids[0] > self._newest
            self._ordered = bool(after_last and (count < 2 or (new[1:] > new[:-1]).all()))
        at, done, size = self._n, 0, self._block
        while done < count:
            b, offset = at >> self._shift, at & (size - 1)
            block = self._blocks[b] if b < len(self._blocks) else self._new_block()
            step = min(size - offset, count - done)
            block[offset : offset + step] = new[done : done + step]
            if offset == 0:
                self._firsts.append(bytes(block[0]))
            at += step
            done += step
        self._n = at
        newest = ids[-1] if self._ordered else max(ids)
        if self._newest is None or newest > self._newest:
            self._newest = newest

    def append(self, version_id: str) -> None:
        """Append the id of the next node."""
        n = self._n
        offset = n & (self._block - 1)
        if (
            offset == 0  # a new block: the general path
            or not self._exact
            or len(version_id) != self._width
            or not version_id.isascii()
        ):
            self.extend([version_id])
            return
        # what a writer does on each log: no array made
        self._blocks[n >> self._shift][offset] = version_id.encode()
        self._n = n + 1
        newest = self._newest
        if newest is None or version_id > newest:
            self._newest = version_id
        else:
            self._ordered = False

    # -- order --------------------------------------------------------------------------------

    @property
    def ordered(self) -> bool:
        """Whether node order is id order (creation order)."""
        return self._ordered

    @property
    def settled_max(self) -> str | None:
        """The largest id in the sorted index (None: it is empty); larger ids are either in
        :attr:`recent` or nowhere."""
        return self._settled_max

    @property
    def newest(self) -> str | None:
        """The largest id (the most recently created version's), or None when empty."""
        return self._newest

    def settle(self) -> None:
        """Merge :attr:`recent` into the sorted index once it is big enough (every recent
        node's id must be in the column by then): at :data:`SETTLE_AFTER` ids while the
        nodes are in id order (then merging is free), else at an eighth of the column
        (a merge copies the sorted index)."""
        waiting = len(self.recent)
        if waiting >= SETTLE_AFTER and (self._ordered or waiting >= self._n >> 3):
            self._settle()

    def _settle(self) -> None:
        if self._settled == self._n:
            self.recent.clear()
            return
        if len(self.recent) != self._n - self._settled:
            raise AssertionError("settle() before every recent node's id was appended")
        np = _np()
        if self._ordered:
            self._keys = self._nodes = None
        else:
            keys, nodes = self._keys, self._nodes
            if keys is None:  # in order up to here: the column was its own index
                keys = self._span(0, self._settled)
                nodes = np.arange(self._settled, dtype=np.int64)
            assert nodes is not None
            new_nodes = np.arange(self._settled, self._n, dtype=np.int64)
            new_keys = self._span(self._settled, self._n)
            order = np.argsort(new_keys, kind="stable")
            new_keys, new_nodes = new_keys[order], new_nodes[order]
            at = keys.searchsorted(new_keys)
            self._keys = np.insert(keys, at, new_keys)
            self._nodes = np.insert(nodes, at, new_nodes)
        self._settled = self._n
        self._settled_max = self._newest
        self.recent.clear()

    def _position(self, key: bytes, stop: int, side: Literal["left", "right"] = "left") -> int:
        """Where ``key`` goes among the ids of nodes ``0 .. stop-1``, which are in id order
        (a search for the block by its first id, then in the block)."""
        blocks = (stop + self._block - 1) >> self._shift
        b = bisect.bisect_right(self._firsts, key, 0, blocks) - 1
        if b < 0:
            return 0
        limit = min(self._block, stop - (b << self._shift))
        return (b << self._shift) + int(self._blocks[b][:limit].searchsorted(key, side=side))

    def _search(self, key: bytes, side: Literal["left", "right"] = "left") -> int:
        """Where ``key`` goes in the creation order of every id."""
        self._settle()
        if self._keys is None:
            return self._position(key, self._n, side)
        return int(self._keys.searchsorted(key, side=side))

    def sorted_ids(self) -> list[str]:
        """Every id, in creation (id) order."""
        self._settle()
        return self.take(range(self._n) if self._nodes is None else self._nodes)

    def creation_nodes(self) -> Sequence[int]:
        """Node numbers in creation (id) order."""
        self._settle()
        return range(self._n) if self._nodes is None else self._nodes.tolist()

    def ranks(self) -> Nodes:
        """Each node's position in creation order."""
        np = _np()
        self._settle()
        if self._nodes is None:
            return np.arange(self._n, dtype=np.int64)  # type: ignore[no-any-return]
        rank = np.empty(self._n, dtype=np.int64)
        rank[self._nodes] = np.arange(self._n, dtype=np.int64)
        return rank  # type: ignore[no-any-return]

    def sorted_slice(self, start: int, stop: int) -> list[str]:
        """Ids ``start .. stop-1`` of the creation order."""
        self._settle()
        start, stop = max(start, 0), min(stop, self._n)
        if start >= stop:
            return []
        if self._nodes is None:
            return self.take(range(start, stop))
        return self.take(self._nodes[start:stop])

    def bisect_left(self, text: str) -> int:
        """Where ``text`` would go in the creation order (ids before it sort lower)."""
        key = text.encode(_UTF8, _ANY)
        if len(key) > self._width:  # longer than every id: compare on the column's width
            return self._search(key[: self._width], side="right")
        return self._search(key)

    # -- lookup -------------------------------------------------------------------------------

    def node_of(self, version_id: object) -> int | None:
        """The node holding ``version_id``, or None."""
        if not isinstance(version_id, str):
            return None
        node = self.recent.get(version_id)
        return self.settled_node(version_id) if node is None else node

    def settled_node(self, version_id: str) -> int | None:
        """The node holding ``version_id`` if it is in the sorted index, else None (a
        string comparison when ``version_id`` is newer than every settled id)."""
        if self._settled_max is None or version_id > self._settled_max:
            return None
        key = version_id.encode(_UTF8, _ANY)
        if not key or len(key) > self._width or key.endswith(b"\x00"):
            return None
        if self._keys is None:
            k = self._position(key, self._settled)
            if k == self._settled:
                return None
            found = self._blocks[k >> self._shift][k & (self._block - 1)]
            return k if found == key else None
        k = int(self._keys.searchsorted(key))
        if k == len(self._keys) or self._keys[k] != key:
            return None
        assert self._nodes is not None
        return int(self._nodes[k])


class IdLookup:
    """``id -> node`` over an :class:`IdColumn`, with the parts of ``dict`` the graph uses
    (``in``, ``[]``, ``get``, and ``[id] = node`` for the node being added)."""

    __slots__ = ("_column",)

    def __init__(self, column: IdColumn) -> None:
        self._column = column

    def __contains__(self, version_id: object) -> bool:
        return self._column.node_of(version_id) is not None

    def __getitem__(self, version_id: str) -> int:
        node = self._column.node_of(version_id)
        if node is None:
            raise KeyError(version_id)
        return node

    def get(self, version_id: str, default: int | None = None) -> int | None:
        """The node of ``version_id``, or ``default``."""
        node = self._column.node_of(version_id)
        return default if node is None else node

    def __setitem__(self, version_id: str, node: int) -> None:
        self._column.recent[version_id] = node

    def __len__(self) -> int:
        return len(self._column)

    def __iter__(self) -> Iterator[str]:
        return iter(self._column)
