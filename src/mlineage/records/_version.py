"""The version record: one node of the lineage DAG, and the fingerprints it carries."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    FiniteFloat,
    JsonValue,
    ValidationInfo,
    field_serializer,
    model_serializer,
    model_validator,
)

from mlineage._ids import ID_REGEX, handle, new_id
from mlineage.errors import InvalidInput, InvalidRecord, MetricNotFound, NotFound
from mlineage.records._base import HELD, Record, VersionStatus, held, hold
from mlineage.records._data import ArtifactRef, DataSnapshot, EnvironmentSnapshot
from mlineage.records._lazy import VersionSource, fields_of, held_besides, record_of
from mlineage.records._lazy_fields import (
    DATASET_FIELD_COUNT,
    DATASET_FIELDS_SET,
    install,
    parents_ok,
)
from mlineage.records._small import OriginExtra

__all__ = [
    "EnvironmentReader",
    "FingerprintRef",
    "ModelVersion",
    "Origin",
    "bind_environments",
    "lazy_version",
    "lazy_versions",
]

#: Reads an environment blob by key (a tracker's verified, cached reader of its store).
EnvironmentReader = Callable[[str], EnvironmentSnapshot]

#: A version's kind (``update``, ``fine_tune``, ``merge``, ...).
KIND_REGEX = r"^[a-z][a-z0-9_]*$"
_KIND = re.compile(r"[a-z][a-z0-9_]*")  # KIND_REGEX for fullmatch ("$" allows a final \n)

#: A system name of an :class:`Origin` (``mlflow``, ``hf``, ``dvc``, a team's own).
SYSTEM_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: Longest foreign id of an :class:`Origin`.
MAX_ORIGIN_ID = 512


class FingerprintRef(Record):
    """A version's behaviour on a probe set: summaries here, arrays in blobs.

    Attributes
    ----------
    probe : str
        The probe set's content hash (``"sha256:..."``).
    probe_name : str
    probe_blob : str or None
        Blob key of the probe set's bytes (inputs, labels, groups), stored once.
    blob : str
        Blob key of the fingerprint's bytes (predictions, probabilities, embeddings).
    summary : dict
        Small JSON summary: accuracy, per-group accuracy, calibration, sizes.
    """

    probe: str = Field(min_length=1)
    probe_name: str = ""
    probe_blob: str | None = None
    blob: str
    summary: dict[str, JsonValue] = Field(default_factory=dict)


class Origin(Record):
    """Where a version came from when it was imported from another system.

    A connector sets it (``tracker.log(origin=Origin(system="mlflow", id=run_id, ...))``),
    and ``tracker.find_origin(system, id)`` finds the versions imported from that source
    without reading their records, so that a second import can skip what it has.

    Attributes
    ----------
    system : str
        The system: ``"mlflow"``, ``"hf"``, ``"dvc"``, or a team's own name (1-64 ASCII
        letters, digits, ``.``, ``_``, ``-``).
    id : str
        The foreign id in that system: an MLflow run id, a Hugging Face repo id
        (``"acme/fraud-ft"``), a git commit (1-512 characters, no control characters).
    uri : str or None
        Where the source can be looked at (an artifact URI, a web page).
    imported_at : datetime
        When the version was imported (default: now).
    extra : dict
        A small flat JSON object (at most 4 KiB: ``str`` keys, scalar or list values) for
        what the system adds (an experiment id, a revision).

    Examples
    --------
    >>> origin = Origin(system="mlflow", id="3f2a9c1e", uri="runs:/3f2a9c1e/model")
    >>> origin.system, origin.id, origin.extra
    ('mlflow', '3f2a9c1e', {})
    """

    system: str = Field(pattern=SYSTEM_REGEX)
    id: str = Field(min_length=1, max_length=MAX_ORIGIN_ID, pattern=r"^[^\x00-\x1f\x7f]+$")
    uri: str | None = None
    imported_at: AwareDatetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    extra: OriginExtra = Field(default_factory=dict)


def _environment_key(environment: object) -> str:
    """Blob key of a hand-given environment (the version holds the object itself)."""
    from mlineage.content import blob_key_of

    if not isinstance(environment, EnvironmentSnapshot):
        raise InvalidRecord(
            f"ModelVersion: environment must be an EnvironmentSnapshot, got "
            f"{type(environment).__name__}"
        )
    data = environment.model_copy(update={"captured_at": None}).model_dump_json().encode()
    return blob_key_of(data)


class ModelVersion(Record):
    """One immutable update of a model: a node of the lineage DAG.

    A tracker builds these (``tracker.log_version()``); they can also be built by hand, as
    the prototype did: ``ModelVersion("fraud", "./v1.pt", snapshot, metrics={...},
    parent_ids=[...])`` (or by keyword, ``model_name=``/``model=``, ``parent_ids=``/
    ``parents=``, ``environment=``). A hand-built version gets a new id and ``created_at``
    now, and starts ``STAGED`` until :meth:`commit`; every version a tracker writes is
    ``COMMITTED`` with ``committed_at`` set.

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
        ``COMMITTED`` in every stored record (``STAGED`` for a hand-built version not yet
        committed); see ``Tracker.status`` for later changes.
    committed_at : datetime or None
        When it was committed (None while staged).
    metadata : dict
        Free-form JSON for integrations.
    fingerprints : tuple of FingerprintRef
        Behaviour on probe sets recorded with the version (arrays in blobs).
    origin : Origin or None
        Where the version came from, when a connector imported it from another system.

    Examples
    --------
    >>> from mlineage import DataSnapshot
    >>> v = ModelVersion("fraud", "./v1.pt", DataSnapshot(path="d/", hash="sha256:1"))
    >>> v.status.value, v.committed_at is None, v.is_root()
    ('staged', True, True)
    >>> _ = v.commit()
    >>> v.status.value, v.committed_at is not None
    ('committed', True)
    """

    id: str = Field(pattern=ID_REGEX)
    model: str
    name: str | None = None
    parents: tuple[str, ...] = ()
    kind: str = Field(default="update", pattern=KIND_REGEX)
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
    committed_at: AwareDatetime | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    fingerprints: tuple[FingerprintRef, ...] = ()
    origin: Origin | None = None

    @classmethod
    def _prepare_arguments(cls, args: tuple[Any, ...], data: dict[str, Any]) -> dict[str, Any]:
        if len(args) > len(_POSITIONAL):
            raise InvalidRecord(
                f"ModelVersion takes at most {len(_POSITIONAL)} positional arguments "
                f"({', '.join(_POSITIONAL)}), got {len(args)}"
            )
        for old, new in _ALIASES.items():
            if old in data:
                if new in data:
                    raise InvalidRecord(f"ModelVersion: pass {old}= or {new}=, not both")
                data[new] = data.pop(old)
        for name, value in zip(_POSITIONAL, args, strict=False):
            if name in data:
                raise InvalidRecord(f"ModelVersion got two values for {name!r}")
            data[name] = value
        environment = data.pop("environment", None)
        if environment is not None:
            data.setdefault("environment_ref", _environment_key(environment))
            data[HELD] = {"environment": environment}
        now = datetime.now(timezone.utc)
        data.setdefault("created_at", now)
        if "id" not in data:
            created = data["created_at"]
            data["id"] = new_id(created if isinstance(created, datetime) else now)
        data.setdefault("status", VersionStatus.STAGED)
        if "parents" in data and isinstance(data["parents"], list):
            data["parents"] = tuple(data["parents"])
        return data

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> ModelVersion:
        # One validator (one Python call per decoded record) for every check.
        parents = self.parents
        if parents and not parents_ok(self.id, parents):
            raise ValueError(
                f"parents repeat a version or name the version itself: {list(parents)}"
            )
        # Stores before format 3 have no committed_at: a committed version was committed
        # when it was created.
        if self.committed_at is None and self.status is VersionStatus.COMMITTED:
            object.__setattr__(self, "committed_at", self.created_at)
        if info.mode == "json":
            _share_fields_set(self)
        return self

    # -- lazily read records --------------------------------------------------------------
    # A version loaded from a pack starts with only its id in ``__dict__`` and a pointer to
    # its bytes in ``__pydantic_private__`` (see :func:`lazy_version`); looking at any other
    # field reads the record (into the tracker's bounded cache, or into the version when it
    # holds no cache: see ``records._lazy``). Everything that looks at the fields
    # (attributes, ==, hash, repr, dict(), copy, pickle, serialisation, also nested in
    # another model) goes through ``fields_of``, so a lazy version is indistinguishable
    # from one decoded eagerly. An eagerly built version has ``__pydantic_private__ = None``
    # and pays nothing for this.

    @field_serializer("committed_at", when_used="json")
    def _committed_at_json(self, value: datetime | None) -> datetime | None:
        # A tracker commits a version when it creates it: stored as null and read back as
        # created_at (the validator), one timestamp less to parse per record.
        return None if value is not None and value == self.created_at else value

    @model_serializer(mode="wrap")
    def _serialize(self, handler):  # type: ignore[no-untyped-def]
        # No annotations on purpose: pydantic then keeps the model's own serialisation
        # schema (a return annotation would replace it in model_json_schema).
        if self.__pydantic_private__ is not None:
            return handler(fields_of(self))
        return handler(self)

    if not TYPE_CHECKING:  # as in pydantic: keeps mypy from allowing any attribute

        def __getattr__(self, name: str) -> Any:
            if name in _LAZY_ATTRIBUTES:
                record = record_of(self)
                if record is not None:
                    return object.__getattribute__(record, name)
            return super().__getattr__(name)

    def __eq__(self, other: object) -> bool:
        # By fields: what a version holds (the store it was read from) is not part of it.
        if isinstance(other, ModelVersion):
            mine, theirs = fields_of(self), fields_of(other)
            return type(self) is type(other) and mine.__dict__ == theirs.__dict__
        return NotImplemented

    def __hash__(self) -> int:
        # What pydantic generates for frozen models; the dict fields make it raise.
        fields = fields_of(self).__dict__
        return hash(tuple(fields[name] for name in _VERSION_FIELDS_ORDERED))

    def __iter__(self) -> Any:
        record = fields_of(self)
        return super().__iter__() if record is self else iter(record)

    def __repr_args__(self) -> Any:
        record = fields_of(self)
        return super().__repr_args__() if record is self else record.__repr_args__()

    def __getstate__(self) -> dict[Any, Any]:
        state: dict[Any, Any] = BaseModel.__getstate__(fields_of(self))
        # The store a version was read from stays in this process; a hand-given
        # environment travels with the version.
        environment = held(self, "environment")
        kept = environment if isinstance(environment, EnvironmentSnapshot) else None
        state["__pydantic_private__"] = None if kept is None else {"environment": kept}
        return state

    def __copy__(self) -> ModelVersion:
        record = fields_of(self)
        if record is self:
            return super().__copy__()
        copy: ModelVersion = BaseModel.__copy__(record)  # type: ignore[assignment]
        _keep_held(copy, self)  # its own dicts: the cache's record stays as it is
        return copy

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> ModelVersion:
        record = fields_of(self)
        private = self.__pydantic_private__
        if record is not self:
            deep: ModelVersion = BaseModel.__deepcopy__(record, memo)  # type: ignore[assignment]
            _keep_held(deep, self)
            return deep
        object.__setattr__(self, "__pydantic_private__", None)
        try:
            copy = super().__deepcopy__(memo)
        finally:
            object.__setattr__(self, "__pydantic_private__", private)
        if private is not None:  # the same store, not a copy of it
            object.__setattr__(copy, "__pydantic_private__", dict(private))
        return copy

    @property
    def model_name(self) -> str:
        """The model's name (the prototype's name for :attr:`model`)."""
        return self.model

    @property
    def parent_ids(self) -> list[str]:
        """Parent ids, first parent first (the prototype's name for :attr:`parents`)."""
        return list(self.parents)

    @property
    def environment(self) -> EnvironmentSnapshot | None:
        """The environment captured when this version was logged, or None.

        Read through the store of the tracker that loaded or logged the version (the
        same object ``tracker.environment(version)`` returns), or the environment given
        to a hand-built version; None when none was captured, the version was built by
        hand without one, or that store does not have the blob.
        """
        key = self.environment_ref
        source = held(self, "environment")
        if key is None or source is None:
            return None
        if isinstance(source, EnvironmentSnapshot):
            return source
        try:
            environment: EnvironmentSnapshot = source(key)
        except NotFound:
            return None
        return environment

    def is_root(self) -> bool:
        """Whether this version has no parents."""
        return not self.parents

    def commit(self) -> ModelVersion:
        """Mark a hand-built (staged) version committed, stamping ``committed_at``; once.

        Returns the version itself. Versions a tracker writes are committed already.

        Raises
        ------
        InvalidInput
            If it is committed already (its record is immutable from then on).
        """
        if self.status is not VersionStatus.STAGED:
            raise InvalidInput(
                f"version {self.short_id} is {self.status.value} already (committed at "
                f"{self.committed_at}); a committed version is immutable"
            )
        object.__setattr__(self, "status", VersionStatus.COMMITTED)
        object.__setattr__(self, "committed_at", datetime.now(timezone.utc))
        # A new set: a decoded record's may be shared (see _share_fields_set).
        fields_set = self.__pydantic_fields_set__ | {"status", "committed_at"}
        object.__setattr__(self, "__pydantic_fields_set__", fields_set)
        return self

    @property
    def parent_id(self) -> str | None:
        """The first parent's id, or None for a root version."""
        return self.parents[0] if self.parents else None

    @property
    def short_id(self) -> str:
        """The version's handle: the last 8 hex digits of its id (its random part).

        What mlineage prints for a version; it resolves wherever a reference is accepted.
        ``Tracker.abbrev`` gives the form that is unique in the store (longer only when an
        older version's id ends with the same 8 digits; see :func:`mlineage._ids.handle`).
        """
        return handle(self.id)

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

    def metric_delta(self, other: ModelVersion, metric: str) -> float | None:
        """Return ``self.metrics[metric] - other.metrics[metric]``, or None if either lacks it.

        ``history[0].metric_delta(history[1], "accuracy")`` is how much the newest update
        moved accuracy. (The prototype's contract; :meth:`metric_change` raises instead.)
        """
        if metric not in self.metrics or metric not in other.metrics:
            return None
        return self.metrics[metric] - other.metrics[metric]

    def metric_change(self, other: ModelVersion, metric: str) -> float:
        """Like :meth:`metric_delta`, but a missing metric is an error.

        Raises
        ------
        MetricNotFound
            If either version lacks the metric; the message lists the ones it has.
        """
        return self.metric(metric) - other.metric(metric)

    def __str__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"ModelVersion({self.short_id}{label}, id={self.id}, model={self.model!r}, "
            f"{self.status.value})"
        )

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in list(self.metrics.items())[:4])
        return (
            f"<ModelVersion {self.short_id}{label} of {self.model!r} "
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {metrics}>"
        )

    def _repr_html_(self) -> str:
        from html import escape

        rows = [
            ("id", self.id),
            ("name", self.name or ""),
            ("parents", ", ".join(handle(p) for p in self.parents) or "(root)"),
            ("kind", self.kind),
            ("created", f"{self.created_at:%Y-%m-%d %H:%M:%S %Z}"),
            ("model", self.model_path),
            ("dataset", f"{self.dataset.path or ''} {self.dataset.hash}"),
            ("metrics", ", ".join(f"{k}={v:.6g}" for k, v in self.metrics.items())),
            ("hyperparameters", ", ".join(f"{k}={v}" for k, v in self.hyperparameters.items())),
            ("notes", self.notes),
            ("tags", ", ".join(self.tags)),
        ]
        if self.origin is not None:
            origin = self.origin
            rows.append(("origin", f"{origin.system} {origin.id} {origin.uri or ''}".strip()))
        body = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
            for k, v in rows
        )
        return f"<table>{body}</table>"


