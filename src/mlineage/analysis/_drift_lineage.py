"""Data drift on the lineage: between two versions, along a history, as blame evidence.

Everything is computed from the profiles stored with the versions' data snapshots
(``DataSnapshot.from_array(..., profile=True)``), so it works after the raw data is gone.
Profiles are read verified (their bytes must hash to their key).

Reports go through the store's drift cache (:mod:`mlineage.analysis._drift_cache`): each
cached report is bound to its pair of versions, their profiles and the parameters, checked
on every read, and recomputed on any mismatch or damage.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlineage import _optional as optional
from mlineage import evidence as _evidence
from mlineage._tables import html_table
from mlineage.analysis._drift_cache import DriftCache
from mlineage.content import BlobCache, read_decoded
from mlineage.errors import (
    CorruptRecord,
    HashMismatch,
    InvalidInput,
    NotFound,
    ProfileNotFound,
)
from mlineage.records import EvidenceEvent, ModelVersion
from mlineage.stats._data_profile import DataProfile
from mlineage.stats._drift_report import DriftReport, FeatureDrift, drift_between
from mlineage.stats._present import (
    HTML_ROWS,
    drift_rules,
    drift_verdict,
    html_more,
    new_axes,
    short_repr,
    step_words,
    version_axis,
)
from mlineage.stats.changepoints import robust_z

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

    from mlineage._tracker_protocol import TrackerLike
    from mlineage.blame import BlameReport
    from mlineage.refs import Ref

__all__ = [
    "ANOMALY_Z",
    "DriftAlong",
    "DriftCorrelation",
    "DriftLineage",
    "DriftStep",
    "drift_score",
]

#: A step is anomalous when its drift score's robust z-score exceeds this (Iglewicz &
#: Hoaglin's 3.5).
ANOMALY_Z = 3.5
_HOW_TO_PROFILE = (
    "record one with DataSnapshot.from_array(X, y, profile=True) (or from_dataframe / "
    "from_path(..., profile=True), or snapshot.with_profile(DataProfile...))"
)


def drift_score(report: DriftReport) -> float:
    """One number for how far a dataset moved: the mean effect size over tested features.

    Per feature: the Wasserstein-1 distance normalised by the reference's std for
    numeric columns, the Jensen-Shannon distance (natural log) for categorical ones; the
    share of drifted features when no feature has either. Unlike a p-value it does not
    grow with the number of rows, so steps of different sizes compare.

    Examples
    --------
    >>> ref = DataProfile.from_array([[0.0], [1.0], [2.0], [3.0]])
    >>> cur = DataProfile.from_array([[1.0], [2.0], [3.0], [4.0]])
    >>> round(drift_score(drift_between(ref, cur)), 4)
    0.8944
    """
    sizes = [
        f.wasserstein_normed if f.kind == "numeric" else f.js_distance
        for f in report.features
        if f.test != "none"
    ]
    finite = [s for s in sizes if s is not None and math.isfinite(s)]
    # math.fsum, not numpy: called for every step of a history, on ~10 numbers.
    return math.fsum(finite) / len(finite) if finite else report.drifted_share


@dataclass(frozen=True)
class DriftStep:
    """The drift of one step of a history: a version against its first parent.

    Attributes
    ----------
    version : ModelVersion
        The step's version (current data).
    parent : ModelVersion
        The version it is compared with (reference data).
    report : DriftReport or None
        None when either side has no profile (see ``note``).
    note : str or None
        Why there is no report.
    score : float or None
        :func:`drift_score` of the report.
    z : float or None
        Robust z-score of ``score`` among the history's steps (None for fewer than 3).
    anomalous : bool
        ``z > ANOMALY_Z``.
    cached : bool
        The report was read from the store's drift cache, not computed.
    evidence : tuple of EvidenceEvent
        What other tools found about the step's version (``tracker.attach_evidence``: an
        Evidently report, a gate verdict, a team's own check), oldest first; shown beside
        mlineage's own verdict, never merged into it.
    """

    version: ModelVersion
    parent: ModelVersion
    report: DriftReport | None
    note: str | None = None
    score: float | None = None
    z: float | None = None
    anomalous: bool = False
    cached: bool = False
    evidence: tuple[EvidenceEvent, ...] = ()

    def top(self, n: int = 3) -> list[FeatureDrift]:
        """The ``n`` most drifted features (most significant first); [] without a report."""
        return [] if self.report is None else self.report.drifted[:n]

    def summary(self, n: int = 3, rules: bool = True) -> str:
        """One line: the report's verdict with its rules (:func:`drift_verdict`), or the note.

        ``1 of 4 features drifted (Bonferroni p < 0.05; dataset drift needs ≥ 50 %): 2 KS
        0.41 p<1e-10 PSI 1.2``, then the evidence other tools attached. ``rules=False``
        leaves out the rules' parenthesis (``DriftAlong`` states them once).
        """
        if self.report is None:
            text = f"no drift report: {self.note}"
        else:
            text = drift_verdict(self.report, n, rules)
        if self.evidence:
            text += "; evidence: " + ", ".join(_evidence_words(e) for e in self.evidence)
        return text

    def __repr__(self) -> str:
        name = f" {self.version.name}" if self.version.name else ""
        return short_repr("DriftStep", f"{self.version.short_id}{name}: {self.summary()}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the top drifted features and the full report."""
        return {
            "version": self.version.id,
            "name": self.version.name,
            "parent": self.parent.id,
            "score": self.score,
            "z": self.z,
            "anomalous": self.anomalous,
            "cached": self.cached,
            "note": self.note,
            "top": [f.name for f in self.top()],
            "report": None if self.report is None else self.report.to_dict(),
            "evidence": [
                {"id": e.id, "kind": e.kind, "tool": e.tool, "summary": dict(e.summary)}
                for e in self.evidence
            ],
        }


