"""Benchmark a create-only S3 write through S3Store against the raw boto3 call.

Starts SeaweedFS on 127.0.0.1 (the server the test suite uses, from
``tests/storage/servers.py``) and times, for ``--n`` writes of ``--size`` bytes each:

- raw: ``put_object(..., IfNoneMatch="*")`` on a boto3 client (the test suite's raw client,
  which like the store sends small bodies without ``Expect: 100-continue``);
- store: ``S3Store.put(key, data, mode="create")`` on the same bucket, which adds argument
  checks, the bucket check (once) and the write token in the object's metadata.

The two are interleaved so that any drift of the server affects both alike, each after a
warm-up that opens the connection (and, for the store, checks the bucket once). Prints the
median and 90th percentile latency of each and the store/raw ratio of the medians.

Run ``python benchmarks/bench_s3_put.py`` for 200 writes each, ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.storage.servers import run_seaweedfs

from mlineage.storage import S3Store


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="writes of each kind (default 200)")
    parser.add_argument("--size", type=int, default=1024, help="bytes per write (default 1024)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 writes each")
    args = parser.parse_args()
    n = 10 if args.quick else args.n
    data = os.urandom(args.size)

    with run_seaweedfs() as server:
        raw = server.client()
        store = S3Store(
            server.bucket,
            f"bench-{uuid.uuid4().hex[:8]}",
            endpoint_url=server.endpoint_url,
            aws_access_key_id=server.access_key_id,
            aws_secret_access_key=server.secret_access_key,
            region_name=server.region,
        )
        raw_prefix = f"bench-raw-{uuid.uuid4().hex[:8]}"
        raw.put_object(Bucket=server.bucket, Key=f"{raw_prefix}/warm", Body=data, IfNoneMatch="*")
        store.put("warm", data)

        raw_times: list[float] = []
        store_times: list[float] = []
        for i in range(n):
            start = time.perf_counter()
            raw.put_object(
                Bucket=server.bucket, Key=f"{raw_prefix}/{i:06d}", Body=data, IfNoneMatch="*"
            )
            raw_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            store.put(f"{i:06d}", data, mode="create")
            store_times.append(time.perf_counter() - start)
        store.close()

    raw_median = statistics.median(raw_times)
    store_median = statistics.median(store_times)
    print(f"S3 create-only PUT of {args.size} B to SeaweedFS on 127.0.0.1, {n} writes each")
    print(f"{'':34} {'median':>10} {'p90':>10}")
    print(
        f"{'raw put_object(IfNoneMatch=*)':34} {raw_median * 1e3:8.2f} ms "
        f"{percentile(raw_times, 0.9) * 1e3:7.2f} ms"
    )
    print(
        f"{'S3Store.put(mode=create)':34} {store_median * 1e3:8.2f} ms "
        f"{percentile(store_times, 0.9) * 1e3:7.2f} ms"
    )
    print(f"{'ratio store / raw (medians)':34} {store_median / raw_median:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
