"""Benchmark mlineage at a million versions: every figure of issue 21 beside its target.

Stores are written with the project's own codec (``encode_pack`` in packs of
``PACK_RECORDS``, as ``Tracker.compact`` writes; ``encode_version`` at ``version_key`` for a
loose store) from ``bench_core.generate_versions`` (a long first-parent chain, a branch every
50th version, a merge every 1,000th, one injected accuracy regression), plus a store of
versions logged one by one through ``log_version`` (as a training loop does, never
compacted by hand). They are kept under ``<tmp>/mlineage-bench-scale/<format key>/`` and
reused while the record format is unchanged.

Every measurement runs in a fresh interpreter, so each memory figure is that process's own
peak RSS (``ru_maxrss``) and each load is a first load in its process (the files may be in
the page cache from an earlier run; the row says so). A fixed pure-Python reference loop is
timed at the start and end of the run, to compare runs on a shared machine.

This is a report, not a test: it exits 0 and says MISSED where a target is not met.
``--quick`` runs the same code on small stores in seconds (CI's smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_core import (
    MODEL,
    Report,
    Row,
    content,
    fmt_time,
    generate_versions,
    mlflow_logger,
    peak_rss,
    print_table,
    reference_loop,
    schema_fingerprint,
)

import mlineage as ml
from mlineage import codec
from mlineage._ids import new_id
from mlineage._keys import pack_key, version_key
from mlineage.storage import LocalStore
from mlineage.tracker import PACK_RECORDS

MS = 1e-3
MB = 1_000_000


# -- stores ----------------------------------------------------------------------------------


def cache_root(tmp: str | None) -> Path:
    """Where built stores are kept, keyed by the record format (a new format rebuilds)."""
    base = Path(tmp or tempfile.gettempdir()) / "mlineage-bench-scale"
    return base / f"format{codec.FORMAT}-{schema_fingerprint()}"


def built(path: Path, build: Callable[[Path], None]) -> Path:
    """``path``, built by ``build`` unless a complete copy is there."""
    done = path / "complete"
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"  ... building {path.name}", file=sys.stderr, flush=True)
        build(path)
        done.write_text("ok")
    return path


def build_packed(count: int) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        store = LocalStore(path, durable=False)
        store.put(codec.STORE_MARKER_KEY, codec.encode_marker(), mode="create")
        chunk: list[ml.ModelVersion] = []
        for version in generate_versions(count):
            chunk.append(version)
            if len(chunk) == PACK_RECORDS:
                store.put(pack_key(MODEL, new_id()), codec.encode_pack(chunk, []), mode="create")
                chunk.clear()
        if chunk:
            store.put(pack_key(MODEL, new_id()), codec.encode_pack(chunk, []), mode="create")

    return build


def build_loose(count: int) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        store = LocalStore(path, durable=False)
        store.put(codec.STORE_MARKER_KEY, codec.encode_marker(), mode="create")
        for version in generate_versions(count):
            store.put(version_key(MODEL, version.id), codec.encode_version(version), mode="create")

    return build


def build_logged(count: int) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        log_into(LocalStore(path, durable=False), count)

    return build


def log_into(store: ml.Store | str, count: int, model: str = MODEL) -> ml.Tracker:
    """Log ``count`` versions one by one, as a training loop does."""
    tracker = ml.Tracker(model, storage=store, capture_environment=False)
    for i in range(count):
        log_one(tracker, i)
    return tracker


def log_one(tracker: ml.Tracker, i: int) -> None:
    c = content(i)
    with tracker.log_version() as v:
        v.model_path = c.model_path
        v.dataset = ml.DataSnapshot(path=c.data_path, hash=c.data_hash)
        v.metrics = c.metrics
        v.hyperparameters = c.hyperparameters
        v.notes = c.notes


# -- children: one measurement per fresh interpreter ------------------------------------------


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def child_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Load a store; then (``queries``) the queries of the table; then read every record."""
    out: dict[str, Any] = {}
    tracker, out["load"] = timed(lambda: ml.Tracker.load(MODEL, storage=spec["root"]))
    out["versions"] = len(tracker)
    out["rss_load"] = peak_rss()
    if spec.get("read_all"):
        start = time.perf_counter()
        for version in tracker.versions():
            _ = version.notes  # reads the record
        out["read_all"] = time.perf_counter() - start
        out["rss_read_all"] = peak_rss()
    if not spec.get("queries"):
        return out
    latest = tracker.latest()
    assert latest is not None
    _, out["history"] = timed(tracker.history)
    _, out["ancestors"] = timed(lambda: tracker.lineage(latest).ancestors())
    _, out["blame"] = timed(lambda: tracker.blame("accuracy"))
    report, out["blame_report"] = timed(lambda: tracker.blame_report("accuracy"))
    text, out["blame_str"] = timed(lambda: str(report))
    out["blame_str_lines"] = text.count("\n") + 1
    if spec.get("change_points", True):
        points, out["change_points"] = timed(lambda: tracker.analysis.change_points("accuracy"))
        out["change_points_found"] = len(points.breakpoints)
        del points
    _, out["to_pandas"] = timed(tracker.to_pandas)
    out["rss_queries"] = peak_rss()
    return out


