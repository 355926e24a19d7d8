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

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput

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

FloatArray = npt.NDArray[np.float64]

#: Share that replaces an empty bin in :func:`psi` (Evidently's value).
PSI_EPSILON = 1e-4
#: Floor of the reference standard deviation in :func:`wasserstein_normed` (Evidently's).
STD_FLOOR = 0.001
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
# Input checks


def _sample(values: Any, name: str, *, allow_inf: bool = False) -> FloatArray:
    """1-D float64 copy of ``values`` without NaNs; typed errors for anything else."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{name} must be numbers (an array-like of int or float), got "
            f"{type(values).__name__}: {exc}; encode categories and use chi2_contingency"
        ) from None
    if arr.ndim != 1:
        raise InvalidInput(
            f"{name} must be one-dimensional, got shape {arr.shape}; pass one column"
        )
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        raise InvalidInput(
            f"{name} has no values (empty, or all NaN); a distribution needs at least one"
        )
    if not allow_inf and not np.isfinite(arr).all():
        raise InvalidInput(
            f"{name} contains +/-inf; this distance needs finite values (drop or clip them)"
        )
    return arr


def _counts(values: Any, name: str) -> FloatArray:
    """1-D float64 array of non-negative finite counts or weights."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{name} must be numbers (counts or probabilities), got {type(values).__name__}: {exc}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidInput(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidInput(
            f"{name} must be finite and non-negative, got {arr.tolist()[:10]}"
            f"{'...' if arr.size > 10 else ''}"
        )
    if arr.sum() <= 0:
        raise InvalidInput(f"{name} sums to 0; a distribution needs some mass")
    return arr


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
    x = np.sort(_sample(a, "a", allow_inf=True))
    y = np.sort(_sample(b, "b", allow_inf=True))
    d = _ks_statistic_sorted(x, y)
    return ks_pvalue(d, x.size, y.size, method=method)


def _ks_statistic_sorted(x: FloatArray, y: FloatArray) -> float:
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


# --- the distribution of the one-sample two-sided statistic D_n (scipy's kstwo) ---------

_E128 = 128
_EP128 = np.ldexp(np.longdouble(1), _E128)
_EM128 = np.ldexp(np.longdouble(1), -_E128)
_SQRT2PI = math.sqrt(2 * math.pi)
_LOG_2PI = math.log(2 * math.pi)
_MIN_LOG = -708
_SQRT3 = math.sqrt(3)
_PI_SQUARED = math.pi**2
_PI_FOUR = math.pi**4
_PI_SIX = math.pi**6
_CEPHES_MINLOG = -7.08396418532264106224e2
_STIRLING_COEFFS = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
]


def kstwo_sf(x: float, n: int) -> float:
    """Survival function of the two-sided one-sample KS statistic ``D_n`` (scipy's kstwo).

    Follows scipy's ``_kolmogn`` case by case (Simard & L'Ecuyer 2011): Ruben-Gambino for
    ``x <= 1/n`` and ``x >= 1 - 1/n``, twice the one-sided Smirnov tail for large ``x``,
    the Durbin matrix (Marsaglia-Tsang-Wang), the Pomeranz recursion (``n <= 140``) or the
    Pelz-Good expansion elsewhere.

    Parameters
    ----------
    x : float
        Value of the statistic.
    n : int
        Sample size, >= 1.

    Returns
    -------
    float
        ``Pr(D_n > x)``, in [0, 1].

    Raises
    ------
    InvalidInput
        ``n`` is not a positive integer or ``x`` is NaN.

    Examples
    --------
    >>> round(kstwo_sf(0.1, 100), 6)
    0.252693
    """
    if math.isnan(x):
        raise InvalidInput("kstwo_sf: x is NaN")
    if int(n) != n or n <= 0:
        raise InvalidInput(f"kstwo_sf: n must be a positive integer, got {n!r}")
    n = int(n)
    if x >= 1.0:
        return 0.0
    if x <= 0.0:
        return 1.0
    t = n * x
    if t <= 1.0:
        if t <= 0.5:
            return 1.0
        if n <= 140:
            prob = float(np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1)))
        else:
            prob = math.exp(_log_nfactorial_div_n_pow_n(n) + n * math.log(2 * t - 1))
        return _clip(1.0 - prob)
    if t >= n - 1:
        return _clip(2 * (1.0 - x) ** n)
    if x >= 0.5:
        return _clip(2 * _smirnov_sf(n, x))
    nxsquared = t * x
    if n <= 140:
        if nxsquared <= 0.754693:
            return _clip(1.0 - _kolmogn_dmtw_cdf(n, x))
        if nxsquared <= 4:
            return _clip(1.0 - _kolmogn_pomeranz_cdf(n, x))
        return _clip(2 * _smirnov_sf(n, x))
    if nxsquared >= 370.0:
        return 0.0
    if nxsquared >= 2.2:
        return _clip(2 * _smirnov_sf(n, x))
    if n <= 100000 and n * x**1.5 <= 1.4:
        cdfprob = _kolmogn_dmtw_cdf(n, x)
    else:
        cdfprob = _kolmogn_pelzgood_cdf(n, x)
    return _clip(1.0 - cdfprob)


