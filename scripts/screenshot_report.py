"""Build the ``mlineage demo`` store, write its HTML report and screenshot it for the docs.

The demo (in a temporary directory; see :mod:`mlineage.demo`) has twelve monthly updates
of a fraud model, a regression that blame finds (May), a silent shift (September), a
fine-tune branch merged back, and ``production`` moved three times with a rollback. The
report is opened in headless Chromium (Debian's ``/usr/bin/chromium`` or
``$MLINEAGE_CHROMIUM``) through Playwright, September (its drift, label shift and silent
shift) is selected and compared with its parent, and the page is saved as
``docs/img/report.png``.

Usage::

    python scripts/screenshot_report.py [--out docs/img/report.png] [--html report.html]
                                        [--dark]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import mlineage as ml
from mlineage.demo import DEMO_MODEL, build_demo

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def main(argv: list[str] | None = None) -> int:
    """Build the demo, write the report and take the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "report.png")
    parser.add_argument("--html", type=Path, help="also keep the report at this path")
    parser.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("MLINEAGE_CHROMIUM", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory() as tmp:
        result = build_demo(Path(tmp) / "demo", report=False)
        tracker = ml.Tracker.load(DEMO_MODEL, storage=str(result.store))
        report = tracker.report(
            args.html or Path(tmp) / "report.html",
            title="fraud-detector lineage",
            metric="accuracy",
        )
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(
                viewport={"width": 1400, "height": 1000},
                color_scheme="dark" if args.dark else "light",
                device_scale_factor=1,
            )
            page.goto(report.as_uri())
            page.wait_for_selector("html[data-ready='true']")
            page.click(".row[data-id] >> text=fraud-2024-09")
            page.click("text=Compare with parent")
            page.evaluate("window.scrollTo(0, 0)")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    print(f"wrote {args.out}" + (f" and {report}" if args.html else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
