"""Profile a Dask DataFrame on its workers, and identify it by the files it reads.

:func:`profile` profiles each partition on the worker that holds it and merges the
serialised partial profiles in a tree on the workers (``dask.bag`` ``reduction`` with
``split_every``): only one profile, a few KB once its columns are sketched, comes back
to the client.

:func:`source` finds what a DataFrame reads: the paths given to ``dd.read_parquet``
(found in its expression) or the ``source`` you name, listed by
:func:`mlineage.engines.objects.list_objects`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from mlineage.engines._listing import Listing, SnapshotParts
from mlineage.engines._partials import (
    LabelKind,
    Settings,
    check_label,
    frames_profile,
    merge_bytes,
    require,
)
from mlineage.errors import InvalidInput
from mlineage.stats import DataProfile

__all__ = ["profile", "snapshot_parts", "source"]


def _dask_dataframe(ddf: Any) -> None:
    if not (hasattr(ddf, "to_bag") and hasattr(ddf, "npartitions")):
        raise InvalidInput(
            f"expected a dask.dataframe.DataFrame, got {type(ddf).__name__}; for pandas use "
            "DataProfile.from_dataframe, for Spark mlineage.engines.spark.profile"
        )


def _partition(frame: Any, settings: Settings) -> bytes:
    return frames_profile(iter([frame]), settings)


def profile(
    ddf: Any,
    label: str | None = None,
    *,
    label_kind: LabelKind = "auto",
    exact_limit: int | None = None,
    k: int | None = None,
    top_k: int | None = None,
    split_every: int = 8,
) -> DataProfile:
    """Profile a Dask DataFrame where it lives: per partition on the workers, merged there.

    The result is the profile :meth:`DataProfile.from_dataframe` gives for
    ``ddf.compute()``: the same counts, missing counts, min/max and category counts
    (below ``top_k`` categories; above, within the frequent-items bound), the same mean
    and standard deviation up to floating-point rounding, and quantiles within the KLL
    bound (:attr:`ColumnProfile.rank_error`). Every partition must have the column
    dtypes of ``ddf``'s meta (as Dask expects anyway).

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The data; it is computed once, on whatever scheduler is active (a
        ``distributed.Client`` if one is).
    label : str, optional
        Column profiled as the label.
    label_kind : {"auto", "numeric", "categorical"}
        As in :meth:`DataProfile.from_dataframe`.
    exact_limit, k, top_k : int, optional
        As in :meth:`DataProfile.from_array`; DataProfile's defaults when not given.
    split_every : int
        Partial profiles merged per task at each level of the tree (at least 2).

    Returns
    -------
    DataProfile
        One profile of all the Dask DataFrame's partitions.

    Raises
    ------
    InvalidInput
        ``ddf`` is not a Dask DataFrame, ``label`` is not a column, a setting is out of
        range, or a column cannot be profiled.
    MissingDependency
        dask is not installed (``pip install 'mlineage[dask]'``).

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd
    >>> from mlineage.engines import dask as ml_dask
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "a", "a"]})
    >>> p = ml_dask.profile(dd.from_pandas(frame, npartitions=2), label="y")
    >>> p.num_rows, p["x"].mean, p["y"].categories
    (4, 2.5, {'a': 3, 'b': 1})
    """
    require("dask", "dask")
    _dask_dataframe(ddf)
    if not isinstance(split_every, int) or isinstance(split_every, bool) or split_every < 2:
        raise InvalidInput(f"split_every must be an integer >= 2, got {split_every!r}")
    settings = Settings.of(label, label_kind, exact_limit, k, top_k)
    check_label(label, ddf.columns, "Dask DataFrame")
    bag = ddf.to_bag(format="frame")
    tree = bag.reduction(
        partial(_partition, settings=settings), merge_bytes, split_every=split_every
    )
    merged = DataProfile.from_bytes(tree.compute())
    if merged.num_rows == 0:
        # dask.bag skips empty partitions: with no rows at all, profile the frame's meta
        # (its columns and dtypes, no rows) so the profile still has every column.
        return settings.profile([ddf._meta])
    return merged


def _read_paths(ddf: Any) -> list[str]:
    """Paths given to ``dd.read_parquet`` anywhere in the DataFrame's expression."""
    found: list[str] = []
    expr = getattr(ddf, "expr", None)
    for op in expr.walk() if expr is not None else ():
        if "path" in getattr(op, "_parameters", ()):
            path = op.operand("path")
            found += [path] if isinstance(path, str) else [str(p) for p in path]
    return found


def source(ddf: Any, source: str | None = None) -> Listing:
    """The objects a Dask DataFrame reads, listed without reading them.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    source : str, optional
        The URI or path the frame was read from. Without it, the path given to
        ``dd.read_parquet`` (the only reader whose path the expression keeps).

    Returns
    -------
    Listing

    Raises
    ------
    InvalidInput
        No ``source`` given and none found (the frame was not read with
        ``read_parquet``, or read from several paths): pass ``source=``.
    """
    from mlineage.engines.objects import list_objects

    _dask_dataframe(ddf)
    if source is None:
        paths = sorted(set(_read_paths(ddf)))
        if len(paths) != 1:
            raise InvalidInput(
                "cannot tell which files the Dask DataFrame reads "
                f"(read_parquet paths found: {paths}); pass source='s3://bucket/prefix' "
                "(or the folder) it was read from"
            )
        source = paths[0]
    return list_objects(source)


def snapshot_parts(
    ddf: Any,
    *,
    source: str | None = None,
    profile: bool = False,
    label: str | None = None,
    label_kind: LabelKind = "auto",
) -> SnapshotParts:
    """What ``DataSnapshot.from_dask`` is made of: the files read, optionally a profile.

    See :meth:`mlineage.DataSnapshot.from_dask`.
    """
    from mlineage.engines import dask as engine  # this module: its names are arguments here

    listing = engine.source(ddf, source)
    prof = engine.profile(ddf, label, label_kind=label_kind) if profile else None
    columns = {str(name): str(dtype) for name, dtype in ddf.dtypes.items()}
    return SnapshotParts(listing, source or listing.root, prof, columns)
