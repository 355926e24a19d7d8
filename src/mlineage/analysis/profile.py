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

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from mlineage.analysis.stats import (
    KSResult,
    _bin_counts,
    _ks_statistic_sorted,
    _psi_edges,
    benjamini_hochberg,
    bonferroni,
    chi2_contingency,
    js_distance,
    ks_pvalue,
    psi_from_counts,
    wasserstein,
)
from mlineage.errors import CorruptRecord, InvalidInput, MissingDependency, StoreFormatError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

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

FloatArray = npt.NDArray[np.float64]
Kind = Literal["numeric", "categorical"]

#: A numeric column keeps its exact values up to this many (non-missing) values.
DEFAULT_EXACT_LIMIT = 10_000
#: KLL sketch size parameter (rank error ~1.33% single-sided, ~1.65% double-sided).
DEFAULT_K = 200
#: Categorical columns keep this many most frequent categories.
DEFAULT_TOP_K = 100
#: Name of the bucket that holds the categories beyond ``top_k`` in drift tables.
OTHER = "__other__"
FORMAT = 1
_EXTRA = "pip install 'mlineage[analysis]'"


def _kll() -> Any:
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
        ``datasketches`` is not installed.

    Examples
    --------
    >>> round(sketch_rank_error(200), 4)
    0.0165
    """
    return float(_kll().get_normalized_rank_error(k, True))


# --------------------------------------------------------------------------------------
# Column profiles


class ColumnProfile:
    """Summary of one column: moments, and exact values, a sketch, or category counts.

    Built by :class:`DataProfile`; read it through ``profile[name]``. Treat it as
    immutable: :meth:`merge` returns a new profile.

    Attributes
    ----------
    name : str
        Column name.
    kind : {"numeric", "categorical"}
        How the column is summarised.
    count : int
        Values counted (numeric: finite values; categorical: non-missing values).
    missing : int
        NaN / None / NA entries.
    infinite : int
        +/-inf entries of a numeric column (kept out of every statistic).
    min, max, mean : float or None
        Over the counted values of a numeric column; None when there are none (and
        always for categorical columns).
    m2 : float
        Sum of squared deviations from the mean (Chan et al.'s M2).
    categories : dict of str to int
        Counts of the kept categories (categorical columns; keys are ``str(value)``).
    other : int
        Count of the values in categories beyond ``top_k``.
    """

    __slots__ = (
        "_sketch",
        "_values",
        "categories",
        "count",
        "exact_limit",
        "infinite",
        "k",
        "kind",
        "m2",
        "max",
        "mean",
        "min",
        "missing",
        "name",
        "other",
        "top_k",
    )

    def __init__(
        self,
        name: str,
        kind: Kind,
        *,
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        k: int = DEFAULT_K,
        top_k: int = DEFAULT_TOP_K,
    ) -> None:
        self.name = name
        self.kind: Kind = kind
        self.exact_limit = exact_limit
        self.k = k
        self.top_k = top_k
        self.count = 0
        self.missing = 0
        self.infinite = 0
        self.min: float | None = None
        self.max: float | None = None
        self.mean: float | None = None
        self.m2 = 0.0
        self._values: FloatArray | None = np.empty(0) if kind == "numeric" else None
        self._sketch: Any = None
        self.categories: dict[str, int] = {}
        self.other = 0

    # --- reading --------------------------------------------------------------------

    @property
    def is_exact(self) -> bool:
        """True when the column keeps its exact values (numeric, at most ``exact_limit``)."""
        return self.kind == "numeric" and self._sketch is None

    @property
    def values(self) -> FloatArray:
        """The sorted exact values of an exact numeric column (a read-only view).

        Raises
        ------
        InvalidInput
            The column is categorical or sketched.
        """
        if self._values is None:
            raise InvalidInput(
                f"column {self.name!r} keeps no exact values ({self.kind}, "
                f"{'sketched' if self._sketch is not None else 'categorical'}); use cdf() "
                "or quantiles()"
            )
        view: FloatArray = self._values.view()
        view.flags.writeable = False
        return view

    @property
    def variance(self) -> float | None:
        """Population variance (``ddof=0``) of the counted values, or None if none."""
        return None if self.count == 0 else self.m2 / self.count

    @property
    def std(self) -> float | None:
        """Population standard deviation (``ddof=0``), or None if no values."""
        var = self.variance
        return None if var is None else math.sqrt(var)

    @property
    def rank_error(self) -> float:
        """Bound on the error of :meth:`cdf` values: 0 when exact, else the sketch's."""
        if self._sketch is None:
            return 0.0
        return sketch_rank_error(self.k)

    def cdf(self, points: npt.ArrayLike) -> FloatArray:
        """Empirical CDF ``Pr(X <= x)`` of a numeric column at ``points``.

        Parameters
        ----------
        points : array_like
            Sorted or unsorted query points.

        Returns
        -------
        numpy.ndarray
            One value in [0, 1] per point; exact, or within :attr:`rank_error`.

        Raises
        ------
        InvalidInput
            The column is categorical or has no values.
        """
        self._need_numeric_values()
        pts = np.asarray(points, dtype=np.float64)
        if self._sketch is not None:
            if pts.size == 0:
                return np.empty(0)
            # the sketch wants distinct increasing split points
            uniq, inverse = np.unique(pts, return_inverse=True)
            vals = np.asarray(self._sketch.get_cdf(uniq.tolist(), True), dtype=np.float64)
            return vals[:-1][inverse.reshape(pts.shape)]
        assert self._values is not None
        return np.searchsorted(self._values, pts, side="right") / self.count

    def quantiles(self, ranks: npt.ArrayLike) -> FloatArray:
        """Quantiles of a numeric column at ``ranks`` in [0, 1].

        Exact columns use numpy's linear interpolation; sketched ones the sketch's
        inclusive quantiles.

        Parameters
        ----------
        ranks : array_like
            Normalised ranks.

        Returns
        -------
        numpy.ndarray
            One value per rank.

        Raises
        ------
        InvalidInput
            The column is categorical or has no values, or a rank is outside [0, 1].
        """
        self._need_numeric_values()
        r = np.asarray(ranks, dtype=np.float64)
        if r.size and (np.isnan(r).any() or r.min() < 0 or r.max() > 1):
            raise InvalidInput(f"ranks must lie in [0, 1], got {r.tolist()[:10]}")
        if self._sketch is not None:
            return np.asarray(self._sketch.get_quantiles(r.tolist(), True), dtype=np.float64)
        assert self._values is not None
        return np.asarray(np.quantile(self._values, r), dtype=np.float64)

    def support(self) -> FloatArray:
        """Sorted distinct points where the column's CDF (as stored) can jump."""
        self._need_numeric_values()
        if self._sketch is not None:
            items = np.asarray(list(self._sketch), dtype=np.float64)
            return np.unique(items[:, 0])
        assert self._values is not None
        return np.unique(self._values)

    def _need_numeric_values(self) -> None:
        if self.kind != "numeric":
            raise InvalidInput(f"column {self.name!r} is categorical; it has no CDF")
        if self.count == 0:
            raise InvalidInput(f"column {self.name!r} has no values (all missing)")

    def __repr__(self) -> str:
        if self.kind == "categorical":
            detail = f"categories={len(self.categories)}, other={self.other}"
        else:
            detail = f"mean={self.mean!r}, {'exact' if self.is_exact else 'sketch'}"
        return (
            f"ColumnProfile({self.name!r}, {self.kind}, count={self.count}, "
            f"missing={self.missing}, {detail})"
        )

    # --- building -------------------------------------------------------------------

    def _add_moments(self, n: int, mn: float, mx: float, mean: float, m2: float) -> None:
        if n == 0:
            return
        if self.count == 0:
            self.count, self.min, self.max, self.mean, self.m2 = n, mn, mx, mean, m2
            return
        assert self.mean is not None and self.min is not None and self.max is not None
        total = self.count + n
        delta = mean - self.mean
        # Chan, Golub & LeVeque (1979): exact in exact arithmetic, associative up to rounding.
        self.mean = self.mean + delta * n / total
        self.m2 = self.m2 + m2 + delta * delta * self.count * n / total
        self.min = min(self.min, mn)
        self.max = max(self.max, mx)
        self.count = total

    def _add_numeric(self, finite: FloatArray) -> None:
        """Absorb finite values (moments must be added separately)."""
        if finite.size == 0:
            return
        if not (finite.flags.writeable and finite.flags.c_contiguous):
            # the sketch's binding takes only writable contiguous float64 arrays (pandas 3
            # hands out read-only views)
            finite = np.array(finite, dtype=np.float64, order="C")
        if self._sketch is not None:
            self._sketch.update(finite)
            return
        assert self._values is not None
        if self._values.size + finite.size <= self.exact_limit:
            self._values = np.sort(np.concatenate([self._values, finite]), kind="stable")
            return
        sketch = _kll()(self.k)
        if self._values.size:
            sketch.update(self._values)
        sketch.update(finite)
        self._sketch, self._values = sketch, None

    def _add_categories(self, counts: dict[str, int], other: int = 0) -> None:
        for key, c in counts.items():
            self.categories[key] = self.categories.get(key, 0) + c
        self.other += other
        if len(self.categories) > self.top_k:
            ranked = sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0]))
            self.categories = dict(ranked[: self.top_k])
            self.other += sum(c for _, c in ranked[self.top_k :])

    def _empty_like(self) -> ColumnProfile:
        return ColumnProfile(
            self.name, self.kind, exact_limit=self.exact_limit, k=self.k, top_k=self.top_k
        )

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """Profile of the two columns' data together (neither input changes).

        Parameters
        ----------
        other : ColumnProfile
            Same name and kind.

        Returns
        -------
        ColumnProfile
            Counts, min, max and exact values are exact and order-independent; mean and
            variance agree up to rounding; sketches merge within their error bound. Exact
            columns whose union exceeds ``exact_limit`` become a sketch.

        Raises
        ------
        InvalidInput
            Name, kind or sketch parameters differ.
        """
        if (other.name, other.kind) != (self.name, self.kind):
            raise InvalidInput(
                f"cannot merge column {other.name!r} ({other.kind}) into {self.name!r} "
                f"({self.kind}); profiles must have the same columns"
            )
        if (other.exact_limit, other.k, other.top_k) != (self.exact_limit, self.k, self.top_k):
            raise InvalidInput(
                f"column {self.name!r}: cannot merge profiles built with different settings "
                f"(exact_limit, k, top_k) {(self.exact_limit, self.k, self.top_k)} and "
                f"{(other.exact_limit, other.k, other.top_k)}"
            )
        out = self._empty_like()
        out.missing = self.missing + other.missing
        out.infinite = self.infinite + other.infinite
        for part in (self, other):
            if part.count and part.mean is not None:
                assert part.min is not None and part.max is not None
                out._add_moments(part.count, part.min, part.max, part.mean, part.m2)
        out.count = self.count + other.count
        if self.kind == "categorical":
            out._add_categories(dict(self.categories), self.other)
            out._add_categories(dict(other.categories), other.other)
            return out
        sketches = [p._sketch for p in (self, other) if p._sketch is not None]
        exact = [p._values for p in (self, other) if p._values is not None and p._values.size]
        n_exact = sum(v.size for v in exact)
        if not sketches and n_exact <= self.exact_limit:
            out._values = np.sort(np.concatenate([np.empty(0), *exact]), kind="stable")
            return out
        kll = _kll()
        merged = kll.deserialize(sketches[0].serialize()) if sketches else kll(self.k)
        for extra in sketches[1:]:
            merged.merge(extra)
        for vals in exact:
            merged.update(vals)
        out._sketch, out._values = merged, None
        return out

    # --- serialisation --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the column's part of :meth:`DataProfile.to_bytes`)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "count": self.count,
            "missing": self.missing,
            "infinite": self.infinite,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "m2": self.m2,
            "exact_limit": self.exact_limit,
            "k": self.k,
            "top_k": self.top_k,
        }
        if self.kind == "numeric":
            out["values"] = (
                None
                if self._values is None
                else base64.b64encode(self._values.astype("<f8").tobytes()).decode("ascii")
            )
            out["sketch"] = (
                None
                if self._sketch is None
                else base64.b64encode(bytes(self._sketch.serialize())).decode("ascii")
            )
        else:
            out["categories"] = dict(self.categories)
            out["other"] = self.other
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ColumnProfile:
        """Inverse of :meth:`to_dict`, checking every field.

        Raises
        ------
        CorruptRecord
            A field is missing, of the wrong type, or inconsistent with the others.
        """
        d = _obj(data, "column")
        name = _get(d, "name", str)
        kind = _get(d, "kind", str)
        if kind not in ("numeric", "categorical"):
            raise CorruptRecord(f"profile column {name!r}: unknown kind {kind!r}")
        col = cls(
            name,
            "numeric" if kind == "numeric" else "categorical",
            exact_limit=_get_count(d, "exact_limit", name),
            k=_get_count(d, "k", name),
            top_k=_get_count(d, "top_k", name),
        )
        col.count = _get_count(d, "count", name)
        col.missing = _get_count(d, "missing", name)
        col.infinite = _get_count(d, "infinite", name)
        col.m2 = _get_float(d, "m2", name)
        for key in ("min", "max", "mean"):
            raw = d.get(key)
            if raw is not None:
                setattr(col, key, _get_float(d, key, name))
        if kind == "numeric":
            if (col.count > 0) != (col.mean is not None) or (col.count > 0) != (
                col.min is not None and col.max is not None
            ):
                raise CorruptRecord(f"profile column {name!r}: moments do not match count")
            values, sketch = d.get("values"), d.get("sketch")
            if (values is None) == (sketch is None):
                raise CorruptRecord(
                    f"profile column {name!r}: needs exactly one of 'values' and 'sketch'"
                )
            if values is not None:
                raw_bytes = _b64(values, name, "values")
                if len(raw_bytes) % 8:
                    raise CorruptRecord(f"profile column {name!r}: values are not float64")
                arr = np.frombuffer(raw_bytes, dtype="<f8").astype(np.float64)
                if arr.size != col.count or not np.isfinite(arr).all():
                    raise CorruptRecord(
                        f"profile column {name!r}: {arr.size} stored values for a count of "
                        f"{col.count}, or non-finite values"
                    )
                if arr.size > 1 and (np.diff(arr) < 0).any():
                    raise CorruptRecord(f"profile column {name!r}: values are not sorted")
                col._values = arr
            else:
                kll = _kll()
                try:
                    sk = kll.deserialize(_b64(sketch, name, "sketch"))
                except (ValueError, IndexError, RuntimeError, TypeError) as exc:
                    raise CorruptRecord(
                        f"profile column {name!r}: sketch does not deserialise: {exc}"
                    ) from None
                if sk.n != col.count or sk.k != col.k:
                    raise CorruptRecord(
                        f"profile column {name!r}: sketch holds {sk.n} values (k={sk.k}) for "
                        f"a count of {col.count} (k={col.k})"
                    )
                col._sketch, col._values = sk, None
        else:
            cats = _obj(d.get("categories"), f"column {name!r} categories")
            counts: dict[str, int] = {}
            for key, value in cats.items():
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise CorruptRecord(f"profile column {name!r}: bad count for {key!r}")
                counts[key] = value
            col.categories = counts
            col.other = _get_count(d, "other", name)
            if sum(counts.values()) + col.other != col.count or len(counts) > col.top_k:
                raise CorruptRecord(
                    f"profile column {name!r}: category counts do not add up to the count"
                )
        return col


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CorruptRecord(f"profile {what} is not a JSON object")
    return value


