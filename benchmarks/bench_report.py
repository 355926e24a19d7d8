"""Benchmark the HTML lineage report: building it and drawing it in headless Chromium.

Two lineages of ``N`` versions (10,000; 1,000 with ``--quick``) in in-memory stores:

- **typical**: a long main line with a 5-version fine-tune branch every 200 versions (every
  other one merged back), an alias move and an annotation per branch, 2 metrics;
- **star**: ``N - 1`` fine-tunes of one root, which leaves nothing to collapse - the worst
  case for the lineage list.

For each: ``build_report_data``, ``write_report`` (data, HTML, fsync, rename), the file
size, and in Debian's Chromium (``/usr/bin/chromium`` or ``$MLINEAGE_CHROMIUM``, through
Playwright) the time from navigation to the first frame after the page's script finished
(median of 3 loads in fresh pages), then "Expand all runs". The limit for building and
drawing is 2 s each on a 2-core machine.

This is a report, not a test: it exits 0 even when a limit is missed, and says MISSED.
Run ``python benchmarks/bench_report.py`` for the real size, ``--quick`` for a CI smoke run.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import mlineage as ml
from mlineage.report import build_report_data, write_report

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
LIMIT_S = 2.0
CHROMIUM = os.environ.get("MLINEAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def typical(tracker: ml.Tracker, n: int) -> None:
    """A long main line with fine-tune branches, merges, alias moves and annotations."""
    rng = random.Random(1)
    when, main, accuracy, count, branches = T0, None, 0.8, 0, 0
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


def star(tracker: ml.Tracker, n: int) -> None:
    """``n - 1`` fine-tunes of one root: nothing to collapse."""
    root = tracker.log(timestamp=T0, model_path="r.pt", dataset=ml.DataSnapshot(hash="sha256:r"))
    for i in range(n - 1):
        tracker.log(
            parent=root,
            kind="fine_tune",
            timestamp=T0 + timedelta(minutes=i + 1),
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            metrics={"accuracy": 0.5 + i * 1e-6},
        )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, measure: str, value: float | str, limit: float | None = None) -> None:
        if isinstance(value, str):
            self.rows.append((measure, value, "", ""))
            return
        ratio = "" if limit is None else f"{value / limit:.2f}"
        if limit is not None and value > limit:
            ratio += "  MISSED"
        self.rows.append(
            (measure, f"{value:.3f} s", "" if limit is None else f"{limit:.1f} s", ratio)
        )

    def print(self) -> None:
        head = ("measure", "mlineage", "limit", "ratio")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(4)]
        for row in [head, tuple("-" * w for w in widths), *self.rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def render_times(path: Path, loads: int) -> tuple[list[float], float] | str:
    """Seconds from navigation to the first frame after the script, per load; and the
    time "Expand all runs" takes. A string says why there is no browser."""
    if not Path(CHROMIUM).exists():
        return f"skipped: Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright not installed (pip install -e '.[dev]')"
    frame = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # report any launch failure instead of a traceback
            return f"skipped: Chromium could not start ({str(exc).splitlines()[0]})"
        times = []
        for _ in range(loads):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route(
                "**/*",
                lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
            )
            start = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector("html[data-ready='true']", timeout=60_000)
            page.evaluate(frame)
            times.append(time.perf_counter() - start)
            page.close()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(path.as_uri())
        page.wait_for_selector("html[data-ready='true']", timeout=60_000)
        start = time.perf_counter()
        page.click("#expand-all")
        page.evaluate(frame)
        expand = time.perf_counter() - start
        browser.close()
    return times, expand


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 versions, 1 load each")
    parser.add_argument("-n", type=int, default=None, help="versions per lineage")
    args = parser.parse_args(argv)
    n = args.n or (1_000 if args.quick else 10_000)
    loads = 1 if args.quick else 3
    print(
        f"bench_report: {n:,} versions; {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    table = Table()
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in (("typical", typical), ("star", star)):
            tracker = ml.Tracker(
                f"bench-{label}",
                storage=f"memory://bench-report-{label}",
                capture_environment=False,
                hash_artifacts=False,
            )
            make(tracker, n)
            seconds, _ = timed(lambda t=tracker: build_report_data(t))  # type: ignore[misc]
            table.add(f"{label}: build_report_data, {n:,} versions", seconds, LIMIT_S)
            path = Path(tmp) / f"{label}.html"
            seconds, _ = timed(lambda t=tracker, p=path: write_report(t, p))  # type: ignore[misc]
            table.add(f"{label}: write_report (data, HTML, fsync)", seconds)
            table.add(f"{label}: report size", f"{path.stat().st_size / 1e6:.1f} MB")
            result = render_times(path, loads)
            if isinstance(result, str):
                table.add(f"{label}: render in Chromium", result)
                continue
            times, expand = result
            what = f"median of {loads}" if loads > 1 else "1 load"
            table.add(
                f"{label}: render, load to first frame ({what})",
                statistics.median(times),
                LIMIT_S,
            )
            table.add(f"{label}: expand all runs", expand)
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
