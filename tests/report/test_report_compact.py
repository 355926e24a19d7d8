"""A report of a very long lineage stays small: the versions a reader opens are embedded,
the rest is the DAG's shape and one row per stretch of plain versions, and the charts are
downsampled keeping every suspect, change point and alias move.

The threshold (``COMPACT_ABOVE``, 10,000 versions) is lowered here so a 3,000-version
lineage takes the compact path; ``benchmarks/bench_report_scale.py`` measures a million.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest

import mlineage as ml
from mlineage.report import _compact, _data, build_report_data, write_report
from tests.report.conftest import T0, new_tracker, snapshot

N = 3_000


@pytest.fixture(scope="module")
def long_lineage() -> ml.Tracker:
    """A main line of N versions, a one-version fine-tune every 200, a regression at
    2,100 and an alias that moved twice."""
    tracker = new_tracker("long")
    main = None
    accuracy = 0.9
    rng = random.Random(0)
    for i in range(N):
        accuracy += 0.01 * (0.9 - accuracy) + rng.gauss(0.0, 0.002)
        if i == 2_100:
            accuracy -= 0.2
        main = tracker.log(
            parent=main,
            timestamp=T0 + timedelta(minutes=i),
            name=f"v{i}",
            model_path=f"m{i}.pt",
            dataset=snapshot(i),
            metrics={"accuracy": accuracy},
        )
        if i % 200 == 100:
            tracker.log(
                parent=main,
                kind="fine_tune",
                timestamp=T0 + timedelta(minutes=i, seconds=30),
                name=f"ft{i}",
                model_path=f"ft{i}.pt",
                dataset=snapshot(f"ft{i}"),
                metrics={"accuracy": accuracy + 0.01},
            )
    tracker.set_alias("production", "v500")
    tracker.set_alias("production", "v1500")
    return tracker


@pytest.fixture
def compact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_data, "COMPACT_ABOVE", 1_000)
    monkeypatch.setattr(_compact, "RECENT", 100)
    monkeypatch.setattr(_compact, "TIPS", 5)
    monkeypatch.setattr(_compact, "POINTS", 200)


def test_only_the_versions_a_reader_opens_are_embedded(long_lineage, compact) -> None:
    data = build_report_data(long_lineage)
    info = data["compact"]
    assert info["versions"] == N + 15
    rows = data["versions"]
    by_id = {r["id"]: r for r in rows}
    detailed = {r["name"] for r in rows if not r.get("stub") and not r.get("run")}
    # aliases (now and before), the suspect, the 5 newest tips (the main line's among
    # them), the 100 newest versions
    assert {"v500", "v1500", "v2100", "v2999"} <= detailed
    assert {f"ft{i}" for i in range(2_300, 3_000, 200)} <= detailed
    assert "ft100" not in detailed and "v1000" not in detailed
    stubs = {r["name"] for r in rows if r.get("stub")}
    assert "ft100" in stubs and "v100" in stubs  # an old tip and its fork: the DAG's shape
    runs = [r for r in rows if r.get("run")]
    assert sum(r["run"]["count"] for r in runs) + len(by_id) - len(runs) == info["versions"]
    # every row's parents are rows of the page, parents first
    seen: set[str] = set()
    for row in rows:
        assert all(p in seen for p in row["parents"]), row["id"]
        seen.add(row["id"])
    assert data["spine_length"] == N and data["spine"][-1] == long_lineage.get_version("v2999").id
    assert data["spine_positions"] == sorted(data["spine_positions"])


def test_charts_are_downsampled_keeping_suspects_and_alias_moves(long_lineage, compact) -> None:
    data = build_report_data(long_lineage)
    accuracy = data["metrics"][0]
    positions = {p for p, _ in accuracy["timeline"]}
    assert len(positions) <= 200 + 10
    assert {2_100, 500, 1_500} <= positions  # the suspect and both alias moves
    assert accuracy["suspects"][0]["version"] == long_lineage.get_version("v2100").id


def _data_block(page: str) -> str:
    start = page.index('id="mlineage-data">') + len('id="mlineage-data">')
    return page[start : page.index("</script>", start)]


def test_the_compact_page_draws_and_says_what_is_not_embedded(
    long_lineage, compact, open_report, tmp_path: Path
) -> None:
    path = write_report(long_lineage, tmp_path / "long.html")
    embedded = json.loads(_data_block(path.read_text()))
    assert len(embedded["versions"]) < 400  # of 3,015: the rest are runs' counts
    report = open_report(path)
    page = report.page
    assert "A long lineage: 3,015 versions" in page.locator("#compact-notice").inner_text()
    run = page.locator(".row.elided").first
    assert "versions not embedded" in run.inner_text()
    run.click()
    assert "mlineage show" in page.locator("#not-embedded").inner_text()
    page.fill("#find", "v1500")
    page.get_by_role("button", name="Go").click()
    assert page.locator("#details h2").inner_text() == "v1500"
    assert "3,015 versions" in page.locator("#summary-counts").inner_text()


def test_the_compact_page_fits_a_phone(long_lineage, compact, browser, tmp_path: Path) -> None:
    path = write_report(long_lineage, tmp_path / "long.html")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(path.as_uri())
        page.wait_for_selector("html[data-ready='true']")
        page.screenshot(path=str(tmp_path / "long-phone.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator(".row.elided").count() >= 1
    finally:
        page.close()


def test_a_server_draws_the_same_page_through_the_one_entry_point(
    demo, open_report, tmp_path: Path
) -> None:
    """``mlineage ui`` serves the page with an empty data block and calls
    ``mlineageReport.draw(data)`` with the document ``build_report_data`` returns."""
    tracker, _ = demo
    data = build_report_data(tracker)
    page_text = write_report(tracker, tmp_path / "r.html").read_text()
    block = _data_block(page_text)
    empty = tmp_path / "served.html"
    empty.write_text(page_text.replace(block, ""))
    report = open_report(empty, wait=False)
    page = report.page
    assert page.locator(".row[data-id]").count() == 0  # nothing drawn without data
    page.evaluate("data => window.mlineageReport.draw(data)", data)
    page.wait_for_selector("html[data-ready='true']")
    assert page.locator(".row[data-id]").count() == len(data["versions"])
    assert page.locator("#details h2").inner_text() == "v7"
