"""The code of :mod:`mlineage.stats.changepoints` (its public home) and the helpers the
other statistics modules share with it."""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput
from mlineage.stats._inputs import as_vector

__all__ = ["change_points", "default_penalty", "robust_z"]

FloatArray = npt.NDArray[np.float64]


def _series(values: Any) -> FloatArray:
    x = as_vector(values, "values", "numbers")
    if not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x))[:5].tolist()
        raise InvalidInput(
            f"values must be finite; positions {bad} are NaN or inf (drop or fill them first)"
        )
    return x


def check_options(method: object, penalty: object, min_size: object, jump: object = 1) -> None:
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


def default_penalty(
    values: Any,
    method: Literal["binseg", "pelt"] = "binseg",
    min_size: int = 2,
    jump: int = 1,
) -> float:
    """The default penalty of :func:`change_points`: ``3 * s2 * log(n)``.

    ``s2`` is the robust long-run noise variance of the series around the segmentation
    that this penalty itself gives (see the module docstring), so
    ``change_points(x, penalty=default_penalty(x)) == change_points(x)`` with the same
    ``method``, ``min_size`` and ``jump``. Scale it to ask for fewer or more changes:
    ``change_points(x, penalty=2 * default_penalty(x))``.

    Parameters
    ----------
    values : array_like
        The 1-D series (finite).
    method, min_size, jump
        As in :func:`change_points` (the segmentation the residuals are taken from).

    Returns
    -------
    float
        The penalty (0 when the series is constant or a straight line, or has < 3 points).

    Raises
    ------
    InvalidInput
        An invalid option (checked first), or not a finite 1-D numeric series.

    Examples
    --------
    >>> default_penalty([1.0, 1.0, 1.0, 1.0])
    0.0
    >>> x = [0.0, 0.1, -0.1, 0.0, 0.1, 2.0, 2.1, 1.9, 2.0, 2.1]
    >>> change_points(x, penalty=default_penalty(x)) == change_points(x) == [5]
    True
    """
    check_options(method, None, min_size, jump)
    return search_change_points(_series(values), method, None, int(min_size), int(jump))[1]


def _scale(v: FloatArray) -> float:
    """Robust standard deviation: 1.4826 MAD, or 1.2533 mean |deviation| when the MAD is 0.

    "0" allows for rounding: steps of 0.1 measured as 0.1 and 0.09999999999999998 are tied.
    """
    med = _median(v)
    dev = np.abs(v - med)
    mean = 1.2533 * float(dev.mean())
    scale = 1.4826 * _median(dev)
    return mean if scale <= 1e-9 * mean else scale


def _median(v: FloatArray) -> float:
    """``np.median(v)`` of a non-empty series: the middle value, or the mean of the two
    middle ones; NaN when one is NaN.

    The same value without np.median's generic path (which imports numpy.ma on its first
    call). A long series selects the middle values from a narrow band of values, found
    with a sorted sample and checked by counting (about 3x faster than partitioning it
    all); when the band misses them, or a value is NaN, the whole series is partitioned.
    """
    half = v.size // 2
    ranks = (half,) if v.size % 2 else (half - 1, half)
    if v.size >= _BANDED:
        picked = _select_banded(v, ranks)
        if picked is not None:
            return float(picked[0] if len(picked) == 1 else (picked[0] + picked[1]) / 2)
    part = np.partition(v, half)
    upper = part[half:]
    if np.isnan(upper.max()):  # NaN sorts last, so any NaN is here
        return math.nan
    if v.size % 2:
        return float(upper[0])
    return float((part[:half].max() + upper[0]) / 2)


#: Series at least this long take their median from a band (:func:`_select_banded`).
_BANDED = 1 << 16


