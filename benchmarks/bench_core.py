"""Benchmark mlineage's core paths and print them side by side with targets and MLflow.

Three sections, one table each (``measure | mlineage | target or peer | verdict``):

1. **Logging one version** (3 metrics, 3 hyperparameters, a ``DataSnapshot`` reference) into
   a durable local store: median and p90 wall time of ``with tracker.log_version() as v:``,
   CPU time per log (the fsync of the record dominates wall time on some disks), and the
   same content logged with MLflow (sqlite tracking store) as the peer. Both are warmed up
   first; warm-up runs are not counted.
2. **A large store** (100,000 versions: a long first-parent chain, a branch every 50th
   version, a merge every 1,000th, 3 metrics each). Logging that many versions durably
   would take minutes, so the records are written directly with the library's own codec
   (``encode_version`` under ``version_key``, ids from ``new_id`` at increasing backfilled
   times, fsync off), plus a copy in packs (``encode_pack``, as ``Tracker.compact`` writes).
   Then, in this process: ``Tracker.load`` (both layouts), ``history()``,
   ``lineage(latest).ancestors()``, ``blame("accuracy")``, and the memory the loaded tracker
   takes.
3. **import mlineage** in fresh interpreters: time, and which heavy modules it pulled in.

After each section a line says how fast and busy the machine was (a reference loop, other
processes, hypervisor steal): on a shared VM the figures move by 2x with it.

This is a report, not a test: it exits 0 even when a target is missed, and says MISSED.

Run ``python benchmarks/bench_core.py`` for the real sizes, ``--quick`` for a CI smoke run
(well under a minute). MLflow comes with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import mlineage as ml
from mlineage import codec
from mlineage._ids import new_id
from mlineage._keys import pack_key, version_key
from mlineage.storage import LocalStore
from mlineage.tracker import PACK_RECORDS

MODEL = "bench-model"
START = datetime(2020, 1, 1, tzinfo=timezone.utc)
MS = 1e-3
MiB = 1 << 20
GiB = 1 << 30
#: Modules `import mlineage` must not load (they cost seconds or hundreds of MB).
HEAVY_MODULES = (
    "pandas",
    "scipy",
    "boto3",
    "matplotlib",
    "networkx",
    "google.cloud.storage",
    "torch",
)
INSTALL_HINT = "MLflow not installed (pip install -e '.[bench]')"


# -- report ---------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    reference: str = ""
    verdict: str = ""


@dataclass
class Report:
    missed: list[str] = field(default_factory=list)

    def target(self, measure: str, seconds: float, limit: float, unit: str = "ms") -> Row:
        """A row comparing a time with its upper limit."""
        ok = seconds <= limit
        if not ok:
            self.missed.append(f"{measure}: {fmt_time(seconds, unit)} > {fmt_time(limit, unit)}")
        return Row(measure, fmt_time(seconds, unit), f"<= {fmt_time(limit, unit)}", verdict(ok))

    def bytes_target(self, measure: str, size: int, limit: int) -> Row:
        ok = size <= limit
        if not ok:
            self.missed.append(f"{measure}: {size / MiB:.0f} MiB > {limit / MiB:.0f} MiB")
        return Row(measure, f"{size / MiB:.0f} MiB", f"<= {limit / GiB:.0f} GiB", verdict(ok))


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def fmt_time(seconds: float, unit: str = "ms") -> str:
    if unit == "s":
        return f"{seconds:.3g} s"
    return f"{seconds / MS:.3g} ms" if seconds < 0.1 else f"{seconds / MS:.0f} ms"


def print_table(title: str, rows: list[Row], notes: list[str]) -> None:
    header = Row("measure", "mlineage", "target or peer", "verdict")
    cells = [(r.measure, r.value, r.reference, r.verdict) for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    print(f"\n## {title}\n")
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for note in notes:
        print(f"  {note}")
    sys.stdout.flush()


class MachineMeter:
    """How fast and how busy the machine was during each section.

    On a shared VM, runs differ by 2x: other processes, the hypervisor's *steal* (from
    Linux ``/proc/stat``), or a busy sibling hyperthread that only shows as a slower CPU.
    A fixed pure-Python reference loop, timed when each section starts and ends, measures
    the last; compare it between runs before comparing the figures.
    """

    def __init__(self) -> None:
        self._last = self._read()
        self._speed = reference_loop()

    @staticmethod
    def _read() -> tuple[float, float, float, float] | None:
        """(steal, busy, total) CPU seconds of the whole machine, and this process's own."""
        try:
            with open("/proc/stat") as stat:
                ticks = [int(x) for x in stat.readline().split()[1:9]]
            hz = os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, AttributeError):
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
        busy = user + nice + system + irq + softirq
        own = sum(os.times()[:4])
        return steal / hz, busy / hz, sum(ticks) / hz, own

    def lap(self) -> str:
        """Describe the section that just ended (and start timing the next one)."""
        now, last = self._read(), self._last
        start, end = self._speed, reference_loop()
        self._last, self._speed = now, end
        line = (
            f"machine: reference loop (10^6 Python additions) {fmt_time(start)} at the "
            f"start of this section, {fmt_time(end)} at the end"
        )
        if now is None or last is None or now[2] <= last[2]:
            return line
        steal, busy, total, own = (a - b for a, b in zip(now, last, strict=True))
        others = max(0.0, busy - own) / total
        return (
            f"{line}; other processes used {others:.0%} of the CPUs, "
            f"steal (host busy with other guests) {steal / total:.0%}"
        )


