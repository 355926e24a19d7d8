"""Data profiles: per-column summaries of a dataset, built batch by batch, stored as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy.typing as npt

from mlineage.errors import CorruptRecord, InvalidInput, StoreFormatError
from mlineage.stats._batches import chunks, split_batch
from mlineage.stats._columns import ColumnProfile, categorical_values, numeric_block
from mlineage.stats._sketch import (
    DEFAULT_EXACT_LIMIT,
    DEFAULT_K,
    DEFAULT_TOP_K,
    FORMAT,
    Kind,
    get_count,
    json_object,
)

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]


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
            The profile of the array's columns and label.

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
            The profile of the DataFrame's columns and label.

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
        parts = ((i, part) for i, batch in enumerate(batches) for part in chunks(batch, i))
        for i, part in parts:
            names, kinds, blocks, lname, lvalues, lkind = split_batch(
                part, columns, label, label_name, label_kind, i
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
                    numeric_block(cols, block)
                else:
                    for j, col in enumerate(cols):
                        categorical_values(col, block[:, j])
            if lab is not None and lvalues is not None:
                if n_rows >= 0 and lvalues.shape[0] != n_rows:
                    raise InvalidInput(f"batch {i}: {lvalues.shape[0]} labels for {n_rows} rows")
                n_rows = lvalues.shape[0]
                if lab.kind == "numeric":
                    numeric_block([lab], lvalues.reshape(-1, 1))
                else:
                    categorical_values(lab, lvalues)
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
            ``other`` is not a DataProfile, or the profiles have different columns, kinds,
            labels or settings.

        Examples
        --------
        >>> a = DataProfile.from_array([[1.0], [2.0]])
        >>> b = DataProfile.from_array([[3.0]])
        >>> m = a.merge(b)
        >>> m.num_rows, m["0"].values.tolist(), m["0"].mean
        (3, [1.0, 2.0, 3.0], 2.0)
        """
        if not isinstance(other, DataProfile):
            raise InvalidInput(
                f"DataProfile.merge needs a DataProfile, got {type(other).__name__}; build "
                "one with DataProfile.from_array / from_dataframe / from_batches"
            )
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
        parts = [*self._cols.values(), *([self._label] if self._label is not None else [])]
        return {
            "format": max([1, *(c._format for c in parts)]),
            "type": "mlineage.DataProfile",
            "num_rows": self.num_rows,
            "columns": [c.to_dict() for c in self._cols.values()],
            "label": None if self._label is None else self._label.to_dict(),
        }

    def to_bytes(self) -> bytes:
        """UTF-8 JSON (``"format": 1``, or 2 when needed); see the module docstring.

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
        d = json_object(doc, "document")
        fmt = d.get("format")
        version = fmt if type(fmt) is int else 0
        if version > FORMAT:
            raise StoreFormatError(
                f"profile format {fmt} is newer than this mlineage reads ({FORMAT}); "
                "upgrade mlineage"
            )
        if version < 1 or d.get("type") != "mlineage.DataProfile":
            raise CorruptRecord(
                f"not a DataProfile of format 1 to {FORMAT} (format={fmt!r}, "
                f"type={d.get('type')!r})"
            )
        rows = get_count(d, "num_rows", "<profile>")
        raw_cols = d.get("columns")
        if not isinstance(raw_cols, list):
            raise CorruptRecord("profile 'columns' is not a list")
        cols = [ColumnProfile.from_dict(c, version) for c in raw_cols]
        lab = None if d.get("label") is None else ColumnProfile.from_dict(d["label"], version)
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
