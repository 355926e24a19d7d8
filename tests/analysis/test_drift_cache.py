"""The drift cache: a cached report is served only for the pair, profiles and parameters it
was computed from; anything else in the cache, damaged or misfiled, is recomputed."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage import content
from mlineage.analysis import DataProfile, DriftReport, drift_between
from mlineage.analysis._drift_cache import DriftCache, canonical
from mlineage.errors import CorruptRecord
from mlineage.storage import LocalStore
from tests.analysis.test_drift_lineage import SHIFTED, _history

PARAMS = {"alpha": 0.05, "correction": "bonferroni", "drift_share": 0.5}
NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> ml.Tracker:
    """Eight monthly versions (month 7's data shifted), nothing cached."""
    return _history(str(tmp_path_factory.mktemp("drift-cache") / "store"), months=8)


@pytest.fixture
def tracker(months: ml.Tracker) -> Iterator[ml.Tracker]:
    """A fresh tracker on the store, its drift cache emptied before and after."""
    _clear_cache(months)
    yield ml.Tracker.load("churn", storage=months.storage_path)
    _clear_cache(months)


def _clear_cache(tracker: ml.Tracker) -> None:
    for key in list(tracker.store.list("models/churn/cache/")):
        tracker.store.delete(key)


def _truth(tracker: ml.Tracker, a: str, b: str, **params: Any) -> DriftReport:
    """The report computed from the stored profiles, without any cache."""
    va, vb = tracker.get_version(a), tracker.get_version(b)
    pa, pb = (
        DataProfile.from_bytes(content.read_blob(tracker.store, v.dataset.profile))  # type: ignore[arg-type]
        for v in (va, vb)
    )
    return replace(drift_between(pa, pb, **params), reference=va.id, current=vb.id)


def _inputs(tracker: ml.Tracker, a: str, b: str, **params: Any) -> dict[str, Any]:
    va, vb = tracker.get_version(a), tracker.get_version(b)
    return DriftCache.inputs(
        va.id, vb.id, str(va.dataset.profile), str(vb.dataset.profile), {**PARAMS, **params}
    )


def _lookup_key(tracker: ml.Tracker, inputs: dict[str, Any]) -> str:
    return DriftCache(tracker.store, "churn", read_only=True).key(inputs)


def _plant_blob(tracker: ml.Tracker, data: bytes) -> str:
    key = content.blob_key_of(data)
    tracker.store.put_if_absent(key, data)
    return key


def _field(tracker: ml.Tracker, change: dict[str, Any]) -> tuple[str, Any]:
    """The one field of ``change``, a version name replaced by what that field holds."""
    name, value = next(iter(change.items()))
    if name.endswith("_profile"):
        return name, str(tracker.get_version(value).dataset.profile)
    if name in ("reference", "current"):
        return name, tracker.get_version(value).id
    return name, value


def _plant_report(
    tracker: ml.Tracker, inputs: dict[str, Any], bound: dict[str, Any], report: DriftReport
) -> None:
    """Point the lookup of ``inputs`` at a report blob that says it was computed from
    ``bound``."""
    doc = {"format": 2, "kind": "drift-report", "inputs": bound, "report": report.to_dict()}
    _plant_lookup(tracker, inputs, _plant_blob(tracker, canonical(doc)))


def _plant_lookup(tracker: ml.Tracker, inputs: dict[str, Any], result: object) -> str:
    key = _lookup_key(tracker, inputs)
    tracker.store.put(key, canonical({**inputs, "result": result}), mode="overwrite")
    return key


def _result_of(tracker: ml.Tracker, inputs: dict[str, Any]) -> str:
    return str(json.loads(tracker.store.get(_lookup_key(tracker, inputs)))["result"])


def _month7(tracker: ml.Tracker) -> tuple[DriftReport, bool]:
    """month 6 -> month 7 through the cache: the report and whether it was cached."""
    step = tracker.analysis.drift_along(on="month-7").steps[-1]
    assert step.report is not None
    return step.report, step.cached


def _assert_recomputed_then_repaired(tracker: ml.Tracker) -> None:
    truth = _truth(tracker, "month-6", "month-7")
    report, cached = _month7(tracker)
    assert not cached and report == truth
    assert sorted(f.name for f in report.drifted) == SHIFTED
    assert tracker.analysis.drift("month-7") == truth
    again = ml.Tracker.load("churn", storage=tracker.storage_path)
    report, cached = _month7(again)
    assert cached and report == truth  # the lookup was rewritten with the right answer


def test_a_lookup_naming_another_pairs_report_is_recomputed(tracker: ml.Tracker) -> None:
    # Fill the cache for month 7 -> 8 (nothing drifted), then point month 6 -> 7's lookup
    # at that report: served as is, it would say nothing drifted at month 7.
    assert tracker.analysis.drift("month-8").drifted == []
    other = _result_of(tracker, _inputs(tracker, "month-7", "month-8"))
    _plant_lookup(tracker, _inputs(tracker, "month-6", "month-7"), other)
    _assert_recomputed_then_repaired(ml.Tracker.load("churn", storage=tracker.storage_path))


def test_another_pairs_lookup_copied_under_this_key_is_recomputed(tracker: ml.Tracker) -> None:
    tracker.analysis.drift("month-8")
    other = _inputs(tracker, "month-7", "month-8")
    copied = tracker.store.get(_lookup_key(tracker, other))
    key = _lookup_key(tracker, _inputs(tracker, "month-6", "month-7"))
    tracker.store.put(key, copied)
    _assert_recomputed_then_repaired(tracker)


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("inputs", {"reference_profile": "month-7"}),  # the report of other profiles ...
        ("inputs", {"current_profile": "month-8"}),
        ("inputs", {"reference": "month-5"}),  # ... of another pair with the same profiles
        ("inputs", {"parameters": {"alpha": 0.5, "correction": "bonferroni", "drift_share": 0.5}}),
        ("inputs", {"parameters": {"alpha": 0.05, "correction": "bh", "drift_share": 0.5}}),
        ("inputs", {"algorithm": 0}),
        ("report", {"reference": "month-7"}),  # inputs right, the report's own fields not
        ("report", {"current": "month-8"}),
        ("report", {"alpha": 0.5}),
        ("report", {"correction": "bh"}),
    ],
    ids=lambda value: value if isinstance(value, str) else next(iter(value)),
)
def test_a_report_bound_to_other_inputs_is_recomputed(
    tracker: ml.Tracker, where: str, change: dict[str, Any]
) -> None:
    # Month 6 -> 7's lookup names a report blob that says it was computed from other
    # inputs (other profiles, another version, other parameters, another algorithm) and
    # holds month 7 -> 8's answer; or one whose inputs are right but whose own versions or
    # parameters are not, with every feature marked undrifted.
    inputs = _inputs(tracker, "month-6", "month-7")
    name, value = _field(tracker, change)
    if where == "inputs":
        wrong = _truth(tracker, "month-7", "month-8")
        wrong = replace(wrong, reference=inputs["reference"], current=inputs["current"])
        _plant_report(tracker, inputs, {**inputs, name: value}, wrong)
    else:
        wrong = replace(_truth(tracker, "month-6", "month-7"), **{name: value})
        wrong = replace(wrong, features=[replace(f, drifted=False) for f in wrong.features])
        _plant_report(tracker, inputs, inputs, wrong)
    _assert_recomputed_then_repaired(tracker)


