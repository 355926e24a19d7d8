"""Category counts: exact up to top_k, then DataSketches' frequent-items sketch, any merge order."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage.errors import CorruptRecord, InvalidInput
from mlineage.stats.profile import (
    OTHER,
    DataProfile,
    drift_between,
    frequent_items_epsilon,
)

#: Written by mlineage at commit cc231c4 (profile format 1, before the frequent-items
#: sketch); never regenerate it. "merchant" has more than top_k categories, so its counts
#: beyond the top 100 are pooled as "other".
OLD_PROFILE = Path(__file__).parents[1] / "data" / "profiles" / "profile-format-1.json"


def _profile(values: list[str], top_k: int) -> DataProfile:
    return DataProfile.from_array(np.array(values, dtype=object), top_k=top_k)


def _orders(parts: list[DataProfile], seed: int) -> list[DataProfile]:
    """The parts merged left to right, right to left, and in a shuffled order."""
    shuffled = list(parts)
    random.Random(seed).shuffle(shuffled)
    return [
        reduce(lambda a, b: a.merge(b), parts),
        reduce(lambda a, b: b.merge(a), reversed(parts)),
        reduce(lambda a, b: a.merge(b), shuffled),
    ]


def _top(counts: Counter[str], k: int) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k])


# --- exact counts: equal whatever the order -----------------------------------------------


@given(
    parts=st.lists(st.lists(st.sampled_from("abcde"), max_size=25), min_size=2, max_size=5),
    top_k=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=200, deadline=None)
def test_merge_order_never_changes_exact_category_counts(
    parts: list[list[str]], top_k: int, seed: int
) -> None:
    # The case: with a small top_k, merged counts used to depend on the order.
    # Five categories fit the sketch of any top_k exactly, so every order gives the counts
    # of the whole data, and the top_k of them.
    truth = Counter(v for part in parts for v in part)
    profiles = [_profile(part, top_k) for part in parts]
    whole = _profile([v for part in parts for v in part], top_k)
    batched = DataProfile.from_batches((np.array(p, dtype=object) for p in parts), top_k=top_k)
    for merged in [*_orders(profiles, seed), whole, batched]:
        col = merged["0"]
        assert col.count_error == 0
        assert col.categories == _top(truth, top_k)
        assert col.other == sum(truth.values()) - sum(col.categories.values())
        assert col.count == sum(truth.values())


# --- sketched counts: within the documented bound, whatever the order ---------------------

weights = st.dictionaries(st.sampled_from([f"c{i}" for i in range(60)]), st.integers(1, 80))


@given(
    weights=weights, top_k=st.integers(1, 3), n_parts=st.integers(1, 6), seed=st.integers(0, 2**16)
)
@settings(max_examples=150, deadline=None)
def test_sketched_counts_stay_within_the_bound_in_any_merge_order(
    weights: dict[str, int], top_k: int, n_parts: int, seed: int
) -> None:
    rng = random.Random(seed)
    rows = [c for c, n in weights.items() for _ in range(n)]
    rng.shuffle(rows)
    cuts = sorted(rng.randrange(len(rows) + 1) for _ in range(n_parts - 1)) if rows else []
    parts = [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
    profiles = [_profile(part, top_k) for part in parts]
    batched = DataProfile.from_batches((np.array(p, dtype=object) for p in parts), top_k=top_k)
    truth = Counter(rows)
    total = len(rows)
    bound = frequent_items_epsilon(top_k) * total  # DataSketches' a-priori worst case
    ranked = sorted(truth.values(), reverse=True)
    next_count = ranked[top_k] if len(ranked) > top_k else 0
    # counts the bound guarantees to be reported, whatever the order
    guaranteed = {c for c, n in truth.items() if n > 2 * bound and n > next_count + bound}
    for merged in [*_orders(profiles, seed), batched]:
        col = merged["0"]
        err = col.count_error
        assert err <= bound
        assert len(col.categories) <= top_k
        for cat, low in col.categories.items():
            assert low <= truth[cat] <= low + err
        assert col.other == total - sum(col.categories.values()) >= 0
        assert guaranteed <= set(col.categories)
        nfn = {row[0]: row for row in col.frequent_items("no_false_negatives")}
        assert {c for c, n in truth.items() if n > err} <= set(nfn)
        for cat, _estimate, low, high in nfn.values():
            assert low <= truth[cat] <= high and high - low == err
        assert all(truth[row[0]] > err for row in col.frequent_items("no_false_positives"))
        again = DataProfile.from_bytes(merged.to_bytes())["0"]
        assert (again.categories, again.count_error) == (col.categories, err)


def test_from_batches_keeps_the_most_frequent_category_that_no_batch_ranks() -> None:
    # The case: "star" is the most frequent category overall (20 rows) but never in
    # one batch's top 100 (each batch has 101 other categories of 2 rows), so truncating
    # each batch to top_k dropped it.
    batches = [
        np.array([f"b{i}-{j}" for j in range(101) for _ in range(2)] + ["star"], dtype=object)
        for i in range(20)
    ]
    col = DataProfile.from_batches(batches)["0"]
    assert col.count == 20 * 203 and col.count_error > 0  # 2,021 categories: sketched
    assert col.count_error <= frequent_items_epsilon() * col.count
    assert next(iter(col.categories)) == "star"
    assert col.categories["star"] <= 20 <= col.categories["star"] + col.count_error
    assert col.frequent_items()[0][0] == "star"


def test_distinct_ids_whose_sketch_purges_every_counter_keep_their_rows_and_bound() -> None:
    # 769 categories of one row each fill the map (768 at top_k=100) and the purge removes
    # every counter; DataSketches then calls the sketch empty and drops its weight when
    # it is merged or serialised. The rows and their error bound must survive both.
    ids = np.array([f"id{i}" for i in range(769)], dtype=object)
    p = DataProfile.from_array(ids)
    col = p["0"]
    assert (col.count, col.categories, col.other) == (769, {}, 769)
    assert 1 <= col.count_error <= frequent_items_epsilon() * 769
    again = DataProfile.from_bytes(p.to_bytes())["0"]
    assert (again.count, again.other, again.count_error) == (769, 769, col.count_error)
    both = p.merge(DataProfile.from_array(np.array(["id0"] * 5, dtype=object)))["0"]
    assert both.count == 774 and both.count_error >= col.count_error
    assert both.categories.get("id0", 0) <= 6 <= both.categories.get("id0", 0) + both.count_error


def test_frequent_items_of_exact_counts_and_bad_arguments() -> None:
    col = _profile(["a", "b", "a", None], 10)["0"]
    assert col.frequent_items() == [("a", 2, 2, 2), ("b", 1, 1, 1)]
    assert col.frequent_items("no_false_negatives") == col.frequent_items()
    with pytest.raises(InvalidInput, match="error_type"):
        col.frequent_items("both")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="numeric"):
        DataProfile.from_array([1.0])["0"].frequent_items()


# --- storage: format 2 for sketches, old profiles still read --------------------------------


def test_sketched_column_round_trips_in_format_2_and_exact_ones_stay_format_1() -> None:
    rng = np.random.default_rng(0)
    values = np.array([f"u{v}" for v in rng.zipf(1.2, 30_000)], dtype=object)
    p = DataProfile.from_array(values)
    blob = p.to_bytes()
    assert json.loads(blob)["format"] == 2 and p["0"].count_error > 0
    q = DataProfile.from_bytes(blob)
    assert (q["0"].count_error, q["0"].categories) == (p["0"].count_error, p["0"].categories)
    for kind in ("no_false_positives", "no_false_negatives"):
        assert q["0"].frequent_items(kind) == p["0"].frequent_items(kind)  # type: ignore[arg-type]
    small = DataProfile.from_array(np.array(["x", "y", "x"], dtype=object))
    assert json.loads(small.to_bytes())["format"] == 1


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c.update(sketch=base64.b64encode(b"\x05" * 40).decode()), "deserialise"),
        (lambda c: c.update(other=c["other"] + 1), "holds"),
        (lambda c: c.update(top_k=7), "holds"),
        (lambda c: c.update(categories={"a": 1}), "format 2"),
        (lambda c: c.update(sketch="not base64!"), "base64"),
    ],
)
def test_damaged_categorical_sketch_is_a_corrupt_record(edit: object, match: str) -> None:
    doc = DataProfile.from_array(np.array([f"v{i % 300}" for i in range(900)])).to_dict()
    edit(doc["columns"][0])  # type: ignore[operator]
    with pytest.raises(CorruptRecord, match=match):
        DataProfile.from_bytes(json.dumps(doc).encode())
    doc = DataProfile.from_array(np.array([f"v{i % 300}" for i in range(900)])).to_dict()
    doc["format"] = 1  # a sketch cannot be in a format-1 profile
    with pytest.raises(CorruptRecord, match="format 2"):
        DataProfile.from_bytes(json.dumps(doc).encode())


def test_profile_stored_before_the_sketch_still_loads_merges_and_compares() -> None:
    blob = OLD_PROFILE.read_bytes()
    old = DataProfile.from_bytes(blob)
    assert old.to_bytes() == blob  # read and written back unchanged
    merchant = old["merchant"]
    assert len(merchant.categories) == 100 and merchant.other > 0
    # the pooled rows may belong to any category: that is the counts' error bound
    assert merchant.count_error == merchant.other
    assert old["country"].count_error == 0 and len(old["country"].categories) == 12
    rng = np.random.default_rng(1)
    fresh = DataProfile.from_dataframe(
        pd.DataFrame(
            {
                "amount": rng.lognormal(size=3_000),
                "age": rng.integers(18, 90, 3_000).astype(float),
                "country": rng.choice([f"c{i:02d}" for i in range(12)], 3_000),
                "merchant": [f"m{int(v)}" for v in rng.zipf(1.3, 3_000)],
                "y": rng.integers(0, 2, 3_000),
            }
        ),
        label="y",
    )
    merged = old.merge(fresh)
    assert merged.num_rows == old.num_rows + 3_000
    assert merged["merchant"].count_error >= merchant.other
    again = DataProfile.from_bytes(merged.to_bytes())["merchant"]
    assert (again.categories, again.count_error) == (
        merged["merchant"].categories,
        merged["merchant"].count_error,
    )
    report = drift_between(old, fresh)
    by_name = {f.name: f for f in report.features}
    assert by_name["country"].method == "exact" and by_name["country"].error_bound == 0
    assert by_name["merchant"].method == "sketch"
    assert by_name["merchant"].error_bound == pytest.approx(
        merchant.other / merchant.count + fresh["merchant"].count_error / 3_000
    )


# --- drift on sketched counts ----------------------------------------------------------------


def test_chi2_on_sketched_counts_uses_the_reported_counts_and_states_the_bound() -> None:
    rng = np.random.default_rng(2)

    def column(n: int, p_top: float) -> np.ndarray:
        tail = np.array([f"t{v}" for v in rng.integers(0, 5_000, n)], dtype=object)
        return np.where(rng.random(n) < p_top, "top", tail)

    ref = DataProfile.from_array(column(40_000, 0.3))
    cur = DataProfile.from_array(column(40_000, 0.5))
    a, b = ref["0"], cur["0"]
    f = drift_between(ref, cur).features[0]
    assert f.method == "sketch" and f.drifted
    assert f.error_bound == pytest.approx(a.count_error / a.count + b.count_error / b.count)
    assert "top" in a.categories and "top" in b.categories
    assert OTHER in (f.note or "")
