"""Change points of a metric series, and robust z-scores of its steps.

:func:`change_points` segments a 1-D series into pieces of constant level, minimising the
sum of squared deviations from each piece's mean plus a penalty per piece (the ``"l2"``
cost of ruptures), by binary segmentation or by PELT. Breakpoints follow ruptures'
convention: a breakpoint ``b`` is the index where a new segment *starts*; unlike
ruptures, the series length ``n`` is *not* included, so a series without change gives
``[]``. For a given penalty the breakpoints are ruptures' (``Binseg``/``Pelt`` with
``model="l2"``), except where ruptures' PELT misses the optimum (see :func:`change_points`).

Default penalty: ``3 * s2 * log(n)`` (BIC-like, a little above the classical
``2 sigma**2 log n`` to keep false alarms rare), where ``s2`` is a robust estimate of the
series' *long-run* noise variance, the larger of

- ``(1.4826 * MAD(diff(x)))**2 / 2``: the short-range noise variance (the MAD of first
  differences, the usual robust estimate in ruptures/PELT practice; neither level shifts
  nor a linear trend inflate it), and
- the batch-means long-run variance: ``b * (1.4826 * MAD(diff(batch means)))**2 / 2`` over
  consecutive batches of ``b = isqrt(n)`` points (when there are at least 9 batches),
  which equals the noise variance for independent noise but grows with ``b`` when the
  series wanders (autocorrelated noise, a random walk).

Both are computed on the residuals of the segmentation, iterated: segment with the penalty
from the series itself, subtract each segment's mean, re-estimate, segment again, until the
breakpoints repeat (at most 8 rounds), so real shifts do not inflate the penalty that
judges them. Where a MAD is 0 (more than half the differences equal, up to rounding),
``1.2533 * mean absolute deviation from the median`` stands in for it; a constant series
or a straight line has no change point. Consequences: independent noise gives no change
point in more than 95 % of series; a random walk, whose wander at the batch scale sets the
penalty, gives a handful (its largest excursions) instead of one per few steps.
"""

import mlineage.stats._changepoints as _changepoints
from mlineage.stats._changepoints import *  # noqa: F403

__all__: list[str] = []
__all__ += _changepoints.__all__
