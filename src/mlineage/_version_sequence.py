"""The lazy sequences the lineage graph's walks return: versions made when looked at.

:class:`VersionSequence` is what ``history()``, ``ancestors()`` and ``descendants()``
return: node numbers of a graph, each turned into a version object only when indexed or
iterated, so a walk over 10^6 versions makes none until the caller looks.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, SupportsIndex, TypeVar, overload

from mlineage.records import ModelVersion

if TYPE_CHECKING:
    import numpy as np

    #: Node numbers: a list, a range or an int64 array.
    Indices = Sequence[int] | np.ndarray[Any, np.dtype[np.int64]]

__all__ = ["LazySequence", "VersionSequence"]

_T = TypeVar("_T")


class LazySequence(Sequence[_T]):
    """A read-only sequence whose items are made when looked at (see :class:`VersionSequence`);
    equal to any sequence of equal items in the same order."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class _Listed:
    """The versions of an unpickled :class:`VersionSequence`: a list stands in for the graph."""

    def __init__(self, versions: list[ModelVersion]) -> None:
        self._versions = versions
        self._index = {v.id: i for i, v in enumerate(versions)}

    def node(self, index: int) -> ModelVersion:
        return self._versions[index]

    def _nodes(self, indices: Iterable[int]) -> list[ModelVersion]:
        versions = self._versions
        return [versions[i] for i in indices]


#: How many versions an iteration makes first (with the cyclic GC paused while it does).
_CHUNK = 4096
#: The most it makes at a time: chunks double in size up to it, so a long iteration lets
#: the cyclic GC in (it is paused while a chunk is made) a few times, not once per 4096.
_CHUNK_MAX = 1 << 17

#: How many versions ``repr`` shows at each end of a longer sequence.
_SHOWN = 5


