"""Measuring a policy's rules on a lineage: one :class:`Rules` per candidate and version.

Every number comes from the lineage's public analyses: metric values from the records,
step noise from ``tracker.blame_report(...).scale`` (``1.4826 * MAD`` of the metric's
step-to-step changes along the replaced version's first-parent history), flip rates and
per-group accuracy from ``tracker.analysis.compare``, data drift from
``tracker.analysis.drift``, attached evidence from ``tracker.evidence``. A value equal
to its threshold passes (within float rounding, 1e-9 relative).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from mlineage import evidence as _evidence
from mlineage._ids import handle
from mlineage.errors import FingerprintNotFound, ProfileNotFound
from mlineage.gate.result import RuleResult, Status
from mlineage.gate.rules import AttachedRule, BehaviourRule, DriftRule, MetricRule, SliceRule

if TYPE_CHECKING:
    from mlineage.analysis import BehaviorDiff
    from mlineage.analysis.lineage import AnalysedTracker
    from mlineage.records import ModelVersion

__all__ = ["Rules", "label"]


def _holds(value: float, limit: float, comparison: Literal["<=", ">="]) -> bool:
    if math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12):
        return True  # "at the threshold" passes, whatever the float rounding did
    return value <= limit if comparison == "<=" else value >= limit


def label(version: ModelVersion) -> str:
    return version.short_id + (f" ({version.name})" if version.name else "")


class Rules:
    """Measures one candidate against one version; each method returns rule results."""

    def __init__(
        self, tracker: AnalysedTracker, candidate: ModelVersion, base: ModelVersion | None
    ):
        self.tracker = tracker
        self.candidate = candidate
        self.base = base
        self._diffs: dict[str | None, BehaviorDiff | str] = {}

    def check(
        self,
        rule: str,
        value: float,
        limit: float,
        comparison: Literal["<=", ">="],
        message: str,
        evidence: dict[str, Any],
        optional: bool = False,
    ) -> RuleResult:
        status: Status = "pass" if _holds(value, limit, comparison) else "fail"
        return RuleResult(rule, status, value, limit, comparison, message, evidence, optional)

    def missing(
        self, rules: list[str], message: str, optional: bool, limits: list[float | None]
    ) -> list[RuleResult]:
        status: Status = "skip" if optional else "fail"
        return [
            RuleResult(rule, status, None, limit, _comparison(rule), message, {}, optional)
            for rule, limit in zip(rules, limits, strict=True)
        ]

    def nothing(self, rules: list[str], limits: list[float | None]) -> list[RuleResult]:
        """The candidate is compared with no version: the comparing rules are skipped."""
        message = "nothing to compare with (the alias points at no version yet)"
        return [
            RuleResult(rule, "skip", None, limit, _comparison(rule), message)
            for rule, limit in zip(rules, limits, strict=True)
        ]

    # -- metrics ----------------------------------------------------------------------------

    def metric(self, rule: MetricRule) -> list[RuleResult]:
        keys = [
            k
            for k in ("max_drop", "max_drop_relative", "max_drop_noise")
            if getattr(rule, k) is not None
        ]
        names = [f"metrics.{rule.metric}.{k}" for k in keys]
        limits: list[float | None] = [getattr(rule, k) for k in keys]
        if self.base is None:
            return self.nothing(names, limits)
        metric, base, candidate = rule.metric, self.base, self.candidate
        before, after = base.metrics.get(metric), candidate.metrics.get(metric)
        if before is None or after is None:
            lacking = label(base if before is None else candidate)
            message = (
                f"version {lacking} has no metric {metric!r}: log it with the version "
                f"(v.metrics[{metric!r}] = ...)"
            )
            return self.missing(names, message, rule.optional, limits)
        drop = before - after if rule.direction == "increase" else after - before
        facts: dict[str, Any] = {
            "metric": metric,
            "direction": rule.direction,
            "before": before,
            "after": after,
            "delta": after - before,
            "drop": drop,
        }
        seen = f"{metric} {before:.4g} -> {after:.4g}"
        out = []
        for key, name, limit in zip(keys, names, limits, strict=True):
            assert limit is not None
            if key == "max_drop":
                out.append(self.check(name, drop, limit, "<=", f"{seen} (drop {drop:.4g})", facts))
            elif key == "max_drop_relative":
                if before == 0 and drop > 0:
                    message = f"{seen}: a relative drop from 0 is undefined; use max_drop"
                    out += self.missing([name], message, False, [limit])
                    continue
                relative = 0.0 if before == 0 else drop / abs(before)
                message = f"{seen} (drop {relative:.2%} of {before:.4g})"
                out.append(self.check(name, relative, limit, "<=", message, facts))
            else:
                out += self.noise_rule(rule, name, limit, drop, facts, seen)
        return out

    def noise_rule(
        self,
        rule: MetricRule,
        name: str,
        limit: float,
        drop: float,
        facts: dict[str, Any],
        seen: str,
    ) -> list[RuleResult]:
        assert self.base is not None
        bad: Literal["decrease", "increase"] = (
            "decrease" if rule.direction == "increase" else "increase"
        )
        noise = self.tracker.blame_report(rule.metric, bad, on=self.base).scale
        if noise is None:
            message = (
                f"no step noise for {rule.metric!r} along the history of "
                f"{label(self.base)}: it takes 3 or more steps with the metric, not mostly "
                "identical; log more versions, or use max_drop / max_drop_relative"
            )
            return self.missing([name], message, rule.optional, [limit])
        units = drop / noise
        message = f"{seen} (drop {units:.2f} x step noise {noise:.4g})"
        return [self.check(name, units, limit, "<=", message, {**facts, "noise": noise})]

    # -- behaviour ----------------------------------------------------------------------------

    def diff(self, probe: str | None) -> BehaviorDiff | str:
        """The behaviour diff on ``probe`` (cached), or why there is none."""
        if probe not in self._diffs:
            assert self.base is not None
            try:
                diff = self.tracker.analysis.compare(self.base, self.candidate, probe=probe)
            except FingerprintNotFound as exc:
                self._diffs[probe] = (
                    f"{exc}; record both versions' behaviour on one labelled probe set "
                    "(v.fingerprint = probe.evaluate(...) when logging, or "
                    "tracker.record_fingerprint(ref, probe, predict=...))"
                )
            else:
                self._diffs[probe] = (
                    diff
                    if diff.negative_flip_rate is not None
                    else f"probe set {diff.probe_hash[:19]} has no labels: flip rates need "
                    "ProbeSet(X, y=labels)"
                )
        return self._diffs[probe]

    def behaviour(self, rule: BehaviourRule) -> list[RuleResult]:
        keys = [
            k
            for k in ("max_negative_flip_rate", "min_backward_trust_compatibility")
            if getattr(rule, k) is not None
        ]
        names = [f"behaviour.{k}" for k in keys]
        limits: list[float | None] = [getattr(rule, k) for k in keys]
        if self.base is None:
            return self.nothing(names, limits)
        diff = self.diff(rule.probe)
        if isinstance(diff, str):
            return self.missing(names, diff, rule.optional, limits)
        facts = {
            "probe": diff.probe_hash,
            "n": diff.n,
            "churn": diff.churn,
            "negative_flip_rate": diff.negative_flip_rate,
            "positive_flip_rate": diff.positive_flip_rate,
            "backward_trust_compatibility": diff.backward_trust_compatibility,
            "accuracy_before": diff.accuracy_old,
            "accuracy_after": diff.accuracy_new,
        }
        out = []
        for key, name, limit in zip(keys, names, limits, strict=True):
            assert limit is not None
            if key == "max_negative_flip_rate":
                value = diff.negative_flip_rate
                message = f"{value:.2%} of {diff.n} probes went from right to wrong"
                comparison: Literal["<=", ">="] = "<="
            else:
                value = diff.backward_trust_compatibility
                message = f"{value:.2%} of the right answers were kept"
                comparison = ">="
            assert value is not None
            out.append(self.check(name, value, limit, comparison, message, facts))
        return out

    def slices(self, rule: SliceRule) -> list[RuleResult]:
        name = "slices.max_drop"
        if self.base is None:
            return self.nothing([name], [rule.max_drop])
        analysis = self.tracker.analysis

        def grouped(version: ModelVersion) -> list[str]:
            return [
                f.probe
                for f in analysis.fingerprints(version)
                if f.summary.get("group_by") == rule.by
            ]

        theirs = set(grouped(self.base))
        shared = [probe for probe in grouped(self.candidate) if probe in theirs]
        if not shared:
            message = (
                f"no probe set grouped by {rule.by!r} has fingerprints of both "
                f"{label(self.base)} and {label(self.candidate)}: record them on "
                f"ProbeSet(X, y, groups=..., group_by={rule.by!r})"
            )
            return self.missing([name], message, rule.optional, [rule.max_drop])
        diff = self.diff(shared[-1])
        if isinstance(diff, str):
            return self.missing([name], diff, rule.optional, [rule.max_drop])
        groups = {
            str(g.group): {
                "n": g.n,
                "accuracy_before": g.accuracy_old,
                "accuracy_after": g.accuracy_new,
                "drop": None if g.accuracy_delta is None else -g.accuracy_delta,
            }
            for g in diff.groups
        }
        measured = {k: v["drop"] for k, v in groups.items() if v["drop"] is not None}
        worst = max(measured, key=lambda k: measured[k])
        facts = {"by": rule.by, "probe": diff.probe_hash, "worst": worst, "groups": groups}
        before, after = groups[worst]["accuracy_before"], groups[worst]["accuracy_after"]
        message = (
            f"worst {rule.by} {worst!r} (n={groups[worst]['n']}): accuracy "
            f"{before:.4g} -> {after:.4g}"
        )
        return [self.check(name, measured[worst], rule.max_drop, "<=", message, facts)]

    # -- data drift ---------------------------------------------------------------------------

    def drift(self, rule: DriftRule) -> list[RuleResult]:
        names = (["drift.max_share"] if rule.max_share is not None else []) + (
            ["drift.must_not_drift"] if rule.must_not_drift else []
        )
        limits: list[float | None] = [rule.max_share if n.endswith("share") else 0.0 for n in names]
        if self.base is None:
            return self.nothing(names, limits)
        try:
            report = self.tracker.analysis.drift(self.base, self.candidate, alpha=rule.alpha)
        except ProfileNotFound as exc:
            return self.missing(names, str(exc), rule.optional, limits)
        drifted = [f.name for f in report.drifted]
        tested = [f.name for f in report.features if f.test != "none"]
        facts = {
            "drifted": drifted,
            "tested": len(tested),
            "drifted_share": report.drifted_share,
            "alpha": rule.alpha,
        }
        out = []
        if rule.max_share is not None:
            from mlineage.stats._present import feature_rule  # numpy is loaded by now

            rule_words = feature_rule(report.alpha, report.correction)
            message = f"{len(drifted)} of {len(tested)} features drifted ({rule_words})" + (
                f": {', '.join(drifted[:5])}" if drifted else ""
            )
            out.append(
                self.check(
                    "drift.max_share", report.drifted_share, rule.max_share, "<=", message, facts
                )
            )
        if rule.must_not_drift:
            known = {f.name for f in report.features}
            unknown = [n for n in rule.must_not_drift if n not in known]
            if unknown:
                message = (
                    f"feature(s) {', '.join(map(repr, unknown))} are not in the data profiles "
                    f"(features: {', '.join(sorted(known))}); check the names"
                )
                out += self.missing(["drift.must_not_drift"], message, False, [0.0])
            else:
                hit = [n for n in rule.must_not_drift if n in drifted]
                message = f"drifted: {', '.join(hit)}" if hit else "none of them drifted"
                evidence = {**facts, "must_not_drift": list(rule.must_not_drift), "hit": hit}
                out.append(
                    self.check(
                        "drift.must_not_drift", float(len(hit)), 0.0, "<=", message, evidence
                    )
                )
        return out

    # -- required evidence --------------------------------------------------------------------

    def fingerprint(self, probe: str | None) -> RuleResult:
        prints = self.tracker.analysis.fingerprints(self.candidate)
        if probe is not None:
            prints = [
                f for f in prints if probe in (f.probe_name, f.probe) or f.probe.startswith(probe)
            ]
        where = "" if probe is None else f" on probe set {probe!r}"
        if prints:
            message = f"{len(prints)} fingerprint(s){where}"
        else:
            message = (
                f"{label(self.candidate)} has no fingerprint{where}: log one "
                "(v.fingerprint = probe.evaluate(...), or tracker.record_fingerprint(...))"
            )
        facts = {"probes": [f.probe for f in prints]}
        return self.check("evidence.fingerprint", float(len(prints)), 1.0, ">=", message, facts)

    def attached(self, rule: AttachedRule) -> list[RuleResult]:
        base = f"evidence.attached.{rule.kind}"
        bounds: list[tuple[str, str, float, Literal["<=", ">="]]] = [
            (f"{base}.max.{k}", k, v, "<=") for k, v in rule.at_most
        ]
        bounds += [(f"{base}.min.{k}", k, v, ">=") for k, v in rule.at_least]
        names, limits = [b[0] for b in bounds], [b[2] for b in bounds]
        events = [
            e
            for e in _evidence.evidence(self.tracker, kind=rule.kind, on=self.candidate)
            if e.version == self.candidate.id
        ]
        if not events:
            message = (
                f"{label(self.candidate)} has no {rule.kind!r} evidence: attach it "
                f"(tracker.attach_evidence(candidate, {rule.kind!r}, payload, summary={{...}}))"
            )
            return self.missing(names, message, rule.optional, list(limits))
        event = events[0]  # the newest
        out = []
        for name, key, limit, comparison in bounds:
            value = event.summary.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                message = f"evidence {event.id} has no number {key!r} in its summary"
                out += self.missing([name], message, False, [limit])
                continue
            facts = {"event": event.id, "tool": event.tool, "summary": dict(event.summary)}
            message = f"{key} = {value:.4g} in evidence {handle(event.id)}"
            out.append(self.check(name, float(value), limit, comparison, message, facts))
        return out


def _comparison(rule: str) -> Literal["<=", ">="]:
    minimum = ("min_backward_trust_compatibility", ".min.", "evidence.fingerprint")
    return ">=" if any(m in rule for m in minimum) else "<="
