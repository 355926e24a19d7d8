"""Benchmark ``mlineage ui``: the first screen of a 100,000-version model, and an on-demand
comparison of two stored 50-column profiles, beside the static report's figures.

The store is built as ``bench_scale`` builds its packed store (``build_packed``: the
project's codec, packs of ``PACK_RECORDS``, ``bench_core.generate_versions``), plus a small
model whose three versions carry stored profiles of 50 numeric columns (20,000 rows). The real
``mlineage ui`` command serves it on a free port of 127.0.0.1, and Debian's Chromium
(through Playwright) opens the model page:

- **first page built cold**: what a server does for a model's first page (load the
  tracker, order the lineage, blame the main line, one page of rows), timed in process;
- **first screen**: navigation to the first frame after the report's script drew the
  page: right after the server started (it builds every model's first page as it starts,
  and the load waits for that), then once the page is built (median of 3 loads);
- **compare, on demand**: ``/api/models/<m>/compare`` of two of the profiled versions (the
  first request of each pair: nothing cached; median of the 3 pairs);
- beside them, the static report of the same model: ``build_report_data`` and loading the
  written file in the same browser (the whole lineage in one file).

The limits are 2 s for the first screen and 200 ms for the comparison. This is a report,
not a test: it exits 0 and says MISSED where a limit is not met. ``--quick`` runs 5,000
versions and one load (CI's smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_core import MODEL
from bench_report import CHROMIUM, CHROMIUM_ARGS, Table, timed
from bench_scale import build_packed

import mlineage as ml
from mlineage.report import build_report_data, write_report
from mlineage.ui._service import StoreView

FIRST_SCREEN_S = 2.0
COMPARE_S = 0.2
PROFILED = "bench-profiles"
COLUMNS = 50
ROWS = 20_000
FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def build_store(root: Path, count: int) -> list[str]:
    """The packed lineage of ``count`` versions and the profiled model; its version names."""
    import numpy as np

    build_packed(count)(root)
    tracker = ml.Tracker(PROFILED, storage=root, capture_environment=False)
    rng = np.random.default_rng(0)
    names = []
    for i, shift in enumerate((0.0, 0.3, 0.1)):
        x = rng.normal(shift, 1.0, size=(ROWS, COLUMNS))
        tracker.log(
            model_path=f"m{i}.pt",
            dataset=ml.DataSnapshot.from_array(x, profile=True),
            name=f"p{i}",
        )
        names.append(f"p{i}")
    return names


def get(url: str) -> tuple[float, Any]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as res:
        body = res.read()
    return time.perf_counter() - start, json.loads(body)


def start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    src = Path(__file__).parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "mlineage", "--store", str(root), "ui", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=5).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the ui server did not start within 60 s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def browser_times(urls: list[tuple[str, int]]) -> dict[str, list[float]] | str:
    """Seconds from navigation to the first frame after drawing, per (url, loads)."""
    if not Path(CHROMIUM).exists():
        return f"skipped: Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright not installed (pip install -e '.[dev]')"
    out: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # report any launch failure instead of a traceback
            return f"skipped: Chromium could not start ({str(exc).splitlines()[0]})"
        for url, loads in urls:
            times = out.setdefault(url, [])
            for _ in range(loads):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("html[data-ready='true']", timeout=600_000)
                page.evaluate(FRAME)
                times.append(time.perf_counter() - start)
                page.close()
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 versions, 1 load")
    parser.add_argument("-n", type=int, default=None, help="versions of the long model")
    args = parser.parse_args(argv)
    n = args.n or (5_000 if args.quick else 100_000)
    loads = 1 if args.quick else 3
    print(
        f"bench_ui: {n:,} versions; {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    table = Table()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        names = build_store(root, n)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        view = StoreView(root)
        seconds, _ = timed(lambda: view.report(MODEL))
        table.add(f"ui: first page of {n:,} versions built cold (load + build)", seconds)
        tracker = ml.Tracker.load(MODEL, storage=root, read_only=True)
        seconds, _ = timed(lambda: build_report_data(tracker))
        table.add(f"static report: build_report_data, {n:,} versions", seconds)
        html = Path(tmp) / "lineage.html"
        write_report(tracker, html)
        table.add("static report: file size", f"{html.stat().st_size / 1e6:.1f} MB")
        # The server starts building every model's first page as it starts; the first
        # load below comes right after the start and waits for that build, as a first
        # visitor would; the next loads find the page built.
        proc = start_server(root, port)
        try:
            model_url = f"{base}/models/{MODEL}"
            result = browser_times([(model_url, 1 + loads), (html.as_uri(), 1)])
            if isinstance(result, str):
                table.add("first screen in Chromium", result)
            else:
                what = f"median of {loads}" if loads > 1 else "1 load"
                table.add("ui: first screen, just after the start", result[model_url][0])
                table.add(
                    f"ui: first screen, page built ({what})",
                    statistics.median(result[model_url][1:]),
                    FIRST_SCREEN_S,
                )
                table.add("static report: load to first frame (1 load)", result[html.as_uri()][0])
            get(f"{base}/api/models/{PROFILED}/report")  # the warm-up is over
            compares = []
            for a, b in ((names[0], names[1]), (names[0], names[2]), (names[1], names[2])):
                seconds, data = get(f"{base}/api/models/{PROFILED}/compare?a={a}&b={b}")
                assert len(data["drift"]["features"]) == COLUMNS, data["drift"]
                compares.append(seconds)
            table.add(
                f"ui: compare two stored {COLUMNS}-column profiles (median of 3 pairs)",
                statistics.median(compares),
                COMPARE_S,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
