"""Chi-squared test of a 2 x K contingency table, and multiple-testing corrections."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput
from mlineage.stats._inputs import FloatArray, as_vector, check_aligned
from mlineage.stats._kstwo import clip_probability

# --------------------------------------------------------------------------------------
# Result objects


@dataclass(frozen=True, slots=True)
class Chi2Result:
    """Chi-squared test of homogeneity on a 2 x K contingency table.

    Attributes
    ----------
    statistic : float
        Pearson's chi-squared statistic (Yates-corrected when ``dof == 1``).
    pvalue : float
        Upper-tail probability of the chi-squared distribution with ``dof`` degrees.
    dof : int
        Degrees of freedom, ``K - 1`` over the categories seen in either sample.
    categories : tuple
        The categories of the table's columns, in order (``None`` entries when the
        counts were given as arrays).
    """

    statistic: float
    pvalue: float
    dof: int
    categories: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Fields as a JSON-ready dict (categories as strings)."""
        return {
            "statistic": self.statistic,
            "pvalue": self.pvalue,
            "dof": self.dof,
            "categories": [None if c is None else str(c) for c in self.categories],
        }

    def __repr__(self) -> str:
        return (
            f"Chi2Result(statistic={self.statistic:.6g}, pvalue={self.pvalue:.6g}, dof={self.dof})"
        )


# --------------------------------------------------------------------------------------
# Chi-squared


def chi2_sf(x: float, dof: float) -> float:
    """Survival function of the chi-squared distribution (``scipy.stats.chi2.sf``).

    The regularised upper incomplete gamma function ``Q(dof/2, x/2)``: its series for
    ``x < dof/2 + 1`` (as ``1 - P``), otherwise Lentz's continued fraction; relative
    accuracy ~1e-14.

    Parameters
    ----------
    x : float
        The statistic (>= 0; negative values give 1).
    dof : float
        Degrees of freedom (> 0).

    Returns
    -------
    float
        ``Pr(X > x)``.

    Raises
    ------
    InvalidInput
        ``dof <= 0`` or a NaN argument.

    Examples
    --------
    >>> round(chi2_sf(3.841458820694124, 1), 9)
    0.05
    """
    if math.isnan(x) or math.isnan(dof) or dof <= 0:
        raise InvalidInput(f"chi2_sf needs dof > 0 and numbers, got x={x!r}, dof={dof!r}")
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return _gammaincc(dof / 2.0, x / 2.0)


def _gammaincc(a: float, x: float) -> float:
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        # series for P(a, x)
        term = 1.0 / a
        total = term
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return clip_probability(1.0 - total * math.exp(log_prefix))
    # continued fraction for Q(a, x), modified Lentz
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return clip_probability(math.exp(log_prefix) * h)


