"""LineageGraph's fast paths agree with networkx on random DAGs."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta, timezone

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage._ids import new_id
from mlineage.graph import LineageGraph
from mlineage.records import DataSnapshot, ModelVersion

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def make_versions(parent_choices: list[list[int]]) -> list[ModelVersion]:
    versions: list[ModelVersion] = []
    for i, choices in enumerate(parent_choices):
        parents = tuple(dict.fromkeys(versions[c % i].id for c in choices)) if i else ()
        at = T0 + timedelta(minutes=i)
        versions.append(
            ModelVersion(
                id=new_id(at),
                model="m",
                parents=parents,
                created_at=at,
                model_path=f"{i}.pt",
                dataset=DataSnapshot(hash=f"h{i}"),
                metrics={"m": float(i % 7)},
            )
        )
    return versions


dags = st.lists(st.lists(st.integers(0, 10_000), min_size=1, max_size=3), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(dags, st.randoms(use_true_random=False))
def test_traversals_agree_with_networkx(choices: list[list[int]], rnd: object) -> None:
    versions = make_versions(choices)
    shuffled = list(versions)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    graph = LineageGraph(shuffled)  # insertion order must not matter
    reference = nx.DiGraph()
    reference.add_nodes_from(v.id for v in versions)
    reference.add_edges_from((p, v.id) for v in versions for p in v.parents)
    assert nx.is_directed_acyclic_graph(reference)
    for version in versions:
        # Breadth-first, nearest first (the prototype's contract): the shortest distance
        # of each returned version from the start never decreases, and max_depth cuts it.
        up = nx.single_source_shortest_path_length(reference.reverse(copy=False), version.id)
        ancestors = [v.id for v in graph.ancestors(version.id)]
        assert set(ancestors) == nx.ancestors(reference, version.id)
        assert [up[a] for a in ancestors] == sorted(up[a] for a in ancestors)
        assert {v.id for v in graph.ancestors(version.id, max_depth=1)} == {
            a for a in ancestors if up[a] == 1
        }
        down = nx.single_source_shortest_path_length(reference, version.id)
        descendants = [v.id for v in graph.descendants(version.id)]
        assert set(descendants) == nx.descendants(reference, version.id)
        assert [down[d] for d in descendants] == sorted(down[d] for d in descendants)
        by_creation = [v.id for v in graph.ancestors_by_creation(version.id)]
        assert by_creation == sorted(ancestors, reverse=True)
        assert [v.id for v in graph.descendants_by_creation(version.id)] == sorted(descendants)
        chain = graph.first_parent_chain(version.id)
        assert chain[0] == version
        for child, parent in itertools.pairwise(chain):
            assert child.parents[0] == parent.id
        assert not chain[-1].parents
    assert {v.id for v in graph.roots()} == {n for n in reference if reference.in_degree(n) == 0}
    assert {v.id for v in graph.leaves()} == {n for n in reference if reference.out_degree(n) == 0}
    assert graph.latest() == versions[-1]
    assert set(graph.nx.edges) == set(reference.edges)
    assert repr(graph).endswith(f"{len(versions)} versions, {reference.number_of_edges()} edges>")
    for version in versions:  # oldest first, each child once
        children = [v.id for v in graph.children(version.id)]
        assert children == sorted(reference.successors(version.id))
    assert graph.ids() == sorted(v.id for v in versions)  # creation order
    assert graph.latest_id() == versions[-1].id
    order = [v.id for v in graph.topological_order()]
    position = {vid: i for i, vid in enumerate(order)}
    assert all(position[p] < position[c] for p, c in reference.edges)
    assert order == list(nx.lexicographical_topological_sort(reference, key=str))


def test_missing_parents_are_reported_not_inserted() -> None:
    versions = make_versions([[0], [0], [1], [2]])
    graph = LineageGraph()
    orphans = graph.add_many([versions[0], versions[2], versions[3]])
    assert orphans == [versions[2], versions[3]]
    assert len(graph) == 1
    assert graph.add_many([versions[1], versions[2], versions[3]]) == []
    assert len(graph) == 4


def test_nx_view_stays_current() -> None:
    versions = make_versions([[0], [0], [0]])
    graph = LineageGraph(versions[:2])
    assert graph.nx.number_of_nodes() == 2
    graph.add(versions[2])
    assert graph.nx.number_of_nodes() == 3
    assert graph.nx.nodes[versions[2].id]["version"] == versions[2]
    assert graph.is_ancestor(versions[0].id, versions[2].id)
    assert not graph.is_ancestor(versions[2].id, versions[0].id)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_long_first_parent_chains_match_a_walk_of_the_parents(seed: int, shuffle: bool) -> None:
    # Long chains go by runs of consecutive nodes; whatever the insertion order (runs of
    # nodes break up when versions arrive out of order) and the tips asked for, the chain
    # is the one the parents give.
    rng = random.Random(seed)
    choices = [[i - 1 if rng.random() < 0.97 else rng.randrange(i)] for i in range(1, 600)]
    for i in rng.sample(range(10, 599), 20):  # merges: a first parent and another
        choices[i].append(rng.randrange(i + 1))
    versions = make_versions([[0], *choices])
    inserted = list(versions)
    if shuffle:
        inserted.sort(key=lambda v: rng.random() + versions.index(v) / 50)
    graph = LineageGraph(inserted)
    by_id = {v.id: v for v in versions}
    for version in rng.sample(versions, 40) + versions[-3:]:
        walk = [version.id]
        while by_id[walk[-1]].parents:
            walk.append(by_id[walk[-1]].parents[0])
        assert [graph.node_id(i) for i in graph.first_parent_indices(version.id)] == walk
        assert [graph.node_id(i) for i in graph.first_parent_array(version.id)] == walk


def test_versions_logged_after_an_out_of_order_load_keep_creation_order() -> None:
    versions = make_versions([[0]] * 8)  # every version a child of the first
    graph = LineageGraph([versions[0], versions[1], versions[3], versions[2]])
    for version in versions[4:]:
        graph.add_version(version)  # the newest, one at a time (a writer's log)
    ids = [v.id for v in versions]
    assert graph.ids() == ids
    assert [v.id for v in graph.versions()] == ids
    assert graph.match_prefix(ids[5]) == [ids[5]]
    assert graph.latest_id() == ids[-1]
    assert [v.id for v in graph.children(ids[0])] == ids[1:]
    assert [v.id for v in graph.leaves()] == ids[1:]
