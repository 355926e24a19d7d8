"""Lazily read version records: a :class:`~mlineage.records.ModelVersion` that holds only
its id until something looks at another field.

A version loaded from a pack starts with only its id in ``__dict__`` and a pointer to its
bytes in ``__pydantic_private__`` (:func:`~mlineage.records.lazy_versions`). Looking at any
other field reads the record. Where the record goes depends on what the version holds:

- a version a tracker's graph keeps (one from a pack) holds the tracker's
  :class:`RecordCache`: the record is kept there, among the last 128 read, and the
  version itself stays small; once the cache has dropped it, the next look reads it
  again. Looking at one field (``version.notes``) parses the record from JSON and
  validates that field alone (:meth:`RecordCache.field`); looking at the version as a
  whole (``==``, ``dict()``, a copy, serialising) validates the whole record once
  (:func:`record_of`). Reading every record of 10^6 versions then holds 10^6 small
  objects, not 10^6 records.
- any other lazy version (one the graph keeps only while someone holds it, such as a
  version this process wrote; ``lazy_version`` by hand) takes the record's fields into
  itself on first access and is an ordinary version from then on (:func:`materialise`).

``ModelVersion`` goes through :func:`fields_of` in every method that looks at its fields,
so a lazy version is indistinguishable from one decoded eagerly, except in object
identity (a field's value read after the cache dropped the record, or read alone before
the whole record was validated, is an equal, new object) and in when a damaged record is
reported: a field read alone is an error only if that field (or a check it is part of)
fails, while the whole record is an error if any field fails.
An eagerly built version has no ``source`` there and pays nothing for this.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

__all__ = [
    "RECORDS_CACHED",
    "FieldReader",
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
#: How many records a tracker keeps of the lazy versions read last (about 2.5 KB each).
#: Few on purpose: a record dropped 128 reads after it was read is freed while its memory
#: is still in the CPU's cache; one dropped 10,000 reads later (the size before) cost 2-3 µs
#: of cache misses to free, a third of reading a field of every version of 10^6.
RECORDS_CACHED = 128


class VersionSource(Protocol):
    """Where a lazy version's full record comes from (a pack, see ``mlineage.codec``).

    A source may also define ``raw_version(index, version_id) -> dict | None``: the
    record parsed from JSON but not validated, or None where only :meth:`load_version`
    can tell what it holds (see :class:`RecordCache`)."""

    def load_version(self, index: int, version_id: str) -> BaseModel:
        """Read, validate and return record ``index``, which must have id ``version_id``."""
        ...


#: Checks and converts field ``name`` of a parsed record (``raw``): the field's value as
#: validating the whole record would give it, or raises ``ValueError`` where that would
#: fail (see ``records._version``).
FieldReader = Callable[[dict[str, Any], dict[str, Any], str, str], Any]


class _Entry:
    """What a :class:`RecordCache` keeps of one record.

    ``raw`` is the record parsed from JSON (None when its source cannot parse it alone);
    ``fields`` holds the fields validated so far; ``full`` the record validated whole,
    once something needed it (its fields then replace ``fields``)."""

    __slots__ = ("fields", "full", "raw")

    def __init__(self, raw: dict[str, Any] | None) -> None:
        self.raw = raw
        self.fields: dict[str, Any] = {}
        self.full: BaseModel | None = None


class RecordCache:
    """The records of the lazy versions read last, at most ``size`` (oldest read dropped).

    A tracker owns one and every lazy version it makes holds it (under ``"records"``, see
    :func:`~mlineage.records.hold`), so the records a process reads stay bounded however
    many versions it looks at.

    Looking at one field of a version (:meth:`field`) parses its record from JSON and
    validates that field alone, with the same checks validating the whole record makes
    (a field that would fail makes the whole record be validated, which raises the
    error); looking at the version as a whole (``==``, ``dict()``, a copy, serialising:
    :meth:`read`) validates the whole record once. A loop reading one field of every
    version of 10^6 then pays for parsing the records, not for validating each of them
    whole: about 40 % less time.

    Parameters
    ----------
    size : int
        How many records to keep (at least 1).
    """

    def __init__(self, size: int = RECORDS_CACHED) -> None:
        self.size = max(1, size)
        self._records: OrderedDict[tuple[Any, int, str], _Entry] = OrderedDict()

    def _add(self, key: tuple[Any, int, str], source: VersionSource, *, raw: bool) -> _Entry:
        """Read record ``key`` (source, index, id) into a new entry: parsed alone where
        ``raw`` and the source can, else validated whole."""
        _, index, version_id = key
        parse = getattr(source, "raw_version", None) if raw else None
        entry = _Entry(None if parse is None else parse(index, version_id))
        if entry.raw is None:
            self._validate(entry, source, index, version_id)
        records = self._records
        while len(records) >= self.size:
            try:
                records.popitem(last=False)
            except KeyError:  # emptied by another thread meanwhile
                break
        records[key] = entry
        return entry

    @staticmethod
    def _validate(entry: _Entry, source: VersionSource, index: int, version_id: str) -> BaseModel:
        full = source.load_version(index, version_id)
        # From now on the fields are the whole record's (one object per field value).
        entry.full, entry.fields, entry.raw = full, full.__dict__, None
        return full

    def read(self, source: VersionSource, index: int, version_id: str) -> BaseModel:
        """Record ``index`` of ``source`` (id ``version_id``), validated whole: kept, or
        read and kept."""
        # The id is part of the key: a source may number its records otherwise (the
        # versions a tracker wrote are read back by id).
        key = (source, index, version_id)
        entry = self._records.get(key) or self._add(key, source, raw=False)
        full = entry.full
        return self._validate(entry, source, index, version_id) if full is None else full

    def field(
        self, source: VersionSource, index: int, version_id: str, name: str, reader: FieldReader
    ) -> Any:
        """Field ``name`` of record ``index`` of ``source`` (id ``version_id``).

        ``reader`` validates it from the parsed record; where it raises ``ValueError``
        the whole record is validated (raising the record's error, as :meth:`read`
        would).

        Raises
        ------
        KeyError
            If the record has no such field.
        """
        key = (source, index, version_id)
        entry = self._records.get(key) or self._add(key, source, raw=True)
        fields = entry.fields
        if name in fields:
            return fields[name]
        raw = entry.raw
        if raw is None:  # validated whole since (by another thread): its fields
            full = entry.full or self._validate(entry, source, index, version_id)
            return full.__dict__[name]
        try:
            value = fields[name] = reader(raw, fields, name, version_id)
        except ValueError:
            return self._validate(entry, source, index, version_id).__dict__[name]
        return value

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
