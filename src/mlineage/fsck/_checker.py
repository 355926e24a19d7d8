"""The checks of :func:`mlineage.fsck`: records, graph, names, blobs."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from mlineage import _keys
from mlineage._reader import StoreReader
from mlineage.codec import (
    STORE_MARKER_KEY,
    decode_claim,
    decode_marker,
    decode_pack,
    pack_listed_ids,
)
from mlineage.content import digest_of_key, hash_blobs, is_blob_key
from mlineage.errors import CorruptRecord, HashMismatch, NotFound, StoreFormatError
from mlineage.fsck._report import FsckReport, Problem
from mlineage.records import (
    AliasEvent,
    ArtifactRef,
    Event,
    FingerprintEvent,
    FingerprintRef,
    ModelVersion,
    StatusEvent,
    validate_name,
)
from mlineage.storage import Store

__all__ = ["Checker"]

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
        self.check_cycles(model, versions)
        for event in sorted(events.values(), key=lambda e: e.id):
            self.note_references(model, event)
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
                    f"{', '.join(v[:12] for v in looping)}); a lineage is acyclic, so readers "
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

    def note_references(self, model: str, version: ModelVersion | Event) -> None:
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
