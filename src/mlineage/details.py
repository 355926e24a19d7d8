"""What a version points at in the store, read on demand: its captured environment and its
data manifest (verified against their content hash and cached), and the queries built on
them — :func:`diff` and :func:`checkout`.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from mlineage.diff import VersionDiff, diff_dicts, diff_versions
from mlineage.errors import CorruptRecord, HashMismatch, NotFound
from mlineage.records import EnvironmentSnapshot, ModelVersion
from mlineage.storage import Store

if TYPE_CHECKING:
    from mlineage.checkout import Checkout

__all__ = ["BlobDetails", "checkout", "diff"]


class BlobDetails:
    """Verified, cached reads of the blobs versions point at (environments, manifests)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._manifests: dict[str, dict[str, str] | None] = {}
        self._environments: dict[str, EnvironmentSnapshot] = {}

    def environment(self, version: ModelVersion) -> EnvironmentSnapshot | None:
        """The environment captured when ``version`` was logged (None if none was).

        Raises
        ------
        CorruptRecord
            If the blob is missing or damaged (run ``mlineage fsck``).
        """
        key = version.environment_ref
        if key is None:
            return None
        cached = self._environments.get(key)
        if cached is None:
            from mlineage.artifacts import read_blob

            try:
                data = read_blob(self.store, key, "environment blob")
            except NotFound:
                raise CorruptRecord(
                    f"environment blob {key} is missing from {self.store.uri}; run `mlineage fsck`"
                ) from None
            except HashMismatch as exc:
                raise CorruptRecord(str(exc)) from None
            try:
                cached = EnvironmentSnapshot.model_validate_json(data)
            except ValidationError as exc:
                raise CorruptRecord(
                    f"environment blob {key} is not an environment record ({exc.error_count()} "
                    "errors); run `mlineage fsck`"
                ) from None
            self._environments[key] = cached
        return cached

    def manifest(self, key: str) -> dict[str, str] | None:
        """path -> sha256 of a manifest blob; None (with a warning) if it is unreadable."""
        if key in self._manifests:
            return self._manifests[key]
        from mlineage.artifacts import manifest_entries

        try:
            entries = manifest_entries(self.store, key)
        except (NotFound, HashMismatch, CorruptRecord) as exc:
            warnings.warn(f"skipped damaged record: {exc}", RuntimeWarning, stacklevel=4)
            self._manifests[key] = None
            return None
        cached = self._manifests[key] = {e.path: e.sha256 for e in entries}
        return cached


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
