"""Disk and S3 helpers of ``bench_scale.py``: the bare fsync floor a durable write is
compared with, and copying a built store to an S3 server as it is."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

__all__ = ["fsync_floor", "upload"]


#: Whether this process's floor still tries unnamed temp files (the store stops after the
#: first refusal, e.g. EXDEV where /proc links are not allowed, and so does the floor).
_ANONYMOUS = [hasattr(os, "O_TMPFILE")]


def fsync_floor(directory: Path, size: int, runs: int) -> list[float]:
    """The durable write's syscalls done bare, as ``LocalStore.put(mode="create")`` does
    them: an unnamed temp file (O_TMPFILE) written, fsynced and linked into place, or where
    the file system refuses that a named temp file written, fsynced, linked and removed;
    then the directory fsynced."""
    data = b"x" * size
    times = []
    anonymous = _ANONYMOUS[0]
    for n in range(runs):
        path = str(directory / f"floor-{n}-{time.perf_counter_ns()}.json")
        start = time.perf_counter()
        if anonymous:
            fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o644)
            try:
                os.write(fd, data)
                os.fsync(fd)
                os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)
            except OSError:
                anonymous = _ANONYMOUS[0] = False  # as the store: named temp files from now on
                start = time.perf_counter()
            finally:
                os.close(fd)
        if not anonymous:
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.link(path + ".tmp", path)
            os.unlink(path + ".tmp")
        dir_fd = os.open(directory, os.O_RDONLY)
        os.fsync(dir_fd)
        os.close(dir_fd)
        times.append(time.perf_counter() - start)
    return times


def upload(server: Any, prefix: str, root: Path) -> None:
    """Copy a local store's files to ``prefix`` of the server's bucket, as they are."""
    from concurrent.futures import ThreadPoolExecutor

    client = server.client()
    files = [p for p in root.rglob("*") if p.is_file() and p.name != "complete"]

    def put(path: Path) -> None:
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        client.put_object(Bucket=server.bucket, Key=key, Body=path.read_bytes())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, files))
