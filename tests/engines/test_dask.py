"""mlineage.engines.dask on a real distributed LocalCluster of two worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlineage.analysis import DataProfile
from mlineage.engines import dask as ml_dask
from mlineage.errors import InvalidInput
from mlineage.records import DataSnapshot
from tests.engines.conftest import SIZES
from tests.engines.profiles import assert_same_profile

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


def test_merged_on_the_workers_equals_the_one_process_profile(client: Any, frame: Any) -> None:
    ddf = dd.from_pandas(frame, npartitions=3, sort=False)
    merged = ml_dask.profile(ddf, label="y", split_every=2, **SIZES)
    single = DataProfile.from_dataframe(frame, label="y", **SIZES)
    assert_same_profile(merged, single, frame)
    # the settings reached the workers: sketched columns, a categorical label
    assert not merged["x"].is_exact and merged["c"].count_error > 0
    assert merged["y"].kind == "categorical" and merged["z"].missing == 400


def test_empty_partitions_and_an_all_empty_frame(client: Any, frame: Any) -> None:
    ddf = dd.from_pandas(frame, npartitions=3, sort=False)
    kept = ddf[ddf["part"] != 1]  # partition 1 becomes empty
    rest = frame[frame["part"] != 1]
    merged = ml_dask.profile(kept, label="y", **SIZES)
    assert_same_profile(merged, DataProfile.from_dataframe(rest, label="y", **SIZES), rest)
    nothing = ml_dask.profile(ddf[ddf["part"] > 5], label="y")
    assert nothing.num_rows == 0 and nothing.columns == ["part", "x", "n", "flag", "c", "z", "s"]


def test_bad_input_is_refused_before_any_work(frame: Any) -> None:
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(InvalidInput, match="label column 'nope'"):
        ml_dask.profile(ddf, label="nope")
    with pytest.raises(InvalidInput, match="top_k must be an integer >= 1"):
        ml_dask.profile(ddf, top_k=0)
    with pytest.raises(InvalidInput, match="split_every"):
        ml_dask.profile(ddf, split_every=1)
    with pytest.raises(InvalidInput, match=r"expected a dask\.dataframe\.DataFrame"):
        ml_dask.profile(frame)


def test_from_dask_identifies_the_parquet_it_reads(client: Any, frame: Any, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for part in range(3):
        frame[frame["part"] == part].to_parquet(folder / f"part-{part}.parquet")
    ddf = dd.read_parquet(str(folder))
    snap = DataSnapshot.from_dask(ddf, profile=True, label="y")
    assert snap.path == str(folder) and snap.num_files == 3 and snap.num_rows == len(frame)
    assert snap.profile is not None and snap.manifest is not None
    assert snap.metadata["listing"] == {"how": "local", "root": str(folder), "versioned": False}
    assert DataSnapshot.from_dask(ddf).hash == snap.hash  # same files, same identity
    frame.head(3).to_parquet(folder / "part-3.parquet")
    assert DataSnapshot.from_dask(dd.read_parquet(str(folder))).hash != snap.hash
    with pytest.raises(InvalidInput, match="pass source="):
        DataSnapshot.from_dask(dd.from_pandas(frame, npartitions=2))
