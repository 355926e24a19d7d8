"""Drift statistics as plain numpy functions, with scipy's conventions and without scipy.

Every function takes arrays (or counts) and returns a number or a small frozen result
object. The definitions follow the peer named in each docstring and are tested against it
(scipy is the test oracle only; it is never imported here):

========================  ====================================================  ===========
function                  definition                                            peer
========================  ====================================================  ===========
:func:`ks_2samp`          two-sided two-sample Kolmogorov-Smirnov, exact or     scipy
                          asymptotic p-value (``method="auto"``)
:func:`wasserstein`       Wasserstein-1 between the empirical distributions     scipy
:func:`wasserstein_normed`  W1 divided by the reference's std (floor 0.001)     Evidently
:func:`js_distance`       Jensen-Shannon *distance* (square root), natural log  scipy
:func:`kl_divergence`     KL(p || q), natural log; ``inf`` when q=0 where p>0   scipy
:func:`psi`               population stability index, reference-quantile bins   (see doc)
:func:`chi2_contingency`  chi-squared on the 2 x K table over the union of      scipy
                          categories, Yates' correction only when dof == 1
:func:`bonferroni`,       adjusted p-values                                     statsmodels
:func:`benjamini_hochberg`
========================  ====================================================  ===========

**Missing values.** NaN entries of a sample are dropped before anything is computed (the
``nan_policy="omit"`` of scipy). A sample that is empty after dropping raises
:class:`~mlineage.errors.InvalidInput`; so do non-numeric input and, where a distance
would be meaningless, infinite values (:func:`ks_2samp` is rank-based and accepts them,
as scipy does).
"""

from mlineage.stats._chi2 import (
    Chi2Result,
    benjamini_hochberg,
    bonferroni,
    chi2_contingency,
    chi2_sf,
)
from mlineage.stats._distances import (
    PSI_EPSILON,
    js_distance,
    kl_divergence,
    psi,
    psi_from_counts,
    psi_severity,
    wasserstein,
    wasserstein_normed,
)
from mlineage.stats._ks import KSResult, ks_2samp, ks_pvalue
from mlineage.stats._kstwo import kstwo_sf

__all__ = [
    "PSI_EPSILON",
    "Chi2Result",
    "KSResult",
    "benjamini_hochberg",
    "bonferroni",
    "chi2_contingency",
    "chi2_sf",
    "js_distance",
    "kl_divergence",
    "ks_2samp",
    "ks_pvalue",
    "kstwo_sf",
    "psi",
    "psi_from_counts",
    "psi_severity",
    "wasserstein",
    "wasserstein_normed",
]
