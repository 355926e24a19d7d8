"""Benchmark mlineage.engines: profiles on Spark and Dask, object listings, streamed Parquet.

Three measurements:

(a) profile ``--rows`` x 20 columns (19 float columns and an integer label) generated on
    the workers, on 2 workers: Spark ``local[2]`` (``engines.spark.profile``) and a Dask
    ``LocalCluster`` of 2 single-threaded processes (``engines.dask.profile``), beside
    the one-process ``DataProfile.from_batches`` over the same batches. Each engine
    generates its rows where it profiles them, so the times include making the data
    and no run reads a disk;
(b) ``DataSnapshot.from_uri`` of ``--objects`` objects on SeaweedFS (S3) and
    fake-gcs-server (GCS), the servers the test suite starts (target: seconds);
(c) peak RSS of ``engines.objects.profile_parquet`` on Parquet files 10 and 50 batches
    long, each in a fresh process, beside a process that only does the same imports
    (target: the same peak for both files: bounded by the batch, not the file).

Run ``python benchmarks/bench_engines.py`` for the real sizes (20,000,000 rows, 10,000
objects), ``--quick`` for a smoke run. Spark is skipped (and says so) without Java.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from tests.storage.servers import run_fake_gcs, run_seaweedfs

import mlineage as ml
from mlineage.analysis import DataProfile

COLUMNS = 19
PARTITIONS = 16


def _batch(seed: int, rows: int) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {f"f{j}": rng.normal(j, 1.0, rows) for j in range(COLUMNS)}
    data["label"] = rng.integers(0, 5, rows)
    return pd.DataFrame(data)


def _batches(rows: int) -> Iterator[Any]:
    per = -(-rows // PARTITIONS)
    for i in range(PARTITIONS):
        yield _batch(i, min(per, rows - i * per))


def bench_one_process(rows: int) -> tuple[float, DataProfile]:
    start = time.perf_counter()
    profile = DataProfile.from_batches(_batches(rows), label="label")
    return time.perf_counter() - start, profile


def bench_dask(rows: int) -> tuple[float, DataProfile]:
    import dask.dataframe as dd
    import distributed

    from mlineage.engines import dask as ml_dask

    per = -(-rows // PARTITIONS)
    sizes = [min(per, rows - i * per) for i in range(PARTITIONS)]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        ddf = dd.from_map(_batch, range(PARTITIONS), sizes)
        start = time.perf_counter()
        profile = ml_dask.profile(ddf, label="label")
        return time.perf_counter() - start, profile


def bench_spark(rows: int) -> tuple[float, DataProfile] | str:
    if shutil.which("java") is None:
        return "skipped: no Java on PATH"
    import os

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession, functions

    from mlineage.engines import spark as ml_spark

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        columns = [(functions.randn(j) + j).alias(f"f{j}") for j in range(COLUMNS)]
        label = (functions.rand(99) * 5).cast("int").alias("label")
        df = session.range(0, rows, numPartitions=PARTITIONS).select(*columns, label)
        start = time.perf_counter()
        profile = ml_spark.profile(df, label="label")
        return time.perf_counter() - start, profile
    finally:
        session.stop()


def bench_profiles(rows: int) -> None:
    print(f"(a) profile {rows:,} rows x {COLUMNS + 1} columns, {PARTITIONS} partitions")
    base, reference = bench_one_process(rows)
    print(f"    one process, from_batches      {base:8.2f} s")
    dask_time, dask_profile = bench_dask(rows)
    assert dask_profile.num_rows == reference.num_rows == rows
    print(f"    Dask, 2 worker processes       {dask_time:8.2f} s  ({base / dask_time:.2f}x)")
    spark = bench_spark(rows)
    if isinstance(spark, str):
        print(f"    Spark local[2]                 {spark}")
    else:
        spark_time, spark_profile = spark
        assert spark_profile.num_rows == rows
        print(f"    Spark local[2]                 {spark_time:8.2f} s  ({base / spark_time:.2f}x)")


def _fill(put: Any, count: int) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: put(f"part-{i:06d}.parquet", b"x" * (i % 97)), range(count)))


def bench_listing(count: int) -> None:
    import os

    print(f"(b) DataSnapshot.from_uri of {count:,} objects (target: seconds)")
    with run_seaweedfs() as s3:
        os.environ.update(s3.env)
        client = s3.client()
        prefix = uuid.uuid4().hex
        _fill(lambda k, d: client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{k}", Body=d), count)
        start = time.perf_counter()
        snap = ml.DataSnapshot.from_uri(f"s3://{s3.bucket}/{prefix}/")
        took = time.perf_counter() - start
        assert snap.num_files == count
        print(f"    S3 (SeaweedFS)                 {took:8.2f} s")
    with run_fake_gcs() as gcs:
        os.environ.update(gcs.env)
        bucket = gcs.client().bucket(gcs.bucket)
        prefix = uuid.uuid4().hex
        _fill(lambda k, d: bucket.blob(f"{prefix}/{k}").upload_from_string(d), count)
        start = time.perf_counter()
        snap = ml.DataSnapshot.from_uri(f"gs://{gcs.bucket}/{prefix}/")
        took = time.perf_counter() - start
        assert snap.num_files == count
        print(f"    GCS (fake-gcs-server)          {took:8.2f} s")


# Peak RSS from VmHWM, which starts afresh at exec (ru_maxrss would carry the forking
# benchmark's own peak into the child). The idle run imports what profiling imports.
_RSS = """
import sys
import datasketches, pandas, pyarrow.dataset
from mlineage.engines import objects
if sys.argv[2] == "profile":
    p = objects.profile_parquet(sys.argv[1], batch_rows=int(sys.argv[3]))
    assert p.num_rows == int(sys.argv[4]), p.num_rows
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(int(status.split()[0]) // 1024)
"""


def _peak_rss(args: list[str]) -> int:
    script = textwrap.dedent(_RSS)
    run = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    return int(run.stdout)


def bench_parquet_rss(batch_rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(f"f{j}", pa.float64()) for j in range(10)])
    batch = batch_rows * 10 * 8 >> 20
    print(
        f"(c) profile_parquet of 10 float columns in batches of {batch_rows:,} rows ({batch} MiB)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = _peak_rss([tmp, "", str(batch_rows), "0"])
        print(f"    peak RSS, the same imports only          {base:6d} MiB")
        for batches in (10, 50):
            path = Path(tmp) / f"rows-{batches}.parquet"
            with pq.ParquetWriter(path, schema) as writer:
                for i in range(batches):
                    rng = np.random.default_rng(i)
                    cols = {f"f{j}": rng.normal(size=batch_rows) for j in range(10)}
                    writer.write_table(pa.table(cols), row_group_size=batch_rows)
            rows = batches * batch_rows
            peak = _peak_rss([str(path), "profile", str(batch_rows), str(rows)])
            print(
                f"    peak RSS, file of {batches} batches ({rows * 80 >> 20:4d} MiB decoded) "
                f"{peak:6d} MiB (+{peak - base} MiB)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI's smoke run")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--batch-rows", type=int, default=65_536)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.objects, args.batch_rows = 20_000, 200, 1_000
    bench_profiles(args.rows)
    bench_listing(args.objects)
    bench_parquet_rss(args.batch_rows)


if __name__ == "__main__":
    main()
