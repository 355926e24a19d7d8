"""Behaviour along a history: per-slice blame (and silent shifts, re-exported).

- :func:`blame_slices` (``tracker.blame(metric, slice_by="region")``): the update that hurt
  each group, from the per-group accuracy in the fingerprints' summaries (records only, no
  blob is read), ranked as :func:`mlineage.blame.rank_steps` ranks a metric's steps.
- :func:`silent_shifts` (``tracker.analysis.silent_shifts()``) lives in
  :mod:`mlineage.analysis._silent`; its names stay importable from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlineage.analysis._silent import (
    DEFAULT_THRESHOLDS,
    ShiftStep,
    SilentShifts,
    _pick_probe,
    silent_shifts,
)
from mlineage.errors import InvalidInput, MetricNotFound
from mlineage.records import FingerprintRef, ModelVersion
from mlineage.stats._present import short_repr

if TYPE_CHECKING:
    from mlineage.analysis._behaviour_lineage import BehaviourLineage
    from mlineage.blame import BlameStep, Direction
    from mlineage.refs import Ref

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ShiftStep",
    "SilentShifts",
    "SliceBlame",
    "blame_slices",
    "silent_shifts",
]


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

    def __repr__(self) -> str:
        worst = self.worst()
        step = None if worst is None else self.steps[worst]
        found = (
            "no group got worse"
            if step is None
            else f"worst group {worst} at {step.version.name or step.version.short_id}"
        )
        return short_repr(
            "SliceBlame", f"{self.metric} by {self.slice_by}: {found}; {len(self)} groups"
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
                f"  {label}: {step.version.short_id}{name}  {step.before:.4g} -> "
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
    history: Sequence[ModelVersion],
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
