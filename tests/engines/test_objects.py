"""DataSnapshot.from_uri against the S3 (SeaweedFS) and GCS (fake-gcs) servers and local folders."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

import mlineage as ml
from mlineage.analysis import DataProfile
from mlineage.engines import objects
from mlineage.errors import InvalidInput, PathNotFound
from tests.engines.conftest import SIZES, make_frame
from tests.engines.profiles import assert_same_profile
from tests.storage.servers import GCSServer, S3Server


def _parquet(frame: Any) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def _log_and_diff(before: ml.DataSnapshot, after: ml.DataSnapshot, tmp_path: Path) -> Any:
    tracker = ml.Tracker("m", storage=str(tmp_path / "lineage"))
    checkpoint = tmp_path / "model.bin"
    checkpoint.write_bytes(b"weights")
    for snap in (before, after):
        with tracker.log_version() as v:
            v.model_path = str(checkpoint)
            v.dataset = snap
            v.metrics = {"acc": 0.5}
    reloaded = ml.Tracker.load("m", storage=str(tmp_path / "lineage"))
    newest, oldest = reloaded.history()[0], reloaded.history()[-1]
    return reloaded.diff(oldest.id, newest.id)


class _Bucket:
    """Raw writes to a bucket prefix, bypassing mlineage."""

    def __init__(self, put: Any, delete: Any) -> None:
        self.put, self.delete = put, delete


def _s3(server: S3Server, bucket: str, prefix: str) -> _Bucket:
    client = server.client()
    return _Bucket(
        lambda key, data: client.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=data),
        lambda key: client.delete_object(Bucket=bucket, Key=f"{prefix}/{key}"),
    )


def _gcs(server: GCSServer, bucket: str, prefix: str) -> _Bucket:
    handle = server.client().bucket(bucket)
    return _Bucket(
        lambda key, data: handle.blob(f"{prefix}/{key}").upload_from_string(data),
        lambda key: handle.blob(f"{prefix}/{key}").delete(),
    )


def _changes_are_named(uri: str, bucket: _Bucket, tmp_path: Path) -> ml.DataSnapshot:
    frame = make_frame()
    for part in range(3):
        bucket.put(f"train/part-{part}.parquet", _parquet(frame[frame["part"] == part]))
    bucket.put("train/_SUCCESS", b"")
    before = ml.DataSnapshot.from_uri(uri + "/train/")
    assert before.num_files == 4 and before.path == uri + "/train/"
    assert ml.DataSnapshot.from_uri(uri + "/train").hash == before.hash  # nothing changed
    bucket.put("train/part-1.parquet", _parquet(frame.head(10)))
    bucket.delete("train/part-2.parquet")
    bucket.put("train/part-3.parquet", _parquet(frame.tail(10)))
    after = ml.DataSnapshot.from_uri(uri + "/train/", profile=True, label="y")
    assert after.hash != before.hash and after.num_rows == 400 + 10 + 10
    files = _log_and_diff(before, after, tmp_path).data_files
    assert set(files.added) == {"part-3.parquet"}
    assert set(files.removed) == {"part-2.parquet"}
    assert set(files.changed) == {"part-1.parquet"}
    return after


def test_s3_listing_is_the_manifest_and_diff_names_changed_objects(
    s3_env: S3Server, tmp_path: Path
) -> None:
    uri = s3_env.new_uri()
    bucket, prefix = uri[len("s3://") :].split("/", 1)
    after = _changes_are_named(uri, _s3(s3_env, bucket, prefix), tmp_path)
    assert after.metadata["listing"] == {"how": "s3", "root": uri + "/train", "versioned": False}


def test_gcs_listing_is_the_manifest_and_diff_names_changed_objects(
    gcs_env: GCSServer, tmp_path: Path
) -> None:
    uri = gcs_env.new_uri()
    bucket, prefix = uri[len("gs://") :].split("/", 1)
    after = _changes_are_named(uri, _gcs(gcs_env, bucket, prefix), tmp_path)
    # every GCS object has a generation, so the listing pins each object's version
    assert after.metadata["listing"]["versioned"] is True


def test_s3_versioned_bucket_records_version_ids(s3_env: S3Server) -> None:
    bucket = s3_env.create_bucket()
    client = s3_env.client()
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(Bucket=bucket, Key="d/a.csv", Body=b"x\n1\n")
    first = objects.list_objects(f"s3://{bucket}/d")
    client.put_object(Bucket=bucket, Key="d/a.csv", Body=b"x\n1\n")  # same bytes, new version
    client.put_object(Bucket=bucket, Key="d/gone.csv", Body=b"x\n")
    client.delete_object(Bucket=bucket, Key="d/gone.csv")  # a delete marker hides it
    second = objects.list_objects(f"s3://{bucket}/d")
    assert [e.key for e in second.entries] == ["a.csv"] and second.versioned
    (old,), (new,) = first.entries, second.entries
    assert old.version and new.version and old.version != new.version
    assert old.etag == new.etag and old.identity() != new.identity()


def test_a_local_folder_is_listed_by_size_and_mtime(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x\n1\n")
    (folder / "sub" / "b.csv").write_text("x\n2\n")
    snap = ml.DataSnapshot.from_uri(str(folder))
    assert snap.num_files == 2 and snap.size == 8
    assert ml.DataSnapshot.from_uri(f"file://{folder}").hash == snap.hash
    os.utime(folder / "a.csv", ns=(1, 1))  # same bytes, other mtime: another identity
    assert ml.DataSnapshot.from_uri(str(folder)).hash != snap.hash
    single = objects.list_objects(str(folder / "a.csv"))
    assert [e.key for e in single.entries] == ["a.csv"]


def test_bad_uris_get_clear_errors(tmp_path: Path, s3_env: S3Server) -> None:
    with pytest.raises(PathNotFound, match="no such file"):
        ml.DataSnapshot.from_uri(str(tmp_path / "missing"))
    with pytest.raises(InvalidInput, match="mlineage lists s3://"):
        ml.DataSnapshot.from_uri("ftp://host/data")
    with pytest.raises(PathNotFound, match="no objects under"):
        ml.DataSnapshot.from_uri(s3_env.new_uri())
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(InvalidInput, match="no Parquet object"):
        ml.DataSnapshot.from_uri(str(tmp_path), profile=True)


def test_parquet_is_profiled_in_batches_like_the_whole_frame(tmp_path: Path) -> None:
    frame = make_frame(seed=3)
    for part in range(3):
        frame[frame["part"] == part].to_parquet(tmp_path / f"p{part}.parquet", index=False)
    streamed = objects.profile_parquet(str(tmp_path), label="y", batch_rows=100, **SIZES)
    single = DataProfile.from_dataframe(frame, label="y", **SIZES)
    assert_same_profile(streamed, single, frame)


@pytest.mark.parametrize("bad", [42, None, "", b"s3://bucket/", ["s3://bucket/"]])
def test_from_uri_refuses_what_is_not_a_uri(bad: object) -> None:
    with pytest.raises(ml.InvalidInput, match="from_uri needs a URI or path"):
        ml.DataSnapshot.from_uri(bad)  # type: ignore[arg-type]


def test_from_uri_takes_a_path_object(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    assert ml.DataSnapshot.from_uri(tmp_path).hash == ml.DataSnapshot.from_uri(str(tmp_path)).hash
