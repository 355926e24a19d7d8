"""Hostile local stores and records: special files, symlinks, oversized objects, bad
manifests, paths with NUL, credentials in URIs — typed errors, never a hang or a crash.

Each case hung, exhausted memory, raised a builtin (``IsADirectoryError``,
``FileExistsError``, ``RecursionError``, ``ValueError``) or leaked something (a file's
digest, a secret) on an earlier release. Reads that could hang run under a timeout in a
subprocess, so a regression fails instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import mlineage as ml
from mlineage.codec import MAX_RECORD_SIZE
from mlineage.errors import UnsupportedObject
from mlineage.storage import LocalStore, open_store

MODEL = "hostile"
SRC = Path(__file__).parents[1] / "src"
BOMB = b"[" * 200_000


def snapshot(i: int = 0) -> ml.DataSnapshot:
    return ml.DataSnapshot(path=f"data/{i}", hash=f"sha256:{i:064x}")


def new_tracker(root: Path) -> ml.Tracker:
    return ml.Tracker(MODEL, storage=str(root), capture_environment=False)


def log(tracker: ml.Tracker, i: int = 0, **fields: Any) -> ml.ModelVersion:
    return tracker.log(model_path=f"m{i}.pt", dataset=snapshot(i), **fields)


def run_python(code: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; a hang fails the test through the timeout."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=timeout,
    )


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


# -- special files and symlinks in a local store --------------------------------------------


def _zero_link(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _outside_link(path: Path) -> None:
    outside = path.parents[5] / "outside.json"
    outside.write_text('{"not": "a record"}')
    path.symlink_to(outside)


def _socket(path: Path) -> None:
    # Socket paths are limited to ~108 bytes: bind near the root, then move it in place.
    short = path.parents[5] / "s"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(os.path.relpath(short))
    sock.close()
    os.replace(short, path)


SPECIAL = {"dev-zero": _zero_link, "fifo": _fifo, "outside": _outside_link, "socket": _socket}


@pytest.mark.parametrize("make", SPECIAL.values(), ids=SPECIAL.keys())
def test_a_record_that_is_not_a_regular_file_is_ignored_and_reported(
    tmp_path: Path, make: Any
) -> None:
    root = tmp_path / "a" / "b" / "store"
    tracker = new_tracker(root)
    kept = [log(tracker, i) for i in range(2)]
    bad = f"models/{MODEL}/versions/{'f' * 32}.json"
    make(root / bad)
    # In a fresh process, under a timeout: reading /dev/zero or opening a FIFO used to
    # run out of memory or block forever.
    script = f"""
        import warnings, mlineage as ml
        warnings.simplefilter("error")
        for on_error in ("raise", "skip"):
            t = ml.Tracker.load({MODEL!r}, storage={str(root)!r}, on_error=on_error)
            assert [v.id for v in t.versions()] == {[v.id for v in kept]!r}
        report = ml.fsck({str(root)!r})
        print("\\n".join(f"{{p.kind}} {{p.key}}" for p in report.problems))
    """
    result = run_python(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == f"corrupt-record {bad}", result.stdout
    store = LocalStore(root)
    with pytest.raises(UnsupportedObject, match="not a regular file") as info:
        store.get(bad)
    assert isinstance(info.value, ml.CorruptRecord) and isinstance(info.value, ml.StoreError)
    assert info.value.key == bad
    assert not store.exists(bad)
    assert bad not in set(store.list("models/"))


@pytest.mark.parametrize("make", [_zero_link, _fifo], ids=["dev-zero", "fifo"])
def test_a_blob_that_is_not_a_regular_file_fails_checkout_and_fsck_without_hanging(
    tmp_path: Path, make: Any
) -> None:
    root = tmp_path / "store"
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"weights")
    tracker = new_tracker(root)
    version = tracker.log(model_path=str(checkpoint), dataset=snapshot(), archive=True)
    assert version.model_artifact is not None and version.model_artifact.blob is not None
    blob = root / version.model_artifact.blob
    blob.unlink()
    make(blob)
    script = f"""
        import mlineage as ml
        t = ml.Tracker.load({MODEL!r}, storage={str(root)!r})
        try:
            t.checkout({version.id!r}, to={str(tmp_path / "out")!r})
        except ml.CheckoutError as exc:
            print("CheckoutError", exc)
        report = ml.fsck({str(root)!r})
        print(sorted(p.kind for p in report.problems))
    """
    result = run_python(script, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("CheckoutError") and "not a regular file" in lines[0], lines
    assert lines[1] == "['bad-blob', 'missing-blob']", lines
    assert not (tmp_path / "out").exists()


def test_a_symlinked_versions_directory_is_neither_read_nor_written_through(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    log(tracker, 0)
    outside = tmp_path / "elsewhere"
    versions = root / "models" / MODEL / "versions"
    versions.rename(outside)
    versions.symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    # Nothing is read through it: the model has no versions left to show.
    assert list(LocalStore(root).list(f"models/{MODEL}/versions/")) == []
    # Nothing is written through it: the write is refused, and nothing lands outside.
    with pytest.raises(UnsupportedObject, match="symlink"):
        log(new_tracker(root), 1)
    assert sorted(p.name for p in outside.iterdir()) == before
    with pytest.raises(UnsupportedObject, match="symlink"):
        LocalStore(root).get(f"models/{MODEL}/versions/{before[0]}")
    kinds = {(p.kind, p.key) for p in ml.fsck(str(root), verify_blobs=False).problems}
    assert ("corrupt-record", f"models/{MODEL}/versions") in kinds


def test_the_store_root_itself_may_be_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    link = tmp_path / "link"
    log(new_tracker(real), 0)
    link.symlink_to(real, target_is_directory=True)
    tracker = new_tracker(link)
    log(tracker, 1)
    assert len(ml.Tracker.load(MODEL, storage=str(link))) == 2
    assert ml.fsck(str(link)).ok


def test_records_and_packs_larger_than_the_format_allows_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    kept = log(tracker, 0)
    huge = root / "models" / MODEL / "versions" / f"{'e' * 32}.json"
    with open(huge, "wb") as f:  # sparse: a terabyte on disk costs nothing
        f.truncate(1 << 40)
    with pytest.raises(UnsupportedObject, match="larger than the format allows"):
        LocalStore(root).get_limited(huge.relative_to(root).as_posix(), MAX_RECORD_SIZE)
    with pytest.raises(ml.CorruptRecord, match="larger than the format allows"):
        ml.Tracker.load(MODEL, storage=str(root))
    report = ml.fsck(str(root), verify_blobs=False)
    assert [(p.kind, p.key) for p in report.problems] == [
        ("corrupt-record", huge.relative_to(root).as_posix())
    ]
    assert report.checked["versions"] == 1
    huge.unlink()
    assert [v.id for v in ml.Tracker.load(MODEL, storage=str(root)).versions()] == [kept.id]


def test_a_blob_larger_than_any_record_still_streams(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", durable=False)
    data = os.urandom(1 << 20) * 17  # over MAX_RECORD_SIZE: blobs have no cap
    store.put("blobs/big", data)
    assert store.get("blobs/big") == data
    dest = tmp_path / "copy"
    store.get_file("blobs/big", dest)
    assert dest.read_bytes() == data


def test_fsck_reports_files_and_directories_in_the_wrong_place(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    version = log(tracker, 0)
    for name in ("events", "names"):
        (root / "models" / MODEL / name).write_text("in the way")
    (root / "mlineage.json").unlink()
    (root / "mlineage.json").mkdir()
    report = ml.fsck(str(root))
    assert sorted((p.kind, p.key) for p in report.problems) == [
        ("bad-layout", "mlineage.json"),
        ("bad-layout", f"models/{MODEL}/events"),
        ("bad-layout", f"models/{MODEL}/names"),
    ]
    assert "directory" in str(report)
    assert ml.Tracker.load(MODEL, storage=str(root)).latest() == version


def test_memory_store_layout_problems_are_found_too() -> None:
    store = open_store("memory://hostile-layout")
    tracker = ml.Tracker(MODEL, storage=store, capture_environment=False)
    log(tracker, 0)
    store.put(f"models/{MODEL}/events", b"in the way")
    kinds = [(p.kind, p.key) for p in ml.fsck(store, verify_blobs=False).problems]
    assert kinds == [("bad-layout", f"models/{MODEL}/events")]


# -- checkpoints read from their original path ----------------------------------------------


def _unarchived(tmp_path: Path) -> tuple[Path, ml.ModelVersion, Path]:
    root = tmp_path / "store"
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"weights")
    version = new_tracker(root).log(model_path=str(checkpoint), dataset=snapshot())
    return root, version, checkpoint


@pytest.mark.parametrize("make", [_zero_link, _fifo], ids=["dev-zero", "fifo"])
def test_an_original_checkpoint_that_is_a_special_file_is_refused(
    tmp_path: Path, make: Any
) -> None:
    root, version, checkpoint = _unarchived(tmp_path)
    checkpoint.unlink()
    make(checkpoint)
    script = f"""
        import mlineage as ml
        t = ml.Tracker.load({MODEL!r}, storage={str(root)!r})
        try:
            t.checkout({version.id!r}, to={str(tmp_path / "out")!r})
        except ml.CheckoutError as exc:
            print(exc)
    """
    result = run_python(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "not a regular file" in result.stdout
    assert not (tmp_path / "out").exists()


def test_a_changed_original_does_not_reveal_its_digest(tmp_path: Path) -> None:
    import hashlib

    root, version, _ = _unarchived(tmp_path)
    secret = tmp_path / "secret.key"
    secret.write_bytes(b"private key material")
    path = root / "models" / MODEL / "versions" / f"{version.id}.json"
    document = json.loads(path.read_bytes())
    document["record"]["model_artifact"]["path"] = str(secret)
    document["record"]["model_path"] = str(secret)
    path.write_text(json.dumps(document))
    with pytest.raises(ml.CheckoutError, match="changed since it was logged") as info:
        ml.Tracker.load(MODEL, storage=str(root)).checkout(version.id, to=tmp_path / "out")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    assert digest not in str(info.value)
    assert version.model_artifact is not None
    assert version.model_artifact.hash in str(info.value)  # the expected one is fine


# -- records that point at the wrong things ---------------------------------------------------


def _edit(root: Path, version: ml.ModelVersion, change: Any) -> None:
    path = root / "models" / MODEL / "versions" / f"{version.id}.json"
    document = json.loads(path.read_bytes())
    change(document["record"])
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    "key", ["blobs", "blobs/sha256", "mlineage.json", "/etc/passwd", "models/hostile", ""]
)
def test_references_that_are_not_blobs_are_typed_errors_in_diff_and_checkout(
    tmp_path: Path, key: str
) -> None:
    root = tmp_path / "store"
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("a")
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"weights")
    tracker = ml.Tracker(MODEL, storage=str(root))
    a = tracker.log(model_path=str(checkpoint), dataset=ml.DataSnapshot.from_path(data))
    b = tracker.log(model_path=str(checkpoint), dataset=snapshot(1), parents=[a])

    def change(record: dict[str, Any]) -> None:
        record["environment_ref"] = key
        record["dataset"]["manifest"] = key

    _edit(root, a, change)
    loaded = ml.Tracker.load(MODEL, storage=str(root))
    for attempt in (
        lambda: loaded.checkout(a.id, to=tmp_path / "out"),
        lambda: loaded.diff(a.id, b.id),
    ):
        try:
            attempt()
        except ml.MLineageError as exc:
            message = str(exc)
        else:
            message = "no error"
        assert message  # a typed error with a message, or no error at all
    assert not (tmp_path / "out").exists()


def test_an_artifact_path_ending_in_dotdot_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "store"
    directory = tmp_path / "ckpt"
    directory.mkdir()
    (directory / "w.bin").write_bytes(b"w")
    tracker = new_tracker(root)
    archived = tracker.log(model_path=str(directory), dataset=snapshot(0), archive=True)
    single = tracker.log(model_path=str(directory / "w.bin"), dataset=snapshot(1), archive=True)
    for version, path in ((archived, f"{directory}/.."), (single, f"{directory}/w.bin/..")):

        def change(record: dict[str, Any], path: str = path) -> None:
            record["model_artifact"]["path"] = path

        _edit(root, version, change)
    loaded = new_tracker(root)
    for version in (archived, single):
        out = tmp_path / f"out-{version.id}"
        with pytest.raises(ml.CheckoutError, match=r"'\.\.'"):
            loaded.checkout(version.id, to=out)
        assert not out.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "store"]


def test_manifests_listing_a_file_and_a_file_inside_it_are_corrupt(tmp_path: Path) -> None:
    from mlineage.hashing import parse_manifest

    def manifest(*paths: str) -> bytes:
        entries = [{"path": p, "size": 0, "sha256": "0" * 64} for p in paths]
        return json.dumps({"format": 1, "entries": entries}).encode()

    assert len(parse_manifest(manifest("x", "x-y", "y/z"))) == 3
    for paths in (("x", "x/y"), ("a", "a-b", "a/b/c")):
        with pytest.raises(ml.CorruptRecord, match="as a file"):
            parse_manifest(manifest(*paths))
    with pytest.raises(ml.CorruptRecord, match="nested too deeply"):
        parse_manifest(BOMB)


def test_checkout_of_a_manifest_with_a_file_inside_a_file_is_a_checkout_error(
    tmp_path: Path,
) -> None:
    import hashlib

    from mlineage.content import blob_key

    root = tmp_path / "store"
    directory = tmp_path / "ckpt"
    (directory / "x").mkdir(parents=True)
    (directory / "x" / "y").write_bytes(b"y")
    tracker = new_tracker(root)
    version = tracker.log(model_path=str(directory), dataset=snapshot(), archive=True)
    sha = hashlib.sha256(b"y").hexdigest()
    for body in (
        {"format": 1, "entries": [{"path": p, "size": 1, "sha256": sha} for p in ("x", "x/y")]},
        None,
    ):
        data = BOMB if body is None else json.dumps(body, separators=(",", ":")).encode()
        key = blob_key(hashlib.sha256(data).hexdigest())
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)

        def change(record: dict[str, Any], key: str = key) -> None:
            record["model_artifact"]["manifest"] = key
            record["model_artifact"]["blob"] = key

        _edit(root, version, change)
        with pytest.raises(ml.CheckoutError, match="manifest"):
            new_tracker(root).checkout(version.id, to=tmp_path / "out")
        assert not (tmp_path / "out").exists()
        report = ml.fsck(str(root), verify_blobs=False)
        assert ("corrupt-manifest", key) in {(p.kind, p.key) for p in report.problems}


# -- NUL in paths -------------------------------------------------------------------------------


def test_nul_in_store_paths_and_checkout_targets_is_invalid_input(tmp_path: Path) -> None:
    for storage in ("a\x00b", "file:///tmp/a%00b"):
        with pytest.raises(ml.InvalidInput, match="NUL"):
            ml.Tracker(MODEL, storage=storage)
        with pytest.raises(ml.InvalidInput, match="NUL"):
            open_store(storage)
    with pytest.raises(ml.InvalidInput, match="NUL"):
        LocalStore(Path("a\x00b"))
    for storage in ("s3://bucket/a\x00b", "gs://bucket/a\x00b"):
        with pytest.raises(ml.InvalidInput, match="control character"):
            open_store(storage)
    root = tmp_path / "store"
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"w")
    tracker = new_tracker(root)
    version = tracker.log(model_path=str(checkpoint), dataset=snapshot())
    with pytest.raises(ml.InvalidInput, match="NUL"):
        tracker.checkout(version.id, to=str(tmp_path / "a\x00b"))


# -- credentials in bucket URIs -------------------------------------------------------------------

SECRETS = ["AKIAEXAMPLE", "s3cr3tPass", "ya29token", "hunter2"]
URIS = [
    "s3://AKIAEXAMPLE:s3cr3tPass@bucket/p",
    "gs://user:ya29token@bucket/p",
    "s3://ya29token@bucket",
    "s3://AKIAEXAMPLE:hunter2/with/slashes@bucket/p",
    "gs://AKIAEXAMPLE:s3cr3tPass@bucket",
]


@pytest.mark.parametrize("uri", URIS)
def test_credentials_in_bucket_uris_are_refused_and_never_shown(tmp_path: Path, uri: str) -> None:
    for attempt in (
        lambda: open_store(uri),
        lambda: ml.Tracker(MODEL, storage=uri),
        lambda: ml.fsck(uri),
    ):
        with pytest.raises(ml.InvalidInput) as info:
            attempt()
        shown = f"{info.value} {info.value!r} {info.value.args!r}"
        assert "credential" in shown
        assert not any(secret in shown for secret in SECRETS), shown
        assert info.value.__cause__ is None
        assert info.value.__context__ is None or info.value.__suppress_context__
    scheme = uri.partition(":")[0]
    hint = "AWS_PROFILE" if scheme == "s3" else "GOOGLE_APPLICATION_CREDENTIALS"
    assert hint in str(info.value)
    result = run_cli("history", MODEL, "--store", uri, cwd=tmp_path)
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "credentials" in output and "Traceback" not in output
    assert not any(secret in output for secret in SECRETS), output


def test_bucket_names_with_credentials_are_refused_without_echo() -> None:
    from mlineage.storage._cloud import BucketStore

    class Bare(BucketStore):  # only the constructor's checks run
        pass

    Bare.__abstractmethods__ = frozenset()
    with pytest.raises(ml.StoreError) as info:
        Bare("AKIAEXAMPLE:s3cr3tPass@bucket")
    assert "s3cr3tPass" not in str(info.value) and "AKIAEXAMPLE" not in str(info.value)


def test_other_uris_with_credentials_are_redacted(tmp_path: Path) -> None:
    for uri in ("file://user:SECRET@host/x", "ftp://user:SECRET@host/x"):
        with pytest.raises(ml.StoreError) as info:
            open_store(uri)
        assert "SECRET" not in str(info.value)
