"""Data shared by the engine tests: one frame in three parts with every awkward column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

#: Sizes small enough that every part of the profile is sketched: numeric columns pass the
#: exact limit and the categorical column has more categories than top_k.
SIZES = {"exact_limit": 100, "top_k": 8}
ROWS_PER_PART = 400


def make_frame(seed: int = 0) -> Any:
    """Three parts of 400 rows: numbers, nullable ints, bools, many categories, a label,
    a float column that is all null in part 0 and a string column all null in part 2."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = 3 * ROWS_PER_PART
    part = np.repeat(np.arange(3), ROWS_PER_PART)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    ints = pd.array(rng.integers(-50, 50, n), dtype="Int64")
    ints[rng.random(n) < 0.2] = pd.NA
    z = rng.exponential(size=n)
    z[part == 0] = np.nan
    s = np.array([f"s{v}" for v in rng.integers(0, 4, n)], dtype=object)
    s[part == 2] = None
    # Zipf-like categories, a few frequent among hundreds: past the frequent-items
    # sketch's exact range for top_k=8 (48 tracked), so counts carry an error bound.
    c = np.array([f"c{min(v, 499)}" for v in rng.zipf(1.3, n)], dtype=object)
    return pd.DataFrame(
        {
            "part": pd.array(part, dtype="Int64"),
            "x": x,
            "n": ints,
            "flag": pd.array(rng.random(n) < 0.3, dtype="boolean"),
            "c": c,
            "z": z,
            "s": s,
            "y": pd.array(rng.integers(0, 3, n), dtype="Int64"),
        }
    )


@pytest.fixture(scope="module")
def frame() -> Any:
    return make_frame()
