"""Deterministic content hashes of files, directories, numpy arrays and pandas DataFrames.

Everything here is SHA-256 and written ``"sha256:<hex>"``. A file's hash is the SHA-256 of
its bytes, so it equals ``sha256sum``. A directory's hash is the SHA-256 of its canonical
manifest: one line ``relpath\\0size\\0sha256hex\\n`` per file, sorted by the UTF-8 bytes of the
relative POSIX path, so the same bytes under the same relative names give the same hash on
any machine, whatever order the files were created or listed in.

Re-hashing is made cheap by :class:`HashCache`, a persistent SQLite table of file hashes
keyed by (absolute path, size, mtime_ns, inode), in the spirit of git's index and DVC's
state database.
"""

from __future__ import annotations

import datetime
import decimal
import errno
import hashlib
import json
import logging
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from mlineage._progress import Progress
from mlineage.errors import (
    CorruptRecord,
    InvalidInput,
    PathChanged,
    PathNotFound,
    UnhashableData,
    UnreadablePath,
    UnsupportedPath,
)

__all__ = [
    "ArrayDigest",
    "CacheStats",
    "FileKey",
    "HashCache",
    "ManifestEntry",
    "PathDigest",
    "default_cache_path",
    "hash_array",
    "hash_dataframe",
    "hash_path",
    "manifest_hash",
    "parse_manifest",
]

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
_CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_RETRY = "re-run when writes to it have finished"


def _encode_path(relpath: str) -> bytes:
    # surrogateescape round-trips file names that are not valid UTF-8 (os.fsencode does the
    # same on POSIX), so every name on disk has exactly one byte form to sort and hash.
    return relpath.encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- manifests


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a :class:`PathDigest`.

    Attributes
    ----------
    path : str
        Path relative to the hashed directory, with ``/`` separators (for a single file,
        its name).
    size : int
        Bytes.
    sha256 : str
        Hex SHA-256 of the file's bytes (no ``sha256:`` prefix).
    """

    path: str
    size: int
    sha256: str


def manifest_hash(entries: Iterable[ManifestEntry]) -> str:
    """Return the directory hash of ``entries``: ``"sha256:"`` + SHA-256 of manifest lines.

    The lines are ``f"{path}\\0{size}\\0{sha256}\\n"``, sorted by the UTF-8 bytes of
    ``path``, whatever order ``entries`` come in. A path cannot hold NUL and the digest is
    fixed-width, so distinct manifests give distinct line streams.

    Parameters
    ----------
    entries : iterable of ManifestEntry

    Returns
    -------
    str
        ``"sha256:<hex>"``.

    Examples
    --------
    >>> manifest_hash([])  # an empty directory hashes like empty input
    'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return _digest_lines(sorted((_encode_path(e.path), e.size, e.sha256) for e in entries))


def _digest_lines(lines: Iterable[tuple[bytes, int, str]]) -> str:
    """The directory hash of (path bytes, size, hex) triples already sorted by path bytes."""
    body = b"".join(b"%s\0%d\0%s\n" % (path, size, sha.encode()) for path, size, sha in lines)
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class PathDigest:
    """The content identity of a file or directory, as computed by :func:`hash_path`.

    Attributes
    ----------
    kind : {"file", "directory"}
    hash : str
        ``"sha256:<hex>"``: of the bytes for a file, of the manifest lines for a directory
        (see :func:`manifest_hash`).
    size : int
        Total bytes of all files.
    num_files : int
        1 for a file.
    entries : tuple of ManifestEntry
        Every file, sorted by path; for a file, one entry named after it.
    """

    kind: Literal["file", "directory"]
    hash: str
    size: int
    num_files: int
    entries: tuple[ManifestEntry, ...]

    def manifest_bytes(self) -> bytes:
        """Return the canonical JSON manifest of :attr:`entries`.

        ``{"format":1,"entries":[{"path":..,"size":..,"sha256":..},...]}`` with entries
        sorted by path, compact separators and ASCII escapes, so equal manifests are equal
        bytes and can be stored content-addressed. :func:`parse_manifest` reads it back.

        Examples
        --------
        >>> d = PathDigest("file", "sha256:" + "0" * 64, 0, 1, (ManifestEntry("a", 0, "0" * 64),))
        >>> d.manifest_bytes()[:35]
        b'{"format":1,"entries":[{"path":"a",'
        """
        ordered = sorted(self.entries, key=lambda e: _encode_path(e.path))
        document = {
            "format": MANIFEST_FORMAT,
            "entries": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in ordered],
        }
        return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _is_relative(path: str) -> bool:
    # What hash_path writes: "/"-separated names, none empty, "." or "..", no NUL. Anything
    # else could point outside the directory when a checkout restores files from it.
    return "\0" not in path and all(part not in ("", ".", "..") for part in path.split("/"))


