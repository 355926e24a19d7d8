"""Silent shifts: steps where behaviour moved while every tracked metric stayed flat.

``tracker.analysis.silent_shifts()``. Each step of a first-parent history whose two
versions share a probe set's fingerprints gets three behaviour measures — churn (the share
of probe answers that changed), 1 - linear CKA of the embeddings, |ECE change| — and the
change of every metric.

By default each behaviour measure is judged against **that history's own ordinary
step-to-step movement**, as blame judges a metric: it moved when its robust z-score among
the history's steps, ``(x - median) / (1.4826 MAD)``, exceeds ``z`` (3.5, the "anomalous
step" rule of docs/analysis.md) and it is above a small floor (:data:`FLOORS`, so that one
flipped probe of a very quiet model is not a shift). The median and MAD are taken over the
ordinary steps: the steps above the bound are set aside and the two re-estimated until
nothing changes (at most 8 rounds), so that a few large moves (a migration, a bad update
and its rollback) do not widen the noise that judges them — as the default penalty of
change points is estimated. When most steps left a measure exactly unchanged (MAD 0), its
ordinary movement is none and the floor alone decides. A noisy model's routine updates are
then not shifts, and a quiet model's small real one is. A history with fewer than
:data:`MIN_STEPS` steps measuring it has no ordinary movement to learn from: that measure
falls back to the fixed :data:`DEFAULT_THRESHOLDS` (and says so). ``threshold=`` asks for
fixed thresholds instead.

A metric stayed flat when ``|delta| <= noise * 1.4826 * MAD`` of its step deltas along
the history (the scale blame uses).
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from typing import TYPE_CHECKING, Any

from mlineage._tables import html_table
from mlineage.errors import FingerprintNotFound, InvalidInput
from mlineage.records import FingerprintRef, ModelVersion
from mlineage.stats._present import HTML_ROWS, html_more, short_repr

if TYPE_CHECKING:
    from mlineage.analysis._behaviour_lineage import BehaviourLineage
    from mlineage.refs import Ref
    from mlineage.stats._probeset import ProbeSet

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FLOORS",
    "MIN_STEPS",
    "SHIFT_Z",
    "ShiftStep",
    "SilentShifts",
    "silent_shifts",
]

#: Fixed thresholds (``threshold=``, and the fallback of a history too short to calibrate
#: on): a step moved behaviour when churn, 1 - linear CKA or |ECE change| exceeds these.
DEFAULT_THRESHOLDS: dict[str, float] = {"churn": 0.05, "cka": 0.05, "ece": 0.02}
#: The smallest movement the calibrated default calls a shift, however quiet the history.
FLOORS: dict[str, float] = {"churn": 0.01, "cka": 0.01, "ece": 0.02}
#: Steps measuring a behaviour measure needed to learn its ordinary movement.
MIN_STEPS = 5
#: A measure moved when its robust z-score among the steps exceeds this (as drift_along).
SHIFT_Z = 3.5
_ROUNDS = 8
_NAMES = {"churn": "churn", "cka": "1 - CKA", "ece": "|ΔECE|"}


def _pick_probe(per_version: list[dict[str, FingerprintRef]], what: str) -> str:
    counts: dict[str, int] = {}
    for found in per_version:
        for probe in found:
            counts[probe] = counts.get(probe, 0) + 1
    if not counts:
        raise FingerprintNotFound(f"no version on the history has a fingerprint {what}")
    return max(counts, key=lambda p: counts[p])  # most versions; ties: first seen


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
    z : dict
        Measure -> the robust z-score of this step's value among the history's steps
        (calibrated measures only).
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
    z: dict[str, float] = field(default_factory=dict)

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

    def measures(self) -> dict[str, float]:
        """Measure -> this step's value: churn, 1 - CKA, |ECE change| (those known)."""
        out = {"churn": self.churn}
        if self.cka is not None:
            out["cka"] = 1.0 - self.cka
        if self.ece_delta is not None:
            out["ece"] = abs(self.ece_delta)
        return out

    def words(self) -> str:
        """``churn 42.0 % (z +6.1); CKA 0.713; ECE 0.031 -> 0.052``."""
        parts = [f"churn {100 * self.churn:.1f} %" + _z(self.z.get("churn"))]
        if self.cka is not None:
            parts.append(f"CKA {self.cka:.3f}" + _z(self.z.get("cka")))
        if self.ece_delta is not None:
            parts.append(
                f"ECE {self.ece_before:.3f} -> {self.ece_after:.3f}" + _z(self.z.get("ece"))
            )
        return "; ".join(parts)

    def __repr__(self) -> str:
        name = f" {self.version.name}" if self.version.name else ""
        verdict = "silent shift" if self.silent else ("moved" if self.moved else "ordinary")
        return short_repr("ShiftStep", f"{self.version.short_id}{name} {verdict}: {self.words()}")

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
            "z": dict(self.z),
            "metrics": {m: {"delta": d, "noise": n} for m, (d, n) in self.metrics.items()},
            "outside": list(self.outside),
            "silent": self.silent,
        }


