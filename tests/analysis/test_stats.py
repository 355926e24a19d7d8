"""Drift statistics against scipy (the oracle), documented values and edge cases."""

from __future__ import annotations

import doctest
import importlib
import itertools
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.spatial.distance as ssd
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage.errors import InvalidInput
from mlineage.stats.drift import (
    benjamini_hochberg,
    bonferroni,
    chi2_contingency,
    chi2_sf,
    js_distance,
    kl_divergence,
    ks_2samp,
    ks_pvalue,
    kstwo_sf,
    psi,
    psi_from_counts,
    psi_severity,
    wasserstein,
    wasserstein_normed,
)


@pytest.mark.parametrize(
    "name",
    [
        "_ks",
        "_kstwo",
        "_distances",
        "_chi2",
        "_sketch",
        "_columns",
        "_data_profile",
        "_drift_report",
        "_changepoints",
    ],
)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"mlineage.stats.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# --- KS ---------------------------------------------------------------------------------


def test_ks_small_samples_with_ties_match_scipy_exactly() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n1, n2 = (int(v) for v in rng.integers(1, 150, 2))
        a = rng.integers(0, 8, n1).astype(float)
        b = rng.integers(0, 10, n2).astype(float)
        ours, ref = ks_2samp(a, b), ss.ks_2samp(a, b)
        assert ours.statistic == ref.statistic
        assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-300)
        assert ours.method == "exact"


@pytest.mark.parametrize(
    ("n1", "n2"), [(10_000, 9_999), (10_000, 10_000), (3_000, 7_001), (1, 10_000)]
)
def test_ks_exact_boundary_sizes_match_scipy(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1 + n2)
    a = np.round(rng.normal(size=n1), 2)
    b = np.round(rng.normal(0.03, size=n2), 2)
    ours, ref = ks_2samp(a, b), ss.ks_2samp(a, b)
    assert ours.statistic == ref.statistic
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12)


@pytest.mark.parametrize(("n1", "n2"), [(10_001, 20_000), (200_000, 150_000), (50_000, 10)])
@pytest.mark.parametrize("shift", [0.0, 0.01, 0.03, 0.2])
def test_ks_asymptotic_matches_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(7)
    a = np.round(rng.normal(size=n1), 2)
    b = np.round(rng.normal(shift, size=n2), 2)
    ours, ref = ks_2samp(a, b), ss.ks_2samp(a, b)
    assert ours.method == "asymp"
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-15)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_kstwo_sf_matches_scipy_across_regimes() -> None:
    rng = np.random.default_rng(3)
    for n in [1, 2, 7, 140, 141, 1_000, 99_999, 100_001, 500_000, 2_000_000]:
        xs = np.concatenate([rng.uniform(0, 1, 10), rng.uniform(0, 6 / math.sqrt(n), 25)])
        for x in xs:
            assert kstwo_sf(float(x), n) == pytest.approx(ss.kstwo.sf(x, n), rel=1e-9, abs=1e-300)


@given(
    st.lists(st.integers(-3, 3), min_size=1, max_size=40),
    st.lists(st.integers(-3, 5), min_size=1, max_size=40),
)
@settings(max_examples=150, deadline=None)
def test_ks_property_against_scipy(a: list[int], b: list[int]) -> None:
    ours, ref = ks_2samp(a, b), ss.ks_2samp(a, b)
    assert ours.statistic == ref.statistic
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12)


def test_ks_drops_nan_accepts_inf_and_rejects_bad_input() -> None:
    a = [1.0, np.nan, 2.0, np.inf]
    b = [0.5, 3.0, -np.inf]
    ref = ss.ks_2samp([1.0, 2.0, np.inf], b)
    assert ks_2samp(a, b).statistic == ref.statistic
    with pytest.raises(InvalidInput, match="no values"):
        ks_2samp([np.nan], [1.0])
    with pytest.raises(InvalidInput, match="no values"):
        ks_2samp([], [1.0])
    with pytest.raises(InvalidInput, match="must be numbers"):
        ks_2samp(["a", "b"], [1.0])
    with pytest.raises(InvalidInput, match="one-dimensional"):
        ks_2samp([[1.0, 2.0]], [1.0])
    with pytest.raises(InvalidInput, match="method"):
        ks_2samp([1.0], [2.0], method="fast")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"\[0, 1\]"):
        ks_pvalue(1.5, 3, 3)


def test_ks_constant_samples() -> None:
    same = ks_2samp([2.0] * 5, [2.0] * 7)
    assert (same.statistic, same.pvalue) == (0.0, 1.0)
    apart = ks_2samp([1.0] * 5, [2.0] * 5)
    assert apart.statistic == 1.0
    assert apart.pvalue == pytest.approx(ss.ks_2samp([1.0] * 5, [2.0] * 5).pvalue)