def _clip(p: float) -> float:
    return float(min(max(p, 0.0), 1.0))


def _log_nfactorial_div_n_pow_n(n: int) -> float:
    rn = 1.0 / n
    return float(math.log(n) / 2 - n + _LOG_2PI / 2 + rn * np.polyval(_STIRLING_COEFFS, rn / n))


def _kolmogn_dmtw_cdf(n: int, d: float) -> float:
    """Pr(D_n <= d) by the Durbin matrix, Marsaglia-Tsang-Wang scaling (scipy's port)."""
    if d >= 1.0:
        return 1.0
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = math.ceil(nd)
    h = k - nd
    m = 2 * k - 1
    big_h: Any = np.zeros([m, m])
    intm = np.arange(1, m + 1)
    v = 1.0 - h**intm
    w = np.empty(m)
    fac = 1.0
    for j in intm:
        w[j - 1] = fac
        fac /= j
        v[j - 1] *= fac
    tt = max(2 * h - 1.0, 0) ** m - 2 * h**m
    v[-1] = (1.0 + tt) * fac
    for i in range(1, m):
        big_h[i - 1 :, i] = w[: m - i + 1]
    big_h[:, 0] = v
    big_h[-1, :] = np.flip(v, axis=0)
    hpwr: Any = np.eye(m)
    nn = n
    expnt = 0
    hexpnt = 0
    while nn > 0:
        if nn % 2:
            hpwr = np.matmul(hpwr, big_h)
            expnt += hexpnt
        big_h = np.matmul(big_h, big_h)
        hexpnt *= 2
        if np.abs(big_h[k - 1, k - 1]) > _EP128:
            big_h /= _EP128
            hexpnt += _E128
        nn = nn // 2
    p = hpwr[k - 1, k - 1]
    for i in range(1, n + 1):
        p = i * p / n
        if np.abs(p) < _EM128:
            p *= _EP128
            expnt -= _E128
    if expnt != 0:
        p = np.ldexp(p, expnt)
    return _clip(float(p))


def _pomeranz_j1j2(i: int, n: int, ll: int, ceilf: int, roundf: int) -> tuple[int, int]:
    if i == 0:
        j1, j2 = -ll - ceilf - 1, ll + ceilf - 1
    else:
        ip1div2, ip1mod2 = divmod(i + 1, 2)
        if ip1mod2 == 0:
            if ip1div2 == n + 1:
                j1, j2 = n - ll - ceilf - 1, n + ll + ceilf - 1
            else:
                j1, j2 = ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1
        else:
            j1, j2 = ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1
    return max(j1 + 2, 0), min(j2, n)


def _kolmogn_pomeranz_cdf(n: int, x: float) -> float:
    """Pr(D_n <= x) by the Pomeranz recursion (scipy's port), for small n."""
    t = n * x
    ll = math.floor(t)
    f = 1.0 * (t - ll)
    g = min(f, 1.0 - f)
    ceilf = 1 if f > 0 else 0
    roundf = 1 if f > 0.5 else 0
    npwrs = 2 * (ll + 1)
    gpower = np.empty(npwrs)
    twogpower = np.empty(npwrs)
    onem2gpower = np.empty(npwrs)
    gpower[0] = twogpower[0] = onem2gpower[0] = 1.0
    expnt = 0
    g_over_n, two_g_over_n, one_minus_two_g_over_n = g / n, 2 * g / n, (1 - 2 * g) / n
    for m in range(1, npwrs):
        gpower[m] = gpower[m - 1] * g_over_n / m
        twogpower[m] = twogpower[m - 1] * two_g_over_n / m
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m
    v0: Any = np.zeros([npwrs])
    v1: Any = np.zeros([npwrs])
    v1[0] = 1
    v0s, v1s = 0, 0
    j1, j2 = _pomeranz_j1j2(0, n, ll, ceilf, roundf)
    for i in range(1, 2 * n + 2):
        k1 = j1
        v0, v1 = v1, v0
        v0s, v1s = v1s, v0s
        v1.fill(0.0)
        j1, j2 = _pomeranz_j1j2(i, n, ll, ceilf, roundf)
        pwrs = gpower if i == 1 or i == 2 * n + 1 else twogpower if i % 2 else onem2gpower
        ln2 = j2 - k1 + 1
        if ln2 > 0:
            conv = np.convolve(v0[k1 - v0s : k1 - v0s + ln2], pwrs[:ln2])
            conv_start = j1 - k1
            conv_len = j2 - j1 + 1
            v1[:conv_len] = conv[conv_start : conv_start + conv_len]
            if 0 < np.max(v1) < _EM128:
                v1 *= _EP128
                expnt -= _E128
            v1s = v0s + j1 - k1
    ans = v1[n - v1s]
    for m in range(1, n + 1):
        if np.abs(ans) > _EP128:
            ans *= _EM128
            expnt += _E128
        ans *= m
    if expnt != 0:
        ans = np.ldexp(ans, expnt)
    return _clip(float(ans))


