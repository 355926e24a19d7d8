"""Moments of numeric columns (mean and M2) that stay finite for any finite input.

M2, the sum of squared deviations from the mean, is kept as a pair ``(m2, scale)`` meaning
``M2 = m2 * 4**scale``. A column whose largest magnitude lies between 1e-100 and 1e100 (or
is 0) has scale 0: it holds M2 itself, computed as before any of this, a two-pass mean and
M2 per block merged with Chan, Golub & LeVeque's parallel update. Outside that range
(1e200, float64's maximum used as a missing-value sentinel, or only values below 1e-100)
the moments are computed on the values divided by ``2**scale``, the power of two just
above the largest magnitude (exact, short of underflow far below the column's scale), so
that neither the sum behind the mean nor the squares behind M2 can overflow or vanish.
The mean then lies between min and max, the standard deviation is finite, and only M2 and
the variance themselves may lie outside float64's range (they read ``inf``, or 0).

The scale depends only on the column's largest magnitude, so it does not depend on the
order of merges. Profiles stored before format 2 hold M2 unscaled whatever their values
(scale 0); merging handles parts of any scale.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Columns whose largest magnitude lies in [PLAIN_MIN, PLAIN_LIMIT] (or is 0) take the
#: plain path: n * (2 * 1e100) ** 2 stays finite, and a spread of 1e-100 * 2**-52 squared
#: stays a normal float64.
PLAIN_LIMIT = 1e100
PLAIN_MIN = 1e-100


def scale_of(top: float) -> int:
    """The scale (a power-of-two exponent) of a column whose largest magnitude is ``top``."""
    if top == 0 or PLAIN_MIN <= top <= PLAIN_LIMIT:
        return 0
    return math.frexp(top)[1]


def block_moments(
    x: FloatArray, mins: FloatArray, maxs: FloatArray
) -> tuple[FloatArray, FloatArray, list[int]]:
    """``(means, m2s, scales)`` of the columns of a non-empty n x d block of finite values.

    ``mins`` and ``maxs`` are the block's column minima and maxima.
    """
    tops = np.maximum(np.abs(mins), np.abs(maxs))
    plain = (tops == 0) | ((tops >= PLAIN_MIN) & (tops <= PLAIN_LIMIT))
    if plain.all():
        means = x.mean(axis=0)
        return means, ((x - means) ** 2).sum(axis=0), [0] * x.shape[1]
    means = np.empty(x.shape[1])
    m2s = np.empty(x.shape[1])
    scales = [0] * x.shape[1]
    if plain.any():
        part = x[:, plain]
        mu = part.mean(axis=0)
        means[plain], m2s[plain] = mu, ((part - mu) ** 2).sum(axis=0)
    for j in np.flatnonzero(~plain).tolist():
        means[j], m2s[j], scales[j] = column_moments(x[:, j], float(mins[j]), float(maxs[j]))
    return means, m2s, scales


def column_moments(v: FloatArray, mn: float, mx: float) -> tuple[float, float, int]:
    """``(mean, m2, scale)`` of one non-empty column of finite values with min/max given."""
    k = scale_of(max(abs(mn), abs(mx)))
    if k == 0:
        mean = float(v.mean())
        return mean, float(((v - mean) ** 2).sum()), 0
    y = np.ldexp(v, -k)  # |y| < 1
    # the true mean lies in [min, max]; rounding must not push it out (past float max, or
    # off a constant column, whose M2 would then be rounding noise times 4**k)
    mu = min(max(float(y.mean()), math.ldexp(mn, -k)), math.ldexp(mx, -k))
    return math.ldexp(mu, k), float(((y - mu) ** 2).sum()), k


def combine(
    a: tuple[int, float, float, int], b: tuple[int, float, float, int], top: float
) -> tuple[float, float, int]:
    """Mean and ``(m2, scale)`` of two parts given as ``(count, mean, m2, scale)``.

    Counts are positive; ``top`` is the largest magnitude of both parts' values. Chan,
    Golub & LeVeque (1979): exact in exact arithmetic, associative up to rounding.
    """
    na, ma, m2a, ka = a
    nb, mb, m2b, kb = b
    total = na + nb
    k = scale_of(top)
    if k == ka == kb == 0:
        delta = mb - ma
        mean = ma + delta * nb / total
        return mean, m2a + m2b + delta * delta * na * nb / total, 0
    # at scale k every value, so every mean, is below 1 in magnitude: delta**2 <= 4, and
    # each part's M2 / 4**k <= 4 x its count (what underflows is negligible at this scale)
    ya, yb = math.ldexp(ma, -k), math.ldexp(mb, -k)
    delta = yb - ya
    mu = min(max(ya + delta * nb / total, min(ya, yb)), max(ya, yb))
    m2 = (
        math.ldexp(m2a, 2 * (ka - k))
        + math.ldexp(m2b, 2 * (kb - k))
        + delta * delta * na * nb / total
    )
    return math.ldexp(mu, k), m2, k


def full_value(m2: float, scale: int) -> float:
    """``m2 * 4**scale`` as a float: ``inf`` above float64's range, 0 below it."""
    try:
        return math.ldexp(m2, 2 * scale)
    except OverflowError:
        return math.inf


def std_of(m2: float, scale: int, count: int) -> float:
    """Population standard deviation ``sqrt(M2 / count)``; finite for finite inputs."""
    try:
        return math.ldexp(math.sqrt(m2 / count), scale)
    except OverflowError:
        # the true value is at most (max - min) / 2 <= float max: rounding went past it
        return sys.float_info.max
