"""Error bounds of the distances computed from sketched (KLL) numeric profiles.

A KLL sketch's CDF is within ``eps`` (:func:`~mlineage.stats.profile.sketch_rank_error`,
99% confidence) of the data's at every point. From that, a priori and from the profiles
alone:

- **W1 / std** (``FeatureDrift.w1_error``): W1 is the integral of ``|F_a - F_b|`` over the
  columns' joint range ``[min, max]`` (kept exactly), so the sketched value is within
  ``(eps_a + eps_b) * (max - min)`` of the raw data's, divided by the reference's std
  (exact: it comes from the moments, floor 0.001 as for the value);
- **PSI** (``FeatureDrift.psi_error``): each bin's share on the sketch's bin edges is
  within ``2 eps`` of the raw data's share on the same edges (a difference of two CDF
  values); PSI's terms ``(p - q) ln(p / q)`` are convex in ``(p, q)``, so the largest and
  smallest PSI over those boxes are found term by term (a share that may be 0 counts as
  ``min(1e-4, 1 / n)``, the smallest it can be). The bound is the larger distance from the
  sketched PSI to either end. The edges themselves are the reference's deciles to within
  ``eps`` in rank.

docs/analysis.md ("The KLL sketch's error bound") states them; tests/analysis/test_bounds.py
checks them against the raw data.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from mlineage.stats._distances import PSI_EPSILON

__all__ = ["psi_error", "w1_normed_error"]

_F64 = npt.NDArray[np.float64]


def w1_normed_error(eps: float, low: float, high: float, std: float) -> float:
    """Bound on ``|W1/std (sketch) - W1/std (raw)|``: ``eps * (high - low) / std``.

    Parameters
    ----------
    eps : float
        Sum of both columns' CDF error bounds (0 when both are exact).
    low, high : float
        Smallest and largest value of both columns (in the same scaled unit as ``std``).
    std : float
        The reference's std, already floored.

    Examples
    --------
    >>> w1_normed_error(0.033, -5.0, 5.0, 1.0)
    0.33
    """
    if eps == 0.0:
        return 0.0
    return min(eps * (high - low) / std, float(np.finfo(np.float64).max))


def _term(p: _F64, q: _F64) -> _F64:
    out: _F64 = (p - q) * np.log(p / q)
    return out


def psi_error(
    ref_counts: _F64,
    cur_counts: _F64,
    delta_ref: float,
    delta_cur: float,
    n_ref: int,
    n_cur: int,
) -> float:
    """Bound on ``|PSI (sketch) - PSI (raw, same bins)|`` from the shares' error boxes.

    Parameters
    ----------
    ref_counts, cur_counts : numpy.ndarray
        The sketched counts (or shares) of each bin.
    delta_ref, delta_cur : float
        How far each side's share can be from the raw data's (``2 eps``).
    n_ref, n_cur : int
        The columns' counts: a share that is not 0 is at least ``1 / n``.

    Returns
    -------
    float
        0 when both deltas are 0.

    Examples
    --------
    >>> p = np.full(10, 0.1)
    >>> psi_error(p, p, 0.0, 0.0, 1000, 1000)
    0.0
    >>> round(psi_error(p, p, 0.02, 0.02, 10**6, 10**6), 3)
    0.162
    """
    if delta_ref == 0.0 and delta_cur == 0.0:
        return 0.0
    ref_shares, cur_shares = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()

    def floor(x: _F64, n: int) -> _F64:
        # a share is 0 (PSI replaces it by the epsilon) or at least one row in n
        smallest = min(PSI_EPSILON, 1.0 / max(n, 1))
        return np.maximum(x, smallest)

    def shares(x: _F64) -> _F64:
        return np.where(x == 0, PSI_EPSILON, x)

    p_hat, q_hat = shares(cur_shares), shares(ref_shares)
    value = float(np.sum(_term(p_hat, q_hat)))
    p_lo = floor(cur_shares - delta_cur, n_cur)
    p_hi = np.minimum(cur_shares + delta_cur, 1.0)
    q_lo = floor(ref_shares - delta_ref, n_ref)
    q_hi = np.minimum(ref_shares + delta_ref, 1.0)
    # convex terms: the largest over a box is at a corner
    corners = [_term(p, q) for p in (p_lo, p_hi) for q in (q_lo, q_hi)]
    high = float(np.sum(np.maximum.reduce(corners)))
    # the smallest: 0 where the intervals overlap, else at the nearest corner
    low_terms = np.where(
        p_lo > q_hi, _term(p_lo, q_hi), np.where(q_lo > p_hi, _term(p_hi, q_lo), 0.0)
    )
    low = float(np.sum(low_terms))
    bound = max(high - value, value - low, 0.0)
    return bound if math.isfinite(bound) else float(np.finfo(np.float64).max)