def chi2_contingency(
    ref_counts: Mapping[Any, float] | Sequence[float] | npt.ArrayLike,
    cur_counts: Mapping[Any, float] | Sequence[float] | npt.ArrayLike,
    *,
    correction: bool = True,
) -> Chi2Result:
    """Chi-squared test of homogeneity of two categorical samples (2 x K table).

    The table has one row per sample and one column per category in the *union* of the
    categories seen in either sample, so a category the reference never saw is simply a
    column with a reference count of 0 (no crash). Categories with a count of 0 in both
    are dropped (their expected frequency would be 0). Expected frequencies, statistic,
    ``dof = K - 1`` and Yates' continuity correction (only when ``dof == 1``, and only if
    ``correction``) are those of ``scipy.stats.chi2_contingency``; with a single category
    the samples cannot differ: statistic 0, p-value 1, dof 0.

    Parameters
    ----------
    ref_counts, cur_counts : mapping or array_like
        Counts per category: two dicts ``{category: count}`` (aligned by key), or two
        aligned arrays of the same length.
    correction : bool
        Apply Yates' correction when ``dof == 1`` (scipy's default).

    Returns
    -------
    Chi2Result
        ``statistic``, ``pvalue``, ``dof`` and the categories of the table's columns.

    Raises
    ------
    InvalidInput
        Negative or non-finite counts, an empty sample, arrays of different lengths, or a
        dict mixed with an array.

    Examples
    --------
    >>> r = chi2_contingency({"a": 10, "b": 20}, {"a": 20, "b": 10, "c": 5})
    >>> r.dof, round(r.statistic, 4), round(r.pvalue, 6)
    (2, 11.3492, 0.003432)
    """
    if isinstance(ref_counts, Mapping) != isinstance(cur_counts, Mapping):
        raise InvalidInput(
            "give both counts as dicts {category: count} or both as aligned arrays, "
            f"got {type(ref_counts).__name__} and {type(cur_counts).__name__}"
        )
    categories: list[Any]
    if isinstance(ref_counts, Mapping) and isinstance(cur_counts, Mapping):
        categories = list(ref_counts)
        seen = set(categories)
        categories += [c for c in cur_counts if c not in seen]
        ref = _nonneg([ref_counts.get(c, 0) for c in categories], "ref_counts")
        cur = _nonneg([cur_counts.get(c, 0) for c in categories], "cur_counts")
    else:
        ref = _nonneg(ref_counts, "ref_counts")
        cur = _nonneg(cur_counts, "cur_counts")
        check_aligned(ref, cur, "ref_counts and cur_counts", "category")
        categories = [None] * ref.size
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise InvalidInput(
            "each sample needs at least one counted value, got totals "
            f"{ref.sum():g} (reference) and {cur.sum():g} (current)"
        )
    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    categories = [c for c, k in zip(categories, keep.tolist(), strict=True) if k]
    observed = np.vstack([ref, cur])
    dof = observed.shape[1] - 1
    if dof == 0:
        return Chi2Result(0.0, 1.0, 0, tuple(categories))
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    if dof == 1 and correction:
        diff = expected - observed
        direction = np.sign(diff)
        magnitude = np.minimum(0.5, np.abs(diff))
        observed = observed + magnitude * direction
    stat = float(np.sum((observed - expected) ** 2 / expected))
    return Chi2Result(stat, chi2_sf(stat, dof), dof, tuple(categories))


def _nonneg(values: Any, name: str) -> FloatArray:
    arr = as_vector(values, name, "counts (numbers)")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidInput(f"{name} must be finite and non-negative, got {arr.tolist()[:10]}")
    return arr


# --------------------------------------------------------------------------------------
# Multiple testing


def _pvalues(pvalues: Any) -> FloatArray:
    p = as_vector(pvalues, "p-values", "numbers")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise InvalidInput(
            f"p-values must lie in [0, 1] (no NaN), got {p.tolist()[:10]}; leave untested "
            "features out"
        )
    return p


def bonferroni(pvalues: Any) -> FloatArray:
    """Bonferroni-adjusted p-values: ``min(m * p, 1)`` for ``m`` tests.

    Parameters
    ----------
    pvalues : array_like
        1-D p-values in [0, 1].

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same order; reject where ``adjusted < alpha`` controls the
        family-wise error rate at ``alpha``.

    Raises
    ------
    InvalidInput
        NaN or out-of-range p-values, or not 1-D.

    Examples
    --------
    >>> bonferroni([0.01, 0.04, 0.5]).tolist()
    [0.03, 0.12, 1.0]
    """
    p = _pvalues(pvalues)
    return np.minimum(p * p.size, 1.0)


def benjamini_hochberg(pvalues: Any) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), as statsmodels' fdr_bh.

    ``adj_(i) = min_{j >= i} (m / j) p_(j)`` over the p-values sorted ascending, capped at
    1, returned in the input order.

    Parameters
    ----------
    pvalues : array_like
        1-D p-values in [0, 1], as for :func:`bonferroni`.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values; reject where ``adjusted < alpha`` controls the FDR at ``alpha``
        (independent or positively dependent tests).

    Raises
    ------
    InvalidInput
        As for :func:`bonferroni`.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).tolist()
    [0.04, 0.05333333333333334, 0.05333333333333334, 0.5]
    """
    p = _pvalues(pvalues)
    m = p.size
    if m == 0:
        return np.array(p, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    return out
