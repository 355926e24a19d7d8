"""Content hashing: files, directory manifests, the hash cache, arrays and DataFrames."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlineage._progress import Progress
from mlineage.errors import (
    CorruptRecord,
    InvalidInput,
    PathChanged,
    PathNotFound,
    UnhashableData,
    UnsupportedPath,
)
from mlineage.hashing import (
    FileKey,
    HashCache,
    ManifestEntry,
    PathDigest,
    default_cache_path,
    hash_array,
    hash_dataframe,
    hash_path,
    manifest_hash,
    parse_manifest,
)

HOUR_AGO = time.time() - 3600


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # hash_path's default cache lives in the user's cache directory; keep tests out of it.
    monkeypatch.setenv("MLINEAGE_CACHE_DIR", str(tmp_path / "default-cache"))


def write_tree(root: Path, files: dict[str, bytes], order: list[str] | None = None) -> None:
    for rel in order if order is not None else list(files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel])


def age(root: Path, when: float = HOUR_AGO) -> None:
    """Backdate every file under ``root`` so that the cache is allowed to remember it."""
    for path in [root] if root.is_file() else root.rglob("*"):
        if path.is_file():
            os.utime(path, (when, when))


def spec_hash(files: dict[str, bytes]) -> str:
    """The directory hash as the docs define it, computed independently of the library."""
    lines = sorted(
        (rel.encode("utf-8", "surrogateescape"), len(data), hashlib.sha256(data).hexdigest())
        for rel, data in files.items()
    )
    body = b"".join(b"%s\0%d\0%s\n" % (rel, size, sha.encode()) for rel, size, sha in lines)
    return "sha256:" + hashlib.sha256(body).hexdigest()


# --------------------------------------------------------------------------- single files


def test_file_hash_equals_hashlib_and_sha256sum(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 12345)  # several read chunks and a ragged end
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    digest = hash_path(path, cache=False)
    assert digest.hash == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (digest.kind, digest.size, digest.num_files) == ("file", len(data), 1)
    assert digest.entries == (ManifestEntry("model.pt", len(data), digest.hash[7:]),)
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is not installed; the hashlib comparison above passed")
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    assert digest.hash == "sha256:" + out.stdout.split()[0]


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    digest = hash_path(tmp_path / "empty", cache=False)
    assert digest.hash == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert digest.size == 0


# --------------------------------------------------------------------------- directories

_name = st.text(alphabet="abAB09_.-é中 ", min_size=1, max_size=6).filter(
    lambda s: s not in {".", ".."}
)
_relpath = st.lists(_name, min_size=1, max_size=3).map("/".join)


def _no_file_dir_clash(files: dict[str, bytes]) -> bool:
    names = set(files)
    return not any(rel.startswith(other + "/") for rel in names for other in names)


_trees = st.dictionaries(_relpath, st.binary(max_size=300), min_size=0, max_size=12).filter(
    _no_file_dir_clash
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(files=_trees, seed=st.integers(0, 2**32 - 1))
def test_directory_hash_is_independent_of_creation_order(
    files: dict[str, bytes], seed: int
) -> None:
    order = list(files)
    shuffled = order[:]
    random.Random(seed).shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp, "one"), Path(tmp, "two")
        one.mkdir()
        two.mkdir()
        write_tree(one, files, order)
        write_tree(two, files, shuffled[::-1])
        first = hash_path(one, cache=False)
        second = hash_path(two, cache=False)
    assert first == second
    assert first.hash == spec_hash(files)
    keys = [e.path.encode("utf-8", "surrogateescape") for e in first.entries]
    assert keys == sorted(keys)
    assert first.num_files == len(files)
    assert first.size == sum(map(len, files.values()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(files=_trees.filter(bool), data=st.data())
def test_directory_hash_changes_with_any_byte_or_name(
    files: dict[str, bytes], data: st.DataObject
) -> None:
    victim = data.draw(st.sampled_from(sorted(files)))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tree(root, files)
        before = hash_path(root, cache=False).hash

        content = files[victim]
        if content:
            i = data.draw(st.integers(0, len(content) - 1))
            changed = content[:i] + bytes([content[i] ^ 0x01]) + content[i + 1 :]
        else:
            changed = b"\0"
        (root / victim).write_bytes(changed)
        assert hash_path(root, cache=False).hash != before

        (root / victim).write_bytes(content)
        assert hash_path(root, cache=False).hash == before
        renamed = victim + "x"
        if _no_file_dir_clash({**files, renamed: b""}) and renamed not in files:
            (root / victim).rename(root / renamed)
            assert hash_path(root, cache=False).hash != before


def test_empty_directories_do_not_contribute(tmp_path: Path) -> None:
    files = {"a.txt": b"a", "sub/b.txt": b"b"}
    write_tree(tmp_path / "plain", files)
    write_tree(tmp_path / "padded", files)
    (tmp_path / "padded" / "empty" / "deeper").mkdir(parents=True)
    (tmp_path / "padded" / "sub" / "empty").mkdir()
    assert hash_path(tmp_path / "plain", cache=False) == hash_path(tmp_path / "padded", cache=False)
    (tmp_path / "nothing").mkdir()
    empty = hash_path(tmp_path / "nothing", cache=False)
    assert empty.hash == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert (empty.num_files, empty.size, empty.entries) == (0, 0, ())


def test_non_utf8_file_name_round_trips(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.csv")  # Latin-1 bytes: not valid UTF-8
    Path(tmp_path, name).write_bytes(b"x")
    digest = hash_path(tmp_path, cache=False)
    assert digest.entries[0].path == name
    assert parse_manifest(digest.manifest_bytes()) == digest.entries
    assert digest.hash == spec_hash({name: b"x"})


def test_workers_do_not_change_the_result(tmp_path: Path) -> None:
    write_tree(tmp_path, {f"d{i % 7}/f{i}.bin": os.urandom(i * 97) for i in range(60)})
    one = hash_path(tmp_path, workers=1, cache=False)
    assert hash_path(tmp_path, workers=4, cache=False) == one
    assert hash_path(tmp_path, cache=False) == one
    with pytest.raises(InvalidInput, match="workers"):
        hash_path(tmp_path, workers=0)


# --------------------------------------------------------------------------- manifests

_entries = st.dictionaries(
    _relpath,
    st.tuples(st.integers(0, 2**53), st.binary(min_size=32, max_size=32).map(bytes.hex)),
    max_size=20,
).map(lambda d: tuple(ManifestEntry(p, size, sha) for p, (size, sha) in d.items()))


def _is_tree(entries: tuple[ManifestEntry, ...]) -> bool:
    """No file is also a directory of another (as on any file system)."""
    paths = {e.path for e in entries}
    return not any(
        "/".join(e.path.split("/")[:depth]) in paths
        for e in entries
        for depth in range(1, e.path.count("/") + 1)
    )


@given(entries=_entries.filter(_is_tree))
def test_manifest_round_trips(entries: tuple[ManifestEntry, ...]) -> None:
    digest = PathDigest("directory", manifest_hash(entries), 0, len(entries), entries)
    data = digest.manifest_bytes()
    parsed = parse_manifest(data)
    assert set(parsed) == set(entries)
    assert manifest_hash(parsed) == digest.hash
    # Canonical: the same entries in any order serialise to the same bytes.
    assert PathDigest("directory", "", 0, 0, tuple(reversed(entries))).manifest_bytes() == data


def test_manifest_of_a_real_directory_round_trips(tmp_path: Path) -> None:
    write_tree(tmp_path, {"b/é.txt": b"1", "a.txt": b"22", "b/a": b""})
    digest = hash_path(tmp_path, cache=False)
    document = json.loads(digest.manifest_bytes())
    assert document["format"] == 1
    assert [e["path"] for e in document["entries"]] == ["a.txt", "b/a", "b/é.txt"]
    assert manifest_hash(parse_manifest(digest.manifest_bytes())) == digest.hash


_SHA = "0" * 64


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[]",
        b'{"format":2,"entries":[]}',
        b'{"format":1}',
        b'{"format":1,"entries":{}}',
        b'{"format":1,"entries":[],"extra":1}',
        b'{"format":1,"entries":[{"path":"a","size":1}]}',
        b'{"format":1,"entries":[{"path":"a","size":-1,"sha256":"%s"}]}' % _SHA.encode(),
        b'{"format":1,"entries":[{"path":"a","size":true,"sha256":"%s"}]}' % _SHA.encode(),
        b'{"format":1,"entries":[{"path":"","size":1,"sha256":"%s"}]}' % _SHA.encode(),
        b'{"format":1,"entries":[{"path":"a","size":1,"sha256":"XYZ"}]}',
        b'{"format":1,"entries":[{"path":"/etc/passwd","size":1,"sha256":"%s"}]}' % _SHA.encode(),
        b'{"format":1,"entries":[{"path":"a/../../x","size":1,"sha256":"%s"}]}' % _SHA.encode(),
        b'{"format":1,"entries":[{"path":"a//b","size":1,"sha256":"%s"}]}' % _SHA.encode(),
        b'{"format":1,"entries":[{"path":"./a","size":1,"sha256":"%s"}]}' % _SHA.encode(),
        b'{"format":1,"entries":[{"path":"b","size":1,"sha256":"%s"},'
        b'{"path":"a","size":1,"sha256":"%s"}]}' % (_SHA.encode(), _SHA.encode()),
        b'{"format":1,"entries":[{"path":"a","size":1,"sha256":"%s"},'
        b'{"path":"a","size":1,"sha256":"%s"}]}' % (_SHA.encode(), _SHA.encode()),
        b"\xff\xfe",
    ],
)
def test_bad_manifests_raise_corrupt_record(data: bytes) -> None:
    with pytest.raises(CorruptRecord):
        parse_manifest(data)


@given(entries=_entries.filter(bool), cut=st.integers(1, 10_000))
def test_truncated_manifest_is_corrupt(entries: tuple[ManifestEntry, ...], cut: int) -> None:
    data = PathDigest("directory", "", 0, 0, entries).manifest_bytes()
    with pytest.raises(CorruptRecord):
        parse_manifest(data[: max(0, len(data) - cut)])


# --------------------------------------------------------------------------- links and odd paths


def test_symlinked_file_is_hashed_as_its_content(tmp_path: Path) -> None:
    write_tree(tmp_path / "real", {"a.txt": b"alpha", "b.txt": b"beta"})
    write_tree(tmp_path / "linked", {"a.txt": b"alpha"})
    (tmp_path / "elsewhere.txt").write_bytes(b"beta")
    (tmp_path / "linked" / "b.txt").symlink_to(tmp_path / "elsewhere.txt")
    assert hash_path(tmp_path / "linked", cache=False) == hash_path(tmp_path / "real", cache=False)


def test_symlinked_directory_is_followed(tmp_path: Path) -> None:
    write_tree(tmp_path / "real", {"top": b"t", "data/x": b"x", "data/y": b"y"})
    write_tree(tmp_path / "linked", {"top": b"t"})
    write_tree(tmp_path / "store", {"x": b"x", "y": b"y"})
    (tmp_path / "linked" / "data").symlink_to(tmp_path / "store", target_is_directory=True)
    assert hash_path(tmp_path / "linked", cache=False) == hash_path(tmp_path / "real", cache=False)
    # The root itself may be a link.
    (tmp_path / "root-link").symlink_to(tmp_path / "real", target_is_directory=True)
    assert hash_path(tmp_path / "root-link", cache=False).hash == hash_path(tmp_path / "real").hash


def test_symlink_cycle_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/file": b"1"})
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(UnsupportedPath, match="own parent") as info:
        hash_path(tmp_path, cache=False)
    assert "loop" in str(info.value)


def test_symlinks_pointing_at_each_other_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "p").symlink_to(tmp_path / "q")
    (tmp_path / "q").symlink_to(tmp_path / "p")
    with pytest.raises(UnsupportedPath, match="loop"):
        hash_path(tmp_path, cache=False)


def test_dangling_symlink_is_an_error_naming_it(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ok": b"1"})
    (tmp_path / "broken").symlink_to(tmp_path / "gone")
    with pytest.raises(PathNotFound, match="broken") as info:
        hash_path(tmp_path, cache=False)
    assert "gone" in str(info.value)
    with pytest.raises(PathNotFound, match="broken"):
        hash_path(tmp_path / "broken", cache=False)


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-data"
    with pytest.raises(PathNotFound, match="no-such-data") as info:
        hash_path(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, InvalidInput)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    write_tree(tmp_path, {"data.csv": b"1,2"})
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UnsupportedPath, match="pipe"):
        hash_path(tmp_path, cache=False)
    with pytest.raises(UnsupportedPath, match="FIFO"):
        hash_path(tmp_path / "pipe", cache=False)


_UNREADABLE_PROBE = """
import sys
from mlineage.hashing import hash_path
from mlineage.errors import UnreadablePath
try:
    hash_path(sys.argv[1], cache=False)
