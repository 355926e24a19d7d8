"""A read-only file system, a permission refused, a full disk: typed errors naming the path
and the remedy, from the library and the CLI, and nothing half-written left behind.

The faults are real: a tmpfs of 2 MiB that fills up, a tmpfs remounted read-only, a
directory with the immutable attribute (which refuses even root). Mounting needs root
(or CAP_SYS_ADMIN); where it is not allowed the tests skip and say why.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlineage as ml
from mlineage.errors import PermissionDenied, StoreFull, StoreReadOnly
from mlineage.storage import LocalStore, map_os_errors, translate_os_error

MODEL = "faults"
SRC = Path(__file__).parents[1] / "src"


def snapshot(i: int = 0) -> ml.DataSnapshot:
    return ml.DataSnapshot(path=f"data/{i}", hash=f"sha256:{i:064x}")


def new_tracker(root: Path) -> ml.Tracker:
    return ml.Tracker(MODEL, storage=str(root), capture_environment=False)


def log(tracker: ml.Tracker, i: int = 0, **fields: Any) -> ml.ModelVersion:
    return tracker.log(model_path=f"m{i}.pt", dataset=snapshot(i), **fields)


def log_checkpoint(tracker: ml.Tracker, directory: Path) -> ml.ModelVersion:
    """Log a version whose checkpoint (outside the store) a checkout can copy."""
    checkpoint = directory / "weights.pt"
    checkpoint.write_bytes(b"weights")
    return tracker.log(model_path=str(checkpoint), dataset=snapshot(100))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


class Tmpfs:
    """A tmpfs mounted at ``path`` for one test."""

    def __init__(self, path: Path, size: str) -> None:
        self.path = path
        path.mkdir()
        result = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); needs root")

    def remount(self, options: str) -> None:
        result = _run("mount", "-o", f"remount,{options}", str(self.path))
        assert result.returncode == 0, result.stderr

    def unmount(self) -> None:
        _run("umount", "-l", str(self.path))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    fs = Tmpfs(tmp_path / "mnt", "2m")
    try:
        yield fs
    finally:
        fs.unmount()


def fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` to the last byte; return the filler file."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 4096, 1):
            with pytest.raises(OSError, match="No space left"):
                while True:
                    f.write(b"\0" * size)
    return filler


def leftovers(root: Path) -> list[str]:
    """Temporary files and checkout staging directories anywhere under ``root``."""
    return sorted(
        p.name
        for p in root.rglob("*")
        if ".tmp-" in p.name or ".checkout-" in p.name or ".old-" in p.name
    )


# -- the translation table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls", "words"),
    [
        (errno.EROFS, StoreReadOnly, "read-only"),
        (errno.EACCES, PermissionDenied, "permission denied"),
        (errno.EPERM, PermissionDenied, "not permitted"),
        (errno.ENOSPC, StoreFull, "no space left"),
        (errno.EDQUOT, StoreFull, "quota"),
    ],
)
def test_resource_faults_translate_to_typed_errors(code: int, cls: type, words: str) -> None:
    original = OSError(code, os.strerror(code), "/s/models/m/versions/x.json")
    error = translate_os_error(original, "/s/models/m/versions/x.json", "write")
    assert type(error) is cls
    assert isinstance(error, ml.StoreError) and isinstance(error, OSError)
    assert error.errno == code and error.filename == "/s/models/m/versions/x.json"
    message = str(error)
    assert message.startswith("cannot write /s/models/m/versions/x.json: ")
    assert words in message and ";" in message  # what happened; what to do
    with pytest.raises(cls) as info, map_os_errors("/s", "write"):
        raise original
    assert info.value.__cause__ is original


def test_other_os_errors_and_mlineage_errors_pass_unchanged() -> None:
    for code in (errno.ENOENT, errno.EEXIST, errno.EIO):
        assert translate_os_error(OSError(code, os.strerror(code)), "/s", "write") is None
    with pytest.raises(FileNotFoundError), map_os_errors("/s", "write"):
        raise FileNotFoundError(errno.ENOENT, "gone")
    with pytest.raises(ml.AlreadyExists), map_os_errors("/s", "write"):
        raise ml.AlreadyExists("taken")  # a FileExistsError, but ours: untouched


# -- a full disk -------------------------------------------------------------------------------


def test_a_full_disk_raises_store_full_and_leaves_nothing_half_written(
    tmpfs: Tmpfs, tmp_path: Path
) -> None:
    root = tmpfs.path / "store"
    tracker = new_tracker(root)
    first = log_checkpoint(tracker, tmp_path)
    tracker.set_alias("production", first)
    big = tmp_path / "big.pt"
    big.write_bytes(os.urandom(3 << 20))  # more than the whole tmpfs
    with pytest.raises(StoreFull, match=r"no space left.*free space") as info:
        tracker.log(model_path=str(big), dataset=snapshot(1), archive=True)
    assert str(tmpfs.path) in str(info.value)
    assert leftovers(root) == []
    filler = fill(tmpfs.path)
    for attempt in (
        lambda: log(tracker, 2),
        lambda: tracker.set_alias("staging", first),
        lambda: tracker.compact(),
        lambda: tracker.checkout(first.id, to=tmpfs.path / "out"),
    ):
        with pytest.raises(StoreFull):
            attempt()
        assert leftovers(tmpfs.path) == []
    assert not (tmpfs.path / "out").exists()
    result = run_cli("compact", MODEL, "--store", str(root), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("mlineage: error: cannot write")
    assert "Traceback" not in result.stderr and "no space left" in result.stderr
    filler.unlink()
    loaded = ml.Tracker.load(MODEL, storage=str(root))
    assert [v.id for v in loaded.versions()] == [first.id]
    assert loaded.resolve("production") == first
    assert ml.fsck(str(root)).ok
    log(loaded, 3)  # space again: writes work again
    assert loaded.compact() == 2  # two versions (alias moves are never packed)


def test_a_report_demo_or_checkout_onto_a_full_disk_is_one_line_and_leaves_nothing(
    tmpfs: Tmpfs, tmp_path: Path
) -> None:
    root = tmp_path / "store"  # the store has room; the targets do not
    tracker = new_tracker(root)
    first = log_checkpoint(tracker, tmp_path)
    report = tmpfs.path / "lineage.html"
    report.write_text("the old report")
    filler = fill(tmpfs.path)
    with pytest.raises(StoreFull, match=r"cannot write the report to .*no space left") as info:
        tracker.report(report)
    assert isinstance(info.value, OSError) and str(report) in str(info.value)
    assert report.read_text() == "the old report"
    assert sorted(p.name for p in tmpfs.path.iterdir()) == ["filler", "lineage.html"]
    for command in (
        ["report", MODEL, "-o", str(report)],
        ["checkout", MODEL, first.id, "--to", str(tmpfs.path / "out")],
        ["demo", "--path", str(tmpfs.path / "demo")],
    ):
        result = run_cli(*command, "--store", str(root), cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith("mlineage: error: cannot write"), result.stderr
        assert "no space left" in result.stderr and str(tmpfs.path) in result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
        assert leftovers(tmpfs.path) == []
    assert report.read_text() == "the old report"
    assert not (tmpfs.path / "out").exists()
    filler.unlink()
    result = run_cli("report", MODEL, "-o", str(report), "--store", str(root), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert report.read_text().startswith("<!DOCTYPE html>")


def test_any_other_os_error_of_a_command_is_one_line(tmp_path: Path) -> None:
    tracker = new_tracker(tmp_path / "store")
    log(tracker)
    command = ["report", MODEL, "-o", "r" * 300 + ".html", "--store", str(tmp_path / "store")]
    result = run_cli(*command, cwd=tmp_path)  # a file name longer than any may be
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("mlineage: error: File name too long: "), result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    debug = run_cli(*command, "--debug", cwd=tmp_path)
    assert "Traceback" in debug.stderr and "OSError" in debug.stderr
    assert list(tmp_path.glob("*.tmp")) == [] and list(tmp_path.glob(".r*")) == []


# -- a read-only file system ---------------------------------------------------------------------


def test_a_read_only_file_system_raises_store_read_only(tmpfs: Tmpfs, tmp_path: Path) -> None:
    root = tmpfs.path / "store"
    tracker = new_tracker(root)
    first = log_checkpoint(tracker, tmp_path)
    orphan = root / "models" / MODEL / "versions" / f".{'a' * 32}.json.tmp-0123456789ab"
    orphan.write_bytes(b"{")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    tmpfs.remount("ro")
    for attempt in (
        lambda: log(tracker, 1),
        lambda: tracker.set_alias("production", first),
        lambda: tracker.compact(),
        lambda: ml.fsck(str(root), repair=True),
        lambda: tracker.checkout(first.id, to=tmpfs.path / "out"),
    ):
        with pytest.raises(StoreReadOnly, match=r"read-only.*remount") as info:
            attempt()
        assert str(tmpfs.path) in str(info.value)
        assert isinstance(info.value, PermissionError)
    # Reading needs no writes.
    loaded = ml.Tracker.load(MODEL, storage=str(root), read_only=True)
    assert loaded.latest() == first
    for command in (["compact", MODEL], ["fsck", "--repair", "--temp-age", "0"]):
        result = run_cli(*command, "--store", str(root), cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert result.stderr.startswith("mlineage: error: cannot "), result.stderr
        assert "Traceback" not in result.stderr and "read-only" in result.stderr
    result = run_cli("history", MODEL, "--store", str(root), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # A checkout from the read-only store to a writable place works.
    assert loaded.checkout(first.id, to=tmp_path / "out").path == tmp_path / "out"
    tmpfs.remount("rw")
    assert orphan.exists()  # nothing was removed while read-only


# -- a permission refused ---------------------------------------------------------------------


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[Any]:
    """Make directories immutable (``chattr +i``: even root may not change them)."""
    marked: list[Path] = []

    def mark(path: Path) -> None:
        result = _run("chattr", "+i", str(path))
        if result.returncode != 0:
            pytest.skip(f"cannot set the immutable attribute here ({result.stderr.strip()})")
        marked.append(path)

    try:
        yield mark
    finally:
        for path in marked:
            _run("chattr", "-i", str(path))


def test_a_directory_that_may_not_be_written_raises_permission_denied(
    immutable: Any, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    tracker = new_tracker(root)
    first = log_checkpoint(tracker, tmp_path)
    tracker.set_alias("production", first)
    model = root / "models" / MODEL
    for name in ("versions", "aliases"):
        immutable(model / name)
    target = tmp_path / "targets"
    target.mkdir()
    immutable(target)
    for attempt in (
        lambda: log(tracker, 1),
        lambda: tracker.set_alias("staging", first),
        lambda: tracker.compact(),
        lambda: tracker.checkout(first.id, to=target / "out"),
    ):
        with pytest.raises(PermissionDenied, match=r"not permitted.*lsattr") as info:
            attempt()
        assert isinstance(info.value, PermissionError)
    assert leftovers(tmp_path) == []
    result = run_cli("compact", MODEL, "--store", str(root), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "not permitted" in result.stderr
    assert [v.id for v in ml.Tracker.load(MODEL, storage=str(root)).versions()] == [first.id]


def test_the_local_store_translates_on_its_own(immutable: Any, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put("a/x", b"1")
    immutable(tmp_path / "store" / "a")
    with pytest.raises(PermissionDenied, match="cannot write"):
        store.put("a/y", b"2")
    with pytest.raises(PermissionDenied, match="cannot remove"):
        store.delete("a/x")
    source = tmp_path / "blob"
    source.write_bytes(b"3" * 100)
    import hashlib

    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    with pytest.raises(PermissionDenied):
        store.put_file("a/z", source, expected_sha256=digest)
    assert store.get("a/x") == b"1"
