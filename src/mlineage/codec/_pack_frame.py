"""The frame of a format-2 pack: where its lines end, and the CRC-32 its header holds of
the rest, computed while the header parses.

A load of 10^6 packed versions checks 1.1 GB of packs and parses 100 headers of 1.7 MB;
zlib releases the GIL while it computes, so on two cores neither waits for the other.
``codec._packs`` parses the header (the layout is in docs/storage-format.md).
"""

from __future__ import annotations

import mmap
import threading
import zlib

from mlineage.errors import CorruptRecord

__all__ = ["CHECKSUM_THREAD_FROM", "Checksum", "check_body", "crc32_from", "ends_at"]

#: From this many checked bytes on, :class:`Checksum` computes on a thread of its own.
CHECKSUM_THREAD_FROM = 1 << 20


def ends_at(data: bytes | mmap.mmap, end: int, suffix: bytes) -> bool:
    """Whether ``data[:end]`` ends with ``suffix`` (without copying ``data[:end]``)."""
    return end >= len(suffix) and data[end - len(suffix) : end] == suffix


def crc32_from(data: bytes | mmap.mmap, start: int) -> int:
    """The CRC-32 of ``data[start:]``, without copying it."""
    with memoryview(data) as whole, whole[start:] as checked:
        return zlib.crc32(checked)


class Checksum:
    """The CRC-32 of what a format-2 pack's checksum covers, begun on a second thread.

    It starts from the pack's framing alone (in every format the checked bytes start
    after the header's line), before the header is known to be sound: a header found
    damaged discards it. :meth:`wait` must be called before the caller lets go of
    ``data`` (the thread reads it); :meth:`value` waits too.
    """

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self.data = data
        self.start = data.find(b"\n") + 1
        self.crc: int | None = None
        self.thread: threading.Thread | None = None
        if self.start and len(data) - self.start >= CHECKSUM_THREAD_FROM:
            self.thread = threading.Thread(target=self._run, name="mlineage-pack-crc32")
            self.thread.start()

    def _run(self) -> None:
        self.crc = crc32_from(self.data, self.start)

    def wait(self) -> None:
        """Wait for the thread (if any): it reads ``data`` no more once this returns."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def value(self, start: int) -> int:
        """The CRC-32 of ``data[start:]`` (computed here unless the thread did)."""
        self.wait()
        if self.crc is None or start != self.start:
            self.crc, self.start = crc32_from(self.data, start), start
        return self.crc


def check_body(
    data: bytes | mmap.mmap, key: str, start: int, crc32: int, checksum: Checksum | None = None
) -> CorruptRecord | None:
    """The error of pack ``key`` if ``data[start:]`` has not the CRC-32 ``crc32``, else
    None (``checksum``: of ``data``, if one was begun)."""
    if (crc32_from(data, start) if checksum is None else checksum.value(start)) != crc32:
        return CorruptRecord(
            f"{key!r} fails its checksum (truncated or altered after it was written); "
            "run `mlineage fsck`"
        )
    return None
