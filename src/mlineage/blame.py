"""Which update moved a metric the wrong way: blame along a version's history.

The rule the prototype promised, done right: walk the first-parent history, take each step
between consecutive versions that carry the metric, and rank the steps by how far they moved
the metric in the bad direction. Each step is reported with evidence: its delta, a robust
score against the metric's ordinary step-to-step noise, and what changed against the
version it is compared with.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import mlineage.views.html as _html
from mlineage._graph_columns import LazySequence
from mlineage.diff import VersionDiff
from mlineage.errors import InvalidInput
from mlineage.records import ModelVersion

if TYPE_CHECKING:
    import numpy as np

    from mlineage.graph import NodeArray
    from mlineage.index import LineageIndex


class StepDrift(Protocol):
    """What blame needs of a step's data drift (lineage analysis's ``DriftStep`` is one)."""

    def summary(self, n: int = 3) -> str:
        """One line: the top drifted features, or why there is no drift."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""


class StepDriftCorrelation(Protocol):
    """Drift against metric harm over a report's steps (``DriftCorrelation`` is one)."""

    @property
    def rho(self) -> float | None:
        """Spearman's rho, or None when too few steps have drift."""

    @property
    def n(self) -> int:
        """Steps with drift that entered the correlation."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""


#: ``drift_of(previous, version)``: the data drift of a step (``tracker.analysis.blame``).
DriftOf = Callable[[ModelVersion, ModelVersion], StepDrift]

__all__ = [
    "BlameReport",
    "BlameStep",
    "Direction",
    "blame",
    "blame_report",
    "blame_steps",
    "rank_steps",
    "robust_scale",
    "worst_step",
]

Direction = Literal["decrease", "increase"]

#: Steps ``str(report)`` shows (worst first; ``report.text(limit=None)`` shows all).
STR_STEPS = 20
#: Makes the MAD a consistent estimator of the standard deviation for normal noise.
MAD_TO_SIGMA = 1.4826


def robust_scale(deltas: Sequence[float] | np.ndarray[Any, np.dtype[np.float64]]) -> float | None:
    """Return the robust scale of step-to-step changes: ``1.4826 * MAD(deltas)``.

    The median absolute deviation ignores the few large steps whose size is in question,
    so one regression does not hide itself by inflating the noise estimate. Returns None
    for fewer than 3 steps (no meaningful noise estimate), and None when the MAD is 0
    (more than half of the steps are identical).

    Examples
    --------
    >>> round(robust_scale([0.01, -0.01, 0.02, -0.2]), 4)
    0.0222
    """
    import numpy as np  # not at `import mlineage`

    if len(deltas) < 3:
        return None
    values = np.asarray(deltas, dtype=float)
    mad = float(np.median(np.abs(values - np.median(values))))
    return MAD_TO_SIGMA * mad if mad > 0 else None


@dataclass(frozen=True)
class BlameStep:
    """One step of a metric's history, with its evidence.

    Attributes
    ----------
    version : ModelVersion
        The version the step led to (the suspect).
    previous : ModelVersion
        The version it is compared with: its nearest first-parent ancestor with the metric.
    before, after : float
        The metric at ``previous`` and at ``version``.
    delta : float
        ``after - before``.
    bad_amount : float
        How far the step moved the metric in the bad direction (positive means worse).
    score : float or None
        ``bad_amount`` in units of the metric's robust step noise (a robust z-score);
        None when the history is too short or too flat to estimate noise.
    unmeasured : tuple of str
        Ids of versions between ``previous`` and ``version`` that lack the metric; the
        change may have happened in any of them.
    changes : VersionDiff or None
        What changed from ``previous`` to ``version``: computed by ``explain`` on first
        access (a report ranks every step of a long history; only the steps looked at
        pay for a diff). None when no ``explain`` was given.
    explain : callable or None
        ``explain(previous, version)``, the diff function behind ``changes``.
    drift : DriftStep or None
        The data drift from ``previous`` to ``version`` (top drifted features; a note
        when either has no profile): computed on first access, only for reports made
        by ``tracker.analysis.blame``; None otherwise.
    """

    version: ModelVersion
    previous: ModelVersion
    before: float
    after: float
    delta: float
    bad_amount: float
    score: float | None
    unmeasured: tuple[str, ...]
    explain: Callable[[ModelVersion, ModelVersion], VersionDiff] | None = field(
        default=None, repr=False, compare=False
    )
    drift_of: DriftOf | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def changes(self) -> VersionDiff | None:
        """What changed from ``previous`` to ``version`` (None when not requested)."""
        return None if self.explain is None else self.explain(self.previous, self.version)

    @functools.cached_property
    def drift(self) -> StepDrift | None:
        """The data drift of this step (None unless the report was made with drift)."""
        return None if self.drift_of is None else self.drift_of(self.previous, self.version)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "version": self.version.id,
            "name": self.version.name,
            "previous": self.previous.id,
            "before": self.before,
            "after": self.after,
            "delta": self.delta,
            "bad_amount": self.bad_amount,
            "score": self.score,
            "unmeasured": list(self.unmeasured),
            "changes": None if self.changes is None else self.changes.to_dict(),
            "drift": None if self.drift is None else self.drift.to_dict(),
        }


@dataclass(frozen=True)
class BlameReport:
    """Every step of a metric's history, worst first.

    Attributes
    ----------
    metric : str
    direction : {"decrease", "increase"}
        The bad direction.
    steps : sequence of BlameStep
        Ranked by ``bad_amount`` descending (ties: older step first). A tuple, or for
        ``tracker.blame_report`` a read-only sequence that makes each step when it is
        looked at (a history of 10^6 versions ranks in milliseconds).
    scale : float or None
        The robust noise scale used for scores.
    skipped : tuple of str
        Ids on the history without the metric.
    """

    metric: str
    direction: Direction
    steps: Sequence[BlameStep]
    scale: float | None
    skipped: tuple[str, ...] = field(default=())
    correlate: Callable[[BlameReport, str], StepDriftCorrelation] | None = field(
        default=None, repr=False, compare=False
    )

    def drift_correlation(self, measure: str = "score") -> StepDriftCorrelation:
        """Spearman's rho between each step's data drift and how much worse it made the metric.

        Only for reports made by ``tracker.analysis.blame`` (reads or computes every
        step's drift, through the store's drift cache; steps without profiles are left
        out and counted).

        Parameters
        ----------
        measure : {"score", "drifted_share"}
            Per-step drift: the mean effect size (W1/std, JS distance) or the share of
            drifted features.

        Raises
        ------
        InvalidInput
            For a report made without drift (``tracker.blame_report``), or a bad measure.
        """
        if self.correlate is None:
            raise InvalidInput(
                "this blame report was made without drift evidence; use "
                "tracker.analysis.blame(metric, ...) for a report with drift"
            )
        return self.correlate(self, measure)

    @property
    def culprit(self) -> ModelVersion | None:
        """The worst step's version, or None when no step moved the bad way."""
        if self.steps and self.steps[0].bad_amount > 0:
            return self.steps[0].version
        return None

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """A JSON-ready dict; ``limit`` keeps the worst ``limit`` steps (each with its diff)."""
        return {
            "metric": self.metric,
            "direction": self.direction,
            "scale": self.scale,
            "culprit": None if self.culprit is None else self.culprit.id,
            "total_steps": len(self.steps),
            "steps": [s.to_dict() for s in self.steps[:limit]],
            "skipped": list(self.skipped),
        }

    def _repr_html_(self) -> str:
        return _html.blame_html(self)

    def __repr__(self) -> str:
        from mlineage.stats._present import short_repr  # numpy: not at `import mlineage`

        culprit = self.culprit
        found = "no culprit" if culprit is None else f"culprit {culprit.name or culprit.short_id}"
        return short_repr(
            "BlameReport",
            f"{self.metric} ({self.direction} is bad): {len(self.steps)} steps, {found}",
        )

    def __str__(self) -> str:
        # A history of 10^6 versions has 10^6 steps: a terminal wants the worst ones.
        return self.text(limit=STR_STEPS)

    def text(self, limit: int | None = None) -> str:
        """The report with at most ``limit`` steps, worst first (``str()``: the worst 20)."""
        head = f"blame {self.metric} ({self.direction} is bad)"
        if not self.steps:
            return head + ": fewer than two versions carry this metric"
        noise = "n/a" if self.scale is None else f"{self.scale:.4g}"
        lines = [f"{head}; step noise (1.4826*MAD) = {noise}"]
        for rank, step in enumerate(self.steps[:limit], 1):
            v = step.version
            score = "" if step.score is None else f"  score {step.score:+.1f}"
            label = f" {v.name}" if v.name else ""
            lines.append(
                f"{rank:>3}. {v.short_id}{label}  {step.before:.6g} -> {step.after:.6g} "
                f"({step.delta:+.6g}){score}"
            )
            if rank == 1 and step.bad_amount > 0 and step.changes is not None:
                lines += ["     " + x for x in str(step.changes).splitlines()[1:]]
            if rank == 1 and step.bad_amount > 0 and step.drift is not None:
                lines.append(f"     data drift: {step.drift.summary()}")
        if limit is not None and len(self.steps) > limit:
            more = len(self.steps) - limit
            lines.append(f"... {more} more step{'s' if more != 1 else ''}")
        return "\n".join(lines)


