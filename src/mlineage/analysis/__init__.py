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
them along the lineage. ``import mlineage`` does not import this package.
"""

from mlineage.analysis._behaviour_history import ShiftStep, SilentShifts, SliceBlame
from mlineage.analysis._bisect import BisectResult
from mlineage.analysis._drift_lineage import DriftAlong, DriftCorrelation, DriftStep, drift_score
from mlineage.errors import Untestable
from mlineage.stats.behaviour import (
    GroupChange,
    GroupMetrics,
    backward_trust_compatibility,
    churn,
    group_flip_rates,
    group_metrics,
    negative_flip_rate,
    positive_flip_rate,
)
from mlineage.stats.calibration import (
    CalibrationBin,
    CalibrationResult,
    calibration_from_confidence,
    expected_calibration_error,
)
from mlineage.stats.changepoints import change_points, default_penalty, robust_z
from mlineage.stats.drift import (
    PSI_EPSILON,
    Chi2Result,
    KSResult,
    benjamini_hochberg,
    bonferroni,
    chi2_contingency,
    js_distance,
    kl_divergence,
    ks_2samp,
    psi,
    psi_from_counts,
    psi_severity,
    wasserstein,
    wasserstein_normed,
)
from mlineage.stats.probes import (
    BehaviorDiff,
    Fingerprint,
    Flip,
    ProbeSet,
    churn_between,
    compare_fingerprints,
)
from mlineage.stats.profile import (
    ColumnProfile,
    DataProfile,
    DriftReport,
    FeatureDrift,
    drift_between,
    frequent_items_epsilon,
    sketch_rank_error,
)
from mlineage.stats.representation import (
    linear_cka,
    mean_embedding_cosine,
    minibatch_cka,
    procrustes_distance,
    rbf_cka,
)

__all__ = [
    "PSI_EPSILON",
    "BehaviorDiff",
    "BisectResult",
    "CalibrationBin",
    "CalibrationResult",
    "Chi2Result",
    "ColumnProfile",
    "DataProfile",
    "DriftAlong",
    "DriftCorrelation",
    "DriftReport",
    "DriftStep",
    "FeatureDrift",
    "Fingerprint",
    "Flip",
    "GroupChange",
    "GroupMetrics",
    "KSResult",
    "ProbeSet",
    "Untestable",
    "ShiftStep",
    "SilentShifts",
    "SliceBlame",
    "backward_trust_compatibility",
    "benjamini_hochberg",
    "bonferroni",
    "calibration_from_confidence",
    "change_points",
    "chi2_contingency",
    "churn",
    "churn_between",
    "compare_fingerprints",
    "default_penalty",
    "drift_between",
    "drift_score",
    "expected_calibration_error",
    "frequent_items_epsilon",
    "group_flip_rates",
    "group_metrics",
    "js_distance",
    "kl_divergence",
    "ks_2samp",
    "linear_cka",
    "mean_embedding_cosine",
    "minibatch_cka",
    "negative_flip_rate",
    "positive_flip_rate",
    "procrustes_distance",
    "psi",
    "psi_from_counts",
    "psi_severity",
    "rbf_cka",
    "robust_z",
    "sketch_rank_error",
    "wasserstein",
    "wasserstein_normed",
]
