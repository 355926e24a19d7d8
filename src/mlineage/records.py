"""The immutable records mlineage stores: versions, data snapshots, environments, events.

Every record is a frozen pydantic model that refuses unknown fields. A version is never
rewritten; what is learnt later (a note, a tag, an alias move, a status change) is a new
*event* that points at it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
)

from mlineage._ids import ID_PATTERN, ID_REGEX
from mlineage._lazy import is_lazy, lazy_version, lazy_versions, materialise
from mlineage.errors import InvalidName, InvalidRecord, MetricNotFound

__all__ = [
    "AliasEvent",
    "AnnotationEvent",
    "ArtifactRef",
    "DataSnapshot",
    "EnvironmentSnapshot",
    "Event",
    "ModelVersion",
    "StatusEvent",
    "VersionStatus",
    "is_lazy",
    "lazy_version",
    "lazy_versions",
    "validate_name",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_NAME_LENGTH = 128


def validate_name(name: object, what: str = "model") -> str:
    """Check a model, version or alias name and return it.

    A name is 1-128 characters of ASCII letters, digits, ``.``, ``_`` and ``-``, starting
    with a letter or digit. That keeps every name a safe single path segment on every
    backend (no ``/``, no ``..``, no NUL). Version names and aliases also may not look like
    a version id (32 hex digits), so references stay unambiguous.

    Parameters
    ----------
    name : object
        The candidate.
    what : str
        ``"model"``, ``"version name"`` or ``"alias"``, used in the error message.

    Raises
    ------
    InvalidName
        If ``name`` breaks any rule; the message says which.

    Examples
    --------
    >>> validate_name("fraud-detector")
    'fraud-detector'
    """
    if not isinstance(name, str):
        raise InvalidName(f"{what} must be a str, got {type(name).__name__}: {name!r}")
    if not name:
        raise InvalidName(f"{what} is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"{what} {name[:40]!r}... is {len(name)} characters; the limit is {MAX_NAME_LENGTH}"
        )
    if not _NAME.match(name):
        raise InvalidName(
            f"{what} {name!r} is not allowed: use ASCII letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (no '/', spaces or '..' tricks)"
        )
    if what != "model" and ID_PATTERN.match(name):
        raise InvalidName(f"{what} {name!r} looks like a version id; choose another")
    return name


class VersionStatus(str, Enum):
    """Lifecycle state of a version.

    A version is written once, as ``COMMITTED``; later states are recorded as
    :class:`StatusEvent` records and reported by ``Tracker.status``.
    """

    PENDING = "pending"
    COMMITTED = "committed"
    FAILED = "failed"
    DEPRECATED = "deprecated"
    ROLLED_BACK = "rolled_back"
    ARCHIVED = "archived"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidRecord(explain_validation(type(self), exc)) from None


def explain_validation(cls: type[BaseModel], error: ValidationError) -> str:
    """One sentence per problem of a record built by hand, naming the field."""
    name = cls.__name__
    problems = []
    for item in error.errors()[:5]:
        field = ".".join(str(part) for part in item["loc"]) or "(record)"
        if item["type"] == "extra_forbidden":
            accepted = ", ".join(cls.model_fields)
            problems.append(f"unknown field {field!r} (accepted: {accepted})")
        elif item["type"] == "missing":
            problems.append(f"missing required field {field!r}")
        else:
            problems.append(f"field {field!r}: {item['msg']} (got {item.get('input')!r:.60})")
    more = len(error.errors()) - len(problems)
    tail = f"; and {more} more" if more > 0 else ""
    return f"{name}: " + "; ".join(problems) + tail


class ArtifactRef(_Record):
    """A file or directory identified by content: where it was, its hash and size.

    Attributes
    ----------
    path : str
        Where the artifact was when it was recorded (as given by the user).
    hash : str
        ``"sha256:<hex>"``; for a directory, the hash of its manifest.
    size : int
        Total bytes.
    kind : {"file", "directory"}
    num_files : int
        1 for a file.
    manifest : str or None
        Store key of the directory manifest blob (relative path, size, hash per file).
    blob : str or None
        Store key of the archived bytes when the artifact was archived into the store.
    """

    path: str
    hash: str
    size: int = Field(ge=0)
    kind: Literal["file", "directory"] = "file"
    num_files: int = Field(default=1, ge=0)
    manifest: str | None = None
    blob: str | None = None


class DataSnapshot(_Record):
    """The exact data a version was trained on, identified by content.

    ``DataSnapshot(path=..., hash=...)`` records a snapshot whose hash you computed
    yourself; :meth:`from_path`, :meth:`from_array` and :meth:`from_dataframe` compute it.

    Attributes
    ----------
    path : str or None
        Where the data lives (a file, a directory, a table name, a URI).
    hash : str
        Content hash, conventionally ``"<algorithm>:<hex>"``.
    size : int or None
        Total bytes, when known.
    num_files : int or None
        Files in a directory snapshot.
    num_rows : int or None
        Rows, for tabular or array data.
    columns : dict or None
        Column name -> dtype, for tabular data.
    manifest : str or None
        Store key of the per-file manifest blob of a directory snapshot.
    profile : str or None
        Store key of the statistical profile blob used for drift analysis.
    source : str
        How the snapshot was made: ``"reference"``, ``"path"``, ``"array"``, ``"dataframe"``.
    """

    path: str | None = None
    hash: str = Field(min_length=1)
    size: int | None = Field(default=None, ge=0)
    num_files: int | None = Field(default=None, ge=0)
    num_rows: int | None = Field(default=None, ge=0)
    columns: dict[str, str] | None = None
    manifest: str | None = None
    profile: str | None = None
    source: Literal["reference", "path", "array", "dataframe"] = "reference"

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        workers: int | None = None,
        cache: bool = True,
        progress: bool | None = None,
    ) -> DataSnapshot:
        """Snapshot a file or directory by content.

        The hash is deterministic: the same bytes under the same relative paths give the
        same hash on any machine, whatever order the files are created or listed in (see
        :func:`mlineage.hashing.hash_path` for symlinks, empty directories and errors).
        A directory's per-file manifest (path, size, sha256) is kept and written to the
        store's blobs when the snapshot is logged, so ``Tracker.diff`` can later say which
        files were added, removed or changed. Unchanged files are not read again (a local
        cache keyed by path, size, mtime and inode).

        Parameters
        ----------
        path : path-like
        workers : int, optional
            Hashing threads (default: a few per core).
        cache : bool
            Use the local hash cache (``$MLINEAGE_CACHE_DIR``, default ``~/.cache/mlineage``).
        progress : bool, optional
            Progress line on stderr: None = only on a terminal and when slower than ~1 s.

        Raises
        ------
        PathNotFound, UnreadablePath, UnsupportedPath, PathChanged
        """
        from mlineage import _keys
        from mlineage.hashing import hash_path

        digest = hash_path(path, workers=workers, cache=cache, progress=progress)
        manifest_key = None
        manifest_bytes = None
        if digest.kind == "directory":
            import hashlib

            manifest_bytes = digest.manifest_bytes()
            manifest_key = _keys.blob_key(hashlib.sha256(manifest_bytes).hexdigest())
        if manifest_key is not None and manifest_bytes is not None:
            from mlineage.content import remember_manifest

            remember_manifest(manifest_key, manifest_bytes)
        return cls(
            path=os.fspath(path),
            hash=digest.hash,
            size=digest.size,
            num_files=digest.num_files,
            manifest=manifest_key,
            source="path",
        )

    @classmethod
    def from_array(cls, X: Any, y: Any = None, *, path: str | None = None) -> DataSnapshot:  # noqa: N803
        """Snapshot in-memory numpy data (features ``X`` and optional labels ``y``).

        The hash covers dtype (with byte order), shape and bytes, so it is the same in every
        process and on every machine of the same byte order; the row count and column
        dtypes are recorded. Object arrays are refused (they would need pickling).

        Raises
        ------
        UnhashableData
        """
        from mlineage.hashing import hash_array

        digest = hash_array(X, y)
        return cls(
            path=path,
            hash=digest.hash,
            num_rows=digest.num_rows,
            columns=digest.columns,
            source="array",
        )

    @classmethod
    def from_dataframe(cls, df: Any, *, path: str | None = None) -> DataSnapshot:
        """Snapshot a pandas DataFrame: column names, dtypes, index and values.

        pandas is only needed if you pass a DataFrame; mlineage does not depend on it.

        Raises
        ------
        UnhashableData
            For cells that have no stable byte form (lists, dicts, arbitrary objects).
        """
        from mlineage.hashing import hash_dataframe

        digest = hash_dataframe(df)
        return cls(
            path=path,
            hash=digest.hash,
            num_rows=digest.num_rows,
            columns=digest.columns,
            source="dataframe",
        )


class EnvironmentSnapshot(_Record):
    """The software environment a version was produced in.

    Captured automatically at log time and stored once per distinct environment as a
    content-addressed blob that versions point at (``ModelVersion.environment_ref``).
    Never holds environment variables, tokens or credentials.

    Attributes
    ----------
    python_version : str
    implementation : str
        ``"CPython"``, ``"PyPy"``, ...
    platform : str
        ``platform.platform()``.
    machine : str
        CPU architecture.
    packages : dict
        Installed distribution name (normalised) -> version.
    git_commit, git_branch : str or None
        Of the repository the training script ran in, when there is one.
    git_dirty : bool or None
        Whether that work tree had uncommitted changes.
    torch_version, cuda_version : str or None
        When torch was imported by the training script.
    captured_at : datetime or None
    """

    python_version: str = ""
    implementation: str = ""
    platform: str = ""
    machine: str = ""
    packages: dict[str, str] = Field(default_factory=dict)
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    torch_version: str | None = None
    cuda_version: str | None = None
    captured_at: datetime | None = None


class ModelVersion(_Record):
    """One immutable update of a model: a node of the lineage DAG.

    Attributes
    ----------
    id : str
        Time-ordered id (32 hex digits); any unique prefix of 4+ digits resolves.
    model : str
        The model this version belongs to.
    name : str or None
        Optional human name, unique within the model (``"fraud-model-v3.2"``).
    parents : tuple of str
        Parent version ids; the first is the *first parent* that history follows.
    kind : str
        Why this version exists relative to its parents: ``"initial"``, ``"update"``,
        ``"fine_tune"``, ``"distill"``, ``"merge"``, ``"rollback"``, ...
    created_at : datetime
        When the version was committed (UTC).
    started_at : datetime or None
        When the ``log_version`` block was entered.
    model_path : str
        Where the checkpoint was written.
    model_artifact : ArtifactRef or None
        Content hash (and archived copy) of the checkpoint, when computed.
    dataset : DataSnapshot
        The data the version was trained on.
    metrics : dict of str to float
    hyperparameters : dict
        JSON values.
    environment_ref : str or None
        Store key of the captured :class:`EnvironmentSnapshot` blob (content-addressed,
        so the many versions logged from one environment share one blob); read it with
        ``Tracker.environment(version)``.
    notes : str
    tags : tuple of str
    status : VersionStatus
        Always ``COMMITTED`` in the stored record; see ``Tracker.status`` for later changes.
    metadata : dict
        Free-form JSON for integrations.
    """

    id: str = Field(pattern=ID_REGEX)
    model: str
    name: str | None = None
    parents: tuple[str, ...] = ()
    kind: str = Field(default="update", pattern=r"^[a-z][a-z0-9_]*$")
    created_at: AwareDatetime
    started_at: AwareDatetime | None = None
    model_path: str
    model_artifact: ArtifactRef | None = None
    dataset: DataSnapshot
    metrics: dict[str, FiniteFloat] = Field(default_factory=dict)
    hyperparameters: dict[str, JsonValue] = Field(default_factory=dict)
    environment_ref: str | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()
    status: VersionStatus = VersionStatus.COMMITTED
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("parents")
    @classmethod
    def _distinct_parents(cls, parents: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if len(set(parents)) != len(parents):
            raise ValueError(f"parents repeat a version: {list(parents)}")
        if info.data.get("id") in parents:
            raise ValueError("a version cannot be its own parent")
        return parents

    # -- lazily read records --------------------------------------------------------------
    # A version loaded from a pack starts with only its id in ``__dict__`` and a pointer to
    # its bytes in ``__pydantic_private__`` (see :func:`lazy_version`); the first access to
    # any other field reads and validates the whole record. Everything that looks at the
    # fields (attributes, ==, hash, repr, dict(), copy, pickle, serialisation, also nested
    # in another model) reads it first, so a lazy version is indistinguishable from one
    # decoded eagerly. An eagerly built version has ``__pydantic_private__ = None`` and
    # pays nothing for this.

    @model_serializer(mode="wrap")
    def _serialize(self, handler):  # type: ignore[no-untyped-def]
        # No annotations on purpose: pydantic then keeps the model's own serialisation
        # schema (a return annotation would replace it in model_json_schema).
        if self.__pydantic_private__ is not None:
            materialise(self)
        return handler(self)

    if not TYPE_CHECKING:  # as in pydantic: keeps mypy from allowing any attribute

        def __getattr__(self, name: str) -> Any:
            if name in _LAZY_ATTRIBUTES and materialise(self):
                return object.__getattribute__(self, name)
            return super().__getattr__(name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ModelVersion):
            materialise(self)
            materialise(other)
        return super().__eq__(other)

    def __hash__(self) -> int:
        # What pydantic generates for frozen models; the dict fields make it raise.
        materialise(self)
        return hash(tuple(self.__dict__[name] for name in _VERSION_FIELDS_ORDERED))

    def __iter__(self) -> Any:
        materialise(self)
        return super().__iter__()

    def __repr_args__(self) -> Any:
        materialise(self)
        return super().__repr_args__()

    def __getstate__(self) -> dict[Any, Any]:
        materialise(self)
        return super().__getstate__()

    def __copy__(self) -> ModelVersion:
        materialise(self)
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> ModelVersion:
        materialise(self)
        return super().__deepcopy__(memo)

    @property
    def parent_id(self) -> str | None:
        """The first parent's id, or None for a root version."""
        return self.parents[0] if self.parents else None

    @property
    def short_id(self) -> str:
        """The first 12 hex digits of the id (the millisecond timestamp part)."""
        return self.id[:12]

    def metric(self, name: str) -> float:
        """Return metric ``name``.

        Raises
        ------
        MetricNotFound
            If this version has no such metric; the message lists the ones it has.
        """
        try:
            return self.metrics[name]
        except KeyError:
            have = ", ".join(sorted(self.metrics)) or "none"
            raise MetricNotFound(
                f"version {self.id} has no metric {name!r} (it has: {have})"
            ) from None

    def metric_delta(self, other: ModelVersion, metric: str) -> float:
        """Return ``self.metrics[metric] - other.metrics[metric]``.

        ``history[0].metric_delta(history[1], "accuracy")`` is how much the newest update
        moved accuracy.

        Raises
        ------
        MetricNotFound
            If either version lacks the metric.
        """
        return self.metric(metric) - other.metric(metric)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in list(self.metrics.items())[:4])
        return (
            f"<ModelVersion {self.id[:12]}{label} of {self.model!r} "
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {metrics}>"
        )

    def _repr_html_(self) -> str:
        from html import escape

        rows = [
            ("id", self.id),
            ("name", self.name or ""),
            ("parents", ", ".join(p[:12] for p in self.parents) or "(root)"),
            ("kind", self.kind),
            ("created", f"{self.created_at:%Y-%m-%d %H:%M:%S %Z}"),
            ("model", self.model_path),
            ("dataset", f"{self.dataset.path or ''} {self.dataset.hash}"),
            ("metrics", ", ".join(f"{k}={v:.6g}" for k, v in self.metrics.items())),
            ("hyperparameters", ", ".join(f"{k}={v}" for k, v in self.hyperparameters.items())),
            ("notes", self.notes),
            ("tags", ", ".join(self.tags)),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
            for k, v in rows
        )
        return f"<table>{body}</table>"


_VERSION_FIELDS_ORDERED = tuple(ModelVersion.model_fields)
# What a lazy version reads its record for: its fields and the pydantic slots left unset.
_LAZY_ATTRIBUTES = frozenset(
    [*_VERSION_FIELDS_ORDERED, "__pydantic_fields_set__", "__pydantic_extra__"]
)


class _Event(_Record):
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


Event = Annotated[AnnotationEvent | AliasEvent | StatusEvent, Field(discriminator="type")]
