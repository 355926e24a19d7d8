"""The graph makes many lazy versions at once (``GraphColumns._nodes``) exactly as it makes
one (``GraphColumns.node``): same ids, records, held state, and the same objects."""

from __future__ import annotations

import gc
import random
from pathlib import Path

import pytest
from pydantic import BaseModel

import mlineage as ml
from mlineage._columns import VersionColumns
from mlineage._graph_columns import _BULK, GraphColumns
from mlineage.records import ModelVersion, RecordCache, is_lazy, lazy_version


class Pack:
    """A stand-in for a pack: its versions are kept by the graph once made."""

    weak = False

    def __init__(self, name: str) -> None:
        self.name = name

    def load_version(self, index: int, version_id: str) -> BaseModel:
        raise AssertionError("no record is read here")


class Store(Pack):
    """A stand-in for the store a writer wrote to: kept only while someone holds them."""

    weak = True


class Unhashable(Pack):
    __hash__ = None  # type: ignore[assignment]


#: Where the versions decoded when added say they come from.
DECODED = Pack("decoded")


def _id(k: int) -> str:
    return f"{(k * 7919) % 1000:08x}{k:024x}"


def _columns(rows: list[tuple[str, Pack | None, int]]) -> VersionColumns:
    """Roots (no parents): ``(id, source or None for a decoded one, record number)``."""
    count = len(rows)
    return VersionColumns(
        ids=[i for i, _, _ in rows],
        parents=[() for _ in rows],
        kinds=["initial"] * count,
        names=[None] * count,
        created=list(range(count)),
        metrics={},
        nodes=[lazy_version(i, DECODED, 0) if s is None else None for i, s, _ in rows],
        sources=[s for _, s, _ in rows],
        records=[n for _, _, n in rows],
    )