def blame_steps(
    history: Sequence[ModelVersion],
    metric: str,
    direction: Direction,
    explain: Callable[[ModelVersion, ModelVersion], VersionDiff] | None = None,
) -> BlameReport:
    """Rank the steps of ``history`` by how far each moved ``metric`` the bad way.

    Parameters
    ----------
    history : sequence of ModelVersion
        A first-parent history, **oldest first**.
    metric : str
        Metric name.
    direction : {"decrease", "increase"}
        Which way is bad: ``"decrease"`` for accuracy-like metrics, ``"increase"`` for
        loss or error rates.
    explain : callable, optional
        ``explain(previous, version)`` returns the evidence diff of one step; without it
        steps carry no ``changes`` (cheaper, for when only the culprit is wanted).

    Returns
    -------
    BlameReport

    Raises
    ------
    InvalidInput
        (a ``ValueError``) if ``direction`` is neither ``"decrease"`` nor ``"increase"``.
    """
    return rank_steps(history, lambda k: history[k].metrics.get(metric), metric, direction, explain)


def rank_steps(
    history: Sequence[ModelVersion],
    value_at: Callable[[int], float | None],
    metric: str,
    direction: Direction,
    explain: Callable[[ModelVersion, ModelVersion], VersionDiff] | None = None,
    drift_of: DriftOf | None = None,
) -> BlameReport:
    """:func:`blame_steps` with the metric's values given by position in ``history``.

    ``value_at(k)`` is the metric at ``history[k]`` or None; the tracker passes its graph's
    metric column, so ranking a 10^5-version history reads no record. ``drift_of`` gives
    each step its (lazy) ``drift``.
    """
    if direction not in ("decrease", "increase"):
        raise InvalidInput(f"direction must be 'decrease' or 'increase', got {direction!r}")
    sign = -1.0 if direction == "decrease" else 1.0
    measured: list[tuple[ModelVersion, float, tuple[str, ...]]] = []
    skipped: list[str] = []
    gap: list[str] = []
    for k, version in enumerate(history):
        value = value_at(k)
        if value is not None:
            measured.append((version, value, tuple(gap)))
            gap = []
        else:
            skipped.append(version.id)
            if measured:
                gap.append(version.id)
    raw = [
        (previous, before, version, after, unmeasured)
        for (previous, before, _), (version, after, unmeasured) in itertools.pairwise(measured)
    ]
    scale = robust_scale([after - before for _, before, _, after, _ in raw])
    steps = []
    for previous, before, version, after, unmeasured in raw:
        delta = after - before
        bad = sign * delta
        steps.append(
            BlameStep(
                version=version,
                previous=previous,
                before=before,
                after=after,
                delta=delta,
                bad_amount=bad,
                score=None if scale is None else bad / scale,
                unmeasured=unmeasured,
                explain=explain,
                drift_of=drift_of,
            )
        )
    # Stable sort on the oldest-first list: equal steps keep the older one first.
    steps.sort(key=lambda s: -s.bad_amount)
    return BlameReport(metric, direction, tuple(steps), scale, tuple(skipped))


