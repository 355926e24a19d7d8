"""Input checks shared by the statistics: samples and counts as float arrays, and the
scalars that stored results hold (real numbers in a range, counts)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------
# Input checks


def as_vector(values: Any, name: str, kind: str) -> FloatArray:
    """``values`` as a 1-D float64 array, or InvalidInput naming ``name`` (of ``kind``,
    "numbers")."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} must be {kind}, got {type(values).__name__}: {exc}") from None
    if arr.ndim != 1:
        raise InvalidInput(f"{name} must be a 1-D sequence, got shape {arr.shape}")
    return arr


def as_sample(values: Any, name: str, *, allow_inf: bool = False) -> FloatArray:
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


def as_counts(values: Any, name: str) -> FloatArray:
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


def check_aligned(a: FloatArray, b: FloatArray, names: str, entry: str) -> None:
    """Refuse two count arrays of different lengths (``names``: ``"p and q"``; one entry
    per ``entry``, a category or a bin)."""
    if a.shape != b.shape:
        raise InvalidInput(
            f"{names} must have the same length (one entry per {entry}), got {a.size} and {b.size}"
        )


def as_real(value: object, name: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite real number in ``[low, high]`` as a float: an int or float, not a bool."""
    if not (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
        and low <= value <= high
    ):
        raise InvalidInput(
            f"{name} is {value!r:.80} ({type(value).__name__}); it must be a finite number "
            f"in [{low:g}, {high:g}]"
        )
    return float(value)


def as_count(value: object, name: str, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (a Python or numpy integer, not a bool or a float)."""
    if not (
        isinstance(value, (int, np.integer))
        and not isinstance(value, (bool, np.bool_))
        and value >= minimum
    ):
        raise InvalidInput(
            f"{name} is {value!r:.80} ({type(value).__name__}); it must be an integer >= {minimum}"
        )
    return int(value)
