"""Behaviour on the lineage: fingerprints stored with versions, compare, slice blame, shifts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlineage as ml
from mlineage.analysis import ProbeSet, compare_fingerprints
from mlineage.cli import main
from mlineage.content import is_blob_key
from mlineage.errors import FingerprintNotFound, InvalidInput, ReadOnlyError
from mlineage.records import FingerprintEvent

ROOT = Path(__file__).parents[2]


@pytest.fixture
def probe() -> ProbeSet:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 3))
    region = np.where(np.arange(400) < 40, "rare", "common")
    x[region == "rare", 1] += 6.0
    y = (x[:, 0] > 0).astype(int)
    return ProbeSet(x, y, groups=region, name="holdout", group_by="region")


def model(shift: float = 0.0, rare_backwards: bool = False, scale: float = 1.0) -> dict[str, Any]:
    def proba(batch: np.ndarray) -> np.ndarray:
        score = 4.0 * (batch[:, 0] - shift)
        if rare_backwards:
            rare = batch[:, 1] > 3.0
            score[rare] = -score[rare]
        return 1.0 / (1.0 + np.exp(-score))

    def embed(batch: np.ndarray) -> np.ndarray:
        return scale * np.column_stack([batch[:, 0] - shift, batch[:, 1], batch[:, 2] ** 2])

    return {"predict_proba": proba, "embed": embed}


def log(tracker: ml.Tracker, probe: ProbeSet | None, accuracy: float, **kw: Any) -> ml.ModelVersion:
    with tracker.log_version() as v:
        v.model_path = "m.pt"
        v.dataset = ml.DataSnapshot(path="d/", hash="sha256:1")
        v.metrics = {"accuracy": accuracy}
        if probe is not None:
            v.fingerprint = probe.evaluate(**model(**kw))
    return v.version


@pytest.fixture
def tracker(tmp_path: Path) -> ml.Tracker:
    return ml.Tracker("m", storage=tmp_path / "store", capture_environment=False)


def test_fingerprint_in_the_block_stores_blobs_and_summary(
    tracker: ml.Tracker, probe: ProbeSet
) -> None:
    first = log(tracker, probe, 0.9)
    second = log(tracker, probe, 0.91, shift=0.2)
    (ref,) = second.fingerprints
    assert ref.probe == probe.hash and ref.probe_name == "holdout"
    assert is_blob_key(ref.blob) and ref.probe_blob is not None
    assert ref.probe_blob == first.fingerprints[0].probe_blob  # the probe set is stored once
    assert ref.summary["group_by"] == "region" and ref.summary["groups"]["rare"]["n"] == 40
    assert tracker.store.exists(ref.blob) and tracker.store.exists(ref.probe_blob)
    loaded = tracker.analysis.load_fingerprint(second)
    assert loaded.summary() == ref.summary
    assert tracker.analysis.load_probe(probe.hash) == probe
    assert tracker.analysis.load_fingerprint(second) is loaded  # cached


def test_a_list_of_fingerprints_and_bad_values(tracker: ml.Tracker, probe: ProbeSet) -> None:
    other = ProbeSet(probe.X[:50], name="small")
    with tracker.log_version() as v:
        v.model_path, v.dataset = "m.pt", ml.DataSnapshot(path="d/", hash="sha256:1")
        v.fingerprint = [probe.evaluate(**model()), other.evaluate(**model())]
    assert [f.probe_name for f in v.version.fingerprints] == ["holdout", "small"]
    with pytest.raises(FingerprintNotFound, match="2 probe sets"):
        tracker.analysis.load_fingerprint(v.version)
    assert tracker.analysis.load_fingerprint(v.version, "small").n == 50
    for bad in ("nope", [probe.evaluate(**model()), probe.evaluate(**model())]):
        with pytest.raises(InvalidInput, match="nothing was written"), tracker.log_version() as w:
            w.model_path, w.dataset = "m.pt", ml.DataSnapshot(path="d/", hash="sha256:1")
            w.fingerprint = bad
    assert len(tracker) == 1


def test_fingerprint_after_the_fact_is_an_event(tracker: ml.Tracker, probe: ProbeSet) -> None:
    version = log(tracker, None, 0.9)
    assert tracker.analysis.fingerprints(version) == []
    event = tracker.record_fingerprint(version, probe, **model())
    assert isinstance(event, FingerprintEvent) and event.version == version.id
    assert tracker.get_version(version.id).fingerprints == ()  # history is not rewritten
    assert tracker.analysis.fingerprints(version) == [event.fingerprint]
    precomputed = probe.evaluate(**model(shift=0.5))
    precomputed.probe = None  # as if read back: the stored probe set is found and reused
    again = tracker.record_fingerprint(version, probe, fingerprint=precomputed)
    assert again.fingerprint.probe_blob == event.fingerprint.probe_blob
    assert tracker.analysis.load_fingerprint(version).accuracy == precomputed.accuracy
    with pytest.raises(InvalidInput, match="not both"):
        tracker.record_fingerprint(version, probe, fingerprint=precomputed, **model())
    reader = ml.Tracker.load("m", storage=tracker.store, read_only=True)
    with pytest.raises(ReadOnlyError):
        reader.record_fingerprint(version, probe, **model())


def test_analysis_fingerprint_still_records_with_a_deprecation_warning(
    tracker: ml.Tracker, probe: ProbeSet
) -> None:
    version = log(tracker, None, 0.9)
    with pytest.warns(DeprecationWarning, match="tracker.record_fingerprint"):
        event = tracker.analysis.fingerprint(version, probe, **model())
    assert tracker.analysis.fingerprints(version) == [event.fingerprint]


def test_round_trip_in_a_new_process_and_after_compact(
    tracker: ml.Tracker, probe: ProbeSet, tmp_path: Path
) -> None:
    first = log(tracker, probe, 0.9)
    second = log(tracker, None, 0.9)
    tracker.record_fingerprint(second, probe, **model(shift=0.3))
    expected = tracker.analysis.compare(first, second).to_dict()
    assert tracker.compact() > 0
    script = f"""
