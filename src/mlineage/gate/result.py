"""What a gate found: each rule's measured value, threshold and verdict (scipy-style results).

:class:`GateResult` is what ``tracker.gate`` returns; :class:`Promotion` is what
``tracker.promote`` returns: the result, what was decided, and the evidence event (and
alias move) that record it. ``str()`` reads well in a CI log, ``to_dict()`` is the JSON
stored as the verdict's payload, ``_repr_html_`` shows a table in a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import mlineage.views.html as _html
from mlineage._ids import handle

if TYPE_CHECKING:
    from mlineage.gate.policy import GatePolicy
    from mlineage.records import AliasEvent, EvidenceEvent

__all__ = ["Decision", "GateResult", "Promotion", "RuleResult", "Status"]

#: A rule's verdict: it held, it did not, or it could not be measured and is optional
#: (or there is nothing to compare with).
Status = Literal["pass", "fail", "skip"]
#: What ``promote`` decided: moved after a pass, moved against a refusal (``force``),
#: refused by the gate, or refused because the alias moved meanwhile.
Decision = Literal["pass", "forced", "refused", "conflict"]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@dataclass(frozen=True)
class RuleResult:
    """One rule of a policy, measured.

    Attributes
    ----------
    rule : str
        The policy key it comes from (``"metrics.accuracy.max_drop"``).
    status : {"pass", "fail", "skip"}
    value : float or None
        What was measured (None when it could not be).
    threshold : float or None
    comparison : {"<=", ">="}
        The rule holds when ``value comparison threshold`` (equality passes).
    message : str
        What was compared, or what to log when the evidence is missing.
    evidence : dict
        The numbers behind the value (JSON-ready): metric values and step noise, flip
        rates, the worst slice, the drifted features.
    optional : bool
        The rule is optional in the policy (missing evidence skips it).
    """

    rule: str
    status: Status
    value: float | None
    threshold: float | None
    comparison: Literal["<=", ">="] = "<="
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    optional: bool = False

    @property
    def passed(self) -> bool:
        """True unless the rule failed (a skipped rule does not block)."""
        return self.status != "fail"

    def measured(self) -> str:
        """``"0.012 > 0.01"``: the value against the threshold, as the log shows it."""
        if self.value is None:
            return "-"
        failed = ">" if self.comparison == "<=" else "<"
        sign = self.comparison if self.status == "pass" else failed
        return f"{_number(self.value)} {sign} {_number(self.threshold)}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every attribute."""
        return {
            "rule": self.rule,
            "status": self.status,
            "value": self.value,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "message": self.message,
            "evidence": self.evidence,
            "optional": self.optional,
        }


