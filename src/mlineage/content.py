"""Content addressing, in one place: blob keys and digests, hashing while copying, verified reads.

A blob is stored at ``blobs/sha256/<2 hex>/<62 hex>`` and holds exactly the bytes whose
SHA-256 names it. This module is the only one that knows that layout, that turns a
``"sha256:<hex>"`` hash into the hex of a key, and that hashes bytes while it moves them;
everything above (artifacts, the tracker, fsck) and below (the stores' ``put_file`` and
``get_file``) calls it.

It is a low layer: it imports only the standard library and :mod:`mlineage.errors`, so any
module can use it without an import cycle. The functions that read a store take anything
with the few methods they call (:class:`BlobSource`, which every
:class:`~mlineage.storage.Store` is), so this module does not import the storage layer.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from mlineage.errors import (
    CorruptRecord,
    HashMismatch,
    InvalidInput,
    InvalidKey,
    NotFound,
    StoreError,
)

__all__ = [
    "BLOB_KEY",
    "CHUNK",
    "PREFIX",
    "BlobCache",
    "BlobSource",
    "HashedChunks",
    "blob_key",
    "blob_key_of",
    "copy_hashed",
    "digest_of_key",
    "file_chunks",
    "hash_blob",
    "hash_blobs",
    "hex_of",
    "is_blob_key",
    "read_blob",
    "read_decoded",
    "unreadable_as_corrupt",
    "write_file",
]

#: Bytes read or sent per step when streaming a file or an object.
CHUNK = 1 << 20
#: The algorithm prefix of every hash mlineage writes (``"sha256:<hex>"``).
PREFIX = "sha256:"
#: A well-formed blob key; group 1 and 2 together are the hex digest it names.
BLOB_KEY = re.compile(r"blobs/sha256/([0-9a-f]{2})/([0-9a-f]{62})\Z")
_HEX = re.compile(r"[0-9a-f]{64}\Z")

_T = TypeVar("_T")


class BlobSource(Protocol):
    """What the blob readers here need of a store (every :class:`~mlineage.storage.Store`)."""

    #: Threads to read with.
    max_workers: int

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; raises :class:`~mlineage.errors.NotFound`."""
        ...

    def get_file(self, key: str, dest: str | os.PathLike[str]) -> str:
        """Stream the object ``key`` into the file ``dest``; return its SHA-256 (hex)."""
        ...


# -- keys and digests ----------------------------------------------------------------------


def blob_key(sha256_hex: str) -> str:
    """Key of the content-addressed blob whose bytes hash to ``sha256_hex``.

    Parameters
    ----------
    sha256_hex : str
        A SHA-256 digest in lower-case hex, without the ``sha256:`` prefix.

    Returns
    -------
    str
        ``blobs/sha256/<first 2 hex>/<other 62 hex>``.

    Examples
    --------
    >>> blob_key("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    'blobs/sha256/e3/b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return f"blobs/sha256/{sha256_hex[:2]}/{sha256_hex[2:]}"


def blob_key_of(data: bytes) -> str:
    """Key of the blob that holds ``data``.

    Examples
    --------
    >>> blob_key_of(b"")
    'blobs/sha256/e3/b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return blob_key(hashlib.sha256(data).hexdigest())


def is_blob_key(key: str) -> bool:
    """Return whether ``key`` is a well-formed blob key (``blobs/sha256/<2 hex>/<62 hex>``).

    Examples
    --------
    >>> is_blob_key(blob_key("ab" * 32)), is_blob_key("blobs/sha256/AB/cd")
    (True, False)
    """
    return BLOB_KEY.match(key) is not None


def digest_of_key(key: str) -> str:
    """The hex digest a blob key names: the inverse of :func:`blob_key`.

    Parameters
    ----------
    key : str
        A blob key.

    Returns
    -------
    str
        64 lower-case hex digits.

    Raises
    ------
    InvalidKey
        If ``key`` is not a well-formed blob key.

    Examples
    --------
    >>> digest_of_key(blob_key("ab" * 32)) == "ab" * 32
    True
    """
    match = BLOB_KEY.match(key)
    if match is None:
        raise InvalidKey(f"{key!r} is not a blob key; blob keys are blobs/sha256/<2 hex>/<62 hex>")
    return match[1] + match[2]


