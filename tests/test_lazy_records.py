"""Versions loaded from packs are read on first access and behave exactly like decoded ones."""

from __future__ import annotations

import copy
import json
import pickle
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

import mlineage as ml
from mlineage.records import is_lazy
from tests import packfile

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def rich_store(root: Path, n: int = 6) -> list[ml.ModelVersion]:
    """A packed store whose versions use every kind of field, unicode included."""
    tracker = ml.Tracker("m", storage=str(root), capture_environment=False)
    versions = []
    for i in range(n):
        versions.append(
            tracker.log(
                model_path=f"ckpt/{i}.pt",
                dataset=ml.DataSnapshot(path=f"data/{i}/", hash=f"sha256:{i:064x}", num_rows=i),
                metrics={"accuracy": 0.9 + i / 1000, "точность": 1 / 3 + i} if i % 3 else {},
                hyperparameters={"lr": 1e-3 * (i + 1), "layers": [64, 32], "opt": {"b": [0.9]}},
                notes=f"update {i}: données de janvier 🚀",
                tags=["jan", f"t{i}"],
                name=f"v{i}" if i % 2 else None,
                timestamp=START + timedelta(days=i),
                metadata={"run": i},
            )
        )
    assert tracker.compact() == n
    return versions


def as_stored(version: ml.ModelVersion) -> ml.ModelVersion:
    """``version`` as decoded from JSON (a decoded time's tzinfo reprs differently from a
    logged one)."""
    return ml.ModelVersion.model_validate_json(version.model_dump_json())


@pytest.fixture
def packed(tmp_path: Path) -> tuple[ml.Tracker, list[ml.ModelVersion]]:
    written = rich_store(tmp_path / "s")
    loaded = ml.Tracker.load("m", storage=str(tmp_path / "s"))
    assert all(is_lazy(v) for v in loaded.versions())
    return loaded, written


def lazies(tracker: ml.Tracker) -> int:
    return sum(is_lazy(v) for v in tracker.graph)


def test_equal_both_ways_and_in_containers(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]],
) -> None:
    loaded, written = packed
    assert written[2] == loaded.versions()[2]  # the eager one on the left
    assert loaded.versions()[3] == written[3]
    assert loaded.versions() == written
    assert written[1] in loaded.versions()
    assert loaded.versions()[1] != written[2]


def test_every_way_of_looking_reads_the_record(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]], tmp_path: Path
) -> None:
    _, written = packed
    store = str(tmp_path / "s")
    looks = {
        "attribute": lambda v: v.notes,
        "repr": repr,
        "str": str,
        "dict": dict,
        "model_dump": lambda v: v.model_dump(),
        "model_dump unset": lambda v: v.model_dump(exclude_unset=True),
        "model_dump_json": lambda v: json.loads(v.model_dump_json()),
        "fields_set": lambda v: v.model_fields_set,
        "copy": lambda v: copy.copy(v).model_dump(),
        "deepcopy": lambda v: copy.deepcopy(v).model_dump(),
        "pickle": lambda v: pickle.loads(pickle.dumps(v)).model_dump(),
        "model_copy": lambda v: v.model_copy(update={"notes": "x"}).model_dump(),
        "metric_delta": lambda v: v.metric_delta(v, "accuracy") if v.metrics else None,
        "html": lambda v: v._repr_html_(),
    }
    for name, look in looks.items():
        for i, logged in enumerate(written):
            # as decoded from JSON (a decoded time's tzinfo reprs differently from a logged one)
            expected = as_stored(logged)
            fresh = ml.Tracker.load("m", storage=store).versions()[i]
            assert is_lazy(fresh)
            assert look(fresh) == look(expected), name
            assert not is_lazy(fresh), name


def test_hash_fails_like_the_record(packed: tuple[ml.Tracker, list[ml.ModelVersion]]) -> None:
    loaded, written = packed
    with pytest.raises(TypeError, match="unhashable"):
        hash(written[0])
    with pytest.raises(TypeError, match="unhashable"):
        hash(loaded.versions()[0])