def _report_doc(tracker: ml.Tracker, **report_changes: Any) -> dict[str, Any]:
    inputs = _inputs(tracker, "month-6", "month-7")
    report = _truth(tracker, "month-6", "month-7").to_dict()
    report.update(report_changes)
    return {"format": 2, "kind": "drift-report", "inputs": inputs, "report": report}


def _feature_changed(tracker: ml.Tracker, **changes: Any) -> dict[str, Any]:
    doc = _report_doc(tracker)
    doc["report"]["features"][1].update(changes)
    return doc


DAMAGED_LOOKUPS: list[tuple[str, Any]] = [
    ("garbage", b"{garbage"),
    ("not utf-8", b"\xff\xfe{}"),
    ("empty", b""),
    ("a list", b"[]"),
    ("null", b"null"),
    ("nested 100,000 deep", NESTED),
    ("nested object", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    ("result a number", 5),
    ("result null", None),
    ("result a nested list", "nested"),
    ("result outside blobs", "models/churn/versions/x.json"),
    ("result escaping the store", "../../../etc/passwd"),
    ("result a missing blob", "blobs/sha256/00/" + "0" * 62),
]


@pytest.mark.parametrize(("name", "lookup"), DAMAGED_LOOKUPS, ids=[n for n, _ in DAMAGED_LOOKUPS])
def test_a_damaged_lookup_is_recomputed(tracker: ml.Tracker, name: str, lookup: Any) -> None:
    inputs = _inputs(tracker, "month-6", "month-7")
    if lookup == "nested":
        lookup = canonical({**inputs, "result": "NESTED"}).replace(b'"NESTED"', NESTED)
    if isinstance(lookup, bytes):
        tracker.store.put(_lookup_key(tracker, inputs), lookup)
    else:
        _plant_lookup(tracker, inputs, lookup)
    _assert_recomputed_then_repaired(tracker)


def _damaged_reports(tracker: ml.Tracker) -> dict[str, bytes]:
    docs: dict[str, Any] = {
        "statistic a string": _feature_changed(tracker, statistic="0.41"),
        "drifted a string": _feature_changed(tracker, drifted="no"),
        "drifted an int": _feature_changed(tracker, drifted=0),
        "negative count": _feature_changed(tracker, n_ref=-400),
        "count a bool": _feature_changed(tracker, n_cur=True),
        "count a float": _feature_changed(tracker, n_cur=400.0),
        "name a number": _feature_changed(tracker, name=1),
        "unknown field": _feature_changed(tracker, verdict="fine"),
        "feature a list": _report_doc(tracker, features=[[1, 2]]),
        "features an object": _report_doc(tracker, features={"1": {}}),
        "drifted share nan": _report_doc(tracker, drifted_share=math.nan),
        "drifted share 2": _report_doc(tracker, drifted_share=2.0),
        "dataset drift a string": _report_doc(tracker, dataset_drift="false"),
        "label a number": _report_doc(tracker, label=3),
        "report missing": {**_report_doc(tracker), "report": None},
        "format 1 layout": {"format": 1, "kind": "drift-report", **_report_doc(tracker)["report"]},
        "inputs nested deep": {**_report_doc(tracker), "inputs": "NESTED"},
    }
    out = {name: canonical(doc) for name, doc in docs.items()}
    out["inputs nested deep"] = out["inputs nested deep"].replace(b'"NESTED"', NESTED)
    out["not json"] = b"\x93NUMPY"
    out["nested 100,000 deep"] = NESTED
    return out


REPORT_DAMAGE = [
    "statistic a string",
    "drifted a string",
    "drifted an int",
    "negative count",
    "count a bool",
    "count a float",
    "name a number",
    "unknown field",
    "feature a list",
    "features an object",
    "drifted share nan",
    "drifted share 2",
    "dataset drift a string",
    "label a number",
    "report missing",
    "format 1 layout",
    "inputs nested deep",
    "not json",
    "nested 100,000 deep",
]


@pytest.mark.parametrize("damage", REPORT_DAMAGE)
def test_a_report_blob_of_the_wrong_shape_is_recomputed(tracker: ml.Tracker, damage: str) -> None:
    blob = _plant_blob(tracker, _damaged_reports(tracker)[damage])
    _plant_lookup(tracker, _inputs(tracker, "month-6", "month-7"), blob)
    _assert_recomputed_then_repaired(tracker)


def test_a_report_blob_that_does_not_hash_to_its_key_is_recomputed(tracker: ml.Tracker) -> None:
    tracker.analysis.drift("month-7")
    blob = _result_of(tracker, _inputs(tracker, "month-6", "month-7"))
    store = tracker.store
    assert isinstance(store, LocalStore)
    good = store.path_of(blob).read_bytes()
    bad = good.replace(b'"drifted":true', b'"drifted":false')
    assert bad != good
    store.path_of(blob).write_bytes(bad)
    try:
        fresh = ml.Tracker.load("churn", storage=tracker.storage_path)
        report, cached = _month7(fresh)
        assert not cached and report == _truth(tracker, "month-6", "month-7")
    finally:
        store.path_of(blob).write_bytes(good)  # the store is shared by this module's tests


def test_a_lookup_written_by_the_previous_release_is_never_read(tracker: ml.Tracker) -> None:
    # The format 1 layout: no version ids in the lookup, the report without its inputs.
    # Its key is another digest; even pointing at a wrong answer it changes nothing.
    new = _inputs(tracker, "month-6", "month-7")
    old = {k: v for k, v in new.items() if k not in ("reference", "current")} | {"format": 1}
    wrong = _truth(tracker, "month-7", "month-8").to_dict()
    blob = _plant_blob(tracker, canonical({"format": 1, "kind": "drift-report", **wrong}))
    digest = hashlib.sha256(canonical(old)).hexdigest()
    tracker.store.put(f"models/churn/cache/drift/{digest}.json", canonical({**old, "result": blob}))
    _assert_recomputed_then_repaired(tracker)


def test_a_read_only_tracker_recomputes_and_leaves_the_cache_alone(tracker: ml.Tracker) -> None:
    tracker.analysis.drift("month-8")
    other = _result_of(tracker, _inputs(tracker, "month-7", "month-8"))
    key = _plant_lookup(tracker, _inputs(tracker, "month-6", "month-7"), other)
    planted = tracker.store.get(key)
    reader = ml.Tracker.load("churn", storage=tracker.storage_path, read_only=True)
    assert reader.analysis.drift("month-7") == _truth(tracker, "month-6", "month-7")
    assert tracker.store.get(key) == planted


def test_parameters_are_part_of_the_binding(tracker: ml.Tracker) -> None:
    loose = tracker.analysis.drift("month-7", alpha=0.5)
    strict = tracker.analysis.drift("month-7", alpha=1e-12, correction="bh")
    assert loose == _truth(tracker, "month-6", "month-7", alpha=0.5)
    assert strict == _truth(tracker, "month-6", "month-7", alpha=1e-12, correction="bh")
    again = ml.Tracker.load("churn", storage=tracker.storage_path)
    assert again.analysis.drift("month-7", alpha=0.5) == loose
    assert again.analysis.drift("month-7", alpha=1e-12, correction="bh") == strict


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_whatever_the_cache_holds_the_answer_is_right(
    months: ml.Tracker, data: st.DataObject
) -> None:
    """Any single byte of a lookup or its report blob changed, or any JSON value as the
    lookup: the answer is the report of the data, never another."""
    _clear_cache(months)
    truth = _truth(months, "month-6", "month-7")
    months.analysis.drift("month-7")  # the right entries, then damage one
    inputs = _inputs(months, "month-6", "month-7")
    key = _lookup_key(months, inputs)
    target = data.draw(st.sampled_from(["lookup", "report", "json"]))
    store = months.store
    assert isinstance(store, LocalStore)
    if target == "json":
        json_values = st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=12,
        )
        store.path_of(key).write_bytes(canonical(data.draw(json_values)))
    else:
        path = store.path_of(key if target == "lookup" else _result_of(months, inputs))
        good = path.read_bytes()
        raw = bytearray(good)
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
        path.write_bytes(bytes(raw))
    try:
        fresh = ml.Tracker.load("churn", storage=months.storage_path)
        assert fresh.analysis.drift("month-7") == truth
    finally:
        if target == "report":
            path.write_bytes(good)  # blobs outlive the cache's lookups: undo the damage
        _clear_cache(months)