def _share_fields_set(version: ModelVersion) -> None:
    """Let a decoded record and its data snapshot share one ``__pydantic_fields_set__``
    with every other record that sets all their fields (every record a tracker writes).

    pydantic builds that set for every record it decodes: about 3 KB of a version's 5
    (a set of 20 names and one of 13), which a tracker keeping the records read last
    holds once each, and which makes every record read after that free another
    record's scattered memory. Shared sets are never changed in place: records are
    frozen, pydantic's copies copy the set, and :meth:`ModelVersion.commit` sets a new one.
    """
    if len(version.__pydantic_fields_set__) == _VERSION_FIELD_COUNT:
        _setattr(version, "__pydantic_fields_set__", _VERSION_FIELDS_SET)
    dataset = version.__dict__["dataset"]
    if len(dataset.__pydantic_fields_set__) == DATASET_FIELD_COUNT:
        _setattr(dataset, "__pydantic_fields_set__", DATASET_FIELDS_SET)


def _keep_held(copy: ModelVersion, version: ModelVersion) -> None:
    """Let the copy of a lazy version hold what it held besides its record's pointer."""
    private = version.__pydantic_private__
    rest = None if private is None else held_besides(private)
    object.__setattr__(copy, "__pydantic_private__", rest)


def bind_environments(version: ModelVersion, read: EnvironmentReader) -> None:
    """Let ``version.environment`` read through ``read`` (the store that loaded it).

    A tracker's index calls it for every version it loads or logs; a lazy version keeps
    it when its record is read.
    """
    if held(version, "environment") is None:
        hold(version, environment=read)