def _evidence_words(event: EvidenceEvent) -> str:
    """``evidently (drift share 0.43)``, ``gate (passed)``: an evidence event in a few words."""
    summary = event.summary
    if isinstance(summary.get("drift_share"), int | float):
        return f"{event.kind} (drift share {summary['drift_share']:.3g})"
    if isinstance(summary.get("decision"), str):
        return f"{event.kind} ({summary['decision']})"
    return event.kind


@dataclass(frozen=True)
class DriftAlong:
    """Drift of every step of a first-parent history (oldest first), with anomalies.

    Attributes
    ----------
    model : str
    steps : list of DriftStep
        One per version after the first.
    threshold : float
        The robust z-score above which a step is anomalous.
    """

    model: str
    steps: list[DriftStep]
    threshold: float = ANOMALY_Z

    @property
    def anomalous(self) -> list[DriftStep]:
        """The anomalous steps, oldest first."""
        return [s for s in self.steps if s.anomalous]

    @property
    def cached(self) -> int:
        """How many reports were read from the drift cache."""
        return sum(s.cached for s in self.steps)

    def _head(self) -> str:
        reports = [s.report for s in self.steps if s.report is not None]
        rules = f"; feature drift: {drift_rules(reports[0])}" if reports else ""
        return (
            f"drift along {self.model}: {len(self.steps)} steps, {len(reports)} with "
            f"profiles, {len(self.anomalous)} anomalous (anomalous step: drift score's "
            f"robust z > {self.threshold:g} among the steps{rules})"
        )

    def verdict(self, step: DriftStep) -> str:
        """The step's verdict with its rule: ``anomalous step (drift score z +28.2 > 3.5)``,
        ``ordinary step (...)``, or ``not scored`` (no report)."""
        return step_words(step.z, self.threshold) if step.score is not None else "not scored"

    def step_line(self, step: DriftStep) -> str:
        """One step as ``str()`` lists it: handle, name, score, the step and data verdicts."""
        label = f" {step.version.name}" if step.version.name else ""
        score = "-" if step.score is None else f"{step.score:.3g}"
        judged = self.verdict(step)
        return f"{step.version.short_id}{label}  score {score}  {judged}; {step.summary(3, False)}"

    def __str__(self) -> str:
        return "\n".join([self._head(), *("  " + self.step_line(s) for s in self.steps)])

    def __repr__(self) -> str:
        top = ", ".join(s.version.name or s.version.short_id for s in self.anomalous[:5])
        more = f" and {len(self.anomalous) - 5} more" if len(self.anomalous) > 5 else ""
        return short_repr("DriftAlong", self._head() + (f"; at {top}{more}" if top else ""))

    def plot(self, ax: Any = None, x: Literal["version", "time"] = "version") -> Any:
        """Draw each step's drift score (at its version), anomalous steps ringed in red.

        ``ax`` and ``x`` (``"version"`` names, or ``"time"``) and the errors are those of
        :meth:`mlineage.analysis.ChangePoints.plot`; returns the axes.
        """
        ax = new_axes(ax, "DriftAlong")
        xs = version_axis(ax, [s.version for s in self.steps], x)
        scored = [(xs[i], s) for i, s in enumerate(self.steps) if s.score is not None]
        ax.plot([p for p, _ in scored], [s.score for _, s in scored], marker="o", markersize=3)
        ringed = [(p, s.score) for p, s in scored if s.anomalous]
        if ringed:
            ax.scatter(*zip(*ringed, strict=True), s=80, facecolors="none", edgecolors="tab:red")
        ax.set_ylabel("drift score (mean W1/std, JS)")
        ax.set_title(
            f"drift along {self.model}; red rings: anomalous step (z > {self.threshold:g})"
        )
        return ax

    def _repr_html_(self) -> str:
        anomalous = [i for i, s in enumerate(self.steps) if s.anomalous][: HTML_ROWS // 2]
        latest = range(max(len(self.steps) - HTML_ROWS + len(anomalous), 0), len(self.steps))
        shown = [self.steps[i] for i in sorted({*anomalous, *latest})]
        rows = [
            (
                s.version.short_id,
                s.version.name or "",
                "-" if s.score is None else f"{s.score:.3g}",
                self.verdict(s),
                s.summary(3, False),
            )
            for s in shown
        ]
        headers = ["version", "name", "drift score", "step", "data"]
        more = html_more(len(shown), len(self.steps), "to_pandas(); shown: anomalous and latest")
        return f"<div>{html_table(rows, headers, self._head())}{more}</div>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every step (with its report) and the anomalous ids."""
        return {
            "model": self.model,
            "threshold": self.threshold,
            "anomalous": [s.version.id for s in self.anomalous],
            "steps": [s.to_dict() for s in self.steps],
        }

    def to_pandas(self) -> pd.DataFrame:
        """One row per step: version, parent, score, z, anomalous, drifted share, top.

        Raises
        ------
        MissingDependency
            pandas is not installed (``pip install 'mlineage[data]'``).
        """
        pd = optional.pandas("DriftAlong.to_pandas()")
        return pd.DataFrame(
            [
                {
                    "version": s.version.id,
                    "name": s.version.name,
                    "parent": s.parent.id,
                    "score": s.score,
                    "z": s.z,
                    "anomalous": s.anomalous,
                    "drifted_share": None if s.report is None else s.report.drifted_share,
                    "top": ", ".join(f.name for f in s.top()),
                    "note": s.note,
                    "cached": s.cached,
                }
                for s in self.steps
            ]
        )


@dataclass(frozen=True)
class DriftCorrelation:
    """Spearman rank correlation between per-step drift and how much worse a metric got.

    Attributes
    ----------
    metric : str
    measure : {"score", "drifted_share"}
        The per-step drift measure (:func:`drift_score`, or the share of drifted features).
    rho : float or None
        Spearman's rho (ranks with ties averaged, as ``scipy.stats.spearmanr``) between
        the measure and the steps' ``bad_amount`` (positive: the metric got worse), so a
        positive rho means "more drift, worse metric". None when fewer than 3 steps have
        both, or either side is constant.
    n : int
        Steps with both a drift measure and a metric delta.
    without_profile : int
        Steps left out because a side has no profile.
    """

    metric: str
    measure: str
    rho: float | None
    n: int
    without_profile: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "metric": self.metric,
            "measure": self.measure,
            "rho": self.rho,
            "n": self.n,
            "without_profile": self.without_profile,
        }

    def __str__(self) -> str:
        rho = "undefined" if self.rho is None else f"{self.rho:+.3f}"
        return (
            f"Spearman rho between step drift ({self.measure}) and {self.metric} getting "
            f"worse: {rho} over {self.n} steps ({self.without_profile} without profiles)"
        )


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho with average ranks for ties; None if fewer than 3 or constant.

    Examples
    --------
    >>> spearman([1, 2, 3, 4], [1, 3, 2, 4])
    0.8
    """
    if len(x) < 3 or len(x) != len(y):
        return None
    rx, ry = _ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return None if denom == 0 else round(float(rx @ ry) / denom, 12)


def _ranks(values: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[Any]]:
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average = ends - (counts - 1) / 2.0
    return np.asarray(average[inverse], dtype=np.float64)


class DriftLineage:
    """Drift between a tracker's versions, through the store's drift cache: the drift half
    of the :class:`~mlineage.analysis.lineage.Analysis` that ``tracker.analysis`` is, which
    makes it for its tracker."""

    def __init__(self, tracker: TrackerLike) -> None:
        self.tracker = tracker
        self.store = tracker.store
        self.model = tracker.model
        self.profiles = BlobCache(tracker.store)
        self.cache = DriftCache(tracker.store, tracker.model, tracker.read_only)

    # -- profiles -----------------------------------------------------------------------

    def profile_key(self, version: ModelVersion) -> str:
        """The version's profile blob key, or ProfileNotFound saying how to record one."""
        key = version.dataset.profile
        if key is None:
            label = f" ({version.name})" if version.name else ""
            raise ProfileNotFound(
                f"version {version.short_id}{label} of model {self.model!r} has no data "
                f"profile: its snapshot was logged without one (or by an mlineage older "
                f"than data profiles), so drift cannot be computed for it; {_HOW_TO_PROFILE}"
            )
        return key

    def profile(self, version: ModelVersion, cache: bool = True) -> DataProfile:
        """The stored profile of ``version``, verified against its key.

        Raises
        ------
        ProfileNotFound
            No profile recorded, or its blob is missing from the store.
        CorruptRecord
            The blob is damaged or does not decode to a profile.
        """
        key = self.profile_key(version)
        try:
            if cache:
                return self.profiles.get(key, DataProfile.from_bytes, "data profile")
            return read_decoded(self.store, key, DataProfile.from_bytes, "data profile")
        except NotFound:
            raise ProfileNotFound(
                f"the data profile {key} of version {version.short_id} is missing from the "
                "store; run `mlineage fsck`"
            ) from None
        except HashMismatch as exc:
            raise CorruptRecord(str(exc)) from None

    # -- reports --------------------------------------------------------------------------

    def report(
        self,
        reference: ModelVersion,
        current: ModelVersion,
        params: dict[str, Any],
        profiles: dict[str, DataProfile] | None = None,
    ) -> tuple[DriftReport, bool]:
        """The drift report between two versions, and whether it came from the cache.

        ``profiles`` (key -> profile) lets a walk along a history reuse the profile it
        read for the previous step without keeping every profile in memory.
        """
        key_a, key_b = self.profile_key(reference), self.profile_key(current)
        inputs = self.cache.inputs(reference.id, current.id, key_a, key_b, params)
        found = self.cache.get(inputs)
        if found is not None:
            return found, True
        if profiles is None:
            pa, pb = self.profile(reference), self.profile(current)
        else:
            held_a, held_b = profiles.get(key_a), profiles.get(key_b)
            pa = self.profile(reference, cache=False) if held_a is None else held_a
            pb = self.profile(current, cache=False) if held_b is None else held_b
            profiles.clear()
            profiles[key_b] = pb
        report = replace(
            drift_between(pa, pb, **params), reference=reference.id, current=current.id
        )
        self.cache.put(inputs, report)
        return report, False

    # -- queries --------------------------------------------------------------------------

    def between(self, a: Ref | None, b: Ref | None, params: dict[str, Any]) -> DriftReport:
        """``tracker.analysis.drift``: see :meth:`mlineage.analysis.lineage.Analysis.drift`."""
        _check(params)
        if b is None and a is not None:
            a, b = None, a
        reference, current = self.tracker._reads.compared(
            a,
            b,
            empty=lambda: InvalidInput(f"model {self.model!r} has no versions to compare"),
            root=lambda current: InvalidInput(
                f"version {current.short_id} is a root: it has no parent to compare its "
                "data with; pass both versions: drift(a, b)"
            ),
        )
        return self.report(reference, current, params)[0]

    def along(self, on: Ref | None, params: dict[str, Any], threshold: float) -> DriftAlong:
        """``tracker.analysis.drift_along``."""
        _check(params)
        history = self.tracker._reads.history_versions(on)
        profiles: dict[str, DataProfile] = {}
        steps = [self.step(p, v, params, profiles) for p, v in itertools.pairwise(history)]
        found: dict[str, list[EvidenceEvent]] = {}
        for event in reversed(list(_evidence.evidence(self.tracker))):  # oldest first
            found.setdefault(event.version, []).append(event)
        if found:
            steps = [replace(s, evidence=tuple(found.get(s.version.id, ()))) for s in steps]
        scored = [i for i, s in enumerate(steps) if s.score is not None]
        if len(scored) >= 3:
            z = robust_z([steps[i].score for i in scored])
            for i, zi in zip(scored, z.tolist(), strict=True):
                steps[i] = replace(steps[i], z=zi, anomalous=zi > threshold)
        return DriftAlong(self.model, steps, threshold)

    def step(
        self,
        parent: ModelVersion,
        version: ModelVersion,
        params: dict[str, Any],
        profiles: dict[str, DataProfile] | None = None,
    ) -> DriftStep:
        """The drift of one step; a note instead of a report when a side has no profile."""
        try:
            report, cached = self.report(parent, version, params, profiles)
        except ProfileNotFound as exc:
            return DriftStep(version, parent, None, note=str(exc).split(";")[0])
        return DriftStep(version, parent, report, score=drift_score(report), cached=cached)

    def correlation(self, report: BlameReport, measure: str) -> DriftCorrelation:
        """Spearman's rho between each blame step's drift and its ``bad_amount``."""
        if measure not in ("score", "drifted_share"):
            raise InvalidInput(f"measure must be 'score' or 'drifted_share', got {measure!r}")
        drift, bad, missing = [], [], 0
        params = _params()
        for s in sorted(report.steps, key=lambda s: s.version.created_at):
            if s.previous.dataset.profile is None or s.version.dataset.profile is None:
                missing += 1
                continue
            step = (
                s.drift
                if isinstance(s.drift, DriftStep)
                else self.step(s.previous, s.version, params)
            )
            if step.report is None or step.score is None:
                missing += 1
                continue
            drift.append(step.score if measure == "score" else step.report.drifted_share)
            bad.append(s.bad_amount)
        return DriftCorrelation(report.metric, measure, spearman(drift, bad), len(drift), missing)


def _params(
    alpha: float = 0.05, correction: str = "bonferroni", drift_share: float = 0.5
) -> dict[str, Any]:
    return {"alpha": alpha, "correction": correction, "drift_share": drift_share}


def _check(params: dict[str, Any]) -> None:
    # drift_between validates too, but a cache hit never reaches it.
    if not (0 < params["alpha"] < 1):
        raise InvalidInput(f"alpha must lie in (0, 1), got {params['alpha']!r}")
    if not (0 < params["drift_share"] <= 1):
        raise InvalidInput(f"drift_share must lie in (0, 1], got {params['drift_share']!r}")
    if params["correction"] not in ("bonferroni", "bh"):
        raise InvalidInput(f"correction must be 'bonferroni' or 'bh', got {params['correction']!r}")
