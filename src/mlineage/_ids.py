"""Time-ordered identifiers (UUIDv7 layout, written as 32 lowercase hex digits), and handles.

Sorting ids sorts by creation time (millisecond resolution; within one process a counter
keeps ids strictly increasing even inside one millisecond). The 62 random bits make
collisions between machines negligible.

Because the leading digits are the time, two versions logged a minute apart share their
first 8 digits: an id *prefix* is a poor short name. What mlineage prints instead is the
**handle** (:func:`handle`): the id's last 8 hex digits, which are random. See
:func:`handle` for the scheme and docs/concepts.md#handles for the user's view.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timezone

__all__ = [
    "HANDLE_LENGTH",
    "ID_PATTERN",
    "ID_REGEX",
    "handle",
    "handles",
    "id_time",
    "shown_id",
    "new_id",
]

#: A version or event id: 32 lowercase hex digits (the one place this is spelt out).
ID_REGEX = r"^[0-9a-f]{32}$"
ID_PATTERN = re.compile(ID_REGEX)

#: Hex digits of a handle when no older id in the store ends with the same digits.
HANDLE_LENGTH = 8
#: How much longer each step of a lengthened handle is (8, 12, 16, ... 32 digits).
_HANDLE_STEP = 4

_lock = threading.Lock()
_last_ms = -1
_counter = 0
#: Random bytes drawn from the OS 4 KiB at a time (a system call per id was a measurable
#: part of a durable log); the next unused byte. Emptied in a forked child, so that two
#: processes never draw the same bytes.
_pool = b""
_pool_at = 0
_POOL_SIZE = 4096
_NOISE = 10  # bytes of randomness per id: 62 random bits and a counter start


def _forget_pool() -> None:
    global _pool, _pool_at
    _pool, _pool_at = b"", 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


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
    global _last_ms, _counter, _pool, _pool_at
    ms = time.time_ns() // 1_000_000 if at is None else int(at.timestamp() * 1000)
    with _lock:
        if _pool_at + _NOISE > len(_pool):
            _pool, _pool_at = os.urandom(_POOL_SIZE), 0
        noise = int.from_bytes(_pool[_pool_at : _pool_at + _NOISE], "big")
        _pool_at += _NOISE
        if ms == _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                ms += 1
                _counter = 0
        else:
            _counter = (noise >> 64) & 0x3FF
        _last_ms = ms
        counter = _counter
    rand = noise & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return f"{value:032x}"


def id_time(identifier: str) -> datetime:
    """Return the creation time encoded in an id (UTC, millisecond resolution)."""
    ms = int(identifier[:12], 16)
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def handle(identifier: str, others: Iterable[str] = ()) -> str:
    """The short name mlineage prints for an id: its last 8 hex digits (its random tail).

    The one place the handle scheme is spelt out; every short id mlineage shows (the CLI,
    the report, reprs, ``ModelVersion.short_id``, ``Tracker.abbrev``, ``to_pandas``) comes
    from here.

    - **Format**: the id's last :data:`HANDLE_LENGTH` (8) lowercase hex digits. They are
      random bits, so two versions logged a millisecond apart get handles that differ at
      a glance (an id's leading digits are its time and look alike for a minute).
    - **Collisions**: when an *older* id (ids sort by creation) in ``others`` ends with the
      same 8 digits, the handle is the last 12 digits instead, then 16, ... up to the whole
      id, until no older id shares it. The oldest version keeps the 8-digit handle, so a
      handle never changes when newer versions are logged; among n versions about
      n² / 2³³ pairs collide (≈ 0.01 for 10,000 versions).
    - **Stability**: a handle depends only on the id and the older ids sharing its tail,
      not on load order, packs or which newer versions exist.
    - **Resolution**: a hex string of 8 or more digits names the oldest version whose id
      ends with it (:func:`mlineage.refs.get_version`); a full id or an id *prefix*
      (4 digits or more) still resolves as before.

    Parameters
    ----------
    identifier : str
        A 32-hex-digit id.
    others : iterable of str
        The other ids of the same store (or any that may collide); only those sorting
        before ``identifier`` and ending with its last 8 digits matter.

    Returns
    -------
    str

    Examples
    --------
    >>> handle("019a2b3c4d5e7000" + "8000000012345678")
    '12345678'
    >>> old = "019a2b3c4d5e7000" + "8000000012345678"
    >>> handle("019a2b3c4d5e7001" + "8000abcd12345678", others=[old])
    'abcd12345678'
    >>> handle(old, others=["019a2b3c4d5e7001" + "8000abcd12345678"])  # the older keeps 8
    '12345678'
    """
    length = HANDLE_LENGTH
    tail = identifier[-length:]
    sharing = [other for other in others if other < identifier and other.endswith(tail)]
    while sharing and length < len(identifier):
        length = min(length + _HANDLE_STEP, len(identifier))
        tail = identifier[-length:]
        sharing = [other for other in sharing if other.endswith(tail)]
    return tail


def shown_id(text: str) -> str:
    """``text``'s :func:`handle` when it is a version id, else ``text`` itself (a label such
    as ``"reference"`` that a caller named a side of a comparison with).

    Examples
    --------
    >>> shown_id("0190d1c2a3b4c5d6e7f8091a2b3c4d5e"), shown_id("baseline")
    ('2b3c4d5e', 'baseline')
    """
    return handle(text) if ID_PATTERN.match(text) else text


def handles(ids: Iterable[str]) -> list[str]:
    """The :func:`handle` of each of ``ids`` among all of them (one store's ids), in order.

    Linear time: only ids sharing their last 8 digits are compared with each other.

    Examples
    --------
    >>> a, b = new_id(), new_id()
    >>> handles([a, b]) == [a[-8:], b[-8:]]
    True
    """
    ids = list(ids)
    out = [identifier[-HANDLE_LENGTH:] for identifier in ids]
    seen: set[str] = set()
    add = seen.add
    # the last 8 digits seen before (one pass; ``add`` returns None)
    shared = {tail for tail in out if tail in seen or add(tail)}
    if not shared:
        return out  # every id's last 8 digits are its own
    # Only the ids that share their last 8 digits (about a hundred among 10^6) are compared.
    groups: dict[str, list[int]] = {}  # last 8 digits -> positions of the ids sharing them
    for position in [p for p, tail in enumerate(out) if tail in shared]:
        groups.setdefault(out[position], []).append(position)
    for positions in groups.values():
        group = [ids[p] for p in positions]
        for position in positions:
            out[position] = handle(ids[position], group)
    return out
