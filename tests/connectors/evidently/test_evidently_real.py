"""Evidently itself on the lineage: its drift decisions land on the right version, and agree
with tracker.analysis.drift column by column except where the two differ by design.

Needs Evidently 0.7 (pandas < 3): `.ci/run` runs this folder in `.venv-evidently`. In the
main environment (pandas 3) Evidently is not installed and this module is skipped.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

evidently_sdk = pytest.importorskip(
    "evidently",
    reason="Evidently 0.7 needs pandas < 3; these tests run in .venv-evidently (.ci/run)",
)

import pandas as pd  # noqa: E402  (after the skip: Evidently's environment has pandas 2)
from evidently import Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402  (an Evidently dependency)

import mlineage as ml  # noqa: E402
from mlineage.connectors import evidently  # noqa: E402
from mlineage.errors import InvalidInput, VersionNotFound  # noqa: E402

ROOT = Path(__file__).parents[3]
REPORT = ROOT / "tests" / "data" / "evidently" / "drift-report-0.7.23.json"


def make_frames(n: int = 400, seed: int = 18) -> tuple[Any, Any]:
    """``age`` moves by 6 (0.75 sd), ``plan``'s shares reverse; income, tenure stay."""
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(
        {
            "age": rng.normal(40, 8, n),
            "income": rng.gamma(3, 1000, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
            "tenure": rng.integers(0, 60, n),
        }
    )
    current = pd.DataFrame(
        {
            "age": rng.normal(46, 8, n),
            "income": rng.gamma(3, 1000, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.2, 0.3, 0.5]),
            "tenure": rng.integers(0, 60, n),
        }
    )
    return reference, current


def _log_pair(tmp_path: Path, reference: Any, current: Any) -> ml.Tracker:
    t = ml.Tracker("churn", storage=str(tmp_path / "store"), capture_environment=False)
    t.log(
        model_path="jan.pt",
        dataset=ml.DataSnapshot.from_dataframe(reference, profile=True),
        name="jan",
    )
    t.log(
        model_path="feb.pt",
        dataset=ml.DataSnapshot.from_dataframe(current, profile=True),
        name="feb",
    )
    return t


def test_the_shipped_report_is_what_evidently_writes() -> None:
    reference, current = make_frames()
    fresh = Report([DataDriftPreset()]).run(current, reference)
    assert json.loads(fresh.json()) == json.loads(REPORT.read_text())


def test_drift_decisions_land_on_the_right_version(tmp_path: Path) -> None:
    reference, current = make_frames()
    t = _log_pair(tmp_path, reference, current)
    event = evidently.run(t, "feb", reference, current)
    assert event.version == t.get_version("feb").id
    assert event.tool_version == evidently_sdk.__version__
    assert event.summary["drifted_columns"] == ["age", "plan"]
    assert (event.summary["drift_share"], event.summary["dataset_drift"]) == (0.5, True)
    assert event.summary["tests"] == 5  # include_tests=True: the verdicts are Evidently's
    assert list(t.evidence(kind="evidently", on="feb")) == [event]
    assert list(t.evidence(kind="evidently", on="jan")) == []
    payload = t.load_evidence(event)
    assert payload["metrics"][0]["config"]["type"].endswith("DriftedColumnsCount")
    # The same data without Evidently's tests: the rule table reaches the same verdicts.
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    assert evidently.attach(t, "feb", snapshot).summary["drifted_columns"] == ["age", "plan"]


def test_it_agrees_with_tracker_analysis_drift_column_by_column(tmp_path: Path) -> None:
    reference, current = make_frames()
    t = _log_pair(tmp_path, reference, current)
    event = evidently.run(t, "feb", reference, current)
    ours = t.analysis.drift("jan", "feb")
    assert sorted(f.name for f in ours.drifted) == event.summary["drifted_columns"]
    assert ours.dataset_drift == event.summary["dataset_drift"]
    # n <= 1000: Evidently's numeric test is scipy's two-sample KS, as ours is: same p-values.
    values = {m["config"].get("column"): m["value"] for m in t.load_evidence(event)["metrics"]}
    for feature in ours.features:
        if feature.test == "ks":
            assert feature.pvalue == pytest.approx(values[feature.name], rel=1e-9)
    # Categorical: Evidently's chi-square is a goodness-of-fit test of the current counts
    # against the reference shares (scipy.stats.chisquare), ours the 2 x K contingency
    # test: the p-values differ, the decision on this shift does not.
    plan = next(f for f in ours.features if f.name == "plan")
    assert not math.isclose(plan.pvalue, values["plan"], rel_tol=1e-3) and plan.drifted


