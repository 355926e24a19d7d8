"""Alias logs (store format 4): compare-and-set moves, races, older moves, time travel."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from tests.storage.servers import GCSServer, S3Server

DATA = Path(__file__).parent / "data"
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def log(tracker: ml.Tracker, i: int, **fields: Any) -> ml.ModelVersion:
    return tracker.log(
        model_path=f"m{i}.pt",
        dataset=ml.DataSnapshot(hash=f"sha256:{i:064x}"),
        metrics={"accuracy": 0.8 + i / 100},
        timestamp=fields.pop("timestamp", T0 + timedelta(days=i)),
        **fields,
    )


@pytest.fixture
def tracker(tmp_path: Path) -> ml.Tracker:
    return ml.Tracker("m", storage=str(tmp_path / "store"), capture_environment=False)


def log_keys(tracker: ml.Tracker, alias: str = "production") -> list[str]:
    return sorted(tracker.store.list(f"models/m/aliases/{alias}/"))


# -- compare-and-set ------------------------------------------------------------------------


def test_a_move_expecting_the_current_target_goes_ahead(tracker: ml.Tracker) -> None:
    a, b = log(tracker, 0), log(tracker, 1)
    first = tracker.set_alias("production", a, expect=ml.ABSENT)
    assert first.seq == 1 and first.version == a.id
    second = tracker.set_alias("production", b, expect=a)  # a ModelVersion
    third = tracker.set_alias("production", a, expect=b.id, reason="rollback")
    fourth = tracker.set_alias("production", b, expect=third)  # the latest move itself
    fifth = tracker.set_alias("production", None, expect=fourth.id)
    assert [e.seq for e in (second, third, fourth, fifth)] == [2, 3, 4, 5]
    assert third.reason == "rollback" and not third.forced
    assert log_keys(tracker) == [f"models/m/aliases/production/{n:012d}.json" for n in range(1, 6)]
    with pytest.raises(ml.AliasNotFound, match="removed"):
        tracker.resolve("production")
    tracker.set_alias("production", a, expect=ml.ABSENT)  # removed counts as unset


def test_a_move_expecting_another_state_is_refused_and_writes_nothing(
    tracker: ml.Tracker,
) -> None:
    a, b, c = log(tracker, 0, name="va"), log(tracker, 1), log(tracker, 2)
    head = tracker.set_alias("production", a)
    before = sorted(tracker.store.list())
    cases: list[tuple[Any, str]] = [
        (b, f"expected it to point at {b.short_id}"),
        (ml.ABSENT, "expected it to be unset"),
    ]
    tracker.set_alias("staging", c)
    cases.append((tracker.alias_history("staging")[0].id, "not of 'production'"))
    for expect, words in cases[:2]:
        with pytest.raises(ml.AliasConflict, match=words) as info:
            tracker.set_alias("production", c, expect=expect)
        error = info.value
        assert isinstance(error, ValueError)
        assert error.alias == "production" and error.found == head
        assert f"points at {a.short_id} (va)" in str(error) and "nothing was written" in str(error)
    with pytest.raises(ml.InvalidInput, match=cases[2][1]):
        tracker.set_alias("production", c, expect=cases[2][0])
    with pytest.raises(ml.InvalidInput, match="expect= takes"):
        tracker.set_alias("production", c, expect=3)  # type: ignore[arg-type]
    with pytest.raises(ml.VersionNotFound):
        tracker.set_alias("production", c, expect="no-such-version")
    assert sorted(tracker.store.list()) == sorted(before + log_keys(tracker, "staging"))
    assert tracker.resolve("production") == a


def test_a_stale_tracker_reads_the_log_again_before_deciding(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    first = ml.Tracker("m", storage=store, capture_environment=False)
    a, b, c = log(first, 0), log(first, 1), log(first, 2)
    first.set_alias("production", a)
    other = ml.Tracker.load("m", storage=store)
    other.set_alias("production", b)  # `first` has not seen this move
    with pytest.raises(ml.AliasConflict, match="move 2") as info:
        first.set_alias("production", c, expect=a)
    assert info.value.found is not None and info.value.found.version == b.id
    assert first.resolve("production") == b  # what it read while deciding
    # An unconditional move from a stale tracker lands after the moves it had not seen.
    stale = ml.Tracker.load("m", storage=store)
    other.set_alias("production", a)
    assert stale.set_alias("production", c).seq == 4
    # An expected move id that the tracker has not loaded yet is looked up in the log.
    newest = other.set_alias("production", b)
    assert stale.set_alias("production", a, expect=newest.id).seq == 6


def test_forced_moves_need_a_reason_and_cited_evidence_must_exist(tracker: ml.Tracker) -> None:
    a, b = log(tracker, 0), log(tracker, 1)
    with pytest.raises(ml.InvalidInput, match="needs a reason"):
        tracker.set_alias("production", a, forced=True)
    with pytest.raises(ml.InvalidInput, match="not an evidence event"):
        tracker.set_alias("production", a, evidence=a.id)
    annotation = tracker.annotate(a, notes="n")
    with pytest.raises(ml.InvalidInput, match="not an evidence event"):
        tracker.set_alias("production", a, evidence=annotation.id)
    assert log_keys(tracker) == []
    verdict = tracker.attach_evidence(b, "gate", summary={"passed": False, "rule": "accuracy"})
    move = tracker.set_alias(
        "production", b, evidence=verdict, forced=True, reason="hotfix, approved by on-call"
    )
    again = ml.Tracker.load("m", storage=tracker.store).alias_history("production")[-1]
    assert again == move
    assert (again.evidence, again.forced, again.reason) == (verdict.id, True, move.reason)


# -- races ----------------------------------------------------------------------------------


def _race(uri: str, shared: bool, movers: int = 6) -> None:
    """``movers`` threads promote their own candidate, all expecting the same version."""
    setup = ml.Tracker("m", storage=uri, capture_environment=False)
    current = log(setup, 0)
    setup.set_alias("production", current)
    targets = [log(setup, i + 1).id for i in range(movers)]
    one = ml.Tracker.load("m", storage=uri)
    trackers = [one if shared else ml.Tracker.load("m", storage=uri) for _ in range(movers)]
    barrier = threading.Barrier(movers)
    outcomes: list[Any] = [None] * movers

    def move(i: int) -> None:
        barrier.wait(30)
        try:
            outcomes[i] = trackers[i].set_alias("production", targets[i], expect=current)
        except ml.AliasConflict as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=move, args=(i,)) for i in range(movers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    won = [o for o in outcomes if isinstance(o, ml.AliasEvent)]
    refused = [o for o in outcomes if isinstance(o, ml.AliasConflict)]
    assert len(won) == 1 and len(refused) == movers - 1, outcomes
    assert won[0].seq == 2
    assert all(r.found == won[0] for r in refused)
    fresh = ml.Tracker.load("m", storage=uri)
    assert [e.id for e in fresh.alias_history("production")][-1] == won[0].id
    assert fresh.resolve("production").id == won[0].version
    assert ml.fsck(uri, verify_blobs=False).ok


@pytest.mark.parametrize("shared", [False, True], ids=["own-trackers", "one-tracker"])
def test_threads_racing_from_one_state_leave_one_winner(tmp_path: Path, shared: bool) -> None:
    _race(str(tmp_path / "store"), shared)
    _race(f"memory://race-{uuid.uuid4().hex}", shared)


def test_threads_racing_on_s3_leave_one_winner(s3_env: S3Server) -> None:
    _race(s3_env.new_uri(), shared=False)


def test_threads_racing_on_gcs_leave_one_winner(gcs_env: GCSServer) -> None:
    _race(gcs_env.new_uri(), shared=False)


# -- moves of earlier formats, resolution, compaction -----------------------------------------


def test_moves_of_earlier_formats_come_before_the_log(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(DATA / "store-format-3", store)
    tracker = ml.Tracker.load("fraud-detector", storage=str(store))
    (old,) = tracker.alias_history("production")
    assert old.seq is None  # a format-3 move, in events/ (packed)
    assert (
        json.loads((store / "mlineage.json").read_text())["format"] == 3
    )  # reading changes nothing
    # At the very moment of the old move, a new one: the log's entry was recorded later.
    tie = tracker.set_alias("production", "fraud-v1", at=old.effective_at, expect=old)
    assert tie.seq == 1
    assert json.loads((store / "mlineage.json").read_text())["format"] == ml.codec.FORMAT
    again = ml.Tracker.load("fraud-detector", storage=str(store))
    assert [e.id for e in again.alias_history("production")] == [old.id, tie.id]
    assert again.resolve("production").name == "fraud-v1"
    with pytest.raises(ml.AliasConflict):
        again.set_alias("production", "fraud-v2", expect=old)  # the log's entry is the latest now
    assert ml.fsck(str(store)).ok


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.sampled_from([None, 0, 1, 2])),
        min_size=1,
        max_size=12,
    )
)
def test_resolution_follows_effective_time_then_log_order(
    moves: list[tuple[int, int, Any]],
) -> None:
    # Moves from three trackers that never refresh (each unconditional move lands after the
    # ones it had not seen), to one of four versions, effective at one of three past times
    # or now. Every reader resolves each time as the rule says: the last move by
    # (effective_at, log entry number).
    uri = f"memory://resolve-{uuid.uuid4().hex}"
    writer = ml.Tracker("m", storage=uri, capture_environment=False)
    versions = [log(writer, i) for i in range(4)]
    trackers = [ml.Tracker.load("m", storage=uri) for _ in range(3)]
    times = [T0 + timedelta(days=10 * (k + 1)) for k in range(3)]
    for who, target, when in moves:
        at = None if when is None else times[when]
        trackers[who].set_alias("production", versions[target], at=at)
    reader = ml.Tracker.load("m", storage=uri)
    recorded = sorted(reader.alias_history("production"), key=lambda e: e.seq or 0)
    assert [e.seq for e in recorded] == list(range(1, len(moves) + 1))
    for probe in [*times, datetime.now(timezone.utc) + timedelta(seconds=1)]:
        in_force = [e for e in recorded if e.effective_at <= probe]
        expected = (
            max(in_force, key=lambda e: (e.effective_at, e.seq)).version if in_force else None
        )
        try:
            got: str | None = reader.resolve("production", at=probe).id
        except ml.AliasNotFound:
            got = None
        assert got == expected


def test_compaction_never_packs_alias_logs_and_moves_still_compare(tracker: ml.Tracker) -> None:
    a, b = log(tracker, 0), log(tracker, 1)
    move = tracker.set_alias("production", a)
    tracker.compact()
    assert log_keys(tracker) == ["models/m/aliases/production/000000000001.json"]
    loaded = ml.Tracker.load("m", storage=tracker.store)
    assert loaded.set_alias("production", b, expect=move).seq == 2
    with pytest.raises(ml.AliasConflict):
        tracker.set_alias("production", b, expect=move)


# -- damage ----------------------------------------------------------------------------------


def _entry(store: Path, seq: int, alias: str = "production") -> Path:
    return store / "models/m/aliases" / alias / f"{seq:012d}.json"


@pytest.mark.parametrize(
    ("damage", "kind"),
    [
        (lambda store: _entry(store, 2).write_bytes(_entry(store, 1).read_bytes()), "misplaced"),
        (lambda store: _entry(store, 2).write_bytes(b'{"format": 4, "ty'), "corrupt"),
        (
            lambda store: (store / "models/m/aliases/production/2.json").write_text("{}"),
            "misplaced",
        ),
    ],
    ids=["entry-under-another-number", "garbled-entry", "badly-named-entry"],
)
def test_a_damaged_log_entry_is_named_by_load_and_fsck(
    tracker: ml.Tracker, tmp_path: Path, damage: Callable[[Path], Any], kind: str
) -> None:
    a = log(tracker, 0)
    tracker.set_alias("production", a)
    store = tmp_path / "store"
    damage(store)
    with pytest.raises(ml.CorruptRecord, match="aliases/production/") as info:
        ml.Tracker.load("m", storage=str(store))
    assert "mlineage fsck" in str(info.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        skipping = ml.Tracker.load("m", storage=str(store), on_error="skip")
    assert skipping.resolve("production") == a
    assert len(caught) == 1
    report = ml.fsck(str(store))
    assert [p.kind for p in report.problems] == [f"{kind}-record"], str(report)


def test_fsck_reports_a_gap_in_a_log_and_a_move_citing_missing_evidence(
    tracker: ml.Tracker, tmp_path: Path
) -> None:
    a = log(tracker, 0)
    verdict = tracker.attach_evidence(a, "gate", summary={"passed": True})
    for _ in range(3):
        tracker.set_alias("production", a, evidence=verdict)
    store = tmp_path / "store"
    _entry(store, 2).unlink()
    (store / "models/m/events" / f"{verdict.id}.json").unlink()
    report = ml.fsck(str(store))
    problems = {(p.kind, p.key) for p in report.problems}
    assert ("alias-log-gap", "models/m/aliases/production/") in problems
    assert ("dangling-event", "models/m/aliases/production/000000000001.json") in problems
    gap = next(p for p in report.problems if p.kind == "alias-log-gap")
    assert "entries 2:" in gap.message and "compare-and-set" in gap.message
