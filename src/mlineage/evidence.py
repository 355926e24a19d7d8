"""Evidence on the lineage: what tools found about versions, attached as events.

A tool's output (an Evidently drift report, a promotion gate's verdict, a NannyML
estimate, a team's own check) hangs on the version it is about as an
:class:`~mlineage.records.EvidenceEvent`: a small summary in the record, the full JSON
output as a content-addressed blob written before the record. ``Tracker.attach_evidence``,
``Tracker.evidence`` and ``Tracker.load_evidence`` are these functions of a tracker
(docs/api.md, "Evidence").
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from mlineage import refs
from mlineage._coerce import coerce_small
from mlineage._evidence_table import EvidenceTable
from mlineage.codec import parse_json
from mlineage.content import blob_key_of, read_blob
from mlineage.errors import (
    CorruptRecord,
    EvidenceNotFound,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from mlineage.records import MAX_SUMMARY_BYTES, EvidenceEvent
from mlineage.records._events import KIND_REGEX

if TYPE_CHECKING:
    from mlineage._tracker_protocol import TrackerLike
    from mlineage.refs import Ref

__all__ = [
    "JSON",
    "MAX_PAYLOAD_BYTES",
    "EvidenceTable",
    "attach_evidence",
    "evidence",
    "load_evidence",
    "payload_bytes",
]

#: Largest evidence payload (64 MiB of JSON): it is read whole by ``load_evidence``.
MAX_PAYLOAD_BYTES = 64 << 20
#: The media type of a JSON payload.
JSON = "application/json"
_MAX_TOOL = 128


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity; use null)")


def payload_bytes(payload: object) -> bytes:
    """The bytes to store for an evidence payload, checked to be JSON.

    Parameters
    ----------
    payload : bytes, str, dict or list
        JSON text (``bytes`` in UTF-8, or ``str``), stored exactly as given; or a JSON
        value (``dict``/``list`` of JSON values), stored as compact UTF-8 JSON in its
        own key order.

    Raises
    ------
    InvalidInput
        Not JSON (RFC 8259: no ``NaN`` or ``Infinity``), not UTF-8, or of another type.
    PayloadTooLarge
        Over :data:`MAX_PAYLOAD_BYTES`.

    Examples
    --------
    >>> payload_bytes({"drift_share": 0.5})
    b'{"drift_share":0.5}'
    >>> payload_bytes('{"a": 1}')
    b'{"a": 1}'
    """
    if isinstance(payload, (dict, list)):
        try:
            text = json.dumps(
                payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_plain
            )
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidInput(f"the payload cannot be stored as JSON: {exc}") from None
        data = text.encode()
    elif isinstance(payload, str):
        try:
            data = payload.encode()
        except UnicodeEncodeError as exc:
            raise InvalidInput(f"the payload is not valid text ({exc.reason})") from None
    elif isinstance(payload, (bytes, bytearray, memoryview)):
        data = bytes(payload)
    else:
        raise InvalidInput(
            "payload_json must be JSON text (bytes or str) or a JSON value (dict or list), "
            f"got {type(payload).__name__}"
        )
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"the evidence payload is {len(data):,} bytes; the limit is "
            f"{MAX_PAYLOAD_BYTES:,} (leave raw data and plots out of the tool's output, or "
            "keep the file elsewhere and put its path in the summary); nothing was written"
        )
    try:
        json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the payload is not UTF-8 JSON text ({exc.reason} at byte {exc.start})"
        ) from None
    except RecursionError:
        raise InvalidInput("the payload is JSON nested too deeply to read back") from None
    except ValueError as exc:
        raise InvalidInput(f"the payload is not JSON: {exc}; nothing was written") from None
    return data


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values, for ``json.dumps``."""
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} ({value!r:.40}) is not JSON")


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or re.match(KIND_REGEX, kind) is None:
        raise InvalidInput(
            f"evidence kind must be 1-64 ASCII letters, digits, '.', '_', '-' (such as "
            f"'evidently', 'gate', 'nannyml'), got {kind!r:.60}"
        )
    return kind


def _check_tool(value: object, what: str) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > _MAX_TOOL
        or any(ord(c) < 32 for c in value)
    ):
        raise InvalidInput(
            f"{what} must be a non-empty str of at most {_MAX_TOOL} characters without "
            f"control characters, got {value!r:.60}"
        )
    return value