def test_serialised_inside_another_model(packed: tuple[ml.Tracker, list[ml.ModelVersion]]) -> None:
    class Page(BaseModel):
        versions: list[ml.ModelVersion]

    loaded, written = packed
    assert Page(versions=loaded.versions()).model_dump_json() == (
        Page(versions=written).model_dump_json()
    )
    schema = ml.ModelVersion.model_json_schema(mode="serialization")
    assert "dataset" in schema["properties"]  # the lazy hook keeps the schema


def test_unknown_attribute_is_still_an_attribute_error(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]],
) -> None:
    version = packed[0].versions()[0]
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        _ = version.colour  # type: ignore[attr-defined]
    assert not hasattr(version, "colour")


def test_every_field_reads_the_record_and_the_class_is_unchanged(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]],
) -> None:
    # Fields of lazy versions are read through descriptors on the class; the class, its
    # subclasses and pydantic must see the fields exactly as pydantic made them.
    loaded, written = packed
    for version, logged in zip(loaded.versions(), written, strict=True):
        expected = as_stored(logged)
        for name in ml.ModelVersion.model_fields:
            assert getattr(version, name) == getattr(expected, name), name
    for name in ml.ModelVersion.model_fields:
        assert not hasattr(ml.ModelVersion, name)
    with pytest.raises(AttributeError, match="notes"):
        _ = ml.ModelVersion.notes

    class Labelled(ml.ModelVersion):
        label: str = ""

    assert Labelled.model_fields["notes"].default == ""
    assert Labelled.model_fields["kind"].default == "update"
    labelled = Labelled("m", "m.pt", ml.DataSnapshot(hash="sha256:0"), label="x")
    assert (labelled.notes, labelled.kind, labelled.label) == ("", "update", "x")
    unset = ml.ModelVersion.model_construct(id="0" * 32)  # a required field left out
    with pytest.raises(AttributeError, match="'ModelVersion' object has no attribute 'model'"):
        _ = unset.model


def test_queries_read_no_record(packed: tuple[ml.Tracker, list[ml.ModelVersion]]) -> None:
    tracker, written = packed
    n = len(written)
    assert [v.id for v in tracker.history()] == [v.id for v in reversed(written)]
    assert [v.id for v in tracker.lineage(written[-1].id).ancestors()] == [
        v.id for v in reversed(written[:-1])
    ]
    assert tracker.lineage(written[0].id).descendants()[0].id == written[1].id
    assert tracker.blame("accuracy", "increase").id == written[4].id  # type: ignore[union-attr]
    assert tracker.resolve("m", at=START + timedelta(days=2, hours=1)).id == written[2].id
    assert tracker.resolve(written[4].id, at=START + timedelta(days=3)).id == written[3].id
    assert tracker.get_version("v3").id == written[3].id
    assert tracker.get_version(written[2].id[:20]).id == written[2].id
    assert [v.id for v in tracker.roots()] == [written[0].id]
    assert tracker.graph.nx.number_of_edges() == n - 1
    assert lazies(tracker) == n
    tracker.set_alias("production", "v1")
    with tracker.log_version() as v:  # parent = the latest, a lazy version
        v.model_path = "new.pt"
        v.dataset = ml.DataSnapshot(hash="sha256:new")
    assert v.version.parents == (written[-1].id,)
    # The version just logged is held as its columns too: read back from the store.
    assert lazies(tracker) == n + 1
    assert tracker.resolve("production").name == "v1"
    assert lazies(tracker) == n
    assert tracker.latest() == v.version


def test_a_version_before_its_lazy_parent_is_refused(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]],
) -> None:
    tracker, written = packed
    with pytest.raises(ml.InvalidTime, match="before parent"):
        tracker.log(
            model_path="x",
            dataset=ml.DataSnapshot(hash="h"),
            timestamp=written[-1].created_at - timedelta(seconds=1),
        )


def test_compacting_again_keeps_packed_records(tmp_path: Path) -> None:
    # Records both loose and packed (an interrupted compaction): the graph holds the
    # packed, lazy copy, and a second compaction writes it out again unchanged.
    store = tmp_path / "s"
    written = rich_store(store)
    pack = next((store / "models/m/packs").iterdir())
    tracker = ml.Tracker.load("m", storage=str(store))
    for version in written[:2]:
        (store / f"models/m/versions/{version.id}.json").write_bytes(
            ml.codec.encode_version(version)
        )
    pack.rename(pack.with_name("0" * 32 + ".json"))  # the older pack, read first
    assert tracker.compact() == 6  # the loose copies and the small pack, in one new pack
    assert len(list((store / "models/m/packs").iterdir())) == 1
    assert ml.Tracker.load("m", storage=str(store)).versions() == written
    assert ml.fsck(str(store)).ok


