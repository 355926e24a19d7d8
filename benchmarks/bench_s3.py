"""Benchmark the Tracker on S3: log_version against one raw PUT, and loading 10,000 versions.

Starts SeaweedFS on 127.0.0.1 (the server the test suite uses, imported from
``tests/storage/servers.py``) and measures:

(a) ``log_version`` on an ``s3://`` store against one raw conditional PUT
    (``put_object(..., IfNoneMatch="*")`` on a plain boto3 client) of the same bytes, the
    encoded version record. The two alternate, after a warm-up that opens connections and
    writes the once-per-tracker objects (store marker, environment blob), so the medians
    compare a steady-state log with the one request it cannot do without. Target: ratio of
    medians <= 1.3. It also counts the HTTP requests each kind of ``log_version`` sends
    (a botocore event hook on the store's client; nothing is replaced).

(b) ``Tracker.load`` of ``--versions`` versions (default 10,000) from S3: first as loose
    records (one GET each, fetched by the store's thread pool), then after
    ``Tracker.compact()`` (one GET per pack of up to 10,000 records). Target: <= 5 s
    compacted. The records are written with the library's own codec by 16 threads, which
    is much quicker than 10,000 sequential ``log_version`` calls and stores the same bytes.

``--quick`` runs 20 logs and 500 versions, as a CI smoke run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.storage.servers import S3Server, run_seaweedfs

import mlineage as ml
from mlineage import _keys
from mlineage._ids import new_id
from mlineage.codec import STORE_MARKER_KEY, encode_marker, encode_version
from mlineage.storage import S3Store


def open_s3(server: S3Server, prefix: str) -> S3Store:
    return S3Store(
        server.bucket,
        prefix,
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        region_name=server.region,
    )


class RequestLog:
    """The HTTP requests a store's boto3 client sends (method and key), via an event hook."""

    def __init__(self, store: S3Store) -> None:
        self.requests: list[str] = []
        prefix = f"/{store.bucket}/{store.prefix}/"
        client: Any = store._client  # only to register the hook; requests are not altered

        def record(request: Any, **_: Any) -> None:
            url = urlsplit(request.url)
            listed = parse_qs(url.query).get("prefix")
            if listed:
                what = f"LIST {listed[0].removeprefix(store.prefix + '/')}"
            else:
                path = unquote(url.path)
                key = "(bucket)" if path.rstrip("/") == f"/{store.bucket}" else path
                what = f"{request.method} {key.removeprefix(prefix)}"
            self.requests.append(what)

        client.meta.events.register("before-send.s3.*", record)

    def take(self) -> list[str]:
        taken, self.requests = self.requests, []
        return taken


def log_one(tracker: ml.Tracker, i: int, **fields: Any) -> ml.ModelVersion:
    return tracker.log(
        model_path=f"checkpoints/model_{i}.pt",
        dataset=ml.DataSnapshot(path=f"data/{i}", hash=f"sha256:{i:064x}"),
        metrics={"accuracy": 0.9, "f1": 0.8},
        hyperparameters={"lr": 1e-3, "batch_size": 64},
        notes=f"update {i}",
        **fields,
    )


def bench_log(server: S3Server, n: int) -> dict[str, Any]:
    store = open_s3(server, f"bench-log-{uuid.uuid4().hex[:8]}")
    requests = RequestLog(store)
    raw = server.client()
    raw_prefix = f"bench-raw-{uuid.uuid4().hex[:8]}"

    opened = ml.Tracker("bench", storage=store)
    sent = {"Tracker() on a new store": requests.take()}
    log_one(opened, 0)
    sent["first log_version of a tracker"] = requests.take()
    log_one(opened, 1)
    sent["log_version"] = requests.take()
    log_one(opened, 2, name="named-2")
    sent["log_version with a name"] = requests.take()
    second = ml.Tracker("bench", storage=store)
    requests.take()
    latest = log_one(second, 3)
    sent["first log_version, existing store"] = requests.take()

    data = encode_version(latest)
    raw.put_object(Bucket=server.bucket, Key=f"{raw_prefix}/warm", Body=data, IfNoneMatch="*")
    log_times: list[float] = []
    raw_times: list[float] = []
    for i in range(10, 10 + n):
        start = time.perf_counter()
        version = log_one(opened, i)
        log_times.append(time.perf_counter() - start)
        data = encode_version(version)  # the very bytes log_version stored
        start = time.perf_counter()
        raw.put_object(
            Bucket=server.bucket, Key=f"{raw_prefix}/{i:06d}", Body=data, IfNoneMatch="*"
        )
        raw_times.append(time.perf_counter() - start)
    steady = requests.take()
    store.close()
    return {
        "log": statistics.median(log_times),
        "raw": statistics.median(raw_times),
        "bytes": len(data),
        "sent": sent,
        "steady_requests_per_log": len(steady) / n,
    }


