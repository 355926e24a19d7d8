"""Storage backends: a tiny :class:`Store` ABC over str keys and bytes, and its backends.

``open_store(uri)`` picks the backend: a path or ``file://`` URI (local directory, the
default), ``memory://name``, and ``s3://`` / ``gs://`` when their extras are installed.
"""

from mlineage.storage._base import PutMode, Store, validate_key
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
    "LocalStore",
    "MemoryStore",
    "PutMode",
    "Store",
    "known_schemes",
    "open_store",
    "register_scheme",
    "validate_key",
]
