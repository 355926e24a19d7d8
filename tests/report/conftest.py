"""Fixtures for the HTML report tests: lineages to report on, and a real headless Chromium.

The browser tests use Debian's Chromium (``/usr/bin/chromium``, or ``$MLINEAGE_CHROMIUM``)
through Playwright. When it is missing or cannot start, they skip with the reason; every
page they open has each network request aborted and recorded, and the test fails if any
was made, if the console logged an error, or if a dialog opened.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import mlineage as ml

T0 = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)
#: Markup that would run script if it were ever parsed as HTML.
XSS = "<img src=x onerror=\"window.__pwned='{}'\">"
SCRIPT_BREAK = "</script><script>window.__pwned='script'</script>"
CHROMIUM = os.environ.get("MLINEAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
_stores = itertools.count()


def xss(where: str) -> str:
    """A payload that sets ``window.__pwned`` to ``where`` if parsed as markup."""
    return XSS.format(where)


def memory_store() -> str:
    """A fresh, empty in-memory store."""
    return f"memory://report-tests-{os.getpid()}-{next(_stores)}"


def snapshot(i: object, **fields: Any) -> ml.DataSnapshot:
    return ml.DataSnapshot(path=f"data/{i}/", hash=f"sha256:{i}", **fields)


def demo_lineage(tracker: ml.Tracker) -> dict[str, ml.ModelVersion]:
    """A small lineage: a main line with a regression, a fine-tune branch merged back, a
    distillation branch, aliases, an annotation and a status change. Returns it by name."""
    out: dict[str, ml.ModelVersion] = {}
    accuracy = [0.90, 0.91, 0.92, 0.921, 0.922, 0.923, 0.86, 0.924]
    previous = None
    for i, acc in enumerate(accuracy):
        previous = out[f"v{i}"] = tracker.log(
            parent=previous,
            timestamp=T0 + timedelta(days=7 * i),
            name=f"v{i}",
            model_path=f"ckpt/v{i}.pt",
            dataset=snapshot(f"week{i}", num_rows=1000 + 10 * i),
            metrics={"accuracy": acc, "val_loss": round(1.2 - acc, 4)},
            hyperparameters={"lr": 3e-3 if i == 6 else 1e-3, "batch_size": 64},
            notes="learning rate tripled" if i == 6 else f"weekly update {i}",
            tags=["weekly"],
        )
        if i == 2:
            ft = out["v2"]
            for j in range(2):
                ft = out[f"ft{j}"] = tracker.log(
                    parent=ft,
                    kind="fine_tune",
                    timestamp=T0 + timedelta(days=7 * i + 1 + j),
                    name=f"ft{j}",
                    model_path=f"ckpt/ft{j}.pt",
                    dataset=snapshot(f"ft{j}"),
                    metrics={"accuracy": 0.915 + j / 100},
                    hyperparameters={"lr": 1e-4, "batch_size": 16},
                    notes="fine-tune on hard cases",
                )
        if i == 3:
            previous = out["merge"] = tracker.log(
                parents=[out["v3"], out["ft1"]],
                kind="merge",
                timestamp=T0 + timedelta(days=7 * i + 2),
                name="merge",
                model_path="ckpt/merge.pt",
                dataset=snapshot("merge"),
                metrics={"accuracy": 0.9215, "val_loss": 0.2785},
                hyperparameters={"lr": 1e-3, "batch_size": 64},
                notes="merged the fine-tune",
            )
    out["small"] = tracker.log(
        parent=out["v5"],
        kind="distill",
        timestamp=T0 + timedelta(days=7 * 5 + 3),
        name="small",
        model_path="ckpt/small.onnx",
        dataset=snapshot("week5"),
        metrics={"accuracy": 0.90},
        hyperparameters={"layers": [32]},
    )
    tracker.set_alias("production", out["v1"], at=T0 + timedelta(days=8))
    tracker.set_alias("production", out["v5"], at=T0 + timedelta(days=7 * 5 + 1))
    tracker.set_alias("staging", out["v7"], at=T0 + timedelta(days=7 * 7 + 1))
    tracker.annotate(out["v6"], notes="incident 7: recall dropped", tags=["incident-7"])
    tracker.set_status(out["v6"], "deprecated", reason="incident 7")
    return out


def hostile_lineage(tracker: ml.Tracker) -> list[ml.ModelVersion]:
    """Two versions whose every free-text field carries markup that must stay text."""
    first = tracker.log(
        timestamp=T0,
        name="plain",
        model_path=xss("model_path"),
        dataset=ml.DataSnapshot(path=xss("dataset"), hash=SCRIPT_BREAK, num_rows=5),
        metrics={xss("metric"): 1.0, "accuracy": 0.5},
        hyperparameters={xss("hp-key"): xss("hp-value"), "lr": 0.1},
        notes=xss("notes") + SCRIPT_BREAK + "\u2028\u2029",
        tags=[xss("tag")],
        metadata={xss("meta-key"): [xss("meta-value")]},
    )
    second = tracker.log(
        timestamp=T0 + timedelta(days=1),
        name="second",
        model_path="ok.pt",
        dataset=ml.DataSnapshot(path="data/", hash="sha256:2"),
        metrics={xss("metric"): 2.0, "accuracy": 0.4},
        hyperparameters={xss("hp-key"): "changed", "lr": 0.2},
        notes="second",
    )
    tracker.annotate(first, notes=xss("annotation"), tags=[xss("annotation-tag")])
    tracker.set_alias("production", second)
    return [first, second]


def big_lineage(tracker: ml.Tracker, n: int, *, seed: int = 1) -> None:
    """``n`` versions: a long main line, a 5-version fine-tune branch every 200 versions
    (every other one merged back), an alias move and an annotation per branch."""
    rng = random.Random(seed)
    when = T0
    main = None
    accuracy = 0.8
    count = 0
    branches = 0
    while count < n:
        when += timedelta(hours=1)
        accuracy = min(0.99, max(0.5, accuracy + rng.uniform(-0.002, 0.0021)))
        main = tracker.log(
            parent=main,
            timestamp=when,
            name=f"v{count}",
            model_path=f"m{count}.pt",
            dataset=ml.DataSnapshot(path=f"data/{count}", hash=f"sha256:{count:x}"),
            metrics={"accuracy": round(accuracy, 5), "loss": round(1 - accuracy, 5)},
            hyperparameters={"lr": 1e-3, "epochs": 3 + count % 3},
            notes=f"update {count}",
        )
        count += 1
        if count % 200 or count > n - 7:
            continue
        branch = main
        for j in range(5):
            when += timedelta(minutes=5)
            branch = tracker.log(
                parent=branch,
                kind="fine_tune",
                timestamp=when,
                model_path=f"ft{count}-{j}.pt",
                dataset=ml.DataSnapshot(hash=f"sha256:ft{count}-{j}"),
                metrics={"accuracy": round(accuracy + 0.001 * j, 5)},
            )
            count += 1
        branches += 1
        if branches % 2 == 0:
            when += timedelta(minutes=5)
            main = tracker.log(
                parents=[main, branch],
                kind="merge",
                timestamp=when,
                model_path=f"merge{count}.pt",
                dataset=ml.DataSnapshot(hash=f"sha256:merge{count}"),
                metrics={"accuracy": round(accuracy, 5), "loss": round(1 - accuracy, 5)},
            )
            count += 1
        tracker.set_alias("production", main)
        tracker.annotate(main, notes="reviewed", tags=["reviewed"])


def new_tracker(model: str = "report-model", **kwargs: Any) -> ml.Tracker:
    """A tracker on a fresh in-memory store, without environment capture or hashing."""
    kwargs.setdefault("capture_environment", False)
    kwargs.setdefault("hash_artifacts", False)
    return ml.Tracker(model, storage=memory_store(), **kwargs)


@pytest.fixture
def demo() -> tuple[ml.Tracker, dict[str, ml.ModelVersion]]:
    """The demo lineage and its versions by name."""
    tracker = new_tracker("fraud-detector")
    return tracker, demo_lineage(tracker)


# -- browser -------------------------------------------------------------------------------


# The session's Chromium is the ``browser`` fixture of tests/conftest.py (one Playwright per
# session: the UI's browser tests use it too).


@dataclass
class OpenedReport:
    """A report open in a browser page, with what the page did besides rendering."""

    page: Any
    requests: list[str] = field(default_factory=list)  # every URL not file: or data:
    errors: list[str] = field(default_factory=list)  # console errors and page exceptions
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt messages

    def select(self, name: str, *, shift: bool = False) -> None:
        """Click the row of the version named ``name`` (Shift-click with ``shift``)."""
        row = self.page.locator(".row[data-id]", has=self.page.locator(f".name >> text='{name}'"))
        row.click(modifiers=["Shift"] if shift else [])


@pytest.fixture
def open_report(browser: Any) -> Iterator[Callable[..., OpenedReport]]:
    """Open an HTML file in a new page; afterwards, assert nothing was fetched, logged as
    an error, or shown as a dialog."""
    opened: list[OpenedReport] = []

    def open_(
        path: Path, *, fragment: str = "", dark: bool = False, wait: bool = True
    ) -> OpenedReport:
        page = browser.new_page(
            viewport={"width": 1400, "height": 1000}, color_scheme="dark" if dark else "light"
        )
        report = OpenedReport(page)
        opened.append(report)

        guard_page(page, ("file:", "data:"), report.requests, report.errors, report.dialogs)
        page.goto(path.as_uri() + fragment)
        if wait:  # else the caller draws the page (``mlineageReport.draw``)
            page.wait_for_selector("html[data-ready='true']", timeout=30_000)
        return report

    yield open_
    for report in opened:
        pwned = report.page.evaluate("window.__pwned || null")
        report.page.close()
        assert report.requests == [], f"the report made network requests: {report.requests}"
        assert report.errors == [], f"console errors: {report.errors}"
        assert report.dialogs == [], f"dialogs opened: {report.dialogs}"
        assert pwned is None, f"markup from the data ran script (payload in {pwned})"


def guard_page(
    page: Any,
    allowed: tuple[str, ...],
    outside: list[str],
    errors: list[str],
    dialogs: list[str],
) -> None:
    """Abort every request whose URL does not start with one of ``allowed`` (recording it
    in ``outside``), and record console errors, page errors and dialogs (dismissed)."""

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(allowed):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.route("**/*", route)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", on_dialog)