def worst_step(values: np.ndarray[Any, np.dtype[np.float64]], direction: Direction) -> int | None:
    """Index ``k`` of the worst step ``values[k] -> values[k + 1]``, or None.

    The worst step moves the series furthest in the bad ``direction``; ties go to the
    earlier step; None when fewer than two values or no step moved that way.

    Examples
    --------
    >>> worst_step(np.array([0.90, 0.92, 0.85, 0.86]), "decrease")
    1
    """
    if direction not in ("decrease", "increase"):
        raise InvalidInput(f"direction must be 'decrease' or 'increase', got {direction!r}")
    import numpy as np

    if len(values) < 2:
        return None
    bad = np.diff(values) * (-1.0 if direction == "decrease" else 1.0)
    worst = int(np.argmax(bad))  # argmax returns the first maximum: the older step
    return worst if bad[worst] > 0 else None


def blame(
    index: LineageIndex, history: NodeArray, metric: str, direction: Direction
) -> ModelVersion | None:
    """The version whose step along ``history`` (graph indices, oldest first) moved
    ``metric`` the most in the bad ``direction``; see ``Tracker.blame``."""
    graph = index.graph
    nodes, values = graph.metric_along(history, metric)
    worst = worst_step(values, direction)
    return None if worst is None else graph.node(int(nodes[worst + 1]))


