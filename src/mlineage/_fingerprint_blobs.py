"""Fingerprints made ready to store: the references for a record and the blobs to write.

The writer calls :func:`prepare` for the fingerprints given to a version
(``v.fingerprint = probe.evaluate(...)``) and :func:`mlineage.fingerprints.record_fingerprint`
for one recorded later; both store the blobs before the record that refers to them. Its own
module, under the writer, so that the writer does not import the write verbs of a tracker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mlineage.content import blob_key_of
from mlineage.errors import InvalidInput
from mlineage.records import FingerprintRef

__all__ = ["Prepared", "prepare"]


@dataclass(frozen=True)
class Prepared:
    """Fingerprints ready to store: the references for the record and the blobs to write."""

    refs: tuple[FingerprintRef, ...]
    blobs: dict[str, bytes]


def prepare(
    value: object,
    probe_blobs: dict[str, str],
    find_probe_blob: Callable[[str], str | None],
) -> Prepared:
    """Check what was given as ``v.fingerprint`` and serialise it.

    Parameters
    ----------
    value : Fingerprint or sequence of Fingerprint
    probe_blobs : dict
        Probe hash -> blob key of probe sets already stored (read and updated): a probe
        set is serialised and hashed once per writer, not once per version.
    find_probe_blob : callable
        Probe hash -> blob key of that probe set in the lineage, or None; asked only for
        a fingerprint that does not carry its probe set (read back, or built by hand).

    Raises
    ------
    InvalidInput
        Not a Fingerprint (or list of them), or two fingerprints on one probe set.
    """
    from mlineage.stats.probes import Fingerprint  # numpy: only when used

    items = [value] if isinstance(value, Fingerprint) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise InvalidInput(
            f"fingerprint must be a Fingerprint (probe.evaluate(...)) or a list of them, got "
            f"{type(value).__name__}; nothing was written"
        )
    refs: list[FingerprintRef] = []
    blobs: dict[str, bytes] = {}
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, Fingerprint):
            raise InvalidInput(
                f"fingerprint must hold Fingerprint objects, got {type(item).__name__}; "
                "nothing was written"
            )
        if item.probe_hash in seen:
            raise InvalidInput(
                f"two fingerprints on probe set {item.probe_hash[:19]}... for one version; "
                "give one per probe set; nothing was written"
            )
        seen.add(item.probe_hash)
        probe = item.probe
        probe_key = probe_blobs.get(item.probe_hash)
        if probe_key is None and probe is not None:
            data = probe.to_bytes()
            probe_key = blob_key_of(data)
            blobs[probe_key] = data
        elif probe_key is None:
            probe_key = find_probe_blob(item.probe_hash)
        data = item.to_bytes()
        key = blob_key_of(data)
        blobs[key] = data
        refs.append(
            FingerprintRef(
                probe=item.probe_hash,
                probe_name="" if probe is None else probe.name,
                probe_blob=probe_key,
                blob=key,
                summary=item.summary(),
            )
        )
        if probe_key is not None:
            probe_blobs[item.probe_hash] = probe_key
    return Prepared(tuple(refs), blobs)