def _select_banded(v: FloatArray, ranks: tuple[int, ...]) -> FloatArray | None:
    """The values of rank ``ranks`` (0-based, ascending, adjacent) in ``v``, or None.

    None when ``v`` holds a NaN or the band chosen from a strided sample does not hold
    those ranks (the caller then partitions all of ``v``).
    """
    n = v.size
    sample = np.sort(v[:: n // 4096])
    m = sample.size
    at = ranks[0] * m // n
    lo, hi = sample[max(at - 96, 0)], sample[min(at + 96, m - 1)]
    below = int(np.count_nonzero(v < lo))
    inside = (v >= lo) & (v <= hi)
    band = v[inside]
    above = int(np.count_nonzero(v > hi))
    if below + band.size + above != n:  # a NaN is in none of the three
        return None
    first, last = ranks[0] - below, ranks[-1] - below
    if first < 0 or last >= band.size:
        return None
    part = np.partition(band, [first, last] if last != first else first)
    out: FloatArray = part[first : last + 1]
    return out


def _long_run_variance(residual: FloatArray, short: float) -> float:
    """max(short-range variance, batch-means long-run variance) of ``residual``."""
    batch = math.isqrt(residual.size)
    count = residual.size // batch if batch else 0
    if batch < 2 or count < 9:
        return short
    means = residual[: batch * count].reshape(count, batch).mean(axis=1)
    return max(short, batch * _scale(np.diff(means)) ** 2 / 2.0)


def _segment_means(x: FloatArray, points: list[int]) -> FloatArray:
    edges = np.array([0, *points, x.size])
    sums = np.add.reduceat(x, edges[:-1])
    means: FloatArray = np.repeat(sums / np.diff(edges), np.diff(edges))
    return means


_ROUNDS = 8


def search_change_points(
    x: FloatArray, method: str, penalty: float | None, min_size: int, jump: int
) -> tuple[list[int], float]:
    """Breakpoints and the penalty they were found with (the default one when None)."""
    n = x.size
    if penalty is not None:
        if n < 2 * min_size:
            return [], float(penalty)
        return _run(_L2Cost(x), n, float(penalty), method, min_size, jump), float(penalty)
    if n < 3:
        return [], 0.0
    # The short-range variance comes from the series itself: its first differences are
    # already free of levels, and a difference across a breakpoint is one outlier the MAD
    # ignores. The long-run part is re-estimated around each segmentation (see module).
    short = _scale(np.diff(x)) ** 2 / 2.0
    cost = _L2Cost(x)
    # A segment's best split does not depend on the penalty: later rounds reuse them.
    splits: dict[tuple[int, int], tuple[int | None, float]] = {}
    points: list[int] | None = None
    residual = x
    pen = 0.0
    for _ in range(_ROUNDS):
        pen = 3.0 * _long_run_variance(residual, short) * math.log(n)
        if pen == 0.0 or n < 2 * min_size:
            return [], pen
        found = (
            _binseg(cost, n, pen, min_size, jump, splits)
            if method == "binseg"
            else _pelt(cost, n, pen, min_size, jump)
        )
        if found == points:
            break
        points = found
        residual = x - _segment_means(x, found)
    assert points is not None
    return points, pen


def _run(cost: _L2Cost, n: int, pen: float, method: str, min_size: int, jump: int) -> list[int]:
    if method == "binseg":
        return _binseg(cost, n, pen, min_size, jump, {})
    return _pelt(cost, n, pen, min_size, jump)


class _L2Cost:
    """Sum of squared deviations from the mean of ``x[s:e]``, O(1) from prefix sums."""

    def __init__(self, x: FloatArray) -> None:
        # Centre first so the prefix sums do not lose precision to a large offset.
        y = x - x.mean()
        self.s1 = np.zeros(x.size + 1)
        np.cumsum(y, out=self.s1[1:])
        self.s2 = np.zeros(x.size + 1)
        np.cumsum(np.multiply(y, y, out=y), out=self.s2[1:])
        # Differences of prefix sums carry rounding of the order of eps * total: a cost
        # below that is 0 (a constant segment must cost exactly 0, or a zero penalty
        # would split it on rounding noise).
        self.floor = 64 * np.finfo(np.float64).eps * float(self.s2[-1])

    def cost(self, start: Any, end: Any) -> Any:
        n = end - start
        s = self.s1[end] - self.s1[start]
        c = self.s2[end] - self.s2[start] - s * s / n
        return np.where(c > self.floor, c, 0.0)

    def costs(self, fixed: int, cands: slice, fixed_first: bool) -> FloatArray:
        """``cost(fixed, c)`` (``fixed_first``) or ``cost(c, fixed)`` for each ``c`` of
        ``cands``: the same values, computed on views of the prefix sums, in place."""
        start, stop, step = cands.start, cands.stop, cands.step
        s: FloatArray
        c: FloatArray
        if fixed_first:  # n = c - fixed, as a float (exact below 2**53)
            n = np.arange(start - fixed, stop - fixed, step, dtype=np.float64)
            s = np.subtract(self.s1[cands], self.s1[fixed])
            c = np.subtract(self.s2[cands], self.s2[fixed])
        else:  # n = fixed - c
            n = np.arange(fixed - start, fixed - stop, -step, dtype=np.float64)
            s = np.subtract(self.s1[fixed], self.s1[cands])
            c = np.subtract(self.s2[fixed], self.s2[cands])
        np.multiply(s, s, out=s)
        np.divide(s, n, out=s)
        np.subtract(c, s, out=c)
        self.clamp(c)
        return c

    def clamp(self, c: FloatArray) -> None:
        """``c = np.where(c > floor, c, 0.0)``, in place."""
        np.copyto(c, 0.0, where=~(c > self.floor))


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
    check_options(method, penalty, min_size, jump)
    x = _series(values)
    return search_change_points(
        x, method, None if penalty is None else float(penalty), int(min_size), int(jump)
    )[0]


def _best_split(
    cost: _L2Cost, start: int, end: int, min_size: int, jump: int
) -> tuple[int | None, float]:
    # ruptures scans range(start, end, jump) and keeps the max of (gain, bkp) tuples, so a
    # tie goes to the larger index. Gains equal but for rounding (prefix sums round
    # differently from ruptures' per-segment variances) count as tied.
    first = start + -(-min_size // jump) * jump
    cands = slice(first, end - min_size + 1, jump)
    if first > end - min_size:
        return None, 0.0
    whole = float(cost.cost(start, end))
    # whole - cost(start, c) - cost(c, end) for every candidate c, as cost() computes it
    # (the same operations in the same order), on slices of the prefix sums and in place.
    gains = cost.costs(start, cands, True)
    np.subtract(whole, gains, out=gains)
    gains -= cost.costs(end, cands, False)
    cost.clamp(gains)  # rounding noise is no gain
    best = float(gains.max())
    tied = np.flatnonzero(gains >= best - (cost.floor + 1e-12 * best))
    return first + int(tied[-1]) * jump, float(gains[tied[-1]])


def _binseg(
    cost: _L2Cost,
    n: int,
    pen: float,
    min_size: int,
    jump: int,
    splits: dict[tuple[int, int], tuple[int | None, float]],
) -> list[int]:
    # A heap of each segment's best split, largest gain first; a tie goes to the leftmost
    # segment, as ruptures' max() over segments in order. Each split scans only the two new
    # segments: O(n log n) for balanced splits instead of rescanning every segment.
    heap: list[tuple[float, int, int, int]] = []

    def push(start: int, end: int) -> None:
        if (start, end) not in splits:
            splits[start, end] = _best_split(cost, start, end, min_size, jump)
        at, gain = splits[start, end]
        if at is not None:
            heapq.heappush(heap, (-gain, start, end, at))

    push(0, n)
    found: list[int] = []
    while heap:
        gain, start, end, at = heapq.heappop(heap)
        if not -gain > pen:
            break
        found.append(at)
        push(start, at)
        push(at, end)
    return sorted(found)


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
