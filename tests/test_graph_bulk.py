"""A pack added in bulk (``GraphColumns._add_in_order``, the common case of a load) must
leave the graph exactly as the general, row-by-row path does, on random lineages: chains,
branches, merges, parents in earlier packs or missing, packs out of order."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage import _graph_columns
from mlineage._columns import VersionColumns
from mlineage.graph import LineageGraph


class Source:
    """Where the graph's lazy versions would read their records (never read here)."""

    def load_version(self, index: int, version_id: str) -> Any:
        raise AssertionError("no record is read")


@st.composite
def lineages(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, ...]], list[list[int]]]:
    """Ids in creation order, each one's parents (earlier versions; sometimes several, a
    later one or a missing one), and the rows of each pack (creation order within a pack,
    sometimes not)."""
    count = draw(st.integers(0, 400))
    ids = [f"{i * 7919 + 1:032x}" for i in range(count)]
    parents: list[tuple[str, ...]] = []
    for i in range(count):
        kind = draw(st.sampled_from(["chain", "chain", "chain", "root", "branch", "merge"]))
        if i == 0 or kind == "root":
            parents.append(())
        elif kind == "chain":
            parents.append((ids[i - 1],))
        elif kind == "branch":
            parents.append((ids[draw(st.integers(0, i - 1))],))
        else:
            picked = draw(st.lists(st.integers(0, i - 1), min_size=1, max_size=3, unique=True))
            parents.append(tuple(ids[p] for p in picked))
    if count > 1 and draw(st.booleans()):  # a parent made later (a clock behind)
        row = draw(st.integers(0, count - 2))
        parents[row] = (ids[draw(st.integers(row + 1, count - 1))],)
    if count and draw(st.booleans()):  # a parent no pack holds
        row = draw(st.integers(0, count - 1))
        parents[row] = (*parents[row], f"{10**30:032x}")
    cuts = sorted(draw(st.lists(st.integers(0, count), max_size=4)))
    packs = [list(range(a, b)) for a, b in zip([0, *cuts], [*cuts, count], strict=True)]
    if draw(st.booleans()):
        packs = draw(st.permutations(packs))
    if packs and draw(st.booleans()):  # one pack's rows out of order
        packs[0] = draw(st.permutations(packs[0]))
    return ids, parents, [p for p in packs if p]


def build(
    ids: list[str], parents: list[tuple[str, ...]], packs: list[list[int]], *, bulk: bool
) -> tuple[LineageGraph, list[list[int]]]:
    graph, source, left = LineageGraph(), Source(), []
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_graph_columns.GraphColumns, "_bulk", bulk)
        m.setattr(_graph_columns, "_BULK_ROWS", 2)
        for rows in packs:
            columns = VersionColumns(
                ids=[ids[r] for r in rows],
                parents=[parents[r] for r in rows],
                kinds=["update" if r % 3 else "initial" for r in rows],
                names=[None] * len(rows),
                created=[1_700_000_000_000_000 + r for r in rows],
                metrics={"accuracy": [r / 1000 if r % 4 else None for r in rows]},
                nodes=[None] * len(rows),
                sources=[source] * len(rows),
                records=list(range(len(rows))),
            )
            left.append(graph.add_columns(columns))
    return graph, left


def state(graph: LineageGraph) -> dict[str, Any]:
    n = len(graph._ids)
    return {
        "ids": list(graph._ids),
        "first": list(graph._first),
        "extra": dict(graph._extra),
        "children": [graph._children[i] for i in range(n)],
        "kinds": list(graph._kinds),
        "created": list(graph._created),
        "records": list(graph._records),
        "metrics": {
            name: [None if math.isnan(v) else v for v in column]
            for name, column in graph._metrics.items()
        },
        "ordered": graph._ids.ordered,
    }


