"""The Tracker: logging, loading, references, aliases, annotations, bad input."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import mlineage as ml
from mlineage.storage import LocalStore

_counter = itertools.count()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def tracker(store_path: Path) -> ml.Tracker:
    return ml.Tracker("fraud-detector", storage=str(store_path))


def log(tracker: ml.Tracker, i: int = 0, **fields: object) -> ml.ModelVersion:
    with tracker.log_version(**{k: v for k, v in fields.items() if k in _LOG_ARGS}) as v:
        v.model_path = f"./checkpoints/model_{i}.pt"
        v.dataset = ml.DataSnapshot(path=f"./data/{i}/", hash=f"sha256:{i:04d}")
        v.metrics = {"accuracy": 0.9, "f1": 0.8}
        for key, value in fields.items():
            if key not in _LOG_ARGS:
                setattr(v, key, value)
    return v.version


_LOG_ARGS = {"parent", "parents", "kind", "timestamp"}


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


# -- logging ----------------------------------------------------------------------------


def test_log_version_commits_a_version_with_everything(tracker: ml.Tracker) -> None:
    with tracker.log_version() as v:
        v.model_path = "./checkpoints/model_20240201.pt"
        v.dataset = ml.DataSnapshot(path="./data/jan_2024/", hash="sha256:abc123")
        v.metrics = {"accuracy": 0.94, "f1": 0.91}
        v.hyperparameters = {"lr": 1e-3}
        v.notes = "Monthly update with January fraud patterns"
        v.tags = ["jan-2024"]
        v.name = "fraud-model-v1"
    version = v.version
    assert version.status == ml.VersionStatus.COMMITTED
    assert version.parents == ()
    assert version.kind == "initial"
    assert version.metrics == {"accuracy": 0.94, "f1": 0.91}
    assert version.hyperparameters == {"lr": 1e-3}
    assert version.dataset.hash == "sha256:abc123"
    assert version.tags == ("jan-2024",)
    assert version.created_at.tzinfo is not None
    assert tracker.get_version("fraud-model-v1") == version
    assert tracker.latest() == version


def test_parent_defaults_to_latest(tracker: ml.Tracker) -> None:
    a = log(tracker, 0)
    b = log(tracker, 1)
    assert b.parents == (a.id,)
    assert b.kind == "update"
    assert [v.id for v in tracker.history()] == [b.id, a.id]


def test_exception_in_block_commits_nothing(tracker: ml.Tracker, store_path: Path) -> None:
    log(tracker, 0)
    before = files_under(store_path)
    with pytest.raises(RuntimeError, match="training diverged"), tracker.log_version() as v:
        v.model_path = "x.pt"
        v.dataset = ml.DataSnapshot(hash="sha256:1")
        raise RuntimeError("training diverged")
    assert files_under(store_path) == before
    assert len(tracker) == 1
    with pytest.raises(ml.MLineageError, match="no version committed"):
        _ = v.version


@pytest.mark.parametrize("missing", ["model_path", "dataset"])
def test_missing_required_field_names_it_and_writes_nothing(
    tracker: ml.Tracker, store_path: Path, missing: str
) -> None:
    with pytest.raises(ml.MissingField, match=missing) as info, tracker.log_version() as v:
        if missing != "model_path":
            v.model_path = "x.pt"
        if missing != "dataset":
            v.dataset = ml.DataSnapshot(hash="sha256:1")
    assert isinstance(info.value, ValueError)
    assert not store_path.exists() or files_under(store_path) == []
    assert len(tracker) == 0


@pytest.mark.parametrize(
    ("metrics", "match"),
    [
        ({"loss": float("nan")}, "'loss' is nan"),
        ({"loss": float("inf")}, "'loss' is inf"),
        ({"acc": "0.9"}, "'acc' must be a real number"),
        ({"acc": True}, "'acc' must be a real number"),
        ({"acc": None}, "'acc' must be a real number"),
        ([0.9], "metrics must be a dict"),
    ],
)
def test_bad_metrics_are_refused_by_name(
    tracker: ml.Tracker, store_path: Path, metrics: object, match: str
) -> None:
    with pytest.raises(ml.InvalidMetric, match=match), tracker.log_version() as v:
        v.model_path = "x.pt"
        v.dataset = ml.DataSnapshot(hash="sha256:1")
        v.metrics = metrics  # type: ignore[assignment]
    assert len(tracker) == 0
    assert not (store_path / "models").exists()


def test_numpy_metrics_and_hyperparameters_are_converted(tracker: ml.Tracker) -> None:
    version = log(
        tracker,
        metrics={"accuracy": np.float32(0.5), "n": np.int64(3), "z": np.array(0.25)},
        hyperparameters={
            "lr": np.float64(1e-3),
            "layers": np.array([64, 32]),
            "flags": (True, False),
            "nested": {"betas": [np.float32(0.9), 0.999]},
        },
    )
    assert version.metrics == {"accuracy": 0.5, "n": 3.0, "z": 0.25}
    assert version.hyperparameters["layers"] == [64, 32]
    assert version.hyperparameters["flags"] == [True, False]
    reloaded = ml.Tracker.load("fraud-detector", storage=tracker.store)
    assert reloaded.get_version(version.id).hyperparameters == version.hyperparameters


@pytest.mark.parametrize(
    ("hyperparameters", "match"),
    [
        ({"fn": print}, r"hyperparameters\['fn'\]"),
        ({"opt": {"betas": [0.9, object()]}}, r"hyperparameters\['opt'\]\['betas'\]\[1\]"),
        ({"wd": float("nan")}, r"hyperparameters\['wd'\] is nan"),
        ({"m": {1: "a"}}, "non-string key"),
        ({"s": np.array(["a", "b"])}, "dtype"),
    ],
)
def test_unstorable_hyperparameters_name_the_key(
    tracker: ml.Tracker, hyperparameters: dict[str, object], match: str
) -> None:
    with pytest.raises(ml.InvalidHyperparameter, match=match):
        log(tracker, hyperparameters=hyperparameters)
    assert len(tracker) == 0


def test_unicode_notes_and_tags_round_trip(tracker: ml.Tracker) -> None:
    version = log(tracker, notes="Betrugsmuster im Jänner — 日本語 ✓", tags=["läuft", "ok"])
    again = ml.Tracker.load("fraud-detector", storage=tracker.store)
    assert again.get_version(version.id).notes == "Betrugsmuster im Jänner — 日本語 ✓"
    assert again.get_version(version.id).tags == ("läuft", "ok")


def test_unknown_field_in_log_version_is_refused(tracker: ml.Tracker) -> None:
    with pytest.raises(ml.InvalidInput, match="unknown field 'modelpath'"):
        tracker.log_version(modelpath="x.pt")


def test_one_call_log(tracker: ml.Tracker) -> None:
    version = tracker.log(
        model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:1"), metrics={"a": 1}
    )
    assert tracker.latest() == version


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["", "../x", "/etc", "a/b", "a\x00b", "x" * 129, ".hidden", "with space", 42]
)
def test_bad_model_names_are_refused(store_path: Path, name: object) -> None:
    with pytest.raises(ml.InvalidName):
        ml.Tracker(name, storage=str(store_path))  # type: ignore[arg-type]
    assert not store_path.exists()


def test_version_name_taken_is_refused_and_nothing_written(
    tracker: ml.Tracker, store_path: Path
) -> None:
    first = log(tracker, 0, name="v1")
    before = files_under(store_path)
    with pytest.raises(ml.NameTaken, match=first.id) as info:
        log(tracker, 1, name="v1")
    assert isinstance(info.value, ValueError)
    assert files_under(store_path) == before
    # another process that does not know the name yet is refused by the store's claim
    other = ml.Tracker("fraud-detector", storage=str(store_path))
    other._index.names.clear()
    with pytest.raises(ml.NameTaken):
        log(other, 2, name="v1")
    assert files_under(store_path) == before


def test_a_name_held_by_a_dead_writer_says_how_to_free_it(
    tracker: ml.Tracker, store_path: Path
) -> None:
    log(tracker, 0, name="v1")
    with pytest.raises(ml.NameTaken) as info:
        log(tracker, 1, name="v1")
    assert "not in the store" not in str(info.value)  # held by a real version
    # A writer killed between claiming "v2" and writing its version left the claim.
    claim = store_path / "models/fraud-detector/names/v2.json"
    claim.write_text(json.dumps({"format": 2, "type": "name", "name": "v2", "version": "f" * 32}))
    before = files_under(store_path)
    with pytest.raises(ml.NameTaken, match="not in the store") as info:
        log(tracker, 2, name="v2")
    assert "mlineage fsck" in str(info.value) and "names/v2.json" in str(info.value)
    assert files_under(store_path) == before
    claim.unlink()  # what the message says frees the name
    assert log(tracker, 3, name="v2").name == "v2"


def test_version_name_that_looks_like_an_id_is_refused(tracker: ml.Tracker) -> None:
    with pytest.raises(ml.InvalidName, match="looks like a version id"):
        log(tracker, name="0" * 32)


# -- references ---------------------------------------------------------------------------


def test_refs_resolve_by_id_prefix_name_alias(tracker: ml.Tracker) -> None:
    a = log(tracker, 0, name="first")
    b = log(tracker, 1)
    tracker.set_alias("production", a)
    assert tracker.get_version(a.id) == a
    assert tracker.get_version("first") == a
    assert tracker.get_version("production") == a
    assert tracker.get_version(b) == b
    unique = tracker.abbrev(b)
    assert len(unique) >= 8
    assert tracker.get_version(unique) == b
    assert tracker.get_version(unique.upper()) == b


def test_ambiguous_prefix_lists_candidates(tracker: ml.Tracker) -> None:
    versions = [log(tracker, i) for i in range(3)]
    common = versions[0].id[:4]
    assert all(v.id.startswith(common) for v in versions)  # same time => same leading digits
    with pytest.raises(ml.AmbiguousReference) as info:
        tracker.get_version(common)
    for version in versions:
        assert tracker.abbrev(version) in str(info.value)


def test_unknown_ref(tracker: ml.Tracker) -> None:
    log(tracker)
    with pytest.raises(ml.VersionNotFound, match="'nope'") as info:
        tracker.get_version("nope")
    assert isinstance(info.value, KeyError)
    with pytest.raises(ml.VersionNotFound, match="at least 4"):
        tracker.get_version("01a")
    with pytest.raises(ml.VersionNotFound):
        tracker.get_version(12)  # type: ignore[arg-type]


def test_parent_that_does_not_exist_is_refused_before_the_block(
    tracker: ml.Tracker, store_path: Path
) -> None:
    log(tracker)
    before = files_under(store_path)
    with pytest.raises(ml.VersionNotFound):
        tracker.log_version(parent="f" * 32)
    assert files_under(store_path) == before


# -- lineage ------------------------------------------------------------------------------


def test_branches_merges_and_traversal(tracker: ml.Tracker) -> None:
    root = log(tracker, 0)
    a1 = log(tracker, 1)
    b1 = log(tracker, 2, parent=root, kind="fine_tune")
    a2 = log(tracker, 3, parent=a1)
    merged = log(tracker, 4, parents=[a2, b1], kind="merge")
    assert merged.parents == (a2.id, b1.id)
    assert [v.id for v in tracker.lineage(merged).ancestors()] == [a2.id, b1.id, a1.id, root.id]
    assert [v.id for v in tracker.lineage(root).descendants()] == [
        a1.id,
        b1.id,
        a2.id,
        merged.id,
    ]
    assert [v.id for v in tracker.lineage(merged).history()] == [merged.id, a2.id, a1.id, root.id]
    assert [v.id for v in tracker.history()] == [merged.id, a2.id, a1.id, root.id]
    assert [v.id for v in tracker.history(b1)] == [b1.id, root.id]
    assert tracker.roots() == [root]
    assert tracker.leaves() == [merged]
    assert [v.id for v in tracker.lineage(root).children()] == [a1.id, b1.id]
    assert tracker.lineage(merged).parents() == [a2, b1]
    assert len(tracker.versions()) == 5
    assert tracker.graph.nx.edges[b1.id, merged.id]["kind"] == "merge"
    assert tracker.graph.nx.edges[a2.id, merged.id]["first_parent"] is True
    path = [v.id for v in tracker.graph.path(root.id, merged.id)]
    assert path[0] == root.id
    assert path[-1] == merged.id


def test_query_over_version_and_parent(tracker: ml.Tracker) -> None:
    log(tracker, 0, metrics={"accuracy": 0.90})
    worse = log(tracker, 1, metrics={"accuracy": 0.85})
    log(tracker, 2, metrics={"accuracy": 0.86})
    found = tracker.query(lambda v, p: p is not None and v.metric_delta(p, "accuracy") < -0.02)
    assert found == [worse]


def test_metric_delta_and_missing_metric(tracker: ml.Tracker) -> None:
    log(tracker, 0, metrics={"accuracy": 0.90})
    log(tracker, 1, metrics={"accuracy": 0.94})
    history = tracker.history()
    assert history[0].metric_delta(history[1], "accuracy") == pytest.approx(0.04)
    # The prototype's contract: None when either side lacks the metric ...
    assert history[0].metric_delta(history[1], "auc") is None
    # ... and metric_change is the strict variant.
    assert history[0].metric_change(history[1], "accuracy") == pytest.approx(0.04)
    with pytest.raises(ml.MetricNotFound, match="has no metric 'auc'") as info:
        history[0].metric_change(history[1], "auc")
    assert isinstance(info.value, KeyError)


# -- persistence --------------------------------------------------------------------------


def test_reload_sees_exactly_what_was_logged(tracker: ml.Tracker, store_path: Path) -> None:
    logged = [log(tracker, i, notes=f"n{i}", name=f"v{i}") for i in range(4)]
    again = ml.Tracker.load("fraud-detector", storage=str(store_path))
    assert again.versions() == logged
    assert again.get_version("v2") == logged[2]


def test_load_of_missing_model_lists_models(tracker: ml.Tracker, store_path: Path) -> None:
    log(tracker)
    ml.Tracker("churn-model", storage=str(store_path)).log(
        model_path="m", dataset=ml.DataSnapshot(hash="h")
    )
    with pytest.raises(ml.ModelNotFound) as info:
        ml.Tracker.load("fraud-detectr", storage=str(store_path))
    assert "'churn-model'" in str(info.value)
    assert "'fraud-detector'" in str(info.value)
    assert ml.list_models(str(store_path)) == ["churn-model", "fraud-detector"]
    with pytest.raises(ml.ModelNotFound, match="none"):
        ml.Tracker.load("x", storage=str(store_path / "empty"))


def test_refresh_picks_up_other_writers(tracker: ml.Tracker, store_path: Path) -> None:
    log(tracker, 0)
    other = ml.Tracker.load("fraud-detector", storage=str(store_path))
    log(other, 1)
    log(other, 2)
    other.set_alias("production", other.latest())
    assert len(tracker) == 1
    assert tracker.refresh() == 2
    assert len(tracker) == 3
    assert tracker.resolve("production") == other.latest()
    assert tracker.refresh() == 0


def test_newer_store_format_is_refused(store_path: Path) -> None:
    store_path.mkdir(parents=True)
    (store_path / "mlineage.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ml.StoreFormatError, match="upgrade mlineage"):
        ml.Tracker("m", storage=str(store_path))


def test_newer_record_format_is_refused(tracker: ml.Tracker, store_path: Path) -> None:
    version = log(tracker)
    key = store_path / "models" / "fraud-detector" / "versions" / f"{version.id}.json"
    doc = json.loads(key.read_text())
    doc["format"] = 7
    key.write_text(json.dumps(doc))
    with pytest.raises(ml.StoreFormatError, match="format 7"):
        ml.Tracker.load("fraud-detector", storage=str(store_path))


@pytest.mark.parametrize(
    "damage", [b"", b"{not json", b'{"format": 1, "type": "version", "record": {"id": 3}}']
)
def test_corrupt_record_is_named_or_skipped(
    tracker: ml.Tracker, store_path: Path, damage: bytes
) -> None:
    good = log(tracker, 0)
    bad = log(tracker, 1)
    key = store_path / "models" / "fraud-detector" / "versions" / f"{bad.id}.json"
    key.write_bytes(damage)
    with pytest.raises(ml.CorruptRecord, match=bad.id) as info:
        ml.Tracker.load("fraud-detector", storage=str(store_path))
    assert "fsck" in str(info.value)
    with pytest.warns(RuntimeWarning, match=bad.id):
        skipped = ml.Tracker.load("fraud-detector", storage=str(store_path), on_error="skip")
    assert skipped.versions() == [good]


def test_read_only_tracker_refuses_writes(tracker: ml.Tracker, store_path: Path) -> None:
    version = log(tracker)
    reader = ml.Tracker.load("fraud-detector", storage=str(store_path), read_only=True)
    before = files_under(store_path)
    with pytest.raises(ml.ReadOnlyError):
        reader.log_version()
    with pytest.raises(ml.ReadOnlyError):
        reader.annotate(version, notes="x")
    with pytest.raises(ml.ReadOnlyError):
        reader.set_alias("production", version)
    assert files_under(store_path) == before
    assert reader.get_version(version.id) == version


def test_log_is_durable_create_only(tracker: ml.Tracker, store_path: Path) -> None:
    version = log(tracker)
    assert isinstance(tracker.store, LocalStore)
    key = f"models/fraud-detector/versions/{version.id}.json"
    with pytest.raises(ml.AlreadyExists):
        tracker.store.put(key, b"{}")
    assert json.loads((store_path / key).read_text())["record"]["id"] == version.id
    assert json.loads((store_path / "mlineage.json").read_text())["format"] == ml.codec.FORMAT


def test_memory_store_shares_within_process() -> None:
    uri = f"memory://tracker-test-{next(_counter)}"
    tracker = ml.Tracker("m", storage=uri)
    version = log(tracker)
    assert ml.Tracker.load("m", storage=uri).latest() == version


def test_default_store_from_env_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLINEAGE_STORE", raising=False)
    log(ml.Tracker("m"))
    assert (tmp_path / ".mlineage" / "mlineage.json").exists()
    monkeypatch.setenv("MLINEAGE_STORE", str(tmp_path / "elsewhere"))
    log(ml.Tracker("m"))
    assert (tmp_path / "elsewhere" / "mlineage.json").exists()


# -- events -------------------------------------------------------------------------------


def test_annotations_keep_the_version_unchanged(tracker: ml.Tracker) -> None:
    version = log(tracker, tags=["a"])
    tracker.annotate(version, notes="caused by a broken feature pipeline", tags=["incident-42"])
    again = ml.Tracker.load("fraud-detector", storage=tracker.store)
    assert again.get_version(version.id) == version
    notes = [e.notes for e in again.annotations(version)]
    assert notes == ["caused by a broken feature pipeline"]
    assert again.tags(version) == ["a", "incident-42"]
    with pytest.raises(ml.InvalidInput):
        tracker.annotate(version)


def test_status_changes_are_events(tracker: ml.Tracker) -> None:
    version = log(tracker)
    assert tracker.status(version) == ml.VersionStatus.COMMITTED
    tracker.set_status(version, "deprecated", reason="superseded")
    again = ml.Tracker.load("fraud-detector", storage=tracker.store)
    assert again.status(version) == ml.VersionStatus.DEPRECATED
    assert again.get_version(version.id).status == ml.VersionStatus.COMMITTED
    with pytest.raises(ml.InvalidInput, match="unknown status"):
        tracker.set_status(version, "exploded")


def test_alias_time_travel(tracker: ml.Tracker) -> None:
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    jan = log(tracker, 0, timestamp=t0)
    feb = log(tracker, 1, timestamp=t0 + timedelta(days=31))
    mar = log(tracker, 2, timestamp=t0 + timedelta(days=60))
    tracker.set_alias("production", jan, at="2024-01-02T00:00:00")
    tracker.set_alias("production", feb, at=datetime(2024, 2, 3, 12, 0))
    tracker.set_alias("production", mar, at=date(2024, 3, 5))
    assert tracker.resolve("production", at="2024-01-15") == jan
    assert tracker.resolve("production", at="2024-02-03") == feb  # end of that day
    assert tracker.resolve("production", at="2024-02-03T11:00:00") == jan
    assert tracker.resolve("production") == mar
    with pytest.raises(ml.AliasNotFound, match="first move"):
        tracker.resolve("production", at="2023-12-31")
    history = tracker.alias_history("production")
    assert [e.version for e in history] == [jan.id, feb.id, mar.id]
    tracker.set_alias("production", None)
    with pytest.raises(ml.AliasNotFound, match="removed"):
        tracker.resolve("production")
    assert tracker.resolve("production", at="2024-03-10") == mar
    assert "production" not in tracker.aliases()
    with pytest.raises(ml.AliasNotFound, match="never set"):
        tracker.alias_history("staging")
    with pytest.raises(ml.InvalidTime, match="only created at"):
        tracker.set_alias("staging", mar, at="2024-01-10")
    # the model's own name resolves to the latest version at that time
    assert tracker.resolve("fraud-detector", at="2024-02-15") == feb
    assert tracker.resolve(mar.id, at="2024-01-20") == jan
    with pytest.raises(ml.InvalidTime, match="before the first version"):
        tracker.resolve("fraud-detector", at="2023-06-01")
    with pytest.raises(ml.InvalidTime, match="ISO 8601"):
        tracker.resolve("fraud-detector", at="15 Jan")


def test_concurrent_alias_moves_at_the_same_moment_resolve_deterministically(
    tracker: ml.Tracker, store_path: Path
) -> None:
    a = log(tracker, 0)
    b = log(tracker, 1)
    at = b.created_at
    first = tracker.set_alias("production", a, at=at)
    second = ml.Tracker.load("fraud-detector", storage=str(store_path)).set_alias(
        "production", b, at=at
    )
    assert second.id > first.id
    for reader in (tracker, ml.Tracker.load("fraud-detector", storage=str(store_path))):
        reader.refresh()
        assert reader.resolve("production") == b
        assert len(reader.alias_history("production")) == 2


def test_backfilled_timestamp_may_not_predate_parent(tracker: ml.Tracker) -> None:
    log(tracker, 0, timestamp="2024-02-01T00:00:00Z")
    with pytest.raises(ml.InvalidTime, match="predate"):
        log(tracker, 1, timestamp="2024-01-01T00:00:00Z")


# -- display ------------------------------------------------------------------------------


def test_summary_prints_history(tracker: ml.Tracker, capsys: pytest.CaptureFixture[str]) -> None:
    log(tracker, 0, name="v1", notes="first")
    second = log(tracker, 1, notes="second")
    tracker.set_alias("production", second)
    print(tracker.summary())
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "2 versions" in lines[0]
    assert lines[2].startswith(tracker.abbrev(second))
    assert "[production]" in lines[2]
    assert "v1" in lines[3]
    assert "accuracy" in lines[1]
    assert "<table>" in second._repr_html_()


def _iter_versions(tracker: ml.Tracker) -> Iterator[str]:
    yield from (v.id for v in tracker.versions())


def test_tracker_repr_and_len(tracker: ml.Tracker) -> None:
    log(tracker)
    assert len(tracker) == 1
    assert "fraud-detector" in repr(tracker)
    assert len(list(_iter_versions(tracker))) == 1


def test_future_alias_move_is_not_in_force_yet(tracker: ml.Tracker) -> None:
    a = log(tracker, 0)
    b = log(tracker, 1)
    tracker.set_alias("production", a)
    tracker.set_alias("production", b, at=datetime.now(timezone.utc) + timedelta(days=1))
    assert tracker.resolve("production") == a
    assert tracker.aliases()["production"] == a
    assert tracker.resolve("production", at=datetime.now(timezone.utc) + timedelta(days=2)) == b


def test_models_listed_after_compaction(tracker: ml.Tracker, store_path: Path) -> None:
    log(tracker)
    tracker.compact()
    assert ml.list_models(str(store_path)) == ["fraud-detector"]


def test_logger_fields_are_a_closed_set(tracker: ml.Tracker) -> None:
    for bad in ("version", "log_metric", "_digest", "status"):
        with pytest.raises(ml.InvalidInput, match=f"unknown field '{bad}'"):
            tracker.log_version(**{bad: 1})


@pytest.mark.parametrize("text", ["2024-01-15", "20240115", "2024-01-15Z"])
def test_a_bare_date_means_the_end_of_that_day(text: str) -> None:
    from mlineage._coerce import parse_time

    assert parse_time(text) == datetime(2024, 1, 15, 23, 59, 59, 999999, tzinfo=timezone.utc)


def test_read_only_view_leaves_the_shared_store_writable(tracker: ml.Tracker) -> None:
    log(tracker, 0)
    reader = ml.Tracker.load("fraud-detector", storage=tracker.store, read_only=True)
    with pytest.raises(ml.ReadOnlyError):
        reader.annotate(tracker.latest(), notes="x")  # type: ignore[arg-type]
    log(tracker, 1)  # the writer's store is untouched
    assert reader.refresh() == 1
