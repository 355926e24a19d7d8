"""fsck: every kind of damage is found on a store written by the real Tracker, then damaged.

Each case builds a small store (named versions, archived checkpoints, a directory dataset
with its manifest, an alias, an annotation), damages it the way a bad disk, a killed
writer or a careless hand would, and checks that ``fsck`` names the problem and the key,
that the command exits 1, and what a Tracker makes of the same store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

import mlineage as ml
from mlineage.fsck import Problem, fsck
from mlineage.storage import LocalStore
from tests import packfile

MODEL = "fraud-detector"
SRC = Path(__file__).parents[1] / "src"


@dataclass
class Built:
    root: Path
    versions: list[ml.ModelVersion]

    @property
    def model_dir(self) -> Path:
        return self.root / "models" / MODEL

    def version_file(self, index: int) -> Path:
        return self.model_dir / "versions" / f"{self.versions[index].id}.json"

    def key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def pack(self) -> Path:
        (pack,) = (self.model_dir / "packs").iterdir()
        return pack

    def blob(self, key: str | None) -> Path:
        assert key is not None
        return self.root / key


def _build(root: Path, work: Path, *, packed: bool) -> Built:
    (work / "data").mkdir(parents=True)
    (work / "data" / "a.csv").write_text("id,amount\n1,10\n")
    (work / "data" / "b.csv").write_text("id,amount\n2,20\n")
    tracker = ml.Tracker(MODEL, storage=str(root), archive=True)
    versions = []
    for i in range(4):
        checkpoint = work / f"model_{i}.pt"
        checkpoint.write_bytes(f"weights {i} ".encode() * 1000)
        versions.append(
            tracker.log(
                model_path=str(checkpoint),
                dataset=ml.DataSnapshot.from_path(work / "data"),
                metrics={"accuracy": 0.9 + i / 100},
                name=f"v{i}",
            )
        )
    tracker.set_alias("production", versions[1])
    tracker.annotate(versions[2], notes="checked by hand")
    if packed:
        assert tracker.compact() == 5  # the alias move stays in its log, unpacked
    return Built(root, versions)


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Built]:
    """One store of each shape per module, written by the real Tracker; tests damage copies."""
    base = tmp_path_factory.mktemp("templates")
    return {
        packed: _build(base / f"store-{packed}", base / f"work-{packed}", packed=packed)
        for packed in (False, True)
    }


@pytest.fixture
def build(templates: dict[bool, Built], tmp_path: Path) -> Callable[..., Built]:
    def copy(*, packed: bool = False) -> Built:
        template = templates[packed]
        root = tmp_path / "store"
        shutil.copytree(template.root, root)
        return Built(root, template.versions)

    return copy


def files_under(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


# -- a clean store ------------------------------------------------------------------------


def test_clean_store_is_ok(build: Callable[..., Built]) -> None:
    built = build()
    report = fsck(str(built.root))
    assert report.ok, str(report)
    assert report.problems == []
    assert report.counts == {}
    assert report.checked["models"] == 1
    assert report.checked["versions"] == 4
    assert report.checked["events"] == 2
    assert report.checked["name claims"] == 4
    # four checkpoints and one manifest (the same data directory every time), at least
    assert report.checked["blobs"] >= 5
    assert str(report).endswith("no problems")
    assert report.to_dict()["ok"] is True
    result = cli("fsck", "--store", str(built.root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout
    as_json = json.loads(cli("--store", str(built.root), "fsck", "--json").stdout)
    assert as_json["ok"] is True
    assert as_json["problems"] == []


def test_clean_packed_store_is_ok(build: Callable[..., Built]) -> None:
    built = build(packed=True)
    report = fsck(built.root)
    assert report.ok, str(report)
    assert report.checked["packs"] == 1
    assert report.checked["versions"] == 4


@pytest.mark.parametrize("fmt", [1, 2, 3, 4, 5])
def test_released_format_store_is_ok(fmt: int) -> None:
    report = fsck(Path(__file__).parent / "data" / f"store-format-{fmt}", verify_blobs=True)
    assert report.ok, str(report)
    assert report.checked["versions"] == 3 and report.checked["packs"] == 1


def test_empty_and_memory_stores(tmp_path: Path) -> None:
    assert fsck(tmp_path / "nothing-here").ok
    tracker = ml.Tracker("m", storage="memory://fsck-test")
    tracker.log(model_path="m.pt", dataset=ml.DataSnapshot(hash="sha256:0"), name="first")
    report = fsck("memory://fsck-test")
    assert report.ok, str(report)
    assert report.checked["temporary files"] == 0


def test_fsck_writes_nothing(build: Callable[..., Built]) -> None:
    built = build()
    built.version_file(3).write_bytes(b"{")
    before = {p: p.stat().st_mtime_ns for p in built.root.rglob("*")}
    assert not fsck(built.root).ok
    assert {p: p.stat().st_mtime_ns for p in built.root.rglob("*")} == before


# -- each kind of damage ------------------------------------------------------------------


@dataclass
class Case:
    """One way to damage a store.

    ``damage`` returns the key fsck must name. ``load`` says what ``Tracker.load`` does:
    ``"raise"`` (CorruptRecord naming ``load_key``, which defaults to that key), ``"newer"``
    (StoreFormatError) or ``"loads"`` (readers do not look where the damage is).
    ``skipped`` lists the indices of versions a lenient load leaves out, and ``warnings``
    how many keys it warns about.
    """

    kind: str
    damage: Callable[[Built], str]
    load: str = "raise"
    skipped: tuple[int, ...] = ()
    packed: bool = False
    warnings: int = 1


def _truncate(b: Built) -> str:
    path = b.version_file(3)
    path.write_bytes(path.read_bytes()[:57])
    return b.key(path)


def _garble(b: Built) -> str:
    path = b.version_file(3)
    data = bytearray(path.read_bytes())
    for i in range(40, len(data), 97):  # bytes flipped here and there, length kept
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return b.key(path)


def _invalid_record(b: Built) -> str:
    path = b.version_file(3)
    doc = json.loads(path.read_text())
    doc["record"]["metrics"] = {"accuracy": "high"}
    path.write_text(json.dumps(doc))
    return b.key(path)


def _format_99(b: Built) -> str:
    path = b.version_file(3)
    doc = json.loads(path.read_text())
    doc["format"] = 99
    path.write_text(json.dumps(doc))
    return b.key(path)


def _under_wrong_key(b: Built) -> str:
    # Version 3's bytes stored under an id that is not its own.
    other = b.model_dir / "versions" / f"{b.versions[3].id[:-4]}beef.json"
    other.write_bytes(b.version_file(3).read_bytes())
    return b.key(other)


def _of_another_model(b: Built) -> str:
    path = b.version_file(3)
    doc = json.loads(path.read_text())
    doc["record"]["model"] = "another-model"
    path.write_text(json.dumps(doc))
    return b.key(path)


def _delete_parent(b: Built) -> str:
    b.version_file(1).unlink()
    return b.key(b.version_file(2))


def _unclaimed_name(b: Built) -> str:
    # What a writer killed between claiming a name and writing its version leaves.
    claim = b.model_dir / "names" / "v4.json"
    claim.write_text(
        json.dumps({"format": 1, "type": "name", "name": "v4", "version": "0" * 31 + "1"})
    )
    return b.key(claim)


def _missing_claim(b: Built) -> str:
    (b.model_dir / "names" / "v2.json").unlink()
    return b.key(b.version_file(2))


def _claim_by_another(b: Built) -> str:
    claim = b.model_dir / "names" / "v2.json"
    doc = json.loads(claim.read_text())
    doc["version"] = b.versions[3].id
    claim.write_text(json.dumps(doc))
    return b.key(b.version_file(2))


def _garbled_claim(b: Built) -> str:
    claim = b.model_dir / "names" / "v0.json"
    claim.write_bytes(b'{"format": 1, "ty')
    return b.key(claim)


def _dangling_event(b: Built) -> str:
    tracker = ml.Tracker.load(MODEL, storage=str(b.root))
    event = tracker.annotate(b.versions[3], notes="about to vanish")
    (b.model_dir / "names" / "v3.json").unlink()
    b.version_file(3).unlink()
    return f"models/{MODEL}/events/{event.id}.json"


def _flip_blob_byte(b: Built) -> str:
    artifact = b.versions[2].model_artifact
    assert artifact is not None
    path = b.blob(artifact.blob)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return b.key(path)


def _delete_blob(b: Built) -> str:
    artifact = b.versions[0].model_artifact
    assert artifact is not None
    b.blob(artifact.blob).unlink()
    return artifact.blob or ""


def _delete_manifest(b: Built) -> str:
    manifest = b.versions[0].dataset.manifest
    b.blob(manifest).unlink()
    return manifest or ""


def _temp_file(b: Built) -> str:
    # What a writer killed before linking its record into place leaves.
    temp = b.model_dir / "versions" / f".{b.versions[3].id[:-4]}cafe.json.tmp-0123456789ab"
    temp.write_bytes(b.version_file(3).read_bytes()[:100])
    return b.key(temp)


def _duplicate_in_pack(b: Built) -> str:
    pack = b.pack()
    packfile.repeat_version(pack, 1)
    return b.key(pack)


def _garbled_in_pack(b: Built) -> str:
    # Bytes flipped inside version 3's line: the pack fails its checksum.
    pack = b.pack()
    data = bytearray(pack.read_bytes())
    header, _ = packfile.read(pack)
    offsets = header["index"]["offsets"]
    body = packfile.body_start(bytes(data))
    for i in range(body + offsets[3] + 20, body + offsets[4] - 3, 37):
        data[i] ^= 0x5A
    pack.write_bytes(bytes(data))
    return b.key(pack)


def _invalid_in_pack(b: Built) -> str:
    # A record that does not validate, in a pack whose checksum is right (only a writer
    # that wrote it so can make this): readers find it when they read that record.
    pack = b.pack()
    header, records = packfile.read(pack)
    records[3]["created_at"] = "yesterday"
    packfile.write(pack, header, records)
    return b.key(pack)


def _truncated_pack(b: Built) -> str:
    pack = b.pack()
    pack.write_bytes(pack.read_bytes()[:-200])
    return b.key(pack)


def _pack_format_99(b: Built) -> str:
    pack = b.pack()
    header, records = packfile.read(pack)
    packfile.write(pack, dict(header, format=99), records)
    return b.key(pack)


def _conflicting_duplicate(b: Built) -> str:
    # A loose copy of a packed version that says something else.
    _, records = packfile.read(b.pack())
    record = records[2]
    record["notes"] = "rewritten"
    loose = b.model_dir / "versions" / f"{record['id']}.json"
    loose.write_text(json.dumps({"format": 1, "type": "version", "record": record}))
    return b.key(b.pack())


def _garbled_marker(b: Built) -> str:
    (b.root / "mlineage.json").write_bytes(b"\x00\x01garbage")
    return "mlineage.json"


def _marker_format_99(b: Built) -> str:
    (b.root / "mlineage.json").write_text(json.dumps({"format": 99, "kind": "mlineage-store"}))
    return "mlineage.json"


CASES = {
    "truncated-record": Case("corrupt-record", _truncate, skipped=(3,)),
    "garbled-record": Case("corrupt-record", _garble, skipped=(3,)),
    "invalid-record": Case("corrupt-record", _invalid_record, skipped=(3,)),
    "record-format-99": Case("newer-format", _format_99, load="newer"),
    "record-under-wrong-key": Case("misplaced-record", _under_wrong_key),
    "record-of-another-model": Case("misplaced-record", _of_another_model, skipped=(3,)),
    # A reader cannot place version 3 either (its parent is left out): two warnings.
    "deleted-parent": Case("dangling-parent", _delete_parent, skipped=(1, 2, 3), warnings=2),
    "unclaimed-name": Case("unclaimed-name", _unclaimed_name, load="loads"),
    "missing-name-claim": Case("missing-name-claim", _missing_claim, load="loads"),
    "name-claimed-by-another": Case("name-conflict", _claim_by_another, load="loads"),
    "garbled-name-claim": Case("corrupt-record", _garbled_claim, load="loads"),
    "dangling-event": Case("dangling-event", _dangling_event, load="loads"),
    "flipped-blob-byte": Case("bad-blob", _flip_blob_byte, load="loads"),
    "deleted-blob": Case("missing-blob", _delete_blob, load="loads"),
    "deleted-manifest": Case("missing-manifest", _delete_manifest, load="loads"),
    "temp-file": Case("temp-file", _temp_file, load="loads"),
    "duplicate-in-pack": Case("duplicate-in-pack", _duplicate_in_pack, packed=True),
    "garbled-in-pack": Case("corrupt-record", _garbled_in_pack, packed=True, skipped=(3,)),
    "invalid-in-pack": Case("corrupt-record", _invalid_in_pack, packed=True, load="loads"),
    # the intact lines of a truncated pack are salvaged; only the cut record is lost
    "truncated-pack": Case("corrupt-record", _truncated_pack, packed=True),
    "pack-format-99": Case("newer-format", _pack_format_99, packed=True, load="newer"),
    "conflicting-duplicate": Case(
        "conflicting-duplicate", _conflicting_duplicate, packed=True, load="loads"
    ),
    "garbled-marker": Case("bad-marker", _garbled_marker),
    "marker-format-99": Case("newer-format", _marker_format_99, load="newer"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_damage_is_found(build: Callable[..., Built], name: str) -> None:
    case = CASES[name]
    built = build(packed=case.packed)
    key = case.damage(built)
    report = fsck(built.root)
    assert not report.ok
    found = next((p for p in report.problems if p.kind == case.kind and p.key == key), None)
    assert found is not None, str(report)
    assert report.counts[case.kind] >= 1
    assert found.message and "run `mlineage fsck`" not in found.message
    assert f"{case.kind}: {key}: " in str(report)
    assert str(report).splitlines()[-1] == report.summary()
    assert any(p["kind"] == case.kind for p in report.to_dict()["problems"])


@pytest.mark.parametrize("name", ["garbled-record", "deleted-parent", "duplicate-in-pack"])
def test_cli_exits_1_and_lists_problems(build: Callable[..., Built], name: str) -> None:
    case = CASES[name]
    built = build(packed=case.packed)
    key = case.damage(built)
    result = cli("--store", str(built.root), "fsck")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{case.kind}: {key}: " in result.stdout
    assert result.stdout.splitlines()[-1] == fsck(built.root).summary()
    as_json = json.loads(cli("fsck", "--store", str(built.root), "--json").stdout)
    assert as_json["ok"] is False
    assert as_json["counts"][case.kind] >= 1


def test_one_deleted_version_is_reported_once_per_consequence(build: Callable[..., Built]) -> None:
    # Its child has a dangling parent (the grandchild is not reported again), its name
    # claim points at no record, and the alias that pointed at it dangles.
    built = build()
    _delete_parent(built)
    report = fsck(built.root)
    assert Counter(kinds(report.problems)) == {
        "dangling-parent": 1,
        "unclaimed-name": 1,
        "dangling-event": 1,
    }, str(report)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.load == "raise"])
def test_tracker_names_the_damaged_key_or_skips_it(build: Callable[..., Built], name: str) -> None:
    case = CASES[name]
    built = build(packed=case.packed)
    key = case.damage(built)
    with pytest.raises(ml.CorruptRecord) as info:
        ml.Tracker.load(MODEL, storage=str(built.root))
    message = str(info.value)
    # the key, or for a version that cannot be placed in the lineage, its id
    assert key in message or Path(key).stem in message
    assert "mlineage fsck" in message
    if key == "mlineage.json":
        return  # a damaged marker stops every tracker; there is nothing to skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The constructor, not load: a lenient load of a store whose only pack is unreadable
        # finds no versions, and load insists on some.
        tracker = ml.Tracker(MODEL, storage=str(built.root), on_error="skip")
        tracker.refresh()  # looking again does not warn again
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == case.warnings, messages  # once per bad key, not per look
    assert any(key in m or Path(key).stem in m for m in messages)
    expected = [v for i, v in enumerate(built.versions) if i not in case.skipped]
    assert [v.id for v in tracker.versions()] == [v.id for v in expected]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.load == "newer"])
def test_tracker_refuses_newer_formats_even_when_skipping(
    build: Callable[..., Built], name: str
) -> None:
    # A record from a newer mlineage is not damage: skipping it would silently drop data.
    case = CASES[name]
    built = build(packed=case.packed)
    case.damage(built)
    modes: tuple[Literal["raise", "skip"], ...] = ("raise", "skip")
    for on_error in modes:
        with pytest.raises(ml.StoreFormatError, match="upgrade mlineage"):
            ml.Tracker.load(MODEL, storage=str(built.root), on_error=on_error)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.load == "loads"])
def test_readers_do_not_trip_over_damage_they_never_read(
    build: Callable[..., Built], name: str
) -> None:
    case = CASES[name]
    built = build(packed=case.packed)
    case.damage(built)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker = ml.Tracker.load(MODEL, storage=str(built.root))
    assert len(tracker) == len(built.versions) - (name == "dangling-event")


def test_newer_marker_stops_the_check(build: Callable[..., Built]) -> None:
    built = build()
    _marker_format_99(built)
    _truncate(built)
    report = fsck(built.root)
    assert kinds(report.problems) == ["newer-format"]
    assert "nothing else was checked" in report.problems[0].message


def test_manifest_damage_without_blob_verification(build: Callable[..., Built]) -> None:
    built = build()
    manifest = built.blob(built.versions[0].dataset.manifest)
    manifest.write_bytes(manifest.read_bytes().replace(b'"a.csv"', b'"x.csv"'))
    verified = fsck(built.root)
    assert kinds(verified.problems) == ["bad-blob"]  # reported once, as the blob it is
    unverified = fsck(built.root, verify_blobs=False)
    assert kinds(unverified.problems) == ["corrupt-manifest"]
    assert unverified.problems[0].key == built.key(manifest)
    result = cli("--store", str(built.root), "fsck", "--no-blobs", "--json")
    assert json.loads(result.stdout)["counts"] == {"corrupt-manifest": 1}


def test_flipped_blob_is_not_noticed_without_verification(build: Callable[..., Built]) -> None:
    built = build()
    _flip_blob_byte(built)
    assert fsck(built.root, verify_blobs=False).ok


def test_identical_copies_loose_and_packed_are_fine(build: Callable[..., Built]) -> None:
    # What a compaction killed between writing its pack and deleting the loose records,
    # or two compactions at once, leave behind.
    built = build()
    loose = {p: p.read_bytes() for p in (built.model_dir / "versions").iterdir()}
    tracker = ml.Tracker.load(MODEL, storage=str(built.root))
    tracker.compact()
    for path, data in loose.items():
        path.write_bytes(data)
    report = fsck(built.root)
    assert report.ok, str(report)
    assert report.checked["versions"] == 4


# -- repair -------------------------------------------------------------------------------


def test_repair_removes_old_temp_files_only(build: Callable[..., Built]) -> None:
    built = build()
    old_key = _temp_file(built)
    old = built.root / old_key
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    young = built.model_dir / "events" / ".0123.json.tmp-fedcba987654"
    young.write_bytes(b"{")
    young_key = built.key(young)
    _truncate(built)  # a damaged record must survive repair untouched
    _unclaimed_name(built)
    keys_before = sorted(LocalStore(built.root).list())
    files_before = files_under(built.root)

    report = fsck(built.root)
    assert sorted(p.key for p in report.problems if p.kind == "temp-file") == sorted(
        [old_key, young_key]
    )
    assert report.removed == []

    report = fsck(built.root, repair=True)
    assert report.removed == [old_key]
    assert not old.exists()
    assert young.exists()
    temp = [p for p in report.problems if p.kind == "temp-file"]
    assert [p.key for p in temp] == [young_key]
    assert "running writer" in temp[0].message
    assert {"corrupt-record", "unclaimed-name"} <= set(report.counts)
    assert "removed 1 temporary file" in str(report)
    assert sorted(LocalStore(built.root).list()) == keys_before
    assert files_under(built.root) == sorted(set(files_before) - {old_key})

    result = cli("--store", str(built.root), "fsck", "--repair", "--temp-age", "0")
    assert result.returncode == 1  # the damaged record and the stale claim remain
    assert f"removed temporary file {young_key}" in result.stdout
    assert not young.exists()
    assert sorted(LocalStore(built.root).list()) == keys_before
    assert files_under(built.root) == sorted(set(files_before) - {old_key, young_key})


def test_repair_on_a_read_only_store_is_refused(build: Callable[..., Built]) -> None:
    built = build()
    with pytest.raises(ml.ReadOnlyError):
        fsck(LocalStore(built.root, read_only=True), repair=True)
    assert fsck(LocalStore(built.root, read_only=True)).ok


# -- the command line ---------------------------------------------------------------------


def test_cli_errors_exit_2() -> None:
    result = cli("fsck", "--store", "nosuchscheme://x")
    assert result.returncode == 2
    assert "unknown storage scheme" in result.stderr


def test_cli_compact(build: Callable[..., Built]) -> None:
    built = build()
    result = cli("compact", "--store", str(built.root), MODEL)
    assert result.returncode == 0, result.stderr
    assert "packed 5 records" in result.stdout
    assert list((built.model_dir / "versions").iterdir()) == []
    assert cli("--store", str(built.root), "compact", MODEL).stdout.startswith("packed 0 records")
    loaded = ml.Tracker.load(MODEL, storage=str(built.root)).versions()
    assert [v.id for v in loaded] == [v.id for v in built.versions]
    assert fsck(built.root).ok
    missing = cli("compact", "--store", str(built.root), "no-such-model")
    assert missing.returncode == 2
    assert "no-such-model" in missing.stderr


def test_report_to_dict_is_json(build: Callable[..., Built]) -> None:
    built = build()
    _delete_blob(built)
    data = fsck(built.root).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["counts"] == {"missing-blob": 1}
    assert set(data) == {"store", "ok", "checked", "counts", "problems", "removed"}


def test_missing_environment_blob(build: Callable[..., Built]) -> None:
    built = build()
    ref = built.versions[0].environment_ref
    assert ref is not None  # captured by default, stored once for the four versions
    built.blob(ref).unlink()
    report = fsck(built.root)
    assert kinds(report.problems) == ["missing-blob"]
    assert report.problems[0].key == ref
    assert "environment blob" in report.problems[0].message


@pytest.mark.parametrize("server_fixture", ["s3_env", "gcs_env"])
def test_remote_stores(request: pytest.FixtureRequest, server_fixture: str) -> None:
    uri = request.getfixturevalue(server_fixture).new_uri()
    tracker = ml.Tracker(MODEL, storage=uri)
    first = tracker.log(model_path="a.pt", dataset=ml.DataSnapshot(hash="sha256:a"), name="a")
    tracker.log(model_path="b.pt", dataset=ml.DataSnapshot(hash="sha256:b"))
    tracker.compact()
    clean = fsck(uri)
    assert clean.ok, str(clean)
    assert clean.checked["versions"] == 2
    assert clean.checked["temporary files"] == 0  # object-store writes are atomic
    key = f"models/{MODEL}/versions/{first.id}.json"
    tracker.store.put(key, b'{"format": 1, "type": "vers', mode="overwrite")
    assert kinds(fsck(uri).problems) == ["corrupt-record"]
    assert fsck(uri).problems[0].key == key
