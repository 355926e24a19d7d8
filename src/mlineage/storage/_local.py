"""Local-directory store: one file per key, create-only writes via ``os.link``."""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlineage._file_modes import describe_mode
from mlineage.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidKey,
    NotFound,
    StoreError,
    UnsupportedObject,
)
from mlineage.storage._base import (
    PutMode,
    Store,
    check_mode,
    map_os_errors,
    raise_os_error,
    too_large,
    translate_os_error,
    validate_key,
)

__all__ = ["TEMP_MARKER", "LocalStore", "is_temp_name"]

#: Temporary files are named ``.<final name>.tmp-<random>`` in the final directory.
TEMP_MARKER = ".tmp-"
_READ_SIZE = 1 << 20
_PREFETCH_MIN = 1024
_PREFETCH_CHUNK = 512
# Never follow a symlink as the last component, never block opening a FIFO.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
# What open(O_NOFOLLOW) of a symlink fails with: ELOOP (Linux, macOS), EMLINK (FreeBSD),
# EFTYPE (NetBSD).
_SYMLINK_ERRNOS = {errno.ELOOP, errno.EMLINK, getattr(errno, "EFTYPE", errno.ELOOP)}


def is_temp_name(name: str) -> bool:
    """Return whether a file name is one of this store's in-flight temporary files."""
    return name.startswith(".") and TEMP_MARKER in name


