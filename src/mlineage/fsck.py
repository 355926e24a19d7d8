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
    dangling-event        an annotation, status change or alias move naming a missing version
    unclaimed-name        a name claim whose version was never recorded
    missing-name-claim    a named version whose name has no claim
    name-conflict         a named version whose name is claimed by another version
    missing-manifest      a manifest blob a record refers to is missing
    corrupt-manifest      a manifest blob that does not hash to its key or does not parse
    missing-blob          an archived checkpoint file, data profile or captured environment
                          whose blob is missing
    bad-blob              a blob whose bytes do not hash to its key, or a malformed blob key
    temp-file             a leftover temporary file of a local store
    partial-upload        an incomplete S3 multipart upload (of a large archived blob)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlineage import _keys
from mlineage._reader import StoreReader
from mlineage.codec import (
    STORE_MARKER_KEY,
    decode_claim,
    decode_marker,
    decode_pack,
    pack_listed_ids,
)
from mlineage.errors import CorruptRecord, HashMismatch, NotFound, ReadOnlyError, StoreFormatError
from mlineage.records import (
    AliasEvent,
    ArtifactRef,
    Event,
    ModelVersion,
    StatusEvent,
    validate_name,
)
from mlineage.storage import LocalStore, Store, open_store

__all__ = ["FsckReport", "Problem", "fsck"]

_BLOB_KEY = re.compile(r"blobs/sha256/([0-9a-f]{2})/([0-9a-f]{62})\Z")
_CHUNK = 1 << 20
_FSCK_HINT = re.compile(r";? *run `mlineage fsck`[^;]*$")
#: Seconds after which a temporary file is taken to be an orphan by default.
DEFAULT_TEMP_AGE = 600.0


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a store.

    Attributes
    ----------
    kind : str
        A short stable string (see the module docstring), e.g. ``"corrupt-record"``.
    key : str
        The store key (or, for a temporary file, the path relative to the store root)
        the problem is about.
    message : str
        What is wrong, in a sentence.
    """

    kind: str
    key: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """``{"kind": ..., "key": ..., "message": ...}``."""
        return {"kind": self.kind, "key": self.key, "message": self.message}

    def __str__(self) -> str:
        return f"{self.kind}: {self.key}: {self.message}"


@dataclass
class FsckReport:
    """What :func:`fsck` found (and removed).

    Attributes
    ----------
    store : str
        URI of the store checked.
    problems : list of Problem
        Every problem found, grouped by model, in the order they were found.
    removed : list of str
        Temporary files removed by ``repair=True`` (paths relative to the store root),
        and incomplete uploads it aborted.
    checked : dict of str to int
        How many models, versions, events, packs, name claims, blobs and temporary files
        were looked at.
    """

    store: str
    problems: list[Problem] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def counts(self) -> dict[str, int]:
        """Problem kind -> how many, sorted by kind."""
        return dict(sorted(Counter(p.kind for p in self.problems).items()))

    def summary(self) -> str:
        """One line: what was checked, how many problems of which kinds, what was removed."""
        checked = ", ".join(
            f"{n} {what if n != 1 else what.removesuffix('s')}" for what, n in self.checked.items()
        )
        if self.ok:
            verdict = "no problems"
        else:
            kinds = ", ".join(f"{n} {kind}" for kind, n in self.counts.items())
            plural = "s" if len(self.problems) != 1 else ""
            verdict = f"{len(self.problems)} problem{plural} ({kinds})"
        line = f"{self.store}: checked {checked}: {verdict}"
        if self.removed:
            plural = "s" if len(self.removed) != 1 else ""
            line += f"; removed {len(self.removed)} temporary file{plural} or upload{plural}"
        return line

    def __str__(self) -> str:
        return "\n".join([*(str(p) for p in self.problems), self.summary()])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: store, ok, checked, counts, problems, removed."""
        return {
            "store": self.store,
            "ok": self.ok,
            "checked": dict(self.checked),
            "counts": self.counts,
            "problems": [p.to_dict() for p in self.problems],
            "removed": list(self.removed),
        }


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
    checker = _Checker(store, verify_blobs=verify_blobs)
    checker.run()
    report = checker.report
    if isinstance(store, LocalStore):
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
            with contextlib.suppress(FileNotFoundError):
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


@dataclass
class _DecodedPack:
    """A pack decoded in full, with its problems."""

    records: list[ModelVersion | Event]
    problems: list[CorruptRecord]


def _decode_pack(data: bytes, key: str) -> _DecodedPack:
    versions, events, problems = decode_pack(data, key, lenient=True)
    return _DecodedPack([*versions, *events], problems)


