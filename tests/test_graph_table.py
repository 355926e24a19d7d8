"""``LineageGraph.table`` (what ``Tracker.to_pandas`` shows) row by row against the version
objects: packs read in bulk, versions held, read, decoded or written, nodes out of order."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel

from mlineage._columns import TABLE_FIELDS, VersionColumns, table_fields, utc_micros
from mlineage._ids import new_id
from mlineage.graph import LineageGraph as GraphColumns
from mlineage.records import DataSnapshot, ModelVersion, RecordCache

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


class Store:
    """The store a writer wrote to: records by number, no table; the graph keeps its
    versions only while someone holds them."""

    weak = True

    def __init__(self, records: list[ModelVersion]) -> None:
        self.records = records
        self.tables = 0

    def load_version(self, index: int, version_id: str) -> BaseModel:
        record = self.records[index]
        assert record.id == version_id
        return record


class TablePack(Store):
    """A pack: its table fields in bulk too (counted)."""

    weak = False

    def table_fields(self) -> dict[str, list[Any]]:
        self.tables += 1
        rows = [table_fields(record) for record in self.records]
        return {name: [row[k] for row in rows] for k, name in enumerate(TABLE_FIELDS)}


def _lineage(count: int, offset: int, rnd: random.Random) -> list[ModelVersion]:
    """``count`` versions created at ``offset``, ``offset + 2``, ... (merges included)."""
    out: list[ModelVersion] = []
    for k in range(count):
        at = T0 + timedelta(seconds=offset + 2 * k)
        picks = rnd.sample(range(k), min(k, rnd.choice([1, 1, 1, 2, 3]))) if k else []
        out.append(
            ModelVersion(
                id=new_id(at),
                model="m",
                parents=tuple(out[p].id for p in picks),
                created_at=at,
                model_path=f"{k}.pt",
                dataset=DataSnapshot(
                    hash=f"h{k}", path=f"d/{k}" if k % 3 else None, num_rows=k if k % 2 else None
                ),
                metrics={"acc": k / 100} if k % 4 else {"loss": 1.0},
                hyperparameters={"lr": k / 10, "opt": {"b": k}} if k % 5 else {},
                notes=f"note {k}",
                tags=[f"t{k % 3}"],
                name=f"v{k}" if k % 2 else None,
            )
        )
    return out


def _columns(versions: list[ModelVersion], where: dict[str, tuple[Any, int]]) -> VersionColumns:
    """Columns of ``versions``: each unread (``where[id]``: source and record) or decoded."""
    names = sorted({m for v in versions for m in v.metrics})
    return VersionColumns(
        ids=[v.id for v in versions],
        parents=[v.parents for v in versions],
        kinds=[v.kind for v in versions],
        names=[v.name for v in versions],
        created=[utc_micros(v.created_at) for v in versions],
        metrics={m: [v.metrics.get(m) for v in versions] for m in names},
        nodes=[None if v.id in where else v for v in versions],
        sources=[where[v.id][0] if v.id in where else None for v in versions],
        records=[where[v.id][1] if v.id in where else 0 for v in versions],
    )


def _graph(seed: int) -> tuple[GraphColumns, list[Store]]:
    """Two lineages interleaved in time, added one after the other (node order is not
    creation order); in two packs (records in shuffled order, and with records of other
    graphs), a writer's store, and decoded."""
    rnd = random.Random(seed)
    later, earlier = _lineage(70, 1, rnd), _lineage(90, 0, rnd)
    everything = [*later, *earlier]
    other = _lineage(5, 10_000, rnd)  # in a pack, not in the graph
    rnd.shuffle(everything)
    a, b, s = everything[:60], everything[60:110], everything[110:140]  # the rest: decoded
    rnd.shuffle(a)
    packs: list[Store] = [TablePack(a), TablePack([*b, *other]), Store(s)]
    where = {v.id: (pack, n) for pack in packs for n, v in enumerate(pack.records)}
    graph = GraphColumns()
    graph.held_state["records"] = RecordCache()
    for lineage in (later, earlier):
        assert graph.add_columns(_columns(lineage, where)) == []
    assert not graph._ordered
    return graph, packs


