"""Handles: the short name of a version (the id's random tail), unique, stable, resolvable."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlineage as ml
from mlineage._ids import HANDLE_LENGTH, handle, handles, new_id
from mlineage.graph import LineageGraph

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _log(tracker: ml.Tracker, i: int, at: datetime) -> ml.ModelVersion:
    return tracker.log(
        model_path=f"m{i}.pt", dataset=ml.DataSnapshot(hash=f"sha256:{i}"), timestamp=at
    )


def test_versions_logged_a_millisecond_apart_have_handles_that_differ_at_a_glance(
    tmp_path: Path,
) -> None:
    tracker = ml.Tracker("m", storage=str(tmp_path / "s"), capture_environment=False)
    a = _log(tracker, 0, T0)
    b = _log(tracker, 1, T0 + timedelta(milliseconds=1))
    # Their ids look alike (the time comes first) ...
    assert a.id[:11] == b.id[:11]
    # ... their handles do not: 8 random digits, nearly all of them different.
    ha, hb = tracker.abbrev(a), tracker.abbrev(b)
    assert len(ha) == len(hb) == HANDLE_LENGTH
    assert sum(x != y for x, y in zip(ha, hb, strict=True)) >= 2
    assert (ha, hb) == (a.short_id, b.short_id) == (a.id[-8:], b.id[-8:])


def test_every_shown_handle_resolves_and_survives_reloading_and_compaction(
    tmp_path: Path,
) -> None:
    store = str(tmp_path / "s")
    tracker = ml.Tracker("m", storage=store, capture_environment=False)
    versions = [_log(tracker, i, T0 + timedelta(microseconds=1000 * i)) for i in range(30)]
    shown = [tracker.abbrev(v) for v in versions]
    assert shown == [v.short_id for v in versions] == list(tracker.to_pandas()["short_id"])
    for version, short in zip(versions, shown, strict=True):
        assert tracker.get_version(short) == version
        assert tracker.get_version(short.upper()) == version
        assert short in repr(version) and short in str(version)
    # Newer versions do not change an older version's handle, nor does packing the store.
    _log(tracker, 99, T0 + timedelta(days=1))
    tracker.compact()
    again = ml.Tracker.load("m", storage=store)
    assert [again.abbrev(v.id) for v in versions] == shown
    # A new process computes the same handles.
    code = (
        f"import mlineage as ml; t = ml.Tracker.load('m', storage={store!r}); "
        "print(' '.join(t.abbrev(i) for i in t.graph.ids()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[:30] == shown


def _version(version_id: str, i: int) -> ml.ModelVersion:
    at = T0 + timedelta(seconds=i)
    return ml.ModelVersion(
        id=version_id,
        model="m",
        created_at=at,
        model_path=f"{i}.pt",
        dataset=ml.DataSnapshot(hash=f"h{i}"),
    )


def test_a_real_collision_gets_a_longer_handle_and_the_older_version_keeps_its_own(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s"
    tracker = ml.Tracker("m", storage=str(store), capture_environment=False)
    first = _log(tracker, 0, T0)
    # A second version whose id ends with the same 8 digits (one chance in 2**32).
    twin = _version(new_id(T0 + timedelta(hours=1))[:-12] + "0000" + first.id[-8:], 1)
    (store / f"models/m/versions/{twin.id}.json").write_bytes(ml.codec.encode_version(twin))
    tracker = ml.Tracker.load("m", storage=str(store))
    assert tracker.abbrev(first) == first.id[-8:]
    assert tracker.abbrev(twin.id) == twin.id[-12:] == "0000" + first.id[-8:]
    assert tracker.get_version(first.id[-8:]) == first
    assert tracker.get_version(twin.id[-12:]).id == twin.id
    assert list(tracker.to_pandas()["short_id"]) == [first.id[-8:], twin.id[-12:]]


def test_a_string_that_is_one_versions_handle_and_anothers_prefix_is_ambiguous() -> None:
    a = _version(new_id(T0), 0)
    b_id = new_id(T0 + timedelta(minutes=5))
    b = _version(b_id[:-8] + a.id[:8], 1)  # b's handle is a's 8-digit prefix
    tracker = ml.Tracker("m", storage="memory://handles-ambiguous", capture_environment=False)
    tracker.graph.add_many([a, b])
    with pytest.raises(
        ml.AmbiguousReference, match=f"{a.short_id}.*{b.short_id}|{b.short_id}.*{a.short_id}"
    ):
        tracker.get_version(a.id[:8])
    assert tracker.get_version(a.id[:9]) == a  # a longer prefix is a's alone


# Ids whose last 8 digits come from a small pool, so that they collide often.
_ids = st.lists(
    st.tuples(st.integers(0, 10**9), st.integers(0, 1), st.integers(0, 3)),
    min_size=1,
    max_size=40,
    unique_by=lambda t: t[0],
).map(lambda rows: sorted(f"{ms:012x}70008000{mid:04x}{tail:08x}" for ms, mid, tail in rows))


@settings(max_examples=200, deadline=None)
@given(_ids)
def test_handles_are_unique_suffixes_stable_as_newer_ids_arrive_and_resolve(
    ids: list[str],
) -> None:
    shown = handles(ids)
    assert len(set(shown)) == len(ids)
    for identifier, short in zip(ids, shown, strict=True):
        assert identifier.endswith(short)
        assert len(short) in range(HANDLE_LENGTH, 33, 4) or len(short) == 32
        assert short == handle(identifier, ids)
    # The oldest id with a given tail keeps the 8-digit handle.
    seen: set[str] = set()
    for identifier, short in zip(ids, shown, strict=True):
        tail = identifier[-HANDLE_LENGTH:]
        assert (len(short) == HANDLE_LENGTH) == (tail not in seen)
        seen.add(tail)
    # Logging newer versions never changes an older version's handle.
    for k in range(len(ids)):
        assert handles(ids[:k]) == shown[:k]
    # The graph (in any insertion order) gives the same handles, and resolves each one.
    graph = LineageGraph(_version(i, n) for n, i in enumerate(reversed(ids)))
    assert [graph.handle(i) for i in ids] == shown
    for identifier, short in zip(ids, shown, strict=True):
        assert graph.match_handle(short) == identifier
