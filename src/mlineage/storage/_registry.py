"""Choosing a backend from a storage URI."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mlineage.errors import UnknownScheme
from mlineage.storage._base import Store
from mlineage.storage._cloud import redact_url
from mlineage.storage._local import LocalStore
from mlineage.storage._memory import MemoryStore

__all__ = ["DEFAULT_STORE", "ENV_VAR", "known_schemes", "open_store", "register_scheme"]

#: Environment variable naming the store when ``storage=None``.
ENV_VAR = "MLINEAGE_STORE"
#: Store used when neither ``storage=`` nor ``$MLINEAGE_STORE`` is given.
DEFAULT_STORE = "./.mlineage"

StoreFactory = Callable[[str, bool], Store]


def _open_file(uri: str, read_only: bool) -> Store:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        host = parts.netloc.rpartition("@")[2]  # never echo a user:password@ part
        raise UnknownScheme(
            f"file:// URIs must be local, got host {host!r} in {redact_url(uri, '***')!r}"
        )
    return LocalStore(unquote(parts.path), read_only=read_only)


def _open_memory(uri: str, read_only: bool) -> Store:
    parts = urlsplit(uri)
    return MemoryStore(parts.netloc + parts.path, read_only=read_only)


def _open_s3(uri: str, read_only: bool) -> Store:
    # Imported on use, like the SDK it wraps: nothing of it loads at import mlineage.
    from mlineage.storage._s3 import open_s3_uri

    return open_s3_uri(uri, read_only)


def _open_gcs(uri: str, read_only: bool) -> Store:
    # Imported on use, like the SDK it wraps: nothing of it loads at import mlineage.
    from mlineage.storage._gcs import open_gcs_uri

    return open_gcs_uri(uri, read_only)


_SCHEMES: dict[str, StoreFactory] = {
    "file": _open_file,
    "memory": _open_memory,
    "s3": _open_s3,
    "gs": _open_gcs,
}


def register_scheme(scheme: str, factory: StoreFactory) -> None:
    """Make ``scheme://...`` URIs open with ``factory(uri, read_only)``.

    Parameters
    ----------
    scheme : str
        URI scheme, lower case, without ``://``.
    factory : callable
        Called with the full URI and the read-only flag; returns a :class:`Store`.
    """
    _SCHEMES[scheme.lower()] = factory


def known_schemes() -> list[str]:
    """Return the URI schemes that :func:`open_store` understands, sorted."""
    return sorted(_SCHEMES)


def open_store(
    storage: str | os.PathLike[str] | Store | None = None, *, read_only: bool = False
) -> Store:
    """Open the store that ``storage`` names.

    Parameters
    ----------
    storage : str, os.PathLike, Store or None
        A :class:`Store` (returned as is), a directory path, or a URI: ``file:///dir``,
        ``memory://name``, and any scheme added with :func:`register_scheme` (``s3://``,
        ``gs://`` when their extras are installed). ``None`` means ``$MLINEAGE_STORE`` if
        set, else ``./.mlineage``.
    read_only : bool
        Open the store read-only.

    Returns
    -------
    Store

    Raises
    ------
    UnknownScheme
        For a URI whose scheme no backend handles; the message lists the known schemes.

    Examples
    --------
    >>> open_store("memory://docs-example")
    MemoryStore('memory://docs-example')
    """
    if isinstance(storage, Store):
        if read_only and not storage.read_only:
            storage.read_only = True
        return storage
    if storage is None:
        storage = os.environ.get(ENV_VAR) or DEFAULT_STORE
    if isinstance(storage, os.PathLike):
        return LocalStore(Path(storage), read_only=read_only)
    if not isinstance(storage, str):
        raise TypeError(
            f"storage must be a path, a URI string or a Store, got {type(storage).__name__}"
        )
    if not storage.strip():
        raise UnknownScheme("storage is an empty string; pass a directory path or a URI")
    scheme, sep, _ = storage.partition("://")
    if not sep or (len(scheme) == 1 and scheme.isalpha()):
        # A plain path (a single letter before ':' is a Windows drive).
        return LocalStore(storage, read_only=read_only)
    factory = _SCHEMES.get(scheme.lower())
    if factory is None:
        raise UnknownScheme(
            f"unknown storage scheme {scheme!r} in {redact_url(storage, '***')!r}; known "
            "schemes are "
            + ", ".join(f"{s}://" for s in known_schemes())
            + " (or a plain directory path)"
        )
    return factory(storage, read_only)