def hex_of(hash_str: str) -> str:
    """The hex digest of a ``"sha256:<hex>"`` hash (what blob keys and manifests use).

    Parameters
    ----------
    hash_str : str
        A hash as records hold it.

    Returns
    -------
    str
        The 64 hex digits after ``sha256:``.

    Raises
    ------
    InvalidInput
        If the hash is of another algorithm, or is not 64 lower-case hex digits.

    Examples
    --------
    >>> hex_of("sha256:" + "0" * 64) == "0" * 64
    True
    >>> hex_of("md5:d41d8cd98f00b204e9800998ecf8427e")
    Traceback (most recent call last):
    ...
    mlineage.errors.InvalidInput: hash 'md5:d41d8cd98f00b204e9800998ecf8427e' is not ...
    """
    algorithm, sep, hex_digest = hash_str.partition(":")
    if not sep or f"{algorithm}:" != PREFIX:
        raise InvalidInput(
            f"hash {hash_str!r} is not a SHA-256 hash; mlineage addresses content by "
            f"'{PREFIX}<64 hex digits>' only"
        )
    if not _HEX.match(hex_digest):
        raise InvalidInput(
            f"hash {hash_str!r} is malformed: expected '{PREFIX}' and 64 lower-case hex digits"
        )
    return hex_digest


# -- hashing while copying -----------------------------------------------------------------


class HashedChunks(Iterator[bytes]):
    """Chunks passed through unchanged, hashed (SHA-256) and counted on the way.

    The one place bytes are hashed while they move: a consumer (a store writing an
    object, a file being written) pulls chunks from it, and afterwards
    :meth:`hexdigest` is the SHA-256 of everything pulled. ``on_bytes(n)`` is called for
    each chunk once the consumer asks for the next one (or the end), i.e. once it has
    dealt with that chunk.

    Parameters
    ----------
    chunks : iterable of bytes
        The bytes, in order.
    on_bytes : callable, optional
        Progress callback, given the size of each chunk.

    Examples
    --------
    >>> hashed = HashedChunks([b"a", b"bc"])
    >>> b"".join(hashed), hashed.size
    (b'abc', 3)
    >>> hashed.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    True
    """

    def __init__(
        self, chunks: Iterable[bytes], on_bytes: Callable[[int], None] | None = None
    ) -> None:
        self._chunks = iter(chunks)
        self._on_bytes = on_bytes
        self._digest = hashlib.sha256()
        self._pending = 0
        self._done = False
        #: Bytes passed through so far.
        self.size = 0

    def __next__(self) -> bytes:
        self._report()
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._done = True
            raise
        self._digest.update(chunk)
        self.size += len(chunk)
        self._pending = len(chunk)
        return chunk

    def _report(self) -> None:
        if self._pending and self._on_bytes is not None:
            self._on_bytes(self._pending)
        self._pending = 0

    def hexdigest(self) -> str:
        """The SHA-256 (hex) of all the chunks.

        Raises
        ------
        RuntimeError
            If the chunks have not all been consumed: the digest of a part is no use.
        """
        if not self._done:
            raise RuntimeError("hexdigest() of chunks that were not all consumed")
        return self._digest.hexdigest()


def copy_hashed(
    chunks: Iterable[bytes],
    write: Callable[[bytes], object] | None,
    on_bytes: Callable[[int], None] | None = None,
) -> str:
    """Pass every chunk to ``write`` (if given), hashing them; return the SHA-256 (hex).

    Parameters
    ----------
    chunks : iterable of bytes
        The bytes, in order.
    write : callable or None
        Called with each chunk; ``None`` only hashes.
    on_bytes : callable, optional
        Progress callback, given the size of each chunk once it is written.

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> copy_hashed([b"a", b"bc"], None) == hashlib.sha256(b"abc").hexdigest()
    True
    """
    hashed = HashedChunks(chunks, on_bytes)
    for chunk in hashed:
        if write is not None:
            write(chunk)
    return hashed.hexdigest()


def file_chunks(path: str | os.PathLike[str], size: int = CHUNK) -> Iterator[bytes]:
    """Yield the bytes of the file ``path`` in chunks of ``size`` (the file opens on first use).

    Raises
    ------
    FileNotFoundError
        From the first ``next()`` if the file does not exist.
    """
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


