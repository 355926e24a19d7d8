"""Directory manifests: :class:`ManifestEntry`, :class:`PathDigest` and their canonical forms."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mlineage.errors import CorruptRecord

MANIFEST_FORMAT = 1
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _encode_path(relpath: str) -> bytes:
    # surrogateescape round-trips file names that are not valid UTF-8 (os.fsencode does the
    # same on POSIX), so every name on disk has exactly one byte form to sort and hash.
    return relpath.encode("utf-8", "surrogateescape")


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
        ``"sha256:<hex>"`` of the entries in path order.

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
        the directory on restore), duplicated or out of order, or if it lists a file
        ``x`` and a file ``x/y``. Nesting too deep to parse is invalid JSON too.

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
    except RecursionError:  # "[[[[..." deep enough to exhaust the parser's stack
        raise CorruptRecord("manifest is not valid JSON (nested too deeply)") from None
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
    _refuse_files_as_directories(entries)
    return tuple(entries)


def _refuse_files_as_directories(entries: list[ManifestEntry]) -> None:
    """Refuse a manifest listing a file ``x`` and a file ``x/y``: no directory holds both,
    and a checkout could not write them."""
    files = {e.path for e in entries}
    for entry in entries:
        parts = entry.path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                raise CorruptRecord(
                    f"manifest lists {parent!r} as a file and {entry.path!r} inside it; "
                    "no directory holds both"
                )