def test_a_pack_of_events_only(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    written = rich_store(tmp_path / "s")
    tracker = ml.Tracker.load("m", storage=store)
    tracker.annotate("v1", notes="later")
    tracker.set_status("v3", "deprecated", reason="drift")
    assert tracker.compact(merge=False) == 2  # a second pack, with the two events only
    assert len(list((tmp_path / "s/models/m/packs").iterdir())) == 2
    again = ml.Tracker.load("m", storage=store)
    assert again.annotations("v1")[0].notes == "later"
    assert again.status("v3") is ml.VersionStatus.DEPRECATED
    assert again.versions() == written


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1000),  # first parent: a random earlier version (0 = a root)
            st.booleans(),  # a second parent?
            st.dictionaries(
                st.sampled_from(["acc", "f1", "loss ✓"]),
                st.floats(allow_nan=False, allow_infinity=False, width=64),
            ),
            st.none() | st.integers(0, 3),  # imported from one of four MLflow runs?
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 4),
)
def test_packed_load_equals_eager_load(
    steps: list[tuple[int, bool, dict[str, float], int | None]], packs: int
) -> None:
    # Any DAG, any finite metrics (exact float round trip), origins, split over several
    # packs and loose records: the lineage and every answer equal those of the eager
    # records.
    # A fresh store per example: id() of a collected list can be reused by the next one.
    store = f"memory://lazy-{uuid.uuid4().hex}"
    tracker = ml.Tracker("m", storage=store, capture_environment=False, hash_artifacts=False)
    versions: list[ml.ModelVersion] = []
    for i, (pick, merge, metrics, run) in enumerate(steps):
        parents = []
        if versions and pick:
            parents.append(versions[pick % len(versions)].id)
            if merge and len(versions) > 1:
                other = versions[(pick * 7 + 1) % len(versions)].id
                if other not in parents:
                    parents.append(other)
        versions.append(
            tracker.log(
                model_path=f"{i}.pt",
                dataset=ml.DataSnapshot(hash=f"h{i}"),
                metrics=metrics,
                parents=parents,
                timestamp=START + timedelta(minutes=i),
                origin=None if run is None else ml.Origin(system="mlflow", id=f"run-{run}"),
            )
        )
        if (i + 1) % max(1, len(steps) // packs) == 0:
            tracker.compact()
    loaded = ml.Tracker.load("m", storage=store)
    assert [v.id for v in loaded.versions()] == [v.id for v in versions]
    for run in range(4):  # from the packs' origins column and the loose records
        expected_ids = [v.id for v in versions if v.origin and v.origin.id == f"run-{run}"]
        assert [v.id for v in loaded.find_origin("mlflow", f"run-{run}")] == expected_ids
    packed = loaded._index.loaded_packs.values()
    packed_ids = {i for pack in packed for i in pack.version_ids or ()}
    assert {v.id for v in loaded.versions() if is_lazy(v)} == packed_ids  # none read
    for metric in ("acc", "f1", "loss ✓"):
        for direction in ("decrease", "increase"):
            culprit = loaded.blame(metric, direction)
            expected = tracker.blame(metric, direction)
            assert (culprit and culprit.id) == (expected and expected.id)
    for version in versions:
        assert [v.id for v in loaded.history(version.id)] == [
            v.id for v in tracker.history(version.id)
        ]
        assert loaded.resolve("m", at=version.created_at).id == version.id
    assert loaded.versions() == versions  # reads every record: same content
    assert ml.fsck(loaded.store).ok


def test_lazy_version_reads_from_any_source_once(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]],
) -> None:
    from mlineage.records import lazy_version

    _, written = packed
    reads: list[int] = []

    class Source:
        def load_version(self, index: int, version_id: str) -> ml.ModelVersion:
            reads.append(index)
            return written[index]

    version = lazy_version(written[4].id, Source(), 4)
    assert version.id == written[4].id and reads == []  # the id needs no read
    assert version.notes == written[4].notes and version == written[4]
    assert reads == [4]  # read once, then an ordinary version


