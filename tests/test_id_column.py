"""The graph's id column (ids in one byte array, looked up by binary search) against the
plain list and dict it replaced, on random ids added in any order."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage import _id_column
from mlineage._id_column import IdColumn
from mlineage._ids import new_id
from mlineage.graph import LineageGraph

hex_ids = st.text("0123456789abcdef", min_size=32, max_size=32)
odd_ids = st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=40)


def fill(column: IdColumn, batches: list[list[str]]) -> list[str]:
    """Add the batches as a graph does (number the nodes, append, settle); the ids in
    node order, duplicates skipped."""
    added: list[str] = []
    for batch in batches:
        fresh = []
        for version_id in batch:
            if version_id in column.lookup or version_id in fresh:
                continue
            column.lookup[version_id] = len(added)
            added.append(version_id)
            fresh.append(version_id)
        column.extend(fresh)
        column.settle()
    return added


def check(column: IdColumn, added: list[str], probes: list[str]) -> None:
    assert len(column) == len(added)
    assert list(column) == added
    assert [column[i] for i in range(len(added))] == added
    assert column.take(list(range(len(added)))[::-1]) == added[::-1]
    for start in range(len(added)):  # runs, decoded block by block
        for stop in {start + 1, min(start + 5, len(added)), len(added)}:
            assert column.take(range(start, stop)) == added[start:stop]
    if added:
        for outside in (range(0, len(added) + 1), range(-1, 1)):
            with pytest.raises(IndexError):
                column.take(outside)
    order = sorted(added)
    assert column.sorted_ids() == order
    assert [added[i] for i in column.creation_nodes()] == order
    assert list(column.ranks()) == [order.index(i) for i in added]
    assert column.newest == (order[-1] if order else None)
    assert column.ordered == (added == order)
    where = {version_id: i for i, version_id in enumerate(added)}
    for probe in [*added, *probes]:
        assert column.node_of(probe) == where.get(probe)
        assert (probe in column.lookup) == (probe in where)
        assert column.bisect_left(probe) == bisect.bisect_left(order, probe)
        assert column.sorted_slice(3, 7) == order[3:7]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(hex_ids, max_size=12), max_size=6), st.lists(hex_ids, max_size=5))
def test_hex_ids_in_any_order(batches: list[list[str]], probes: list[str]) -> None:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_id_column, "SETTLE_AFTER", 4)  # merge into the sorted index often
        m.setattr(_id_column, "BLOCK_SHIFT", 2)  # blocks of 4 ids: searches cross blocks
        column = IdColumn()
        added = fill(column, batches)
        check(column, added, probes)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(odd_ids, max_size=8), max_size=5), st.lists(odd_ids, max_size=5))
def test_any_string_without_nul(batches: list[list[str]], probes: list[str]) -> None:
    """Ids longer than 32 bytes widen the column; non-ASCII ones sort as Python does."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_id_column, "SETTLE_AFTER", 3)
        m.setattr(_id_column, "BLOCK_SHIFT", 1)
        column = IdColumn()
        added = fill(column, batches)
        check(column, added, probes)


def test_a_prefix_of_an_id_is_not_the_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_id_column, "BLOCK_SHIFT", 1)
    column = IdColumn()
    ids = sorted(new_id() for _ in range(5))
    fill(column, [ids])
    column._settle()
    assert column.node_of(ids[2][:31]) is None
    assert column.node_of(ids[2] + "0") is None
    assert column.node_of(ids[2] + "\x00") is None
    assert column.node_of(3) is None
    assert [column.node_of(i) for i in ids] == list(range(5))
    with pytest.raises(IndexError):
        column[5]
    assert column[-1] == ids[-1]
    assert column[1:3] == ids[1:3]


def test_an_id_with_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        IdColumn().extend(["abc\x00"])


def test_a_graph_of_versions_added_out_of_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nodes numbered out of creation order: lookups, creation order and the newest
    version still follow the ids (the sorted copy beside the column)."""
    import mlineage as ml

    monkeypatch.setattr(_id_column, "SETTLE_AFTER", 2)
    monkeypatch.setattr(_id_column, "BLOCK_SHIFT", 1)
    tracker = ml.Tracker("m", storage="memory://", capture_environment=False)
    data = ml.DataSnapshot(hash="0")
    versions = [tracker.log(model_path=f"m{i}", dataset=data, metrics={"a": i}) for i in range(9)]
    graph = LineageGraph()
    left = graph.add_many(versions[::-1])  # children first: inserted as parents arrive
    assert left == []
    assert [v.id for v in graph.versions()] == [v.id for v in versions]
    assert graph.latest_id() == versions[-1].id
    assert graph.ids() == [v.id for v in versions]
    for v in versions:
        assert graph.get(v.id).id == v.id
