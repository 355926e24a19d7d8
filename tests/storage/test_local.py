"""The local-directory store: conformance suite plus what only a file system can show."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlineage.errors import AlreadyExists, UnknownScheme
from mlineage.storage import LocalStore, Store, open_store
from mlineage.storage._local import is_temp_name
from mlineage.testing import StoreTests


class TestLocalStore(StoreTests):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        return LocalStore(tmp_path / "store")

    def get_raw(self, store: Store, key: str) -> bytes:
        assert isinstance(store, LocalStore)
        return store.root.joinpath(*key.split("/")).read_bytes()

    def set_raw(self, store: Store, key: str, data: bytes) -> None:
        assert isinstance(store, LocalStore)
        path = store.root.joinpath(*key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_leftover_temp_files_are_invisible(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("models/m/versions/a.json", b"{}")
    leftover = tmp_path / "models" / "m" / "versions" / ".b.json.tmp-deadbeef"
    leftover.write_bytes(b"partial")
    assert list(store.list("models/")) == ["models/m/versions/a.json"]
    assert list(store.temp_files()) == [leftover]
    assert is_temp_name(leftover.name)


def test_writes_leave_no_temp_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("a/x", b"1")
    with pytest.raises(AlreadyExists):
        store.put("a/x", b"2")
    store.put("a/x", b"3", mode="overwrite")
    assert list(store.temp_files()) == []
    assert sorted(os.listdir(tmp_path / "a")) == ["x"]


def test_create_loses_race_even_after_exists_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another writer published the key after our cheap existence check said it was free:
    # the link itself must refuse, and the other writer's bytes must survive.
    store = LocalStore(tmp_path)
    store.put("k", b"other writer")
    monkeypatch.setattr(os.path, "lexists", lambda _path: False)
    with pytest.raises(AlreadyExists):
        store.put("k", b"mine")
    assert store.get("k") == b"other writer"
    assert list(store.temp_files()) == []


def test_named_temporary_fallback(tmp_path: Path) -> None:
    # File systems without O_TMPFILE use a named temporary; same guarantees.
    store = LocalStore(tmp_path)
    store._anonymous_temp = False
    store.put("a/k", b"1")
    with pytest.raises(AlreadyExists):
        store.put("a/k", b"2")
    assert store.get("a/k") == b"1"
    assert list(store.temp_files()) == []


def test_directory_removed_behind_the_store_is_recreated(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("d/one", b"1")
    (tmp_path / "d" / "one").unlink()
    (tmp_path / "d").rmdir()
    store.put("d/two", b"2")
    assert store.get("d/two") == b"2"


def test_open_store_picks_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    assert isinstance(open_store(tmp_path), LocalStore)
    local = open_store(tmp_path.as_uri())
    assert isinstance(local, LocalStore)
    assert local.root == tmp_path
    monkeypatch.setenv("MLINEAGE_STORE", str(tmp_path / "env"))
    env_store = open_store(None)
    assert isinstance(env_store, LocalStore)
    assert env_store.root == tmp_path / "env"
    monkeypatch.delenv("MLINEAGE_STORE")
    monkeypatch.chdir(tmp_path)
    default = open_store(None)
    assert isinstance(default, LocalStore)
    assert default.root == tmp_path / ".mlineage"


def test_unknown_scheme_lists_known_ones() -> None:
    with pytest.raises(UnknownScheme) as info:
        open_store("ftp://host/path")
    message = str(info.value)
    assert "ftp" in message
    assert "file://" in message
    assert "memory://" in message
    assert isinstance(info.value, ValueError)


def test_storage_of_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError, match="storage must be"):
        open_store(42)  # type: ignore[arg-type]
