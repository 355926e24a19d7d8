"""Benchmark the HTML report of a million-version model (issue 21): size, build, memory, load.

The store is the packed 1,000,000-version store of ``bench_scale.py`` (built with the
project's codec by its own builder, kept under ``<tmp>/mlineage-bench-scale/`` and shared
with it). In a fresh interpreter, so the memory figure is that process's own peak RSS:
``Tracker.load``, then ``write_report`` (the data, the HTML, fsync), then with
``--analyses`` also ``tracker.report`` (which first collects change points, drift and
behaviour). Then Debian's Chromium (through Playwright) opens the file: the time from
navigation to the first frame after the page's script finished, and "Expand all runs".

Targets: file ≤ 25 MB, built ≤ 30 s, ≤ 1.5 GB peak RSS, interactive ≤ 3 s.

This is a report, not a test: it exits 0 and says MISSED where a target is not met.
``--quick`` runs the same code on the 20,000-version store of ``bench_scale.py --quick``,
with the compact threshold lowered to 5,000 so that it takes the million's path.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_core import MODEL, Report, Row, peak_rss, print_table, run_script_child
from bench_report import render_times
from bench_scale import build_packed, built, cache_root

import mlineage as ml
from mlineage.report import write_report

MB = 1_000_000
TARGETS = {"size": 25 * MB, "build": 30.0, "rss": 1_500 * MB, "load": 3.0}


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Load the store and write its report; times, peak RSS and file size."""
    out: dict[str, Any] = {}
    if spec.get("compact_above"):
        from mlineage.views.report import _data

        _data.COMPACT_ABOVE = spec["compact_above"]
    start = time.perf_counter()
    tracker = ml.Tracker.load(MODEL, storage=spec["root"])
    out["load"] = time.perf_counter() - start
    out["versions"] = len(tracker)
    out["rss_load"] = peak_rss()
    path = Path(spec["out"])
    start = time.perf_counter()
    if spec.get("analyses"):
        tracker.report(path)
    else:
        write_report(tracker, path)
    out["build"] = time.perf_counter() - start
    out["rss"] = peak_rss()
    out["size"] = path.stat().st_size
    return out


def run_child(spec: dict[str, Any], timeout: float) -> dict[str, Any] | str:
    try:
        return run_script_child(__file__, spec, timeout)
    except subprocess.TimeoutExpired:
        return f"not finished in {timeout:.0f} s"


def rows_for(report: Report, label: str, got: dict[str, Any] | str, path: Path) -> list[Row]:
    if isinstance(got, str):
        return [Row(f"{label}: build", got, f"<= {TARGETS['build']:.0f} s", "MISSED")]
    rows = [
        Row(f"{label}: Tracker.load (not counted)", f"{got['load']:.2f} s"),
        report.target(f"{label}: build and write", got["build"], TARGETS["build"], "s"),
        size_row(report, f"{label}: peak RSS (load + report)", got["rss"], TARGETS["rss"]),
        size_row(report, f"{label}: file size", got["size"], TARGETS["size"]),
    ]
    times = render_times(path, 1)
    if isinstance(times, str):
        rows.append(Row(f"{label}: load in Chromium", times))
    else:
        loads, expand = times
        rows.append(report.target(f"{label}: load in Chromium", loads[0], TARGETS["load"], "s"))
        rows.append(Row(f"{label}: expand all runs", f"{expand:.2f} s"))
    return rows


def size_row(report: Report, measure: str, size: int, limit: int) -> Row:
    ok = size <= limit
    if not ok:
        report.missed.append(f"{measure}: {size / MB:.1f} MB > {limit / MB:.0f} MB")
    return Row(measure, f"{size / MB:.1f} MB", f"<= {limit / MB:,.0f} MB", "ok" if ok else "MISSED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 versions, for CI")
    parser.add_argument("--analyses", action="store_true", help="also time tracker.report")
    parser.add_argument("--tmp", help="where the built stores are kept (default: temp dir)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    count = 20_000 if args.quick else 1_000_000
    cache = cache_root(args.tmp) / ("quick" if args.quick else "")
    cache.mkdir(parents=True, exist_ok=True)
    store = built(cache / f"packed-{count}", build_packed(count))
    report = Report()
    rows: list[Row] = []
    out_dir = Path(tempfile.mkdtemp(prefix="mlineage-report-scale-"))
    runs = [("write_report", False)] + ([("tracker.report", True)] if args.analyses else [])
    for label, analyses in runs:
        path = out_dir / f"{label}.html"
        spec = {"root": str(store), "out": str(path), "analyses": analyses}
        if args.quick:  # the compact path, as at a million
            spec["compact_above"] = 5_000
        got = run_child(spec, timeout=1_800)
        rows += rows_for(report, f"{count:,} versions, {label}", got, path)
    print_table(
        f"report of {count:,} packed versions",
        rows,
        [f"reports in {out_dir}", "MISSED: " + "; ".join(report.missed) if report.missed else ""],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
