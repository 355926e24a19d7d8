"""The code of :mod:`mlineage.stats.behaviour` (its public home) and the helpers the
other statistics modules share with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput

__all__ = [
    "GroupChange",
    "GroupMetrics",
    "backward_trust_compatibility",
    "churn",
    "group_flip_rates",
    "group_metrics",
    "negative_flip_rate",
    "positive_flip_rate",
]

GroupLabel = str | int | float | bool
"""A group (slice) label as a plain Python value: what ``ndarray.item()`` gives."""

_Array = npt.NDArray[Any]

_NUMERIC_KINDS = "biuf"
_TEXT_KINDS = "US"


def _kind_family(kind: str) -> str:
    if kind in _NUMERIC_KINDS:
        return "numbers"
    if kind in _TEXT_KINDS:
        return "text"
    return kind


def as_array(values: object) -> _Array:
    # Framework tensors (PyTorch, JAX, TensorFlow eager) expose their data to numpy once
    # detached from any autograd graph and moved to host memory.
    detach = getattr(values, "detach", None)
    if callable(detach):
        values = detach()
    cpu = getattr(values, "cpu", None)
    if callable(cpu):
        values = cpu()
    return np.asarray(values)


def check_labels(name: str, values: npt.ArrayLike, n: int | None = None) -> _Array:
    """Check one vector of labels or predictions; return it as an array."""
    array = as_array(values)
    if array.ndim != 1:
        hint = (
            " (for class scores or one-hot rows take .argmax(axis=1) first)"
            if array.ndim == 2
            else ""
        )
        raise InvalidInput(f"{name} must be a 1-D vector of labels, got shape {array.shape}{hint}")
    if n is not None and array.shape[0] != n:
        raise InvalidInput(
            f"{name} has {array.shape[0]} rows but the first vector has {n}; "
            "all vectors must describe the same examples in the same order"
        )
    if array.shape[0] == 0:
        raise InvalidInput(f"{name} is empty; rates over zero examples are undefined")
    if array.dtype.kind in "fc" and np.isnan(array).any():
        where = int(np.flatnonzero(np.isnan(array))[0])
        raise InvalidInput(
            f"{name} holds nan (first at row {where}); a missing label or prediction is "
            "not a class: drop those rows or encode them as a class of their own"
        )
    return array


def same_kind(first: tuple[str, _Array], *others: tuple[str, _Array]) -> None:
    name0, a0 = first
    family0 = _kind_family(a0.dtype.kind)
    for name, array in others:
        family = _kind_family(array.dtype.kind)
        if "O" in (family0, family) or family == family0:
            continue
        raise InvalidInput(
            f"{name0} holds {family0} ({a0.dtype}) but {name} holds {family} "
            f"({array.dtype}); they would never compare equal. Convert one of them "
            f"(e.g. {name}.astype({str(a0.dtype)!r}))"
        )


def _pair(old: npt.ArrayLike, new: npt.ArrayLike) -> tuple[_Array, _Array]:
    a = check_labels("old", old)
    b = check_labels("new", new, a.shape[0])
    same_kind(("old", a), ("new", b))
    return a, b


def _triple(
    y_true: npt.ArrayLike, old: npt.ArrayLike, new: npt.ArrayLike
) -> tuple[_Array, _Array, _Array]:
    y = check_labels("y_true", y_true)
    a = check_labels("old", old, y.shape[0])
    b = check_labels("new", new, y.shape[0])
    same_kind(("y_true", y), ("old", a), ("new", b))
    return y, a, b


def equal_mask(a: _Array, b: _Array) -> npt.NDArray[np.bool_]:
    return np.asarray(a == b, dtype=bool)


def churn(old: npt.ArrayLike, new: npt.ArrayLike) -> float:
    """Share of examples whose prediction changed: ``mean(old != new)``.

    Also called the flip rate or prediction churn (Milani Fard et al. 2016). It needs no
    labels and is symmetric in ``old`` and ``new``.

    Parameters
    ----------
    old, new : array_like of shape (n,)
        Predicted labels of the two models on the same ``n`` examples, in the same order.

    Returns
    -------
    float
        The share of examples whose labels differ, in [0, 1].

    Raises
    ------
    InvalidInput
        Not 1-D, different lengths, empty, ``nan`` among the labels, or numbers against text.

    Examples
    --------
    >>> churn([0, 1, 1, 0], [0, 1, 0, 1])
    0.5
    >>> churn(["cat", "dog"], ["cat", "dog"])
    0.0
    """
    a, b = _pair(old, new)
    return float(np.count_nonzero(~equal_mask(a, b)) / a.shape[0])


def negative_flip_rate(y_true: npt.ArrayLike, old: npt.ArrayLike, new: npt.ArrayLike) -> float:
    """Share of examples the old model got right and the new one gets wrong.

    ``mean(old == y_true and new != y_true)``, the negative flip rate of Yan et al.,
    "Positive-Congruent Training", CVPR 2021. The denominator is every example, not only
    the ones the old model got right (that ratio is one minus
    :func:`backward_trust_compatibility`).

    Parameters
    ----------
    y_true : array_like of shape (n,)
        True labels.
    old, new : array_like of shape (n,)
        Predicted labels of the two models.

    Returns
    -------
    float
        In [0, 1]; ``negative_flip_rate + positive_flip_rate <= churn``.

    Raises
    ------
    InvalidInput
        Not 1-D, different lengths, empty, ``nan``, or numbers against text.

    Examples
    --------
    >>> negative_flip_rate([1, 1, 0, 0], [1, 1, 0, 1], [1, 0, 0, 0])
    0.25
    """
    y, a, b = _triple(y_true, old, new)
    return float(np.count_nonzero(equal_mask(a, y) & ~equal_mask(b, y)) / y.shape[0])


def positive_flip_rate(y_true: npt.ArrayLike, old: npt.ArrayLike, new: npt.ArrayLike) -> float:
    """Share of examples the old model got wrong and the new one gets right.

    ``mean(old != y_true and new == y_true)``, the counterpart of
    :func:`negative_flip_rate` (Yan et al., CVPR 2021).

    Inputs, errors and range as :func:`negative_flip_rate`.

    See Also
    --------
    negative_flip_rate : the parameters, and the flip the other way.

    Examples
    --------
    >>> positive_flip_rate([1, 1, 0, 0], [1, 1, 0, 1], [1, 0, 0, 0])
    0.25
    """
    y, a, b = _triple(y_true, old, new)
    return float(np.count_nonzero(~equal_mask(a, y) & equal_mask(b, y)) / y.shape[0])


def backward_trust_compatibility(
    y_true: npt.ArrayLike, old: npt.ArrayLike, new: npt.ArrayLike
) -> float:
    """Share of the old model's correct predictions that the new model keeps correct.

    ``#(old correct and new correct) / #(old correct)``: backward trust compatibility
    (Bansal et al., "Updates in Human-AI Teams", AAAI 2019; Srivastava, Nushi, Kamar et al.,
    KDD 2020). 1.0 means the update broke nothing a user had learnt to trust.

    When the old model got no example right, nothing could break: the result is ``1.0``
    (the negative flip rate is then ``0.0``). Check the old accuracy when that matters.

    Inputs, errors and range (a float in [0, 1]) as :func:`negative_flip_rate`.

    See Also
    --------
    negative_flip_rate, positive_flip_rate

    Examples
    --------
    >>> backward_trust_compatibility([1, 1, 0, 0], [1, 1, 0, 1], [1, 0, 0, 0])
    0.6666666666666666
    >>> backward_trust_compatibility([1, 1], [0, 0], [1, 0])  # old never right
    1.0
    """
    y, a, b = _triple(y_true, old, new)
    old_correct = equal_mask(a, y)
    kept = np.count_nonzero(old_correct & equal_mask(b, y))
    had = np.count_nonzero(old_correct)
    return float(kept / had) if had else 1.0


@dataclass(frozen=True)
class GroupMetrics:
    """Accuracy of one model on one group (slice) of examples.

    Attributes
    ----------
    group : str, int, float or bool
        The group label, as a plain Python value.
    n : int
        Number of examples in the group (at least 1: groups are the labels present).
    accuracy : float
        Share of the group's examples predicted correctly.
    """

    group: GroupLabel
    n: int
    accuracy: float


@dataclass(frozen=True)
class GroupChange:
    """How one group (slice) of examples fared between an old and a new model.

    Rates are over the group's own examples. Fields that need labels are ``None`` when
    the comparison had none.

    Attributes
    ----------
    group : str, int, float or bool
        The group label, as a plain Python value.
    n : int
        Number of examples in the group.
    churn : float or None
        Share of the group whose prediction changed (None when only per-group accuracies
        were known, not the rows).
    accuracy_old, accuracy_new : float or None
        Accuracy of each model on the group.
    accuracy_delta : float or None
        ``accuracy_new - accuracy_old``; negative means the group got worse.
    negative_flip_rate, positive_flip_rate : float or None
        As :func:`negative_flip_rate` and :func:`positive_flip_rate`, within the group.
    backward_trust_compatibility : float or None
        As :func:`backward_trust_compatibility` within the group (``1.0`` when the old
        model got none of the group right).
    """

    group: GroupLabel
    n: int
    churn: float | None
    accuracy_old: float | None = None
    accuracy_new: float | None = None
    accuracy_delta: float | None = None
    negative_flip_rate: float | None = None
    positive_flip_rate: float | None = None
    backward_trust_compatibility: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict (the group label as given).

        Returns
        -------
        dict
            One key per attribute; ``group`` as given, the rates as floats or None.

        Examples
        --------
        >>> GroupChange("eu", 10, 0.1).to_dict()["churn"]
        0.1
        """
        return {
            "group": self.group,
            "n": self.n,
            "churn": self.churn,
            "accuracy_old": self.accuracy_old,
            "accuracy_new": self.accuracy_new,
            "accuracy_delta": self.accuracy_delta,
            "negative_flip_rate": self.negative_flip_rate,
            "positive_flip_rate": self.positive_flip_rate,
            "backward_trust_compatibility": self.backward_trust_compatibility,
        }