def _get(d: dict[str, Any], key: str, typ: type) -> Any:
    value = d.get(key)
    if not isinstance(value, typ) or isinstance(value, bool):
        raise CorruptRecord(f"profile field {key!r} is missing or not a {typ.__name__}")
    return value


def _get_count(d: dict[str, Any], key: str, col: str) -> int:
    value = d.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not a count ({value!r})")
    return value


def _get_float(d: dict[str, Any], key: str, col: str) -> float:
    value = d.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not a number ({value!r})")
    if not math.isfinite(value):
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not finite")
    return float(value)


def _b64(value: Any, col: str, key: str) -> bytes:
    if not isinstance(value, str):
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not base64 text")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CorruptRecord(f"profile column {col!r}: {key!r} is not valid base64") from None


# --------------------------------------------------------------------------------------
# Batches -> columns


def _missing_mask(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
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


def _kind_of(arr: npt.NDArray[Any], what: str) -> Kind:
    if arr.dtype.kind in "fiu":
        return "numeric"
    if arr.dtype.kind in "bOUS":
        return "categorical"
    raise InvalidInput(
        f"{what} has dtype {arr.dtype}, which mlineage cannot profile; convert it to "
        "numbers (e.g. timestamps to seconds) or to strings"
    )


def _label_kind(arr: npt.NDArray[Any], label_kind: str) -> Kind:
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
    return _kind_of(arr, "label")


def _numeric_block(cols: list[ColumnProfile], block: npt.NDArray[Any]) -> None:
    """Absorb an n x d block of numeric columns, moments vectorised across columns."""
    x = np.asarray(block, dtype=np.float64)
    if x.shape[0] == 0:
        return
    finite = np.isfinite(x)
    if finite.all():
        n = np.full(x.shape[1], x.shape[0])
        mins, maxs = x.min(axis=0), x.max(axis=0)
        means = x.mean(axis=0)
        m2s = ((x - means) ** 2).sum(axis=0)
        xt = np.ascontiguousarray(x.T)
        for j, col in enumerate(cols):
            col._add_moments(
                int(n[j]), float(mins[j]), float(maxs[j]), float(means[j]), float(m2s[j])
            )
            col._add_numeric(xt[j])
        return
    nan_counts = np.isnan(x).sum(axis=0)
    inf_counts = (~finite).sum(axis=0) - nan_counts
    for j, col in enumerate(cols):
        v = x[finite[:, j], j]
        col.missing += int(nan_counts[j])
        col.infinite += int(inf_counts[j])
        if v.size:
            mean = float(v.mean())
            col._add_moments(
                v.size, float(v.min()), float(v.max()), mean, float(((v - mean) ** 2).sum())
            )
            col._add_numeric(v)


def _categorical_values(col: ColumnProfile, values: npt.NDArray[Any]) -> None:
    arr = np.asarray(values, dtype=object)
    miss = _missing_mask(arr)
    col.missing += int(miss.sum())
    counts = Counter(str(v) for v in arr[~miss])
    col.count += int(sum(counts.values()))
    col._add_categories(dict(counts))


class _Schema:
    """Column names, kinds and label of a profile being built from batches."""

    def __init__(self, names: list[str], kinds: list[Kind], label: str | None, lkind: Kind | None):
        self.names, self.kinds, self.label, self.label_kind = names, kinds, label, lkind


# --------------------------------------------------------------------------------------
# Data profiles


class DataProfile:
    """Per-column summaries of a dataset (features, and optionally a label column).

    Build one with :meth:`from_array`, :meth:`from_dataframe` or :meth:`from_batches`;
    combine with :meth:`merge`; store with :meth:`to_bytes`; compare two with
    :func:`drift_between`.

    Attributes
    ----------
    columns : list of str
        Feature column names, in order (the label is not among them).
    label : str or None
        Name of the label column, if one was profiled.
    num_rows : int
        Rows profiled.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = DataProfile.from_array(rng.normal(size=(1000, 2)), columns=["a", "b"])
    >>> p.columns, p.num_rows, p["a"].count, p["a"].is_exact
    (['a', 'b'], 1000, 1000, True)
    """

    def __init__(
        self, columns: Sequence[ColumnProfile], *, label: ColumnProfile | None, num_rows: int
    ) -> None:
        self._cols = {c.name: c for c in columns}
        if len(self._cols) != len(columns):
            raise InvalidInput(f"duplicate column names in {[c.name for c in columns]}")
        if label is not None and label.name in self._cols:
            raise InvalidInput(f"label {label.name!r} is also a feature column")
        self._label = label
        self.num_rows = num_rows

    @property
    def columns(self) -> list[str]:
        """Feature column names, in order."""
        return list(self._cols)

    @property
    def label(self) -> str | None:
        """Name of the label column, or None."""
        return None if self._label is None else self._label.name

    @property
    def label_profile(self) -> ColumnProfile | None:
        """The label column's profile, or None."""
        return self._label

    def __getitem__(self, name: str) -> ColumnProfile:
        if name in self._cols:
            return self._cols[name]
        if self._label is not None and name == self._label.name:
            return self._label
        raise KeyError(f"no column {name!r} in the profile; columns are {self.columns}")

    def __contains__(self, name: object) -> bool:
        return name in self._cols or (self._label is not None and name == self._label.name)

    def __iter__(self) -> Iterator[ColumnProfile]:
        return iter(self._cols.values())

    def __len__(self) -> int:
        return len(self._cols)

    def __repr__(self) -> str:
        return (
            f"DataProfile(num_rows={self.num_rows}, columns={len(self._cols)}, "
            f"label={self.label!r})"
        )

    # --- construction ---------------------------------------------------------------

    @classmethod
    def from_array(
        cls,
        X: npt.ArrayLike,  # noqa: N803 (scikit-learn's name for the feature matrix)
        y: npt.ArrayLike | None = None,
        columns: Sequence[str] | None = None,
        *,
        label_name: str = "label",
        label_kind: Literal["auto", "numeric", "categorical"] = "auto",
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        k: int = DEFAULT_K,
        top_k: int = DEFAULT_TOP_K,
    ) -> DataProfile:
        """Profile a 2-D array (rows x columns) or a 1-D array (one column).

        Numeric dtypes (int, unsigned, float) give numeric columns; bool, str and object
        arrays give categorical columns (values as ``str(value)``; None/NaN missing).

        Parameters
        ----------
        X : array_like
            The features.
        y : array_like, optional
            Labels, one per row, profiled as the label column. ``label_kind="auto"``
            treats int, bool and str labels as classes (categorical) and float labels as
            numeric.
        columns : sequence of str, optional
            Column names; ``"0", "1", ...`` by default.
        label_name : str
            Name of the label column.
        label_kind : {"auto", "numeric", "categorical"}
            How to profile ``y``.
        exact_limit, k, top_k : int
            Exact-values limit per numeric column, KLL size, categories kept.

        Returns
        -------
        DataProfile

        Raises
        ------
        InvalidInput
            Wrong shapes, column count, unsupported dtypes, or bad settings.
        MissingDependency
            A numeric column exceeds ``exact_limit`` and ``datasketches`` is missing.

        Examples
        --------
        >>> p = DataProfile.from_array([[1.0, 2.0], [3.0, float("nan")]], y=[0, 1])
        >>> p["1"].missing, p.label, sorted(p["label"].categories.items())
        (1, 'label', [('0', 1), ('1', 1)])
        """
        batch = (X, y) if y is not None else X
        return cls.from_batches(
            [batch],
            columns=columns,
            label_name=label_name,
            label_kind=label_kind,
            exact_limit=exact_limit,
            k=k,
            top_k=top_k,
        )

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        label: str | None = None,
        *,
        label_kind: Literal["auto", "numeric", "categorical"] = "auto",
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        k: int = DEFAULT_K,
        top_k: int = DEFAULT_TOP_K,
    ) -> DataProfile:
        """Profile a pandas DataFrame.

        Numeric columns (not bool) are numeric; object, category, bool and string columns
        are categorical. ``label`` names the column to profile as the label.

        Parameters
        ----------
        df : pandas.DataFrame
            The data.
        label : str, optional
            Label column name.
        label_kind, exact_limit, k, top_k
            As in :meth:`from_array`.

        Returns
        -------
        DataProfile

        Raises
        ------
        InvalidInput
            ``label`` is not a column, column names repeat, or settings are bad.
        MissingDependency
            A column exceeds ``exact_limit`` and ``datasketches`` is missing.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"], "y": [0, 1, 1]})
        >>> p = DataProfile.from_dataframe(df, label="y")
        >>> p.columns, p["c"].kind, p["c"].categories
        (['x', 'c'], 'categorical', {'a': 2, 'b': 1})
        """
        return cls.from_batches(
            [df], label=label, label_kind=label_kind, exact_limit=exact_limit, k=k, top_k=top_k
        )

    @classmethod
    def from_batches(
        cls,
        batches: Iterable[Any],
        *,
        columns: Sequence[str] | None = None,
        label: str | None = None,
        label_name: str = "label",
        label_kind: Literal["auto", "numeric", "categorical"] = "auto",
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        k: int = DEFAULT_K,
        top_k: int = DEFAULT_TOP_K,
    ) -> DataProfile:
        """Profile an iterable of batches in bounded memory (one batch held at a time).

        Each batch is a 2-D (or 1-D) array, an ``(X, y)`` tuple of arrays, or a pandas
        DataFrame (``label`` names its label column). All batches must have the same
        columns, with the same kinds as the first batch. Memory is one batch plus, per
        column, at most ``exact_limit`` values or one KLL sketch (a few KB).

        Parameters
        ----------
        batches : iterable
            The batches.
        columns, label_name, label_kind, exact_limit, k, top_k
            As in :meth:`from_array`.
        label : str, optional
            Label column of DataFrame batches.

        Returns
        -------
        DataProfile
            An empty iterable gives a profile with no rows and no columns.

        Raises
        ------
        InvalidInput
            Batches disagree on columns or kinds, or a batch is malformed.
        MissingDependency
            A column exceeds ``exact_limit`` and ``datasketches`` is missing.

        Examples
        --------
        >>> import numpy as np
        >>> parts = (np.full((10, 3), float(i)) for i in range(5))
        >>> p = DataProfile.from_batches(parts)
        >>> p.num_rows, p["2"].mean, p["2"].max
        (50, 2.0, 4.0)
        """
        for name, value, low in (("exact_limit", exact_limit, 0), ("k", k, 8), ("top_k", top_k, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise InvalidInput(f"{name} must be an integer >= {low}, got {value!r}")
        schema: _Schema | None = None
        feats: list[ColumnProfile] = []
        lab: ColumnProfile | None = None
        rows = 0
        for i, batch in enumerate(batches):
            names, kinds, blocks, lname, lvalues, lkind = _split_batch(
                batch, columns, label, label_name, label_kind, i
            )
            if schema is None:
                schema = _Schema(names, kinds, lname, lkind)
                feats = [
                    ColumnProfile(n, kd, exact_limit=exact_limit, k=k, top_k=top_k)
                    for n, kd in zip(names, kinds, strict=True)
                ]
                if lname is not None and lkind is not None:
                    lab = ColumnProfile(lname, lkind, exact_limit=exact_limit, k=k, top_k=top_k)
            elif (names, kinds, lname) != (schema.names, schema.kinds, schema.label):
                raise InvalidInput(
                    f"batch {i} has columns {list(zip(names, kinds, strict=True))} and label "
                    f"{lname!r}, but the first batch had "
                    f"{list(zip(schema.names, schema.kinds, strict=True))} and {schema.label!r}"
                )
            n_rows = -1
            for idx, block in blocks:
                n_rows = block.shape[0]
                cols = [feats[j] for j in idx]
                if cols[0].kind == "numeric":
                    _numeric_block(cols, block)
                else:
                    for j, col in enumerate(cols):
                        _categorical_values(col, block[:, j])
            if lab is not None and lvalues is not None:
                if n_rows >= 0 and lvalues.shape[0] != n_rows:
                    raise InvalidInput(f"batch {i}: {lvalues.shape[0]} labels for {n_rows} rows")
                n_rows = lvalues.shape[0]
                if lab.kind == "numeric":
                    _numeric_block([lab], lvalues.reshape(-1, 1))
                else:
                    _categorical_values(lab, lvalues)
            rows += max(n_rows, 0)
        return cls(feats, label=lab, num_rows=rows)

    # --- combination and storage ----------------------------------------------------

    def merge(self, other: DataProfile) -> DataProfile:
        """Profile of both datasets together (see :meth:`ColumnProfile.merge`).

        Parameters
        ----------
        other : DataProfile
            Same columns (same order and kinds) and same label.

        Returns
        -------
        DataProfile

        Raises
        ------
        InvalidInput
            The profiles have different columns, kinds, labels or settings.

        Examples
        --------
        >>> a = DataProfile.from_array([[1.0], [2.0]])
        >>> b = DataProfile.from_array([[3.0]])
        >>> m = a.merge(b)
        >>> m.num_rows, m["0"].values.tolist(), m["0"].mean
        (3, [1.0, 2.0, 3.0], 2.0)
        """
        if self.num_rows == 0 and not self._cols and self._label is None:
            return other
        if other.num_rows == 0 and not other._cols and other._label is None:
            return self
        if self.columns != other.columns or self.label != other.label:
            raise InvalidInput(
                f"cannot merge profiles with columns {self.columns} (label {self.label!r}) "
                f"and {other.columns} (label {other.label!r})"
            )
        cols = [self._cols[n].merge(other._cols[n]) for n in self.columns]
        lab = None
        if self._label is not None and other._label is not None:
            lab = self._label.merge(other._label)
        return DataProfile(cols, label=lab, num_rows=self.num_rows + other.num_rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the whole profile (what :meth:`to_bytes` encodes)."""
        return {
            "format": FORMAT,
            "type": "mlineage.DataProfile",
            "num_rows": self.num_rows,
            "columns": [c.to_dict() for c in self._cols.values()],
            "label": None if self._label is None else self._label.to_dict(),
        }

    def to_bytes(self) -> bytes:
        """UTF-8 JSON (``"format": 1``); see the module docstring for the encoding.

        Returns
        -------
        bytes

        Examples
        --------
        >>> p = DataProfile.from_array([[1.0, 2.0]])
        >>> DataProfile.from_bytes(p.to_bytes())["1"].values.tolist()
        [2.0]
        """
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> DataProfile:
        """Read a profile written by :meth:`to_bytes`, checking everything.

        Parameters
        ----------
        data : bytes
            The stored profile.

        Returns
        -------
        DataProfile

        Raises
        ------
        CorruptRecord
            The bytes are not a valid profile (truncated, garbled, inconsistent).
        StoreFormatError
            The profile was written in a newer format; upgrade mlineage.
        MissingDependency
            The profile holds a sketch and ``datasketches`` is not installed.

        Examples
        --------
        >>> DataProfile.from_bytes(b"not json")
        Traceback (most recent call last):
        ...
        mlineage.errors.CorruptRecord: profile bytes are not UTF-8 JSON: ...
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidInput(f"from_bytes needs bytes, got {type(data).__name__}")
        try:
            doc = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise CorruptRecord(f"profile bytes are not UTF-8 JSON: {exc}") from None
        d = _obj(doc, "document")
        fmt = d.get("format")
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
            raise StoreFormatError(
                f"profile format {fmt} is newer than this mlineage reads ({FORMAT}); "
                "upgrade mlineage"
            )
        if fmt != FORMAT or d.get("type") != "mlineage.DataProfile":
            raise CorruptRecord(
                f"not a DataProfile of format {FORMAT} (format={fmt!r}, type={d.get('type')!r})"
            )
        rows = _get_count(d, "num_rows", "<profile>")
        raw_cols = d.get("columns")
        if not isinstance(raw_cols, list):
            raise CorruptRecord("profile 'columns' is not a list")
        cols = [ColumnProfile.from_dict(c) for c in raw_cols]
        lab = None if d.get("label") is None else ColumnProfile.from_dict(d["label"])
        for c in [*cols, *([lab] if lab is not None else [])]:
            if c.count + c.missing + c.infinite != rows:
                raise CorruptRecord(
                    f"profile column {c.name!r} accounts for {c.count + c.missing + c.infinite} "
                    f"rows, the profile for {rows}"
                )
        try:
            return cls(cols, label=lab, num_rows=rows)
        except InvalidInput as exc:
            raise CorruptRecord(f"profile is inconsistent: {exc}") from None


def _split_batch(
    batch: Any,
    columns: Sequence[str] | None,
    label: str | None,
    label_name: str,
    label_kind: str,
    index: int,
) -> tuple[
    list[str],
    list[Kind],
    list[tuple[list[int], npt.NDArray[Any]]],
    str | None,
    npt.NDArray[Any] | None,
    Kind | None,
]:
    """Names, kinds, column blocks (same-kind groups) and label of one batch."""
    if hasattr(batch, "columns") and hasattr(batch, "dtypes") and hasattr(batch, "iloc"):
        return _split_frame(batch, label, label_kind, index)
    y = None
    if isinstance(batch, tuple):
        if len(batch) != 2:
            raise InvalidInput(f"batch {index}: a tuple batch must be (X, y), got {len(batch)}")
        batch, y = batch
    try:
        x = np.asarray(batch)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"batch {index} is not an array: {exc}") from None
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise InvalidInput(f"batch {index} must be 1-D or 2-D, got shape {x.shape}")
    names = [str(i) for i in range(x.shape[1])] if columns is None else [str(c) for c in columns]
    if len(names) != x.shape[1]:
        raise InvalidInput(
            f"batch {index} has {x.shape[1]} columns but {len(names)} names were given"
        )
    kind = _kind_of(x, f"batch {index}")
    blocks = [(list(range(x.shape[1])), x)] if x.shape[1] else []
    lvalues: npt.NDArray[Any] | None = None
    lkind: Kind | None = None
    lname = None
    if y is not None:
        lvalues = np.asarray(y)
        if lvalues.ndim != 1:
            raise InvalidInput(f"batch {index}: labels must be 1-D, got shape {lvalues.shape}")
        lkind = _label_kind(lvalues, label_kind)
        lname = label_name
    return names, [kind] * x.shape[1], blocks, lname, lvalues, lkind


def _split_frame(
    df: Any, label: str | None, label_kind: str, index: int
) -> tuple[
    list[str],
    list[Kind],
    list[tuple[list[int], npt.NDArray[Any]]],
    str | None,
    npt.NDArray[Any] | None,
    Kind | None,
]:
    # pandas is needed only for DataFrame input; the caller passed one, so it is installed.
    from pandas.api.types import (  # type: ignore[import-untyped]
        is_bool_dtype,
        is_numeric_dtype,
    )

    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise InvalidInput(f"batch {index}: DataFrame column names repeat: {names}")
    if label is not None and label not in names:
        raise InvalidInput(f"batch {index}: label column {label!r} not in {names}")
    feats = [c for c in df.columns if str(c) != label]
    kinds: list[Kind] = [
        "numeric" if is_numeric_dtype(df[c]) and not is_bool_dtype(df[c]) else "categorical"
        for c in feats
    ]
    blocks: list[tuple[list[int], npt.NDArray[Any]]] = []
    num = [j for j, kd in enumerate(kinds) if kd == "numeric"]
    if num:
        arr = df[[feats[j] for j in num]].to_numpy(dtype=np.float64, na_value=np.nan)
        blocks.append((num, arr))
    for j, kd in enumerate(kinds):
        if kd == "categorical":
            blocks.append(([j], df[feats[j]].to_numpy(dtype=object).reshape(-1, 1)))
    lvalues: npt.NDArray[Any] | None = None
    lkind: Kind | None = None
    if label is not None:
        series = df[label]
        if label_kind == "auto":
            is_num = is_numeric_dtype(series) and not is_bool_dtype(series)
            lkind = "numeric" if is_num and series.dtype.kind == "f" else "categorical"
        else:
            lkind = _label_kind(np.empty(0), label_kind)
        lvalues = (
            series.to_numpy(dtype=np.float64, na_value=np.nan)
            if lkind == "numeric"
            else series.to_numpy(dtype=object)
        )
    return [str(c) for c in feats], kinds, blocks, label, lvalues, lkind


# --------------------------------------------------------------------------------------
# Drift between two profiles


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """Drift of one column between a reference and a current profile.

    Attributes
    ----------
    name : str
        Column name.
    kind : {"numeric", "categorical"}
        Column kind (the reference's, when they differ).
    test : {"ks", "chi2", "none"}
        Test behind ``pvalue``; ``"none"`` when the column could not be tested (see
        ``note``).
    statistic, pvalue : float or None
        KS ``D`` and its p-value, or chi-squared and its p-value.
    pvalue_corrected : float or None
        After the multiple-testing correction over all tested features.
    drifted : bool
        ``pvalue_corrected < alpha``.
    method : {"exact", "sketch"}
        Whether both sides kept exact values (numeric) or counts (categorical), or a
        sketch entered the statistic.
    error_bound : float
        Bound on ``|statistic - exact statistic|`` for numeric KS (``eps_a + eps_b``;
        0 when exact).
    n_ref, n_cur : int
        Values counted on each side.
    wasserstein_normed, psi, js_distance, linf : float or None
        Companion distances (W1/std and PSI for numeric columns; PSI, JS distance in
        natural log, and for the label the L-infinity distance of class proportions,
        for categorical ones).
    note : str or None
        Why a column was not tested, or other caveats.
    """

    name: str
    kind: str
    test: str
    statistic: float | None
    pvalue: float | None
    pvalue_corrected: float | None
    drifted: bool
    method: str
    error_bound: float
    n_ref: int
    n_cur: int
    wasserstein_normed: float | None = None
    psi: float | None = None
    js_distance: float | None = None
    linf: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Fields as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Per-feature drift between two profiles, and the dataset-level verdict.

    Attributes
    ----------
    features : list of FeatureDrift
        One entry per feature column of the reference (and columns only in current).
    drifted_share : float
        Drifted features / tested features (0 when none could be tested).
    dataset_drift : bool
        ``drifted_share >= drift_share`` (Evidently's rule, default 0.5).
    label : FeatureDrift or None
        Label shift, when both profiles have a label column.
    alpha, drift_share : float
        The thresholds used.
    correction : str
        ``"bonferroni"`` or ``"bh"``.
    """

    features: list[FeatureDrift]
    drifted_share: float
    dataset_drift: bool
    label: FeatureDrift | None
    alpha: float
    correction: str
    drift_share: float

    @property
    def drifted(self) -> list[FeatureDrift]:
        """The drifted features, most significant first."""
        return [f for f in self._ranked() if f.drifted]

    def _ranked(self) -> list[FeatureDrift]:
        def key(f: FeatureDrift) -> tuple[int, float, float, str]:
            p = 2.0 if f.pvalue_corrected is None else f.pvalue_corrected
            return (0 if f.drifted else 1, p, -(f.statistic or 0.0), f.name)

        return sorted(self.features, key=key)

    def summary(self, top: int = 5) -> str:
        """One paragraph: the verdict and the ``top`` most drifted features.

        Parameters
        ----------
        top : int
            How many drifted features to name.

        Returns
        -------
        str
        """
        tested = [f for f in self.features if f.test != "none"]
        drifted = self.drifted
        verdict = "dataset drift" if self.dataset_drift else "no dataset drift"
        text = (
            f"{len(drifted)} of {len(tested)} tested features drifted "
            f"({self.drifted_share:.0%}; threshold {self.drift_share:.0%}): {verdict}"
        )
        if drifted:
            names = ", ".join(
                f"{f.name} ({f.test} p={f.pvalue_corrected:.2g})" for f in drifted[:top]
            )
            more = f" and {len(drifted) - top} more" if len(drifted) > top else ""
            text += f". Most drifted: {names}{more}"
        if self.label is not None:
            shift = "shifted" if self.label.drifted else "no shift"
            text += f". Label {self.label.name!r}: {shift} (p={self.label.pvalue:.2g})"
        return text + "."

    def __str__(self) -> str:
        header = ("feature", "kind", "test", "statistic", "p (corr.)", "drift", "W1/std", "PSI")
        rows = [header]
        for f in self._ranked() + ([self.label] if self.label is not None else []):
            name = f.name if f is not self.label else f"{f.name} (label)"
            rows.append(
                (
                    name,
                    f.kind,
                    f.test,
                    _fmt(f.statistic),
                    _fmt(f.pvalue_corrected),
                    "DRIFT" if f.drifted else ("-" if f.test != "none" else (f.note or "-")),
                    _fmt(f.wasserstein_normed),
                    _fmt(f.psi),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return self.summary() + "\n\n" + "\n".join(line.rstrip() for line in lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the whole report."""
        return {
            "features": [f.to_dict() for f in self.features],
            "drifted_share": self.drifted_share,
            "dataset_drift": self.dataset_drift,
            "label": None if self.label is None else self.label.to_dict(),
            "alpha": self.alpha,
            "correction": self.correction,
            "drift_share": self.drift_share,
        }

    def to_pandas(self) -> pd.DataFrame:
        """One row per feature (and one for the label, ``role == "label"``).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependency
            pandas is not installed (``pip install 'mlineage[data]'``).
        """
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependency(
                "DriftReport.to_pandas needs pandas; pip install 'mlineage[data]'"
            ) from None
        rows = [{"role": "feature", **f.to_dict()} for f in self.features]
        if self.label is not None:
            rows.append({"role": "label", **self.label.to_dict()})
        return pd.DataFrame(rows)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def drift_between(
    reference: DataProfile,
    current: DataProfile,
    *,
    alpha: float = 0.05,
    correction: Literal["bonferroni", "bh"] = "bonferroni",
    drift_share: float = 0.5,
    psi_bins: int = 10,
) -> DriftReport:
    """Per-feature drift between two profiles, from the profiles alone.

    Numeric columns: two-sided KS (drift test), Wasserstein-1 normalised by the
    reference's std, and PSI on reference-quantile bins. When both columns are exact, these
    equal :func:`~mlineage.analysis.stats.ks_2samp` etc. on the raw data. When a sketch is
    involved, both CDFs are evaluated on the union of the points where either can jump (the
    sketches' retained items, the exact values), so the KS statistic is within
    ``eps_a + eps_b`` (:func:`sketch_rank_error`, 99% confidence) of the statistic of the
    raw data, and its p-value is the asymptotic one for the columns' counts ``n_a, n_b``.

    Categorical columns: chi-squared on the 2 x K table over the union of categories (the
    "other" bucket is one more category), plus JS distance (natural log) and PSI.

    The p-values of the tested features are corrected (Bonferroni, or Benjamini-Hochberg
    with ``correction="bh"``); a feature drifts when its corrected p-value is below
    ``alpha``; the dataset drifts when the share of drifted features among the tested ones
    is at least ``drift_share``. A column empty on either side, present on one side only,
    or of different kinds is reported with ``test="none"`` and a note, and not counted.
    With a label column on both sides, ``label`` holds the same tests (uncorrected) plus
    the L-infinity distance between class proportions.

    Parameters
    ----------
    reference, current : DataProfile
        The two profiles.
    alpha : float
        Significance level, in (0, 1).
    correction : {"bonferroni", "bh"}
        Multiple-testing correction across features.
    drift_share : float
        Share of drifted features that makes dataset drift, in (0, 1].
    psi_bins : int
        Reference-quantile bins for numeric PSI.

    Returns
    -------
    DriftReport

    Raises
    ------
    InvalidInput
        Thresholds out of range or an unknown correction.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = DataProfile.from_array(rng.normal(size=(2000, 3)), columns=["a", "b", "c"])
    >>> x = rng.normal(size=(2000, 3))
    >>> x[:, 0] += 1.0
    >>> report = drift_between(ref, DataProfile.from_array(x, columns=["a", "b", "c"]))
    >>> [f.name for f in report.drifted], report.dataset_drift
    (['a'], False)
    """
    if not (0 < alpha < 1):
        raise InvalidInput(f"alpha must lie in (0, 1), got {alpha!r}")
    if not (0 < drift_share <= 1):
        raise InvalidInput(f"drift_share must lie in (0, 1], got {drift_share!r}")
    if correction not in ("bonferroni", "bh"):
        raise InvalidInput(f"correction must be 'bonferroni' or 'bh', got {correction!r}")
    names = reference.columns + [c for c in current.columns if c not in reference.columns]
    raw: list[FeatureDrift] = []
    for name in names:
        if name not in reference.columns or name not in current.columns:
            side = "reference" if name in reference.columns else "current"
            col = reference[name] if side == "reference" else current[name]
            raw.append(_skipped(col, f"only in {side}"))
            continue
        raw.append(_compare(reference[name], current[name], psi_bins, label=False))
    tested = [i for i, f in enumerate(raw) if f.pvalue is not None]
    pvals = [raw[i].pvalue for i in tested]
    if tested:
        adjust = bonferroni if correction == "bonferroni" else benjamini_hochberg
        corrected = adjust(np.asarray(pvals, dtype=np.float64))
        for i, p in zip(tested, corrected.tolist(), strict=True):
            raw[i] = _replace(raw[i], pvalue_corrected=p, drifted=p < alpha)
    n_drift = sum(f.drifted for f in raw)
    share = n_drift / len(tested) if tested else 0.0
    label = None
    if reference.label_profile is not None and current.label_profile is not None:
        lab = _compare(reference.label_profile, current.label_profile, psi_bins, label=True)
        if lab.pvalue is not None:
            lab = _replace(lab, pvalue_corrected=lab.pvalue, drifted=lab.pvalue < alpha)
        label = lab
    return DriftReport(
        features=raw,
        drifted_share=share,
        dataset_drift=bool(tested) and share >= drift_share,
        label=label,
        alpha=alpha,
        correction=correction,
        drift_share=drift_share,
    )


def _replace(f: FeatureDrift, **changes: Any) -> FeatureDrift:
    return FeatureDrift(**{**f.to_dict(), **changes})


def _skipped(col: ColumnProfile, note: str, n_cur: int = 0) -> FeatureDrift:
    return FeatureDrift(
        name=col.name,
        kind=col.kind,
        test="none",
        statistic=None,
        pvalue=None,
        pvalue_corrected=None,
        drifted=False,
        method="exact",
        error_bound=0.0,
        n_ref=col.count,
        n_cur=n_cur,
        note=note,
    )


def _compare(a: ColumnProfile, b: ColumnProfile, psi_bins: int, *, label: bool) -> FeatureDrift:
    if a.kind != b.kind:
        return _skipped(a, f"kind differs ({a.kind} vs {b.kind})", b.count)
    if a.count == 0 or b.count == 0:
        side = "reference" if a.count == 0 else "current"
        return _skipped(a, f"no values in {side}", b.count)
    if a.kind == "numeric":
        return _compare_numeric(a, b, psi_bins)
    return _compare_categorical(a, b, label=label)


def _compare_numeric(a: ColumnProfile, b: ColumnProfile, psi_bins: int) -> FeatureDrift:
    ranks = np.linspace(0.0, 1.0, psi_bins + 1)[1:-1]
    if a.is_exact and b.is_exact:
        va, vb = a.values, b.values
        ks = ks_pvalue(_ks_statistic_sorted(va, vb), va.size, vb.size)
        w1 = wasserstein(va, vb)
        std = float(np.std(va))
        edges = _psi_edges(va, psi_bins)
        ref_counts, cur_counts = _bin_counts(va, edges), _bin_counts(vb, edges)
        method, bound = "exact", 0.0
    else:
        points = np.union1d(a.support(), b.support())
        fa, fb = a.cdf(points), b.cdf(points)
        diffs = np.abs(fa - fb)
        bound = a.rank_error + b.rank_error
        d_sketch = float(diffs.max())
        # The p-value of the smallest statistic the raw data can have (D - bound, with 99%
        # confidence): conservative, so sketch error alone never reads as drift.
        p_ks = ks_pvalue(max(d_sketch - bound, 0.0), a.count, b.count)
        ks = KSResult(d_sketch, p_ks.pvalue, p_ks.method, a.count, b.count)
        w1 = float(np.sum(diffs[:-1] * np.diff(points)))
        std = a.std or 0.0
        edges = np.unique(a.quantiles(ranks))
        ref_counts = np.diff(np.concatenate(([0.0], a.cdf(edges), [1.0])))
        cur_counts = np.diff(np.concatenate(([0.0], b.cdf(edges), [1.0])))
        ref_counts, cur_counts = np.clip(ref_counts, 0, None), np.clip(cur_counts, 0, None)
        method = "sketch"
    return FeatureDrift(
        name=a.name,
        kind="numeric",
        test="ks",
        statistic=ks.statistic,
        pvalue=ks.pvalue,
        pvalue_corrected=ks.pvalue,
        drifted=False,
        method=method,
        error_bound=bound,
        n_ref=a.count,
        n_cur=b.count,
        wasserstein_normed=w1 / max(std, 0.001),
        psi=psi_from_counts(ref_counts, cur_counts),
    )


def _compare_categorical(a: ColumnProfile, b: ColumnProfile, *, label: bool) -> FeatureDrift:
    ref = dict(a.categories)
    cur = dict(b.categories)
    if a.other or b.other:
        ref[OTHER] = ref.get(OTHER, 0) + a.other
        cur[OTHER] = cur.get(OTHER, 0) + b.other
    chi = chi2_contingency(ref, cur)
    cats = list(ref) + [c for c in cur if c not in ref]
    rc = np.array([ref.get(c, 0) for c in cats], dtype=np.float64)
    cc = np.array([cur.get(c, 0) for c in cats], dtype=np.float64)
    linf = float(np.max(np.abs(rc / rc.sum() - cc / cc.sum()))) if label else None
    return FeatureDrift(
        name=a.name,
        kind="categorical",
        test="chi2",
        statistic=chi.statistic,
        pvalue=chi.pvalue,
        pvalue_corrected=chi.pvalue,
        drifted=False,
        method="exact" if not (a.other or b.other) else "sketch",
        error_bound=0.0,
        n_ref=a.count,
        n_cur=b.count,
        psi=psi_from_counts(rc, cc),
        js_distance=js_distance(rc, cc),
        linf=linf,
        note="categories beyond top_k pooled as " + OTHER if (a.other or b.other) else None,
    )
