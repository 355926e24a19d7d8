"""Fingerprints on the write path: behaviour on a probe set, stored with or after a version.

A write verb beside :mod:`mlineage.writer` and :mod:`mlineage.evidence`. :func:`prepare`
turns the fingerprints given to a version (``v.fingerprint = probe.evaluate(...)``) or
recorded later (:func:`record_fingerprint`, which is ``tracker.record_fingerprint``) into
:class:`~mlineage.records.FingerprintRef` records and the blobs they point at: the probe
set's bytes (content-addressed, so stored once however many versions use it) and each
fingerprint's arrays. The writer stores the blobs before the record that refers to them.
Reading fingerprints back is lineage analysis (``tracker.analysis``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlineage import refs
from mlineage._fingerprint_blobs import Prepared, prepare
from mlineage.errors import InvalidInput
from mlineage.lineage_reads import find_probe_blob
from mlineage.records import FingerprintEvent

if TYPE_CHECKING:
    from mlineage._tracker_protocol import TrackerLike
    from mlineage.refs import Ref
    from mlineage.stats.probes import Fingerprint, ProbeSet

__all__ = ["Prepared", "prepare", "record_fingerprint"]


def record_fingerprint(
    tracker: TrackerLike,
    ref: Ref,
    probe: ProbeSet,
    *,
    predict: Callable[[Any], Any] | None = None,
    predict_proba: Callable[[Any], Any] | None = None,
    embed: Callable[[Any], Any] | None = None,
    fingerprint: Fingerprint | None = None,
) -> FingerprintEvent:
    """Record a version's behaviour on ``probe`` after the fact (``tracker.record_fingerprint``).

    Evaluates the model's callables on the probe set (as :meth:`ProbeSet.evaluate`), or
    takes a ``fingerprint`` computed elsewhere; stores the probe set (once) and the
    fingerprint's arrays as blobs, then a :class:`~mlineage.records.FingerprintEvent`. The
    version itself is never rewritten; ``tracker.analysis.fingerprints(ref)`` lists it.

    Parameters
    ----------
    ref : str or ModelVersion
        The version (id, prefix, name, alias).
    probe : ProbeSet
    predict, predict_proba, embed : callable, optional
        The model's callables, as for :meth:`ProbeSet.evaluate`.
    fingerprint : Fingerprint, optional
        One taken elsewhere on ``probe`` (instead of the callables).

    Returns
    -------
    FingerprintEvent
        The stored event.

    Raises
    ------
    ReadOnlyError, VersionNotFound
    InvalidInput
        Not a ProbeSet, both ``fingerprint`` and callables, or a fingerprint of another
        probe set; nothing is written.
    """
    from mlineage.stats.probes import ProbeSet  # numpy: only when used

    writer = tracker._writer
    writer.check_writable("record a fingerprint")
    version = refs.get_version(tracker._index, ref)
    if not isinstance(probe, ProbeSet):
        raise InvalidInput(f"probe must be a ProbeSet, got {type(probe).__name__}")
    if fingerprint is None:
        fingerprint = probe.evaluate(predict, predict_proba, embed)
    elif predict is not None or predict_proba is not None or embed is not None:
        raise InvalidInput("pass either fingerprint= or the model's callables, not both")
    elif fingerprint.probe_hash != probe.hash:
        raise InvalidInput(
            f"the fingerprint was taken on probe {fingerprint.probe_hash[:19]}..., not on "
            f"{probe.hash[:19]}... ({probe.name!r})"
        )
    elif fingerprint.probe is None:
        fingerprint.probe = probe
    index = tracker._index
    prepared = prepare(fingerprint, writer._probe_blobs, lambda h: find_probe_blob(index, h))
    return writer.event(
        FingerprintEvent, blobs=prepared.blobs, version=version.id, fingerprint=prepared.refs[0]
    )