def test_result_objects_are_small_and_json_ready() -> None:
    r = ks_2samp([1, 2, 3], [4, 5, 6])
    assert set(r.to_dict()) == {"statistic", "pvalue", "method", "n_a", "n_b"}
    assert repr(r).startswith("KSResult(statistic=1")
    with pytest.raises(AttributeError):
        r.statistic = 0.0  # type: ignore[misc]


# --- Wasserstein ------------------------------------------------------------------------


def test_wasserstein_docs_value_and_scipy_with_ties() -> None:
    assert wasserstein([0, 1, 3], [5, 6, 8]) == 5.0
    rng = np.random.default_rng(1)
    for _ in range(50):
        a = rng.integers(0, 6, int(rng.integers(1, 80))).astype(float)
        b = rng.integers(0, 9, int(rng.integers(1, 80))).astype(float) * 0.5
        assert wasserstein(a, b) == pytest.approx(ss.wasserstein_distance(a, b), rel=1e-12)


def test_wasserstein_normed_uses_reference_std_with_floor() -> None:
    ref, cur = [0.0, 2.0, 4.0], [1.0, 3.0, 5.0]
    assert wasserstein_normed(ref, cur) == pytest.approx(1.0 / np.std(ref))
    assert wasserstein_normed([1.0, 1.0], [2.0]) == pytest.approx(1.0 / 0.001)
    with pytest.raises(InvalidInput, match="inf"):
        wasserstein([1.0, np.inf], [1.0])


# --- JS / KL ----------------------------------------------------------------------------


def test_js_distance_docs_values_and_scipy() -> None:
    assert js_distance([1, 0, 0], [0, 1, 0], base=2) == 1.0
    assert js_distance([1, 0], [0.5, 0.5]) == 0.46450140402245893
    rng = np.random.default_rng(2)
    for _ in range(50):
        counts = rng.integers(0, 5, (2, 6)).astype(float)
        p, q = counts[0] + 1, counts[1]
        assert js_distance(p, q) == pytest.approx(ssd.jensenshannon(p, q), rel=1e-12)
        assert js_distance(p, q, base=2) == pytest.approx(ssd.jensenshannon(p, q, base=2))
    assert js_distance([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))


def test_kl_divergence_matches_scipy_and_is_inf_without_smoothing() -> None:
    rng = np.random.default_rng(4)
    for _ in range(50):
        p = rng.uniform(0, 1, 5)
        q = rng.uniform(0.01, 1, 5)
        assert kl_divergence(p, q) == pytest.approx(ss.entropy(p, q), rel=1e-12)
        assert kl_divergence(p, q, base=2) == pytest.approx(ss.entropy(p, q, base=2))
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert math.isfinite(kl_divergence([0.5, 0.5], [1.0, 0.0], eps=1e-4))
    assert kl_divergence([0.0, 1.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    with pytest.raises(InvalidInput, match="same length"):
        kl_divergence([1, 2], [1, 2, 3])
    with pytest.raises(InvalidInput, match="sums to 0"):
        js_distance([0, 0], [1, 1])
    with pytest.raises(InvalidInput, match="non-negative"):
        js_distance([-1, 2], [1, 1])


# --- PSI --------------------------------------------------------------------------------


def test_psi_from_counts_formula_and_epsilon() -> None:
    p, q = np.array([0.6, 0.4]), np.array([0.5, 0.5])
    assert psi_from_counts([50, 50], [60, 40]) == pytest.approx(np.sum((p - q) * np.log(p / q)))
    # an empty current bin counts as a share of 1e-4
    expected = (1e-4 - 0.5) * math.log(1e-4 / 0.5) + (1 - 0.5) * math.log(1 / 0.5)
    assert psi_from_counts([5, 5], [0, 10]) == pytest.approx(expected)
    assert psi_from_counts([1, 2, 3], [1, 2, 3]) == 0.0


def test_psi_on_raw_values_uses_reference_deciles() -> None:
    rng = np.random.default_rng(5)
    ref = rng.normal(size=20_000)
    cur = rng.normal(0.3, size=10_000)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1]))
    full = np.concatenate(([-np.inf], edges, [np.inf]))
    rc = np.array([np.sum((ref > lo) & (ref <= hi)) for lo, hi in itertools.pairwise(full)])
    cc = np.array([np.sum((cur > lo) & (cur <= hi)) for lo, hi in itertools.pairwise(full)])
    assert psi(ref, cur) == pytest.approx(psi_from_counts(rc, cc), rel=1e-12)
    assert psi_severity(psi(ref, rng.normal(size=10_000))) == "none"
    assert psi_severity(psi(ref, rng.normal(1.0, size=10_000))) == "significant"
    # constant reference: two bins, <= c and > c
    assert psi([1.0] * 10, [1.0] * 10) == 0.0
    assert psi([1.0] * 10, [2.0] * 10) > 0.2
    with pytest.raises(InvalidInput, match="bins"):
        psi(ref, cur, bins=1)


