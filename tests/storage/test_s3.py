"""The S3 store against a real S3 server (SeaweedFS on 127.0.0.1): conformance and failures."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import mlineage as ml
from mlineage.content import blob_key
from mlineage.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidKey,
    MissingDependency,
    StoreUnavailable,
)
from mlineage.storage import S3Store, Store, known_schemes, open_store
from mlineage.testing import StoreTests
from tests.storage.servers import S3Server, closed_port

# Generous against the ~10-15 s the store promises, tight against the SDK defaults (which
# keep retrying a dead endpoint for minutes).
_BOUND = 20.0


@functools.cache
def _raw_client(server: S3Server) -> Any:
    return server.client()


class TestS3Store(StoreTests):
    @pytest.fixture
    def store(self, s3_env: S3Server) -> Iterator[Store]:
        self.raw = _raw_client(s3_env)
        store = S3Store(s3_env.bucket, s3_env.new_prefix())
        yield store
        store.close()

    def get_raw(self, store: Store, key: str) -> bytes:
        assert isinstance(store, S3Store)
        response = self.raw.get_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}")
        data: bytes = response["Body"].read()
        return data

    def set_raw(self, store: Store, key: str, data: bytes) -> None:
        assert isinstance(store, S3Store)
        self.raw.put_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}", Body=data)


def test_s3_and_gs_are_known_schemes() -> None:
    assert {"s3", "gs"} <= set(known_schemes())


def test_open_store_from_uri(s3_env: S3Server) -> None:
    uri = s3_env.new_uri()
    store = open_store(uri)
    assert isinstance(store, S3Store)
    assert store.uri == uri
    assert store.max_workers == 16
    store.put("models/m/versions/1.json", b"{}")
    assert open_store(uri, read_only=True).get("models/m/versions/1.json") == b"{}"


def test_bucket_root_and_prefixes_are_separate_stores(s3_env: S3Server) -> None:
    bucket = s3_env.create_bucket()
    root = open_store(f"s3://{bucket}")
    nested = open_store(f"s3://{bucket}/team/a/")
    assert root.uri == f"s3://{bucket}"
    assert nested.uri == f"s3://{bucket}/team/a"
    nested.put("k", b"nested")
    root.put("k", b"root")
    assert sorted(root.list()) == ["k", "team/a/k"]
    assert list(nested.list()) == ["k"]
    assert nested.get("k") == b"nested"


def test_explicit_endpoint_is_kept_in_the_uri(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    uri = f"s3://{s3_env.bucket}/{s3_env.new_prefix()}?endpoint_url={s3_env.endpoint_url}"
    store = open_store(uri)
    assert isinstance(store, S3Store)
    assert store.endpoint_url == s3_env.endpoint_url
    store.put("k", b"v")
    assert open_store(store.uri).get("k") == b"v"


def test_unknown_uri_parameter_is_refused() -> None:
    with pytest.raises(InvalidInput, match="region"):
        open_store("s3://bucket/prefix?region=eu-west-1")


@pytest.mark.parametrize("uri", ["s3://", "s3:///prefix", "s3://bucket/p#frag"])
def test_uri_without_bucket_or_with_fragment_is_refused(uri: str) -> None:
    with pytest.raises(InvalidInput):
        open_store(uri)


def test_objects_it_cannot_address_are_not_listed(s3_env: S3Server) -> None:
    store = S3Store(s3_env.bucket, s3_env.new_prefix())
    store.put("real", b"x")
    # A console-made "folder" marker is an object whose name no store key can produce.
    _raw_client(s3_env).put_object(Bucket=store.bucket, Key=f"{store.prefix}/folder/", Body=b"")
    assert list(store.list()) == ["real"]


def test_a_subprocess_reaches_the_server_through_env(s3_server: S3Server) -> None:
    uri = s3_server.new_uri()
    code = (
        "import sys; from mlineage.storage import open_store; "
        "open_store(sys.argv[1]).put('from-child', b'hello')"
    )
    env = {**os.environ, **s3_server.env}
    subprocess.run([sys.executable, "-c", code, uri], env=env, check=True, timeout=60)
    store = S3Store(
        s3_server.bucket,
        uri.split("/", 3)[3],
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
    )
    assert store.get("from-child") == b"hello"


# -- a create whose reply is lost ----------------------------------------------------------


def _client_losing_first_put_reply(server: S3Server, other_writer: bytes | None) -> Any:
    """A client whose first PutObject reaches the server (or not), then "loses" the reply.

    With ``other_writer`` set, another writer's bytes land instead of ours before the reply
    is lost; either way botocore then retries the create, and the retry meets a taken key.
    """
    import botocore.exceptions
    import botocore.httpsession

    client = server.client()
    calls = 0

    def before_send(request: Any, **_: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            return
        if other_writer is None:
            botocore.httpsession.URLLib3Session().send(request)
        else:
            bucket, key = request.url.split("/", 4)[3:]
            _raw_client(server).put_object(Bucket=bucket, Key=key, Body=other_writer)
        raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    client.meta.events.register("before-send.s3.PutObject", before_send)
    return client


def test_retried_create_that_finds_its_own_write_succeeds(s3_env: S3Server) -> None:
    client = _client_losing_first_put_reply(s3_env, other_writer=None)
    store = S3Store(s3_env.bucket, s3_env.new_prefix(), client=client)
    store.put("k", b"mine")
    assert store.get("k") == b"mine"
    with pytest.raises(AlreadyExists):
        store.put("k", b"again")


def test_retried_create_that_finds_another_write_fails(s3_env: S3Server) -> None:
    client = _client_losing_first_put_reply(s3_env, other_writer=b"theirs")
    store = S3Store(s3_env.bucket, s3_env.new_prefix(), client=client)
    with pytest.raises(AlreadyExists):
        store.put("k", b"mine")
    assert store.get("k") == b"theirs"


# -- failures -------------------------------------------------------------------------------


def test_missing_bucket_is_unavailable_and_named(s3_env: S3Server) -> None:
    store = S3Store("no-such-bucket-mlineage", "p")
    for operation in (
        lambda: store.get("k"),
        lambda: store.exists("k"),
        lambda: list(store.list()),
    ):
        start = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            operation()
        assert time.monotonic() - start < _BOUND
        message = str(info.value)
        assert "no-such-bucket-mlineage" in message
        assert s3_env.endpoint_url in message
        assert "does not exist" in message


def test_unreachable_endpoint_fails_within_bounded_time(s3_env: S3Server) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    store = S3Store(s3_env.bucket, "p", endpoint_url=endpoint)
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        store.put("k", b"v")
    assert time.monotonic() - start < _BOUND
    assert endpoint in str(info.value)
    assert s3_env.bucket in str(info.value)
    assert isinstance(info.value, ConnectionError)


@pytest.mark.parametrize("which", ["access_key", "secret_key"])
def test_wrong_credentials_are_refused_without_echoing_them(s3_env: S3Server, which: str) -> None:
    # The test server checks signatures against one configured identity, as AWS does.
    key_id = "WRONGKEYID0123456789" if which == "access_key" else s3_env.access_key_id
    secret = "wrong-secret-must-not-leak-0123456789"
    store = S3Store(
        s3_env.bucket,
        "p",
        endpoint_url=s3_env.endpoint_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    with pytest.raises(StoreUnavailable) as info:
        store.get("k")
    message = str(info.value)
    assert s3_env.bucket in message
    assert "refused" in message
    shown = [message, repr(info.value), repr(store), store.uri]
    assert not any(secret in text for text in shown)
    assert not any(s3_env.secret_access_key in text for text in shown)


def test_credentials_never_appear_in_repr_or_uri(s3_env: S3Server) -> None:
    store = S3Store(
        s3_env.bucket,
        "p",
        endpoint_url=f"http://user:hunter2@{s3_env.endpoint_url.split('://')[1]}",
        aws_access_key_id=s3_env.access_key_id,
        aws_secret_access_key=s3_env.secret_access_key,
    )
    for text in (repr(store), store.uri, store.endpoint_url):
        assert s3_env.secret_access_key not in text
        assert "hunter2" not in text


@pytest.mark.parametrize("prefix", ["a/../b", "..", "a//b", "a/./b", "a\\b"])
def test_prefix_that_could_escape_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        S3Store("bucket", prefix, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(InvalidKey):
        open_store(f"s3://bucket/{prefix}?endpoint_url=http://127.0.0.1:9")


def test_client_and_client_options_are_exclusive(s3_env: S3Server) -> None:
    with pytest.raises(TypeError, match="either client"):
        S3Store(s3_env.bucket, client=_raw_client(s3_env), endpoint_url=s3_env.endpoint_url)


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingDependency, match=r"pip install 'mlineage\[s3\]'"):
        open_store("s3://bucket/prefix")


def test_import_mlineage_loads_no_cloud_sdk() -> None:
    code = (
        "import sys, mlineage, mlineage.storage; "
        "loaded = [m for m in ('boto3', 'botocore', 'google.cloud.storage') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_large_file_goes_up_in_parts_and_fsck_aborts_a_dead_writers_upload(
    s3_env: S3Server, tmp_path: Path
) -> None:
    store = S3Store(s3_env.bucket, s3_env.new_prefix())
    store.stream_threshold, store.part_size = 1 << 20, 5 << 20
    data = os.urandom(11 << 20)
    source = tmp_path / "ckpt.bin"
    source.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    calls: list[str] = []
    store._client.meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.append(model.name)
    )
    store.put_file(blob_key(sha), source, expected_sha256=sha)
    assert calls.count("UploadPart") == 3 and "PutObject" not in calls
    assert store.get(blob_key(sha)) == data
    # A writer killed in the middle of a multipart upload leaves it incomplete.
    raw = _raw_client(s3_env)
    dead = blob_key("ab" * 32)
    name = f"{store.prefix}/{dead}"
    upload = raw.create_multipart_upload(Bucket=store.bucket, Key=name)["UploadId"]
    raw.upload_part(
        Bucket=store.bucket, Key=name, UploadId=upload, PartNumber=1, Body=data[: 6 << 20]
    )
    assert [u.key for u in store.partial_uploads()] == [dead]
    assert not store.exists(dead)
    report = ml.fsck(store)
    assert [(p.kind, p.key) for p in report.problems] == [("partial-upload", dead)]
    young = ml.fsck(store, repair=True)  # younger than the default age: left alone
    assert [p.kind for p in young.problems] == ["partial-upload"] and not young.removed
    repaired = ml.fsck(store, repair=True, temp_age=0)
    assert repaired.ok and repaired.removed == [f"{dead} (incomplete upload {upload})"]
    assert list(store.partial_uploads()) == []
    store.close()


def test_archive_and_checkout_of_a_large_checkpoint_stream_through_s3(
    s3_env: S3Server, tmp_path: Path
) -> None:
    store = S3Store(s3_env.bucket, s3_env.new_prefix())
    store.stream_threshold, store.part_size = 1 << 20, 5 << 20
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(os.urandom(7 << 20))
    tracker = ml.Tracker("m", storage=store, archive=True, capture_environment=False)
    version = tracker.log(model_path=str(checkpoint), dataset=ml.DataSnapshot(hash="h"))
    checkpoint.unlink()  # only the archived copy is left
    restored = tracker.checkout(version.id, to=tmp_path / "out")
    (path,) = (tmp_path / "out/model").iterdir()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == version.model_artifact.hash[7:]  # type: ignore[union-attr]
    assert restored.version.id == version.id
    store.close()


def test_delete_many_sends_a_request_per_thousand_keys(s3_env: S3Server) -> None:
    store = S3Store(s3_env.bucket, s3_env.new_prefix())
    keys = [f"loose/{i:05d}.json" for i in range(2_500)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: store.put(k, b"x"), keys))
    calls: list[str] = []
    store._client.meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.append(model.name)
    )
    store.delete_many([*keys[:2_000], "loose/missing.json", *keys[2_000:]])
    assert calls.count("DeleteObjects") == 3 and "DeleteObject" not in calls
    assert list(store.list("loose/")) == []
    store.read_only = True
    with pytest.raises(ml.ReadOnlyError):
        store.delete_many(["loose/00001.json"])
    store.close()
