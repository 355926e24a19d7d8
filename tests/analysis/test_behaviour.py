"""Flip rates, churn, backward trust compatibility and the per-group table."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlineage.errors import InvalidInput
from mlineage.stats import _behaviour as behaviour
from mlineage.stats.behaviour import (
    backward_trust_compatibility,
    churn,
    group_flip_rates,
    group_metrics,
    negative_flip_rate,
    positive_flip_rate,
)

# Hand-worked case: rows 0-9.
#   y    = 0 0 0 0 1 1 1 1 2 2
#   old  = 0 0 0 1 1 1 0 2 2 1     old right on rows 0,1,2,4,5,8 (6 of 10)
#   new  = 0 1 0 1 1 2 1 2 0 1     new right on rows 0,2,4,6     (4 of 10)
# changed: rows 1,5,6,8 (4)
# negative (old right, new wrong): rows 1,5,8 (3); positive: row 6 (1)
# kept correct: rows 0,2,4 (3 of 6 old-correct)
Y = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
OLD = [0, 0, 0, 1, 1, 1, 0, 2, 2, 1]
NEW = [0, 1, 0, 1, 1, 2, 1, 2, 0, 1]


def test_hand_computed_rates() -> None:
    assert churn(OLD, NEW) == pytest.approx(0.4)
    assert negative_flip_rate(Y, OLD, NEW) == pytest.approx(0.3)
    assert positive_flip_rate(Y, OLD, NEW) == pytest.approx(0.1)
    assert backward_trust_compatibility(Y, OLD, NEW) == pytest.approx(0.5)


def test_text_labels_work_like_numbers() -> None:
    names = np.array(["a", "b", "c"])
    assert negative_flip_rate(names[Y], names[OLD], names[NEW]) == pytest.approx(0.3)


def test_btc_with_no_correct_old_prediction_is_one() -> None:
    # Nothing to break: documented convention, consistent with NFR = 0.
    assert backward_trust_compatibility([1, 1, 1], [0, 0, 0], [1, 0, 0]) == 1.0
    assert negative_flip_rate([1, 1, 1], [0, 0, 0], [1, 0, 0]) == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], []), "empty"),
        (([0, 1], [0]), "rows"),
        (([[0, 1]], [[0, 1]]), "1-D"),
        (([0.0, np.nan], [0.0, 1.0]), "nan"),
        (([0, 1], ["0", "1"]), "never compare equal"),
    ],
)
def test_churn_bad_input(args: tuple[object, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        churn(*args)  # type: ignore[arg-type]


def test_flip_rates_check_labels_against_predictions() -> None:
    with pytest.raises(InvalidInput, match="y_true holds numbers"):
        negative_flip_rate([0, 1], ["a", "b"], ["a", "a"])
    with pytest.raises(InvalidInput, match="new has 1 rows"):
        backward_trust_compatibility([0, 1], [0, 1], [0])


def test_group_metrics() -> None:
    rows = group_metrics(Y, OLD, ["x"] * 5 + ["y"] * 5)
    assert [(r.group, r.n) for r in rows] == [("x", 5), ("y", 5)]
    assert rows[0].accuracy == pytest.approx(4 / 5)  # rows 0,1,2,4
    assert rows[1].accuracy == pytest.approx(2 / 5)  # rows 5,8
    assert isinstance(rows[0].group, str)


def test_group_flip_rates_rare_group_named_first() -> None:
    # 95 majority rows improve by 2, 5 rare rows lose 2: overall flat.
    y = np.ones(100, dtype=int)
    groups = np.array(["major"] * 95 + ["rare"] * 5)
    old = np.ones(100, dtype=int)
    old[:2] = 0
    new = np.ones(100, dtype=int)
    new[95:97] = 0
    assert (old == y).mean() == (new == y).mean()
    rows = group_flip_rates(y, old, new, groups)
    assert [r.group for r in rows] == ["rare", "major"]
    rare = rows[0]
    assert rare.n == 5
    assert rare.accuracy_old == 1.0
    assert rare.accuracy_new == pytest.approx(0.6)
    assert rare.accuracy_delta == pytest.approx(-0.4)
    assert rare.negative_flip_rate == pytest.approx(0.4)
    assert rare.positive_flip_rate == 0.0
    assert rare.backward_trust_compatibility == pytest.approx(0.6)
    assert rows[1].positive_flip_rate == pytest.approx(2 / 95)


def test_group_flip_rates_without_labels_sorts_by_churn() -> None:
    rows = group_flip_rates(None, [0, 0, 0, 0], [0, 1, 1, 0], [1, 1, 2, 2])
    assert [(r.group, r.churn) for r in rows] == [(1, 0.5), (2, 0.5)]
    assert rows[0].accuracy_old is None
    rows = group_flip_rates(None, [0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 2, 2])
    assert [r.group for r in rows] == [2, 1]


def test_group_flip_rates_match_the_global_functions_within_each_group() -> None:
    rng = np.random.default_rng(3)
    y, old, new = (rng.integers(0, 3, 300) for _ in range(3))
    groups = rng.choice(["a", "b", "c", "d"], 300)
    for row in group_flip_rates(y, old, new, groups):
        m = groups == row.group
        assert row.n == m.sum()
        assert row.churn == pytest.approx(churn(old[m], new[m]))
        assert row.negative_flip_rate == pytest.approx(negative_flip_rate(y[m], old[m], new[m]))
        assert row.positive_flip_rate == pytest.approx(positive_flip_rate(y[m], old[m], new[m]))
        assert row.backward_trust_compatibility == pytest.approx(
            backward_trust_compatibility(y[m], old[m], new[m])
        )


def test_group_with_no_old_correct_gets_btc_one() -> None:
    rows = group_flip_rates([1, 1, 0], [0, 0, 0], [1, 0, 0], ["a", "a", "b"])
    a = next(r for r in rows if r.group == "a")
    assert a.backward_trust_compatibility == 1.0


labels = st.lists(st.integers(0, 3), min_size=1, max_size=60)


@given(st.data())
def test_properties(data: st.DataObject) -> None:
    y = data.draw(labels)
    n = len(y)
    old = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    new = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    c = churn(old, new)
    assert c == churn(new, old)
    nfr, pfr = negative_flip_rate(y, old, new), positive_flip_rate(y, old, new)
    assert nfr >= 0.0
    assert pfr >= 0.0
    assert nfr + pfr <= c + 1e-12
    # Swapping old and new swaps negative and positive flips.
    assert nfr == positive_flip_rate(y, new, old)
    btc = backward_trust_compatibility(y, old, new)
    assert 0.0 <= btc <= 1.0
    old_correct = sum(a == b for a, b in zip(old, y, strict=True))
    if old_correct:
        assert btc == pytest.approx(1.0 - nfr * n / old_correct)


def test_docstring_examples_run() -> None:
    assert doctest.testmod(behaviour, raise_on_error=False).failed == 0
