"""Statistics for the lineage: data drift, behaviour, representations, calibration.

Plain functions of arrays (numpy; scipy and the peers' libraries serve only as test
oracles) returning small result objects, in the conventions of scipy, Evidently, NannyML
and the papers (docs/analysis.md, docs/behaviour.md):

- data profiles and drift: :class:`DataProfile`, :func:`drift_between`, :func:`ks_2samp`,
  :func:`wasserstein`, :func:`js_distance`, :func:`kl_divergence`, :func:`psi`,
  :func:`chi2_contingency`, :func:`bonferroni`, :func:`benjamini_hochberg`;
- change points in a metric series: :func:`change_points`;
- on a lineage (``tracker.analysis``): :class:`DriftAlong`, :class:`DriftStep`,
  :class:`DriftCorrelation`, :func:`drift_score`; ``tracker.bisect``:
  :class:`BisectResult`, :class:`Untestable`;
- behaviour on a probe set: :class:`ProbeSet`, :class:`Fingerprint`,
  :func:`compare_fingerprints`, :func:`churn`, :func:`negative_flip_rate`,
  :func:`positive_flip_rate`, :func:`backward_trust_compatibility`;
- representations: :func:`linear_cka`, :func:`rbf_cka`, :func:`minibatch_cka`,
  :func:`procrustes_distance`;
- calibration: :func:`expected_calibration_error`;
- results of the behaviour queries on a lineage: :class:`SliceBlame`
  (``tracker.blame(metric, slice_by=...)``), :class:`SilentShifts`, :class:`ShiftStep`.

On a tracker, ``tracker.analysis`` (:class:`~mlineage.analysis.lineage.Analysis`) applies
them along the lineage. ``import mlineage`` does not import this package, and this package
imports each name's module when the name is first used (``tracker.analysis.change_points``
loads the change points alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mlineage.stats as _stats
from mlineage._optional import lazy_names

if TYPE_CHECKING:
    from mlineage.analysis._behaviour_history import ShiftStep, SilentShifts, SliceBlame
    from mlineage.analysis._bisect import BisectResult
    from mlineage.analysis._drift_lineage import (
        DriftAlong,
        DriftCorrelation,
        DriftStep,
        drift_score,
    )
    from mlineage.errors import Untestable
    from mlineage.stats import *  # noqa: F403  (every statistic, under the same names)

#: Every statistic comes from mlineage.stats; the other names from their modules.
_STATS = dict.fromkeys(_stats.__all__, "mlineage.stats")
_HOME = {
    "BisectResult": "mlineage.analysis._bisect",
    "DriftAlong": "mlineage.analysis._drift_lineage",
    "DriftCorrelation": "mlineage.analysis._drift_lineage",
    "DriftStep": "mlineage.analysis._drift_lineage",
    "ShiftStep": "mlineage.analysis._behaviour_history",
    "SilentShifts": "mlineage.analysis._behaviour_history",
    "SliceBlame": "mlineage.analysis._behaviour_history",
    "Untestable": "mlineage.errors",
    "drift_score": "mlineage.analysis._drift_lineage",
}

__all__ = [
    "BisectResult",
    "DriftAlong",
    "DriftCorrelation",
    "DriftStep",
    "ShiftStep",
    "SilentShifts",
    "SliceBlame",
    "Untestable",
    "drift_score",
    *_stats.__all__,
]


__getattr__, __dir__ = lazy_names(__name__, {**_STATS, **_HOME})
