"""Walking and hashing files and directory trees: :func:`hash_path`."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from mlineage._file_modes import describe_mode
from mlineage._progress import Progress
from mlineage.errors import (
    InvalidInput,
    PathChanged,
    PathNotFound,
    UnreadablePath,
    UnsupportedPath,
)
from mlineage.hashing._cache import FileKey, HashCache
from mlineage.hashing._manifest import ManifestEntry, PathDigest, _digest_lines, _encode_path

_CHUNK = 1 << 20
_RETRY = "re-run when writes to it have finished"


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
                        f"{entry.path} is {describe_mode(st.st_mode)}, which has no fixed content "
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
    >>> from pathlib import Path
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
        raise UnsupportedPath(f"{text} is {describe_mode(root_stat.st_mode)}; nothing to hash")

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
