"""The :class:`Store` ABC: a tiny key/bytes interface every backend implements.

Modelled on zarr-python's ``Store`` and obstore's put modes: five abstract operations over
``str`` keys and ``bytes`` values, with conveniences (``get_many``, ``put_if_absent``) as
concrete methods on top. Behaviour that is not about bytes lives above this layer.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NoReturn

from mlineage.content import HashedChunks, file_chunks, write_file
from mlineage.errors import (
    AlreadyExists,
    InvalidKey,
    MLineageError,
    NotFound,
    PathChanged,
    PermissionDenied,
    ReadOnlyError,
    StoreError,
    StoreFull,
    StoreReadOnly,
    UnsupportedObject,
)

__all__ = [
    "PartialUpload",
    "PutMode",
    "Store",
    "check_mode",
    "map_os_errors",
    "path_changed",
    "raise_os_error",
    "too_large",
    "translate_os_error",
    "validate_key",
]


@dataclass(frozen=True)
class PartialUpload:
    """An upload in parts that was started and never completed (a killed writer's).

    Invisible to readers, but the store keeps (and may bill) its parts until it is
    aborted; ``mlineage fsck --repair`` aborts old ones.
    """

    key: str
    upload_id: str
    started: datetime


def path_changed(source: str | os.PathLike[str], actual: str) -> PathChanged:
    """The error for a file whose bytes changed between hashing and copying."""
    return PathChanged(
        f"{os.fspath(source)} changed after it was hashed (now sha256:{actual}); "
        "re-run when writes to it have finished"
    )


PutMode = Literal["create", "overwrite"]

# errno -> (error class, what happened, what to do). Only resource faults are translated:
# any other OSError is a bug or damage that its own caller reports.
_RESOURCE_FAULTS: dict[int, tuple[type[StoreError], str, str]] = {
    errno.EROFS: (
        StoreReadOnly,
        "the file system is mounted read-only",
        "remount it writable or use a location on a writable file system; a read-only "
        "store can still be read (read_only=True)",
    ),
    errno.EACCES: (
        PermissionDenied,
        "permission denied",
        "check the owner and mode of the path and its directories, or run as a user who "
        "may write there",
    ),
    errno.EPERM: (
        PermissionDenied,
        "operation not permitted",
        "check the path's owner, mode and attributes (an immutable or append-only "
        "attribute: lsattr), or run as a user who may write there",
    ),
    errno.ENOSPC: (
        StoreFull,
        "no space left on the device",
        "free space (or move the store or target to a larger disk) and retry",
    ),
    errno.EDQUOT: (
        StoreFull,
        "the disk quota is exceeded",
        "free space or raise the quota, and retry",
    ),
}


def translate_os_error(exc: OSError, path: str | os.PathLike[str], doing: str) -> StoreError | None:
    """The typed error for a resource fault (read-only file system, permission, full disk).

    Parameters
    ----------
    exc : OSError
        What the operating system raised.
    path : str or os.PathLike
        The file or directory being worked on, named in the message.
    doing : str
        What was being done, as a verb phrase (``"write"``, ``"remove"``).

    Returns
    -------
    StoreError or None
        :class:`~mlineage.errors.StoreReadOnly` (``EROFS``),
        :class:`~mlineage.errors.PermissionDenied` (``EACCES``, ``EPERM``) or
        :class:`~mlineage.errors.StoreFull` (``ENOSPC``, ``EDQUOT``), carrying the
        original ``errno`` and ``filename``; None for any other error.

    Examples
    --------
    >>> import errno
    >>> err = translate_os_error(OSError(errno.ENOSPC, "No space"), "/s/x.json", "write")
    >>> type(err).__name__, err.errno
    ('StoreFull', 28)
    >>> print(err)
    cannot write /s/x.json: no space left on the device; free space (or move ...
    """
    fault = _RESOURCE_FAULTS.get(exc.errno) if exc.errno is not None else None
    if fault is None:
        return None
    cls, what, remedy = fault
    error = cls(f"cannot {doing} {os.fspath(path)}: {what}; {remedy}")
    # The builtin's attributes, for callers that look at errno (they catch OSError).
    error.errno = exc.errno  # type: ignore[attr-defined]
    error.filename = os.fspath(path)  # type: ignore[attr-defined]
    return error


@contextlib.contextmanager
def map_os_errors(path: str | os.PathLike[str], doing: str) -> Iterator[None]:
    """Turn resource faults raised inside the block into typed store errors.

    The one translation every local write path (and a checkout's target) goes through,
    like httpx's ``map_exceptions``: see :func:`translate_os_error`. Errors of mlineage
    itself (``AlreadyExists`` is a ``FileExistsError``) and other ``OSError`` pass
    unchanged.

    Examples
    --------
    >>> import errno
    >>> from mlineage.errors import StoreReadOnly
    >>> try:
    ...     with map_os_errors("/store", "write"):
    ...         raise OSError(errno.EROFS, "Read-only file system")
    ... except StoreReadOnly as exc:
    ...     print(exc.errno == errno.EROFS)
    True
    """
    try:
        yield
    except OSError as exc:
        raise_os_error(exc, path, doing)


def raise_os_error(exc: OSError, path: str | os.PathLike[str], doing: str) -> NoReturn:
    """Raise ``exc`` as :func:`map_os_errors` would: typed if it is a resource fault.

    For a hot path that catches ``OSError`` itself (a generator context manager costs
    microseconds per call).
    """
    if isinstance(exc, MLineageError):
        raise exc
    error = translate_os_error(exc, path, doing)
    if error is None:
        raise exc
    raise error from exc


def check_mode(mode: str) -> None:
    """Refuse a ``put`` mode other than ``"create"`` and ``"overwrite"`` (``ValueError``)."""
    if mode not in ("create", "overwrite"):
        raise ValueError(f"mode must be 'create' or 'overwrite', got {mode!r}")


_MAX_KEY_LENGTH = 1024
# One pass for the common case: non-empty segments without control characters/backslash.
_KEY_OK = re.compile(r"[^/\x00-\x1f\\]+(?:/[^/\x00-\x1f\\]+)*\Z")


def too_large(store: Store, key: str, size: int, limit: int) -> UnsupportedObject:
    """The error for an object of ``size`` (or more) bytes read with a ``limit``."""
    return UnsupportedObject(
        f"{key!r} in store {store.uri} is {size} bytes or more, larger than the format "
        f"allows there ({limit} bytes), so mlineage did not write it and will not read "
        "it; run `mlineage fsck`",
        key,
    )


def validate_key(key: str) -> str:
    """Check that ``key`` is a well-formed store key and return it.

    A key is a ``/``-separated relative path of non-empty segments; no segment may be
    ``.`` or ``..``, and no control characters or backslashes are allowed, so that no key
    can name anything outside the store's root on any backend.

    Parameters
    ----------
    key : str
        The key to check.

    Returns
    -------
    str
        ``key`` unchanged.

    Raises
    ------
    InvalidKey
        If the key is not a string, is empty, too long, absolute, or has a bad segment.

    Examples
    --------
    >>> validate_key("models/m/versions/0001.json")
    'models/m/versions/0001.json'
    """
    if not isinstance(key, str):
        raise InvalidKey(f"store keys are str, got {type(key).__name__}: {key!r}")
    padded = f"/{key}/"
    if (
        len(key) <= _MAX_KEY_LENGTH
        and _KEY_OK.match(key)
        and "/./" not in padded
        and "/../" not in padded
    ):
        return key
    if not key:
        raise InvalidKey("store key is empty")
    if len(key) > _MAX_KEY_LENGTH:
        raise InvalidKey(f"store key is {len(key)} characters long; the limit is {_MAX_KEY_LENGTH}")
    if key.startswith("/"):
        raise InvalidKey(f"store key {key!r} is absolute; keys are relative to the store root")
    if "\\" in key or any(ord(c) < 32 for c in key):
        raise InvalidKey(f"store key {key!r} contains a control character or backslash")
    raise InvalidKey(f"store key {key!r} has an empty, '.' or '..' segment")


class Store(ABC):
    """Key/value storage of immutable byte objects under ``/``-separated string keys.

    Subclasses implement :meth:`get`, :meth:`put`, :meth:`exists`, :meth:`list` and
    :meth:`delete`; every other method is built on those. Writes are atomic: a reader sees
    either the whole object or none. ``put(..., mode="create")`` is the primitive that lets
    many processes on many machines write to one store without coordination.

    Parameters
    ----------
    read_only : bool
        Refuse every write with :class:`~mlineage.errors.ReadOnlyError`.
    """

    #: Threads used by :meth:`get_many`; remote backends raise it, local stays serial.
    max_workers: int = 1

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only

    @property
    @abstractmethod
    def uri(self) -> str:
        """A URI that reopens this store with :func:`mlineage.storage.open_store`."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return the bytes stored under ``key``.

        Raises
        ------
        NotFound
            If nothing is stored under ``key``.
        InvalidKey
            If ``key`` is malformed.
        """

    @abstractmethod
    def put(self, key: str, data: bytes, *, mode: PutMode = "create") -> None:
        """Store ``data`` under ``key`` atomically and durably.

        Parameters
        ----------
        key : str
            Where to store the object.
        data : bytes
            The whole object.
        mode : {"create", "overwrite"}
            ``"create"`` (default) fails if ``key`` exists and leaves the existing bytes
            untouched; ``"overwrite"`` replaces them.

        Raises
        ------
        AlreadyExists
            With ``mode="create"`` when ``key`` is already taken.
        ReadOnlyError
            If the store was opened read-only.
        """

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield every key that starts with ``prefix`` (a plain string prefix), in no order."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object under ``key``; removing a missing key is not an error.

        Raises
        ------
        ReadOnlyError
            If the store was opened read-only.
        """

    # -- concrete helpers ---------------------------------------------------------------

    def _check_writable(self, key: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"cannot write {key!r}: store {self.uri} was opened read-only")

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key`` with ``data``; return False instead of raising if it exists.

        Content-addressed writes use this: an existing object with the same key already
        holds the same bytes, so "already there" counts as success (dvc-objects does the same).
        """
        try:
            self.put(key, data, mode="create")
        except AlreadyExists:
            return False
        return True

    def list_dir(self, prefix: str) -> Iterator[str]:
        """Yield the names directly under ``prefix`` (which should end with ``/``), sorted.

        A name is the next key segment; keys nested deeper contribute their first segment
        once (like a directory). Backends with a cheaper native listing override this.
        """
        seen: set[str] = set()
        for key in self.list(prefix):
            seen.add(key[len(prefix) :].split("/", 1)[0])
        yield from sorted(seen)

    def get_limited(self, key: str, limit: int) -> bytes:
        """Return the bytes under ``key`` if there are at most ``limit`` of them.

        The caller knows how large what it reads may be (a record, a pack); the store only
        refuses more. Backends that know an object's size before reading it (the local
        store) refuse it without reading a byte.

        Parameters
        ----------
        key : str
        limit : int
            The most bytes accepted.

        Returns
        -------
        bytes
            All of them (at most ``limit``).

        Raises
        ------
        NotFound
            If nothing is stored under ``key``.
        UnsupportedObject
            If the object is larger than ``limit`` (a :class:`~mlineage.errors.CorruptRecord`).

        Examples
        --------
        >>> from mlineage.storage import MemoryStore
        >>> store = MemoryStore()
        >>> store.put("k", b"abc")
        >>> store.get_limited("k", 3)
        b'abc'
        """
        data = self.get(key)
        if len(data) > limit:
            raise too_large(self, key, len(data), limit)
        return data

    def map_limited(self, key: str, limit: int) -> bytes | mmap.mmap:
        """:meth:`get_limited`, as a read-only memory map where the backend has files.

        What a tracker reads packs with: a mapped pack's pages are read when touched and
        are not the process's memory to keep, so a million versions' packs do not sit in
        RAM. Stores without files return the bytes.
        """
        return self.get_limited(key, limit)

    def get_many(
        self, keys: Iterable[str], *, limit: int | None = None
    ) -> Iterator[tuple[str, bytes | None]]:
        """Yield ``(key, bytes)`` for each key, ``None`` for keys that vanished.

        Remote backends fetch with :attr:`max_workers` threads; results come back in the
        order of ``keys``. With ``limit``, each is read with :meth:`get_limited`.
        """
        keys = list(keys)

        def fetch(key: str) -> tuple[str, bytes | None]:
            try:
                return key, self.get(key) if limit is None else self.get_limited(key, limit)
            except NotFound:
                return key, None

        if self.max_workers <= 1 or len(keys) < 2:
            for key in keys:
                yield fetch(key)
            return
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            yield from pool.map(fetch, keys)

    #: Files larger than this are streamed (``put_file``) by backends that can.
    stream_threshold = 64 << 20

    def put_file(
        self,
        key: str,
        source: str | os.PathLike[str],
        *,
        expected_sha256: str,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        """Create ``key`` from a file, only if its bytes hash to ``expected_sha256``.

        For content-addressed blobs: an existing ``key`` already holds these bytes and is
        left alone. The file is read once, hashed on the way; files up to
        :attr:`stream_threshold` bytes are written with :meth:`put`, larger ones are
        streamed through :meth:`_put_stream` (never whole in memory). Either way no
        partial or wrong object is ever visible.

        Parameters
        ----------
        key : str
            Where to store the file's bytes.
        source : str or os.PathLike
            The file.
        expected_sha256 : str
            The SHA-256 (hex) its bytes had when they were hashed.
        on_bytes : callable, optional
            Progress callback, given the size of each chunk sent (the whole size at once
            when ``key`` exists already).

        Raises
        ------
        PathChanged
            If the file's bytes no longer hash to ``expected_sha256``; nothing is written.
        ReadOnlyError
            If the store was opened read-only.
        """
        self._check_writable(key)
        size = os.path.getsize(source)
        if self.exists(key):
            if on_bytes is not None:
                on_bytes(size)
            return
        chunks = HashedChunks(file_chunks(source), on_bytes)

        def verify() -> None:
            actual = chunks.hexdigest()
            if actual != expected_sha256:
                raise path_changed(source, actual)

        if size > self.stream_threshold:
            self._put_stream(key, chunks, size, verify)
        else:
            self._put_whole(key, chunks, verify)

    def _put_whole(self, key: str, chunks: Iterator[bytes], verify: Callable[[], None]) -> None:
        """Create ``key`` from chunks gathered in memory (after ``verify()``) with :meth:`put`."""
        data = b"".join(chunks)
        verify()
        self.put_if_absent(key, data)

    def _put_stream(
        self, key: str, chunks: Iterator[bytes], size: int, verify: Callable[[], None]
    ) -> None:
        """Write the object ``key`` from ``chunks``, streaming (the hook of :meth:`put_file`).

        Backends that can stream override this; the default gathers the chunks in memory.
        An override consumes every chunk, then calls ``verify()`` after the last one and
        before the object becomes visible; if ``verify()`` or anything else raises,
        nothing becomes visible (and no partial upload is left behind). ``key`` was absent
        when ``put_file`` looked; if another writer creates it meanwhile, either copy may
        win, since a content-addressed key holds the same bytes either way.

        Parameters
        ----------
        key : str
            The absent key to create.
        chunks : iterator of bytes
            The bytes, in order; they are hashed (and progress reported) as they are
            pulled.
        size : int
            How many bytes the chunks should add up to (to choose part sizes).
        verify : callable
            Raises (:class:`~mlineage.errors.PathChanged`) if the bytes were not the
            expected ones.
        """
        self._put_whole(key, chunks, verify)

    def get_file(
        self,
        key: str,
        dest: str | os.PathLike[str],
        *,
        on_bytes: Callable[[int], None] | None = None,
    ) -> str:
        """Write the object's bytes to the file ``dest``; return their SHA-256 (hex).

        The bytes are streamed from :meth:`_get_chunks` and hashed on the way.

        Parameters
        ----------
        key : str
            The object to read.
        dest : str or os.PathLike
            The file to write (replaced if it exists).
        on_bytes : callable, optional
            Progress callback, given the size of each chunk written.

        Returns
        -------
        str
            The SHA-256 (hex) of the bytes written.

        Raises
        ------
        NotFound
            If ``key`` does not exist (``dest`` is not created).
        """
        return write_file(self._get_chunks(key), dest, on_bytes)

    def _get_chunks(self, key: str) -> Iterator[bytes]:
        """Yield the bytes of the object ``key`` in chunks (the hook of :meth:`get_file`).

        Backends that can stream override this; the default reads the whole object with
        :meth:`get`. It raises :class:`~mlineage.errors.NotFound` before yielding
        anything if ``key`` does not exist.
        """
        yield self.get(key)

    def partial_uploads(self) -> Iterator[PartialUpload]:
        """Uploads in parts under this store that were never completed (default: none)."""
        return iter(())

    def abort_partial_upload(self, upload: PartialUpload) -> None:
        """Discard a :class:`PartialUpload` (it never was visible, so no key changes).

        Allowed on a read-only store: it removes nothing a reader can see.
        """
        raise NotImplementedError(f"{type(self).__name__} has no partial uploads")

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete every key (missing ones are fine), with :attr:`max_workers` threads."""
        keys = list(keys)
        if self.max_workers <= 1 or len(keys) < 2:
            for key in keys:
                self.delete(key)
            return
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            list(pool.map(self.delete, keys))

    def close(self) -> None:
        """Release connections or handles; the default does nothing."""

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"{type(self).__name__}({self.uri!r}{mode})"
