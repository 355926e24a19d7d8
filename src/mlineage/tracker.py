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
import functools
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, overload

import mlineage.views.html as _html
from mlineage import _tracker_views as _views
from mlineage import aliases as _aliases
from mlineage import evidence as _evidence
from mlineage import fingerprints as _fingerprints
from mlineage import refs
from mlineage._coerce import as_utc, one_of, parse_time
from mlineage.blame import BlameReport, Direction
from mlineage.compaction import PACK_RECORDS
from mlineage.details import BlobDetails
from mlineage.diff import VersionDiff
from mlineage.errors import InvalidInput
from mlineage.gate import evaluate as _gate
from mlineage.graph import LineageGraph, VersionSequence
from mlineage.index import LineageIndex, OnError, list_models
from mlineage.lineage import Lineage
from mlineage.lineage_reads import LineageReads
from mlineage.records import (
    AliasEvent,
    AnnotationEvent,
    EnvironmentSnapshot,
    EvidenceEvent,
    ModelVersion,
    StatusEvent,
    VersionStatus,
    validate_name,
)
from mlineage.refs import Ref
from mlineage.storage import Store, open_store
from mlineage.writer import VersionLogger, Writer

if TYPE_CHECKING:
    from mlineage.aliases import Expect
    from mlineage.analysis._behaviour_history import SliceBlame
    from mlineage.analysis.lineage import Analysis
    from mlineage.checkout import Checkout

__all__ = ["PACK_RECORDS", "Lineage", "Tracker", "VersionLogger", "list_models"]


