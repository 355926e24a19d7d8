"""Benchmark data profiles, drift from stored profiles, and change points.

Measures, printed side by side with their peer or target:

(a) profiling ``--rows`` x ``--cols`` numeric values in batches of ``--batch`` rows
    (target <= 10 s for 1,000,000 x 50 on a 2-core machine), with the peak RSS growth
    (bounded by one batch plus the sketches, not by the row count);
(b) drift between two stored profiles of ``--cols`` columns, including ``from_bytes``
    (target <= 50 ms), against the scipy loop (``scipy.stats.ks_2samp`` per column on the
    raw data, which is what a profile replaces);
(c) change points on a 100,000-point series (binary segmentation; PELT on a series with a
    change every 1,000 points);
(e) on a lineage: ``tracker.analysis.drift`` between the two stored profiles of (b)
    (first call computes and caches, second reads the store's drift cache), side by side
    with ``drift_between`` on the decoded profiles;
(f) ``tracker.analysis.drift_along`` over ``--versions`` versions (each with a profile of
    ``--lineage-cols`` x ``--lineage-rows``): first call, then the cached call in a freshly
    loaded tracker;
(g) on a ``--history``-version first-parent history without profiles (written as packs):
    ``blame_report``, ``analysis.blame`` (drift evidence lazy) and ``change_points``;
(d) Evidently's ``DataDriftPreset`` on ``--evidently-rows`` x ``--cols``, only when the
    environment variable ``EVIDENTLY_PYTHON`` names a Python with evidently installed (run
    in a subprocess with ``DO_NOT_TRACK=1``; never a dependency of mlineage).

Run ``python benchmarks/bench_drift.py`` for the real sizes, ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

import mlineage as ml
from mlineage import codec
from mlineage._ids import new_id
from mlineage._keys import pack_key
from mlineage.stats.changepoints import change_points
from mlineage.stats.profile import DataProfile, drift_between
from mlineage.storage import LocalStore


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def batches(rows: int, cols: int, batch: int, seed: int, shift: float) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    done = 0
    while done < rows:
        n = min(batch, rows - done)
        x = rng.normal(size=(n, cols))
        x[:, 0] += shift
        done += n
        yield x


def bench_profile(rows: int, cols: int, batch: int) -> tuple[float, float, float, bytes, bytes]:
    """Profile time without generating the data (timed separately and subtracted)."""
    start = time.perf_counter()
    for _ in batches(rows, cols, batch, 1, 0.0):
        pass
    t_generate = time.perf_counter() - start
    before = peak_rss_mb()
    start = time.perf_counter()
    ref = DataProfile.from_batches(batches(rows, cols, batch, 1, 0.0))
    elapsed = time.perf_counter() - start
    growth = peak_rss_mb() - before
    cur = DataProfile.from_batches(batches(rows, cols, batch, 2, 0.1))
    return elapsed - t_generate, t_generate, growth, ref.to_bytes(), cur.to_bytes()


def bench_drift(ref_blob: bytes, cur_blob: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        drift_between(DataProfile.from_bytes(ref_blob), DataProfile.from_bytes(cur_blob))
        best = min(best, time.perf_counter() - start)
    return best


def bench_scipy(rows: int, cols: int, batch: int) -> float | None:
    try:
        import scipy.stats
    except ImportError:
        return None
    a = np.concatenate(list(batches(rows, cols, batch, 1, 0.0)))
    b = np.concatenate(list(batches(rows, cols, batch, 2, 0.1)))
    start = time.perf_counter()
    for j in range(cols):
        scipy.stats.ks_2samp(a[:, j], b[:, j])
    return time.perf_counter() - start


def bench_changepoints(n: int) -> tuple[float, float]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=n)
    x[n // 3 :] += 1.0
    start = time.perf_counter()
    change_points(x, method="binseg")
    t_binseg = time.perf_counter() - start
    levels = np.repeat(rng.normal(0, 3, max(n // 1000, 1)), 1000)[:n]
    y = levels + rng.normal(size=levels.size)
    start = time.perf_counter()
    change_points(y, method="pelt")
    return t_binseg, time.perf_counter() - start


def bench_lineage_pair(tmp: Path, ref_blob: bytes, cur_blob: bytes) -> tuple[float, float]:
    """tracker.analysis.drift between two logged versions: computed, then cached."""
    tracker = ml.Tracker("pair", storage=str(tmp / "pair"), capture_environment=False)
    for i, blob in enumerate((ref_blob, cur_blob)):
        snapshot = ml.DataSnapshot(hash=f"sha256:{i}").with_profile(DataProfile.from_bytes(blob))
        tracker.log(model_path=f"{i}.pt", dataset=snapshot)
    start = time.perf_counter()
    tracker.analysis.drift()
    first = time.perf_counter() - start
    fresh = ml.Tracker.load("pair", storage=str(tmp / "pair"))
    start = time.perf_counter()
    fresh.analysis.drift()
    return first, time.perf_counter() - start


def bench_drift_along(tmp: Path, versions: int, rows: int, cols: int) -> tuple[float, float, int]:
    """drift_along over ``versions`` profiled versions: first call, then cached."""
    storage = str(tmp / "along")
    tracker = ml.Tracker("along", storage=storage, capture_environment=False)
    rng = np.random.default_rng(5)
    for i in range(versions):
        x = rng.normal(size=(rows, cols))
        if i >= versions // 2:
            x[:, 0] += 1.0
        tracker.log(model_path=f"{i}.pt", dataset=ml.DataSnapshot.from_array(x, profile=True))
    fresh = ml.Tracker.load("along", storage=storage)
    start = time.perf_counter()
    along = fresh.analysis.drift_along()
    first = time.perf_counter() - start
    again = ml.Tracker.load("along", storage=storage)
    start = time.perf_counter()
    cached = again.analysis.drift_along()
    elapsed = time.perf_counter() - start
    assert cached.cached == versions - 1 and len(along.anomalous) >= 1
    return first, elapsed, len(along.anomalous)


def bench_long_history(tmp: Path, count: int) -> tuple[float, float, float, float]:
    """blame_report, analysis.blame and change_points on ``count`` versions in packs."""
    store = LocalStore(tmp / "long", durable=False)
    store.put(codec.STORE_MARKER_KEY, codec.encode_marker(), mode="create")
    rng = np.random.default_rng(9)
    start_at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    chunk: list[ml.ModelVersion] = []
    parent: tuple[str, ...] = ()
    accuracy = 0.9 + 0.002 * rng.normal(size=count)
    accuracy[count // 2 :] -= 0.05
    for i in range(count):
        at = start_at + timedelta(minutes=i)
        version = ml.ModelVersion(
            id=new_id(at),
            model="long",
            parents=parent,
            kind="update" if parent else "initial",
            created_at=at,
            started_at=at,
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
            metrics={"accuracy": float(accuracy[i])},
        )
        parent = (version.id,)
        chunk.append(version)
        if len(chunk) == 10_000:
            store.put(pack_key("long", new_id()), codec.encode_pack(chunk, []), mode="create")
            chunk = []
    if chunk:
        store.put(pack_key("long", new_id()), codec.encode_pack(chunk, []), mode="create")
    tracker = ml.Tracker.load("long", storage=store, read_only=True)
    start = time.perf_counter()
    tracker.blame_report("accuracy")
    t_report = time.perf_counter() - start
    start = time.perf_counter()
    report = tracker.analysis.blame("accuracy")
    _ = report.steps[0].drift  # one suspect's evidence: "no profile", read lazily
    t_blame = time.perf_counter() - start
    start = time.perf_counter()
    points = tracker.analysis.change_points("accuracy")
    t_points = time.perf_counter() - start
    assert [v.id for v in points.changed_at] == [report.steps[0].version.id]
    start = time.perf_counter()
    report.drift_correlation()
    return t_report, t_blame, t_points, time.perf_counter() - start


EVIDENTLY_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np, pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset
    rows, cols = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(1)
    names = [f"f{j}" for j in range(cols)]
    ref = pd.DataFrame(rng.normal(size=(rows, cols)), columns=names)
    cur = pd.DataFrame(rng.normal(size=(rows, cols)), columns=names)
    start = time.perf_counter()
    Report([DataDriftPreset()]).run(cur, ref)
    print(time.perf_counter() - start)
    """
)