def test_fsck_accepts_the_cache(tracker: ml.Tracker) -> None:
    from mlineage.fsck import fsck

    tracker.analysis.drift_along()
    assert fsck(tracker.storage_path, verify_blobs=True).problems == []
    key = next(iter(tracker.store.list("models/churn/cache/drift/")))
    lookup = json.loads(tracker.store.get(key))
    blob = json.loads(content.read_blob(tracker.store, lookup["result"]))
    assert blob["inputs"] == {k: v for k, v in lookup.items() if k != "result"}
    assert (blob["report"]["reference"], blob["report"]["current"]) == (
        lookup["reference"],
        lookup["current"],
    )


def test_a_canonical_report_reads_back_equal_and_checked(tracker: ml.Tracker) -> None:
    # Cached reports are canonical JSON (sorted keys), read by a fast path; a report in
    # field order goes through the field-by-field checks. Both give the same report, and
    # a wrong type is refused on either.
    report = _truth(tracker, "month-6", "month-7")
    as_written = report.to_dict()
    canonical_form = json.loads(canonical(as_written))
    assert list(canonical_form["features"][0]) == sorted(as_written["features"][0])
    assert DriftReport.from_dict(canonical_form) == DriftReport.from_dict(as_written) == report
    for form in (as_written, canonical_form):
        for field, value in (("statistic", "0.4"), ("n_cur", -1), ("drifted", 1)):
            bad = json.loads(json.dumps(form))
            bad["features"][3][field] = value
            with pytest.raises(CorruptRecord, match=field):
                DriftReport.from_dict(bad)
