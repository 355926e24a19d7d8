"""MLflow connector against a real MLflow tracking store (a sqlite file, no server)."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlflow import MlflowClient

import mlineage as ml
from mlineage.cli import main
from mlineage.connectors import mlflow as connector
from mlineage.errors import MissingDependency, SourceNotFound


@dataclass
class Source:
    db: Path
    runs: dict[str, str]  # run name -> run id

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.db}"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """An experiment with plain runs, a nested run, dataset inputs, a failed and a killed
    run, and a registered model whose alias `champion` points at one run."""
    root = tmp_path_factory.mktemp("mlflow")
    db = root / "mlflow.db"
    uri = f"sqlite:///{db}"
    client = MlflowClient(uri)
    exp = client.create_experiment("fraud", artifact_location=str(root / "artifacts"))
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    runs: dict[str, str] = {}
    try:
        with mlflow.start_run(experiment_id=exp, run_name="base") as base:
            mlflow.log_params(
                {"lr": 0.001, "epochs": 3, "shuffle": True, "seed": None, "layers": [64, 32]}
            )
            mlflow.log_param("optimizer", "adam")
            mlflow.log_param("padded", "007")
            for step, acc in enumerate([0.5, 0.6, 0.7]):
                mlflow.log_metric("acc", acc, step=step)
            mlflow.set_tag("team", "fraud")
            mlflow.set_tag("mlflow.note.content", "first model")
            train = mlflow.data.from_numpy(np.arange(12.0).reshape(6, 2), source="/data/train.npy")
            mlflow.log_input(train, context="training")
            frame = pd.DataFrame({"amount": [1.0, 2.0]})
            mlflow.log_input(mlflow.data.from_pandas(frame, name="holdout"), context="eval")
            with mlflow.start_run(experiment_id=exp, run_name="sweep-1", nested=True) as child:
                mlflow.log_param("lr", 0.002)
                mlflow.log_metric("acc", 0.72)
        runs["base"], runs["sweep-1"] = base.info.run_id, child.info.run_id
        with mlflow.start_run(experiment_id=exp, run_name="update") as update:
            mlflow.log_param("lr", 0.0005)
            mlflow.log_metric("acc", 0.8)
        runs["update"] = update.info.run_id
        with pytest.raises(RuntimeError), mlflow.start_run(experiment_id=exp, run_name="crashed"):
            raise RuntimeError("training crashed")
    finally:
        mlflow.set_tracking_uri(previous)
    killed = client.create_run(exp, run_name="killed").info.run_id
    client.set_terminated(killed, "KILLED")
    runs["killed"] = killed
    runs["crashed"] = client.search_runs([exp], "attributes.run_name = 'crashed'")[0].info.run_id
    client.create_registered_model("fraud-clf")
    version = client.create_model_version(
        "fraud-clf", source=f"runs:/{runs['update']}/model", run_id=runs["update"]
    )
    client.set_registered_model_alias("fraud-clf", "champion", version.version)
    return Source(db, runs)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty tracking store; creating one costs seconds (schema migrations), copying not."""
    db = tmp_path_factory.mktemp("mlflow-empty") / "empty.db"
    MlflowClient(f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def target(empty: Path, tmp_path: Path) -> str:
    """A fresh empty tracking store to export into."""
    shutil.copy(empty, tmp_path / "target.db")
    return f"sqlite:///{tmp_path / 'target.db'}"


@pytest.fixture
def copy(source: Source, tmp_path: Path) -> Source:
    """The source experiment in a fresh file, for tests that add runs to it."""
    db = tmp_path / "copy.db"
    shutil.copy(source.db, db)
    return Source(db, dict(source.runs))


def _tracker(tmp_path: Path, name: str = "fraud") -> ml.Tracker:
    return ml.Tracker(name, storage=str(tmp_path / "store"), capture_environment=False)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_runs_become_versions_with_their_params_metrics_data_and_parents(
    source: Source, tmp_path: Path
) -> None:
    tracker = _tracker(tmp_path)
    summary = connector.import_runs(tracker, "fraud", source.uri)
    runs = source.runs
    assert set(summary.added) == {runs["base"], runs["sweep-1"], runs["update"]}
    assert set(summary.failed) == {runs["crashed"], runs["killed"]}
    assert "FAILED" in summary.reasons[runs["crashed"]]
    assert "KILLED" in summary.reasons[runs["killed"]]
    base = tracker.get_version("base")
    assert base.hyperparameters == {
        "lr": 0.001,
        "epochs": 3,
        "shuffle": True,
        "seed": None,
        "layers": [64, 32],
        "optimizer": "adam",
        "padded": "007",
    }
    assert base.metrics == {"acc": 0.7}  # the last value of the history
    assert base.notes == "first model"
    assert "team=fraud" in base.tags
    client = MlflowClient(source.uri)
    run = client.get_run(runs["base"])
    assert base.created_at.timestamp() == pytest.approx(run.info.start_time / 1000)
    assert base.origin is not None and base.origin.system == "mlflow"
    assert base.origin.id == runs["base"] and base.origin.uri == f"runs:/{runs['base']}"
    training = next(d.dataset for d in run.inputs.dataset_inputs if d.dataset.name != "holdout")
    assert base.dataset.hash == f"mlflow-digest:{training.digest}"  # never called a sha256
    assert base.dataset.path == "/data/train.npy"
    assert [d["name"] for d in base.metadata["mlflow"]["datasets"]] == [training.name, "holdout"]
    assert base.model_path == run.info.artifact_uri
    # The nested run hangs from its parent; the next top-level run continues the chain.
    assert tracker.get_version("sweep-1").parents == (base.id,)
    assert tracker.get_version("update").parents == (base.id,)
    assert base.parents == ()
    assert tracker.aliases()["champion"].id == tracker.get_version("update").id
    assert tracker.find_origin("mlflow", runs["update"])[0].name == "update"


def test_a_second_import_adds_only_new_runs(copy: Source, tmp_path: Path) -> None:
    tracker = _tracker(tmp_path)
    first = connector.import_runs(tracker, "fraud", copy.uri)
    again = connector.import_runs(tracker, "fraud", copy.uri)
    assert again.num_added == 0 and set(again.skipped) == set(first.added)
    assert len(tracker) == 3
    client = MlflowClient(copy.uri)
    exp = client.get_experiment_by_name("fraud").experiment_id
    new = client.create_run(exp, run_name="retrain").info.run_id
    client.log_metric(new, "acc", 0.85)
    client.set_terminated(new, "FINISHED")
    third = connector.import_runs(tracker, "fraud", copy.uri, alias_prefix="mlflow-")
    assert third.added == (new,) and third.num_skipped == 3
    assert tracker.get_version("retrain").parents == (tracker.get_version("update").id,)
    assert tracker.aliases()["mlflow-champion"] == tracker.get_version("update")


def test_dry_run_and_a_missing_experiment_write_nothing(source: Source, tmp_path: Path) -> None:
    tracker = _tracker(tmp_path)
    tracker.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"))
    before = _files(tmp_path / "store")
    dry = connector.import_runs(tracker, "fraud", source.uri, dry_run=True)
    assert dry.dry_run and dry.num_added == 3 and dry.versions == {}
    assert dry.aliases == {"champion": source.runs["update"]}
    with pytest.raises(SourceNotFound, match="'no-such-experiment'"):
        connector.import_runs(tracker, "no-such-experiment", source.uri)
    assert _files(tmp_path / "store") == before


def test_metric_history_is_kept_as_evidence(source: Source, tmp_path: Path) -> None:
    tracker = _tracker(tmp_path)
    connector.import_runs(tracker, "fraud", source.uri, metric_history=True)
    base = tracker.get_version("base")
    (event,) = tracker.evidence(kind=connector.HISTORY_KIND, on=base).events
    history = MlflowClient(source.uri).get_metric_history(source.runs["base"], "acc")
    assert tracker.load_evidence(event)["acc"] == [
        {"step": m.step, "timestamp": m.timestamp, "value": m.value} for m in history
    ]


def test_round_trip_mlflow_to_mlineage_to_mlflow(
    source: Source, target: str, tmp_path: Path
) -> None:
    tracker = _tracker(tmp_path)
    connector.import_runs(tracker, "fraud", source.uri)
    out = connector.export(tracker, target, "fraud-copy")
    assert out.num_added == 3
    assert connector.export(tracker, target, "fraud-copy").num_skipped == 3

    def finished(uri: str, name: str) -> dict[str, object]:
        client = MlflowClient(uri)
        exp = client.get_experiment_by_name(name).experiment_id
        runs = [r for r in client.search_runs([exp]) if r.info.status == "FINISHED"]
        names = {r.info.run_id: r.info.run_name for r in runs}
        return {
            r.info.run_name: (
                r.data.params,
                r.data.metrics,
                names.get(r.data.tags.get("mlflow.parentRunId")),
                r.info.start_time,
            )
            for r in runs
        }

    assert finished(target, "fraud-copy") == finished(source.uri, "fraud")
    # Imported back, the exported runs give the same names, values and parentage.
    again = _tracker(tmp_path, "again")
    connector.import_runs(again, "fraud-copy", target)

    def shape(t: ml.Tracker) -> set[tuple[object, ...]]:
        return {
            (
                v.name,
                json.dumps(v.hyperparameters, sort_keys=True),
                tuple(sorted(v.metrics.items())),
                tuple(t.get_version(p).name for p in v.parents),
            )
            for v in t.versions()
        }

    assert shape(again) == shape(tracker)


def test_the_cli_imports_and_exports(
    source: Source, target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    args = ["--store", store, "import", "mlflow", "fraud", "fraud", "--tracking-uri", source.uri]
    assert main([*args, "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num_added"] == 3
    assert not (tmp_path / "store" / "models").exists()
    assert main(args) == 0
    assert "3 added, 0 skipped (already imported), 2 failed" in capsys.readouterr().out
    assert main(["--store", store, "export", "mlflow", "fraud", "--tracking-uri", target]) == 0
    assert "3 added" in capsys.readouterr().out
    assert main([*args[:-3], "no-such-experiment", "--tracking-uri", source.uri]) == 2
    assert "'no-such-experiment' not found" in capsys.readouterr().err


def test_a_missing_mlflow_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependency, match=r"pip install 'mlineage\[mlflow\]'"):
        connector.import_runs(_tracker(tmp_path), "fraud", "sqlite:///x.db")


_values = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@given(_values)
def test_logged_values_come_back_typed(value: object) -> None:
    # MLflow stores str(value); typing it back gives the value (ints, floats, bools, None,
    # lists and dicts of JSON values).
    assert connector.param_value(str(value)) == value
    assert type(connector.param_value(str(value))) is type(value)


@given(st.text())
def test_every_param_string_survives_the_round_trip(text: str) -> None:
    assert connector.param_text(connector.param_value(text)) == text
