"""Statistics: plain functions of arrays and profiles, knowing nothing of trackers or stores.

One public module per family (scipy.stats and networkx's algorithms are the models); each
function takes arrays (or profiles, fingerprints) and returns a number or a small result
object, in the conventions of scipy, Evidently, NannyML and the papers (docs/analysis.md,
docs/behaviour.md):

- :mod:`mlineage.stats.drift`: two-sample tests, distances and p-value corrections
  (:func:`ks_2samp`, :func:`chi2_contingency`, :func:`wasserstein`, :func:`psi`, ...);
- :mod:`mlineage.stats.profile`: data profiles and the drift between two of them
  (:class:`DataProfile`, :func:`drift_between`);
- :mod:`mlineage.stats.changepoints`: change points in a metric series;
- :mod:`mlineage.stats.probes`: probe sets, fingerprints and their comparison;
- :mod:`mlineage.stats.behaviour`: churn, flip rates, per-group metrics;
- :mod:`mlineage.stats.representation`: CKA and Procrustes;
- :mod:`mlineage.stats.calibration`: expected calibration error.

The lineage queries that apply them along a history live in :mod:`mlineage.analysis`
(``tracker.analysis``), which re-exports every name here. This package imports only
:mod:`mlineage.errors`, :mod:`mlineage.content` and :mod:`mlineage.hashing` of mlineage.

Each public module is imported when one of its names is first used (``from mlineage.stats
import change_points`` loads the change points, not the drift tests or the probes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlineage._optional import lazy_names

if TYPE_CHECKING:
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

#: The public module of each name.
_HOME = {
    name: f"mlineage.stats.{module}"
    for module, names in (
        (
            "behaviour",
            "GroupChange GroupMetrics backward_trust_compatibility churn group_flip_rates "
            "group_metrics negative_flip_rate positive_flip_rate",
        ),
        (
            "calibration",
            "CalibrationBin CalibrationResult calibration_from_confidence "
            "expected_calibration_error",
        ),
        ("changepoints", "change_points default_penalty robust_z"),
        (
            "drift",
            "PSI_EPSILON Chi2Result KSResult benjamini_hochberg bonferroni chi2_contingency "
            "js_distance kl_divergence ks_2samp psi psi_from_counts psi_severity wasserstein "
            "wasserstein_normed",
        ),
        ("probes", "BehaviorDiff Fingerprint Flip ProbeSet churn_between compare_fingerprints"),
        (
            "profile",
            "ColumnProfile DataProfile DriftReport FeatureDrift drift_between "
            "frequent_items_epsilon sketch_rank_error",
        ),
        (
            "representation",
            "linear_cka mean_embedding_cosine minibatch_cka procrustes_distance rbf_cka",
        ),
    )
    for name in names.split()
}

__all__ = [
    "PSI_EPSILON",
    "BehaviorDiff",
    "CalibrationBin",
    "CalibrationResult",
    "Chi2Result",
    "ColumnProfile",
    "DataProfile",
    "DriftReport",
    "FeatureDrift",
    "Fingerprint",
    "Flip",
    "GroupChange",
    "GroupMetrics",
    "KSResult",
    "ProbeSet",
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


__getattr__, __dir__ = lazy_names(__name__, _HOME)
