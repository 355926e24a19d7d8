"""Two fingerprints compared: :func:`compare_fingerprints`, :class:`BehaviorDiff` (private).

Public from :mod:`mlineage.analysis` and :mod:`mlineage.stats.probes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlineage import _optional as optional
from mlineage.errors import InvalidInput
from mlineage.stats._arrays import Array, group_key
from mlineage.stats._behaviour import (
    GroupChange,
    GroupLabel,
    equal_mask,
    group_changes,
    plain_label,
    same_kind,
)
from mlineage.stats._fingerprint import Fingerprint
from mlineage.stats._present import behaviour_html, behaviour_words, short_repr
from mlineage.stats._probeset import ProbeSet
from mlineage.stats._representation import linear_cka_and_procrustes
from mlineage.stats.calibration import CalibrationResult

__all__ = ["BehaviorDiff", "Flip", "churn_between", "compare_fingerprints"]


FlipKind = Literal["negative", "positive", "changed"]


@dataclass(frozen=True)
class Flip:
    """One probe example whose prediction changed.

    Attributes
    ----------
    index : int
        Row of the probe set.
    kind : {"negative", "positive", "changed"}
        ``negative``: right before, wrong after; ``positive``: wrong before, right after;
        ``changed``: wrong both times, or no labels.
    old, new : str, int, float or bool
        The two predictions.
    label : str, int, float, bool or None
        The true label, when known.
    confidence_drop : float or None
        With labels, ``p_old(label) - p_new(label)``; without, ``p_old(old) - p_new(old)``:
        how much probability the new model took away from the answer that was trusted.
        None unless both fingerprints have probabilities.
    """

    index: int
    kind: FlipKind
    old: GroupLabel
    new: GroupLabel
    label: GroupLabel | None = None
    confidence_drop: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict.

        Returns
        -------
        dict
            One key per attribute, ``kind`` as its string.

        Examples
        --------
        >>> Flip(3, "negative", 1, 0, 1, 0.5).to_dict()["kind"]
        'negative'
        """
        return {
            "index": self.index,
            "kind": self.kind,
            "old": self.old,
            "new": self.new,
            "label": self.label,
            "confidence_drop": self.confidence_drop,
        }