def reference_loop() -> float:
    """Best of 5 of a fixed pure-Python loop: this CPU's speed right now, to compare runs."""

    def loop() -> None:
        total = 0
        for i in range(1_000_000):
            total += i

    return best_of(5, loop)


def p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10, method="inclusive")[-1]


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def first_and_best(run: Callable[[], Any], repeat: int = 3) -> tuple[Any, float, float]:
    """The result and wall time of a first call, then the best of ``repeat`` further calls."""
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start, best_of(repeat, run)


def progress(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


# -- the content of one version, shared by every section -------------------------------------


@dataclass(frozen=True)
class Content:
    model_path: str
    data_path: str
    data_hash: str
    metrics: dict[str, float]
    hyperparameters: dict[str, Any]
    notes: str


def content(i: int, accuracy: float = 0.9) -> Content:
    return Content(
        model_path=f"checkpoints/model_{i:06d}.pt",
        data_path=f"data/batch_{i:06d}/",
        data_hash="sha256:" + hashlib.sha256(b"batch %d" % i).hexdigest(),
        metrics={"accuracy": accuracy, "f1": accuracy - 0.03, "loss": 1.0 - accuracy},
        hyperparameters={"lr": 1e-3, "batch_size": 256, "epochs": 3 + i % 4},
        notes=f"update {i}: retrained on batch {i}",
    )


def timed_runs(
    step: Callable[[int], object], runs: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``runs`` calls of ``step(i)``, after ``warmup`` uncounted ones."""
    for i in range(warmup):
        step(i)
    walls, cpus = [], []
    for i in range(warmup, warmup + runs):
        wall, cpu = time.perf_counter(), time.process_time()
        step(i)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return walls, cpus


# -- 1. logging one version ------------------------------------------------------------------


def mlineage_logger(storage: str | ml.Store) -> Callable[[int], object]:
    tracker = ml.Tracker(MODEL, storage=storage)

    def step(i: int) -> None:
        c = content(i)
        with tracker.log_version() as v:
            v.model_path = c.model_path
            v.dataset = ml.DataSnapshot(path=c.data_path, hash=c.data_hash)
            v.metrics = c.metrics
            v.hyperparameters = c.hyperparameters
            v.notes = c.notes

    return step


def mlflow_logger(tmp: Path) -> Callable[[int], object] | None:
    """A step that logs one run with MLflow, or None when MLflow is not installed."""
    # Telemetry would time network calls, not logging.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    try:
        import mlflow
    except ImportError:
        return None
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    experiment = mlflow.create_experiment(
        "bench", artifact_location=(tmp / "mlflow-artifacts").as_uri()
    )
    mlflow.set_experiment(experiment_id=experiment)

    def step(i: int) -> None:
        c = content(i)
        with mlflow.start_run():
            mlflow.log_params(c.hyperparameters)
            mlflow.log_metrics(c.metrics)
            mlflow.set_tags(
                {
                    "mlflow.note.content": c.notes,
                    "model_path": c.model_path,
                    "dataset.path": c.data_path,
                    "dataset.hash": c.data_hash,
                }
            )

    return step


def bench_logging(tmp: Path, runs: int, warmup: int, report: Report) -> None:
    progress(f"logging {warmup} + {runs} versions with mlineage")
    walls, cpus = timed_runs(mlineage_logger(str(tmp / "store")), runs, warmup)
    fast_walls, _ = timed_runs(
        mlineage_logger(LocalStore(tmp / "store-nofsync", durable=False)), runs, warmup
    )
    median = statistics.median(walls)
    rows = [
        report.target("median wall time per log (durable)", median, 1 * MS),
        Row("p90 wall time per log (durable)", fmt_time(p90(walls))),
        report.target("median CPU time per log (user + system)", statistics.median(cpus), 1 * MS),
        Row("median wall time per log, fsync off", fmt_time(statistics.median(fast_walls))),
    ]
    notes = [
        f"{runs} logs each, after {warmup} warm-up logs that are not counted; "
        "3 metrics, 3 hyperparameters, DataSnapshot(path=, hash=), notes.",
        "durable: the record file and its directory are fsynced before log_version returns; "
        "'fsync off' is LocalStore(durable=False), the library's own cost.",
    ]

    progress(f"logging {warmup} + {runs} runs with MLflow")
    step = mlflow_logger(tmp / "mlflow")
    if step is None:
        rows.append(Row("MLflow: median wall time per run", "", INSTALL_HINT))
    else:
        import mlflow

        ml_walls, ml_cpus = timed_runs(step, runs, warmup)
        peer = statistics.median(ml_walls)
        rows += [
            Row(
                "MLflow: median wall time per run",
                fmt_time(median),
                f"{fmt_time(peer)} (MLflow {mlflow.__version__})",
                f"{peer / median:.0f}x faster" if peer > median else "slower than MLflow",
            ),
            Row("MLflow: p90 wall time per run", fmt_time(p90(walls)), fmt_time(p90(ml_walls))),
            Row(
                "MLflow: median CPU time per run",
                fmt_time(statistics.median(cpus)),
                fmt_time(statistics.median(ml_cpus)),
            ),
        ]
        notes.append(
            "MLflow: sqlite tracking store and artifact store in a temp dir; one start_run() "
            "with log_params (3), log_metrics (3) and set_tags (note, model path, dataset "
            f"path and hash) per version; same warm-up ({warmup} runs, not counted)."
        )
    print_table("1. Logging one version", rows, notes)


# -- 2. a large store ------------------------------------------------------------------------


def is_branch(i: int, count: int) -> bool:
    """Whether version ``i`` of ``count`` branches off the chain (the latest never does)."""
    return i > 0 and i % 50 == 0 and i < count - 1


def regression_index(count: int) -> int:
    """The chain version whose accuracy drops by 0.05, two thirds of the way."""
    i = max(1, count * 2 // 3)
    return i + 1 if is_branch(i, count) else i


def created_at(i: int) -> datetime:
    return START + timedelta(minutes=i)


def generate_versions(count: int) -> Iterator[ml.ModelVersion]:
    """A long first-parent chain; every 50th version branches off the one 10 back on the
    chain; every 1000th merges the chain with the newest branch. Accuracy is a noisy
    mean-reverting walk with one injected regression of 0.05 (for blame to find)."""
    rng = random.Random(0)
    chain: list[str] = []
    branch_tip: str | None = None
    accuracy = 0.9
    regression = regression_index(count)
    for i in range(count):
        accuracy += 0.01 * (0.9 - accuracy) + rng.gauss(0.0, 0.002)
        if i == regression:
            accuracy -= 0.05
        if not chain:
            parents, kind = (), "initial"
        elif is_branch(i, count):
            parents, kind = (chain[max(0, len(chain) - 10)],), "fine_tune"
        elif i % 1000 == 1 and branch_tip is not None:
            parents, kind = (chain[-1], branch_tip), "merge"
        else:
            parents, kind = (chain[-1],), "update"
        at = created_at(i)
        c = content(i, accuracy)
        version = ml.ModelVersion(
            id=new_id(at),
            model=MODEL,
            parents=parents,
            kind=kind,
            created_at=at,
            started_at=at - timedelta(seconds=30),
            model_path=c.model_path,
            dataset=ml.DataSnapshot(path=c.data_path, hash=c.data_hash),
            metrics=c.metrics,
            hyperparameters=c.hyperparameters,
            notes=c.notes,
        )
        if kind == "fine_tune":
            branch_tip = version.id
        else:
            chain.append(version.id)
        yield version


@dataclass(frozen=True)
class StoreLayouts:
    """The same generated versions twice: one loose record per version, and in packs."""

    loose: Path
    packed: Path


def write_stores(stores: StoreLayouts, count: int) -> None:
    """Write ``count`` versions with the library's codec: loose records (``encode_version``
    at ``version_key``) in one store and packs of ``PACK_RECORDS`` (``encode_pack`` at
    ``pack_key``, the layout ``Tracker.compact`` writes) in the other."""
    loose = LocalStore(stores.loose, durable=False)
    packed = LocalStore(stores.packed, durable=False)
    chunk: list[ml.ModelVersion] = []

    def flush() -> None:
        packed.put(pack_key(MODEL, new_id()), codec.encode_pack(chunk, []), mode="create")
        chunk.clear()

    for store in (loose, packed):
        store.put(codec.STORE_MARKER_KEY, codec.encode_marker(), mode="create")
    for n, version in enumerate(generate_versions(count), 1):
        loose.put(version_key(MODEL, version.id), codec.encode_version(version), mode="create")
        chunk.append(version)
        if len(chunk) == PACK_RECORDS:
            flush()
        if n % 20_000 == 0:
            progress(f"{n:,} of {count:,} versions written")
    if chunk:
        flush()


def schema_fingerprint() -> str:
    """Changes with the record format or fields, so that a kept store is regenerated."""
    fields = [codec.FORMAT, sorted(ml.ModelVersion.model_fields)]
    fields.append(sorted(ml.DataSnapshot.model_fields))
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]


def rss() -> int | None:
    """Resident set size of this process in bytes (psutil), or None without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.Process().memory_info().rss)