@settings(max_examples=250, deadline=None)
@given(lineages())
def test_a_pack_added_in_bulk_equals_one_added_row_by_row(
    lineage: tuple[list[str], list[tuple[str, ...]], list[list[int]]],
) -> None:
    ids, parents, packs = lineage
    bulk, left_bulk = build(ids, parents, packs, bulk=True)
    rows, left_rows = build(ids, parents, packs, bulk=False)
    assert left_bulk == left_rows
    assert state(bulk) == state(rows)
    for version_id in [*ids, f"{10**30:032x}", "0" * 32]:
        assert bulk._ids.node_of(version_id) == rows._ids.node_of(version_id)

    def walks(graph: LineageGraph, version_id: str) -> list[list[str]]:
        return [
            [v.id for v in graph.history(version_id)],
            [v.id for v in graph.ancestors(version_id)],
            [v.id for v in graph.descendants(version_id)],
        ]

    for version_id in ids[:: max(1, len(ids) // 7)]:
        if rows._ids.node_of(version_id) is not None:
            assert walks(bulk, version_id) == walks(rows, version_id)


def test_a_load_in_creation_order_takes_the_bulk_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bench's shape: a long chain with a branch and a merge every so often, in one
    # table: every row added in bulk, none left out.
    count = 5_000
    ids = [f"{i + 1:032x}" for i in range(count)]
    parents = [() if i == 0 else (ids[i - 1],) for i in range(count)]
    for i in range(500, count, 1000):
        parents[i] = (ids[i - 1], ids[i - 300])
    taken: list[tuple[int, bool]] = []
    real = _graph_columns.GraphColumns._add_in_order

    def spy(self: _graph_columns.GraphColumns, columns: VersionColumns) -> bool:
        taken.append((len(columns), real(self, columns)))
        return taken[-1][1]

    monkeypatch.setattr(_graph_columns.GraphColumns, "_add_in_order", spy)
    graph, left = build(ids, parents, [list(range(count))], bulk=True)
    assert [t for t in taken if t[0]] == [(count, True)] and left == [[]]
    assert graph._extra[500] == (499, 200) and graph._children[200] == (201, 500)
    assert graph._ids.node_of(ids[-1]) == count - 1 and graph._ids.recent == {}


@pytest.mark.parametrize("parent_row", [1, 99])
def test_a_first_row_whose_parent_is_made_later(parent_row: int) -> None:
    # A clock behind: the first row's parent comes later in the same pack (even last).
    ids = [f"{i + 1:032x}" for i in range(100)]
    parents = [() if i == 0 else (ids[i - 1],) for i in range(100)]
    parents[0] = (ids[parent_row],)
    packs = [list(range(100))]
    bulk, left_bulk = build(ids, parents, packs, bulk=True)
    rows, left_rows = build(ids, parents, packs, bulk=False)
    assert left_bulk == left_rows == [list(range(100))]  # a cycle: none can be placed
    assert state(bulk) == state(rows)
    parents[0], parents[99] = (), ()
    parents[50] = (ids[99],)  # a later parent, no cycle: both place it after its parent
    bulk, left_bulk = build(ids, parents, packs, bulk=True)
    rows, left_rows = build(ids, parents, packs, bulk=False)
    assert left_bulk == left_rows == [[]]
    assert state(bulk) == state(rows)


@pytest.mark.parametrize(
    "shape", [[(), ()], [(), (0,)], [(), (), (1,)], [(), (0,), (0, 1)], [(), (), (0, 1)]]
)
def test_small_packs_of_roots_children_and_merges(shape: list[tuple[int, ...]]) -> None:
    ids = [f"{i + 1:032x}" for i in range(len(shape))]
    parents = [tuple(ids[p] for p in row) for row in shape]
    packs = [list(range(len(shape)))]
    bulk, left_bulk = build(ids, parents, packs, bulk=True)
    rows, left_rows = build(ids, parents, packs, bulk=False)
    assert left_bulk == left_rows == [[]]
    assert state(bulk) == state(rows)
