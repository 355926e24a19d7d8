"""Calibration: expected and maximum calibration error, and the reliability bins behind them.

Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural Networks", ICML 2017:
predictions are put in ``n_bins`` equal-width bins of confidence over [0, 1], bin ``m``
holding the confidences in ``((m-1)/M, m/M]`` (a confidence of exactly 0 goes to the first
bin), and

``ECE = sum_m |B_m| / n * |accuracy(B_m) - confidence(B_m)|``, ``MCE = max_m |...|`` over
non-empty bins.

Two entry points:

- :func:`expected_calibration_error` takes predicted probabilities and labels, in that
  order (``expected_calibration_error(proba, y)``), and uses the **top-label** confidence
  (Guo et al.): the largest class probability, and whether that class is the true one.
  A 1-D input is P(positive) of a binary classifier: the confidence is ``max(p, 1 - p)``
  and the predicted class is 1 when ``p >= 0.5``.
- :func:`calibration_from_confidence` takes any (outcome, confidence) pairs.
  ``calibration_from_confidence(y == 1, p)`` is the **positive-class** reliability that
  torchmetrics' ``binary_calibration_error`` computes.

The two agree on torchmetrics' docstring example (0.29, see the examples) but not in
general: top-label confidence folds ``p = 0.2`` and ``p = 0.8`` into the same bin.
torchmetrics puts a confidence lying exactly on an inner bin edge in the upper bin; Guo et
al. (and mlineage) put it in the lower one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import InvalidInput
from mlineage.stats._behaviour import as_array, check_labels
from mlineage.stats._inputs import as_count, as_real
from mlineage.stats._present import calibration_html

__all__ = [
    "CalibrationBin",
    "CalibrationResult",
    "calibration_from_confidence",
    "expected_calibration_error",
]

_F64 = npt.NDArray[np.float64]

# Softmax outputs in float32/float16 do not sum to exactly 1; anything further off is not a
# probability vector (logits, or independent per-class sigmoids).
_ROW_SUM_TOLERANCE = 1e-3
_RANGE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a reliability diagram.

    Attributes
    ----------
    lower, upper : float
        Confidence range ``(lower, upper]`` of the bin (the first bin also holds 0).
    count : int
        Number of predictions in the bin.
    confidence : float or None
        Mean confidence of those predictions; None for an empty bin.
    accuracy : float or None
        Share of those predictions that were correct; None for an empty bin.
    """

    lower: float
    upper: float
    count: int
    confidence: float | None
    accuracy: float | None


