"""Read and rewrite format-2 pack files by hand, as docs/storage-format.md describes them.

Written from the documented layout, not with the codec, so the tests that damage packs
also check that the documentation is true.
"""

from __future__ import annotations

import itertools
import json
import zlib
from pathlib import Path
from typing import Any

HEAD_END = b',"records":[\n'
END = b"null]}\n"


def read(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header (without ``records``) and the records of a pack, versions first."""
    data = path.read_bytes()
    newline = data.index(b"\n")
    head = data[: newline + 1]
    assert head.endswith(HEAD_END)
    header = json.loads(head[: -len(HEAD_END)] + b"}")
    body = data[newline + 1 :]
    assert body.endswith(END)
    assert zlib.crc32(body) == header["crc32"]
    offsets = header["index"]["offsets"]
    records = [json.loads(body[start : end - 2]) for start, end in itertools.pairwise(offsets)]
    assert len(records) == header["versions"] + header["events"]
    return header, records


def write(path: Path, header: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """Write ``records`` under ``header``, with fresh offsets and checksum.

    The index columns other than ``offsets`` are written as given: a caller that adds or
    removes a version record edits them (and ``versions``) too.
    """
    lines = [json.dumps(r, separators=(",", ":")).encode() for r in records]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 2)
    body = b"".join(line + b",\n" for line in lines) + END
    header = dict(header, crc32=zlib.crc32(body))
    header["index"] = dict(header["index"], offsets=offsets)
    path.write_bytes(json.dumps(header, separators=(",", ":")).encode()[:-1] + HEAD_END + body)


def repeat_version(path: Path, row: int) -> None:
    """List version ``row`` twice (record and index row), keeping the checksum valid."""
    header, records = read(path)
    index = header["index"]
    for name in ("ids", "parents", "kinds", "names", "created"):
        index[name].append(index[name][row])
    for column in index["metrics"].values():
        column.append(column[row])
    n = header["versions"]
    records.insert(n, records[row])
    header["versions"] = n + 1
    write(path, header, records)