def test_reading_every_version_keeps_a_bounded_number_of_records(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]],
) -> None:
    # A tracker keeps the records of the versions read last (its cache); the versions
    # themselves stay small, and a version whose record was dropped reads it again.
    loaded, written = packed
    loaded._index.records.size = 2
    versions = loaded.versions()
    assert [v.notes for v in versions] == [w.notes for w in written]
    assert len(loaded._index.records) == 2
    assert [is_lazy(v) for v in versions] == [True] * (len(written) - 2) + [False, False]
    assert all(vars(v).keys() == {"id"} for v in versions)  # no record held in a version
    first = versions[0]
    assert first.dataset == written[0].dataset and first.metrics == written[0].metrics
    assert not is_lazy(first) and is_lazy(versions[1])  # read again, the oldest dropped
    # Every way of looking works on a version whose record is dropped meanwhile.
    assert versions == written and list(reversed(versions)) == list(reversed(written))
    assert [copy.deepcopy(v) for v in versions] == written
    assert [pickle.loads(pickle.dumps(v)) for v in versions] == written
    assert [v.model_dump() for v in versions] == [w.model_dump() for w in written]
    assert [dict(v) for v in versions] == [dict(w) for w in written]
    assert [v.model_copy(update={"notes": "x"}).notes for v in versions] == ["x"] * len(written)
    assert [repr(v) for v in versions] == [repr(w) for w in written]
    assert written[0].notes == "update 0: données de janvier 🚀"  # the cache's records untouched
    assert [v.notes for v in versions] == [w.notes for w in written]


# -- one field read alone ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ml.ModelVersion.model_fields))
def test_a_field_read_first_equals_the_whole_record(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]], tmp_path: Path, name: str
) -> None:
    # A field read first is parsed and validated alone (RecordCache.field); it must be
    # what validating the whole record gives, for the fields that depend on others too
    # (committed_at is stored null when it equals created_at).
    _, written = packed
    loaded = ml.Tracker.load("m", storage=str(tmp_path / "s"))
    for version, logged in zip(loaded.versions(), written, strict=True):
        expected = as_stored(logged)
        assert getattr(version, name) == getattr(expected, name)
        assert version == expected  # then the whole record, consistent with it


def _packed_records(root: Path) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    (pack,) = (root / "models" / "m" / "packs").iterdir()
    header, records = packfile.read(pack)
    return pack, header, records


def test_a_damaged_field_is_an_error_where_it_is_read(tmp_path: Path) -> None:
    root = tmp_path / "s"
    written = rich_store(root)
    pack, header, records = _packed_records(root)
    records[1]["metrics"] = {"accuracy": "high"}
    records[2]["kind"] = "Not A Kind"
    records[3]["parents"] = [records[2]["id"], records[2]["id"]]
    records[4]["metrics"] = {"accuracy": float("nan")}  # json writes NaN: not a metric
    packfile.write(pack, header, records)
    tracker = ml.Tracker.load("m", storage=str(root))
    versions = tracker.versions()
    for i, field in ((1, "metrics"), (2, "kind"), (3, "parents"), (4, "metrics")):
        with pytest.raises(ml.CorruptRecord, match=f"invalid version record at index {i}"):
            getattr(versions[i], field)
        # The record as a whole is damaged: every look at all of it says so.
        for look in (dict, copy.copy, pickle.dumps, written[i].__eq__):
            with pytest.raises(ml.CorruptRecord, match=f"index {i}"):
                look(versions[i])
        # (pydantic wraps what its serialiser raises: the message is the same)
        with pytest.raises(PydanticSerializationError, match=f"CorruptRecord: .* index {i}"):
            versions[i].model_dump()
        # A field that is sound reads as written (fsck reports the record).
        assert versions[i].notes == written[i].notes
        with pytest.raises(ml.CorruptRecord):  # and again: a damaged field stays an error
            getattr(versions[i], field)
    assert versions[0] == written[0] and versions[5] == written[5]
    damaged = {p.kind for p in ml.fsck(str(root), verify_blobs=False).problems}
    assert damaged  # fsck names the damage the reads skipped


