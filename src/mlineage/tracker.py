"""The :class:`Tracker` facade: log versions, ask history questions, say things afterwards.

A tracker is bound to one model in one store. It reads every record of that model into a
:class:`~mlineage.graph.LineageGraph` when it opens, appends to it as versions are logged,
and picks up what other processes wrote with :meth:`Tracker.refresh`.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import gc
import hashlib
import json
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from operator import attrgetter
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from mlineage import _keys
from mlineage._coerce import (
    as_utc,
    coerce_hyperparameters,
    coerce_metrics,
    coerce_tags,
    parse_time,
)
from mlineage._columns import VersionColumns, utc_micros
from mlineage._ids import ID_PATTERN, new_id
from mlineage.blame import BlameReport, Direction, rank_steps, worst_step
from mlineage.codec import (
    FORMAT,
    STORE_MARKER_KEY,
    decode_event,
    decode_marker,
    decode_version,
    encode_event,
    encode_marker,
    encode_pack,
    encode_version,
    read_pack,
)
from mlineage.diff import VersionDiff, diff_dicts, diff_versions
from mlineage.errors import (
    AliasNotFound,
    AlreadyExists,
    AmbiguousReference,
    CorruptRecord,
    HashMismatch,
    InvalidInput,
    InvalidTime,
    MissingField,
    MLineageError,
    ModelNotFound,
    NameTaken,
    NotFound,
    ReadOnlyError,
    VersionNotFound,
)
from mlineage.graph import LineageGraph
from mlineage.records import (
    AliasEvent,
    AnnotationEvent,
    DataSnapshot,
    EnvironmentSnapshot,
    Event,
    ModelVersion,
    StatusEvent,
    VersionStatus,
    pending_manifest,
    validate_name,
)
from mlineage.storage import Store, open_store

if TYPE_CHECKING:
    from mlineage.checkout import Checkout
    from mlineage.hashing import PathDigest

__all__ = ["Lineage", "Tracker", "VersionLogger", "list_models"]

Ref = str | ModelVersion
OnError = Literal["raise", "skip"]
_MIN_PREFIX = 4
#: Records per pack object written by :meth:`Tracker.compact`.
PACK_RECORDS = 10_000


def list_models(storage: str | os.PathLike[str] | Store | None = None) -> list[str]:
    """Return the names of the models in a store, sorted.

    Parameters
    ----------
    storage : str, os.PathLike, Store or None
        As for :class:`Tracker`.

    Examples
    --------
    >>> list_models("memory://list-models-doc")
    []
    """
    store = open_store(storage)
    return [m for m in store.list_dir(_keys.MODELS) if _has_records(store, m)]


def _has_records(store: Store, model: str) -> bool:
    return any(
        next(iter(store.list(prefix)), None) is not None
        for prefix in (_keys.versions_prefix(model), _keys.packs_prefix(model))
    )


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
    """

    def __init__(
        self,
        tracker: Tracker,
        parents: tuple[str, ...],
        *,
        kind: str | None,
        timestamp: datetime | None,
        fields: dict[str, Any],
    ) -> None:
        self._tracker = tracker
        self._parents = parents
        self._timestamp = timestamp
        self._version: ModelVersion | None = None
        self._started_at = datetime.now(timezone.utc)
        self.model_path: str | os.PathLike[str] | None = None
        self.dataset: DataSnapshot | None = None
        self.metrics: dict[str, Any] = {}
        self.hyperparameters: dict[str, Any] = {}
        self.notes: str = ""
        self.tags: list[str] = []
        self.name: str | None = None
        self.kind: str = kind or ("update" if parents else "initial")
        self.metadata: dict[str, Any] = {}
        self.archive: bool | None = None
        self._digest: PathDigest | None = None
        self._environment_bytes: bytes | None = None
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
    def version(self) -> ModelVersion:
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
            self._version = self._tracker._commit(self)

    def _build(self) -> ModelVersion:
        if self.model_path is None or not str(self.model_path).strip():
            raise MissingField(
                "model_path is required: set `v.model_path` to the checkpoint this update "
                "produced; nothing was written"
            )
        if self.dataset is None:
            raise MissingField(
                "dataset is required: set `v.dataset = ml.DataSnapshot(path=..., hash=...)` "
                "or `ml.DataSnapshot.from_path(...)`; nothing was written"
            )
        if not isinstance(self.dataset, DataSnapshot):
            raise InvalidInput(
                f"dataset must be a DataSnapshot, got {type(self.dataset).__name__}; "
                "use ml.DataSnapshot.from_path(path) for files"
            )
        if not isinstance(self.notes, str):
            raise InvalidInput(f"notes must be a str, got {type(self.notes).__name__}")
        name = None if self.name is None else validate_name(self.name, "version name")
        tracker = self._tracker
        created = datetime.now(timezone.utc) if self._timestamp is None else self._timestamp
        for parent_id in self._parents:
            # The graph's time column: a parent loaded from a pack stays unread.
            if utc_micros(created) < tracker._graph.created_micros(parent_id):
                parent = tracker._graph.get(parent_id)
                raise InvalidTime(
                    f"timestamp {created.isoformat()} is before parent {parent_id[:12]}'s "
                    f"{parent.created_at.isoformat()}; a version cannot predate its parents"
                )
        # Imported here: hashing and environment capture are not needed at `import mlineage`.
        from mlineage.artifacts import artifact_ref
        from mlineage.environment import environment_blob
        from mlineage.hashing import hash_path

        model_path = os.fspath(self.model_path)
        archive = tracker.archive if self.archive is None else self.archive
        artifact = None
        if tracker.hash_artifacts or archive:
            if os.path.exists(model_path):
                self._digest = hash_path(model_path)
            elif archive:
                raise MissingField(
                    f"model_path {model_path!r} does not exist, so it cannot be archived; "
                    "write the checkpoint before the block ends; nothing was written"
                )
        if self._digest is not None:
            artifact = artifact_ref(model_path, self._digest, archived=archive)
        environment_ref = None
        if tracker.capture_environment:
            environment_ref, self._environment_bytes = environment_blob()
        try:
            return ModelVersion(
                id=new_id(created),
                model=tracker.model,
                name=name,
                parents=self._parents,
                kind=self.kind,
                created_at=created,
                started_at=min(self._started_at, created),
                model_path=model_path,
                model_artifact=artifact,
                dataset=self.dataset,
                environment_ref=environment_ref,
                metrics=coerce_metrics(self.metrics),
                hyperparameters=coerce_hyperparameters(self.hyperparameters),
                notes=self.notes,
                tags=coerce_tags(self.tags),
                metadata=coerce_hyperparameters(self.metadata),
            )
        except ValidationError as exc:
            raise InvalidInput(f"version could not be built: {exc}; nothing was written") from None


