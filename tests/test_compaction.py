"""A writer compacts on its own: a store that is only ever logged into stays packed.

Also what the writer holds of the versions it logged: their columns, with each version
read back from the store (its loose record, or the pack a compactor moved it into).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlineage as ml
import mlineage.writer
from mlineage import _keys
from mlineage.compaction import AUTO_COMPACT
from mlineage.records import is_lazy
from mlineage.storage import LocalStore


def _log(tracker: ml.Tracker, i: int) -> ml.ModelVersion:
    return tracker.log(
        model_path=f"m{i}.pt",
        dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
        metrics={"accuracy": 0.5 + i / 10_000},
        notes=f"update {i}",
    )


def _loose(store: LocalStore, model: str) -> list[str]:
    return [k for k in store.list(_keys.versions_prefix(model)) if k.endswith(".json")]


def test_a_writer_packs_its_loose_records_past_the_threshold(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s", durable=False)
    tracker = ml.Tracker("m", storage=store, capture_environment=False)
    written = [_log(tracker, i) for i in range(AUTO_COMPACT + 3)]
    assert len(_loose(store, "m")) == 3
    assert list(store.list(_keys.packs_prefix("m")))
    # What the writer logged is read back from the pack now holding it.
    first = tracker.get_version(written[0].id)
    assert is_lazy(first)
    assert first == written[0] and first.notes == "update 0"
    loaded = ml.Tracker.load("m", storage=store)
    assert [v.id for v in loaded.history()] == [v.id for v in reversed(written)]
    assert loaded.versions() == written
    assert ml.fsck(store, verify_blobs=False).ok


class _CountingStore(LocalStore):
    """The real local store, counting how often a pack is read."""

    pack_reads = 0

    def _count(self, key: str) -> None:
        if key.startswith(_keys.packs_prefix("m")):
            type(self).pack_reads += 1

    def get_limited(self, key: str, limit: int) -> bytes:
        self._count(key)
        return super().get_limited(key, limit)

    def map_limited(self, key: str, limit: int) -> object:  # type: ignore[override]
        self._count(key)
        return super().map_limited(key, limit)


def test_self_compaction_reads_each_pack_it_merges_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each self-compaction merges the small pack of the one before with the new loose
    # records: it must read that pack once, not once per version it holds (which made
    # logging 10,000 versions in one process quadratic).
    monkeypatch.setattr(mlineage.writer, "AUTO_COMPACT", 25)
    store = _CountingStore(tmp_path / "s", durable=False)
    tracker = ml.Tracker("m", storage=store, capture_environment=False)
    written = [_log(tracker, i) for i in range(250)]
    compactions = 250 // 25
    assert _CountingStore.pack_reads <= 3 * compactions
    assert len(list(store.list(_keys.packs_prefix("m")))) == 1
    assert ml.Tracker.load("m", storage=store).versions() == written


_WRITER = textwrap.dedent(
    """
    import sys
    import mlineage as ml
    from mlineage.storage import LocalStore

    tracker = ml.Tracker("m", storage=LocalStore(sys.argv[1], durable=False),
                         capture_environment=False)
    for i in range(int(sys.argv[2])):
        v = tracker.log(model_path="m.pt", dataset=ml.DataSnapshot(hash=f"sha256:{i}"),
                        metrics={"accuracy": 0.5})
        print(v.id)
    """
)


def test_writers_compacting_on_their_own_race_with_readers(tmp_path: Path) -> None:
    root = tmp_path / "s"
    seed = ml.Tracker("m", storage=LocalStore(root, durable=False), capture_environment=False)
    _log(seed, 0)
    count = AUTO_COMPACT + AUTO_COMPACT // 2
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(root), str(count)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    loads = 0
    while any(w.poll() is None for w in writers):
        reader = ml.Tracker.load("m", storage=str(root))  # never sees damage or orphans
        assert len(reader) >= 1
        loads += 1
    outputs = [w.communicate()[0].split() for w in writers]
    assert all(w.returncode == 0 for w in writers)
    loaded = ml.Tracker.load("m", storage=str(root))
    assert {v.id for v in loaded.versions()} == {
        *(i for ids in outputs for i in ids),
        *seed.graph.ids(),
    }
    assert len(_loose(LocalStore(root), "m")) < 2 * AUTO_COMPACT
    assert loads > 0
    assert ml.fsck(str(root), verify_blobs=False).ok
