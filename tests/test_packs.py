"""Compaction into packs: loads stay exact, concurrent readers never miss a record."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlineage as ml
import mlineage.compaction
import mlineage.index
from tests import packfile


def fill(tracker: ml.Tracker, n: int, start: int = 0) -> list[ml.ModelVersion]:
    return [
        tracker.log(
            model_path=f"{i}.pt",
            dataset=ml.DataSnapshot(hash=f"h{i}"),
            metrics={"accuracy": 0.9 - 0.001 * (i % 7)},
            name=f"v{i}",
        )
        for i in range(start, start + n)
    ]


def packed_store(tmp_path: Path, n: int) -> tuple[str, list[ml.ModelVersion], Path]:
    """A store of ``n`` versions compacted into one pack: its URI, versions and pack file."""
    store = str(tmp_path / "s")
    tracker = ml.Tracker("m", storage=store)
    versions = fill(tracker, n)
    tracker.compact()
    (pack,) = (tmp_path / "s/models/m/packs").iterdir()
    return store, versions, pack


def test_compact_then_load_is_identical(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    tracker = ml.Tracker("m", storage=store)
    versions = fill(tracker, 30)
    tracker.set_alias("production", versions[10])
    tracker.annotate(versions[3], notes="why")
    # 30 versions and the annotation; alias moves stay in their log (never packed)
    assert tracker.compact() == 31
    assert list((tmp_path / "s/models/m/versions").iterdir()) == []
    assert [p.name for p in (tmp_path / "s/models/m/aliases/production").iterdir()] == [
        "000000000001.json"
    ]
    packs = list((tmp_path / "s/models/m/packs").iterdir())
    assert len(packs) == 1
    again = ml.Tracker.load("m", storage=store)
    assert again.versions() == versions
    assert again.resolve("production") == versions[10]
    assert again.annotations(versions[3])[0].notes == "why"
    assert again.get_version("v7") == versions[7]
    # more loose records on top of the pack; compacting merges them with the small pack
    more = fill(again, 5, start=30)
    assert ml.Tracker.load("m", storage=store).versions() == versions + more
    assert again.compact() == 36
    assert len(list((tmp_path / "s/models/m/packs").iterdir())) == 1
    assert ml.Tracker.load("m", storage=store).versions() == versions + more
    assert again.compact() == 0
    assert again.compact(merge=False) == 0


def test_records_both_loose_and_packed_are_merged(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    tracker = ml.Tracker("m", storage=store)
    versions = fill(tracker, 5)
    loose = {p.name: p.read_bytes() for p in (tmp_path / "s/models/m/versions").iterdir()}
    tracker.compact()
    for name, data in loose.items():  # as if the compactor was killed before deleting
        (tmp_path / "s/models/m/versions" / name).write_bytes(data)
    assert ml.Tracker.load("m", storage=store).versions() == versions


def test_pack_listing_a_record_twice_is_corrupt(tmp_path: Path) -> None:
    store, versions, pack = packed_store(tmp_path, 3)
    packfile.repeat_version(pack, 0)
    with pytest.raises(ml.CorruptRecord, match="more than once") as info:
        ml.Tracker.load("m", storage=store)
    assert pack.name in str(info.value)
    with pytest.warns(RuntimeWarning, match="more than once"):
        skipped = ml.Tracker.load("m", storage=store, on_error="skip")
    assert skipped.versions() == versions


def test_garbled_pack_fails_its_checksum_and_intact_records_are_salvaged(
    tmp_path: Path,
) -> None:
    store, versions, pack = packed_store(tmp_path, 3)
    header, _ = packfile.read(pack)
    data = bytearray(pack.read_bytes())
    at = packfile.body_start(bytes(data)) + header["index"]["offsets"][2] + 30
    data[at : at + 4] = b"\x00\xff!]"  # bytes of record 2 overwritten, length kept
    pack.write_bytes(bytes(data))
    with pytest.raises(ml.CorruptRecord, match="checksum") as info:
        ml.Tracker.load("m", storage=store)
    assert pack.name in str(info.value) and "mlineage fsck" in str(info.value)
    with pytest.warns(RuntimeWarning, match="checksum"):
        skipped = ml.Tracker.load("m", storage=store, on_error="skip")
    assert skipped.versions() == versions[:2]
    pack.write_bytes(b'{"format": 1, "type": "pack", "versi')
    with pytest.raises(ml.CorruptRecord, match="not valid JSON"):
        ml.Tracker.load("m", storage=store)


def test_record_that_passes_the_checksum_but_not_validation(tmp_path: Path) -> None:
    # Only a writer that wrote it so can make this: the record is found bad when read.
    store, versions, pack = packed_store(tmp_path, 3)
    header, records = packfile.read(pack)
    records[2]["dataset"] = {"hash": ""}
    packfile.write(pack, header, records)
    loaded = ml.Tracker.load("m", storage=store)
    assert loaded.history()[1] == versions[1]
    assert loaded.blame("accuracy") is not None  # the index serves blame
    with pytest.raises(ml.CorruptRecord, match="index 2") as info:
        _ = loaded.latest().dataset  # type: ignore[union-attr]
    assert pack.name in str(info.value)
    report = ml.fsck(store)
    assert [p.kind for p in report.problems] == ["corrupt-record"]


def test_readers_never_miss_a_record_during_compaction(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    writer = ml.Tracker("m", storage=store)
    fill(writer, 40)
    errors: list[BaseException] = []
    stop = threading.Event()
    counts: dict[int, list[int]] = {0: [], 1: []}

    def read(me: int) -> None:
        try:
            while not stop.is_set():
                counts[me].append(len(ml.Tracker.load("m", storage=store)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for t in readers:
        t.start()
    for round_ in range(6):
        fill(writer, 10, start=40 + 10 * round_)
        writer.compact()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    for seen in counts.values():  # each load sees at least what the one before it saw
        assert seen
        assert seen == sorted(seen)
    assert len(ml.Tracker.load("m", storage=store)) == 100


def test_load_with_every_record_damaged_and_skipped(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    fill(ml.Tracker("m", storage=store), 3)
    ml.Tracker("m", storage=store).compact()
    pack = next((tmp_path / "s/models/m/packs").iterdir())
    pack.write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="not valid JSON"):
        tracker = ml.Tracker.load("m", storage=store, on_error="skip")
    assert len(tracker) == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("ids", "../../etc/passwd"),
        ("ids", 7),
        ("parents", [3]),
        ("parents", "0" * 32),
        ("names", ["a"]),
        ("created", "2024-01-01"),
        ("kinds", "Not A Kind"),
        ("offsets", -5),
    ],
)
def test_a_pack_index_of_the_wrong_types_is_refused(
    tmp_path: Path, column: str, value: object
) -> None:
    # Even with a right checksum (the body is untouched), an index that would mislead the
    # graph (a non-id parent, a path in an id, a time that is not a number) is damage.
    store, versions, pack = packed_store(tmp_path, 3)
    header, records = packfile.read(pack)
    header["index"][column][1] = value
    packfile.write(pack, header, records)
    if column == "offsets":  # write() recomputes offsets: damage the file afterwards
        data = pack.read_bytes().replace(b'"offsets":[0,', b'"offsets":[0,-5,', 1)
        pack.write_bytes(data)
    with pytest.raises(ml.CorruptRecord, match="damaged pack header") as info:
        ml.Tracker.load("m", storage=store)
    assert pack.name in str(info.value)
    with pytest.warns(RuntimeWarning, match="damaged pack header"):
        salvaged = ml.Tracker.load("m", storage=store, on_error="skip")
    assert salvaged.versions() == versions  # the records themselves are intact
    assert [p.kind for p in ml.fsck(store).problems] == ["corrupt-record"]


def test_metric_floats_survive_the_index_exactly(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    tracker = ml.Tracker("m", storage=store)
    values = [0.1 + 0.2, 1e-300, 5e-324, 1.7976931348623157e308, -0.0, 2.0**53 + 1, 1 / 3]
    for i, value in enumerate(values):
        tracker.log(model_path=f"{i}.pt", dataset=ml.DataSnapshot(hash="h"), metrics={"m": value})
    tracker.compact()
    header, _ = packfile.read(next((tmp_path / "s/models/m/packs").iterdir()))
    assert header["index"]["metrics"]["m"] == [float(v) for v in values]
    loaded = ml.Tracker.load("m", storage=store)
    graph = loaded.graph
    _, series = graph.metric_series(graph.first_parent_indices(loaded.latest().id)[::-1], "m")  # type: ignore[union-attr]
    assert series.tolist() == [float(v) for v in values]
    assert [v.metrics["m"] for v in loaded.versions()] == [float(v) for v in values]


def test_small_packs_are_merged_and_full_ones_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mlineage.compaction, "PACK_RECORDS", 10)
    store = str(tmp_path / "s")
    packs = tmp_path / "s/models/m/packs"
    tracker = ml.Tracker("m", storage=store)
    versions = fill(tracker, 3)
    assert tracker.compact(merge=False) == 3
    versions += fill(tracker, 4, start=3)
    assert tracker.compact(merge=False) == 4
    assert len(list(packs.iterdir())) == 2
    # another process merges the two small packs: one pack of 7 records
    other = ml.Tracker.load("m", storage=store)
    assert other.compact() == 7
    assert len(list(packs.iterdir())) == 1
    # the first tracker still reads the merged pack, and its own packs are gone
    versions += fill(tracker, 12, start=7)
    assert tracker.compact() == 19  # 12 loose + the 7 of the small pack, in 2 packs
    sizes = sorted(packfile.read(p)[0]["versions"] for p in packs.iterdir())
    assert sizes == [9, 10]
    assert tracker.compact() == 0  # one small pack, nothing loose: nothing to do
    for reader in (tracker, ml.Tracker.load("m", storage=store)):
        reader.refresh()
        assert reader.versions() == versions
        assert reader.get_version("v18") == versions[18]
    assert ml.fsck(store).ok


def test_a_full_pack_is_remembered_by_its_id_range_and_its_versions_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer keeps no second copy of a full pack's ids (only the small packs a
    compaction may merge keep theirs); a version it logged and a compactor then packed is
    still read back, through the pack whose id range holds it."""
    monkeypatch.setattr(mlineage.compaction, "PACK_RECORDS", 10)
    monkeypatch.setattr(mlineage.index, "PACK_RECORDS", 10)
    store = str(tmp_path / "s")
    tracker = ml.Tracker("m", storage=store)
    versions = fill(tracker, 23)
    ids = [v.id for v in versions]
    del versions  # held weakly by the writer's graph: read back from the store
    assert tracker.compact() == 23
    packs = sorted(tracker._index.loaded_packs.values(), key=lambda p: p.low or "")
    assert [p.size for p in packs] == [10, 10, 3]
    assert [p.version_ids for p in packs[:2]] == [None, None]  # full: range and size only
    assert packs[2].version_ids == ids[20:]  # small: kept for the next merge
    assert [(p.low, p.high) for p in packs] == [
        (ids[0], ids[9]),
        (ids[10], ids[19]),
        (ids[20], ids[22]),
    ]
    assert [v.model_path for v in tracker.versions()] == [f"{i}.pt" for i in range(23)]
    fill(tracker, 9, start=23)
    assert tracker.compact() == 12  # the 9 loose ones and the small pack's 3
    assert len(tracker.versions()) == 32
    assert ml.fsck(store).ok


