"""``Tracker.gate`` and ``Tracker.promote``: run a policy's rules, record the verdict,
move the alias by compare-and-set (the rules are measured in :mod:`._measure`)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from mlineage import evidence as _evidence
from mlineage._ids import handle
from mlineage.errors import (
    AliasConflict,
    AliasNotFound,
    InvalidInput,
    LookupFailed,
    ReadOnlyError,
    VersionNotFound,
)
from mlineage.gate._measure import Rules
from mlineage.gate.policy import GatePolicy
from mlineage.gate.result import Decision, GateResult, Promotion, RuleResult
from mlineage.records import ModelVersion, validate_name

if TYPE_CHECKING:
    from mlineage.analysis.lineage import AnalysedTracker
    from mlineage.refs import Ref

__all__ = ["gate", "promote"]

#: The evidence kind of every verdict.
KIND = "gate"
PolicyLike = GatePolicy | str | os.PathLike[str]


def _policy(policy: object) -> GatePolicy:
    if isinstance(policy, GatePolicy):
        return policy
    if isinstance(policy, (str, os.PathLike)):
        return GatePolicy.load(policy)
    raise InvalidInput(
        f"policy must be a GatePolicy or the path of a policy file, got {type(policy).__name__}"
    )


def _against(tracker: AnalysedTracker, ref: Ref, unset_ok: bool) -> ModelVersion | None:
    """The version ``ref`` designates now: an alias's target, or a version; None for an
    alias that points nowhere (removed, or, when ``unset_ok``, never set)."""
    if isinstance(ref, ModelVersion):
        return tracker.get_version(ref)
    current = tracker.aliases()
    if ref in current:
        return current[ref]
    try:
        return tracker.get_version(ref)
    except AliasNotFound:
        return None  # an alias that was set, and removed (or set only from a later time)
    except VersionNotFound:
        if unset_ok:
            return None
        raise VersionNotFound(
            f"nothing is called {ref!r} in model {tracker.model!r}: no version, and no "
            "alias of that name was ever set (check the name; a first promotion compares "
            "with nothing: leave out against= / --against)"
        ) from None


def _evaluate(
    tracker: AnalysedTracker, policy: GatePolicy, candidate: ModelVersion, ref: Ref, unset_ok: bool
) -> GateResult:
    base = _against(tracker, ref, unset_ok)
    rules = Rules(tracker, candidate, base)
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
    tracker: AnalysedTracker, candidate: Ref, against: Ref | None = None, *, policy: PolicyLike
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
    tracker: AnalysedTracker,
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
    _refuse_shadowing(tracker, alias)  # set_alias would refuse it after the verdict is written
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
            f"result= is the gate of {handle(result.candidate)} in model {result.model!r}, not of "
            f"{version.short_id} in {tracker.model!r} (and against= goes with policy=, not result=)"
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


def _refuse_shadowing(tracker: AnalysedTracker, alias: str) -> None:
    try:
        named = tracker.get_version(alias)
    except LookupFailed:
        named = None
    if alias == tracker.model or (named is not None and named.name == alias):
        raise InvalidInput(
            f"alias {alias!r} is the model's or a version's name, so it could never be "
            "referred to as an alias; choose another alias (nothing was written)"
        )


def _record(
    tracker: AnalysedTracker,
    version: ModelVersion,
    alias: str,
    result: GateResult,
    decision: Decision,
    expected: str | None,
    reason: str,
) -> Promotion:
    """Write the verdict, then (unless refused) the alias move that cites it."""
    from mlineage._version import __version__
    from mlineage.aliases import ABSENT

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
        return _evidence.attach_evidence(
            tracker, version, KIND, payload, summary, tool="mlineage", tool_version=__version__
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
    return version.name or version.short_id
