"""Object listings as data identities: the manifest and hash of data nobody downloads.

A listing names every object (file) of a dataset with what its store says about it
without reading it: size, a content tag (S3's ETag, GCS's MD5 or CRC32C, a Hadoop
checksum), a version (S3's version id in a versioned bucket, GCS's generation) and the
modification time. It becomes a directory manifest in the format ``from_path`` writes
(``{"path", "size", "sha256"}`` per file), so ``tracker.diff`` names the objects that
were added, removed or changed, ``fsck`` checks it and ``checkout`` restores it. The
entry's ``sha256`` field is then the SHA-256 of the object's identity line, not of its
bytes (see :meth:`ObjectEntry.identity`); the snapshot's hash is the manifest hash of
those entries, i.e. the hash of the listing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from mlineage.errors import InvalidInput
from mlineage.hashing import ManifestEntry, PathDigest, manifest_hash, parse_manifest

__all__ = ["Listing", "ObjectEntry", "SnapshotParts", "listing_of"]


@dataclass(frozen=True)
class ObjectEntry:
    """One object of a :class:`Listing`.

    Attributes
    ----------
    key : str
        Name relative to the listing's root, ``/``-separated.
    size : int
        Bytes.
    etag : str or None
        Content tag given by the store (S3 ETag, ``md5:...`` / ``crc32c:...`` on GCS, a
        Hadoop file checksum), or None.
    version : str or None
        S3 version id (versioned buckets) or GCS generation.
    modified : float or None
        Modification time, POSIX seconds.
    """

    key: str
    size: int
    etag: str | None
    version: str | None
    modified: float | None

    def identity(self) -> str:
        """Hex SHA-256 of what identifies this object's bytes, the manifest's ``sha256``.

        The content tag and the version when the store gives either (then rewriting an
        object with the same bytes keeps its S3 identity, and a new GCS generation or S3
        version id changes it); otherwise the size and modification time, as for local
        files, whose bytes are not read.
        """
        if self.etag is not None or self.version is not None:
            line: list[Any] = ["tag", self.etag, self.version]
        else:
            line = ["stat", self.size, self.modified]
        return hashlib.sha256(json.dumps(line).encode()).hexdigest()


@dataclass(frozen=True)
class Listing:
    """Objects under one root, as the manifest and hash of a :class:`~mlineage.DataSnapshot`.

    Attributes
    ----------
    root : str
        The URI or path the keys are relative to.
    entries : tuple of ObjectEntry
        Sorted by key.
    how : str
        Where the listing came from: ``"s3"``, ``"gs"``, ``"local"`` or ``"spark"``.
    """

    root: str
    entries: tuple[ObjectEntry, ...]
    how: str

    @property
    def size(self) -> int:
        """Total bytes of the objects."""
        return sum(e.size for e in self.entries)

    @property
    def versioned(self) -> bool:
        """Whether every object carries a version (id or generation)."""
        return bool(self.entries) and all(e.version is not None for e in self.entries)

    def digest(self) -> PathDigest:
        """The listing as a directory digest: manifest entries and the hash of the listing.

        Raises
        ------
        InvalidInput
            A key cannot be a manifest path (an empty, ``.`` or ``..`` segment), or the
            listing holds an object ``x`` and an object ``x/...``.
        """
        items = tuple(ManifestEntry(e.key, e.size, e.identity()) for e in self.entries)
        digest = PathDigest("directory", manifest_hash(items), self.size, len(items), items)
        try:
            parse_manifest(digest.manifest_bytes())  # what diff, fsck and checkout read
        except ValueError as exc:
            raise InvalidInput(
                f"the objects under {self.root!r} cannot be recorded as a manifest: {exc}; "
                "snapshot a prefix without such keys"
            ) from None
        return digest

    def metadata(self) -> dict[str, Any]:
        """What the snapshot's ``metadata["listing"]`` records about the listing."""
        return {"how": self.how, "root": self.root, "versioned": self.versioned}


def listing_of(entries: Iterable[ObjectEntry], how: str, root: str | None = None) -> Listing:
    """A listing of objects named by full paths or URIs, relative to their common folder.

    Parameters
    ----------
    entries : iterable of ObjectEntry
        Keys are full names (``file:///data/a.parquet``, ``s3a://bucket/t/b.parquet``)
        unless ``root`` is given, when they are already relative to it.
    how : str
        Where the listing came from.
    root : str, optional
        The root the keys are relative to.

    Returns
    -------
    Listing
    """
    items = sorted(entries, key=lambda e: e.key.encode("utf-8", "surrogateescape"))
    if root is None:
        names = [e.key for e in items]
        common = names[0].rpartition("/")[0] + "/" if names else ""
        for name in names:
            while common and not name.startswith(common):
                head = common[:-1].rpartition("/")[0]
                common = head + "/" if head else ""
        root = common.rstrip("/")
        items = [
            ObjectEntry(e.key[len(common) :], e.size, e.etag, e.version, e.modified) for e in items
        ]
    return Listing(root, tuple(items), how)


class SnapshotParts(NamedTuple):
    """What an engine found about data where it lives, for ``DataSnapshot`` to assemble
    (``DataSnapshot.from_uri`` / ``from_spark`` / ``from_dask``): the engines build no
    records, so the records layer never imports them back."""

    listing: Listing
    path: str
    profile: Any = None  # DataProfile or None
    columns: dict[str, str] | None = None
