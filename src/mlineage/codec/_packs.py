"""Packs: many records of one model in one object, for fast loading.

:func:`read_pack` builds a tracker's lineage from a format-2 pack's index and leaves every
version record unread until something looks at it; :func:`decode_pack` decodes and checks
everything (for fsck). The layout is in docs/storage-format.md.
"""

from __future__ import annotations

import json
import mmap
import operator
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic_core import from_json
from typing_extensions import NotRequired, TypedDict

from mlineage._columns import VersionColumns, table_fields
from mlineage._ids import ID_REGEX
from mlineage.codec._documents import (
    FORMAT,
    check_format,
    diagnose,
    event_adapter,
    parse_json,
)
from mlineage.codec._pack_fields import (
    encode_table,
    invalid_record,
    matches_index,
    parents_well_formed,
    table_rows,
)
from mlineage.codec._pack_frame import Checksum, check_body, ends_at
from mlineage.codec._pack_source import PackSource
from mlineage.errors import CorruptRecord, StoreFormatError
from mlineage.records import Event, ModelVersion

__all__ = ["PackContents", "decode_pack", "encode_pack", "pack_listed_ids", "read_pack"]


class _PackDocument(BaseModel):  # format 1 packs
    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal[1]
    type: Literal["pack"]
    versions: list[ModelVersion]
    events: list[Event]


# -- packs ----------------------------------------------------------------------------------
#
# A format-2 pack is one JSON document laid out in lines:
#
#   {"format":2,"type":"pack","model":M,"versions":N,"events":K,"crc32":C,"index":{...},"records":[
#   <version record>,
#   ... N version records, then K event records, one per line ...
#   null]}
#
# The header line holds everything a reader needs to build the lineage (the index, as
# columns) and a CRC-32 of the rest (the body). ``index.offsets[i]`` is where record ``i``'s
# line starts in the body; a record line is its JSON followed by ",\n". Record JSON never
# holds a raw newline, so the layout is unambiguous, and the whole object is still valid
# JSON (an older mlineage reads "format 2" and says to upgrade).
#
# Format 5 adds a second line, the table, between the header and the body:
#
#   {"format":5,"type":"pack",...,"index":{...},
#   "table":{"dataset_hash":[...],...,"hyperparameters":[...]},"records":[
#
# the fields of TABLE_FIELDS that the index does not hold, as columns (what
# ``Tracker.to_pandas`` shows), parsed only when a table is asked for: a tenth of what
# parsing the records for them costs. The CRC-32 covers the table line and the body.

_PACK_HEAD_END = b',"records":[\n'
_TABLE_START = b'"table":'
_PACK_END = b"null]}\n"
_event_list_adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def encode_pack(versions: list[ModelVersion], events: list[Event]) -> bytes:
    """Serialise many records of one model as one pack (written by ``Tracker.compact``)."""
    records: list[ModelVersion | Event] = [*versions, *events]
    if not records:
        raise ValueError("a pack holds at least one record")
    lines = [record.model_dump_json().encode() for record in records]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 2)
    body = b"".join([line + b",\n" for line in lines]) + _PACK_END
    columns = VersionColumns.from_versions(versions)
    table_line = _TABLE_START + encode_table(versions) + _PACK_HEAD_END
    checked = table_line + body
    header = {
        "format": FORMAT,
        "type": "pack",
        "model": records[0].model,
        "versions": len(versions),
        "events": len(events),
        "crc32": zlib.crc32(checked),
        "index": {
            "ids": columns.ids,
            "parents": [list(p) for p in columns.parents],
            "kinds": columns.kinds,
            "names": columns.names,
            "created": columns.created,
            "metrics": columns.metrics,
            "origins": [list(origin) for origin in columns.origins],
            "offsets": offsets,
        },
    }
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return head[:-1] + b",\n" + checked


@dataclass
class _PackLayout:
    """A parsed format-2 header: counts, index columns and where the body starts."""

    model: str
    versions: int
    events: int
    crc32: int
    index: dict[str, Any]
    body: int  # offset of the body in the pack's bytes
    checked: int = -1  # where the bytes the CRC covers start (-1: at the body)
    table: tuple[int, int] | None = None  # the table's JSON object (format 5)


_VersionId = Annotated[str, StringConstraints(pattern=ID_REGEX)]


