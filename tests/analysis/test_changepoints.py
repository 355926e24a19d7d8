"""Change points against ruptures, on level shifts and slow declines."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import ruptures as rpt
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage.analysis.changepoints import change_points, default_penalty, robust_z
from mlineage.errors import InvalidInput


def test_level_shift_at_month_seven() -> None:
    acc = [0.91, 0.90, 0.92, 0.91, 0.90, 0.91, 0.84, 0.83, 0.85, 0.84, 0.83, 0.84]
    assert change_points(acc) == [6]
    assert change_points(acc, method="pelt") == [6]


def test_slow_decline_is_located_inside_the_decline() -> None:
    acc = [0.90, 0.90, 0.91, 0.90, 0.88, 0.86, 0.84, 0.82, 0.80, 0.80, 0.81, 0.80]
    for method in ("binseg", "pelt"):
        found = change_points(acc, method=method)  # type: ignore[arg-type]
        assert found and all(4 <= b <= 9 for b in found)


def test_no_change_in_noise_constant_or_line() -> None:
    rng = np.random.default_rng(0)
    assert change_points(0.9 + 0.005 * rng.normal(size=12)) == []
    assert change_points([1.0] * 10) == []
    assert default_penalty(np.arange(10.0)) == 0.0
    assert change_points([1.0, 2.0, 3.0]) == []


@pytest.mark.parametrize("method", ["pelt", "binseg"])
def test_agrees_with_ruptures(method: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(25):
        n = int(rng.integers(100, 400))
        k = int(rng.integers(0, 5))
        cuts = np.sort(rng.choice(np.arange(10, n - 10), k, replace=False))
        x = np.repeat(rng.normal(0, 2, k + 1), np.diff(np.r_[0, cuts, n])) + rng.normal(size=n)
        min_size, jump = int(rng.integers(1, 6)), int(rng.choice([1, 2, 5]))
        pen = float(rng.uniform(2, 30))
        algo = rpt.Pelt if method == "pelt" else rpt.Binseg
        expected = algo(model="l2", min_size=min_size, jump=jump).fit(x).predict(pen=pen)[:-1]
        assert change_points(x, method, pen, min_size, jump) == expected  # type: ignore[arg-type]


@given(st.lists(st.floats(-100, 100), min_size=4, max_size=40), st.floats(0.1, 50))
@settings(max_examples=60, deadline=None)
def test_pelt_property_against_ruptures(values: list[float], pen: float) -> None:
    x = np.array(values)
    expected = rpt.Pelt(model="l2", min_size=2, jump=1).fit(x).predict(pen=pen)[:-1]
    got = change_points(x, "pelt", pen)
    cost = _total(x, got, pen)
    assert got == expected or cost == pytest.approx(_total(x, expected, pen), rel=1e-9)


def _total(x: np.ndarray, bkps: list[int], pen: float) -> float:
    edges = [0, *bkps, x.size]
    return sum(((x[s:e] - x[s:e].mean()) ** 2).sum() + pen for s, e in itertools.pairwise(edges))


def test_binseg_finds_two_shifts_in_100k_points_quickly() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=100_000)
    x[30_000:] += 1.0
    x[70_000:] -= 2.0
    start = time.perf_counter()
    found = change_points(x)
    assert time.perf_counter() - start < 2.0
    assert len(found) == 2
    assert all(abs(b - t) <= 5 for b, t in zip(found, [30_000, 70_000], strict=True))


def test_bad_input() -> None:
    with pytest.raises(InvalidInput, match="finite"):
        change_points([1.0, np.nan, 2.0])
    with pytest.raises(InvalidInput, match="method"):
        change_points([1.0, 2.0], method="dp")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="penalty"):
        change_points([1.0, 2.0], penalty=-1)
    with pytest.raises(InvalidInput, match="min_size"):
        change_points([1.0, 2.0], min_size=0)


def test_robust_z() -> None:
    z = robust_z([1.0, 1.1, 0.9, 1.0, 3.0])
    assert z[-1] > 3.5 and abs(z[0]) < 1e-12
    assert robust_z([2.0, 2.0, 2.0]).tolist() == [0.0, 0.0, 0.0]
    # MAD 0 but not all equal: mean-absolute-deviation fallback, finite scores
    z = robust_z([1.0, 1.0, 1.0, 1.0, 5.0])
    assert np.isfinite(z).all() and z[-1] > 3.5
    with pytest.raises(InvalidInput):
        robust_z([])
