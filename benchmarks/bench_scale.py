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
timed at the start and end of the run, and each timed step of a load prints its CPU time
beside its wall time, to compare runs on a shared machine.

The 1M store is also loaded from S3: SeaweedFS started on 127.0.0.1 as the test suite
starts it (``tests/storage/servers.py``), the store's files uploaded as they are, and the
load timed in a child beside a local load of the same store. The durable ``log_version``
into the 1M store is timed interleaved with the bare floor, after ``os.sync()`` (the store
was just copied by hard links, and its metadata would go down with the first fsyncs).

This is a report, not a test: it exits 0 and says MISSED where a target is not met.
``--quick`` runs the same code on small stores in seconds (CI's smoke run); ``--only``
runs some sections (see ``SECTIONS``).
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
    run_script_child,
    schema_fingerprint,
)
from scale_io import fsync_floor, upload

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


#: CPU seconds (this process's user + system) of each ``timed`` call, in order: on a
#: shared machine the wall time moves with the neighbours, the CPU time much less.
CPU: list[float] = []


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    start, cpu = time.perf_counter(), time.process_time()
    result = run()
    wall = time.perf_counter() - start
    CPU.append(time.process_time() - cpu)
    return result, wall


def child_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Load a store; then (``queries``) the queries of the table; then read every record.

    ``cpu`` holds the CPU seconds of each timed step, by the step's key."""
    out: dict[str, Any] = {}
    steps = _load_steps(spec, out)
    out["cpu"] = dict(zip(steps, CPU, strict=True))
    return out


def _load_steps(spec: dict[str, Any], out: dict[str, Any]) -> list[str]:
    """The measurements of :func:`child_load` into ``out``; the keys of the timed steps."""
    steps: list[str] = []

    def step(key: str, run: Callable[[], Any]) -> Any:
        result, out[key] = timed(run)
        steps.append(key)
        return result

    tracker = step("load", lambda: ml.Tracker.load(MODEL, storage=spec["root"]))
    out["versions"] = len(tracker)
    out["rss_load"] = peak_rss()
    if spec.get("read_all"):
        step("read_all", lambda: [version.notes for version in tracker.versions()])
        out["rss_read_all"] = peak_rss()
    if not spec.get("queries"):
        return steps
    latest = tracker.latest()
    assert latest is not None
    history = step("history", tracker.history)
    step("ancestors", lambda: tracker.lineage(latest).ancestors())
    root = history[-1]
    step("descendants", lambda: tracker.lineage(root).descendants())
    step("blame", lambda: tracker.blame("accuracy"))
    report = step("blame_report", lambda: tracker.blame_report("accuracy"))
    text = step("blame_str", lambda: str(report))
    out["blame_str_lines"] = text.count("\n") + 1
    if spec.get("change_points", True):
        points = step("change_points", lambda: tracker.analysis.change_points("accuracy"))
        out["change_points_found"] = len(points.breakpoints)
        del points
    step("to_pandas", tracker.to_pandas)
    out["rss_queries"] = peak_rss()
    return steps


def child_changepoints(spec: dict[str, Any]) -> dict[str, Any]:
    """``analysis.change_points`` on the main line, and the part of it that reads the
    series (the history as an index array and the metric column) alone. The query's time
    includes importing the analysis (a fresh interpreter) and, in ``cpu``, each step's CPU
    time."""
    from mlineage import refs

    tracker = ml.Tracker.load(MODEL, storage=spec["root"])
    index = tracker._index
    _, series = timed(
        lambda: index.graph.metric_along(refs.history_indices(index, None), "accuracy")
    )
    points, seconds = timed(lambda: tracker.analysis.change_points("accuracy"))
    return {
        "series": series,
        "change_points": seconds,
        "found": len(points.breakpoints),
        "cpu": {"series": CPU[0], "change_points": CPU[1]},
    }


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
        # The copy of the big store was just made (hard links): its metadata would go
        # down with the first fsyncs of either side. Flushed first, as a store that
        # has held its versions for a while is.
        os.sync()
        for i in range(warmup):
            log_one(big, i)
        logs, floors = [], []
        for i in range(runs):  # interleaved, as for the fresh store
            logs.append(timed(lambda i=i: log_one(big, warmup + i))[1])
            floors += fsync_floor(floor_dir, size, 1)
        out["log_big"] = statistics.median(logs)
        out["floor_big"] = statistics.median(floors)
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