except UnreadablePath as exc:
    print("UnreadablePath:", exc)
else:
    print("read it")
"""


def _run_without_root_powers(code: str, *args: str) -> str:
    """Run Python ``code`` in a process that cannot bypass file permissions."""
    command = [sys.executable, "-c", code, *args]
    if os.geteuid() == 0:
        # root reads and writes anything (CAP_DAC_OVERRIDE); drop the two capabilities that
        # bypass permission checks so that chmod means what it says.
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


posix_permissions = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")


@posix_permissions
def test_unreadable_file_and_directory_are_typed_errors(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ok.txt": b"1", "secret.bin": b"2", "locked/inner": b"3"})
    (tmp_path / "secret.bin").chmod(0)
    try:
        out = _run_without_root_powers(_UNREADABLE_PROBE, str(tmp_path / "secret.bin"))
        assert out.startswith("UnreadablePath:"), out
        assert "secret.bin" in out
        # In a directory the error comes from a worker thread and still names the file.
        out = _run_without_root_powers(_UNREADABLE_PROBE, str(tmp_path))
        assert out.startswith("UnreadablePath:"), out
        assert "secret.bin" in out
        (tmp_path / "secret.bin").chmod(0o644)
        (tmp_path / "locked").chmod(0)
        out = _run_without_root_powers(_UNREADABLE_PROBE, str(tmp_path))
        assert out.startswith("UnreadablePath:"), out
        assert "locked" in out
    finally:
        (tmp_path / "locked").chmod(0o755)
        (tmp_path / "secret.bin").chmod(0o644)


_READONLY_CACHE_PROBE = """
import sys
from mlineage.hashing import HashCache, hash_path
with HashCache(sys.argv[1]) as cache:
    print(hash_path(sys.argv[2], cache=cache).hash)
    print(cache.stats.disabled)
