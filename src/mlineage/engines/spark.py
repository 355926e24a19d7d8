"""Profile a Spark DataFrame on its executors, and identify it by the files it reads.

:func:`profile` runs :meth:`DataProfile.from_batches` inside ``DataFrame.mapInArrow``:
each partition becomes one serialised partial profile (a few KB once its columns are
sketched), and the driver merges them in a balanced binary tree. The data itself never
leaves the executors.

Why collect-and-merge rather than ``RDD.treeReduce``: the partial profiles are small and
bounded (per column, at most ``exact_limit`` values or a KLL sketch, and ``top_k``
categories or a frequent-items sketch), so shipping one per partition to the driver
costs little; ``mapInArrow`` and ``collect`` exist on Spark Connect too, where there is
no RDD API; and the balanced tree keeps each profile in at most ``log2(partitions)``
merges, as ``treeReduce`` would.

:func:`source` names what a DataFrame reads (``df.inputFiles()``) with each file's
size, modification time and, where the file system offers one, its checksum, from the
file system's metadata only: no file is opened, and nothing is collected.

Executors need mlineage, pandas and pyarrow (``pip install 'mlineage[spark]'`` on every
node), and datasketches for profiles past the exact limits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from mlineage.engines._listing import Listing, ObjectEntry, SnapshotParts, listing_of
from mlineage.engines._partials import (
    LabelKind,
    Settings,
    arrow_frame,
    check_label,
    frames_profile,
    merge_tree,
    require,
)
from mlineage.errors import InvalidInput
from mlineage.stats import DataProfile

__all__ = ["profile", "snapshot_parts", "source"]


class _PartitionProfile:
    """The function ``mapInArrow`` runs on each partition: batches in, one profile out."""

    def __init__(self, settings: Settings, schema: Any) -> None:
        self.settings = settings
        self.schema = schema

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore[import-untyped]

        frames = (arrow_frame(b) for b in batches)
        first = next(frames, None)
        if first is None:
            # An empty partition still has the columns: profile none of their rows, so
            # every partial profile has the same columns and kinds.
            first = arrow_frame(self.schema.empty_table())
        data = frames_profile(itertools.chain([first], frames), self.settings)
        yield pa.RecordBatch.from_arrays([pa.array([data], pa.binary())], names=["profile"])


def _spark_dataframe(df: Any) -> None:
    if not (hasattr(df, "mapInArrow") and hasattr(df, "inputFiles")):
        raise InvalidInput(
            f"expected a pyspark.sql.DataFrame, got {type(df).__name__}; for pandas use "
            "DataProfile.from_dataframe, for Dask mlineage.engines.dask.profile"
        )


def profile(
    df: Any,
    label: str | None = None,
    *,
    label_kind: LabelKind = "auto",
    exact_limit: int | None = None,
    k: int | None = None,
    top_k: int | None = None,
) -> DataProfile:
    """Profile a Spark DataFrame where it lives: per partition on the executors, merged.

    The result is the profile :meth:`DataProfile.from_dataframe` gives for the whole frame
    converted by pyarrow (integers as ``Int64``, booleans as ``boolean``, decimals as
    float64): the same counts, missing counts, min/max and category counts (below
    ``top_k`` categories; above, within the frequent-items bound), the same mean and
    standard deviation up to floating-point rounding, and quantiles within the KLL bound
    (:attr:`ColumnProfile.rank_error`).

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The data; its plan runs once.
    label : str, optional
        Column profiled as the label.
    label_kind : {"auto", "numeric", "categorical"}
        As in :meth:`DataProfile.from_dataframe` (``"auto"``: float labels numeric,
        integer, bool and string labels categorical).
    exact_limit, k, top_k : int, optional
        As in :meth:`DataProfile.from_array`; DataProfile's defaults when not given.

    Returns
    -------
    DataProfile
        One profile of the Spark DataFrame's partitions.

    Raises
    ------
    InvalidInput
        ``df`` is not a Spark DataFrame, ``label`` is not a column, a setting is out of
        range, or a column cannot be profiled (raised from the executor that met it).
    MissingDependency
        pyspark or pyarrow is not installed (``pip install 'mlineage[spark]'``).

    Examples
    --------
    >>> from mlineage.engines import spark as ml_spark  # doctest: +SKIP
    >>> p = ml_spark.profile(spark.read.parquet("s3a://bucket/train/"), label="y")  # doctest: +SKIP
    >>> p.num_rows, p["y"].categories  # doctest: +SKIP
    """
    require("pyspark", "spark")
    require("pyarrow", "spark")
    _spark_dataframe(df)
    settings = Settings.of(label, label_kind, exact_limit, k, top_k)
    check_label(label, df.columns, "Spark DataFrame")
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(df.schema)
    rows = df.mapInArrow(_PartitionProfile(settings, schema), "profile binary").collect()
    return merge_tree(DataProfile.from_bytes(bytes(row[0])) for row in rows)


def source(df: Any) -> Listing:
    """The files a Spark DataFrame reads, identified by their file system's metadata.

    Every path of ``df.inputFiles()`` with its length, modification time and, when the
    Hadoop file system computes one without reading the file for us (HDFS's MD5-of-CRC),
    its checksum; the local and S3A file systems offer none, so there the identity is the
    name, size and modification time. Only the driver asks, and only for metadata.

    Parameters
    ----------
    df : pyspark.sql.DataFrame

    Returns
    -------
    Listing

    Raises
    ------
    InvalidInput
        The DataFrame reads no files (built from local data or a source without files):
        write it out first, or snapshot it with ``DataSnapshot(path=..., hash=...)``.
    """
    require("pyspark", "spark")
    _spark_dataframe(df)
    files = sorted(df.inputFiles())
    if not files:
        raise InvalidInput(
            "the Spark DataFrame reads no files (df.inputFiles() is empty: it was built "
            "from local data, a range or a source without files), so it cannot be identified "
            "by its source; write it to storage and read it back, or record your own "
            "identity with DataSnapshot(path=..., hash=...)"
        )
    session = df.sparkSession
    jvm = session._jvm
    conf = session._jsc.hadoopConfiguration()
    entries = []
    for name in files:
        path = jvm.org.apache.hadoop.fs.Path(name)
        fs = path.getFileSystem(conf)
        status = fs.getFileStatus(path)
        checksum = fs.getFileChecksum(path)
        entries.append(
            ObjectEntry(
                key=name,
                size=int(status.getLen()),
                etag=None if checksum is None else str(checksum.toString()),
                version=None,
                modified=int(status.getModificationTime()) / 1000.0,
            )
        )
    return listing_of(entries, how="spark")


def snapshot_parts(
    df: Any,
    *,
    profile: bool = False,
    label: str | None = None,
    path: str | None = None,
    label_kind: LabelKind = "auto",
) -> SnapshotParts:
    """What ``DataSnapshot.from_spark`` is made of: the input files, optionally a profile.

    See :meth:`mlineage.DataSnapshot.from_spark`.
    """
    from mlineage.engines import spark as engine  # this module: `profile` is an argument here

    listing = source(df)
    prof = engine.profile(df, label, label_kind=label_kind) if profile else None
    columns = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    return SnapshotParts(listing, path or listing.root, prof, columns)
