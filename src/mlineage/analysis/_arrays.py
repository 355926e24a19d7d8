"""The bytes and the checks behind probe sets and fingerprints (private).

Bytes format (probe sets and fingerprints alike), never pickle::

    b"mlineage-arrays\\n"          magic, 16 bytes
    uint64 little-endian          length of the JSON header
    JSON header                   {"format": 1, "kind": ..., "meta": {...},
                                   "arrays": [{"name": ..., "bytes": ...}, ...],
                                   "sha256": <hex of the payload>}
    payload                       the arrays as .npy files (numpy.save, allow_pickle=False),
                                  one after the other in header order

The same content always gives the same bytes, so blobs deduplicate. Also here: the checks
that make model outputs into arrays a fingerprint can hold (one label per row,
probabilities in [0, 1], finite embeddings).
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.analysis.behaviour import _as_array, _labels, _plain
from mlineage.errors import CorruptRecord, InvalidInput, StoreFormatError, UnhashableData

_Array = npt.NDArray[Any]
_MAGIC = b"mlineage-arrays\n"
_FORMAT = 1
_LENGTH = struct.Struct("<Q")


def _storable(name: str, values: object) -> _Array:
    """An array that can be hashed and saved without pickle, or a typed error."""
    array = _as_array(values)
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


def _frozen(array: _Array, *, copy: bool) -> _Array:
    """A read-only array: probe hashes and fingerprints must not change under the caller."""
    out = np.array(array, copy=True) if copy or array.flags.writeable else array
    out.setflags(write=False)
    return out


def _pack(kind: str, meta: Mapping[str, Any], arrays: Mapping[str, _Array]) -> bytes:
    blobs = []
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        blobs.append((name, buffer.getvalue()))
    payload = b"".join(blob for _, blob in blobs)
    header = {
        "format": _FORMAT,
        "kind": kind,
        "meta": dict(meta),
        "arrays": [{"name": name, "bytes": len(blob)} for name, blob in blobs],
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    return _MAGIC + _LENGTH.pack(len(text)) + text + payload


def _unpack(
    data: bytes | bytearray | memoryview, kind: str
) -> tuple[dict[str, Any], dict[str, _Array]]:
    what = "probe set" if kind == "probe" else kind
    raw = bytes(data)
    if not raw.startswith(_MAGIC):
        raise CorruptRecord(
            f"not a serialised mlineage {what}: the bytes start with {raw[:16]!r}, "
            f"expected {_MAGIC!r}"
        )
    try:
        start = len(_MAGIC) + _LENGTH.size
        (length,) = _LENGTH.unpack_from(raw, len(_MAGIC))
        if start + length > len(raw):
            raise ValueError(f"header of {length} bytes runs past the end ({len(raw)} bytes)")
        header = json.loads(raw[start : start + length].decode("utf-8"))
        fmt = header["format"]
        if isinstance(fmt, int) and fmt > _FORMAT:
            raise StoreFormatError(
                f"this {what} was written in format {fmt} by a newer mlineage; this one reads "
                f"format {_FORMAT}: upgrade mlineage"
            )
        if fmt != _FORMAT:
            raise ValueError(f"unknown format {fmt!r}")
        if header["kind"] != kind:
            raise ValueError(f"it holds a {header['kind']!r}, not a {kind!r}")
        payload = raw[start + length :]
        if hashlib.sha256(payload).hexdigest() != header["sha256"]:
            raise ValueError("the arrays do not match the checksum in the header")
        arrays: dict[str, _Array] = {}
        offset = 0
        for entry in header["arrays"]:
            size = int(entry["bytes"])
            blob = payload[offset : offset + size]
            offset += size
            arrays[str(entry["name"])] = np.load(io.BytesIO(blob), allow_pickle=False)
        if offset != len(payload):
            raise ValueError(f"{len(payload) - offset} bytes left over after the arrays")
        meta = header["meta"]
        if not isinstance(meta, dict):
            raise ValueError("the header's meta is not an object")
    except StoreFormatError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, OSError, EOFError, struct.error) as exc:
        raise CorruptRecord(f"damaged serialised {what}: {exc}") from exc
    return meta, arrays


def _hash_arrays(arrays: Mapping[str, _Array | None]) -> str:
    # Framed like mlineage.hashing.hash_array: a canonical JSON header of names, dtypes and
    # shapes, then the C-order bytes. Equivalent to hashing .npy files, but independent of
    # how a numpy release pads the .npy header.
    present = {name: a for name, a in arrays.items() if a is not None}
    header = {
        "format": 1,
        "arrays": [
            {"name": name, "dtype": np.lib.format.dtype_to_descr(a.dtype), "shape": list(a.shape)}
            for name, a in present.items()
        ],
    }
    digest = hashlib.sha256(b"mlineage.probe\n")
    digest.update(json.dumps(header, separators=(",", ":")).encode() + b"\n")
    for array in present.values():
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
    return "sha256:" + digest.hexdigest()


def _group_key(value: Any) -> str:
    return str(_plain(value))


def _shape_family(array: _Array) -> tuple[str, tuple[int, ...]]:
    kind = array.dtype.kind
    return ("numbers" if kind in "biuf" else kind, array.shape[1:])


def _prediction_vector(name: str, array: _Array, n: int | None) -> _Array:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidInput(
            f"{name} has shape {array.shape}; expected one label per row "
            "(for class scores take .argmax(axis=1), or pass them as proba)"
        )
    return _labels(name, array, n)


def _proba(name: str, array: _Array, n: int) -> _Array:
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


def _embedding_matrix(array: _Array, n: int) -> _Array:
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
