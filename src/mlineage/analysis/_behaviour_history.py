"""Behaviour along a history: per-slice blame and silent shifts.

- :func:`blame_slices` (``tracker.blame(metric, slice_by="region")``): the update that hurt
  each group, from the per-group accuracy in the fingerprints' summaries (records only, no
  blob is read), ranked as :func:`mlineage.blame.rank_steps` ranks a metric's steps.
- :func:`silent_shifts` (``tracker.analysis.silent_shifts()``): the steps where behaviour
  moved (churn, 1 - linear CKA, the change of ECE beyond thresholds) while every tracked
  metric stayed within its noise: ``|delta| <= noise * 1.4826 * MAD`` of that metric's
  step deltas along the history, the scale blame uses.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlineage.errors import FingerprintNotFound, InvalidInput, MetricNotFound
from mlineage.records import FingerprintRef, ModelVersion

if TYPE_CHECKING:
    from mlineage.analysis._behaviour_lineage import BehaviourLineage
    from mlineage.blame import BlameStep, Direction
    from mlineage.refs import Ref
    from mlineage.stats._probeset import ProbeSet

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ShiftStep",
    "SilentShifts",
    "SliceBlame",
    "blame_slices",
    "silent_shifts",
]

#: Default thresholds of :func:`silent_shifts`: a step moved behaviour when the share of
#: changed predictions, 1 - linear CKA of the embeddings, or |ECE change| exceeds these.
DEFAULT_THRESHOLDS: dict[str, float] = {"churn": 0.05, "cka": 0.05, "ece": 0.02}


# -- per-slice blame ------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceBlame(Mapping[str, "BlameStep | None"]):
    """The update that hurt each group most: ``tracker.blame(metric, slice_by=...)``.

    A mapping of group label -> its worst step (a :class:`~mlineage.blame.BlameStep`:
    ``version``, ``previous``, ``before``, ``after``, ``delta``, ``score``), or None when no
    step moved that group's metric the bad way.

    Attributes
    ----------
    metric : str
        The per-group metric (``"accuracy"``).
    direction : {"decrease", "increase"}
    slice_by : str
    probe : str
        Hash of the probe set whose groups these are.
    steps : dict
        Group -> its worst step or None.
    overall : dict
        Group -> ``(before, after)`` of the overall metric at that step (the version's
        logged metric, else the fingerprint's overall accuracy), None when unknown.
    sizes : dict
        Group -> rows of the probe set in it.
    """

    metric: str
    direction: Direction
    slice_by: str
    probe: str
    steps: dict[str, BlameStep | None]
    overall: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, group: str) -> BlameStep | None:
        return self.steps[group]

    def __iter__(self) -> Iterator[str]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def culprits(self) -> dict[str, ModelVersion | None]:
        """Group -> the version of its worst step (None: no bad step)."""
        return {g: None if s is None else s.version for g, s in self.steps.items()}

    def worst(self) -> str | None:
        """The group whose worst step was the largest (None when no group got worse)."""
        bad = [(s.bad_amount, g) for g, s in self.steps.items() if s is not None]
        return max(bad, key=lambda item: item[0])[1] if bad else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each group with its culprit and step (worst group first)."""
        groups = []
        for group in self._order():
            step = self.steps[group]
            overall = self.overall.get(group)
            groups.append(
                {
                    "group": group,
                    "n": self.sizes.get(group),
                    "culprit": None if step is None else step.version.id,
                    "name": None if step is None else step.version.name,
                    "previous": None if step is None else step.previous.id,
                    "before": None if step is None else step.before,
                    "after": None if step is None else step.after,
                    "delta": None if step is None else step.delta,
                    "score": None if step is None else step.score,
                    "overall_before": None if overall is None else overall[0],
                    "overall_after": None if overall is None else overall[1],
                }
            )
        return {
            "metric": self.metric,
            "direction": self.direction,
            "slice_by": self.slice_by,
            "probe": self.probe,
            "worst": self.worst(),
            "groups": groups,
        }

    def _order(self) -> list[str]:
        return sorted(
            self.steps,
            key=lambda g: (-(s.bad_amount if (s := self.steps[g]) is not None else -1.0), g),
        )

    def __str__(self) -> str:
        lines = [
            f"blame {self.metric} by {self.slice_by} ({self.direction} is bad) on probe "
            f"{self.probe[:19]}...:"
        ]
        for group in self._order():
            step = self.steps[group]
            size = self.sizes.get(group)
            label = f"{group} (n={size:,})" if size is not None else group
            if step is None:
                lines.append(f"  {label}: no update made it worse")
                continue
            name = f" {step.version.name}" if step.version.name else ""
            score = "" if step.score is None else f", score {step.score:+.1f}"
            text = (
                f"  {label}: {step.version.id[:12]}{name}  {step.before:.4g} -> "
                f"{step.after:.4g} ({step.delta:+.4g}{score})"
            )
            overall = self.overall.get(group)
            if overall is not None:
                text += f"; overall {overall[0]:.4g} -> {overall[1]:.4g}"
            lines.append(text)
        return "\n".join(lines)


def _probe_matches(fref: FingerprintRef, slice_by: str) -> bool:
    group_by = fref.summary.get("group_by", "group")
    return bool(fref.summary.get("groups")) and slice_by in (
        group_by,
        fref.probe_name,
        fref.probe,
    )


def _pick_probe(per_version: list[dict[str, FingerprintRef]], what: str) -> str:
    counts: dict[str, int] = {}
    for found in per_version:
        for probe in found:
            counts[probe] = counts.get(probe, 0) + 1
    if not counts:
        raise FingerprintNotFound(f"no version on the history has a fingerprint {what}")
    return max(counts, key=lambda p: counts[p])  # most versions; ties: first seen


def blame_slices(
    lineage: BehaviourLineage,
    metric: str,
    direction: Direction,
    on: Ref | None,
    slice_by: str,
) -> SliceBlame:
    """Blame per group along the first-parent history of ``on``; see ``Tracker.blame``."""
    from mlineage.blame import rank_steps

    if not isinstance(slice_by, str) or not slice_by:
        raise InvalidInput(f"slice_by must be a group name such as 'region', got {slice_by!r}")
    history = lineage.tracker.history(on)[::-1]
    per_version = [
        {f.probe: f for f in lineage.refs(v) if _probe_matches(f, slice_by)} for v in history
    ]
    probe = _pick_probe(per_version, f"with groups by {slice_by!r} (ProbeSet(..., group_by=))")
    summaries = [found.get(probe) for found in per_version]
    labels: dict[str, int] = {}
    carried: set[str] = set()
    for fref in summaries:
        for group, values in _groups(fref).items():
            labels.setdefault(group, int(values.get("n", 0)))
            carried.update(values)
    if metric not in carried:
        known = ", ".join(sorted(carried - {"n"})) or "none"
        raise MetricNotFound(
            f"per-group {metric!r} is not in the fingerprints' summaries; blame by "
            f"{slice_by!r} reads per-group metrics from them ({known})"
        )
    steps: dict[str, BlameStep | None] = {}
    overall: dict[str, tuple[float, float] | None] = {}
    for group in labels:

        def value_at(k: int, group: str = group) -> float | None:
            value = _groups(summaries[k]).get(group, {}).get(metric)
            return None if value is None else float(value)

        report = rank_steps(history, value_at, f"{metric}[{group}]", direction)
        step = report.steps[0] if report.steps and report.steps[0].bad_amount > 0 else None
        steps[group] = step
        overall[group] = None if step is None else _overall(step, metric, summaries, history)
    return SliceBlame(metric, direction, slice_by, probe, steps, overall, labels)


def _groups(fref: FingerprintRef | None) -> dict[str, dict[str, Any]]:
    if fref is None:
        return {}
    groups = fref.summary.get("groups")
    return groups if isinstance(groups, dict) else {}  # type: ignore[return-value]


def _overall(
    step: BlameStep,
    metric: str,
    summaries: list[FingerprintRef | None],
    history: list[ModelVersion],
) -> tuple[float, float] | None:
    before, after = step.previous.metrics.get(metric), step.version.metrics.get(metric)
    if before is not None and after is not None:
        return before, after
    position = {v.id: k for k, v in enumerate(history)}
    values = []
    for version in (step.previous, step.version):
        fref = summaries[position[version.id]]
        value = None if fref is None else fref.summary.get("accuracy")
        if not isinstance(value, (int, float)):
            return None
        values.append(float(value))
    return values[0], values[1]


# -- silent shifts --------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftStep:
    """One step of a history (a version against its first parent), behaviour and metrics.

    Attributes
    ----------
    version, previous : ModelVersion
    churn : float
        Share of probe predictions that changed.
    cka : float or None
        Linear CKA of the two embeddings (None without embeddings).
    ece_before, ece_after : float or None
        Calibration error of each (None without probabilities and labels).
    moved : tuple of str
        Measures beyond their threshold: ``"churn"``, ``"cka"`` (1 - CKA), ``"ece"``.
    metrics : dict
        Metric -> ``(delta, noise)``: the step's change and the noise bound
        (``noise * robust scale``; None when the history is too short or too flat).
    outside : tuple of str
        Metrics whose change exceeded their noise bound.
    """

    version: ModelVersion
    previous: ModelVersion
    churn: float
    cka: float | None
    ece_before: float | None
    ece_after: float | None
    moved: tuple[str, ...]
    metrics: dict[str, tuple[float, float | None]]
    outside: tuple[str, ...]

    @property
    def silent(self) -> bool:
        """Behaviour moved while every tracked metric stayed within its noise."""
        return bool(self.moved) and not self.outside

    @property
    def ece_delta(self) -> float | None:
        """``ece_after - ece_before`` (None unless both are known)."""
        if self.ece_before is None or self.ece_after is None:
            return None
        return self.ece_after - self.ece_before

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "version": self.version.id,
            "name": self.version.name,
            "previous": self.previous.id,
            "churn": self.churn,
            "cka": self.cka,
            "ece_before": self.ece_before,
            "ece_after": self.ece_after,
            "moved": list(self.moved),
            "metrics": {m: {"delta": d, "noise": n} for m, (d, n) in self.metrics.items()},
            "outside": list(self.outside),
            "silent": self.silent,
        }