def run_script_child(
    script: str,
    spec: dict[str, Any],
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``script --child SPEC`` in a fresh interpreter; its last stdout line, as JSON.

    Raises ``subprocess.TimeoutExpired`` past ``timeout``; ``env`` adds to the environment.
    """
    done = subprocess.run(
        [sys.executable, script, "--child", json.dumps(spec)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def peak_rss() -> int | None:
    """Peak resident set size of this process in bytes, where the OS reports it."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


@contextmanager
def generated_stores(parent: str | None, count: int) -> Iterator[tuple[StoreLayouts, str]]:
    """The stores (generated unless ``parent`` holds complete ones) and how they were made."""
    tmp = None
    if parent is None:
        tmp = Path(tempfile.mkdtemp(prefix="mlineage-bench-store-"))
        base = tmp / f"{MODEL}-{count}"
    else:
        base = Path(parent) / f"{MODEL}-{count}"
    stores = StoreLayouts(loose=base / "loose", packed=base / "packed")
    complete = base / "complete.json"
    stamp = {"versions": count, "schema": schema_fingerprint()}
    try:
        if complete.exists() and json.loads(complete.read_text()) == stamp:
            yield stores, f"reused the stores generated earlier in {base}"
            return
        # An interrupted generation, or one from before a record schema change.
        shutil.rmtree(base, ignore_errors=True)
        progress(f"generating {count:,} versions in {base}")
        start = time.perf_counter()
        write_stores(stores, count)
        seconds = time.perf_counter() - start
        complete.write_text(json.dumps(stamp))
        yield (
            stores,
            (
                f"generated in {seconds:.1f} s by writing records directly with the codec "
                "(encode_version at version_key, and encode_pack for the packed copy; "
                "new_id at backfilled times; LocalStore(durable=False)), not through "
                "log_version"
            ),
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def time_load(root: Path, count: int, repeat: int) -> float:
    """Best wall time of ``repeat`` loads of the model (``count`` versions) from ``root``."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        tracker = ml.Tracker.load(MODEL, storage=str(root))
        times.append(time.perf_counter() - start)
        assert len(tracker) == count, (len(tracker), count)
        del tracker
    return min(times)


def time_queries(
    tracker: ml.Tracker, count: int, report: Report, layout: str
) -> tuple[list[Row], str]:
    """Rows for history(), ancestors() and blame() on a loaded tracker, and a note on results."""
    latest = tracker.latest()
    assert latest is not None
    queries: list[tuple[str, Callable[[], Any]]] = [
        ("history()", tracker.history),
        ("lineage(latest).ancestors()", lambda: tracker.lineage(latest).ancestors()),
        ('blame("accuracy")', lambda: tracker.blame("accuracy")),
    ]
    rows, results = [], []
    for label, run in queries:
        result, first, best = first_and_best(run)
        results.append(result)
        rows.append(report.target(f"{label} first call ({layout})", first, 100 * MS))
        rows.append(report.target(f"{label} best of 3 ({layout})", best, 100 * MS))
    history, ancestors, culprit = results
    found = culprit is not None and culprit.created_at == created_at(regression_index(count))
    note = (
        f"history() returns {len(history):,} versions, ancestors() {len(ancestors):,}; "
        f"blame found the injected regression: {'yes' if found else 'NO'}."
    )
    return rows, note


def load_and_query(
    root: Path, count: int, report: Report, label: str
) -> tuple[float, list[Row], str, int | None]:
    """First load of ``root`` in this process, its queries, and the RSS the tracker adds."""
    gc.collect()
    before = rss()
    progress(f"loading {count:,} versions ({label})")
    start = time.perf_counter()
    tracker = ml.Tracker.load(MODEL, storage=str(root))
    first = time.perf_counter() - start
    gc.collect()
    after = rss()
    assert len(tracker) == count, (len(tracker), count)
    rows, note = time_queries(tracker, count, report, label)
    del tracker
    return first, rows, note, None if before is None or after is None else after - before


def bench_large_store(parent: str | None, count: int, report: Report) -> None:
    with generated_stores(parent, count) as (stores, how):
        peak_before = peak_rss()
        first_packed, packed_rows, note, packed_rss = load_and_query(
            stores.packed, count, report, "packs"
        )
        first_loose, loose_rows, _, loose_rss = load_and_query(stores.loose, count, report, "loose")
        peak_after = peak_rss()
        progress("loading each layout twice more")
        best_packed = min(first_packed, time_load(stores.packed, count, 2))
        best_loose = min(first_loose, time_load(stores.loose, count, 2))
        progress("reading every record of a packed load")
        tracker = ml.Tracker.load(MODEL, storage=str(stores.packed))
        start = time.perf_counter()
        for version in tracker.versions():
            _ = version.notes  # reads the record
        read_all = time.perf_counter() - start
        del tracker

    rows = [
        report.target(f"Tracker.load, {count:,} versions in packs (first)", first_packed, 1.0, "s"),
        report.target("Tracker.load, in packs (best of 3)", best_packed, 1.0, "s"),
        *packed_rows,
        Row(
            "then reading every record (e.g. query() over all)",
            fmt_time(read_all, "s"),
            "-",
            "(info)",
        ),
        report.target("Tracker.load, same versions loose (first)", first_loose, 5.0, "s"),
        report.target("Tracker.load, loose (best of 3)", best_loose, 5.0, "s"),
        *loose_rows,
    ]
    for label, added in (("packs", packed_rss), ("loose", loose_rss)):
        if added is not None:
            rows.append(
                report.bytes_target(f"RSS added by the loaded tracker ({label})", added, GiB)
            )
    if peak_before is not None and peak_after is not None and packed_rss is None:
        rows.append(
            report.bytes_target("peak RSS growth during loads", peak_after - peak_before, GiB)
        )
    if peak_after is not None:
        rows.append(Row("process peak RSS (ru_maxrss)", f"{peak_after / MiB:.0f} MiB"))
    notes = [
        f"store: {count:,} versions, {how}.",
        note,
        "packs: what Tracker.compact() writes, "
        f"{PACK_RECORDS:,} versions a pack, each with a columnar index; a load builds the "
        "lineage from the indexes and reads a record when something looks at it. loose: "
        "one JSON file per version, all decoded on load. first = the first load in this "
        "process (a reused store may not be in the page cache yet); best of 3 with the "
        "files cached.",
        "queries: on the first loaded tracker of each layout; first call = the first query on it.",
    ]
    print_table(f"2. A {count:,}-version store", rows, notes)


# -- 3. import time --------------------------------------------------------------------------

_IMPORT_PROBE = """
import json, sys, time
start = time.perf_counter()
import mlineage
seconds = time.perf_counter() - start
heavy = [m for m in sys.argv[1:] if m in sys.modules]
print(json.dumps({"seconds": seconds, "heavy": heavy, "modules": len(sys.modules)}))
"""


def import_probes(repeat: int, env: dict[str, str]) -> tuple[list[dict[str, Any]], list[float]]:
    """``repeat`` fresh interpreters importing mlineage: their reports and wall times."""
    probes, walls = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE, *HEAVY_MODULES],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        walls.append(time.perf_counter() - start)
        probes.append(json.loads(out.stdout))
    return probes, walls


def bench_import(repeat: int, report: Report) -> None:
    # Bytecode goes to a private cache (filled by one uncounted run), so the figure is what
    # every import after the first costs on a normal install, whatever this shell sets.
    with tempfile.TemporaryDirectory(prefix="mlineage-bench-pyc-") as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        import_probes(1, env)
        probes, walls = import_probes(repeat, env)
    heavy = sorted({m for p in probes for m in p["heavy"]})
    if heavy:
        report.missed.append(f"import mlineage loads {', '.join(heavy)}")
    best = min(p["seconds"] for p in probes)
    rows = [
        report.target(f"import mlineage (best of {repeat})", best, 0.3, "s"),
        Row(f"fresh interpreter + import (best of {repeat})", fmt_time(min(walls), "s")),
    ]
    notes = ["each run a fresh `python -c`, bytecode cached (one uncounted run fills it)"]
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        uncached, _ = import_probes(repeat, dict(os.environ))
        seconds = min(p["seconds"] for p in uncached)
        rows.append(Row("import mlineage, PYTHONDONTWRITEBYTECODE set", fmt_time(seconds, "s")))
        notes.append(
            "PYTHONDONTWRITEBYTECODE is set in this shell: without a bytecode cache every "
            "import recompiles mlineage's sources (the row above)"
        )
    rows += [
        Row("modules loaded after import", str(probes[0]["modules"])),
        Row(
            "heavy modules imported",
            ", ".join(heavy) or "none",
            "none of: " + ", ".join(HEAVY_MODULES),
            verdict(not heavy),
        ),
    ]
    print_table("3. import mlineage", rows, notes)


# -- main ------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (
        f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"{platform.platform()}, mlineage {ml.__version__}, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC{load}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a CI smoke run")
    parser.add_argument("--runs", type=int, help="logs timed in section 1 (default 500)")
    parser.add_argument("--versions", type=int, help="versions in section 2 (default 100000)")
    parser.add_argument(
        "--store", help="directory to keep the generated store in and reuse across runs"
    )
    parser.add_argument("--tmp", default=None, help="where to put section 1's stores")
    args = parser.parse_args(argv)
    runs = args.runs or (30 if args.quick else 500)
    versions = args.versions or (2_000 if args.quick else 100_000)
    warmup = 5 if args.quick else 20

    report = Report()
    print(f"mlineage core benchmark{' (--quick)' if args.quick else ''}")
    meter = MachineMeter()

    tmp = Path(tempfile.mkdtemp(prefix="mlineage-bench-", dir=args.tmp))
    try:
        bench_logging(tmp, runs, warmup, report)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"  {meter.lap()}")
    bench_large_store(args.store, versions, report)
    print(f"  {meter.lap()}")
    bench_import(5, report)
    print(f"  {meter.lap()}")

    print()
    if report.missed:
        print(f"MISSED {len(report.missed)} target(s):")
        for line in report.missed:
            print(f"  MISSED  {line}")
    else:
        print("all targets met")
    print(machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
