"""Probe sets, behavioural fingerprints, and the difference between two fingerprints.

A :class:`ProbeSet` is a fixed set of inputs (with optional labels and group labels),
identified by a content hash. Running a model on it gives a :class:`Fingerprint`: its
predictions (and probabilities and embeddings when given) plus a small summary. Two
fingerprints of the same probe set compare into a :class:`BehaviorDiff`: churn, flip
rates, per-group accuracy, representation drift and calibration. Everything here is
plain arrays; the tracker stores probe sets and fingerprints as blobs
(:meth:`ProbeSet.to_bytes`, :meth:`Fingerprint.to_bytes`) and summaries in records
(:meth:`Fingerprint.summary`).

This module is the public home of those names; the code lives in private modules by
concern: ``_arrays`` (the portable bytes container and the checks of model outputs),
``_probeset`` (:class:`ProbeSet`), ``_fingerprint`` (:class:`Fingerprint`) and ``_compare``
(:func:`compare_fingerprints`, :class:`BehaviorDiff`, :class:`Flip`, :func:`churn_between`).
"""

from __future__ import annotations

from mlineage.stats._compare import BehaviorDiff, Flip, churn_between, compare_fingerprints
from mlineage.stats._fingerprint import Fingerprint
from mlineage.stats._probeset import ProbeSet

__all__ = [
    "BehaviorDiff",
    "Fingerprint",
    "Flip",
    "ProbeSet",
    "churn_between",
    "compare_fingerprints",
]
