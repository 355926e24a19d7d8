"""Probe sets, behavioural fingerprints, and the difference between two fingerprints.

A :class:`ProbeSet` is a fixed set of inputs (with optional labels and group labels),
identified by a content hash. Running a model on it gives a :class:`Fingerprint`: its
predictions (and probabilities and embeddings when given) plus a small summary. Two
fingerprints of the same probe set compare into a :class:`BehaviorDiff`: churn, flip
rates, per-group accuracy, representation drift and calibration. Everything here is
plain arrays; the tracker stores probe sets and fingerprints as blobs
(:meth:`ProbeSet.to_bytes`, :meth:`Fingerprint.to_bytes`) and summaries in records
(:meth:`Fingerprint.summary`).

Bytes format (probe sets and fingerprints alike), never pickle::

    b"mlineage-arrays\\n"          magic, 16 bytes
    uint64 little-endian          length of the JSON header
    JSON header                   {"format": 1, "kind": ..., "meta": {...},
                                   "arrays": [{"name": ..., "bytes": ...}, ...],
                                   "sha256": <hex of the payload>}
    payload                       the arrays as .npy files (numpy.save, allow_pickle=False),
                                  one after the other in header order

The same content always gives the same bytes, so blobs deduplicate.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlineage.analysis.behaviour import (
    GroupChange,
    GroupLabel,
    GroupMetrics,
    _as_array,
    _equal,
    _group_changes,
    _labels,
    _plain,
    _same_kind,
)
from mlineage.analysis.calibration import CalibrationResult, expected_calibration_error
from mlineage.analysis.representation import _linear_cka_and_procrustes
from mlineage.errors import CorruptRecord, InvalidInput, StoreFormatError, UnhashableData

__all__ = [
    "BehaviorDiff",
    "Fingerprint",
    "Flip",
    "ProbeSet",
    "churn_between",
    "compare_fingerprints",
]

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


class ProbeSet:
    """A fixed set of inputs to run every model version on, identified by content.

    Parameters
    ----------
    X : array_like
        The inputs, one per row along the first axis: a feature matrix, images
        (n, h, w, c), or text as a numpy string array. Object arrays are refused (they
        cannot be stored without pickle).
    y : array_like of shape (n,), optional
        True labels. Enables accuracy, flip rates, backward trust compatibility and
        calibration.
    groups : array_like of shape (n,), optional
        Group (slice) label of each row (numbers or strings), for per-group accuracy.
    name : str, default "probe"
        A human name; not part of the hash.

    Attributes
    ----------
    X, y, groups : numpy.ndarray
        Read-only copies (``y`` and ``groups`` may be None).
    hash : str
        ``"sha256:<hex>"`` over the dtypes, shapes and bytes of ``X``, ``y`` and
        ``groups``: the same content gives the same hash on every machine.
    group_labels : numpy.ndarray or None
        The distinct group labels, sorted.

    Raises
    ------
    UnhashableData
        An input of Python objects (dtype ``object``).
    InvalidInput
        No rows, ``y`` or ``groups`` of another length or not 1-D, ``nan`` among labels
        or groups, or a name that is not a string.

    Examples
    --------
    >>> import numpy as np
    >>> probe = ProbeSet(np.arange(8.0).reshape(4, 2), y=[0, 1, 1, 0], groups=["a", "a", "b", "b"])
    >>> len(probe), probe.hash.startswith("sha256:")
    (4, True)
    >>> ProbeSet.from_bytes(probe.to_bytes()) == probe
    True
    """

    def __init__(
        self,
        X: npt.ArrayLike,  # noqa: N803 -- scikit-learn's name for the inputs
        y: npt.ArrayLike | None = None,
        groups: npt.ArrayLike | None = None,
        *,
        name: str = "probe",
    ) -> None:
        if not isinstance(name, str):
            raise InvalidInput(f"name must be a string, got {type(name).__name__}")
        x = _storable("X", X)
        if x.ndim == 0 or x.shape[0] == 0:
            raise InvalidInput(f"X has shape {x.shape}; a probe set needs at least one row")
        n = x.shape[0]
        labels = None if y is None else _labels("y", _storable("y", y), n)
        group = None if groups is None else _labels("groups", _storable("groups", groups), n)
        self.name = name
        self.X = _frozen(x, copy=True)
        self.y = None if labels is None else _frozen(labels, copy=True)
        self.groups = None if group is None else _frozen(group, copy=True)
        self.hash = _hash_arrays({"X": self.X, "y": self.y, "groups": self.groups})
        self.group_labels: _Array | None = None
        self._group_codes: npt.NDArray[np.intp] | None = None
        if self.groups is not None:
            labels_, codes = np.unique(self.groups, return_inverse=True)
            self.group_labels = _frozen(labels_, copy=False)
            self._group_codes = _frozen(codes.reshape(-1).astype(np.intp), copy=False)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __repr__(self) -> str:
        parts = [f"{len(self)} rows", f"X {self.X.dtype}{list(self.X.shape[1:])}"]
        if self.y is not None:
            parts.append("labels")
        if self.group_labels is not None:
            parts.append(f"{self.group_labels.shape[0]} groups")
        return f"ProbeSet({self.name!r}, {', '.join(parts)}, {self.hash[:19]})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProbeSet):
            return NotImplemented
        return self.hash == other.hash and self.name == other.name

    def __hash__(self) -> int:
        return hash((self.hash, self.name))

    def to_bytes(self) -> bytes:
        """Serialise to the portable container described in the module docstring.

        Returns
        -------
        bytes
            The same probe set always gives the same bytes.

        Examples
        --------
        >>> probe = ProbeSet([[1.0], [2.0]])
        >>> probe.to_bytes() == ProbeSet([[1.0], [2.0]]).to_bytes()
        True
        """
        arrays = {"X": self.X}
        if self.y is not None:
            arrays["y"] = self.y
        if self.groups is not None:
            arrays["groups"] = self.groups
        return _pack("probe", {"name": self.name, "hash": self.hash}, arrays)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> ProbeSet:
        """Load a probe set written by :meth:`to_bytes`, checking its hash.

        Parameters
        ----------
        data : bytes
            Output of :meth:`to_bytes`.

        Returns
        -------
        ProbeSet

        Raises
        ------
        CorruptRecord
            Truncated, altered or foreign bytes, or content that no longer matches the
            recorded hash.
        StoreFormatError
            Written in a newer format by a newer mlineage.

        Examples
        --------
        >>> ProbeSet.from_bytes(ProbeSet([[0.5]], name="tiny").to_bytes()).name
        'tiny'
        """
        meta, arrays = _unpack(data, "probe")
        try:
            probe = cls(arrays["X"], arrays.get("y"), arrays.get("groups"), name=meta["name"])
        except (KeyError, InvalidInput) as exc:
            raise CorruptRecord(f"damaged serialised probe set: {exc}") from exc
        if probe.hash != meta.get("hash"):
            raise CorruptRecord(
                f"damaged serialised probe set: its content hashes to {probe.hash}, "
                f"but it was saved as {meta.get('hash')!r}"
            )
        return probe

    def fingerprint(
        self,
        predictions: npt.ArrayLike | None = None,
        proba: npt.ArrayLike | None = None,
        embeddings: npt.ArrayLike | None = None,
        *,
        classes: npt.ArrayLike | None = None,
        n_bins: int = 15,
    ) -> Fingerprint:
        """Make a fingerprint from outputs already computed on this probe set.

        :meth:`evaluate` calls the model and then this; use it directly when the outputs
        come from elsewhere (a batch job, a served model's logs).

        Parameters
        ----------
        predictions : array_like of shape (n,), optional
            Predicted labels, one per probe row.
        proba : array_like of shape (n,), (n, 1) or (n, k), optional
            Class probabilities (1-D or one column: P(class 1) of a binary classifier).
            At least one of ``predictions`` and ``proba`` is needed; without
            ``predictions`` they are the most probable class (``p >= 0.5`` for 1-D).
        embeddings : array_like of shape (n, ...), optional
            One embedding per row; trailing axes are flattened to (n, d).
        classes : array_like of shape (k,), optional
            Label of each column of ``proba`` (two labels for 1-D, negative first), as
            scikit-learn's ``classes_``; default ``0..k-1``.
        n_bins : int, default 15
            Bins of the calibration error stored with the fingerprint.

        Returns
        -------
        Fingerprint

        Raises
        ------
        InvalidInput
            Neither ``predictions`` nor ``proba``; outputs of the wrong length or shape;
            predictions that cannot be compared with the labels; probabilities that are
            not probabilities.
        UnhashableData
            Outputs of Python objects.

        Examples
        --------
        >>> probe = ProbeSet([[0.0], [1.0], [2.0], [3.0]], y=[0, 0, 1, 1])
        >>> fp = probe.fingerprint(proba=[0.2, 0.6, 0.7, 0.9])
        >>> fp.predictions.tolist(), fp.accuracy
        ([0, 1, 1, 1], 0.75)
        """
        return self._fingerprint(predictions, proba, embeddings, classes, n_bins, copy=True)

    def _fingerprint(
        self,
        predictions: npt.ArrayLike | None,
        proba: npt.ArrayLike | None,
        embeddings: npt.ArrayLike | None,
        classes: npt.ArrayLike | None,
        n_bins: int,
        *,
        copy: bool,
    ) -> Fingerprint:
        n = len(self)
        if predictions is None and proba is None:
            raise InvalidInput(
                "a fingerprint needs predictions or proba (or both); embeddings alone "
                "cannot show which answers changed"
            )
        p = None if proba is None else _proba("proba", _storable("proba", proba), n)
        labels = None if classes is None else _labels("classes", _storable("classes", classes))
        if p is not None and labels is not None:
            k = 2 if p.ndim == 1 else p.shape[1]
            if labels.shape[0] != k:
                raise InvalidInput(
                    f"classes has {labels.shape[0]} labels but proba describes {k} classes"
                )
        if predictions is None:
            assert p is not None
            index = (p >= 0.5).astype(np.intp) if p.ndim == 1 else p.argmax(axis=1)
            pred = index if labels is None else labels[index]
        else:
            pred = _prediction_vector("predictions", _storable("predictions", predictions), n)
        emb = (
            None
            if embeddings is None
            else _embedding_matrix(_storable("embeddings", embeddings), n)
        )
        accuracy = None
        groups: tuple[GroupMetrics, ...] = ()
        calibration = None
        if self.y is not None:
            _same_kind(("y", self.y), ("predictions", pred))
            correct = _equal(pred, self.y)
            accuracy = float(np.count_nonzero(correct) / n)
            if self._group_codes is not None and self.group_labels is not None:
                k = self.group_labels.shape[0]
                sizes = np.bincount(self._group_codes, minlength=k)
                hits = np.bincount(self._group_codes[correct], minlength=k)
                groups = tuple(
                    GroupMetrics(_plain(label), int(s), float(h / s))
                    for label, s, h in zip(
                        self.group_labels, sizes.tolist(), hits.tolist(), strict=True
                    )
                )
            if p is not None:
                calibration = expected_calibration_error(self.y, p, n_bins, classes=labels)
        return Fingerprint(
            self.hash,
            pred,
            proba=p,
            embeddings=emb,
            classes=labels,
            accuracy=accuracy,
            groups=groups,
            calibration=calibration,
            _copy=copy,
        )

    def evaluate(
        self,
        predict: Callable[[Any], Any] | None = None,
        predict_proba: Callable[[Any], Any] | None = None,
        embed: Callable[[Any], Any] | None = None,
        *,
        batch_size: int = 1024,
        classes: npt.ArrayLike | None = None,
        n_bins: int = 15,
    ) -> Fingerprint:
        """Run a model's callables on the probe set, in batches, and fingerprint it.

        Any framework works: each callable receives a numpy array of up to
        ``batch_size`` rows of ``X`` (a fresh copy, so in-place preprocessing cannot
        alter the probe set) and returns an array-like with one row per input — a numpy
        array, a list, a pandas object, or a tensor (``.detach().cpu()`` is applied when
        present). Each given callable is called ``ceil(n / batch_size)`` times; exceptions
        it raises propagate unchanged.

        Parameters
        ----------
        predict : callable, optional
            Batch -> predicted labels, shape (b,) (or (b, 1)).
        predict_proba : callable, optional
            Batch -> class probabilities, shape (b, k), or (b,) / (b, 1) for P(class 1).
            At least one of ``predict`` and ``predict_proba`` is needed; without
            ``predict`` the predictions are the most probable class.
        embed : callable, optional
            Batch -> embeddings, shape (b, ...), flattened to (b, d).
        batch_size : int, default 1024
            Rows per call.
        classes : array_like, optional
            Labels of the columns of ``predict_proba``'s output (``model.classes_`` in
            scikit-learn); default ``0..k-1``.
        n_bins : int, default 15
            Bins of the calibration error stored with the fingerprint.

        Returns
        -------
        Fingerprint

        Raises
        ------
        InvalidInput
            No ``predict`` or ``predict_proba``, a non-positive ``batch_size``, a callable
            returning the wrong number of rows or shape (the message names the callable
            and the batch), or outputs that fail :meth:`fingerprint`'s checks.
        UnhashableData
            A callable returned Python objects.

        Examples
        --------
        >>> import numpy as np
        >>> probe = ProbeSet(np.linspace(-1, 1, 5).reshape(-1, 1), y=[0, 0, 1, 1, 1])
        >>> fp = probe.evaluate(predict=lambda b: (b[:, 0] > 0).astype(int), batch_size=2)
        >>> fp.predictions.tolist(), fp.accuracy
        ([0, 0, 0, 1, 1], 0.8)
        """
        if predict is None and predict_proba is None:
            raise InvalidInput(
                "evaluate needs predict or predict_proba (or both); embed alone cannot "
                "show which answers changed"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise InvalidInput(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_size < 1:
            raise InvalidInput(f"batch_size must be a positive integer, got {batch_size}")
        callables = {
            name: fn
            for name, fn in (
                ("predict", predict),
                ("predict_proba", predict_proba),
                ("embed", embed),
            )
            if fn is not None
        }
        for name, fn in callables.items():
            if not callable(fn):
                raise InvalidInput(f"{name} must be callable, got {type(fn).__name__}")
        parts: dict[str, list[_Array]] = {name: [] for name in callables}
        n = len(self)
        for start in range(0, n, int(batch_size)):
            batch = np.array(self.X[start : start + int(batch_size)], copy=True)
            for name, fn in callables.items():
                out = _storable(f"the output of {name}", fn(batch))
                if out.ndim == 0 or out.shape[0] != batch.shape[0]:
                    got = "a scalar" if out.ndim == 0 else f"{out.shape[0]} rows"
                    raise InvalidInput(
                        f"{name} returned {got} (shape {out.shape}) for the batch of rows "
                        f"{start}..{start + batch.shape[0] - 1} ({batch.shape[0]} rows); it "
                        "must return one output per input row"
                    )
                if parts[name] and _shape_family(out) != _shape_family(parts[name][0]):
                    raise InvalidInput(
                        f"{name} returned {out.dtype} of shape {out.shape[1:]} per row for "
                        f"rows {start}.., but {parts[name][0].dtype} of shape "
                        f"{parts[name][0].shape[1:]} for the first batch; it must be consistent"
                    )
                parts[name].append(out)
        outputs = {name: np.concatenate(chunks) for name, chunks in parts.items()}
        return self._fingerprint(
            outputs.get("predict"),
            outputs.get("predict_proba"),
            outputs.get("embed"),
            classes,
            n_bins,
            copy=False,
        )


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


class Fingerprint:
    """A model version's outputs on a probe set, with a small summary.

    Made by :meth:`ProbeSet.evaluate` or :meth:`ProbeSet.fingerprint` (which compute
    the accuracy, per-group accuracy and calibration from the probe's labels), or read
    back with :meth:`from_bytes`. The arrays are read-only.

    Parameters
    ----------
    probe_hash : str
        Hash of the probe set the outputs belong to.
    predictions : array_like of shape (n,)
        Predicted labels.
    proba : array_like of shape (n,) or (n, k), optional
        Class probabilities.
    embeddings : array_like of shape (n, d), optional
        Embeddings.
    classes : array_like of shape (k,), optional
        Labels of the columns of ``proba``.
    accuracy : float, optional
        Share of correct predictions, when the probe set has labels.
    groups : sequence of GroupMetrics, optional
        Per-group accuracy, when the probe set has labels and groups.
    calibration : CalibrationResult, optional
        Calibration of ``proba`` against the labels.

    Attributes
    ----------
    probe_hash, predictions, proba, embeddings, classes, accuracy, groups, calibration
        As given (arrays read-only, ``groups`` a tuple).

    Raises
    ------
    InvalidInput
        Arrays of inconsistent lengths or shapes.

    Examples
    --------
    >>> probe = ProbeSet([[0.0], [1.0]], y=[0, 1])
    >>> fp = probe.fingerprint(predictions=[0, 0])
    >>> Fingerprint.from_bytes(fp.to_bytes()).summary()["accuracy"]
    0.5
    """

    def __init__(
        self,
        probe_hash: str,
        predictions: npt.ArrayLike,
        *,
        proba: npt.ArrayLike | None = None,
        embeddings: npt.ArrayLike | None = None,
        classes: npt.ArrayLike | None = None,
        accuracy: float | None = None,
        groups: tuple[GroupMetrics, ...] | list[GroupMetrics] = (),
        calibration: CalibrationResult | None = None,
        _copy: bool = True,
    ) -> None:
        if not (isinstance(probe_hash, str) and probe_hash.startswith("sha256:")):
            raise InvalidInput(f"probe_hash must be a 'sha256:...' string, got {probe_hash!r}")
        pred = _prediction_vector("predictions", _storable("predictions", predictions), None)
        n = pred.shape[0]
        p = None if proba is None else _proba("proba", _storable("proba", proba), n)
        emb = (
            None
            if embeddings is None
            else _embedding_matrix(_storable("embeddings", embeddings), n)
        )
        labels = None if classes is None else _labels("classes", _storable("classes", classes))
        if accuracy is not None and not (
            isinstance(accuracy, (int, float)) and 0.0 <= accuracy <= 1.0
        ):
            raise InvalidInput(f"accuracy must be a number in [0, 1], got {accuracy!r}")
        self.probe_hash = probe_hash
        self.predictions = _frozen(pred, copy=_copy)
        self.proba = None if p is None else _frozen(p, copy=_copy)
        self.embeddings = None if emb is None else _frozen(emb, copy=_copy)
        self.classes = None if labels is None else _frozen(labels, copy=_copy)
        self.accuracy = None if accuracy is None else float(accuracy)
        self.groups = tuple(groups)
        self.calibration = calibration

    @property
    def n(self) -> int:
        """Number of probe rows."""
        return int(self.predictions.shape[0])

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        extra = []
        if self.accuracy is not None:
            extra.append(f"accuracy={self.accuracy:.4f}")
        if self.proba is not None:
            extra.append("proba")
        if self.embeddings is not None:
            extra.append(f"embeddings[{self.embeddings.shape[1]}]")
        tail = ", ".join([f"n={self.n}", *extra])
        return f"Fingerprint({self.probe_hash[:19]}, {tail})"

    def summary(self) -> dict[str, Any]:
        """A small JSON-ready dict to store in a version's record (the arrays go to blobs).

        Returns
        -------
        dict
            ``probe`` (hash), ``n``, ``accuracy`` (None without labels), ``groups``
            (``{str(label): {"n", "accuracy"}}``), ``ece`` and ``mce`` (None without
            probabilities and labels), ``n_classes`` (None without probabilities) and
            ``embedding_dim`` (None without embeddings).

        Examples
        --------
        >>> probe = ProbeSet([[0.0], [1.0]], y=[0, 1], groups=["a", "b"])
        >>> probe.fingerprint(predictions=[0, 0]).summary()["groups"]
        {'a': {'n': 1, 'accuracy': 1.0}, 'b': {'n': 1, 'accuracy': 0.0}}
        """
        n_classes = None
        if self.proba is not None:
            n_classes = 2 if self.proba.ndim == 1 else int(self.proba.shape[1])
        return {
            "probe": self.probe_hash,
            "n": self.n,
            "accuracy": self.accuracy,
            "groups": {str(g.group): {"n": g.n, "accuracy": g.accuracy} for g in self.groups},
            "ece": None if self.calibration is None else self.calibration.ece,
            "mce": None if self.calibration is None else self.calibration.mce,
            "n_classes": n_classes,
            "embedding_dim": None if self.embeddings is None else int(self.embeddings.shape[1]),
        }

    def to_bytes(self) -> bytes:
        """Serialise to the portable container described in the module docstring.

        Returns
        -------
        bytes
            The same fingerprint always gives the same bytes.

        Examples
        --------
        >>> fp = ProbeSet([[0.0], [1.0]]).fingerprint(predictions=[1, 1])
        >>> Fingerprint.from_bytes(fp.to_bytes()).predictions.tolist()
        [1, 1]
        """
        arrays = {"predictions": self.predictions}
        for name in ("proba", "embeddings", "classes"):
            value = getattr(self, name)
            if value is not None:
                arrays[name] = value
        meta = {
            "probe_hash": self.probe_hash,
            "accuracy": self.accuracy,
            "groups": [[g.group, g.n, g.accuracy] for g in self.groups],
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }
        return _pack("fingerprint", meta, arrays)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Fingerprint:
        """Load a fingerprint written by :meth:`to_bytes`.

        Parameters
        ----------
        data : bytes
            Output of :meth:`to_bytes`.

        Returns
        -------
        Fingerprint

        Raises
        ------
        CorruptRecord
            Truncated, altered or foreign bytes.
        StoreFormatError
            Written in a newer format by a newer mlineage.

        Examples
        --------
        >>> Fingerprint.from_bytes(b"junk")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlineage.errors.CorruptRecord: not a serialised mlineage fingerprint: ...
        """
        meta, arrays = _unpack(data, "fingerprint")
        try:
            calibration = meta["calibration"]
            return cls(
                meta["probe_hash"],
                arrays["predictions"],
                proba=arrays.get("proba"),
                embeddings=arrays.get("embeddings"),
                classes=arrays.get("classes"),
                accuracy=meta["accuracy"],
                groups=tuple(GroupMetrics(g, int(n), float(a)) for g, n, a in meta["groups"]),
                calibration=None
                if calibration is None
                else CalibrationResult.from_dict(calibration),
                _copy=False,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptRecord(f"damaged serialised fingerprint: {exc}") from exc


FlipKind = Literal["negative", "positive", "changed"]


@dataclass(frozen=True)
class Flip:
    """One probe example whose prediction changed.

    Attributes
    ----------
    index : int
        Row of the probe set.
    kind : {"negative", "positive", "changed"}
        ``negative``: right before, wrong after; ``positive``: wrong before, right after;
        ``changed``: wrong both times, or no labels.
    old, new : str, int, float or bool
        The two predictions.
    label : str, int, float, bool or None
        The true label, when known.
    confidence_drop : float or None
        With labels, ``p_old(label) - p_new(label)``; without, ``p_old(old) - p_new(old)``:
        how much probability the new model took away from the answer that was trusted.
        None unless both fingerprints have probabilities.
    """

    index: int
    kind: FlipKind
    old: GroupLabel
    new: GroupLabel
    label: GroupLabel | None = None
    confidence_drop: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict.

        Returns
        -------
        dict
            One key per attribute.

        Examples
        --------
        >>> Flip(3, "negative", 1, 0, 1, 0.5).to_dict()["kind"]
        'negative'
        """
        return {
            "index": self.index,
            "kind": self.kind,
            "old": self.old,
            "new": self.new,
            "label": self.label,
            "confidence_drop": self.confidence_drop,
        }


@dataclass(frozen=True)
class BehaviorDiff:
    """How a model's behaviour changed between two fingerprints of one probe set.

    Made by :func:`compare_fingerprints`. Fields that need something the inputs lack
    (labels, probabilities, embeddings) are None; ``notes`` says why when it is not
    obvious.

    Attributes
    ----------
    probe_hash : str
        The probe set both fingerprints belong to.
    n : int
        Number of probe rows.
    churn : float
        Share of predictions that changed.
    changed : int
        Number of predictions that changed.
    accuracy_old, accuracy_new : float or None
        Accuracy before and after.
    negative_flip_rate, positive_flip_rate : float or None
        Yan et al. 2021 (need the probe set's labels).
    backward_trust_compatibility : float or None
        Bansal et al. 2019 (needs labels; 1.0 when the old model got nothing right).
    groups : tuple of GroupChange
        Per-group accuracy before and after, and flip rates, worst group first. Without
        the probe set, only the accuracies stored in the fingerprints (churn None).
    linear_cka, procrustes_distance : float or None
        Representation drift, when both fingerprints have embeddings.
    calibration_old, calibration_new : CalibrationResult or None
        ECE, MCE and reliability bins, when the fingerprints have probabilities and the
        probe set labels.
    top_flips : tuple of Flip
        Changed examples, negative flips first, then wrong-to-wrong changes, then positive
        flips; within each, by confidence drop (largest first) when both fingerprints
        have probabilities, else by row.
    notes : tuple of str
        What could not be computed and why.
    """

    probe_hash: str
    n: int
    churn: float
    changed: int
    accuracy_old: float | None = None
    accuracy_new: float | None = None
    negative_flip_rate: float | None = None
    positive_flip_rate: float | None = None
    backward_trust_compatibility: float | None = None
    groups: tuple[GroupChange, ...] = ()
    linear_cka: float | None = None
    procrustes_distance: float | None = None
    calibration_old: CalibrationResult | None = None
    calibration_new: CalibrationResult | None = None
    top_flips: tuple[Flip, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Return every field as JSON-ready values (nested dicts and lists).

        Returns
        -------
        dict
            One key per attribute; ``groups`` and ``top_flips`` as lists of dicts,
            calibrations as :meth:`CalibrationResult.to_dict`.

        Examples
        --------
        >>> import json
        >>> probe = ProbeSet([[0.0], [1.0]], y=[0, 1])
        >>> diff = compare_fingerprints(
        ...     probe.fingerprint(predictions=[0, 1]), probe.fingerprint(predictions=[0, 0]), probe
        ... )
        >>> json.loads(json.dumps(diff.to_dict()))["negative_flip_rate"]
        0.5
        """
        return {
            "probe_hash": self.probe_hash,
            "n": self.n,
            "churn": self.churn,
            "changed": self.changed,
            "accuracy_old": self.accuracy_old,
            "accuracy_new": self.accuracy_new,
            "negative_flip_rate": self.negative_flip_rate,
            "positive_flip_rate": self.positive_flip_rate,
            "backward_trust_compatibility": self.backward_trust_compatibility,
            "groups": [g.to_dict() for g in self.groups],
            "linear_cka": self.linear_cka,
            "procrustes_distance": self.procrustes_distance,
            "calibration_old": None
            if self.calibration_old is None
            else self.calibration_old.to_dict(),
            "calibration_new": None
            if self.calibration_new is None
            else self.calibration_new.to_dict(),
            "top_flips": [f.to_dict() for f in self.top_flips],
            "notes": list(self.notes),
        }

    def to_pandas(self) -> Any:
        """The per-group table as a pandas DataFrame, worst group first.

        Returns
        -------
        pandas.DataFrame
            One row per group, the columns of :class:`GroupChange`, indexed by group.

        Raises
        ------
        MissingDependency
            pandas is not installed.

        Examples
        --------
        >>> probe = ProbeSet([[0.0], [1.0]], y=[0, 1], groups=["a", "b"])
        >>> diff = compare_fingerprints(
        ...     probe.fingerprint(predictions=[0, 1]), probe.fingerprint(predictions=[0, 0]), probe
        ... )
        >>> diff.to_pandas().index.tolist()  # doctest: +SKIP
        ['b', 'a']
        """
        try:
            # pandas is optional and heavy: imported only when a table is asked for.
            pd = importlib.import_module("pandas")
        except ImportError as exc:
            from mlineage.errors import MissingDependency

            raise MissingDependency(
                "BehaviorDiff.to_pandas needs pandas: pip install 'mlineage[data]'"
            ) from exc
        columns = list(GroupChange("", 0, 0.0).to_dict())
        frame = pd.DataFrame([g.to_dict() for g in self.groups], columns=columns)
        return frame.set_index("group")

    def __str__(self) -> str:
        lines = [f"Behaviour diff on probe {self.probe_hash[:19]}... ({self.n:,} examples)"]

        def row(label: str, text: str) -> None:
            lines.append(f"  {label:<30}{text}")

        row("churn", f"{_pct(self.churn)}  ({self.changed:,} predictions changed)")
        if self.accuracy_old is not None and self.accuracy_new is not None:
            delta = 100 * (self.accuracy_new - self.accuracy_old)
            row(
                "accuracy",
                f"{_pct(self.accuracy_old)} -> {_pct(self.accuracy_new)}  ({delta:+.2f} pp)",
            )
        if self.negative_flip_rate is not None:
            row("negative flip rate", _pct(self.negative_flip_rate))
        if self.positive_flip_rate is not None:
            row("positive flip rate", _pct(self.positive_flip_rate))
        if self.backward_trust_compatibility is not None:
            row("backward trust compatibility", f"{self.backward_trust_compatibility:.4f}")
        if self.linear_cka is not None:
            row("linear CKA", f"{self.linear_cka:.4f}")
        if self.procrustes_distance is not None:
            row("Procrustes distance", f"{self.procrustes_distance:.4f}")
        if self.calibration_old is not None and self.calibration_new is not None:
            bins = len(self.calibration_new.bins)
            row(
                f"ECE ({bins} bins)",
                f"{self.calibration_old.ece:.4f} -> {self.calibration_new.ece:.4f}",
            )
            row("MCE", f"{self.calibration_old.mce:.4f} -> {self.calibration_new.mce:.4f}")
        if self.groups:
            lines.append("Groups (worst first):")
            width = max(5, *(len(str(g.group)) for g in self.groups[:10]))
            lines.append(
                f"  {'group':<{width}} {'n':>8} {'acc old':>8} {'acc new':>8} {'delta':>10} "
                f"{'NFR':>7} {'churn':>7}"
            )
            for g in self.groups[:10]:
                change = "" if g.accuracy_delta is None else f"{100 * g.accuracy_delta:+.2f} pp"
                lines.append(
                    f"  {g.group!s:<{width}} {g.n:>8,} {_pct(g.accuracy_old):>8} "
                    f"{_pct(g.accuracy_new):>8} {change:>10} {_pct(g.negative_flip_rate):>7} "
                    f"{_pct(g.churn):>7}"
                )
            if len(self.groups) > 10:
                lines.append(f"  ... {len(self.groups) - 10} more groups")
        if self.top_flips:
            lines.append("Top flips:")
            for f in self.top_flips[:10]:
                label = "" if f.label is None else f"  label {f.label!r}"
                drop = "" if f.confidence_drop is None else f"  drop {f.confidence_drop:+.3f}"
                lines.append(f"  #{f.index:<8} {f.kind:<9} {f.old!r} -> {f.new!r}{label}{drop}")
            if len(self.top_flips) > 10:
                lines.append(f"  ... {len(self.top_flips) - 10} more listed in top_flips")
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _same_probe(old: Fingerprint, new: Fingerprint, probe: ProbeSet | None) -> None:
    for name, fp in (("old", old), ("new", new)):
        if not isinstance(fp, Fingerprint):
            raise InvalidInput(f"{name} must be a Fingerprint, got {type(fp).__name__}")
    if old.probe_hash != new.probe_hash:
        raise InvalidInput(
            f"the fingerprints were taken on different probe sets ({old.probe_hash[:19]}... "
            f"and {new.probe_hash[:19]}...); behaviour can only be compared on the same "
            "inputs: evaluate both versions on one ProbeSet"
        )
    if old.n != new.n:
        raise InvalidInput(
            f"the fingerprints claim the same probe set but have {old.n} and {new.n} rows"
        )
    if probe is not None:
        if not isinstance(probe, ProbeSet):
            raise InvalidInput(f"probe must be a ProbeSet, got {type(probe).__name__}")
        if probe.hash != old.probe_hash:
            raise InvalidInput(
                f"probe is {probe.hash[:19]}... but the fingerprints were taken on "
                f"{old.probe_hash[:19]}...; pass the probe set they were evaluated on"
            )


def churn_between(old: Fingerprint, new: Fingerprint) -> float:
    """Share of probe examples whose prediction differs between two fingerprints.

    Parameters
    ----------
    old, new : Fingerprint
        Fingerprints of two versions on the same probe set.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    InvalidInput
        The fingerprints were taken on different probe sets, or their predictions cannot
        be compared (numbers against text).

    Examples
    --------
    >>> probe = ProbeSet([[0.0], [1.0], [2.0], [3.0]])
    >>> churn_between(probe.fingerprint([0, 1, 1, 0]), probe.fingerprint([0, 1, 0, 0]))
    0.25
    """
    _same_probe(old, new, None)
    _same_kind(("old predictions", old.predictions), ("new predictions", new.predictions))
    return float(np.count_nonzero(~_equal(old.predictions, new.predictions)) / old.n)


def _probability_of(fp: Fingerprint, rows: npt.NDArray[np.intp], labels: _Array) -> _Array:
    """P(label) under ``fp`` for each of ``rows``; nan where the label is not a class."""
    assert fp.proba is not None
    classes = fp.classes
    k = 2 if fp.proba.ndim == 1 else fp.proba.shape[1]
    if classes is None:
        if labels.dtype.kind not in "biuf":
            return np.full(rows.shape[0], np.nan)
        column = labels.astype(np.int64)
        valid = (column == labels) & (column >= 0) & (column < k)
    else:
        order = np.argsort(classes, kind="stable")
        sorted_classes = classes[order]
        try:
            position = np.searchsorted(sorted_classes, labels)
        except TypeError:
            return np.full(rows.shape[0], np.nan)
        clipped = np.minimum(position, k - 1)
        valid = (position < k) & _equal(sorted_classes[clipped], labels)
        column = order[clipped]
    column = np.where(valid, column, 0)
    if fp.proba.ndim == 1:
        p1 = fp.proba[rows]
        values = np.where(column == 1, p1, 1.0 - p1)
    else:
        values = fp.proba[rows, column]
    return np.where(valid, values, np.nan)


def _top_flips(
    old: Fingerprint,
    new: Fingerprint,
    y: _Array | None,
    changed: npt.NDArray[np.bool_],
    old_correct: npt.NDArray[np.bool_] | None,
    new_correct: npt.NDArray[np.bool_] | None,
    top: int,
) -> tuple[Flip, ...]:
    if top == 0 or not changed.any():
        return ()
    if old_correct is not None and new_correct is not None:
        kinds: list[tuple[FlipKind, npt.NDArray[np.bool_]]] = [
            ("negative", old_correct & ~new_correct),
            ("changed", changed & ~old_correct & ~new_correct),
            ("positive", ~old_correct & new_correct),
        ]
    else:
        kinds = [("changed", changed)]
    with_proba = old.proba is not None and new.proba is not None
    chosen: list[tuple[FlipKind, npt.NDArray[np.intp], _Array | None]] = []
    left = top
    for kind, mask in kinds:
        rows = np.flatnonzero(mask)
        if rows.shape[0] == 0:
            continue
        drop = None
        if with_proba:
            reference = y[rows] if y is not None else old.predictions[rows]
            drop = _probability_of(old, rows, reference) - _probability_of(new, rows, reference)
            # nan (label not among a model's classes) sorts last.
            key = np.where(np.isnan(drop), -np.inf, drop)
            if rows.shape[0] > left:
                keep = np.argpartition(-key, left - 1)[:left]
                rows, drop, key = rows[keep], drop[keep], key[keep]
            order = np.lexsort((rows, -key))
            rows, drop = rows[order], drop[order]
        else:
            rows = rows[:left]
        chosen.append((kind, rows, drop))
        left -= rows.shape[0]
        if left == 0:
            break
    flips = []
    for kind, rows, drop in chosen:
        for j, i in enumerate(rows.tolist()):
            value = None if drop is None or math.isnan(float(drop[j])) else float(drop[j])
            flips.append(
                Flip(
                    index=int(i),
                    kind=kind,
                    old=_plain(old.predictions[i]),
                    new=_plain(new.predictions[i]),
                    label=None if y is None else _plain(y[i]),
                    confidence_drop=value,
                )
            )
    return tuple(flips)


def _stored_group_changes(old: Fingerprint, new: Fingerprint) -> tuple[GroupChange, ...]:
    before = {_group_key(g.group): g for g in old.groups}
    rows = []
    for g in new.groups:
        prior = before.get(_group_key(g.group))
        if prior is None:
            continue
        rows.append(
            GroupChange(
                group=g.group,
                n=g.n,
                churn=None,
                accuracy_old=prior.accuracy,
                accuracy_new=g.accuracy,
                accuracy_delta=g.accuracy - prior.accuracy,
            )
        )
    rows.sort(key=lambda r: (r.accuracy_delta or 0.0, -r.n, str(r.group)))
    return tuple(rows)


def compare_fingerprints(
    old: Fingerprint,
    new: Fingerprint,
    probe: ProbeSet | None = None,
    top: int = 20,
) -> BehaviorDiff:
    """Compare two versions' fingerprints on the same probe set.

    With the probe set (its labels and groups), everything is computed from the rows:
    churn, negative and positive flip rates, backward trust compatibility, per-group
    accuracy and flip rates (worst group first), and the most important flipped examples.
    Without it, only churn is computed from rows; accuracies, per-group accuracies and
    calibration come from what the fingerprints stored when they were made. Linear CKA
    and Procrustes distance are computed when both fingerprints have embeddings (the
    widths may differ); a constant embedding leaves them None with a note.

    Parameters
    ----------
    old, new : Fingerprint
        Fingerprints of the earlier and the later version.
    probe : ProbeSet, optional
        The probe set both were evaluated on.
    top : int, default 20
        Largest number of flipped examples to list.

    Returns
    -------
    BehaviorDiff

    Raises
    ------
    InvalidInput
        Fingerprints of different probe sets, a probe set that is not theirs,
        predictions that cannot be compared (numbers against text), or a negative
        ``top``.

    Examples
    --------
    >>> import numpy as np
    >>> probe = ProbeSet(np.zeros((6, 1)), y=[1, 1, 1, 1, 0, 0], groups=list("aaaabb"))
    >>> old = probe.fingerprint(predictions=[1, 1, 1, 0, 0, 0])
    >>> new = probe.fingerprint(predictions=[1, 1, 1, 1, 1, 0])
    >>> diff = compare_fingerprints(old, new, probe)
    >>> diff.accuracy_old == diff.accuracy_new, diff.groups[0].group
    (True, 'b')
    >>> diff.negative_flip_rate, [f.index for f in diff.top_flips]
    (0.16666666666666666, [4, 3])
    """
    _same_probe(old, new, probe)
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
        raise InvalidInput(f"top must be a non-negative integer, got {top!r}")
    _same_kind(("old predictions", old.predictions), ("new predictions", new.predictions))
    n = old.n
    changed = ~_equal(old.predictions, new.predictions)
    count = int(np.count_nonzero(changed))
    notes: list[str] = []
    y = None if probe is None else probe.y
    old_correct = new_correct = None
    rates: dict[str, float | None] = {}
    accuracy_old, accuracy_new = old.accuracy, new.accuracy
    if y is not None:
        _same_kind(
            ("y", y), ("old predictions", old.predictions), ("new predictions", new.predictions)
        )
        old_correct, new_correct = _equal(old.predictions, y), _equal(new.predictions, y)
        n_old, n_new = int(np.count_nonzero(old_correct)), int(np.count_nonzero(new_correct))
        negative = int(np.count_nonzero(old_correct & ~new_correct))
        positive = int(np.count_nonzero(~old_correct & new_correct))
        accuracy_old, accuracy_new = n_old / n, n_new / n
        rates = {
            "negative_flip_rate": negative / n,
            "positive_flip_rate": positive / n,
            "backward_trust_compatibility": (n_old - negative) / n_old if n_old else 1.0,
        }
    elif probe is None:
        notes.append("no probe set given: flip rates and per-group churn need its labels")
    else:
        notes.append("the probe set has no labels: only churn is computed")
    if probe is not None and probe._group_codes is not None and probe.group_labels is not None:
        groups = tuple(
            _group_changes(
                probe.group_labels, probe._group_codes, changed, old_correct, new_correct
            )
        )
    else:
        groups = _stored_group_changes(old, new)
    cka = procrustes = None
    if old.embeddings is not None and new.embeddings is not None:
        try:
            cka, procrustes = _linear_cka_and_procrustes(old.embeddings, new.embeddings)
        except InvalidInput as exc:
            notes.append(f"representation drift not computed: {exc}")
    elif (old.embeddings is None) != (new.embeddings is None):
        notes.append("only one fingerprint has embeddings: no representation drift")
    calibration_old, calibration_new = old.calibration, new.calibration
    if (calibration_old is None) != (calibration_new is None):
        notes.append("only one fingerprint has calibration (probabilities): none compared")
        calibration_old = calibration_new = None
    flips = _top_flips(old, new, y, changed, old_correct, new_correct, int(top))
    return BehaviorDiff(
        probe_hash=old.probe_hash,
        n=n,
        churn=count / n,
        changed=count,
        accuracy_old=accuracy_old,
        accuracy_new=accuracy_new,
        negative_flip_rate=rates.get("negative_flip_rate"),
        positive_flip_rate=rates.get("positive_flip_rate"),
        backward_trust_compatibility=rates.get("backward_trust_compatibility"),
        groups=groups,
        linear_cka=cka,
        procrustes_distance=procrustes,
        calibration_old=calibration_old,
        calibration_new=calibration_new,
        top_flips=flips,
        notes=tuple(notes),
    )