def _kolmogn_pelzgood_cdf(n: int, x: float) -> float:
    """Pelz-Good (1976) approximation of Pr(D_n <= x) (scipy's port)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    z = math.sqrt(n) * x
    zsquared, zthree, zfour, zsix = z**2, z**3, z**4, z**6
    qlog = -_PI_SQUARED / 8 / zsquared
    if qlog < _MIN_LOG:
        return 0.0
    q = math.exp(qlog)
    k1a = -zsquared
    k1b = _PI_SQUARED / 4
    k2a = 6 * zsix + 2 * zfour
    k2b = (2 * zfour - 5 * zsquared) * _PI_SQUARED / 4
    k2c = _PI_FOUR * (1 - 2 * zsquared) / 16
    k3d = _PI_SIX * (5 - 30 * zsquared) / 64
    k3c = _PI_FOUR * (-60 * zsquared + 212 * zfour) / 16
    k3b = _PI_SQUARED * (135 * zfour - 96 * zsix) / 4
    k3a = -30 * zsix - 90 * z**8
    k0to3 = np.zeros(4)
    maxk = math.ceil(16 * z / math.pi)
    for k in range(maxk, 0, -1):
        m = 2 * k - 1
        msquared, mfour, msix = m**2, m**4, m**6
        qpower = np.power(q, 8 * k)
        coeffs = np.array(
            [
                1.0,
                k1a + k1b * msquared,
                k2a + k2b * msquared + k2c * mfour,
                k3a + k3b * msquared + k3c * mfour + k3d * msix,
            ]
        )
        k0to3 *= qpower
        k0to3 += coeffs
    k0to3 *= q
    k0to3 *= _SQRT2PI
    k0to3 /= np.array([z, 6 * zfour, 72 * z**7, 6480 * z**10])
    q = math.exp(-_PI_SQUARED / 2 / zsquared)
    ks = np.arange(maxk, 0, -1)
    ksquared = ks**2
    sqrt3z = _SQRT3 * z
    kspi = np.pi * ks
    qpwers = q**ksquared
    k2extra = np.sum(ksquared * qpwers)
    k2extra *= _PI_SQUARED * _SQRT2PI / (-36 * zthree)
    k0to3[2] += k2extra
    k3extra = np.sum((sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwers)
    k3extra *= _PI_SQUARED * _SQRT2PI / (216 * zsix)
    k0to3[3] += k3extra
    powers_of_n = np.power(n * 1.0, np.arange(len(k0to3)) / 2.0)
    k0to3 /= powers_of_n
    return float(sum(k0to3))


def _smirnov_sf(n: int, x: float) -> float:
    """One-sided Smirnov tail ``Pr(D+_n >= x)`` (scipy.special.smirnov).

    scipy sums the Birnbaum-Tingey series in double-double arithmetic; here the same
    terms are summed in log space in float64, largest first, stopping once the remaining
    terms cannot change the sum (relative difference to scipy ~1e-12).
    """
    if n == 1:
        return 1.0 - x
    if x == 0.0:
        return 1.0
    if x == 1.0:
        return 0.0
    exact = Fraction(x) * n
    nxfl = math.floor(exact)
    alpha = float(exact - nxfl)
    if nxfl == 0 or (nxfl == 1 and alpha == 0):
        return 1.0 - x * (1.0 + x) ** (n - 1)
    if -2 * n * x * x < _CEPHES_MINLOG:
        return 0.0
    if nxfl >= n - 1:
        return float((1.0 - x) ** n)
    if n > 1_000_000:
        logp = -((6.0 * n * x + 1) ** 2) / 18.0 / n
        return math.exp(logp) if logp < -math.log(2) else 1.0 + math.expm1(logp)
    # Terms v = 0 .. n - nxfl - 1. Index them by w = n - v (w = nxfl + 1 .. n): the terms
    # are largest next to the boundary w ~ n x and fall off geometrically as w grows, so
    # summing from there and stopping once the rest cannot matter takes few terms. With
    # t = w/n - x (computed from the exact split n x = nxfl + alpha):
    #   A_w = C(n, w) * (1 - t)^(n - w - 1) * t^w
    w0 = nxfl + 1
    steps0 = np.log((n - np.arange(w0, dtype=np.float64)) / np.arange(1, w0 + 1))
    log_binom = float(steps0.sum())  # log C(n, w0)
    eps = float(np.finfo(np.float64).eps)
    running = 0.0  # sum of exp(logt - ref)
    ref = -math.inf
    chunk = 4096
    start = w0
    while start <= n:
        w = np.arange(start, min(start + chunk, n + 1), dtype=np.float64)
        with np.errstate(divide="ignore"):
            steps = np.log((n - w) / (w + 1.0))  # C(n, w+1) / C(n, w)
        lb = log_binom + np.concatenate(([0.0], np.cumsum(steps[:-1])))
        log_binom = float(lb[-1] + steps[-1]) if w[-1] < n else 0.0
        t = ((w - nxfl) - alpha) / n
        with np.errstate(divide="ignore", invalid="ignore"):
            logt = lb + (n - w - 1.0) * np.log1p(-t) + w * np.log(t)
        logt = np.where(np.isnan(logt), -np.inf, logt)
        top = float(logt.max())
        if top > ref:
            running *= math.exp(ref - top) if ref > -math.inf else 0.0
            ref = top
        running += float(np.exp(logt - ref).sum()) if ref > -math.inf else 0.0
        start += chunk
        last = float(logt[-1])
        if (
            logt.size > 1
            and last <= float(logt[-2])
            and (last == -math.inf or 4 * (n - start + 1) * math.exp(last - ref) < eps * running)
        ):
            break
    if ref == -math.inf:
        return 0.0
    return _clip(x * running * math.exp(ref))


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
    x = np.sort(_sample(a, "a"))
    y = np.sort(_sample(b, "b"))
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
    ref = _sample(reference, "reference")
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
    pa = _counts(p, "p")
    qa = _counts(q, "q")
    if pa.shape != qa.shape:
        raise InvalidInput(
            f"p and q must have the same length (one entry per category), got "
            f"{pa.size} and {qa.size}"
        )
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
    ref = _counts(ref_counts, "ref_counts")
    cur = _counts(cur_counts, "cur_counts")
    if ref.shape != cur.shape:
        raise InvalidInput(
            f"ref_counts and cur_counts must have one entry per bin, got {ref.size} and {cur.size}"
        )
    q = ref / ref.sum()
    p = cur / cur.sum()
    q = np.where(q == 0, epsilon, q)
    p = np.where(p == 0, epsilon, p)
    return float(np.sum((p - q) * np.log(p / q)))


def _psi_edges(reference_sorted: FloatArray, bins: int) -> FloatArray:
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
    ref = np.sort(_sample(reference, "reference"))
    cur = np.sort(_sample(current, "current"))
    edges = _psi_edges(ref, bins)
    return psi_from_counts(_bin_counts(ref, edges), _bin_counts(cur, edges))


def _bin_counts(sorted_values: FloatArray, edges: FloatArray) -> FloatArray:
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
        return _clip(1.0 - total * math.exp(log_prefix))
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
    return _clip(math.exp(log_prefix) * h)


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
        if ref.shape != cur.shape:
            raise InvalidInput(
                f"ref_counts and cur_counts must be aligned (one entry per category), got "
                f"lengths {ref.size} and {cur.size}"
            )
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
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} must be counts (numbers), got {exc}") from None
    if arr.ndim != 1:
        raise InvalidInput(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidInput(f"{name} must be finite and non-negative, got {arr.tolist()[:10]}")
    return arr


# --------------------------------------------------------------------------------------
# Multiple testing


def _pvalues(pvalues: Any) -> FloatArray:
    try:
        p = np.asarray(pvalues, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"p-values must be numbers, got {exc}") from None
    if p.ndim != 1:
        raise InvalidInput(f"p-values must be a 1-D sequence, got shape {p.shape}")
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
        1-D p-values in [0, 1].

    Returns
    -------
    numpy.ndarray
        Adjusted p-values; reject where ``adjusted < alpha`` controls the FDR at ``alpha``
        (independent or positively dependent tests).

    Raises
    ------
    InvalidInput
        NaN or out-of-range p-values, or not 1-D.

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