def parse_manifest(data: bytes) -> tuple[ManifestEntry, ...]:
    """Read a manifest written by :meth:`PathDigest.manifest_bytes`.

    Parameters
    ----------
    data : bytes

    Returns
    -------
    tuple of ManifestEntry
        In manifest (sorted) order; ``manifest_hash(entries)`` gives the directory hash.

    Raises
    ------
    CorruptRecord
        If ``data`` is not JSON, has another format number, or an entry is malformed
        (including a path that is absolute or has ``.``/``..`` parts, which could escape
        the directory on restore), duplicated or out of order.

    Examples
    --------
    >>> entry = b'{"path":"a","size":0,"sha256":"' + b"0" * 64 + b'"}'
    >>> parse_manifest(b'{"format":1,"entries":[' + entry + b"]}")[0].path
    'a'
    """
    try:
        document = json.loads(data)
    except (ValueError, TypeError) as exc:
        raise CorruptRecord(f"manifest is not valid JSON ({exc}); re-create it") from None
    if not isinstance(document, dict) or set(document) != {"format", "entries"}:
        raise CorruptRecord("manifest must be an object with exactly 'format' and 'entries'")
    if document["format"] != MANIFEST_FORMAT:
        raise CorruptRecord(
            f"manifest format {document['format']!r} is not {MANIFEST_FORMAT}; "
            "it was written by another mlineage release"
        )
    if not isinstance(document["entries"], list):
        raise CorruptRecord("manifest 'entries' must be a list")
    entries: list[ManifestEntry] = []
    previous: bytes | None = None
    for index, item in enumerate(document["entries"]):
        if not isinstance(item, dict) or set(item) != {"path", "size", "sha256"}:
            raise CorruptRecord(f"manifest entry {index} must have exactly path, size, sha256")
        path, size, sha = item["path"], item["size"], item["sha256"]
        valid_size = isinstance(size, int) and not isinstance(size, bool) and size >= 0
        if not isinstance(path, str) or not valid_size or not _is_relative(path):
            raise CorruptRecord(f"manifest entry {index} has a bad path or size: {item!r}")
        if not isinstance(sha, str) or not _HEX64.match(sha):
            raise CorruptRecord(f"manifest entry {index} sha256 is not 64 hex digits: {sha!r}")
        key = _encode_path(path)
        if previous is not None and key <= previous:
            raise CorruptRecord(f"manifest entry {index} ({path!r}) is duplicated or out of order")
        previous = key
        entries.append(ManifestEntry(path, size, sha))
    return tuple(entries)


# --------------------------------------------------------------------------- cache


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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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


# --------------------------------------------------------------------------- files


class _File(NamedTuple):
    rel: str
    sort_key: bytes  # rel as bytes: the manifest order
    key: FileKey  # as seen when the directory was listed


class _Hashed(NamedTuple):
    sha256: str
    size: int
    mtime_ns: int
    inode: int
    started_ns: int


