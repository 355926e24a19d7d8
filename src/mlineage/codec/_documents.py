"""One-record documents: versions, events, the store marker and name claims.

Each is one JSON document with a ``"format"`` number; :func:`check_format` is the one place
that decides that a document is newer than this release reads.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from mlineage._ids import ID_PATTERN
from mlineage._text import surrogate_message
from mlineage.errors import CorruptRecord, InvalidInput, StoreFormatError
from mlineage.records import Event, ModelVersion, version_json

__all__ = [
    "FORMAT",
    "MAX_PACK_SIZE",
    "MAX_RECORD_SIZE",
    "READ_FORMATS",
    "STORE_MARKER_KEY",
    "check_format",
    "decode_claim",
    "decode_event",
    "decode_marker",
    "decode_version",
    "encode_claim",
    "encode_event",
    "encode_marker",
    "encode_version",
    "parse_json",
]

#: Newest record format this release reads and writes.
FORMAT: Literal[5] = 5
#: Every format this release reads.
READ_FORMATS = (1, 2, 3, 4, 5)
#: Key of the store-wide format marker.
STORE_MARKER_KEY = "mlineage.json"
#: Largest loose record, event, name claim or store marker read (16 MiB); readers pass it
#: to :meth:`Store.get_limited <mlineage.storage.Store.get_limited>`. A record is a few
#: KiB; anything this big was not written by mlineage.
MAX_RECORD_SIZE = 16 << 20
#: Largest pack read (1 GiB): a pack holds at most 10,000 records.
MAX_PACK_SIZE = 1 << 30
_UPGRADE = "upgrade mlineage (pip install -U mlineage)"


def parse_json(data: bytes | str) -> Any:
    """``json.loads`` that reports nesting too deep to parse as invalid JSON (ValueError).

    A hostile store can hold ``[[[[...`` 200,000 deep, which makes the standard parser
    raise ``RecursionError``: that is damage, reported like any other.
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def check_format(fmt: object, what: str) -> None:
    """Raise :class:`StoreFormatError` if ``fmt`` is a format newer than this release reads.

    ``what`` names the document in the message (``"'models/m/versions/x.json' was
    written in record format 3"``).
    """
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
        raise StoreFormatError(
            f"{what} was written in format {fmt}, newer than this mlineage reads "
            f"(format {FORMAT}); {_UPGRADE}"
        )


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal[1, 2, 3, 4, 5]


class _VersionDocument(_Envelope):
    type: Literal["version"]
    record: ModelVersion


class _EventDocument(_Envelope):
    type: Literal["event"]
    record: Event


event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def encode_version(version: ModelVersion) -> bytes:
    """Serialise a version as a format-``FORMAT`` JSON document.

    Raises
    ------
    InvalidInput
        If a string of the record (a field, a dict key, a list item) holds a lone
        surrogate; the message names it.
    """
    # The envelope's JSON around the record's own: what _VersionDocument(...).model_dump_json()
    # gives, byte for byte, without making and walking the envelope model on every log.
    return _VERSION_HEAD + _encode(version, "version") + b"}"


def encode_event(event: Event) -> bytes:
    """Serialise an event as a format-``FORMAT`` JSON document.

    Raises
    ------
    InvalidInput
        As :func:`encode_version`.
    """
    return _encode(_EventDocument(format=FORMAT, type="event", record=event), event.type)


_VERSION_HEAD = b'{"format":%d,"type":"version","record":' % FORMAT


# U+FFFD in UTF-8: what pydantic writes for a lone surrogate in a dict key.
_REPLACEMENT = "\ufffd".encode()


def _encode(document: ModelVersion | _EventDocument, what: str) -> bytes:
    # Text that is not Unicode (a lone surrogate, from os.fsdecode of a name that is not
    # UTF-8) must be refused, never stored altered. Encoding finds it for free: pydantic
    # raises on one in a value and writes U+FFFD for one in a dict key; only then (or for
    # a genuine U+FFFD) is the record searched, to name the field.
    try:
        if isinstance(document, ModelVersion):
            data = version_json(document)
        else:
            data = document.__pydantic_serializer__.to_json(document)
    except PydanticSerializationError:
        problem = surrogate_message(_record(document), what)
        if problem is None:
            raise
        raise InvalidInput(f"{problem}; nothing was written") from None
    if _REPLACEMENT in data:
        problem = surrogate_message(_record(document), what)
        if problem is not None:
            raise InvalidInput(f"{problem}; nothing was written")
    return data


def _record(document: ModelVersion | _EventDocument) -> ModelVersion | Event:
    return document if isinstance(document, ModelVersion) else document.record


def diagnose(data: bytes, key: str, expected: str, error: Exception) -> Exception:
    """Turn a failed decode into StoreFormatError (newer format) or CorruptRecord."""
    try:
        doc: Any = parse_json(data)
    except (ValueError, UnicodeDecodeError):
        return CorruptRecord(
            f"{key!r} is not valid JSON (truncated, garbled or nested too deeply, "
            f"{len(data)} bytes); run `mlineage fsck` to list damaged records"
        )
    fmt = doc.get("format") if isinstance(doc, dict) else None
    try:
        check_format(fmt, f"{key!r}")
    except StoreFormatError as newer:
        return newer
    if not isinstance(doc, dict) or doc.get("type") != expected or fmt is None:
        return CorruptRecord(
            f"{key!r} is not a {expected} record (format/type header missing or wrong); "
            "run `mlineage fsck` to list damaged records"
        )
    detail = str(error).splitlines()
    summary = "; ".join(detail[1:3]).strip() if len(detail) > 1 else str(error)
    return CorruptRecord(
        f"{key!r} holds an invalid {expected} record ({summary}); "
        "run `mlineage fsck` to list damaged records"
    )


def decode_version(data: bytes, key: str = "<bytes>") -> ModelVersion:
    """Parse a stored version document.

    Raises
    ------
    StoreFormatError
        If the document was written by a newer mlineage.
    CorruptRecord
        If the bytes are not a valid version record; the message names ``key``.
    """
    try:
        return _VersionDocument.model_validate_json(data).record
    except (ValidationError, RecursionError) as exc:
        raise diagnose(data, key, "version", exc) from None


def decode_event(data: bytes, key: str = "<bytes>") -> Event:
    """Parse a stored event document (see :func:`decode_version` for errors)."""
    try:
        return _EventDocument.model_validate_json(data).record
    except (ValidationError, RecursionError) as exc:
        raise diagnose(data, key, "event", exc) from None


def encode_marker() -> bytes:
    """The store-wide marker written once at the store root."""
    return json.dumps({"format": FORMAT, "kind": "mlineage-store"}).encode()


def decode_marker(data: bytes, uri: str) -> int:
    """Return the store format recorded in the marker, refusing newer ones.

    Raises
    ------
    StoreFormatError
        If the store was written by a newer mlineage.
    CorruptRecord
        If the marker is damaged.
    """
    try:
        doc = parse_json(data)
        fmt = doc["format"]
        if not isinstance(fmt, int) or isinstance(fmt, bool):
            raise TypeError(fmt)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise CorruptRecord(
            f"store marker {STORE_MARKER_KEY!r} in {uri} is damaged; run `mlineage fsck`"
        ) from None
    check_format(fmt, f"store {uri}")
    return fmt


def encode_claim(name: str, version_id: str) -> bytes:
    """The claim of version name ``name`` for ``version_id`` (``models/<m>/names/<name>.json``)."""
    return json.dumps(
        {"format": FORMAT, "type": "name", "name": name, "version": version_id}
    ).encode()


def decode_claim(data: bytes, key: str, name: str) -> str:
    """Return the version id a name claim holds.

    Raises
    ------
    StoreFormatError
        If the claim was written by a newer mlineage.
    CorruptRecord
        If it is not a valid claim of ``name``.
    """
    try:
        doc = parse_json(data)
    except (ValueError, UnicodeDecodeError):
        raise CorruptRecord(
            f"name claim {key!r} is not valid JSON (truncated, garbled or nested too deeply, "
            f"{len(data)} bytes)"
        ) from None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    check_format(fmt, f"name claim {key!r}")
    holder = doc.get("version") if isinstance(doc, dict) else None
    if (
        not isinstance(doc, dict)
        or fmt not in READ_FORMATS
        or doc.get("type") != "name"
        or doc.get("name") != name
        or not isinstance(holder, str)
        or ID_PATTERN.match(holder) is None
    ):
        raise CorruptRecord(
            f"{key!r} is not a valid claim of name {name!r} (expected format, type 'name', "
            "the name and a version id)"
        )
    return holder
