"""ECE, MCE and reliability bins against a brute-force loop and torchmetrics' example."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage.errors import InvalidInput
from mlineage.stats import calibration
from mlineage.stats.calibration import (
    CalibrationResult,
    calibration_from_confidence,
    expected_calibration_error,
)

TM_PREDS = [0.25, 0.25, 0.55, 0.75, 0.75]
TM_TARGET = [0, 0, 1, 1, 1]


def brute_force(correct: list[bool], confidence: list[float], n_bins: int) -> tuple[float, float]:
    """Guo et al.'s definition, one bin (lo, hi] at a time."""
    n = len(confidence)
    ece = mce = 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        members = [i for i, c in enumerate(confidence) if (lo < c <= hi) or (m == 0 and c == 0.0)]
        if not members:
            continue
        acc = sum(correct[i] for i in members) / len(members)
        conf = sum(confidence[i] for i in members) / len(members)
        ece += len(members) / n * abs(acc - conf)
        mce = max(mce, abs(acc - conf))
    return ece, mce


def test_torchmetrics_binary_example_is_0_29_in_both_conventions() -> None:
    # torchmetrics binary_calibration_error bins P(positive) against the target.
    positive = calibration_from_confidence(np.array(TM_TARGET) == 1, TM_PREDS, n_bins=2)
    assert positive.ece == pytest.approx(0.29)
    # Bin [0, .5]: .25, .25 with accuracy 0; bin (.5, 1]: .55, .75, .75 with accuracy 1.
    assert [b.count for b in positive.bins] == [2, 3]
    assert positive.bins[0].confidence == pytest.approx(0.25)
    assert positive.bins[0].accuracy == 0.0
    assert positive.mce == pytest.approx(1 - 2.05 / 3)
    # Top-label: confidences .75 .75 .55 .75 .75, all predictions right: one bin.
    top = expected_calibration_error(TM_PREDS, TM_TARGET, n_bins=2)
    assert top.ece == pytest.approx(0.29)
    assert [b.count for b in top.bins] == [0, 5]
    assert top.bins[0].confidence is None


def test_the_two_binary_conventions_differ_in_general() -> None:
    # p = .2 and p = .8 with both targets 1.
    # Positive-class: bins at .2 (acc 1, gap .8) and .8 (acc 1, gap .2): ECE .5.
    # Top-label: both confidence .8, one right one wrong: acc .5, gap .3: ECE .3.
    assert calibration_from_confidence([1, 1], [0.2, 0.8], n_bins=10).ece == pytest.approx(0.5)
    assert expected_calibration_error([0.2, 0.8], [1, 1], n_bins=10).ece == pytest.approx(0.3)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 80),
    st.integers(2, 5),
    st.integers(1, 20),
    st.integers(0, 2**32 - 1),
)
def test_matches_brute_force(n: int, k: int, n_bins: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 3
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, k, n)
    result = expected_calibration_error(proba, y, n_bins)
    predicted = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    ece, mce = brute_force(list(predicted == y), list(confidence), n_bins)
    assert result.ece == pytest.approx(ece, abs=1e-12)
    assert result.mce == pytest.approx(mce, abs=1e-12)
    assert 0.0 <= result.ece <= result.mce <= 1.0
    assert sum(b.count for b in result.bins) == n
    assert len(result.bins) == n_bins


def test_confidence_on_a_bin_edge_goes_to_the_lower_bin() -> None:
    result = calibration_from_confidence([1, 1, 0], [0.5, 1.0, 0.0], n_bins=2)
    assert [b.count for b in result.bins] == [2, 1]
    assert result.bins[1].confidence == 1.0


def test_single_class_and_perfect_calibration() -> None:
    r = expected_calibration_error([[1.0, 0.0]] * 3, [0, 0, 0])
    assert r.ece == 0.0
    assert r.mce == 0.0
    assert r.bins[-1].count == 3


