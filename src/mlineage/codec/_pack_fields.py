"""The fields of a pack's versions: the table of versions, read in bulk, and checks of
the index columns against the records.

``Tracker.to_pandas`` shows :data:`mlineage._columns.TABLE_FIELDS` of every version. A
format-5 pack holds those the index does not (everything but the name) in a table line of
columns (:func:`encode_table`, :func:`table_columns`); an older pack's records are parsed
into just those fields (:func:`record_fields`). Neither builds a version object. The
layout is in docs/storage-format.md; ``codec._packs`` frames the line.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, cast

from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic_core import to_json
from typing_extensions import NotRequired, TypedDict

from mlineage._columns import TABLE_FIELDS, table_fields, utc_micros
from mlineage.errors import CorruptRecord
from mlineage.records import ModelVersion

__all__ = [
    "TABLE_COLUMNS",
    "encode_table",
    "invalid_record",
    "matches_index",
    "parents_well_formed",
    "record_fields",
    "table_columns",
    "table_rows",
]

#: The columns of a format-5 pack's table line, in order (``name`` is in the index).
TABLE_COLUMNS = TABLE_FIELDS[1:]


def encode_table(versions: list[ModelVersion]) -> bytes:
    """The table line's JSON object: :data:`TABLE_COLUMNS` of ``versions`` as columns."""
    rows = [table_fields(version)[1:] for version in versions]
    table = {name: [row[i] for row in rows] for i, name in enumerate(TABLE_COLUMNS)}
    # Serialised as the records are (a NaN hyperparameter is null in both).
    return to_json(table, inf_nan_mode="null")


class _Table(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    dataset_hash: list[str]
    dataset_path: list[str | None]
    dataset_rows: list[int | None]
    notes: list[str]
    tags: list[tuple[str, ...]]
    status: list[str]
    hyperparameters: list[dict[str, Any]]


_table_adapter: TypeAdapter[_Table] = TypeAdapter(_Table)


def table_columns(table: bytes, key: str, count: int) -> dict[str, list[Any]]:
    """Parse a table line's object of ``count`` rows into :data:`TABLE_COLUMNS`.

    Raises
    ------
    CorruptRecord
        If it does not parse or a column does not have ``count`` rows (a faulty writer:
        the pack's checksum covers the table).
    """
    try:
        parsed = _table_adapter.validate_json(table)
    except ValidationError as error:
        raise _damaged_table(key, str(error).splitlines()[1].strip()) from None
    columns = cast("dict[str, list[Any]]", parsed)
    if any(len(column) != count for column in columns.values()):
        raise _damaged_table(key, "columns of the wrong length")
    return columns


def table_rows(
    table: bytes, key: str, count: int, problems: list[CorruptRecord]
) -> list[tuple[Any, ...]] | None:
    """:func:`table_columns` row by row, for fsck (None if damaged: reported in ``problems``)."""
    try:
        columns = table_columns(table, key, count)
    except CorruptRecord as damage:
        problems.append(damage)
        return None
    return list(zip(*[columns[name] for name in TABLE_COLUMNS], strict=True))


def _damaged_table(key: str, detail: str) -> CorruptRecord:
    return CorruptRecord(f"{key!r} has a damaged table ({detail}); run `mlineage fsck`")


class _Dataset(TypedDict):
    __pydantic_config__ = ConfigDict(extra="ignore")  # type: ignore[misc]
    hash: str
    path: NotRequired[str | None]
    num_rows: NotRequired[int | None]


class _Record(TypedDict):
    """The fields of a version record that ``TABLE_FIELDS`` lists (the rest is skipped)."""

    __pydantic_config__ = ConfigDict(extra="ignore")  # type: ignore[misc]
    dataset: _Dataset
    name: NotRequired[str | None]
    notes: NotRequired[str]
    tags: NotRequired[tuple[str, ...]]
    status: NotRequired[str]
    hyperparameters: NotRequired[dict[str, Any]]


_records_adapter: TypeAdapter[list[_Record]] = TypeAdapter(list[_Record])


def record_fields(records: bytes, key: str) -> dict[str, list[Any]]:
    """:data:`~mlineage._columns.TABLE_FIELDS` of the version record lines ``records``
    (``<record>,\\n`` each, the last one's ``,\\n`` cut), parsed as one JSON array.

    Raises
    ------
    CorruptRecord
        If a record does not parse; it names the record.
    """
    try:
        rows = _records_adapter.validate_json(b"[" + records + b"]")
    except ValidationError as error:
        where = error.errors()[0]["loc"][:1]
        at = where[0] if where and isinstance(where[0], int) else "?"
        raise invalid_record(key, "version", at, error) from None
    datasets = [row["dataset"] for row in rows]
    return {
        "name": [row.get("name") for row in rows],
        "dataset_hash": [dataset["hash"] for dataset in datasets],
        "dataset_path": [dataset.get("path") for dataset in datasets],
        "dataset_rows": [dataset.get("num_rows") for dataset in datasets],
        "notes": [row.get("notes", "") for row in rows],
        "tags": [row.get("tags", ()) for row in rows],
        "status": [row.get("status", "committed") for row in rows],
        "hyperparameters": [row.get("hyperparameters", {}) for row in rows],
    }


def invalid_record(key: str, kind: str, index: int | str, error: ValidationError) -> CorruptRecord:
    """The error of record ``index`` of pack ``key`` that does not validate."""
    lines = str(error).splitlines()
    detail = "; ".join(line.strip() for line in lines[1:3]) or lines[0]
    return CorruptRecord(
        f"{key!r} holds an invalid {kind} record at index {index} ({detail}); run `mlineage fsck`"
    )


# p[1:] of a row of one parent or none is the empty tuple, which allocates nothing.
_after_the_first = operator.itemgetter(slice(1, None))


def parents_well_formed(ids: list[str], parents: Sequence[Sequence[str]]) -> bool:
    """No version lists itself as a parent, none lists a parent twice (C-level loops: a
    million rows are checked on every load of a million versions)."""
    if any(map(operator.contains, parents, ids)):
        return False
    several = filter(_after_the_first, parents)  # the rows of two parents or more
    return all(len(set(p)) == len(p) for p in several)


def matches_index(
    version: ModelVersion, index: dict[str, Any], row: int, origins: dict[int, tuple[str, str]]
) -> bool:
    """Whether ``version`` is what row ``row`` of a pack's index columns says."""
    metrics = {name: column[row] for name, column in index["metrics"].items()}
    origin = version.origin
    return (
        origins.get(row) == (None if origin is None else (origin.system, origin.id))
        and version.id == index["ids"][row]
        and tuple(version.parents) == tuple(index["parents"][row])
        and version.kind == index["kinds"][row]
        and version.name == index["names"][row]
        and utc_micros(version.created_at) == index["created"][row]
        and version.metrics == {k: v for k, v in metrics.items() if v is not None}
    )
