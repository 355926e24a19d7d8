"""Benchmark mlineage.hashing against sha256sum and against itself, on page-cached data.

Three measurements, printed side by side with their targets:

(a) one large file: ``sha256sum`` MB/s vs ``hash_path`` MB/s (target: ratio >= 0.9);
(b) a directory of many medium files: ``workers=1`` vs the default thread count
    (target: speed-up >= 1.6 on a 2-core machine);
(c) 10,000 small files: first snapshot vs re-snapshot of the unchanged tree with the
    hash cache (target: re-snapshot <= 0.5 s).

Data is written under a temporary directory (``--tmp``, default /tmp) and removed at the
end. Each figure is the best of ``--repeat`` runs, after one warm-up read that puts the data
in the page cache, so the numbers measure hashing, not the disk.

Run ``python benchmarks/bench_hashing.py`` for the real sizes, ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlineage.hashing import HashCache, _default_workers, hash_path

MiB = 1 << 20


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def write_random(path: Path, size: int) -> None:
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(left, 8 * MiB))
            out.write(block)
            left -= len(block)


def warm(paths: list[Path]) -> None:
    for path in paths:
        with path.open("rb") as stream:
            while stream.read(8 * MiB):
                pass


def bench_large_file(tmp: Path, size: int, repeat: int) -> tuple[float, float]:
    big = tmp / "large.bin"
    write_random(big, size)
    warm([big])

    def sha256sum() -> None:
        subprocess.run(["sha256sum", str(big)], check=True, stdout=subprocess.DEVNULL)

    t_tool = best_of(repeat, sha256sum)
    t_ours = best_of(repeat, lambda: hash_path(big, cache=False, progress=False))
    expected = subprocess.run(["sha256sum", str(big)], check=True, capture_output=True, text=True)
    assert hash_path(big, cache=False).hash == "sha256:" + expected.stdout.split()[0]
    big.unlink()
    return size / t_tool / 1e6, size / t_ours / 1e6


def bench_directory(tmp: Path, count: int, size: int, repeat: int) -> tuple[float, float]:
    root = tmp / "many"
    files = []
    for i in range(count):
        path = root / f"part-{i // 100:03d}" / f"{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_random(path, size)
        files.append(path)
    warm(files)
    total = count * size
    t_one = best_of(repeat, lambda: hash_path(root, workers=1, cache=False, progress=False))
    t_many = best_of(repeat, lambda: hash_path(root, cache=False, progress=False))
    shutil.rmtree(root)
    return total / t_one / 1e6, total / t_many / 1e6


def bench_resnapshot(tmp: Path, count: int, repeat: int) -> tuple[float, float, int, int]:
    root = tmp / "small"
    old = time.time() - 3600
    for i in range(count):
        path = root / f"shard-{i // 1000:02d}" / f"{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"row %d\n" % i * 20)
        # Files written seconds ago are "racily clean" and deliberately not cached (see
        # HashCache); real datasets are older than that, so age these by an hour.
        os.utime(path, (old, old))
    with HashCache(tmp / "cache" / "hashes.sqlite") as cache:
        start = time.perf_counter()
        first = hash_path(root, cache=cache, progress=False)
        t_first = time.perf_counter() - start
        hits, misses = cache.stats.hits, cache.stats.misses
        t_again = best_of(repeat, lambda: hash_path(root, cache=cache, progress=False))
        again = hash_path(root, cache=cache, progress=False)
        assert again.hash == first.hash
        runs = repeat + 1
        hits, misses = (cache.stats.hits - hits) // runs, (cache.stats.misses - misses) // runs
    shutil.rmtree(root)
    return t_first, t_again, hits, misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a CI smoke run")
    parser.add_argument("--tmp", default="/tmp", help="where to write the temporary data")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (best is kept)")
    args = parser.parse_args(argv)
    if args.quick:
        large, dir_count, dir_size, small_count = 64 * MiB, 200, 256 * 1024, 2_000
    else:
        large, dir_count, dir_size, small_count = 1024 * MiB, 2_000, 256 * 1024, 10_000

    tmp = Path(tempfile.mkdtemp(prefix="mlineage-bench-", dir=args.tmp))
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, data under {tmp}")
        tool, ours = bench_large_file(tmp, large, args.repeat)
        ratio = ours / tool
        print(f"\n(a) one {large // MiB} MiB file, page-cached")
        print(f"    sha256sum      {tool:8.0f} MB/s")
        print(f"    hash_path      {ours:8.0f} MB/s   ratio {ratio:.2f}x  (target >= 0.9x)")

        one, many = bench_directory(tmp, dir_count, dir_size, args.repeat)
        speedup = many / one
        print(f"\n(b) {dir_count} files x {dir_size // 1024} KiB, page-cached")
        print(f"    workers=1      {one:8.0f} MB/s")
        print(
            f"    workers={_default_workers():<6d}{many:8.0f} MB/s   "
            f"speed-up {speedup:.2f}x  (target >= 1.6x)"
        )

        first, again, hits, misses = bench_resnapshot(tmp, small_count, args.repeat)
        print(f"\n(c) {small_count} small files with the hash cache")
        print(f"    first snapshot {first:8.3f} s")
        print(
            f"    re-snapshot    {again:8.3f} s   {hits} cache hits, {misses} files read  "
            "(target <= 0.5 s)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
