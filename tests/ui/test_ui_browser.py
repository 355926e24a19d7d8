"""The UI in headless Chromium against the real ``mlineage ui`` server.

Every page opened through ``open_page`` also checks, when the test ends, that no request
left the server, no dialog opened and no markup from the data ran (``window.__pwned``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.report.conftest import SCRIPT_BREAK, xss
from tests.ui.conftest import DAMAGED, DEMO, LIVE, SRC, XSS_MODEL, Opened, log_named, running

import mlineage as ml
from mlineage.ui import create_app


def test_the_store_page_lists_every_model(open_page: Any, store: Path) -> None:
    opened: Opened = open_page("/")
    page = opened.page
    rows = page.locator("#model-table tr[data-model]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.model)")) == sorted(
        ml.list_models(store)
    )
    demo = page.locator(f"#model-table tr[data-model='{DEMO}']")
    tracker = ml.Tracker.load(DEMO, storage=store, read_only=True)
    assert demo.locator("td").nth(1).inner_text() == str(len(tracker))
    assert "production" in demo.inner_text()
    flagged = tracker.analysis.drift_along().anomalous[0].version.name
    assert f"drift at {flagged}" in demo.locator(".ui-anomalies").inner_text()
    # The damaged model is an error panel in its row; the others are listed normally.
    damaged = page.locator(f"#model-table tr[data-model='{DAMAGED}'] .ui-error")
    assert "CorruptRecord" in damaged.inner_text()


def test_clicking_a_model_shows_its_lineage(open_page: Any, store: Path) -> None:
    opened: Opened = open_page("/")
    page = opened.page
    page.click(f"#model-table a.model-link >> text='{DEMO}'")
    page.wait_for_selector("html[data-ready='true'] #lineage-list .row[data-id]", timeout=30_000)
    tracker = ml.Tracker.load(DEMO, storage=store, read_only=True)
    assert page.url.split("#")[0].endswith(f"/models/{DEMO}")
    assert f"{len(tracker)} versions" in page.locator("#summary-counts").inner_text()
    latest = tracker.latest()
    assert latest is not None
    assert page.locator(f".row[data-id='{latest.id}']").count() == 1
    selected = tracker.get_version(page.url.split("#")[1])  # the report's own selection
    assert str(selected.name) in page.locator("#details").inner_text()
    # The drift and behaviour along the lineage, as the static report shows them.
    assert page.locator("#analysis-drift table tr").count() > 1
    assert page.locator("#analysis-behaviour table tr").count() > 1


def test_comparing_two_arbitrary_versions_shows_drift_and_churn(
    open_page: Any, store: Path
) -> None:
    tracker = ml.Tracker.load(DEMO, storage=store, read_only=True)
    a, b = tracker.versions()[2], tracker.versions()[-2]
    opened: Opened = open_page(f"/models/{DEMO}")
    page = opened.page
    page.fill("#ui-cmp-a", a.name or a.id)
    page.fill("#ui-cmp-b", b.id[:10])
    page.click("#ui-compare-form button[type='submit']")
    page.wait_for_selector("#ui-cmp-behaviour table", timeout=30_000)
    drift = page.locator("#ui-cmp-drift").inner_text()
    expected = tracker.analysis.drift(a, b).to_dict()
    for feature in expected["features"]:
        assert feature["name"] in drift
    churn = tracker.analysis.compare(a, b).to_dict()["churn"]
    shown = page.locator("#ui-cmp-behaviour tr:has(th:text-is('churn')) td").inner_text()
    assert churn > 0 and float(shown) == float(f"{churn:.6g}")


def test_a_version_logged_by_another_process_appears_without_reload(
    open_page: Any, store: Path
) -> None:
    opened: Opened = open_page(f"/models/{LIVE}")
    page = opened.page
    page.evaluate("window.__sameDocument = true")
    code = (
        "import mlineage as ml, sys; t = ml.Tracker(sys.argv[2], storage=sys.argv[1], "
        "capture_environment=False); t.log(model_path='x.pt', "
        "dataset=ml.DataSnapshot(hash='sha256:live'), name='arrived-live')"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    subprocess.run([sys.executable, "-c", code, str(store), LIVE], check=True, env=env)
    page.wait_for_selector(".row[data-id] >> text='arrived-live'", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened


def test_xss_names_render_as_text(open_page: Any) -> None:
    opened: Opened = open_page(f"/models/{XSS_MODEL}#plain")
    page = opened.page
    page.wait_for_selector("#lineage-list .row[data-id]")
    text = page.locator("#details").inner_text()
    assert xss("notes") in text and SCRIPT_BREAK in text
    assert page.locator("img").count() == 0  # the payloads made no elements
    store_page: Opened = open_page("/")
    store_page.page.fill("#search input[name='q']", "plain")
    store_page.page.click("#search button[type='submit']")
    store_page.page.wait_for_selector("#search-table")
    assert store_page.page.locator("img").count() == 0


def test_a_damaged_model_shows_an_error_panel(open_page: Any) -> None:
    opened: Opened = open_page(f"/models/{DAMAGED}", ready="error")
    panel = opened.page.locator("#app .ui-error").inner_text()
    assert "CorruptRecord" in panel and "cannot be shown" in panel


def test_search_finds_versions_by_metric_range(open_page: Any, store: Path) -> None:
    versions = [
        v
        for m in ml.list_models(store)
        if m != DAMAGED
        for v in ml.Tracker.load(m, storage=store, read_only=True).versions()
        if "accuracy" in v.metrics
    ]
    low = sorted(v.metrics["accuracy"] for v in versions)[len(versions) // 2]
    want = {v.name for v in versions if v.metrics["accuracy"] >= low}
    opened: Opened = open_page("/")
    page = opened.page
    page.fill("#search input[name='metric']", "accuracy")
    page.fill("#search input[name='min']", repr(low))
    page.click("#search button[type='submit']")
    page.wait_for_selector("#search-count")
    links = page.locator("#search-table a").all_inner_texts()
    assert {text.split(" (")[0] for text in links} == want and want


def test_a_long_lineage_is_paged(
    open_page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlineage.ui._service as service

    monkeypatch.setattr(service, "PAGE", 4)
    tracker = ml.Tracker("long", storage=tmp_path, capture_environment=False)
    previous = None
    for i in range(10):
        previous = log_named(tracker, f"v{i}", parent=previous, metrics={"accuracy": i / 10})
    with running(create_app(tmp_path)) as base:
        page = open_page("/models/long", base=base).page
        assert "Versions 7\u201310 of 10 (page 1 of 3)" in page.locator("#ui-paging").inner_text()
        names = page.locator("#lineage-list .row[data-id] .name").all_inner_texts()
        assert names == ["v9", "v8", "v7", "v6"]
        page.click("#ui-paging a >> text='older \u2192'")
        page.wait_for_selector("html[data-ready='true'] #lineage-list .row[data-id]")
        assert "page 2 of 3" in page.locator("#ui-paging").inner_text()
        names = page.locator("#lineage-list .row[data-id] .name").all_inner_texts()
        assert names == ["v5", "v4", "v3", "v2"]


def test_a_bad_path_in_the_address_bar_is_a_4xx_page(browser: Any, ui_server: str) -> None:
    page = browser.new_page()
    try:
        # (A browser resolves "/models/%2e%2e" to "/" itself; the API tests send it raw.)
        bad = ("/models/..%2F..%2Fetc", "/models/" + "x" * 200, "/models/a%00b")
        for path in (*bad, "/models/nope"):
            response = page.goto(ui_server + path)
            if path == "/models/nope":  # a valid name: the page says the model is not there
                assert response.status == 200
                page.wait_for_selector("html[data-ready='error']")
                assert "ModelNotFound" in page.locator("#app .ui-error").inner_text()
            else:
                assert 400 <= response.status < 500 and response.json()["message"]
    finally:
        page.close()
