"""Data drift on the lineage: profiles on snapshots, drift, drift_along and its cache, blame."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss

import mlineage as ml
from mlineage import content
from mlineage.analysis import DataProfile, drift_between
from mlineage.analysis import _drift_lineage as drift_lineage
from mlineage.errors import InvalidInput, MissingField, ProfileNotFound
from mlineage.fsck import fsck
from mlineage.records import pending_blob
from mlineage.storage import LocalStore

DATA = Path(__file__).parents[1] / "data"
SHIFTED = ["1", "3"]


def _month_data(rng: np.random.Generator, month: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(400, 5))
    if month >= 7:  # from month 7 on the data has moved: two features shift
        x[:, 1] += 1.0
        x[:, 3] = 2.0 * x[:, 3] + 0.5
    return x, (x[:, 0] > 0).astype(np.int64)


def _history(
    storage: str, *, without_profile: tuple[int, ...] = (), months: int = 12
) -> ml.Tracker:
    """A year of monthly updates; month 7's data is shifted and accuracy drops a little."""
    tracker = ml.Tracker("churn", storage=storage, capture_environment=False)
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.002, months)
    for month in range(1, months + 1):
        x, y = _month_data(rng, month)
        profile = month not in without_profile
        tracker.log(
            model_path=f"m{month}.pt",
            dataset=ml.DataSnapshot.from_array(x, y, profile=profile),
            metrics={"accuracy": 0.90 + noise[month - 1] - (0.02 if month >= 7 else 0.0)},
            name=f"month-{month}",
        )
    return tracker


@pytest.fixture
def history(tmp_path: Path) -> ml.Tracker:
    return _history(str(tmp_path / "store"))


# -- profiles on snapshots ------------------------------------------------------------------


def test_profiles_are_stored_as_blobs_and_reload(history: ml.Tracker) -> None:
    version = history.get_version("month-7")
    key = version.dataset.profile
    assert key is not None and content.is_blob_key(key)
    profile = DataProfile.from_bytes(content.read_blob(history.store, key))
    assert profile.columns == ["0", "1", "2", "3", "4"] and profile.label == "label"
    assert json.loads(history.store.get(key))["format"] == 1  # JSON, not a pickle


