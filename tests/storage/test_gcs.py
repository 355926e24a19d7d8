"""The GCS store against a real GCS emulator (fake-gcs-server on 127.0.0.1)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mlineage.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidKey,
    MissingDependency,
    StoreUnavailable,
)
from mlineage.storage import GCSStore, Store, open_store
from mlineage.testing import StoreTests
from tests.storage.servers import GCSServer, closed_port

# Generous against the ~10-15 s the store promises, tight against the SDK's default of
# retrying for 120 s.
_BOUND = 20.0

# fake-gcs-server accepts any credentials (it has no IAM), so "wrong credentials" cannot be
# exercised here; the mapping of 401/403 to StoreUnavailable is the same code path as S3's.


@functools.cache
def _raw_bucket(server: GCSServer) -> Any:
    return server.client().bucket(server.bucket)


class TestGCSStore(StoreTests):
    @pytest.fixture
    def store(self, gcs_env: GCSServer) -> Iterator[Store]:
        self.raw = _raw_bucket(gcs_env)
        store = GCSStore(gcs_env.bucket, gcs_env.new_prefix())
        yield store
        store.close()

    def get_raw(self, store: Store, key: str) -> bytes:
        assert isinstance(store, GCSStore)
        data: bytes = self.raw.blob(f"{store.prefix}/{key}").download_as_bytes()
        return data

    def set_raw(self, store: Store, key: str, data: bytes) -> None:
        assert isinstance(store, GCSStore)
        self.raw.blob(f"{store.prefix}/{key}").upload_from_string(data)


def test_open_store_from_uri(gcs_env: GCSServer) -> None:
    uri = gcs_env.new_uri()
    store = open_store(uri)
    assert isinstance(store, GCSStore)
    assert store.uri == uri
    assert store.endpoint_url == gcs_env.endpoint
    store.put("models/m/versions/1.json", b"{}")
    assert open_store(uri, read_only=True).get("models/m/versions/1.json") == b"{}"


def test_bucket_root_and_prefixes_are_separate_stores(gcs_env: GCSServer) -> None:
    bucket = gcs_env.create_bucket()
    root = open_store(f"gs://{bucket}")
    nested = open_store(f"gs://{bucket}/team/a/")
    assert root.uri == f"gs://{bucket}"
    assert nested.uri == f"gs://{bucket}/team/a"
    nested.put("k", b"nested")
    root.put("k", b"root")
    assert sorted(root.list()) == ["k", "team/a/k"]
    assert list(nested.list()) == ["k"]
    assert nested.get("k") == b"nested"


def test_a_given_client_is_used(gcs_server: GCSServer) -> None:
    # No STORAGE_EMULATOR_HOST here: the client alone says where the server is.
    store = GCSStore(gcs_server.bucket, gcs_server.new_prefix(), client=gcs_server.client())
    store.put("k", b"v")
    assert store.get("k") == b"v"
    assert store.endpoint_url == gcs_server.endpoint


def test_uri_parameters_are_refused() -> None:
    with pytest.raises(InvalidInput, match="endpoint_url"):
        open_store("gs://bucket/prefix?endpoint_url=http://127.0.0.1:9")


def test_objects_it_cannot_address_are_not_listed(gcs_env: GCSServer) -> None:
    store = GCSStore(gcs_env.bucket, gcs_env.new_prefix())
    store.put("real", b"x")
    _raw_bucket(gcs_env).blob(f"{store.prefix}/folder/").upload_from_string(b"")
    assert list(store.list()) == ["real"]


def test_a_subprocess_reaches_the_server_through_env(gcs_server: GCSServer) -> None:
    uri = gcs_server.new_uri()
    code = (
        "import sys; from mlineage.storage import open_store; "
        "open_store(sys.argv[1]).put('from-child', b'hello')"
    )
    env = {**os.environ, **gcs_server.env}
    subprocess.run([sys.executable, "-c", code, uri], env=env, check=True, timeout=60)
    prefix = uri.split("/", 3)[3]
    assert _raw_bucket(gcs_server).blob(f"{prefix}/from-child").download_as_bytes() == b"hello"


# -- a create whose reply is lost ----------------------------------------------------------


class _LosingSession:
    """Wraps the SDK's HTTP session: the first upload reaches the server (or, with
    ``other_writer`` set, another writer's object lands instead), then its reply is "lost".
    The SDK then retries the create, and the retry meets a taken name."""

    def __init__(self, server: GCSServer, other_writer: tuple[str, bytes] | None) -> None:
        import requests

        self.server = server
        self.other_writer = other_writer
        self.session = requests.Session()
        self.lost = False

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        import requests

        if method == "POST" and "/upload/" in url and not self.lost:
            self.lost = True
            if self.other_writer is None:
                self.session.request(method, url, *args, **kwargs)
            else:
                name, data = self.other_writer
                _raw_bucket(self.server).blob(name).upload_from_string(data)
            raise requests.exceptions.ConnectionError("reply lost")
        return self.session.request(method, url, *args, **kwargs)


def _store_losing_first_reply(
    server: GCSServer, other_writer: bytes | None = None
) -> tuple[GCSStore, _LosingSession]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    prefix = server.new_prefix()
    http = _LosingSession(server, None if other_writer is None else (f"{prefix}/k", other_writer))
    client = storage.Client(
        project=server.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": server.endpoint},
        _http=http,
    )
    return GCSStore(server.bucket, prefix, client=client), http


def test_retried_create_that_finds_its_own_write_succeeds(gcs_server: GCSServer) -> None:
    store, http = _store_losing_first_reply(gcs_server)
    store.put("k", b"mine")
    assert http.lost
    assert store.get("k") == b"mine"
    with pytest.raises(AlreadyExists):
        store.put("k", b"again")


def test_retried_create_that_finds_another_write_fails(gcs_server: GCSServer) -> None:
    store, http = _store_losing_first_reply(gcs_server, other_writer=b"theirs")
    with pytest.raises(AlreadyExists):
        store.put("k", b"mine")
    assert http.lost
    assert store.get("k") == b"theirs"


# -- failures -------------------------------------------------------------------------------


def test_missing_bucket_is_unavailable_and_named(gcs_env: GCSServer) -> None:
    store = GCSStore("no-such-bucket-mlineage", "p")
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
        assert gcs_env.endpoint in message
        assert "does not exist" in message


def test_unreachable_endpoint_fails_within_bounded_time(
    gcs_env: GCSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
    store = GCSStore(gcs_env.bucket, "p")
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        store.put("k", b"v")
    assert time.monotonic() - start < _BOUND
    assert endpoint in str(info.value)
    assert gcs_env.bucket in str(info.value)
    assert isinstance(info.value, ConnectionError)


def test_credentials_never_appear_in_repr_or_uri(gcs_env: GCSServer) -> None:
    store = GCSStore(gcs_env.bucket, "p")
    for text in (repr(store), store.uri, str(store.endpoint_url)):
        assert "token" not in text.lower()
        assert "@" not in text


@pytest.mark.parametrize("prefix", ["a/../b", "..", "a//b", "a/./b", "a\\b"])
def test_prefix_that_could_escape_is_refused(gcs_env: GCSServer, prefix: str) -> None:
    with pytest.raises(InvalidKey):
        GCSStore("bucket", prefix)
    with pytest.raises(InvalidKey):
        open_store(f"gs://bucket/{prefix}")


def test_missing_sdk_names_the_extra(gcs_env: GCSServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    with pytest.raises(MissingDependency, match=r"pip install 'mlineage\[gcs\]'"):
        open_store("gs://bucket/prefix")
