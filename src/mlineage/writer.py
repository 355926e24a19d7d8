"""The write path: building and committing versions, name claims, events, compaction.

Every write is create-only, and a version record is written only after everything it
points at (manifest, environment and archived blobs, its name claim), so a reader never
sees a record whose references are missing and a killed writer leaves no partial record.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mlineage import _keys, records, refs
from mlineage._coerce import (
    as_utc,
    check_log_time,
    coerce_hyperparameters,
    coerce_metrics,
    coerce_origin,
    coerce_tags,
    parse_time,
)
from mlineage._columns import utc_micros
from mlineage._ids import handle, new_id
from mlineage.codec import (
    FORMAT,
    MAX_RECORD_SIZE,
    STORE_MARKER_KEY,
    decode_claim,
    decode_marker,
    encode_claim,
    encode_event,
    encode_marker,
    encode_version,
)
from mlineage.compaction import AUTO_COMPACT, compact
from mlineage.errors import (
    AlreadyExists,
    CorruptRecord,
    InvalidInput,
    InvalidRecord,
    InvalidTime,
    MissingField,
    MLineageError,
    NameTaken,
    NotFound,
    ReadOnlyError,
    StoreFormatError,
)
from mlineage.index import LineageIndex
from mlineage.refs import Ref

if TYPE_CHECKING:
    from mlineage.hashing import PathDigest

__all__ = ["Settings", "VersionLogger", "Writer"]

E = TypeVar(
    "E",
    records.AnnotationEvent,
    records.StatusEvent,
    records.FingerprintEvent,
    records.EvidenceEvent,
)


@functools.cache
def _lazy_modules() -> tuple[ModuleType, ModuleType, ModuleType]:
    """mlineage's artifacts, environment and hashing, imported on the first log (they need
    numpy, not wanted at ``import mlineage``) and kept: an import statement costs µs."""
    from mlineage import artifacts, environment, hashing

    return artifacts, environment, hashing


_LOGGER_FIELDS = frozenset(
    {
        "model_path",
        "dataset",
        "metrics",
        "hyperparameters",
        "notes",
        "tags",
        "name",
        "kind",
        "metadata",
        "archive",
        "fingerprint",
        "origin",
    }
)


class VersionLogger:
    """The object bound by ``with tracker.log_version() as v:``.

    Set the fields inside the block; when the block ends without an exception the version
    is validated, written (durably) and available as :attr:`version`. If the block raises,
    nothing is written and the exception propagates. If a required field is missing or a
    value cannot be stored, :class:`~mlineage.errors.InvalidInput` (a ``ValueError``) is
    raised naming the field, and nothing is written.

    Attributes
    ----------
    model_path : str or os.PathLike
        Required: where the checkpoint of this update was written.
    dataset : DataSnapshot
        Required: the data the update was trained on.
    metrics : dict
        Metric name -> finite real number.
    hyperparameters : dict
        JSON-able values (numpy scalars and numeric arrays are converted).
    notes : str
    tags : list of str
    name : str or None
        Optional human name, unique within the model.
    kind : str
        Why this version exists: ``"update"`` (default), ``"fine_tune"``, ``"merge"``, ...
    metadata : dict
        Free-form JSON for integrations.
    archive : bool or None
        Copy the checkpoint's bytes into the store (None: the tracker's default).
    fingerprint : Fingerprint or list of Fingerprint
        Behaviour on probe sets (``probe.evaluate(...)``): the arrays are stored as blobs
        (the probe set once), the record holds a ``FingerprintRef`` with the summary.
    origin : Origin, dict or None
        Where the version came from when imported from another system (``Origin`` or
        its fields as a dict); ``tracker.find_origin(system, id)`` finds it again.
    """

    def __init__(
        self,
        writer: Writer,
        parents: tuple[str, ...],
        *,
        kind: str | None,
        timestamp: datetime | None,
        fields: dict[str, Any],
    ) -> None:
        self._writer = writer
        self._parents = parents
        self._timestamp = timestamp
        self._version: records.ModelVersion | None = None
        self._started_at = datetime.now(timezone.utc)
        self.model_path: str | os.PathLike[str] | None = None
        self.dataset: records.DataSnapshot | None = None
        self.metrics: dict[str, Any] = {}
        self.hyperparameters: dict[str, Any] = {}
        self.notes: str = ""
        self.tags: list[str] = []
        self.name: str | None = None
        self.kind: str = kind or ("update" if parents else "initial")
        self.metadata: dict[str, Any] = {}
        self.archive: bool | None = None
        self.fingerprint: Any = None
        self.origin: records.Origin | Mapping[str, Any] | None = None
        self._blobs: dict[str, bytes] = {}  # fingerprint blobs, written before the record
        for key, value in fields.items():
            if key not in _LOGGER_FIELDS:
                raise InvalidInput(
                    f"log_version() got an unknown field {key!r}; fields are "
                    + ", ".join(sorted(_LOGGER_FIELDS))
                )
            setattr(self, key, value)

    @property
    def parents(self) -> tuple[str, ...]:
        """Ids of the parents this version will have (fixed when the block starts)."""
        return self._parents

    @property
    def timestamp(self) -> datetime | None:
        """The creation time asked for with ``log_version(timestamp=...)``, else None."""
        return self._timestamp

    @property
    def started_at(self) -> datetime:
        """When the ``with`` block was entered."""
        return self._started_at

    @property
    def version(self) -> records.ModelVersion:
        """The committed version (available after the ``with`` block ends).

        Raises
        ------
        MLineageError
            If the block has not finished, or it raised and nothing was committed.
        """
        if self._version is None:
            raise MLineageError(
                "no version committed yet: `v.version` is available after the "
                "`with tracker.log_version() as v:` block ends without an exception"
            )
        return self._version

    def log_metric(self, name: str, value: float) -> None:
        """Set one metric (same as ``v.metrics[name] = value``)."""
        self.metrics[name] = value

    def __enter__(self) -> VersionLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._version = self._writer.commit(self)


class Settings(Protocol):
    """The tracker options the write path follows."""

    archive: bool
    capture_environment: bool
    hash_artifacts: bool
    read_only: bool


class Writer:
    """Writes one model's records into the store of ``index`` and keeps the index current."""

    def __init__(self, index: LineageIndex, settings: Settings) -> None:
        self.index = index
        self.store = index.store
        self.settings = settings
        self._blobs_written: set[str] = set()
        self._probe_blobs: dict[str, str] = {}  # probe hash -> blob key of the stored set

    def check_writable(self, what: str) -> None:
        """Raise :class:`ReadOnlyError` if the tracker was opened read-only."""
        if self.settings.read_only:
            raise ReadOnlyError(
                f"cannot {what}: tracker for {self.index.model!r} was opened read_only=True"
            )

    def ensure_marker(self) -> None:
        """Before the first write: write the store marker, or raise an older one to FORMAT.

        A store an older release wrote keeps working for this one, but what this release
        writes (format-4 records, and alias logs that older releases do not list) must
        stop an older release from reading the store as if nothing had changed: so the
        marker is raised (overwritten, only ever upward) before anything new is written.
        """
        index = self.index
        if index.marker_format is not None and index.marker_format >= FORMAT:
            return
        if not self.store.put_if_absent(STORE_MARKER_KEY, encode_marker()):
            found = decode_marker(
                self.store.get_limited(STORE_MARKER_KEY, MAX_RECORD_SIZE), self.store.uri
            )
            if found < FORMAT:
                self.store.put(STORE_MARKER_KEY, encode_marker(), mode="overwrite")
        index.marker_format = FORMAT

    # -- versions -----------------------------------------------------------------------

    def build(
        self, draft: VersionLogger
    ) -> tuple[records.ModelVersion, PathDigest | None, bytes | None]:
        """Validate a draft into a record; also the checkpoint digest and environment bytes.

        Raises
        ------
        MissingField, InvalidInput, InvalidTime
            Naming the field; nothing is written.
        """
        if draft.model_path is None or not str(draft.model_path).strip():
            raise MissingField(
                "model_path is required: set `v.model_path` to the checkpoint this update "
                "produced; nothing was written"
            )
        if draft.dataset is None:
            raise MissingField(
                "dataset is required: set `v.dataset = ml.DataSnapshot(path=..., hash=...)` "
                "or `ml.DataSnapshot.from_path(...)`; nothing was written"
            )
        if not isinstance(draft.dataset, records.DataSnapshot):
            raise InvalidInput(
                f"dataset must be a DataSnapshot, got {type(draft.dataset).__name__}; "
                "use ml.DataSnapshot.from_path(path) for files"
            )
        if not isinstance(draft.notes, str):
            raise InvalidInput(f"notes must be a str, got {type(draft.notes).__name__}")
        name = None if draft.name is None else records.validate_name(draft.name, "version name")
        if name is not None:
            self.refuse_shadowing(name, "version name")
        graph = self.index.graph
        created = datetime.now(timezone.utc) if draft.timestamp is None else draft.timestamp
        for parent_id in draft.parents:
            # The graph's time column: a parent loaded from a pack stays unread.
            if utc_micros(created) < graph.created_micros(parent_id):
                parent = graph.get(parent_id)
                raise InvalidTime(
                    f"timestamp {created.isoformat()} is before parent {handle(parent_id)}'s "
                    f"{parent.created_at.isoformat()}; a version cannot predate its parents"
                )
        art, environment, hashing = _lazy_modules()
        settings = self.settings
        model_path = os.fspath(draft.model_path)
        archive = settings.archive if draft.archive is None else draft.archive
        digest = None
        if settings.hash_artifacts or archive:
            if os.path.exists(model_path):
                digest = hashing.hash_path(model_path)
            elif archive:
                raise MissingField(
                    f"model_path {model_path!r} does not exist, so it cannot be archived; "
                    "write the checkpoint before the block ends; nothing was written"
                )
        artifact = (
            None if digest is None else art.artifact_ref(model_path, digest, archived=archive)
        )
        environment_ref = environment_bytes = None
        if settings.capture_environment:
            environment_ref, environment_bytes = environment.environment_blob()
        fingerprints = self._fingerprints(draft)
        origin = coerce_origin(draft.origin)
        try:
            # Every field was checked and converted above (or made here): not validated again.
            version = records.checked_version(
                id=new_id(created),
                model=self.index.model,
                name=name,
                parents=draft.parents,
                kind=draft.kind,
                created_at=created,
                started_at=min(draft.started_at, created),
                model_path=model_path,
                model_artifact=artifact,
                dataset=draft.dataset,
                metrics=coerce_metrics(draft.metrics),
                hyperparameters=coerce_hyperparameters(draft.hyperparameters),
                environment_ref=environment_ref,
                notes=draft.notes,
                tags=coerce_tags(draft.tags),
                status=records.VersionStatus.COMMITTED,
                committed_at=created,
                metadata=coerce_hyperparameters(draft.metadata),
                fingerprints=fingerprints,
                origin=origin,
            )
        except InvalidRecord as exc:
            raise InvalidRecord(f"version could not be built: {exc}; nothing was written") from None
        return version, digest, environment_bytes

    def commit(self, draft: VersionLogger) -> records.ModelVersion:
        """Build, write (blobs, name claim, then the record, durably) and index a version."""
        version, digest, environment_bytes = self.build(draft)
        data = encode_version(version)
        if len(data) > MAX_RECORD_SIZE:
            raise InvalidInput(
                f"the version record would be {len(data):,} bytes; the format allows "
                f"{MAX_RECORD_SIZE:,} (keep large things — arrays, long notes, big "
                "hyperparameter tables — in files or blobs and log their paths); nothing "
                "was written"
            )
        index = self.index
        with index.lock:
            if version.name is not None and version.name in index.names:
                raise NameTaken(
                    f"version name {version.name!r} is taken in model {index.model!r} by "
                    f"version {index.names[version.name]}; choose another; nothing was written"
                )
            self.ensure_marker()
            self.put_blobs(draft._blobs)
            self._write_blobs(version, digest, environment_bytes)
            if version.name is not None:
                self._claim_name(version.name, version.id)
            self.store.put(_keys.version_key(index.model, version.id), data, mode="create")
            index.add_version(version)
            index.loose_written += 1
        if index.loose_written >= AUTO_COMPACT:
            self.compact()  # a store only ever logged into stays packed, no chores
        return version

    def _write_blobs(
        self,
        version: records.ModelVersion,
        digest: PathDigest | None,
        environment_bytes: bytes | None,
    ) -> None:
        # Blobs first: a version record is only written once everything it points at is.
        art, snapshot = _lazy_modules()[0], version.dataset
        if snapshot.manifest is not None and snapshot.manifest not in self._blobs_written:
            manifest = records.pending_blob(snapshot, snapshot.manifest)
            if manifest is None and not self.store.exists(snapshot.manifest):
                manifest = art.recompute_manifest(snapshot)
            if manifest is not None:
                art.write_manifest(self.store, manifest)
            self._blobs_written.add(snapshot.manifest)
        if snapshot.profile is not None and snapshot.profile not in self._blobs_written:
            art.write_profile_blob(self.store, snapshot, snapshot.profile)
            self._blobs_written.add(snapshot.profile)
        env_key = version.environment_ref
        fresh = env_key is not None and env_key not in self._blobs_written
        if fresh and env_key is not None and environment_bytes is not None:
            # One environment blob serves every version logged from it: after the first,
            # no round trip (a remote store would pay one per put_if_absent).
            self.store.put_if_absent(env_key, environment_bytes)
            self._blobs_written.add(env_key)
        artifact = version.model_artifact
        if digest is not None and artifact is not None:
            if digest.kind == "directory":
                art.write_manifest(self.store, digest.manifest_bytes())
            if artifact.blob is not None:
                art.archive(self.store, artifact.path, digest)

    def _fingerprints(self, draft: VersionLogger) -> tuple[records.FingerprintRef, ...]:
        """The draft's fingerprints as references; their blobs are kept on the draft."""
        if draft.fingerprint is None:
            return ()
        # Imported here: fingerprints need numpy; versions without them do not.
        from mlineage._fingerprint_blobs import prepare
        from mlineage.lineage_reads import find_probe_blob

        prepared = prepare(
            draft.fingerprint, self._probe_blobs, lambda h: find_probe_blob(self.index, h)
        )
        draft._blobs = prepared.blobs
        return prepared.refs

    def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Store content-addressed blobs (create-only; each once per writer): a probe set,
        fingerprints' arrays, an evidence payload."""
        for key, data in blobs.items():
            if key not in self._blobs_written:
                self.store.put_if_absent(key, data)
                self._blobs_written.add(key)

    def _claim_name(self, name: str, version_id: str) -> None:
        key = _keys.name_key(self.index.model, name)
        try:
            self.store.put(key, encode_claim(name, version_id), mode="create")
        except AlreadyExists:
            try:
                holder: str | None = decode_claim(
                    self.store.get_limited(key, MAX_RECORD_SIZE), key, name
                )
            except (CorruptRecord, StoreFormatError, NotFound):
                holder = None
            if holder == version_id:
                return  # a retried write of our own claim
            hint = ""
            if holder is not None and not self._version_exists(holder):
                hint = (
                    f" (which is not in the store: its writer may still be writing it, "
                    f"or died after claiming the name; if no writer is running, "
                    f"`mlineage fsck` reports it and deleting {key!r} frees the name)"
                )
            raise NameTaken(
                f"version name {name!r} is taken in model {self.index.model!r} by "
                f"version {holder}{hint}; choose another; nothing was written"
            ) from None

    def _version_exists(self, version_id: str) -> bool:
        if version_id in self.index.graph:
            return True
        self.index.refresh()  # it may be in a pack written since this tracker looked
        return version_id in self.index.graph

    # -- events -------------------------------------------------------------------------

    def event(self, cls: type[E], *, blobs: Mapping[str, bytes] | None = None, **fields: Any) -> E:
        """Write a new event of type ``cls`` (id and time are now) and index it.

        ``blobs`` (key -> bytes, content-addressed) are written after the event is
        validated and before its record, so that a record never points at a missing blob.
        """
        now = datetime.now(timezone.utc)
        event = cls(id=new_id(now), model=self.index.model, created_at=now, **fields)
        self.ensure_marker()
        if blobs:
            self.put_blobs(blobs)
        self.store.put(
            _keys.event_key(self.index.model, event.id), encode_event(event), mode="create"
        )
        self.index.add_event(event)
        return event

    # -- what the tracker's verbs check before writing ------------------------------------

    def start(
        self,
        parent: Ref | None,
        parents: Iterable[Ref] | None,
        kind: str | None,
        timestamp: object,
        fields: dict[str, Any],
    ) -> VersionLogger:
        """The :class:`VersionLogger` of ``Tracker.log_version`` (parents resolved now)."""
        self.check_writable("log a version")
        if parent is not None and parents is not None:
            raise InvalidInput("pass either parent= or parents=, not both")
        index = self.index
        with index.lock:
            if parents is not None:
                parent_ids = tuple(refs.get_version(index, p).id for p in parents)
                if len(set(parent_ids)) != len(parent_ids):
                    raise InvalidInput(f"parents repeat a version: {list(parent_ids)}")
            elif parent is not None:
                parent_ids = (refs.get_version(index, parent).id,)
            else:
                latest = index.graph.latest_id()
                parent_ids = () if latest is None else (latest,)
        when = None
        if timestamp is not None:
            when = check_log_time(as_utc(parse_time(timestamp, what="timestamp")))
        if kind is not None and (not isinstance(kind, str) or not kind):
            raise InvalidInput(
                f"kind must be a non-empty str such as 'update' or 'fine_tune', got {kind!r}"
            )
        return VersionLogger(self, parent_ids, kind=kind, timestamp=when, fields=fields)

    def annotate(self, ref: Ref, notes: object, tags: object) -> records.AnnotationEvent:
        """``Tracker.annotate``: validate, then write the event."""
        self.check_writable("annotate")
        version = refs.get_version(self.index, ref)
        if not isinstance(notes, str):
            raise InvalidInput(f"notes must be a str, got {type(notes).__name__}")
        tag_tuple = coerce_tags(tags)
        if not notes and not tag_tuple:
            raise InvalidInput("annotate() needs notes or tags")
        return self.event(records.AnnotationEvent, version=version.id, notes=notes, tags=tag_tuple)

    def refuse_shadowing(self, name: str, what: str) -> None:
        """Refuse a version name or alias that another reference already spells."""
        index = self.index
        taken = None
        if name == index.model:
            taken = "the model's own name (which means its latest version)"
        elif what == "alias" and name in index.names:
            taken = f"the name of version {index.names[name]}"
        elif what == "version name" and name in index.alias_events:
            taken = "an alias"
        if taken is not None:
            raise InvalidInput(
                f"{what} {name!r} is {taken}; one of the two could never be referred to "
                f"by name; choose another {what}"
            )

    def set_status(
        self, ref: Ref, status: records.VersionStatus | str, reason: str
    ) -> records.StatusEvent:
        """``Tracker.set_status``: validate, then write the event."""
        self.check_writable("change a status")
        version = refs.get_version(self.index, ref)
        if not isinstance(reason, str):
            raise InvalidInput(f"reason must be a str, got {type(reason).__name__}: {reason!r}")
        try:
            value = records.VersionStatus(status)
        except ValueError:
            known = ", ".join(s.value for s in records.VersionStatus)
            raise InvalidInput(f"unknown status {status!r}; use one of {known}") from None
        return self.event(records.StatusEvent, version=version.id, status=value, reason=reason)

    # -- compaction ---------------------------------------------------------------------

    def compact(self, *, merge: bool = True) -> int:
        """Pack the loose records (and small packs): :func:`mlineage.compaction.compact`."""
        return compact(self, merge=merge)