def blame_report(
    index: LineageIndex,
    history: NodeArray,
    metric: str,
    direction: Direction,
    explain: Callable[[ModelVersion, ModelVersion], VersionDiff] | None = None,
    drift_of: DriftOf | None = None,
) -> BlameReport:
    """Every step of ``metric`` along ``history`` (graph indices, oldest first), worst first.

    Ranking reads the graph's metric column, no record, in numpy; each step (and its
    versions) is made when looked at, its diff (``changes``) and drift when those are.
    The same report as :func:`rank_steps` on the versions of ``history``.
    """
    import numpy as np

    if direction not in ("decrease", "increase"):
        raise InvalidInput(f"direction must be 'decrease' or 'increase', got {direction!r}")
    graph = index.graph
    positions, values = graph.metric_positions(history, metric)
    unmeasured = np.ones(len(history), dtype=bool)
    unmeasured[positions] = False
    skipped = tuple(graph.node_id(i) for i in history[np.flatnonzero(unmeasured)].tolist())
    deltas = np.diff(values)
    scale = robust_scale(deltas)
    bad = deltas * (-1.0 if direction == "decrease" else 1.0)
    steps = _RankedSteps(graph, history, positions, values, bad, scale, explain, drift_of)
    return BlameReport(metric, direction, steps, scale, skipped)


#: Ranks a blame report finds by partial sort (``str()`` shows 20 of them).
_TOP = 64


class _RankedSteps(LazySequence[BlameStep]):
    """The steps of a ranked history, each made (and kept) when first looked at."""

    def __init__(
        self,
        graph: Any,
        history: NodeArray,
        positions: np.ndarray[Any, np.dtype[np.int64]],
        values: np.ndarray[Any, np.dtype[np.float64]],
        bad: np.ndarray[Any, np.dtype[np.float64]],
        scale: float | None,
        explain: Callable[[ModelVersion, ModelVersion], VersionDiff] | None,
        drift_of: DriftOf | None,
    ) -> None:
        self._graph, self._history, self._positions = graph, history, positions
        self._values, self._bad, self._scale = values, bad, scale
        self._explain, self._drift_of = explain, drift_of
        self._order: np.ndarray[Any, np.dtype[np.int64]] | None = None  # all, ranked
        self._top: list[int] = []  # the first ranks, until all are ranked
        self._made: dict[int, BlameStep] = {}

    def __len__(self) -> int:
        return len(self._bad)

    def __getitem__(self, rank: Any) -> Any:
        if isinstance(rank, slice):
            return tuple(self._step(r) for r in range(len(self))[rank])
        size = len(self)
        if not -size <= rank < size:
            raise IndexError(f"step {rank} of {size}")
        return self._step(rank % size)

    def __repr__(self) -> str:
        return f"<{len(self)} blame steps, worst first>"

    def _ranked(self, rank: int) -> int:
        """The step (by age) at ``rank``: the worst few are found without a full sort."""
        import numpy as np

        if rank < len(self._top):
            return self._top[rank]
        if self._order is None and rank < _TOP and len(self._bad) > 4 * _TOP:
            # Every step at least as bad as the _TOP-th worst, by badness then age: the
            # same first ranks as the stable sort below (ties go to the older step).
            bad = self._bad
            bound = np.partition(-bad, _TOP - 1)[_TOP - 1]
            near = np.flatnonzero(-bad <= bound)
            self._top = near[np.lexsort((near, -bad[near]))][:_TOP].tolist()
            return self._top[rank]
        if self._order is None:
            self._order = np.argsort(-self._bad, kind="stable")
        return int(self._order[rank])

    def _step(self, rank: int) -> BlameStep:
        step = self._made.get(rank)
        if step is not None:
            return step
        k = self._ranked(rank)  # the step from the k-th measured version to the next
        graph, history = self._graph, self._history
        older, newer = int(self._positions[k]), int(self._positions[k + 1])
        before, after = float(self._values[k]), float(self._values[k + 1])
        bad = float(self._bad[k])
        step = self._made[rank] = BlameStep(
            version=graph.node(int(history[newer])),
            previous=graph.node(int(history[older])),
            before=before,
            after=after,
            delta=after - before,
            bad_amount=bad,
            score=None if self._scale is None else bad / self._scale,
            unmeasured=tuple(graph.node_id(i) for i in history[older + 1 : newer].tolist()),
            explain=self._explain,
            drift_of=self._drift_of,
        )
        return step