class Lineage:
    """Structural queries around one version: ``tracker.lineage(ref)``."""

    def __init__(self, tracker: Tracker, version: ModelVersion) -> None:
        self.tracker = tracker
        self.version = version

    def ancestors(self) -> list[ModelVersion]:
        """Every version this one descends from (through any parent), newest first."""
        return self.tracker._graph.ancestors(self.version.id)

    def descendants(self) -> list[ModelVersion]:
        """Every version descending from this one, oldest first."""
        return self.tracker._graph.descendants(self.version.id)

    def history(self) -> list[ModelVersion]:
        """This version and its first-parent ancestors, newest first."""
        return self.tracker._graph.first_parent_chain(self.version.id)

    def parents(self) -> list[ModelVersion]:
        """Direct parents, first parent first."""
        return self.tracker._graph.parents(self.version.id)

    def children(self) -> list[ModelVersion]:
        """Direct children, oldest first."""
        return self.tracker._graph.children(self.version.id)

    def __repr__(self) -> str:
        return f"<Lineage of {self.version!r}>"


class Tracker:
    """Records the versions of one model and answers questions about their history.

    Parameters
    ----------
    model : str
        Model name: 1-128 ASCII letters, digits, ``.``, ``_``, ``-``.
    storage : str, os.PathLike, Store or None
        Where the lineage store is: a directory path, ``file://``, ``memory://name``,
        ``s3://bucket/prefix``, ``gs://bucket/prefix``, or a :class:`Store`. ``None``
        means ``$MLINEAGE_STORE``, else ``./.mlineage``.
    read_only : bool
        Refuse every write (for auditors and dashboards).
    on_error : {"raise", "skip"}
        What to do with a damaged record while loading: raise
        :class:`~mlineage.errors.CorruptRecord` naming its key (default), or skip it and
        warn once per key.
    archive : bool
        Copy every version's checkpoint bytes into the store (content-addressed, so the
        same bytes are stored once); per version with ``v.archive``.
    capture_environment : bool
        Record Python, platform, installed packages, git commit and torch/CUDA versions
        with each version (cached per process; never environment variables).
    hash_artifacts : bool
        Hash the checkpoint at ``model_path`` when it exists (a cache makes unchanged
        files free); ``checkout`` verifies against this hash.

    Examples
    --------
    >>> import mlineage as ml
    >>> tracker = ml.Tracker("doc-model", storage="memory://tracker-doc")
    >>> with tracker.log_version() as v:
    ...     v.model_path = "model.pt"
    ...     v.dataset = ml.DataSnapshot(path="data/", hash="sha256:abc123")
    ...     v.metrics = {"accuracy": 0.9}
    >>> tracker.latest() == v.version
    True
    """

    def __init__(
        self,
        model: str,
        storage: str | os.PathLike[str] | Store | None = None,
        *,
        read_only: bool = False,
        on_error: OnError = "raise",
        archive: bool = False,
        capture_environment: bool = True,
        hash_artifacts: bool = True,
    ) -> None:
        self.model = validate_name(model, "model")
        self.archive = archive
        self.capture_environment = capture_environment
        self.hash_artifacts = hash_artifacts
        if on_error not in ("raise", "skip"):
            raise InvalidInput(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        store = open_store(storage)
        if read_only and not store.read_only:
            # A read-only view; the caller's Store object (maybe shared) stays writable.
            store = copy.copy(store)
            store.read_only = True
        self.store = store
        self.read_only = self.store.read_only
        self.on_error: OnError = on_error
        self._lock = threading.RLock()
        self._graph = LineageGraph()
        self._names: dict[str, str] = {}
        self._events: dict[str, Event] = {}
        self._alias_events: dict[str, list[AliasEvent]] = {}
        # pack key -> the ids of the versions and events it holds (for merging packs)
        self._loaded_packs: dict[str, tuple[list[str], list[str]]] = {}
        self._damaged_packs: set[str] = set()
        self._marker_checked = False
        self._warned: set[str] = set()
        self._manifests: dict[str, dict[str, str]] = {}
        self._environments: dict[str, EnvironmentSnapshot] = {}
        self._blobs_written: set[str] = set()
        self._check_marker()
        self.refresh()

    @classmethod
    def load(
        cls,
        model: str,
        storage: str | os.PathLike[str] | Store | None = None,
        *,
        read_only: bool = False,
        on_error: OnError = "raise",
    ) -> Tracker:
        """Open an existing model's lineage (in a new process, a notebook, a dashboard).

        Unlike the constructor, which starts a new model when the store has none of that
        name, ``load`` insists that the model exists.

        Raises
        ------
        ModelNotFound
            If the store has no versions of ``model``; the message lists the models it has.
        """
        tracker = cls(model, storage, read_only=read_only, on_error=on_error)
        if len(tracker._graph) == 0 and not tracker._events:
            models = list_models(tracker.store)
            if model in models:
                return tracker  # every record was damaged and skipped (warnings issued)
            have = ", ".join(repr(m) for m in models) if models else "none"
            raise ModelNotFound(
                f"model {model!r} is not in store {tracker.store.uri} (models there: {have})"
            )
        return tracker

    # -- loading --------------------------------------------------------------------------

    def _check_marker(self) -> None:
        try:
            data = self.store.get(STORE_MARKER_KEY)
        except NotFound:
            return
        decode_marker(data, self.store.uri)
        self._marker_checked = True

    def _warn_skip(self, key: str, error: Exception) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"skipped damaged record: {error}", RuntimeWarning, stacklevel=3)

    def _record_error(self, key: str, error: CorruptRecord) -> None:
        if self.on_error == "raise":
            raise error
        self._warn_skip(key, error)

    def _new_keys(self, prefix: str, known: Callable[[str], bool]) -> list[str]:
        return sorted(
            k
            for k in self.store.list(prefix)
            if k.endswith(".json") and not known(_keys.record_id(k))
        )

    def _load_packs(self, versions: VersionColumns, events: dict[str, Event]) -> None:
        # A pack that vanishes between listing and reading was merged into a bigger one
        # by a compactor, which deletes packs only after writing the merged pack: a
        # fresh listing shows it.
        for _ in range(3):
            keys = [
                k
                for k in self.store.list(_keys.packs_prefix(self.model))
                if k.endswith(".json") and k not in self._loaded_packs
            ]
            vanished = False
            for key, data in self.store.get_many(sorted(keys)):
                if data is None:
                    vanished = True
                    continue
                try:
                    contents = read_pack(data, key, self.model, lenient=self.on_error == "skip")
                except CorruptRecord as exc:
                    self._record_error(key, exc)
                    continue
                for problem in contents.problems:
                    self._warn_skip(key, problem)
                if contents.problems:
                    self._damaged_packs.add(key)  # never merged away: fsck reports it
                versions.extend(contents.versions)
                for event in contents.events:
                    events.setdefault(event.id, event)
                self._loaded_packs[key] = (
                    list(contents.versions.ids),
                    [e.id for e in contents.events],
                )
            if not vanished:
                return

    def _load_loose(
        self, keys: list[str], decode: Callable[[bytes, str], Any], sink: dict[str, Any]
    ) -> list[str]:
        """Decode loose records into ``sink``; return the keys that vanished meanwhile."""
        vanished = []
        for key, data in self.store.get_many(keys):
            if data is None:
                vanished.append(key)
                continue
            try:
                record = decode(data, key)
            except CorruptRecord as exc:
                self._record_error(key, exc)
                continue
            if _keys.record_id(key) != record.id or record.model != self.model:
                self._record_error(
                    key,
                    CorruptRecord(
                        f"{key!r} holds record {record.id} of model {record.model!r}; "
                        "a record must sit under its own key; run `mlineage fsck`"
                    ),
                )
                continue
            sink.setdefault(record.id, record)
        return vanished

    def refresh(self) -> int:
        """Load versions and events written (by any process) since this tracker last looked.

        Reads loose records and packs (see :meth:`compact`) and merges them; a record
        found in both is loaded once.

        Returns
        -------
        int
            The number of new versions.
        """
        import numpy  # noqa: F401  # the graph's index needs it; import it with the data

        with self._lock, _gc_paused():
            before = len(self._graph)
            packed = VersionColumns()
            loose: dict[str, ModelVersion] = {}
            events: dict[str, Event] = {}
            # Loose keys are listed before packs. A compactor deletes loose records only
            # after the pack holding them is durable, so a listed key that has vanished by
            # the time it is read is in a pack that a fresh listing shows.
            loose_versions = self._new_keys(
                _keys.versions_prefix(self.model), self._graph.__contains__
            )
            loose_events = self._new_keys(
                _keys.events_prefix(self.model), self._events.__contains__
            )
            self._load_packs(packed, events)
            vanished = self._load_loose(loose_versions, decode_version, loose)
            vanished += self._load_loose(loose_events, decode_event, events)
            for _ in range(3):
                if not vanished:
                    break
                listed = set(packed.ids)
                vanished = [
                    k
                    for k in vanished
                    if _keys.record_id(k) not in listed and _keys.record_id(k) not in events
                ]
                if not vanished:
                    break
                self._load_packs(packed, events)
            # A record both packed and loose (an interrupted compaction) is the same
            # record; the packed copy is kept.
            packed.extend(VersionColumns.from_versions(loose.values()))
            orphans = set(self._graph.add_columns(packed))
            names = self._names
            for row, name in enumerate(packed.names):
                if name is not None and row not in orphans:
                    names.setdefault(name, packed.ids[row])
            for row in sorted(orphans, key=packed.ids.__getitem__):
                missing = [p for p in packed.parents[row] if p not in self._graph]
                self._record_error(
                    _keys.version_key(self.model, packed.ids[row]),
                    CorruptRecord(
                        f"version {packed.ids[row]} of model {self.model!r} names parent(s) "
                        f"{', '.join(missing)} that are not in the store; run `mlineage fsck`"
                    ),
                )
            for event in sorted(events.values(), key=_by_id):
                if event.id not in self._events:
                    self._add_event(event)
            return len(self._graph) - before

    def compact(self, *, merge: bool = True) -> int:
        """Bundle this model's loose records into pack objects, for fast loading.

        Remote stores answer one GET per record slowly, and decoding records one by one
        is slow anywhere; a pack holds up to 10,000 versions with an index of them (see
        docs/storage-format.md). Compaction writes the pack (create-only), then deletes
        the loose records it holds. With ``merge`` it also merges packs of fewer than
        10,000 records into fuller ones (writing the merged pack before deleting the
        small ones), so that a store compacted every day stays a handful of objects.
        It is safe while other processes log and load: writers keep writing loose
        records (a later compaction packs them), and readers list loose records before
        packs and list packs again when one vanishes, so a record is never invisible. A
        compaction killed half-way leaves records both loose and packed, or in two packs,
        which readers merge.

        Returns
        -------
        int
            How many records were written into new packs (loose records packed, plus
            records moved by merging).

        Raises
        ------
        ReadOnlyError
        """
        self._check_writable("compact")
        with self._lock:
            self.refresh()
            version_keys = sorted(
                k
                for k in self.store.list(_keys.versions_prefix(self.model))
                if k.endswith(".json") and _keys.record_id(k) in self._graph
            )
            event_keys = sorted(
                k
                for k in self.store.list(_keys.events_prefix(self.model))
                if k.endswith(".json") and _keys.record_id(k) in self._events
            )
            version_ids = [_keys.record_id(k) for k in version_keys]
            event_ids = [_keys.record_id(k) for k in event_keys]
            merged = self._packs_to_merge(bool(version_ids or event_ids)) if merge else []
            for key in merged:
                version_ids += self._loaded_packs[key][0]
                event_ids += self._loaded_packs[key][1]
            if not version_ids and not event_ids:
                return 0
            version_ids = sorted(set(version_ids))
            event_ids = sorted(set(event_ids))
            self._ensure_marker()
            # Packs of bounded size keep a reader's peak memory low and let a remote
            # store fetch them in parallel. Everything replaced is deleted only once all
            # new packs are durable.
            for start in range(0, max(len(version_ids), len(event_ids)), PACK_RECORDS):
                chunk_versions = version_ids[start : start + PACK_RECORDS]
                chunk_events = event_ids[start : start + PACK_RECORDS]
                data = encode_pack(
                    [self._graph.get(i) for i in chunk_versions],
                    [self._events[i] for i in chunk_events],
                )
                key = _keys.pack_key(self.model, new_id())
                self.store.put(key, data, mode="create")
                self._loaded_packs[key] = (chunk_versions, chunk_events)
            self.store.delete_many(version_keys + event_keys + merged)
            for key in merged:
                del self._loaded_packs[key]
            return len(version_ids) + len(event_ids)

    def _packs_to_merge(self, loose: bool) -> list[str]:
        """Packs of fewer than PACK_RECORDS records to rewrite with the loose ones.

        Only intact packs whose every record is loaded (a damaged pack is kept for fsck),
        and only when that leaves fewer packs: with no loose records, at least two.
        """
        present = set(self.store.list(_keys.packs_prefix(self.model)))
        small = []
        for key in sorted(present):
            contents = self._loaded_packs.get(key)
            if contents is None or key in self._damaged_packs:
                continue
            versions, events = contents
            if (
                len(versions) + len(events) < PACK_RECORDS
                and all(i in self._graph for i in versions)
                and all(i in self._events for i in events)
            ):
                small.append(key)
        return small if loose or len(small) > 1 else []

    def _add_event(self, event: Event) -> None:
        self._events[event.id] = event
        if isinstance(event, AliasEvent):
            moves = self._alias_events.setdefault(event.alias, [])
            bisect.insort(moves, event, key=_alias_order)

    # -- writing --------------------------------------------------------------------------

    def _check_writable(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyError(
                f"cannot {what}: tracker for {self.model!r} was opened read_only=True"
            )

    def _ensure_marker(self) -> None:
        if not self._marker_checked:
            if not self.store.put_if_absent(STORE_MARKER_KEY, encode_marker()):
                decode_marker(self.store.get(STORE_MARKER_KEY), self.store.uri)
            self._marker_checked = True

    def log_version(
        self,
        *,
        parent: Ref | None = None,
        parents: Iterable[Ref] | None = None,
        kind: str | None = None,
        timestamp: datetime | str | None = None,
        **fields: Any,
    ) -> VersionLogger:
        """Start logging a new version; use as ``with tracker.log_version() as v:``.

        Parameters
        ----------
        parent : str or ModelVersion, optional
            The parent version (id, prefix, name or alias). Default: the latest version
            this tracker knows (call :meth:`refresh` first to include other processes').
        parents : iterable, optional
            Several parents, for merges; the first is the first parent.
        kind : str, optional
            Edge kind: ``"update"`` (default), ``"fine_tune"``, ``"distill"``, ``"merge"``,
            ``"rollback"``, ... (``"initial"`` for a root).
        timestamp : datetime or str, optional
            Commit time to record instead of now, for backfilling history from old logs;
            it may not predate the parents.
        **fields
            Initial values of :class:`VersionLogger` fields (``model_path=...``).

        Raises
        ------
        ReadOnlyError
            If the tracker is read-only.
        VersionNotFound, AmbiguousReference
            If a parent does not resolve (raised before the block runs).
        """
        self._check_writable("log a version")
        if parent is not None and parents is not None:
            raise InvalidInput("pass either parent= or parents=, not both")
        with self._lock:
            if parents is not None:
                parent_ids = tuple(self.get_version(p).id for p in parents)
                if len(set(parent_ids)) != len(parent_ids):
                    raise InvalidInput(f"parents repeat a version: {list(parent_ids)}")
            elif parent is not None:
                parent_ids = (self.get_version(parent).id,)
            else:
                latest = self._graph.latest()
                parent_ids = () if latest is None else (latest.id,)
        when = None if timestamp is None else as_utc(parse_time(timestamp, what="timestamp"))
        return VersionLogger(self, parent_ids, kind=kind, timestamp=when, fields=fields)

    def log(self, **fields: Any) -> ModelVersion:
        """Log a version in one call: ``tracker.log(model_path=..., dataset=..., ...)``.

        Accepts the keyword arguments of :meth:`log_version` and the fields of
        :class:`VersionLogger`; returns the committed version.
        """
        with self.log_version(**fields) as logger:
            pass
        return logger.version

    def _commit(self, logger: VersionLogger) -> ModelVersion:
        version = logger._build()
        data = encode_version(version)
        with self._lock:
            if version.name is not None and version.name in self._names:
                raise NameTaken(
                    f"version name {version.name!r} is taken in model {self.model!r} by "
                    f"version {self._names[version.name]}; choose another; nothing was written"
                )
            self._ensure_marker()
            self._write_blobs(version, logger)
            if version.name is not None:
                self._claim_name(version)
            self.store.put(_keys.version_key(self.model, version.id), data, mode="create")
            self._graph.add(version)
            if version.name is not None:
                self._names[version.name] = version.id
        return version

    def _write_blobs(self, version: ModelVersion, logger: VersionLogger) -> None:
        # Blobs first: a version record is only written once everything it points at is.
        from mlineage.artifacts import archive, write_manifest

        snapshot = version.dataset
        if snapshot.manifest is not None and snapshot.manifest not in self._blobs_written:
            manifest = pending_manifest(snapshot.manifest)
            if manifest is None and not self.store.exists(snapshot.manifest):
                manifest = _recompute_manifest(snapshot)
            if manifest is not None:
                write_manifest(self.store, manifest)
            self._blobs_written.add(snapshot.manifest)
        env_key, env_bytes = version.environment_ref, logger._environment_bytes
        if env_key is not None and env_bytes is not None and env_key not in self._blobs_written:
            # One environment blob serves every version logged from it: after the first,
            # no round trip (a remote store would pay one per put_if_absent).
            self.store.put_if_absent(env_key, env_bytes)
            self._blobs_written.add(env_key)
        digest = logger._digest
        artifact = version.model_artifact
        if digest is not None and artifact is not None:
            if digest.kind == "directory":
                write_manifest(self.store, digest.manifest_bytes())
            if artifact.blob is not None:
                archive(self.store, artifact.path, digest)

    def _claim_name(self, version: ModelVersion) -> None:
        assert version.name is not None
        key = _keys.name_key(self.model, version.name)
        claim = json.dumps(
            {"format": FORMAT, "type": "name", "name": version.name, "version": version.id}
        ).encode()
        try:
            self.store.put(key, claim, mode="create")
        except AlreadyExists:
            try:
                holder = json.loads(self.store.get(key)).get("version")
            except (ValueError, AttributeError, NotFound):
                holder = None
            if holder != version.id:
                hint = ""
                if isinstance(holder, str) and not self._version_exists(holder):
                    hint = (
                        f" (which is not in the store: its writer may still be writing it, "
                        f"or died after claiming the name; if no writer is running, "
                        f"`mlineage fsck` reports it and deleting {key!r} frees the name)"
                    )
                raise NameTaken(
                    f"version name {version.name!r} is taken in model {self.model!r} by "
                    f"version {holder}{hint}; choose another; nothing was written"
                ) from None

    def _version_exists(self, version_id: str) -> bool:
        if version_id in self._graph:
            return True
        self.refresh()  # it may be in a pack written since this tracker looked
        return version_id in self._graph

    def _write_event(self, event: Event) -> Event:
        self._ensure_marker()
        self.store.put(_keys.event_key(self.model, event.id), encode_event(event), mode="create")
        with self._lock:
            self._add_event(event)
        return event

    def annotate(self, ref: Ref, *, notes: str = "", tags: Iterable[str] = ()) -> AnnotationEvent:
        """Attach a note and/or tags to a version after the fact (the version is unchanged).

        Returns
        -------
        AnnotationEvent
            The stored event.
        """
        self._check_writable("annotate")
        version = self.get_version(ref)
        if not isinstance(notes, str):
            raise InvalidInput(f"notes must be a str, got {type(notes).__name__}")
        tag_tuple = coerce_tags(list(tags))
        if not notes and not tag_tuple:
            raise InvalidInput("annotate() needs notes or tags")
        now = datetime.now(timezone.utc)
        event = AnnotationEvent(
            id=new_id(now),
            model=self.model,
            created_at=now,
            version=version.id,
            notes=notes,
            tags=tag_tuple,
        )
        self._write_event(event)
        return event

    def set_alias(self, alias: str, ref: Ref | None, *, at: object = None) -> AliasEvent:
        """Point ``alias`` (``"production"``, ``"staging"``) at a version, or remove it.

        Every move is kept: :meth:`alias_history` lists them and :meth:`resolve` answers
        where the alias pointed at any time. When two moves claim the same moment, the one
        with the larger event id (the later-recorded) wins.

        Parameters
        ----------
        alias : str
            Alias name (same rules as model names).
        ref : str, ModelVersion or None
            The version; ``None`` removes the alias from then on.
        at : datetime, date or str, optional
            When the move took effect, if not now (recording a past deployment).
        """
        self._check_writable("move an alias")
        validate_name(alias, "alias")
        version = None if ref is None else self.get_version(ref)
        now = datetime.now(timezone.utc)
        effective = now if at is None else as_utc(parse_time(at))
        if version is not None and utc_micros(effective) < self._graph.created_micros(version.id):
            raise InvalidTime(
                f"alias {alias!r} cannot point at {version.id[:12]} from "
                f"{effective.isoformat()}: that version was only created at "
                f"{version.created_at.isoformat()}"
            )
        target = None if version is None else version.id
        event = AliasEvent(
            id=new_id(now),
            model=self.model,
            created_at=now,
            alias=alias,
            version=target,
            effective_at=effective,
        )
        self._write_event(event)
        return event

    def set_status(self, ref: Ref, status: VersionStatus | str, *, reason: str = "") -> StatusEvent:
        """Record a lifecycle change of a version (deprecated, rolled back, ...)."""
        self._check_writable("change a status")
        version = self.get_version(ref)
        try:
            value = VersionStatus(status)
        except ValueError:
            known = ", ".join(s.value for s in VersionStatus)
            raise InvalidInput(f"unknown status {status!r}; use one of {known}") from None
        now = datetime.now(timezone.utc)
        event = StatusEvent(
            id=new_id(now),
            model=self.model,
            created_at=now,
            version=version.id,
            status=value,
            reason=reason,
        )
        self._write_event(event)
        return event

    # -- references -----------------------------------------------------------------------

    def get_version(self, ref: Ref) -> ModelVersion:
        """Return the version ``ref`` names.

        ``ref`` is a :class:`ModelVersion`, a full id, a version name, an alias (its
        current target) or a unique id prefix of at least 4 hex digits, tried in that order.

        Raises
        ------
        VersionNotFound
            If nothing matches.
        AmbiguousReference
            If an id prefix matches several versions; the message lists them.
        """
        with self._lock:
            if isinstance(ref, ModelVersion):
                if ref.id in self._graph:
                    return self._graph.get(ref.id)
                raise VersionNotFound(f"version {ref.id} is not in model {self.model!r}")
            if not isinstance(ref, str):
                raise VersionNotFound(
                    f"a version reference is an id, prefix, name or alias (str), "
                    f"got {type(ref).__name__}: {ref!r}"
                )
            if ref in self._graph:
                return self._graph.get(ref)
            if ref in self._names:
                return self._graph.get(self._names[ref])
            if ref in self._alias_events:
                return self.resolve(ref)
            lowered = ref.lower()
            if len(lowered) >= _MIN_PREFIX and all(c in "0123456789abcdef" for c in lowered):
                matches = self._graph.match_prefix(lowered)
                if len(matches) == 1:
                    return self._graph.get(matches[0])
                if matches:
                    shown = ", ".join(m[:16] for m in matches[:10])
                    more = " and more" if len(matches) > 10 else ""
                    raise AmbiguousReference(
                        f"id prefix {ref!r} matches several versions of {self.model!r}: "
                        f"{shown}{more}; use more digits"
                    )
            hint = ""
            if ID_PATTERN.match(lowered) is None and len(lowered) < _MIN_PREFIX:
                hint = f" (id prefixes need at least {_MIN_PREFIX} hex digits)"
            raise VersionNotFound(
                f"no version, name or alias {ref!r} in model {self.model!r}{hint}"
            )

    def lineage(self, ref: Ref) -> Lineage:
        """Structural queries (ancestors, descendants, history) around a version."""
        return Lineage(self, self.get_version(ref))

    def abbrev(self, ref: Ref, minimum: int = 8) -> str:
        """The shortest unique prefix (at least ``minimum`` digits) of a version's id."""
        version_id = self.get_version(ref).id
        return version_id[: max(minimum, self._graph.unique_prefix_length(version_id))]

    # -- queries --------------------------------------------------------------------------

    @property
    def graph(self) -> LineageGraph:
        """The lineage DAG (read-only view; use the tracker to add versions)."""
        return self._graph

    def __len__(self) -> int:
        return len(self._graph)

    def versions(self) -> list[ModelVersion]:
        """Every version, oldest first."""
        return self._graph.versions()

    def latest(self) -> ModelVersion | None:
        """The most recently created version, or None if there are none."""
        return self._graph.latest()

    def roots(self) -> list[ModelVersion]:
        """Versions without parents, oldest first."""
        return self._graph.roots()

    def leaves(self) -> list[ModelVersion]:
        """Branch tips (versions without children), oldest first."""
        return self._graph.leaves()

    def history(self, ref: Ref | None = None) -> list[ModelVersion]:
        """The first-parent history of ``ref`` (default: the latest version), newest first."""
        if ref is None:
            latest = self._graph.latest()
            return [] if latest is None else self._graph.first_parent_chain(latest.id)
        return self._graph.first_parent_chain(self.get_version(ref).id)

    def query(
        self, predicate: Callable[[ModelVersion, ModelVersion | None], bool]
    ) -> list[ModelVersion]:
        """Versions for which ``predicate(version, first_parent_or_None)`` is true, oldest first.

        Examples
        --------
        ``tracker.query(lambda v, p: p is not None and v.metric_delta(p, "f1") < -0.02)``
        """
        graph = self._graph
        out = []
        for version in graph.versions():
            if predicate(version, graph.first_parent(version.id)):
                out.append(version)
        return out

    def annotations(self, ref: Ref) -> list[AnnotationEvent]:
        """Annotations attached to a version after it was written, oldest first."""
        version_id = self.get_version(ref).id
        return sorted(
            (
                e
                for e in self._events.values()
                if isinstance(e, AnnotationEvent) and e.version == version_id
            ),
            key=lambda e: e.id,
        )

    def tags(self, ref: Ref) -> list[str]:
        """A version's tags plus those added later by annotations."""
        version = self.get_version(ref)
        out = list(version.tags)
        for event in self.annotations(version):
            out += [t for t in event.tags if t not in out]
        return out

    def status(self, ref: Ref) -> VersionStatus:
        """A version's current lifecycle status (``COMMITTED`` unless changed since)."""
        version_id = self.get_version(ref).id
        changes = [
            e
            for e in self._events.values()
            if isinstance(e, StatusEvent) and e.version == version_id
        ]
        return max(changes, key=lambda e: e.id).status if changes else VersionStatus.COMMITTED

    def aliases(self) -> dict[str, ModelVersion]:
        """Every alias that currently points somewhere -> its version."""
        out = {}
        now = datetime.now(timezone.utc)
        for alias, moves in sorted(self._alias_events.items()):
            current = [m for m in moves if m.effective_at <= now]
            if current and current[-1].version is not None:
                out[alias] = self._graph.get(current[-1].version)
        return out

    def alias_history(self, alias: str) -> list[AliasEvent]:
        """Every move of ``alias``, in the order they took effect.

        Raises
        ------
        AliasNotFound
            If the alias was never set.
        """
        try:
            return list(self._alias_events[alias])
        except KeyError:
            known = ", ".join(sorted(self._alias_events)) or "none"
            raise AliasNotFound(
                f"alias {alias!r} was never set in model {self.model!r} (aliases: {known})"
            ) from None

    def resolve(self, ref: Ref, at: object = None) -> ModelVersion:
        """Return the version ``ref`` designated at time ``at`` (default: now).

        - an **alias**: where it pointed at ``at`` (its move history);
        - the **model name**: the latest version committed at or before ``at``;
        - a **version** (id, prefix, name): the latest version on its first-parent history
          committed at or before ``at``.

        ``at`` is a datetime, a date or an ISO string; naive times are UTC and a bare date
        means the end of that day (UTC).

        Raises
        ------
        AliasNotFound
            If the alias was never set, or was not set (or was removed) at ``at``.
        InvalidTime
            If ``at`` is before the first version; the message names its time.
        VersionNotFound
        """
        when = None if at is None else as_utc(parse_time(at))
        with self._lock:
            if isinstance(ref, str) and ref in self._alias_events and ref not in self._names:
                moves = self._alias_events[ref]
                # "Now" for an alias is the current time: a move recorded with a future
                # effective time is not in force yet.
                cutoff = datetime.now(timezone.utc) if when is None else when
                candidates = [m for m in moves if m.effective_at <= cutoff]
                if not candidates:
                    raise AliasNotFound(
                        f"alias {ref!r} was not set at {when}; its first move was at "
                        f"{moves[0].effective_at.isoformat()}"
                    )
                move = candidates[-1]
                if move.version is None:
                    raise AliasNotFound(
                        f"alias {ref!r} was removed at {move.effective_at.isoformat()}"
                    )
                return self._graph.get(move.version)
            graph = self._graph
            if isinstance(ref, str) and ref == self.model and ref not in self._names:
                line = graph.creation_indices()
            else:
                line = graph.first_parent_indices(self.get_version(ref).id)[::-1]
            if not line:
                raise VersionNotFound(f"model {self.model!r} has no versions yet")
            if when is None:
                return graph.node(line[-1])
            position = graph.latest_at(line, utc_micros(when))
            if position is None:
                first = graph.node(line[0])
                raise InvalidTime(
                    f"{when.isoformat()} is before the first version "
                    f"{first.id[:12]} ({first.created_at.isoformat()})"
                )
            return graph.node(line[position])

    def diff(self, a: Ref, b: Ref) -> VersionDiff:
        """What changed from version ``a`` to version ``b``.

        Hyperparameters added / removed / changed, metric deltas, the data snapshot (and,
        when both snapshots were taken with ``DataSnapshot.from_path``, the files added,
        removed and changed, from their manifests), row counts, the checkpoint hash,
        installed packages / Python / git commit from the captured environments, notes
        and tags. ``str(diff)`` reads well in a terminal; ``diff.to_dict()`` is JSON-ready.
        """
        va, vb = self.get_version(a), self.get_version(b)
        result = diff_versions(va, vb)
        files = None
        if va.dataset.manifest and vb.dataset.manifest and result.dataset_changed:
            old, new = self._manifest(va.dataset.manifest), self._manifest(vb.dataset.manifest)
            if old is not None and new is not None:
                files = diff_dicts(old, new)
        environment = None
        env_a, env_b = self.environment(va), self.environment(vb)
        if env_a is not None and env_b is not None:
            from mlineage.environment import diff_environments

            environment = diff_environments(env_a, env_b)
        return dataclasses.replace(result, data_files=files, environment=environment)

    def environment(self, ref: Ref) -> EnvironmentSnapshot | None:
        """The environment captured when a version was logged (None if none was).

        Environments are blobs shared by every version logged from the same one; each is
        read from the store once per tracker and verified against its hash.

        Raises
        ------
        CorruptRecord
            If the blob is missing or damaged (run ``mlineage fsck``).
        """
        key = self.get_version(ref).environment_ref
        if key is None:
            return None
        cached = self._environments.get(key)
        if cached is None:
            from mlineage.artifacts import read_blob

            try:
                data = read_blob(self.store, key, "environment blob")
            except NotFound:
                raise CorruptRecord(
                    f"environment blob {key} is missing from {self.store.uri}; run `mlineage fsck`"
                ) from None
            except HashMismatch as exc:
                raise CorruptRecord(str(exc)) from None
            try:
                cached = EnvironmentSnapshot.model_validate_json(data)
            except ValidationError as exc:
                raise CorruptRecord(
                    f"environment blob {key} is not an environment record ({exc.error_count()} "
                    "errors); run `mlineage fsck`"
                ) from None
            self._environments[key] = cached
        return cached

    def _manifest(self, key: str) -> dict[str, str] | None:
        """path -> sha256 of a manifest blob; None (with a warning) if it is unreadable."""
        from mlineage.artifacts import manifest_entries

        cached = self._manifests.get(key)
        if cached is None:
            try:
                entries = manifest_entries(self.store, key)
            except (NotFound, HashMismatch, CorruptRecord) as exc:
                self._warn_skip(key, exc)
                return None
            cached = self._manifests[key] = {e.path: e.sha256 for e in entries}
        return cached

    def checkout(
        self,
        ref: Ref | None = None,
        at: object = None,
        to: str | os.PathLike[str] | None = None,
        *,
        overwrite: bool = False,
    ) -> Checkout:
        """Get exactly what ``ref`` designated at time ``at``, optionally as files in ``to``.

        Parameters
        ----------
        ref : str or ModelVersion, optional
            An alias (``"production"``: where it pointed at ``at``), a version id, prefix
            or name (the latest version on its first-parent history at ``at``), or the
            model's own name / None (the latest version committed at or before ``at``).
        at : datetime, date or str, optional
            Naive times are UTC; a bare date means the end of that day (UTC). Default: now.
        to : path-like, optional
            Materialise into this directory: the checkpoint (from the store's archive, or
            from its original path, verified against the recorded hash either way),
            ``version.json``, ``hyperparameters.json``, ``dataset.json``,
            ``dataset-manifest.json``, ``environment.json`` and a pinned
            ``requirements.txt``. Written to a temporary sibling and renamed at the end.
        overwrite : bool
            Replace a non-empty ``to`` directory.

        Returns
        -------
        Checkout
            The version, its data snapshot, hyperparameters, captured environment and its
            difference from the current environment.

        Raises
        ------
        InvalidTime
            If ``at`` is before the first version (the message names its time).
        AliasNotFound, VersionNotFound
        CheckoutError
            If a file is missing or its hash does not match (naming the file, the expected
            and the actual hash), or ``to`` is not empty; nothing is left half-written.
        """
        from mlineage.checkout import Checkout, materialise
        from mlineage.environment import capture_environment, diff_environments

        if ref is None:
            requested = self.model
        elif isinstance(ref, ModelVersion):
            requested = ref.id
        else:
            requested = ref
        when = None if at is None else as_utc(parse_time(at))
        version = self.resolve(requested, at=when)
        captured = self.environment(version)
        env_diff = None if captured is None else diff_environments(captured, capture_environment())
        result = Checkout(
            version=version,
            requested=requested,
            at=when,
            dataset=version.dataset,
            hyperparameters=dict(version.hyperparameters),
            environment=captured,
            environment_diff=env_diff,
        )
        if to is None:
            return result
        return materialise(self.store, result, to, overwrite=overwrite)

    def blame(
        self, metric: str, direction: Direction = "decrease", on: Ref | None = None
    ) -> ModelVersion | None:
        """The update whose step moved ``metric`` the most in the bad ``direction``.

        Walks the first-parent history of ``on`` (default: the latest version) and compares
        each version carrying the metric with its nearest ancestor on that history that
        carries it too.

        Parameters
        ----------
        metric : str
        direction : {"decrease", "increase"}
            The bad direction: ``"decrease"`` for accuracy, ``"increase"`` for loss.
        on : str or ModelVersion, optional

        Returns
        -------
        ModelVersion or None
            None when no step moved the metric that way, or fewer than two versions on the
            history carry the metric. Ties go to the older step.
        """
        graph = self._graph
        if on is None and graph.latest() is None:
            return None
        nodes, values = graph.metric_series(self._history_indices(on), metric)
        worst = worst_step(values, direction)
        return None if worst is None else graph.node(nodes[worst + 1])

    def _history_indices(self, on: Ref | None) -> list[int]:
        """Graph indices of the first-parent history of ``on`` (default: latest), oldest first."""
        latest = self._graph.latest()
        if on is None:
            return [] if latest is None else self._graph.first_parent_indices(latest.id)[::-1]
        return self._graph.first_parent_indices(self.get_version(on).id)[::-1]

    def blame_report(
        self, metric: str, direction: Direction = "decrease", on: Ref | None = None
    ) -> BlameReport:
        """Every step of ``metric`` along the history of ``on``, worst first, with evidence.

        Each step has its delta, a robust score against the metric's ordinary step-to-step
        noise (``bad_amount / (1.4826 * MAD of all steps)``) and the diff against the
        version it is compared with. ``str(report)`` reads well in a terminal.
        """
        indices = self._history_indices(on)
        history = [self._graph.node(i) for i in indices]
        values = self._graph.metric_values(indices, metric)
        # The graph's metric column: ranking every step reads no record; a step's diff
        # (its `changes`) is computed when looked at.
        return rank_steps(history, values.__getitem__, metric, direction, self.diff)

    # -- display --------------------------------------------------------------------------

    def summary_text(self, ref: Ref | None = None, limit: int | None = 50) -> str:
        """The history as a table (newest first), as :meth:`summary` prints it."""
        history = self.history(ref)
        if not history:
            return f"model {self.model!r}: no versions yet ({self.store.uri})"
        shown = history if limit is None else history[:limit]
        by_version: dict[str, list[str]] = {}
        for alias, version in self.aliases().items():
            by_version.setdefault(version.id, []).append(alias)
        metric_names: list[str] = []
        for version in shown:
            metric_names += [m for m in version.metrics if m not in metric_names]
        metric_names = metric_names[:4]
        header = ["id", "created (UTC)", "name", *metric_names, "notes"]
        rows = []
        for version in shown:
            label = version.name or ""
            if version.id in by_version:
                label = (label + " " if label else "") + f"[{', '.join(by_version[version.id])}]"
            rows.append(
                [self.abbrev(version), f"{version.created_at:%Y-%m-%d %H:%M}", label]
                + [
                    f"{version.metrics[m]:.4f}" if m in version.metrics else "-"
                    for m in metric_names
                ]
                + [version.notes[:50] + ("…" if len(version.notes) > 50 else "")]
            )
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = [
            f"model {self.model!r}: {len(self._graph)} versions, "
            f"{len(self.leaves())} branch tip(s), store {self.store.uri}",
            "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        ]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        if len(history) > len(shown):
            lines.append(f"... {len(history) - len(shown)} older versions")
        return "\n".join(line.rstrip() for line in lines)

    def summary(self, ref: Ref | None = None, *, file: IO[str] | None = None) -> None:
        """Print the history of ``ref`` (default: latest) newest first, one line a version."""
        print(self.summary_text(ref), file=file or sys.stdout)

    def __repr__(self) -> str:
        return f"Tracker({self.model!r}, storage={self.store.uri!r}, versions={len(self)})"


def _recompute_manifest(snapshot: DataSnapshot) -> bytes:
    """Manifest bytes of a snapshot whose in-memory copy is gone, from its path, verified."""
    from mlineage.artifacts import sha256_of_key
    from mlineage.hashing import hash_path

    assert snapshot.manifest is not None and snapshot.path is not None
    data = hash_path(snapshot.path).manifest_bytes()
    if hashlib.sha256(data).hexdigest() != sha256_of_key(snapshot.manifest):
        raise MissingField(
            f"the manifest of dataset {snapshot.path!r} is no longer in memory and the "
            "directory has changed since DataSnapshot.from_path; snapshot it again"
        )
    return data


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Decoding 10^5 records creates millions of long-lived objects; every cyclic-GC pass
    # during that would rescan all of them (quadratic-ish). The records hold no cycles.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_by_id = attrgetter("id")


def _alias_order(event: AliasEvent) -> tuple[datetime, str]:
    return (event.effective_at, event.id)
