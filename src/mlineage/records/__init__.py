"""The immutable records mlineage stores: versions, data snapshots, environments, events.

Every record is a frozen pydantic model that refuses unknown fields (a bad or unknown
field raises :class:`~mlineage.errors.InvalidRecord`). A version is never rewritten; what
is learnt later (a note, a tag, an alias move, a status change, a fingerprint, a tool's
evidence) is a new *event* that points at it.
"""

from mlineage.records._base import (
    MAX_NAME_LENGTH,
    Record,
    VersionStatus,
    explain_validation,
    validate_name,
)
from mlineage.records._built import checked_version, version_json
from mlineage.records._data import (
    ArtifactRef,
    DataSnapshot,
    EnvironmentSnapshot,
    hold_blob,
    pending_blob,
)
from mlineage.records._edge import LineageEdge
from mlineage.records._events import (
    AliasEvent,
    AnnotationEvent,
    Event,
    EvidenceEvent,
    FingerprintEvent,
    StatusEvent,
)
from mlineage.records._lazy import RecordCache, VersionSource, is_lazy
from mlineage.records._small import MAX_ORIGIN_EXTRA_BYTES, MAX_SUMMARY_BYTES
from mlineage.records._version import (
    EnvironmentReader,
    FingerprintRef,
    ModelVersion,
    Origin,
    bind_environments,
    lazy_version,
    lazy_versions,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_ORIGIN_EXTRA_BYTES",
    "MAX_SUMMARY_BYTES",
    "AliasEvent",
    "AnnotationEvent",
    "EnvironmentReader",
    "ArtifactRef",
    "DataSnapshot",
    "EnvironmentSnapshot",
    "Event",
    "EvidenceEvent",
    "FingerprintEvent",
    "FingerprintRef",
    "LineageEdge",
    "ModelVersion",
    "Origin",
    "Record",
    "RecordCache",
    "StatusEvent",
    "VersionSource",
    "VersionStatus",
    "bind_environments",
    "explain_validation",
    "hold_blob",
    "is_lazy",
    "checked_version",
    "lazy_version",
    "lazy_versions",
    "version_json",
    "pending_blob",
    "validate_name",
]
