"""Change points of a metric series, and robust z-scores of its steps.

:func:`change_points` segments a 1-D series into pieces of constant level, minimising the
sum of squared deviations from each piece's mean plus a penalty per piece (the ``"l2"``
cost of ruptures), by binary segmentation or by PELT. Breakpoints follow ruptures'
convention: a breakpoint ``b`` is the index where a new segment *starts*; unlike
ruptures, the series length ``n`` is *not* included, so a series without change gives
``[]``.

Default penalty: ``3 * sigma**2 * log(n)`` (a BIC-like penalty, a little above the
classical ``2 sigma**2 log n`` to keep false alarms rare on short series), with ``sigma`` a
robust noise estimate that neither level shifts nor linear trends inflate:
``1.4826 * MAD(second differences) / sqrt(6)`` (the second difference of white noise has
variance ``6 sigma**2``). When that MAD is 0 (piecewise-constant series), the standard
deviation of the second differences over ``sqrt(6)`` is used; when that is 0 too, the
series is a straight line or constant and has no change point.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput

__all__ = ["change_points", "default_penalty", "robust_z"]

FloatArray = npt.NDArray[np.float64]


def _series(values: Any) -> FloatArray:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"values must be numbers, got {type(values).__name__}: {exc}") from None
    if x.ndim != 1:
        raise InvalidInput(f"values must be a 1-D series, got shape {x.shape}")
    if not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x))[:5].tolist()
        raise InvalidInput(
            f"values must be finite; positions {bad} are NaN or inf (drop or fill them first)"
        )
    return x


def _check_options(method: object, penalty: object, min_size: object, jump: object = 1) -> None:
    """Raise InvalidInput unless :func:`change_points`' options are valid.

    Called before the series is looked at, so a bad option fails on a series of any
    length, even one too short to search.
    """
    if not isinstance(method, str) or method not in ("binseg", "pelt"):
        raise InvalidInput(f"method must be 'binseg' or 'pelt', got {method!r}")
    if penalty is not None and not (
        isinstance(penalty, (int, float, np.integer, np.floating))
        and not isinstance(penalty, (bool, np.bool_))
        and math.isfinite(penalty)
        and penalty >= 0
    ):
        raise InvalidInput(
            f"penalty must be None (the default penalty) or a finite number >= 0, got "
            f"{penalty!r} ({type(penalty).__name__})"
        )
    for name, value in (("min_size", min_size), ("jump", jump)):
        if (
            not isinstance(value, (int, np.integer))
            or isinstance(value, (bool, np.bool_))
            or value < 1
        ):
            raise InvalidInput(f"{name} must be an integer >= 1, got {value!r}")


def default_penalty(values: Any) -> float:
    """The default penalty of :func:`change_points`: ``3 * sigma**2 * log(n)``.

    ``sigma = 1.4826 * MAD(diff(x, 2)) / sqrt(6)``, falling back to
    ``std(diff(x, 2)) / sqrt(6)`` when the MAD is 0; see the module docstring.

    Parameters
    ----------
    values : array_like
        The 1-D series (finite).

    Returns
    -------
    float
        The penalty (0 when the series is constant or a straight line, or has < 3 points).

    Raises
    ------
    InvalidInput
        Not a finite 1-D numeric series.

    Examples
    --------
    >>> default_penalty([1.0, 1.0, 1.0, 1.0])
    0.0
    """
    x = _series(values)
    if x.size < 3:
        return 0.0
    d2 = np.diff(x, 2)
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    sigma = 1.4826 * mad / math.sqrt(6)
    if sigma == 0.0:
        sigma = float(np.std(d2)) / math.sqrt(6)
    return 3.0 * sigma * sigma * math.log(x.size)


class _L2Cost:
    """Sum of squared deviations from the mean of ``x[s:e]``, O(1) from prefix sums."""

    def __init__(self, x: FloatArray) -> None:
        # Centre first so the prefix sums do not lose precision to a large offset.
        y = x - x.mean()
        self.s1 = np.concatenate(([0.0], np.cumsum(y)))
        self.s2 = np.concatenate(([0.0], np.cumsum(y * y)))

    def cost(self, start: Any, end: Any) -> Any:
        n = end - start
        s = self.s1[end] - self.s1[start]
        return np.maximum(self.s2[end] - self.s2[start] - s * s / n, 0.0)


def change_points(
    values: Any,
    method: Literal["binseg", "pelt"] = "binseg",
    penalty: float | None = None,
    min_size: int = 2,
    jump: int = 1,
) -> list[int]:
    """Indices where the level of a series changes (L2 cost, like ruptures' ``"l2"``).

    ``"binseg"``: binary segmentation, as ``ruptures.Binseg(model="l2")`` with
    ``predict(pen=penalty)``: repeatedly split the segment whose best split reduces the
    cost most, while that reduction exceeds ``penalty``. O(n log n) with prefix sums;
    greedy. ``"pelt"``: the exact optimum of cost + ``penalty`` per segment, as
    ``ruptures.Pelt(model="l2")`` (which can miss it when ``min_size > 1``); linear time
    when changes are frequent, quadratic on a long series without change (no candidate
    can be pruned then) — prefer ``"binseg"`` for series of more than ~10,000 points.

    Parameters
    ----------
    values : array_like
        The finite 1-D series (e.g. a metric along a lineage's first-parent history).
    method : {"binseg", "pelt"}
        Search method.
    penalty : float, optional
        Cost of one more segment (>= 0); :func:`default_penalty` when None.
    min_size : int
        Minimum segment length (>= 1).
    jump : int
        Breakpoints only at multiples of ``jump`` (ruptures' default is 5; use 1, the
        default here, for short version histories).

    Returns
    -------
    list of int
        Sorted indices ``b`` where a new segment starts (``0 < b < n``); ``[]`` when the
        series has no change (or fewer than ``2 * min_size`` points).

    Raises
    ------
    InvalidInput
        Non-finite or non-1-D values, unknown ``method``, a ``penalty`` that is not a
        finite number >= 0, ``min_size`` or ``jump`` not an integer >= 1; the options
        are checked first, whatever the series' length.

    Examples
    --------
    A drop at the 7th month of a year of monthly accuracies:

    >>> acc = [0.91, 0.90, 0.92, 0.91, 0.90, 0.91, 0.84, 0.83, 0.85, 0.84, 0.83, 0.84]
    >>> change_points(acc)
    [6]
    """
    _check_options(method, penalty, min_size, jump)
    x = _series(values)
    pen = default_penalty(x) if penalty is None else float(penalty)
    min_size, jump = int(min_size), int(jump)
    n = x.size
    if n < 2 * min_size:
        return []
    if penalty is None and pen == 0.0:
        return []
    cost = _L2Cost(x)
    if method == "binseg":
        return _binseg(cost, n, pen, min_size, jump)
    return _pelt(cost, n, pen, min_size, jump)


def _best_split(
    cost: _L2Cost, start: int, end: int, min_size: int, jump: int
) -> tuple[int | None, float]:
    # ruptures scans range(start, end, jump) and keeps the max of (gain, bkp) tuples, so a
    # tie goes to the larger index.
    cands = np.arange(start, end, jump)
    cands = cands[(cands - start >= min_size) & (end - cands >= min_size)]
    if cands.size == 0:
        return None, 0.0
    whole = float(cost.cost(start, end))
    gains = whole - cost.cost(start, cands) - cost.cost(cands, end)
    best = float(gains.max())
    at = int(cands[np.flatnonzero(gains == best)[-1]])
    return at, best


def _binseg(cost: _L2Cost, n: int, pen: float, min_size: int, jump: int) -> list[int]:
    bkps = [n]
    cache: dict[tuple[int, int], tuple[int | None, float]] = {}
    while True:
        best_bkp: int | None = None
        best_gain = -math.inf
        for start, end in zip([0, *bkps[:-1]], bkps, strict=True):
            if (start, end) not in cache:
                cache[(start, end)] = _best_split(cost, start, end, min_size, jump)
            bkp, gain = cache[(start, end)]
            if gain > best_gain:
                best_bkp, best_gain = bkp, gain
        if best_bkp is None or not best_gain > pen:
            break
        bkps.append(best_bkp)
        bkps.sort()
    return bkps[:-1]


def _pelt(cost: _L2Cost, n: int, pen: float, min_size: int, jump: int) -> list[int]:
    # F[t]: optimal cost (with pen per segment) of x[:t]; ruptures' recursion and pruning
    # rule (drop t once F[t] + C(t, s) > F[s]), applied late enough to stay exact. The
    # rule rests on F[s] + C(s, s') + pen being a candidate for every later end s', which
    # holds only for s' >= s + min_size: s is not yet admissible before then. So a point
    # condemned at end s is dropped only from end s + min_size on. (ruptures drops it at
    # once, and its trimming zips the admissible points with a list that skips those
    # without a partition, so with min_size > 1 it can keep or drop the wrong points and
    # miss the optimum.)
    ends = [k for k in range(0, n, jump) if k >= min_size] + [n]
    best = np.zeros(n + 1)
    known = np.zeros(n + 1, dtype=bool)
    known[0] = True
    alive = np.ones(n + 1, dtype=bool)
    last = np.zeros(n + 1, dtype=np.int64)
    admissible = np.empty(0, dtype=np.int64)
    condemned: deque[tuple[int, npt.NDArray[np.int64]]] = deque()
    for bkp in ends:
        while condemned and condemned[0][0] + min_size <= bkp:
            alive[condemned.popleft()[1]] = False
        new_pt = ((bkp - min_size) // jump) * jump
        admissible = np.append(admissible, new_pt)
        admissible = admissible[alive[admissible]]
        cand = admissible[known[admissible]]
        if cand.size == 0:
            continue
        totals = best[cand] + cost.cost(cand, bkp) + pen
        i = int(np.argmin(totals))
        best[bkp] = totals[i]
        known[bkp] = True
        last[bkp] = cand[i]
        doomed = cand[totals > best[bkp] + pen]
        if doomed.size:
            condemned.append((bkp, doomed))
    out: list[int] = []
    t = n
    while t > 0:
        t = int(last[t])
        if t > 0:
            out.append(t)
    return sorted(out)


def robust_z(values: Any) -> FloatArray:
    """Robust z-scores ``(x - median) / (1.4826 * MAD)``.

    ``1.4826 * MAD`` estimates the standard deviation of normal data while ignoring a few
    outliers, so ``|z| > 3.5`` flags an anomalous value (Iglewicz & Hoaglin). Apply it to
    the step-to-step deltas of a metric to flag an anomalous step. When the MAD is 0 (more
    than half the values equal), the scale falls back to ``1.2533 * mean absolute
    deviation from the median`` (the same normal-consistency for that estimator); when that
    is 0 too (all values equal), every z-score is 0.

    Parameters
    ----------
    values : array_like
        Finite 1-D values.

    Returns
    -------
    numpy.ndarray
        One z-score per value.

    Raises
    ------
    InvalidInput
        Non-finite, empty or non-1-D values.

    Examples
    --------
    >>> robust_z([1.0, 1.1, 0.9, 1.0, 3.0]).round(2).tolist()
    [0.0, 0.67, -0.67, 0.0, 13.49]
    """
    x = _series(values)
    if x.size == 0:
        raise InvalidInput("robust_z needs at least one value, got an empty series")
    med = float(np.median(x))
    dev = np.abs(x - med)
    scale = 1.4826 * float(np.median(dev))
    if scale == 0.0:
        scale = 1.2533 * float(dev.mean())
    if scale == 0.0:
        return np.zeros_like(x)
    out: FloatArray = (x - med) / scale
    return out
