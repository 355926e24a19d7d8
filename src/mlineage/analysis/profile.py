"""Data profiles: what drift needs of a dataset, kept after the data is gone.

A :class:`DataProfile` holds, per column, the count, missing count, min, max, mean and
variance (mergeable with Chan et al.'s parallel update) and either

* **numeric** columns: the exact sorted values while the column has at most
  ``exact_limit`` values (10,000 by default), so drift statistics computed from the
  profile equal scipy's on the raw data; above that, an Apache DataSketches KLL sketch
  (``k=200``) whose normalised rank error bounds every CDF value it reports;
* **categorical** columns: counts of the ``top_k`` most frequent categories (100 by
  default) and one "other" count for the rest.

Profiles merge (``a.merge(b)``): counts, min/max and exact values merge exactly and in
any order; means/variances up to floating-point rounding; sketches within their bound.
:func:`drift_between` compares two profiles alone and returns a :class:`DriftReport`.

The sketch comes from the optional ``datasketches`` package
(``pip install 'mlineage[analysis]'``); it is imported only when a column crosses the
exact limit, and profiling such a column without it raises
:class:`~mlineage.errors.MissingDependency`.

Serialised form (:meth:`DataProfile.to_bytes`): UTF-8 JSON with ``"format": 1``; exact
values as base64 of little-endian float64, a sketch as base64 of the sketch library's own
portable ``serialize()`` bytes. Nothing is pickled.
"""

from mlineage.analysis._columns import ColumnProfile
from mlineage.analysis._data_profile import DataProfile
from mlineage.analysis._drift_report import DriftReport, FeatureDrift, drift_between
from mlineage.analysis._sketch import (
    DEFAULT_EXACT_LIMIT,
    DEFAULT_K,
    DEFAULT_TOP_K,
    OTHER,
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
    "sketch_rank_error",
]