def _temp_path(path: str) -> str:
    """A fresh temporary name beside ``path``: ``.<name>.tmp-<random>`` in its directory."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}{TEMP_MARKER}{secrets.token_hex(6)}")


def _fsync_dir(path: str | Path) -> None:
    # A new directory entry is durable only once the directory itself is fsynced.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore(Store):
    """A store in a directory of the local file system (the default backend).

    Every write goes to a temporary file in the destination directory, is fsynced, and is
    then published: create-only writes with ``os.link`` (which fails if the name exists;
    ``os.rename`` would silently replace it), overwrites with ``os.replace``. The directory
    is fsynced afterwards, so a ``put`` that returned survives a power cut. On Linux the
    temporary of a create-only write is an unnamed ``O_TMPFILE`` inode, so a killed writer
    leaves nothing; elsewhere (and for overwrites and file copies) it is a named
    ``.<name>.tmp-<random>`` file, which readers ignore and ``fsck --repair`` removes.

    Below the root (which may itself be a symlink), an object is a regular file and a
    directory is a real directory: the store follows no symlink and opens no FIFO, socket
    or device. Listings leave such entries out, reading one raises
    :class:`~mlineage.errors.UnsupportedObject`, writing through a symlinked directory is
    refused, and ``mlineage fsck`` reports them. An object larger than the limit a reader
    gives (:meth:`get_limited`: records, packs) is refused before a byte is read.
    A read-only file system, a permission refused and a full disk raise
    :class:`~mlineage.errors.StoreReadOnly`, :class:`~mlineage.errors.PermissionDenied`
    and :class:`~mlineage.errors.StoreFull`, naming the path.

    Parameters
    ----------
    root : str or os.PathLike
        The directory; created on first write.
    read_only : bool
        Refuse every write.
    durable : bool
        fsync files and directories (default). Turning it off is only for throwaway stores.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, read_only: bool = False, durable: bool = True
    ) -> None:
        super().__init__(read_only=read_only)
        if "\0" in os.fspath(root):
            raise InvalidInput(
                f"store path {os.fspath(root)!r} contains a NUL character, which no file "
                "system allows in a path"
            )
        self.root = Path(root).expanduser().absolute()
        self._root_str = str(self.root) + os.sep
        self.durable = durable
        self._made_dirs: set[str | Path] = set()
        self._real_dirs: set[str] = set()
        self._anonymous_temp = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")

    @property
    def uri(self) -> str:
        # docstring inherited
        return self.root.as_uri()

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        # Plain string joining: pathlib costs ~30 us a call, which 10^5-record loads feel.
        validate_key(key)
        return self._root_str + (key if os.sep == "/" else key.replace("/", os.sep))

    def get(self, key: str) -> bytes:
        # docstring inherited
        return self._read_object(key, None)

    def get_limited(self, key: str, limit: int) -> bytes:
        # docstring inherited
        return self._read_object(key, limit)

    def _read_object(self, key: str, limit: int | None) -> bytes:
        path = self._file(key)
        fd, size = self._open_object(key, path)
        try:
            if limit is not None and size > limit:
                raise too_large(self, key, size, limit)
            chunks: list[bytes] = []
            total = 0
            # The first read asks for the whole file (a pack is megabytes): one read and
            # no join copy; later reads catch a file that grew meanwhile (up to the limit).
            want = max(size + 1, _READ_SIZE)
            while True:
                try:  # not a context manager: this runs once per record on a 10^5 load
                    chunk = os.read(fd, want)
                except OSError as exc:
                    error = translate_os_error(exc, path, "read")
                    if error is None:
                        raise
                    raise error from exc
                if not chunk:
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
                chunks.append(chunk)
                total += len(chunk)
                if limit is not None and total > limit:
                    raise too_large(self, key, total, limit)
                want = _READ_SIZE
        finally:
            os.close(fd)

    def map_limited(self, key: str, limit: int) -> bytes | mmap.mmap:
        # docstring inherited
        fd, size = self._open_object(key, self._file(key))
        try:
            if size > limit:
                raise too_large(self, key, size, limit)
            if size == 0:
                return b""
            # The mapping outlives the file: a compactor may delete it, readers keep reading.
            return mmap.mmap(fd, size, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)

    def _open_object(self, key: str, path: str) -> tuple[int, int]:
        """Open the regular file holding ``key``; return its descriptor and size.

        Never follows a symlink (``O_NOFOLLOW``, and every directory below the root is
        checked once) and never blocks (``O_NONBLOCK``: opening a FIFO would wait for a
        writer); what is not a regular file is refused before a byte is read.

        Raises
        ------
        NotFound
            If nothing (or a directory) is there.
        UnsupportedObject
            If a symlink, FIFO, socket or device is there, or on the way there.
        """
        self._check_dirs(os.path.dirname(path))
        try:
            # os.open/os.read: half the cost of open() for the many small records we read.
            fd = os.open(path, _OPEN_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no object {key!r} in store {self.uri}") from None
        except OSError as exc:
            if exc.errno in _SYMLINK_ERRNOS:
                raise self._unsupported(key, "a symlink") from None
            if exc.errno == errno.ENXIO:  # a socket (or a device without its driver)
                raise self._unsupported(key, "a socket or device") from None
            error = translate_os_error(exc, path, "read")
            if error is None:
                raise
            raise error from exc
        try:
            info = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        if stat.S_ISREG(info.st_mode):
            return fd, info.st_size
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise NotFound(f"{key!r} is a directory in store {self.uri}, not an object")
        raise self._unsupported(key, describe_mode(info.st_mode))

    def _unsupported(self, key: str, what: str) -> UnsupportedObject:
        return UnsupportedObject(
            f"{key!r} in store {self.uri} is {what}, not a regular file; mlineage stores "
            "regular files only and follows no symlink inside a store (it could lead reads "
            "and writes outside it): remove it, or replace it with the file it stands for; "
            "run `mlineage fsck`",
            key,
        )

    def _check_dirs(self, directory: str) -> None:
        """Refuse a symlink among the directories from the root down to ``directory``.

        Each real directory is remembered, so this costs a set lookup after the first
        time. Missing directories are fine (a read finds nothing, a write creates them).

        Raises
        ------
        UnsupportedObject
            If one of them is a symlink (or a FIFO, device, ...).
        """
        if directory in self._real_dirs or len(directory) < len(self._root_str):
            return
        level = self._root_str[:-1]
        for part in directory[len(self._root_str) :].split(os.sep):
            level = f"{level}{os.sep}{part}"
            if level in self._real_dirs:
                continue
            try:
                mode = os.lstat(level).st_mode
            except (FileNotFoundError, NotADirectoryError):
                return
            if stat.S_ISDIR(mode):
                self._real_dirs.add(level)
                continue
            if stat.S_ISREG(mode):
                return  # a file in the way: the caller's open or mkdir reports it
            relative = level[len(self._root_str) :].replace(os.sep, "/")
            raise UnsupportedObject(
                f"{relative} in store {self.uri} is {describe_mode(mode)}, not a directory; "
                "mlineage follows no symlink inside a store (it could lead reads and writes "
                "outside it): replace it with a real directory (to keep a store on another "
                "disk, point the store's own path there); run `mlineage fsck`",
                relative,
            )

    def checked_path(self, key: str) -> Path:
        """The file holding ``key``, after checking it is a regular file in the store.

        For tools that read the file themselves (checkout copies it in the kernel).

        Raises
        ------
        NotFound, UnsupportedObject
            ``NotFound`` if nothing (or a directory) is at ``key``; ``UnsupportedObject`` if
            a symlink, FIFO, socket or device is there or on the way there.
        """
        path = self._file(key)
        fd, _ = self._open_object(key, path)
        os.close(fd)
        return Path(path)

    def _get_chunks(self, key: str) -> Iterator[bytes]:
        # docstring inherited
        # Streamed: blobs (archived checkpoints) can be any size.
        path = self._file(key)
        fd, _ = self._open_object(key, path)
        with os.fdopen(fd, "rb") as f, map_os_errors(path, "read"):
            while chunk := f.read(_READ_SIZE):
                yield chunk

    def path_of(self, key: str) -> Path:
        """The file that holds ``key`` (it may not exist). For tools that need a real path."""
        return self._path(key)

    #: Every file is streamed (through a temporary file linked into place).
    stream_threshold = -1

    def _put_stream(
        self, key: str, chunks: Iterator[bytes], size: int, verify: Callable[[], None]
    ) -> None:
        # docstring inherited
        # Like put(): a temporary file, fsynced and linked into place, but written chunk by
        # chunk and verified before the link. A key created meanwhile is left alone (blobs
        # are content-addressed, so it already holds these bytes).
        path = self._path(key)
        with map_os_errors(path, "write"):
            self._stream_to(path, chunks, verify)

    def _stream_to(self, path: Path, chunks: Iterator[bytes], verify: Callable[[], None]) -> None:
        self._ensure_dir(path.parent)
        tmp = _temp_path(str(path))
        try:
            with open(tmp, "xb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                if self.durable:
                    os.fsync(out.fileno())
            verify()
            try:
                os.link(tmp, path)
            except FileExistsError:
                return
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if self.durable:
            _fsync_dir(path.parent)

    def get_many(
        self, keys: Iterable[str], *, limit: int | None = None
    ) -> Iterator[tuple[str, bytes | None]]:
        # docstring inherited
        keys = list(keys)
        if len(keys) < _PREFETCH_MIN:
            yield from super().get_many(keys, limit=limit)
            return

        def read(chunk: list[str]) -> list[tuple[str, bytes | None]]:
            out: list[tuple[str, bytes | None]] = []
            for key in chunk:
                try:
                    out.append((key, self._read_object(key, limit)))
                except NotFound:
                    out.append((key, None))
            return out

        # Two reader threads run ahead (open/read/close release the GIL) while the caller
        # decodes: about 20% off loading 10^5 loose records.
        chunks = [keys[i : i + _PREFETCH_CHUNK] for i in range(0, len(keys), _PREFETCH_CHUNK)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            for part in pool.map(read, chunks):
                yield from part

    def exists(self, key: str) -> bool:
        # docstring inherited
        path = self._file(key)
        try:
            self._check_dirs(os.path.dirname(path))
            return stat.S_ISREG(os.lstat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError, UnsupportedObject):
            return False

    def _ensure_dir(self, directory: str | Path) -> None:
        if directory in self._made_dirs:
            return
        self._check_dirs(os.fspath(directory))
        directory = Path(directory)
        missing = []
        level = directory
        while not level.is_dir() and level != level.parent:
            missing.append(level)
            level = level.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidKey(
                f"cannot create directory {directory}: a file of that name is in the way"
            ) from None
        if self.durable:
            # A new directory is durable only once its parent's entry for it is fsynced.
            for made in missing:
                _fsync_dir(made.parent)
        self._made_dirs.add(directory)
        self._made_dirs.add(str(directory))

    def put(self, key: str, data: bytes, *, mode: PutMode = "create") -> None:
        # docstring inherited
        check_mode(mode)
        self._check_writable(key)
        # Plain strings, not pathlib, no existence check first (the link that publishes
        # the file refuses an existing name: a system call less), no context manager:
        # this is the hot path of log_version.
        path = self._file(key)
        try:
            self._put(key, data, mode, path)
        except OSError as exc:
            raise_os_error(exc, path, "write")

    def _put(self, key: str, data: bytes, mode: PutMode, path: str) -> None:
        directory, name = os.path.split(path)
        self._ensure_dir(directory)
        if (
            mode == "create"
            and self._anonymous_temp
            and self._put_anonymous(key, data, name, directory)
        ):
            return
        tmp = _temp_path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            try:
                fd = os.open(tmp, flags, 0o644)
            except FileNotFoundError:
                # The directory was removed since we made it (another process cleaned up).
                self._made_dirs.discard(directory)
                self._made_dirs.discard(Path(directory))
                self._ensure_dir(directory)
                fd = os.open(tmp, flags, 0o644)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if mode == "create":
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    raise AlreadyExists(f"{key!r} already exists in store {self.uri}") from None
                except OSError as exc:
                    if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                        raise StoreError(
                            f"the file system under {self.root} does not support hard links, "
                            "which create-only writes need; put the store on a local disk"
                        ) from exc
                    raise
            else:
                os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if self.durable:
            _fsync_dir(directory)

    def _put_anonymous(self, key: str, data: bytes, name: str, directory: str) -> bool:
        """Create-only write through an unnamed O_TMPFILE inode linked into place.

        About 3x cheaper than a named temporary file on ext4 (no directory entry to create
        and remove), and a killed writer leaves nothing behind at all. Returns False when
        the platform or file system cannot do it, and the caller uses a named temporary.
        """
        try:
            dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except FileNotFoundError:
            return False  # directory removed meanwhile: the named path recreates it
        try:
            try:
                fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o644)
            except OSError as exc:
                if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                    self._anonymous_temp = False
                    return False
                raise
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.durable:
                    os.fsync(fd)
                try:
                    # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N gives the inode a name;
                    # like os.link of a named file, it fails if the name exists.
                    os.link(
                        f"/proc/self/fd/{fd}",
                        name,
                        src_dir_fd=dir_fd,
                        dst_dir_fd=dir_fd,
                        follow_symlinks=True,
                    )
                except FileExistsError:
                    raise AlreadyExists(f"{key!r} already exists in store {self.uri}") from None
                except OSError as exc:
                    if exc.errno in (errno.ENOENT, errno.EXDEV, errno.EPERM):
                        self._anonymous_temp = False  # no /proc, or linkat refused
                        return False
                    raise
            finally:
                os.close(fd)
            if self.durable:
                os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return True

    def delete(self, key: str) -> None:
        # docstring inherited
        self._check_writable(key)
        path = self._path(key)
        self._check_dirs(str(path.parent))
        with map_os_errors(path, "remove"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                return
            except IsADirectoryError:
                raise InvalidKey(
                    f"{key!r} is a directory in store {self.uri}, not an object"
                ) from None
            if self.durable:
                _fsync_dir(path.parent)

    def list(self, prefix: str = "") -> Iterator[str]:
        # docstring inherited
        # Walk only the deepest directory the prefix pins down, then filter by string prefix.
        # Only regular files are listed: symlinks, FIFOs, sockets and devices are not
        # objects (fsck reports them), and no symlinked directory is entered.
        head, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*head.split("/")) if head else self.root
        base = f"{head}/" if head else ""
        yield from (k for k in self._walk(start, base) if k.startswith(prefix))

    def list_dir(self, prefix: str) -> Iterator[str]:
        # docstring inherited
        head = prefix.rstrip("/")
        directory = self.root.joinpath(*head.split("/")) if head else self.root
        entries = self._scan(directory)
        names = [
            e.name
            for e in entries
            if not is_temp_name(e.name)
            and (e.is_dir(follow_symlinks=False) or e.is_file(follow_symlinks=False))
        ]
        yield from sorted(names)

    def _scan(self, directory: Path) -> tuple[os.DirEntry[str], ...]:
        """The entries of a directory of the store; none if it is missing or a symlink."""
        try:
            self._check_dirs(str(directory))
        except UnsupportedObject:
            return ()
        try:
            with map_os_errors(directory, "list"):
                return tuple(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return ()

    def _walk(self, directory: Path, base: str) -> Iterator[str]:
        for entry in self._scan(directory):
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), f"{base}{entry.name}/")
            elif entry.is_file(follow_symlinks=False) and not is_temp_name(entry.name):
                yield f"{base}{entry.name}"

    def temp_files(self) -> Iterator[Path]:
        """Yield leftover temporary files (from killed writers) anywhere under the root."""
        if not self.root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if is_temp_name(name):
                    yield Path(dirpath) / name

    def unsupported_entries(self) -> Iterator[tuple[str, str]]:
        """Yield ``(path relative to the root, what it is)`` for every entry below the root
        that is neither a regular file nor a real directory (symlinks, FIFOs, sockets,
        devices): readers ignore them and ``mlineage fsck`` reports them."""
        if not self.root.is_dir():
            return
        for dirpath, dirs, files in os.walk(self.root):
            for name in sorted([*dirs, *files]):
                path = os.path.join(dirpath, name)
                try:
                    mode = os.lstat(path).st_mode
                except FileNotFoundError:
                    continue
                if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    relative = os.path.relpath(path, self.root).replace(os.sep, "/")
                    yield relative, describe_mode(mode)
