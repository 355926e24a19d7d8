"""Check a whole store for damage: ``mlineage fsck``.

A :class:`~mlineage.Tracker` stops at the first damaged record (or skips it with a warning);
:func:`fsck` reads everything and lists every problem it finds, so that one run tells you
what is wrong and where. It changes nothing unless asked to repair, and the only repair it
makes is removing temporary files (and aborting incomplete S3 multipart uploads) that killed
writers left behind.

Problem kinds (stable strings, for scripts)::

    bad-marker            store marker mlineage.json is damaged
    missing-marker        records exist but the store marker does not
    newer-format          marker, record, pack or name claim written by a newer mlineage
    bad-model-name        a directory under models/ that is not a valid model name
    corrupt-record        version/event record, pack or name claim that does not decode
    misplaced-record      record under another record's key, or of another model
    duplicate-in-pack     a pack lists the same record more than once
    conflicting-duplicate the same record id in two places (loose/packs) with different content
    vanished-record       a loose record deleted while checking and found in no pack
    dangling-parent       a version whose parent is in no record
    parent-cycle          a version that is its own ancestor (through one or more records)
    dangling-event        an annotation, status change or alias move naming a missing version
    unclaimed-name        a name claim whose version was never recorded
    missing-name-claim    a named version whose name has no claim
    name-conflict         a named version whose name is claimed by another version
    missing-manifest      a manifest blob a record refers to is missing
    corrupt-manifest      a manifest blob that does not hash to its key or does not parse
    missing-blob          an archived checkpoint file, data profile or captured environment
                          whose blob is missing
    bad-blob              a blob whose bytes do not hash to its key, a malformed blob key,
                          or (local store) a symlink, FIFO, socket or device under blobs/
    bad-layout            a file where a model's versions/, events/, packs/ or names/
                          directory must be, a directory where mlineage.json must be, or
                          (local store) a symlink or special file elsewhere in the store
    temp-file             a leftover temporary file of a local store

A local store's object is a regular file and its directories are real directories: a
symlink, FIFO, socket or device is not read (readers ignore it) and is reported as
``corrupt-record`` under ``models/``, ``bad-blob`` under ``blobs/`` and ``bad-layout``
elsewhere. A record or pack larger than the format allows is a ``corrupt-record``.
    partial-upload        an incomplete S3 multipart upload (of a large archived blob)
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from mlineage.codec import STORE_MARKER_KEY
from mlineage.errors import ReadOnlyError
from mlineage.fsck._checker import Checker
from mlineage.fsck._report import FsckReport, Problem
from mlineage.storage import LocalStore, Store, map_os_errors, open_store

__all__ = ["DEFAULT_TEMP_AGE", "FsckReport", "Problem", "fsck"]

#: Seconds after which a temporary file is taken to be an orphan by default.
DEFAULT_TEMP_AGE = 600.0


def fsck(
    storage: str | os.PathLike[str] | Store | None = None,
    *,
    repair: bool = False,
    verify_blobs: bool = True,
    temp_age: float = DEFAULT_TEMP_AGE,
) -> FsckReport:
    """Read a whole store and report every problem in it.

    For every model it decodes each loose version and event record and each pack, and
    checks that records sit under their own key and model, that packs list each record
    once, that a record both loose and packed (a compaction that was interrupted, or two
    that ran at once) has the same content in both places, that every parent and every
    version an event names exists, and that name claims and named versions agree. It
    checks the store marker, the manifests and archived blobs records refer to, and, with
    ``verify_blobs``, that every blob's bytes hash to its key. On a local store it lists
    the temporary files that killed writers left (readers ignore them); on S3, the
    incomplete multipart uploads (of large archived checkpoints) they left.

    Parameters
    ----------
    storage : str, os.PathLike, Store or None
        As for :class:`~mlineage.Tracker`.
    repair : bool
        Remove orphan temporary files and abort incomplete uploads older than ``temp_age``
        seconds, and nothing else:
        every other problem needs a decision only a person can make (restore from a backup,
        delete a record), so it is reported, never "fixed".
    verify_blobs : bool
        Hash the bytes of every blob (reads every archived checkpoint; can be slow).
        Manifests are always verified.
    temp_age : float
        Minimum age in seconds (by modification time, or upload start) of a temporary file
        that ``repair`` removes, or an incomplete upload it aborts. A younger one may belong
        to a writer that is still running: removing it would make that write fail, so it is
        only reported. Use 0 only when you know no writer is running.

    Returns
    -------
    FsckReport
        ``report.ok`` is True when nothing was found; ``str(report)`` lists one problem a
        line and a summary.

    Raises
    ------
    ReadOnlyError
        If ``repair=True`` and ``storage`` is a store opened read-only.
    StoreReadOnly, PermissionDenied
        If ``repair=True`` and a temporary file cannot be removed (read-only file system,
        permission refused); the message names it.
    StoreError
        If the store cannot be read (unreachable, access refused).

    Notes
    -----
    Only local stores have temporary files: a write to S3 or GCS is one request that
    either creates the whole object or nothing, so remote stores never have any. On Linux a
    local create-only write stages its bytes in an unnamed ``O_TMPFILE`` inode, so only
    archive copies, overwrites and platforms without ``O_TMPFILE`` can leave named
    ``.<name>.tmp-<random>`` files behind.

    ``fsck`` does not lock the store. While writers run it may report what they are in
    the middle of: a temporary file, or an ``unclaimed-name`` between a name claim and
    its version record. Run it again once they finish to tell those from real damage.
    An ``unclaimed-name`` left by a writer that died keeps the name taken; delete the
    claim (``models/<model>/names/<name>.json``) by hand to free it.

    Examples
    --------
    >>> import mlineage as ml
    >>> tracker = ml.Tracker("fsck-doc", storage="memory://fsck-doc")
    >>> _ = tracker.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:1"))
    >>> report = fsck("memory://fsck-doc")
    >>> report.ok, report.checked["versions"]
    (True, 1)
    """
    if isinstance(storage, Store):
        store = storage
        if repair and store.read_only:
            raise ReadOnlyError(f"cannot repair store {store.uri}: it was opened read-only")
    else:
        # Repairs delete temporary files directly, not through the store, so the store
        # itself can always be read-only: fsck never writes a key.
        store = open_store(storage, read_only=True)
    checker = Checker(store, verify_blobs=verify_blobs)
    checker.run()
    report = checker.report
    if isinstance(store, LocalStore):
        _check_entries(store, report)
        _check_temp_files(store, report, repair=repair, temp_age=temp_age)
    else:
        report.checked["temporary files"] = 0
    if type(store).partial_uploads is not Store.partial_uploads:
        _check_partial_uploads(store, report, repair=repair, temp_age=temp_age)
    return report


def _check_partial_uploads(
    store: Store, report: FsckReport, *, repair: bool, temp_age: float
) -> None:
    now = datetime.now(timezone.utc)
    found = 0
    for upload in store.partial_uploads():
        found += 1
        age = (now - upload.started).total_seconds()
        if repair and age >= temp_age:
            store.abort_partial_upload(upload)
            report.removed.append(f"{upload.key} (incomplete upload {upload.upload_id})")
            continue
        hint = (
            f"younger than {temp_age:g} s, so left alone: it may belong to a running writer"
            if repair
            else "run `mlineage fsck --repair` to abort it"
        )
        report.problems.append(
            Problem(
                "partial-upload",
                upload.key,
                f"incomplete upload in parts ({age:.0f} s old) of a writer that never "
                f"finished; readers never see it, but the store keeps its parts; {hint}",
            )
        )
    report.checked["partial uploads"] = found


def _check_entries(store: LocalStore, report: FsckReport) -> None:
    for relative, what in store.unsupported_entries():
        if relative == STORE_MARKER_KEY:
            continue  # reported by the marker check, as bad-marker
        if relative.startswith("models/"):
            kind = "corrupt-record"
        elif relative.startswith("blobs/"):
            kind = "bad-blob"
        else:
            kind = "bad-layout"
        report.problems.append(
            Problem(
                kind,
                relative,
                f"is {what}, not a regular file or directory; mlineage follows no symlink "
                "and opens no special file inside a store (it could lead reads and writes "
                "outside it, or hang), so readers ignore it and writes through it fail: "
                "remove it, or replace it with what it stands for",
            )
        )


def _check_temp_files(
    store: LocalStore, report: FsckReport, *, repair: bool, temp_age: float
) -> None:
    now = time.time()
    found = 0
    for path in store.temp_files():
        found += 1
        relative = path.relative_to(store.root).as_posix()
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue  # its writer finished (or another fsck removed it) meanwhile
        if repair and age >= temp_age:
            with map_os_errors(path, "remove"), contextlib.suppress(FileNotFoundError):
                path.unlink()
            report.removed.append(relative)
            continue
        hint = (
            f"younger than {temp_age:g} s, so left alone: it may belong to a running writer"
            if repair
            else "run `mlineage fsck --repair` to remove orphans"
        )
        report.problems.append(
            Problem(
                "temp-file",
                relative,
                f"leftover temporary file ({_size(path)} bytes, {age:.0f} s old) of a write "
                f"that never finished; readers ignore it; {hint}",
            )
        )
    report.checked["temporary files"] = found


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
