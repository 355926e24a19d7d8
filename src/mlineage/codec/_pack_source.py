"""A pack's bytes, from which its lazy versions read their records (see ``_packs``).

A :class:`PackSource` is what a version loaded from a pack holds (its
:class:`~mlineage.records.VersionSource`): it reads one record whole
(:meth:`~PackSource.load_version`), one record parsed but not validated for reading a
field alone (:meth:`~PackSource.raw_version`), or the table's fields of every record
(:meth:`~PackSource.table_fields`, for ``to_pandas``).
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json

from mlineage.codec._pack_fields import invalid_record, record_fields, table_columns
from mlineage.errors import CorruptRecord
from mlineage.records import ModelVersion

__all__ = ["PackSource"]

#: A pack source releases its map's pages after this many record reads.
_RELEASE_EVERY = 64
#: The keys of a version record as this version of mlineage writes it (every field).
_VERSION_KEYS = frozenset(ModelVersion.model_fields)


@dataclass(eq=False)
class PackSource:
    """The bytes of a format-2 pack, from which its lazy versions read their records."""

    key: str
    model: str
    data: bytes | mmap.mmap
    body: int
    offsets: list[int]
    versions: int

    table: tuple[int, int] | None = None  # where a format-5 pack's table is
    names: list[str | None] = field(default_factory=list)  # the index's names column
    reads: int = 0  # records read from a memory map since its pages were last released

    def record_bytes(self, index: int) -> bytes:
        """The bytes of record ``index``; every :data:`_RELEASE_EVERY` reads, the map's
        pages are handed back first."""
        self.reads += 1
        if self.reads >= _RELEASE_EVERY:
            self.reads = 0
            self._release()
        start = self.body + self.offsets[index]
        return self.data[start : self.body + self.offsets[index + 1] - 2]

    def _release(self) -> None:
        """Hand the map's pages back to the OS (they stay in the page cache): reading every
        record of 10^6 versions would otherwise add the whole packs to the process's RSS."""
        if isinstance(self.data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            self.data.madvise(mmap.MADV_DONTNEED)

    def load_version(self, index: int, version_id: str) -> ModelVersion:
        try:
            version = ModelVersion.model_validate_json(self.record_bytes(index))
        except ValidationError as error:
            raise invalid_record(self.key, "version", index, error) from None
        if version.id != version_id or version.model != self.model:
            raise CorruptRecord(
                f"{self.key!r} holds version {version.id} of model {version.model!r} at "
                f"index {index}, where its index lists {version_id} of {self.model!r}; "
                "run `mlineage fsck`"
            )
        return version

    def raw_version(self, index: int, version_id: str) -> dict[str, Any] | None:
        """Record ``index`` parsed from JSON, not validated (see ``records.RecordCache``);
        None unless it is an object of every version field, ``version_id``'s, of this
        pack's model: :meth:`load_version` then says what is wrong with it."""
        try:
            raw = from_json(self.record_bytes(index), cache_strings="keys")
        except ValueError:
            return None
        if (
            type(raw) is not dict
            or raw.keys() != _VERSION_KEYS
            or raw["id"] != version_id
            or raw["model"] != self.model
        ):
            return None
        return raw

    def table_fields(self) -> dict[str, list[Any]]:
        """:data:`mlineage._columns.TABLE_FIELDS` of every version record, as columns.

        A format-5 pack's table line holds them (names are in the index): a tenth of
        what parsing the records costs. In older packs the version lines are parsed as
        one JSON array into just those fields, skipping the rest and building no version
        object: a fifth of what reading the records costs. The checksum was verified at
        load, so a table or record that does not parse was stored so by a faulty writer:
        :class:`~mlineage.errors.CorruptRecord` names it.
        """
        if self.table is not None:
            start, end = self.table
            columns = {
                "name": self.names,
                **table_columns(self.data[start:end], self.key, self.versions),
            }
        else:
            end = self.body + self.offsets[self.versions] - 2  # the last line's ",\n"
            columns = record_fields(self.data[self.body : end] if self.versions else b"", self.key)
        self._release()
        return columns

    def __deepcopy__(self, memo: dict[int, Any]) -> PackSource:
        return self  # immutable bytes; a deep copy of a lazy version shares them
