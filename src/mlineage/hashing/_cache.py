"""The persistent SQLite cache of file hashes, :class:`HashCache`."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from mlineage.hashing._manifest import _encode_path

# The logger HashCache's docstring names, whichever submodule it lives in.
logger = logging.getLogger("mlineage.hashing")


class FileKey(NamedTuple):
    """What identifies one state of a file for :class:`HashCache`."""

    path: str
    size: int
    mtime_ns: int
    inode: int


@dataclass
class CacheStats:
    """Counters of one :class:`HashCache` object, for tests, benchmarks and curiosity.

    Attributes
    ----------
    hits : int
        Lookups answered from the cache (the file was not read).
    misses : int
        Lookups that found no entry, or one for another size, mtime or inode.
    stored : int
        Hashes written to the cache.
    racy : int
        Hashes not written because the file's mtime was within the racy window of when it
        was read (see :class:`HashCache`).
    disabled : str or None
        Why the cache stopped being used (unwritable directory, full disk, corrupt
        database), or None while it works.
    """

    hits: int = 0
    misses: int = 0
    stored: int = 0
    racy: int = 0
    disabled: str | None = None


def default_cache_path() -> Path:
    """Return where :class:`HashCache` keeps its database by default.

    ``$MLINEAGE_CACHE_DIR/hashes.sqlite`` if that variable is set, else
    ``$XDG_CACHE_HOME/mlineage/hashes.sqlite``, else ``~/.cache/mlineage/hashes.sqlite``.
    """
    if os.environ.get("MLINEAGE_CACHE_DIR"):
        return Path(os.environ["MLINEAGE_CACHE_DIR"]) / "hashes.sqlite"
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "mlineage" / "hashes.sqlite"
    return Path.home() / ".cache" / "mlineage" / "hashes.sqlite"


class HashCache:
    """A persistent cache of file hashes keyed by (absolute path, size, mtime_ns, inode).

    A file whose size, modification time or inode changed since it was hashed is always
    read again; an unchanged one is not read at all. The cache is one SQLite database in
    WAL mode with a busy timeout, so several processes can share it.

    *Racy mtimes.* File systems store modification times with a granularity (a kernel
    tick, one second, two on FAT), so a write that lands in the same tick as the hashed
    state leaves size and mtime unchanged. Like git's "racily clean" check, a hash is
    stored only when the file's mtime is at least ``racy_window`` seconds older than the
    moment reading began; fresher files are simply hashed again next time.

    The cache is a speed-up, never a point of failure: if the database cannot be opened,
    read or written (read-only home, full disk, corrupt file, lock held too long), the
    problem is logged once on the ``mlineage.hashing`` logger, :attr:`stats` records it in
    ``disabled``, and hashing carries on without the cache.

    Parameters
    ----------
    path : path-like or None
        Database file; :func:`default_cache_path` if None. Created with its directory
        on first use.
    racy_window : float
        Seconds; see above.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, HashCache(Path(tmp) / "h.sqlite") as cache:
    ...     cache.lookup([FileKey("/nonexistent", 0, 0, 0)])
    [None]
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, racy_window: float = 2.0):
        self.path = Path(path) if path is not None else default_cache_path()
        self.racy_window_ns = int(racy_window * 1e9)
        self.stats = CacheStats()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HashCache({str(self.path)!r})"

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection; the object reopens it if used again."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _disable(self, exc: BaseException) -> None:
        self.stats.disabled = f"{type(exc).__name__}: {exc}"
        logger.warning(
            "hash cache %s disabled, hashing without it: %s", self.path, self.stats.disabled
        )
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection | None:
        if self.stats.disabled is not None:
            return None
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # check_same_thread=False: the lock serialises use, and a cache may be shared
                # by hash_path calls made from several threads.
                conn = sqlite3.connect(
                    self.path, timeout=10.0, isolation_level=None, check_same_thread=False
                )
                self._conn = conn
                conn.execute("PRAGMA journal_mode=WAL")
                # A cache entry lost in a power cut only costs one re-hash.
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS file_hashes_v1 ("
                    " path BLOB PRIMARY KEY, size INTEGER NOT NULL,"
                    " mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, sha256 TEXT NOT NULL"
                    ") WITHOUT ROWID"
                )
            except (sqlite3.Error, OSError) as exc:
                self._disable(exc)
                return None
        return self._conn

    def lookup(self, keys: Sequence[FileKey]) -> list[str | None]:
        """Return the cached hex SHA-256 for each key, or None where there is none.

        An entry answers only if size, mtime_ns and inode all match the key.
        """
        found: list[str | None] = [None] * len(keys)
        with self._lock:
            conn = self._connection()
            if conn is not None:
                paths = [_encode_path(k.path) for k in keys]
                rows: dict[bytes, tuple[bytes, int, int, int, str]] = {}
                try:
                    # Batched IN queries: one round trip per 500 files, not one per file;
                    # 500 stays under SQLite's oldest host-parameter limit (999).
                    for start in range(0, len(paths), 500):
                        batch = paths[start : start + 500]
                        query = (
                            "SELECT path, size, mtime_ns, inode, sha256 FROM file_hashes_v1 "
                            f"WHERE path IN ({','.join('?' * len(batch))})"
                        )
                        rows.update((row[0], row) for row in conn.execute(query, batch))
                except sqlite3.Error as exc:
                    self._disable(exc)
                    rows = {}
                for i, (path, key) in enumerate(zip(paths, keys, strict=True)):
                    row = rows.get(path)
                    if row is not None and row[1:4] == (key.size, key.mtime_ns, key.inode):
                        found[i] = row[4]
            hits = sum(1 for sha in found if sha is not None)
            self.stats.hits += hits
            self.stats.misses += len(keys) - hits
        return found

    def store(self, entries: Iterable[tuple[FileKey, str, int]]) -> None:
        """Remember hashes: ``(key, sha256hex, read_started_ns)`` per file.

        ``read_started_ns`` is ``time.time_ns()`` taken before the file was opened; entries
        whose mtime is not at least ``racy_window`` older than it are skipped (see above).
        """
        rows = []
        for key, sha, started_ns in entries:
            if started_ns - key.mtime_ns < self.racy_window_ns:
                self.stats.racy += 1
                continue
            rows.append((_encode_path(key.path), key.size, key.mtime_ns, key.inode, sha))
        if not rows:
            return
        with self._lock:
            conn = self._connection()
            if conn is None:
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO file_hashes_v1 VALUES (?,?,?,?,?)", rows)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._disable(exc)
                return
        self.stats.stored += len(rows)
