"""mlineage.engines.spark on a real pyspark session, local[2] (needs Java)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlineage.analysis import DataProfile
from mlineage.engines import spark as ml_spark
from mlineage.errors import InvalidInput
from mlineage.records import DataSnapshot
from tests.engines.conftest import SIZES
from tests.engines.profiles import arrow_rule, assert_same_profile

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("pyspark needs Java (a JRE 17+) on PATH; none found", allow_module_level=True)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # The Python workers must be this interpreter (with mlineage, pandas and pyarrow).
    patch = pytest.MonkeyPatch()
    patch.setenv("PYSPARK_PYTHON", sys.executable)
    patch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("mlineage-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        # small Arrow batches: each partition is profiled from several batches
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "128")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    patch.undo()


@pytest.fixture(scope="module")
def parts(frame: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The frame as three Parquet files, one per part."""
    folder = tmp_path_factory.mktemp("spark") / "data"
    folder.mkdir()
    for part in range(3):
        frame[frame["part"] == part].to_parquet(folder / f"part-{part}.parquet", index=False)
    return folder


def test_merged_on_the_executors_equals_the_one_process_profile(spark: Any, parts: Path) -> None:
    df = spark.read.parquet(str(parts))
    merged = ml_spark.profile(df, label="y", **SIZES)
    whole = arrow_rule(df.toArrow())
    single = DataProfile.from_dataframe(whole, label="y", **SIZES)
    assert_same_profile(merged, single, whole)
    assert not merged["x"].is_exact and merged["c"].count_error > 0
    assert merged["y"].kind == "categorical" and merged["z"].missing == 400
    assert merged["s"].missing == 400 and merged["flag"].kind == "categorical"


def test_empty_partitions_and_an_empty_frame(spark: Any, parts: Path) -> None:
    df = spark.read.parquet(str(parts)).repartition(5)  # more partitions than files
    kept = df.where("part != 1")
    whole = arrow_rule(kept.toArrow())
    merged = ml_spark.profile(kept, label="y", **SIZES)
    assert_same_profile(merged, DataProfile.from_dataframe(whole, label="y", **SIZES), whole)
    nothing = ml_spark.profile(df.where("part > 5"), label="y")
    assert nothing.num_rows == 0 and nothing.columns == ["part", "x", "n", "flag", "c", "z", "s"]
    assert nothing["y"].count == 0


def test_bad_input_is_refused_before_any_job(spark: Any, parts: Path, frame: Any) -> None:
    df = spark.read.parquet(str(parts))
    with pytest.raises(InvalidInput, match="label column 'nope'"):
        ml_spark.profile(df, label="nope")
    with pytest.raises(InvalidInput, match="k must be an integer >= 8"):
        ml_spark.profile(df, k=2)
    with pytest.raises(InvalidInput, match=r"expected a pyspark\.sql\.DataFrame"):
        ml_spark.profile(frame)


def test_from_spark_identifies_the_input_files_without_collecting(spark: Any, parts: Path) -> None:
    df = spark.read.parquet(str(parts))
    snap = DataSnapshot.from_spark(df.where("x > 0"), profile=True, label="y")
    assert snap.num_files == 3 and snap.path == f"file://{parts}"
    assert snap.size == sum(p.stat().st_size for p in parts.iterdir())
    assert snap.columns is not None and snap.columns["x"] == "double"
    assert snap.profile is not None and snap.num_rows is not None and snap.num_rows < 1200
    # the same files give the same identity, whatever is done with them afterwards
    assert DataSnapshot.from_spark(df).hash == snap.hash
    named = DataSnapshot.from_spark(df, path="warehouse.train")
    assert named.path == "warehouse.train" and named.hash == snap.hash
    with pytest.raises(InvalidInput, match="reads no files"):
        DataSnapshot.from_spark(spark.range(10))
