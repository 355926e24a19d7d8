"""Deterministic content hashes of files, directories, numpy arrays and pandas DataFrames.

Everything here is SHA-256 and written ``"sha256:<hex>"``. A file's hash is the SHA-256 of
its bytes, so it equals ``sha256sum``. A directory's hash is the SHA-256 of its canonical
manifest: one line ``relpath\\0size\\0sha256hex\\n`` per file, sorted by the UTF-8 bytes of the
relative POSIX path, so the same bytes under the same relative names give the same hash on
any machine, whatever order the files were created or listed in.

Re-hashing is made cheap by :class:`HashCache`, a persistent SQLite table of file hashes
keyed by (absolute path, size, mtime_ns, inode), in the spirit of git's index and DVC's
state database.

The package is split by concern: ``_manifest`` (manifests and :class:`PathDigest`),
``_cache`` (:class:`HashCache`), ``_paths`` (walking and hashing files, :func:`hash_path`)
and ``_arrays`` (:func:`hash_array`, :func:`hash_dataframe`). Import from here.
"""

from __future__ import annotations

# The `X as X` imports stay importable from here, as before the split, without joining
# `import *`: the manifest format number, and the default thread count that
# benchmarks/bench_hashing.py reports.
from mlineage.hashing._arrays import ArrayDigest, hash_array, hash_dataframe, hash_named_arrays
from mlineage.hashing._cache import CacheStats, FileKey, HashCache, default_cache_path
from mlineage.hashing._manifest import MANIFEST_FORMAT as MANIFEST_FORMAT
from mlineage.hashing._manifest import (
    ManifestEntry,
    PathDigest,
    manifest_hash,
    parse_manifest,
)
from mlineage.hashing._paths import _default_workers as _default_workers
from mlineage.hashing._paths import hash_path

__all__ = [
    "ArrayDigest",
    "CacheStats",
    "FileKey",
    "HashCache",
    "ManifestEntry",
    "PathDigest",
    "default_cache_path",
    "hash_array",
    "hash_dataframe",
    "hash_named_arrays",
    "hash_path",
    "manifest_hash",
    "parse_manifest",
]
