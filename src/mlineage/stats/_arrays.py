"""The bytes and the checks behind probe sets and fingerprints (private).

Bytes format (probe sets and fingerprints alike), never pickle; format 2::

    b"mlineage-arrays\\n"          magic, 16 bytes
    uint64 little-endian          length of the JSON header
    JSON header                   {"format": 2, "kind": ..., "meta": {...},
                                   "arrays": [{"name": ..., "bytes": ...}, ...]}
    payload                       the arrays as .npy files (numpy.save, allow_pickle=False),
                                  one after the other in header order
    32 bytes                      SHA-256 of every byte before it (magic, length, header,
                                  payload): the whole document is checksummed

Format 1 (still read) had no trailing checksum but a ``"sha256"`` of the payload in the
header, so its header was outside any checksum. The magic and the header's place are
unchanged, so a release that reads only format 1 says "upgrade" rather than "corrupt".
Readers check the trailing checksum of every document of format 2 or later before they
believe its format number, so damage never passes for a newer format.

The same content always gives the same bytes, so blobs deduplicate. Also here: the checks
that make model outputs into arrays a fingerprint can hold (one label per row,
probabilities in [0, 1], finite embeddings).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import CorruptRecord, InvalidInput, StoreFormatError, UnhashableData
from mlineage.stats._behaviour import as_array, check_labels, plain_label

Array = npt.NDArray[Any]
_MAGIC = b"mlineage-arrays\n"
_FORMAT = 2
_LENGTH = struct.Struct("<Q")
_DIGEST = 32  # bytes of the trailing SHA-256
_HEADER_KEYS = {
    1: {"format", "kind", "meta", "arrays", "sha256"},
    2: {"format", "kind", "meta", "arrays"},
}


def storable(name: str, values: object) -> Array:
    """An array that can be hashed and saved without pickle, or a typed error."""
    array = as_array(values)
    if array.dtype.hasobject or array.dtype.kind == "T":
        raise UnhashableData(
            f"{name} has dtype {array.dtype}: its buffer holds pointers to Python objects, "
            "which mlineage would need pickle to store; convert it to a fixed dtype first "
            "(e.g. .astype(float), or .astype(str) for text)"
        )
    if array.dtype.names is not None:
        raise InvalidInput(
            f"{name} is a structured array ({array.dtype}); pass a plain array, e.g. the "
            "numeric columns as one 2-D float array"
        )
    return array


def frozen(array: Array, *, copy: bool) -> Array:
    """A read-only array: probe hashes and fingerprints must not change under the caller."""
    out = np.array(array, copy=True) if copy or array.flags.writeable else array
    out.setflags(write=False)
    return out


def pack_arrays(kind: str, meta: Mapping[str, Any], arrays: Mapping[str, Array]) -> bytes:
    blobs = []
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        blobs.append((name, buffer.getvalue()))
    header = {
        "format": _FORMAT,
        "kind": kind,
        "meta": dict(meta),
        "arrays": [{"name": name, "bytes": len(blob)} for name, blob in blobs],
    }
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    document = b"".join([_MAGIC, _LENGTH.pack(len(text)), text, *(blob for _, blob in blobs)])
    return document + hashlib.sha256(document).digest()


def unpack_arrays(
    data: bytes | bytearray | memoryview, kind: str, *, verified: bool = False
) -> tuple[dict[str, Any], dict[str, Array]]:
    """The header's meta and the arrays of a serialised ``kind``, everything checked.

    ``verified``: the caller checked these exact bytes against a content hash of them (a
    blob read by its key), so the document's own checksum is not computed again.

    Raises CorruptRecord for anything but the bytes :func:`pack_arrays` writes (or format 1's),
    StoreFormatError for an intact document of a newer format.
    """
    what = "probe set" if kind == "probe" else kind
    raw = bytes(data)
    if not raw.startswith(_MAGIC):
        raise CorruptRecord(
            f"not a serialised mlineage {what}: the bytes start with {raw[:16]!r}, "
            f"expected {_MAGIC!r}"
        )
    try:
        header, payload = _header(raw, what, verified)
        if header["kind"] != kind:
            raise ValueError(f"it holds a {header['kind']!r}, not a {kind!r}")
        meta = header["meta"]
        if not isinstance(meta, dict):
            raise ValueError("the header's meta is not an object")
        arrays: dict[str, Array] = {}
        offset = 0
        for entry in _entries(header["arrays"]):
            size = entry["bytes"]
            arrays[entry["name"]] = _load_npy(payload[offset : offset + size], entry["name"])
            offset += size
        if offset != len(payload):
            raise ValueError(f"{len(payload) - offset} bytes left over after the arrays")
    except (ValueError, KeyError, TypeError, IndexError, OSError, EOFError, struct.error) as exc:
        raise CorruptRecord(f"damaged serialised {what}: {exc}") from None
    return meta, arrays


def _header(
    raw: bytes, what: str, verified: bool = False
) -> tuple[dict[str, Any], bytes | memoryview]:
    """The checked header and the payload; ValueError (damage) or StoreFormatError.

    ``verified``: the bytes are known intact (see :func:`_unpack`); checksums are skipped.
    """
    start = len(_MAGIC) + _LENGTH.size
    (length,) = _LENGTH.unpack_from(raw, len(_MAGIC))
    if start + length > len(raw):
        raise ValueError(f"header of {length} bytes runs past the end ({len(raw)} bytes)")
    try:
        header = json.loads(raw[start : start + length].decode("utf-8"))
    except RecursionError:  # "[[[[..." deep enough to exhaust the parser's stack
        raise ValueError("the header is JSON nested too deeply") from None
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    fmt = header.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise ValueError(f"unknown format {fmt!r}")
    if fmt >= 2:
        # From format 2 on the document ends with its checksum: check it before trusting
        # the format number, so that a damaged format 2 never reads as a newer one.
        body, digest = memoryview(raw)[:-_DIGEST], raw[-_DIGEST:]  # a view: no copy
        if len(raw) < start + length + _DIGEST or (
            not verified and hashlib.sha256(body).digest() != digest
        ):
            raise ValueError("the bytes do not match the document's checksum")
        if fmt > _FORMAT:
            raise StoreFormatError(
                f"this {what} was written in format {fmt} by a newer mlineage; this one "
                f"reads formats 1 and {_FORMAT}: upgrade mlineage"
            )
        payload: bytes | memoryview = body[start + length :]
    else:
        payload = raw[start + length :]
        if not verified and hashlib.sha256(payload).hexdigest() != header.get("sha256"):
            raise ValueError("the arrays do not match the checksum in the header")
    if set(header) != _HEADER_KEYS[fmt]:
        raise ValueError(
            f"the format {fmt} header has fields {sorted(header)}, expected "
            f"{sorted(_HEADER_KEYS[fmt])}"
        )
    return header, payload


def _entries(listed: object) -> list[dict[str, Any]]:
    """The header's list of arrays: unique names, non-negative integer byte counts."""
    if not isinstance(listed, list):
        raise ValueError("the header's arrays are not a list")
    names: set[str] = set()
    for entry in listed:
        if not (isinstance(entry, dict) and set(entry) == {"name", "bytes"}):
            raise ValueError(f"an array entry is {entry!r:.80}, not {{name, bytes}}")
        name, size = entry["name"], entry["bytes"]
        if not isinstance(name, str) or name in names:
            raise ValueError(f"array name {name!r:.80} is not a new string")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"array {name!r} has {size!r:.80} bytes, not a count")
        names.add(name)
    return listed