import json, mlineage as ml
t = ml.Tracker.load("m", storage={str(tmp_path / "store")!r}, read_only=True)
print(json.dumps(t.analysis.compare({first.id!r}, {second.id!r}).to_dict()))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
    )
    assert json.loads(out.stdout) == json.loads(json.dumps(expected))


def test_compare_with_and_without_embeddings_and_probabilities(
    tracker: ml.Tracker, probe: ProbeSet
) -> None:
    a = log(tracker, probe, 0.9)
    b = log(tracker, probe, 0.9, scale=3.0, shift=0.2)
    diff = tracker.analysis.compare(b)  # b against its parent
    direct = compare_fingerprints(
        probe.evaluate(**model()), probe.evaluate(**model(scale=3.0, shift=0.2)), probe
    )
    assert diff.to_dict() == direct.to_dict()
    assert diff.linear_cka is not None and diff.calibration_new is not None
    assert tracker.analysis.compare().to_dict() == diff.to_dict()  # latest vs its parent
    assert tracker.analysis.compare(a, b, probe="holdout").churn == diff.churn
    c = tracker.log(model_path="m.pt", dataset=ml.DataSnapshot(path="d/", hash="sha256:1"))
    tracker.record_fingerprint(c, probe, predict=lambda x: (x[:, 0] > 0).astype(int))
    bare = tracker.analysis.compare(b, c)
    assert bare.linear_cka is None and bare.calibration_new is None
    assert bare.negative_flip_rate is not None  # labels come from the stored probe set
    assert any("embeddings" in note for note in bare.notes)


def test_compare_without_a_shared_probe_names_each_side(
    tracker: ml.Tracker, probe: ProbeSet
) -> None:
    a = log(tracker, probe, 0.9)
    other = ProbeSet(probe.X[:30], name="other")
    with tracker.log_version() as v:
        v.model_path, v.dataset = "m.pt", ml.DataSnapshot(path="d/", hash="sha256:1")
        v.fingerprint = other.evaluate(**model())
    with pytest.raises(FingerprintNotFound, match="share no probe set") as info:
        tracker.analysis.compare(a, v.version)
    assert "'holdout'" in str(info.value) and "'other'" in str(info.value)
    assert isinstance(info.value, KeyError)
    root = tracker.get_version(a.id)
    with pytest.raises(InvalidInput, match="no parent"):
        tracker.analysis.compare(root)


def test_slice_blame_finds_the_update_that_broke_a_rare_group(
    tracker: ml.Tracker, probe: ProbeSet
) -> None:
    log(tracker, probe, 0.90, shift=0.5)
    log(tracker, probe, 0.91, shift=0.4)
    broke = log(tracker, probe, 0.93, shift=0.0, rare_backwards=True)  # overall rises
    log(tracker, probe, 0.925, shift=0.05, rare_backwards=True)
    log(tracker, probe, 0.93, shift=0.0, rare_backwards=True)
    overall = tracker.blame("accuracy")
    assert overall is not None and overall.id != broke.id
    slices = tracker.blame("accuracy", slice_by="region")
    assert slices["rare"] is not None and slices["rare"].version.id == broke.id
    assert slices.culprits["rare"] == broke and slices.worst() == "rare"
    assert slices.overall["rare"] == (0.91, 0.93)
    data = json.loads(json.dumps(slices.to_dict()))
    assert data["groups"][0]["group"] == "rare" and data["groups"][0]["culprit"] == broke.id
    assert "rare (n=40)" in str(slices) and broke.short_id in str(slices)
    assert repr(slices).startswith(
        f"<SliceBlame accuracy by region: worst group rare at {broke.short_id}"
    )
    by_name = tracker.blame("accuracy", slice_by="holdout")  # the probe set's name works
    assert by_name.culprits == slices.culprits
    with pytest.raises(FingerprintNotFound, match="language"):
        tracker.blame("accuracy", slice_by="language")
    with pytest.raises(ml.MetricNotFound, match="f1"):
        tracker.blame("f1", slice_by="region")


