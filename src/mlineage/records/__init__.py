"""The immutable records mlineage stores: versions, data snapshots, environments, events.

Every record is a frozen pydantic model that refuses unknown fields (a bad or unknown
field raises :class:`~mlineage.errors.InvalidRecord`). A version is never rewritten; what
is learnt later (a note, a tag, an alias move, a status change, a fingerprint) is a new
*event* that points at it.
"""

from mlineage._lazy import is_lazy, lazy_version, lazy_versions
from mlineage.records._base import (
    MAX_NAME_LENGTH,
    Record,
    VersionStatus,
    explain_validation,
    validate_name,
)
from mlineage.records._data import ArtifactRef, DataSnapshot, EnvironmentSnapshot
from mlineage.records._events import (
    AliasEvent,
    AnnotationEvent,
    Event,
    FingerprintEvent,
    StatusEvent,
)
from mlineage.records._version import FingerprintRef, ModelVersion

__all__ = [
    "MAX_NAME_LENGTH",
    "AliasEvent",
    "AnnotationEvent",
    "ArtifactRef",
    "DataSnapshot",
    "EnvironmentSnapshot",
    "Event",
    "FingerprintEvent",
    "FingerprintRef",
    "ModelVersion",
    "Record",
    "StatusEvent",
    "VersionStatus",
    "explain_validation",
    "is_lazy",
    "lazy_version",
    "lazy_versions",
    "validate_name",
]
