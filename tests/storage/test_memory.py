"""The in-memory store: conformance suite plus sharing by name."""

from __future__ import annotations

import itertools

import pytest

from mlineage.storage import MemoryStore, Store, open_store
from mlineage.testing import StoreTests

_counter = itertools.count()


class TestMemoryStore(StoreTests):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore(f"test-memory-{next(_counter)}")

    def get_raw(self, store: Store, key: str) -> bytes:
        assert isinstance(store, MemoryStore)
        return store._data[key]

    def set_raw(self, store: Store, key: str, data: bytes) -> None:
        assert isinstance(store, MemoryStore)
        store._data[key] = data


def test_same_name_shares_contents_private_does_not() -> None:
    a = open_store("memory://shared-test")
    b = open_store("memory://shared-test")
    a.put("k", b"v")
    assert b.get("k") == b"v"
    private = MemoryStore()
    assert not private.exists("k")