def child_changepoints(spec: dict[str, Any]) -> dict[str, Any]:
    """``analysis.change_points`` on the main line, and the part of it that reads the
    series (history indices and the metric column) alone."""
    from mlineage import refs

    tracker = ml.Tracker.load(MODEL, storage=spec["root"])
    index = tracker._index
    _, series = timed(
        lambda: index.graph.metric_series(refs.history_indices(index, None), "accuracy")
    )
    points, seconds = timed(lambda: tracker.analysis.change_points("accuracy"))
    return {"series": series, "change_points": seconds, "found": len(points.breakpoints)}


def child_writer(spec: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS of a process that logs ``count`` versions (after a tenth, and at the end)."""
    count = spec["count"]
    store = LocalStore(spec["root"], durable=False)
    tracker = ml.Tracker(MODEL, storage=store, capture_environment=False)
    warm = count // 10
    for i in range(warm):
        log_one(tracker, i)
    after_warm = peak_rss()
    start = time.perf_counter()
    for i in range(warm, count):
        log_one(tracker, i)
    return {
        "warm": warm,
        "rss_warm": after_warm,
        "rss_end": peak_rss(),
        "seconds": (time.perf_counter() - start) / (count - warm),
    }


def fsync_floor(directory: Path, size: int, runs: int) -> list[float]:
    """The durable write's syscalls done bare, as ``LocalStore.put(mode="create")`` does
    them: an unnamed temp file (O_TMPFILE) written, fsynced and linked into place, or where
    the file system refuses that a named temp file written, fsynced, linked and removed;
    then the directory fsynced."""
    data = b"x" * size
    times = []
    anonymous = hasattr(os, "O_TMPFILE")
    for n in range(runs):
        path = str(directory / f"floor-{n}-{time.perf_counter_ns()}.json")
        start = time.perf_counter()
        if anonymous:
            fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o644)
            try:
                os.write(fd, data)
                os.fsync(fd)
                os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)
            except OSError:
                anonymous = False  # as the store does: named temp files from now on
                os.close(fd)
                continue
            os.close(fd)
        else:
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.link(path + ".tmp", path)
            os.unlink(path + ".tmp")
        dir_fd = os.open(directory, os.O_RDONLY)
        os.fsync(dir_fd)
        os.close(dir_fd)
        times.append(time.perf_counter() - start)
    return times


def child_durable(spec: dict[str, Any]) -> dict[str, Any]:
    """Median wall of a durable ``log_version`` (into a fresh store, and into ``big`` when
    given), the bare fsync floor interleaved with it, and MLflow's time for the record."""
    runs, warmup = spec["runs"], 5
    root = Path(spec["root"])
    tracker = ml.Tracker(MODEL, storage=str(root / "store"), capture_environment=False)
    size = len(codec.encode_version(tracker.log(model_path="m", dataset=ml.DataSnapshot(hash="0"))))
    floor_dir = root / "floor"
    floor_dir.mkdir()
    for i in range(warmup):
        log_one(tracker, i)
    logs, floors = [], []
    for i in range(runs):  # interleaved, so both see the same disk
        _, seconds = timed(lambda i=i: log_one(tracker, warmup + i))
        logs.append(seconds)
        floors += fsync_floor(floor_dir, size, 2 if i == 0 else 1)
    out = {"log": statistics.median(logs), "floor": statistics.median(floors), "size": size}
    if spec.get("big"):
        big = ml.Tracker.load(MODEL, storage=spec["big"])
        times = [timed(lambda i=i: log_one(big, i))[1] for i in range(runs)]
        out["log_big"] = statistics.median(times)
        out["floor_big"] = statistics.median(fsync_floor(floor_dir, size, runs))
    step = mlflow_logger(root / "mlflow")
    if step is not None:
        for i in range(warmup):
            step(i)
        out["mlflow"] = statistics.median(timed(lambda i=i: step(i))[1] for i in range(runs))
    return out


def child_compare(spec: dict[str, Any]) -> dict[str, Any]:
    from bench_behaviour import stored_compare

    rows = stored_compare(spec["root"], spec["probes"], 3)
    return {label: float(value.split()[0]) * MS for label, value, *_ in rows}


CHILDREN = {
    "load": child_load,
    "changepoints": child_changepoints,
    "writer": child_writer,
    "durable": child_durable,
    "compare": child_compare,
}


def run_child(task: str, timeout: float | None = None, **spec: Any) -> dict[str, Any]:
    spec["task"] = task
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- the table -------------------------------------------------------------------------------


def mib(size: int | None) -> str:
    return "?" if size is None else f"{size / MB:.0f} MB"


def rows_for_load(
    report: Report, label: str, r: dict[str, Any], limits: dict[str, float]
) -> list[Row]:
    rows = [
        report.target(f"Tracker.load, {label}", r["load"], limits["load"], "s"),
        memory_row(report, f"peak RSS after the load, {label}", r["rss_load"], limits["rss"]),
    ]
    if "history" not in r:
        return rows
    for key, what in (
        ("history", "history()"),
        ("ancestors", "lineage(latest).ancestors()"),
        ("blame", 'blame("accuracy")'),
        ("blame_report", 'blame_report("accuracy")'),
        ("change_points", 'analysis.change_points("accuracy") (main line)'),
    ):
        if key in r:
            rows.append(report.target(f"{what}, {label}", r[key], limits["query"]))
    rows.append(report.target(f"str(blame_report), {label}", r["blame_str"], limits["query"]))
    lines_ok = r["blame_str_lines"] <= 100
    if not lines_ok:
        report.missed.append(f"str(blame_report) has {r['blame_str_lines']:,} lines")
    rows.append(
        Row(
            "  lines of that text",
            f"{r['blame_str_lines']:,}",
            "the top steps",
            "ok" if lines_ok else "MISSED",
        )
    )
    rows.append(report.target(f"to_pandas(), {label}", r["to_pandas"], limits["pandas"], "s"))
    if "read_all" in r:
        rows.append(
            report.target(
                f"reading every record after the load, {label}",
                r["read_all"],
                limits["read_all"],
                "s",
            )
        )
        rows.append(
            memory_row(report, "  peak RSS then", r["rss_read_all"], limits["rss_read_all"])
        )
    return rows


def change_point_rows(report: Report, label: str, root: Path) -> list[Row]:
    """Change points on the main line, in a child given at most a minute."""
    what = f'analysis.change_points("accuracy") (main line), {label}'
    try:
        r = run_child("changepoints", timeout=60, root=str(root))
    except subprocess.TimeoutExpired:
        report.missed.append(f"{what}: > 60 s")
        return [Row(what, "> 60 s (stopped)", "<= 100 ms", "MISSED")]
    return [
        report.target(what, r["change_points"], 0.1),
        report.target(f"  of which reading the main-line series, {label}", r["series"], 0.1),
    ]


def memory_row(report: Report, measure: str, size: int | None, limit: float) -> Row:
    ok = size is not None and size <= limit
    if not ok:
        report.missed.append(f"{measure}: {mib(size)} > {mib(int(limit))}")
    return Row(measure, mib(size), f"<= {mib(int(limit))}", "ok" if ok else "MISSED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small stores, for CI")
    parser.add_argument("--tmp", help="where to keep the built stores (default: the temp dir)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(CHILDREN[spec["task"]](spec)))
        return 0

    quick = args.quick
    small, large = (2_000, 20_000) if quick else (100_000, 1_000_000)
    cache = cache_root(args.tmp)
    if quick:
        cache = cache / "quick"
    cache.mkdir(parents=True, exist_ok=True)
    report = Report()
    print(f"mlineage scale benchmark{' (--quick)' if quick else ''}; stores in {cache}")
    loop_start = reference_loop()

    packed_small = built(cache / f"packed-{small}", build_packed(small))
    packed_large = built(cache / f"packed-{large}", build_packed(large))
    loose_small = built(cache / f"loose-{small}", build_loose(small))
    logged_small = built(cache / f"logged-{small}", build_logged(small))

    rows: list[Row] = []
    limits = {"load": 1.0, "rss": 300 * MB, "query": 0.1, "pandas": 1.0}
    rows += rows_for_load(
        report, f"{small:,} packed", run_child("load", root=str(packed_small), queries=True), limits
    )
    limits = {
        "load": 3.0,
        "rss": 1000 * MB,
        "query": 0.1,
        "pandas": 5.0,
        "read_all": 5.0,
        "rss_read_all": 2000 * MB,
    }
    big = run_child("load", root=str(packed_large), queries=True, change_points=False)
    big.update(run_child("load", root=str(packed_large), read_all=True))
    rows += rows_for_load(report, f"{large:,} packed", big, limits)
    rows += change_point_rows(report, f"{large:,} packed", packed_large)
    for label, root in (
        (f"{small:,} logged one by one", logged_small),
        (f"{small:,} loose (codec)", loose_small),
    ):
        r = run_child("load", root=str(root))
        limit = 1.0 if "logged" in label else float("inf")
        rows.append(
            report.target(f"Tracker.load, {label}", r["load"], limit, "s")
            if limit < float("inf")
            else Row(f"Tracker.load, {label}", fmt_time(r["load"], "s"), "-", "(info)")
        )
        rows.append(Row("  peak RSS then", mib(r["rss_load"])))

    with tempfile.TemporaryDirectory(prefix="mlineage-bench-scale-") as tmp:
        count = 2_000 if quick else 100_000
        w = run_child("writer", root=str(Path(tmp) / "writer"), count=count)
        growth = (w["rss_end"] - w["rss_warm"]) / (count - w["warm"])
        projected = w["rss_end"] + growth * (1_000_000 - count)
        rows.append(
            Row(f"writer: peak RSS after logging {count:,} in one process", mib(w["rss_end"]))
        )
        rows.append(
            memory_row(
                report,
                "writer: projected to 1,000,000 (linear in the last 90%)",
                int(projected),
                300 * MB,
            )
        )
        rows.append(Row("writer: wall per log_version, fsync off", fmt_time(w["seconds"])))

        big_copy = Path(tmp) / "big"
        shutil.copytree(packed_large, big_copy, copy_function=os.link)  # packs are immutable
        d = run_child("durable", root=tmp, runs=30 if quick else 200, big=str(big_copy))
        for key, floor_key, label in (
            ("log", "floor", "fresh store"),
            ("log_big", "floor_big", f"store of {large:,}"),
        ):
            ratio = d[key] / d[floor_key]
            ok = ratio <= 1.2
            if not ok:
                report.missed.append(f"durable log_version ({label}): {ratio:.2f}x the fsync floor")
            rows.append(
                Row(
                    f"durable log_version, {label}",
                    fmt_time(d[key]),
                    f"<= 1.2 x floor {fmt_time(d[floor_key])}",
                    f"{ratio:.2f}x {'ok' if ok else 'MISSED'}",
                )
            )
        rows.append(
            Row(
                "MLflow, the same record",
                fmt_time(d["mlflow"])
                if "mlflow" in d
                else "not installed (pip install -e '.[bench]')",
            )
        )

        c = run_child(
            "compare", root=str(Path(tmp) / "fingerprints"), probes=10_000 if quick else 100_000
        )
        for label, seconds in c.items():
            rows.append(report.target(label, seconds, 0.020))

    loop_end = reference_loop()
    notes = [
        "each figure measured in its own fresh interpreter (peak RSS = ru_maxrss of that "
        f"process); stores built with the project's codec, {PACK_RECORDS:,} versions a pack; "
        "the 'logged' store by log_version one by one (fsync off), never compacted by hand.",
        f"reference loop (10^6 Python additions): {fmt_time(loop_start)} at the start, "
        f"{fmt_time(loop_end)} at the end.",
        "writer: peak RSS of a process logging that many versions; the 1,000,000 figure is "
        "extrapolated linearly from the growth over the last 90% of them (stated, not measured).",
    ]
    print_table("Scale (issue 21)", rows, notes)
    print()
    if report.missed:
        print(f"MISSED {len(report.missed)} target(s):")
        for line in report.missed:
            print(f"  MISSED  {line}")
    else:
        print("all targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
