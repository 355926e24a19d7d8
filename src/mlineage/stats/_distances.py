"""Distances between distributions: Wasserstein-1, Jensen-Shannon, KL and PSI."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlineage.errors import InvalidInput
from mlineage.stats._inputs import FloatArray, as_counts, as_sample, check_aligned

#: Share that replaces an empty bin in :func:`psi` (Evidently's value).
PSI_EPSILON = 1e-4
#: Floor of the reference standard deviation in :func:`wasserstein_normed` (Evidently's).
STD_FLOOR = 0.001


# --------------------------------------------------------------------------------------
# Wasserstein


def wasserstein(a: Any, b: Any) -> float:
    """Wasserstein-1 distance between two empirical distributions (scipy's definition).

    ``W1 = integral |F_a(x) - F_b(x)| dx`` between the two right-continuous empirical
    CDFs, computed over the sorted pooled values as ``scipy.stats.wasserstein_distance``
    does (unweighted samples).

    Parameters
    ----------
    a, b : array_like
        1-D numeric samples; NaNs are dropped.

    Returns
    -------
    float
        The distance, in the unit of the data (>= 0).

    Raises
    ------
    InvalidInput
        A sample is empty after dropping NaNs, holds +/-inf, or is not numeric.

    Examples
    --------
    >>> wasserstein([0, 1, 3], [5, 6, 8])
    5.0
    """
    x = np.sort(as_sample(a, "a"))
    y = np.sort(as_sample(b, "b"))
    pooled = np.sort(np.concatenate([x, y]))
    deltas = np.diff(pooled)
    cdf_x = np.searchsorted(x, pooled[:-1], side="right") / x.size
    cdf_y = np.searchsorted(y, pooled[:-1], side="right") / y.size
    return float(np.sum(np.multiply(np.abs(cdf_x - cdf_y), deltas)))


def wasserstein_normed(reference: Any, current: Any) -> float:
    """Wasserstein-1 divided by the reference's standard deviation (Evidently's convention).

    ``W1(reference, current) / max(std(reference), 0.001)`` with the population standard
    deviation (``ddof=0``, numpy's default, as Evidently uses). Evidently flags drift when
    this exceeds 0.1. The floor keeps a constant reference finite: the result is then
    ``W1 / 0.001``.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples; NaNs are dropped.

    Returns
    -------
    float
        Distance in units of the reference's standard deviation.

    Raises
    ------
    InvalidInput
        As :func:`wasserstein`.

    Examples
    --------
    >>> wasserstein_normed([0.0, 2.0], [1.0, 3.0])
    1.0
    """
    ref = as_sample(reference, "reference")
    return wasserstein(ref, current) / max(float(np.std(ref)), STD_FLOOR)


# --------------------------------------------------------------------------------------
# Divergences between discrete distributions


def _rel_entr(p: FloatArray, q: FloatArray) -> FloatArray:
    """Elementwise ``p log(p/q)`` with scipy's conventions (0 at p=0, inf at q=0<p)."""
    out = np.zeros_like(p)
    pos = (p > 0) & (q > 0)
    out[pos] = p[pos] * np.log(p[pos] / q[pos])
    out[(p > 0) & (q <= 0)] = np.inf
    return out


def _pair(p: Any, q: Any) -> tuple[FloatArray, FloatArray]:
    pa = as_counts(p, "p")
    qa = as_counts(q, "q")
    check_aligned(pa, qa, "p and q", "category")
    return pa / pa.sum(), qa / qa.sum()


def js_distance(p: Any, q: Any, base: float | None = None) -> float:
    """Jensen-Shannon distance, ``scipy.spatial.distance.jensenshannon``.

    The square root of ``(KL(p||m) + KL(q||m)) / 2`` with ``m = (p + q) / 2``, after
    normalising ``p`` and ``q`` to sum to 1. With the natural log (``base=None``) the
    maximum is ``sqrt(ln 2)`` ~ 0.833; with ``base=2`` it is 1.

    Parameters
    ----------
    p, q : array_like
        Counts or probabilities over the same categories (non-negative, finite).
    base : float, optional
        Logarithm base; natural log when None.

    Returns
    -------
    float
        The distance, in ``[0, sqrt(log_base 2)]``.

    Raises
    ------
    InvalidInput
        Negative, non-finite or all-zero entries, or lengths that differ; ``base <= 0``
        or ``base == 1``.

    Examples
    --------
    >>> js_distance([1, 0, 0], [0, 1, 0], base=2)
    1.0
    >>> js_distance([1, 0], [0.5, 0.5])
    0.46450140402245893
    """
    pn, qn = _pair(p, q)
    m = (pn + qn) / 2.0
    js = float((np.sum(_rel_entr(pn, m)) + np.sum(_rel_entr(qn, m))) / 2.0)
    if base is not None:
        if not (base > 0 and base != 1):
            raise InvalidInput(f"base must be positive and not 1, got {base!r}")
        js /= math.log(base)
    return math.sqrt(max(js, 0.0))


def kl_divergence(p: Any, q: Any, *, base: float | None = None, eps: float = 0.0) -> float:
    """Kullback-Leibler divergence ``KL(p || q)``, as ``scipy.stats.entropy(p, q)``.

    ``sum p_i log(p_i / q_i)`` after normalising both to sum to 1, natural log unless
    ``base`` is given. A category with ``q_i = 0`` and ``p_i > 0`` makes the divergence
    ``inf`` (scipy's answer) unless you smooth: with ``eps > 0``, ``eps`` is added to every
    entry of both normalised distributions, which are normalised again.

    Parameters
    ----------
    p, q : array_like
        Counts or probabilities over the same categories.
    base : float, optional
        Logarithm base; natural log when None.
    eps : float
        Additive smoothing, 0 (none) by default.

    Returns
    -------
    float
        The divergence (>= 0), ``inf`` as described above.

    Raises
    ------
    InvalidInput
        As :func:`js_distance`, or a negative or non-finite ``eps``.

    Examples
    --------
    >>> round(kl_divergence([0.5, 0.5], [0.9, 0.1]), 6)
    0.510826
    >>> kl_divergence([0.5, 0.5], [1.0, 0.0])
    inf
    >>> round(kl_divergence([0.5, 0.5], [1.0, 0.0], eps=1e-4), 3)
    3.912
    """
    pn, qn = _pair(p, q)
    if not (math.isfinite(eps) and eps >= 0):
        raise InvalidInput(f"eps must be a finite number >= 0, got {eps!r}")
    if eps > 0:
        pn = (pn + eps) / (pn + eps).sum()
        qn = (qn + eps) / (qn + eps).sum()
    kl = float(np.sum(_rel_entr(pn, qn)))
    if base is not None:
        if not (base > 0 and base != 1):
            raise InvalidInput(f"base must be positive and not 1, got {base!r}")
        kl /= math.log(base)
    return kl


# --------------------------------------------------------------------------------------
# Population stability index


def psi_from_counts(ref_counts: Any, cur_counts: Any, *, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index from per-bin counts (bins shared by both samples).

    ``PSI = sum (p_i - q_i) ln(p_i / q_i)`` with ``q`` the reference shares and ``p`` the
    current shares; a share of 0 is replaced by ``epsilon`` (1e-4, Evidently's value) so
    empty bins give a finite contribution. Rule of thumb (:func:`psi_severity`):
    < 0.1 none, 0.1-0.2 moderate, >= 0.2 significant.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Counts per bin, same length, non-negative, each with a positive sum.
    epsilon : float
        Replacement for empty shares (> 0).

    Returns
    -------
    float
        PSI (>= 0).

    Raises
    ------
    InvalidInput
        Lengths differ, negative/non-finite counts, an all-zero sample, or ``epsilon <= 0``.

    Examples
    --------
    >>> round(psi_from_counts([50, 50], [60, 40]), 6)
    0.040547
    """
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise InvalidInput(f"epsilon must be a finite number > 0, got {epsilon!r}")
    ref = as_counts(ref_counts, "ref_counts")
    cur = as_counts(cur_counts, "cur_counts")
    check_aligned(ref, cur, "ref_counts and cur_counts", "bin")
    q = ref / ref.sum()
    p = cur / cur.sum()
    q = np.where(q == 0, epsilon, q)
    p = np.where(p == 0, epsilon, p)
    return float(np.sum((p - q) * np.log(p / q)))


def psi_edges(reference_sorted: FloatArray, bins: int) -> FloatArray:
    """Interior bin edges of :func:`psi`: distinct reference quantiles at ``i / bins``."""
    qs = np.quantile(reference_sorted, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(qs)


def psi(reference: Any, current: Any, bins: int = 10) -> float:
    """Population stability index of two numeric samples, bins from reference quantiles.

    The interior bin edges are the reference's quantiles at ``1/bins, ..., (bins-1)/bins``
    (numpy's linear interpolation), duplicates removed; the outer bins are open
    (``-inf``, ``+inf``), bins are right-closed ``(e_i, e_{i+1}]``. Then
    :func:`psi_from_counts` with ``epsilon = 1e-4``. This is the credit-scoring (and
    NannyML) convention of bins that hold equal shares of the reference; Evidently instead
    uses ``bins`` equal-width bins over the pooled range, so its values differ.

    A constant reference has one distinct edge, hence two bins: values ``<= c`` and
    values ``> c``.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples; NaNs are dropped.
    bins : int
        Number of reference-quantile bins (>= 2).

    Returns
    -------
    float
        PSI (>= 0); see :func:`psi_severity` for the usual reading.

    Raises
    ------
    InvalidInput
        A sample empty after dropping NaNs, +/-inf values, or ``bins < 2``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=5000)
    >>> psi(ref, rng.normal(size=5000)) < 0.1
    True
    >>> psi(ref, rng.normal(0.5, size=5000)) >= 0.2
    True
    """
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
        raise InvalidInput(f"bins must be an integer >= 2, got {bins!r}")
    ref = np.sort(as_sample(reference, "reference"))
    cur = np.sort(as_sample(current, "current"))
    edges = psi_edges(ref, bins)
    return psi_from_counts(bin_counts(ref, edges), bin_counts(cur, edges))


def bin_counts(sorted_values: FloatArray, edges: FloatArray) -> FloatArray:
    """Counts in ``(-inf, e_0], (e_0, e_1], ..., (e_last, inf)`` of sorted values."""
    cum = np.searchsorted(sorted_values, edges, side="right").astype(np.float64)
    return np.diff(np.concatenate(([0.0], cum, [float(sorted_values.size)])))


def psi_severity(value: float) -> str:
    """Rule-of-thumb reading of a PSI value: ``"none"``, ``"moderate"`` or ``"significant"``.

    Parameters
    ----------
    value : float
        A PSI value (>= 0).

    Returns
    -------
    str
        ``"none"`` below 0.1, ``"moderate"`` in [0.1, 0.2), ``"significant"`` from 0.2.

    Raises
    ------
    InvalidInput
        ``value`` is NaN or negative.

    Examples
    --------
    >>> psi_severity(0.05), psi_severity(0.15), psi_severity(0.2)
    ('none', 'moderate', 'significant')
    """
    if math.isnan(value) or value < 0:
        raise InvalidInput(f"PSI must be a number >= 0, got {value!r}")
    if value < 0.1:
        return "none"
    if value < 0.2:
        return "moderate"
    return "significant"