@dataclass(frozen=True)
class BehaviorDiff:
    """How a model's behaviour changed between two fingerprints of one probe set.

    Made by :func:`compare_fingerprints`. Fields that need something the inputs lack
    (labels, probabilities, embeddings) are None; ``notes`` says why when it is not
    obvious.

    Attributes
    ----------
    probe_hash : str
        The probe set both fingerprints belong to.
    n : int
        Number of probe rows.
    churn : float
        Share of predictions that changed.
    changed : int
        Number of predictions that changed.
    accuracy_old, accuracy_new : float or None
        Accuracy before and after.
    negative_flip_rate, positive_flip_rate : float or None
        Yan et al. 2021 (need the probe set's labels).
    backward_trust_compatibility : float or None
        Bansal et al. 2019 (needs labels; 1.0 when the old model got nothing right).
    groups : tuple of GroupChange
        Per-group accuracy before and after, and flip rates, worst group first. Without
        the probe set, only the accuracies stored in the fingerprints (churn None).
    linear_cka, procrustes_distance : float or None
        Representation drift, when both fingerprints have embeddings.
    calibration_old, calibration_new : CalibrationResult or None
        ECE, MCE and reliability bins, when the fingerprints have probabilities and the
        probe set labels.
    top_flips : tuple of Flip
        Changed examples, negative flips first, then wrong-to-wrong changes, then positive
        flips; within each, by confidence drop (largest first) when both fingerprints
        have probabilities, else by row.
    notes : tuple of str
        What could not be computed and why.
    """

    probe_hash: str
    n: int
    churn: float
    changed: int
    accuracy_old: float | None = None
    accuracy_new: float | None = None
    negative_flip_rate: float | None = None
    positive_flip_rate: float | None = None
    backward_trust_compatibility: float | None = None
    groups: tuple[GroupChange, ...] = ()
    linear_cka: float | None = None
    procrustes_distance: float | None = None
    calibration_old: CalibrationResult | None = None
    calibration_new: CalibrationResult | None = None
    top_flips: tuple[Flip, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Return every field as JSON-ready values (nested dicts and lists).

        Returns
        -------
        dict
            One key per attribute; ``groups`` and ``top_flips`` as lists of dicts,
            calibrations as :meth:`CalibrationResult.to_dict`.

        Examples
        --------
        >>> import json
        >>> probe = ProbeSet([[0.0], [1.0]], y=[0, 1])
        >>> diff = compare_fingerprints(
        ...     probe.fingerprint(predictions=[0, 1]), probe.fingerprint(predictions=[0, 0]), probe
        ... )
        >>> json.loads(json.dumps(diff.to_dict()))["negative_flip_rate"]
        0.5
        """
        return {
            "probe_hash": self.probe_hash,
            "n": self.n,
            "churn": self.churn,
            "changed": self.changed,
            "accuracy_old": self.accuracy_old,
            "accuracy_new": self.accuracy_new,
            "negative_flip_rate": self.negative_flip_rate,
            "positive_flip_rate": self.positive_flip_rate,
            "backward_trust_compatibility": self.backward_trust_compatibility,
            "groups": [g.to_dict() for g in self.groups],
            "linear_cka": self.linear_cka,
            "procrustes_distance": self.procrustes_distance,
            "calibration_old": None
            if self.calibration_old is None
            else self.calibration_old.to_dict(),
            "calibration_new": None
            if self.calibration_new is None
            else self.calibration_new.to_dict(),
            "top_flips": [f.to_dict() for f in self.top_flips],
            "notes": list(self.notes),
        }

    def to_pandas(self) -> Any:
        """The per-group table as a pandas DataFrame, worst group first.

        Returns
        -------
        pandas.DataFrame
            One row per group, the columns of :class:`GroupChange`, indexed by group.

        Raises
        ------
        MissingDependency
            pandas is not installed.

        Examples
        --------
        >>> probe = ProbeSet([[0.0], [1.0]], y=[0, 1], groups=["a", "b"])
        >>> diff = compare_fingerprints(
        ...     probe.fingerprint(predictions=[0, 1]), probe.fingerprint(predictions=[0, 0]), probe
        ... )
        >>> diff.to_pandas().index.tolist()  # doctest: +SKIP
        ['b', 'a']
        """
        pd = optional.pandas("BehaviorDiff.to_pandas()")
        columns = list(GroupChange("", 0, 0.0).to_dict())
        frame = pd.DataFrame([g.to_dict() for g in self.groups], columns=columns)
        return frame.set_index("group")

    def __repr__(self) -> str:
        return short_repr("BehaviorDiff", behaviour_words(self))

    def _repr_html_(self) -> str:
        return behaviour_html(self)

    def __str__(self) -> str:
        lines = [f"Behaviour diff on probe {self.probe_hash[:19]}... ({self.n:,} examples)"]

        def row(label: str, text: str) -> None:
            lines.append(f"  {label:<30}{text}")

        row("churn", f"{_pct(self.churn)}  ({self.changed:,} predictions changed)")
        if self.accuracy_old is not None and self.accuracy_new is not None:
            delta = 100 * (self.accuracy_new - self.accuracy_old)
            row(
                "accuracy",
                f"{_pct(self.accuracy_old)} -> {_pct(self.accuracy_new)}  ({delta:+.2f} pp)",
            )
        if self.negative_flip_rate is not None:
            row("negative flip rate", _pct(self.negative_flip_rate))
        if self.positive_flip_rate is not None:
            row("positive flip rate", _pct(self.positive_flip_rate))
        if self.backward_trust_compatibility is not None:
            row("backward trust compatibility", f"{self.backward_trust_compatibility:.4f}")
        if self.linear_cka is not None:
            row("linear CKA", f"{self.linear_cka:.4f}")
        if self.procrustes_distance is not None:
            row("Procrustes distance", f"{self.procrustes_distance:.4f}")
        if self.calibration_old is not None and self.calibration_new is not None:
            bins = len(self.calibration_new.bins)
            row(
                f"ECE ({bins} bins)",
                f"{self.calibration_old.ece:.4f} -> {self.calibration_new.ece:.4f}",
            )
            row("MCE", f"{self.calibration_old.mce:.4f} -> {self.calibration_new.mce:.4f}")
        if self.groups:
            lines.append("Groups (worst first):")
            width = max(5, *(len(str(g.group)) for g in self.groups[:10]))
            lines.append(
                f"  {'group':<{width}} {'n':>8} {'acc old':>8} {'acc new':>8} {'delta':>10} "
                f"{'NFR':>7} {'churn':>7}"
            )
            for g in self.groups[:10]:
                change = "" if g.accuracy_delta is None else f"{100 * g.accuracy_delta:+.2f} pp"
                lines.append(
                    f"  {g.group!s:<{width}} {g.n:>8,} {_pct(g.accuracy_old):>8} "
                    f"{_pct(g.accuracy_new):>8} {change:>10} {_pct(g.negative_flip_rate):>7} "
                    f"{_pct(g.churn):>7}"
                )
            if len(self.groups) > 10:
                lines.append(f"  ... {len(self.groups) - 10} more groups")
        if self.top_flips:
            lines.append("Top flips:")
            for f in self.top_flips[:10]:
                label = "" if f.label is None else f"  label {f.label!r}"
                drop = "" if f.confidence_drop is None else f"  drop {f.confidence_drop:+.3f}"
                lines.append(f"  #{f.index:<8} {f.kind:<9} {f.old!r} -> {f.new!r}{label}{drop}")
            if len(self.top_flips) > 10:
                lines.append(f"  ... {len(self.top_flips) - 10} more listed in top_flips")
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _same_probe(old: Fingerprint, new: Fingerprint, probe: ProbeSet | None) -> None:
    for name, fp in (("old", old), ("new", new)):
        if not isinstance(fp, Fingerprint):
            hint = ""
            if type(fp).__name__ == "ModelVersion":
                hint = "; for two versions use tracker.analysis.churn_between(version, parent)"
            raise InvalidInput(f"{name} must be a Fingerprint, got {type(fp).__name__}{hint}")
    if old.probe_hash != new.probe_hash:
        raise InvalidInput(
            f"the fingerprints were taken on different probe sets ({old.probe_hash[:19]}... "
            f"and {new.probe_hash[:19]}...); behaviour can only be compared on the same "
            "inputs: evaluate both versions on one ProbeSet"
        )
    if old.n != new.n:
        raise InvalidInput(
            f"the fingerprints claim the same probe set but have {old.n} and {new.n} rows"
        )
    if probe is not None:
        if not isinstance(probe, ProbeSet):
            raise InvalidInput(f"probe must be a ProbeSet, got {type(probe).__name__}")
        if probe.hash != old.probe_hash:
            raise InvalidInput(
                f"probe is {probe.hash[:19]}... but the fingerprints were taken on "
                f"{old.probe_hash[:19]}...; pass the probe set they were evaluated on"
            )


def churn_between(old: Fingerprint, new: Fingerprint) -> float:
    """Share of probe examples whose prediction differs between two fingerprints.

    Parameters
    ----------
    old, new : Fingerprint
        Fingerprints of two versions on the same probe set.

    Returns
    -------
    float
        The share of probe examples whose predictions differ, in [0, 1].

    Raises
    ------
    InvalidInput
        The fingerprints were taken on different probe sets, or their predictions cannot
        be compared (numbers against text).

    Examples
    --------
    >>> probe = ProbeSet([[0.0], [1.0], [2.0], [3.0]])
    >>> churn_between(probe.fingerprint([0, 1, 1, 0]), probe.fingerprint([0, 1, 0, 0]))
    0.25
    """
    _same_probe(old, new, None)
    same_kind(("old predictions", old.predictions), ("new predictions", new.predictions))
    return float(np.count_nonzero(~equal_mask(old.predictions, new.predictions)) / old.n)


def _probability_of(fp: Fingerprint, rows: npt.NDArray[np.intp], labels: Array) -> Array:
    """P(label) under ``fp`` for each of ``rows``; nan where the label is not a class."""
    assert fp.proba is not None
    classes = fp.classes
    k = 2 if fp.proba.ndim == 1 else fp.proba.shape[1]
    if classes is None:
        if labels.dtype.kind not in "biuf":
            return np.full(rows.shape[0], np.nan)
        column = labels.astype(np.int64)
        valid = (column == labels) & (column >= 0) & (column < k)
    else:
        order = np.argsort(classes, kind="stable")
        sorted_classes = classes[order]
        try:
            position = np.searchsorted(sorted_classes, labels)
        except TypeError:
            return np.full(rows.shape[0], np.nan)
        clipped = np.minimum(position, k - 1)
        valid = (position < k) & equal_mask(sorted_classes[clipped], labels)
        column = order[clipped]
    column = np.where(valid, column, 0)
    if fp.proba.ndim == 1:
        p1 = fp.proba[rows]
        values = np.where(column == 1, p1, 1.0 - p1)
    else:
        values = fp.proba[rows, column]
    return np.where(valid, values, np.nan)


def _top_flips(
    old: Fingerprint,
    new: Fingerprint,
    y: Array | None,
    changed: npt.NDArray[np.bool_],
    old_correct: npt.NDArray[np.bool_] | None,
    new_correct: npt.NDArray[np.bool_] | None,
    top: int,
) -> tuple[Flip, ...]:
    if top == 0 or not changed.any():
        return ()
    if old_correct is not None and new_correct is not None:
        kinds: list[tuple[FlipKind, npt.NDArray[np.bool_]]] = [
            ("negative", old_correct & ~new_correct),
            ("changed", changed & ~old_correct & ~new_correct),
            ("positive", ~old_correct & new_correct),
        ]
    else:
        kinds = [("changed", changed)]
    with_proba = old.proba is not None and new.proba is not None
    chosen: list[tuple[FlipKind, npt.NDArray[np.intp], Array | None]] = []
    left = top
    for kind, mask in kinds:
        rows = np.flatnonzero(mask)
        if rows.shape[0] == 0:
            continue
        drop = None
        if with_proba:
            reference = y[rows] if y is not None else old.predictions[rows]
            drop = _probability_of(old, rows, reference) - _probability_of(new, rows, reference)
            # nan (label not among a model's classes) sorts last.
            key = np.where(np.isnan(drop), -np.inf, drop)
            if rows.shape[0] > left:
                keep = np.argpartition(-key, left - 1)[:left]
                rows, drop, key = rows[keep], drop[keep], key[keep]
            order = np.lexsort((rows, -key))
            rows, drop = rows[order], drop[order]
        else:
            rows = rows[:left]
        chosen.append((kind, rows, drop))
        left -= rows.shape[0]
        if left == 0:
            break
    flips = []
    for kind, rows, drop in chosen:
        for j, i in enumerate(rows.tolist()):
            value = None if drop is None or math.isnan(float(drop[j])) else float(drop[j])
            flips.append(
                Flip(
                    index=int(i),
                    kind=kind,
                    old=plain_label(old.predictions[i]),
                    new=plain_label(new.predictions[i]),
                    label=None if y is None else plain_label(y[i]),
                    confidence_drop=value,
                )
            )
    return tuple(flips)


def _stored_group_changes(old: Fingerprint, new: Fingerprint) -> tuple[GroupChange, ...]:
    before = {group_key(g.group): g for g in old.groups}
    rows = []
    for g in new.groups:
        prior = before.get(group_key(g.group))
        if prior is None:
            continue
        rows.append(
            GroupChange(
                group=g.group,
                n=g.n,
                churn=None,
                accuracy_old=prior.accuracy,
                accuracy_new=g.accuracy,
                accuracy_delta=g.accuracy - prior.accuracy,
            )
        )
    rows.sort(key=lambda r: (r.accuracy_delta or 0.0, -r.n, str(r.group)))
    return tuple(rows)


def compare_fingerprints(
    old: Fingerprint,
    new: Fingerprint,
    probe: ProbeSet | None = None,
    top: int = 20,
) -> BehaviorDiff:
    """Compare two versions' fingerprints on the same probe set.

    With the probe set (its labels and groups), everything is computed from the rows:
    churn, negative and positive flip rates, backward trust compatibility, per-group
    accuracy and flip rates (worst group first), and the most important flipped examples.
    Without it, only churn is computed from rows; accuracies, per-group accuracies and
    calibration come from what the fingerprints stored when they were made. Linear CKA
    and Procrustes distance are computed when both fingerprints have embeddings (the
    widths may differ); a constant embedding leaves them None with a note.

    Parameters
    ----------
    old, new : Fingerprint
        Fingerprints of the earlier and the later version.
    probe : ProbeSet, optional
        The probe set both were evaluated on.
    top : int, default 20
        Largest number of flipped examples to list.

    Returns
    -------
    BehaviorDiff

    Raises
    ------
    InvalidInput
        Fingerprints of different probe sets, a probe set that is not theirs,
        predictions that cannot be compared (numbers against text), or a negative
        ``top``.

    Examples
    --------
    >>> import numpy as np
    >>> probe = ProbeSet(np.zeros((6, 1)), y=[1, 1, 1, 1, 0, 0], groups=list("aaaabb"))
    >>> old = probe.fingerprint(predictions=[1, 1, 1, 0, 0, 0])
    >>> new = probe.fingerprint(predictions=[1, 1, 1, 1, 1, 0])
    >>> diff = compare_fingerprints(old, new, probe)
    >>> diff.accuracy_old == diff.accuracy_new, diff.groups[0].group
    (True, 'b')
    >>> diff.negative_flip_rate, [f.index for f in diff.top_flips]
    (0.16666666666666666, [4, 3])
    """
    _same_probe(old, new, probe)
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
        raise InvalidInput(f"top must be a non-negative integer, got {top!r}")
    same_kind(("old predictions", old.predictions), ("new predictions", new.predictions))
    n = old.n
    changed = ~equal_mask(old.predictions, new.predictions)
    count = int(np.count_nonzero(changed))
    notes: list[str] = []
    y = None if probe is None else probe.y
    old_correct = new_correct = None
    rates: dict[str, float | None] = {}
    accuracy_old, accuracy_new = old.accuracy, new.accuracy
    if y is not None:
        same_kind(
            ("y", y), ("old predictions", old.predictions), ("new predictions", new.predictions)
        )
        old_correct, new_correct = equal_mask(old.predictions, y), equal_mask(new.predictions, y)
        n_old, n_new = int(np.count_nonzero(old_correct)), int(np.count_nonzero(new_correct))
        negative = int(np.count_nonzero(old_correct & ~new_correct))
        positive = int(np.count_nonzero(~old_correct & new_correct))
        accuracy_old, accuracy_new = n_old / n, n_new / n
        rates = {
            "negative_flip_rate": negative / n,
            "positive_flip_rate": positive / n,
            "backward_trust_compatibility": (n_old - negative) / n_old if n_old else 1.0,
        }
    elif probe is None:
        notes.append("no probe set given: flip rates and per-group churn need its labels")
    else:
        notes.append("the probe set has no labels: only churn is computed")
    if probe is not None and probe._group_codes is not None and probe.group_labels is not None:
        groups = tuple(
            group_changes(probe.group_labels, probe._group_codes, changed, old_correct, new_correct)
        )
    else:
        groups = _stored_group_changes(old, new)
    cka = procrustes = None
    if old.embeddings is not None and new.embeddings is not None:
        try:
            cka, procrustes = linear_cka_and_procrustes(old.embeddings, new.embeddings)
        except InvalidInput as exc:
            notes.append(f"representation drift not computed: {exc}")
    elif (old.embeddings is None) != (new.embeddings is None):
        notes.append("only one fingerprint has embeddings: no representation drift")
    calibration_old, calibration_new = old.calibration, new.calibration
    if (calibration_old is None) != (calibration_new is None):
        notes.append("only one fingerprint has calibration (probabilities): none compared")
        calibration_old = calibration_new = None
    flips = _top_flips(old, new, y, changed, old_correct, new_correct, int(top))
    return BehaviorDiff(
        probe_hash=old.probe_hash,
        n=n,
        churn=count / n,
        changed=count,
        accuracy_old=accuracy_old,
        accuracy_new=accuracy_new,
        negative_flip_rate=rates.get("negative_flip_rate"),
        positive_flip_rate=rates.get("positive_flip_rate"),
        backward_trust_compatibility=rates.get("backward_trust_compatibility"),
        groups=groups,
        linear_cka=cka,
        procrustes_distance=procrustes,
        calibration_old=calibration_old,
        calibration_new=calibration_new,
        top_flips=flips,
        notes=tuple(notes),
    )
