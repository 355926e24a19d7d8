"""Category counts of a categorical column: exact up to ``top_k`` categories, then a sketch.

While a column has at most ``top_k`` distinct categories it keeps every count exactly (a
dict), so merging is exact and order-independent. Past that it moves to Apache
DataSketches' frequent-items sketch (``frequent_strings_sketch``, map size
``2**lg_map_size(top_k)``), which is exact while it tracks fewer than 0.75 x map size
distinct categories and otherwise bounds every count: the true count of a category lies
between the sketch's lower and upper bound, and upper - lower <= epsilon x count with
``epsilon = 3.5 / map size`` (DataSketches' stated worst case). Sketches merge within
that bound.

``other_rows`` counts rows the column holds no category for, and ``other_error`` bounds
how many of them any one category can have (so it widens the bound of every count).
Profiles written before format 2 pooled the categories beyond ``top_k`` into one "other"
count: rows any category may have (error = rows). And a sketch whose map purge removed
every counter (all counts equal, e.g. only distinct IDs) reports itself empty, and
DataSketches then drops its weight and error when it is merged or serialised: such a
sketch's rows move here, with its error, and it starts afresh.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Literal

from mlineage.errors import CorruptRecord, InvalidInput
from mlineage.stats._sketch import deserialize_sketch, frequent_sketch_class, lg_map_size

ErrorType = Literal["no_false_positives", "no_false_negatives"]


class CategoryCounts:
    """Exact counts or a frequent-items sketch, plus rows held by no category."""

    __slots__ = ("_exact", "_sketch", "other_error", "other_rows", "top_k")

    def __init__(self, top_k: int) -> None:
        self.top_k = top_k
        self._exact: dict[str, int] | None = {}
        self._sketch: Any = None
        self.other_rows = 0
        self.other_error = 0

    @property
    def is_sketched(self) -> bool:
        """True once the column holds a frequent-items sketch."""
        return self._sketch is not None

    def add(self, counts: Mapping[str, int]) -> None:
        """Absorb counts (category -> positive count)."""
        if self._sketch is not None:
            update = self._sketch.update
            for key, c in counts.items():
                update(key, c)
            self._settle()
            return
        assert self._exact is not None
        exact = self._exact
        for key, c in counts.items():
            exact[key] = exact.get(key, 0) + c
        if len(exact) > self.top_k:
            sketch = frequent_sketch_class()(lg_map_size(self.top_k))
            for key, c in exact.items():
                sketch.update(key, c)
            self._sketch, self._exact = sketch, None
            self._settle()

    def _settle(self) -> None:
        """Move the rows of a sketch that purged every counter out of it (see above)."""
        sk = self._sketch
        if sk.num_active_items == 0 and sk.total_weight > 0:
            self.other_rows += int(sk.total_weight)
            self.other_error += self._offset()
            self._sketch = frequent_sketch_class()(lg_map_size(self.top_k))

    def _offset(self) -> int:
        # upper - lower is the sketch's offset for every item, tracked or not
        sk = self._sketch
        return int(sk.get_upper_bound("") - sk.get_lower_bound(""))

    def merged(self, other: CategoryCounts) -> CategoryCounts:
        """Counts of both parts (neither changes)."""
        out = CategoryCounts(self.top_k)
        out.other_rows = self.other_rows + other.other_rows
        out.other_error = self.other_error + other.other_error
        sketches = [p._sketch for p in (self, other) if p._sketch is not None]
        if sketches:
            out._sketch = frequent_sketch_class().deserialize(sketches[0].serialize())
            out._exact = None
            for extra in sketches[1:]:
                out._sketch.merge(extra)
            out._settle()
        for part in (self, other):
            if part._exact:
                out.add(part._exact)
        return out

    # --- reading --------------------------------------------------------------------

    @property
    def max_error(self) -> int:
        """Bound on ``true - lower`` and ``upper - true`` of every count (0 when exact)."""
        if self._sketch is None:
            return self.other_error
        return self._offset() + self.other_error

    def _tracked(self) -> list[tuple[str, int, int]]:
        """``(category, estimate, lower bound)`` of every category the column holds."""
        if self._exact is not None:
            return [(key, c, c) for key, c in self._exact.items()]
        # the sketch's own threshold is its maximum error: upper > error <=> lower > 0
        from datasketches import frequent_items_error_type  # type: ignore[import-untyped]

        rows = self._sketch.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES)
        return [(str(key), int(est), int(low)) for key, est, low, _ in rows]

    def reported(self) -> dict[str, int]:
        """What ``ColumnProfile.categories`` shows (see there)."""
        if self._exact is not None:
            return dict(self._exact)
        err = self.max_error
        rows = sorted(
            ((key, low) for key, _, low in self._tracked() if low > err),
            key=lambda kv: (-kv[1], kv[0]),
        )
        return dict(rows[: self.top_k])

    def frequent_items(self, error_type: ErrorType) -> list[tuple[str, int, int, int]]:
        """See :meth:`ColumnProfile.frequent_items`."""
        if error_type not in ("no_false_positives", "no_false_negatives"):
            raise InvalidInput(
                "error_type must be 'no_false_positives' or 'no_false_negatives', got "
                f"{error_type!r}"
            )
        err = self.max_error
        # no false positives: lower bound > error; no false negatives: upper bound > error
        slack = 0 if error_type == "no_false_positives" else err
        rows = [(k, est, low, low + err) for k, est, low in self._tracked() if low + slack > err]
        return sorted(rows, key=lambda r: (-r[2], r[0]))

    # --- serialisation --------------------------------------------------------------

    def to_dict(self, count: int) -> dict[str, Any]:
        """Stored fields: ``categories`` (exact) or ``sketch``, and ``other``."""
        if self._exact is not None:
            return {"categories": dict(self._exact), "other": count - sum(self._exact.values())}
        sketch = base64.b64encode(bytes(self._sketch.serialize())).decode("ascii")
        return {
            "categories": None,
            "sketch": sketch,
            "other": self.other_rows,
            "other_error": self.other_error,
        }

    @classmethod
    def from_dict(
        cls, d: dict[str, Any], name: str, count: int, top_k: int, fmt: int
    ) -> CategoryCounts:
        """Read the stored fields of column ``name`` (format ``fmt``), checking them."""
        out = cls(top_k)
        other = d.get("other")
        if not isinstance(other, int) or isinstance(other, bool) or other < 0:
            raise CorruptRecord(f"profile column {name!r}: 'other' is not a count ({other!r})")
        out.other_rows = out.other_error = other
        raw = d.get("sketch")
        if raw is None:
            cats = d.get("categories")
            if not isinstance(cats, dict):
                raise CorruptRecord(f"profile column {name!r} categories is not a JSON object")
            for key, value in cats.items():
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise CorruptRecord(f"profile column {name!r}: bad count for {key!r}")
            if sum(cats.values()) + other != count or len(cats) > top_k:
                raise CorruptRecord(
                    f"profile column {name!r}: category counts do not add up to the count"
                )
            out._exact = dict(cats)
            return out
        if fmt < 2 or d.get("categories") is not None:
            raise CorruptRecord(
                f"profile column {name!r}: a categorical sketch needs format 2 and no 'categories'"
            )
        error = d.get("other_error")
        if type(error) is not int or not 0 <= error <= other:
            raise CorruptRecord(
                f"profile column {name!r}: 'other_error' is not a count up to 'other' ({error!r})"
            )
        out.other_error = error
        freq = frequent_sketch_class()
        sketch = deserialize_sketch(freq, raw, name)
        if sketch.total_weight + other != count or sketch.epsilon != freq.get_epsilon_for_lg_size(
            lg_map_size(top_k)
        ):
            raise CorruptRecord(
                f"profile column {name!r}: sketch holds {sketch.total_weight} rows "
                f"(epsilon {sketch.epsilon}) for a count of {count} (top_k={top_k})"
            )
        out._sketch, out._exact = sketch, None
        return out
