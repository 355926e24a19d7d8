"""Events: what is learnt about a version after it was written (a version never changes)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from mlineage._ids import ID_REGEX
from mlineage.records._base import Record, VersionStatus
from mlineage.records._small import Summary
from mlineage.records._version import FingerprintRef

__all__ = [
    "AliasEvent",
    "AnnotationEvent",
    "Event",
    "EvidenceEvent",
    "FingerprintEvent",
    "StatusEvent",
]

#: An evidence kind: ``evidently``, ``gate``, ``nannyml``, a team's own (as a system name).
KIND_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: A blob key (``blobs/sha256/<2 hex>/<62 hex>``), the layout of :mod:`mlineage.content`.
_BLOB_KEY_REGEX = r"^blobs/sha256/[0-9a-f]{2}/[0-9a-f]{62}$"


class _Event(Record):
    id: str = Field(pattern=ID_REGEX)
    model: str
    created_at: AwareDatetime


class AnnotationEvent(_Event):
    """A note and/or tags attached to a version after it was written."""

    type: Literal["annotation"] = "annotation"
    version: str
    notes: str = ""
    tags: tuple[str, ...] = ()


class AliasEvent(_Event):
    """An alias (``production``, ``staging``) moved to a version, or removed (``None``).

    ``effective_at`` is when the move took effect (normally ``created_at``; earlier when
    a past deployment is being recorded after the fact).

    From store format 4 every move is written create-only at the next number of the
    alias's own log, ``seq`` (1, 2, ...): that write is the compare-and-set that
    ``set_alias(..., expect=...)`` relies on. Moves written by older releases have
    ``seq=None`` and come before the log. ``evidence`` is the id of an
    :class:`EvidenceEvent` behind the move (a promotion gate's verdict); ``forced`` and
    ``reason`` record a move made against a refusal, and why.
    """

    type: Literal["alias"] = "alias"
    alias: str
    version: str | None
    effective_at: AwareDatetime
    seq: int | None = Field(default=None, ge=1)
    evidence: str | None = Field(default=None, pattern=ID_REGEX)
    forced: bool = False
    reason: str = ""


class StatusEvent(_Event):
    """A version's lifecycle state changed (deprecated, rolled back, archived, ...)."""

    type: Literal["status"] = "status"
    version: str
    status: VersionStatus
    reason: str = ""


class FingerprintEvent(_Event):
    """A version's behaviour on a probe set, recorded after the version was written."""

    type: Literal["fingerprint"] = "fingerprint"
    version: str
    fingerprint: FingerprintRef


class EvidenceEvent(_Event):
    """What a tool found about a version: a drift report, a gate's verdict, a check's result.

    A small ``summary`` is kept in the record (and so in memory with the lineage); the
    tool's full output, when given, is a content-addressed JSON blob (``payload``) written
    before the event, read back verified by ``tracker.load_evidence(event)``.

    Attributes
    ----------
    version : str
        The version the evidence is about.
    kind : str
        What produced it: ``"evidently"``, ``"gate"``, ``"nannyml"``, a team's own name
        (1-64 ASCII letters, digits, ``.``, ``_``, ``-``).
    summary : dict
        A small flat JSON object (at most 16 KiB: ``str`` keys, scalar or list values),
        e.g. ``{"drift_share": 0.4, "drifted": ["amount"]}``.
    payload : str or None
        Blob key of the full output.
    payload_size : int or None
        Its size in bytes.
    media_type : str or None
        Its media type (``"application/json"``).
    tool, tool_version : str or None
        The tool that produced it and its version (``"evidently"``, ``"0.7.4"``).
    """

    type: Literal["evidence"] = "evidence"
    version: str
    kind: str = Field(pattern=KIND_REGEX)
    summary: Summary = Field(default_factory=dict)
    payload: str | None = Field(default=None, pattern=_BLOB_KEY_REGEX)
    payload_size: int | None = Field(default=None, ge=0)
    media_type: str | None = None
    tool: str | None = None
    tool_version: str | None = None

    @model_validator(mode="after")
    def _payload_described(self) -> EvidenceEvent:
        described = (self.payload_size is not None, self.media_type is not None)
        if described != (self.payload is not None,) * 2:
            raise ValueError("payload, payload_size and media_type are set together or not at all")
        return self


Event = Annotated[
    AnnotationEvent | AliasEvent | StatusEvent | FingerprintEvent | EvidenceEvent,
    Field(discriminator="type"),
]
