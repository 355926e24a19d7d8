"""Records <-> JSON bytes, with a format number so later releases can read old stores.

Each stored record is one JSON document::

    {"format": 1, "type": "version", "record": {...ModelVersion fields...}}

``FORMAT`` is the newest format this release writes. Reading a document whose format is
newer raises :class:`~mlineage.errors.StoreFormatError` (upgrade mlineage); anything that
does not decode to a valid record raises :class:`~mlineage.errors.CorruptRecord` naming the
key. Every released format has a test store under ``tests/data/``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from mlineage.errors import CorruptRecord, StoreFormatError
from mlineage.records import Event, ModelVersion

__all__ = [
    "FORMAT",
    "STORE_MARKER_KEY",
    "decode_event",
    "decode_marker",
    "decode_pack",
    "decode_version",
    "encode_event",
    "encode_marker",
    "encode_pack",
    "encode_version",
]

#: Newest record format this release reads and writes.
FORMAT: Literal[1] = 1
#: Key of the store-wide format marker.
STORE_MARKER_KEY = "mlineage.json"


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal[1]


class _VersionDocument(_Envelope):
    type: Literal["version"]
    record: ModelVersion


class _EventDocument(_Envelope):
    type: Literal["event"]
    record: Event


class _PackDocument(_Envelope):
    type: Literal["pack"]
    versions: list[ModelVersion]
    events: list[Event]


_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def encode_version(version: ModelVersion) -> bytes:
    """Serialise a version as a format-``FORMAT`` JSON document."""
    return (
        _VersionDocument(format=FORMAT, type="version", record=version)
        .model_dump_json(exclude_defaults=False)
        .encode()
    )


def encode_event(event: Event) -> bytes:
    """Serialise an event as a format-``FORMAT`` JSON document."""
    return _EventDocument(format=FORMAT, type="event", record=event).model_dump_json().encode()


def _diagnose(data: bytes, key: str, expected: str, error: Exception) -> Exception:
    """Turn a failed decode into StoreFormatError (newer format) or CorruptRecord."""
    try:
        doc: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return CorruptRecord(
            f"{key!r} is not valid JSON (truncated or garbled, {len(data)} bytes); "
            "run `mlineage fsck` to list damaged records"
        )
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
        return StoreFormatError(
            f"{key!r} was written in record format {fmt}, newer than this mlineage reads "
            f"(format {FORMAT}); upgrade mlineage (pip install -U mlineage)"
        )
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
    except ValidationError as exc:
        raise _diagnose(data, key, "version", exc) from None


def decode_event(data: bytes, key: str = "<bytes>") -> Event:
    """Parse a stored event document (see :func:`decode_version` for errors)."""
    try:
        return _EventDocument.model_validate_json(data).record
    except ValidationError as exc:
        raise _diagnose(data, key, "event", exc) from None


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
        doc = json.loads(data)
        fmt = doc["format"]
        if not isinstance(fmt, int) or isinstance(fmt, bool):
            raise TypeError(fmt)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise CorruptRecord(
            f"store marker {STORE_MARKER_KEY!r} in {uri} is damaged; run `mlineage fsck`"
        ) from None
    if fmt > FORMAT:
        raise StoreFormatError(
            f"store {uri} uses format {fmt}, newer than this mlineage reads (format {FORMAT}); "
            "upgrade mlineage (pip install -U mlineage)"
        )
    return fmt


def encode_pack(versions: list[ModelVersion], events: list[Event]) -> bytes:
    """Serialise many records as one pack document (written by ``Tracker.compact``)."""
    return (
        _PackDocument(format=FORMAT, type="pack", versions=versions, events=events)
        .model_dump_json()
        .encode()
    )


def decode_pack(
    data: bytes, key: str = "<bytes>", *, lenient: bool = False
) -> tuple[list[ModelVersion], list[Event], list[CorruptRecord]]:
    """Parse a pack document into its versions and events.

    With ``lenient=False`` any damage raises; with ``lenient=True`` the records that do
    decode are returned together with one :class:`CorruptRecord` per damaged record. A pack
    that lists the same record twice is damaged.

    Raises
    ------
    StoreFormatError
        If the pack was written by a newer mlineage.
    CorruptRecord
        If the pack (or, unless lenient, any record in it) is damaged; the message names
        ``key`` and the record.
    """
    try:
        document = _PackDocument.model_validate_json(data)
        versions, events = document.versions, list(document.events)
        problems: list[CorruptRecord] = []
    except ValidationError as exc:
        envelope = _diagnose(data, key, "pack", exc)
        try:
            doc: Any = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise envelope from None
        if not isinstance(envelope, CorruptRecord) or not (
            isinstance(doc, dict)
            and isinstance(doc.get("versions"), list)
            and isinstance(doc.get("events"), list)
            and doc.get("format") == FORMAT
        ):
            raise envelope from None
        # Salvage record by record, so one damaged record does not hide the others.
        versions, events, problems = [], [], []
        sections: tuple[tuple[str, Callable[[Any], Any], list[Any]], ...] = (
            ("version", ModelVersion.model_validate, versions),
            ("event", _event_adapter.validate_python, events),
        )
        for kind, validate, sink in sections:
            for i, item in enumerate(doc[f"{kind}s"]):
                try:
                    sink.append(validate(item))
                except ValidationError as error:
                    problems.append(
                        CorruptRecord(
                            f"{key!r} holds an invalid {kind} record at index {i}: "
                            f"{str(error).splitlines()[0]}; run `mlineage fsck`"
                        )
                    )
    for kind, ids in (("version", [v.id for v in versions]), ("event", [e.id for e in events])):
        twice = sorted(i for i, n in Counter(ids).items() if n > 1)
        if twice:
            problems.append(
                CorruptRecord(
                    f"{key!r} lists {kind} {twice[0]} more than once; run `mlineage fsck`"
                )
            )
    versions = list({v.id: v for v in versions}.values())
    events = list({e.id: e for e in events}.values())
    if problems and not lenient:
        raise problems[0]
    return versions, events, problems
