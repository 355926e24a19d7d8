"""Profiles for data snapshots: ``DataSnapshot.from_array(..., profile=True)`` and friends.

The snapshot constructors in :mod:`mlineage.records` call these functions (inside the
function that needs them, so ``import mlineage`` stays light). Each returns the profile's
blob key and bytes, which the snapshot holds until the writer stores them before the
version record that points at them. A profile is UTF-8 JSON
(:meth:`~mlineage.analysis.DataProfile.to_bytes`), never a pickle.

This module imports only the profile modules of this package, :mod:`mlineage.content` and
:mod:`mlineage.errors`, so the records layer may call it without importing the lineage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlineage.content import blob_key_of
from mlineage.errors import InvalidInput, MissingDependency, PathNotFound
from mlineage.stats._data_profile import DataProfile

__all__ = ["profile_array", "profile_bytes", "profile_frame", "profile_path"]

#: Rows per batch when profiling files: memory is one batch plus the profile itself.
BATCH_ROWS = 65_536
_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def profile_bytes(profile: DataProfile) -> tuple[str, bytes]:
    """``(blob key, bytes)`` of ``profile`` serialised.

    Raises
    ------
    InvalidInput
        If ``profile`` is not a :class:`~mlineage.analysis.DataProfile`.
    """
    if not isinstance(profile, DataProfile):
        raise InvalidInput(
            f"with_profile needs a mlineage.analysis.DataProfile, got {type(profile).__name__}; "
            "build one with DataProfile.from_array / from_dataframe / from_batches"
        )
    data = profile.to_bytes()
    return blob_key_of(data), data


def profile_array(X: Any, y: Any = None) -> tuple[str, bytes]:  # noqa: N803 (scikit-learn's name)
    """Profile features ``X`` (and labels ``y``); return its key and bytes."""
    return profile_bytes(DataProfile.from_array(X, y))


def profile_frame(df: Any, label: str | None = None) -> tuple[str, bytes]:
    """Profile a pandas DataFrame (``label`` names its label column); return its key and bytes."""
    return profile_bytes(DataProfile.from_dataframe(df, label=label))


def profile_path(path: str | os.PathLike[str], label: str | None = None) -> tuple[str, bytes]:
    """Profile a Parquet or CSV file, or a directory of them, batch by batch.

    Files of a directory are read in the order of their relative paths (files with other
    suffixes are ignored); all must have the same columns. Memory is one batch of
    :data:`BATCH_ROWS` rows at a time plus the profile.

    Raises
    ------
    InvalidInput
        The path is neither a Parquet/CSV file nor a directory holding some.
    MissingDependency
        pyarrow (Parquet) or pandas is not installed.
    """
    files = _data_files(Path(path))
    return profile_bytes(DataProfile.from_batches(_frames(files), label=label))


def _data_files(path: Path) -> list[tuple[Path, str]]:
    if not path.exists():
        raise PathNotFound(f"cannot profile {str(path)!r}: no such file or directory")
    if path.is_file():
        kind = _SUFFIXES.get(path.suffix.lower())
        if kind is None:
            raise InvalidInput(
                f"cannot profile {str(path)!r}: profile=True reads Parquet (.parquet, .pq) "
                "or CSV (.csv) files; for other data, profile it yourself and attach it with "
                "snapshot.with_profile(DataProfile.from_batches(...))"
            )
        return [(path, kind)]
    files = sorted(
        (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES),
        key=lambda p: p.relative_to(path).as_posix(),
    )
    if not files:
        raise InvalidInput(
            f"cannot profile directory {str(path)!r}: it holds no Parquet (.parquet, .pq) or "
            "CSV (.csv) file; attach a profile with snapshot.with_profile(...) instead"
        )
    return [(p, _SUFFIXES[p.suffix.lower()]) for p in files]


def _frames(files: list[tuple[Path, str]]) -> Iterator[Any]:
    # pandas and pyarrow are optional: imported only when a file is profiled.
    try:
        import pandas as pd  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependency(
            "profiling Parquet or CSV files needs pandas; pip install 'mlineage[data]'"
        ) from None
    for path, kind in files:
        if kind == "parquet":
            try:
                import pyarrow.parquet as pq  # type: ignore[import-untyped]
            except ImportError:
                raise MissingDependency(
                    f"profiling the Parquet file {str(path)!r} needs pyarrow; "
                    "pip install 'mlineage[data]'"
                ) from None
            for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
                yield batch.to_pandas()
        else:
            yield from pd.read_csv(path, chunksize=BATCH_ROWS)
