"""What "the merged profile equals the one-process profile" means, checked column by column."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlineage.analysis import DataProfile


def arrow_rule(table: Any) -> Any:
    """A pyarrow table as pandas by the engines' documented rule (ints Int64, bools boolean)."""
    import pandas as pd
    import pyarrow as pa

    def mapper(t: Any) -> Any:
        if pa.types.is_integer(t):
            return pd.Int64Dtype()
        return pd.BooleanDtype() if pa.types.is_boolean(t) else None

    return table.to_pandas(types_mapper=mapper)


def assert_same_profile(merged: DataProfile, single: DataProfile, frame: Any) -> None:
    """Counts, min/max exact; moments to rounding; categories and quantiles within bounds.

    ``frame`` is the whole data as pandas, the truth the sketched parts are checked on.
    """
    assert merged.num_rows == single.num_rows == len(frame)
    assert merged.columns == single.columns
    assert merged.label == single.label
    names = [*merged.columns, *([merged.label] if merged.label else [])]
    for name in names:
        a, b = merged[name], single[name]
        assert (a.kind, a.count, a.missing, a.infinite) == (b.kind, b.count, b.missing, b.infinite)
        assert (a.min, a.max) == (b.min, b.max), name
        if a.mean is None or b.mean is None:
            assert a.mean is b.mean is None, name
        else:
            assert math.isclose(a.mean, b.mean, rel_tol=1e-12, abs_tol=1e-12), name
            assert math.isclose(a.std, b.std, rel_tol=1e-12, abs_tol=1e-12), name
        column = frame[name]
        if a.kind == "numeric":
            _check_quantiles(a, column)
        else:
            _check_categories(a, b, column)


def _check_quantiles(col: Any, column: Any) -> None:
    values = np.sort(column.to_numpy(dtype=np.float64, na_value=np.nan))
    values = values[np.isfinite(values)]
    if col.is_exact:
        assert col.values.tolist() == values.tolist()
        return
    points = np.quantile(values, np.linspace(0.01, 0.99, 25))
    truth = np.searchsorted(values, points, side="right") / values.size
    assert np.all(np.abs(col.cdf(points) - truth) <= col.rank_error)


def _check_categories(a: Any, b: Any, column: Any) -> None:
    truth = {str(k): int(v) for k, v in column.dropna().astype(object).value_counts().items()}
    assert len(a.categories) <= a.top_k
    if a.count_error == 0 and b.count_error == 0:
        # exact counts: the same top_k categories (all of them when there are no more)
        assert a.categories == b.categories
        assert all(truth[c] == n for c, n in a.categories.items())
        assert len(truth) > a.top_k or a.categories == truth
        return
    for category, lower in a.categories.items():
        assert lower <= truth[category] <= lower + a.count_error
