"""Events: what is learnt about a version after it was written (a version never changes)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from mlineage._ids import ID_REGEX
from mlineage.records._base import Record, VersionStatus
from mlineage.records._version import FingerprintRef

__all__ = ["AliasEvent", "AnnotationEvent", "Event", "FingerprintEvent", "StatusEvent"]


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
    """

    type: Literal["alias"] = "alias"
    alias: str
    version: str | None
    effective_at: AwareDatetime


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


Event = Annotated[
    AnnotationEvent | AliasEvent | StatusEvent | FingerprintEvent, Field(discriminator="type")
]