def test_from_dataframe_from_path_and_with_profile(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": np.arange(20.0), "c": ["a", "b"] * 10, "y": [0, 1] * 10})
    snap = ml.DataSnapshot.from_dataframe(df, profile=True, label="y")
    profile = DataProfile.from_bytes(pending_blob(snap, snap.profile))  # type: ignore[arg-type]
    assert profile.columns == ["x", "c"] and profile.label == "y"
    assert ml.DataSnapshot.from_dataframe(df).profile is None

    folder = tmp_path / "data"
    folder.mkdir()
    df.iloc[:10].to_parquet(folder / "a.parquet")
    df.iloc[10:].to_csv(folder / "b.csv", index=False)
    (folder / "README").write_text("ignored")
    snap = ml.DataSnapshot.from_path(folder, profile=True, label="y")
    from_files = DataProfile.from_bytes(pending_blob(snap, snap.profile))  # type: ignore[arg-type]
    assert from_files.num_rows == 20 and from_files["x"].mean == pytest.approx(9.5)
    assert from_files["c"].categories == {"a": 10, "b": 10}
    with pytest.raises(InvalidInput, match="Parquet"):
        ml.DataSnapshot.from_path(folder / "README", profile=True)

    attached = ml.DataSnapshot(path="s3://bucket/t", hash="sha256:" + "0" * 64).with_profile(
        profile
    )
    assert attached.profile == content.blob_key_of(profile.to_bytes())
    with pytest.raises(InvalidInput, match="DataProfile"):
        attached.with_profile({"not": "a profile"})


def test_a_profile_the_snapshot_does_not_hold_is_refused_at_log_time() -> None:
    tracker = ml.Tracker("m", storage="memory://", capture_environment=False)
    made = ml.DataSnapshot.from_array(np.ones((5, 2)), profile=True)
    snap = ml.DataSnapshot.model_validate_json(made.model_dump_json())  # holds no bytes
    assert snap == made
    with pytest.raises(MissingField, match="does not hold its bytes"):
        tracker.log(model_path="m.pt", dataset=snap)
    assert len(tracker) == 0


# -- drift between two versions -------------------------------------------------------------


def test_drift_names_the_shifted_features_at_month_seven(history: ml.Tracker) -> None:
    report = history.analysis.drift("month-7")  # against its first parent, month 6
    assert sorted(f.name for f in report.drifted) == SHIFTED
    assert report.reference == history.get_version("month-6").id
    assert report.current == history.get_version("month-7").id
    assert history.analysis.drift("month-6", "month-7").drifted == report.drifted
    latest = history.analysis.drift()  # month 12 against month 11
    assert latest.drifted == [] and latest.current == history.latest().id
    assert "drift " in str(report) and report.to_dict()["current"] == report.current
    assert set(report.to_pandas()["name"]) >= set(SHIFTED)
    with pytest.raises(InvalidInput, match="root"):
        history.analysis.drift("month-1")


def test_drift_equals_drift_between_of_the_data(history: ml.Tracker) -> None:
    rng = np.random.default_rng(7)
    rng.normal(0, 0.002, 12)
    data = [_month_data(rng, m) for m in range(1, 13)]
    expected = drift_between(DataProfile.from_array(*data[5]), DataProfile.from_array(*data[6]))
    got = history.analysis.drift("month-6", "month-7")
    assert got.features == expected.features and got.label == expected.label


def test_a_version_without_profile_says_which_and_how(tmp_path: Path) -> None:
    tracker = _history(str(tmp_path / "s"), without_profile=(3,))
    version = tracker.get_version("month-3")
    with pytest.raises(ProfileNotFound) as info:
        tracker.analysis.drift("month-3")
    message = str(info.value)
    assert version.short_id in message and "month-3" in message
    assert "DataSnapshot.from_array(X, y, profile=True)" in message
    along = tracker.analysis.drift_along()
    notes = {s.version.name: s.note for s in along.steps if s.report is None}
    assert set(notes) == {"month-3", "month-4"}
    assert all("no data profile" in n for n in notes.values() if n)
    assert [s.version.name for s in along.anomalous] == ["month-7"]


def test_a_store_written_before_profiles_reports_no_profile(tmp_path: Path) -> None:
    store = tmp_path / "old"
    shutil.copytree(DATA / "store-format-2", store)
    tracker = ml.Tracker.load("fraud-detector", storage=str(store), read_only=True)
    with pytest.raises(ProfileNotFound, match="no data profile"):
        tracker.analysis.drift()
    along = tracker.analysis.drift_along()
    assert along.steps and all(s.report is None for s in along.steps)
    assert "no data profile" in str(along)


# -- drift along a history, and its cache --------------------------------------------------


def _count_computations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = drift_lineage.drift_between

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(drift_lineage, "drift_between", counting)
    return calls


def test_drift_along_flags_month_seven_and_the_second_call_reads_the_cache(
    history: ml.Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_computations(monkeypatch)
    first = history.analysis.drift_along()
    assert len(first.steps) == 11 and len(calls) == 11 and first.cached == 0
    assert [s.version.name for s in first.anomalous] == ["month-7"]
    (step,) = first.anomalous
    assert sorted(f.name for f in step.top()) == SHIFTED and step.z is not None
    entries = list(history.store.list("models/churn/cache/drift/"))
    assert len(entries) == 11

    again = history.analysis.drift_along()
    assert len(calls) == 11 and again.cached == 11  # read, not recomputed
    assert [s.report for s in again.steps] == [s.report for s in first.steps]
    reopened = ml.Tracker.load("churn", storage=history.storage_path)
    assert reopened.analysis.drift_along().cached == 11 and len(calls) == 11
    assert len(list(history.store.list("models/churn/cache/drift/"))) == 11

    table = first.to_pandas()
    assert table["anomalous"].sum() == 1 and "month-7" in str(first)
    assert first.to_dict()["anomalous"] == [step.version.id]


def test_the_cache_keeps_the_store_valid(history: ml.Tracker) -> None:
    history.analysis.drift_along()
    report = fsck(history.storage_path, verify_blobs=True)
    assert report.problems == [], report
    key = next(iter(history.store.list("models/churn/cache/drift/")))
    entry = json.loads(history.store.get(key))
    assert content.is_blob_key(entry["result"])
    assert content.read_blob(history.store, entry["result"])  # hashes to its key


@pytest.mark.parametrize(
    "damage", [b"{garbage", b"[" * 100_000 + b"]" * 100_000], ids=["garbage", "nested"]
)
def test_a_damaged_cache_entry_is_recomputed(
    history: ml.Tracker, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    before = history.analysis.drift_along()
    store = history.store
    assert isinstance(store, LocalStore)
    for key in store.list("models/churn/cache/drift/"):
        store.path_of(key).write_bytes(damage)
    calls = _count_computations(monkeypatch)
    fresh = ml.Tracker.load("churn", storage=history.storage_path)
    after = fresh.analysis.drift_along()
    assert len(calls) == 11 and after.cached == 0
    assert [s.report for s in after.steps] == [s.report for s in before.steps]


def test_a_cache_entry_naming_another_pairs_report_is_not_served(history: ml.Tracker) -> None:
    # Month 7's lookup pointed at month 12's report (nothing drifted): the answer for
    # month 7 must still name the shifted features.
    history.analysis.drift_along()
    store = history.store
    profile = {history.get_version(f"month-{m}").dataset.profile: m for m in (7, 12)}
    entries = {}
    for key in store.list("models/churn/cache/drift/"):
        entry = json.loads(store.get(key))
        if entry["current_profile"] in profile:
            entries[profile[entry["current_profile"]]] = (key, entry)
    key, entry = entries[7]
    store.put(
        key, json.dumps({**entry, "result": entries[12][1]["result"]}).encode(), mode="overwrite"
    )
    fresh = ml.Tracker.load("churn", storage=history.storage_path)
    assert sorted(f.name for f in fresh.analysis.drift("month-7").drifted) == SHIFTED
    step = fresh.analysis.drift_along().steps[5]
    assert step.version.name == "month-7" and sorted(f.name for f in step.top()) == SHIFTED


def test_a_read_only_tracker_computes_without_writing(history: ml.Tracker) -> None:
    reader = ml.Tracker.load("churn", storage=history.storage_path, read_only=True)
    along = reader.analysis.drift_along()
    assert [s.version.name for s in along.anomalous] == ["month-7"]
    assert list(history.store.list("models/churn/cache/")) == []


def test_profiles_survive_compaction_and_a_new_process(history: ml.Tracker) -> None:
    expected = history.analysis.drift("month-7").to_dict()
    history.compact()
    script = (
        "import json, sys, mlineage as ml\n"
        "t = ml.Tracker.load('churn', storage=sys.argv[1], read_only=True)\n"
        "print(json.dumps(t.analysis.drift('month-7').to_dict()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, history.storage_path],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == json.loads(json.dumps(expected))


# -- blame with evidence, and change points --------------------------------------------------


def test_blame_names_month_seven_with_its_drift(history: ml.Tracker) -> None:
    report = history.analysis.blame("accuracy")
    assert report.culprit is not None and report.culprit.name == "month-7"
    top = report.steps[0]
    assert top.drift is not None
    assert sorted(f.name for f in top.drift.top()) == SHIFTED
    assert "data drift: 2 of 5 features drifted" in str(report)
    assert report.to_dict(limit=1)["steps"][0]["drift"]["top"]
    # blame_report (without drift) is unchanged and cannot correlate
    plain = history.blame_report("accuracy")
    assert plain.steps[0].drift is None
    with pytest.raises(InvalidInput, match=r"analysis\.blame"):
        plain.drift_correlation()


def test_drift_correlation_matches_scipy(history: ml.Tracker) -> None:
    report = history.analysis.blame("accuracy")
    corr = report.drift_correlation()
    steps = sorted(report.steps, key=lambda s: s.version.created_at)
    scores = [s.drift.score for s in steps]  # type: ignore[union-attr]
    bad = [s.bad_amount for s in steps]
    assert corr.n == 11 and corr.without_profile == 0
    assert corr.rho == pytest.approx(ss.spearmanr(scores, bad).statistic, abs=1e-12)
    share = report.drift_correlation("drifted_share")
    shares = [s.drift.report.drifted_share for s in steps]  # type: ignore[union-attr]
    assert share.rho == pytest.approx(ss.spearmanr(shares, bad).statistic, abs=1e-12)
    assert "Spearman" in str(corr) and corr.to_dict()["n"] == 11


def test_spearman_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(3, 30))
        x = rng.integers(0, 4, n).astype(float)
        y = rng.normal(size=n)
        got = drift_lineage.spearman(x.tolist(), y.tolist())
        expected = ss.spearmanr(x, y).statistic
        if np.isnan(expected):
            assert got is None
        else:
            assert got == pytest.approx(expected, abs=1e-12)


def test_change_points_name_month_seven(history: ml.Tracker) -> None:
    points = history.analysis.change_points("accuracy")
    assert [v.name for v in points.changed_at] == ["month-7"]


def test_pending_bytes_that_do_not_match_their_key_are_never_written() -> None:
    from mlineage.errors import HashMismatch
    from mlineage.records._base import hold

    tracker = ml.Tracker("m", storage="memory://", capture_environment=False)
    key = content.blob_key_of(b"profile")
    snap = ml.DataSnapshot(hash="sha256:" + "0" * 64, profile=key)
    hold(snap, pending={key: b"something else"})
    with pytest.raises(HashMismatch, match="nothing was written"):
        tracker.log(model_path="m.pt", dataset=snap)
    assert not tracker.store.exists(key) and len(tracker) == 0


def test_drift_along_shows_other_tools_evidence_beside_its_own_verdict(
    history: ml.Tracker,
) -> None:
    """Attached evidence (an Evidently report, a gate verdict) appears on its version's step."""
    month7 = history.get_version("month-7")
    older = history.attach_evidence(month7, "evidently", {"x": 1}, {"drift_share": 0.4})
    newer = history.attach_evidence(month7, "gate", {"y": 2}, {"decision": "refused"})
    history.attach_evidence("month-3", "team-check", None, {"ok": True})
    steps = {s.version.name: s for s in history.analysis.drift_along().steps}
    assert [e.id for e in steps["month-7"].evidence] == [older.id, newer.id]
    assert [e.kind for e in steps["month-3"].evidence] == ["team-check"]
    assert all(not s.evidence for n, s in steps.items() if n not in ("month-3", "month-7"))
    line = steps["month-7"].summary()
    assert line.endswith("; evidence: evidently (drift share 0.4), gate (refused)")
    assert steps["month-7"].anomalous  # mlineage's own verdict is unchanged by the evidence
    as_dict = steps["month-7"].to_dict()["evidence"]
    assert as_dict[0] == {
        "id": older.id,
        "kind": "evidently",
        "tool": None,
        "summary": {"drift_share": 0.4},
    }
    reopened = ml.Tracker.load("churn", storage=history.storage_path)
    again = {s.version.name: s for s in reopened.analysis.drift_along().steps}
    assert [e.id for e in again["month-7"].evidence] == [older.id, newer.id]