class _PackIndex(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]
    ids: list[_VersionId]
    # Tuples, as ModelVersion.parents: 10^6 lists would add 32 MiB to a load's peak.
    parents: list[tuple[_VersionId, ...]]
    kinds: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]]
    names: list[str | None]
    created: list[int]
    metrics: dict[str, list[float | None]]
    # Format 4: (row, system, id) of each version imported from another system.
    origins: NotRequired[list[tuple[Annotated[int, Field(ge=0)], str, str]]]
    offsets: list[Annotated[int, Field(ge=0)]]


class _PackHeader(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]
    format: Literal[2, 3, 4, 5]
    type: Literal["pack"]
    model: str
    versions: Annotated[int, Field(ge=0)]
    events: Annotated[int, Field(ge=0)]
    crc32: int
    index: _PackIndex


# Parses and type-checks a header in one pass in pydantic-core (ids, parents, kinds, times
# and metrics of 10^4 versions in about a millisecond each).
_pack_header_adapter: TypeAdapter[_PackHeader] = TypeAdapter(_PackHeader)


def _pack_header(data: bytes | mmap.mmap, key: str) -> _PackLayout | None:
    """The format-2 header of a pack, or None if ``data`` is not a format-2 pack.

    Raises
    ------
    StoreFormatError
        If the header says a format newer than this release reads.
    CorruptRecord
        If it starts like a format-2 pack but the header is damaged.
    """
    newline = data.find(b"\n")
    if newline < 0:
        return None
    body, table = newline + 1, None
    if ends_at(data, body, _PACK_HEAD_END):
        head = data[: body - len(_PACK_HEAD_END)] + b"}"
    elif data[newline - 1 : body + len(_TABLE_START)] == b",\n" + _TABLE_START:
        # format 5: the table's line follows the header's
        head = data[: newline - 1] + b"}"
        end = data.find(b"\n", body)
        if end < 0 or not ends_at(data, end + 1, _PACK_HEAD_END):
            return None
        table = (body + len(_TABLE_START), end + 1 - len(_PACK_HEAD_END))
        body = end + 1
    else:
        return None
    try:
        header = _pack_header_adapter.validate_json(head)
    except ValidationError as error:
        try:
            rough: Any = from_json(head)
        except ValueError:
            return None
        if not isinstance(rough, dict) or rough.get("type") != "pack":
            return None
        fmt = rough.get("format")
        check_format(fmt, f"pack {key!r}")
        if fmt not in (2, 3, 4, 5):
            return None
        detail = str(error).splitlines()
        raise CorruptRecord(
            f"{key!r} has a damaged pack header ({'; '.join(detail[1:3]).strip()}); "
            "run `mlineage fsck`"
        ) from None
    index, n = header["index"], header["versions"]
    layout = _PackLayout(
        model=header["model"],
        versions=n,
        events=header["events"],
        crc32=header["crc32"],
        index=dict(index),
        body=body,
        checked=newline + 1 if table is not None else body,
        table=table,
    )
    offsets = index["offsets"]
    columns = (index["ids"], index["parents"], index["kinds"], index["names"], index["created"])
    origin_rows = [origin[0] for origin in index.get("origins", ())]
    if not (
        all(row < n for row in origin_rows)
        and origin_rows == sorted(set(origin_rows))
        and all(len(column) == n for column in columns)
        and all(len(column) == n for column in index["metrics"].values())
        and len(offsets) == n + layout.events + 1
        and offsets[0] == 0
        and offsets[-1] == len(data) - layout.body - len(_PACK_END)
        and all(map(operator.lt, offsets, offsets[1:]))  # strictly increasing
        and parents_well_formed(index["ids"], index["parents"])
        and (table is None) == (header["format"] < 5)
    ):
        raise CorruptRecord(
            f"{key!r} has a damaged pack header (index columns of the wrong length, a version "
            "listing a parent twice or itself, origins out of order, or record offsets out of "
            "order or not ending where the pack does: truncated?); run `mlineage fsck`"
        )
    return layout


@dataclass
class PackContents:
    """What :func:`read_pack` found: versions as columns, events, and damage (lenient)."""

    versions: VersionColumns
    events: list[Event]
    problems: list[CorruptRecord] = field(default_factory=list)