def write_file(
    chunks: Iterable[bytes],
    dest: str | os.PathLike[str],
    on_bytes: Callable[[int], None] | None = None,
) -> str:
    """Write ``chunks`` to the file ``dest``, hashing them; return the SHA-256 (hex).

    The first chunk is taken before ``dest`` is created, so a source that fails at once
    (a missing object or file) leaves no file behind.

    Examples
    --------
    >>> import tempfile
    >>> dest = os.path.join(tempfile.mkdtemp(), "out")
    >>> write_file(iter([b"abc"]), dest) == hashlib.sha256(b"abc").hexdigest()
    True
    """
    chunks = iter(chunks)
    first = next(chunks, b"")
    with open(dest, "wb") as out:
        return copy_hashed(itertools.chain((first,), chunks), out.write, on_bytes)


# -- verified reads ------------------------------------------------------------------------


def read_blob(store: BlobSource, key: str, what: str = "blob") -> bytes:
    """Read a content-addressed blob and check its bytes against the hash in its key.

    Parameters
    ----------
    store : BlobSource
        Where the blob is.
    key : str
        Its key (:func:`blob_key`).
    what : str
        What the blob is, for the error message (``"manifest blob"``).

    Returns
    -------
    bytes
        The blob, its hash checked.

    Raises
    ------
    NotFound
        If the blob is missing.
    HashMismatch
        If its bytes do not match the key, or the key is not a blob key (so nothing could
        be verified).

    Examples
    --------
    >>> from mlineage.storage import MemoryStore
    >>> store = MemoryStore()
    >>> store.put(blob_key_of(b"abc"), b"abc")
    >>> read_blob(store, blob_key_of(b"abc"))
    b'abc'
    """
    data = store.get(key)
    _check_digest(key, hashlib.sha256(data).hexdigest(), what)
    return data


#: Blobs of at least this many bytes are hashed in a thread while they are decoded.
_HASH_BESIDE = 1 << 20


def read_decoded(
    store: BlobSource, key: str, decode: Callable[[bytes], _T], what: str = "blob"
) -> _T:
    """``decode(read_blob(store, key, what))``, the hash computed while ``decode`` runs.

    A blob of a megabyte or more is hashed in a thread (hashlib releases the GIL) while
    this one decodes it; the value is returned only once the hash matches the key. If
    ``decode`` fails on bytes that do not match their key, the mismatch is what is
    raised: damage is reported as damage, whatever decoding made of it.

    Parameters
    ----------
    store, key, what
        As for :func:`read_blob`.
    decode : callable
        Turns the blob's bytes into a value. It must not keep the value anywhere before it
        returns: the bytes are not verified yet while it runs.

    Returns
    -------
    object
        What ``decode`` returned, for bytes whose hash matched the key.

    Raises
    ------
    NotFound, HashMismatch
        As :func:`read_blob`; else what ``decode`` raises.

    Examples
    --------
    >>> from mlineage.storage import MemoryStore
    >>> store = MemoryStore()
    >>> store.put(blob_key_of(b"42"), b"42")
    >>> read_decoded(store, blob_key_of(b"42"), int)
    42
    """
    data = store.get(key)
    if len(data) < _HASH_BESIDE:
        _check_digest(key, hashlib.sha256(data).hexdigest(), what)
        return decode(data)
    _check_key(key, what)
    digest: list[str] = []
    worker = threading.Thread(
        target=lambda: digest.append(hashlib.sha256(data).hexdigest()),
        name="mlineage-blob-hash",
        daemon=True,
    )
    worker.start()
    try:
        value = decode(data)
    finally:
        worker.join()
        # Checked on the way out of a failed decode too (the check's error replaces it).
        _check_digest(key, digest[0] if digest else hashlib.sha256(data).hexdigest(), what)
    return value


def _check_key(key: str, what: str) -> None:
    """Raise HashMismatch unless ``key`` is a blob key (else nothing could be verified)."""
    if not is_blob_key(key):
        raise HashMismatch(
            f"{what} {key} cannot be verified: it is not a blob key "
            "(blobs/sha256/<2 hex>/<62 hex>); run `mlineage fsck`"
        )


def _check_digest(key: str, actual: str, what: str) -> None:
    """Raise HashMismatch unless ``key`` is a blob key naming the hex digest ``actual``."""
    _check_key(key, what)
    if actual != digest_of_key(key):
        raise HashMismatch(
            f"{what} {key} is corrupt: its bytes hash to {PREFIX}{actual}; run `mlineage fsck`"
        )


