"""mlineage.content: blob keys and digests, hashing while copying, verified blob reads."""

from __future__ import annotations

import doctest
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mlineage.content as content
from mlineage.content import (
    BLOB_KEY,
    BlobCache,
    HashedChunks,
    blob_key,
    blob_key_of,
    copy_hashed,
    digest_of_key,
    file_chunks,
    hash_blob,
    hash_blobs,
    hex_of,
    is_blob_key,
    read_blob,
    read_decoded,
    write_file,
)
from mlineage.errors import HashMismatch, InvalidInput, InvalidKey, NotFound
from mlineage.storage import LocalStore, MemoryStore, Store

hex_digests = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
chunk_lists = st.lists(st.binary(max_size=300), max_size=8)


def test_examples_in_docstrings_run() -> None:
    result = doctest.testmod(content, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 10


# -- keys and digests ---------------------------------------------------------------------


@given(hex_digests)
def test_blob_key_and_digest_of_key_are_inverse(digest: str) -> None:
    key = blob_key(digest)
    assert is_blob_key(key) and BLOB_KEY.match(key)
    assert digest_of_key(key) == digest
    assert blob_key(digest_of_key(key)) == key


@given(st.binary(max_size=1000))
def test_blob_key_of_names_the_bytes(data: bytes) -> None:
    assert digest_of_key(blob_key_of(data)) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "key",
    [
        "blobs/sha256/ab/cd",
        "blobs/sha256/AB/" + "0" * 62,
        "blobs/md5/ab/" + "0" * 62,
        "models/m/versions/x.json",
        "blobs/sha256/ab/" + "0" * 62 + "/x",
    ],
)
def test_digest_of_a_key_that_is_not_a_blob_key(key: str) -> None:
    assert not is_blob_key(key)
    with pytest.raises(InvalidKey, match="not a blob key"):
        digest_of_key(key)


