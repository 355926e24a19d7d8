"""Benchmark the notebook and command-line views on a large lineage.

A store of ``N`` versions (100,000; 2,000 with ``--quick``) in packs, generated as
``bench_core.py`` generates its large store (a long chain, a fine-tune branch every 50
versions, a merge every 1,000), then, in this process:

- ``Tracker.load`` (for reference: the lineage from the packs' index, records unread);
- ``tracker.to_pandas()``: every record read, one row per version (limit 5 s at 100,000);
- ``mlineage log --graph --limit 50``'s rows (only 50 records read);
- ``mlineage --help`` in a fresh interpreter (limit 0.5 s).

This is a report, not a test: it exits 0 even when a limit is missed, and says MISSED.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_core import MODEL, generate_versions

import mlineage as ml
from mlineage import codec
from mlineage._ids import new_id
from mlineage._keys import pack_key
from mlineage.storage import LocalStore
from mlineage.tracker import PACK_RECORDS
from mlineage.views.text import graph_rows


def write_packed(root: Path, count: int) -> None:
    store = LocalStore(root, durable=False)
    store.put(codec.STORE_MARKER_KEY, codec.encode_marker(), mode="create")
    chunk: list[ml.ModelVersion] = []
    for version in generate_versions(count):
        chunk.append(version)
        if len(chunk) == PACK_RECORDS:
            store.put(pack_key(MODEL, new_id()), codec.encode_pack(chunk, []), mode="create")
            chunk = []
    if chunk:
        store.put(pack_key(MODEL, new_id()), codec.encode_pack(chunk, []), mode="create")


def timed(label: str, run: object, limit: float | None = None) -> object:
    start = time.perf_counter()
    result = run()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    verdict = "" if limit is None else ("  ok" if seconds <= limit else "  MISSED")
    budget = "" if limit is None else f" (limit {limit:g} s)"
    print(f"{label:<40} {seconds:7.3f} s{budget}{verdict}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 versions (CI smoke run)")
    args = parser.parse_args(argv)
    count = 2_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory(prefix="mlineage-bench-views-") as tmp:
        root = Path(tmp) / "store"
        start = time.perf_counter()
        write_packed(root, count)
        print(f"{count:,} versions written in packs in {time.perf_counter() - start:.1f} s")
        tracker = timed("Tracker.load", lambda: ml.Tracker.load(MODEL, storage=str(root)))
        assert isinstance(tracker, ml.Tracker)

        def graph_50() -> list[object]:
            graph = tracker.graph
            versions = (graph.get(i) for i in reversed(graph.ids()))
            rows = graph_rows(versions, lambda i: [p.id for p in graph.parents(i)])
            return [(r.graph, r.version.name) for r in islice(rows, 50)]

        timed("log --graph rows, newest 50", graph_50, 0.5)
        frame = timed("tracker.to_pandas()", tracker.to_pandas, 5.0 if count > 2_000 else None)
        print(f"  frame: {frame.shape[0]:,} rows x {frame.shape[1]} columns")  # type: ignore[attr-defined]
        frame = timed("tracker.to_pandas() again (records read)", tracker.to_pandas)
    src = str(Path(__file__).parents[1] / "src")
    command = [sys.executable, "-m", "mlineage.cli", "--help"]
    env = {"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}
    subprocess.run(command, capture_output=True, env=env, check=True)  # warm the caches
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    best = min(times)
    print(
        f"{'mlineage --help (best of 5)':<40} {best:7.3f} s (limit 0.5 s)"
        f"{'  ok' if best <= 0.5 else '  MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
