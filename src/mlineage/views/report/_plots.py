"""Small plot data for the report, drawn from stored profiles and metric series.

:func:`distribution` gives a reference-vs-current histogram of a numeric column (shared
bin edges over both columns' 1st-99th percentiles, each bin's share from the stored
CDF: exact values or the sketch) or the category shares of a categorical column (new
categories named); :func:`lttb` downsamples a long metric series keeping its shape and
chosen points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mlineage.errors import MLineageError

__all__ = [
    "BINS",
    "TOP_CATEGORIES",
    "distribution",
    "finite",
    "lttb",
    "lttb_arrays",
    "round_or_none",
]

#: Bins of a numeric column's histogram.
BINS = 16
#: Categories drawn for a categorical column (largest first; new ones always).
TOP_CATEGORIES = 10


def finite(x: object) -> float | None:
    """``x`` as a float when it is a finite number, else None (JSON has no NaN)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def round_or_none(x: object, digits: int = 4) -> float | None:
    """``x`` rounded to ``digits`` when finite, else None."""
    value = finite(x)
    return None if value is None else round(value, digits)


def distribution(ref: Any, cur: Any) -> dict[str, Any] | None:
    """Reference-vs-current shares of two column profiles, or None when not drawable."""
    if ref is None or cur is None or ref.kind != cur.kind or not ref.count or not cur.count:
        return None
    try:
        if ref.kind == "numeric":
            return _numeric(ref, cur)
        return _categorical(ref, cur)
    except (MLineageError, ValueError):
        return None


def _numeric(ref: Any, cur: Any) -> dict[str, Any] | None:
    import numpy as np

    lo = min(float(ref.quantiles([0.01])[0]), float(cur.quantiles([0.01])[0]))
    hi = max(float(ref.quantiles([0.99])[0]), float(cur.quantiles([0.99])[0]))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    if hi <= lo:
        hi = lo + (abs(lo) * 0.01 or 1.0)
    edges = np.linspace(lo, hi, BINS + 1)
    inner = edges[1:-1]

    def shares(col: Any) -> list[float]:
        cdf = np.concatenate(([0.0], col.cdf(inner), [1.0]))
        return [round(float(x), 4) for x in np.clip(np.diff(cdf), 0.0, 1.0)]

    return {
        "kind": "numeric",
        "edges": [float(f"{e:.6g}") for e in edges],
        "ref": shares(ref),
        "cur": shares(cur),
    }


def _categorical(ref: Any, cur: Any) -> dict[str, Any]:
    rc, cc = ref.categories, cur.categories
    new = [c for c in cc if c not in rc]
    order = sorted(set(rc) | set(cc), key=lambda c: -(rc.get(c, 0) + cc.get(c, 0)))
    shown = [c for c in order if c not in new][: max(0, TOP_CATEGORIES - len(new[:TOP_CATEGORIES]))]
    shown += new[:TOP_CATEGORIES]
    return {
        "kind": "categorical",
        "categories": shown,
        "ref": [round(rc.get(c, 0) / ref.count, 4) for c in shown],
        "cur": [round(cc.get(c, 0) / cur.count, 4) for c in shown],
        "new": new[:TOP_CATEGORIES],
    }


def lttb(points: Sequence[Sequence[float]], target: int, keep: Sequence[int] = ()) -> list[int]:
    """Indices of ``points`` ([x, y] pairs, x increasing) that draw the same shape.

    Largest-Triangle-Three-Buckets (Steinarsson, 2013) down to about ``target`` points,
    plus every index in ``keep`` (blame suspects, change points, alias moves), which are
    never dropped. Short series are returned whole.
    """
    import numpy as np

    n = len(points)
    keep_set = {i for i in keep if 0 <= i < n}
    if n <= max(target, 3):
        return list(range(n))
    xy = np.asarray(points, dtype=np.float64).reshape(n, 2)
    return sorted(set(lttb_arrays(xy[:, 0], xy[:, 1], target)) | keep_set)


def lttb_arrays(x: Any, y: Any, target: int) -> list[int]:
    """:func:`lttb` on two numpy arrays (no points kept besides the shape's)."""
    import numpy as np

    n = len(x)
    if n <= max(target, 3):
        return list(range(n))
    bounds = np.floor(np.linspace(1, n - 1, target - 1)).astype(np.int64)
    chosen = [0]
    a = 0
    for b in range(target - 2):
        start, end = int(bounds[b]), max(int(bounds[b + 1]), int(bounds[b]) + 1)
        nxt_end = int(bounds[b + 2]) if b + 2 < len(bounds) else n
        nxt_start = min(end, n - 1)
        avg_x = float(x[nxt_start : max(nxt_end, nxt_start + 1)].mean())
        avg_y = float(y[nxt_start : max(nxt_end, nxt_start + 1)].mean())
        px, py = x[start:end], y[start:end]
        area = np.abs((x[a] - avg_x) * (py - y[a]) - (x[a] - px) * (avg_y - y[a]))
        a = start + int(np.argmax(area))
        chosen.append(a)
    chosen.append(n - 1)
    return chosen
