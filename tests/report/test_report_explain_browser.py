"""The demo's report in Chromium: badges in the DAG, the headline, Compare with drift and
churn, and a layout readable at a phone's 390x844 and a desktop's 1400x900.

The ``open_report`` fixture (conftest.py) fails a test on any network request, console
error, dialog or markup that ran. Screenshots of both sizes are written to the test's
temporary directory; the assertions are layout facts, not pixels.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mlineage as ml
from mlineage.demo import build_demo
from tests.report.conftest import xss

SIZES = {"phone": (390, 844), "desktop": (1400, 900)}


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ml.Tracker]:
    result = build_demo(tmp_path_factory.mktemp("demo") / "demo")
    return result.report, ml.Tracker.load("fraud-detector", storage=str(result.store))


def _row(page, name: str):
    return page.locator(".row[data-id]", has=page.locator(f".name >> text='{name}'"))


def test_september_row_shows_its_badges_and_headline(open_report, demo_page) -> None:
    path, _ = demo_page
    report = open_report(path)
    page = report.page
    sep = _row(page, "fraud-2024-09")
    assert [b.inner_text() for b in sep.locator(".badge.insight").all()] == [
        "drift: amount",
        "label shift",
        "silent shift",
    ]
    assert "z ≥ 3.5" in (sep.locator("[data-badge='drift']").get_attribute("title") or "")
    may = _row(page, "fraud-2024-05")
    assert may.locator("[data-badge='gate-fail']").inner_text() == "gate ✗ production"
    assert may.locator(".badge.suspect").count() >= 1
    # blame marks only May: no other row carries a suspect badge
    assert (
        page.locator(".row[data-id] .badge.suspect").count()
        == may.locator(".badge.suspect").count()
    )
    assert "at least 3 noise units" in page.locator("#suspect-rule").inner_text()
    sep.click()
    headline = page.locator("#headline").inner_text()
    assert headline.startswith("Data moved: amount (KS 0.48, PSI 1.48), velocity")
    assert headline.endswith("metrics flat → silent shift.")
    drift = page.locator("#details-drift").inner_text()
    assert "dataset drift needs ≥ 50 %" in drift and "label 'fraud' shifted" in drift
    assert page.locator("#details-drift svg.dist").count() >= 7  # a plot per feature
    assert page.locator("#details-behaviour svg.reliability").count() == 1
    assert "north" in page.locator("#details-behaviour table.slices").inner_text()


def test_compare_shows_drift_and_churn_or_says_why_not(open_report, demo_page) -> None:
    path, _ = demo_page
    report = open_report(path)
    page = report.page
    report.select("fraud-2024-09")
    page.get_by_role("button", name="Compare with parent").click()
    drift = page.locator("#diff-drift").inner_text()
    behaviour = page.locator("#diff-behaviour").inner_text()
    assert "2 of 7 features drifted" in drift and "no dataset drift" in drift
    assert "churn 6.3 %" in behaviour and "NFR" in behaviour and "CKA" in behaviour
    # two aliases' versions: precomputed
    page.fill("#compare-a", "fraud-2024-04")
    page.fill("#compare-b", "fraud-2024-10")
    page.get_by_role("button", name="Compare", exact=True).click()
    assert "features drifted" in page.locator("#diff-drift").inner_text()
    assert "churn" in page.locator("#diff-behaviour").inner_text()
    # any other pair: said, with the command that computes it
    page.fill("#compare-a", "fraud-2024-02")
    page.fill("#compare-b", "fraud-2024-07")
    page.get_by_role("button", name="Compare", exact=True).click()
    assert page.locator("#diff-drift").inner_text().startswith("Not available")
    assert "tracker.analysis.compare" in page.locator("#diff-behaviour").inner_text()


def test_a_chart_draws_the_largest_change_points_and_lists_all_on_request(
    open_report, demo, tmp_path
) -> None:
    from mlineage.report import write_report

    tracker, _ = demo
    names = ["v1", "v2", "v3", "v4", "v5", "v6", "v7"]
    points = [
        {"version": name, "before": 0.9, "after": 0.9 + size}
        for name, size in zip(names, [0.01, 0.05, 0.02, 0.06, 0.03, 0.07, 0.04], strict=True)
    ]
    path = write_report(
        tracker, tmp_path / "cp.html", analyses={"change_points": {"accuracy": points}}
    )
    page = open_report(path).page
    card = page.locator(".chart-card[data-metric='accuracy']")
    assert card.locator("line.cp").count() == 5  # the five largest shifts
    listed = card.locator("ul.change-points li")
    assert listed.count() == 5 and "the 5 largest of 7" in card.inner_text()
    # the five largest (0.07, 0.06, 0.05, 0.04, 0.03), in lineage order
    assert [t.split(" ")[0] for t in listed.all_inner_texts()] == ["v2", "v4", "v5", "v6", "v7"]
    card.get_by_role("button", name="Show all 7").click()
    assert listed.count() == 7


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_readable_at_phone_and_desktop_sizes(browser, demo_page, tmp_path, size, dark) -> None:
    path, _ = demo_page
    width, height = SIZES[size]
    page = browser.new_page(
        viewport={"width": width, "height": height}, color_scheme="dark" if dark else "light"
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(path.as_uri() + "#fraud-2024-09")
        page.wait_for_selector("html[data-ready='true']")
        page.screenshot(path=str(tmp_path / f"report-{size}-{'dark' if dark else 'light'}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate("document.body.scrollWidth") <= width
        # names are never cut: each row shows its whole name, so months stay apart
        cut = page.evaluate(
            """Array.from(document.querySelectorAll('.row .name'))
                 .filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.textContent)"""
        )
        assert cut == []
        # every chart's text is drawn at 11 px or more
        smallest = page.evaluate(
            """Math.min(...Array.from(document.querySelectorAll('svg text'))
                 .filter(t => t.getBoundingClientRect().width > 0).map(t => {
                   const svg = t.ownerSVGElement, box = svg.viewBox.baseVal;
                   const drawn = svg.getBoundingClientRect().width;
                   const scale = box && box.width ? drawn / box.width : 1;
                   return parseFloat(getComputedStyle(t).fontSize) * scale; }))"""
        )
        assert smallest >= 11
        # the sticky details panel never covers the lineage rows
        overlap = page.evaluate(
            """(() => {
                 const list = document.getElementById('lineage-list').getBoundingClientRect();
                 const side = document.querySelector('.details-panel').getBoundingClientRect();
                 return !(side.left >= list.right || side.top >= list.bottom ||
                          side.right <= list.left || side.bottom <= list.top); })()"""
        )
        assert overlap is False
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        dark_bg = background == "rgb(17, 20, 26)"
        assert dark_bg is dark
    finally:
        page.close()
    assert errors == []


def test_categorical_drift_draws_bars_with_new_categories_named(open_report, tmp_path) -> None:
    pd = pytest.importorskip("pandas")
    from mlineage.analysis import DataProfile
    from mlineage.report import write_report

    tracker = ml.Tracker(
        "plans", storage=f"memory://plans-{id(tmp_path)}", capture_environment=False
    )
    hostile = xss("feature-name")  # a column name is data: shown as text, never run
    frames = [
        pd.DataFrame({"plan": ["basic"] * 600 + ["pro"] * 400, hostile: range(1000)}),
        pd.DataFrame(
            {
                "plan": ["basic"] * 300 + ["pro"] * 300 + [xss("category")] * 400,
                hostile: range(1000),
            }
        ),
    ]
    for i, frame in enumerate(frames):
        snap = ml.DataSnapshot(hash=f"sha256:{i}").with_profile(DataProfile.from_dataframe(frame))
        tracker.log(model_path=f"{i}.pt", dataset=snap, name=f"m{i}")
    page = open_report(write_report(tracker, tmp_path / "plans.html")).page
    row = page.locator("#details-drift tr[data-feature='plan']")
    assert "drifted" in row.inner_text() and "new: " + xss("category") in row.inner_text()
    assert row.locator("rect.cur.new").count() == 1  # the new category's bar, coloured
    assert page.locator(".row[data-id] [data-badge='drift']").count() == 0  # one step: no z
    assert hostile in page.locator("#details-drift").inner_text()