def _graphs(n: int = 3 * _BULK, seed: int = 0) -> tuple[GraphColumns, GraphColumns, list[int]]:
    """Two equal graphs of ``n`` versions whose ids are added out of order, from two packs,
    a weak store and an unhashable source, some decoded; and a shuffled list of nodes
    (some twice)."""
    rnd = random.Random(seed)
    packs: list[Pack] = [Pack("a"), Pack("b"), Store("s"), Unhashable("u")]
    rows: list[tuple[str, Pack | None, int]] = []
    for k in range(n):
        source = None if k % 11 == 0 else packs[rnd.randrange(len(packs))]
        rows.append((_id(k), source, rnd.randrange(10_000)))
    rnd.shuffle(rows)  # added a third at a time: node order is not id order
    graphs = []
    cache = RecordCache()
    for _ in range(2):
        graph = GraphColumns()
        graph.held_state.update(records=cache, environment=print)
        third = len(rows) // 3
        for chunk in (rows[:third], rows[third : 2 * third], rows[2 * third :]):
            assert graph.add_columns(_columns(chunk)) == []  # each sorted by id
        graphs.append(graph)
    assert not graphs[0]._ordered  # node order is not id order
    nodes = list(range(n)) + rnd.sample(range(n), n // 4)  # some asked for twice
    rnd.shuffle(nodes)
    return graphs[0], graphs[1], nodes


def _same(a: ModelVersion, b: ModelVersion) -> None:
    assert type(a) is type(b) is ModelVersion
    assert a.__dict__ == b.__dict__
    assert a.__pydantic_private__ == b.__pydantic_private__
    assert list(a.__pydantic_private__ or ()) == list(b.__pydantic_private__ or ())


def _check(bulk: GraphColumns, single: GraphColumns, nodes: list[int]) -> list[ModelVersion]:
    made = bulk._nodes(nodes)
    expected = [single.node(i) for i in nodes]
    assert len(made) == len(expected) == len(nodes)
    for version, reference, i in zip(made, expected, nodes, strict=True):
        _same(version, reference)
        assert version is bulk.node(i)  # the graph's own object, asked for again
        assert version.__dict__["id"] == bulk._ids[i]
    assert sorted(bulk._held) == sorted(single._held)
    assert sorted(bulk._weak.keys()) == sorted(single._weak.keys())
    return made


def test_bulk_equals_one_at_a_time_when_nothing_was_made() -> None:
    bulk, single, nodes = _graphs()
    decoded = Pack("was decoded")
    for graph in (bulk, single):  # nothing held at all (as after a load)
        graph._held.clear()
        graph._sources = [s or decoded for s in graph._sources]
    made = _check(bulk, single, nodes)
    # a node asked for twice is one object
    first: dict[int, ModelVersion] = {}
    for i, version in zip(nodes, made, strict=True):
        assert first.setdefault(i, version) is version
    for i, version in zip(nodes, made, strict=True):
        private = version.__pydantic_private__ or {}
        source = bulk._sources[i]
        if isinstance(source, Store):  # reads its record into itself
            assert "records" not in private and private["environment"] is print
        else:
            assert private["records"] is bulk.held_state["records"]
            assert private["index"] == bulk._records[i]


def test_bulk_keeps_what_was_made_before() -> None:
    bulk, single, nodes = _graphs(seed=1)
    before = {i: bulk.node(i) for i in nodes[::5]}  # some made one at a time first
    for i in before:
        single.node(i)
    made = _check(bulk, single, nodes)
    for i, version in zip(nodes, made, strict=True):
        if i in before:
            assert version is before[i]
    # all held now: the same list again
    again = bulk._nodes(nodes)
    assert all(a is b for a, b in zip(again, made, strict=True))


def test_weak_versions_go_once_no_one_holds_them() -> None:
    bulk, single, nodes = _graphs(seed=2)
    weak = [i for i in range(len(bulk._sources)) if isinstance(bulk._sources[i], Store)]
    made = _check(bulk, single, nodes)
    kept = {i: bulk.node(i) for i in weak[:3]}
    del made
    gc.collect()
    assert set(bulk._weak.keys()) == set(kept)
    again = bulk._nodes(nodes)
    for i, version in zip(nodes, again, strict=True):
        if i in kept:
            assert version is kept[i]


@pytest.mark.parametrize("order", ["nodes", "reversed", "repeats", "some"])
def test_bulk_with_pack_sources_only(order: str) -> None:
    # every node in node order, from one pack: the columns are used as they are
    packs: list[Pack | None] = [Pack("one"), Pack("two")]
    n = 2 * _BULK
    rows = [(_id(k), packs[k * 2 // n], k % _BULK) for k in range(n)]
    bulk, single, cache = GraphColumns(), GraphColumns(), RecordCache()
    for graph in (bulk, single):
        graph.held_state["records"] = cache
        graph.add_columns(_columns(rows))
    nodes = {
        "nodes": list(range(n)),
        "reversed": list(range(n))[::-1],
        "repeats": [*range(n), *range(0, n, 3)],
        "some": list(range(1, n, 2)) * 2,
    }[order]
    _check(bulk, single, nodes)
    assert bulk._ordered


def test_bulk_refuses_a_node_out_of_range() -> None:
    bulk, _, _ = _graphs(n=_BULK)
    with pytest.raises(IndexError):
        bulk._nodes([*range(_BULK), _BULK])


def _log(tracker: ml.Tracker, count: int) -> list[ml.ModelVersion]:
    out = []
    for k in range(count):
        out.append(
            tracker.log(
                model_path=f"m{k}.pt",
                dataset=ml.DataSnapshot(hash=f"sha256:{k}"),
                metrics={"accuracy": k / 1000},
                notes=f"n{k}",
            )
        )
    return out


def test_a_writers_versions_and_a_loaded_store(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    writer = ml.Tracker("m", storage=store, capture_environment=False)
    written = _log(writer, 2 * _BULK)
    graph = writer.graph
    versions = writer.versions()
    assert [v.id for v in versions] == [v.id for v in written]
    assert all(v is graph.node(graph._index[v.id]) for v in versions)
    assert [v.notes for v in versions] == [f"n{k}" for k in range(2 * _BULK)]
    writer.compact()
    loaded = ml.Tracker.load("m", storage=store)
    first = loaded.versions()
    assert [v.id for v in first] == [v.id for v in written]
    assert all(is_lazy(v) for v in first)
    second = loaded.versions()
    assert all(a is b for a, b in zip(first, second, strict=True))
    history = list(loaded.history())
    assert [v.id for v in history] == [v.id for v in written][::-1]
    assert all(a is b for a, b in zip(history, second[::-1], strict=True))
    assert [v.notes for v in first] == [f"n{k}" for k in range(2 * _BULK)]
    assert first == written


def test_iterating_in_growing_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage import _version_sequence
    from mlineage._version_sequence import VersionSequence

    monkeypatch.setattr(_version_sequence, "_CHUNK", 3)  # chunks of 3, 6, 8, 8, ...
    monkeypatch.setattr(_version_sequence, "_CHUNK_MAX", 8)
    bulk, _, nodes = _graphs(seed=5)
    for indices in (nodes, list(range(len(bulk._sources)))[5:], []):
        sequence = VersionSequence(bulk, indices)
        assert [v.id for v in sequence] == [bulk._ids[i] for i in indices]
        assert all(a is bulk.node(i) for a, i in zip(sequence, indices, strict=True))
        assert [v.id for v in reversed(sequence)] == [bulk._ids[i] for i in indices[::-1]]
