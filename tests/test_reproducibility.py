"""Reproducing past versions: snapshots by content, archives, checkout at a time, diff."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import mlineage as ml


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write(tmp_path / "data/jan/a.csv", "id,amount\n1,10\n")
    write(tmp_path / "data/jan/b.csv", "id,amount\n2,20\n")
    write(tmp_path / "data/feb/a.csv", "id,amount\n1,10\n")
    write(tmp_path / "data/feb/b.csv", "id,amount\n2,25\n")
    write(tmp_path / "data/feb/c.csv", "id,amount\n3,30\n")
    write(tmp_path / "ckpt/jan.pt", os.urandom(300_000))
    write(tmp_path / "ckpt/feb.pt", os.urandom(300_000))
    return tmp_path


def log(tracker: ml.Tracker, work: Path, month: str, acc: float, **kw: object) -> ml.ModelVersion:
    with tracker.log_version(**{k: v for k, v in kw.items() if k == "timestamp"}) as v:
        v.model_path = str(work / f"ckpt/{month}.pt")
        v.dataset = ml.DataSnapshot.from_path(work / f"data/{month}")
        v.metrics = {"accuracy": acc}
        v.hyperparameters = {"lr": 0.001 if month == "jan" else 0.003}
        v.name = f"fraud-{month}"
        for key, value in kw.items():
            if key != "timestamp":
                setattr(v, key, value)
    return v.version


def test_snapshots_and_checkpoints_are_hashed(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"))
    jan = log(tracker, work, "jan", 0.9)
    assert jan.dataset.source == "path"
    assert jan.dataset.num_files == 2
    assert jan.dataset.hash == ml.DataSnapshot.from_path(work / "data/jan").hash
    assert jan.model_artifact is not None
    expected = hashlib.sha256((work / "ckpt/jan.pt").read_bytes()).hexdigest()
    assert jan.model_artifact.hash == f"sha256:{expected}"
    assert jan.model_artifact.blob is None  # not archived by default
    assert tracker.store.exists(jan.dataset.manifest or "")
    loaded = ml.Tracker.load("fraud", storage=str(work / "store")).get_version(jan.id)
    assert loaded == jan  # the in-memory manifest bytes do not take part in equality
    assert hash(loaded.dataset) == hash(jan.dataset)


def test_diff_lists_files_hyperparameters_metrics_environment(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"))
    log(tracker, work, "jan", 0.9)
    log(tracker, work, "feb", 0.85, tags=["feb"])
    diff = tracker.diff("fraud-jan", "fraud-feb")
    assert diff.data_files is not None
    assert sorted(diff.data_files.added) == ["c.csv"]
    assert sorted(diff.data_files.changed) == ["b.csv"]
    assert diff.data_files.removed == {}
    assert diff.hyperparameters.changed == {"lr": (0.001, 0.003)}
    assert diff.metrics["accuracy"][2] == pytest.approx(-0.05)
    assert diff.model_changed is True
    assert diff.environment is not None and diff.environment.is_empty
    assert diff.tags_added == ("feb",)
    text = str(diff)
    assert "1 added, 0 removed, 1 changed" in text
    assert "c.csv" in text
    as_json = json.loads(json.dumps(diff.to_dict()))
    assert as_json["dataset"]["files"]["added"] == {"c.csv": diff.data_files.added["c.csv"]}
    # blame's evidence carries the same diff
    report = tracker.blame_report("accuracy")
    assert report.steps[0].changes is not None
    assert report.steps[0].changes.data_files == diff.data_files


def test_environment_is_captured(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"))
    version = log(tracker, work, "jan", 0.9)
    env = tracker.environment(version)
    assert env is not None
    assert version.environment_ref is not None
    assert tracker.store.exists(version.environment_ref)
    second = log(tracker, work, "feb", 0.9)
    assert second.environment_ref == version.environment_ref  # one blob per environment
    assert ml.Tracker.load("fraud", storage=str(work / "store")).environment(second) == env
    assert env.python_version == ".".join(map(str, sys.version_info[:3]))
    assert env.packages.get("pydantic")
    off = ml.Tracker("fraud2", storage=str(work / "store"), capture_environment=False)
    unlogged = log(off, work, "jan", 0.9)
    assert unlogged.environment_ref is None
    assert off.environment(unlogged) is None


def test_archive_round_trip_in_a_new_process(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"), archive=True)
    version = log(tracker, work, "jan", 0.9)
    original = (work / "ckpt/jan.pt").read_bytes()
    assert version.model_artifact is not None and version.model_artifact.blob is not None
    (work / "ckpt/jan.pt").unlink()
    code = (
        "import mlineage as ml, sys; "
        "t = ml.Tracker.load('fraud', storage=sys.argv[1]); "
        "c = t.checkout('fraud-jan', to=sys.argv[2]); print(c)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(work / "store"), str(work / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (work / "out/model/jan.pt").read_bytes() == original
    record = json.loads((work / "out/version.json").read_text())
    assert record["id"] == version.id
    assert json.loads((work / "out/hyperparameters.json").read_text()) == {"lr": 0.001}
    manifest = json.loads((work / "out/dataset-manifest.json").read_text())
    assert [e["path"] for e in manifest] == ["a.csv", "b.csv"]
    requirements = (work / "out/requirements.txt").read_text()
    assert "pydantic==" in requirements
    assert json.loads((work / "out/environment.json").read_text())["python_version"]


def test_same_bytes_are_archived_once(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"), archive=True)
    log(tracker, work, "jan", 0.9)
    log(tracker, work, "jan", 0.91, name="fraud-jan-again")
    blobs = list(tracker.store.list("blobs/"))
    sha = hashlib.sha256((work / "ckpt/jan.pt").read_bytes()).hexdigest()
    assert sum(1 for k in blobs if k.replace("/", "").endswith(sha[2:])) == 1


def test_directory_checkpoint_archive_and_restore(work: Path) -> None:
    write(work / "hf-model/config.json", '{"layers": 2}')
    write(work / "hf-model/weights/part-0.bin", os.urandom(50_000))
    tracker = ml.Tracker("llm", storage=str(work / "store"))
    with tracker.log_version() as v:
        v.model_path = str(work / "hf-model")
        v.dataset = ml.DataSnapshot(hash="sha256:prompts-v1")
        v.archive = True
    artifact = v.version.model_artifact
    assert artifact is not None and artifact.kind == "directory" and artifact.num_files == 2
    checkout = tracker.checkout(v.version.id, to=work / "restored")
    assert (work / "restored/model/hf-model/weights/part-0.bin").read_bytes() == (
        work / "hf-model/weights/part-0.bin"
    ).read_bytes()
    assert checkout.path == work / "restored"


def test_checkout_from_original_path_verifies_the_hash(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"))
    version = log(tracker, work, "jan", 0.9)
    tracker.checkout(version, to=work / "ok")
    assert (work / "ok/model/jan.pt").read_bytes() == (work / "ckpt/jan.pt").read_bytes()
    write(work / "ckpt/jan.pt", b"retrained in place")
    with pytest.raises(ml.CheckoutError) as info:
        tracker.checkout(version, to=work / "bad")
    message = str(info.value)
    assert "jan.pt" in message
    assert version.model_artifact is not None and version.model_artifact.hash in message
    # Not the digest the file has now: a record can name any local file.
    assert hashlib.sha256(b"retrained in place").hexdigest() not in message
    assert "changed since it was logged" in message
    assert not (work / "bad").exists()
    assert [p.name for p in work.iterdir() if p.name.startswith(".bad")] == []


def test_corrupt_archive_is_detected_and_never_materialised(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"), archive=True)
    version = log(tracker, work, "jan", 0.9)
    assert version.model_artifact is not None and version.model_artifact.blob is not None
    blob = work / "store" / version.model_artifact.blob
    blob.write_bytes(b"bit rot")
    with pytest.raises(ml.CheckoutError, match="corrupt") as info:
        tracker.checkout(version, to=work / "out")
    assert version.model_artifact.hash in str(info.value)
    assert not (work / "out").exists()


def test_checkout_target_must_be_empty_unless_overwrite(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"), archive=True)
    version = log(tracker, work, "jan", 0.9)
    write(work / "out/keep.txt", "mine")
    with pytest.raises(ml.CheckoutError, match="not empty"):
        tracker.checkout(version, to=work / "out")
    assert (work / "out/keep.txt").read_text() == "mine"
    (work / "empty").mkdir()
    tracker.checkout(version, to=work / "empty")
    assert (work / "empty/model/jan.pt").exists()
    tracker.checkout(version, to=work / "out", overwrite=True)
    assert not (work / "out/keep.txt").exists()
    assert (work / "out/model/jan.pt").exists()
    with pytest.raises(ml.CheckoutError, match="is a file"):
        tracker.checkout(version, to=work / "ckpt/feb.pt")


def test_unhashed_checkpoint_cannot_be_materialised(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"))
    version = tracker.log(model_path="s3://bucket/not-local.pt", dataset=ml.DataSnapshot(hash="h"))
    assert version.model_artifact is None
    assert tracker.checkout(version).version == version  # metadata checkout works
    with pytest.raises(ml.CheckoutError, match="recorded no checkpoint hash"):
        tracker.checkout(version, to=work / "out")
    with pytest.raises(ml.MissingField, match="cannot be archived"):
        tracker.log(
            model_path=str(work / "missing.pt"), dataset=ml.DataSnapshot(hash="h"), archive=True
        )


def test_time_travel_with_alias_moves_across_months(work: Path) -> None:
    tracker = ml.Tracker("fraud", storage=str(work / "store"), archive=True)
    jan = log(tracker, work, "jan", 0.90, timestamp="2024-01-31T18:00:00Z")
    feb = log(tracker, work, "feb", 0.85, timestamp="2024-02-29T18:00:00Z")
    tracker.set_alias("production", jan, at="2024-02-01T09:00:00Z")
    tracker.set_alias("production", feb, at="2024-03-01T09:00:00Z")
    tracker.set_alias("production", jan, at="2024-03-04T12:00:00Z")  # rollback
    with pytest.raises(ml.AliasNotFound):
        tracker.checkout("production", at="2024-01-15")
    assert tracker.checkout("production", at="2024-02-15").version == jan
    assert tracker.checkout("production", at="2024-03-02").version == feb
    assert (
        tracker.checkout("production", at=datetime(2024, 3, 5, tzinfo=timezone.utc)).version == jan
    )
    assert tracker.checkout(at="2024-02-15").version == jan  # the model: latest then
    assert tracker.checkout("fraud", at="2024-03-01").version == feb
    with pytest.raises(ml.InvalidTime, match="2024-01-31T18:00:00"):
        tracker.checkout(at="2023-12-01")
    with pytest.raises(ml.VersionNotFound, match="staging"):
        tracker.checkout("staging")
    done = tracker.checkout("production", at="2024-03-02", to=work / "march-2")
    assert (work / "march-2/model/feb.pt").read_bytes() == (work / "ckpt/feb.pt").read_bytes()
    assert done.environment_diff is not None and done.environment_diff.is_empty
    assert "fraud-feb" in str(done)


def test_manifest_recomputed_when_the_snapshot_does_not_hold_it(work: Path) -> None:
    def rebuilt(snapshot: ml.DataSnapshot) -> ml.DataSnapshot:
        # The same record, decoded: it holds no manifest bytes (as one read from a store).
        return ml.DataSnapshot.model_validate_json(snapshot.model_dump_json())

    snapshot = rebuilt(ml.DataSnapshot.from_path(work / "data/feb"))
    tracker = ml.Tracker("fraud", storage=str(work / "store"))
    version = tracker.log(model_path=str(work / "ckpt/feb.pt"), dataset=snapshot)
    assert tracker.store.exists(version.dataset.manifest or "")
    changed = rebuilt(ml.DataSnapshot.from_path(work / "data/jan"))
    write(work / "data/jan/new.csv", "x")
    with pytest.raises(ml.MissingField, match="snapshot it again"):
        ml.Tracker("other", storage=str(work / "store2")).log(
            model_path=str(work / "ckpt/jan.pt"), dataset=changed
        )