def _hash_file(path: str, buffer: bytearray, on_bytes: Callable[[int], None] | None) -> _Hashed:
    """Hash one regular file, checking that it did not change while it was read."""
    started_ns = time.time_ns()
    try:
        # O_NONBLOCK: if the file was swapped for a FIFO since it was listed, opening it
        # must not hang waiting for a writer (the type check below then reports it).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise PathChanged(f"{path} disappeared while it was being hashed; {_RETRY}") from None
    except IsADirectoryError:
        raise PathChanged(f"{path} became a directory while being hashed; {_RETRY}") from None
    except OSError as exc:
        raise UnreadablePath(
            f"cannot read {path}: {exc.strerror}; fix its permissions or leave it out"
        ) from None
    with open(fd, "rb", buffering=0) as stream:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise PathChanged(f"{path} is no longer a regular file; {_RETRY}")
        digest = hashlib.sha256()
        view = memoryview(buffer)
        read = 0
        try:
            # The same loop as hashlib.file_digest (3.11+), with a progress callback and a
            # byte count; both the read and sha256 update release the GIL for big chunks,
            # which is what lets hash_path's worker threads use every core.
            while n := stream.readinto(buffer):
                digest.update(view[:n])
                read += n
                if on_bytes is not None:
                    on_bytes(n)
        except OSError as exc:
            raise UnreadablePath(f"cannot read {path}: {exc.strerror}") from None
        after = os.fstat(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or (
        read != before.st_size
    ):
        raise PathChanged(
            f"{path} changed while it was being hashed (size {before.st_size} -> "
            f"{after.st_size}, {read} bytes read); {_RETRY}"
        )
    return _Hashed(digest.hexdigest(), read, before.st_mtime_ns, before.st_ino, started_ns)


def _stat_error(path: str, exc: OSError, is_symlink: bool) -> Exception:
    if isinstance(exc, FileNotFoundError):
        if is_symlink:
            target = os.readlink(path) if os.path.islink(path) else "?"
            return PathNotFound(
                f"{path} is a symlink to {target!r}, which does not exist; fix or remove the link"
            )
        return PathChanged(f"{path} disappeared while its directory was being read; {_RETRY}")
    if exc.errno == errno.ELOOP:
        return UnsupportedPath(f"{path}: symlinks point at each other in a loop; break the loop")
    if isinstance(exc, PermissionError):
        return UnreadablePath(f"cannot access {path}: {exc.strerror}; fix its permissions")
    return UnreadablePath(f"cannot access {path}: {exc.strerror}")


def _kind_name(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file or directory"


def _walk(root: str, root_stat: os.stat_result) -> list[_File]:
    """List every regular file under ``root``, following symlinks, refusing cycles."""
    files: list[_File] = []
    # Each pending directory carries the (device, inode) of itself and its ancestors: a
    # symlink back to one of them is a cycle; a second link to a sibling is merely followed
    # twice, as its content appears twice in the tree.
    stack = [(root, "", frozenset({(root_stat.st_dev, root_stat.st_ino)}))]
    while stack:
        directory, prefix, ancestors = stack.pop()
        try:
            listing = os.scandir(directory)
        except OSError as exc:
            raise _stat_error(directory, exc, is_symlink=False) from None
        with listing:
            for entry in listing:
                rel = prefix + entry.name
                try:
                    st = entry.stat()  # follows symlinks; the one stat per file
                except OSError as exc:
                    raise _stat_error(entry.path, exc, entry.is_symlink()) from None
                if stat.S_ISREG(st.st_mode):
                    key = FileKey(entry.path, st.st_size, st.st_mtime_ns, st.st_ino)
                    files.append(_File(rel, _encode_path(rel), key))
                elif stat.S_ISDIR(st.st_mode):
                    identity = (st.st_dev, st.st_ino)
                    if identity in ancestors:
                        raise UnsupportedPath(
                            f"{entry.path} is a symlink to one of its own parent directories, "
                            "so the tree is infinite; remove the link or hash a subdirectory"
                        )
                    stack.append((entry.path, rel + "/", ancestors | {identity}))
                else:
                    raise UnsupportedPath(
                        f"{entry.path} is {_kind_name(st.st_mode)}, which has no fixed content "
                        "to hash; move it out of the directory"
                    )
    files.sort(key=lambda f: f.sort_key)
    return files


def _hash_all(
    files: list[_File], workers: int, on_bytes: Callable[[int], None] | None
) -> list[_Hashed]:
    """Hash ``files`` with ``workers`` threads pulling from one shared queue."""
    results: list[_Hashed | None] = [None] * len(files)
    pending = iter(range(len(files)))
    take = threading.Lock()
    stop = threading.Event()

    def drain() -> None:
        buffer = bytearray(_CHUNK)
        try:
            while not stop.is_set():
                with take:
                    index = next(pending, None)
                if index is None:
                    return
                results[index] = _hash_file(files[index].key.path, buffer, on_bytes)
        except BaseException:
            stop.set()  # the first failure ends the run; the others stop after their file
            raise

    threads = min(workers, len(files))
    if threads <= 1:
        drain()
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="mlineage-hash") as pool:
            futures = [pool.submit(drain) for _ in range(threads)]
            try:
                for future in futures:
                    future.result()
            finally:
                stop.set()
    done = [r for r in results if r is not None]
    assert len(done) == len(files), "every file is hashed or an error was raised"
    return done


def _default_workers() -> int:
    # Same rule as ThreadPoolExecutor: hashing page-cached data is CPU-bound (one thread per
    # core suffices), but on network file systems extra threads hide I/O latency.
    return min(32, (os.cpu_count() or 1) + 4)


def hash_path(
    path: str | os.PathLike[str],
    *,
    workers: int | None = None,
    cache: HashCache | bool | None = True,
    progress: bool | None = None,
) -> PathDigest:
    """Hash a file or a directory tree by content.

    A file's hash is ``"sha256:"`` + the SHA-256 of its bytes (what ``sha256sum`` prints).
    A directory's hash is :func:`manifest_hash` of its files: it depends only on relative
    paths, sizes and bytes, not on creation order, timestamps, permissions or the machine.

    What counts as content:

    - symlinks to files are followed: the target's bytes are hashed under the link's name;
    - symlinks to directories are followed too; a link back to one of its own ancestor
      directories would make the tree infinite and raises :class:`UnsupportedPath`;
    - a dangling symlink raises :class:`PathNotFound` naming it;
    - empty directories contribute nothing (as in git): only files have content;
    - FIFOs, sockets and devices raise :class:`UnsupportedPath`.

    Files in a directory are hashed by ``workers`` threads (SHA-256 and reads release the
    GIL). Each file is checked with ``fstat`` before and after reading; if its size or mtime
    moved, :class:`PathChanged` is raised rather than returning a hash of a state that never
    existed on disk. A same-size rewrite within one mtime tick cannot be seen this way.

    Parameters
    ----------
    path : path-like
        File or directory; symlinks are followed.
    workers : int or None
        Hashing threads; default ``min(32, os.cpu_count() + 4)``. 1 hashes in the calling
        thread.
    cache : HashCache, bool or None
        ``True`` (default) uses a :class:`HashCache` at :func:`default_cache_path`;
        a ``HashCache`` uses that one (left open); ``False`` or None reads every file.
    progress : bool or None
        None shows a progress line on stderr when it is a terminal and hashing takes over
        a second (``MLINEAGE_PROGRESS=0`` turns that off); True always shows it; False never.

    Returns
    -------
    PathDigest

    Raises
    ------
    PathNotFound
        ``path`` or a symlink target under it does not exist.
    UnreadablePath
        A file or directory cannot be read (permissions, I/O error).
    UnsupportedPath
        A FIFO, socket or device, or a symlink cycle.
    PathChanged
        A file was modified, replaced or deleted while it was being hashed.
    InvalidInput
        ``workers`` is less than 1.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "a.txt").write_bytes(b"hello\\n")
    ...     digest = hash_path(tmp, cache=False)
    >>> digest.kind, digest.num_files, digest.size
    ('directory', 1, 6)
    >>> digest.entries[0].sha256[:16]
    '5891b5b522d5df08'
    """
    if workers is None:
        workers = _default_workers()
    elif workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    text = os.fspath(path)
    try:
        root_stat = os.stat(text)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and not os.path.lexists(text):
            raise PathNotFound(f"{text} does not exist; check the path") from None
        raise _stat_error(text, exc, os.path.islink(text)) from None
    absolute = os.path.abspath(text)
    if stat.S_ISREG(root_stat.st_mode):
        name = os.path.basename(absolute)
        key = FileKey(absolute, root_stat.st_size, root_stat.st_mtime_ns, root_stat.st_ino)
        files = [_File(name, _encode_path(name), key)]
    elif stat.S_ISDIR(root_stat.st_mode):
        files = _walk(absolute, root_stat)
    else:
        raise UnsupportedPath(f"{text} is {_kind_name(root_stat.st_mode)}; nothing to hash")

    own_cache = cache is True
    store = HashCache() if cache is True else cache if isinstance(cache, HashCache) else None
    try:
        keys = [f.key for f in files]
        known = store.lookup(keys) if store is not None else [None] * len(files)
        todo = [f for f, sha in zip(files, known, strict=True) if sha is None]
        with Progress(sum(f.key.size for f in todo), f"hashing {text}", enabled=progress) as bar:
            hashed = _hash_all(todo, workers, bar.update if bar.active else None)
        if store is not None:
            store.store(
                (FileKey(f.key.path, h.size, h.mtime_ns, h.inode), h.sha256, h.started_ns)
                for f, h in zip(todo, hashed, strict=True)
            )
    finally:
        if own_cache and store is not None:
            store.close()

    fresh = iter(hashed)
    lines: list[tuple[bytes, int, str]] = []
    for f, sha in zip(files, known, strict=True):
        if sha is None:
            h = next(fresh)
            lines.append((f.sort_key, h.size, h.sha256))
        else:
            lines.append((f.sort_key, f.key.size, sha))
    entries = tuple(
        ManifestEntry(f.rel, size, sha) for f, (_, size, sha) in zip(files, lines, strict=True)
    )
    total = sum(size for _, size, _ in lines)
    if stat.S_ISREG(root_stat.st_mode):
        return PathDigest("file", "sha256:" + entries[0].sha256, total, 1, entries)
    return PathDigest("directory", _digest_lines(lines), total, len(entries), entries)


# --------------------------------------------------------------------------- arrays


@dataclass(frozen=True)
class ArrayDigest:
    """The content identity of in-memory data, from :func:`hash_array` or :func:`hash_dataframe`.

    Attributes
    ----------
    hash : str
        ``"sha256:<hex>"``.
    num_rows : int
        Length of the first axis (DataFrame rows).
    columns : dict of str to str
        Column name -> dtype: DataFrame columns, structured-array fields, or ``"X"`` /
        ``"y"`` for plain arrays.
    """

    hash: str
    num_rows: int
    columns: dict[str, str]


def _array_for_hashing(value: npt.ArrayLike, name: str) -> np.ndarray[Any, np.dtype[Any]]:
    array = np.asarray(value)
    if array.dtype.kind == "T":
        raise UnhashableData(
            f"{name} has numpy's variable-width StringDType, whose buffer holds pointers, "
            f"not text; convert it with {name}.astype(str) (fixed width) before hashing"
        )
    if array.dtype.hasobject:
        raise UnhashableData(
            f"{name} has dtype {array.dtype} (Python objects): its buffer holds pointers that "
            "differ between processes, and hashing the objects themselves would need pickle, "
            f"which mlineage never uses; convert it to a fixed dtype first (e.g. "
            f"{name}.astype(float) or {name}.astype(str)), or use hash_dataframe for tables"
        )
    if array.dtype.names is not None:
        from numpy.lib import recfunctions

        # Aligned structured dtypes have padding bytes whose content is arbitrary; packing
        # the fields leaves only the values.
        array = recfunctions.repack_fields(array, align=False, recurse=True)
    return array


def _feed_array(digest: Any, array: np.ndarray[Any, np.dtype[Any]]) -> None:
    """Feed the C-order bytes of ``array`` to ``digest`` without copying it whole."""
    if array.size == 0:
        return
    if array.flags.c_contiguous:
        digest.update(array.reshape(-1).view(np.uint8))
        return
    # A strided view (a slice, a transpose) is copied in slabs of about 16 MiB of rows.
    row_bytes = max(array[0].nbytes, 1)
    step = max(1, (16 << 20) // row_bytes)
    for start in range(0, array.shape[0], step):
        slab = np.ascontiguousarray(array[start : start + step])
        digest.update(slab.reshape(-1).view(np.uint8))


def _descr(array: np.ndarray[Any, np.dtype[Any]]) -> Any:
    return np.lib.format.dtype_to_descr(array.dtype)


def hash_array(
    X: npt.ArrayLike,  # noqa: N803 -- scikit-learn's name for a feature matrix
    y: npt.ArrayLike | None = None,
) -> ArrayDigest:
    """Hash numpy data (features ``X`` and optional targets ``y``) by content.

    The hash covers each array's dtype (including byte order), shape and C-order bytes, so
    it is the same in every process and on every machine of the same endianness, and
    differs when any value, the dtype or the shape differs. Structured arrays are hashed
    field by field without their padding bytes.

    Parameters
    ----------
    X : array_like
        Converted with ``numpy.asarray``.
    y : array_like or None
        Targets; if given, must have as many rows as ``X``.

    Returns
    -------
    ArrayDigest
        ``columns`` is ``{"X": dtype, "y": dtype}`` for plain arrays, or the fields of a
        structured ``X``.

    Raises
    ------
    UnhashableData
        An array of Python objects (dtype ``object``) or numpy ``StringDType``: their
        buffers hold pointers, and mlineage does not pickle.
    InvalidInput
        ``y`` has a different number of rows than ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> d = hash_array(np.arange(6, dtype="<i8").reshape(3, 2), np.array([0, 1, 0], "<i8"))
    >>> d.num_rows, d.columns
    (3, {'X': 'int64', 'y': 'int64'})
    >>> d.hash == hash_array(np.arange(6, dtype="<i8").reshape(3, 2), [0, 1, 0]).hash
    True
    """
    arrays = [("X", _array_for_hashing(X, "X"))]
    if y is not None:
        arrays.append(("y", _array_for_hashing(y, "y")))
    x = arrays[0][1]
    num_rows = x.shape[0] if x.ndim else 1
    if y is not None:
        target = arrays[1][1]
        y_rows = target.shape[0] if target.ndim else 1
        if y_rows != num_rows:
            raise InvalidInput(f"X has {num_rows} rows but y has {y_rows}; they must match")
    header = {
        "format": 1,
        "arrays": [{"name": n, "dtype": _descr(a), "shape": list(a.shape)} for n, a in arrays],
    }
    digest = hashlib.sha256(b"mlineage.array\n")
    digest.update(json.dumps(header, separators=(",", ":")).encode() + b"\n")
    for _, array in arrays:
        _feed_array(digest, array)

    if x.dtype.names is not None:
        columns = {field: str(x.dtype.fields[field][0]) for field in x.dtype.names}  # type: ignore[index]
    else:
        columns = {"X": str(x.dtype)}
    if y is not None:
        columns["y" if "y" not in columns else "target"] = str(arrays[1][1].dtype)
    return ArrayDigest("sha256:" + digest.hexdigest(), num_rows, columns)


def _framed(tag: bytes, payload: bytes) -> bytes:
    # Tag + length prefix make the encoding of a sequence of values injective: no value can
    # be read as the end of one and the start of the next.
    return tag + b"%d:" % len(payload) + payload


def _encode_value(value: Any, where: str) -> bytes:
    """Canonical bytes of one table value (a cell, a column or index name)."""
    if value is None:
        return b"N"
    if isinstance(value, str):
        return _framed(b"s", value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray)):
        return _framed(b"b", bytes(value))
    if isinstance(value, (bool, np.bool_)):
        return b"?1" if value else b"?0"
    if isinstance(value, (int, np.integer)):
        return _framed(b"i", str(int(value)).encode())
    if isinstance(value, (float, np.floating)):
        return _framed(b"f", float(value).hex().encode())
    if isinstance(value, (complex, np.complexfloating)):
        return _framed(b"c", f"{float(value.real).hex()},{float(value.imag).hex()}".encode())
    if isinstance(value, tuple):
        return _framed(b"(", b"".join(_encode_value(item, where) for item in value))
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta, decimal.Decimal)):
        # datetime, pandas Timestamp/NaT (datetime subclasses) and Timedelta print every
        # field, including time zone and nanoseconds, and nothing else.
        return _framed(b"t" + type(value).__name__.encode(), str(value).encode())
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return _framed(b"t" + type(value).__name__.encode(), str(value).encode())
    if type(value).__name__ == "NAType":
        return b"NA"
    raise UnhashableData(
        f"{where} holds a {type(value).__module__}.{type(value).__qualname__} value, which has "
        "no canonical byte form; mlineage hashes strings, bytes, numbers, dates, times and "
        "missing values without pickle. Convert the column (e.g. df[col].astype(str)) first"
    )


