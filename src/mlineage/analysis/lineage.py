"""``tracker.analysis``: the analysis functions applied along a tracker's lineage.

A lazy sub-facade (the way DVC's ``Repo`` exposes ``repo.metrics``): the tracker builds it
on first access, and each method reads what it needs from the lineage (the graph's metric
columns, stored profiles and fingerprints) and hands arrays to the plain functions of
:mod:`mlineage.analysis`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mlineage import _optional as optional
from mlineage._ids import handle
from mlineage._tracker_protocol import TrackerLike
from mlineage.errors import MetricNotFound
from mlineage.records import FingerprintEvent, FingerprintRef, ModelVersion

if TYPE_CHECKING:
    from mlineage.analysis._behaviour_history import SliceBlame
    from mlineage.analysis._behaviour_lineage import BehaviourLineage
    from mlineage.analysis._drift_lineage import DriftAlong, DriftLineage
    from mlineage.analysis._silent import SilentShifts
    from mlineage.blame import BlameReport, Direction
    from mlineage.refs import Ref
    from mlineage.stats._compare import BehaviorDiff
    from mlineage.stats._data_profile import DataProfile
    from mlineage.stats._drift_report import DriftReport
    from mlineage.stats._fingerprint import Fingerprint
    from mlineage.stats._probeset import ProbeSet

__all__ = ["AnalysedTracker", "Analysis", "ChangePoints"]


@dataclass(frozen=True)
class ChangePoints:
    """Level shifts of a metric along a first-parent history (oldest first).

    Attributes
    ----------
    metric : str
    versions : sequence of ModelVersion
        The versions that carry the metric, oldest first (each made when looked at: a
        history of 10^6 versions makes only the ones shown).
    values : list of float
        The metric at each of them.
    breakpoints : list of int
        Positions in ``versions`` where a new level starts.
    method : str
    penalty : float
        The penalty used (the default one when none was given).
    segments : list of (int, int, float)
        Each level: start and end positions and its mean.

    ``str()`` and the notebook view show the largest few changes (by ``|after - before|``)
    and how many more there are; :meth:`to_dict` and :meth:`to_pandas` have them all.
    """

    metric: str
    versions: Sequence[ModelVersion]
    values: list[float]
    breakpoints: list[int]
    method: str
    penalty: float
    segments: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def changed_at(self) -> list[ModelVersion]:
        """The first version of each new level (the updates that shifted the metric)."""
        return [self.versions[b] for b in self.breakpoints]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each change with its version and the levels before and after."""
        return {
            "metric": self.metric,
            "method": self.method,
            "penalty": self.penalty,
            "points": len(self.values),
            "changes": [
                {
                    "version": self.versions[b].id,
                    "name": self.versions[b].name,
                    "position": b,
                    "before": before[2],
                    "after": after[2],
                }
                for b, before, after in zip(
                    self.breakpoints, self.segments, self.segments[1:], strict=False
                )
            ],
        }

    def largest(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The changes of :meth:`to_dict`, largest ``|after - before|`` first (``limit`` kept)."""
        changes = sorted(self.to_dict()["changes"], key=lambda c: -abs(c["after"] - c["before"]))
        return changes[:limit]

    def to_pandas(self) -> Any:
        """One row per change, in position order, indexed by version id.

        Columns ``name``, ``position``, ``before``, ``after``, ``delta``.

        Raises
        ------
        MissingDependency
            If pandas is not installed.
        """
        pd = optional.pandas("ChangePoints.to_pandas()")
        rows = [{**c, "delta": c["after"] - c["before"]} for c in self.to_dict()["changes"]]
        columns = ["version", "name", "position", "before", "after", "delta"]
        return pd.DataFrame(rows, columns=columns).set_index("version")

    def _summary(self) -> str:
        count = len(self.breakpoints)
        shifts = "no level shift" if not count else f"{count} level shift{'s' * (count != 1)}"
        return (
            f"{self.metric}: {shifts} in {len(self.values)} versions "
            f"({self.method}, penalty {self.penalty:.3g})"
        )

    def text(self, limit: int | None = 10) -> str:
        """``str()`` of the result: the ``limit`` largest changes (None: all), then a count."""
        lines = [self._summary()]
        for change in self.largest(limit):
            label = f" ({change['name']})" if change["name"] else ""
            lines.append(
                f"  at {handle(change['version'])}{label} [{change['position']}]: "
                f"{change['before']:.4g} -> {change['after']:.4g}"
            )
        if limit is not None and len(self.breakpoints) > limit:
            lines.append(f"  ... {len(self.breakpoints) - limit} more (largest shown first)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        top = ", ".join(str(c["position"]) for c in self.largest(5))
        more = f", ... {len(self.breakpoints) - 5} more" if len(self.breakpoints) > 5 else ""
        return f"<ChangePoints {self._summary()}{'; at ' + top if top else ''}{more}>"

    def plot(self, ax: Any = None, x: Literal["version", "time"] = "version") -> Any:
        """Draw the metric, each level's mean, and a dashed line where each level starts.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure's axes.
        x : {"version", "time"}
            Versions by name in history order (ticks at whole positions only), or the time
            each was logged.

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        MissingDependency
            matplotlib is not installed (``pip install 'mlineage[plot]'``).
        InvalidInput
            An unknown ``x``.
        """
        from mlineage.stats._present import new_axes, version_axis

        ax = new_axes(ax, "ChangePoints")
        xs = version_axis(ax, self.versions, x)
        ax.plot(xs, self.values, marker="o", markersize=3, linewidth=1, label=self.metric)
        for start, end, mean in self.segments:
            ax.plot([xs[start], xs[end - 1]], [mean, mean], color="tab:orange", linewidth=2)
        for b in self.breakpoints:
            ax.axvline(xs[b], linestyle="--", linewidth=1, color="tab:gray")
        ax.set_ylabel(self.metric)
        ax.set_title(self._summary())
        return ax

    def _repr_html_(self, limit: int = 10) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{c['position']}</td><td>{escape(handle(c['version']))}</td>"
            f"<td>{escape(c['name'] or '')}</td><td>{c['before']:.4g}</td>"
            f"<td>{c['after']:.4g}</td><td>{c['after'] - c['before']:+.4g}</td></tr>"
            for c in self.largest(limit)
        )
        more = len(self.breakpoints) - limit
        foot = f"<p>... {more} more (largest shown first; all in to_dict())</p>" if more > 0 else ""
        head = "<tr><th>position</th><th>version</th><th>name</th><th>before</th>"
        head += "<th>after</th><th>change</th></tr>"
        table = f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>" if rows else ""
        return f"<div><p>{escape(self._summary())}</p>{table}{foot}</div>"


class AnalysedTracker(TrackerLike, Protocol):
    """A tracker with its analyses: what the promotion gate and presentation use.

    :class:`mlineage.Tracker` is one; the layers above lineage analysis are typed against
    this protocol so that none imports the facade (CONTRIBUTING, "Package map").
    """

    @property
    def analysis(self) -> Analysis:
        """Drift, behaviour and change points along this lineage (``Tracker.analysis``)."""
        ...


class Analysis:
    """Analyses along the lineage of one tracker: ``tracker.analysis``.

    Parameters
    ----------
    tracker : Tracker
    """

    def __init__(self, tracker: TrackerLike) -> None:
        self._tracker = tracker

    def __repr__(self) -> str:
        return f"<Analysis of {self._tracker!r}>"

    # -- change points --------------------------------------------------------------------

    def change_points(
        self,
        metric: str,
        *,
        on: Ref | None = None,
        method: Literal["binseg", "pelt"] = "binseg",
        penalty: float | None = None,
        min_size: int = 1,
    ) -> ChangePoints:
        """Level shifts of ``metric`` along the first-parent history of ``on``.

        Finds a slow decline over several updates, not just the worst single step
        (:meth:`~mlineage.Tracker.blame`): binary segmentation (default) or PELT on the
        metric series, L2 cost, breakpoints at any version (ruptures' ``jump=1``).

        Parameters
        ----------
        metric : str
        on : str or ModelVersion, optional
            Whose history (default: the latest version).
        method : {"binseg", "pelt"}
        penalty : float, optional
            Cost of one more level; default
            :func:`~mlineage.analysis.default_penalty` (``3 sigma^2 ln n``, sigma a
            robust noise estimate).
        min_size : int
            Fewest versions in one level.

        Raises
        ------
        InvalidInput
            An unknown ``method``, a ``penalty`` that is not a finite number >= 0, or a
            ``min_size`` that is not an integer >= 1 — checked before the history is
            read, so also when it has too few versions to search.
        MetricNotFound
            If no version on the history carries ``metric``.
        """
        from mlineage.stats._changepoints import check_options, search_change_points

        check_options(method, penalty, min_size)
        reads = self._tracker._reads
        graph = reads.graph
        nodes, values = graph.metric_along(reads.history(on), metric)
        if len(nodes) == 0:
            raise MetricNotFound(
                f"no version on the history of {self._tracker.model!r} carries metric {metric!r}"
            )
        given = None if penalty is None else float(penalty)
        points, pen = search_change_points(values, method, given, int(min_size), 1)
        bounds = [0, *points, len(values)]
        segments = [
            (start, end, float(values[start:end].mean()))
            for start, end in itertools.pairwise(bounds)
        ]
        return ChangePoints(
            metric=metric,
            versions=graph.lazy_nodes(nodes),
            values=values.tolist(),
            breakpoints=points,
            method=method,
            penalty=pen,
            segments=segments,
        )

    # -- data drift -----------------------------------------------------------------------

    @functools.cached_property
    def _drift(self) -> DriftLineage:
        from mlineage.analysis._drift_lineage import DriftLineage

        return DriftLineage(self._tracker)

    def drift(
        self,
        a: Ref | None = None,
        b: Ref | None = None,
        *,
        alpha: float = 0.05,
        correction: Literal["bonferroni", "bh"] = "bonferroni",
        drift_share: float = 0.5,
    ) -> DriftReport:
        """Data drift from version ``a`` to version ``b``, from their stored profiles.

        :func:`~mlineage.analysis.drift_between` on the profiles stored with the two
        versions' data snapshots, so it works after the raw data is deleted. Defaults:
        ``b`` the latest version, ``a`` its first parent; with one version given, that
        version against its first parent. The report is kept in the store's drift cache
        (``models/<model>/cache/drift/``, docs/storage-format.md), so asking again reads it.

        Parameters
        ----------
        a, b : str or ModelVersion, optional
            Reference and current versions.
        alpha, correction, drift_share
            As in :func:`~mlineage.analysis.drift_between`.

        Returns
        -------
        DriftReport
            With ``reference`` and ``current`` set to the two versions' ids.

        Raises
        ------
        ProfileNotFound
            Naming the version that has no profile and how to record one
            (``DataSnapshot.from_array(X, y, profile=True)``).
        InvalidInput
            ``b`` is a root and ``a`` was not given, or bad thresholds.
        VersionNotFound, AmbiguousReference
        """
        params = {"alpha": alpha, "correction": correction, "drift_share": drift_share}
        return self._drift.between(a, b, params)

    def profile(self, ref: Ref) -> DataProfile:
        """The data profile stored with a version's data snapshot, verified against its key.

        Parameters
        ----------
        ref : str or ModelVersion
            The version.

        Returns
        -------
        DataProfile
            Read once per tracker and cached.

        Raises
        ------
        ProfileNotFound
            The snapshot has no profile, or its blob is missing from the store.
        CorruptRecord
            The blob is damaged.
        VersionNotFound, AmbiguousReference
        """
        return self._drift.profile(self._tracker.get_version(ref))

    def drift_along(
        self,
        on: Ref | None = None,
        *,
        alpha: float = 0.05,
        correction: Literal["bonferroni", "bh"] = "bonferroni",
        drift_share: float = 0.5,
        threshold: float = 3.5,
    ) -> DriftAlong:
        """Data drift of every step along the first-parent history of ``on`` (default: latest).

        Each version is compared with its first parent; a step where either side has no
        profile is reported as such. Reports come from the store's drift cache when there
        (a second call reads instead of recomputing) and are added to it otherwise
        (not by a read-only tracker). A step is anomalous when its
        :func:`~mlineage.analysis._drift_lineage.drift_score` is an outlier against the
        series' own robust scale: :func:`~mlineage.analysis.robust_z` above ``threshold``.

        Returns
        -------
        DriftAlong
            ``steps`` oldest first, ``anomalous``, ``str()``, ``to_dict()``, ``to_pandas()``.
        """
        params = {"alpha": alpha, "correction": correction, "drift_share": drift_share}
        return self._drift.along(on, params, threshold)

    def blame(
        self, metric: str, direction: Direction = "decrease", on: Ref | None = None
    ) -> BlameReport:
        """:meth:`~mlineage.Tracker.blame_report` whose steps carry their data drift.

        Ranking stays as fast as ``blame_report``: a step's ``drift`` (its top drifted
        features, or a note when a side has no profile) is computed when first looked at,
        and ``report.drift_correlation()`` (Spearman's rho between per-step drift and how
        much worse each step made the metric) only when called.
        """
        tracker = self._tracker
        drift = self._drift
        params = {"alpha": 0.05, "correction": "bonferroni", "drift_share": 0.5}
        report = tracker._reads.blame_report(
            on,
            metric,
            direction,
            tracker.diff,
            lambda previous, version: drift.step(previous, version, params),
        )
        return dataclasses.replace(report, correlate=drift.correlation)

    # -- behaviour ------------------------------------------------------------------------

    @functools.cached_property
    def _behaviour(self) -> BehaviourLineage:
        from mlineage.analysis._behaviour_lineage import BehaviourLineage

        return BehaviourLineage(self._tracker)

    def fingerprint(self, ref: Ref, probe: ProbeSet, **options: Any) -> FingerprintEvent:
        """Deprecated: ``tracker.record_fingerprint`` (recording is a write, not analysis).

        Same arguments (``predict=``, ``predict_proba=``, ``embed=``, ``fingerprint=``) and
        result as :func:`mlineage.fingerprints.record_fingerprint`; warns with a
        :class:`DeprecationWarning`.
        """
        import warnings

        warnings.warn(
            "tracker.analysis.fingerprint(...) is deprecated: use "
            "tracker.record_fingerprint(...) (the same arguments; recording is a write)",
            DeprecationWarning,
            stacklevel=2,
        )
        from mlineage.fingerprints import record_fingerprint

        return record_fingerprint(self._tracker, ref, probe, **options)

    def fingerprints(self, ref: Ref) -> list[FingerprintRef]:
        """A version's fingerprints: those logged with it, then those recorded later."""
        return self._behaviour.refs(ref)

    def load_fingerprint(
        self, ref: Ref | FingerprintRef, probe: str | ProbeSet | None = None
    ) -> Fingerprint:
        """A version's stored fingerprint on ``probe`` (its only one when None).

        ``probe`` is a probe set, its name or its hash (a prefix of 4+ hex digits does);
        ``ref`` may also be a :class:`~mlineage.records.FingerprintRef`. The blob is read
        once, verified against its key, and cached.

        Raises
        ------
        FingerprintNotFound
            None on that probe set (the message lists the version's probe sets).
        CorruptRecord
            The blob is missing or damaged (run ``mlineage fsck``).
        """
        return self._behaviour.load(ref, probe)

    def load_probe(self, probe_hash: str | FingerprintRef) -> ProbeSet:
        """The stored probe set with this hash (inputs, labels, groups), verified.

        Raises
        ------
        FingerprintNotFound
            No record of the model stores it.
        """
        return self._behaviour.load_probe(probe_hash)

    def compare(
        self,
        a: Ref | None = None,
        b: Ref | None = None,
        *,
        probe: str | ProbeSet | None = None,
        top: int = 20,
    ) -> BehaviorDiff:
        """How behaviour changed from version ``a`` to version ``b`` on a shared probe set.

        With only ``a``: ``a`` against its first parent; with neither: the latest version
        against its first parent. The probe set is the one both have fingerprints on
        (several: the one ``b`` recorded last; ``probe=`` chooses). Flip rates and
        per-group changes come from the stored probe set, representation drift when both
        have embeddings, calibration when both have probabilities (see
        :func:`~mlineage.analysis.compare_fingerprints`).

        Raises
        ------
        FingerprintNotFound
            The two share no probe set; the message names the probe sets each has.
        InvalidInput
            ``a`` has no parent and no ``b`` was given.
        """
        return self._behaviour.compare(a, b, probe, top)

    def churn_between(self, version: Ref, parent: Ref | None) -> float | None:
        """Share of probe predictions that differ between two versions, or None.

        Made for :meth:`~mlineage.Tracker.query`:
        ``tracker.query(lambda v, p: (tracker.analysis.churn_between(v, p) or 0) > 0.1)``.
        None when ``parent`` is None or the two share no probe set; reads the two
        fingerprint blobs only when called (cached afterwards).
        """
        return self._behaviour.churn_between(version, parent)

    def blame_slices(
        self,
        metric: str,
        direction: Direction = "decrease",
        on: Ref | None = None,
        *,
        slice_by: str = "group",
    ) -> SliceBlame:
        """Per-group blame: ``tracker.blame(metric, slice_by=...)``; see there."""
        from mlineage.analysis._behaviour_history import blame_slices

        return blame_slices(self._behaviour, metric, direction, on, slice_by)

    def silent_shifts(
        self,
        threshold: float | Mapping[str, float] | None = None,
        on: Ref | None = None,
        *,
        probe: str | ProbeSet | None = None,
        noise: float = 2.0,
        z: float = 3.5,
    ) -> SilentShifts:
        """Steps where behaviour moved while every tracked metric stayed within its noise.

        Walks the first-parent history of ``on`` (default: latest); for each version
        whose parent shares a fingerprint on the probe set (default: the one most versions
        have), measures churn, 1 - linear CKA of the embeddings and |ECE change|. By
        default each measure is judged against the history's own ordinary step-to-step
        movement: it moved when its robust z-score among the steps, ``(x - median) /
        (1.4826 MAD)`` over the ordinary steps (the larger ones set aside, re-estimated
        until stable), exceeds ``z`` and it is above a small floor (churn 1 %, 1 - CKA
        0.01, |ECE change| 0.02, about its sampling error); a measure seen on fewer than 5
        steps falls back to the fixed thresholds. ``threshold`` asks for fixed thresholds
        instead: one number for all three, or a mapping with keys ``churn``, ``cka``,
        ``ece`` (defaults 0.05, 0.05, 0.02). A metric stayed flat if ``|delta| <= noise *
        1.4826 * MAD`` of its step deltas along the history (blame's robust scale; with no
        scale, only an unchanged value is flat). Reads two fingerprint blobs per step.

        Returns
        -------
        SilentShifts
            ``.shifts`` the silent steps; ``.steps`` every step measured; ``.rules`` each
            measure's rule in words; ``str()``, ``to_dict()``, ``to_pandas()``.

        Raises
        ------
        InvalidInput
            An unknown threshold key, a threshold outside [0, 1], a negative ``noise`` or
            a ``z`` that is not a positive number.
        FingerprintNotFound
            No version on the history has a fingerprint (on ``probe``).
        """
        from mlineage.analysis._silent import silent_shifts

        return silent_shifts(self._behaviour, threshold, on, probe, noise, z)
