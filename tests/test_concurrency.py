"""Many writers at once, on every backend: local directory, S3 (SeaweedFS) and GCS (fake-gcs).

Eight worker processes (``multiprocessing``, "spawn" context, so each is a fresh
interpreter like a training job on another machine) stay up for the whole module and take
commands over a pipe; they get the S3 and GCS servers' settings when they start. Every
racing command starts behind a barrier, so the eight really contend: for the store, for a
version name, for an alias (unconditional and compare-and-set moves), with a compactor.
The servers are started by the session fixtures in ``tests/conftest.py``; nothing is skipped.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

import mlineage as ml
from mlineage.storage import open_store
from tests.storage.servers import GCSServer, S3Server

WORKERS = 8
#: Seconds any worker waits at a barrier before the test is declared stuck.
BARRIER_TIMEOUT = 120.0


@dataclass(frozen=True)
class Backend:
    name: str
    uri: str
    #: Versions each of the eight writers logs in the many-writers test. 250 on a local
    #: disk; fewer on the object stores, where every version is an HTTP PUT answered by a
    #: server sharing this machine's two cores with eight clients (8 x 250 would take
    #: minutes there, and 8 x 50 contends just as hard).
    per_writer: int


# -- the worker process -------------------------------------------------------------------


_stores: dict[str, ml.Store] = {}


def _tracker(command: dict[str, Any]) -> ml.Tracker:
    # One store (one SDK client) per worker and URI, as a long-running job would keep: a
    # new boto3 client costs more CPU than a hundred PUTs.
    store = _stores.get(command["uri"])
    if store is None:
        store = _stores[command["uri"]] = open_store(command["uri"])
    return ml.Tracker(command["model"], storage=store)


def _log(tracker: ml.Tracker, i: int, **fields: Any) -> ml.ModelVersion:
    return tracker.log(
        model_path=f"checkpoints/{i}.pt",
        dataset=ml.DataSnapshot(path=f"data/{i}", hash=f"sha256:{i:064x}"),
        metrics={"accuracy": 0.8 + (i % 100) / 1000},
        **fields,
    )


def _run(command: dict[str, Any], barrier: Barrier, me: int) -> Any:
    action = command["action"]
    if action == "idle":
        barrier.wait(BARRIER_TIMEOUT)
        return None
    if action == "burn":  # contend for the CPU with everyone else
        barrier.wait(BARRIER_TIMEOUT)
        deadline = time.monotonic() + command["seconds"]
        spins = 0
        while time.monotonic() < deadline:
            spins += sum(range(10_000)) > 0
        return spins
    tracker = _tracker(command)
    if action == "log":
        # Half the writers name their parent, half rely on the default (the latest version
        # of their own view, which never refreshes): both must give existing parents.
        previous = tracker.get_version(command["root"])
        barrier.wait(BARRIER_TIMEOUT)
        ids = []
        for i in range(command["count"]):
            previous = _log(tracker, i, parent=previous if me % 2 == 0 else None)
            ids.append(previous.id)
        return ids
    if action == "log_for":
        # Log a chain (half with explicit parents) for a number of seconds.
        previous = tracker.get_version(command["root"])
        barrier.wait(BARRIER_TIMEOUT)
        deadline = time.monotonic() + command["seconds"]
        ids = []
        while time.monotonic() < deadline:
            previous = _log(tracker, len(ids), parent=previous if me % 2 == 0 else None)
            ids.append(previous.id)
        return ids
    if action == "claim":
        barrier.wait(BARRIER_TIMEOUT)
        try:
            return ("won", _log(tracker, me, name=command["name"]).id)
        except ml.NameTaken as exc:
            return ("taken", str(exc))
    if action == "alias":
        at = datetime.fromisoformat(command["at"])
        barrier.wait(BARRIER_TIMEOUT)
        event = tracker.set_alias("production", command["targets"][me], at=at)
        barrier.wait(BARRIER_TIMEOUT)  # every move is written: now read
        tracker.refresh()
        reader = _tracker(command)
        return {
            "event": event.id,
            "seq": event.seq,
            "resolved": [tracker.resolve("production").id, reader.resolve("production").id],
            "history": [
                len(tracker.alias_history("production")),
                len(reader.alias_history("production")),
            ],
        }
    if action == "cas":
        barrier.wait(BARRIER_TIMEOUT)
        try:
            event = tracker.set_alias(
                "production", command["targets"][me], expect=command["expect"]
            )
        except ml.AliasConflict as exc:
            return ("refused", str(exc), None if exc.found is None else exc.found.id)
        return ("won", event.id, event.seq)
    if action == "compact":
        barrier.wait(BARRIER_TIMEOUT)
        return [tracker.compact() for _ in range(command["rounds"])]
    if action == "compact_for":
        barrier.wait(BARRIER_TIMEOUT)
        deadline = time.monotonic() + command["seconds"]
        rounds, errors = 0, []
        while time.monotonic() < deadline:
            try:
                tracker.compact()
                rounds += 1
            except Exception as exc:  # reported with the readers' errors
                errors.append(f"compactor: {type(exc).__name__}: {exc}")
        return rounds, errors
    raise ValueError(f"unknown command {action!r}")


def worker_main(conn: Connection, barrier: Barrier, env: dict[str, str], me: int) -> None:
    """Run commands from ``conn`` until it sends None; reply with results or the error."""
    os.environ.update(env)
    while True:
        command = conn.recv()
        if command is None:
            return
        try:
            conn.send(("ok", _run(command, barrier, me)))
        except BaseException as exc:
            barrier.abort()  # release the others rather than leave them waiting
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class Workers:
    """Eight long-lived spawned worker processes driven in lock step."""

    def __init__(self, env: dict[str, str]) -> None:
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(WORKERS)
        self.conns: list[Connection] = []
        self.processes = []
        for me in range(WORKERS):
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main, args=(child, self.barrier, env, me), daemon=True
            )
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)

    def run(self, commands: list[dict[str, Any]]) -> list[Any]:
        """Send one command to each worker (``{"action": "idle"}`` to sit one out)."""
        assert len(commands) == WORKERS
        self.barrier.reset()
        for conn, command in zip(self.conns, commands, strict=True):
            conn.send(command)
        replies = [conn.recv() for conn in self.conns]
        errors = [f"worker {i}: {r[1]}" for i, r in enumerate(replies) if r[0] == "error"]
        assert not errors, "\n".join(errors)
        return [r[1] for r in replies]

    def close(self) -> None:
        for conn in self.conns:
            conn.send(None)
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workers(s3_server: S3Server, gcs_server: GCSServer) -> Iterator[Workers]:
    """Eight workers for every backend (the two servers' settings do not overlap).

    One pool, not one per backend: an interpreter start (imports, SDK clients, environment
    capture) costs more CPU than a test's writes.
    """
    pool = Workers({**s3_server.env, **gcs_server.env})
    yield pool
    pool.close()


@pytest.fixture(scope="module", params=["local", "s3", "gcs"])
def backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    s3_server: S3Server,
    gcs_server: GCSServer,
) -> Iterator[Backend]:
    if request.param == "local":
        yield Backend("local", str(tmp_path_factory.mktemp("store")), per_writer=250)
        return
    server = s3_server if request.param == "s3" else gcs_server
    with pytest.MonkeyPatch.context() as patch:
        for name, value in server.env.items():
            patch.setenv(name, value)  # for the stores this process opens to check
        yield Backend(request.param, server.new_uri(), per_writer=50)


def fresh_model(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def keys(uri: str) -> set[str]:
    return set(open_store(uri).list())


# -- the tests ----------------------------------------------------------------------------


def test_eight_writers_log_into_one_model(backend: Backend, workers: Workers) -> None:
    model = fresh_model("many")
    root = _log(ml.Tracker(model, storage=backend.uri), 0)
    count = backend.per_writer
    command = {"action": "log", "uri": backend.uri, "model": model, "root": root.id}
    results = workers.run([{**command, "count": count}] * WORKERS)

    tracker = ml.Tracker.load(model, storage=backend.uri)  # on_error="raise"
    logged = [i for ids in results for i in ids]
    assert len(logged) == WORKERS * count
    assert len(set(logged)) == len(logged), "two writers produced the same id"
    assert len(tracker) == 1 + WORKERS * count
    assert {v.id for v in tracker.versions()} == {root.id, *logged}
    version_keys = [k for k in keys(backend.uri) if k.startswith(f"models/{model}/versions/")]
    assert len(version_keys) == 1 + WORKERS * count  # no record written twice
    for ids in results:  # each writer's versions form one chain off the root
        chain = [tracker.get_version(i) for i in ids]
        assert [v.parents for v in chain] == [(root.id,), *[(i,) for i in ids[:-1]]]
    for version in tracker.versions():
        assert all(p in tracker.graph for p in version.parents)
    assert len(tracker.leaves()) == WORKERS
    if backend.name == "local":  # on S3 and GCS, fsck runs in the compaction test below
        report = ml.fsck(backend.uri, verify_blobs=False)
        assert report.ok, str(report)


def test_eight_writers_claim_one_name(backend: Backend, workers: Workers) -> None:
    model = fresh_model("claim")
    _log(ml.Tracker(model, storage=backend.uri), 0)
    before = keys(backend.uri)
    command = {"action": "claim", "uri": backend.uri, "model": model, "name": "champion"}
    results = workers.run([command] * WORKERS)

    winners = [r[1] for r in results if r[0] == "won"]
    assert len(winners) == 1, results
    assert sum(r[0] == "taken" for r in results) == WORKERS - 1
    assert all(winners[0] in r[1] for r in results if r[0] == "taken")  # names the holder
    new = keys(backend.uri) - before
    records = {k for k in new if not k.startswith("blobs/")}  # blobs are content-addressed
    assert records == {
        f"models/{model}/versions/{winners[0]}.json",
        f"models/{model}/names/champion.json",
    }
    tracker = ml.Tracker.load(model, storage=backend.uri)
    assert tracker.get_version("champion").id == winners[0]
    assert len(tracker) == 2
    assert ml.fsck(backend.uri, verify_blobs=False).ok


def test_concurrent_alias_moves_at_one_moment(backend: Backend, workers: Workers) -> None:
    model = fresh_model("alias")
    tracker = ml.Tracker(model, storage=backend.uri)
    targets = [_log(tracker, i).id for i in range(WORKERS)]
    at = datetime.now(timezone.utc).isoformat()
    command = {"action": "alias", "uri": backend.uri, "model": model, "targets": targets, "at": at}
    results = workers.run([command] * WORKERS)

    # Every move got its own entry of the alias log (1..8), retrying after the others; the
    # rule: among moves effective at the same moment, the one recorded last (the greatest
    # entry number) wins.
    assert sorted(r["seq"] for r in results) == list(range(1, WORKERS + 1))
    winner = max(range(WORKERS), key=lambda i: results[i]["seq"])
    expected = targets[winner]
    for result in results:
        assert result["resolved"] == [expected, expected]
        assert result["history"] == [WORKERS, WORKERS]
    fresh = ml.Tracker.load(model, storage=backend.uri)
    assert fresh.resolve("production").id == expected
    history = fresh.alias_history("production")
    assert sorted(e.id for e in history) == sorted(r["event"] for r in results)
    assert {e.version for e in history} == set(targets)
    assert history[-1].id == results[winner]["event"]


def test_compare_and_set_alias_moves_have_one_winner(backend: Backend, workers: Workers) -> None:
    # Eight promotions of eight candidates, all expecting production at the same version:
    # exactly one moves it, the seven others are refused, naming the move that won.
    model = fresh_model("cas")
    tracker = ml.Tracker(model, storage=backend.uri)
    current = _log(tracker, 100)
    tracker.set_alias("production", current)
    targets = [_log(tracker, i).id for i in range(WORKERS)]
    before = keys(backend.uri)
    command = {
        "action": "cas",
        "uri": backend.uri,
        "model": model,
        "targets": targets,
        "expect": current.id,
    }
    results = workers.run([command] * WORKERS)

    winners = [r for r in results if r[0] == "won"]
    assert len(winners) == 1, results
    (_, won_event, won_seq) = winners[0]
    assert won_seq == 2
    refusals = [r for r in results if r[0] == "refused"]
    assert len(refusals) == WORKERS - 1
    for _, message, found in refusals:
        assert found == won_event
        assert "production" in message and current.short_id in message
    assert keys(backend.uri) - before == {f"models/{model}/aliases/production/000000000002.json"}
    fresh = ml.Tracker.load(model, storage=backend.uri)
    winner = next(i for i, r in enumerate(results) if r[0] == "won")
    assert fresh.resolve("production").id == targets[winner]
    assert [e.seq for e in fresh.alias_history("production")] == [1, 2]


def test_compaction_races_with_writers(backend: Backend, workers: Workers) -> None:
    model = fresh_model("compact")
    tracker = ml.Tracker(model, storage=backend.uri)
    seeded = [_log(tracker, i).id for i in range(40)]
    tracker.set_alias("production", seeded[-1])
    per_writer = 40 if backend.name == "local" else 20
    base = {"uri": backend.uri, "model": model}
    compact = {**base, "action": "compact", "rounds": 3}
    log = {**base, "action": "log", "root": seeded[-1], "count": per_writer}
    idle = {"action": "idle"}
    results = workers.run([compact, compact, log, log, idle, idle, idle, idle])

    logged = results[2] + results[3]
    loaded = ml.Tracker.load(model, storage=backend.uri)
    assert {v.id for v in loaded.versions()} == {*seeded, *logged}
    assert loaded.resolve("production").id == seeded[-1]
    assert sum(results[0]) + sum(results[1]) > 0  # the compactors did pack something
    report = ml.fsck(backend.uri, verify_blobs=False)
    assert report.ok, str(report)
    assert loaded.compact() >= 0
    again = ml.Tracker.load(model, storage=backend.uri)
    assert again.versions() == loaded.versions()


def test_readers_see_no_damage_while_eight_writers_and_a_compactor_run(
    backend: Backend, workers: Workers
) -> None:
    # A listing is not a snapshot: while writers add records it can return a child and
    # miss its parent. Readers must take that as "not visible yet", never as corruption.
    model = fresh_model("readers")
    root = _log(ml.Tracker(model, storage=backend.uri), 0)
    count = backend.per_writer
    command = {"action": "log", "uri": backend.uri, "model": model, "root": root.id}
    done = threading.Event()
    errors: list[str] = []
    counts = {"refresh": 0, "load": 0, "compact": 0}

    def read() -> None:
        tracker = ml.Tracker(model, storage=backend.uri, read_only=True)
        while not done.is_set() or counts["load"] == 0:
            try:
                tracker.refresh()
                counts["refresh"] += 1
                ml.Tracker.load(model, storage=backend.uri, read_only=True)
                counts["load"] += 1
            except Exception as exc:  # any error at all is the failure under test
                errors.append(f"{type(exc).__name__}: {exc}")

    def compact() -> None:
        tracker = ml.Tracker(model, storage=backend.uri)
        while not done.is_set() or counts["compact"] == 0:
            try:
                tracker.compact()
                counts["compact"] += 1
            except Exception as exc:
                errors.append(f"compactor: {type(exc).__name__}: {exc}")
            done.wait(0.2)

    threads = [threading.Thread(target=read), threading.Thread(target=compact)]
    for thread in threads:
        thread.start()
    try:
        results = workers.run([{**command, "count": count}] * WORKERS)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    assert counts["refresh"] > 0 and counts["load"] > 0 and counts["compact"] > 0
    loaded = ml.Tracker.load(model, storage=backend.uri)
    assert len(loaded) == 1 + sum(len(ids) for ids in results)
    report = ml.fsck(backend.uri, verify_blobs=False)
    assert report.ok, str(report)


#: Seconds the contended readers test runs its writers, compactor and CPU burners.
CONTENDED_SECONDS = 25.0


@pytest.mark.slow
def test_readers_and_the_cli_see_no_damage_on_a_contended_machine(
    tmp_path: Path, workers: Workers, record_property: Callable[[str, object], None]
) -> None:
    # Issue 16: on a loaded machine a directory listing takes long enough for writers to
    # add whole chains of versions behind it, so a reader saw a child whose ancestors the
    # listing missed, and reported "names parent(s) ... not in the store". Four writers, a
    # compactor looping and two CPU burners (the worker pool), against a reader that
    # refreshes and reloads and `mlineage history` run over and over: not one error.
    uri = str(tmp_path / "store")
    model = fresh_model("contended")
    root = _log(ml.Tracker(model, storage=uri), 0)
    base = {"uri": uri, "model": model, "seconds": CONTENDED_SECONDS}
    log = {**base, "action": "log_for", "root": root.id}
    compact = {**base, "action": "compact_for"}
    burn = {"action": "burn", "seconds": CONTENDED_SECONDS}
    idle = {"action": "idle"}
    done = threading.Event()
    errors: list[str] = []
    counts = {"refresh": 0, "load": 0, "cli": 0}

    def read() -> None:
        tracker = None
        while not done.is_set():
            try:
                if tracker is None or counts["refresh"] % 5 == 4:
                    tracker = ml.Tracker.load(model, storage=uri, read_only=True)
                    counts["load"] += 1
                tracker.refresh()
                counts["refresh"] += 1
            except Exception as exc:  # any error at all is the failure under test
                errors.append(f"reader: {type(exc).__name__}: {exc}")
                tracker = None

    def history() -> None:
        command = [sys.executable, "-m", "mlineage", "history", model, "--store", uri]
        command += ["--limit", "3"]
        while not done.is_set():
            run = subprocess.run(command, capture_output=True, text=True)
            counts["cli"] += 1
            if run.returncode != 0:
                errors.append(f"mlineage history: exit {run.returncode}: {run.stderr.strip()}")

    threads = [threading.Thread(target=read), threading.Thread(target=history)]
    for thread in threads:
        thread.start()
    try:
        results = workers.run([log, log, log, log, compact, burn, burn, idle])
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=120)
    compactions, compactor_errors = results[4]
    errors += compactor_errors
    logged = {i for ids in results[:4] for i in ids}
    for name, value in [*counts.items(), ("compactions", compactions), ("logged", len(logged))]:
        record_property(name, value)  # in --junitxml reports, for runs under other loads
    assert not errors, f"{len(errors)} errors ({counts}, {compactions} compactions): {errors}"
    assert counts["refresh"] >= 50 and counts["load"] >= 10 and counts["cli"] >= 3, counts
    assert compactions >= 5
    loaded = ml.Tracker.load(model, storage=uri)
    assert {v.id for v in loaded.versions()} == {root.id, *logged}