def _feed_column(digest: Any, values: Any, dtype: Any, where: str) -> None:
    digest.update(_framed(b"dtype", str(dtype).encode()))
    if isinstance(dtype, np.dtype) and not dtype.hasobject:
        array = _array_for_hashing(np.asarray(values), where)
        digest.update(_framed(b"raw", json.dumps(_descr(array)).encode()))
        _feed_array(digest, array)
        return
    # Object columns, pandas strings, categoricals, nullable and tz-aware types: hash the
    # values one by one in a canonical tagged encoding.
    cells = np.asarray(values, dtype=object)
    digest.update(b"".join(_encode_value(cell, where) for cell in cells))


def hash_dataframe(df: Any) -> ArrayDigest:
    """Hash a pandas DataFrame by content: column names, dtypes, index and values.

    Columns with a plain numpy dtype (numbers, booleans, ``datetime64``) are hashed as
    their raw bytes. Other columns (object, pandas ``str``, ``category``, nullable
    ``Int64``, tz-aware datetimes, ...) are hashed value by value in a canonical encoding
    that tags each value's type, so ``1``, ``1.0``, ``"1"`` and ``True`` all differ; no
    pickle is involved. Numeric columns hash at memory speed; value-by-value columns cost
    about 1 s per million cells (measured: 1.8 s for 1M rows with two string columns).
    The index (every level, with its names and dtype) is included, so the same rows in
    another order hash differently.

    The dtype names are part of the hash, and pandas 3 changed the default dtype of string
    columns from ``object`` to ``str``: the same table loaded by pandas 2 and 3 hashes
    differently.

    pandas is imported only by callers that already have a DataFrame; mlineage does not
    depend on it.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    ArrayDigest
        ``columns`` maps ``str(name)`` to ``str(dtype)``.

    Raises
    ------
    InvalidInput
        ``df`` is not a pandas DataFrame.
    UnhashableData
        A cell holds a type with no canonical byte form (a list, a dict, a custom object).

    Examples
    --------
    >>> import pandas as pd  # doctest: +SKIP
    >>> hash_dataframe(pd.DataFrame({"a": [1, 2]})).columns  # doctest: +SKIP
    {'a': 'int64'}
    """
    kind = type(df)
    if not kind.__module__.startswith("pandas") or kind.__name__ != "DataFrame":
        hint = " (for a Series, pass series.to_frame())" if kind.__name__ == "Series" else ""
        raise InvalidInput(
            f"hash_dataframe expects a pandas DataFrame, got {kind.__module__}.{kind.__name__}"
            f"{hint}; for numpy arrays use hash_array"
        )
    num_rows, num_columns = df.shape
    index = df.index
    digest = hashlib.sha256(b"mlineage.dataframe\n")
    digest.update(
        b"format=1 rows=%d columns=%d levels=%d\n" % (num_rows, num_columns, index.nlevels)
    )
    for level in range(index.nlevels):
        values = index.get_level_values(level)
        digest.update(_encode_value(index.names[level], "an index name"))
        _feed_column(digest, values, values.dtype, f"index level {level}")
    columns: dict[str, str] = {}
    for position, name in enumerate(df.columns):
        column = df.iloc[:, position]
        digest.update(_encode_value(name, "a column name"))
        _feed_column(digest, column, column.dtype, f"column {name!r}")
        columns[str(name)] = str(column.dtype)
    return ArrayDigest("sha256:" + digest.hexdigest(), int(num_rows), columns)