"""


@posix_permissions
def test_read_only_cache_never_fails_the_hash(tmp_path: Path) -> None:
    root, _ = _tree_with_cache(tmp_path, count=5)
    expected = hash_path(root, cache=False).hash

    # A read-only cache directory (a read-only home): the database cannot be created.
    empty_dir = tmp_path / "ro-dir"
    empty_dir.mkdir(mode=0o555)
    out = _run_without_root_powers(_READONLY_CACHE_PROBE, str(empty_dir / "h.sqlite"), str(root))
    digest, disabled = out.splitlines()
    assert digest == expected
    assert "unable to open" in disabled

    # A database that opens (read-only) but refuses the writes.
    db = tmp_path / "existing.sqlite"
    HashCache(db).lookup([FileKey("/x", 0, 0, 0)])  # creates the table, in WAL mode
    db.chmod(0o444)
    out = _run_without_root_powers(_READONLY_CACHE_PROBE, str(db), str(root))
    digest, disabled = out.splitlines()
    assert digest == expected
    assert "readonly" in disabled


def test_file_growing_while_hashed_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "growing.log"
    path.write_bytes(os.urandom(48 << 20))
    stop = threading.Event()

    def append() -> None:
        with path.open("ab") as out:
            while not stop.is_set():
                out.write(b"x" * 4096)
                out.flush()
                time.sleep(0.001)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        # Hashing 48 MiB takes ~0.1 s; the writer appends every millisecond throughout, so
        # the size seen after reading differs from the size seen before.
        with pytest.raises(PathChanged, match=r"growing\.log") as info:
            hash_path(path, cache=False)
    finally:
        stop.set()
        writer.join()
    assert "re-run when writes" in str(info.value)
    hash_path(path, cache=False)  # quiet again: hashes fine


# --------------------------------------------------------------------------- the cache


def _tree_with_cache(tmp_path: Path, count: int = 50) -> tuple[Path, HashCache]:
    root = tmp_path / "data"
    write_tree(root, {f"part{i % 5}/{i}.csv": b"row,%d\n" % i * (i + 1) for i in range(count)})
    age(root)
    return root, HashCache(tmp_path / "cache.sqlite")


def test_unchanged_tree_is_not_read_again(tmp_path: Path) -> None:
    root, cache = _tree_with_cache(tmp_path)
    with cache:
        first = hash_path(root, cache=cache)
        assert (cache.stats.misses, cache.stats.stored, cache.stats.hits) == (50, 50, 0)
        assert hash_path(root, cache=cache) == first
        assert (cache.stats.misses, cache.stats.hits) == (50, 50)

        # Proof that the second pass trusted the cache instead of reading: rewrite a file in
        # place with different bytes of the same size and put its mtime back. The cached
        # hash still answers (the known blind spot of every mtime-based cache, git's too);
        # reading the file would have noticed.
        victim = root / "part3" / "8.csv"
        st = victim.stat()
        with victim.open("r+b") as out:
            out.write(b"R")
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert hash_path(root, cache=cache) == first
        assert hash_path(root, cache=False) != first


def test_modified_file_is_read_again(tmp_path: Path) -> None:
    root, cache = _tree_with_cache(tmp_path)
    with cache:
        first = hash_path(root, cache=cache)
        victim = root / "part3" / "8.csv"
        victim.write_bytes(b"R" + victim.read_bytes()[1:])  # same size, new mtime
        os.utime(victim, (HOUR_AGO + 60, HOUR_AGO + 60))
        misses = cache.stats.misses
        second = hash_path(root, cache=cache)
        assert cache.stats.misses == misses + 1
        assert second != first
        assert second == hash_path(root, cache=False)


def test_replaced_file_with_same_size_and_mtime_is_read_again(tmp_path: Path) -> None:
    root, cache = _tree_with_cache(tmp_path)
    with cache:
        first = hash_path(root, cache=cache)
        victim = root / "part3" / "8.csv"
        st = victim.stat()
        replacement = root / "new.tmp"
        replacement.write_bytes(b"R" + victim.read_bytes()[1:])
        os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(replacement, victim)  # new inode, same size and mtime
        assert hash_path(root, cache=cache) != first


def test_racy_fresh_files_are_not_trusted(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    write_tree(root, {"a": b"1", "b": b"2"})  # mtime: now
    with HashCache(tmp_path / "cache.sqlite") as cache:
        hash_path(root, cache=cache)
        hash_path(root, cache=cache)
        # Written within the racy window: a same-size write in the same mtime tick could
        # follow unseen, so neither pass cached anything and both read both files.
        assert (cache.stats.racy, cache.stats.stored, cache.stats.hits) == (4, 0, 0)
        age(root)
        hash_path(root, cache=cache)
        hash_path(root, cache=cache)
        assert (cache.stats.stored, cache.stats.hits) == (2, 2)


def test_cache_is_shared_between_processes(tmp_path: Path) -> None:
    roots = []
    for n in range(4):
        root = tmp_path / f"tree{n}"
        write_tree(root, {f"{i}.bin": os.urandom(64) for i in range(100)})
        age(root)
        roots.append(root)
    db = tmp_path / "shared.sqlite"
    script = (
        "import sys\n"
        "from mlineage.hashing import HashCache, hash_path\n"
        "with HashCache(sys.argv[1]) as cache:\n"
        "    print(hash_path(sys.argv[2], cache=cache).hash, cache.stats.stored,"
        " cache.stats.disabled)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(db), str(root)], stdout=subprocess.PIPE, text=True
        )
        for root in roots
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    with HashCache(db) as cache:
        for root, (digest, stored, disabled) in zip(roots, outputs, strict=True):
            assert (stored, disabled) == ("100", "None")
            assert hash_path(root, cache=cache).hash == digest
        assert (cache.stats.hits, cache.stats.misses) == (400, 0)


def test_unusable_cache_never_fails_the_hash(tmp_path: Path) -> None:
    root, _ = _tree_with_cache(tmp_path, count=5)
    expected = hash_path(root, cache=False)

    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    no_dir = HashCache(blocker / "sub" / "hashes.sqlite")  # parent is a file: cannot mkdir
    assert hash_path(root, cache=no_dir) == expected
    assert no_dir.stats.disabled is not None

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    corrupt = HashCache(garbage)
    assert hash_path(root, cache=corrupt) == expected
    assert "database" in str(corrupt.stats.disabled)


def test_default_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLINEAGE_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "explicit" / "hashes.sqlite"
    monkeypatch.delenv("MLINEAGE_CACHE_DIR")
    assert default_cache_path() == tmp_path / "xdg" / "mlineage" / "hashes.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "mlineage" / "hashes.sqlite"


def test_hash_path_uses_the_default_cache(tmp_path: Path) -> None:
    root, _ = _tree_with_cache(tmp_path, count=3)
    hash_path(root)
    with HashCache() as cache:
        assert cache.path == tmp_path / "default-cache" / "hashes.sqlite"
        hash_path(root, cache=cache)
        assert (cache.stats.hits, cache.stats.misses) == (3, 0)


# --------------------------------------------------------------------------- progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_forced_draws_without_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f").write_bytes(os.urandom(3 << 20))
    hash_path(tmp_path / "f", cache=False, progress=True)
    err = capsys.readouterr().err
    assert "hashing" in err
    assert "100%" in err
    assert err.endswith("\n")
    hash_path(tmp_path / "f", cache=False)  # stderr is not a terminal here: silent
    hash_path(tmp_path / "f", cache=False, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_waits_and_honours_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    with Progress(100, "job", stream=terminal, delay=0.0) as bar:
        bar.update(100)
    drawn = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", terminal.getvalue())  # rich's colours
    assert "job" in drawn and "100%" in drawn and "100/100 bytes" in drawn and "ETA" in drawn

    terminal = _Terminal()
    with Progress(100, "job", stream=terminal, delay=60.0) as bar:
        bar.update(100)  # a quick job: done before the delay, nothing drawn
    assert terminal.getvalue() == ""

    monkeypatch.setenv("MLINEAGE_PROGRESS", "0")
    terminal = _Terminal()
    with Progress(100, "job", stream=terminal, delay=0.0) as bar:
        bar.update(100)
    assert terminal.getvalue() == ""


def test_progress_counts_items_when_given_a_unit() -> None:
    terminal = _Terminal()
    with Progress(1000, "importing runs", stream=terminal, delay=0.0, unit="runs") as bar:
        bar.update(250)
    drawn = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", terminal.getvalue())
    assert "importing runs" in drawn and "25%" in drawn and "250/1000 runs" in drawn
    assert "KiB" not in terminal.getvalue()


# --------------------------------------------------------------------------- arrays


def _run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout.strip()


def test_array_hash_is_the_same_in_another_process() -> None:
    code = (
        "import numpy as np\n"
        "from mlineage.hashing import hash_array\n"
        "X = np.arange(600, dtype=np.float32).reshape(200, 3) / 7\n"
        "y = np.arange(200) % 3\n"
        "print(hash_array(X, y).hash)\n"
    )
    X = np.arange(600, dtype=np.float32).reshape(200, 3) / 7  # noqa: N806
    assert hash_array(X, np.arange(200) % 3).hash == _run_python(code)


@given(
    values=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=50),
    data=st.data(),
)
def test_array_hash_changes_with_any_value(values: list[int], data: st.DataObject) -> None:
    array = np.array(values, dtype=np.int64)
    i = data.draw(st.integers(0, len(values) - 1))
    other = array.copy()
    other[i] += 1
    assert hash_array(array).hash != hash_array(other).hash
    assert hash_array(array).hash == hash_array(array.copy()).hash


def test_array_hash_covers_dtype_shape_and_targets() -> None:
    base = np.arange(12, dtype="<i8")
    variants = [
        base,
        base.astype("<i4"),
        base.astype(">i8"),  # same values, other byte order
        base.astype("<f8"),
        base.reshape(3, 4),
        base.reshape(4, 3),
        base.reshape(12, 1),
    ]
    hashes = {hash_array(v).hash for v in variants}
    with_y = {hash_array(base, y).hash for y in (np.zeros(12), np.ones(12), np.zeros(12, "<i8"))}
    assert len(hashes | with_y) == len(variants) + 3


def test_strided_views_hash_like_their_contiguous_copy() -> None:
    big = np.random.default_rng(0).random((3000, 1000))  # 24 MB, more than one 16 MiB slab
    for view in (big.T, big[::2], big[:, 3:7], big[::-1]):
        assert not view.flags.c_contiguous
        assert hash_array(view).hash == hash_array(np.ascontiguousarray(view)).hash


def test_structured_arrays_ignore_padding() -> None:
    aligned = np.dtype([("a", "u1"), ("b", "<f8")], align=True)
    packed = np.dtype([("a", "u1"), ("b", "<f8")])
    assert aligned.itemsize > packed.itemsize
    dirty = np.zeros(4, aligned)
    dirty.view(np.uint8)[:] = 0xFF  # garbage in the padding bytes
    dirty["a"], dirty["b"] = [1, 2, 3, 4], [0.5, 1.5, 2.5, 3.5]
    clean = np.zeros(4, packed)
    clean["a"], clean["b"] = [1, 2, 3, 4], [0.5, 1.5, 2.5, 3.5]
    digest = hash_array(dirty)
    assert digest.hash == hash_array(clean).hash
    assert digest.columns == {"a": "uint8", "b": "float64"}
    assert digest.num_rows == 4


def test_object_arrays_are_refused() -> None:
    with pytest.raises(UnhashableData, match="pickle") as info:
        hash_array(np.array(["a", 1, None], dtype=object))
    assert isinstance(info.value, TypeError)
    with pytest.raises(UnhashableData, match="y"):
        hash_array(np.zeros(2), np.array([{}, {}], dtype=object))
    with pytest.raises(UnhashableData, match="pickle"):
        hash_array(np.zeros(2, dtype=[("x", "f8"), ("o", "O")]))
    with pytest.raises(UnhashableData, match="StringDType"):
        hash_array(np.array(["a", "b"], dtype=np.dtypes.StringDType()))


def test_targets_must_match_rows() -> None:
    with pytest.raises(InvalidInput, match="3 rows but y has 2"):
        hash_array(np.zeros((3, 2)), np.zeros(2))


# --------------------------------------------------------------------------- DataFrames


@pytest.fixture
def pd() -> object:
    return pytest.importorskip("pandas")


def test_importing_hashing_does_not_import_pandas() -> None:
    code = "import sys, mlineage.hashing; print('pandas' in sys.modules)"
    assert _run_python(code) == "False"


_FRAME = (
    "import pandas as pd\n"
    "df = pd.DataFrame({\n"
    "    'x': [1.5, 2.5, None],\n"
    "    'name': ['a', None, 'ç'],\n"
    "    'n': pd.array([1, None, 3], dtype='Int64'),\n"
    "    'when': pd.to_datetime(['2024-01-01', '2024-01-02', None]).tz_localize('UTC'),\n"
    "    'kind': pd.Categorical(['u', 'v', 'u']),\n"
    "}, index=pd.Index([10, 20, 30], name='id'))\n"
)


def test_dataframe_hash_is_the_same_in_another_process(pd: object) -> None:
    namespace: dict[str, object] = {}
    exec(_FRAME, namespace)
    digest = hash_dataframe(namespace["df"])
    code = _FRAME + "from mlineage.hashing import hash_dataframe\nprint(hash_dataframe(df).hash)"
    assert digest.hash == _run_python(code)
    assert digest.num_rows == 3
    assert list(digest.columns) == ["x", "name", "n", "when", "kind"]
    assert digest.columns["n"] == "Int64"


def test_dataframe_hash_covers_names_dtypes_index_and_values(pd: object) -> None:
    import pandas

    base = pandas.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    variants = [
        base,
        base[["b", "a"]],  # column order
        base.rename(columns={"a": "A"}),  # column name
        base.astype({"a": "int32"}),  # dtype
        base.astype({"a": "float64"}),
        base.set_axis([1, 2, 3]),  # index values
        base.rename_axis("row"),  # index name
        base.assign(b=["x", "y", "Z"]),  # one value
        base.assign(b=["x", "y", None]),  # a missing value
        base.assign(b=pandas.Series([1, 2, 3], dtype=object)),  # 1 is not "1"
        base.assign(b=pandas.Series(["1", "2", "3"], dtype=object)),
        base.iloc[::-1],  # row order
        base.iloc[:2],
        base.set_index(["a", "b"]),  # MultiIndex
    ]
    hashes = [hash_dataframe(v).hash for v in variants]
    assert len(set(hashes)) == len(hashes)
    assert hash_dataframe(base.copy()).hash == hashes[0]


def test_dataframe_cells_without_canonical_bytes_are_refused(pd: object) -> None:
    import pandas

    frame = pandas.DataFrame({"features": [[1, 2], [3]]})
    with pytest.raises(UnhashableData, match="features"):
        hash_dataframe(frame)


def test_hash_dataframe_wants_a_dataframe(pd: object) -> None:
    import pandas

    with pytest.raises(InvalidInput, match="to_frame"):
        hash_dataframe(pandas.Series([1, 2]))
    with pytest.raises(InvalidInput, match="hash_array"):
        hash_dataframe(np.zeros(3))
