"""In-memory store: the test double, and a scratch store for notebooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from mlineage.errors import AlreadyExists, NotFound
from mlineage.storage._base import PutMode, Store, check_mode, validate_key

__all__ = ["MemoryStore"]

_SHARED: dict[str, tuple[threading.Lock, dict[str, bytes]]] = {}
_SHARED_LOCK = threading.Lock()


class MemoryStore(Store):
    """A store held in process memory.

    Stores opened with the same ``name`` (``memory://name``) in one process share their
    contents, so ``Tracker.load`` sees what another ``Tracker`` wrote; nothing survives the
    process. An empty name gives a fresh private store.

    Parameters
    ----------
    name : str
        Shared-store name; ``""`` for a private store.
    read_only : bool
        Refuse every write.
    """

    def __init__(self, name: str = "", *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self.name = name
        if name:
            with _SHARED_LOCK:
                self._lock, self._data = _SHARED.setdefault(name, (threading.Lock(), {}))
        else:
            self._lock, self._data = threading.Lock(), {}

    @property
    def uri(self) -> str:
        # docstring inherited
        return f"memory://{self.name}"

    def get(self, key: str) -> bytes:
        # docstring inherited
        validate_key(key)
        try:
            return self._data[key]
        except KeyError:
            raise NotFound(f"no object {key!r} in store {self.uri}") from None

    def put(self, key: str, data: bytes, *, mode: PutMode = "create") -> None:
        # docstring inherited
        check_mode(mode)
        validate_key(key)
        self._check_writable(key)
        with self._lock:
            if mode == "create" and key in self._data:
                raise AlreadyExists(f"{key!r} already exists in store {self.uri}")
            self._data[key] = bytes(data)

    def exists(self, key: str) -> bool:
        # docstring inherited
        validate_key(key)
        return key in self._data

    def list(self, prefix: str = "") -> Iterator[str]:
        # docstring inherited
        with self._lock:
            keys = [k for k in self._data if k.startswith(prefix)]
        yield from keys

    def delete(self, key: str) -> None:
        # docstring inherited
        validate_key(key)
        self._check_writable(key)
        with self._lock:
            self._data.pop(key, None)
