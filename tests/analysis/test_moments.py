"""Moments of numeric columns: finite for any finite input, equal to an exact reference."""

from __future__ import annotations

import json
import math
import random
import sys
from fractions import Fraction
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage.stats.profile import ColumnProfile, DataProfile, drift_between

FMAX = sys.float_info.max


def _exact(values: list[float]) -> tuple[Fraction, Fraction]:
    """Mean and M2 in exact rational arithmetic (the reference)."""
    xs = [Fraction(v) for v in values]
    mean = sum(xs, Fraction(0)) / len(xs)
    return mean, sum(((x - mean) ** 2 for x in xs), Fraction(0))


def _check(col: ColumnProfile, values: list[float]) -> None:
    """The column's moments against the exact ones, within rounding of the data's scale."""
    n = len(values)
    mean, m2 = _exact(values)
    top = Fraction(max(abs(v) for v in values))
    tiny = Fraction(5e-324)  # float64's resolution near 0
    assert col.count == n and col.min == min(values) and col.max == max(values)
    assert col.mean is not None and math.isfinite(col.mean)
    assert abs(Fraction(col.mean) - mean) <= top * Fraction(1, 10**12) + tiny
    # M2 as the profile holds it (scaled, never overflowing) against the exact value
    tol = m2 * Fraction(1, 10**9) + n * top**2 * Fraction(1, 10**12)
    assert abs(Fraction(col._m2) * Fraction(4) ** col._m2_scale - m2) <= tol
    std = col.std
    assert std is not None and math.isfinite(std)
    var_tol = tol / n + 2 * Fraction(std) * tiny + tiny**2
    assert abs(Fraction(std) ** 2 - m2 / n) <= var_tol
    # M2 and the variance read inf only when their true value may exceed float64
    for value, exact, slack in ((col.m2, m2, tol), (col.variance, m2 / n, var_tol)):
        assert value is not None
        if math.isinf(value):
            assert exact + slack >= FMAX
        else:
            assert abs(Fraction(value) - exact) <= slack + tiny


finite = st.floats(allow_nan=False, allow_infinity=False)
huge = st.sampled_from([FMAX, -FMAX, 1e308, -1e308, 1e200, -1e200, 3e154, 5e-324])


@given(
    values=st.lists(st.one_of(finite, huge), min_size=1, max_size=40),
    n_parts=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=300, deadline=None)
def test_moments_match_exact_arithmetic_for_any_finite_values_and_any_split(
    values: list[float], n_parts: int, seed: int
) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.randrange(len(values) + 1) for _ in range(n_parts - 1))
    parts = [values[a:b] for a, b in zip([0, *cuts], [*cuts, len(values)], strict=True)]
    profiles = [DataProfile.from_array(np.array(p, dtype=np.float64)) for p in parts]
    shuffled = list(profiles)
    rng.shuffle(shuffled)
    candidates = [
        DataProfile.from_array(np.array(values)),
        DataProfile.from_batches(np.array(p, dtype=np.float64) for p in parts),
        reduce(lambda a, b: a.merge(b), profiles),
        reduce(lambda a, b: b.merge(a), reversed(profiles)),
        reduce(lambda a, b: a.merge(b), shuffled),
    ]
    for profile in candidates:
        _check(profile["0"], values)
        # every such profile is stored and read back unchanged
        again = DataProfile.from_bytes(profile.to_bytes())["0"]
        assert (again.mean, again._m2, again._m2_scale) == (
            profile["0"].mean,
            profile["0"]._m2,
            profile["0"]._m2_scale,
        )


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), st.integers(1, 4))
@settings(max_examples=100, deadline=None)
def test_ordinary_values_keep_plain_moments_like_numpy(values: list[float], n_parts: int) -> None:
    x = np.array([*values, 1.0])  # the largest magnitude is an ordinary one
    parts = np.array_split(x, n_parts)
    col = DataProfile.from_batches(parts)["0"]
    assert col._m2_scale == 0
    assert col.mean == pytest.approx(float(np.mean(x)), rel=1e-12, abs=1e-9)
    assert col.variance == pytest.approx(float(np.var(x)), rel=1e-9, abs=1e-6)
    assert json.loads(DataProfile.from_array(x).to_bytes())["format"] == 1


@pytest.mark.parametrize(
    "values",
    [
        [1e308, -1e308, 1.0],
        [1e200, -1e200],
        [FMAX, FMAX, FMAX, 1.0],  # float max as a missing-value sentinel
        [-FMAX, FMAX],
    ],
)
def test_huge_finite_values_profile_store_and_log(values: list[float], tmp_path: object) -> None:
    # These gave an infinite mean or variance, and to_bytes() a raw ValueError.
    x = np.array(values * 5_000)  # above exact_limit: a KLL sketch as well
    for arr in (np.array(values), x):
        p = DataProfile.from_array(arr)
        _check(p["0"], arr.tolist())
        q = DataProfile.from_bytes(p.to_bytes())
        assert q["0"].std == p["0"].std and math.isfinite(q["0"].std or 0.0)
        assert json.loads(p.to_bytes())["format"] == 2  # M2 stored scaled
    tracker = ml.Tracker("huge", storage=str(tmp_path), capture_environment=False)
    tracker.log(model_path="m.pt", dataset=ml.DataSnapshot.from_array(x, profile=True))
    tracker.log(model_path="m.pt", dataset=ml.DataSnapshot.from_array(x[::-1], profile=True))
    report = tracker.analysis.drift()
    assert not report.features[0].drifted
    json.dumps(report.to_dict(), allow_nan=False)


def test_wasserstein_normed_of_huge_values_is_scale_free() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=500), rng.normal(0.5, size=500)
    plain = drift_between(DataProfile.from_array(a), DataProfile.from_array(b)).features[0]
    big = drift_between(
        DataProfile.from_array(a * 2.0**1000), DataProfile.from_array(b * 2.0**1000)
    ).features[0]
    assert big.wasserstein_normed == pytest.approx(plain.wasserstein_normed, rel=1e-12)
    assert (big.statistic, big.pvalue, big.psi) == (plain.statistic, plain.pvalue, plain.psi)
