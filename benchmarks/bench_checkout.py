"""Archiving and checking out a large checkpoint, side by side with `cp`.

    python benchmarks/bench_checkout.py            # 1 GiB checkpoint
    python benchmarks/bench_checkout.py --quick    # 64 MiB, for CI smoke runs

Checkout verifies the archived blob's SHA-256 before it is materialised. The first
checkout of a blob reads and hashes it (bound by SHA-256 speed); the verified hash is then
kept in the local hash cache keyed by (path, size, mtime_ns, inode), so later checkouts of
an unchanged blob only copy it (kernel copy_file_range/sendfile, like `cp`). Both are shown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import mlineage as ml


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="64 MiB instead of 1 GiB")
    parser.add_argument("--size-mib", type=int, default=None)
    args = parser.parse_args()
    size_mib = args.size_mib or (64 if args.quick else 1024)
    with tempfile.TemporaryDirectory(prefix="mlineage-bench-checkout-") as tmp:
        work = Path(tmp)
        os.environ["MLINEAGE_CACHE_DIR"] = str(work / "cache")
        checkpoint = work / "model.pt"
        with open(checkpoint, "wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(1 << 20))
        subprocess.run(["cat", str(checkpoint)], stdout=subprocess.DEVNULL, check=True)
        mb = size_mib * (1 << 20) / 1e6

        cp_time = min(
            timed(
                lambda i=i: subprocess.run(
                    ["cp", str(checkpoint), str(work / f"cp{i}")], check=True
                )
            )
            for i in range(3)
        )
        for i in range(3):
            (work / f"cp{i}").unlink()

        tracker = ml.Tracker("bench", storage=str(work / "store"), archive=True)

        def log() -> None:
            tracker.log(model_path=str(checkpoint), dataset=ml.DataSnapshot(hash="sha256:x"))

        log_time = timed(log)
        version = tracker.latest()
        assert version is not None
        time.sleep(2.5)  # let the blob's mtime age past the hash cache's racy window
        first = timed(lambda: tracker.checkout(version, to=work / "co1"))
        repeat = min(
            timed(lambda i=i: tracker.checkout(version, to=work / f"co{i}")) for i in (2, 3, 4)
        )
        assert (work / "co4/model/model.pt").stat().st_size == checkpoint.stat().st_size
        for i in range(1, 5):
            shutil.rmtree(work / f"co{i}")

    rows = [
        ("cp (best of 3)", cp_time, "peer"),
        ("log_version + hash + archive", log_time, "reads, hashes and copies once"),
        ("checkout, first (full SHA-256 verify)", first, "hash-bound"),
        ("checkout, repeat (verified via hash cache)", repeat, "target >= 0.8x cp speed"),
    ]
    print(f"\ncheckpoint: {size_mib} MiB, page-cached\n")
    print(f"{'measure':<46} {'seconds':>8} {'MB/s':>8} {'x cp speed':>10}  note")
    for name, seconds, note in rows:
        print(f"{name:<46} {seconds:8.3f} {mb / seconds:8.0f} {cp_time / seconds:10.2f}  {note}")
    verdict = "met" if cp_time / repeat >= 0.8 else "MISSED"
    print(f"\nrepeat checkout speed / cp speed = {cp_time / repeat:.2f} (target >= 0.8): {verdict}")
    print(f"machine: {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