def _group_codes(groups: npt.ArrayLike, n: int) -> tuple[_Array, npt.NDArray[np.intp]]:
    """Distinct group labels (sorted) and each row's index into them."""
    return factorize(check_labels("groups", groups, n))


#: Multiplier of the row hash :func:`factorize` gives fixed-width strings (a large odd prime).
_HASH_STEP = np.uint64(0x100000001B3)


def factorize(values: _Array) -> tuple[_Array, npt.NDArray[np.intp]]:
    """``np.unique(values, return_inverse=True)``: the same result, faster for strings.

    Group labels are few distinct strings over many rows. Sorting the rows as strings is
    most of ``np.unique``'s time, so a long string vector is sorted as one 64-bit hash of
    each row's bytes instead; the few distinct strings are then sorted and each row's
    code mapped to their order. The strings are checked against the labels their hashes
    point to, so a collision falls back to ``np.unique``. Numbers go to ``np.unique``.
    """
    size = values.dtype.itemsize
    if values.ndim != 1 or values.dtype.kind not in "US" or size == 0 or values.shape[0] < 1024:
        return _unique(values)  # numbers sort fast; few rows are quick either way
    width = next(w for w in (8, 4, 2, 1) if size % w == 0)
    words = np.ascontiguousarray(values).view(f"<u{width}").reshape(values.shape[0], -1)
    keys = words[:, 0].astype(np.uint64)
    for column in range(1, words.shape[1]):
        keys *= _HASH_STEP
        keys += words[:, column]
    distinct = np.unique(keys)
    key_codes = np.searchsorted(distinct, keys)
    row = np.empty(distinct.shape[0], np.intp)
    row[key_codes] = np.arange(values.shape[0])  # a row of each distinct key
    found = values[row]
    if not np.array_equal(found[key_codes], values):  # two strings share a hash
        return _unique(values)
    order = np.argsort(found, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return found[order], rank[key_codes].astype(np.intp, copy=False)


def _unique(values: _Array) -> tuple[_Array, npt.NDArray[np.intp]]:
    labels, codes = np.unique(values, return_inverse=True)
    return labels, codes.reshape(-1).astype(np.intp, copy=False)


def plain_label(value: Any) -> GroupLabel:
    item = value.item() if isinstance(value, np.generic) else value
    if isinstance(item, (str, int, float, bool)):
        return item
    return str(item)


def _rates(count: _Array, total: _Array) -> list[float]:
    return [float(c / t) for c, t in zip(count.tolist(), total.tolist(), strict=True)]


def group_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, groups: npt.ArrayLike
) -> list[GroupMetrics]:
    """Accuracy of one model within each group (slice) of examples.

    Parameters
    ----------
    y_true : array_like of shape (n,)
        True labels.
    y_pred : array_like of shape (n,)
        Predicted labels.
    groups : array_like of shape (n,)
        Group label of each example (numbers or text). Only groups that occur are
        reported, so no group is ever empty.

    Returns
    -------
    list of GroupMetrics
        One per distinct group, in sorted order of the labels.

    Raises
    ------
    InvalidInput
        As for :func:`negative_flip_rate`, ``groups`` included.

    Examples
    --------
    >>> [(m.group, m.n, m.accuracy) for m in group_metrics([1, 0, 1], [1, 1, 1], ["a", "b", "a"])]
    [('a', 2, 1.0), ('b', 1, 0.0)]
    """
    y = check_labels("y_true", y_true)
    p = check_labels("y_pred", y_pred, y.shape[0])
    same_kind(("y_true", y), ("y_pred", p))
    labels, codes = _group_codes(groups, y.shape[0])
    k = labels.shape[0]
    sizes = np.bincount(codes, minlength=k)
    correct = np.bincount(codes[equal_mask(p, y)], minlength=k)
    accuracy = _rates(correct, sizes)
    return [
        GroupMetrics(plain_label(label), int(size), acc)
        for label, size, acc in zip(labels, sizes.tolist(), accuracy, strict=True)
    ]


