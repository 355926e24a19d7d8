"""Crash trials at scale: SIGKILL writers at random moments, then check the store.

The experiment of ``tests/test_crash.py`` (imported from there, with the repository root on
``sys.path``), for runs larger than the test suite's 100 trials::

    python benchmarks/crash_trials.py --trials 1000
    python benchmarks/crash_trials.py --quick          # ~10 trials, a CI smoke run

It prints how many trials ran, how many writers were killed while logging and while
compacting, how many records were verified, how many leftover temporary files ``fsck
--repair`` cleaned, and the problems found, which must be 0 (exit status 1 otherwise).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_crash import DEFAULT_SEED, Summary, run_experiment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--lanes", type=int, default=2, help="trials run at once")
    parser.add_argument("--quick", action="store_true", help="10 trials (CI smoke run)")
    args = parser.parse_args()
    trials = 10 if args.quick else args.trials

    def progress(trial: int, summary: Summary) -> None:
        if summary.trials % 50 == 0:
            print(
                f"  {summary.trials}/{trials} trials, {len(summary.problems)} problems", flush=True
            )

    with tempfile.TemporaryDirectory(prefix="mlineage-crash-") as workdir:
        print(f"crash trials: {trials} trials, seed {args.seed}, {args.lanes} at a time")
        summary = run_experiment(
            trials, args.seed, Path(workdir), lanes=args.lanes, progress=progress
        )
    print("\n".join(summary.lines()))
    for problem in summary.problems[:50]:
        print(f"  {problem}")
    return 0 if not summary.problems else 1


if __name__ == "__main__":
    sys.exit(main())