class VersionSequence(LazySequence[ModelVersion]):
    """A read-only sequence of versions, each made when looked at.

    What ``Tracker.history``, ``tracker.lineage(ref).ancestors()`` / ``.descendants()`` /
    ``.history()``, the graph's ``ancestors`` / ``descendants`` / ``first_parent_chain`` /
    ``history`` and ``ChangePoints.versions`` return. It holds the graph's node numbers
    of the versions, not the versions: a history of 10^6 versions is an array of 10^6
    integers, and a version object is made (or found) only when an item is looked at.
    Code written for the list these methods returned keeps working: indexing (negative
    too), slicing, ``len``, ``bool``, iteration, ``reversed``, ``in``, ``index``,
    ``count``, ``list(...)``, ``sorted(...)``, ``+`` with a list or another sequence
    (giving a list), pickling, and ``==`` against a list (or any sequence) of the same
    versions in the same order. It cannot be changed: ``list(seq)`` gives a list.

    Slices are sequences too (``seq[::-1]``, ``seq[:10]`` make no version). ``in``,
    ``index`` and ``count`` of a version find it by id without making the others.

    Examples
    --------
    >>> import mlineage as ml
    >>> tracker = ml.Tracker("seq-doc", storage="memory://seq-doc", capture_environment=False)
    >>> for accuracy in (0.90, 0.92, 0.91):
    ...     _ = tracker.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:d"),
    ...                     metrics={"accuracy": accuracy})
    >>> history = tracker.history()  # newest first
    >>> type(history).__name__, len(history)
    ('VersionSequence', 3)
    >>> round(history[0].metric_delta(history[1], "accuracy"), 4)
    -0.01
    >>> [v.metrics["accuracy"] for v in history[::-1]]
    [0.9, 0.92, 0.91]
    >>> history == list(history) and history[-1] in history
    True
    """

    def __init__(self, graph: Any, indices: Indices) -> None:
        # ``graph``: what makes the versions (a GraphColumns, or _Listed once unpickled);
        # ``indices``: a list, range or numpy array of its node numbers.
        self._graph, self._indices = graph, indices

    def __len__(self) -> int:
        return len(self._indices)

    @overload
    def __getitem__(self, item: SupportsIndex) -> ModelVersion: ...

    @overload
    def __getitem__(self, item: slice) -> VersionSequence: ...

    def __getitem__(self, item: SupportsIndex | slice) -> ModelVersion | VersionSequence:
        if isinstance(item, slice):
            return VersionSequence(self._graph, self._indices[item])
        position = operator.index(item)
        size = len(self._indices)
        if not -size <= position < size:
            raise IndexError(f"version index {position} out of range for {size} versions")
        version: ModelVersion = self._graph.node(int(self._indices[position]))
        return version

    def _chunks(self, indices: Indices) -> Iterator[ModelVersion]:
        nodes = self._graph._nodes

        def made() -> Iterator[list[ModelVersion]]:
            start, size = 0, _CHUNK
            while start < len(indices):
                chunk = indices[start : start + size]
                yield nodes(chunk.tolist() if hasattr(chunk, "tolist") else chunk)
                start += size
                size = min(2 * size, _CHUNK_MAX)

        # the versions of a chunk are handed out in C, not by a generator step each
        return chain.from_iterable(made())

    def __iter__(self) -> Iterator[ModelVersion]:
        return self._chunks(self._indices)

    def __reversed__(self) -> Iterator[ModelVersion]:
        return self._chunks(self._indices[::-1])

    def _positions(self, value: object) -> Sequence[int] | None:
        """Positions whose version has ``value``'s id, or None to compare every item."""
        if not isinstance(value, ModelVersion):
            return None
        node = self._graph._index.get(value.id)
        if node is None:
            return []
        indices = self._indices
        if hasattr(indices, "tolist"):
            import numpy as np

            return np.flatnonzero(indices == node).tolist()  # type: ignore[no-any-return]
        return [k for k, i in enumerate(indices) if i == node]

    def _matches(self, value: object, positions: Sequence[int]) -> list[int]:
        node = self._graph.node
        matching = []
        for k in positions:
            version = node(int(self._indices[k]))
            if version is value or version == value:
                matching.append(k)
        return matching

    def __contains__(self, value: object) -> bool:
        positions = self._positions(value)
        if positions is None:
            return any(v is value or v == value for v in self)
        return bool(self._matches(value, positions))

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The first position of ``value`` (between ``start`` and ``stop``), as ``list.index``.

        Raises
        ------
        ValueError
            If ``value`` is not there.
        """
        window = range(len(self))[start:stop]
        positions = self._positions(value)
        if positions is None:
            for k in window:
                version = self[k]
                if version is value or version == value:
                    return k
        else:
            inside = [k for k in positions if k in window]
            found = self._matches(value, inside)
            if found:
                return found[0]
        raise ValueError(f"{value!r} is not in the sequence")

    def count(self, value: Any) -> int:
        """How many times ``value`` occurs (0 or 1 for a history), as ``list.count``."""
        positions = self._positions(value)
        if positions is None:
            return sum(1 for v in self if v is value or v == value)
        return len(self._matches(value, positions))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, VersionSequence) and other._graph is self._graph:
            return _same_ints(self._indices, other._indices)  # no version made
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            # ``is`` first, as a list compares: the graph's own objects need no record read
            return len(self) == len(other) and all(
                a is b or a == b for a, b in zip(self, other, strict=True)
            )
        return NotImplemented

    def __add__(self, other: object) -> list[ModelVersion]:
        if isinstance(other, (list, VersionSequence)):
            return [*self, *other]
        return NotImplemented

    def __radd__(self, other: object) -> list[ModelVersion]:
        if isinstance(other, list):
            return [*other, *self]
        return NotImplemented

    def __copy__(self) -> VersionSequence:
        return self  # read-only, like a tuple

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its versions (a version pickles its record, not the store).
        return (_unpickle, (list(self),))

    def __repr__(self) -> str:
        size = len(self)
        if size <= 2 * _SHOWN:
            shown = [repr(v) for v in self]
        else:
            more = size - 2 * _SHOWN
            head = [repr(v) for v in self[:_SHOWN]]
            tail = [repr(v) for v in self[-_SHOWN:]]
            shown = [*head, f"... {more:,} more ...", *tail]
        noun = "version" if size == 1 else "versions"
        return f"VersionSequence of {size:,} {noun}" + "".join(f"\n  {line}" for line in shown)


def _same_ints(a: Indices, b: Indices) -> bool:
    import numpy as np

    return bool(np.array_equal(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)))


def _unpickle(versions: list[ModelVersion]) -> VersionSequence:
    return VersionSequence(_Listed(versions), range(len(versions)))