def group_changes(
    labels: _Array,
    codes: npt.NDArray[np.intp],
    changed: npt.NDArray[np.bool_],
    old_correct: npt.NDArray[np.bool_] | None,
    new_correct: npt.NDArray[np.bool_] | None,
) -> list[GroupChange]:
    """Per-group rates from precomputed masks; sorted worst first (see group_flip_rates)."""
    k = labels.shape[0]
    sizes = np.bincount(codes, minlength=k)
    churns = _rates(np.bincount(codes[changed], minlength=k), sizes)
    plain = [plain_label(label) for label in labels]
    rows: list[GroupChange] = []
    if old_correct is None or new_correct is None:
        rows = [
            GroupChange(label, int(size), rate)
            for label, size, rate in zip(plain, sizes.tolist(), churns, strict=True)
        ]
        rows.sort(key=lambda r: (-(r.churn or 0.0), -r.n, str(r.group)))
        return rows
    old_ok = np.bincount(codes[old_correct], minlength=k)
    new_ok = np.bincount(codes[new_correct], minlength=k)
    negative = np.bincount(codes[old_correct & ~new_correct], minlength=k)
    positive = np.bincount(codes[~old_correct & new_correct], minlength=k)
    kept = old_ok - negative
    for i, label in enumerate(plain):
        size = int(sizes[i])
        acc_old = float(old_ok[i] / size)
        acc_new = float(new_ok[i] / size)
        rows.append(
            GroupChange(
                group=label,
                n=size,
                churn=churns[i],
                accuracy_old=acc_old,
                accuracy_new=acc_new,
                accuracy_delta=acc_new - acc_old,
                negative_flip_rate=float(negative[i] / size),
                positive_flip_rate=float(positive[i] / size),
                backward_trust_compatibility=float(kept[i] / old_ok[i]) if old_ok[i] else 1.0,
            )
        )
    rows.sort(
        key=lambda r: (r.accuracy_delta or 0.0, -(r.negative_flip_rate or 0.0), -r.n, str(r.group))
    )
    return rows