def _z(value: float | None) -> str:
    return "" if value is None else f" (z {round(value, 1) + 0.0:+.1f})"


@dataclass(frozen=True)
class SilentShifts:
    """Steps where behaviour moved while the metrics stayed flat.

    Attributes
    ----------
    probe : str
        Hash of the probe set the steps were measured on.
    thresholds : dict
        ``churn``, ``cka`` (on 1 - CKA) and ``ece`` (on |ECE change|): the value above
        which the measure moved — fixed, or learnt from the history (``rules`` says which).
    noise : float
        A metric is flat when ``|delta| <= noise * 1.4826 * MAD`` of its step deltas.
    steps : tuple of ShiftStep
        Every step with fingerprints on both sides, oldest first.
    rules : dict
        Measure -> its rule in words: ``"churn > 31.2 % (median 11.4 % + 3.5 x noise
        5.7 %)"``, or ``"churn > 5 % (fixed)"``.
    z : float or None
        The robust z-score a calibrated measure must exceed; None with fixed thresholds.
    """

    probe: str
    thresholds: dict[str, float]
    noise: float
    steps: tuple[ShiftStep, ...]
    rules: dict[str, str] = field(default_factory=dict)
    z: float | None = None

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
        """JSON-ready: thresholds and rules, and every step with ``silent`` set on the shifts."""
        return {
            "probe": self.probe,
            "thresholds": dict(self.thresholds),
            "rules": dict(self.rules),
            "z": self.z,
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
            row = {k: v for k, v in s.to_dict().items() if k not in ("metrics", "z")}
            row["moved"] = ",".join(s.moved)
            row["outside"] = ",".join(s.outside)
            rows.append(row)
        columns = ["version", "name", "previous", "churn", "cka", "ece_before", "ece_after"]
        columns += ["moved", "outside", "silent"]
        return pd.DataFrame(rows, columns=columns).set_index("version")

    def _head(self) -> str:
        limits = "; ".join(self.rules.values()) or ", ".join(
            f"{k} > {v:g}" for k, v in self.thresholds.items()
        )
        return (
            f"silent shifts on probe {self.probe[:19]}... ({len(self.steps)} steps, "
            f"{len(self.shifts)} silent; behaviour moved: {limits}; metrics flat within "
            f"{self.noise:g} x their step noise)"
        )

    def _line(self, s: ShiftStep) -> str:
        name = f" {s.version.name}" if s.version.name else ""
        flat = ", ".join(f"{m} {d:+.4g}" for m, (d, _) in s.metrics.items()) or "no metrics"
        return (
            f"{s.version.short_id}{name}: moved {'+'.join(s.moved)} ({s.words()}); "
            f"metrics flat ({flat})"
        )

    def __str__(self) -> str:
        if not self.shifts:
            return self._head() + "\n  none: no step moved behaviour with every metric flat"
        return "\n".join([self._head(), *("  " + self._line(s) for s in self.shifts)])

    def __repr__(self) -> str:
        names = ", ".join(s.version.name or s.version.short_id for s in self.shifts[:5])
        more = f" and {len(self.shifts) - 5} more" if len(self.shifts) > 5 else ""
        return short_repr("SilentShifts", self._head() + (f"; at {names}{more}" if names else ""))

    def _repr_html_(self) -> str:
        shown = self.shifts[:HTML_ROWS]
        rows = [
            (
                s.version.short_id,
                s.version.name or "",
                "+".join(s.moved),
                s.words(),
                ", ".join(f"{m} {d:+.4g}" for m, (d, _) in s.metrics.items()),
            )
            for s in shown
        ]
        table = html_table(rows, ["version", "name", "moved", "behaviour", "metrics (flat)"])
        more = html_more(len(shown), len(self.shifts), "to_pandas()")
        return f"<div><p>{escape(self._head())}</p>{table if rows else ''}{more}</div>"


def _thresholds(threshold: float | Mapping[str, float]) -> dict[str, float]:
    limits = dict(DEFAULT_THRESHOLDS)
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


def _fmt(measure: str, value: float) -> str:
    return f"{100 * value:.3g} %" if measure == "churn" else f"{value:.3g}"


def _calibrate(
    values: dict[str, list[float]], z: float
) -> tuple[dict[str, float], dict[str, str], dict[str, tuple[float, float]]]:
    """Each measure's bound and rule from its values along the history: ``median + z *
    robust scale`` (floored), or the fixed default with fewer than MIN_STEPS values."""
    import numpy as np  # not at `import mlineage`

    limits, rules, centres = {}, {}, {}
    for measure, fixed in DEFAULT_THRESHOLDS.items():
        seen = np.asarray(values.get(measure, []), dtype=np.float64)
        name = _NAMES[measure]
        if seen.size < MIN_STEPS:
            limits[measure] = fixed
            if seen.size:
                rules[measure] = (
                    f"{name} > {_fmt(measure, fixed)} (fixed: {seen.size} steps, fewer than "
                    f"{MIN_STEPS} to learn its noise)"
                )
            continue
        ordinary = seen
        for _ in range(_ROUNDS):
            median = float(np.median(ordinary))
            # blame's scale; a MAD of 0 (most steps left it exactly unchanged): the floor
            scale = 1.4826 * float(np.median(np.abs(ordinary - median)))
            limit = max(median + z * scale, FLOORS[measure])
            # the steps being judged must not widen the noise that judges them
            below = seen[seen <= limit]
            if below.size == ordinary.size or below.size < MIN_STEPS:
                break
            ordinary = below
        limits[measure] = limit
        centres[measure] = (median, scale)
        rules[measure] = (
            f"{name} > {_fmt(measure, limit)} (median {_fmt(measure, median)} + {z:g} x "
            f"noise {_fmt(measure, scale)} of {ordinary.size} ordinary steps, at least "
            f"{_fmt(measure, FLOORS[measure])})"
        )
    return limits, rules, centres


def silent_shifts(
    lineage: BehaviourLineage,
    threshold: float | Mapping[str, float] | None,
    on: Ref | None,
    probe: str | ProbeSet | None,
    noise: float,
    z: float = SHIFT_Z,
) -> SilentShifts:
    """``tracker.analysis.silent_shifts``: see there."""
    from mlineage.analysis._behaviour_lineage import _matches
    from mlineage.blame import robust_scale
    from mlineage.stats._compare import churn_between
    from mlineage.stats._probeset import ProbeSet
    from mlineage.stats.representation import linear_cka

    fixed = None if threshold is None else _thresholds(threshold)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise InvalidInput(f"noise must be a non-negative number, got {noise!r}")
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not z > 0:
        raise InvalidInput(f"z must be a positive number (the default is {SHIFT_Z}), got {z!r}")
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
        cka = None
        if old.embeddings is not None and new.embeddings is not None:
            try:
                cka = linear_cka(old.embeddings, new.embeddings)
            except InvalidInput:
                cka = None
        metrics: dict[str, tuple[float, float | None]] = {}
        outside = []
        for name in sorted(set(prev.metrics) & set(cur.metrics)):
            delta = cur.metrics[name] - prev.metrics[name]
            scale = scales.get(name)
            bound = None if scale is None else noise * scale
            metrics[name] = (delta, bound)
            if abs(delta) > (0.0 if bound is None else bound):
                outside.append(name)
        churn = churn_between(old, new)
        ece = (_ece(old_ref), _ece(new_ref))
        steps.append(ShiftStep(cur, prev, churn, cka, *ece, (), metrics, tuple(outside)))
    values: dict[str, list[float]] = {}
    for step in steps:
        for measure, value in step.measures().items():
            values.setdefault(measure, []).append(value)
    centres: dict[str, tuple[float, float]] = {}
    if fixed is not None:
        limits = fixed
        rules = {m: f"{_NAMES[m]} > {_fmt(m, v)} (fixed)" for m, v in fixed.items() if m in values}
    else:
        limits, rules, centres = _calibrate(values, float(z))
    judged = []
    for step in steps:
        found = step.measures()
        moved = tuple(m for m in DEFAULT_THRESHOLDS if m in found and found[m] > limits[m])
        zs = {
            m: (found[m] - centre) / scale
            for m, (centre, scale) in centres.items()
            if m in found and scale > 0
        }
        judged.append(replace(step, moved=moved, z=zs))
    return SilentShifts(
        chosen, limits, float(noise), tuple(judged), rules, None if fixed is not None else z
    )


def _ece(fref: FingerprintRef) -> float | None:
    value = fref.summary.get("ece")
    return float(value) if isinstance(value, (int, float)) else None


def _metric_noise(history: Sequence[ModelVersion], robust_scale: Any) -> dict[str, float | None]:
    """Metric -> robust scale of its step deltas along ``history`` (as blame computes it)."""
    last: dict[str, float] = {}
    deltas: dict[str, list[float]] = {}
    for version in history:
        for name, value in version.metrics.items():
            if name in last:
                deltas.setdefault(name, []).append(value - last[name])
            last[name] = value
    return {name: robust_scale(values) for name, values in deltas.items()}
