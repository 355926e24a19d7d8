"""VersionSequence, what history() / ancestors() / descendants() return, behaves like the
list of versions it replaced, and makes only the versions looked at."""

from __future__ import annotations

import copy
import doctest
import gc
import pickle
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage import _graph_walks, _version_sequence
from mlineage.graph import LineageGraph
from mlineage.records import ModelVersion
from tests.test_graph import make_versions

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

#: Each version's parents, as offsets back from it: (1,) continues the line just before
#: it (the common case: long runs), larger offsets branch off older versions, and two or
#: more make a merge; an offset past the first version makes a root.
shapes = st.lists(
    st.one_of(
        st.just((1,)),
        st.just((1,)),
        st.tuples(st.integers(1, 30)),
        st.tuples(st.integers(1, 5), st.integers(2, 30)),
        st.just(()),
    ),
    min_size=1,
    max_size=60,
)


def versions_of(shape: list[tuple[int, ...]]) -> list[ModelVersion]:
    return make_versions([[i - k for k in offsets if k <= i] for i, offsets in enumerate(shape)])


def reference_of(versions: list[ModelVersion]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(v.id for v in versions)
    graph.add_edges_from((p, v.id) for v in versions for p in v.parents)
    return graph


def first_parent_ids(versions: list[ModelVersion], version_id: str) -> list[str]:
    by_id = {v.id: v for v in versions}
    chain = [version_id]
    while by_id[chain[-1]].parents:
        chain.append(by_id[chain[-1]].parents[0])
    return chain


@contextmanager
def walking(by: str) -> Iterator[None]:
    """Walk run by run (``"runs"``) or node by node (``"nodes"``) whatever the runs' length."""
    before = _graph_walks.SHORT_RUN
    _graph_walks.SHORT_RUN = 0 if by == "runs" else 10**9
    try:
        yield
    finally:
        _graph_walks.SHORT_RUN = before


@settings(max_examples=40, deadline=None)
@given(shapes, st.data())
def test_walks_agree_with_networkx_on_long_runs_branches_and_merges(
    shape: list[tuple[int, ...]], data: st.DataObject
) -> None:
    versions = versions_of(shape)
    graph = LineageGraph(versions)
    reference = reference_of(versions)
    a, b = data.draw(st.sampled_from(versions)), data.draw(st.sampled_from(versions))
    for by in ("runs", "nodes"):
        with walking(by):
            for version in versions:
                ancestors = graph.ancestors_by_creation(version.id)
                up = sorted(nx.ancestors(reference, version.id))[::-1]
                assert [v.id for v in ancestors] == up
                descendants = graph.descendants_by_creation(version.id)
                down = sorted(nx.descendants(reference, version.id))
                assert [v.id for v in descendants] == down
                chain = first_parent_ids(versions, version.id)
                assert [v.id for v in graph.first_parent_chain(version.id)] == chain
                assert [v.id for v in graph.history(version.id)] == chain[::-1]
            assert graph.is_ancestor(a.id, b.id) == (a.id in nx.ancestors(reference, b.id))


def test_an_edge_added_later_is_walked(tmp_path: Path) -> None:
    versions = versions_of([(), (1,), (1,), (1,), (3,), (1,)])
    graph = LineageGraph(versions)
    graph.add_edge(ml.LineageEdge(source_id=versions[4].id, target_id=versions[3].id))
    reference = reference_of(versions)
    reference.add_edge(versions[4].id, versions[3].id)
    for by in ("runs", "nodes"):
        with walking(by):
            for version in versions:
                assert [v.id for v in graph.ancestors_by_creation(version.id)] == sorted(
                    nx.ancestors(reference, version.id), reverse=True
                )
                assert [v.id for v in graph.descendants_by_creation(version.id)] == sorted(
                    nx.descendants(reference, version.id)
                )


# -- like a list -----------------------------------------------------------------------------


def tracker_of(shape: list[tuple[int, ...]], name: str) -> tuple[ml.Tracker, list[ModelVersion]]:
    """A tracker that logged ``shape`` (see :data:`shapes`) through the public API."""
    store = f"memory://seq-{name}-{uuid.uuid4().hex}"  # a fresh store for every example
    tracker = ml.Tracker("m", storage=store, capture_environment=False)
    logged: list[ModelVersion] = []
    for i, offsets in enumerate(shape):
        parents = list(dict.fromkeys(logged[i - k].id for k in offsets if k <= i))
        logged.append(
            tracker.log(
                model_path=f"{i}.pt",
                dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
                metrics={"accuracy": 0.9 + (i % 7) / 100},
                timestamp=T0 + timedelta(minutes=i),
                parents=parents,
                kind="merge" if len(parents) > 1 else ("initial" if not parents else "update"),
            )
        )
    return tracker, logged


def check_like_list(seq: Any, expected: list[ModelVersion], data: st.DataObject) -> None:
    """``seq`` answers every list operation as ``expected`` (the list it stands for)."""
    assert isinstance(seq, ml.VersionSequence)
    assert len(seq) == len(expected) and bool(seq) == bool(expected)
    assert seq == expected and expected == seq and (seq != expected) is False
    assert list(seq) == expected and list(reversed(seq)) == expected[::-1]
    size = len(expected)
    for _ in range(5):
        k = data.draw(st.integers(-size - 2, size + 2))
        if -size <= k < size:
            assert seq[k] is expected[k] or seq[k] == expected[k]
        else:
            with pytest.raises(IndexError):
                seq[k]
        part = slice(
            data.draw(st.none() | st.integers(-size - 2, size + 2)),
            data.draw(st.none() | st.integers(-size - 2, size + 2)),
            data.draw(st.none() | st.integers(-3, 3).filter(bool)),
        )
        assert isinstance(seq[part], ml.VersionSequence)
        assert seq[part] == expected[part] and list(seq[part]) == expected[part]
        assert len(seq[part]) == len(expected[part])
    if expected:
        first, last = expected[0], expected[-1]
        assert first in seq and last in seq and seq.index(last) == size - 1
        assert seq.count(first) == 1 and seq[::-1].index(first) == size - 1
        assert seq[0].metric_delta(seq[-1], "accuracy") == first.metric_delta(last, "accuracy")
        assert seq != expected[:-1] and (size == 1 or seq != [*expected[1:], first])
        start = data.draw(st.integers(0, size))
        if start == 0:
            assert seq.index(first, start) == 0
        else:
            with pytest.raises(ValueError, match="not in the sequence"):
                seq.index(first, start)
    assert seq + [None] == [*expected, None]  # noqa: RUF005 (the operator is the point)
    assert [None] + seq == [None, *expected]  # noqa: RUF005
    assert seq + seq == expected + expected
    assert sorted(seq, key=lambda v: v.id) == sorted(expected, key=lambda v: v.id)
    assert "nothing" not in seq and seq.count("nothing") == 0
    assert pickle.loads(pickle.dumps(seq)) == expected
    assert copy.copy(seq) == expected and copy.deepcopy(seq) == expected
    with pytest.raises(TypeError, match="unhashable"):
        hash(seq)
    with pytest.raises(TypeError):
        seq[0] = None  # type: ignore[index]


@settings(max_examples=20, deadline=None)
@given(shapes.map(lambda shape: shape[:25]), st.data())
def test_results_behave_like_the_lists_they_replaced(
    shape: list[tuple[int, ...]], data: st.DataObject
) -> None:
    tracker, logged = tracker_of(shape, "like-list")
    by_id = {v.id: v for v in logged}
    reference = reference_of(logged)
    version = data.draw(st.sampled_from(logged))
    history = [by_id[i] for i in first_parent_ids(logged, version.id)]
    check_like_list(tracker.history(version), history, data)
    check_like_list(tracker.lineage(version).history(), history, data)
    check_like_list(
        tracker.lineage(version).ancestors(),
        [by_id[i] for i in sorted(nx.ancestors(reference, version.id), reverse=True)],
        data,
    )
    check_like_list(
        tracker.lineage(version).descendants(),
        [by_id[i] for i in sorted(nx.descendants(reference, version.id))],
        data,
    )
    latest = [by_id[i] for i in first_parent_ids(logged, logged[-1].id)]
    check_like_list(tracker.history(), latest, data)


def test_equal_to_another_sequence_and_an_empty_model() -> None:
    tracker, logged = tracker_of([(), (1,), (1,), (2,)], "eq")
    assert tracker.history() == tracker.lineage(logged[-1]).history()
    assert tracker.history() != tracker.history(logged[2])
    assert tracker.history(logged[2])[1:] == tracker.history()[1:]
    assert tracker.history(logged[1]) == (logged[1], logged[0])  # any sequence, as before
    empty = ml.Tracker("empty", storage="memory://seq-empty", capture_environment=False)
    assert empty.history() == [] and not empty.history() and len(empty.history()) == 0
    assert repr(empty.history()) == "VersionSequence of 0 versions"


def test_repr_is_capped(tmp_path: Path) -> None:
    tracker, logged = tracker_of([()] + [(1,)] * 29, "repr")
    text = repr(tracker.history())
    lines = text.splitlines()
    assert lines[0] == "VersionSequence of 30 versions"
    assert lines[1] == "  " + repr(logged[-1]) and lines[-1] == "  " + repr(logged[0])
    assert "... 20 more ..." in text and len(lines) == 12
    assert repr(tracker.history(logged[1])).splitlines()[1:] == [
        "  " + repr(logged[1]),
        "  " + repr(logged[0]),
    ]


# -- made when looked at ---------------------------------------------------------------------


def model_versions() -> int:
    return sum(isinstance(o, ModelVersion) for o in gc.get_objects())


def test_a_long_history_makes_only_the_versions_looked_at(tmp_path: Path) -> None:
    count = 3_000
    tracker, _ = tracker_of([()] + [(1,)] * (count - 1), "long")
    store = tracker.store
    tracker.compact()  # a writer packs every 1,000 versions on its own; this packs the rest
    del tracker
    loaded = ml.Tracker.load("m", storage=store)
    latest = loaded.graph.latest()
    assert latest is not None
    gc.collect()
    before = model_versions()
    history = loaded.history()
    ancestors = loaded.lineage(latest).ancestors()
    root = history[-1]
    descendants = loaded.lineage(root).descendants()
    oldest_first = history[::-1]
    assert len(history) == count and len(ancestors) == count - 1
    assert len(descendants) == count - 1 and len(oldest_first[10:20]) == 10
    assert history[0].id == latest.id and oldest_first[0].id == root.id
    assert ancestors[0].id == history[1].id and descendants[-1].id == latest.id
    assert history[1500] in ancestors and ancestors.index(history[1500]) == 1499
    assert history[:3] == [history[0], history[1], history[2]]
    assert history[-1] == oldest_first[0] and history[1:] == ancestors
    # the versions made: those indexed above, and the ones compared item by item
    made = model_versions() - before
    assert made <= 12, made
    assert 100 * made < count


def test_docstring_example_runs() -> None:
    result = doctest.testmod(_version_sequence, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
