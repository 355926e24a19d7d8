"""Records round-trip through the codec; damaged bytes give typed errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage._ids import id_time, new_id
from mlineage.codec import decode_event, decode_version, encode_event, encode_version
from mlineage.records import AliasEvent, AnnotationEvent

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[1]
#: The last commit of store format 3 (before 0.4.0), whose code must refuse format 4.
FORMAT_3_COMMIT = "cc231c4c59d7fac3a2f73bf975e616bb5e3e01d4"
#: The last commit of store format 4 (packs without a table line), which must refuse format 5.
FORMAT_4_COMMIT = "936504d6e3b9c034218b43e2189c970897c6db8a"

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)


@st.composite
def versions(draw: st.DrawFn) -> ml.ModelVersion:
    created = draw(times)
    return ml.ModelVersion(
        id=new_id(created),
        model="m",
        name=draw(st.none() | st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True)),
        parents=tuple(new_id() for _ in range(draw(st.integers(0, 3)))),
        kind=draw(st.sampled_from(["initial", "update", "fine_tune", "merge"])),
        created_at=created,
        model_path=draw(st.text(min_size=1, max_size=30)),
        dataset=ml.DataSnapshot(
            path=draw(st.none() | st.text(max_size=30)),
            hash=draw(st.text(min_size=1, max_size=70)),
            num_rows=draw(st.none() | st.integers(0, 10**12)),
            columns=draw(st.none() | st.dictionaries(st.text(max_size=10), st.text(max_size=10))),
        ),
        metrics=draw(
            st.dictionaries(
                st.text(min_size=1, max_size=10), st.floats(allow_nan=False, allow_infinity=False)
            )
        ),
        hyperparameters=draw(st.dictionaries(st.text(max_size=10), json_values, max_size=5)),
        notes=draw(st.text(max_size=100)),
        tags=tuple(draw(st.lists(st.text(min_size=1, max_size=10), max_size=4))),
    )


@settings(max_examples=100, deadline=None)
@given(versions())
def test_version_round_trips(version: ml.ModelVersion) -> None:
    data = encode_version(version)
    assert json.loads(data)["format"] == ml.codec.FORMAT == 5
    assert decode_version(data) == version


def test_decoded_records_share_their_fields_set_but_never_change_it() -> None:
    # A decoded record that sets every field shares one fields set with the others (3 KB
    # less per record kept); nothing a user or pydantic does to one record changes it.
    version = ml.ModelVersion(
        "m", "m.pt", ml.DataSnapshot(path="d/", hash="sha256:0"), metrics={"a": 1.0}
    )
    data = version.model_dump_json()
    one = ml.ModelVersion.model_validate_json(data)
    two = ml.ModelVersion.model_validate_json(data)
    every = set(ml.ModelVersion.model_fields)
    assert one == two == version and one.model_fields_set == every
    assert one.model_fields_set is two.model_fields_set
    assert one.dataset.model_fields_set is two.dataset.model_fields_set
    assert one.dataset.model_fields_set == set(ml.DataSnapshot.model_fields)
    copied = one.model_copy(update={"notes": "changed"})
    shallow = one.dataset.model_copy(update={"notes": "changed"})
    assert copied.notes == "changed" and shallow.notes == "changed"
    assert copied.model_fields_set is not one.model_fields_set
    staged = ml.ModelVersion.model_validate_json(data)  # hand-built, never committed
    assert staged.status is ml.VersionStatus.STAGED
    assert staged.model_fields_set is one.model_fields_set
    assert staged.commit().status is ml.VersionStatus.COMMITTED
    assert staged.model_fields_set == every and staged.model_fields_set is not one.model_fields_set
    assert one.model_fields_set == every and one.status is ml.VersionStatus.STAGED
    # A record that leaves fields out (an older writer) keeps its own set, as pydantic made it.
    partial = json.loads(data)
    del partial["notes"], partial["dataset"]["notes"]
    sparse = ml.ModelVersion.model_validate_json(json.dumps(partial))
    assert sparse.model_fields_set == every - {"notes"}
    assert sparse.dataset.model_fields_set == set(ml.DataSnapshot.model_fields) - {"notes"}
    assert one.model_fields_set == every
    # Built from Python values, a record keeps a set of its own.
    built = ml.ModelVersion.model_validate(one.model_dump())
    assert built.model_fields_set == every and built.model_fields_set is not one.model_fields_set


def test_events_round_trip() -> None:
    now = datetime.now(timezone.utc)
    for event in (
        AnnotationEvent(
            id=new_id(), model="m", created_at=now, version=new_id(), notes="n", tags=("t",)
        ),
        AliasEvent(
            id=new_id(), model="m", created_at=now, alias="prod", version=None, effective_at=now
        ),
    ):
        assert decode_event(encode_event(event)) == event


def test_ids_are_time_ordered_and_encode_their_time() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5000
    at = datetime(2024, 1, 15, 9, 30, tzinfo=timezone.utc)
    assert id_time(new_id(at)) == at
    assert new_id(at) < new_id(at + timedelta(milliseconds=1))


def test_records_are_frozen_and_strict() -> None:
    snapshot = ml.DataSnapshot(path="d", hash="sha256:1")
    with pytest.raises(Exception, match="frozen"):
        snapshot.hash = "x"  # type: ignore[misc]
    # A typed error naming the field and the accepted ones, never a raw pydantic error.
    with pytest.raises(ml.InvalidRecord, match=r"unknown field 'color'.*accepted: path, hash"):
        ml.DataSnapshot(path="d", hash="h", color="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ml.DataSnapshot(path="d", hash="h", color="red")  # type: ignore[call-arg]
    with pytest.raises(ml.InvalidInput, match="hash"):
        ml.DataSnapshot(path="d", hash="")


@pytest.mark.parametrize("fmt", [1, 2, 3, 4, 5])
def test_stores_of_every_released_format_still_load(tmp_path: Path, fmt: int) -> None:
    # format 1: 0.1.0 (one-document packs); format 2: packs with a columnar index;
    # format 3: prototype fields (record_count, snapshot notes, committed_at, ...);
    # format 4: evidence events, origins, alias logs; format 5: a table line in each pack
    tracker = ml.Tracker.load(
        "fraud-detector", storage=str(DATA / f"store-format-{fmt}"), read_only=True
    )
    history = tracker.history()
    assert [v.name for v in history] == ["fraud-v3", "fraud-v2", "fraud-v1"]
    assert tracker.blame("accuracy").name == "fraud-v3"  # type: ignore[union-attr]
    assert tracker.resolve("production").name == "fraud-v2"
    assert tracker.annotations("fraud-v3")[0].notes == "label leak in March data"
    # records in a pack and loose, blobs for manifests, environment and archived checkpoints
    assert tracker.environment("fraud-v1") is not None
    diff = tracker.diff("fraud-v2", "fraud-v3")
    assert diff.data_files is not None
    assert sorted(diff.data_files.added) == ["part-3.csv"]
    restored = tracker.checkout("production", at="2024-03-02", to=tmp_path / "out")
    assert restored.version.name == "fraud-v2"
    assert (tmp_path / "out/model/fraud_v2.pt").read_bytes() == bytes([2]) * 64
    if fmt >= 3:  # what format 3 added
        v2 = tracker.get_version("fraud-v2")
        assert v2.dataset.record_count == v2.dataset.num_rows == 2000
        assert v2.dataset.schema_version == "2"
        assert v2.dataset.notes == "transactions up to month 2"
        assert v2.dataset.metadata == {"source": "kafka", "month": 2}
        assert v2.committed_at == v2.created_at
    else:  # older records read with the new fields empty, the same on every load
        v2 = tracker.get_version("fraud-v2")
        assert v2.dataset.created_at is None and v2.dataset.notes is None
        assert v2.committed_at == v2.created_at
    if fmt >= 2:  # the table to_pandas() builds (format 5: from each pack's table line)
        frame = tracker.to_pandas().set_index("id")
        for version in tracker.versions():
            row = frame.loc[version.id]
            assert row["dataset_hash"] == version.dataset.hash
            rows = version.dataset.num_rows
            assert row["dataset_rows"] == rows if rows is not None else row.isna()["dataset_rows"]
            assert (row["notes"], row["hp.lr"]) == (version.notes, version.hyperparameters["lr"])
    if fmt < 4:  # a move of an older format has no log entry number, evidence or reason
        (move,) = tracker.alias_history("production")
        assert (move.seq, move.evidence, move.forced, move.reason) == (None, None, False, "")
        assert tracker.find_origin("mlflow", "run-1") == [] and len(tracker.evidence()) == 0


def test_a_format_4_store_holds_evidence_origins_and_alias_logs(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(DATA / "store-format-4", store)
    tracker = ml.Tracker.load("fraud-detector", storage=str(store))
    for month in (1, 2, 3):  # months 1-2 from the pack's origins column, 3 loose
        (version,) = tracker.find_origin("mlflow", f"run-{month}")
        assert version.name == f"fraud-v{month}"
        assert version.origin is not None and version.origin.extra == {"experiment": "fraud"}
    report, verdict = tracker.evidence(kind="evidently")[0], tracker.evidence(kind="gate")[0]
    assert report.summary == {"drift_share": 0.5, "drifted": ["amount"]}
    assert (report.tool, report.tool_version) == ("evidently", "0.7.4")
    assert tracker.load_evidence(report)["metrics"][0]["value"] == {"share": 0.5}
    assert tracker.load_evidence(verdict) == {
        "passed": False,
        "rules": [{"rule": "accuracy", "delta": -0.05}],
    }
    moves = tracker.alias_history("production")
    assert [(m.seq, tracker.get_version(m.version).name) for m in moves] == [
        (1, "fraud-v2"),
        (2, "fraud-v1"),
        (3, "fraud-v2"),
    ]
    assert tracker.resolve("production", at="2024-02-16").name == "fraud-v1"
    (staged,) = tracker.alias_history("staging")
    assert (staged.evidence, staged.forced) == (verdict.id, True)
    assert staged.reason == "staging may run a refused candidate"
    with pytest.raises(ml.AliasConflict):  # compare-and-set against the stored log
        tracker.set_alias("production", "fraud-v3", expect="fraud-v1")
    assert tracker.set_alias("production", "fraud-v3", expect=moves[-1]).seq == 4
    assert ml.fsck(str(store), verify_blobs=True).ok


def test_compacting_a_format_1_store_rewrites_its_pack_in_the_current_format(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    shutil.copytree(DATA / "store-format-1", store)
    before = ml.Tracker.load("fraud-detector", storage=str(store))
    history = [v.model_dump() for v in before.history()]
    # the format-1 pack (2 versions) and the loose version and events, in one new pack
    assert before.compact() == 5
    (pack,) = (store / "models/fraud-detector/packs").iterdir()
    assert pack.read_bytes().startswith(b'{"format":5,"type":"pack"')
    after = ml.Tracker.load("fraud-detector", storage=str(store))
    assert [v.model_dump() for v in after.history()] == history
    assert after.resolve("production").name == "fraud-v2"
    assert after.annotations("fraud-v3")[0].notes == "label leak in March data"
    assert ml.fsck(str(store), verify_blobs=True).ok


# -- an older mlineage reading a format-4 store --------------------------------------------


def _release_src(tmp_path_factory: pytest.TempPathFactory, commit: str) -> Path:
    """The source tree of an older release, from this repository's history."""
    target = tmp_path_factory.mktemp(commit[:8])
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


