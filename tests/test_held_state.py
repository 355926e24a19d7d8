"""No process-global side channels: what a snapshot must write travels with it, and a
version reads its environment through the store that loaded it."""

from __future__ import annotations

import copy
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

import mlineage as ml
from mlineage import environment as environment_module
from mlineage.content import blob_key_of, read_blob
from mlineage.records import EnvironmentSnapshot, pending_blob


def _directory(root: Path, i: int) -> Path:
    folder = root / f"d{i:03d}"
    folder.mkdir()
    (folder / "rows.csv").write_text(f"x\n{i}\n")
    return folder


def test_hundreds_of_snapshots_made_before_logging_all_log(tmp_path: Path) -> None:
    # 320 directory snapshots (each with a manifest) and 320 profiled arrays, made in four
    # threads before anything is logged, then logged by two trackers on two stores.
    data = tmp_path / "data"
    data.mkdir()
    folders = [_directory(data, i) for i in range(320)]
    made: dict[int, tuple[ml.DataSnapshot, ml.DataSnapshot]] = {}

    def make(indices: range) -> None:
        for i in indices:
            by_path = ml.DataSnapshot.from_path(folders[i], cache=False, progress=False)
            by_array = ml.DataSnapshot.from_array(np.full((4, 2), float(i)), profile=True)
            made[i] = (by_path, by_array)

    threads = [threading.Thread(target=make, args=(range(k, 320, 4),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trackers = [
        ml.Tracker("held", storage=str(tmp_path / f"store{n}"), capture_environment=False)
        for n in range(2)
    ]
    # Removing the directories proves the manifests were held, not recomputed.
    for folder in folders:
        for file in folder.iterdir():
            file.unlink()
    for i in range(320):
        by_path, by_array = made[i]
        for tracker in trackers:
            tracker.log(model_path=f"{i}.pt", dataset=by_path)
            tracker.log(model_path=f"{i}.pt", dataset=by_array)
    for tracker in trackers:
        assert ml.fsck(tracker.store, verify_blobs=True).ok
        for i in (0, 159, 319):
            by_path, by_array = made[i]
            assert by_path.manifest is not None and by_array.profile is not None
            assert read_blob(tracker.store, by_path.manifest) == pending_blob(
                by_path, by_path.manifest
            )
            stored = read_blob(tracker.store, by_array.profile)
            assert blob_key_of(stored) == by_array.profile


def test_a_snapshot_compares_and_pickles_by_its_fields(tmp_path: Path) -> None:
    snapshot = ml.DataSnapshot.from_array(np.ones((3, 2)), profile=True)
    decoded = ml.DataSnapshot.model_validate_json(snapshot.model_dump_json())
    assert decoded == snapshot and hash(decoded) == hash(snapshot)
    assert pending_blob(decoded, snapshot.profile or "") is None
    # A copy sent to another process keeps the bytes it still has to write.
    again = pickle.loads(pickle.dumps(snapshot))
    assert pending_blob(again, snapshot.profile or "") == pending_blob(
        snapshot, snapshot.profile or ""
    )


def _environment(python: str) -> tuple[str, bytes]:
    data = EnvironmentSnapshot(python_version=python).model_dump_json().encode()
    return blob_key_of(data), data


def test_each_version_reads_its_environment_through_its_own_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _environment("3.0-first"), _environment("3.0-second")
    monkeypatch.setattr(environment_module, "environment_blob", lambda: first)
    a = ml.Tracker("env", storage=str(tmp_path / "a"))
    a.log(model_path="a.pt", dataset=ml.DataSnapshot(hash="sha256:" + "a" * 64))
    monkeypatch.setattr(environment_module, "environment_blob", lambda: second)
    b = ml.Tracker("env", storage=str(tmp_path / "b"))
    b.log(model_path="b.pt", dataset=ml.DataSnapshot(hash="sha256:" + "b" * 64))

    loaded_a = ml.Tracker.load("env", storage=str(tmp_path / "a"))
    loaded_b = ml.Tracker.load("env", storage=str(tmp_path / "b"))
    env_a = loaded_a.latest().environment
    env_b = loaded_b.latest().environment
    assert env_a is not None and env_a.python_version == "3.0-first"
    assert env_b is not None and env_b.python_version == "3.0-second"
    assert env_a is loaded_a.environment(loaded_a.latest())  # one object per tracker

    # A store without the blob answers None, although another open tracker's store has
    # it: a version never reads through a store that did not load it.
    (tmp_path / "a" / first[0]).unlink()
    c = ml.Tracker.load("env", storage=str(tmp_path / "a"))
    assert c.latest().environment is None
    assert loaded_a.latest().environment is env_a  # read once, kept by its tracker


def test_a_loaded_version_copies_and_pickles_without_its_store(tmp_path: Path) -> None:
    tracker = ml.Tracker("env", storage=str(tmp_path / "s"))
    tracker.log(model_path="a.pt", dataset=ml.DataSnapshot(hash="sha256:" + "a" * 64))
    version = ml.Tracker.load("env", storage=str(tmp_path / "s")).latest()
    assert version.environment is not None
    assert copy.deepcopy(version).environment == version.environment
    assert copy.copy(version) == version
    unpickled = pickle.loads(pickle.dumps(version))
    assert unpickled == version and unpickled.environment is None
    by_hand = ml.ModelVersion(
        "m", "m.pt", ml.DataSnapshot(hash="sha256:1"), environment=version.environment
    )
    assert by_hand.environment is version.environment
    assert pickle.loads(pickle.dumps(by_hand)).environment == version.environment