def test_churn_between_inside_a_query(tracker: ml.Tracker, probe: ProbeSet) -> None:
    log(tracker, probe, 0.9)
    same = log(tracker, probe, 0.9)
    moved = log(tracker, probe, 0.9, shift=0.6)
    bare = log(tracker, None, 0.9)
    found = tracker.query(lambda v, p: (tracker.analysis.churn_between(v, p) or 0.0) > 0.05)
    assert found == [moved]
    assert tracker.analysis.churn_between(same, None) is None
    assert tracker.analysis.churn_between(bare, moved) is None
    with pytest.raises(InvalidInput):
        ml.analysis.churn_between(same, moved)  # type: ignore[arg-type]


def test_silent_shifts_on_a_synthetic_history(tracker: ml.Tracker, probe: ProbeSet) -> None:
    accuracies = [0.90, 0.905, 0.899, 0.902, 0.904, 0.90, 0.95, 0.901]
    versions = []
    for k, acc in enumerate(accuracies):
        shift = 0.6 if k >= 4 else 0.0  # step 4 moves answers, metric flat
        shift = 0.0 if k == 6 else shift  # step 6 moves answers and the metric
        versions.append(log(tracker, probe, acc, shift=shift))
    result = tracker.analysis.silent_shifts()
    # Steps 6 and 7 move answers too, but the metric with them (0.90 -> 0.95 -> 0.901).
    assert [s.version for s in result.shifts] == [versions[4]]
    assert len(result.steps) == 7 and "churn" in result.shifts[0].moved
    step6 = next(s for s in result.steps if s.version == versions[6])
    assert step6.moved and step6.outside == ("accuracy",) and not step6.silent
    data = json.loads(json.dumps(result.to_dict()))
    assert data["shifts"] == [versions[4].id]
    assert versions[4].short_id in str(result)
    table = result.to_pandas()
    assert table.loc[versions[4].id, "silent"]
    assert tracker.analysis.silent_shifts(threshold=0.9).shifts == []
    with pytest.raises(InvalidInput, match="unknown threshold"):
        tracker.analysis.silent_shifts(threshold={"churnn": 0.1})


def test_silent_shifts_and_slice_blame_on_the_example(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    store = tmp_path / "store"
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "continual_sklearn.py"), str(store)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
    )
    assert "the rare region broke in 2024-04" in out.stdout
    assert "silent shift in 2024-08" in out.stdout
    tracker = ml.Tracker.load("fraud-sklearn", storage=store, read_only=True)
    assert tracker.analysis.silent_shifts().versions[0].name == "2024-08"
    step = tracker.blame("accuracy", slice_by="region")["rare"]
    assert step is not None and step.version.name == "2024-04"


def test_fsck_reports_a_deleted_fingerprint_blob(tracker: ml.Tracker, probe: ProbeSet) -> None:
    version = log(tracker, probe, 0.9)
    later = log(tracker, None, 0.9)
    event = tracker.record_fingerprint(later, probe, **model(shift=0.4))
    assert ml.fsck(tracker.store).ok
    tracker.store.delete(version.fingerprints[0].blob)
    tracker.store.delete(event.fingerprint.blob)
    report = ml.fsck(tracker.store)
    missing = {p.key: p.message for p in report.problems if p.kind == "missing-blob"}
    assert set(missing) == {version.fingerprints[0].blob, event.fingerprint.blob}
    assert "fingerprint blob of models/m/versions/" in missing[version.fingerprints[0].blob]
    assert "events/" in missing[event.fingerprint.blob]
    with pytest.raises(ml.CorruptRecord, match="fsck"):
        ml.Tracker.load("m", storage=tracker.store).analysis.load_fingerprint(version)


def test_cli_compare_blame_slices_and_shifts(
    tracker: ml.Tracker, probe: ProbeSet, capsys: pytest.CaptureFixture[str]
) -> None:
    log(tracker, probe, 0.90, shift=0.4)
    broke = log(tracker, probe, 0.92, rare_backwards=True)
    store = str(tracker.store.uri)
    assert main(["--store", store, "compare", "m", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["groups"][0]["group"] == "rare"
    assert main(["--store", store, "compare", "m", broke.id]) == 0
    assert "Behaviour diff" in capsys.readouterr().out
    assert main(["--store", store, "blame", "m", "accuracy", "--slice-by", "region"]) == 0
    assert broke.short_id in capsys.readouterr().out
    code = main(["--store", store, "blame", "m", "accuracy", "--slice-by", "region", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["worst"] == "rare"
    assert main(["--store", store, "shifts", "m", "--json"]) in (0, 1)
    assert "steps" in json.loads(capsys.readouterr().out)
    assert main(["--store", store, "compare", "m", "--probe", "nope"]) == 2
    assert "no probe set 'nope'" in capsys.readouterr().err
