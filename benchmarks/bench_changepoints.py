"""Benchmark change points on long metric series, beside the targets and beside ruptures.

Measures, on this machine and in the same run:

(a) ``change_points`` (binary segmentation, default penalty) on a metric that drifts along
    a long main line — a slow random walk plus measurement noise, as an accuracy logged at
    every update — of 100,000 / 400,000 / 1,000,000 points (targets <= 0.5 / 2 / 5 s;
    issue 21 measured 4.2 / 83 / 746 s before the heap of best splits), and a pure random
    walk of the same lengths; with how many change points each gives;
(b) ruptures' ``Binseg(model="l2", min_size=2, jump=1)`` with the same penalty on the
    lengths where it runs in reasonable time (``--ruptures-max`` points), beside mlineage's
    time on the same series, checking that the breakpoints are the same;
(c) 1,000 series of 500 points (half with one level shift): total time and how many
    change points the noise-only half gives.

Run ``python benchmarks/bench_changepoints.py`` for the real sizes, ``--quick`` for a smoke
run of a few seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mlineage.analysis.changepoints import change_points, default_penalty

TARGETS = {100_000: 0.5, 400_000: 2.0, 1_000_000: 5.0}


def drifting_metric(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.9 - np.cumsum(rng.normal(0.0, 1e-4, n)) + rng.normal(0.0, 0.01, n)


def timed(x: np.ndarray) -> tuple[float, int, float]:
    """Seconds, number of change points and the penalty of the default search."""
    start = time.perf_counter()
    found = change_points(x)
    elapsed = time.perf_counter() - start
    return elapsed, len(found), default_penalty(x)


def bench_lengths(lengths: list[int]) -> None:
    print("(a) change_points(x), binseg, default penalty")
    print(f"{'points':>10} {'series':<14} {'time':>8} {'target':>8} {'points found':>13}")
    for n in lengths:
        for label, x in (
            ("drifting", drifting_metric(n, 1)),
            ("random walk", np.cumsum(np.random.default_rng(2).normal(size=n))),
        ):
            elapsed, count, _ = timed(x)
            target = f"{TARGETS[n]:.1f} s" if n in TARGETS else "-"
            print(f"{n:>10,} {label:<14} {elapsed:>7.3f}s {target:>8} {count:>13}")


def bench_ruptures(lengths: list[int]) -> None:
    try:
        import ruptures as rpt
    except ImportError:
        print("(b) ruptures is not installed (pip install 'mlineage[dev]'): skipped")
        return
    print("(b) same series, same penalty: mlineage vs ruptures.Binseg(l2, min_size=2, jump=1)")
    print(f"{'points':>10} {'mlineage':>10} {'ruptures':>10} {'ratio':>8}  same breakpoints")
    for n in lengths:
        x = drifting_metric(n, 3)
        pen = default_penalty(x)
        start = time.perf_counter()
        ours = change_points(x, penalty=pen)
        t_ours = time.perf_counter() - start
        start = time.perf_counter()
        theirs = rpt.Binseg(model="l2", min_size=2, jump=1).fit(x).predict(pen=pen)[:-1]
        t_theirs = time.perf_counter() - start
        print(
            f"{n:>10,} {t_ours:>9.4f}s {t_theirs:>9.3f}s {t_theirs / t_ours:>7.0f}x  "
            f"{ours == theirs} ({len(ours)} points)"
        )


def bench_many(count: int, length: int) -> None:
    rng = np.random.default_rng(4)
    series = rng.normal(size=(count, length))
    series[::2, length // 2 :] += 3.0
    start = time.perf_counter()
    found = [change_points(x) for x in series]
    elapsed = time.perf_counter() - start
    noise_fired = sum(bool(f) for f in found[1::2])
    shifts = sum(len(f) == 1 and abs(f[0] - length // 2) <= 2 for f in found[::2])
    print(
        f"(c) {count:,} series x {length} points: {elapsed:.2f} s "
        f"({elapsed / count * 1e3:.2f} ms each); noise-only series with a change point: "
        f"{noise_fired} of {count - count // 2}; shifts found within +-2: "
        f"{shifts} of {count // 2}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument(
        "--ruptures-max", type=int, default=20_000, help="longest series given to ruptures"
    )
    args = parser.parse_args()
    if args.quick:
        bench_lengths([10_000, 40_000, 100_000])
        bench_ruptures([500, 2_000])
        bench_many(100, 500)
        print("(--quick: small sizes; the targets are for 100k / 400k / 1M points)")
        return
    bench_lengths([100_000, 400_000, 1_000_000])
    bench_ruptures([n for n in (1_000, 5_000, 20_000, 100_000) if n <= args.ruptures_max])
    bench_many(1_000, 500)


if __name__ == "__main__":
    main()
