"""The checks of :func:`mlineage.fsck`: records, graph, names, blobs."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mlineage import _keys
from mlineage._ids import handle
from mlineage._reader import StoreReader
from mlineage.codec import (
    MAX_RECORD_SIZE,
    STORE_MARKER_KEY,
    decode_claim,
    decode_marker,
    decode_pack,
    pack_listed_ids,
)
from mlineage.content import blob_key, digest_of_key, hash_blobs, is_blob_key
from mlineage.errors import (
    CorruptRecord,
    HashMismatch,
    NotFound,
    StoreFormatError,
    UnsupportedObject,
)
from mlineage.fsck._aliases import alias_log_problems
from mlineage.fsck._report import FsckReport, Problem
from mlineage.records import (
    AliasEvent,
    ArtifactRef,
    Event,
    EvidenceEvent,
    FingerprintEvent,
    FingerprintRef,
    ModelVersion,
    StatusEvent,
    validate_name,
)
from mlineage.storage import LocalStore, PutMode, Store

__all__ = ["Checker"]

#: Directories of a model that must not be objects (a file there hides every record).
_MODEL_DIRS = ("versions", "events", "packs", "names", "aliases")
#: How many unreadable objects of one model fsck steps around before it gives up on it.
_MAX_UNREADABLE = 100

_FSCK_HINT = re.compile(r";? *run `mlineage fsck`[^;]*$")


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


class Checker:
    """Reads every model of a store through the store reader and checks it."""

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
            data = self.store.get_limited(STORE_MARKER_KEY, MAX_RECORD_SIZE)
        except UnsupportedObject as exc:
            self.problem("bad-marker", STORE_MARKER_KEY, _plain(exc))
            return True
        except NotFound:
            if _is_directory(self.store, STORE_MARKER_KEY):
                self.problem(
                    "bad-layout",
                    STORE_MARKER_KEY,
                    "the store marker is a directory, where a file must be; remove it (the "
                    "next write through a Tracker recreates the marker)",
                )
            elif next(iter(self.store.list(_keys.MODELS)), None) is not None:
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
        self.check_layout(model)
        claims = _json_keys(self.store.list(_keys.names_prefix(model)))
        # An object the store will not read (too large for the format) stops a read: read
        # again without it, so that one such object hides nothing else.
        view = _Without(self.store)
        for _ in range(_MAX_UNREADABLE):
            reader: StoreReader[_DecodedPack] = StoreReader(
                view,
                model,
                lambda data, key: _decode_pack(bytes(data), key),
                lambda pack: (r.id for r in pack.records),
            )
            try:
                result = reader.read()
                break
            except UnsupportedObject as exc:
                key = exc.key
                if key is None or key in view.hidden or not key.startswith(f"{_keys.MODELS}"):
                    raise
                view.hidden.add(key)
                self.problem("corrupt-record", key, _plain(exc))
        else:
            self.problem(
                "corrupt-record",
                f"{_keys.MODELS}{model}/",
                f"more than {_MAX_UNREADABLE} objects of the model cannot be read; the rest "
                "of the model was not checked",
            )
            return
        copies: dict[str, list[_Source]] = {}
        damaged: set[str] = set()  # ids of records that did not decode
        damaged.update(_keys.record_id(k) for k in view.hidden if "/packs/" not in k)
        for damage in result.damage:
            if not damage.key.startswith(_keys.packs_prefix(model)):
                damaged.add(_keys.record_id(damage.key))
            self.problem(damage.kind, damage.key, _plain(damage.error))
        for pack in result.packs:
            self.check_pack(model, pack.key, bytes(pack.data), pack.contents, copies, damaged)
        for item in result.loose:
            copies.setdefault(item.record.id, []).append(_Source(item.key, item.record))
        entry_keys = {entry.event.id: entry.key for entry in result.alias_log}
        for entry in result.alias_log:
            copies.setdefault(entry.event.id, []).append(_Source(entry.key, entry.event))
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
        self.check_graph(model, versions, events, damaged, entry_keys)
        listed = view.list(_keys.aliases_prefix(model))
        self.report.problems += alias_log_problems(model, listed, events, entry_keys, damaged)
        self.check_names(model, claims, versions, damaged)
        for version in versions.values():
            self.note_references(model, version)

    def check_layout(self, model: str) -> None:
        """Report a file standing where a directory of the model must be."""
        for name in _MODEL_DIRS:
            key = f"{_keys.MODELS}{model}/{name}"
            if self.store.exists(key):
                self.problem(
                    "bad-layout",
                    key,
                    f"is a file where the directory of the model's {name} must be: readers "
                    "see none of them and writers cannot add any; move the file away",
                )

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
        keys: dict[str, str],
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
        self.check_cycles(model, versions)
        for event in sorted(events.values(), key=lambda e: e.id):
            self.note_references(model, event, keys.get(event.id))
            target = event.version
            if target is None or target in versions or target in damaged:
                continue
            if isinstance(event, AliasEvent):
                what = f"move of alias {event.alias!r} to"
            elif isinstance(event, StatusEvent):
                what = "status change of"
            elif isinstance(event, EvidenceEvent):
                what = f"{event.kind!r} evidence on"
            else:
                what = "annotation of"
            self.problem(
                "dangling-event",
                keys.get(event.id, _keys.event_key(model, event.id)),
                f"{what} version {target}, which is in no record of the model",
            )

    def check_cycles(self, model: str, versions: dict[str, ModelVersion]) -> None:
        """Report versions whose ancestry loops back to themselves (loads refuse them)."""
        import networkx as nx

        graph = nx.DiGraph()
        for version in versions.values():
            graph.add_edges_from((p, version.id) for p in version.parents if p in versions)
        for component in nx.strongly_connected_components(graph):
            looping = sorted(component)
            if len(looping) == 1 and not graph.has_edge(looping[0], looping[0]):
                continue
            for version_id in looping:
                self.problem(
                    "parent-cycle",
                    _keys.version_key(model, version_id),
                    f"version {version_id} is its own ancestor (through "
                    f"{', '.join(handle(v) for v in looping)}); a lineage is acyclic, so readers "
                    "cannot place it",
                )

    def check_names(
        self,
        model: str,
        claim_keys: list[str],
        versions: dict[str, ModelVersion],
        damaged: set[str],
    ) -> None:
        claims: dict[str, str] = {}  # name -> version id of its claim
        for key, data in self.store.get_many(claim_keys, limit=MAX_RECORD_SIZE):
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

    def note_references(
        self, model: str, version: ModelVersion | Event, key: str | None = None
    ) -> None:
        if isinstance(version, EvidenceEvent) and version.payload is not None:
            where = key or _keys.event_key(model, version.id)
            self.blob_refs.setdefault(version.payload, []).append((where, "evidence payload"))
        if isinstance(version, FingerprintEvent):
            fingerprints: tuple[FingerprintRef, ...] = (version.fingerprint,)
            key = _keys.event_key(model, version.id)
        else:
            fingerprints = version.fingerprints if isinstance(version, ModelVersion) else ()
            key = _keys.version_key(model, version.id)
        for ref in fingerprints:
            if ref.probe_blob is not None:
                self.blob_refs.setdefault(ref.probe_blob, []).append((key, "probe set"))
            self.blob_refs.setdefault(ref.blob, []).append((key, "fingerprint"))
        if not isinstance(version, ModelVersion):
            return
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
            if is_blob_key(key):
                wellformed.append(key)
            else:
                bad.add(key)
                self.problem(
                    "bad-blob",
                    key,
                    "not a blob key (blobs/sha256/<2 hex>/<62 hex>); no record can refer to it",
                )
        for key, actual in hash_blobs(self.store, wellformed):
            if actual is not None and actual != digest_of_key(key):
                bad.add(key)
                self.problem(
                    "bad-blob",
                    key,
                    f"its bytes hash to sha256:{actual}, not to its key: the blob is corrupt",
                )
        return bad

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
                    key = blob_key(entry.sha256)
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
            if not is_blob_key(key):
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


def _json_keys(keys: Iterable[str]) -> list[str]:
    # Readers ignore keys without the .json suffix; so does fsck.
    return sorted(k for k in keys if k.endswith(".json"))


def _is_directory(store: Store, key: str) -> bool:
    """Whether ``key`` names a directory (of a local store) or a prefix of other keys."""
    if isinstance(store, LocalStore):
        return store.path_of(key).is_dir()
    return next(iter(store.list(f"{key}/")), None) is not None


class _Without(Store):
    """A read-only view of a store that leaves some keys out of its listings."""

    def __init__(self, store: Store) -> None:
        super().__init__(read_only=True)
        self.store = store
        self.max_workers = store.max_workers
        self.hidden: set[str] = set()

    @property
    def uri(self) -> str:
        # docstring inherited
        return self.store.uri

    def get(self, key: str) -> bytes:
        # docstring inherited
        return self.store.get(key)

    def get_limited(self, key: str, limit: int) -> bytes:
        # docstring inherited
        return self.store.get_limited(key, limit)

    def get_many(
        self, keys: Iterable[str], *, limit: int | None = None
    ) -> Iterator[tuple[str, bytes | None]]:
        # docstring inherited
        return self.store.get_many(keys, limit=limit)

    def put(self, key: str, data: bytes, *, mode: PutMode = "create") -> None:
        # docstring inherited
        self._check_writable(key)

    def exists(self, key: str) -> bool:
        # docstring inherited
        return self.store.exists(key)

    def list(self, prefix: str = "") -> Iterator[str]:
        # docstring inherited
        return (k for k in self.store.list(prefix) if k not in self.hidden)

    def delete(self, key: str) -> None:
        # docstring inherited
        self._check_writable(key)
