"""Evidence in the HTML report: a row per event with the drift share and drifted columns,
and the full JSON embedded under an anchor (#evidence-<event id>)."""

from __future__ import annotations

import json
from pathlib import Path

import mlineage as ml
from mlineage.connectors import evidently
from mlineage.report import build_report_data
from mlineage.views.rows import MAX_EMBED, collect
from tests.report.conftest import memory_store, snapshot, xss

REPORT = Path(__file__).parents[1] / "data" / "evidently" / "drift-report-0.7.23.json"


def _tracker() -> tuple[ml.Tracker, ml.ModelVersion, ml.ModelVersion]:
    t = ml.Tracker("m", storage=memory_store(), capture_environment=False)
    jan = t.log(model_path="a.pt", dataset=snapshot(0), name="jan")
    feb = t.log(model_path="b.pt", dataset=snapshot(1), name="feb")
    return t, jan, feb


def test_each_evidence_event_is_a_row_with_its_full_json() -> None:
    t, jan, feb = _tracker()
    report = evidently.attach(t, feb, REPORT.read_text())
    verdict = t.attach_evidence(jan, "gate", summary={"passed": True})
    rows = collect(t)["evidence"]
    assert [r["version"] for r in rows] == [jan.id, feb.id]  # newest event first
    gate, drift = rows
    assert (drift["kind"], drift["tool"], drift["drift share"]) == ("evidently", "evidently", 0.5)
    assert drift["drifted columns"] == "age, plan"
    assert drift["summary"]["dataset_drift"] is True and "drift_share" not in drift["summary"]
    assert drift["full JSON"] == {
        "event": report.id,
        "bytes": REPORT.stat().st_size,
        "json": REPORT.read_text(),
    }
    assert gate["full JSON"] is None and gate["drift share"] is None
    assert gate["summary"] == verdict.summary
    data = build_report_data(t, analyses=collect(t))
    assert json.loads(data["analyses"]["evidence"][1]["full JSON"]["json"]) == json.loads(
        REPORT.read_text()
    )


def test_a_large_payload_is_named_not_embedded() -> None:
    t, _, feb = _tracker()
    big = t.attach_evidence(feb, "mine", {"blob": "x" * MAX_EMBED})
    (row,) = collect(t)["evidence"]
    assert row["full JSON"]["json"] is None
    assert big.id in row["full JSON"]["note"] and "too large to embed" in row["full JSON"]["note"]


def test_evidence_renders_with_its_json_behind_an_anchor(open_report, tmp_path: Path) -> None:
    t, _, feb = _tracker()
    report_event = evidently.attach(t, feb, REPORT.read_text())
    t.attach_evidence(feb, "mine", {"note": xss("evidence-json")}, {"text": xss("summary")})
    page = open_report(t.report(tmp_path / "r.html")).page
    panel = page.locator("[data-analysis='evidence']")
    text = panel.inner_text()
    assert "0.5" in text and "age, plan" in text
    assert json.dumps(xss("summary"))[1:-1] in text  # the summary cell is JSON text
    details = page.locator(f"#evidence-{report_event.id}")
    assert not details.locator("pre").is_visible()
    details.locator("summary").click()
    assert "DriftedColumnsCount" in details.locator("pre").inner_text()
    mine = panel.locator("details").nth(0)
    mine.locator("summary").click()
    assert json.loads(mine.locator("pre").inner_text()) == {"note": xss("evidence-json")}
    assert page.evaluate("window.__pwned") is None  # markup in payloads stays text