def group_flip_rates(
    y_true: npt.ArrayLike | None,
    old: npt.ArrayLike,
    new: npt.ArrayLike,
    groups: npt.ArrayLike,
) -> list[GroupChange]:
    """Per-group accuracy before and after, churn and flip rates, worst group first.

    Overall accuracy can stay flat while a rare group breaks; this table shows it. With
    labels, groups are sorted by accuracy change (most negative first), then by negative
    flip rate (highest first), then by size (largest first). Without labels
    (``y_true=None``) only churn is reported, and groups are sorted by churn (highest
    first).

    Parameters
    ----------
    y_true : array_like of shape (n,) or None
        True labels, or None for churn only.
    old, new : array_like of shape (n,)
        Predicted labels of the two models.
    groups : array_like of shape (n,)
        Group label of each example. Only groups that occur are reported.

    Returns
    -------
    list of GroupChange
        One per distinct group, worst first.

    Raises
    ------
    InvalidInput
        As for :func:`group_metrics`.

    Examples
    --------
    >>> y = [1, 1, 1, 1, 0, 0]
    >>> rows = group_flip_rates(y, [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0], list("aaaabb"))
    >>> [(r.group, r.accuracy_old, r.accuracy_new) for r in rows]
    [('b', 1.0, 0.5), ('a', 0.75, 1.0)]
    """
    if y_true is None:
        a, b = _pair(old, new)
        old_correct = new_correct = None
    else:
        y, a, b = _triple(y_true, old, new)
        old_correct, new_correct = equal_mask(a, y), equal_mask(b, y)
    labels, codes = _group_codes(groups, a.shape[0])
    return group_changes(labels, codes, ~equal_mask(a, b), old_correct, new_correct)