def test_a_record_of_another_shape_is_validated_whole(tmp_path: Path) -> None:
    root = tmp_path / "s"
    written = rich_store(root)
    pack, header, records = _packed_records(root)
    records[1]["colour"] = "red"  # a key no version has
    del records[2]["notes"]  # a field left out takes its default, as in older stores
    del records[3]["committed_at"]  # stores before format 3: committed when created
    records[4]["id"] = records[5]["id"]  # not the version its index lists
    packfile.write(pack, header, records)
    versions = ml.Tracker.load("m", storage=str(root)).versions()
    with pytest.raises(ml.CorruptRecord, match="index 1"):
        _ = versions[1].notes
    assert versions[2].notes == "" and versions[2].model_path == written[2].model_path
    assert versions[3].committed_at == versions[3].created_at == written[3].created_at
    with pytest.raises(ml.CorruptRecord, match=f"index 4, where its index lists {written[4].id}"):
        _ = versions[4].notes
    assert versions[5].notes == written[5].notes


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(list(ml.ModelVersion.model_fields)),
    value=_json_values,
    first=st.sampled_from(list(ml.ModelVersion.model_fields)),
)
def test_a_field_read_alone_agrees_with_validating_the_record(
    field: str, value: Any, first: str
) -> None:
    # Any JSON value in any field of a stored record: where validating the whole record
    # succeeds, each field read alone is the whole record's; where a field read alone
    # fails, validating the whole record fails too.
    from pydantic_core import from_json

    from mlineage.records._lazy_fields import read_field

    version = ml.ModelVersion(
        "m",
        "m.pt",
        ml.DataSnapshot(path="d/", hash="sha256:0"),
        metrics={"accuracy": 0.5},
        hyperparameters={"lr": 0.1},
        parents=["0" * 32],
        notes="n",
    ).commit()
    record = json.loads(version.model_dump_json())
    record[field] = value
    data = json.dumps(record).encode()
    try:
        whole: ml.ModelVersion | None = ml.ModelVersion.model_validate_json(data)
    except ValueError:
        whole = None
    raw, fields = from_json(data), {}
    order = [first, *(name for name in ml.ModelVersion.model_fields if name != first)]
    failed = []
    for name in order:
        try:
            alone = fields[name] if name in fields else read_field(raw, fields, name, record["id"])
        except ValueError:
            assert whole is None, name
            failed.append(name)
            continue
        fields[name] = alone
        if whole is not None:
            assert alone == getattr(whole, name), name
    # ... and where it fails, reading the fields one by one finds the damage.
    assert (whole is None) == bool(failed)


def test_fields_and_whole_records_read_from_many_threads(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]],
) -> None:
    # Threads reading single fields while others validate the same records whole (and a
    # tiny cache drops them meanwhile) all see the records as written.
    import sys
    from concurrent.futures import ThreadPoolExecutor

    loaded, written = packed
    loaded._index.records.size = 3
    versions = loaded.versions()
    names = list(ml.ModelVersion.model_fields)
    expected = [as_stored(w) for w in written]

    def look(k: int) -> list[bool]:
        i = k % len(versions)
        if k % 5 == 0:
            return [versions[i] == expected[i]]
        name = names[k % len(names)]
        return [getattr(versions[i], name) == getattr(expected[i], name)]

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can
    try:
        with ThreadPoolExecutor(8) as pool:
            results = [ok for oks in pool.map(look, range(20_000)) for ok in oks]
    finally:
        sys.setswitchinterval(switch)
    assert results and all(results)


def test_a_field_read_while_another_thread_validates_the_record_whole(
    packed: tuple[ml.Tracker, list[ml.ModelVersion]],
) -> None:
    # The interleaving made deterministic: between this read looking in the fields read
    # so far and looking at the parsed record, another thread validates the record whole
    # (which drops the parsed record). The read must still give the field.
    loaded, written = packed
    version = loaded.versions()[2]
    private = version.__pydantic_private__
    assert private is not None
    cache, source, index = private["records"], private["source"], private["index"]
    assert version.kind == written[2].kind  # parsed, one field read
    entry = cache._records[(source, index, version.id)]

    class Meanwhile(dict[str, Any]):
        def __contains__(self, name: object) -> bool:
            cache.read(source, index, version.id)  # the other thread, just now
            return False

    entry.fields = Meanwhile(entry.fields)
    assert version.notes == written[2].notes
    assert entry.raw is None and entry.full is not None