@dataclass
class _Source:
    """Where one copy of a record was found."""

    key: str
    record: ModelVersion | Event


class _Checker:
    def __init__(self, store: Store, *, verify_blobs: bool) -> None:
        self.store = store
        self.verify_blobs = verify_blobs
        self.report = FsckReport(store=store.uri)
        self.checked: Counter[str] = Counter()
        # Every reference to a blob key, with the record that makes it and what it is.
        self.blob_refs: dict[str, list[tuple[str, str]]] = {}
        self.manifest_refs: dict[str, list[str]] = {}
        self.archived_dirs: dict[str, list[str]] = {}

    def problem(self, kind: str, key: str, message: str) -> None:
        self.report.problems.append(Problem(kind, key, message))

    def run(self) -> None:
        if not self.check_marker():
            return
        for model in self.store.list_dir(_keys.MODELS):
            self.checked["models"] += 1
            try:
                validate_name(model, "model")
            except ValueError as exc:
                self.problem("bad-model-name", f"{_keys.MODELS}{model}/", str(exc))
                continue
            self.check_model(model)
        # Blobs are listed after the records: a writer stores blobs before the record that
        # refers to them, so every blob a record checked above names is in this listing.
        blobs = set(self.store.list("blobs/"))
        self.checked["blobs"] = len(blobs)
        bad = self.check_blobs(blobs) if self.verify_blobs else set()
        self.check_references(blobs, bad)
        order = ("models", "versions", "events", "packs", "name claims", "blobs")
        self.report.checked = {what: self.checked[what] for what in order}

    # -- marker ---------------------------------------------------------------------------

    def check_marker(self) -> bool:
        """Check the marker; return False if the store is too new to check further."""
        try:
            data = self.store.get(STORE_MARKER_KEY)
        except NotFound:
            if next(iter(self.store.list(_keys.MODELS)), None) is not None:
                self.problem(
                    "missing-marker",
                    STORE_MARKER_KEY,
                    "the store has records but no format marker; the next write through "
                    "a Tracker recreates it",
                )
            return True
        try:
            decode_marker(data, self.store.uri)
        except StoreFormatError as exc:
            self.problem(
                "newer-format", STORE_MARKER_KEY, f"{_plain(exc)}; nothing else was checked"
            )
            return False
        except CorruptRecord as exc:
            self.problem("bad-marker", STORE_MARKER_KEY, _plain(exc))
        return True

    # -- one model ------------------------------------------------------------------------

    def check_model(self, model: str) -> None:
        # Names are listed before the records: a name is claimed before its version is
        # written, so a claim seen here has its version in the later listing unless that
        # writer died. The reader lists loose records before packs (see mlineage._reader).
        claims = _json_keys(self.store.list(f"{_keys.MODELS}{model}/names/"))
        reader: StoreReader[_DecodedPack] = StoreReader(
            self.store, model, _decode_pack, lambda pack: (r.id for r in pack.records)
        )
        result = reader.read()
        copies: dict[str, list[_Source]] = {}
        damaged: set[str] = set()  # ids of records that did not decode
        for damage in result.damage:
            if not damage.key.startswith(_keys.packs_prefix(model)):
                damaged.add(_keys.record_id(damage.key))
            self.problem(damage.kind, damage.key, _plain(damage.error))
        for pack in result.packs:
            self.check_pack(model, pack.key, pack.data, pack.contents, copies, damaged)
        for item in result.loose:
            copies.setdefault(item.record.id, []).append(_Source(item.key, item.record))
        for key in result.vanished:
            self.problem(
                "vanished-record",
                key,
                "the record was deleted while fsck ran and is in no pack; if no compaction "
                "was running, it is lost",
            )
        self.checked["packs"] += len(result.packs) + sum(
            1 for d in result.damage if d.key.startswith(_keys.packs_prefix(model))
        )
        versions: dict[str, ModelVersion] = {}
        events: dict[str, Event] = {}
        for record_id, sources in copies.items():
            first = sources[0].record
            differing = [s.key for s in sources[1:] if s.record != first]
            if differing:
                self.problem(
                    "conflicting-duplicate",
                    sources[0].key,
                    f"record {record_id} is also in {', '.join(differing)} with different "
                    "content; readers keep whichever they read first",
                )
            if isinstance(first, ModelVersion):
                versions[record_id] = first
            else:
                events[record_id] = first
        self.checked["versions"] += len(versions)
        self.checked["events"] += len(events)
        self.check_graph(model, versions, events, damaged)
        self.check_names(model, claims, versions, damaged)
        for version in versions.values():
            self.note_references(model, version)

    def check_pack(
        self,
        model: str,
        key: str,
        data: bytes,
        pack: _DecodedPack,
        copies: dict[str, list[_Source]],
        damaged: set[str],
    ) -> None:
        for error in pack.problems:
            # Repeated entries are reported below, one problem per repeated id.
            if "more than once" not in str(error):
                self.problem("corrupt-record", key, _plain(error))
        listed = pack_listed_ids(data)
        for kind, ids in listed.items():
            for record_id, times in sorted(Counter(ids).items()):
                if times > 1:
                    self.problem(
                        "duplicate-in-pack",
                        key,
                        f"lists {kind} {record_id} {times} times; a pack lists each record once",
                    )
        # Ids of the entries that did not decode, so that what refers to them is not
        # reported again as dangling.
        damaged.update({i for ids in listed.values() for i in ids} - {r.id for r in pack.records})
        for record in pack.records:
            if record.model != model:
                self.problem(
                    "misplaced-record",
                    key,
                    f"holds record {record.id} of model {record.model!r}; a pack holds "
                    f"records of its own model ({model!r}) only",
                )
                continue
            copies.setdefault(record.id, []).append(_Source(key, record))

    def check_graph(
        self,
        model: str,
        versions: dict[str, ModelVersion],
        events: dict[str, Event],
        damaged: set[str],
    ) -> None:
        for version in sorted(versions.values(), key=lambda v: v.id):
            missing = [p for p in version.parents if p not in versions and p not in damaged]
            if missing:
                self.problem(
                    "dangling-parent",
                    _keys.version_key(model, version.id),
                    f"version {version.id} names parent(s) {', '.join(missing)} that are in "
                    "no record of the model; readers cannot place it in the lineage",
                )
        for event in sorted(events.values(), key=lambda e: e.id):
            target = event.version
            if target is None or target in versions or target in damaged:
                continue
            if isinstance(event, AliasEvent):
                what = f"move of alias {event.alias!r} to"
            elif isinstance(event, StatusEvent):
                what = "status change of"
            else:
                what = "annotation of"
            self.problem(
                "dangling-event",
                _keys.event_key(model, event.id),
                f"{what} version {target}, which is in no record of the model",
            )

    def check_names(
        self,
        model: str,
        claim_keys: list[str],
        versions: dict[str, ModelVersion],
        damaged: set[str],
    ) -> None:
        claims: dict[str, str] = {}  # name -> version id of its claim
        for key, data in self.store.get_many(claim_keys):
            if data is None:
                continue
            self.checked["name claims"] += 1
            name = _keys.record_id(key)
            holder = self.decode_claim(key, data, name)
            if holder is None:
                continue
            claims[name] = holder
            version = versions.get(holder)
            if version is None:
                if holder not in damaged:
                    self.problem(
                        "unclaimed-name",
                        key,
                        f"name {name!r} is claimed for version {holder}, which is in no "
                        "record (a writer that dies between claiming a name and writing its "
                        "version leaves this); the name stays taken until the claim is deleted",
                    )
            elif version.name != name:
                self.problem(
                    "name-conflict",
                    key,
                    f"claims name {name!r} for version {holder}, whose name is {version.name!r}",
                )
        for version in sorted(versions.values(), key=lambda v: v.id):
            if version.name is None:
                continue
            holder = claims.get(version.name)
            key = _keys.version_key(model, version.id)
            if holder is None:
                self.problem(
                    "missing-name-claim",
                    key,
                    f"version {version.id} is named {version.name!r} but the name has no "
                    f"claim ({_keys.name_key(model, version.name)})",
                )
            elif holder != version.id:
                self.problem(
                    "name-conflict",
                    key,
                    f"version {version.id} is named {version.name!r}, but that name is "
                    f"claimed by version {holder}",
                )

    def decode_claim(self, key: str, data: bytes, name: str) -> str | None:
        try:
            return decode_claim(data, key, name)
        except StoreFormatError as exc:
            self.problem("newer-format", key, _plain(exc))
        except CorruptRecord as exc:
            self.problem("corrupt-record", key, _plain(exc))
        return None

    # -- blobs ----------------------------------------------------------------------------

    def note_references(self, model: str, version: ModelVersion) -> None:
        key = _keys.version_key(model, version.id)
        if version.dataset.manifest is not None:
            self.manifest_refs.setdefault(version.dataset.manifest, []).append(key)
        if version.dataset.profile is not None:
            self.blob_refs.setdefault(version.dataset.profile, []).append((key, "data profile"))
        if version.environment_ref is not None:
            self.blob_refs.setdefault(version.environment_ref, []).append((key, "environment"))
        artifact = version.model_artifact
        if artifact is None:
            return
        if artifact.manifest is not None:
            self.manifest_refs.setdefault(artifact.manifest, []).append(key)
        if artifact.blob is None:
            return
        if artifact.kind == "directory":
            self.archived_dirs.setdefault(artifact.manifest or artifact.blob, []).append(key)
        else:
            self.blob_refs.setdefault(artifact.blob, []).append((key, _label(artifact)))

    def check_blobs(self, keys: Iterable[str]) -> set[str]:
        """Hash every blob; report and return those whose bytes do not match their key."""
        bad: set[str] = set()
        wellformed = []
        for key in sorted(keys):
            if _BLOB_KEY.match(key):
                wellformed.append(key)
            else:
                bad.add(key)
                self.problem(
                    "bad-blob",
                    key,
                    "not a blob key (blobs/sha256/<2 hex>/<62 hex>); no record can refer to it",
                )
        for key, actual in self.hash_blobs(wellformed):
            if actual is not None and actual != _digest_of(key):
                bad.add(key)
                self.problem(
                    "bad-blob",
                    key,
                    f"its bytes hash to sha256:{actual}, not to its key: the blob is corrupt",
                )
        return bad

    def hash_blobs(self, keys: list[str]) -> Iterable[tuple[str, str | None]]:
        store = self.store
        if isinstance(store, LocalStore):
            # Stream from the file: archived checkpoints can be larger than memory.
            for key in keys:
                digest = hashlib.sha256()
                try:
                    with open(store.path_of(key), "rb") as f:
                        while chunk := f.read(_CHUNK):
                            digest.update(chunk)
                except FileNotFoundError:
                    yield key, None
                    continue
                yield key, digest.hexdigest()
            return
        # Remote: a bounded batch at a time, so that only that many blobs are in memory.
        batch = max(1, store.max_workers)
        for start in range(0, len(keys), batch):
            for key, data in store.get_many(keys[start : start + batch]):
                yield key, None if data is None else hashlib.sha256(data).hexdigest()

    def check_references(self, blobs: set[str], bad: set[str]) -> None:
        from mlineage.artifacts import manifest_entries  # imports numpy via hashing

        for manifest, referrers in sorted(self.manifest_refs.items()):
            where = _referrers(referrers)
            if manifest not in blobs:
                self.problem("missing-manifest", manifest, f"manifest of {where} is missing")
                continue
            try:
                entries = manifest_entries(self.store, manifest)
            except NotFound:
                self.problem("missing-manifest", manifest, f"manifest of {where} is missing")
                continue
            except HashMismatch as exc:
                if manifest not in bad:  # else already reported as a bad blob
                    self.problem(
                        "corrupt-manifest", manifest, f"manifest of {where}: {_plain(exc)}"
                    )
                continue
            except CorruptRecord as exc:
                self.problem("corrupt-manifest", manifest, f"manifest of {where}: {_plain(exc)}")
                continue
            if manifest in self.archived_dirs:
                for entry in entries:
                    key = _keys.blob_key(entry.sha256)
                    if key not in blobs:
                        self.problem(
                            "missing-blob",
                            key,
                            f"archived file {entry.path!r} of the checkpoint directory of "
                            f"{_referrers(self.archived_dirs[manifest])} is missing",
                        )
        for key, uses in sorted(self.blob_refs.items()):
            if key in blobs:
                continue
            what, referrers = uses[0][1], [u[0] for u in uses]
            if not _BLOB_KEY.match(key):
                message = f"{what} of {_referrers(referrers)} refers to {key!r}, not a blob key"
            else:
                message = f"{what} blob of {_referrers(referrers)} is missing"
            self.problem("missing-blob", key, message)


def _plain(error: Exception) -> str:
    """An error's message without the "run `mlineage fsck`" hint (we are fsck)."""
    return _FSCK_HINT.sub("", str(error))


def _label(artifact: ArtifactRef) -> str:
    return f"archived checkpoint {artifact.path!r}"


def _referrers(keys: list[str]) -> str:
    shown = ", ".join(keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _digest_of(key: str) -> str:
    parts = key.split("/")
    return parts[-2] + parts[-1]


def _json_keys(keys: Iterable[str]) -> list[str]:
    # Readers ignore keys without the .json suffix; so does fsck.
    return sorted(k for k in keys if k.endswith(".json"))
