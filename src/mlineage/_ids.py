"""Time-ordered identifiers (UUIDv7 layout, written as 32 lowercase hex digits).

Sorting ids sorts by creation time (millisecond resolution; within one process a counter
keeps ids strictly increasing even inside one millisecond). The 62 random bits make
collisions between machines negligible.
"""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import datetime, timezone

__all__ = ["ID_PATTERN", "ID_REGEX", "id_time", "new_id"]

#: A version or event id: 32 lowercase hex digits (the one place this is spelt out).
ID_REGEX = r"^[0-9a-f]{32}$"
ID_PATTERN = re.compile(ID_REGEX)

_lock = threading.Lock()
_last_ms = -1
_counter = 0


def new_id(at: datetime | None = None) -> str:
    """Return a new id whose leading 48 bits are the creation time in milliseconds.

    Parameters
    ----------
    at : datetime, optional
        Timestamp to encode (timezone-aware); default now. Used when backfilling history.

    Examples
    --------
    >>> a, b = new_id(), new_id()
    >>> a < b and len(a) == 32
    True
    """
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000 if at is None else int(at.timestamp() * 1000)
    with _lock:
        if ms == _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last_ms = ms
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return f"{value:032x}"


def id_time(identifier: str) -> datetime:
    """Return the creation time encoded in an id (UTC, millisecond resolution)."""
    ms = int(identifier[:12], 16)
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
