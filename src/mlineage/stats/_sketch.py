"""Profile building blocks: settings, the optional sketches, reading the stored form."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlineage.errors import CorruptRecord, InvalidInput, MissingDependency

FloatArray = npt.NDArray[np.float64]
Kind = Literal["numeric", "categorical"]

#: A numeric column keeps its exact values up to this many (non-missing) values.
DEFAULT_EXACT_LIMIT = 10_000
#: KLL sketch size parameter (rank error ~1.33% single-sided, ~1.65% double-sided).
DEFAULT_K = 200
#: A categorical column keeps exact counts of up to this many distinct categories; above,
#: a frequent-items sketch, of which it reports this many most frequent categories.
DEFAULT_TOP_K = 100
#: Name of the bucket that holds the categories beyond ``top_k`` in drift tables.
OTHER = "__other__"
#: Newest profile format this code reads. It writes format 1 (what every release reads)
#: unless the profile needs format 2: a categorical column holding a frequent-items sketch,
#: or a numeric column of huge (or only tiny) values, whose M2 is stored scaled.
FORMAT = 2
_EXTRA = "pip install 'mlineage[analysis]'"


def kll_sketch_class() -> Any:
    # datasketches is an optional extra, needed only above the exact limit.
    try:
        from datasketches import kll_doubles_sketch  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependency(
            "a numeric column has more values than the exact limit and needs a KLL sketch "
            f"from the 'datasketches' package, which is not installed; {_EXTRA}, or raise "
            "exact_limit to keep exact values"
        ) from None
    return kll_doubles_sketch


def frequent_sketch_class() -> Any:
    # datasketches is an optional extra, needed only above top_k distinct categories.
    try:
        from datasketches import frequent_strings_sketch
    except ImportError:
        raise MissingDependency(
            "a categorical column has more distinct categories than top_k and needs a "
            "frequent-items sketch from the 'datasketches' package, which is not installed; "
            f"{_EXTRA}, or raise top_k to keep exact counts"
        ) from None
    return frequent_strings_sketch


def lg_map_size(top_k: int) -> int:
    """Base-2 logarithm of the frequent-items sketch's map size for ``top_k``.

    The map holds at least 8 x ``top_k`` slots (1,024 for ``top_k=100``), so the sketch
    tracks 0.75 x that many categories (768) and stays exact up to that many distinct ones.
    """
    return max(3, (top_k - 1).bit_length() + 3)


def frequent_items_epsilon(top_k: int = DEFAULT_TOP_K) -> float:
    """A-priori bound on a sketched category count's error, as a fraction of the count.

    DataSketches states the frequent-items sketch's worst case as ``UB - LB <= epsilon * W``
    for every item, ``W`` the column's count and ``epsilon = 3.5 / maxMapSize``
    (``frequent_strings_sketch.get_epsilon_for_lg_size``). With the map size mlineage uses
    (:func:`lg_map_size`), that is 0.34% of the count at ``top_k=100``. A column's actual
    bound, :attr:`ColumnProfile.count_error`, is usually much smaller.

    Parameters
    ----------
    top_k : int
        The profile's ``top_k``.

    Returns
    -------
    float
        The error bound, a fraction of the category's count.

    Raises
    ------
    MissingDependency
        ``datasketches`` is not installed.

    Examples
    --------
    >>> round(frequent_items_epsilon(100), 5)
    0.00342
    """
    return float(frequent_sketch_class().get_epsilon_for_lg_size(lg_map_size(top_k)))


def sketch_rank_error(k: int = DEFAULT_K) -> float:
    """Bound on the error of any CDF value a KLL sketch of size ``k`` reports.

    This is DataSketches' a-priori *double-sided* normalised rank error
    (``kll_doubles_sketch.get_normalized_rank_error(k, True)``, 1.65% at ``k=200``), which
    holds with 99% confidence; the single-sided value (one rank query) is 1.33%. Using the
    larger one makes the bound on a KS statistic between two sketches,
    ``|KS_sketch - KS_exact| <= eps_a + eps_b``, conservative. An exact column has error 0.

    Parameters
    ----------
    k : int
        Sketch size parameter.

    Returns
    -------
    float
        The normalised rank error, a fraction of the column's count.

    Raises
    ------
    MissingDependency
        ``datasketches`` is not installed (``pip install 'mlineage[analysis]'``).

    Examples
    --------
    >>> round(sketch_rank_error(200), 4)
    0.0165
    """
    return float(kll_sketch_class().get_normalized_rank_error(k, True))


# --------------------------------------------------------------------------------------
# Reading the serialised form


def json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CorruptRecord(f"profile {what} is not a JSON object")
    return value


def get_field(d: dict[str, Any], key: str, typ: type) -> Any:
    value = d.get(key)
    if not isinstance(value, typ) or isinstance(value, bool):
        raise CorruptRecord(f"profile field {key!r} is missing or not a {typ.__name__}")
    return value


def get_count(d: dict[str, Any], key: str, col: str) -> int:
    value = d.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not a count ({value!r})")
    return value


def get_float(d: dict[str, Any], key: str, col: str) -> float:
    value = d.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not a number ({value!r})")
    if not math.isfinite(value):
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not finite")
    return float(value)


def b64_field(value: Any, col: str, key: str) -> bytes:
    if not isinstance(value, str):
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not base64 text")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not valid base64") from None


def deserialize_sketch(sketch_class: Any, value: Any, col: str) -> Any:
    """A DataSketches sketch from a column's base64 ``"sketch"`` field."""
    try:
        return sketch_class.deserialize(b64_field(value, col, "sketch"))
    except (ValueError, IndexError, RuntimeError, TypeError) as exc:
        raise CorruptRecord(f"profile column {col!r}: sketch does not deserialise: {exc}") from None


# --------------------------------------------------------------------------------------
# Batches -> columns


def missing_mask(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """None, float NaN and pandas' NA/NaT in an object array."""
    return np.fromiter(
        (v is None or (isinstance(v, float) and v != v) or _is_na(v) for v in values),
        dtype=bool,
        count=values.size,
    )


def _is_na(value: Any) -> bool:
    # pandas.NA / NaT without importing pandas: both are their own type's singletons.
    name = type(value).__name__
    return name in ("NAType", "NaTType")


def kind_of(arr: npt.NDArray[Any], what: str) -> Kind:
    if arr.dtype.kind in "fiu":
        return "numeric"
    if arr.dtype.kind in "bOUS":
        return "categorical"
    raise InvalidInput(
        f"{what} has dtype {arr.dtype}, which mlineage cannot profile; convert it to "
        "numbers (e.g. timestamps to seconds) or to strings"
    )


def kind_of_label(arr: npt.NDArray[Any], label_kind: str) -> Kind:
    if label_kind == "numeric":
        return "numeric"
    if label_kind == "categorical":
        return "categorical"
    if label_kind != "auto":
        raise InvalidInput(
            f"label_kind must be 'auto', 'numeric' or 'categorical', got {label_kind!r}"
        )
    # Integer, boolean and string labels are classes; float labels are regression targets.
    if arr.dtype.kind == "f":
        return "numeric"
    if arr.dtype.kind in "biuOUS":
        return "categorical"
    return kind_of(arr, "label")
