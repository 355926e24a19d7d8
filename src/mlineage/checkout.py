"""Reconstructing a past version: its files verified by hash, its record, its environment.

``Tracker.checkout`` resolves *which* version (an alias or a line of history at a time);
:func:`materialise` writes it to a directory atomically: everything goes to a temporary
sibling directory that is renamed into place at the end, so a failure (a missing or altered
file, a full disk) leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlineage.views.html as _html
from mlineage._text import escape_surrogates
from mlineage.errors import (
    CheckoutError,
    CorruptRecord,
    HashMismatch,
    InvalidInput,
    InvalidKey,
    NotFound,
)
from mlineage.records import DataSnapshot, EnvironmentSnapshot, ModelVersion
from mlineage.storage import Store, map_os_errors

if TYPE_CHECKING:
    from mlineage.environment import EnvironmentDiff

__all__ = ["Checkout", "materialise"]


@dataclass(frozen=True)
class Checkout:
    """Everything needed to reproduce one version, as returned by ``Tracker.checkout``.

    Attributes
    ----------
    version : ModelVersion
    requested : str
        The reference that was resolved (alias, name, id, model).
    at : datetime or None
        The time it was resolved at (None: now).
    dataset : DataSnapshot
    hyperparameters : dict
    environment : EnvironmentSnapshot or None
        The environment captured when the version was logged.
    environment_diff : EnvironmentDiff or None
        How the current environment differs from it (None when none was captured).
    path : Path or None
        The directory the version was materialised in (``to=``), else None.
    files : tuple of Path
        Every file written under ``path``.
    """

    version: ModelVersion
    requested: str
    at: datetime | None
    dataset: DataSnapshot
    hyperparameters: dict[str, Any]
    environment: EnvironmentSnapshot | None
    environment_diff: EnvironmentDiff | None
    path: Path | None = None
    files: tuple[Path, ...] = field(default=())

    def _repr_html_(self) -> str:
        return _html.checkout_html(self)

    def __str__(self) -> str:
        v = self.version
        when = "now" if self.at is None else self.at.isoformat()
        lines = [
            f"checkout {self.requested!r} at {when} -> version {v.id}"
            + (f" ({v.name})" if v.name else ""),
            f"  created   {v.created_at.isoformat()}",
            f"  model     {v.model_path}"
            + (f" ({v.model_artifact.hash})" if v.model_artifact else " (not hashed)"),
            f"  dataset   {self.dataset.path or ''} ({self.dataset.hash})",
            f"  hyperparameters {json.dumps(self.hyperparameters, sort_keys=True)}",
        ]
        if self.environment_diff is not None:
            if self.environment_diff.is_empty:
                lines.append("  environment: same as now")
            else:
                lines.append("  environment differs from now:")
                lines += ["    " + x for x in str(self.environment_diff).splitlines()]
        if self.path is not None:
            lines.append(f"  written to {self.path} ({len(self.files)} files)")
        return "\n".join(lines)


def _write_json(path: Path, data: Any) -> None:
    # Manifest paths keep file names that are not UTF-8 as lone surrogates: as escapes.
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    path.write_text(escape_surrogates(text) + "\n", encoding="utf-8")


def _empty_dir(path: Path) -> bool:
    return path.is_dir() and next(path.iterdir(), None) is None


def materialise(
    store: Store, checkout: Checkout, to: str | os.PathLike[str], *, overwrite: bool = False
) -> Checkout:
    """Write ``checkout`` into directory ``to``; return it with ``path`` and ``files`` set.

    Layout::

        to/model/<checkpoint file or directory>   bytes verified against the record
        to/version.json                          the full version record
        to/hyperparameters.json
        to/dataset.json                          the data snapshot record
        to/dataset-manifest.json                 per-file manifest (directory snapshots)
        to/environment.json, to/requirements.txt the captured environment, pinned

    Raises
    ------
    CheckoutError
        If ``to`` exists and is not empty (unless ``overwrite=True``), is a file, or any
        checkpoint file is missing or does not match its recorded hash (the message names
        the file and the expected hash). Nothing is left behind.
    StoreReadOnly, PermissionDenied, StoreFull
        If ``to`` is on a read-only file system, may not be written, or the disk fills up;
        the message names ``to``. Nothing is left behind.
    InvalidInput
        If ``to`` contains a NUL character.
    """
    if "\0" in os.fspath(to):
        raise InvalidInput(
            f"checkout target {os.fspath(to)!r} contains a NUL character, which no file "
            "system allows in a path"
        )
    dest = Path(to).expanduser().absolute()
    with map_os_errors(dest, "write the checkout to"):
        return _materialise(store, checkout, dest, overwrite=overwrite)


def _materialise(store: Store, checkout: Checkout, dest: Path, *, overwrite: bool) -> Checkout:
    from mlineage.artifacts import manifest_entries, restore
    from mlineage.environment import requirements_txt

    if dest.exists() and not dest.is_dir():
        raise CheckoutError(f"checkout target {dest} is a file; choose a directory")
    if dest.exists() and not _empty_dir(dest) and not overwrite:
        raise CheckoutError(
            f"checkout target {dest} exists and is not empty; choose another directory or "
            "pass overwrite=True to replace it"
        )
    version = checkout.version
    if version.model_artifact is None:
        raise CheckoutError(
            f"version {version.id} recorded no checkpoint hash (model_path "
            f"{version.model_path!r} did not exist when it was logged, or the tracker had "
            "hash_artifacts=False), so its files cannot be verified; nothing was written"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.checkout-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        files = restore(store, version.model_artifact, tmp / "model")
        _write_json(tmp / "version.json", version.model_dump(mode="json"))
        _write_json(tmp / "hyperparameters.json", checkout.hyperparameters)
        _write_json(tmp / "dataset.json", checkout.dataset.model_dump(mode="json"))
        files += [tmp / "version.json", tmp / "hyperparameters.json", tmp / "dataset.json"]
        if checkout.dataset.manifest is not None:
            try:
                entries = manifest_entries(store, checkout.dataset.manifest)
            except (NotFound, HashMismatch, CorruptRecord, InvalidKey) as exc:
                raise CheckoutError(f"dataset manifest of version {version.id}: {exc}") from None
            _write_json(
                tmp / "dataset-manifest.json",
                [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in entries],
            )
            files.append(tmp / "dataset-manifest.json")
        if checkout.environment is not None:
            _write_json(tmp / "environment.json", checkout.environment.model_dump(mode="json"))
            (tmp / "requirements.txt").write_text(requirements_txt(checkout.environment))
            files += [tmp / "environment.json", tmp / "requirements.txt"]
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{secrets.token_hex(4)}"
            os.rename(dest, old)
        os.rename(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    final = tuple(dest / f.relative_to(tmp) for f in files)
    return replace(checkout, path=dest, files=final)