def attach_evidence(
    tracker: TrackerLike,
    ref: Ref,
    kind: str,
    payload_json: bytes | str | dict[str, Any] | list[Any] | None = None,
    summary: dict[str, Any] | None = None,
    *,
    tool: str | None = None,
    tool_version: str | None = None,
) -> EvidenceEvent:
    """Attach a tool's output to a version as an evidence event (``tracker.attach_evidence``).

    The payload (the tool's full JSON output) is written first, as a content-addressed
    blob, then the :class:`~mlineage.records.EvidenceEvent` that points at it; bad input
    writes nothing.

    Parameters
    ----------
    ref : str or ModelVersion
        The version the evidence is about (id, prefix, name, alias).
    kind : str
        What produced it: ``"evidently"``, ``"gate"``, ``"nannyml"``, a team's own name
        (1-64 ASCII letters, digits, ``.``, ``_``, ``-``).
    payload_json : bytes, str, dict or list, optional
        JSON text (UTF-8 ``bytes`` or ``str``, stored byte for byte) or a JSON value
        (stored as compact JSON); strict JSON (no ``NaN``), at most 64 MiB.
    summary : dict, optional
        A small flat JSON object kept in the record (at most 16 KiB): ``str`` keys,
        values that are numbers, strings, booleans, None or flat lists of them.
    tool, tool_version : str, optional
        The tool and its version (``"evidently"``, ``"0.7.4"``).

    Returns
    -------
    EvidenceEvent
        The stored event (``tracker.load_evidence(event)`` reads the payload back).

    Raises
    ------
    InvalidInput
        A bad kind, summary, tool or payload, or neither payload nor summary.
    PayloadTooLarge
        A payload over 64 MiB.
    VersionNotFound, AmbiguousReference, ReadOnlyError

    Examples
    --------
    >>> import mlineage as ml
    >>> t = ml.Tracker("doc-evidence", storage="memory://evidence-doc", capture_environment=False)
    >>> v = t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"))
    >>> e = t.attach_evidence(v, "my-checks", {"rows": 10, "ok": True}, {"ok": True})
    >>> t.load_evidence(e), e.summary
    ({'rows': 10, 'ok': True}, {'ok': True})
    """
    writer = tracker._writer
    writer.check_writable("attach evidence")
    version = refs.get_version(tracker._index, ref)
    fields: dict[str, Any] = {
        "version": version.id,
        "kind": _check_kind(kind),
        "summary": coerce_small(summary, "summary", MAX_SUMMARY_BYTES),
        "tool": _check_tool(tool, "tool"),
        "tool_version": _check_tool(tool_version, "tool_version"),
    }
    blobs = {}
    if payload_json is not None:
        data = payload_bytes(payload_json)
        key = blob_key_of(data)
        fields.update(payload=key, payload_size=len(data), media_type=JSON)
        blobs[key] = data
    elif not fields["summary"]:
        raise InvalidInput("attach_evidence() needs a payload, a summary or both")
    return writer.event(EvidenceEvent, blobs=blobs, **fields)


def load_evidence(tracker: TrackerLike, event: EvidenceEvent | str, *, raw: bool = False) -> Any:
    """The payload of an evidence event, verified against its digest
    (``tracker.load_evidence``).

    Parameters
    ----------
    event : EvidenceEvent or str
        The event, or its id.
    raw : bool
        Return the stored bytes instead of the parsed JSON.

    Returns
    -------
    object or bytes
        The JSON value (``dict``, ``list``, ...), or its bytes with ``raw=True``.

    Raises
    ------
    EvidenceNotFound
        No such evidence event in the model (``tracker.refresh()`` to see events written
        since), or it was attached without a payload.
    HashMismatch, CorruptRecord
        The payload blob is damaged or missing (``mlineage fsck`` reports it).
    """
    index = tracker._index
    event_id = event.id if isinstance(event, EvidenceEvent) else event
    found = index.events.get(event_id) if isinstance(event_id, str) else None
    if not isinstance(found, EvidenceEvent):
        raise EvidenceNotFound(
            f"no evidence event {event_id!r:.40} in model {index.model!r} (tracker.refresh() "
            "loads events written since this tracker looked)"
        )
    if found.payload is None:
        raise EvidenceNotFound(
            f"evidence {found.id} ({found.kind}) was attached without a payload: its "
            "summary is all there is (event.summary)"
        )
    try:
        data = read_blob(tracker.store, found.payload, "evidence payload")
    except NotFound:
        raise CorruptRecord(
            f"the payload blob {found.payload} of evidence {found.id} is missing; "
            "run `mlineage fsck`"
        ) from None
    if raw:
        return data
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError):
        raise CorruptRecord(
            f"the payload blob {found.payload} of evidence {found.id} is not JSON; "
            "run `mlineage fsck`"
        ) from None


def evidence(tracker: TrackerLike, kind: str | None = None, on: Ref | None = None) -> EvidenceTable:
    """The evidence attached to a model's versions (``tracker.evidence``).

    Parameters
    ----------
    kind : str, optional
        Only evidence of this kind (``"evidently"``, ``"gate"``).
    on : str or ModelVersion, optional
        Only evidence on the first-parent history of this version, newest version first
        (each version's evidence newest first); default: every evidence event of the
        model, newest first.

    Returns
    -------
    EvidenceTable

    Raises
    ------
    InvalidInput, VersionNotFound
    """
    index = tracker._index
    if kind is not None:
        _check_kind(kind)
    with index.lock:
        head = None
        if on is None:
            events = [e for e in reversed(index.evidence) if kind is None or e.kind == kind]
        else:
            head = refs.get_version(index, on).id
            events = []
            for position in index.graph.first_parent_indices(head):
                about = index.version_events.get(index.graph.node(position).id, ())
                events += [
                    e
                    for e in reversed(about)
                    if isinstance(e, EvidenceEvent) and (kind is None or e.kind == kind)
                ]
        wanted = {e.version for e in events}
        names = {v: n for n, v in index.names.items() if v in wanted}
    return EvidenceTable(tuple(events), names, kind=kind, on=head)
