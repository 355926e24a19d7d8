"""Lazily read version records: a :class:`~mlineage.records.ModelVersion` that holds only
its id until something looks at another field.

A version loaded from a pack starts with only its id in ``__dict__`` and a pointer to its
bytes in ``__pydantic_private__`` (:func:`~mlineage.records.lazy_versions`). Looking at any
other field reads and validates the whole record. Where the record goes depends on what
the version holds:

- a version a tracker's graph keeps (one from a pack) holds the tracker's
  :class:`RecordCache`: the record is kept there, among the last 10,000 read, and the
  version itself stays small; once the cache has dropped it, the next look reads it
  again (:func:`record_of`). Reading
  every record of 10^6 versions then holds 10^6 small objects, not 10^6 records.
- any other lazy version (one the graph keeps only while someone holds it, such as a
  version this process wrote; ``lazy_version`` by hand) takes the record's fields into
  itself on first access and is an ordinary version from then on (:func:`materialise`).

``ModelVersion`` goes through :func:`fields_of` in every method that looks at its fields,
so a lazy version is indistinguishable from one decoded eagerly, except in object
identity: a field's value read after the cache dropped the record is an equal, new object.
An eagerly built version has no ``source`` there and pays nothing for this.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Protocol

from pydantic import BaseModel

__all__ = [
    "RECORDS_CACHED",
    "RecordCache",
    "VersionSource",
    "fields_of",
    "held_besides",
    "is_lazy",
    "materialise",
    "record_of",
]

_setattr = object.__setattr__
#: What a lazy version holds (in ``__pydantic_private__``) until its record is read.
_LAZY_SLOTS = ("source", "index")
#: How many records a tracker keeps of the lazy versions read last (one pack's worth; about
#: 5 KB each).
RECORDS_CACHED = 10_000


class VersionSource(Protocol):
    """Where a lazy version's full record comes from (a pack, see ``mlineage.codec``)."""

    def load_version(self, index: int, version_id: str) -> BaseModel:
        """Read, validate and return record ``index``, which must have id ``version_id``."""
        ...


class RecordCache:
    """The records of the lazy versions read last, at most ``size`` (oldest read dropped).

    A tracker owns one and every lazy version it makes holds it (under ``"records"``, see
    :func:`~mlineage.records.hold`), so the records a process reads stay bounded however
    many versions it looks at.

    Parameters
    ----------
    size : int
        How many records to keep (at least 1).
    """

    def __init__(self, size: int = RECORDS_CACHED) -> None:
        self.size = max(1, size)
        self._records: OrderedDict[tuple[Any, int, str], BaseModel] = OrderedDict()

    def read(self, source: VersionSource, index: int, version_id: str) -> BaseModel:
        """Record ``index`` of ``source`` (id ``version_id``): kept, or read and kept."""
        # The id too: a source may number its records otherwise (the versions a tracker
        # wrote are read back by id).
        key = (source, index, version_id)
        records = self._records
        record = records.get(key)
        if record is None:
            record = source.load_version(index, version_id)
            while len(records) >= self.size:
                try:
                    records.popitem(last=False)
                except KeyError:  # emptied by another thread meanwhile
                    break
            records[key] = record
        return record

    def holds(self, source: VersionSource, index: int, version_id: str) -> bool:
        """Whether record ``index`` of ``source`` (id ``version_id``) is kept."""
        return (source, index, version_id) in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __deepcopy__(self, memo: dict[int, Any]) -> RecordCache:
        return self  # a deep copy of a version holds the same tracker's cache


def materialise(version: BaseModel) -> bool:
    """Read a lazy version's record into it; False if it was not lazy."""
    private = version.__pydantic_private__
    if private is None or "source" not in private:
        return False
    full = private["source"].load_version(private["index"], version.__dict__["id"])
    version.__dict__.update(full.__dict__)
    _setattr(version, "__pydantic_fields_set__", full.__pydantic_fields_set__)
    _setattr(version, "__pydantic_extra__", None)
    # What else the version holds (the store it was read from) stays.
    _setattr(version, "__pydantic_private__", held_besides(private))
    return True


def held_besides(private: dict[str, Any]) -> dict[str, Any] | None:
    """What a version holds besides the pointer to its unread record (None: nothing)."""
    rest = {k: v for k, v in private.items() if k not in _LAZY_SLOTS}
    return rest or None


def record_of(version: BaseModel) -> BaseModel | None:
    """The object holding a lazy version's fields (None if ``version`` is not lazy).

    The record in its tracker's cache, read if the cache does not hold it; the version
    itself, its record read into it, if it holds no cache.
    """
    private = version.__pydantic_private__
    if private is None or "source" not in private:
        return None
    cache: RecordCache | None = private.get("records")
    if cache is None:
        materialise(version)
        return version
    return cache.read(private["source"], private["index"], version.__dict__["id"])


def fields_of(version: BaseModel) -> BaseModel:
    """The object whose ``__dict__`` holds ``version``'s fields (see :func:`record_of`)."""
    record = record_of(version)
    return version if record is None else record


def is_lazy(version: BaseModel) -> bool:
    """Whether looking at a field of ``version`` would read its record from the store (its
    record was never read, or was dropped from its tracker's cache since); for tests and
    diagnostics."""
    private = version.__pydantic_private__
    if private is None or "source" not in private:
        return False
    cache: RecordCache | None = private.get("records")
    return cache is None or not cache.holds(
        private["source"], private["index"], version.__dict__["id"]
    )
