"""Attaching Evidently reports as evidence: needs no Evidently (the report is a real one, saved
by Evidently 0.7.23 under tests/data/evidently)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage.connectors import evidently
from mlineage.errors import InvalidInput, MissingDependency, VersionNotFound

REPORT = Path(__file__).parents[2] / "data" / "evidently" / "drift-report-0.7.23.json"


@pytest.fixture
def tracker(tmp_path: Path) -> ml.Tracker:
    t = ml.Tracker("churn", storage=str(tmp_path / "store"), capture_environment=False)
    t.log(model_path="jan.pt", dataset=ml.DataSnapshot(hash="sha256:0"), name="jan")
    t.log(model_path="feb.pt", dataset=ml.DataSnapshot(hash="sha256:1"), name="feb")
    return t


def _objects(tracker: ml.Tracker) -> list[str]:
    return sorted(tracker.store.list(""))


def test_a_saved_report_hangs_on_its_version(tracker: ml.Tracker) -> None:
    text = REPORT.read_text()
    event = evidently.attach(tracker, "feb", text)
    assert event.kind == "evidently" and event.tool == "evidently"
    assert event.tool_version is None  # a saved report does not say which Evidently wrote it
    assert event.summary == {
        "metrics": 5,
        "tests": 0,
        "tests_failed": 0,
        "drift_share": 0.5,
        "drifted_count": 2.0,
        "drift_share_threshold": 0.5,
        "dataset_drift": True,
        "columns_tested": 4,
        "drifted_columns": ["age", "plan"],
        "drift_methods": ["K-S p_value", "chi-square p_value"],
    }
    assert tracker.load_evidence(event, raw=True) == text.encode()  # byte for byte
    assert list(tracker.evidence(kind="evidently", on="feb")) == [event]
    assert list(tracker.evidence(kind="evidently", on="jan")) == []
    reloaded = ml.Tracker.load("churn", storage=tracker.store.uri, read_only=True)
    assert reloaded.evidence(kind="evidently")[0].summary == event.summary


def test_dict_text_bytes_and_path_give_the_same_summary(tracker: ml.Tracker) -> None:
    text = REPORT.read_text()
    summaries = [
        evidently.attach(tracker, "feb", given).summary
        for given in (text, text.encode(), json.loads(text), REPORT)
    ]
    assert all(s == summaries[0] for s in summaries)
    assert evidently.summarise(REPORT) == summaries[0]
    assert [tracker.load_evidence(e) for e in tracker.evidence()] == [json.loads(text)] * 4


@pytest.mark.parametrize(
    ("report", "why"),
    [
        ("not json {", "not JSON"),
        ("[1, 2]", "a list"),
        ({"metrics": []}, "no 'metrics' list"),
        ({"drift_share": 0.5}, r"no 'metrics' list \(keys: 'drift_share'\)"),
        ({"metrics": [{"value": 1}]}, r"metrics\[0\] has no Evidently 'config.type'"),
        ({"metrics": [{"config": {"type": "mine"}, "value": 1}]}, r"metrics\[0\] has no Evid"),
        (
            {"metrics": [{"config": {"type": "evidently:metric_v2:ValueDrift"}}]},
            "has no 'value'",
        ),
        (
            {"metrics": [{"config": {"type": "evidently:x"}, "value": 1}], "tests": {}},
            "'tests' is not a list",
        ),
        (42, "a int"),
    ],
)
def test_what_is_not_a_report_writes_nothing(tracker: ml.Tracker, report: Any, why: str) -> None:
    before = _objects(tracker)
    with pytest.raises(InvalidInput, match=why) as caught:
        evidently.attach(tracker, "feb", report)
    assert "is not an Evidently report" in str(caught.value)
    assert str(caught.value).endswith("nothing was written")
    assert _objects(tracker) == before
    assert len(tracker.evidence()) == 0


def test_a_missing_file_is_named(tracker: ml.Tracker, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"cannot read file .*nope\.json"):
        evidently.attach(tracker, "feb", tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"rows": 3}')
    with pytest.raises(InvalidInput, match=f"file {bad} is not an Evidently report"):
        evidently.attach(tracker, "feb", bad)


def test_an_unknown_version_writes_nothing(tracker: ml.Tracker) -> None:
    before = _objects(tracker)
    with pytest.raises(VersionNotFound):
        evidently.attach(tracker, "mar", REPORT)
    assert _objects(tracker) == before


def _drift(column: str, method: str, value: Any, threshold: float = 0.05) -> dict[str, Any]:
    return {
        "config": {
            "type": "evidently:metric_v2:ValueDrift",
            "column": column,
            "method": method,
            "threshold": threshold,
        },
        "value": value,
    }


def test_each_method_follows_evidentlys_rule(tracker: ml.Tracker) -> None:
    report = {
        "metrics": [
            _drift("ks_at", "K-S p_value", 0.05),  # KS drifts at p <= threshold
            _drift("chi_at", "chi-square p_value", 0.05),  # chi-square at p < threshold
            _drift("wd_at", "Wasserstein distance (normed)", 0.1, 0.1),  # distances at >=
            _drift("energy_at", "Energy-distance", 0.1, 0.1),  # energy at >
            _drift("psi_above", "PSI", 0.3, 0.1),
            _drift("mine", "my own test", 0.01),
            _drift("empty", "K-S p_value", None),
        ],
    }
    summary = evidently.summarise(report)
    assert summary["drifted_columns"] == ["ks_at", "psi_above", "wd_at"]
    assert summary["undecided_columns"] == ["empty", "mine"]
    assert "drift_share" not in summary  # no DriftedColumnsCount metric in this report


def test_evidentlys_own_test_results_win_over_the_rule() -> None:
    report = {
        "metrics": [_drift("a", "K-S p_value", 0.9)],
        "tests": [
            {
                "status": "FAIL",
                "metric_config": {
                    "params": {"type": "evidently:metric_v2:ValueDrift", "column": "a"}
                },
            }
        ],
    }
    assert evidently.summarise(report)["drifted_columns"] == ["a"]


def test_many_drifted_columns_are_truncated(tracker: ml.Tracker) -> None:
    report = {"metrics": [_drift(f"c{i:04}", "K-S p_value", 0.0) for i in range(500)]}
    event = evidently.attach(tracker, "feb", report)
    assert len(event.summary["drifted_columns"]) == evidently.MAX_COLUMNS
    assert event.summary["drifted_columns_truncated"] is True
    assert event.summary["columns_tested"] == 500


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def _count_non_finite(value: Any) -> int:
    if isinstance(value, float):
        return 0 if math.isfinite(value) else 1
    if isinstance(value, dict):
        return sum(_count_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_non_finite(v) for v in value)
    return 0


@settings(max_examples=40, deadline=None)
@given(extra=_json)
def test_non_finite_values_are_stored_as_null(extra: Any) -> None:
    t = ml.Tracker("m", storage="memory://evidently-nan", capture_environment=False)
    v = t.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"))
    report = {"metrics": [_drift("a", "K-S p_value", float("nan"))], "extra": extra}
    event = evidently.attach(t, v, json.dumps(report))  # json.dumps writes NaN as NaN
    assert t.load_evidence(event) == _strict(report)
    assert event.summary["non_finite"] == _count_non_finite(report)
    assert event.summary["undecided_columns"] == ["a"]


@pytest.mark.skipif(
    importlib.util.find_spec("evidently") is not None,
    reason="Evidently is installed here; the missing-extra error is tested where it is not",
)
def test_running_without_evidently_names_the_extra(tracker: ml.Tracker) -> None:
    with pytest.raises(MissingDependency, match=r"pip install 'mlineage\[evidently\]'"):
        evidently.run(tracker, "feb", None, None)
    with pytest.raises(MissingDependency, match=r"mlineage\[evidently\]"):
        evidently.attach(tracker, "feb", {"metric_results": {}, "top_level_metrics": []})
    assert len(tracker.evidence()) == 0
