"""Read and rewrite format-2 to -5 pack files by hand, as docs/storage-format.md describes
them (format 5: the table line, kept in the header dict under ``"table"``).

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
TABLE_START = b'"table":'
END = b"null]}\n"


def read(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header (without ``records``) and the records of a pack, versions first."""
    data = path.read_bytes()
    newline = data.index(b"\n")
    head = data[: newline + 1]
    if head.endswith(HEAD_END):
        header = json.loads(head[: -len(HEAD_END)] + b"}")
        checked = body = data[newline + 1 :]
    else:  # format 5: the header ends with ",", the table's line follows
        assert head.endswith(b",\n")
        header = json.loads(head[:-2] + b"}")
        end = data.index(b"\n", newline + 1)
        table = data[newline + 1 : end + 1]
        assert table.startswith(TABLE_START) and table.endswith(HEAD_END)
        header["table"] = json.loads(table[len(TABLE_START) : -len(HEAD_END)])
        checked, body = data[newline + 1 :], data[end + 1 :]
    assert body.endswith(END)
    assert zlib.crc32(checked) == header["crc32"]
    offsets = header["index"]["offsets"]
    records = [json.loads(body[start : end - 2]) for start, end in itertools.pairwise(offsets)]
    assert len(records) == header["versions"] + header["events"]
    return header, records


def body_start(data: bytes) -> int:
    """Where the record lines start (after the header's line, and a table's line)."""
    return data.index(HEAD_END) + len(HEAD_END)


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
    header = dict(header)
    table = header.pop("table", None)
    if table is not None:  # the CRC-32 covers the table's line too
        body = TABLE_START + json.dumps(table, separators=(",", ":")).encode() + HEAD_END + body
    header["crc32"] = zlib.crc32(body)
    header["index"] = dict(header["index"], offsets=offsets)
    head = json.dumps(header, separators=(",", ":")).encode()[:-1]
    head += b",\n" if table is not None else HEAD_END
    path.write_bytes(head + body)


def repeat_version(path: Path, row: int) -> None:
    """List version ``row`` twice (record and index row), keeping the checksum valid."""
    header, records = read(path)
    index = header["index"]
    for name in ("ids", "parents", "kinds", "names", "created"):
        index[name].append(index[name][row])
    for column in index["metrics"].values():
        column.append(column[row])
    for column in header.get("table", {}).values():
        column.append(column[row])
    n = header["versions"]
    records.insert(n, records[row])
    header["versions"] = n + 1
    write(path, header, records)
