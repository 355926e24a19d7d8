"""The prototype's twenty unit tests, as its users' code calls it (``mlineage.core`` paths).

mlineage grew out of a prototype laid out as ``mlineage/core/{models,graph,tracker}.py``.
These tests are written from that surface and must pass unchanged: the same import paths,
names, defaults and meanings (``record_count``, ``parent_ids``, ``STAGED`` until
``commit()``, ``metric_delta`` returning None, ``LineageGraph.history`` root first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mlineage.core.graph import LineageGraph
from mlineage.core.models import (
    DataSnapshot,
    EnvironmentSnapshot,
    LineageEdge,
    ModelVersion,
    VersionStatus,
)
from mlineage.core.tracker import Tracker

ROOT = Path(__file__).parents[1]


def make_snapshot(tag: str = "a") -> DataSnapshot:
    return DataSnapshot(path="./data/", hash="sha256:" + tag * 64, record_count=1000)


# -- models -----------------------------------------------------------------------------


def test_data_snapshot_creation() -> None:
    snapshot = DataSnapshot(
        path="./data/", hash="sha256:abc", record_count=100, notes="first batch"
    )
    assert snapshot.path == "./data/"
    assert snapshot.hash == "sha256:abc"
    assert snapshot.record_count == 100
    assert snapshot.notes == "first batch"
    assert snapshot.schema_version is None
    assert snapshot.metadata == {}
    assert snapshot.created_at.tzinfo is not None


def test_data_snapshot_str() -> None:
    text = str(make_snapshot())
    assert "DataSnapshot" in text
    assert "./data/" in text


def test_model_version_creation() -> None:
    version = ModelVersion("fraud", "./v1.pt", make_snapshot(), metrics={"acc": 0.9})
    assert version.model_name == "fraud"
    assert version.model_path == "./v1.pt"
    assert version.metrics == {"acc": 0.9}
    assert version.id
    assert version.parent_ids == []
    assert version.status == VersionStatus.STAGED
    assert version.committed_at is None


def test_model_version_keywords() -> None:
    version = ModelVersion(model_name="fraud", model_path="./v1.pt", dataset=make_snapshot())
    assert version.model_name == "fraud"
    assert version.hyperparameters == {}
    assert version.tags == ()
    assert version.environment is None


def test_model_version_commit() -> None:
    version = ModelVersion("fraud", "./v1.pt", make_snapshot())
    version.commit()
    assert version.status == VersionStatus.COMMITTED
    assert version.committed_at is not None
    with pytest.raises(ValueError, match="committed"):
        version.commit()


def test_model_version_is_root() -> None:
    root = ModelVersion("fraud", "./v1.pt", make_snapshot())
    child = ModelVersion("fraud", "./v2.pt", make_snapshot("b"), parent_ids=[root.id])
    assert root.is_root()
    assert not child.is_root()
    assert child.parent_ids == [root.id]


def test_metric_delta() -> None:
    old = ModelVersion("fraud", "./v1.pt", make_snapshot(), metrics={"acc": 0.9})
    new = ModelVersion("fraud", "./v2.pt", make_snapshot(), metrics={"acc": 0.85})
    assert new.metric_delta(old, "acc") == pytest.approx(-0.05)
    assert new.metric_delta(old, "f1") is None


def test_model_version_str() -> None:
    version = ModelVersion("fraud", "./v1.pt", make_snapshot())
    text = str(version)
    assert version.id[:8] in text
    assert "fraud" in text
    assert "staged" in text.lower()


def test_version_status_values() -> None:
    names = {status.name for status in VersionStatus}
    assert {"STAGED", "COMMITTED", "ARCHIVED", "DEPRECATED"} <= names


def test_lineage_edge() -> None:
    edge = LineageEdge("a", "b")
    assert (edge.source_id, edge.target_id) == ("a", "b")
    assert edge.edge_type == "update"
    assert edge.metadata == {}


# -- graph ------------------------------------------------------------------------------


def make_chain(n: int = 3) -> tuple[LineageGraph, list[ModelVersion]]:
    graph = LineageGraph()
    versions: list[ModelVersion] = []
    for i in range(n):
        parents = [versions[-1].id] if versions else []
        version = ModelVersion("fraud", f"./v{i}.pt", make_snapshot(), parent_ids=parents)
        graph.add_version(version)
        versions.append(version)
    return graph, versions


def test_graph_add_and_get() -> None:
    graph, versions = make_chain(1)
    assert len(graph) == 1
    assert graph.get_version(versions[0].id) is versions[0]
    with pytest.raises(ValueError, match="already"):
        graph.add_version(versions[0])
    assert "1 versions" in repr(graph)


def test_graph_roots_and_leaves() -> None:
    graph, versions = make_chain(3)
    assert graph.roots() == [versions[0]]
    assert graph.leaves() == [versions[2]]


def test_graph_ancestors_and_descendants() -> None:
    graph, v = make_chain(4)
    assert graph.ancestors(v[3].id) == [v[2], v[1], v[0]]
    assert graph.ancestors(v[3].id, max_depth=1) == [v[2]]
    assert graph.descendants(v[0].id) == [v[1], v[2], v[3]]
    assert graph.descendants(v[0].id, max_depth=2) == [v[1], v[2]]


def test_graph_history_is_root_first() -> None:
    graph, versions = make_chain(3)
    assert graph.history(versions[2].id) == versions
    assert graph.all_versions() == versions


def test_graph_add_edge() -> None:
    graph, v = make_chain(2)
    other = ModelVersion("fraud", "./other.pt", make_snapshot("c"))
    graph.add_version(other)
    graph.add_edge(LineageEdge(other.id, v[1].id, edge_type="merge"))
    assert other in graph.ancestors(v[1].id)
    with pytest.raises(KeyError):
        graph.add_edge(LineageEdge("missing", v[1].id))


# -- tracker ----------------------------------------------------------------------------


@pytest.fixture
def storage() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield os.path.join(tmp, "lineage")


def log(tracker: Tracker, i: int, acc: float, parent_id: str | None = None) -> ModelVersion:
    with tracker.log_version(parent_id=parent_id) as v:
        v.model_path = f"./model_{i}.pt"
        v.dataset = DataSnapshot(
            path=f"./data/{i}/", hash=f"sha256:{i:064x}", record_count=100 * (i + 1)
        )
        v.metrics = {"accuracy": acc}
    return v.version


def test_tracker_log_version(storage: str) -> None:
    tracker = Tracker("fraud-detector", storage=storage)
    version = log(tracker, 0, 0.9)
    assert tracker.model_name == "fraud-detector"
    assert tracker.storage_path == storage
    assert tracker.latest() == version
    assert version.status == VersionStatus.COMMITTED
    assert version.committed_at is not None
    assert tracker.get_version(version.id) == version


def test_tracker_history(storage: str) -> None:
    tracker = Tracker("fraud-detector", storage=storage)
    versions = [log(tracker, i, 0.9) for i in range(3)]
    assert tracker.history() == versions[::-1]
    assert tracker.history(from_version_id=versions[1].id) == versions[1::-1]
    branch = log(tracker, 3, 0.8, parent_id=versions[0].id)
    assert branch.parent_ids == [versions[0].id]


def test_tracker_blame(storage: str) -> None:
    tracker = Tracker("fraud-detector", storage=storage)
    log(tracker, 0, 0.94)
    bad = log(tracker, 1, 0.89)
    log(tracker, 2, 0.93)
    assert tracker.blame("accuracy", "decrease") == bad


def test_tracker_summary(storage: str) -> None:
    tracker = Tracker("fraud-detector", storage=storage)
    log(tracker, 0, 0.9)
    summary = tracker.summary()
    assert isinstance(summary, str)
    assert "fraud-detector" in summary
    assert repr(summary) == summary  # shows as the table in a REPL


def test_tracker_load(storage: str) -> None:
    tracker = Tracker("fraud-detector", storage=storage)
    versions = [log(tracker, i, 0.9 + i / 100) for i in range(2)]
    loaded = Tracker.load("fraud-detector", storage=storage)
    assert loaded.history() == versions[::-1]
    assert loaded.latest().dataset.record_count == 200
    assert loaded._graph.ancestors(versions[1].id) == [versions[0]]
    assert isinstance(loaded.latest().environment, (EnvironmentSnapshot, type(None)))


# -- the prototype's example script, in a fresh process ---------------------------------------


def test_the_prototypes_example_script_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "prototype" / "example.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("model 'fraud-detector': 3 versions") == 1  # printed once
    assert "\\n" not in out  # the table itself, not an escaped string
    assert "Monthly update with February fraud patterns" in out
    assert "Blamed version:" in out
    assert "dataset: DataSnapshot(path='./data/feb_2024/', hash=sha256:bbbbbbbbbbbb...)" in out
    assert "records: 95000" in out
    assert "Ancestors of the latest version: 2" in out
    reloaded = Tracker.load("fraud-detector", storage=str(tmp_path / "lineage_store"))
    assert [v.dataset.notes for v in reloaded.history()] == [
        "March transactions",
        "February transactions (holiday season fraud spike)",
        "January transactions",
    ]
    assert datetime.now(timezone.utc) >= reloaded.latest().dataset.created_at


# -- prototype-style records round-trip through every store ---------------------------------

READ_BACK = """
import json, sys
import mlineage as ml
tracker = ml.Tracker.load("proto", storage=sys.argv[1])
print(json.dumps([
    {
        "record_count": v.dataset.record_count,
        "num_rows": v.dataset.num_rows,
        "notes": v.dataset.notes,
        "schema_version": v.dataset.schema_version,
        "metadata": v.dataset.metadata,
        "created_at": v.dataset.created_at.isoformat(),
        "committed": v.status.value,
        "committed_at": v.committed_at.isoformat(),
    }
    for v in tracker.history()
]))
"""


@pytest.fixture(params=["local", "s3", "gcs"])
def store_uri(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    if request.param == "local":
        yield str(tmp_path / "store"), {}
        return
    server = request.getfixturevalue(f"{request.param}_server")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in server.env.items():
            patch.setenv(name, value)
        yield server.new_uri(), server.env


def test_prototype_fields_round_trip_through_every_store(
    store_uri: tuple[str, dict[str, str]],
) -> None:
    uri, env = store_uri
    tracker = Tracker("proto", storage=uri)
    logged = []
    for i in range(3):
        snapshot = DataSnapshot(
            path=f"./data/{i}/",
            hash=f"sha256:{i:064x}",
            record_count=1000 + i,
            schema_version=f"v{i}",
            notes=f"batch {i} ✓",
            metadata={"source": "kafka", "partition": i},
        )
        with tracker.log_version() as v:
            v.model_path = f"./m{i}.pt"
            v.dataset = snapshot
        logged.append(v.version)

    def read_back() -> list[dict[str, object]]:
        result = subprocess.run(
            [sys.executable, "-c", READ_BACK, uri],
            capture_output=True,
            text=True,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")},
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows

    expected = [
        {
            "record_count": 1000 + i,
            "num_rows": 1000 + i,
            "notes": f"batch {i} ✓",
            "schema_version": f"v{i}",
            "metadata": {"source": "kafka", "partition": i},
            "created_at": logged[i].dataset.created_at.isoformat(),
            "committed": "committed",
            "committed_at": logged[i].committed_at.isoformat(),
        }
        for i in reversed(range(3))
    ]
    assert read_back() == expected
    assert tracker.compact() == 3
    assert read_back() == expected
