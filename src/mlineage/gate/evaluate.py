"""The gate's rules, measured on a lineage; ``Tracker.gate`` and ``Tracker.promote``.

Every number comes from the lineage's public analyses: metric values from the records,
step noise from ``tracker.blame_report(...).scale`` (``1.4826 * MAD`` of the metric's
step-to-step changes along the replaced version's first-parent history), flip rates and
per-group accuracy from ``tracker.analysis.compare``, data drift from
``tracker.analysis.drift``, attached evidence from ``tracker.evidence``. A value equal
to its threshold passes (within float rounding, 1e-9 relative).
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from mlineage.errors import (
    AliasConflict,
    AliasNotFound,
    FingerprintNotFound,
    InvalidInput,
    ProfileNotFound,
    ReadOnlyError,
    VersionNotFound,
)
from mlineage.gate.policy import (
    AttachedRule,
    BehaviourRule,
    DriftRule,
    GatePolicy,
    MetricRule,
    SliceRule,
)
from mlineage.gate.result import Decision, GateResult, Promotion, RuleResult, Status
from mlineage.records import ModelVersion, validate_name

if TYPE_CHECKING:
    from mlineage.analysis import BehaviorDiff
    from mlineage.refs import Ref
    from mlineage.tracker import Tracker

__all__ = ["gate", "promote"]

#: The evidence kind of every verdict.
KIND = "gate"
PolicyLike = GatePolicy | str | os.PathLike[str]


def _holds(value: float, limit: float, comparison: Literal["<=", ">="]) -> bool:
    if math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12):
        return True  # "at the threshold" passes, whatever the float rounding did
    return value <= limit if comparison == "<=" else value >= limit


def _label(version: ModelVersion) -> str:
    return version.id[:12] + (f" ({version.name})" if version.name else "")


class _Rules:
    """Measures one candidate against one version; each method returns rule results."""

    def __init__(self, tracker: Tracker, candidate: ModelVersion, base: ModelVersion | None):
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
            lacking = _label(base if before is None else candidate)
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
                f"{_label(self.base)}: it takes 3 or more steps with the metric, not mostly "
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
                    "tracker.analysis.fingerprint(ref, probe, predict=...))"
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
                f"{_label(self.base)} and {_label(self.candidate)}: record them on "
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
            message = f"{len(drifted)} of {len(tested)} features drifted" + (
                f" ({', '.join(drifted[:5])})" if drifted else ""
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
                f"{_label(self.candidate)} has no fingerprint{where}: log one "
                "(v.fingerprint = probe.evaluate(...), or tracker.analysis.fingerprint(...))"
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
            for e in self.tracker.evidence(kind=rule.kind, on=self.candidate)
            if e.version == self.candidate.id
        ]
        if not events:
            message = (
                f"{_label(self.candidate)} has no {rule.kind!r} evidence: attach it "
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
            message = f"{key} = {value:.4g} in evidence {event.id[:12]}"
            out.append(self.check(name, float(value), limit, comparison, message, facts))
        return out


def _comparison(rule: str) -> Literal["<=", ">="]:
    minimum = ("min_backward_trust_compatibility", ".min.", "evidence.fingerprint")
    return ">=" if any(m in rule for m in minimum) else "<="


def _policy(policy: object) -> GatePolicy:
    if isinstance(policy, GatePolicy):
        return policy
    if isinstance(policy, (str, os.PathLike)):
        return GatePolicy.load(policy)
    raise InvalidInput(
        f"policy must be a GatePolicy or the path of a policy file, got {type(policy).__name__}"
    )


def _against(tracker: Tracker, ref: Ref, unset_ok: bool) -> ModelVersion | None:
    """The version ``ref`` designates now: an alias's target, or a version; None for an
    alias that points nowhere (removed, or, when ``unset_ok``, never set)."""
    if isinstance(ref, ModelVersion):
        return tracker.get_version(ref)
    current = tracker.aliases()
    if ref in current:
        return current[ref]
    try:
        return tracker.get_version(ref)
    except VersionNotFound:
        try:
            tracker.alias_history(ref)
        except AliasNotFound:
            if unset_ok:
                return None
            raise VersionNotFound(
                f"nothing is called {ref!r} in model {tracker.model!r}: no version, and no "
                "alias of that name was ever set (check the name; a first promotion is "
                "tracker.promote(candidate, alias=...), which compares with nothing)"
            ) from None
        return None  # an alias that was removed


def _evaluate(
    tracker: Tracker, policy: GatePolicy, candidate: ModelVersion, ref: Ref, unset_ok: bool
) -> GateResult:
    base = _against(tracker, ref, unset_ok)
    rules = _Rules(tracker, candidate, base)
    results: list[RuleResult] = []
    for metric in policy.metrics:
        results += rules.metric(metric)
    if policy.behaviour is not None:
        results += rules.behaviour(policy.behaviour)
    if policy.slices is not None:
        results += rules.slices(policy.slices)
    if policy.drift is not None:
        results += rules.drift(policy.drift)
    if policy.evidence is not None:
        if policy.evidence.fingerprint:
            probe = None if policy.behaviour is None else policy.behaviour.probe
            results.append(rules.fingerprint(probe))
        for attached in policy.evidence.attached:
            results += rules.attached(attached)
    return GateResult(
        model=tracker.model,
        candidate=candidate.id,
        candidate_name=candidate.name,
        against=ref.id if isinstance(ref, ModelVersion) else ref,
        against_version=None if base is None else base.id,
        against_name=None if base is None else base.name,
        policy=policy,
        rules=tuple(results),
        evaluated_at=datetime.now(timezone.utc),
    )


def gate(
    tracker: Tracker, candidate: Ref, against: Ref | None = None, *, policy: PolicyLike
) -> GateResult:
    """Evaluate ``policy`` on ``candidate`` against the version it would replace
    (``tracker.gate``); writes nothing.

    Parameters
    ----------
    candidate : str or ModelVersion
        The version that would be promoted (id, prefix, name, alias).
    against : str or ModelVersion, optional
        What it is compared with: default the policy's ``against``, else
        ``"production"``. An alias is compared through the version it points at now.
    policy : GatePolicy, str or path
        The rules, or the path of a ``.toml``/``.yaml``/``.json`` policy file.

    Returns
    -------
    GateResult
        ``passed``, each rule's value, threshold and verdict, and the evidence.

    Raises
    ------
    InvalidPolicy, PathNotFound, MissingDependency
        A bad policy (naming the key and its line), no such file, YAML without PyYAML.
    VersionNotFound
        No such candidate, or ``against`` names no version and no alias ever set.

    Examples
    --------
    >>> import mlineage as ml
    >>> t = ml.Tracker("doc-gate", storage="memory://gate-doc", capture_environment=False)
    >>> for accuracy in (0.90, 0.91, 0.85):
    ...     v = t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"),
    ...               metrics={"accuracy": accuracy})
    ...     if accuracy == 0.91:
    ...         _ = t.set_alias("production", v)
    >>> rule = {"metrics": {"accuracy": {"direction": "increase", "max_drop": 0.02}}}
    >>> policy = ml.GatePolicy.from_dict(rule)
    >>> result = t.gate(v, policy=policy)
    >>> result.passed, result["metrics.accuracy.max_drop"].measured()
    (False, '0.06 > 0.02')
    """
    rules = _policy(policy)
    tracker.refresh()  # compare with where the alias is now, not where this tracker saw it
    version = tracker.get_version(candidate)
    ref = against if against is not None else (rules.against or "production")
    return _evaluate(tracker, rules, version, ref, unset_ok=False)


def promote(
    tracker: Tracker,
    candidate: Ref,
    alias: str = "production",
    *,
    policy: PolicyLike | None = None,
    result: GateResult | None = None,
    against: Ref | None = None,
    force: bool = False,
    reason: str | None = None,
) -> Promotion:
    """Move ``alias`` to ``candidate`` only if the gate passes (``tracker.promote``).

    Runs :func:`gate` (or takes its ``result``), records the verdict as an evidence event
    of kind ``"gate"`` on the candidate (payload: the result's ``to_dict()``, with the
    policy's hash and text), and, when the gate passed or ``force`` is set, moves the
    alias citing that event, as a compare-and-set: the alias must still be where the gate
    found it (``expect=`` the version compared with, or ``ml.ABSENT``). A refusal moves
    nothing and is recorded the same way; so is a move refused because the alias moved
    meanwhile (``decision == "conflict"``: a second evidence event names the move that won).

    Parameters
    ----------
    candidate : str or ModelVersion
    alias : str
        The alias to move (default ``"production"``).
    policy : GatePolicy, str or path, optional
        The rules; or give ``result``, a :class:`GateResult` of ``tracker.gate`` for this
        candidate (then the alias must still be where that gate found it).
    against : str or ModelVersion, optional
        With ``policy``: what to compare with; default the policy's ``against``, else
        ``alias``. When ``alias`` was never set, the candidate is compared with nothing:
        the comparing rules are skipped and the evidence rules still apply.
    force : bool
        Move even though the gate refused; needs ``reason``; recorded as a forced move.
    reason : str, optional
        Why (recorded with the verdict and the move).

    Returns
    -------
    Promotion
        ``promoted``, ``decision`` (``"pass"``, ``"forced"``, ``"refused"``,
        ``"conflict"``), the verdict event, the alias move, the gate's result.

    Raises
    ------
    InvalidInput
        ``force`` without a reason, neither or both of ``policy`` and ``result``, a
        ``result`` of another candidate or model (nothing written).
    ReadOnlyError
        On a read-only tracker (before the gate runs).
    InvalidPolicy, PathNotFound, VersionNotFound, InvalidName
    """
    if tracker.read_only:
        raise ReadOnlyError(f"{tracker!r} is read-only: promote needs a writable tracker")
    validate_name(alias, "alias")
    reason = "" if reason is None else reason
    if not isinstance(force, bool) or not isinstance(reason, str):
        raise InvalidInput(f"force must be a bool and reason a str, got {force!r}, {reason!r}")
    if force and not reason.strip():
        raise InvalidInput("force=True needs a reason (reason='...'); nothing was written")
    if (policy is None) == (result is None):
        raise InvalidInput(
            "promote() takes policy= (to run the gate) or result= (a GateResult of "
            "tracker.gate for this candidate), exactly one of them"
        )
    tracker.refresh()
    version = tracker.get_version(candidate)
    if result is None:
        rules = _policy(policy)
        ref = against if against is not None else (rules.against or alias)
        result = _evaluate(tracker, rules, version, ref, unset_ok=ref == alias)
    elif against is not None or result.model != tracker.model or result.candidate != version.id:
        raise InvalidInput(
            f"result= is the gate of {result.candidate[:12]} in model {result.model!r}, not of "
            f"{version.id[:12]} in {tracker.model!r} (and against= goes with policy=, not result=)"
        )
    # The alias must still be where the gate found it (or, gated against something else,
    # where it is now): a promotion made on stale evidence is refused, not applied.
    if result.against == alias:
        expected = result.against_version
    else:
        now = tracker.aliases().get(alias)
        expected = None if now is None else now.id
    decision: Decision = "pass" if result.passed else ("forced" if force else "refused")
    return _record(tracker, version, alias, result, decision, expected, reason)


def _record(
    tracker: Tracker,
    version: ModelVersion,
    alias: str,
    result: GateResult,
    decision: Decision,
    expected: str | None,
    reason: str,
) -> Promotion:
    """Write the verdict, then (unless refused) the alias move that cites it."""
    from mlineage import ABSENT, __version__

    def attach(decision: Decision, payload: dict[str, Any], extra: dict[str, Any]) -> Any:
        summary = {
            "decision": decision,
            "passed": result.passed,
            "alias": alias,
            "against": result.against_version,
            "policy": result.policy.hash,
            "failed": [r.rule for r in result.failed],
            **extra,
        }
        if reason:
            summary["reason"] = reason
        return tracker.attach_evidence(
            version, KIND, payload, summary, tool="mlineage", tool_version=__version__
        )

    head = {"alias": alias, "expect": expected, "reason": reason}
    verdict = attach(decision, {"decision": decision, **head, "gate": result.to_dict()}, {})
    failed = ", ".join(r.rule for r in result.failed)
    if decision == "refused":
        message = f"the gate refused {_short(version)}: {failed} failed; {alias} was not moved"
        return Promotion(result, alias, decision, verdict, None, message=message)
    expect: Any = ABSENT if expected is None else expected
    try:
        move = tracker.set_alias(
            alias,
            version,
            expect=expect,
            evidence=verdict,
            forced=decision == "forced",
            reason=reason,
        )
    except AliasConflict as exc:
        found = None if exc.found is None else exc.found.id
        message = f"{alias} moved after the gate compared with it; nothing was moved: {exc}"
        payload = {"decision": "conflict", **head, "verdict": verdict.id, "found": found}
        conflict = attach("conflict", {**payload, "message": str(exc)}, {"verdict": verdict.id})
        return Promotion(result, alias, "conflict", verdict, None, conflict, message)
    if decision == "forced":
        message = f"{alias} -> {_short(version)}, forced past {failed}: {reason}"
    else:
        message = f"{alias} -> {_short(version)}: every rule passed"
    return Promotion(result, alias, decision, verdict, move, message=message)


def _short(version: ModelVersion) -> str:
    return version.name or version.id[:12]
