"""Data profiles: what drift needs of a dataset, kept after the data is gone.

A :class:`DataProfile` holds, per column, the count, missing count, min, max, mean and
variance (mergeable with Chan et al.'s parallel update, finite for any finite values) and
either

* **numeric** columns: the exact sorted values while the column has at most
  ``exact_limit`` values (10,000 by default), so drift statistics computed from the
  profile equal scipy's on the raw data; above that, an Apache DataSketches KLL sketch
  (``k=200``) whose normalised rank error bounds every CDF value it reports;
* **categorical** columns: the exact count of every category while the column has at
  most ``top_k`` distinct ones (100 by default); above, an Apache DataSketches
  frequent-items sketch, whose counts are bounded (:attr:`ColumnProfile.count_error`,
  at most :func:`frequent_items_epsilon` x the count), reporting the ``top_k`` heavy
  hitters.

Profiles merge (``a.merge(b)``) in any order: counts, min/max, exact values and exact
category counts are equal whatever the order; means/variances up to floating-point
rounding; sketches within their bound. :func:`drift_between` compares two profiles alone
and returns a :class:`DriftReport`. Large inputs are profiled in row chunks, so memory is
one chunk plus the sketches, whichever constructor is used.

The sketches come from the optional ``datasketches`` package
(``pip install 'mlineage[analysis]'``); it is imported only when a column crosses the
exact limit or ``top_k``, and profiling such a column without it raises
:class:`~mlineage.errors.MissingDependency`.

Serialised form (:meth:`DataProfile.to_bytes`): UTF-8 JSON with ``"format": 1`` (or 2
when a categorical column holds a sketch or a numeric column's moments are scaled); exact
values as base64 of little-endian float64, a sketch as base64 of the sketch library's own
portable ``serialize()`` bytes. Nothing is pickled.
"""

from mlineage.stats._columns import ColumnProfile
from mlineage.stats._data_profile import DataProfile
from mlineage.stats._drift_report import DriftReport, FeatureDrift, drift_between
from mlineage.stats._sketch import (
    DEFAULT_EXACT_LIMIT,
    DEFAULT_K,
    DEFAULT_TOP_K,
    OTHER,
    frequent_items_epsilon,
    sketch_rank_error,
)

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "DEFAULT_K",
    "DEFAULT_TOP_K",
    "OTHER",
    "ColumnProfile",
    "DataProfile",
    "DriftReport",
    "FeatureDrift",
    "drift_between",
    "frequent_items_epsilon",
    "sketch_rank_error",
]
