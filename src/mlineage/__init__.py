"""mlineage: git-like lineage for continually trained ML models.

Record every update of a model as an immutable version in a lineage DAG (checkpoint, data
snapshot, hyperparameters, environment, metrics, notes), then ask the history questions:
which update broke this metric, what was running on a given day, what changed between
two versions.

>>> import mlineage as ml
>>> tracker = ml.Tracker("fraud-detector", storage="memory://init-doc")
>>> with tracker.log_version() as v:
...     v.model_path = "model.pt"
...     v.dataset = ml.DataSnapshot(path="data/jan/", hash="sha256:abc123")
...     v.metrics = {"accuracy": 0.94}
>>> tracker.history()[0].metrics["accuracy"]
0.94
"""

from typing import TYPE_CHECKING

from mlineage import _old_paths, _optional
from mlineage._version import __version__
from mlineage.blame import BlameReport, BlameStep
from mlineage.checkout import Checkout
from mlineage.diff import VersionDiff
from mlineage.errors import (
    AliasConflict,
    AliasNotFound,
    AlreadyExists,
    AmbiguousReference,
    CheckoutError,
    CorruptRecord,
    EvidenceNotFound,
    FingerprintNotFound,
    HashMismatch,
    InvalidHyperparameter,
    InvalidInput,
    InvalidKey,
    InvalidMetric,
    InvalidName,
    InvalidPolicy,
    InvalidRecord,
    InvalidTime,
    LookupFailed,
    MetricNotFound,
    MissingDependency,
    MissingField,
    MLineageError,
    ModelNotFound,
    NameTaken,
    NotFound,
    PathChanged,
    PathNotFound,
    PayloadTooLarge,
    PermissionDenied,
    ReadOnlyError,
    StoreError,
    StoreFormatError,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
    UnhashableData,
    UnknownScheme,
    UnreadablePath,
    UnsupportedObject,
    UnsupportedPath,
    VersionNotFound,
)
from mlineage.fsck import FsckReport, fsck
from mlineage.graph import LineageEdge, LineageGraph, VersionSequence
from mlineage.records import (
    AliasEvent,
    AnnotationEvent,
    ArtifactRef,
    DataSnapshot,
    EnvironmentSnapshot,
    EvidenceEvent,
    FingerprintEvent,
    FingerprintRef,
    ModelVersion,
    Origin,
    StatusEvent,
    VersionStatus,
)
from mlineage.storage import Store, open_store

if TYPE_CHECKING:
    from mlineage.aliases import ABSENT
    from mlineage.evidence import EvidenceTable
    from mlineage.gate import GatePolicy, GateResult, Promotion
    from mlineage.tracker import Lineage, Tracker, VersionLogger, list_models


_old_paths.install()  # mlineage.report, mlineage.display, ...: paths that moved

__all__ = [
    "ABSENT",
    "AliasConflict",
    "AliasEvent",
    "AliasNotFound",
    "AlreadyExists",
    "AmbiguousReference",
    "AnnotationEvent",
    "ArtifactRef",
    "BlameReport",
    "BlameStep",
    "Checkout",
    "CheckoutError",
    "CorruptRecord",
    "DataSnapshot",
    "EnvironmentSnapshot",
    "EvidenceEvent",
    "EvidenceNotFound",
    "EvidenceTable",
    "FingerprintEvent",
    "FingerprintNotFound",
    "FingerprintRef",
    "FsckReport",
    "GatePolicy",
    "GateResult",
    "HashMismatch",
    "InvalidHyperparameter",
    "InvalidInput",
    "InvalidKey",
    "InvalidMetric",
    "InvalidName",
    "InvalidPolicy",
    "InvalidRecord",
    "InvalidTime",
    "Lineage",
    "LineageEdge",
    "LineageGraph",
    "LookupFailed",
    "MLineageError",
    "MetricNotFound",
    "MissingDependency",
    "MissingField",
    "ModelNotFound",
    "ModelVersion",
    "NameTaken",
    "NotFound",
    "Origin",
    "PathChanged",
    "PathNotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "Promotion",
    "ReadOnlyError",
    "StatusEvent",
    "Store",
    "StoreError",
    "StoreFormatError",
    "StoreFull",
    "StoreReadOnly",
    "StoreUnavailable",
    "Tracker",
    "UnhashableData",
    "UnknownScheme",
    "UnreadablePath",
    "UnsupportedObject",
    "UnsupportedPath",
    "VersionDiff",
    "VersionLogger",
    "VersionNotFound",
    "VersionSequence",
    "VersionStatus",
    "fsck",
    "list_models",
    "open_store",
    "__version__",
]

# The tracker module (and the write path's) is imported on first use of one of its names,
# so that a program that only needs the records or the errors (and `mlineage --help`)
# does not load it.
_LAZY = {
    "Lineage": "tracker",
    "Tracker": "tracker",
    "VersionLogger": "tracker",
    "list_models": "tracker",
    "ABSENT": "aliases",
    "EvidenceTable": "evidence",
    "GatePolicy": "gate",
    "GateResult": "gate",
    "Promotion": "gate",
}


__getattr__, __dir__ = _optional.lazy_names(
    __name__, {name: f"mlineage.{module}" for name, module in _LAZY.items()}
)