def read_pack(
    data: bytes | mmap.mmap, key: str, model: str, *, lenient: bool = False
) -> PackContents:
    """Read a pack for loading a model's lineage.

    A format-2 pack's versions come from its index, as unread (lazy) records: reading
    10,000 of them costs a checksum and a few list operations, not 10,000 decodes. Events
    and format-1 packs are decoded in full. ``data`` may be a memory map of the pack
    (``Store.map_limited``): its records are then read from the map when looked at, and
    the pages the checksum touched are handed back to the OS.

    Raises
    ------
    StoreFormatError
        If the pack was written by a newer mlineage.
    CorruptRecord
        Unless ``lenient``: if the pack is damaged (checksum, header, a record twice) or
        holds records of a model other than ``model``. With ``lenient`` the intact
        records are returned along with the problems.
    """
    checksum = Checksum(data)  # on a second thread while the header parses
    try:
        layout = _pack_header(data, key)
    except CorruptRecord:
        if not lenient:
            raise
        layout = None  # decode_pack salvages what it can, line by line
    finally:
        checksum.wait()
    if layout is not None and check_body(data, key, layout.checked, layout.crc32, checksum) is None:
        if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            data.madvise(mmap.MADV_DONTNEED)  # read back from the file when touched
        if layout.model != model:
            raise CorruptRecord(
                f"pack {key!r} holds records of model {layout.model!r}, not {model!r}; "
                "run `mlineage fsck`"
            )
        index = layout.index
        ids: list[str] = index["ids"]
        problems = _repeats("version", ids, key)
        source = PackSource(
            key,
            model,
            data,
            layout.body,
            index["offsets"],
            layout.versions,
            table=layout.table,
            names=index["names"],
        )
        columns = VersionColumns.unread(source, index, index.get("origins", []))
        events: list[Event] = []
        if layout.events:
            first = layout.body + index["offsets"][layout.versions]
            region = data[first : len(data) - len(_PACK_END) - 2]
            try:
                events = _event_list_adapter.validate_json(b"[" + region + b"]")
            except ValidationError:
                _, events, event_problems = _decode_lines(bytes(data), key, layout)
                problems += event_problems
        problems += _repeats("event", [e.id for e in events], key)
        problems += [
            CorruptRecord(
                f"pack {key!r} holds event {e.id} of another model ({e.model!r}); "
                "run `mlineage fsck`"
            )
            for e in events
            if e.model != model
        ]
        events = list({e.id: e for e in events if e.model == model}.values())
        if problems and not lenient:
            raise problems[0]
        return PackContents(columns, events, problems)
    versions, events, problems = decode_pack(bytes(data), key, lenient=lenient)
    for record in [*versions, *events]:
        if record.model != model:
            problem = CorruptRecord(
                f"pack {key!r} holds record {record.id} of another model "
                f"({record.model!r}); run `mlineage fsck`"
            )
            if not lenient:
                raise problem
            problems.append(problem)
    return PackContents(
        VersionColumns.from_versions(v for v in versions if v.model == model),
        [e for e in events if e.model == model],
        problems,
    )


def _repeats(kind: str, ids: list[str], key: str) -> list[CorruptRecord]:
    if len(set(ids)) == len(ids):
        return []
    twice = sorted(i for i, n in Counter(ids).items() if n > 1)
    return [CorruptRecord(f"{key!r} lists {kind} {twice[0]} more than once; run `mlineage fsck`")]


def _record_lines(data: bytes, layout: _PackLayout) -> list[bytes]:
    """The record JSON of each body line (damaged ones too), in order."""
    lines = data[layout.body :].split(b"\n")
    return [
        line[:-1] if line.endswith(b",") else line
        for line in lines
        if line and line != _PACK_END[:-1]
    ]


def _decode_lines(
    data: bytes, key: str, layout: _PackLayout, *, index_known: bool = True
) -> tuple[list[ModelVersion], list[Event], list[CorruptRecord]]:
    """Decode a format-2 body record by record, so one damaged record hides no other.

    With the index known, each version is also checked against its index row (id,
    parents, kind, name, time, metrics): a record that disagrees is reported, not kept.
    A format-5 pack's table row that disagrees with its record is reported too (the
    record is kept: only a table of versions would show the table's values).
    """
    versions: list[ModelVersion] = []
    events: list[Event] = []
    problems: list[CorruptRecord] = []
    table = None
    if index_known and layout.table is not None:
        start, end = layout.table
        table = table_rows(data[start:end], key, layout.versions, problems)
    origins = {row: (system, id_) for row, system, id_ in layout.index.get("origins", ())}
    for i, line in enumerate(_record_lines(data, layout)):
        is_version = i < layout.versions if index_known else b'"dataset":' in line
        kind = "version" if is_version else "event"
        try:
            if is_version:
                version = ModelVersion.model_validate_json(line)
                if index_known and not matches_index(version, layout.index, i, origins):
                    problems.append(
                        CorruptRecord(
                            f"{key!r} holds a version record at index {i} that does not "
                            "match the pack's index; run `mlineage fsck`"
                        )
                    )
                    continue
                if table is not None and table_fields(version)[1:] != table[i]:
                    problems.append(
                        CorruptRecord(
                            f"{key!r} holds a version record at index {i} that does not "
                            "match the pack's table; run `mlineage fsck`"
                        )
                    )
                versions.append(version)
            else:
                events.append(event_adapter.validate_json(line))
        except ValidationError as error:
            problems.append(invalid_record(key, kind, i, error))
    return versions, events, problems