@dataclass(frozen=True)
class SilentShifts:
    """Steps where behaviour moved while the metrics stayed flat.

    Attributes
    ----------
    probe : str
        Hash of the probe set the steps were measured on.
    thresholds : dict
        ``churn``, ``cka`` (on 1 - CKA) and ``ece`` (on |ECE change|).
    noise : float
        A metric is flat when ``|delta| <= noise * 1.4826 * MAD`` of its step deltas.
    steps : tuple of ShiftStep
        Every step with fingerprints on both sides, oldest first.
    """

    probe: str
    thresholds: dict[str, float]
    noise: float
    steps: tuple[ShiftStep, ...]

    @property
    def shifts(self) -> list[ShiftStep]:
        """The silent steps, oldest first."""
        return [s for s in self.steps if s.silent]

    @property
    def versions(self) -> list[ModelVersion]:
        """The versions of the silent steps, oldest first."""
        return [s.version for s in self.shifts]

    def __len__(self) -> int:
        return len(self.shifts)

    def __iter__(self) -> Iterator[ShiftStep]:
        return iter(self.shifts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: thresholds, and every step with ``silent`` set on the shifts."""
        return {
            "probe": self.probe,
            "thresholds": dict(self.thresholds),
            "noise": self.noise,
            "shifts": [s.version.id for s in self.shifts],
            "steps": [s.to_dict() for s in self.steps],
        }

    def to_pandas(self) -> Any:
        """One row per step (indexed by version id); pandas is imported only here."""
        try:
            pd = importlib.import_module("pandas")
        except ImportError as exc:
            from mlineage.errors import MissingDependency

            raise MissingDependency(
                "SilentShifts.to_pandas needs pandas: pip install 'mlineage[data]'"
            ) from exc
        rows = []
        for s in self.steps:
            row = {k: v for k, v in s.to_dict().items() if k != "metrics"}
            row["moved"] = ",".join(s.moved)
            row["outside"] = ",".join(s.outside)
            rows.append(row)
        columns = ["version", "name", "previous", "churn", "cka", "ece_before", "ece_after"]
        columns += ["moved", "outside", "silent"]
        return pd.DataFrame(rows, columns=columns).set_index("version")

    def __str__(self) -> str:
        limits = ", ".join(f"{k} > {v:g}" for k, v in self.thresholds.items())
        head = (
            f"silent shifts on probe {self.probe[:19]}... ({len(self.steps)} steps; "
            f"behaviour moved: {limits}; metrics within {self.noise:g} x noise)"
        )
        if not self.shifts:
            return head + "\n  none: every step that moved behaviour also moved a metric"
        lines = [head]
        for s in self.shifts:
            name = f" {s.version.name}" if s.version.name else ""
            parts = [f"churn {100 * s.churn:.1f}%"]
            if s.cka is not None:
                parts.append(f"CKA {s.cka:.3f}")
            if s.ece_delta is not None:
                parts.append(f"ECE {s.ece_before:.3f} -> {s.ece_after:.3f}")
            flat = ", ".join(f"{m} {d:+.4g}" for m, (d, _) in s.metrics.items()) or "no metrics"
            lines.append(
                f"  {s.version.id[:12]}{name}: moved {'+'.join(s.moved)} "
                f"({'; '.join(parts)}); metrics flat ({flat})"
            )
        return "\n".join(lines)


def _thresholds(threshold: float | Mapping[str, float] | None) -> dict[str, float]:
    limits = dict(DEFAULT_THRESHOLDS)
    if threshold is None:
        return limits
    if isinstance(threshold, Mapping):
        unknown = set(threshold) - set(limits)
        if unknown:
            raise InvalidInput(
                f"unknown threshold(s) {sorted(unknown)}; use {sorted(limits)} (churn, "
                "1 - CKA, |ECE change|)"
            )
        limits.update({k: float(v) for k, v in threshold.items()})
    elif isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
        limits = dict.fromkeys(limits, float(threshold))
    else:
        raise InvalidInput(
            f"threshold must be a number or a mapping such as {DEFAULT_THRESHOLDS}, "
            f"got {threshold!r}"
        )
    bad = {k: v for k, v in limits.items() if not 0.0 <= v <= 1.0}
    if bad:
        raise InvalidInput(f"thresholds must lie in [0, 1], got {bad}")
    return limits


def silent_shifts(
    lineage: BehaviourLineage,
    threshold: float | Mapping[str, float] | None,
    on: Ref | None,
    probe: str | ProbeSet | None,
    noise: float,
) -> SilentShifts:
    """``tracker.analysis.silent_shifts``: see there."""
    from mlineage.analysis._behaviour_lineage import _matches
    from mlineage.blame import robust_scale
    from mlineage.stats._compare import churn_between
    from mlineage.stats._probeset import ProbeSet
    from mlineage.stats.representation import linear_cka

    limits = _thresholds(threshold)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise InvalidInput(f"noise must be a non-negative number, got {noise!r}")
    history = lineage.tracker.history(on)[::-1]
    per_version = [lineage.by_probe(v) for v in history]
    if probe is None:
        chosen = _pick_probe(per_version, "")
    elif isinstance(probe, ProbeSet):
        chosen = probe.hash
    else:
        named = [h for found in per_version for h, f in found.items() if _matches(f, probe)]
        if not named:
            raise FingerprintNotFound(f"no version on the history has a fingerprint on {probe!r}")
        chosen = named[0]
    scales = _metric_noise(history, robust_scale)
    steps = []
    for (prev, prev_found), (cur, cur_found) in itertools.pairwise(
        zip(history, per_version, strict=True)
    ):
        if chosen not in prev_found or chosen not in cur_found:
            continue
        old_ref, new_ref = prev_found[chosen], cur_found[chosen]
        old, new = lineage.load(old_ref), lineage.load(new_ref)
        churn = churn_between(old, new)
        cka = None
        if old.embeddings is not None and new.embeddings is not None:
            try:
                cka = linear_cka(old.embeddings, new.embeddings)
            except InvalidInput:
                cka = None
        ece_before, ece_after = _ece(old_ref), _ece(new_ref)
        moved = []
        if churn > limits["churn"]:
            moved.append("churn")
        if cka is not None and 1.0 - cka > limits["cka"]:
            moved.append("cka")
        ece_moved = ece_before is not None and ece_after is not None
        if ece_moved and abs(ece_after - ece_before) > limits["ece"]:  # type: ignore[operator]
            moved.append("ece")
        metrics: dict[str, tuple[float, float | None]] = {}
        outside = []
        for name in sorted(set(prev.metrics) & set(cur.metrics)):
            delta = cur.metrics[name] - prev.metrics[name]
            scale = scales.get(name)
            bound = None if scale is None else noise * scale
            metrics[name] = (delta, bound)
            if abs(delta) > (0.0 if bound is None else bound):
                outside.append(name)
        steps.append(
            ShiftStep(
                cur, prev, churn, cka, ece_before, ece_after, tuple(moved), metrics, tuple(outside)
            )
        )
    return SilentShifts(chosen, limits, float(noise), tuple(steps))


def _ece(fref: FingerprintRef) -> float | None:
    value = fref.summary.get("ece")
    return float(value) if isinstance(value, (int, float)) else None


def _metric_noise(history: list[ModelVersion], robust_scale: Any) -> dict[str, float | None]:
    """Metric -> robust scale of its step deltas along ``history`` (as blame computes it)."""
    last: dict[str, float] = {}
    deltas: dict[str, list[float]] = {}
    for version in history:
        for name, value in version.metrics.items():
            if name in last:
                deltas.setdefault(name, []).append(value - last[name])
            last[name] = value
    return {name: robust_scale(values) for name, values in deltas.items()}
