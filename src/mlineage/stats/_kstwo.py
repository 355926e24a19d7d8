"""The distribution of the one-sample two-sided KS statistic ``D_n`` (scipy's ``kstwo``)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from mlineage.errors import InvalidInput

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
        return clip_probability(1.0 - prob)
    if t >= n - 1:
        return clip_probability(2 * (1.0 - x) ** n)
    if x >= 0.5:
        return clip_probability(2 * _smirnov_sf(n, x))
    nxsquared = t * x
    if n <= 140:
        if nxsquared <= 0.754693:
            return clip_probability(1.0 - _kolmogn_dmtw_cdf(n, x))
        if nxsquared <= 4:
            return clip_probability(1.0 - _kolmogn_pomeranz_cdf(n, x))
        return clip_probability(2 * _smirnov_sf(n, x))
    if nxsquared >= 370.0:
        return 0.0
    if nxsquared >= 2.2:
        return clip_probability(2 * _smirnov_sf(n, x))
    if n <= 100000 and n * x**1.5 <= 1.4:
        cdfprob = _kolmogn_dmtw_cdf(n, x)
    else:
        cdfprob = _kolmogn_pelzgood_cdf(n, x)
    return clip_probability(1.0 - cdfprob)


def clip_probability(p: float) -> float:
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
    return clip_probability(float(p))


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
    return clip_probability(float(ans))


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
    return clip_probability(x * running * math.exp(ref))
