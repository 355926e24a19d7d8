"""Behaviour on the lineage: fingerprints stored with versions, read back and compared.

:class:`BehaviourLineage`, reached through ``tracker.analysis``, finds a version's
fingerprints (its record, then its fingerprint events), reads each blob at most once per
tracker (verified against its key; a small cache keeps the last few decoded) and compares
two versions on the probe set they share. Storing fingerprints is a write:
:mod:`mlineage.fingerprints` (``v.fingerprint = ...``, ``tracker.record_fingerprint``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from mlineage.content import read_decoded, unreadable_as_corrupt
from mlineage.errors import (
    CorruptRecord,
    FingerprintNotFound,
    InvalidInput,
)
from mlineage.records import FingerprintEvent, FingerprintRef, ModelVersion

if TYPE_CHECKING:
    from mlineage._tracker_protocol import TrackerLike
    from mlineage.refs import Ref
    from mlineage.stats._compare import BehaviorDiff
    from mlineage.stats._fingerprint import Fingerprint
    from mlineage.stats._probeset import ProbeSet

__all__ = ["BehaviourLineage"]

_T = TypeVar("_T")
#: Decoded blobs kept per tracker: enough for a walk along a history (two at a time)
#: and a few comparisons, without holding every embedding matrix of a long lineage.
_CACHE_ENTRIES = 8


class BehaviourLineage:
    """Fingerprints along one tracker's lineage: the behaviour half of the
    :class:`~mlineage.analysis.lineage.Analysis` that ``tracker.analysis`` is, which makes
    it for its tracker."""

    def __init__(self, tracker: TrackerLike) -> None:
        self.tracker = tracker
        self._cache: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._lock = threading.Lock()

    # -- finding fingerprints -------------------------------------------------------------

    def version(self, ref: Ref) -> ModelVersion:
        """The version ``ref`` names."""
        return self.tracker.get_version(ref)

    def refs(self, ref: Ref) -> list[FingerprintRef]:
        """The version's fingerprints: its record's, then its fingerprint events', oldest first."""
        version = self.version(ref)
        later = self.tracker._reads.events_of(version.id)
        return [
            *version.fingerprints,
            *(e.fingerprint for e in later if isinstance(e, FingerprintEvent)),
        ]

    def by_probe(self, ref: Ref) -> dict[str, FingerprintRef]:
        """Probe hash -> the version's latest fingerprint on it."""
        return {f.probe: f for f in self.refs(ref)}

    def select(self, ref: Ref, probe: str | ProbeSet | None) -> FingerprintRef:
        """The version's fingerprint on ``probe`` (its only one when None).

        Raises
        ------
        FingerprintNotFound
            None on that probe set, or none at all, or several and ``probe`` is None.
        """
        version = self.version(ref)
        found = self.by_probe(version)
        if not found:
            raise FingerprintNotFound(
                f"version {version.short_id} of {version.model!r} has no fingerprint; set "
                "v.fingerprint = probe.evaluate(...) when logging, or record one with "
                "tracker.record_fingerprint(version, probe, predict=...)"
            )
        if probe is None:
            if len(found) == 1:
                return next(iter(found.values()))
            raise FingerprintNotFound(
                f"version {version.short_id} has fingerprints on {len(found)} probe sets "
                f"({_probe_list(found.values())}); pass probe= (a name or hash)"
            )
        matches = [f for f in found.values() if _matches(f, probe)]
        if len(matches) != 1:
            what = "no fingerprint" if not matches else "several fingerprints"
            raise FingerprintNotFound(
                f"version {version.short_id} has {what} on probe {_probe_name(probe)!r}; it "
                f"has {_probe_list(found.values())}"
            )
        return matches[0]

    def find_probe_blob(self, probe_hash: str) -> str | None:
        """Blob key of a stored copy of probe set ``probe_hash`` (``tracker._reads.probe_blob``)."""
        return self.tracker._reads.probe_blob(probe_hash)

    # -- reading blobs --------------------------------------------------------------------

    def _read(self, key: str, kind: str, decode: Callable[[bytes], _T]) -> _T:
        with self._lock:
            cached = self._cache.get((key, kind))
            if cached is not None:
                self._cache.move_to_end((key, kind))
                return cached  # type: ignore[return-value]
        store = self.tracker.store
        with unreadable_as_corrupt(store.uri, key, kind):
            value = read_decoded(store, key, decode, f"{kind} blob")
        with self._lock:
            self._cache[(key, kind)] = value
            while len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return value

    def load(self, ref: Ref | FingerprintRef, probe: str | ProbeSet | None = None) -> Fingerprint:
        """The stored fingerprint (a version and a probe, or a FingerprintRef), verified."""
        from mlineage.stats._fingerprint import Fingerprint

        fref = ref if isinstance(ref, FingerprintRef) else self.select(ref, probe)
        # Read by its key and verified against it: the container's checksum is not redone.
        fingerprint = self._read(
            fref.blob, "fingerprint", lambda data: Fingerprint.from_bytes(data, verified=True)
        )
        if fingerprint.probe_hash != fref.probe:
            raise CorruptRecord(
                f"fingerprint blob {fref.blob} belongs to probe {fingerprint.probe_hash}, but "
                f"the record says {fref.probe}; run `mlineage fsck`"
            )
        return fingerprint

    def load_probe(self, probe: str | FingerprintRef) -> ProbeSet:
        """A stored probe set, by its hash (or a FingerprintRef on it), verified."""
        from mlineage.stats._probeset import ProbeSet

        if isinstance(probe, FingerprintRef):
            probe_hash, key = probe.probe, probe.probe_blob
        else:
            if not isinstance(probe, str):
                raise InvalidInput(f"probe must be a probe hash, got {type(probe).__name__}")
            probe_hash, key = probe, None
        if key is None:
            key = self.find_probe_blob(probe_hash)
        if key is None:
            raise FingerprintNotFound(
                f"no record of {self.tracker.model!r} stores probe set {probe_hash!r}; it is "
                "stored when a fingerprint made by probe.evaluate(...) is logged"
            )
        loaded = self._read(key, "probe set", lambda data: ProbeSet.from_bytes(data, verified=True))
        if loaded.hash != probe_hash:
            raise CorruptRecord(
                f"probe set blob {key} holds probe {loaded.hash}, not {probe_hash}; run "
                "`mlineage fsck`"
            )
        return loaded

    # -- comparing ------------------------------------------------------------------------

    def pair(self, a: Ref | None, b: Ref | None) -> tuple[ModelVersion, ModelVersion]:
        """(old, new): ``a`` and ``b``; ``a`` and its first parent; or the latest and its."""
        if b is not None:
            if a is None:
                raise InvalidInput("compare(b=...) needs a as well: compare(a, b)")
            return self.version(a), self.version(b)
        return self.tracker._reads.compared(
            None,
            a,
            empty=lambda: FingerprintNotFound(f"model {self.tracker.model!r} has no versions"),
            root=lambda new: InvalidInput(
                f"version {new.short_id} has no parent to compare with; name both versions, "
                "the older first"
            ),
        )

    def shared(
        self, old: ModelVersion, new: ModelVersion, probe: str | ProbeSet | None
    ) -> tuple[FingerprintRef, FingerprintRef]:
        """The two versions' fingerprints on one probe set they share.

        Several shared and ``probe`` None: the one ``new`` recorded last.

        Raises
        ------
        FingerprintNotFound
            They share none (or not ``probe``); the message lists the probes of each.
        """
        mine, theirs = self.by_probe(old), self.by_probe(new)
        common = [h for h in theirs if h in mine and (probe is None or _matches(theirs[h], probe))]
        if not common:
            wanted = "" if probe is None else f" {_probe_name(probe)!r}"
            raise FingerprintNotFound(
                f"versions {old.short_id} and {new.short_id} share no probe set{wanted}: "
                f"{old.short_id} has {_probe_list(mine.values())}; {new.short_id} has "
                f"{_probe_list(theirs.values())}; evaluate both on one ProbeSet "
                "(tracker.record_fingerprint(version, probe, predict=...))"
            )
        last = common[-1]
        return mine[last], theirs[last]

    def compare(
        self, a: Ref | None, b: Ref | None, probe: str | ProbeSet | None, top: int
    ) -> BehaviorDiff:
        """``tracker.analysis.compare``: see there."""
        from mlineage.stats._compare import compare_fingerprints
        from mlineage.stats._probeset import ProbeSet

        old, new = self.pair(a, b)
        first, second = self.shared(old, new, probe)
        probe_set = probe if isinstance(probe, ProbeSet) else None
        if probe_set is None:
            stored = first if first.probe_blob is not None else second
            probe_set = None if stored.probe_blob is None else self.load_probe(stored)
        return compare_fingerprints(self.load(first), self.load(second), probe_set, top)

    def churn_between(self, version: Ref, parent: Ref | None) -> float | None:
        """``tracker.analysis.churn_between``: see there."""
        from mlineage.stats._compare import churn_between

        if parent is None:
            return None
        old, new = self.version(parent), self.version(version)
        try:
            first, second = self.shared(old, new, None)
        except FingerprintNotFound:
            return None
        return churn_between(self.load(first), self.load(second))


def _matches(fref: FingerprintRef, probe: object) -> bool:
    from mlineage.stats._probeset import ProbeSet

    if isinstance(probe, ProbeSet):
        return fref.probe == probe.hash
    if not isinstance(probe, str) or not probe:
        raise InvalidInput(f"probe must be a ProbeSet, a probe name or a probe hash, got {probe!r}")
    if probe == fref.probe_name:
        return True
    digits = probe.removeprefix("sha256:")
    return len(digits) >= 4 and fref.probe.removeprefix("sha256:").startswith(digits)


def _probe_name(probe: object) -> str:
    name = getattr(probe, "name", None)
    return str(name) if name is not None else str(probe)


def _probe_list(refs: Iterable[FingerprintRef]) -> str:
    items = [f"{r.probe_name or 'probe'!r} ({r.probe[:19]}...)" for r in refs]
    return ", ".join(items) if items else "no fingerprint"