# --- chi-squared ------------------------------------------------------------------------


def test_chi2_sf_matches_scipy() -> None:
    for dof in [1, 2, 3, 7, 30, 200]:
        for x in [1e-3, 0.5, 1.0, 4.0, 20.0, 100.0, 600.0]:
            assert chi2_sf(x, dof) == pytest.approx(ss.chi2.sf(x, dof), rel=1e-11, abs=1e-300)


def test_chi2_contingency_matches_scipy_including_yates() -> None:
    rng = np.random.default_rng(6)
    for k in [2, 2, 2, 3, 5, 12]:
        for _ in range(10):
            table = rng.integers(1, 60, (2, k))
            ours = chi2_contingency(table[0], table[1])
            ref = ss.chi2_contingency(table)
            assert ours.dof == ref.dof == k - 1
            assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
            assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10)


def test_chi2_union_of_categories_and_unseen_reference_category() -> None:
    r = chi2_contingency({"a": 10, "b": 20}, {"a": 20, "b": 10, "c": 5})
    ref = ss.chi2_contingency([[10, 20, 0], [20, 10, 5]])
    assert r.categories == ("a", "b", "c")
    assert (r.statistic, r.dof) == (pytest.approx(ref.statistic), 2)
    # a category in neither sample is dropped, not a zero expected frequency
    assert chi2_contingency([1, 0, 2], [3, 0, 4]).dof == 1
    one = chi2_contingency({"a": 5}, {"a": 9})
    assert (one.statistic, one.pvalue, one.dof) == (0.0, 1.0, 0)
    with pytest.raises(InvalidInput, match="both"):
        chi2_contingency({"a": 1}, [1])
    with pytest.raises(InvalidInput, match="at least one"):
        chi2_contingency([0, 0], [1, 2])
    with pytest.raises(InvalidInput, match="non-negative"):
        chi2_contingency([1, -2], [1, 2])


# --- multiple testing -------------------------------------------------------------------


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
@settings(max_examples=100, deadline=None)
def test_corrections_bounds_and_monotone(pvals: list[float]) -> None:
    p = np.array(pvals)
    bh, bf = benjamini_hochberg(p), bonferroni(p)
    assert np.all(bh >= p - 1e-15) and np.all(bh <= 1)
    assert np.all(bf >= bh - 1e-12)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(bh[order]) >= -1e-15)


def test_bh_matches_reference_implementation() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5, 0.2])
    m = p.size
    brute = np.array(
        [min(1.0, min(p[j] * m / (np.sum(p <= p[j])) for j in range(m) if p[j] >= pi)) for pi in p]
    )
    assert benjamini_hochberg(p) == pytest.approx(brute)
    with pytest.raises(InvalidInput, match="NaN"):
        bonferroni([0.1, np.nan])


def test_docs_analysis_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = Path(__file__).parents[2] / "docs" / "analysis.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), str(page), "exec"), {"__name__": "docs"})


def test_moved_modules_keep_every_public_name_importable() -> None:
    # The statistics moved to mlineage.stats; the old module paths are deprecated aliases
    # of the new modules, and mlineage.analysis keeps every public name.
    import mlineage.analysis as analysis
    import mlineage.stats as stats
    from mlineage.analysis._moved import MOVED

    for old, new in MOVED.items():
        sys.modules.pop(old, None)
        with pytest.warns(DeprecationWarning, match=new):
            module = importlib.import_module(old)
        assert module is importlib.import_module(new)
        for name in importlib.import_module(new).__all__:
            if name in analysis.__all__:
                assert getattr(analysis, name) is getattr(importlib.import_module(new), name)
    assert set(stats.__all__) <= set(analysis.__all__)


@pytest.mark.parametrize(("d", "n"), [(0.01, 100_000), (0.005, 500_000), (0.02, 20_000)])
def test_the_limiting_kolmogorov_pvalue_agrees_with_scipy_for_large_samples(
    d: float, n: int
) -> None:
    from scipy.stats import ks_2samp as scipy_ks  # noqa: F401  # the oracle's family
    from scipy.stats import kstwo

    from mlineage.stats._ks import kolmogorov_pvalue

    exact = float(kstwo.sf(d, round(n * n / (2 * n))))
    assert kolmogorov_pvalue(d, n, n) == pytest.approx(exact, rel=0.02)
