"""Two-sample Kolmogorov-Smirnov statistic and p-value, as ``scipy.stats.ks_2samp``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from mlineage.errors import InvalidInput
from mlineage.stats._inputs import FloatArray, as_sample
from mlineage.stats._kstwo import kstwo_sf

#: ``method="auto"`` of :func:`ks_2samp` is exact when both samples have at most this many
#: values (scipy's ``MAX_AUTO_N``).
KS_MAX_EXACT_N = 10_000


# --------------------------------------------------------------------------------------
# Result objects


@dataclass(frozen=True, slots=True)
class KSResult:
    """Two-sample Kolmogorov-Smirnov result, as ``scipy.stats.ks_2samp`` returns it.

    Attributes
    ----------
    statistic : float
        ``D``, the largest absolute difference between the two empirical CDFs.
    pvalue : float
        Two-sided p-value.
    method : {"exact", "asymp"}
        How the p-value was computed.
    n_a, n_b : int
        Sample sizes after dropping NaNs (for profiles: the counts the p-value used).
    """

    statistic: float
    pvalue: float
    method: str
    n_a: int
    n_b: int

    def to_dict(self) -> dict[str, Any]:
        """Fields as a JSON-ready dict."""
        return asdict(self)

    def __repr__(self) -> str:
        return (
            f"KSResult(statistic={self.statistic:.6g}, pvalue={self.pvalue:.6g}, "
            f"method={self.method!r})"
        )


# --------------------------------------------------------------------------------------
# Kolmogorov-Smirnov


def ks_2samp(a: Any, b: Any, *, method: Literal["auto", "exact", "asymp"] = "auto") -> KSResult:
    """Two-sided two-sample Kolmogorov-Smirnov test, matching ``scipy.stats.ks_2samp``.

    The statistic is ``max |F_a(x) - F_b(x)|`` over the pooled values, with both empirical
    CDFs right-continuous, so ties are handled as scipy handles them. The p-value follows
    scipy's ``method="auto"``: exact (Hodges' lattice-path counting, scipy's recursion)
    when both samples have at most 10,000 values, otherwise the exact distribution of the
    one-sample statistic ``D_n`` with ``n = round(n_a n_b / (n_a + n_b))`` (scipy's
    ``kstwo.sf``, Simard & L'Ecuyer 2011). In exact mode the statistic is snapped to the
    lattice ``h / lcm(n_a, n_b)`` as scipy does.

    Parameters
    ----------
    a, b : array_like
        1-D numeric samples. NaNs are dropped; infinities are allowed (the test is
        rank-based).
    method : {"auto", "exact", "asymp"}
        As in scipy. ``"exact"`` falls back to ``"asymp"`` when exact counting is not
        possible (the least common multiple of the sizes exceeds 2**31).

    Returns
    -------
    KSResult
        ``statistic``, ``pvalue``, ``method`` used, and the sample sizes.

    Raises
    ------
    InvalidInput
        A sample is empty after dropping NaNs, not 1-D, or not numeric; unknown ``method``.

    Examples
    --------
    >>> r = ks_2samp([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0])
    >>> r.statistic, round(r.pvalue, 6), r.method
    (1.0, 0.028571, 'exact')
    """
    if method not in ("auto", "exact", "asymp"):
        raise InvalidInput(f"method must be 'auto', 'exact' or 'asymp', got {method!r}")
    x = np.sort(as_sample(a, "a", allow_inf=True))
    y = np.sort(as_sample(b, "b", allow_inf=True))
    d = ks_statistic_sorted(x, y)
    return ks_pvalue(d, x.size, y.size, method=method)


def ks_statistic_sorted(x: FloatArray, y: FloatArray) -> float:
    """``max |F_x - F_y|`` of two sorted, NaN-free samples (scipy's tie handling)."""
    pooled = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, pooled, side="right") / x.size
    cdf_y = np.searchsorted(y, pooled, side="right") / y.size
    diffs = cdf_x - cdf_y
    max_s = float(diffs.max())
    min_s = float(np.clip(-diffs.min(), 0.0, 1.0))
    return min_s if min_s > max_s else max_s


def ks_pvalue(
    d: float, n_a: int, n_b: int, *, method: Literal["auto", "exact", "asymp"] = "auto"
) -> KSResult:
    """Two-sided p-value of a two-sample KS statistic ``d`` for sample sizes ``n_a, n_b``.

    This is the p-value half of :func:`ks_2samp`, for statistics computed elsewhere (from
    profiles or sketches, where the sizes are the counts the sketches summarise).

    Parameters
    ----------
    d : float
        The statistic, in [0, 1].
    n_a, n_b : int
        Sample sizes, both >= 1.
    method : {"auto", "exact", "asymp"}
        As in :func:`ks_2samp`.

    Returns
    -------
    KSResult
        With the statistic snapped to the lattice in exact mode, as scipy does.

    Raises
    ------
    InvalidInput
        ``d`` outside [0, 1] or not finite, a size below 1, or an unknown ``method``.

    Examples
    --------
    >>> round(ks_pvalue(0.1, 100_000, 100_000).pvalue, 12)
    0.0
    >>> round(ks_pvalue(0.005, 100_000, 100_000).pvalue, 4)
    0.1635
    """
    if method not in ("auto", "exact", "asymp"):
        raise InvalidInput(f"method must be 'auto', 'exact' or 'asymp', got {method!r}")
    if not (math.isfinite(d) and 0.0 <= d <= 1.0):
        raise InvalidInput(f"KS statistic must lie in [0, 1], got {d!r}")
    if n_a < 1 or n_b < 1:
        raise InvalidInput(f"sample sizes must be >= 1, got {n_a} and {n_b}")
    n_a, n_b = int(n_a), int(n_b)
    g = math.gcd(n_a, n_b)
    mode = method
    if mode == "auto":
        mode = "exact" if max(n_a, n_b) <= KS_MAX_EXACT_N else "asymp"
    elif mode == "exact" and (n_a // g) >= np.iinfo(np.int32).max / (n_b // g):
        mode = "asymp"
    prob = math.nan
    if mode == "exact":
        # scipy keeps the lattice-snapped statistic even when it falls back to asymp
        ok, d, prob = _attempt_exact_2samp(n_a, n_b, g, d)
        if not ok:
            mode = "asymp"
    if mode == "asymp":
        m, n = sorted([float(n_a), float(n_b)], reverse=True)
        en = m * n / (m + n)
        prob = kstwo_sf(d, round(en))
    prob = min(max(prob, 0.0), 1.0)
    return KSResult(statistic=float(d), pvalue=float(prob), method=mode, n_a=n_a, n_b=n_b)


def kolmogorov_pvalue(d: float, n_a: int, n_b: int) -> float:
    """Two-sided KS p-value from the limiting Kolmogorov distribution, for large samples.

    ``Q_KS(lambda) = 2 sum_k (-1)^(k-1) exp(-2 k^2 lambda^2)`` at
    ``lambda = (sqrt(en) + 0.12 + 0.11 / sqrt(en)) * d`` with ``en = n_a n_b / (n_a + n_b)``
    (Stephens' small-sample correction). Used for columns profiled by a sketch, which only
    happens above 10,000 values a column (``en`` >= 5,000): there the difference from the
    exact finite-``n`` tail that :func:`ks_pvalue` computes is far below the sketch's own
    error, and this costs microseconds instead of milliseconds.

    Examples
    --------
    >>> round(kolmogorov_pvalue(0.005, 100_000, 100_000), 4)
    0.1636
    """
    if not (math.isfinite(d) and 0.0 <= d <= 1.0):
        raise InvalidInput(f"KS statistic must lie in [0, 1], got {d!r}")
    if n_a < 1 or n_b < 1:
        raise InvalidInput(f"sample sizes must be >= 1, got {n_a} and {n_b}")
    en = n_a * n_b / (n_a + n_b)
    root = math.sqrt(en)
    lam = (root + 0.12 + 0.11 / root) * d
    if lam < 0.2:
        return 1.0  # the series converges slowly there; the tail is 1 to 15 digits
    total = 0.0
    for k in range(1, 101):
        term = math.exp(-2.0 * k * k * lam * lam)
        total += term if k % 2 else -term
        if term < 1e-16 * max(total, 1e-300):
            break
    return min(max(2.0 * total, 0.0), 1.0)


def _attempt_exact_2samp(n1: int, n2: int, g: int, d: float) -> tuple[bool, float, float]:
    """Exact two-sided probability, scipy's ``_attempt_exact_2kssamp``."""
    lcm = (n1 // g) * n2
    h = int(np.round(d * lcm))
    d = h * 1.0 / lcm
    if h == 0:
        return True, d, 1.0
    try:
        with np.errstate(invalid="raise", over="raise"):
            prob = _prob_outside_square(n1, h) if n1 == n2 else _outer_prob_inside(n1, n2, g, h)
    except (FloatingPointError, OverflowError):
        return False, d, math.nan
    if not (0.0 <= prob <= 1.0):
        return False, d, prob
    return True, d, prob


def _prob_outside_square(n: int, h: int) -> float:
    """Pr(D_{n,n} >= h/n): scipy's Horner form of the alternating binomial sum."""
    p = 0.0
    k = n // h
    while k >= 0:
        p1 = 1.0
        for j in range(h):
            p1 = (n - k * h - j) * p1 / (n + k * h + j + 1)
        p = p1 * (1.0 - p)
        k -= 1
    return 2 * p


def _outer_prob_inside(m: int, n: int, g: int, h: int) -> float:
    """Proportion of lattice paths (0,0)->(m,n) leaving ``|x/m - y/n| < h/lcm``.

    The same recursion as scipy's ``_compute_outer_prob_inside_method`` (Hodges 1958, with
    Viehmann's 2021 form that computes 1 - p directly): cell (i, j) holds the normalised
    probability of having left the band, ``(i * left + j * below) / (i + j)``, and cells
    outside the band hold 1. scipy sweeps column by column with a compiled inner loop;
    every cell depends only on the previous anti-diagonal, so here each anti-diagonal is
    one vectorised step, with the same arithmetic per cell.
    """
    if m < n:
        m, n = n, m
    mg, ng = m // g, n // g
    big = mg + ng
    prev = np.zeros(1)  # anti-diagonal 0: the start (0, 0), inside the band
    plo = 0
    for s in range(1, m + n + 1):
        # inside  <=>  |ng*i - mg*(s - i)| < h  <=>  mg*s - h < big*i < mg*s + h
        lo = max(max(0, s - n), (mg * s - h) // big + 1)
        hi = min(min(m, s), (mg * s + h - 1) // big)
        if hi < lo:
            return 1.0
        i = np.arange(lo, hi + 1)
        padded = np.empty(prev.size + 2)
        padded[0] = 1.0
        padded[-1] = 1.0
        padded[1:-1] = prev
        # padded[k] is cell index plo - 1 + k of the previous anti-diagonal
        left = padded[i - 1 - (plo - 1)]
        below = padded[i - (plo - 1)]
        j = s - i
        prev = (left * i + below * j) / (i + j)
        plo = lo
    return float(prev[m - plo])