def test_reader_that_listed_packs_before_a_merge_finds_the_merged_pack(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    writer = ml.Tracker("m", storage=store)
    versions = fill(writer, 3)
    writer.compact(merge=False)
    versions += fill(writer, 3, start=3)
    writer.compact(merge=False)
    assert len(list((tmp_path / "s/models/m/packs").iterdir())) == 2
    # A deterministic interleaving: the reader lists the two packs, then a compactor
    # merges them (and deletes them) before the reader gets to read them.
    reader_store = ml.open_store(store)
    original_list = reader_store.list
    merged: list[int] = []

    def list_then_merge(prefix: str) -> Iterator[str]:
        keys = list(original_list(prefix))
        if prefix.endswith("/packs/") and not merged:
            merged.append(writer.compact())
        return iter(keys)

    reader_store.list = list_then_merge  # type: ignore[method-assign]
    loaded = ml.Tracker("m", storage=reader_store)
    assert merged == [6]
    assert loaded.versions() == versions


def test_record_offsets_out_of_order_are_a_damaged_header(tmp_path: Path) -> None:
    store, versions, pack = packed_store(tmp_path, 3)
    data = pack.read_bytes()
    header, _ = packfile.read(pack)
    offsets = header["index"]["offsets"]
    swapped = [offsets[0], offsets[2], offsets[1], *offsets[3:]]
    old = ("[" + ",".join(map(str, offsets)) + "]").encode()
    new = ("[" + ",".join(map(str, swapped)) + "]").encode()
    pack.write_bytes(data.replace(old, new, 1))  # the body and its checksum unchanged
    with pytest.raises(ml.CorruptRecord, match="offsets out of order"):
        ml.Tracker.load("m", storage=store)
    with pytest.warns(RuntimeWarning, match="offsets out of order"):
        assert ml.Tracker.load("m", storage=store, on_error="skip").versions() == versions


def test_record_offsets_that_repeat_are_a_damaged_header(tmp_path: Path) -> None:
    # Strictly increasing: two records may not start at the same offset.
    store, versions, pack = packed_store(tmp_path, 3)
    data = pack.read_bytes()
    header, _ = packfile.read(pack)
    offsets = header["index"]["offsets"]
    repeated = [offsets[0], offsets[1], offsets[1], *offsets[3:]]
    old = ("[" + ",".join(map(str, offsets)) + "]").encode()
    new = ("[" + ",".join(map(str, repeated)) + "]").encode()
    pack.write_bytes(data.replace(old, new, 1))
    with pytest.raises(ml.CorruptRecord, match="offsets out of order"):
        ml.Tracker.load("m", storage=store)
    with pytest.warns(RuntimeWarning, match="offsets out of order"):
        assert ml.Tracker.load("m", storage=store, on_error="skip").versions() == versions


def test_parents_well_formed_checks_every_row() -> None:
    from mlineage.codec._pack_fields import parents_well_formed

    a, b, c, d = (f"{i:032x}" for i in range(4))
    assert parents_well_formed([a, b, c, d], [[], [a], [a, b], [b, c]])
    assert parents_well_formed([], [])
    assert not parents_well_formed([a, b, c, d], [[], [a], [a, b], [c, c]])  # a later row
    assert not parents_well_formed([a, b, c, d], [[], [a], [b, b], [a, c]])
    assert not parents_well_formed([a, b, c], [[], [a], [c]])  # its own parent
    assert not parents_well_formed([a, b, c], [[], [a], [a, c]])
    assert not parents_well_formed([a, b], [[], [b, b, a]])


@pytest.mark.parametrize("threaded", [True, False])
def test_a_garbled_body_fails_its_checksum_on_either_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threaded: bool
) -> None:
    # Large packs are checksummed on a second thread while the header parses; small ones
    # inline. Both must catch a changed byte anywhere the checksum covers.
    from mlineage.codec import _pack_frame

    monkeypatch.setattr(_pack_frame, "CHECKSUM_THREAD_FROM", 0 if threaded else 1 << 40)
    started: list[int] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread.name == "mlineage-pack-crc32")
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    store, versions, pack = packed_store(tmp_path, 3)
    assert ml.Tracker.load("m", storage=store).versions() == versions
    assert any(started) == threaded
    data = pack.read_bytes()
    for at in (data.index(b"\n") + 20, len(data) - 30, len(data) - 1):  # table, body, end
        garbled = bytearray(data)
        garbled[at] ^= 1
        pack.write_bytes(bytes(garbled))
        with pytest.raises(ml.CorruptRecord, match="checksum") as info:
            ml.Tracker.load("m", storage=store)
        assert pack.name in str(info.value)
    # A damaged header is refused as before, the checksum thread joined.
    pack.write_bytes(data.replace(b'"versions":3', b'"versions":-3', 1))
    with pytest.raises(ml.CorruptRecord, match="damaged pack header"):
        ml.Tracker.load("m", storage=store)
    assert not [t for t in threading.enumerate() if t.name == "mlineage-pack-crc32"]


def test_a_listed_loose_record_that_was_packed_is_not_vanished(tmp_path: Path) -> None:
    # A compactor deletes loose records after writing their pack: a reader that listed
    # one finds it gone and must find it in a pack it read, not report it lost.
    from mlineage import _keys
    from mlineage._reader import StoreReader
    from mlineage.codec import read_pack
    from mlineage.storage import LocalStore

    store, versions, _ = packed_store(tmp_path, 3)
    lost = "f" * 32
    stale = [_keys.version_key("m", versions[1].id), _keys.version_key("m", lost)]

    class Listing(LocalStore):
        def list(self, prefix: str = "") -> Iterator[str]:
            yield from super().list(prefix)
            if prefix == _keys.versions_prefix("m"):
                yield from stale

    reader = StoreReader(
        Listing(store),
        "m",
        lambda data, key: read_pack(data, key, "m"),
        lambda contents: contents.versions.ids,
    )
    result = reader.read()
    assert result.vanished == [stale[1]]
    assert [len(pack.contents.versions) for pack in result.packs] == [3]
