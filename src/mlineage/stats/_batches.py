"""Batches -> row chunks -> column blocks: what a profile absorbs, in bounded memory.

Every batch, whatever its size, is cut into chunks of at most :func:`chunk_rows` rows
before anything is converted, so profiling holds one chunk's conversions (a float64
copy, an object array of categories and their counter) rather than copies of the whole
input: ``DataProfile.from_array`` on ten million distinct categories needs what
``from_batches`` on the same data does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput
from mlineage.stats._sketch import Kind, kind_of, kind_of_label

#: Most rows of one chunk.
CHUNK_ROWS = 65_536
#: Most cells (rows x columns) of one chunk: 8 MiB of float64.
CHUNK_CELLS = 1 << 20

Blocks = list[tuple[list[int], npt.NDArray[Any]]]
Split = tuple[list[str], list[Kind], Blocks, str | None, npt.NDArray[Any] | None, Kind | None]


def chunk_rows(n_cols: int) -> int:
    """Rows per chunk for ``n_cols`` columns."""
    return max(1, min(CHUNK_ROWS, CHUNK_CELLS // max(n_cols, 1)))


def is_frame(batch: Any) -> bool:
    """True for a pandas DataFrame (without importing pandas)."""
    return hasattr(batch, "columns") and hasattr(batch, "dtypes") and hasattr(batch, "iloc")


def chunks(batch: Any, index: int) -> Iterator[Any]:
    """Row chunks of one batch: DataFrame slices, or ``(X, y)`` tuples of array views."""
    if is_frame(batch):
        step = chunk_rows(batch.shape[1])
        for start in range(0, max(len(batch), 1), step):
            yield batch.iloc[start : start + step]
        return
    y = None
    if isinstance(batch, tuple):
        if len(batch) != 2:
            raise InvalidInput(f"batch {index}: a tuple batch must be (X, y), got {len(batch)}")
        batch, y = batch
    x = _as_array(batch, f"batch {index}")
    labels = None if y is None else _as_array(y, f"batch {index}: labels")
    if x.ndim == 0 or (labels is not None and labels.ndim != 1):
        yield x, labels  # split_batch names the shape error
        return
    if labels is not None and labels.shape[0] != x.shape[0]:
        raise InvalidInput(f"batch {index}: {labels.shape[0]} labels for {x.shape[0]} rows")
    step = chunk_rows(int(np.prod(x.shape[1:], dtype=np.int64)))
    for start in range(0, max(x.shape[0], 1), step):
        stop = start + step
        yield x[start:stop], None if labels is None else labels[start:stop]


def _as_array(values: Any, what: str) -> npt.NDArray[Any]:
    try:
        return np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not an array: {exc}") from None


def split_batch(
    batch: Any,
    columns: Sequence[str] | None,
    label: str | None,
    label_name: str,
    label_kind: str,
    index: int,
) -> Split:
    """Names, kinds, column blocks (same-kind groups) and label of one chunk."""
    if is_frame(batch):
        return _split_frame(batch, label, label_kind, index)
    x, y = batch
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise InvalidInput(f"batch {index} must be 1-D or 2-D, got shape {x.shape}")
    names = [str(i) for i in range(x.shape[1])] if columns is None else [str(c) for c in columns]
    if len(names) != x.shape[1]:
        raise InvalidInput(
            f"batch {index} has {x.shape[1]} columns but {len(names)} names were given"
        )
    kind = kind_of(x, f"batch {index}")
    blocks: Blocks = [(list(range(x.shape[1])), x)] if x.shape[1] else []
    lvalues: npt.NDArray[Any] | None = None
    lkind: Kind | None = None
    lname = None
    if y is not None:
        if y.ndim != 1:
            raise InvalidInput(f"batch {index}: labels must be 1-D, got shape {y.shape}")
        lkind = kind_of_label(y, label_kind)
        lname = label_name
        lvalues = _numeric_labels(y, lname, index) if lkind == "numeric" else y
    return names, [kind] * x.shape[1], blocks, lname, lvalues, lkind


def _numeric_labels(values: npt.NDArray[Any], name: str, index: int) -> npt.NDArray[np.float64]:
    """Labels profiled as numbers, as float64; a typed error for anything else."""
    if values.dtype.kind == "c":
        raise InvalidInput(
            f"batch {index}: label column {name!r} is complex ({values.dtype}), which "
            "mlineage cannot profile; profile its real and imaginary parts as two columns"
        )
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _not_numbers(name, index, exc) from None


def _not_numbers(name: str, index: int, exc: Exception) -> InvalidInput:
    return InvalidInput(
        f"batch {index}: label column {name!r} is profiled as numeric "
        f"(label_kind='numeric') but holds values that are not numbers ({exc}); pass "
        "label_kind='categorical' or convert the labels to numbers"
    )


def _split_frame(df: Any, label: str | None, label_kind: str, index: int) -> Split:
    # pandas is needed only for DataFrame input; the caller passed one, so it is installed.
    from pandas.api.types import (  # type: ignore[import-untyped]
        is_bool_dtype,
        is_complex_dtype,
        is_numeric_dtype,
    )

    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise InvalidInput(f"batch {index}: DataFrame column names repeat: {names}")
    # Profile columns are named str(name), so a label matches a column by its string
    # form (an int column 5 is label "5" or 5); names are unique as strings, so at most one.
    lpos = None
    if label is not None:
        if str(label) not in names:
            raise InvalidInput(f"batch {index}: label column {label!r} not in {names}")
        lpos = names.index(str(label))
    feats = [j for j in range(len(names)) if j != lpos]
    for j in [*feats, *([lpos] if lpos is not None else [])]:
        if is_complex_dtype(df.dtypes.iloc[j]):
            raise InvalidInput(
                f"batch {index}: column {names[j]!r} is complex ({df.dtypes.iloc[j]}), which "
                "mlineage cannot profile; profile its real and imaginary parts as two columns"
            )
    kinds: list[Kind] = [
        "numeric"
        if is_numeric_dtype(df.dtypes.iloc[j]) and not is_bool_dtype(df.dtypes.iloc[j])
        else "categorical"
        for j in feats
    ]
    blocks: Blocks = []
    num = [i for i, kd in enumerate(kinds) if kd == "numeric"]
    if num:
        arr = df.iloc[:, [feats[i] for i in num]].to_numpy(dtype=np.float64, na_value=np.nan)
        blocks.append((num, arr))
    for i, kd in enumerate(kinds):
        if kd == "categorical":
            blocks.append(([i], df.iloc[:, feats[i]].to_numpy(dtype=object).reshape(-1, 1)))
    lvalues: npt.NDArray[Any] | None = None
    lkind: Kind | None = None
    lname = None
    if lpos is not None:
        lname = names[lpos]
        series = df.iloc[:, lpos]
        if label_kind == "auto":
            is_num = is_numeric_dtype(series) and not is_bool_dtype(series)
            lkind = "numeric" if is_num and series.dtype.kind == "f" else "categorical"
        else:
            lkind = kind_of_label(np.empty(0), label_kind)
        if lkind == "numeric":
            try:
                lvalues = series.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise _not_numbers(lname, index, exc) from None
        else:
            lvalues = series.to_numpy(dtype=object)
    return [names[j] for j in feats], kinds, blocks, lname, lvalues, lkind