def test_classes_name_the_columns() -> None:
    proba = [[0.9, 0.1], [0.3, 0.7]]
    named = expected_calibration_error(proba, ["cat", "dog"], 10, classes=["cat", "dog"])
    by_index = expected_calibration_error(proba, [0, 1], 10)
    assert named == by_index
    # 1-D binary: classes = [negative, positive].
    assert expected_calibration_error([0.1, 0.7], ["no", "yes"], 10, classes=["no", "yes"]) == (
        expected_calibration_error([0.1, 0.7], [0, 1], 10)
    )
    with pytest.raises(InvalidInput, match="not among classes"):
        expected_calibration_error(proba, ["cat", "cow"], classes=["cat", "dog"])
    with pytest.raises(InvalidInput, match="pass classes="):
        expected_calibration_error(proba, ["cat", "dog"])


@pytest.mark.parametrize(
    ("y", "proba", "message"),
    [
        ([], [], "empty"),
        ([0, 1], [0.2], "rows"),
        ([0, 1], [0.2, np.nan], "nan"),
        ([0, 1], [0.2, 1.5], r"\[0, 1\]"),
        ([0, 1], [[0.2, 0.2], [0.5, 0.5]], "sums to 0.4"),
        ([0, 3], [[0.2, 0.8], [0.5, 0.5]], "outside 0..1"),
        ([0.25, 0.5], [0, 1], "look swapped"),
        ([[0.2, 0.8], [0.6, 0.4]], [0, 1], "look swapped"),
        ([0, 1], np.ones((2, 2, 2)) / 2, "1-D"),
    ],
)
def test_bad_input(y: object, proba: object, message: str) -> None:
    # Parameters listed as (labels, probabilities); the call takes probabilities first.
    with pytest.raises(InvalidInput, match=message):
        expected_calibration_error(proba, y)  # type: ignore[arg-type]


def test_bad_bins_and_outcomes() -> None:
    for bins in (0, -1, 2.5, True):
        with pytest.raises(InvalidInput, match="n_bins"):
            expected_calibration_error([0.2], [0], bins)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="0 and 1"):
        calibration_from_confidence([2, 0], [0.2, 0.3])


def test_to_dict_round_trip_and_json() -> None:
    import json

    r = expected_calibration_error(TM_PREDS, TM_TARGET, n_bins=4)
    data = json.loads(json.dumps(r.to_dict()))
    assert CalibrationResult.from_dict(data) == r
    assert data["edges"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    with pytest.raises(InvalidInput, match="not a calibration result"):
        CalibrationResult.from_dict({"ece": 0.1})


def test_docstring_examples_run() -> None:
    assert doctest.testmod(calibration, raise_on_error=False).failed == 0


def test_swapped_arguments_get_a_typed_error_that_says_so() -> None:
    # The order before 0.4 was (y_true, proba): an old call must not pass silently.
    with pytest.raises(InvalidInput, match=r"look swapped.*expected_calibration_error\(proba, y\)"):
        expected_calibration_error(TM_TARGET, TM_PREDS)
    with pytest.raises(InvalidInput, match="look swapped"):
        expected_calibration_error([1, 0], [[0.1, 0.9], [0.6, 0.4]])


@pytest.mark.parametrize(
    "change",
    [
        {"ece": "0.1"},
        {"ece": float("nan")},
        {"mce": 1.5},
        {"n": 5.0},
        {"n": True},
        {"n": 6},  # the counts add up to 5
        {"count": [2, -1, 1, 2, 1]},
        {"count": [2.0, 1, 1, 0, 1]},
        {"confidence": ["0.2", 0.4, 0.6, None, 0.9]},
        {"accuracy": [float("nan"), 1.0, 0.0, None, 1.0]},
        {"edges": [0.0, 0.4, 0.2, 0.6, 0.8, 1.0]},
        {"edges": [0.0, 0.25, 0.5, 0.75, 1.0]},
        {"extra": 1},
    ],
    ids=repr,
)
def test_from_dict_checks_every_field(change: dict[str, object]) -> None:
    good = {
        "ece": 0.1,
        "mce": 0.3,
        "n": 5,
        "edges": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        "count": [2, 1, 1, 0, 1],
        "confidence": [0.2, 0.4, 0.6, None, 0.9],
        "accuracy": [0.5, 1.0, 0.0, None, 1.0],
    }
    assert CalibrationResult.from_dict(good).n == 5
    with pytest.raises(InvalidInput):
        CalibrationResult.from_dict({**good, **change})
