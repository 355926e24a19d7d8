"""Conformance tests that every :class:`~mlineage.storage.Store` backend must pass.

A backend's test module subclasses :class:`StoreTests` and provides three things: a
``store`` fixture that yields a fresh, empty, writable store, and the two raw helpers
``get_raw`` / ``set_raw`` that read and write the backend's medium *without* going through
the store, so that the store itself is what is tested (zarr's ``StoreTests`` does the same)::

    class TestLocalStore(StoreTests):
        @pytest.fixture
        def store(self, tmp_path):
            return LocalStore(tmp_path)

        def get_raw(self, store, key):
            return (store.root / key).read_bytes()

        def set_raw(self, store, key, data):
            path = store.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

This module imports pytest and hypothesis; it is meant for test suites only.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlineage.errors import (
    AlreadyExists,
    InvalidKey,
    MLineageError,
    NotFound,
    PathChanged,
    ReadOnlyError,
    UnsupportedObject,
)
from mlineage.storage import Store, open_store

__all__ = ["StoreTests"]

_segment = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.é"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", "..") and not s.startswith("."))
_keys = st.lists(_segment, min_size=1, max_size=3).map("/".join)


def _stream_in_parts(store: Store) -> None:
    # Files above 1 MiB streamed, in 5 MiB parts by backends that upload in parts: a
    # 12 MiB file goes in three parts.
    store.stream_threshold = 1 << 20
    if hasattr(store, "part_size"):
        store.part_size = 5 << 20


class StoreTests:
    """Behaviour every store backend must have. Subclass it and supply the fixtures."""

    #: Set False for a backend whose writes are not visible to a reopened instance.
    reopenable: bool = True

    @pytest.fixture
    def store(self) -> Store:
        """A fresh, empty, writable store (override in the subclass)."""
        raise NotImplementedError("subclasses of StoreTests provide a `store` fixture")

    def get_raw(self, store: Store, key: str) -> bytes:
        """Read ``key`` from the backend's medium without using ``store``."""
        raise NotImplementedError

    def set_raw(self, store: Store, key: str, data: bytes) -> None:
        """Write ``key`` to the backend's medium without using ``store``."""
        raise NotImplementedError

    # -- get / put ----------------------------------------------------------------------

    def test_put_then_get_round_trips(self, store: Store) -> None:
        store.put("a/b/c.json", b'{"x": 1}')
        assert store.get("a/b/c.json") == b'{"x": 1}'
        assert self.get_raw(store, "a/b/c.json") == b'{"x": 1}'

    def test_get_reads_what_the_medium_holds(self, store: Store) -> None:
        self.set_raw(store, "raw/key.bin", b"\x00\x01binary\xff")
        assert store.get("raw/key.bin") == b"\x00\x01binary\xff"

    @pytest.mark.parametrize("data", [b"", b"\x00" * 7, bytes(range(256)) * 4096])
    def test_empty_binary_and_large_values(self, store: Store, data: bytes) -> None:
        store.put("blob", data)
        assert store.get("blob") == data

    def test_get_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.get("no/such/key")
        assert isinstance(info.value, KeyError)
        assert isinstance(info.value, MLineageError)
        assert "no/such/key" in str(info.value)

    def test_create_never_overwrites(self, store: Store) -> None:
        store.put("k", b"first")
        with pytest.raises(AlreadyExists):
            store.put("k", b"second")
        with pytest.raises(AlreadyExists):
            store.put("k", b"second", mode="create")
        assert store.get("k") == b"first"
        assert self.get_raw(store, "k") == b"first"

    def test_overwrite_replaces(self, store: Store) -> None:
        store.put("k", b"first")
        store.put("k", b"second", mode="overwrite")
        assert store.get("k") == b"second"
        store.put("new", b"x", mode="overwrite")
        assert store.get("new") == b"x"

    def test_bad_mode_is_rejected(self, store: Store) -> None:
        with pytest.raises(ValueError, match="mode"):
            store.put("k", b"x", mode="append")  # type: ignore[arg-type]
        assert not store.exists("k")

    def test_put_if_absent(self, store: Store) -> None:
        assert store.put_if_absent("blob", b"x") is True
        assert store.put_if_absent("blob", b"y") is False
        assert store.get("blob") == b"x"

    def test_unicode_keys(self, store: Store) -> None:
        store.put("models/modèle-日本/versions/1.json", b"u")
        assert store.get("models/modèle-日本/versions/1.json") == b"u"
        assert list(store.list("models/modèle-日本/")) == ["models/modèle-日本/versions/1.json"]

    # -- exists / delete ----------------------------------------------------------------

    def test_exists(self, store: Store) -> None:
        assert not store.exists("a/b")
        store.put("a/b", b"x")
        assert store.exists("a/b")
        assert not store.exists("a/b/c")

    def test_delete(self, store: Store) -> None:
        store.put("a/b", b"x")
        store.delete("a/b")
        assert not store.exists("a/b")
        with pytest.raises(NotFound):
            store.get("a/b")
        store.delete("a/b")  # deleting a missing key is not an error
        store.put("a/b", b"again")  # and the key can be created again
        assert store.get("a/b") == b"again"

    def test_delete_many(self, store: Store) -> None:
        for i in range(5):
            store.put(f"dm/{i}", b"x")
        store.delete_many([f"dm/{i}" for i in range(4)] + ["dm/missing"])
        assert list(store.list("dm/")) == ["dm/4"]

    # -- list -----------------------------------------------------------------------------

    def test_list_by_prefix(self, store: Store) -> None:
        keys = ["models/a/versions/1.json", "models/a/versions/2.json", "models/ab/x", "top"]
        for key in keys:
            store.put(key, b"x")
        assert sorted(store.list()) == sorted(keys)
        assert sorted(store.list("")) == sorted(keys)
        assert sorted(store.list("models/a/")) == keys[:2]
        assert sorted(store.list("models/a")) == keys[:3]
        assert sorted(store.list("models/a/versions/2")) == keys[1:2]
        assert list(store.list("nothing/here/")) == []

    def test_list_dir(self, store: Store) -> None:
        for key in ["models/a/versions/1", "models/a/names/x", "models/b/versions/2", "top"]:
            store.put(key, b"x")
        assert list(store.list_dir("models/")) == ["a", "b"]
        assert list(store.list_dir("models/a/")) == ["names", "versions"]
        assert list(store.list_dir("models/a/versions/")) == ["1"]
        assert list(store.list_dir("nothing/")) == []

    def test_list_on_empty_store(self, store: Store) -> None:
        assert list(store.list()) == []

    # -- keys that could escape the store -------------------------------------------------

    @pytest.mark.parametrize(
        "key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/\x00b", "a\\b", "x/"]
    )
    def test_invalid_keys_are_refused(self, store: Store, key: str) -> None:
        with pytest.raises(InvalidKey):
            store.put(key, b"x")
        with pytest.raises(InvalidKey):
            store.get(key)
        with pytest.raises(InvalidKey):
            store.exists(key)
        with pytest.raises(InvalidKey):
            store.delete(key)
        assert list(store.list()) == []

    def test_non_string_key_is_refused(self, store: Store) -> None:
        with pytest.raises(InvalidKey):
            store.get(b"bytes-key")  # type: ignore[arg-type]

    # -- read-only ------------------------------------------------------------------------

    def test_read_only_refuses_writes(self, store: Store) -> None:
        store.put("k", b"x")
        ro = open_store(store.uri, read_only=True) if self.reopenable else store
        ro.read_only = True
        try:
            with pytest.raises(ReadOnlyError):
                ro.put("other", b"y")
            with pytest.raises(ReadOnlyError):
                ro.put("k", b"y", mode="overwrite")
            with pytest.raises(ReadOnlyError):
                ro.delete("k")
            with pytest.raises(ReadOnlyError):
                ro.put_file("f", __file__, expected_sha256="0" * 64)
            assert ro.get("k") == b"x"
        finally:
            store.read_only = False
        assert not store.exists("other")

    # -- files (archived checkpoints) -----------------------------------------------------

    @pytest.mark.parametrize("size", [0, 1000, 12 << 20])
    def test_put_file_and_get_file_stream_verified_bytes(
        self, store: Store, tmp_path: Path, size: int
    ) -> None:
        _stream_in_parts(store)
        data = os.urandom(size)
        source = tmp_path / "checkpoint.bin"
        source.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        sent: list[int] = []
        store.put_file("blobs/ckpt", source, expected_sha256=sha, on_bytes=sent.append)
        assert sum(sent) == size
        assert self.get_raw(store, "blobs/ckpt") == data
        store.put_file("blobs/ckpt", source, expected_sha256=sha)  # there already: a no-op
        received: list[int] = []
        dest = tmp_path / "restored.bin"
        assert store.get_file("blobs/ckpt", dest, on_bytes=received.append) == sha
        assert dest.read_bytes() == data and sum(received) == size
        assert list(store.partial_uploads()) == []

    @pytest.mark.parametrize("size", [1000, 12 << 20])
    def test_put_file_of_changed_bytes_writes_nothing(
        self, store: Store, tmp_path: Path, size: int
    ) -> None:
        _stream_in_parts(store)
        source = tmp_path / "checkpoint.bin"
        source.write_bytes(os.urandom(size))
        with pytest.raises(PathChanged, match="changed after it was hashed"):
            store.put_file("blobs/ckpt", source, expected_sha256="0" * 64)
        assert not store.exists("blobs/ckpt")
        assert list(store.partial_uploads()) == []  # a multipart upload was aborted

    def test_get_file_of_a_missing_key(self, store: Store, tmp_path: Path) -> None:
        with pytest.raises(NotFound):
            store.get_file("blobs/none", tmp_path / "out.bin")
        assert not (tmp_path / "out.bin").exists()

    def test_reopened_store_sees_writes(self, store: Store) -> None:
        if not self.reopenable:
            pytest.skip("backend cannot be reopened from its URI")
        store.put("persist/me", b"yes")
        again = open_store(store.uri)
        assert again.get("persist/me") == b"yes"

    # -- helpers --------------------------------------------------------------------------

    def test_get_many_keeps_order_and_reports_missing(self, store: Store) -> None:
        for i in range(20):
            store.put(f"many/{i:02d}", str(i).encode())
        keys = [f"many/{i:02d}" for i in reversed(range(20))] + ["many/missing"]
        got = list(store.get_many(keys))
        assert [k for k, _ in got] == keys
        assert got[0][1] == b"19"
        assert got[-1][1] is None

    def test_get_limited_refuses_more_bytes_than_the_caller_allows(self, store: Store) -> None:
        self.set_raw(store, "limited/k", b"abcd")
        assert store.get_limited("limited/k", 4) == b"abcd"
        with pytest.raises(UnsupportedObject, match="larger than"):
            store.get_limited("limited/k", 3)
        with pytest.raises(NotFound):
            store.get_limited("limited/missing", 3)
        with pytest.raises(UnsupportedObject):
            list(store.get_many(["limited/k"], limit=3))
        assert list(store.get_many(["limited/k", "limited/missing"], limit=4)) == [
            ("limited/k", b"abcd"),
            ("limited/missing", None),
        ]

    # -- concurrency ----------------------------------------------------------------------

    def test_concurrent_creates_have_one_winner(self, store: Store) -> None:
        winners: list[int] = []
        losers: list[int] = []
        barrier = threading.Barrier(8)

        def attempt(i: int) -> None:
            barrier.wait()
            try:
                store.put("contested", str(i).encode())
                winners.append(i)
            except AlreadyExists:
                losers.append(i)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1
        assert len(losers) == 7
        assert store.get("contested") == str(winners[0]).encode()

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(ops=st.lists(st.tuples(_keys, st.binary(max_size=64)), min_size=1, max_size=12))
    def test_property_create_never_overwrites(
        self, store: Store, ops: list[tuple[str, bytes]]
    ) -> None:
        prefix = f"prop/{id(ops)}-{len(ops)}/"
        first: dict[str, bytes] = {}
        for key, data in ops:
            full = prefix + key
            if any(full.startswith(k + "/") for k in first) or any(
                k.startswith(full + "/") for k in first
            ):
                continue  # a key cannot be both an object and a "directory" of others
            try:
                store.put(full, data)
            except AlreadyExists:
                assert full in first
            else:
                assert full not in first
                first[full] = data
        for full, data in first.items():
            assert store.get(full) == data
        assert sorted(store.list(prefix)) == sorted(first)
        for full in first:
            store.delete(full)