@given(hex_digests)
def test_hex_of_strips_the_algorithm(digest: str) -> None:
    assert hex_of("sha256:" + digest) == digest


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("md5:d41d8cd98f00b204e9800998ecf8427e", "not a SHA-256 hash"),
        ("sha1:" + "0" * 40, "not a SHA-256 hash"),
        ("0" * 64, "not a SHA-256 hash"),
        ("sha256:" + "0" * 63, "malformed"),
        ("sha256:" + "A" * 64, "malformed"),
        ("sha256:", "malformed"),
    ],
)
def test_hex_of_refuses_other_algorithms_and_malformed_hashes(value: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        hex_of(value)


# -- hashing while copying ------------------------------------------------------------------


@given(chunk_lists)
def test_copy_hashed_equals_hashlib_and_copies_every_byte(chunks: list[bytes]) -> None:
    written: list[bytes] = []
    progress: list[int] = []
    digest = copy_hashed(iter(chunks), written.append, progress.append)
    assert digest == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert written == chunks
    assert sum(progress) == sum(map(len, chunks))
    assert copy_hashed(chunks, None) == digest


def test_progress_counts_a_chunk_once_the_consumer_is_done_with_it() -> None:
    events: list[str] = []
    hashed = HashedChunks([b"ab", b"c"], lambda n: events.append(f"progress {n}"))
    for chunk in hashed:
        events.append(f"wrote {chunk!r}")
    assert events == ["wrote b'ab'", "progress 2", "wrote b'c'", "progress 1"]
    assert hashed.size == 3


def test_the_digest_of_chunks_not_all_consumed_is_refused() -> None:
    hashed = HashedChunks([b"a", b"b"])
    next(hashed)
    with pytest.raises(RuntimeError, match="not all consumed"):
        hashed.hexdigest()


def test_file_chunks_and_write_file(tmp_path: Path) -> None:
    data = os.urandom(3 * 1000 + 7)
    source = tmp_path / "src.bin"
    source.write_bytes(data)
    assert list(map(len, file_chunks(source, 1000))) == [1000, 1000, 1000, 7]
    dest = tmp_path / "dest.bin"
    assert write_file(file_chunks(source, 1000), dest) == hashlib.sha256(data).hexdigest()
    assert dest.read_bytes() == data


def test_write_file_from_a_missing_source_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_file(file_chunks(tmp_path / "missing"), tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_write_file_of_nothing_creates_an_empty_file(tmp_path: Path) -> None:
    assert write_file(iter(()), tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
    assert (tmp_path / "empty").read_bytes() == b""


# -- verified reads ---------------------------------------------------------------------------


def test_read_blob_returns_verified_bytes() -> None:
    store = MemoryStore()
    key = blob_key_of(b"payload")
    store.put(key, b"payload")
    assert read_blob(store, key) == b"payload"


def test_read_blob_of_damaged_bytes_names_the_blob_and_their_hash() -> None:
    store = MemoryStore()
    key = blob_key_of(b"payload")
    store.put(key, b"tampered")
    actual = hashlib.sha256(b"tampered").hexdigest()
    with pytest.raises(HashMismatch, match=rf"manifest blob {key} is corrupt.*sha256:{actual}"):
        read_blob(store, key, "manifest blob")


def test_read_blob_of_a_missing_blob_or_a_non_blob_key() -> None:
    store = MemoryStore()
    with pytest.raises(NotFound):
        read_blob(store, blob_key_of(b"absent"))
    store.put("blobs/other", b"x")
    with pytest.raises(HashMismatch, match="not a blob key"):
        read_blob(store, "blobs/other")


#: Large enough to be hashed in a thread while it is decoded.
_BIG = b"0123456789abcdef" * (1 << 17)


@pytest.mark.parametrize("data", [b"41", _BIG], ids=["small", "hashed beside decoding"])
def test_read_decoded_returns_the_decoded_verified_blob(data: bytes) -> None:
    store = MemoryStore()
    key = blob_key_of(data)
    store.put(key, data)
    assert read_decoded(store, key, len) == len(data)


@pytest.mark.parametrize("data", [b"41", _BIG], ids=["small", "hashed beside decoding"])
def test_read_decoded_of_damaged_bytes_raises_the_mismatch(data: bytes) -> None:
    store = MemoryStore()
    key = blob_key_of(data)
    tampered = b"x" + data[1:]
    store.put(key, tampered)
    actual = hashlib.sha256(tampered).hexdigest()
    # Decoding succeeds on the tampered bytes: the value is still not returned.
    with pytest.raises(HashMismatch, match=rf"probe set blob {key} is corrupt.*sha256:{actual}"):
        read_decoded(store, key, len, "probe set blob")

    def refuse(_: bytes) -> int:
        raise ValueError("undecodable")

    # Decoding fails on them: the damage is what is reported.
    with pytest.raises(HashMismatch, match="is corrupt"):
        read_decoded(store, key, refuse)
    store.put(key, data, mode="overwrite")
    with pytest.raises(ValueError, match="undecodable"):  # intact: decode's own error
        read_decoded(store, key, refuse)


def test_read_decoded_of_a_non_blob_key_decodes_nothing() -> None:
    store = MemoryStore()
    store.put("blobs/other", _BIG)
    decoded: list[bytes] = []
    with pytest.raises(HashMismatch, match="not a blob key"):
        read_decoded(store, "blobs/other", decoded.append)
    assert decoded == []


class _CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: str) -> bytes:
        self.reads += 1
        return super().get(key)


def test_blob_cache_reads_and_decodes_each_blob_once() -> None:
    store = _CountingStore()
    key = blob_key_of(b"41")
    store.put(key, b"41")
    decoded: list[bytes] = []

    def decode(data: bytes) -> int:
        decoded.append(data)
        return int(data) + 1

    cache = BlobCache(store)
    assert cache.get(key, decode) == 42
    assert cache.get(key, decode) == 42
    assert store.reads == 1 and decoded == [b"41"]
    assert cache.get(key, bytes.decode) == "41"  # another decoding is its own entry
    assert store.reads == 2


def test_blob_cache_verifies_and_caches_no_failure() -> None:
    store = MemoryStore()
    key = blob_key_of(b"good")
    cache = BlobCache(store)
    with pytest.raises(NotFound):
        cache.get(key, bytes)
    store.put(key, b"evil")
    with pytest.raises(HashMismatch, match="environment blob"):
        cache.get(key, bytes, "environment blob")
    store.put(key, b"good", mode="overwrite")
    assert cache.get(key, bytes) == b"good"


def test_blob_cache_does_not_cache_a_value_that_failed_to_decode() -> None:
    store = MemoryStore()
    key = blob_key_of(b"x")
    store.put(key, b"x")
    cache = BlobCache(store)
    with pytest.raises(ValueError, match="invalid literal"):
        cache.get(key, int)
    assert cache.get(key, bytes) == b"x"


# -- hashing stored blobs ------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda p: LocalStore(p / "store"), lambda p: MemoryStore()])
def test_hash_blob_streams_and_says_none_for_a_vanished_blob(
    tmp_path: Path, make: Callable[[Path], Store]
) -> None:
    store = make(tmp_path)
    data = os.urandom(3 << 20)  # several chunks
    key = blob_key_of(data)
    store.put(key, data)
    assert hash_blob(store, key) == digest_of_key(key)
    store.put(blob_key_of(b"x"), b"damaged")
    assert hash_blob(store, blob_key_of(b"x")) == hashlib.sha256(b"damaged").hexdigest()
    assert hash_blob(store, blob_key_of(b"gone")) is None


def test_hash_blobs_keeps_the_order_with_threads() -> None:
    store = MemoryStore()
    store.max_workers = 4
    keys = [blob_key_of(str(i).encode()) for i in range(20)]
    for i, key in enumerate(keys):
        if i % 3:
            store.put(key, str(i).encode())
    answers = list(hash_blobs(store, keys))
    assert [k for k, _ in answers] == keys
    assert [d for _, d in answers] == [
        None if i % 3 == 0 else digest_of_key(k) for i, k in enumerate(keys)
    ]