def s3_rows(report: Report, label: str, root: Path, local: float) -> list[Row]:
    """Load the store from SeaweedFS (started as tests/storage starts it), beside ``local``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.storage.servers import run_seaweedfs

    with run_seaweedfs() as server:
        prefix = server.new_prefix()
        upload(server, prefix, root)
        uri = f"s3://{server.bucket}/{prefix}"
        r = run_child("load", env=server.env, root=uri)
    ratio = r["load"] / local
    ok = ratio <= 2.0
    if not ok:
        report.missed.append(f"Tracker.load from S3, {label}: {ratio:.2f}x the local load")
    return [
        Row(
            f"Tracker.load from S3 (SeaweedFS on 127.0.0.1), {label}",
            fmt_time(r["load"], "s"),
            f"<= 2 x local {fmt_time(local, 's')}",
            f"{ratio:.2f}x {'ok' if ok else 'MISSED'}",
        ),
        Row("  peak RSS then", mib(r["rss_load"])),
    ]


#: What ``--only`` can pick: the 100k packed store's load and queries, the 1M store's (and
#: reading every record, change points), the 1M store from S3, the loose and logged 100k
#: loads, writer memory, durable log_version, stored fingerprint compare.
SECTIONS = ("small", "large", "s3", "loose", "writer", "durable", "compare")

CHILDREN = {
    "load": child_load,
    "changepoints": child_changepoints,
    "writer": child_writer,
    "durable": child_durable,
    "compare": child_compare,
}


def run_child(
    task: str, timeout: float | None = None, env: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    spec["task"] = task
    return run_script_child(__file__, spec, timeout, env)


# -- the table -------------------------------------------------------------------------------


def mib(size: int | None) -> str:
    return "?" if size is None else f"{size / MB:.0f} MB"


def with_cpu(row: Row, r: dict[str, Any], key: str) -> Row:
    """``row`` with the step's CPU time beside its wall time."""
    cpu = r.get("cpu", {}).get(key)
    if cpu is not None:
        unit = "s" if row.value.endswith(" s") else "ms"
        row.value = f"{row.value} (cpu {fmt_time(cpu, unit)})"
    return row


def rows_for_load(
    report: Report, label: str, r: dict[str, Any], limits: dict[str, float]
) -> list[Row]:
    rows = [
        with_cpu(
            report.target(f"Tracker.load, {label}", r["load"], limits["load"], "s"), r, "load"
        ),
        memory_row(report, f"peak RSS after the load, {label}", r["rss_load"], limits["rss"]),
    ]
    if "history" not in r:
        return rows
    for key, what in (
        ("history", "history()"),
        ("ancestors", "lineage(latest).ancestors()"),
        ("descendants", "lineage(root).descendants()"),
        ("blame", 'blame("accuracy")'),
        ("blame_report", 'blame_report("accuracy")'),
        ("change_points", 'analysis.change_points("accuracy") (main line)'),
    ):
        if key in r:
            rows.append(
                with_cpu(report.target(f"{what}, {label}", r[key], limits["query"]), r, key)
            )
    text_row = report.target(f"str(blame_report), {label}", r["blame_str"], limits["query"])
    rows.append(with_cpu(text_row, r, "blame_str"))
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
    pandas = report.target(f"to_pandas(), {label}", r["to_pandas"], limits["pandas"], "s")
    rows.append(with_cpu(pandas, r, "to_pandas"))
    if "read_all" in r:
        what = f"reading every record after the load, {label}"
        read_row = report.target(what, r["read_all"], limits["read_all"], "s")
        rows.append(with_cpu(read_row, r, "read_all"))
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
    series = f"  of which reading the main-line series, {label}"
    return [
        with_cpu(report.target(what, r["change_points"], 0.1), r, "change_points"),
        with_cpu(report.target(series, r["series"], 0.1), r, "series"),
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
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        help="run only these sections (default: all)",
    )
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

    sections = set(args.only or SECTIONS)
    packed_small = built(cache / f"packed-{small}", build_packed(small))
    packed_large = built(cache / f"packed-{large}", build_packed(large))
    rows: list[Row] = []
    if "small" in sections:
        limits = {"load": 1.0, "rss": 300 * MB, "query": 0.1, "pandas": 1.0}
        small_run = run_child("load", root=str(packed_small), queries=True)
        rows += rows_for_load(report, f"{small:,} packed", small_run, limits)
    if "large" in sections:
        rows += large_rows(report, large, packed_large)
    if "s3" in sections:
        local = run_child("load", root=str(packed_large))["load"]
        rows.append(Row(f"Tracker.load, {large:,} packed, local (for S3)", fmt_time(local, "s")))
        rows += s3_rows(report, f"{large:,} packed", packed_large, local)
    if "loose" in sections:
        rows += loose_rows(report, small, cache)
    with tempfile.TemporaryDirectory(prefix="mlineage-bench-scale-") as tmp:
        if "writer" in sections:
            rows += writer_rows(report, 2_000 if quick else 1_000_000, Path(tmp))
        if "durable" in sections:
            rows += durable_rows(report, large, packed_large, Path(tmp), 30 if quick else 200)
        if "compare" in sections:
            c = run_child(
                "compare", root=str(Path(tmp) / "fingerprints"), probes=10_000 if quick else 100_000
            )
            for label, seconds in c.items():
                rows.append(report.target(label, seconds, 0.020))
    notes_and_verdicts(report, rows, loop_start)
    return 0