class Tracker:
    """Records the versions of one model and answers questions about their history.

    Parameters
    ----------
    model : str
        Model name: 1-128 ASCII letters, digits, ``.``, ``_``, ``-`` (``model_name=``
        is the prototype's spelling).
    storage : str, os.PathLike, Store or None
        A directory, ``file://``, ``memory://name``, ``s3://bucket/prefix``,
        ``gs://bucket/prefix`` or a :class:`Store`; None: ``$MLINEAGE_STORE``, else
        ``./.mlineage``.
    read_only : bool
        Refuse every write (auditors, dashboards).
    on_error : {"raise", "skip"}
        A damaged record raises :class:`~mlineage.errors.CorruptRecord` naming its key,
        or is skipped with one warning per key.
    archive : bool
        Copy checkpoints into the store's content-addressed blobs (per version:
        ``v.archive``).
    capture_environment : bool
        Record Python, platform, packages, git commit, torch/CUDA (never env variables).
    hash_artifacts : bool
        Hash the checkpoint at ``model_path`` when it exists; checkout verifies it.

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
        model: str | None = None,
        storage: str | os.PathLike[str] | Store | None = None,
        *,
        read_only: bool = False,
        on_error: OnError = "raise",
        archive: bool = False,
        capture_environment: bool = True,
        hash_artifacts: bool = True,
        model_name: str | None = None,
    ) -> None:
        self.model = validate_name(one_of(model=model, model_name=model_name), "model")
        self.archive, self.capture_environment = archive, capture_environment
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
        self._details = details = BlobDetails(store)
        read = details.read_environment
        self._index = LineageIndex(store, self.model, on_error=on_error, environments=read)
        self._writer = Writer(self._index, self)
        self._reads = LineageReads(self._index)  # what lineage analysis reads
        self._index.check_marker()
        self._index.refresh()

    @classmethod
    def load(
        cls,
        model: str | None = None,
        storage: str | os.PathLike[str] | Store | None = None,
        *,
        read_only: bool = False,
        on_error: OnError = "raise",
        model_name: str | None = None,
    ) -> Tracker:
        """Open an existing model's lineage (in a new process, a notebook, a dashboard).

        Unlike the constructor, which starts a new model when the store has none of that
        name, ``load`` raises ``ModelNotFound`` (listing the models there) if it has none.
        """
        name = one_of(model=model, model_name=model_name)
        tracker = cls(name, storage, read_only=read_only, on_error=on_error)
        tracker._index.require_model()
        return tracker

    @property
    def model_name(self) -> str:
        """The model's name (the prototype's name for :attr:`model`)."""
        return self.model

    @property
    def storage_path(self) -> str:
        """Where the store is: a local store's directory, else the store's URI."""
        root = getattr(self.store, "root", None)
        return self.store.uri if root is None else str(root)

    @functools.cached_property
    def analysis(self) -> Analysis:
        """Drift, behaviour and change points along this lineage (built on first use)."""
        from mlineage.analysis.lineage import Analysis

        return Analysis(self)

    @property
    def _graph(self) -> LineageGraph:
        # The prototype's examples call `tracker._graph.ancestors(...)`; kept working.
        return self._index.graph

    # -- loading and writing ----------------------------------------------------------------

    def refresh(self) -> int:
        """Load what any process wrote since this tracker last looked; return how many are new."""
        return self._index.refresh()

    def compact(self, *, merge: bool = True) -> int:
        """Bundle this model's loose records (and, with ``merge``, its packs of fewer than
        10,000 records) into packs of up to 10,000, for fast loading; safe while others
        log, load or compact (docs/storage-format.md#packs). Returns how many records went
        into new packs; ``ReadOnlyError`` on a read-only tracker."""
        return self._writer.compact(merge=merge)

    def log_version(
        self,
        *,
        parent: Ref | None = None,
        parents: Iterable[Ref] | None = None,
        kind: str | None = None,
        timestamp: datetime | str | None = None,
        parent_id: Ref | None = None,
        **fields: Any,
    ) -> VersionLogger:
        """Start logging a new version; use as ``with tracker.log_version() as v:``.

        Parameters
        ----------
        parent, parent_id : str or ModelVersion, optional
            The parent (id, prefix, name or alias); default: the latest version this
            tracker knows (:meth:`refresh` first to see other processes'). ``parent_id``
            is the prototype's spelling.
        parents : iterable, optional
            Several parents, for merges; the first is the first parent.
        kind : str, optional
            ``"update"`` (default), ``"fine_tune"``, ``"distill"``, ``"merge"``, ...
        timestamp : datetime or str, optional
            Creation time to record instead of now (backfilling); not before the parents,
            1970 or more than a day ahead.
        **fields
            Initial values of :class:`VersionLogger` fields (``model_path=...``).

        Raises
        ------
        ReadOnlyError, VersionNotFound, AmbiguousReference, InvalidTime
            Before the block runs.
        """
        parent = parent if parent_id is None else one_of(parent=parent, parent_id=parent_id)
        return self._writer.start(parent, parents, kind, timestamp, fields)

    def log(self, **fields: Any) -> ModelVersion:
        """Log a version in one call: ``tracker.log(model_path=..., dataset=..., ...)``, with
        the arguments of :meth:`log_version` and :class:`VersionLogger`'s fields."""
        with self.log_version(**fields) as logger:
            pass
        return logger.version

    def annotate(self, ref: Ref, *, notes: str = "", tags: Iterable[str] = ()) -> AnnotationEvent:
        """Attach a note and/or tags to a version after the fact (the version is unchanged);
        return the stored event."""
        return self._writer.annotate(ref, notes, tags)

    def set_alias(
        self,
        alias: str,
        ref: Ref | None,
        *,
        at: object = None,
        expect: Expect = None,
        evidence: str | EvidenceEvent | None = None,
        forced: bool = False,
        reason: str = "",
    ) -> AliasEvent:
        """Point ``alias`` (``"production"``) at a version, or remove it (``ref=None``).

        Every move is kept (:meth:`alias_history`, :meth:`resolve` at any time; of two moves
        at one moment the later-recorded wins); ``at`` records a past deployment. ``expect``
        (a version, an alias move or its id, ``ml.ABSENT``) makes it a compare-and-set,
        refused with ``AliasConflict`` if the alias is elsewhere; ``evidence``, ``forced``
        and ``reason`` are recorded with the move (docs/api.md#trackerset_alias)."""
        return _aliases.set_alias(self._writer, alias, ref, at, expect, evidence, forced, reason)

    def set_status(self, ref: Ref, status: VersionStatus | str, *, reason: str = "") -> StatusEvent:
        """Record a lifecycle change of a version (deprecated, rolled back, ...)."""
        return self._writer.set_status(ref, status, reason)

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
        """The version's handle, unique in the store (:func:`mlineage.refs.abbrev`)."""
        return refs.abbrev(self._index, ref, minimum)

    def resolve(self, ref: Ref, at: object = None) -> ModelVersion:
        """Return the version ``ref`` designated at time ``at`` (default: now).

        An **alias**: where it pointed at ``at``; the **model name**: the latest version
        committed by ``at``; a **version** (id, prefix, name): the latest version on its
        first-parent history committed by ``at``. ``at``: a datetime, date or ISO string;
        naive times are UTC, a bare date means the end of that day (UTC).

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

    def history(
        self, ref: Ref | None = None, *, from_version_id: str | None = None
    ) -> VersionSequence:
        """The first-parent history of ``ref`` (default: the latest version), newest first.

        A :class:`~mlineage.VersionSequence`, used like a list (versions made when looked
        at). ``from_version_id`` is the prototype's name for ``ref``."""
        ref = one_of(ref=ref, from_version_id=from_version_id, required=False)
        graph = self.graph
        start = graph.latest() if ref is None else self.get_version(ref)
        return graph.lazy_nodes([]) if start is None else graph.first_parent_chain(start.id)

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
        return self._index.tags(self.get_version(ref))

    def status(self, ref: Ref) -> VersionStatus:
        """A version's current lifecycle status (``COMMITTED`` unless changed since)."""
        return self._index.status(self.get_version(ref).id)

    def aliases(self) -> dict[str, ModelVersion]:
        """Every alias that currently points somewhere -> its version."""
        return _aliases.current_aliases(self._index)

    def alias_history(self, alias: str) -> list[AliasEvent]:
        """Every move of ``alias`` in effect order (``AliasNotFound``: never set)."""
        return self._index.alias_moves(alias)

    def find_origin(self, system: str, id: str) -> list[ModelVersion]:
        """Versions imported from ``id`` of ``system`` (their ``origin``), oldest first;
        answered from the index, no record read (docs/api.md#trackerfind_origin)."""
        return refs.find_origin(self._index, system, id)

    def diff(self, a: Ref, b: Ref) -> VersionDiff:
        """What changed from version ``a`` to version ``b``.

        Hyperparameters, metrics, the data snapshot (and the files added, removed and
        changed when both came from ``DataSnapshot.from_path``), the checkpoint hash, the
        captured environments, notes and tags. ``str()`` for a terminal, ``to_dict()``.
        """
        from mlineage.details import diff

        return diff(self._details, self.get_version(a), self.get_version(b))

    def environment(self, ref: Ref) -> EnvironmentSnapshot | None:
        """The environment captured when a version was logged (None if none was): a blob,
        read once and verified; ``CorruptRecord`` if it is missing or damaged."""
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

        ``ref`` and ``at`` mean what they mean for :meth:`resolve` (None: the model).
        With ``to``, the checkpoint (from the archive or its original path, verified by
        hash either way), the record, hyperparameters, dataset, manifest, environment and
        a pinned ``requirements.txt`` are written to a temporary sibling of ``to`` and
        renamed into place (``overwrite`` replaces a non-empty ``to``); see
        :func:`mlineage.checkout.materialise`.

        Returns
        -------
        Checkout
            The version, data snapshot, hyperparameters, captured environment and its
            difference from the current one.

        Raises
        ------
        InvalidTime, AliasNotFound, VersionNotFound
        CheckoutError
            A file missing or with the wrong hash, or ``to`` not empty; nothing half-written.
        """
        from mlineage.details import checkout

        requested = ref.id if isinstance(ref, ModelVersion) else ref
        when = None if at is None else as_utc(parse_time(at))
        version = refs.resolve(self._index, requested, when)
        requested = self.model if requested is None else requested
        return checkout(self._details, version, requested, when, to, overwrite=overwrite)

    @overload
    def blame(
        self, metric: str, direction: Direction = ..., on: Ref | None = ..., *, slice_by: None = ...
    ) -> ModelVersion | None: ...
    @overload
    def blame(
        self, metric: str, direction: Direction = ..., on: Ref | None = ..., *, slice_by: str
    ) -> SliceBlame: ...
    def blame(
        self,
        metric: str,
        direction: Direction = "decrease",
        on: Ref | None = None,
        *,
        slice_by: str | None = None,
    ) -> ModelVersion | SliceBlame | None:
        """The update whose step moved ``metric`` the most in the bad ``direction``.

        Walks the first-parent history of ``on`` (default: latest), comparing each version
        carrying the metric with the nearest one before it that does. ``direction`` is the
        bad one: ``"decrease"`` for accuracy, ``"increase"`` for loss. Returns None when no
        step moved that way (or fewer than two versions carry the metric); ties go to the
        older step. :meth:`blame_report` gives every step with evidence. With
        ``slice_by`` (a probe set's ``group_by``, e.g. ``"region"``): a
        :class:`~mlineage.analysis.SliceBlame` mapping each group to the update that hurt
        it, from the fingerprints' per-group ``metric`` (docs/behaviour.md).
        """
        from mlineage.blame import blame

        if slice_by is not None:
            return self.analysis.blame_slices(metric, direction, on, slice_by=slice_by)
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

    def __repr__(self) -> str:
        return f"Tracker({self.model!r}, storage={self.store.uri!r}, versions={len(self)})"

    # -- functions of a tracker, documented where they are defined ---------------------------
    def versions_with_events(self) -> list[str]:
        """Ids of the versions with events since they were written (notes, status, ...)."""
        return list(self._index.versions_with_events())

    bisect = _views.bisect
    attach_evidence = _evidence.attach_evidence
    evidence = _evidence.evidence
    load_evidence = _evidence.load_evidence
    record_fingerprint = _fingerprints.record_fingerprint
    gate = _gate.gate
    promote = _gate.promote
    summary_text = _views.summary_text
    summary = _views.summary
    report = _views.report
    to_pandas = _views.to_pandas
    plot = _views.plot
    _repr_html_ = _html.tracker_html
