"""What a version points at in the store, read on demand: its captured environment and its
data manifest (verified against their content hash and cached), and the queries built on
them — :func:`diff` and :func:`checkout`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mlineage.content import BlobCache, unreadable_as_corrupt
from mlineage.diff import VersionDiff, diff_dicts, diff_versions
from mlineage.errors import CorruptRecord, HashMismatch, NotFound, StoreError
from mlineage.records import EnvironmentSnapshot, ModelVersion
from mlineage.storage import Store

if TYPE_CHECKING:
    from mlineage.checkout import Checkout

__all__ = ["BlobDetails", "checkout", "diff"]


class BlobDetails:
    """Verified, cached reads of the blobs versions point at (environments, manifests)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.blobs = BlobCache(store)
        self._unreadable: set[str] = set()

    def environment(self, version: ModelVersion) -> EnvironmentSnapshot | None:
        """The environment captured when ``version`` was logged (None if none was).

        The same object ``version.environment`` returns (one per blob and tracker).

        Raises
        ------
        CorruptRecord
            If the blob is missing, damaged, or the record's reference is not a blob key
            (run ``mlineage fsck``).
        """
        key = version.environment_ref
        if key is None:
            return None
        damaged = f"environment of version {version.id}"
        with unreadable_as_corrupt(self.store.uri, key, "environment", damaged):
            # This store's blob, verified and kept (once per tracker): the very object
            # `version.environment` returns for the versions this tracker loaded.
            return self.read_environment(key)

    def read_environment(self, key: str) -> EnvironmentSnapshot:
        """Read and verify environment blob ``key`` from this store.

        Raises
        ------
        NotFound, HashMismatch, CorruptRecord
        """
        return self.blobs.get(key, _decode_environment, "environment blob")

    def manifest(self, key: str) -> dict[str, str] | None:
        """path -> sha256 of a manifest blob; None (with one warning) if it is unreadable."""
        from mlineage.hashing import parse_manifest

        try:
            return self.blobs.get(key, _manifest_dict(parse_manifest), "manifest blob")
        except (NotFound, HashMismatch, CorruptRecord, StoreError) as exc:
            if key not in self._unreadable:
                self._unreadable.add(key)
                warnings.warn(f"skipped damaged record: {exc}", RuntimeWarning, stacklevel=4)
            return None


def _decode_environment(data: bytes) -> EnvironmentSnapshot:
    try:
        return EnvironmentSnapshot.model_validate_json(data)
    except ValidationError as exc:
        raise CorruptRecord(
            f"environment blob is not an environment record ({exc.error_count()} errors); "
            "run `mlineage fsck`"
        ) from None


@functools.cache
def _manifest_dict(parse: Callable[[bytes], Any]) -> Callable[[bytes], dict[str, str]]:
    # One decode function per parser, so the blob cache keys on it.
    def decode(data: bytes) -> dict[str, str]:
        return {e.path: e.sha256 for e in parse(data)}

    return decode


def diff(details: BlobDetails, va: ModelVersion, vb: ModelVersion) -> VersionDiff:
    """What changed from ``va`` to ``vb``, with data files and environment when recorded."""
    result = diff_versions(va, vb)
    files = None
    if va.dataset.manifest and vb.dataset.manifest and result.dataset_changed:
        old, new = details.manifest(va.dataset.manifest), details.manifest(vb.dataset.manifest)
        if old is not None and new is not None:
            files = diff_dicts(old, new)
    environment = None
    env_a, env_b = details.environment(va), details.environment(vb)
    if env_a is not None and env_b is not None:
        from mlineage.environment import diff_environments

        environment = diff_environments(env_a, env_b)
    return dataclasses.replace(result, data_files=files, environment=environment)


def checkout(
    details: BlobDetails,
    version: ModelVersion,
    requested: str,
    at: datetime | None,
    to: str | os.PathLike[str] | None,
    *,
    overwrite: bool,
) -> Checkout:
    """The :class:`~mlineage.checkout.Checkout` of a resolved version, materialised in ``to``."""
    from mlineage.checkout import Checkout, materialise
    from mlineage.environment import capture_environment, diff_environments

    captured = details.environment(version)
    env_diff = None if captured is None else diff_environments(captured, capture_environment())
    result = Checkout(
        version=version,
        requested=requested,
        at=at,
        dataset=version.dataset,
        hyperparameters=dict(version.hyperparameters),
        environment=captured,
        environment_diff=env_diff,
    )
    if to is None:
        return result
    return materialise(details.store, result, to, overwrite=overwrite)
