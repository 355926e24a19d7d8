"""Hostile or damaged stores and careless input: typed errors, never a crash or a hang.

A store can come from anyone (a tarball attached to a ticket, a bucket another team
writes to). Every case here failed on an earlier release with a raw ``RecursionError``,
``OverflowError``, pydantic ``ValidationError`` or a silently wrong result.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import mlineage as ml
from mlineage._ids import new_id
from tests import packfile

MODEL = "hostile"
SRC = Path(__file__).parents[1] / "src"
BOMB = b"[" * 200_000


def snapshot(i: int = 0) -> ml.DataSnapshot:
    return ml.DataSnapshot(path=f"data/{i}", hash=f"sha256:{i:064x}")


def log(tracker: ml.Tracker, i: int = 0, **fields: Any) -> ml.ModelVersion:
    return tracker.log(model_path=f"m{i}.pt", dataset=snapshot(i), metrics={"acc": 0.5}, **fields)


def new_tracker(root: Path) -> ml.Tracker:
    return ml.Tracker(MODEL, storage=str(root), capture_environment=False)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


# -- JSON nesting bombs -------------------------------------------------------------------


def _bomb_loose_version(root: Path, tracker: ml.Tracker) -> str:
    key = f"models/{MODEL}/versions/{new_id()}.json"
    (root / key).write_bytes(b'{"format":2,"type":"version","record":' + BOMB)
    return key


def _bomb_event(root: Path, tracker: ml.Tracker) -> str:
    key = f"models/{MODEL}/events/{new_id()}.json"
    (root / key).parent.mkdir(parents=True, exist_ok=True)
    (root / key).write_bytes(BOMB)
    return key


def _bomb_pack_header(root: Path, tracker: ml.Tracker) -> str:
    tracker.compact()
    (pack,) = (root / "models" / MODEL / "packs").iterdir()
    data = pack.read_bytes()
    newline = data.index(b"\n")
    head = data[:newline]
    bombed = head.replace(b'"names":', b'"names":' + BOMB[:100_000] + b"]" * 100_000 + b",", 1)
    pack.write_bytes(bombed + data[newline:])
    return pack.relative_to(root).as_posix()


def _bomb_format_1_pack(root: Path, tracker: ml.Tracker) -> str:
    key = f"models/{MODEL}/packs/{new_id()}.json"
    (root / key).parent.mkdir(parents=True, exist_ok=True)
    (root / key).write_bytes(b'{"format":1,"type":"pack","versions":' + BOMB)
    return key


@pytest.mark.parametrize(
    "damage", [_bomb_loose_version, _bomb_event, _bomb_pack_header, _bomb_format_1_pack]
)
def test_nesting_bombs_are_corrupt_records_in_load_skip_and_fsck(
    tmp_path: Path, damage: Any
) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    for i in range(3):
        log(tracker, i)
    key = damage(root, tracker)
    with pytest.raises(ml.CorruptRecord, match="fsck"):
        ml.Tracker.load(MODEL, storage=str(root))
    with pytest.warns(RuntimeWarning, match="skipped damaged record"):
        ml.Tracker.load(MODEL, storage=str(root), on_error="skip")
    report = ml.fsck(str(root), verify_blobs=False)
    assert not report.ok
    assert any(p.key == key and p.kind == "corrupt-record" for p in report.problems), report
    result = run_cli("history", MODEL, "--store", str(root), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


def test_nesting_bomb_in_the_marker_and_a_name_claim(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    log(tracker, 0, name="v0")
    claim = root / "models" / MODEL / "names" / "v0.json"
    claim.write_bytes(BOMB)
    report = ml.fsck(str(root), verify_blobs=False)
    assert [p.kind for p in report.problems if p.key.endswith("names/v0.json")] == [
        "corrupt-record"
    ]
    with pytest.raises(ml.NameTaken):  # the claim is still taken, whatever it holds
        log(new_tracker(root), 1, name="v0")
    (root / "mlineage.json").write_bytes(BOMB)
    with pytest.raises(ml.CorruptRecord, match="marker"):
        ml.Tracker.load(MODEL, storage=str(root))
    assert [p.kind for p in ml.fsck(str(root), verify_blobs=False).problems][:1] == ["bad-marker"]


# -- values accepted must load; the rest is refused up front -------------------------------


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def test_deep_hyperparameters_load_or_are_refused_naming_the_path(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    deepest = log(tracker, 0, hyperparameters={"h": _nested(ml_max_depth() - 1)})
    loaded = ml.Tracker.load(MODEL, storage=str(root))
    assert loaded.get_version(deepest.id).hyperparameters == deepest.hyperparameters
    for value in (_nested(ml_max_depth()), _nested(255), _nested(700)):
        with pytest.raises(ml.InvalidHyperparameter, match=r"hyperparameters\['h'\]"):
            log(tracker, 1, hyperparameters={"h": value})
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    looped: list[Any] = []
    looped.append(looped)
    for value in (cyclic, looped):
        with pytest.raises(ml.InvalidHyperparameter, match="deep"):
            log(tracker, 1, hyperparameters={"h": value})
    assert len(ml.Tracker.load(MODEL, storage=str(root))) == 1  # nothing else was written
    assert ml.fsck(str(root), verify_blobs=False).ok


def ml_max_depth() -> int:
    from mlineage._coerce import MAX_DEPTH

    return MAX_DEPTH


def test_huge_integers_and_metrics(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    big = 10**999
    kept = log(tracker, 0, hyperparameters={"seed": big})
    assert ml.Tracker.load(MODEL, storage=str(root)).get_version(kept.id).hyperparameters == {
        "seed": big
    }
    with pytest.raises(ml.InvalidHyperparameter, match="seed"):
        log(tracker, 1, hyperparameters={"seed": 10**5000})
    for metric in (10**400, Fraction(10**400), -(10**400)):
        with pytest.raises(ml.InvalidMetric, match="acc"):
            tracker.log(model_path="m.pt", dataset=snapshot(), metrics={"acc": metric})
    assert ml.fsck(str(root), verify_blobs=False).ok


# -- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_times_that_overflow_in_utc_are_invalid_times(tmp_path: Path, when: str) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    first = log(tracker, 0)
    with pytest.raises(ml.InvalidTime):
        log(tracker, 1, timestamp=when)
    with pytest.raises(ml.InvalidTime):
        tracker.resolve(MODEL, at=when)
    with pytest.raises(ml.InvalidTime):
        tracker.set_alias("production", first, at=when)
    result = run_cli("checkout", MODEL, "--at", when, "--store", str(root), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_backfilled_timestamps_before_1970_or_far_ahead_are_refused(tmp_path: Path) -> None:
    tracker = new_tracker(tmp_path / "store")
    with pytest.raises(ml.InvalidTime, match="1970"):
        log(tracker, 0, timestamp="1969-07-20T20:17:00+00:00")
    with pytest.raises(ml.InvalidTime, match="future"):
        log(tracker, 0, timestamp="2999-01-01")
    assert len(tracker) == 0
    soon = datetime.now(timezone.utc) + timedelta(hours=1)  # within the allowed skew
    log(tracker, 0, timestamp=soon)
    past = log(tracker, 1, timestamp=soon + timedelta(seconds=1))
    assert tracker.latest() == past
    assert ml.Tracker(MODEL, storage=tracker.store).latest() == past


# -- small API defects ---------------------------------------------------------------------


def test_annotate_tags_as_one_string_or_none(tmp_path: Path) -> None:
    tracker = new_tracker(tmp_path / "store")
    version = log(tracker)
    assert tracker.annotate(version, tags="incident").tags == ("incident",)
    assert tracker.annotate(version, notes="looked at", tags=None).tags == ()
    assert tracker.tags(version) == ["incident"]


def test_names_that_shadow_each_other_are_refused(tmp_path: Path) -> None:
    tracker = new_tracker(tmp_path / "store")
    v0 = log(tracker, 0, name="v0")
    with pytest.raises(ml.InvalidInput, match="v0"):
        tracker.set_alias("v0", v0)
    tracker.set_alias("production", v0)
    with pytest.raises(ml.InvalidInput, match="alias"):
        log(tracker, 1, name="production")
    with pytest.raises(ml.InvalidInput, match="model"):
        log(tracker, 1, name=MODEL)
    with pytest.raises(ml.InvalidInput, match="model"):
        tracker.set_alias(MODEL, v0)
    latest = log(tracker, 2, name="v2")
    assert tracker.checkout().version == latest
    assert tracker.checkout(MODEL).version == latest
    assert tracker.resolve("v0") == v0


def test_bad_values_raise_typed_errors(tmp_path: Path) -> None:
    tracker = new_tracker(tmp_path / "store")
    version = log(tracker)
    with pytest.raises(ml.InvalidInput, match="reason"):
        tracker.set_status(version, "deprecated", reason=123)  # type: ignore[arg-type]
    with pytest.raises(ml.InvalidInput, match="hash"):
        ml.DataSnapshot(hash="")
    with pytest.raises(ml.InvalidInput, match="size"):
        ml.DataSnapshot(hash="sha256:1", size=-1)
    with pytest.raises(ml.InvalidInput, match="kind"):
        log(tracker, 1, kind="")
    with pytest.raises(ml.InvalidInput, match="kind"):
        log(tracker, 1, kind="Not A Kind")
    assert len(tracker) == 1


# -- parents that repeat or loop ------------------------------------------------------------


def _rewrite_parents(path: Path, parents: list[str]) -> None:
    doc = json.loads(path.read_bytes())
    doc["record"]["parents"] = parents
    path.write_text(json.dumps(doc))


def test_duplicate_parents_are_refused_at_write_and_load(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    a, b = log(tracker, 0), log(tracker, 1)
    with pytest.raises(ml.InvalidInput, match="repeat"):
        tracker.log_version(parents=[a, a])
    _rewrite_parents(root / "models" / MODEL / "versions" / f"{b.id}.json", [a.id, a.id])
    with pytest.raises(ml.CorruptRecord, match="repeat"):
        ml.Tracker.load(MODEL, storage=str(root))
    report = ml.fsck(str(root), verify_blobs=False)
    assert [(p.kind, p.key.endswith(f"{b.id}.json")) for p in report.problems] == [
        ("corrupt-record", True)
    ]


def test_parent_cycles_are_reported_by_load_and_fsck(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    a, b, c = log(tracker, 0), log(tracker, 1), log(tracker, 2)
    versions = root / "models" / MODEL / "versions"
    _rewrite_parents(versions / f"{b.id}.json", [c.id])  # b <- c <- b
    with pytest.raises(ml.CorruptRecord, match="cycle"):
        ml.Tracker.load(MODEL, storage=str(root))
    kinds = {(p.kind, p.key) for p in ml.fsck(str(root), verify_blobs=False).problems}
    assert ("parent-cycle", f"models/{MODEL}/versions/{b.id}.json") in kinds
    assert ("parent-cycle", f"models/{MODEL}/versions/{c.id}.json") in kinds
    _rewrite_parents(versions / f"{b.id}.json", [b.id])  # its own parent
    with pytest.raises(ml.CorruptRecord):
        ml.Tracker.load(MODEL, storage=str(root))
    assert not ml.fsck(str(root), verify_blobs=False).ok
    del a


def test_a_cyclic_pack_index_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    a, b = log(tracker, 0), log(tracker, 1)
    tracker.compact()
    (pack,) = (root / "models" / MODEL / "packs").iterdir()
    header, records = packfile.read(pack)
    header["index"]["parents"][0] = [b.id]  # a <- b <- a
    records[0]["parents"] = [b.id]
    packfile.write(pack, header, records)
    with pytest.raises(ml.CorruptRecord):
        ml.Tracker.load(MODEL, storage=str(root))
    kinds = [p.kind for p in ml.fsck(str(root), verify_blobs=False).problems]
    assert "parent-cycle" in kinds
    header["index"]["parents"][1] = [a.id, a.id]
    packfile.write(pack, header, records)
    with pytest.raises(ml.CorruptRecord, match="parent twice"):
        ml.Tracker.load(MODEL, storage=str(root))
    header["index"]["parents"][0] = []
    header["index"]["parents"][1] = [b.id]  # its own parent, in the index only
    packfile.write(pack, header, records)
    with pytest.raises(ml.CorruptRecord, match="parent twice or itself"):
        ml.Tracker.load(MODEL, storage=str(root))


# -- records larger than the format allows -------------------------------------------------


def test_an_oversized_loose_record_is_skipped_in_skip_mode_and_refused_at_write(
    tmp_path: Path,
) -> None:
    from mlineage.codec import MAX_RECORD_SIZE

    root = tmp_path / "store"
    tracker = new_tracker(root)
    kept = [log(tracker, i) for i in range(3)]
    huge = root / "models" / MODEL / "versions" / f"{new_id()}.json"
    with open(huge, "wb") as f:  # sparse: no disk is used
        f.truncate(MAX_RECORD_SIZE + 1)
    with pytest.raises(ml.CorruptRecord):
        ml.Tracker.load(MODEL, storage=str(root))
    with pytest.warns(RuntimeWarning, match="skipped damaged record"):
        skipping = ml.Tracker.load(MODEL, storage=str(root), on_error="skip")
    assert [v.id for v in skipping.versions()] == [v.id for v in kept]
    huge.unlink()
    with pytest.raises(ml.InvalidInput, match="bytes; the format allows"):
        log(tracker, 9, notes="x" * (MAX_RECORD_SIZE + 10))
    assert len(ml.Tracker.load(MODEL, storage=str(root))) == 3
