"""DataProfile: construction, merge invariants, serialisation, drift from profiles alone."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage.errors import CorruptRecord, InvalidInput, StoreFormatError
from mlineage.stats.drift import ks_2samp, psi, wasserstein_normed
from mlineage.stats.profile import DataProfile, drift_between, sketch_rank_error


def _same_exact_parts(a: DataProfile, b: DataProfile) -> None:
    assert a.columns == b.columns and a.num_rows == b.num_rows
    for name in a.columns:
        ca, cb = a[name], b[name]
        assert (ca.count, ca.missing, ca.infinite, ca.min, ca.max) == (
            cb.count,
            cb.missing,
            cb.infinite,
            cb.min,
            cb.max,
        )
        if ca.count and ca.kind == "numeric":
            assert ca.mean == pytest.approx(cb.mean, rel=1e-9, abs=1e-12)
            assert ca.m2 == pytest.approx(cb.m2, rel=1e-9, abs=1e-9)
        if ca.is_exact:
            assert np.array_equal(ca.values, cb.values)
        if ca.kind == "categorical":
            assert (ca.categories, ca.other) == (cb.categories, cb.other)


chunks = st.lists(
    st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), min_size=0, max_size=30),
    min_size=1,
    max_size=5,
)


@given(chunks)
@settings(max_examples=100, deadline=None)
def test_profile_of_concatenation_equals_merge_in_any_order(parts: list[list[float]]) -> None:
    profiles = [DataProfile.from_array(np.array(p, dtype=float).reshape(-1, 1)) for p in parts]
    whole = DataProfile.from_array(np.concatenate([np.array(p, dtype=float) for p in parts]))
    left = profiles[0]
    for p in profiles[1:]:
        left = left.merge(p)
    right = profiles[-1]
    for p in reversed(profiles[:-1]):
        right = p.merge(right)
    _same_exact_parts(whole, left)
    _same_exact_parts(whole, right)
    if len(profiles) >= 3:
        a, b, c = profiles[:3]
        _same_exact_parts(a.merge(b).merge(c), a.merge(b.merge(c)))


@given(
    st.lists(st.lists(st.sampled_from(["x", "y", "z", None]), max_size=20), min_size=2, max_size=4)
)
@settings(max_examples=60, deadline=None)
def test_categorical_merge_is_order_independent(parts: list[list[str | None]]) -> None:
    profs = [DataProfile.from_array(np.array(p, dtype=object).reshape(-1, 1)) for p in parts]
    fwd, back = profs[0], profs[-1]
    for p in profs[1:]:
        fwd = fwd.merge(p)
    for p in reversed(profs[:-1]):
        back = back.merge(p)
    whole = DataProfile.from_array(
        np.array([v for part in parts for v in part], dtype=object).reshape(-1, 1)
    )
    _same_exact_parts(whole, fwd)
    _same_exact_parts(whole, back)


def test_exact_merge_crossing_limit_becomes_sketch_within_bound() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=8000), rng.normal(size=8000)
    merged = DataProfile.from_array(a).merge(DataProfile.from_array(b))["0"]
    assert not merged.is_exact and merged.count == 16_000
    pts = np.linspace(-3, 3, 61)
    truth = np.searchsorted(np.sort(np.concatenate([a, b])), pts, side="right") / 16_000
    assert np.max(np.abs(merged.cdf(pts) - truth)) <= sketch_rank_error()


def test_kinds_from_numpy_and_pandas_and_label() -> None:
    df = pd.DataFrame(
        {
            "x": [1.0, 2.0, None, 4.0],
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "c": pd.Categorical(["a", "b", "a", None]),
            "b": [True, False, True, True],
            "s": pd.array(["u", "v", None, "u"], dtype="string"),
            "y": [0, 1, 1, 0],
        }
    )
    p = DataProfile.from_dataframe(df, label="y")
    assert p.columns == ["x", "n", "c", "b", "s"]
    assert [p[c].kind for c in p.columns] == ["numeric", "numeric"] + ["categorical"] * 3
    assert (p["x"].missing, p["n"].missing, p["c"].missing, p["s"].missing) == (1, 1, 1, 1)
    assert p["b"].categories == {"True": 3, "False": 1}
    assert p.label == "y" and p["y"].kind == "categorical"
    arr = DataProfile.from_array(
        np.arange(6.0).reshape(3, 2), y=[0.5, 1.5, 2.5], columns=["a", "b"]
    )
    assert arr["label"].kind == "numeric" and arr["b"].mean == 3.0
    assert DataProfile.from_array(np.arange(5)).columns == ["0"]
    with pytest.raises(InvalidInput, match="names"):
        DataProfile.from_array(np.zeros((2, 2)), columns=["a"])
    with pytest.raises(InvalidInput, match="dtype"):
        DataProfile.from_array(np.array(["2020-01-01"], dtype="datetime64[D]"))
    with pytest.raises(InvalidInput, match="label"):
        DataProfile.from_dataframe(df, label="nope")


def test_inf_and_nan_are_kept_out_of_statistics() -> None:
    p = DataProfile.from_array([1.0, np.nan, np.inf, -np.inf, 3.0])["0"]
    assert (p.count, p.missing, p.infinite, p.mean, p.min, p.max) == (2, 1, 2, 2.0, 1.0, 3.0)
    empty = DataProfile.from_array([np.nan, np.nan])["0"]
    assert (empty.count, empty.mean, empty.variance) == (0, None, None)


def test_batches_must_agree() -> None:
    with pytest.raises(InvalidInput, match="first batch"):
        DataProfile.from_batches([np.zeros((2, 2)), np.zeros((2, 3))])
    with pytest.raises(InvalidInput, match="labels for"):
        DataProfile.from_batches([(np.zeros((2, 2)), [1, 2, 3])])


def test_million_rows_in_batches_bounded_size() -> None:
    rng = np.random.default_rng(1)
    sizes = []
    for n_batches in (1, 10):
        p = DataProfile.from_batches(rng.normal(size=(100_000, 2)) for _ in range(n_batches))
        assert p.num_rows == 100_000 * n_batches
        sizes.append(len(p.to_bytes()))
    assert sizes[1] < 1.3 * sizes[0] and sizes[1] < 20_000


def test_round_trip_exact_sketch_categorical_label() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame(
        {"big": rng.normal(size=20_000), "small": np.r_[rng.normal(size=500), [np.nan] * 19_500]}
    )
    df["cat"] = rng.choice(["a", "b", "c"], size=20_000)
    df["y"] = rng.integers(0, 3, 20_000)
    p = DataProfile.from_dataframe(df, label="y")
    q = DataProfile.from_bytes(p.to_bytes())
    _same_exact_parts(p, q)
    assert q.to_bytes() == p.to_bytes()
    assert not q["big"].is_exact and q["small"].is_exact
    assert np.array_equal(q["big"].cdf([-1.0, 0.0, 1.0]), p["big"].cdf([-1.0, 0.0, 1.0]))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: b"\xff\xfe",
        lambda d: d[: len(d) // 2],
        lambda d: b"[]",
        lambda d: d.replace(b'"count":', b'"count":-', 1),
        lambda d: d.replace(b'"format":1', b'"format":"1"'),
    ],
)
def test_corrupt_bytes_raise_typed_error(mutate: object) -> None:
    blob = DataProfile.from_array(np.random.default_rng(3).normal(size=(20_000, 2))).to_bytes()
    with pytest.raises(CorruptRecord):
        DataProfile.from_bytes(mutate(blob))  # type: ignore[operator]


def test_garbled_sketch_and_values_raise_corrupt_record() -> None:
    p = DataProfile.from_array(np.random.default_rng(4).normal(size=(20_000, 1)))
    doc = p.to_dict()
    doc["columns"][0]["sketch"] = base64.b64encode(b"\x05" * 64).decode()
    with pytest.raises(CorruptRecord, match="sketch"):
        DataProfile.from_bytes(json.dumps(doc).encode())
    small = DataProfile.from_array([3.0, 1.0, 2.0]).to_dict()
    small["columns"][0]["values"] = base64.b64encode(np.array([3.0, 1.0, 2.0]).tobytes()).decode()
    with pytest.raises(CorruptRecord, match="sorted"):
        DataProfile.from_bytes(json.dumps(small).encode())
    newer = DataProfile.from_array([1.0]).to_dict() | {"format": 3}
    with pytest.raises(StoreFormatError, match="upgrade"):
        DataProfile.from_bytes(json.dumps(newer).encode())


# --- drift from profiles -----------------------------------------------------------------


def test_drift_from_exact_profiles_equals_scipy_on_raw_data() -> None:
    rng = np.random.default_rng(5)
    a = np.round(rng.normal(size=(3000, 4)), 1)
    b = np.round(rng.normal(size=(2500, 4)), 1)
    b[:, 2] += 0.3
    report = drift_between(DataProfile.from_array(a), DataProfile.from_array(b))
    for j, f in enumerate(report.features):
        ref = ss.ks_2samp(a[:, j], b[:, j])
        assert f.method == "exact" and f.error_bound == 0
        assert f.statistic == ref.statistic
        assert f.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
        assert f.pvalue_corrected == pytest.approx(min(1.0, 4 * ref.pvalue), rel=1e-12)
        assert f.wasserstein_normed == pytest.approx(wasserstein_normed(a[:, j], b[:, j]))
        assert f.psi == pytest.approx(psi(a[:, j], b[:, j]))
    assert [f.name for f in report.drifted] == ["2"]
    assert report.drifted_share == 0.25 and not report.dataset_drift


def test_ks_from_sketched_profiles_within_documented_bound() -> None:
    rng = np.random.default_rng(6)
    for shift in (0.0, 0.05, 0.5):
        a = rng.normal(size=150_000)
        b = rng.normal(shift, size=120_000)
        f = drift_between(DataProfile.from_array(a), DataProfile.from_array(b)).features[0]
        exact = ks_2samp(a, b).statistic
        assert f.method == "sketch"
        assert abs(f.statistic - exact) <= f.error_bound
        assert f.error_bound == pytest.approx(2 * sketch_rank_error())
    # sketch error alone never reads as drift; a large shift does
    same = drift_between(
        DataProfile.from_array(rng.normal(size=200_000)),
        DataProfile.from_array(rng.normal(size=200_000)),
    )
    assert not same.features[0].drifted
    assert f.drifted


def test_mixed_exact_and_sketch_and_categorical_and_label_shift() -> None:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame(
        {
            "x": rng.normal(size=50_000),
            "c": rng.choice(list("abc"), 50_000),
            "y": rng.choice([0, 1], 50_000, p=[0.5, 0.5]),
        }
    )
    cur = pd.DataFrame(
        {
            "x": rng.normal(size=3_000),
            "c": rng.choice(list("abcd"), 3_000),
            "y": rng.choice([0, 1], 3_000, p=[0.3, 0.7]),
        }
    )
    r = drift_between(
        DataProfile.from_dataframe(ref, label="y"), DataProfile.from_dataframe(cur, label="y")
    )
    x, c = r.features
    assert x.method == "sketch" and not x.drifted
    assert c.test == "chi2" and c.drifted  # "d" is new in current
    cref = ss.chi2_contingency(
        pd.crosstab(np.r_[np.zeros(50_000), np.ones(3_000)], np.r_[ref["c"], cur["c"]]).to_numpy()
    )
    assert c.statistic == pytest.approx(cref.statistic)
    assert r.label is not None and r.label.drifted
    assert r.label.linf == pytest.approx(abs(ref["y"].mean() - cur["y"].mean()))
    json.dumps(r.to_dict())
    table = r.to_pandas()
    assert list(table["role"]) == ["feature", "feature", "label"]
    text = str(r)
    assert text.index("c ") < text.index("x ") and "y (label)" in text
    assert "1 of 2 features drifted (Bonferroni p < 0.05; dataset drift needs ≥ 50 %)" in (
        r.summary()
    )


def test_untestable_columns_are_reported_not_counted() -> None:
    a = pd.DataFrame({"x": [1.0, 2.0], "e": [np.nan, np.nan], "only_ref": [1.0, 2.0]})
    b = pd.DataFrame({"x": [1.0, 5.0], "e": [1.0, 2.0], "only_cur": ["p", "q"]})
    r = drift_between(DataProfile.from_dataframe(a), DataProfile.from_dataframe(b))
    notes = {f.name: f.note for f in r.features}
    assert notes == {
        "x": None,
        "e": "no values in reference",
        "only_ref": "only in reference",
        "only_cur": "only in current",
    }
    assert r.drifted_share == 0.0
    with pytest.raises(InvalidInput, match="alpha"):
        drift_between(DataProfile.from_dataframe(a), DataProfile.from_dataframe(b), alpha=2)
    bh = drift_between(
        DataProfile.from_dataframe(a), DataProfile.from_dataframe(b), correction="bh"
    )
    assert bh.correction == "bh"


def test_dataset_drift_uses_share_threshold() -> None:
    rng = np.random.default_rng(8)
    a = rng.normal(size=(2000, 4))
    b = rng.normal(size=(2000, 4))
    b[:, :2] += 1.0
    r = drift_between(DataProfile.from_array(a), DataProfile.from_array(b))
    assert r.drifted_share == 0.5 and r.dataset_drift
    assert not drift_between(
        DataProfile.from_array(a), DataProfile.from_array(b), drift_share=0.75
    ).dataset_drift


def test_arguments_of_the_wrong_type_are_typed_errors() -> None:
    p = DataProfile.from_array([1.0, 2.0])
    with pytest.raises(InvalidInput, match="reference must be a DataProfile, got NoneType"):
        drift_between(None, p)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="current must be a DataProfile, got dict"):
        drift_between(p, {})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="merge needs a DataProfile, got NoneType"):
        p.merge(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="merge needs a ColumnProfile, got DataProfile"):
        p["0"].merge(p)  # type: ignore[arg-type]