def bench_evidently(rows: int, cols: int) -> float | None:
    python = os.environ.get("EVIDENTLY_PYTHON")
    if not python:
        return None
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    out = subprocess.run(
        [python, "-c", EVIDENTLY_SCRIPT, str(rows), str(cols)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke run)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--evidently-rows", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=1_000)
    parser.add_argument("--lineage-rows", type=int, default=2_000)
    parser.add_argument("--lineage-cols", type=int, default=10)
    parser.add_argument("--history", type=int, default=100_000)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.cols, args.batch, args.points = 40_000, 5, 10_000, 5_000
        args.evidently_rows = 2_000
        args.versions, args.lineage_rows, args.history = 30, 500, 2_000

    t_prof, t_gen, rss, ref_blob, cur_blob = bench_profile(args.rows, args.cols, args.batch)
    t_drift = bench_drift(ref_blob, cur_blob, repeat=3 if args.quick else 5)
    t_scipy = bench_scipy(args.rows, args.cols, args.batch)
    t_binseg, t_pelt = bench_changepoints(args.points)
    t_evid = bench_evidently(args.evidently_rows, args.cols)
    # profile + drift on the Evidently size, for the ratio
    ev_rows = args.evidently_rows
    start = time.perf_counter()
    a = DataProfile.from_batches(batches(ev_rows, args.cols, args.batch, 1, 0.0))
    b = DataProfile.from_batches(batches(ev_rows, args.cols, args.batch, 2, 0.0))
    drift_between(a, b)
    t_ours_ev = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t_pair, t_pair_cached = bench_lineage_pair(tmp, ref_blob, cur_blob)
        t_along, t_along_cached, n_anomalous = bench_drift_along(
            tmp, args.versions, args.lineage_rows, args.lineage_cols
        )
        t_report, t_blame, t_points, t_corr = bench_long_history(tmp, args.history)

    size = f"{args.rows:,} x {args.cols}"
    table = [
        ("measure", "mlineage", "peer / limit", "ratio"),
        (f"profile {size} (batches {args.batch:,})", f"{t_prof:.2f} s", "<= 10 s", ""),
        ("  (generating the data, not included)", f"{t_gen:.2f} s", "", ""),
        ("  peak RSS growth", f"{rss:.0f} MB", f"stored {len(ref_blob) / 1024:.0f} KB", ""),
        (
            f"drift of 2 stored profiles x {args.cols}",
            f"{t_drift * 1000:.1f} ms",
            "<= 50 ms",
            "",
        ),
        (
            f"  vs scipy ks_2samp loop on raw {size}",
            f"{t_drift * 1000:.1f} ms",
            "not run (no scipy)" if t_scipy is None else f"{t_scipy:.2f} s",
            "" if t_scipy is None else f"{t_scipy / t_drift:.0f}x faster",
        ),
        (
            "tracker.analysis.drift of those 2 versions: first / cached",
            f"{t_pair * 1000:.1f} ms / {t_pair_cached * 1000:.1f} ms",
            f"drift_between {t_drift * 1000:.1f} ms",
            "",
        ),
        (
            f"drift_along {args.versions:,} versions ({args.lineage_rows:,} x "
            f"{args.lineage_cols}): first / cached",
            f"{t_along:.2f} s / {t_along_cached:.2f} s",
            f"{n_anomalous} anomalous",
            f"{t_along / t_along_cached:.0f}x",
        ),
        (
            f"{args.history:,} versions: blame_report / analysis.blame / change_points",
            f"{t_report * 1000:.0f} / {t_blame * 1000:.0f} / {t_points * 1000:.0f} ms",
            "<= 1 s each",
            "",
        ),
        (
            f"  drift_correlation over {args.history:,} steps (no profiles)",
            f"{t_corr:.2f} s",
            "",
            "",
        ),
        (f"change points binseg, {args.points:,} points", f"{t_binseg * 1000:.0f} ms", "", ""),
        (f"change points pelt, {args.points:,} points", f"{t_pelt:.2f} s", "", ""),
    ]
    if t_evid is None:
        table.append(
            (
                f"Evidently DataDriftPreset {ev_rows:,} x {args.cols}",
                f"{t_ours_ev:.2f} s",
                "not run: set EVIDENTLY_PYTHON to a python with evidently",
                "",
            )
        )
    else:
        table.append(
            (
                f"Evidently DataDriftPreset {ev_rows:,} x {args.cols}",
                f"{t_ours_ev:.2f} s",
                f"{t_evid:.2f} s",
                f"{t_evid / t_ours_ev:.1f}x faster",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