@dataclass(frozen=True)
class GateResult:
    """The verdict of a gate: may ``candidate`` replace ``against``?

    Attributes
    ----------
    model : str
    candidate : str
        The candidate version's id.
    candidate_name : str or None
    against : str
        What the candidate was compared with, as asked (``"production"``).
    against_version : str or None
        The version ``against`` designated when the gate ran; None when it designated
        none (an alias not set yet: the rules that compare are skipped).
    against_name : str or None
    policy : GatePolicy
    rules : tuple of RuleResult
        In policy order: metrics, behaviour, slices, drift, evidence.
    evaluated_at : datetime
        When the gate ran (UTC).

    Examples
    --------
    ``result.passed``, ``[r.rule for r in result.failed]``, ``print(result)`` in CI.
    """

    model: str
    candidate: str
    candidate_name: str | None
    against: str
    against_version: str | None
    against_name: str | None
    policy: GatePolicy
    rules: tuple[RuleResult, ...]
    evaluated_at: datetime

    @property
    def passed(self) -> bool:
        """True when no rule failed."""
        return all(r.passed for r in self.rules)

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        """The rules that failed."""
        return tuple(r for r in self.rules if r.status == "fail")

    def __getitem__(self, rule: str) -> RuleResult:
        """The result of one rule by its key (``result["behaviour.max_negative_flip_rate"]``)."""
        for result in self.rules:
            if result.rule == rule:
                return result
        raise KeyError(f"no rule {rule!r} in this gate; rules: {[r.rule for r in self.rules]}")

    def _label(self, version: str | None, name: str | None) -> str:
        if version is None:
            return "(no version)"
        return handle(version) + (f" ({name})" if name else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the verdict, both versions, every rule, and the policy (its hash,
        format, source and full text) — the payload a promotion stores."""
        return {
            "passed": self.passed,
            "model": self.model,
            "candidate": {"id": self.candidate, "name": self.candidate_name},
            "against": {
                "ref": self.against,
                "id": self.against_version,
                "name": self.against_name,
            },
            "evaluated_at": self.evaluated_at.isoformat(),
            "failed": [r.rule for r in self.failed],
            "rules": [r.to_dict() for r in self.rules],
            "policy": {
                "hash": self.policy.hash,
                "format": self.policy.format,
                "source": self.policy.source,
                "text": self.policy.text,
            },
        }

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "REFUSED"
        lines = [
            f"gate {verdict}: {self.model} {self._label(self.candidate, self.candidate_name)} "
            f"against {self.against} = {self._label(self.against_version, self.against_name)}",
            f"policy {self.policy.source} {self.policy.hash[:19]}",
        ]
        width = max((len(r.rule) for r in self.rules), default=0)
        for r in self.rules:
            note = " (optional)" if r.optional and r.status == "skip" else ""
            lines.append(
                f"  {r.status.upper():<4}  {r.rule:<{width}}  {r.measured():<16}  {r.message}{note}"
            )
        counts = f"{len(self.failed)} of {len(self.rules)} rules failed"
        skipped = sum(r.status == "skip" for r in self.rules)
        lines.append(counts + (f", {skipped} skipped" if skipped else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        from mlineage.stats._present import short_repr  # numpy: not at `import mlineage.gate`

        failed = ", ".join(r.rule for r in self.failed[:5])
        more = f" and {len(self.failed) - 5} more" if len(self.failed) > 5 else ""
        return short_repr(
            "GateResult",
            f"{'passed' if self.passed else 'refused'}: {self.model} "
            f"{self._label(self.candidate, self.candidate_name)} against {self.against}; "
            f"{len(self.failed)} of {len(self.rules)} rules failed"
            + (f" ({failed}{more})" if failed else ""),
        )

    def _repr_html_(self) -> str:
        rows = [(r.status.upper(), r.rule, r.measured(), r.message) for r in self.rules]
        verdict = "passed" if self.passed else "refused"
        caption = (
            f"gate {verdict}: {self._label(self.candidate, self.candidate_name)} against "
            f"{self.against} = {self._label(self.against_version, self.against_name)} "
            f"(policy {self.policy.hash[:19]})"
        )
        return _html.table(rows, ["verdict", "rule", "measured", "evidence"], caption)


@dataclass(frozen=True)
class Promotion:
    """What ``tracker.promote`` decided, and the records that keep it.

    Attributes
    ----------
    result : GateResult
    alias : str
    decision : {"pass", "forced", "refused", "conflict"}
        ``"pass"`` and ``"forced"`` moved the alias; ``"refused"`` (the gate failed) and
        ``"conflict"`` (the alias moved after the gate compared with it) did not.
    verdict : EvidenceEvent
        The gate's verdict, attached to the candidate (kind ``"gate"``).
    move : AliasEvent or None
        The alias move, citing ``verdict``; None when nothing moved.
    conflict : EvidenceEvent or None
        For ``"conflict"``: the second evidence event, recording that the move was refused.
    message : str
    """

    result: GateResult
    alias: str
    decision: Decision
    verdict: EvidenceEvent
    move: AliasEvent | None
    conflict: EvidenceEvent | None = None
    message: str = ""

    @property
    def promoted(self) -> bool:
        """True when the alias now points at the candidate (this call moved it)."""
        return self.move is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: decision, alias, the event ids, message, and the gate's result."""
        return {
            "promoted": self.promoted,
            "decision": self.decision,
            "alias": self.alias,
            "verdict": self.verdict.id,
            "move": None if self.move is None else self.move.id,
            "conflict": None if self.conflict is None else self.conflict.id,
            "message": self.message,
            "gate": self.result.to_dict(),
        }

    def __str__(self) -> str:
        head = f"promote {self.alias}: {self.decision.upper()} - {self.message}"
        return f"{head}\n{self.result}\nverdict recorded as evidence {self.verdict.id}"

    def __repr__(self) -> str:
        from mlineage.stats._present import short_repr  # numpy: not at `import mlineage.gate`

        return short_repr(
            "Promotion", f"{self.alias}: {self.decision} - {self.message}; {self.result!r}"
        )

    def _repr_html_(self) -> str:
        return (
            _html.table(
                [(self.decision, self.alias, self.message, self.verdict.id)],
                ["decision", "alias", "message", "verdict"],
                "promotion",
            )
            + self.result._repr_html_()
        )
