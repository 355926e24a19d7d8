"""Partial profiles: what every engine runs on its workers, and the tree that merges them.

A worker profiles its partition with :meth:`DataProfile.from_batches` and ships the
profile as bytes (:meth:`DataProfile.to_bytes`: UTF-8 JSON, never a pickle); partial
profiles are merged pairwise in a balanced tree (:func:`merge_tree`), so no profile takes
part in more than ``log2(partitions)`` merges and the floating-point moments are combined
as evenly as the one-process profile combines its chunks.

Arrow data becomes pandas by one rule on every worker (:func:`arrow_frame`), so that a
column is profiled the same way in every partition whatever its nulls: integers as
pandas' nullable ``Int64`` (an int label stays a class label, ``"3"``, even in a
partition where a null turned the NumPy column into floats), booleans as ``boolean``,
decimals as float64; everything else as pyarrow's ``to_pandas`` gives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from mlineage.errors import InvalidInput, MissingDependency
from mlineage.stats import DataProfile

LabelKind = Literal["auto", "numeric", "categorical"]


@dataclass(frozen=True)
class Settings:
    """How every partition is profiled: the label and the profile's sizes.

    ``sizes`` holds only the settings the caller gave (``exact_limit``, ``k``, ``top_k``),
    so every other one is :class:`DataProfile`'s own default. Plain data: it is pickled to
    the workers with the function that uses it.
    """

    label: str | None = None
    label_kind: LabelKind = "auto"
    sizes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        label: str | None,
        label_kind: LabelKind,
        exact_limit: int | None,
        k: int | None,
        top_k: int | None,
    ) -> Settings:
        """Settings checked here, on the driver, before any work is sent out.

        Raises
        ------
        InvalidInput
            A size is not an integer in range, or ``label_kind`` is unknown.
        """
        given = {"exact_limit": exact_limit, "k": k, "top_k": top_k}
        sizes = {name: value for name, value in given.items() if value is not None}
        if label_kind not in ("auto", "numeric", "categorical"):
            raise InvalidInput(
                f"label_kind must be 'auto', 'numeric' or 'categorical', got {label_kind!r}"
            )
        if label is not None and not isinstance(label, str):
            raise InvalidInput(f"label must be a column name (str), got {label!r}")
        # from_batches checks every size before it reads a batch: an empty input checks them.
        DataProfile.from_batches([], **sizes)  # type: ignore[arg-type]
        return cls(label, label_kind, sizes)

    def profile(self, frames: Iterable[Any]) -> DataProfile:
        """Profile pandas DataFrames with these settings."""
        return DataProfile.from_batches(
            frames,
            label=self.label,
            label_kind=self.label_kind,
            **self.sizes,  # type: ignore[arg-type]
        )


def require(module: str, extra: str) -> None:
    """Raise :class:`MissingDependency` naming ``mlineage[extra]`` if ``module`` is absent."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependency(
            f"this needs the {module!r} package, which is not installed; "
            f"pip install 'mlineage[{extra}]'"
        )


def check_label(label: str | None, columns: Iterable[str], engine: str) -> None:
    """Refuse a label that is not a column, before any job runs."""
    names = [str(c) for c in columns]
    if label is not None and label not in names:
        raise InvalidInput(f"label column {label!r} is not a column of the {engine}: {names}")


def _pandas_type(arrow_type: Any) -> Any:
    import pandas as pd  # type: ignore[import-untyped]
    import pyarrow as pa  # type: ignore[import-untyped]

    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def arrow_frame(batch: Any) -> Any:
    """A pyarrow RecordBatch or Table as the pandas DataFrame every partition profiles."""
    import pyarrow as pa

    for i, column in enumerate(batch.schema):
        if pa.types.is_decimal(column.type):
            batch = batch.set_column(i, column.name, batch.column(i).cast(pa.float64()))
    return batch.to_pandas(types_mapper=_pandas_type)


def merge_tree(profiles: Iterable[DataProfile]) -> DataProfile:
    """Merge profiles in a balanced binary tree, holding ``log2(n)`` of them at a time.

    The order of the partitions is kept (left before right), so the result does not depend
    on which worker finished first.
    """
    stack: list[tuple[int, DataProfile]] = []
    for profile in profiles:
        level = 0
        while stack and stack[-1][0] == level:
            profile = stack.pop()[1].merge(profile)
            level += 1
        stack.append((level, profile))
    merged = DataProfile.from_batches([])
    for _, profile in reversed(stack):
        merged = profile.merge(merged)
    return merged


def merge_bytes(parts: Iterable[bytes]) -> bytes:
    """Serialised partial profiles merged into one (a tree node's work on a worker)."""
    return merge_tree(DataProfile.from_bytes(p) for p in parts).to_bytes()


def frames_profile(frames: Iterator[Any], settings: Settings) -> bytes:
    """A partition's pandas frames profiled and serialised."""
    return settings.profile(frames).to_bytes()
