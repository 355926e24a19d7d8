"""Records round-trip through the codec; damaged bytes give typed errors."""

from __future__ import annotations

import json
import shutil
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
    assert json.loads(data)["format"] == ml.codec.FORMAT == 4
    assert decode_version(data) == version


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


@pytest.mark.parametrize("fmt", [1, 2, 3])
def test_stores_of_every_released_format_still_load(tmp_path: Path, fmt: int) -> None:
    # format 1: 0.1.0 (one-document packs); format 2: packs with a columnar index;
    # format 3: prototype fields (record_count, snapshot notes, committed_at, ...)
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
    assert pack.read_bytes().startswith(b'{"format":4,"type":"pack"')
    after = ml.Tracker.load("fraud-detector", storage=str(store))
    assert [v.model_dump() for v in after.history()] == history
    assert after.resolve("production").name == "fraud-v2"
    assert after.annotations("fraud-v3")[0].notes == "label leak in March data"
    assert ml.fsck(str(store), verify_blobs=True).ok
