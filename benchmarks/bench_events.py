"""Benchmark what store format 4 adds to a load: alias logs and evidence events.

A model of 1,000 versions (``bench_core``'s generator, in packs), then on top of it, each
written through the public API into a local store (``LocalStore(durable=False)``):

- **1,000 alias moves** over three aliases (``production``, ``staging``, ``canary``), every
  one a compare-and-set move (``expect=`` the current target) — alias log entries are never
  packed, so a load reads each one;
- **1,000 evidence events** (a 10-key summary and a ~1 KiB JSON payload each), loose and
  then packed by ``compact()``.

Printed: ``Tracker.load`` of the versions alone, with the moves, with the moves and loose
evidence, and with the evidence packed (best of 3 each), the cost those add, and the time
of one compare-and-set move and one ``attach_evidence`` (median). This is a report, not a
test: it exits 0 even when a limit is missed, and says MISSED.

Run ``python benchmarks/bench_events.py`` (``--quick``: 100 of each, for CI).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_core import MODEL, generate_versions

import mlineage as ml
from mlineage import codec
from mlineage._ids import new_id
from mlineage._keys import pack_key
from mlineage.storage import LocalStore

ALIASES = ("production", "staging", "canary")


def best_load(root: Path, repeat: int = 3) -> tuple[float, ml.Tracker]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        tracker = ml.Tracker.load(MODEL, storage=LocalStore(root, durable=False))
        times.append(time.perf_counter() - start)
    return min(times), tracker


def payload(i: int) -> dict[str, object]:
    return {
        "metrics": [
            {"column": f"feature_{k}", "drift_score": (i * 7 + k) % 97 / 97, "drifted": k % 3 == 0}
            for k in range(12)
        ]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 moves and events, for CI")
    args = parser.parse_args(argv)
    count = 100 if args.quick else 1_000
    root = Path(tempfile.mkdtemp(prefix="mlineage-bench-events-"))
    try:
        store = LocalStore(root, durable=False)
        store.put(codec.STORE_MARKER_KEY, codec.encode_marker(), mode="create")
        versions = list(generate_versions(1_000))
        store.put(pack_key(MODEL, new_id()), codec.encode_pack(versions, []), mode="create")
        base, tracker = best_load(root)

        moves = []
        for i in range(count):
            alias = ALIASES[i % len(ALIASES)]
            expect = tracker.aliases().get(alias, ml.ABSENT)
            start = time.perf_counter()
            tracker.set_alias(alias, versions[(i * 37) % len(versions)].id, expect=expect)
            moves.append(time.perf_counter() - start)
        with_moves, tracker = best_load(root)
        assert sum(len(tracker.alias_history(a)) for a in ALIASES) == count

        attaches = []
        for i in range(count):
            summary = {f"k{k}": (i + k) / 7 for k in range(9)} | {"drifted": ["feature_0"]}
            start = time.perf_counter()
            tracker.attach_evidence(
                versions[i % len(versions)].id, "evidently", payload(i), summary
            )
            attaches.append(time.perf_counter() - start)
        with_loose, tracker = best_load(root)
        assert len(tracker.evidence()) == count
        tracker.compact()
        with_packed, tracker = best_load(root)
        assert len(tracker.evidence()) == count
    finally:
        shutil.rmtree(root, ignore_errors=True)

    limit = 0.5 if not args.quick else 0.1
    added = with_packed - base
    verdict = "ok" if added <= limit else "MISSED"
    rows = [
        ("Tracker.load, 1,000 versions in a pack", f"{base * 1e3:.1f} ms", "-"),
        (f"... and {count:,} alias moves (log entries)", f"{with_moves * 1e3:.1f} ms", "-"),
        (f"... and {count:,} evidence events, loose", f"{with_loose * 1e3:.1f} ms", "-"),
        ("... and the evidence packed", f"{with_packed * 1e3:.1f} ms", "-"),
        (
            "cost of the moves and packed evidence",
            f"{added * 1e3:.1f} ms",
            f"<= {limit * 1e3:.0f} ms {verdict}",
        ),
        ("per alias move read at load", f"{(with_moves - base) / count * 1e6:.0f} us", "-"),
        ("compare-and-set move (median)", f"{statistics.median(moves) * 1e3:.2f} ms", "-"),
        (
            "attach_evidence with payload (median)",
            f"{statistics.median(attaches) * 1e3:.2f} ms",
            "-",
        ),
    ]
    print(f"mlineage format-4 events benchmark{' (--quick)' if args.quick else ''}\n")
    width = max(len(r[0]) for r in rows)
    for measure, value, reference in rows:
        print(f"| {measure.ljust(width)} | {value:>10} | {reference}")
    print(
        "\n  best of 3 loads each, files cached; writes with LocalStore(durable=False) "
        "(no fsync), so the write medians are CPU and file-system cost, not disk latency."
    )
    print("MISSED 1 target" if verdict == "MISSED" else "all targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
