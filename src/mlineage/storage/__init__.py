"""Storage backends: a tiny :class:`Store` ABC over str keys and bytes, and its backends.

``open_store(uri)`` picks the backend: a path or ``file://`` URI (local directory, the
default), ``memory://name``, and ``s3://`` / ``gs://`` when their extras are installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlineage.storage._base import (
    PartialUpload,
    PutMode,
    Store,
    map_os_errors,
    translate_os_error,
    validate_key,
)
from mlineage.storage._local import LocalStore
from mlineage.storage._memory import MemoryStore
from mlineage.storage._registry import (
    DEFAULT_STORE,
    ENV_VAR,
    known_schemes,
    open_store,
    register_scheme,
)

__all__ = [
    "DEFAULT_STORE",
    "ENV_VAR",
    "GCSStore",
    "LocalStore",
    "MemoryStore",
    "ObjectInfo",
    "PartialUpload",
    "PutMode",
    "S3Store",
    "Store",
    "known_schemes",
    "map_os_errors",
    "open_store",
    "register_scheme",
    "translate_os_error",
    "validate_key",
]

if TYPE_CHECKING:
    from mlineage.storage._cloud import ObjectInfo
    from mlineage.storage._gcs import GCSStore
    from mlineage.storage._s3 import S3Store

# Resolved on first access so that ``import mlineage`` loads no cloud backend module; the
# backends themselves import boto3 / google-cloud-storage only when a store is created.
_LAZY = {
    "S3Store": "mlineage.storage._s3",
    "GCSStore": "mlineage.storage._gcs",
    "ObjectInfo": "mlineage.storage._cloud",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
