"""The environments versions point at, shared by every tracker in the process.

An environment blob is content-addressed, so the snapshot under one key is the same in
every store that has it. ``ModelVersion.environment`` and ``Tracker.environment`` both
come through here and return the very same object for the same key: the first read is
kept, and readers are the blob readers of the open trackers (weakly held, newest first).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlineage.records import EnvironmentSnapshot

__all__ = ["get", "put", "register_reader"]

Reader = Callable[[str], "EnvironmentSnapshot"]

_lock = threading.Lock()
_known: dict[str, EnvironmentSnapshot] = {}
_readers: list[weakref.WeakMethod[Reader]] = []


def register_reader(reader: Reader) -> None:
    """Add a bound method ``reader(key) -> EnvironmentSnapshot`` (held weakly)."""
    with _lock:
        _readers.insert(0, weakref.WeakMethod(reader))


def put(key: str, environment: EnvironmentSnapshot) -> EnvironmentSnapshot:
    """Keep ``environment`` as the snapshot of blob ``key``; return the one kept."""
    with _lock:
        return _known.setdefault(key, environment)


def get(key: str | None, read: Reader | None = None) -> EnvironmentSnapshot | None:
    """The snapshot of blob ``key``: kept, else read by ``read`` or an open tracker's reader.

    Returns None when ``key`` is None, or no open tracker's store can read it (a version
    built by hand without ``environment=``, whose trackers are gone).
    """
    if key is None:
        return None
    known = _known.get(key)
    if known is not None:
        return known
    if read is not None:
        return put(key, read(key))
    with _lock:
        _readers[:] = [r for r in _readers if r() is not None]
        candidates = [r() for r in _readers]
    from mlineage.errors import NotFound

    for reader in candidates:
        if reader is None:
            continue
        try:
            return put(key, reader(key))
        except NotFound:
            continue
    return None