def populate(store: S3Store, model: str, n: int) -> None:
    """Write ``n`` versions (one line of history) as ``log_version`` would, 16 at a time."""
    start = datetime.now(timezone.utc) - timedelta(days=1)
    parent: tuple[str, ...] = ()
    records = []
    for i in range(n):
        created = start + timedelta(milliseconds=5 * i)
        version = ml.ModelVersion(
            id=new_id(created),
            model=model,
            parents=parent,
            kind="update" if parent else "initial",
            created_at=created,
            model_path=f"checkpoints/model_{i}.pt",
            dataset=ml.DataSnapshot(path=f"data/{i}", hash=f"sha256:{i:064x}"),
            metrics={"accuracy": 0.9 - (i % 13) / 1000, "f1": 0.8},
            hyperparameters={"lr": 1e-3, "batch_size": 64},
            notes=f"update {i}",
        )
        parent = (version.id,)
        records.append((_keys.version_key(model, version.id), encode_version(version)))
    store.put_if_absent(STORE_MARKER_KEY, encode_marker())
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda kv: store.put(kv[0], kv[1]), records))


def timed_load(server: S3Server, prefix: str, model: str, n: int) -> float:
    """Best of two cold loads (a new store and client each time, as a new process has)."""
    best = float("inf")
    for _ in range(2):
        store = open_s3(server, prefix)
        start = time.perf_counter()
        tracker = ml.Tracker.load(model, storage=store, read_only=True)
        best = min(best, time.perf_counter() - start)
        assert len(tracker) == n, (len(tracker), n)
        store.close()
    return best


def bench_load(server: S3Server, n: int) -> dict[str, float]:
    prefix = f"bench-load-{uuid.uuid4().hex[:8]}"
    store = open_s3(server, prefix)
    start = time.perf_counter()
    populate(store, "bench", n)
    written = time.perf_counter() - start
    loose = timed_load(server, prefix, "bench", n)
    start = time.perf_counter()
    packed = ml.Tracker.load("bench", storage=store).compact()
    compact = time.perf_counter() - start
    assert packed == n
    compacted = timed_load(server, prefix, "bench", n)
    store.close()
    return {"written": written, "loose": loose, "compact": compact, "compacted": compacted}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=200, help="timed log_version calls")
    parser.add_argument("--versions", type=int, default=10_000, help="versions to load")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 logs, 500 versions")
    args = parser.parse_args()
    logs, versions = (20, 500) if args.quick else (args.logs, args.versions)

    with run_seaweedfs() as server:
        log = bench_log(server, logs)
        load = bench_load(server, versions)

    ratio = log["log"] / log["raw"]
    print(f"S3 (SeaweedFS on 127.0.0.1): {logs} logs, {versions} versions loaded")
    print()
    print(f"(a) one version ({log['bytes']} B record), median of {logs}")
    print(f"    {'log_version':<40}{log['log'] * 1e3:8.2f} ms")
    print(f"    {'raw put_object(IfNoneMatch=*)':<40}{log['raw'] * 1e3:8.2f} ms")
    verdict = "ok" if ratio <= 1.3 else "over target"
    print(f"    {'ratio':<40}{ratio:8.2f} x   (target <= 1.3: {verdict})")
    print("    HTTP requests sent:")
    for what, sent in log["sent"].items():
        print(f"      {what:<38}{len(sent):3d}  {', '.join(sent)}")
    print(f"      {'timed log_version calls, per call':<38}{log['steady_requests_per_log']:5.2f}")
    print()
    print(f"(b) Tracker.load of {versions} versions (best of 2 cold loads)")
    print(f"    {'loose (one GET per record)':<40}{load['loose']:8.2f} s")
    verdict = "ok" if load["compacted"] <= 5.0 else "over target"
    label = "after compact() (packs)"
    print(f"    {label:<40}{load['compacted']:8.2f} s   (target <= 5 s: {verdict})")
    print(f"    {'speed-up':<40}{load['loose'] / load['compacted']:8.1f} x")
    print(
        f"    ({versions} records written in {load['written']:.1f} s, compacted in "
        f"{load['compact']:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
