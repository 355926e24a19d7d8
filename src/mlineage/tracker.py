"""The :class:`Tracker` facade: log versions, ask history questions, say things afterwards.

A tracker is bound to one model in one store. It delegates: what it knows of the model is a
:class:`~mlineage.index.LineageIndex` (loaded when it opens, current as versions are logged,
refreshed with :meth:`Tracker.refresh`), writes go through :class:`~mlineage.writer.Writer`,
references resolve in :mod:`mlineage.refs`, blob-backed details (environments, manifests,
diff, checkout) come from :mod:`mlineage.details`. New feature families attach as lazy
sub-facades or functions of a tracker, not as more methods here.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from mlineage import _keys, refs
from mlineage._coerce import as_utc, coerce_tags, parse_time
from mlineage._columns import utc_micros
from mlineage.blame import BlameReport, Direction
from mlineage.details import BlobDetails
from mlineage.diff import VersionDiff
from mlineage.errors import (
    AliasNotFound,
    InvalidInput,
    InvalidTime,
    MLineageError,
    ModelNotFound,
)
from mlineage.graph import LineageGraph
from mlineage.index import LineageIndex, OnError
from mlineage.records import (
    AliasEvent,
    AnnotationEvent,
    DataSnapshot,
    EnvironmentSnapshot,
    ModelVersion,
    StatusEvent,
    VersionStatus,
    validate_name,
)
from mlineage.refs import Ref
from mlineage.storage import Store, open_store
from mlineage.writer import PACK_RECORDS, Writer

if TYPE_CHECKING:
    from mlineage.checkout import Checkout

__all__ = ["PACK_RECORDS", "Lineage", "Tracker", "VersionLogger", "list_models"]


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
            self._version = self._tracker._writer.commit(self)


class Lineage:
    """Structural queries around one version: ``tracker.lineage(ref)``."""

    def __init__(self, tracker: Tracker, version: ModelVersion) -> None:
        self.tracker = tracker
        self.version = version

    def ancestors(self) -> list[ModelVersion]:
        """Every version this one descends from (through any parent), newest first."""
        return self.tracker.graph.ancestors(self.version.id)

    def descendants(self) -> list[ModelVersion]:
        """Every version descending from this one, oldest first."""
        return self.tracker.graph.descendants(self.version.id)

    def history(self) -> list[ModelVersion]:
        """This version and its first-parent ancestors, newest first."""
        return self.tracker.graph.first_parent_chain(self.version.id)

    def parents(self) -> list[ModelVersion]:
        """Direct parents, first parent first."""
        return self.tracker.graph.parents(self.version.id)

    def children(self) -> list[ModelVersion]:
        """Direct children, oldest first."""
        return self.tracker.graph.children(self.version.id)

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
        self._index = LineageIndex(store, self.model, on_error=on_error)
        self._writer = Writer(self._index, self)
        self._details = BlobDetails(store)
        self._index.check_marker()
        self._index.refresh()

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
        if len(tracker.graph) == 0 and not tracker._index.events:
            models = list_models(tracker.store)
            if model in models:
                return tracker  # every record was damaged and skipped (warnings issued)
            have = ", ".join(repr(m) for m in models) if models else "none"
            raise ModelNotFound(
                f"model {model!r} is not in store {tracker.store.uri} (models there: {have})"
            )
        return tracker

    @property
    def _graph(self) -> LineageGraph:
        # The prototype's examples call `tracker._graph.ancestors(...)`; kept working.
        return self._index.graph

    # -- loading and writing ----------------------------------------------------------------

    def refresh(self) -> int:
        """Load versions and events written (by any process) since this tracker last looked.

        Reads loose records and packs (see :meth:`compact`) and merges them; a record
        found in both is loaded once.

        Returns
        -------
        int
            The number of new versions.
        """
        return self._index.refresh()

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
        self._writer.check_writable("compact")
        return self._writer.compact(merge=merge)

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
        self._writer.check_writable("log a version")
        if parent is not None and parents is not None:
            raise InvalidInput("pass either parent= or parents=, not both")
        index = self._index
        with index.lock:
            if parents is not None:
                parent_ids = tuple(self.get_version(p).id for p in parents)
                if len(set(parent_ids)) != len(parent_ids):
                    raise InvalidInput(f"parents repeat a version: {list(parent_ids)}")
            elif parent is not None:
                parent_ids = (self.get_version(parent).id,)
            else:
                latest = index.graph.latest()
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

    def annotate(self, ref: Ref, *, notes: str = "", tags: Iterable[str] = ()) -> AnnotationEvent:
        """Attach a note and/or tags to a version after the fact (the version is unchanged).

        Returns
        -------
        AnnotationEvent
            The stored event.
        """
        self._writer.check_writable("annotate")
        version = self.get_version(ref)
        if not isinstance(notes, str):
            raise InvalidInput(f"notes must be a str, got {type(notes).__name__}")
        tag_tuple = coerce_tags(list(tags))
        if not notes and not tag_tuple:
            raise InvalidInput("annotate() needs notes or tags")
        return self._writer.event(AnnotationEvent, version=version.id, notes=notes, tags=tag_tuple)

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
        self._writer.check_writable("move an alias")
        validate_name(alias, "alias")
        version = None if ref is None else self.get_version(ref)
        effective = datetime.now(timezone.utc) if at is None else as_utc(parse_time(at))
        if version is not None and utc_micros(effective) < self.graph.created_micros(version.id):
            raise InvalidTime(
                f"alias {alias!r} cannot point at {version.id[:12]} from "
                f"{effective.isoformat()}: that version was only created at "
                f"{version.created_at.isoformat()}"
            )
        target = None if version is None else version.id
        return self._writer.event(AliasEvent, alias=alias, version=target, effective_at=effective)

    def set_status(self, ref: Ref, status: VersionStatus | str, *, reason: str = "") -> StatusEvent:
        """Record a lifecycle change of a version (deprecated, rolled back, ...)."""
        self._writer.check_writable("change a status")
        version = self.get_version(ref)
        try:
            value = VersionStatus(status)
        except ValueError:
            known = ", ".join(s.value for s in VersionStatus)
            raise InvalidInput(f"unknown status {status!r}; use one of {known}") from None
        return self._writer.event(StatusEvent, version=version.id, status=value, reason=reason)

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
        return refs.get_version(self._index, ref)

    def lineage(self, ref: Ref) -> Lineage:
        """Structural queries (ancestors, descendants, history) around a version."""
        return Lineage(self, self.get_version(ref))

    def abbrev(self, ref: Ref, minimum: int = 8) -> str:
        """The shortest unique prefix (at least ``minimum`` digits) of a version's id."""
        return refs.abbrev(self._index, ref, minimum)

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
        return refs.resolve(self._index, ref, when)

    # -- queries --------------------------------------------------------------------------

    @property
    def graph(self) -> LineageGraph:
        """The lineage DAG (read-only view; use the tracker to add versions)."""
        return self._index.graph

    def __len__(self) -> int:
        return len(self._index.graph)

    def versions(self) -> list[ModelVersion]:
        """Every version, oldest first."""
        return self.graph.versions()

    def latest(self) -> ModelVersion | None:
        """The most recently created version, or None if there are none."""
        return self.graph.latest()

    def roots(self) -> list[ModelVersion]:
        """Versions without parents, oldest first."""
        return self.graph.roots()

    def leaves(self) -> list[ModelVersion]:
        """Branch tips (versions without children), oldest first."""
        return self.graph.leaves()

    def history(self, ref: Ref | None = None) -> list[ModelVersion]:
        """The first-parent history of ``ref`` (default: the latest version), newest first."""
        graph = self.graph
        return [graph.node(i) for i in reversed(refs.history_indices(self._index, ref))]

    def query(
        self, predicate: Callable[[ModelVersion, ModelVersion | None], bool]
    ) -> list[ModelVersion]:
        """Versions for which ``predicate(version, first_parent_or_None)`` is true, oldest first.

        Examples
        --------
        ``tracker.query(lambda v, p: p is not None and v.metric_delta(p, "f1") < -0.02)``
        """
        graph = self.graph
        return [v for v in graph.versions() if predicate(v, graph.first_parent(v.id))]

    def annotations(self, ref: Ref) -> list[AnnotationEvent]:
        """Annotations attached to a version after it was written, oldest first."""
        return self._index.annotations(self.get_version(ref).id)

    def tags(self, ref: Ref) -> list[str]:
        """A version's tags plus those added later by annotations."""
        version = self.get_version(ref)
        out = list(version.tags)
        for event in self.annotations(version):
            out += [t for t in event.tags if t not in out]
        return out

    def status(self, ref: Ref) -> VersionStatus:
        """A version's current lifecycle status (``COMMITTED`` unless changed since)."""
        return self._index.status(self.get_version(ref).id)

    def aliases(self) -> dict[str, ModelVersion]:
        """Every alias that currently points somewhere -> its version."""
        out = {}
        for alias in sorted(self._index.alias_events):
            try:
                out[alias] = refs.resolve(self._index, alias)
            except AliasNotFound:
                continue  # removed, or only set from a future time
        return out

    def alias_history(self, alias: str) -> list[AliasEvent]:
        """Every move of ``alias``, in the order they took effect.

        Raises
        ------
        AliasNotFound
            If the alias was never set.
        """
        try:
            return list(self._index.alias_events[alias])
        except KeyError:
            known = ", ".join(sorted(self._index.alias_events)) or "none"
            raise AliasNotFound(
                f"alias {alias!r} was never set in model {self.model!r} (aliases: {known})"
            ) from None

    def diff(self, a: Ref, b: Ref) -> VersionDiff:
        """What changed from version ``a`` to version ``b``.

        Hyperparameters added / removed / changed, metric deltas, the data snapshot (and,
        when both snapshots were taken with ``DataSnapshot.from_path``, the files added,
        removed and changed, from their manifests), row counts, the checkpoint hash,
        installed packages / Python / git commit from the captured environments, notes
        and tags. ``str(diff)`` reads well in a terminal; ``diff.to_dict()`` is JSON-ready.
        """
        from mlineage.details import diff

        return diff(self._details, self.get_version(a), self.get_version(b))

    def environment(self, ref: Ref) -> EnvironmentSnapshot | None:
        """The environment captured when a version was logged (None if none was).

        Environments are blobs shared by every version logged from the same one; each is
        read from the store once per tracker and verified against its hash.

        Raises
        ------
        CorruptRecord
            If the blob is missing or damaged (run ``mlineage fsck``).
        """
        return self._details.environment(self.get_version(ref))

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
        from mlineage.details import checkout

        if ref is None:
            requested = self.model
        elif isinstance(ref, ModelVersion):
            requested = ref.id
        else:
            requested = ref
        when = None if at is None else as_utc(parse_time(at))
        version = refs.resolve(self._index, requested, when)
        return checkout(self._details, version, requested, when, to, overwrite=overwrite)

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
        from mlineage.blame import blame

        if on is None and self.graph.latest() is None:
            return None
        return blame(self._index, refs.history_indices(self._index, on), metric, direction)

    def blame_report(
        self, metric: str, direction: Direction = "decrease", on: Ref | None = None
    ) -> BlameReport:
        """Every step of ``metric`` along the history of ``on``, worst first, with evidence.

        Each step has its delta, a robust score against the metric's ordinary step-to-step
        noise (``bad_amount / (1.4826 * MAD of all steps)``) and the diff against the
        version it is compared with. ``str(report)`` reads well in a terminal.
        """
        from mlineage.blame import blame_report

        history = refs.history_indices(self._index, on)
        return blame_report(self._index, history, metric, direction, self.diff)

    # -- display --------------------------------------------------------------------------

    def summary_text(self, ref: Ref | None = None, limit: int | None = 50) -> str:
        """The history as a table (newest first), as :meth:`summary` prints it."""
        from mlineage.display import summary_text

        return summary_text(self, self.history(ref), limit)

    def summary(self, ref: Ref | None = None, *, file: IO[str] | None = None) -> None:
        """Print the history of ``ref`` (default: latest) newest first, one line a version."""
        print(self.summary_text(ref), file=file or sys.stdout)

    def __repr__(self) -> str:
        return f"Tracker({self.model!r}, storage={self.store.uri!r}, versions={len(self)})"
