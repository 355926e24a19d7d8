"""Where a version came from (``ModelVersion.origin``) and finding versions by origin."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

import mlineage as ml
from mlineage.records import is_lazy
from tests.test_evidence import log


@pytest.fixture
def tracker(tmp_path: Path) -> ml.Tracker:
    return ml.Tracker("m", storage=str(tmp_path / "store"), capture_environment=False)


def test_a_second_import_finds_what_the_first_imported(tracker: ml.Tracker) -> None:
    runs = {"a1": 0.81, "b2": 0.84, "c3": 0.86}

    def import_runs(into: ml.Tracker) -> tuple[int, int]:
        imported = skipped = 0
        for run_id, accuracy in runs.items():
            if into.find_origin("mlflow", run_id):
                skipped += 1
                continue
            with into.log_version() as v:
                v.model_path = f"runs:/{run_id}/model"
                v.dataset = ml.DataSnapshot(hash="sha256:0")
                v.metrics = {"accuracy": accuracy}
                v.origin = ml.Origin(
                    system="mlflow", id=run_id, uri=f"runs:/{run_id}", extra={"experiment": "7"}
                )
            imported += 1
        return imported, skipped

    assert import_runs(tracker) == (3, 0)
    assert import_runs(ml.Tracker.load("m", storage=tracker.store)) == (0, 3)
    tracker.compact()
    loaded = ml.Tracker.load("m", storage=tracker.store)
    (found,) = loaded.find_origin("mlflow", "b2")
    assert is_lazy(found)  # answered from the pack's index: no record read
    assert found.metrics == {"accuracy": 0.84}
    assert found.origin is not None and found.origin.extra == {"experiment": "7"}
    assert found.origin.imported_at <= datetime.now(timezone.utc)
    assert loaded.find_origin("mlflow", "zz") == [] and loaded.find_origin("hf", "b2") == []
    runs["d4"] = 0.9
    assert import_runs(loaded) == (1, 3)
    assert ml.fsck(tracker.store).ok


def test_origin_from_a_dict_and_several_versions_of_one_source(tracker: ml.Tracker) -> None:
    first = log(tracker, 0, origin={"system": "hf", "id": "acme/fraud-ft", "extra": {"rev": 2}})
    second = log(tracker, 1, origin=ml.Origin(system="hf", id="acme/fraud-ft"))
    assert first.origin is not None and first.origin.extra == {"rev": 2}
    assert tracker.find_origin("hf", "acme/fraud-ft") == [first, second]
    assert "acme/fraud-ft" in first._repr_html_()
    again = ml.Tracker.load("m", storage=tracker.store)
    assert again.find_origin("hf", "acme/fraud-ft") == [first, second]


@pytest.mark.parametrize(
    ("origin", "words"),
    [
        ("mlflow:abc", "must be an ml.Origin"),
        ({"system": "ml flow", "id": "abc"}, "system"),
        ({"system": "mlflow", "id": "a\nb"}, "'id'"),
        ({"system": "mlflow", "id": ""}, "'id'"),
        ({"system": "mlflow"}, "missing required field 'id'"),
        ({"system": "mlflow", "id": "x", "extra": {"a": {"b": 1}}}, r"origin extra\['a'\]"),
        ({"system": "mlflow", "id": "x", "extra": {"a": "y" * 5000}}, "limit is 4,096"),
        ({"system": "mlflow", "id": "x", "colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_a_bad_origin_is_refused_and_nothing_written(
    tracker: ml.Tracker, origin: object, words: str
) -> None:
    log(tracker, 0)
    before = sorted(tracker.store.list())
    with pytest.raises(ml.InvalidInput, match=words):
        log(tracker, 1, origin=origin)
    assert sorted(tracker.store.list()) == before


def test_find_origin_takes_strings(tracker: ml.Tracker) -> None:
    with pytest.raises(ml.InvalidInput, match="two str"):
        tracker.find_origin("mlflow", 42)  # type: ignore[arg-type]


def test_fsck_finds_a_pack_index_whose_origins_disagree(
    tracker: ml.Tracker, tmp_path: Path
) -> None:
    log(tracker, 0, origin={"system": "mlflow", "id": "run-1"})
    log(tracker, 1)
    tracker.compact()
    (pack,) = (tmp_path / "store/models/m/packs").iterdir()
    data = pack.read_bytes()
    assert b'"origins":[[0,"mlflow","run-1"]]' in data
    pack.write_bytes(data.replace(b'[[0,"mlflow","run-1"]]', b'[[1,"mlflow","run-1"]]', 1))
    report = ml.fsck(str(tmp_path / "store"))
    assert {p.kind for p in report.problems} == {"corrupt-record"}
    assert "does not match the pack's index" in str(report)
    pack.write_bytes(data.replace(b'[[0,"mlflow","run-1"]]', b'[[5,"mlflow","run-1"]]', 1))
    with pytest.raises(ml.CorruptRecord, match="damaged pack header"):
        ml.Tracker.load("m", storage=str(tmp_path / "store"))