class BlobCache:
    """Blobs read once, verified, decoded, and kept: for manifests and environments.

    Blobs never change, so a decoded blob can be kept for as long as its store is open.
    Each ``(key, decode)`` pair is read and decoded at most once (two threads asking at
    the same moment may both read it; both get equal values).

    Parameters
    ----------
    store : BlobSource
        Where the blobs are.

    Examples
    --------
    >>> from mlineage.storage import MemoryStore
    >>> store = MemoryStore()
    >>> store.put(blob_key_of(b"42"), b"42")
    >>> cache = BlobCache(store)
    >>> cache.get(blob_key_of(b"42"), int)
    42
    """

    def __init__(self, store: BlobSource) -> None:
        self.store = store
        self._values: dict[tuple[str, object], object] = {}

    def get(self, key: str, decode: Callable[[bytes], _T], what: str = "blob") -> _T:
        """Return ``decode(bytes of key)``, reading and verifying the blob on first use.

        Parameters
        ----------
        key : str
            The blob key.
        decode : callable
            Turns the verified bytes into the value to keep; what it raises propagates
            (and nothing is cached).
        what : str
            What the blob is, for error messages.

        Raises
        ------
        NotFound, HashMismatch
            As :func:`read_blob`.
        """
        slot = (key, decode)
        try:
            return self._values[slot]  # type: ignore[return-value]
        except KeyError:
            pass
        value = read_decoded(self.store, key, decode, what)
        self._values[slot] = value
        return value


def hash_blob(store: BlobSource, key: str) -> str | None:
    """Stream the object ``key`` and return the SHA-256 (hex) of its bytes.

    Never holds the whole object in memory: a local store's file is read in chunks, a
    remote object is streamed. For fsck, which compares it with :func:`digest_of_key`.

    Returns
    -------
    str or None
        The digest, or None if the object does not exist (it may have vanished since it
        was listed).

    Examples
    --------
    >>> from mlineage.storage import MemoryStore
    >>> store = MemoryStore()
    >>> store.put("blobs/x", b"abc")
    >>> hash_blob(store, "blobs/x") == hashlib.sha256(b"abc").hexdigest()
    True
    """
    # Every backend streams get_file (a local store reads its regular file in chunks and
    # refuses symlinks and special files).
    try:
        return store.get_file(key, os.devnull)
    except NotFound:
        return None


def hash_blobs(store: BlobSource, keys: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """Yield ``(key, hash_blob(store, key))`` for each key, in order.

    Remote stores are read with :attr:`Store.max_workers` threads; each streams its
    object, so memory stays bounded whatever the blobs' sizes.
    """
    keys = list(keys)
    if store.max_workers <= 1 or len(keys) < 2:
        for key in keys:
            yield key, hash_blob(store, key)
        return
    with ThreadPoolExecutor(max_workers=store.max_workers) as pool:
        yield from zip(keys, pool.map(lambda key: hash_blob(store, key), keys), strict=True)


@contextlib.contextmanager
def unreadable_as_corrupt(
    uri: str, key: str, what: str, damaged: str | None = None
) -> Iterator[None]:
    """Raise a blob that a record points at and that cannot be read as damage to the store.

    Inside the block, :class:`~mlineage.errors.NotFound` (the blob is missing) and
    :class:`~mlineage.errors.HashMismatch` or :class:`~mlineage.errors.StoreError` (it is
    damaged, or unreadable) become :class:`~mlineage.errors.CorruptRecord`, whose message
    says to run ``mlineage fsck``.

    Parameters
    ----------
    uri : str
        The store's URI, named when the blob is missing.
    key : str
        The blob's key.
    what : str
        What the blob holds ("fingerprint", "environment").
    damaged : str, optional
        How the message of a damaged blob begins (default: ``"<what> blob <key>"``).

    Examples
    --------
    >>> with unreadable_as_corrupt("memory://doc", "blobs/sha256/00", "probe set"):
    ...     raise NotFound("blobs/sha256/00")
    Traceback (most recent call last):
    ...
    mlineage.errors.CorruptRecord: probe set blob blobs/sha256/00 is missing from memory://doc; ...
    """
    try:
        yield
    except NotFound:
        raise CorruptRecord(
            f"{what} blob {key} is missing from {uri}; run `mlineage fsck`"
        ) from None
    except (HashMismatch, StoreError) as exc:
        start = f"{what} blob {key}" if damaged is None else damaged
        raise CorruptRecord(f"{start}: {exc}; run `mlineage fsck`") from None
