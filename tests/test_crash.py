"""Crash safety: writers SIGKILLed at random moments leave a store that loads and checks clean.

Each trial starts a writer process on a local store and kills it with SIGKILL after a random
delay drawn (from a seeded RNG) uniformly over the time the writer needs for its work,
measured before the trials (and, for a compaction, again on its lane just before it).
Most trials kill a writer that logs named versions with archived checkpoints, attaches
evidence with a payload to each, and promotes each with a compare-and-set move of
``production``, printing each committed id (flushed, by ``os.write`` to a file) after the
move returns; every fifth kills one that compacts a model of loose records into a pack.
After every kill:

- the store loads with ``on_error="raise"``;
- every id the writer printed is there, and at most one more (the version in flight);
  after a killed compaction every record is still there;
- every printed version has its evidence, every evidence payload reads back verified, and
  the alias log holds one whole entry per move, numbered from 1 without a gap, at least one
  per printed version and at most one per version present;
- no key a reader lists is a temporary file or a partial object;
- ``fsck(repair=True, temp_age=0)`` removes exactly the leftover temporary files, and the
  only problem it may report is one ``unclaimed-name``: the name of the version in flight,
  when the writer died between claiming the name and writing the record;
- a new writer can carry on logging into the store.

Half the logging trials force the named-temporary-file write path (the fallback where
``O_TMPFILE`` is unavailable, e.g. macOS), which is the one that leaves temporary files.

Writers are forked from a warm "zygote" process (one per lane, two lanes) that has already
imported mlineage, so a trial costs the work and not an interpreter start. The zygote is
the writer's parent, so the pid it kills cannot have been reused.

``MLINEAGE_CRASH_TRIALS`` (default 100) and ``MLINEAGE_CRASH_SEED`` override the size and
seed; ``benchmarks/crash_trials.py`` runs the same experiment at larger sizes.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

import mlineage as ml
from mlineage.fsck import fsck
from mlineage.storage import LocalStore
from mlineage.storage._local import is_temp_name

REPO = Path(__file__).parents[1]
MODEL = "crash-model"
#: Versions whose logging time, measured once per run, is the window kills are drawn from.
LOG_COUNT = 12
#: Versions a killed writer would log at most: more than the window, so that a slow moment
#: of the machine (a window measured too long) still finds the writer at work.
LOG_LIMIT = 4 * LOG_COUNT
#: Loose records in the store a compacting writer packs.
COMPACT_VERSIONS = 150
CHECKPOINT_BYTES = 64 * 1024
DEFAULT_TRIALS = 100
DEFAULT_SEED = 20240201


# -- the writer side (runs in the zygote and its forked children) -----------------------


def _writer(command: dict[str, Any]) -> None:
    """Log or compact as a user's process would, reporting progress to the output file."""
    out = os.open(command["out"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    tracker = ml.Tracker(MODEL, storage=command["store"], archive=True)
    if command["named_temp"]:
        store = tracker.store
        assert isinstance(store, LocalStore)
        # Private switch: exercise the named-temporary write path of platforms without
        # O_TMPFILE, the one that can leave temporary files behind.
        store._anonymous_temp = False
    if command["action"] == "compact":
        packed = tracker.compact()
        os.write(out, f"packed {packed}\n".encode())
        return
    work = Path(command["work"])
    work.mkdir(parents=True, exist_ok=True)
    previous: ml.ModelVersion | None = None
    for i in range(command["count"]):
        checkpoint = work / f"model_{i}.pt"
        checkpoint.write_bytes(os.urandom(CHECKPOINT_BYTES))
        version = tracker.log(
            model_path=str(checkpoint),
            dataset=ml.DataSnapshot(path=f"data/{i}", hash=f"sha256:{i:064x}"),
            metrics={"accuracy": 0.5 + i / 1000},
            name=f"v{i}",
        )
        tracker.attach_evidence(version, "checks", {"i": i, "rows": [i] * 50}, {"i": i})
        tracker.set_alias("production", version, expect=previous or ml.ABSENT)
        previous = version
        # One write() of a whole line: a kill cannot leave half an id.
        os.write(out, f"{version.id}\n".encode())


def zygote_main() -> None:
    """Fork one writer per command read from stdin; kill it after the command's delay.

    Each command is a JSON line; the reply is a JSON line with the writer's exit code
    (``-9`` when it was killed) and how long it ran. ``delay`` None waits for the writer.
    """
    # Warm everything a writer touches, so that a trial's clock measures the writer's work.
    warm = ml.Tracker(MODEL, storage="memory://zygote-warm-up", archive=True)
    probe = Path(os.environ["MLINEAGE_CACHE_DIR"]) / "warm-up.pt"
    probe.write_bytes(b"warm")
    warm.log(model_path=str(probe), dataset=ml.DataSnapshot(hash="sha256:0"), name="warm")
    for line in sys.stdin:
        command = json.loads(line)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _writer(command)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        delay = command["delay"]
        if delay is not None:
            time.sleep(delay)
            # Still our unreaped child (a zombie at worst), so this pid is the writer's.
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        elapsed = time.monotonic() - start
        reply = {"exit": os.waitstatus_to_exitcode(status), "elapsed": elapsed}
        print(json.dumps(reply), flush=True)


class Zygote:
    """A warm writer-forking process (see :func:`zygote_main`)."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        cache = workdir / "hash-cache"
        cache.mkdir(exist_ok=True)
        self.log_path = workdir / "zygote.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
            "MLINEAGE_CACHE_DIR": str(cache),
            # No BLAS thread pool in a process that forks.
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
        self._log: IO[bytes] = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tests.test_crash import zygote_main; zygote_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=REPO,
            env=env,
        )

    def run(self, command: dict[str, Any]) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote died; its log:\n{self.log_path.read_text()[-3000:]}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


# -- the experiment -----------------------------------------------------------------------


@dataclass
class Summary:
    """What a run of crash trials did and found."""

    trials: int = 0
    killed_logging: int = 0
    killed_compacting: int = 0
    finished: int = 0
    records_verified: int = 0
    temp_files_cleaned: int = 0
    unclaimed_names: int = 0
    problems: list[str] = field(default_factory=list)
    windows: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"trials run            {self.trials}",
            f"killed logging        {self.killed_logging}",
            f"killed compacting     {self.killed_compacting}",
            f"finished before kill  {self.finished}",
            f"records verified      {self.records_verified}",
            f"temp files cleaned    {self.temp_files_cleaned}",
            f"unclaimed names       {self.unclaimed_names} (killed between name claim and record)",
            f"problems found        {len(self.problems)}",
            "kill windows          "
            + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(self.windows.items())),
            f"wall time             {self.seconds:.1f} s",
        ]


def _printed_ids(out: Path) -> list[str]:
    if not out.exists():
        return []
    return [line for line in out.read_text().split("\n") if len(line) == 32]


def _make_compact_template(root: Path) -> list[str]:
    tracker = ml.Tracker(MODEL, storage=str(root), capture_environment=False)
    ids = [
        tracker.log(
            model_path=f"m{i}.pt", dataset=ml.DataSnapshot(hash=f"sha256:{i}"), name=f"v{i}"
        ).id
        for i in range(COMPACT_VERSIONS)
    ]
    tracker.set_alias("production", ids[-1])
    tracker.annotate(ids[0], notes="first")
    return ids


def _verify(
    action: str, root: Path, printed: list[str], template_ids: list[str], summary: Summary
) -> list[str]:
    """Check one store after a kill; return what is wrong (nothing, if all is well)."""
    wrong: list[str] = []
    store = LocalStore(root)
    temp_before = {p.relative_to(root).as_posix() for p in store.temp_files()}
    listed = list(store.list())
    wrong += [
        f"a reader lists temporary file {k}" for k in listed if is_temp_name(k.split("/")[-1])
    ]
    try:
        tracker = ml.Tracker(MODEL, storage=str(root), on_error="raise")
    except ml.MLineageError as exc:
        return [*wrong, f"the store does not load: {exc!r}"]
    present = {v.id for v in tracker.versions()}
    expected = printed if action == "log" else template_ids
    missing = [i for i in expected if i not in present]
    wrong += [
        f"version {i} {'printed' if action == 'log' else 'packed'} but missing" for i in missing
    ]
    if action == "log" and len(present) > len(printed) + 1:
        wrong.append(
            f"{len(present)} versions for {len(printed)} printed ids: more than one in flight"
        )
    if action == "compact" and len(present) != len(template_ids):
        wrong.append(f"{len(present)} versions after compaction, expected {len(template_ids)}")
    if action == "compact" and len(tracker.alias_history("production")) != 1:
        wrong.append("the alias move was lost by compaction")
    if action == "log":
        wrong += _check_moves_and_evidence(tracker, printed, present)
    summary.records_verified += len(expected)

    repaired = fsck(root, repair=True, temp_age=0)
    if set(repaired.removed) != temp_before:
        wrong.append(f"fsck removed {repaired.removed}, the temporary files were {temp_before}")
    summary.temp_files_cleaned += len(repaired.removed)
    # The one problem a killed writer may leave: the claim of the name of the version in
    # flight (it logs v0, v1, ... in order, so that is v<number of versions present>).
    in_flight = f"models/{MODEL}/names/v{len(present)}.json"
    allowed = [p for p in repaired.problems if p.kind == "unclaimed-name" and p.key == in_flight]
    if action == "log":
        summary.unclaimed_names += len(allowed)
    wrong += [str(p) for p in repaired.problems if p not in allowed or action != "log"]
    again = fsck(root)
    if again.problems != allowed or again.checked["temporary files"] != 0:
        wrong.append(f"a second fsck is not clean: {again}")

    # The store stays usable: another writer carries on.
    try:
        tracker.log(model_path="after.pt", dataset=ml.DataSnapshot(hash="sha256:after"))
    except ml.MLineageError as exc:
        wrong.append(f"a new writer cannot log after the crash: {exc!r}")
    return wrong


def _check_moves_and_evidence(
    tracker: ml.Tracker, printed: list[str], present: set[str]
) -> list[str]:
    wrong = []
    try:
        moves = tracker.alias_history("production")
    except ml.AliasNotFound:
        moves = []
    if [m.seq for m in moves] != list(range(1, len(moves) + 1)):
        wrong.append(f"alias log entries {[m.seq for m in moves]} are not 1..n")
    if not len(printed) <= len(moves) <= len(present):
        wrong.append(f"{len(moves)} moves for {len(printed)} printed, {len(present)} present")
    evidence = list(tracker.evidence())
    missing = set(printed) - {e.version for e in evidence}
    wrong += [f"version {i} printed without its evidence" for i in sorted(missing)]
    for event in evidence:
        try:
            tracker.load_evidence(event)
        except ml.MLineageError as exc:
            wrong.append(f"evidence {event.id} does not read back: {exc!r}")
    return wrong


def run_experiment(
    trials: int,
    seed: int,
    workdir: Path,
    *,
    lanes: int = 2,
    compact_every: int = 5,
    progress: Callable[[int, Summary], None] | None = None,
) -> Summary:
    """Run ``trials`` crash trials in ``lanes`` parallel lanes; see the module docstring."""
    started = time.monotonic()
    rng = random.Random(seed)
    summary = Summary()
    template = workdir / "compact-template"
    template_ids = _make_compact_template(template)
    zygotes = [Zygote(workdir / f"lane-{lane}") for lane in range(lanes)]
    try:
        # The kill window of each kind of writer: how long it takes when nobody kills it,
        # the fastest of three runs (a first run with cold caches, or one slowed by other
        # work on the machine, would draw kills after most writers have finished).
        def calibrate(action: str) -> float:
            times = []
            for attempt in range(3):
                root = workdir / f"calibrate-{action}-{attempt}"
                if action == "compact":
                    shutil.copytree(template, root)
                out = workdir / f"calibrate-{action}-{attempt}.txt"
                reply = zygotes[0].run(_command(action, root, out, None, False))
                if reply["exit"] != 0:
                    log = zygotes[0].log_path.read_text()
                    raise RuntimeError(f"calibration writer failed: {log}")
                times.append(float(reply["elapsed"]))
            return min(times)

        summary.windows = {"log": calibrate("log"), "compact": calibrate("compact")}
        plan = queue.Queue[tuple[int, str, float, bool]]()
        for trial in range(trials):
            action = "compact" if trial % compact_every == compact_every - 1 else "log"
            plan.put((trial, action, rng.random(), rng.random() < 0.5))  # when: a fraction
        lock = threading.Lock()
        failures: list[BaseException] = []

        def lane(zygote: Zygote) -> None:
            try:
                while True:
                    try:
                        trial, action, fraction, named_temp = plan.get_nowait()
                    except queue.Empty:
                        return
                    root = workdir / f"trial-{trial}" / "store"
                    root.parent.mkdir()
                    window = summary.windows[action]
                    if action == "compact":
                        # A compaction has no slack to run past its window (a logging writer
                        # may log four times its window's versions), so the machine's speed
                        # is measured again just before: an unkilled compaction on this lane.
                        again = root.parent / "window"
                        shutil.copytree(template, again)
                        reply = zygote.run(_command(action, again, again / "out.txt", None, False))
                        window = min(window, float(reply["elapsed"]))
                        shutil.rmtree(again, ignore_errors=True)
                        shutil.copytree(template, root)
                    delay = fraction * window
                    out = root.parent / "printed.txt"
                    command = _command(action, root, out, delay, named_temp)
                    reply = zygote.run(command)
                    with lock:
                        summary.trials += 1
                        if reply["exit"] == -signal.SIGKILL:
                            if action == "log":
                                summary.killed_logging += 1
                            else:
                                summary.killed_compacting += 1
                        elif reply["exit"] == 0:
                            summary.finished += 1
                        else:
                            summary.problems.append(
                                f"trial {trial}: writer failed with exit code {reply['exit']}; "
                                f"see {zygote.log_path}"
                            )
                        wrong = _verify(action, root, _printed_ids(out), template_ids, summary)
                        summary.problems += [
                            f"trial {trial} ({action}, killed after {delay * 1000:.0f} ms): {w}"
                            for w in wrong
                        ]
                        if not wrong:
                            shutil.rmtree(root.parent, ignore_errors=True)
                        if progress is not None:
                            progress(trial, summary)
            except BaseException as exc:  # reported by the caller
                failures.append(exc)

        threads = [threading.Thread(target=lane, args=(z,)) for z in zygotes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
    finally:
        for zygote in zygotes:
            zygote.close()
    summary.seconds = time.monotonic() - started
    return summary


def _command(
    action: str, root: Path, out: Path, delay: float | None, named_temp: bool
) -> dict[str, Any]:
    return {
        "action": action,
        "store": str(root),
        "work": str(out.with_suffix(".work")),
        "out": str(out),
        "count": LOG_COUNT if delay is None else LOG_LIMIT,
        "delay": delay,
        "named_temp": named_temp,
    }


# -- the test -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the zygote forks writers (POSIX only)")
def test_killed_writers_leave_a_consistent_store(tmp_path: Path) -> None:
    trials = int(os.environ.get("MLINEAGE_CRASH_TRIALS", DEFAULT_TRIALS))
    seed = int(os.environ.get("MLINEAGE_CRASH_SEED", DEFAULT_SEED))
    summary = run_experiment(trials, seed, tmp_path)
    report = "\n".join([f"seed {seed}", *summary.lines(), *summary.problems[:20]])
    print(report)  # shown with pytest -s
    assert summary.problems == [], report
    assert summary.trials == trials, report
    compacting = trials // 5
    # The delays are spread over each writer's own run time, so most kills land mid-work.
    assert summary.killed_logging >= 0.6 * (trials - compacting), report
    assert summary.killed_compacting >= 0.6 * compacting, report
    assert summary.records_verified > 0, report
