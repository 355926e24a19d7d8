"""The HTML report in a real headless Chromium (Playwright, sync API).

Every test opens the report from ``file://`` through the ``open_report`` fixture, which
aborts and records any request that is not ``file:`` or ``data:`` and, after the test,
fails it if there was one, if the console logged an error, if a dialog opened, or if a
payload from the data ever ran (``window.__pwned``). Without Chromium these tests skip
and say why (see conftest.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlineage.report import write_report
from tests.report.conftest import (
    SCRIPT_BREAK,
    big_lineage,
    hostile_lineage,
    new_tracker,
    snapshot,
    xss,
)

#: The budget for drawing a 10,000-version report (load to first complete frame).
RENDER_LIMIT_S = 2.0


@pytest.fixture
def demo_report(demo, tmp_path: Path) -> tuple[Path, dict]:
    tracker, versions = demo
    return write_report(tracker, tmp_path / "demo.html"), versions


def text_of(report, selector: str) -> str:
    return report.page.locator(selector).inner_text()


def test_opens_offline_with_the_latest_main_line_version_selected(open_report, demo_report):
    path, v = demo_report
    report = open_report(path)
    page = report.page
    assert page.title() == "fraud-detector lineage"
    assert page.locator(f".row[data-id='{v['v7'].id}']").get_attribute("aria-selected") == "true"
    assert page.locator("#details h2").inner_text() == "v7"
    counts = text_of(report, "#summary-counts")
    assert "12 versions" in counts and "1 merge" in counts and "2 aliases" in counts
    assert page.locator("img").count() == 0


def test_clicking_a_version_shows_its_record(open_report, demo_report):
    path, v = demo_report
    report = open_report(path)
    report.select("v6")
    details = text_of(report, "#details")
    assert report.page.locator("#details h2").inner_text() == "v6"
    assert v["v6"].id in details
    assert "learning rate tripled" in details
    assert "incident 7: recall dropped" in details  # annotation
    assert "incident-7" in details and "deprecated" in details
    assert "0.86" in details and "\u22120.063" in details  # accuracy and its delta
    assert "lr" in details and "0.003" in details and "batch_size" in details
    assert "data/week6/" in details and "sha256:week6" in details and "1,060" in details
    assert "Blame suspect #1 for accuracy" in details
    assert "No environment captured" in details


def test_shift_click_compares_two_versions(open_report, demo_report):
    path, _ = demo_report
    report = open_report(path)
    report.select("v5")
    report.select("v6", shift=True)
    assert "A is an ancestor of B" in text_of(report, "#diff")
    hyper = text_of(report, "#diff-hyperparameters")
    assert "~ lr: 0.001 \u2192 0.003" in hyper and "batch_size" not in hyper
    rows = report.page.locator("#diff-metrics tr").all_inner_texts()
    accuracy = next(r for r in rows if r.startswith("accuracy"))
    assert "0.923" in accuracy and "0.86" in accuracy and "\u22120.063" in accuracy
    assert report.page.locator("#diff-metrics td.bad").count() == 2  # both metrics worse
    data = text_of(report, "#diff-data")
    assert "sha256:week5 \u2192 sha256:week6" in data and "1,050 \u2192 1,060" in data
    assert "+ " not in text_of(report, "#diff") or "incident" not in text_of(report, "#diff")


def test_compare_with_parent_and_typed_references(open_report, demo_report):
    path, _ = demo_report
    report = open_report(path)
    page = report.page
    report.select("ft0")
    page.click("text=Compare with parent")
    diff = text_of(report, "#diff")
    assert "A v2" in diff.replace("\n", " ") or "v2 (" in diff
    assert "~ lr: 0.001 \u2192 0.0001" in diff and "~ batch_size: 64 \u2192 16" in diff
    page.fill("#compare-a", "production")  # an alias
    page.fill("#compare-b", "small")  # a name
    page.click("#compare button[type=submit]")
    diff = text_of(report, "#diff")
    assert "A is an ancestor of B" in diff
    assert "+ layers = [32]" in diff and "- lr (was 0.001)" in diff
    page.fill("#compare-b", "nope")
    page.click("#compare button[type=submit]")
    assert "no version matches nope" in text_of(report, "#compare")


def test_collapsed_run_expands_on_click_and_with_the_keyboard(open_report, tmp_path):
    tracker = new_tracker("runs")
    for i in range(12):
        tracker.log(model_path=f"{i}.pt", dataset=snapshot(i), metrics={"accuracy": 0.9})
    tracker.set_alias("production", tracker.history()[5])
    report = open_report(write_report(tracker, tmp_path / "runs.html"))
    page = report.page
    runs = page.locator(".row.run")
    assert runs.count() == 2  # the plain versions above and below the alias
    assert runs.first.inner_text().startswith("\u25b8 4 versions")
    assert "rows for 12 versions (linear runs collapsed)" in text_of(report, "#row-count")
    runs.first.click()
    assert page.locator(".row.run").count() == 1
    page.locator(".row.run").focus()
    page.keyboard.press("Enter")
    assert page.locator(".row.run").count() == 0
    assert page.locator(".row[data-id]").count() == 12
    page.click("#collapse-all")
    assert page.locator(".row.run").count() == 2
    page.click("#expand-all")
    assert page.locator(".row.run").count() == 0


def test_keyboard_moves_and_selects(open_report, demo_report):
    path, _ = demo_report
    report = open_report(path)
    page = report.page
    page.locator(".row[aria-selected='true']").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    selected = page.locator(".row[aria-selected='true'] .name").inner_text()
    assert selected == "v6" and page.locator("#details h2").inner_text() == "v6"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+Enter")
    assert page.locator(".row.is-b .name").inner_text() == "small"
    assert "neither is an ancestor of the other" in text_of(report, "#diff")
    assert page.evaluate("document.activeElement.classList.contains('row')")


def test_branches_and_merges_are_drawn(open_report, demo_report):
    path, _ = demo_report
    report = open_report(path)
    page = report.page
    strokes = page.eval_on_selector_all(
        "#lineage-list svg path", "els => els.map(e => e.style.stroke)"
    )
    for kind in ("update", "fine_tune", "merge", "distill"):
        assert f"var(--edge-{kind})" in strokes, kind
    legend = text_of(report, ".legend")
    assert "fine_tune" in legend and "merge" in legend and "distill" in legend
    assert page.locator(".row[data-id] .badge.kind", has_text="merge").count() == 1


def test_metric_charts_mark_suspects_and_select_on_click(open_report, demo_report):
    path, _ = demo_report
    report = open_report(path)
    page = report.page
    card = page.locator(".chart-card[data-metric='accuracy']")
    assert card.locator("circle.suspect").count() >= 1
    assert "a fall is worse" in card.inner_text()
    assert "a rise is worse" in page.locator(".chart-card[data-metric='val_loss']").inner_text()
    card.locator("ol.suspects button").first.click()
    assert page.locator("#details h2").inner_text() == "v6"
    box = card.locator("rect.chart-hit").bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)  # the first version
    assert page.locator("#details h2").inner_text() == "v0"
    assert page.locator(".tooltip").is_visible()


def test_change_points_and_analyses_render(open_report, demo, tmp_path):
    tracker, v = demo
    path = write_report(
        tracker,
        tmp_path / "analysed.html",
        analyses={
            "drift": [
                {"feature": "amount", "psi": 0.31, "version": v["v6"].id},
                {"feature": xss("drift-cell"), "psi": float("inf"), "top": ["a", 1]},
            ],
            "calibration": [{"bucket": 1, "error": 0.02}],
            "change_points": {"accuracy": [{"version": "v6", "score": 4.5}]},
        },
    )
    report = open_report(path)
    page = report.page
    drift = text_of(report, "[data-analysis='drift']")
    assert "amount" in drift and "0.31" in drift and "inf" in drift and xss("drift-cell") in drift
    assert '["a",1]' in drift
    page.locator("[data-analysis='drift'] button.link").click()  # a version id becomes a link
    assert page.locator("#details h2").inner_text() == "v6"
    assert "No behaviour fingerprints recorded" in text_of(report, "[data-analysis='behaviour']")
    assert "calibration" in text_of(report, "[data-analysis='calibration']")
    card = page.locator(".chart-card[data-metric='accuracy']")
    assert card.locator("line.cp").count() == 1 and "score=4.5" in card.inner_text()
    assert "Change point in accuracy" in text_of(report, "#details")


def test_without_analyses_the_page_says_so(open_report, demo_report):
    path, _ = demo_report
    report = open_report(path)
    assert "No drift analysis recorded for this model (see docs/analysis.md)" in text_of(
        report, "[data-analysis='drift']"
    )
    assert "No behaviour fingerprints recorded" in text_of(report, "[data-analysis='behaviour']")


def test_markup_in_the_data_stays_text(open_report, tmp_path):
    tracker = new_tracker("hostile")
    first, _ = hostile_lineage(tracker)
    report = open_report(write_report(tracker, tmp_path / "hostile.html", metric="accuracy"))
    page = report.page
    report.select("plain")
    details = text_of(report, "#details")
    for where in (
        "notes",
        "tag",
        "annotation",
        "annotation-tag",
        "hp-key",
        "model_path",
        "dataset",
        "metric",
    ):
        assert xss(where) in details, where
    for where in ("hp-value", "meta-key", "meta-value"):  # JSON values are shown as JSON
        assert json.dumps(xss(where)) in details, where
    assert SCRIPT_BREAK in details
    report.select("second", shift=True)
    diff = text_of(report, "#diff")
    assert xss("hp-key") in diff and xss("metric") in diff
    assert page.locator(f".chart-card[data-metric='{first.id}']").count() == 0
    assert xss("metric") in text_of(report, "#metrics")
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2  # the data block and the page's script
    assert page.evaluate("window.__pwned || null") is None


def test_empty_model(open_report, tmp_path):
    report = open_report(write_report(new_tracker("empty"), tmp_path / "empty.html"))
    assert "This model has no versions yet" in text_of(report, "#no-versions")
    assert "No versions yet." in text_of(report, "#metrics")
    assert "No alias points at a version" in text_of(report, "#aliases")
    assert "No drift analysis recorded" in text_of(report, "[data-analysis='drift']")


def test_single_version_without_metrics(open_report, tmp_path):
    tracker = new_tracker("one")
    tracker.log(model_path="m.pt", dataset=snapshot(0), notes="the only one")
    report = open_report(write_report(tracker, tmp_path / "one.html"))
    assert "the only one" in text_of(report, "#details")
    assert "No metrics recorded" in text_of(report, "#metrics")
    assert "Click a version to make it A" in text_of(report, "#diff")


def test_fragment_selects_a_version_and_dark_mode_applies(open_report, demo_report):
    path, v = demo_report
    report = open_report(path, fragment="#" + v["ft1"].id, dark=True)
    page = report.page
    assert page.locator("#details h2").inner_text() == "ft1"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 20, 26)"


def test_ten_thousand_versions_render_within_the_limit(open_report, browser, tmp_path):
    tracker = new_tracker("big")
    big_lineage(tracker, 10_000)
    path = write_report(tracker, tmp_path / "big.html")
    timings = []
    for _ in range(2):  # the first load also warms the browser's caches for this file
        start = time.perf_counter()
        report = open_report(path)
        report.page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        timings.append(time.perf_counter() - start)
    print(f"10,000-version report: load to first frame {', '.join(f'{t:.2f}' for t in timings)} s")
    assert min(timings) <= RENDER_LIMIT_S, timings
    page = report.page
    assert page.evaluate("window.mlineageReport.versions") == 10_000
    runs = page.locator(".row.run")
    assert runs.count() >= 1

    def rows() -> int:  # rows are built as they scroll into view; the count says how many
        return int(text_of(report, "#row-count").split()[0].replace(",", ""))

    rows_before = rows()
    hidden = int(runs.first.inner_text().split()[1].replace(",", ""))
    runs.first.click()
    assert rows() == rows_before + hidden - 1
    middle = tracker.history()[len(tracker) // 2].name  # deep inside a collapsed run
    page.fill("#find", middle)
    page.press("#find", "Enter")
    assert page.locator("#details h2").inner_text() == middle
    assert page.locator(".row[aria-selected='true'] .name").inner_text() == middle
    assert page.evaluate("document.activeElement.getAttribute('aria-selected')") == "true"


#: Names that are also properties every plain JavaScript object inherits.
PROTOTYPE_NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]


def test_names_of_object_properties_are_plain_names(open_report, tmp_path):
    """Metric names, hyperparameter keys, aliases, tags and table columns that name
    ``Object.prototype`` members: never read as the inherited member (a function, a NaN
    chart point), whichever version lacks them."""
    tracker = new_tracker("proto")
    names = PROTOTYPE_NAMES
    first = tracker.log(
        name="first",
        model_path="a.pt",
        dataset=snapshot(0),
        metrics={"accuracy": 0.9},
        hyperparameters={"lr": 0.1},
        tags=names,
    )
    second = tracker.log(
        name="second",
        model_path="b.pt",
        dataset=snapshot(1),
        metrics={"accuracy": 0.8, **{n: 0.5 + i / 10 for i, n in enumerate(names)}},
        hyperparameters={"lr": 0.1, **{n: i for i, n in enumerate(names)}},
    )
    third = tracker.log(
        name="third", model_path="c.pt", dataset=snapshot(2), metrics={"accuracy": 0.7}
    )
    for alias in (n for n in names if n != "__proto__"):  # "_" cannot start a name
        tracker.set_alias(alias, second)
    path = write_report(
        tracker,
        tmp_path / "proto.html",
        metric="toString",
        analyses={"drift": [{"constructor": 1.5}, {"feature": "x"}]},
    )
    report = open_report(path)  # the newest version, which has none of them, is selected
    page = report.page

    def coordinates() -> list[str]:
        return page.eval_on_selector_all(
            "svg circle, svg line, svg polyline, svg text",
            "els => els.flatMap(e => ['cx', 'cy', 'x', 'y', 'x1', 'x2', 'points']"
            ".map(a => e.getAttribute(a) || ''))",
        )

    assert not [c for c in coordinates() if "NaN" in c]
    for name in names:
        card = page.locator(f".chart-card[data-metric='{name}']")
        assert card.count() == 1, name
        assert card.locator("circle.sel").get_attribute("visibility") == "hidden", name
    rows = {
        row.get_attribute("data-id"): row.locator(".value").inner_text()
        for row in page.locator(".row[data-id]").all()
    }
    assert rows == {first.id: "", second.id: "0.6", third.id: ""}  # toString on second only
    assert "function" not in text_of(report, "#lineage-list")

    report.select("second")
    details = text_of(report, "#details")
    assert "NaN" not in details and "function" not in details
    metrics = page.locator("#details table.grid").first.locator("tr").all_inner_texts()
    by_name = {r.split("\t")[0]: r.split("\t")[1:] for r in metrics[1:]}
    for i, name in enumerate(names):
        assert by_name[name] == [f"{0.5 + i / 10:g}", "\u2014"], name  # no value on the parent
    assert not [c for c in coordinates() if "NaN" in c]
    assert (
        page.locator(".chart-card[data-metric='__proto__'] circle.sel").get_attribute("visibility")
        == "visible"
    )

    report.select("first")
    report.select("second", shift=True)
    hyper = text_of(report, "#diff-hyperparameters")
    for i, name in enumerate(names):
        assert f"+ {name} = {i}" in hyper, name
    assert "~" not in hyper
    diff_rows = page.locator("#diff-metrics tr").all_inner_texts()
    diff_by_name = {r.split("\t")[0]: r.split("\t")[1:] for r in diff_rows[1:]}
    for i, name in enumerate(names):
        assert diff_by_name[name] == ["\u2014", f"{0.5 + i / 10:g}", "\u2014"], name
    assert "NaN" not in text_of(report, "#diff") and "function" not in text_of(report, "#diff")
    tags = text_of(report, "#details")
    assert all(name in tags for name in names)

    page.fill("#find", "constructor")  # an alias
    page.press("#find", "Enter")
    assert page.locator("#details h2").inner_text() == "second"
    page.fill("#find", "__proto__")  # neither a version nor an alias
    page.press("#find", "Enter")
    assert "no version matches __proto__" in text_of(report, "#lineage")
    aliases = text_of(report, "#alias-table")
    assert all(name in aliases for name in names if name != "__proto__")
    cells = page.locator("[data-analysis='drift'] td").all_inner_texts()
    assert cells == ["1.5", "\u2014", "\u2014", "x"]


@pytest.mark.parametrize(
    "fragment",
    [
        "#%",
        "#%E0%A4%A",
        "#%FF%FE",
        "#" + xss("fragment"),
        "#" + "%41" * 50_000,
        "#" + "0" * 32,  # an id no version has
        "#nope",
        "#",
    ],
    ids=["percent", "cut-utf8", "not-utf8", "markup", "long", "unknown-id", "unknown", "empty"],
)
def test_a_malformed_or_hostile_fragment_is_ignored(open_report, demo_report, fragment):
    path, _ = demo_report
    report = open_report(path, fragment=fragment)  # drawn, without errors (the fixture)
    page = report.page
    assert page.locator("#details h2").inner_text() == "v7"  # the default: the tip
    assert page.locator(".row[data-id]").count() > 0 and page.locator(".chart-card").count() == 2
    assert page.locator("[role=alert]").count() == 0


def test_a_fragment_naming_a_version_by_name_or_alias_selects_it(open_report, demo_report):
    path, _ = demo_report
    assert open_report(path, fragment="#ft0").page.locator("#details h2").inner_text() == "ft0"
    page = open_report(path, fragment="#production").page
    assert page.locator("#details h2").inner_text() == "v5"