@dataclass(frozen=True)
class CalibrationResult:
    """Expected and maximum calibration error, with the bins to draw a reliability diagram.

    Attributes
    ----------
    ece : float
        Expected calibration error, in [0, 1].
    mce : float
        Maximum calibration error over non-empty bins, in [0, 1].
    n : int
        Number of predictions.
    bins : tuple of CalibrationBin
        All ``n_bins`` bins, empty ones included, from low to high confidence.
    """

    ece: float
    mce: float
    n: int
    bins: tuple[CalibrationBin, ...]

    def __repr__(self) -> str:
        filled = sum(b.count > 0 for b in self.bins)
        return (
            f"<CalibrationResult ECE {self.ece:.4f}, MCE {self.mce:.4f} over {self.n:,} "
            f"predictions ({len(self.bins)} bins, {filled} with predictions)>"
        )

    def _repr_html_(self) -> str:
        return calibration_html(self)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: ``ece``, ``mce``, ``n`` and parallel bin lists.

        Returns
        -------
        dict
            ``{"ece", "mce", "n", "edges", "count", "confidence", "accuracy"}``; empty bins
            have None for confidence and accuracy.

        Examples
        --------
        >>> r = calibration_from_confidence([1, 0], [0.9, 0.2], n_bins=2)
        >>> r.to_dict()["count"]
        [1, 1]
        >>> CalibrationResult.from_dict(r.to_dict()) == r
        True
        """
        return {
            "ece": self.ece,
            "mce": self.mce,
            "n": self.n,
            "edges": [self.bins[0].lower] + [b.upper for b in self.bins],
            "count": [b.count for b in self.bins],
            "confidence": [b.confidence for b in self.bins],
            "accuracy": [b.accuracy for b in self.bins],
        }

    @classmethod
    def from_dict(cls, data: Any) -> CalibrationResult:
        """Rebuild a result from :meth:`to_dict` output.

        Parameters
        ----------
        data : dict
            As returned by :meth:`to_dict`.

        Returns
        -------
        CalibrationResult
            Equal to the result that wrote ``data``.

        Raises
        ------
        InvalidInput
            Not a dict of exactly those keys; bin lists of inconsistent lengths; an error
            or bin confidence or accuracy that is not a number in [0, 1] (or None for an
            empty bin's); counts that are not non-negative integers adding up to ``n``;
            edges that do not rise within [0, 1].

        Examples
        --------
        >>> CalibrationResult.from_dict(
        ...     {"ece": 0.1, "mce": 0.1, "n": 1, "edges": [0.0, 1.0], "count": [1],
        ...      "confidence": [0.9], "accuracy": [1.0]}
        ... ).bins[0].count
        1
        """
        keys = {"ece", "mce", "n", "edges", "count", "confidence", "accuracy"}
        if not isinstance(data, dict) or set(data) != keys:
            raise InvalidInput(
                f"not a calibration result dict (expected the keys {sorted(keys)}): {data!r:.200}"
            )
        lists = [data[k] for k in ("edges", "count", "confidence", "accuracy")]
        if not all(isinstance(v, list) for v in lists) or not (
            len(lists[0]) - 1 == len(lists[1]) == len(lists[2]) == len(lists[3])
        ):
            raise InvalidInput(
                f"not a calibration result dict (bin lists of different lengths): {data!r:.200}"
            )
        low, high = -_RANGE_TOLERANCE, 1.0 + _RANGE_TOLERANCE
        edges = [as_real(e, "a calibration bin edge", low, high) for e in lists[0]]
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise InvalidInput(f"calibration bin edges {edges} do not rise")
        counts = [as_count(c, "a calibration bin count") for c in lists[1]]
        n = as_count(data["n"], "the calibration's n")
        if sum(counts) != n:
            raise InvalidInput(f"calibration bin counts add up to {sum(counts)}, not n = {n}")

        def mean(value: object, name: str) -> float | None:
            return None if value is None else as_real(value, name, low, high)

        bins = tuple(
            CalibrationBin(
                edges[i],
                edges[i + 1],
                counts[i],
                mean(lists[2][i], "a calibration bin confidence"),
                mean(lists[3][i], "a calibration bin accuracy"),
            )
            for i in range(len(counts))
        )
        ece = as_real(data["ece"], "the calibration's ece", low, high)
        return cls(ece, as_real(data["mce"], "the calibration's mce", low, high), n, bins)


def _check_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise InvalidInput(f"n_bins is {n_bins!r}; it must be a positive integer")
    return int(n_bins)


def _from_pairs(correct: npt.NDArray[np.bool_], confidence: _F64, n_bins: int) -> CalibrationResult:
    n = confidence.shape[0]
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # side="left": a confidence equal to an edge belongs to the bin it closes, (lo, hi].
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    conf_sum = np.bincount(index, weights=confidence, minlength=n_bins)
    hit_sum = np.bincount(index, weights=correct, minlength=n_bins)
    gaps = np.abs(hit_sum - conf_sum)
    filled = counts > 0
    bins = tuple(
        CalibrationBin(
            float(edges[m]),
            float(edges[m + 1]),
            int(counts[m]),
            float(conf_sum[m] / counts[m]) if counts[m] else None,
            float(hit_sum[m] / counts[m]) if counts[m] else None,
        )
        for m in range(n_bins)
    )
    ece = float(gaps.sum() / n)
    mce = float((gaps[filled] / counts[filled]).max())
    return CalibrationResult(min(ece, 1.0), min(mce, 1.0), n, bins)


def _probabilities(values: npt.ArrayLike, name: str) -> _F64:
    array = as_array(values)
    if array.dtype.kind not in "biuf":
        raise InvalidInput(f"{name} has dtype {array.dtype}; probabilities must be numbers")
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim not in (1, 2):
        raise InvalidInput(
            f"{name} must be 1-D (P(positive) of a binary classifier) or 2-D (examples x "
            f"classes), got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise InvalidInput(f"{name} is empty; calibration over zero predictions is undefined")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).reshape(array.shape[0], -1).all(axis=1))[0])
        raise InvalidInput(f"{name} holds nan or inf (first at row {row})")
    low, high = float(array.min()), float(array.max())
    if low < -_RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
        raise InvalidInput(
            f"{name} ranges over [{low:.4g}, {high:.4g}]; probabilities lie in [0, 1] "
            "(apply a softmax or sigmoid to scores or logits first)"
        )
    return np.clip(array, 0.0, 1.0)


def _top_label(
    proba: npt.ArrayLike, y_true: npt.ArrayLike, classes: npt.ArrayLike | None
) -> tuple[npt.NDArray[np.bool_], _F64]:
    p = _probabilities(proba, "proba")
    y = check_labels("y", y_true, p.shape[0])
    if p.ndim == 1:
        k = 2
        confidence = np.maximum(p, 1.0 - p)
        predicted = (p >= 0.5).astype(np.intp)
    else:
        k = p.shape[1]
        if k == 0:
            raise InvalidInput(f"proba has shape {p.shape}: no class columns")
        sums = p.sum(axis=1)
        worst = int(np.argmax(np.abs(sums - 1.0)))
        if abs(float(sums[worst]) - 1.0) > _ROW_SUM_TOLERANCE:
            raise InvalidInput(
                f"row {worst} of proba sums to {float(sums[worst]):.6g}, not 1; pass class "
                "probabilities (softmax), not scores, logits or per-class sigmoids"
            )
        predicted = p.argmax(axis=1)
        confidence = p[np.arange(p.shape[0]), predicted]
    if classes is not None:
        labels = check_labels("classes", classes)
        if labels.shape[0] != k:
            raise InvalidInput(
                f"classes has {labels.shape[0]} labels but proba describes {k} classes"
            )
        missing = ~np.isin(y, labels)
        if missing.any():
            raise InvalidInput(
                f"y holds {y[missing][0]!r}, which is not among classes; the columns "
                f"of proba must cover every label"
            )
        return np.asarray(labels[predicted] == y, dtype=bool), confidence
    if y.dtype.kind not in "biuf":
        raise InvalidInput(
            f"y holds {y.dtype} labels; without classes= the columns of proba are "
            "classes 0..k-1, so pass classes= (e.g. model.classes_ in scikit-learn)"
        )
    as_int = y.astype(np.int64)
    if y.dtype.kind == "f" and not np.array_equal(as_int, y):
        raise InvalidInput(
            f"y holds non-integer values such as {y[as_int != y][0]!r}; labels are class "
            "indices 0..k-1 (or pass classes=)"
        )
    if as_int.min() < 0 or as_int.max() >= k:
        bad = as_int[(as_int < 0) | (as_int >= k)][0]
        raise InvalidInput(
            f"y holds the class index {int(bad)}, outside 0..{k - 1} for the {k} "
            "classes of proba; pass classes= to name the columns"
        )
    return predicted == as_int, confidence


def expected_calibration_error(
    confidence_or_proba: npt.ArrayLike,
    y: npt.ArrayLike,
    n_bins: int = 15,
    *,
    classes: npt.ArrayLike | None = None,
) -> CalibrationResult:
    """Top-label expected calibration error (Guo et al. 2017) with reliability bins.

    Parameters
    ----------
    confidence_or_proba : array_like of shape (n, k), (n,) or (n, 1)
        Class probabilities, each row summing to 1 (within 1e-3); or, 1-D (or a single
        column), the confidence P(class 1) of a binary classifier, whose top-label
        confidence is ``max(p, 1 - p)`` and predicted class is 1 when ``p >= 0.5``.
    y : array_like of shape (n,)
        True labels: class indices ``0..k-1`` (the columns of the probabilities), or any
        labels when ``classes`` names the columns.
    n_bins : int, default 15
        Number of equal-width confidence bins.
    classes : array_like of shape (k,), optional
        Label of each column (two labels for 1-D input, negative first), as
        scikit-learn's ``classes_``.

    Returns
    -------
    CalibrationResult
        ``.ece``, ``.mce`` and ``.bins`` (count, mean confidence and accuracy per bin).

    Raises
    ------
    InvalidInput
        Empty input, different lengths, ``nan``, probabilities outside [0, 1] or rows not
        summing to 1, labels outside the classes, ``n_bins < 1``, or arguments that look
        swapped (labels first, probabilities second: the message says so).

    Examples
    --------
    torchmetrics' ``binary_calibration_error`` docstring example gives 0.29; top-label
    binning gives the same value here:

    >>> r = expected_calibration_error([0.25, 0.25, 0.55, 0.75, 0.75], [0, 0, 1, 1, 1], 2)
    >>> round(r.ece, 4), [b.count for b in r.bins]
    (0.29, [0, 5])
    >>> r = expected_calibration_error([[0.1, 0.9], [0.6, 0.4]], [1, 0], n_bins=10)
    >>> round(r.ece, 4), round(r.mce, 4)
    (0.25, 0.4)
    """
    bins = _check_bins(n_bins)
    try:
        correct, confidence = _top_label(confidence_or_proba, y, classes)
    except InvalidInput as exc:
        if _looks_swapped(confidence_or_proba, y):
            raise InvalidInput(
                f"{exc}; the arguments look swapped (labels first, probabilities second): "
                "call expected_calibration_error(proba, y)"
            ) from None
        raise
    return _from_pairs(correct, confidence, bins)


def _looks_swapped(first: npt.ArrayLike, second: npt.ArrayLike) -> bool:
    """Labels where probabilities belong and probabilities where labels belong."""
    try:
        a, b = np.asarray(first), np.asarray(second)
    except (TypeError, ValueError):
        return False
    if a.ndim != 1 or a.size == 0 or b.size == 0 or b.dtype.kind != "f":
        return False
    labels_first = a.dtype.kind in "biu" or (
        a.dtype.kind == "f" and bool(np.all(np.isfinite(a))) and bool(np.all(a == np.round(a)))
    )
    return labels_first and bool(np.any(b != np.round(b))) and bool(np.all((b >= 0) & (b <= 1)))


def calibration_from_confidence(
    correct: npt.ArrayLike,
    confidence: npt.ArrayLike,
    n_bins: int = 15,
) -> CalibrationResult:
    """Calibration error of (outcome, confidence) pairs, binned by confidence.

    Use it when the confidence is not a top-label probability: ``correct`` says whether
    the event the confidence is about happened. With ``correct = (y == 1)`` and
    ``confidence = p`` it is the positive-class reliability of torchmetrics'
    ``binary_calibration_error(p, y, n_bins, norm="l1")``.

    Parameters
    ----------
    correct : array_like of shape (n,)
        Booleans, or numbers 0 and 1.
    confidence : array_like of shape (n,)
        Confidences in [0, 1].
    n_bins : int, default 15
        Number of equal-width confidence bins.

    Returns
    -------
    CalibrationResult
        The error and the per-bin confidences, accuracies and counts.

    Raises
    ------
    InvalidInput
        Empty input, different lengths, ``nan``, confidences outside [0, 1], outcomes
        other than 0/1, or ``n_bins < 1``.

    Examples
    --------
    >>> y = [0, 0, 1, 1, 1]
    >>> p = [0.25, 0.25, 0.55, 0.75, 0.75]
    >>> round(calibration_from_confidence([t == 1 for t in y], p, n_bins=2).ece, 4)
    0.29
    """
    bins = _check_bins(n_bins)
    conf = _probabilities(confidence, "confidence")
    if conf.ndim != 1:
        raise InvalidInput(f"confidence must be 1-D, got shape {conf.shape}")
    outcome = check_labels("correct", correct, conf.shape[0])
    if outcome.dtype.kind not in "biuf" or not np.isin(outcome, (0, 1)).all():
        raise InvalidInput(
            "correct must hold booleans or the numbers 0 and 1 (whether each prediction "
            f"was right), got dtype {outcome.dtype}"
        )
    return _from_pairs(outcome.astype(bool), conf, bins)
