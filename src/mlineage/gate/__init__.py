"""The promotion gate: may a candidate replace the version an alias points at?

:class:`GatePolicy` (``gate.toml``) states the rules; ``tracker.gate(candidate,
policy=...)`` evaluates them on the lineage's evidence into a :class:`GateResult`;
``tracker.promote(candidate, policy=...)`` moves the alias only when they pass, with a
compare-and-set on the version it was compared with, and keeps every verdict as an
evidence event of kind ``"gate"`` (docs/gate.md).
"""

from mlineage.gate.evaluate import gate, promote
from mlineage.gate.policy import GatePolicy
from mlineage.gate.result import GateResult, Promotion, RuleResult
from mlineage.gate.rules import (
    AttachedRule,
    BehaviourRule,
    DriftRule,
    EvidenceRule,
    MetricRule,
    SliceRule,
)

__all__ = [
    "AttachedRule",
    "BehaviourRule",
    "DriftRule",
    "EvidenceRule",
    "GatePolicy",
    "GateResult",
    "MetricRule",
    "Promotion",
    "RuleResult",
    "SliceRule",
    "gate",
    "promote",
]