def test_where_they_disagree_by_design(tmp_path: Path) -> None:
    # 1. Above 1,000 reference rows Evidently judges numeric columns by the normed
    #    Wasserstein distance (drift at >= 0.1, an effect size) where we keep the KS test
    #    (significance): a small shift on many rows is drift for us, not for Evidently.
    rng = np.random.default_rng(5)
    n = 8000  # below the profiles' exact limit (10,000): our statistics are exact
    reference = pd.DataFrame({"x": rng.normal(0, 1, n), "z": rng.normal(0, 1, n)})
    current = pd.DataFrame({"x": reference["x"] + 0.07, "z": rng.normal(0, 1, n)})
    t = _log_pair(tmp_path, reference, current)
    event = evidently.run(t, "feb", reference, current)
    ours = t.analysis.drift("jan", "feb")
    x = next(f for f in ours.features if f.name == "x")
    assert event.summary["drift_methods"] == ["Wasserstein distance (normed)"]
    assert event.summary["drifted_columns"] == [] and x.drifted
    # ... though both compute the same distance: W1 / std of the reference (ddof=0).
    values = {m["config"].get("column"): m["value"] for m in t.load_evidence(event)["metrics"]}
    assert x.wasserstein_normed == pytest.approx(values["x"], rel=1e-9) and values["x"] < 0.1

    # 2. Evidently tests each column at 0.05 on its own; we correct for testing several
    #    (Bonferroni by default): a p-value between 0.05/k and 0.05 drifts only for it.
    k = 4
    rng = np.random.default_rng(11)
    base = {c: rng.normal(0, 1, 300) for c in "abcd"}
    reference = pd.DataFrame(base)
    for shift in np.linspace(0.1, 0.3, 41):
        current = pd.DataFrame({**{c: rng.normal(0, 1, 300) for c in "bcd"}})
        current.insert(0, "a", base["a"][::-1] * 1.0 + shift)
        p = ks_2samp(reference["a"], current["a"]).pvalue
        others = [ks_2samp(reference[c], current[c]).pvalue for c in "bcd"]
        if 0.05 / k < p < 0.05 and min(others) > 0.05:
            break
    else:
        pytest.fail("no shift gave a p-value between 0.05/k and 0.05")
    t2 = ml.Tracker("m2", storage=str(tmp_path / "store2"), capture_environment=False)
    t2.log(model_path="a.pt", dataset=ml.DataSnapshot.from_dataframe(reference, profile=True))
    head = t2.log(model_path="b.pt", dataset=ml.DataSnapshot.from_dataframe(current, profile=True))
    event = evidently.run(t2, head, reference, current)
    assert event.summary["drifted_columns"] == ["a"]
    assert t2.analysis.drift().drifted == []
    assert [f.name for f in t2.analysis.drift(correction="bh").drifted] == []
    assert [f.name for f in t2.analysis.drift(alpha=0.05 * k).drifted] == ["a"]


def test_run_refuses_bad_input_before_running(tmp_path: Path) -> None:
    reference, current = make_frames(50)
    t = _log_pair(tmp_path, reference, current)
    with pytest.raises(VersionNotFound):
        evidently.run(t, "mar", reference, current)
    with pytest.raises(InvalidInput, match=r"unknown Evidently preset 'Drift'.*DataDriftPreset"):
        evidently.run(t, "feb", reference, current, preset="Drift")
    assert len(t.evidence()) == 0


def test_a_full_snapshot_dump_is_read_through_evidently(tmp_path: Path) -> None:
    reference, current = make_frames()
    t = _log_pair(tmp_path, reference, current)
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    dumped = evidently.attach(t, "feb", json.loads(snapshot.dumps()))
    assert dumped.summary == evidently.attach(t, "feb", snapshot).summary


def test_the_docs_section_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = (ROOT / "docs" / "connectors.md").read_text()
    section = page.split("\n## Evidently\n")[1].split("\n## ")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), "docs (Evidently)", "exec"), {"__name__": "docs"})
