"""The drift cache: drift reports kept in the store, bound to what they were computed from.

A drift report depends only on the two profiles and the test parameters, all immutable, so
a store computes it once. The report is stored as a content-addressed blob (its bytes hash
to its key, like every blob), and the lookup as a small JSON object::

    models/<model>/cache/drift/<digest>.json
    {"format": 2, "kind": "drift", "algorithm": 1,
     "reference": "<version id>", "current": "<version id>",
     "reference_profile": "blobs/sha256/...", "current_profile": "blobs/sha256/...",
     "parameters": {"alpha": ..., "correction": ..., "drift_share": ...},
     "result": "blobs/sha256/..."}

Everything but ``result`` is the lookup's *inputs*; ``<digest>`` is the SHA-256 of their
canonical JSON (sorted keys, no spaces). The report blob repeats them::

    {"format": 2, "kind": "drift-report", "inputs": {...}, "report": {...}}

so a report names the pair of versions, the profiles (by their content-addressed keys, so
their digests) and the parameters it was computed from. A read checks all of it: the
lookup parses (at any nesting depth) into exactly the asked inputs and a blob key; the blob
hashes to that key, parses, repeats the same inputs, and holds a well-typed report of the
same two versions and parameters. Anything else — a damaged lookup or blob, a lookup that
names another pair's report (or one from other profiles or parameters), a lookup of an
older layout — is a miss: the report is recomputed and, unless the tracker is read-only,
the lookup rewritten. Format 1 lookups (without the version ids) sit under other digests
and are never read; they are safe to delete, like the whole cache.

The blob is written before the lookup that names it, so a lookup never names a missing
blob; a lookup is written create-only, and replaced only when the one found there failed
the checks (a process racing this one writes the same bytes, so nothing changes).
``ALGORITHM`` changes when :func:`~mlineage.analysis.drift_between` would give a different
answer, which retires older entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from mlineage._keys import drift_cache_key
from mlineage.codec import parse_json
from mlineage.content import BlobCache, blob_key_of, is_blob_key
from mlineage.errors import AlreadyExists, CorruptRecord, HashMismatch, NotFound
from mlineage.stats._drift_report import DriftReport
from mlineage.storage import Store

__all__ = ["ALGORITHM", "CACHE_FORMAT", "DriftCache"]

#: Version of the drift computation behind cached reports.
ALGORITHM = 3  # 3: reports carry the sketch bounds of W1/std and PSI
#: Layout of the lookups and report blobs (1: lookups without the versions' ids).
CACHE_FORMAT = 2
_REPORT_KEYS = {"format", "kind", "inputs", "report"}


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of ``value``: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class DriftCache:
    """Read and write one model's drift cache.

    Parameters
    ----------
    store : Store
    model : str
    read_only : bool
        Compute without writing: :meth:`put` does nothing.
    """

    def __init__(self, store: Store, model: str, read_only: bool) -> None:
        self.store = store
        self.model = model
        self.read_only = read_only
        self._reports = BlobCache(store)

    @staticmethod
    def inputs(
        reference: str,
        current: str,
        reference_profile: str,
        current_profile: str,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        """What a cached report is bound to: the two version ids, their profiles' blob
        keys, the test parameters, and the cache's format and algorithm."""
        return {
            "format": CACHE_FORMAT,
            "kind": "drift",
            "algorithm": ALGORITHM,
            "reference": reference,
            "current": current,
            "reference_profile": reference_profile,
            "current_profile": current_profile,
            "parameters": params,
        }

    def key(self, inputs: dict[str, Any]) -> str:
        """The lookup's key for ``inputs``."""
        return drift_cache_key(self.model, hashlib.sha256(canonical(inputs)).hexdigest())

    def get(self, inputs: dict[str, Any]) -> DriftReport | None:
        """The cached report for ``inputs``, verified; None on a miss (see the module doc).

        Raises only what the store raises for reasons other than damage
        (``StoreUnavailable``, ``PermissionDenied``): damage is a miss.
        """
        try:
            stored = parse_json(self.store.get(self.key(inputs)))
        except (NotFound, CorruptRecord, ValueError):  # ValueError: not (UTF-8) JSON
            return None
        if not isinstance(stored, dict) or set(stored) != {*inputs, "result"}:
            return None
        if any(stored[name] != value for name, value in inputs.items()):
            return None  # a digest collision, or a lookup written by hand
        result = stored["result"]
        if not (isinstance(result, str) and is_blob_key(result)):
            return None  # checked before reading: never read an arbitrary key
        try:
            bound, report = self._reports.get(result, _decode, "drift report")
        except (NotFound, HashMismatch, CorruptRecord):
            return None
        params = inputs["parameters"]
        if (
            bound != inputs
            or (report.reference, report.current) != (inputs["reference"], inputs["current"])
            or (report.alpha, report.correction, report.drift_share)
            != (params["alpha"], params["correction"], params["drift_share"])
        ):
            return None  # another pair's report, or other profiles or parameters
        return report

    def put(self, inputs: dict[str, Any], report: DriftReport) -> None:
        """Store ``report`` (computed from ``inputs``) and the lookup naming it."""
        if self.read_only:
            return
        data = canonical(
            {
                "format": CACHE_FORMAT,
                "kind": "drift-report",
                "inputs": inputs,
                "report": report.to_dict(),
            }
        )
        blob = blob_key_of(data)
        self.store.put_if_absent(blob, data)  # the blob before the lookup that names it
        key, entry = self.key(inputs), canonical({**inputs, "result": blob})
        try:
            self.store.put(key, entry, mode="create")
        except AlreadyExists:
            # Only a miss computes, so the lookup there failed the checks (damaged, another
            # pair's, written by hand) or a racing process wrote these very bytes.
            with contextlib.suppress(NotFound, CorruptRecord):
                if self.store.get(key) == entry:
                    return
            with contextlib.suppress(CorruptRecord):  # a symlink there: fsck's business
                self.store.put(key, entry, mode="overwrite")


def _decode(data: bytes) -> tuple[Any, DriftReport]:
    """A report blob's inputs and report (the report checked field by field)."""
    try:
        stored = parse_json(data)
    except ValueError:
        raise CorruptRecord("a cached drift report is not JSON") from None
    if not isinstance(stored, dict) or set(stored) != _REPORT_KEYS:
        raise CorruptRecord("a cached drift report is not a format 2 report object")
    if stored["format"] != CACHE_FORMAT or stored["kind"] != "drift-report":
        raise CorruptRecord(
            f"a cached drift report has format {stored['format']!r} and kind "
            f"{stored['kind']!r}, not {CACHE_FORMAT} and 'drift-report'"
        )
    return stored["inputs"], DriftReport.from_dict(stored["report"])
