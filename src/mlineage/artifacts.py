"""Archiving checkpoints and manifests as content-addressed blobs, restoring them verified.

A blob lives at ``blobs/sha256/<2 hex>/<62 hex>`` and holds exactly the bytes whose SHA-256
names it (:mod:`mlineage.content`), so writing one twice is a no-op (dedup) and reading one
can be verified. A directory is archived as one blob per file plus a manifest blob
(relative path, size, sha256 per file).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from mlineage._progress import Progress
from mlineage.content import (
    PREFIX,
    blob_key,
    blob_key_of,
    hex_of,
    is_blob_key,
    read_blob,
    write_file,
)
from mlineage.errors import (
    CheckoutError,
    CorruptRecord,
    HashMismatch,
    InvalidInput,
    InvalidKey,
    MissingField,
    NotFound,
    UnsupportedObject,
)
from mlineage.hashing import ManifestEntry, PathDigest, hash_path, parse_manifest
from mlineage.records import ArtifactRef, DataSnapshot, pending_blob
from mlineage.storage import LocalStore, Store

__all__ = [
    "archive",
    "artifact_ref",
    "manifest_entries",
    "read_blob",
    "recompute_manifest",
    "restore",
    "write_manifest",
    "write_profile_blob",
]


def write_manifest(store: Store, data: bytes) -> str:
    """Store manifest bytes as a blob (no-op if present); return its key."""
    key = blob_key_of(data)
    store.put_if_absent(key, data)
    return key


def manifest_entries(store: Store, key: str) -> tuple[ManifestEntry, ...]:
    """Read and verify a manifest blob.

    Raises
    ------
    NotFound
        If the blob is missing.
    HashMismatch
        If its bytes do not match the key.
    CorruptRecord
        If it does not parse.
    """
    return parse_manifest(read_blob(store, key, "manifest blob"))


def artifact_ref(path: str, digest: PathDigest, *, archived: bool) -> ArtifactRef:
    """Describe a hashed checkpoint (its manifest blob key for a directory)."""
    manifest = None
    if digest.kind == "directory":
        manifest = blob_key_of(digest.manifest_bytes())
    blob = None
    if archived:
        blob = manifest if manifest is not None else blob_key(hex_of(digest.hash))
    return ArtifactRef(
        # Absolute, so a checkout from the original files works from any directory.
        path=os.path.abspath(path),
        hash=digest.hash,
        size=digest.size,
        kind=digest.kind,
        num_files=digest.num_files,
        manifest=manifest,
        blob=blob,
    )


def _put_file(store: Store, source: str, sha256: str, progress: Progress) -> None:
    """Copy one file into the blob ``sha256``, verifying the bytes on the way."""
    # Content-addressed: a blob already there holds these bytes and is left alone. Large
    # files stream: a local temporary linked into place, S3 multipart, GCS resumable.
    store.put_file(blob_key(sha256), source, expected_sha256=sha256, on_bytes=progress.update)


def archive(store: Store, path: str, digest: PathDigest, *, progress: bool | None = None) -> None:
    """Copy a hashed file or directory into the store's blobs (each distinct file once).

    A progress line appears on a terminal when archiving takes more than about a second
    (``progress=False`` or ``MLINEAGE_PROGRESS=0`` turns it off).
    """
    with Progress(digest.size, f"archiving {path}", enabled=progress) as bar:
        if digest.kind == "file":
            _put_file(store, path, hex_of(digest.hash), bar)
            return
        for entry in digest.entries:
            _put_file(store, os.path.join(path, *entry.path.split("/")), entry.sha256, bar)


def _fast_copy(source: Path, dest: Path) -> None:
    """Copy in the kernel with copy_file_range, as cp does (shutil's sendfile is ~2x slower
    here, and copy_file_range can share extents on file systems that support it)."""
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is None:
        shutil.copyfile(source, dest)
        return
    with open(source, "rb") as src, open(dest, "wb") as out:
        try:
            while copy_range(src.fileno(), out.fileno(), 1 << 30):
                pass
            return
        except OSError:
            pass  # not supported across these file systems: fall back below
        src.seek(0)
        out.seek(0)
        out.truncate()
        shutil.copyfileobj(src, out, 1 << 20)


def _copy_verified(store: Store, sha256: str, dest: Path, label: str) -> None:
    key = blob_key(sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        if isinstance(store, LocalStore):
            blob = store.checked_path(key)  # a regular file, not a symlink or a FIFO
            # The hash cache makes repeat checkouts of an unchanged blob copy-bound; a blob
            # whose size, mtime or inode changed is always re-read and re-verified.
            actual = hex_of(hash_path(blob, workers=1, progress=False).hash)
            _fast_copy(blob, dest)
        else:
            actual = store.get_file(key, dest)  # streamed, hashed on the way
    except NotFound:
        raise CheckoutError(
            f"{label}: archived blob {PREFIX}{sha256} is missing from the store; "
            "run `mlineage fsck`"
        ) from None
    except UnsupportedObject as exc:
        raise CheckoutError(f"{label}: archived blob {PREFIX}{sha256}: {exc}") from None
    if actual != sha256:
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        raise CheckoutError(
            f"{label}: archived copy is corrupt: expected {PREFIX}{sha256}, got {PREFIX}{actual}"
        )


def _open_origin(source: Path, label: str) -> int:
    """Open an original checkpoint file for reading; refuse what is not a regular file.

    A record names the path, and a record can come from anyone: ``O_NONBLOCK`` keeps a
    FIFO from hanging the open, and only a regular file is read (``/dev/zero`` never ends).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(source, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise CheckoutError(
            f"{label}: {source} no longer exists and the version was not archived "
            "(log with archive=True to keep a copy in the store)"
        ) from None
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno is not None else str(exc)
        raise CheckoutError(f"{label}: cannot read {source}: {reason}") from None
    if stat.S_ISREG(os.fstat(fd).st_mode):
        return fd
    os.close(fd)
    raise CheckoutError(
        f"{label}: {source} is not a regular file (a directory, FIFO, socket or device), so "
        "it cannot be the checkpoint file that was logged; the record may be damaged "
        "(run `mlineage fsck`)"
    )


def _origin_chunks(fd: int) -> Iterator[bytes]:
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def _copy_from_origin(source: Path, sha256: str, dest: Path, label: str) -> None:
    fd = _open_origin(source, label)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except BaseException:
        os.close(fd)
        raise
    actual = write_file(_origin_chunks(fd), dest)
    if actual != sha256:
        # Not the digest it has now: a record can name any local file, and its hash is
        # not for the record's author to learn from a checkout's error message.
        raise CheckoutError(
            f"{label}: {source} has changed since it was logged (its bytes no longer hash "
            f"to {PREFIX}{sha256}); restore it, or check out a version that was archived"
        )


def _target_name(ref: ArtifactRef) -> str:
    """The name a checked-out artifact gets under ``model/``: its own, never ``..``."""
    name = Path(ref.path).name
    if name == "..":
        raise CheckoutError(
            f"{ref.path}: its record is corrupt: a checkpoint path ending in '..' was not "
            "written by mlineage (it records absolute, normalised paths); run `mlineage fsck`"
        )
    return name or "model"


def restore(store: Store, ref: ArtifactRef, dest: Path) -> list[Path]:
    """Materialise an artifact under ``dest`` (a file, or a directory of files), verified.

    Bytes come from the store's archive when the artifact was archived, otherwise from its
    original path; either way every file's SHA-256 is checked against the record.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    CheckoutError
        Naming the file, the expected and the actual hash, or what is missing.
    """
    written: list[Path] = []
    if ref.kind == "file":
        try:
            sha = hex_of(ref.hash)
        except InvalidInput as exc:
            raise CheckoutError(f"{ref.path}: its record is corrupt: {exc}") from None
        target = dest / _target_name(ref)
        if ref.blob is not None:
            _copy_verified(store, sha, target, ref.path)
        else:
            _copy_from_origin(Path(ref.path), sha, target, ref.path)
        return [target]
    if ref.manifest is None:
        raise CheckoutError(f"{ref.path}: directory artifact has no manifest in its record")
    try:
        entries = manifest_entries(store, ref.manifest)
    except (NotFound, HashMismatch, CorruptRecord, InvalidKey) as exc:
        raise CheckoutError(f"{ref.path}: cannot read its manifest: {exc}") from None
    root = dest / _target_name(ref)
    for entry in entries:
        target = root.joinpath(*entry.path.split("/"))
        label = f"{ref.path}/{entry.path}"
        if ref.blob is not None:
            _copy_verified(store, entry.sha256, target, label)
        else:
            _copy_from_origin(
                Path(ref.path).joinpath(*entry.path.split("/")), entry.sha256, target, label
            )
        written.append(target)
    return written


# -- a dataset snapshot's blobs, written before the version that points at them -------------


def write_profile_blob(store: Store, snapshot: DataSnapshot, key: str) -> None:
    """Write the profile blob ``snapshot`` holds (it cannot be recomputed at log time)."""
    if not is_blob_key(key):
        raise InvalidKey(f"data profile {key!r} is not a blob key (blobs/sha256/<2 hex>/<62 hex>)")
    data = pending_blob(snapshot, key)
    if data is not None:
        if blob_key_of(data) != key:
            raise HashMismatch(
                f"the data profile bytes this snapshot holds do not hash to {key}; "
                "nothing was written"
            )
        store.put_if_absent(key, data)
    elif not store.exists(key):
        raise MissingField(
            f"the data profile blob {key} is not in the store, and this snapshot does not "
            "hold its bytes (it was decoded from a store or built by hand with "
            "DataSnapshot(profile=...)); make the snapshot again with profile=True, or "
            "attach the profile with snapshot.with_profile(profile); nothing was written"
        )


def recompute_manifest(snapshot: DataSnapshot) -> bytes:
    """Manifest bytes of a snapshot whose in-memory copy is gone, from its path, verified."""
    assert snapshot.manifest is not None and snapshot.path is not None
    data = hash_path(snapshot.path).manifest_bytes()
    if blob_key_of(data) != snapshot.manifest:
        raise MissingField(
            f"the manifest of dataset {snapshot.path!r} is no longer in memory and the "
            "directory has changed since DataSnapshot.from_path; snapshot it again"
        )
    return data