def large_rows(report: Report, large: int, packed_large: Path) -> list[Row]:
    limits = {
        "load": 3.0,
        "rss": 1000 * MB,
        "query": 0.1,
        "pandas": 5.0,
        "read_all": 5.0,
        "rss_read_all": 2000 * MB,
    }
    big = run_child("load", root=str(packed_large), queries=True, change_points=False)
    reading = run_child("load", root=str(packed_large), read_all=True)
    big["cpu"]["read_all"] = reading["cpu"]["read_all"]
    big.update({k: v for k, v in reading.items() if k != "cpu"})
    rows = rows_for_load(report, f"{large:,} packed", big, limits)
    return rows + change_point_rows(report, f"{large:,} packed", packed_large)


def loose_rows(report: Report, small: int, cache: Path) -> list[Row]:
    loose_small = built(cache / f"loose-{small}", build_loose(small))
    logged_small = built(cache / f"logged-{small}", build_logged(small))
    rows: list[Row] = []
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
    return rows


def writer_rows(report: Report, count: int, tmp: Path) -> list[Row]:
    rows: list[Row] = []
    w = run_child("writer", root=str(tmp / "writer"), count=count)
    rows.append(
        Row(f"writer: peak RSS after logging {w['warm']:,} in one process", mib(w["rss_warm"]))
    )
    rows.append(
        memory_row(
            report,
            f"writer: peak RSS after logging {count:,} in one process",
            w["rss_end"],
            300 * MB,
        )
    )
    rows.append(Row("writer: wall per log_version, fsync off", fmt_time(w["seconds"])))
    return rows


def durable_rows(report: Report, large: int, packed_large: Path, tmp: Path, runs: int) -> list[Row]:
    rows: list[Row] = []
    big_copy = tmp / "big"
    shutil.copytree(packed_large, big_copy, copy_function=os.link)  # packs are immutable
    d = run_child("durable", root=str(tmp), runs=runs, big=str(big_copy))
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
            fmt_time(d["mlflow"]) if "mlflow" in d else "not installed (pip install -e '.[bench]')",
        )
    )

    return rows


def notes_and_verdicts(report: Report, rows: list[Row], loop_start: float) -> None:
    loop_end = reference_loop()
    notes = [
        "each figure measured in its own fresh interpreter (peak RSS = ru_maxrss of that "
        f"process); stores built with the project's codec, {PACK_RECORDS:,} versions a pack; "
        "the 'logged' store by log_version one by one (fsync off), never compacted by hand.",
        f"reference loop (10^6 Python additions): {fmt_time(loop_start)} at the start, "
        f"{fmt_time(loop_end)} at the end.",
        "writer: peak RSS of one process logging that many versions (a tenth, then all; "
        "measured, not extrapolated: the full run logs 1,000,000 and takes minutes).",
    ]
    print_table("Scale (issue 21)", rows, notes)
    print()
    if report.missed:
        print(f"MISSED {len(report.missed)} target(s):")
        for line in report.missed:
            print(f"  MISSED  {line}")
    else:
        print("all targets met")


if __name__ == "__main__":
    raise SystemExit(main())