def _expected(graph: GraphColumns, nodes: list[int]) -> dict[str, Any]:
    rows = [table_fields(graph.node(i)) for i in nodes]
    out: dict[str, Any] = {name: [row[k] for row in rows] for k, name in enumerate(TABLE_FIELDS)}
    out["id"] = [graph._ids[i] for i in nodes]
    out["parents"] = [tuple(graph._ids[p] for p in graph._parents_of(i)) for i in nodes]
    out["kind"] = [graph._kinds[i] for i in nodes]
    out["created"] = [graph._created[i] for i in nodes]
    return out


def _same_metrics(graph: GraphColumns, table: dict[str, Any], nodes: list[int]) -> None:
    assert set(table["metrics"]) == set(graph._metrics)
    for name, values in table["metrics"].items():
        for k, i in enumerate(nodes):
            expected = graph.node(i).metrics.get(name, math.nan)
            assert values[k] == expected or (math.isnan(values[k]) and math.isnan(expected))


@pytest.mark.parametrize("order", ["creation", "nodes", "reversed", "some twice", "one", "none"])
@pytest.mark.parametrize("held", ["nothing", "made", "read"])
def test_table_row_by_row(order: str, held: str) -> None:
    graph, packs = _graph(seed=len(order) * 7 + len(held))
    size = len(graph._ids)
    rnd = random.Random(3)
    nodes = {
        "creation": graph.creation_indices(),
        "nodes": list(range(size)),
        "reversed": list(range(size))[::-1],
        "some twice": rnd.sample(range(size), 40) * 2,
        "one": [size // 2],
        "none": [],
    }[order]
    if held != "nothing":  # some versions made (lazy) or read (their record in the cache)
        for i in rnd.sample(range(size), 50):
            version = graph.node(i)
            if held == "read":
                assert version.notes
    table = graph.table(nodes)
    assert all(pack.tables <= 1 for pack in packs[:2])  # a pack's table read once at most
    expected = _expected(graph, nodes)
    for name, column in expected.items():
        assert list(table[name]) == column, name
    _same_metrics(graph, table, nodes)
    assert set(table) == {*expected, "metrics"}


def test_a_node_out_of_range_is_refused() -> None:
    graph, _ = _graph(seed=1)
    with pytest.raises(IndexError):
        graph.table([0, len(graph._ids)])


def test_a_loaded_store_in_slices(tmp_path: Any) -> None:
    """A loaded store's packs: a run of consecutive records per pack (slices), then versions
    logged since (no table), and a merge."""
    import mlineage as ml

    store = str(tmp_path / "s")
    writer = ml.Tracker("m", storage=store, capture_environment=False)
    for k in range(40):
        writer.log(
            model_path=f"{k}.pt",
            dataset=ml.DataSnapshot(hash=f"h{k}", num_rows=k if k % 2 else None),
            hyperparameters={"lr": k / 10},
            notes=f"n{k}",
            name=f"v{k}" if k % 3 else None,
        )
    writer.compact()
    tracker = ml.Tracker.load("m", storage=store)
    first = tracker.versions()[0]
    for k in range(3):
        tracker.log(model_path=f"late{k}.pt", dataset=ml.DataSnapshot(hash="x"), parent=first)
    latest = tracker.latest()
    assert latest is not None
    tracker.log(model_path="merge.pt", dataset=ml.DataSnapshot(hash="y"), parents=[latest, first])
    graph = tracker.graph
    nodes = graph.creation_indices()
    table = graph.table(nodes)
    expected = _expected(graph, nodes)
    for name, column in expected.items():
        assert list(table[name]) == column, name
