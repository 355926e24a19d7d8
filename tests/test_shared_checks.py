"""Checks shared by several modules: the pair of versions a comparison is between
(``tracker._reads.compared``), a file's kind in words (``describe_mode``), and a blob a
record points at that cannot be read (``content.unreadable_as_corrupt``)."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

import mlineage as ml
from mlineage._file_modes import describe_mode
from mlineage.content import unreadable_as_corrupt
from mlineage.errors import (
    CorruptRecord,
    FingerprintNotFound,
    HashMismatch,
    InvalidInput,
    NotFound,
    StoreError,
)


def _tracker(name: str, versions: int) -> ml.Tracker:
    tracker = ml.Tracker(name, storage=f"memory://{name}", capture_environment=False)
    for i in range(versions):
        tracker.log(model_path=f"{i}.pt", dataset=ml.DataSnapshot(hash=f"sha256:{i}"))
    return tracker


def _never(*_: object) -> Exception:
    raise AssertionError("not called")


# -- the pair a comparison is between ---------------------------------------------------


def test_compared_defaults_to_the_latest_and_its_first_parent() -> None:
    tracker = _tracker("pair-latest", 3)
    first, second, third = tracker.graph.versions()
    reads = tracker._reads
    assert reads.compared(None, None, empty=_never, root=_never) == (second, third)
    assert reads.compared(None, second.id, empty=_never, root=_never) == (first, second)
    assert reads.compared(third.id, first.id, empty=_never, root=_never) == (third, first)


def test_compared_raises_what_each_caller_words() -> None:
    reads = _tracker("pair-empty", 0)._reads
    with pytest.raises(KeyError, match="nothing"):
        reads.compared(None, None, empty=lambda: KeyError("nothing"), root=_never)
    tracker = _tracker("pair-root", 1)
    root = tracker.latest()
    assert root is not None
    with pytest.raises(ValueError, match=root.id):
        tracker._reads.compared(None, None, empty=_never, root=lambda v: ValueError(v.id))


def test_drift_and_compare_keep_their_own_errors() -> None:
    empty = _tracker("errors-empty", 0)
    with pytest.raises(InvalidInput, match="has no versions to compare"):
        empty.analysis.drift()
    with pytest.raises(FingerprintNotFound, match="has no versions"):
        empty.analysis.compare()
    one = _tracker("errors-root", 1)
    with pytest.raises(InvalidInput, match="is a root: it has no parent"):
        one.analysis.drift()
    with pytest.raises(InvalidInput, match="has no parent to compare with"):
        one.analysis.compare()


# -- a file's kind ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        (stat.S_IFLNK, "a symlink"),
        (stat.S_IFIFO, "a FIFO (named pipe)"),
        (stat.S_IFSOCK, "a socket"),
        (stat.S_IFCHR, "a device"),
        (stat.S_IFBLK, "a device"),
        (stat.S_IFDIR, "a directory"),
        (0, "a special file"),
    ],
)
def test_describe_mode(mode: int, words: str) -> None:
    assert describe_mode(mode | 0o644) == words


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_describe_mode_of_a_real_socket(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.bind(str(path))
        except OSError:  # a path too long for a socket address
            pytest.skip("cannot bind a socket under tmp_path")
        assert describe_mode(os.lstat(path).st_mode) == "a socket"


# -- unreadable blobs -------------------------------------------------------------------


def test_a_missing_blob_names_the_store_and_fsck() -> None:
    missing = unreadable_as_corrupt("memory://s", "blobs/sha256/ab", "probe set")
    with pytest.raises(CorruptRecord) as info, missing:
        raise NotFound("blobs/sha256/ab")
    assert str(info.value) == (
        "probe set blob blobs/sha256/ab is missing from memory://s; run `mlineage fsck`"
    )


@pytest.mark.parametrize("error", [HashMismatch("bad bytes"), StoreError("bad bytes")])
def test_a_damaged_blob_says_what_and_fsck(error: Exception) -> None:
    damaged = unreadable_as_corrupt("memory://s", "k", "fingerprint")
    with (
        pytest.raises(CorruptRecord, match=r"^fingerprint blob k: bad bytes; run `"),
        damaged,
    ):
        raise error
    named = unreadable_as_corrupt("memory://s", "k", "environment", "environment of version v1")
    with pytest.raises(CorruptRecord, match=r"^environment of version v1: bad bytes; run"), named:
        raise error


def test_other_errors_pass_through() -> None:
    with pytest.raises(InvalidInput), unreadable_as_corrupt("memory://s", "k", "fingerprint"):
        raise InvalidInput("not about the blob")