@pytest.fixture(scope="module")
def format_3_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source tree of the format-3 release."""
    return _release_src(tmp_path_factory, FORMAT_3_COMMIT)


OLD_READER = textwrap.dedent(
    """
    import json, sys
    import mlineage as ml
    assert ml.__file__.startswith(sys.argv[1]) and ml.codec.FORMAT == int(sys.argv[3])
    out = {}
    for on_error in ("raise", "skip"):
        try:
            ml.Tracker.load("fraud-detector", storage=sys.argv[2], on_error=on_error)
            out[on_error] = "loaded"
        except ml.MLineageError as exc:
            out[on_error] = [type(exc).__name__, str(exc)]
    out["fsck"] = sorted({p.kind for p in ml.fsck(sys.argv[2], verify_blobs=False).problems})
    print(json.dumps(out))
    """
)


def _read_with_format_3(src: Path, store: Path, fmt: int = 3) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", OLD_READER, str(src), str(store), str(fmt)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_the_format_3_release_refuses_a_format_4_store_as_newer(
    format_3_src: Path, tmp_path: Path
) -> None:
    answer = _read_with_format_3(format_3_src, DATA / "store-format-4")
    for on_error in ("raise", "skip"):
        kind, message = answer[on_error]  # type: ignore[misc]
        assert kind == "StoreFormatError"
        assert "written in format 4, newer than this mlineage reads (format 3)" in message
        assert "upgrade mlineage" in message
    assert answer["fsck"] == ["newer-format"]


def test_the_format_3_release_refuses_format_4_records_as_newer_not_corrupt(
    format_3_src: Path, tmp_path: Path
) -> None:
    # Even where the marker says 3 (as if a writer had written records before raising
    # it), every record with the new fields is refused as newer, never as damage.
    store = tmp_path / "store"
    shutil.copytree(DATA / "store-format-4", store)
    (store / "mlineage.json").write_text('{"format": 3, "kind": "mlineage-store"}')
    answer = _read_with_format_3(format_3_src, store)
    for on_error in ("raise", "skip"):
        kind, message = answer[on_error]  # type: ignore[misc]
        assert kind == "StoreFormatError", message
        assert "format 4" in message and "upgrade mlineage" in message
    assert answer["fsck"] == ["newer-format"]


def test_the_format_4_release_refuses_format_5_packs_as_newer(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    # A pack with a table line, even in a store whose marker says 4 (as if a writer had
    # compacted before raising it): refused as newer, never as damage.
    store = tmp_path / "store"
    shutil.copytree(DATA / "store-format-4", store)
    tracker = ml.Tracker("fraud-detector", storage=str(store))
    tracker.log(model_path="new.pt", dataset=ml.DataSnapshot(hash="sha256:new"))
    tracker.compact()
    (store / "mlineage.json").write_text('{"format": 4, "kind": "mlineage-store"}')
    answer = _read_with_format_3(_release_src(tmp_path_factory, FORMAT_4_COMMIT), store, 4)
    for on_error in ("raise", "skip"):
        kind, message = answer[on_error]  # type: ignore[misc]
        assert kind == "StoreFormatError", message
        assert "format 5" in message and "upgrade mlineage" in message
    # (its fsck also sees the versions the pack holds as missing: it cannot read them)
    assert "newer-format" in answer["fsck"]  # type: ignore[operator]


class _Text(str):
    """A str subclass: validation makes plain str of it, and so must the writer."""


@settings(max_examples=60, deadline=None)
@given(
    metrics=st.dictionaries(
        st.text(min_size=1, max_size=8).map(_Text) | st.text(min_size=1, max_size=8),
        st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**40), 2**40),
        max_size=4,
    ),
    hyperparameters=st.dictionaries(
        st.text(max_size=8).map(_Text) | st.text(max_size=8),
        json_values | st.text(max_size=8).map(_Text),
        max_size=5,
    ),
    tags=st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), max_size=3),
    name=st.none() | st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
    kind=st.sampled_from([None, "fine_tune", "merge"]),
)
def test_a_logged_version_is_what_validation_makes_of_its_fields(
    metrics: dict[str, float],
    hyperparameters: dict[str, object],
    tags: list[str],
    name: str | None,
    kind: str | None,
) -> None:
    # The writer builds records from fields it checked itself, without pydantic's second
    # pass: the record must be the one validation would have made, to the byte.
    tracker = ml.Tracker("m", storage="memory://", capture_environment=False)
    with tracker.log_version(kind=kind) as v:
        v.model_path = "m.pt"
        v.dataset = ml.DataSnapshot(path="d/", hash="sha256:0")
        v.metrics, v.hyperparameters, v.tags, v.name = metrics, hyperparameters, tags, name
        v.metadata = {"run": _Text("r1")}
    logged = v.version
    validated = ml.ModelVersion.model_validate(dict(logged.__dict__))
    assert logged == validated
    assert logged.__pydantic_fields_set__ == validated.__pydantic_fields_set__
    assert {k: type(x) for k, x in logged.__dict__.items()} == {
        k: type(x) for k, x in validated.__dict__.items()
    }
    assert [type(k) for k in logged.metrics] == [str] * len(metrics)
    assert all(type(k) is str for k in logged.hyperparameters)
    assert type(logged.metadata["run"]) is str
    assert encode_version(logged) == encode_version(validated)
    # The envelope model's own serialisation, wrap serializer and all:
    document = (
        f'{{"format":{ml.codec.FORMAT},"type":"version","record":{validated.model_dump_json()}}}'
    )
    assert encode_version(logged) == document.encode()
    stored = tracker.store.get(f"models/m/versions/{logged.id}.json")
    assert decode_version(stored) == logged and stored == encode_version(validated)


@pytest.mark.parametrize("kind", ["Not A Kind", "update\n", "fine-tune"])
def test_a_kind_that_validation_refuses_is_refused_when_logging(kind: str) -> None:
    tracker = ml.Tracker("m", storage="memory://", capture_environment=False)
    with pytest.raises(ml.InvalidRecord, match="kind"):
        tracker.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="0"), kind=kind)
    assert not list(tracker.store.list("models/m/versions"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_draws_other_random_bits_for_its_ids() -> None:
    # Ids take their random bits from a pool the OS fills 4 KiB at a time: a child forked
    # with the pool half used must not reuse the bytes its parent goes on to use.
    new_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one id, its random part to the parent, and out
        os.write(write, new_id()[-16:].encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert len(child) == 16 and child != new_id()[-16:]
