"""The rules a gate policy can state, one frozen dataclass per policy section.

They are what :class:`~mlineage.gate.GatePolicy` holds after reading a policy file; the
key tuples below are the keys each section accepts (part of the API: docs/gate.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ATTACHED_KEYS",
    "BEHAVIOUR_KEYS",
    "DRIFT_KEYS",
    "EVIDENCE_KEYS",
    "METRIC_KEYS",
    "SECTIONS",
    "SLICE_KEYS",
    "AttachedRule",
    "BehaviourRule",
    "Direction",
    "DriftRule",
    "EvidenceRule",
    "MetricRule",
    "SliceRule",
]

#: A metric's good direction.
Direction = Literal["increase", "decrease"]

#: The keys of each section of a policy file.
SECTIONS = ("against", "metrics", "behaviour", "slices", "drift", "evidence")
METRIC_KEYS = ("direction", "max_drop", "max_drop_relative", "max_drop_noise", "optional")
BEHAVIOUR_KEYS = ("probe", "max_negative_flip_rate", "min_backward_trust_compatibility", "optional")
SLICE_KEYS = ("by", "max_drop", "optional")
DRIFT_KEYS = ("max_share", "must_not_drift", "alpha", "optional")
EVIDENCE_KEYS = ("fingerprint", "attached")
ATTACHED_KEYS = ("max", "min", "optional")


@dataclass(frozen=True)
class MetricRule:
    """``[metrics.<name>]``: how far a logged metric may fall from the version it replaces.

    Attributes
    ----------
    metric : str
    direction : {"increase", "decrease"}
        The *good* direction: ``"increase"`` for accuracy, ``"decrease"`` for loss.
    max_drop, max_drop_relative, max_drop_noise : float or None
        Largest worsening allowed: absolute, as a fraction of the replaced version's
        value, or in units of the metric's step noise along the replaced version's history.
    optional : bool
        A version without the metric (or a history too short for its noise) skips the
        rule instead of failing it.
    """

    metric: str
    direction: Direction
    max_drop: float | None = None
    max_drop_relative: float | None = None
    max_drop_noise: float | None = None
    optional: bool = False


@dataclass(frozen=True)
class BehaviourRule:
    """``[behaviour]``: flips on a probe set both versions have fingerprints on.

    Attributes
    ----------
    probe : str or None
        Probe-set name or hash; None: the one both versions share (the candidate's last).
    max_negative_flip_rate : float or None
        Largest share of probe examples the replaced version got right and the candidate
        gets wrong (Yan et al. 2021).
    min_backward_trust_compatibility : float or None
        Smallest share of the replaced version's right answers the candidate keeps
        (Bansal et al. 2019).
    optional : bool
        Missing fingerprints skip the rules instead of failing them.
    """

    probe: str | None = None
    max_negative_flip_rate: float | None = None
    min_backward_trust_compatibility: float | None = None
    optional: bool = False


@dataclass(frozen=True)
class SliceRule:
    """``[slices]``: no group of a probe set may lose more than ``max_drop`` accuracy.

    Attributes
    ----------
    by : str
        The probe set's ``group_by`` (``"region"``).
    max_drop : float
        Largest accuracy drop allowed in any group (absolute).
    optional : bool
    """

    by: str
    max_drop: float
    optional: bool = False


@dataclass(frozen=True)
class DriftRule:
    """``[drift]``: data drift from the replaced version's data to the candidate's.

    Attributes
    ----------
    max_share : float or None
        Largest share of drifted features (``DriftReport.drifted_share``).
    must_not_drift : tuple of str
        Features that must not drift at all.
    alpha : float
        Significance level of the per-feature tests (Bonferroni-corrected).
    optional : bool
        Missing data profiles skip the rules instead of failing them.
    """

    max_share: float | None = None
    must_not_drift: tuple[str, ...] = ()
    alpha: float = 0.05
    optional: bool = False


@dataclass(frozen=True)
class AttachedRule:
    """``[evidence.attached.<kind>]``: an evidence event the candidate must carry.

    Attributes
    ----------
    kind : str
        Its kind (``"evidently"``); the candidate's latest event of that kind is checked.
    at_most, at_least : tuple of (str, float)
        Summary values that must be at most / at least these (keys ``max`` and ``min``).
    optional : bool
        No such event skips the rule instead of failing it.
    """

    kind: str
    at_most: tuple[tuple[str, float], ...] = ()
    at_least: tuple[tuple[str, float], ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class EvidenceRule:
    """``[evidence]``: what the candidate must carry, whatever it is compared with.

    Attributes
    ----------
    fingerprint : bool
        The candidate has a fingerprint (on ``[behaviour] probe`` when that is set).
    attached : tuple of AttachedRule
    """

    fingerprint: bool = False
    attached: tuple[AttachedRule, ...] = ()
