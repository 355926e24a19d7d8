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
import textwrap
import time
from collections.abc import Iterator

import numpy as np

from mlineage.analysis.changepoints import change_points
from mlineage.analysis.profile import DataProfile, drift_between


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
    args = parser.parse_args()
    if args.quick:
        args.rows, args.cols, args.batch, args.points = 40_000, 5, 10_000, 5_000
        args.evidently_rows = 2_000

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
