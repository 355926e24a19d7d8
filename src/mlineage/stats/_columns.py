"""Column profiles: moments, exact values or a KLL sketch, category counts or a sketch."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import CorruptRecord, InvalidInput
from mlineage.stats._categories import CategoryCounts, ErrorType
from mlineage.stats._moments import (
    block_moments,
    column_moments,
    combine,
    full_value,
    scale_of,
    std_of,
)
from mlineage.stats._sketch import (
    DEFAULT_EXACT_LIMIT,
    DEFAULT_K,
    DEFAULT_TOP_K,
    FloatArray,
    Kind,
    b64_field,
    deserialize_sketch,
    get_count,
    get_field,
    get_float,
    json_object,
    kll_sketch_class,
    missing_mask,
    sketch_rank_error,
)

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
        always for categorical columns). The mean is finite for any finite values.
    """

    __slots__ = (
        "_cats",
        "_m2",
        "_m2_scale",
        "_sketch",
        "_values",
        "count",
        "exact_limit",
        "infinite",
        "k",
        "kind",
        "max",
        "mean",
        "min",
        "missing",
        "name",
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
        # M2 = _m2 * 4**_m2_scale; the scale is 0 unless M2 exceeds float64 (_moments.py)
        self._m2 = 0.0
        self._m2_scale = 0
        self._values: FloatArray | None = np.empty(0) if kind == "numeric" else None
        self._sketch: Any = None
        self._cats = CategoryCounts(top_k) if kind == "categorical" else None

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
    def m2(self) -> float:
        """Sum of squared deviations from the mean (Chan et al.'s M2).

        ``inf`` (or 0) when it lies outside float64's range (values beyond ~1e154, or
        all below ~1e-154); the profile keeps it scaled, so :attr:`std` and merges stay
        exact up to rounding.
        """
        return full_value(self._m2, self._m2_scale)

    @property
    def variance(self) -> float | None:
        """Population variance (``ddof=0``) of the counted values, or None if none.

        ``inf`` (or 0) when it lies outside float64's range (see :attr:`m2`).
        """
        if self.count == 0:
            return None
        if self._m2_scale == 0:
            return self._m2 / self.count
        return full_value(self._m2 / self.count, self._m2_scale)

    @property
    def std(self) -> float | None:
        """Population standard deviation (``ddof=0``), or None if no values.

        Finite for any finite values, even when :attr:`variance` is ``inf``.
        """
        if self.count == 0:
            return None
        return std_of(self._m2, self._m2_scale, self.count)

    @property
    def categories(self) -> dict[str, int]:
        """Counts of the reported categories of a categorical column (``{}`` if numeric).

        Keys are ``str(value)``. Exact while the column has at most ``top_k`` distinct
        categories: every category with its count. Above, from the frequent-items sketch:
        at most ``top_k`` categories, those whose count the sketch guarantees to exceed
        :attr:`count_error` (DataSketches' ``NO_FALSE_POSITIVES`` list), largest first,
        each with its guaranteed lower bound: the true count lies in
        ``[categories[c], categories[c] + count_error]``.
        """
        return {} if self._cats is None else self._cats.reported()

    @property
    def other(self) -> int:
        """Values not in :attr:`categories` (the ``"__other__"`` bucket of drift tables)."""
        if self._cats is None:
            return 0
        return self.count - sum(self.categories.values())

    @property
    def count_error(self) -> int:
        """Bound on the error of any category count (0 when the counts are exact).

        The frequent-items sketch's maximum error, ``upper - lower`` bound of every
        category (at most :func:`frequent_items_epsilon` x :attr:`count`), plus the rows
        an old profile pooled as "other". Always 0 for numeric columns.
        """
        return 0 if self._cats is None else self._cats.max_error

    def frequent_items(
        self, error_type: ErrorType = "no_false_positives"
    ) -> list[tuple[str, int, int, int]]:
        """Heavy hitters of a categorical column, as DataSketches' ``get_frequent_items``.

        Parameters
        ----------
        error_type : {"no_false_positives", "no_false_negatives"}
            ``"no_false_positives"``: the categories whose lower bound exceeds
            :attr:`count_error` (each truly has more rows than that);
            ``"no_false_negatives"``: those whose upper bound does (every category with
            more rows than :attr:`count_error` is among them).

        Returns
        -------
        list of (category, estimate, lower_bound, upper_bound)
            Largest lower bound first; the true count lies within the bounds. Exact
            counts give ``estimate == lower_bound == upper_bound``.

        Raises
        ------
        InvalidInput
            The column is numeric, or ``error_type`` is not one of the two.

        Examples
        --------
        >>> import numpy as np
        >>> from mlineage.analysis import DataProfile
        >>> col = DataProfile.from_array(np.array(["a", "b", "a"], dtype=object))["0"]
        >>> col.frequent_items(), col.count_error
        ([('a', 2, 2, 2), ('b', 1, 1, 1)], 0)
        """
        if self._cats is None:
            raise InvalidInput(f"column {self.name!r} is numeric; it has no categories")
        return self._cats.frequent_items(error_type)

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

    def _add_moments(
        self, n: int, mn: float, mx: float, mean: float, m2: float, scale: int = 0
    ) -> None:
        if n == 0:
            return
        if self.count == 0:
            self.count, self.min, self.max, self.mean = n, mn, mx, mean
            self._m2, self._m2_scale = m2, scale
            return
        assert self.mean is not None and self.min is not None and self.max is not None
        top = max(abs(self.min), abs(self.max), abs(mn), abs(mx))
        self.mean, self._m2, self._m2_scale = combine(
            (self.count, self.mean, self._m2, self._m2_scale), (n, mean, m2, scale), top
        )
        self.min = min(self.min, mn)
        self.max = max(self.max, mx)
        self.count += n

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
        sketch = kll_sketch_class()(self.k)
        if self._values.size:
            sketch.update(self._values)
        sketch.update(finite)
        self._sketch, self._values = sketch, None

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
            Counts, min, max, exact values and exact category counts are exact and
            order-independent; mean and variance agree up to rounding; sketches merge
            within their error bound. Exact columns whose union exceeds ``exact_limit``
            values (numeric) or ``top_k`` categories become a sketch.

        Raises
        ------
        InvalidInput
            ``other`` is not a ColumnProfile, or name, kind or sketch parameters differ.
        """
        if not isinstance(other, ColumnProfile):
            raise InvalidInput(
                f"ColumnProfile.merge needs a ColumnProfile, got {type(other).__name__}"
            )
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
                out._add_moments(
                    part.count, part.min, part.max, part.mean, part._m2, part._m2_scale
                )
        out.count = self.count + other.count
        if self._cats is not None and other._cats is not None:
            out._cats = self._cats.merged(other._cats)
            return out
        sketches = [p._sketch for p in (self, other) if p._sketch is not None]
        exact = [p._values for p in (self, other) if p._values is not None and p._values.size]
        n_exact = sum(v.size for v in exact)
        if not sketches and n_exact <= self.exact_limit:
            out._values = np.sort(np.concatenate([np.empty(0), *exact]), kind="stable")
            return out
        kll = kll_sketch_class()
        merged = kll.deserialize(sketches[0].serialize()) if sketches else kll(self.k)
        for extra in sketches[1:]:
            merged.merge(extra)
        for vals in exact:
            merged.update(vals)
        out._sketch, out._values = merged, None
        return out

    # --- serialisation --------------------------------------------------------------

    @property
    def _format(self) -> int:
        """Oldest profile format that can hold this column."""
        sketched = self._cats is not None and self._cats.is_sketched
        return 2 if sketched or self._m2_scale else 1

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
            "m2": self._m2,
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
        elif self._cats is not None:
            out.update(self._cats.to_dict(self.count))
        if self._m2_scale:
            out["m2_scale"] = self._m2_scale
        return out

    @classmethod
    def from_dict(cls, data: Any, fmt: int = 1) -> ColumnProfile:
        """Inverse of :meth:`to_dict`, checking every field (``fmt``: the profile's format).

        Raises
        ------
        CorruptRecord
            A field is missing, of the wrong type, or inconsistent with the others.
        """
        d = json_object(data, "column")
        name = get_field(d, "name", str)
        kind = get_field(d, "kind", str)
        if kind not in ("numeric", "categorical"):
            raise CorruptRecord(f"profile column {name!r}: unknown kind {kind!r}")
        col = cls(
            name,
            "numeric" if kind == "numeric" else "categorical",
            exact_limit=get_count(d, "exact_limit", name),
            k=get_count(d, "k", name),
            top_k=get_count(d, "top_k", name),
        )
        col.count = get_count(d, "count", name)
        col.missing = get_count(d, "missing", name)
        col.infinite = get_count(d, "infinite", name)
        col._m2 = get_float(d, "m2", name)
        for key in ("min", "max", "mean"):
            raw = d.get(key)
            if raw is not None:
                setattr(col, key, get_float(d, key, name))
        if kind == "numeric":
            if (col.count > 0) != (col.mean is not None) or (col.count > 0) != (
                col.min is not None and col.max is not None
            ):
                raise CorruptRecord(f"profile column {name!r}: moments do not match count")
            if "m2_scale" in d:
                # written (format 2) exactly when the values' magnitude needs a scale
                scale = d["m2_scale"]
                top = max(abs(col.min or 0.0), abs(col.max or 0.0))
                if fmt < 2 or type(scale) is not int or scale == 0 or scale != scale_of(top):
                    raise CorruptRecord(
                        f"profile column {name!r}: 'm2_scale' {scale!r} does not match the "
                        "column's values"
                    )
                col._m2_scale = scale
            values, sketch = d.get("values"), d.get("sketch")
            if (values is None) == (sketch is None):
                raise CorruptRecord(
                    f"profile column {name!r}: needs exactly one of 'values' and 'sketch'"
                )
            if values is not None:
                raw_bytes = b64_field(values, name, "values")
                if len(raw_bytes) % 8:
                    raise CorruptRecord(f"profile column {name!r}: values are not float64")
                arr = np.frombuffer(raw_bytes, dtype="<f8").astype(np.float64)
                if arr.size != col.count or not np.isfinite(arr).all():
                    raise CorruptRecord(
                        f"profile column {name!r}: {arr.size} stored values for a count of "
                        f"{col.count}, or non-finite values"
                    )
                if arr.size > 1 and (arr[1:] < arr[:-1]).any():
                    raise CorruptRecord(f"profile column {name!r}: values are not sorted")
                col._values = arr
            else:
                sk = deserialize_sketch(kll_sketch_class(), sketch, name)
                if sk.n != col.count or sk.k != col.k:
                    raise CorruptRecord(
                        f"profile column {name!r}: sketch holds {sk.n} values (k={sk.k}) for "
                        f"a count of {col.count} (k={col.k})"
                    )
                col._sketch, col._values = sk, None
        else:
            col._cats = CategoryCounts.from_dict(d, name, col.count, col.top_k, fmt)
        return col


def numeric_block(cols: list[ColumnProfile], block: npt.NDArray[Any]) -> None:
    """Absorb an n x d block of numeric columns, moments vectorised across columns."""
    x = np.asarray(block, dtype=np.float64)
    if x.shape[0] == 0:
        return
    finite = np.isfinite(x)
    if finite.all():
        n = x.shape[0]
        mins, maxs = x.min(axis=0), x.max(axis=0)
        means, m2s, scales = block_moments(x, mins, maxs)
        xt = np.ascontiguousarray(x.T)
        for j, col in enumerate(cols):
            col._add_moments(
                n, float(mins[j]), float(maxs[j]), float(means[j]), float(m2s[j]), scales[j]
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
            mn, mx = float(v.min()), float(v.max())
            col._add_moments(v.size, mn, mx, *column_moments(v, mn, mx))
            col._add_numeric(v)


def categorical_values(col: ColumnProfile, values: npt.NDArray[Any]) -> None:
    arr = np.asarray(values, dtype=object)
    miss = missing_mask(arr)
    col.missing += int(miss.sum())
    counts = Counter(str(v) for v in arr[~miss])
    col.count += int(sum(counts.values()))
    assert col._cats is not None
    col._cats.add(counts)