#: Bytes enough for any .npy header numpy reads (it refuses headers over 10,000 bytes).
_NPY_HEADER_LIMIT = 1 << 16
_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _load_npy(blob: bytes | memoryview, name: str) -> Array:
    """One .npy file, its header checked against its size.

    The array is a read-only view of ``blob`` (the bytes of a document, which never
    change) where its place in the bytes is aligned for its dtype, else a read-only copy.
    """
    # The header is at most a few kilobytes (numpy.save's 2.0 header for long shapes).
    stream = io.BytesIO(blob[:_NPY_HEADER_LIMIT])
    version = np.lib.format.read_magic(stream)
    read_header = _NPY_HEADERS.get(version)
    if read_header is None:
        raise ValueError(f"array {name!r} is a .npy file of version {version}")
    shape, fortran, dtype = read_header(stream)
    if dtype.hasobject:
        raise ValueError(f"array {name!r} holds Python objects ({dtype}); it needs pickle")
    count = math.prod(shape)
    start = stream.tell()
    if len(blob) - start != count * dtype.itemsize:
        raise ValueError(
            f"array {name!r} of shape {shape} and dtype {dtype} needs "
            f"{count * dtype.itemsize} bytes, the file holds {len(blob) - start}"
        )
    flat: Array = np.frombuffer(blob, dtype=dtype, count=count, offset=start)
    if not flat.flags.aligned:  # the document's header length decides the offset
        flat = flat.copy()  # aligned, as np.load gives (numpy and its users expect it)
        flat.setflags(write=False)
    array: Array = flat.reshape(shape[::-1]).transpose() if fortran else flat.reshape(shape)
    return array


def group_key(value: Any) -> str:
    return str(plain_label(value))


def shape_family(array: Array) -> tuple[str, tuple[int, ...]]:
    kind = array.dtype.kind
    return ("numbers" if kind in "biuf" else kind, array.shape[1:])


def prediction_vector(name: str, array: Array, n: int | None) -> Array:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidInput(
            f"{name} has shape {array.shape}; expected one label per row "
            "(for class scores take .argmax(axis=1), or pass them as proba)"
        )
    return check_labels(name, array, n)


def proba_matrix(name: str, array: Array, n: int) -> Array:
    if array.dtype.kind not in "biuf":
        raise InvalidInput(f"{name} has dtype {array.dtype}; probabilities must be numbers")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim not in (1, 2) or array.shape[0] != n:
        raise InvalidInput(
            f"{name} has shape {array.shape}; expected ({n},) for P(class 1) of a binary "
            f"classifier or ({n}, k) for k classes"
        )
    if array.ndim == 2 and array.shape[1] == 0:
        raise InvalidInput(f"{name} has shape {array.shape}: no class columns")
    if not np.isfinite(array).all():
        raise InvalidInput(f"{name} holds nan or inf; probabilities must be finite")
    low, high = float(array.min()), float(array.max())
    if low < -1e-6 or high > 1.0 + 1e-6:
        raise InvalidInput(
            f"{name} ranges over [{low:.4g}, {high:.4g}]; probabilities lie in [0, 1] "
            "(apply a softmax or sigmoid to scores or logits first)"
        )
    return array


def embedding_matrix(array: Array, n: int) -> Array:
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim < 2 or array.shape[0] != n:
        raise InvalidInput(f"embeddings have shape {array.shape}; expected ({n}, d)")
    array = array.reshape(n, -1)
    if array.shape[1] == 0:
        raise InvalidInput(f"embeddings have shape {array.shape}: no features")
    if array.dtype.kind not in "biuf":
        raise InvalidInput(f"embeddings have dtype {array.dtype}; they must be real numbers")
    if not np.isfinite(array).all():
        raise InvalidInput("embeddings hold nan or inf")
    return array