def lazy_version(version_id: str, source: VersionSource, index: int) -> ModelVersion:
    """A :class:`ModelVersion` whose fields are read from ``source`` on first access.

    Costs about a microsecond, against 10-20 for decoding and validating the record; a
    tracker loading 10^5 versions from packs builds its lineage from the packs' index
    and reads a record only when something looks at it.
    """
    return lazy_versions([version_id], source, start=index)[0]


def lazy_versions(
    version_ids: list[str], source: VersionSource, *, start: int = 0
) -> list[ModelVersion]:
    """:func:`lazy_version` of record ``start + i`` of ``source`` for each ``version_ids[i]``."""
    out: list[ModelVersion] = []
    append, new, setattr_ = out.append, object.__new__, object.__setattr__
    for index, version_id in enumerate(version_ids, start):
        version = new(ModelVersion)
        setattr_(version, "__dict__", {"id": version_id})
        # __pydantic_fields_set__ and __pydantic_extra__ stay unset until the record is
        # read (__getattr__ reads it when asked for them): two fewer writes per version.
        setattr_(version, "__pydantic_private__", {"source": source, "index": index})
        append(version)
    return out


_new = object.__new__
_setattr = object.__setattr__
_POSITIONAL = ("model", "model_path", "dataset")
_ALIASES = {"model_name": "model", "parent_ids": "parents"}
_VERSION_FIELDS_ORDERED = tuple(ModelVersion.model_fields)
# The fields sets that decoded records setting every field share (_share_fields_set).
_VERSION_FIELDS_SET = set(_VERSION_FIELDS_ORDERED)
_VERSION_FIELD_COUNT = len(_VERSION_FIELDS_SET)
# What a lazy version reads its record for: its fields and the pydantic slots left unset.
_LAZY_ATTRIBUTES = frozenset(
    [*_VERSION_FIELDS_ORDERED, "__pydantic_fields_set__", "__pydantic_extra__"]
)


install(ModelVersion)