def decode_pack(
    data: bytes, key: str = "<bytes>", *, lenient: bool = False
) -> tuple[list[ModelVersion], list[Event], list[CorruptRecord]]:
    """Decode and check every record of a pack (any format), as ``mlineage fsck`` does.

    With ``lenient=False`` any damage raises; with ``lenient=True`` the records that do
    decode are returned together with one :class:`CorruptRecord` per problem: a damaged
    record, a failed checksum, a record listed twice, an index that disagrees with its
    records.

    Raises
    ------
    StoreFormatError
        If the pack was written by a newer mlineage.
    CorruptRecord
        If the pack (or, unless lenient, any record in it) is damaged; the message names
        ``key`` and the record.
    """
    try:
        layout = _pack_header(data, key)
    except CorruptRecord as damage:
        if not lenient:
            raise
        # Salvage line by line; without the index, a line is a version if it has a dataset.
        body = data.find(b"\n") + 1
        if data.startswith(_TABLE_START, body):  # format 5: the table's line is no record
            body = data.find(b"\n", body) + 1
        rough = _PackLayout("", 0, 0, 0, {}, body)
        versions, events, problems = _decode_lines(data, key, rough, index_known=False)
        problems.insert(0, damage)
    else:
        if layout is not None:
            versions, events, problems = _decode_lines(data, key, layout)
            failed = check_body(data, key, layout.checked, layout.crc32)
            if failed is not None:
                problems.insert(0, failed)
        else:
            versions, events, problems = _decode_pack_1(data, key)
    problems += _repeats("version", [v.id for v in versions], key)
    problems += _repeats("event", [e.id for e in events], key)
    versions = list({v.id: v for v in versions}.values())
    events = list({e.id: e for e in events}.values())
    if problems and not lenient:
        raise problems[0]
    return versions, events, problems


def _decode_pack_1(
    data: bytes, key: str
) -> tuple[list[ModelVersion], list[Event], list[CorruptRecord]]:
    """Decode a format-1 pack (one JSON document with lists of records)."""
    try:
        document = _PackDocument.model_validate_json(data)
        return document.versions, list(document.events), []
    except ValidationError as exc:
        envelope = diagnose(data, key, "pack", exc)
    try:
        doc: Any = parse_json(data)
    except (ValueError, UnicodeDecodeError):
        raise envelope from None
    if not isinstance(envelope, CorruptRecord) or not (
        isinstance(doc, dict)
        and isinstance(doc.get("versions"), list)
        and isinstance(doc.get("events"), list)
        and doc.get("format") == 1
    ):
        raise envelope from None
    # Salvage record by record, so one damaged record does not hide the others.
    versions: list[ModelVersion] = []
    events: list[Event] = []
    problems: list[CorruptRecord] = []
    sections: tuple[tuple[str, Callable[[Any], Any], list[Any]], ...] = (
        ("version", ModelVersion.model_validate, versions),
        ("event", event_adapter.validate_python, events),
    )
    for kind, validate, sink in sections:
        for i, item in enumerate(doc[f"{kind}s"]):
            try:
                sink.append(validate(item))
            except ValidationError as error:
                problems.append(invalid_record(key, kind, i, error))
    return versions, events, problems


def pack_listed_ids(data: bytes) -> dict[str, list[str]]:
    """Record kind -> the ids a pack lists (repeats included, damaged records too).

    Best effort, for fsck: an unreadable pack lists nothing.
    """
    try:
        layout = _pack_header(data, "<pack>")
    except (CorruptRecord, StoreFormatError):
        layout = None
    out: dict[str, list[str]] = {}
    if layout is not None:
        out["version"] = list(layout.index["ids"])
        out["event"] = []
        for line in _record_lines(data, layout)[layout.versions :]:
            try:
                item = parse_json(line)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                out["event"].append(item["id"])
        return out
    try:
        doc = parse_json(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    for kind, field_name in (("version", "versions"), ("event", "events")):
        items = doc.get(field_name) if isinstance(doc, dict) else None
        if isinstance(items, list):
            out[kind] = [
                i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)
            ]
    return out
