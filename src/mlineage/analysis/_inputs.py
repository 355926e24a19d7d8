"""Input checks shared by the drift statistics: samples and counts as float arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------
# Input checks


def _sample(values: Any, name: str, *, allow_inf: bool = False) -> FloatArray:
    """1-D float64 copy of ``values`` without NaNs; typed errors for anything else."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{name} must be numbers (an array-like of int or float), got "
            f"{type(values).__name__}: {exc}; encode categories and use chi2_contingency"
        ) from None
    if arr.ndim != 1:
        raise InvalidInput(
            f"{name} must be one-dimensional, got shape {arr.shape}; pass one column"
        )
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        raise InvalidInput(
            f"{name} has no values (empty, or all NaN); a distribution needs at least one"
        )
    if not allow_inf and not np.isfinite(arr).all():
        raise InvalidInput(
            f"{name} contains +/-inf; this distance needs finite values (drop or clip them)"
        )
    return arr


def _counts(values: Any, name: str) -> FloatArray:
    """1-D float64 array of non-negative finite counts or weights."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{name} must be numbers (counts or probabilities), got {type(values).__name__}: {exc}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidInput(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidInput(
            f"{name} must be finite and non-negative, got {arr.tolist()[:10]}"
            f"{'...' if arr.size > 10 else ''}"
        )
    if arr.sum() <= 0:
        raise InvalidInput(f"{name} sums to 0; a distribution needs some mass")
    return arr
