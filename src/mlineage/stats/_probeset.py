"""Fixed inputs to run every version on: :class:`ProbeSet` (private module).

Public as :class:`mlineage.analysis.ProbeSet` and ``mlineage.stats.probes.ProbeSet``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from mlineage.errors import CorruptRecord, InvalidInput
from mlineage.hashing import hash_named_arrays
from mlineage.stats._arrays import (
    Array,
    embedding_matrix,
    frozen,
    pack_arrays,
    prediction_vector,
    proba_matrix,
    shape_family,
    storable,
    unpack_arrays,
)
from mlineage.stats._behaviour import (
    GroupMetrics,
    check_labels,
    equal_mask,
    factorize,
    plain_label,
    same_kind,
)
from mlineage.stats._fingerprint import Fingerprint
from mlineage.stats.calibration import expected_calibration_error

__all__ = ["ProbeSet"]


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
    group_by : str, default "group"
        What the group labels are (``"region"``, ``"language"``): the name per-slice
        blame asks for (``tracker.blame(..., slice_by="region")``); not part of the hash.

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
        or groups, or a name or ``group_by`` that is not a string.

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
        group_by: str = "group",
    ) -> None:
        self._build(X, y, groups, name, group_by, None, copy=True)

    def _build(
        self,
        X: npt.ArrayLike,  # noqa: N803
        y: npt.ArrayLike | None,
        groups: npt.ArrayLike | None,
        name: str,
        group_by: str,
        known_hash: str | None,
        *,
        copy: bool,
    ) -> None:
        """The constructor, taking the hash as known when a verified read gives it.

        ``copy``: copy the arrays (False for arrays read from bytes, read-only already).
        """
        if not isinstance(name, str):
            raise InvalidInput(f"name must be a string, got {type(name).__name__}")
        if not isinstance(group_by, str) or not group_by:
            raise InvalidInput(f"group_by must be a non-empty string, got {group_by!r}")
        x = storable("X", X)
        if x.ndim == 0 or x.shape[0] == 0:
            raise InvalidInput(f"X has shape {x.shape}; a probe set needs at least one row")
        n = x.shape[0]
        labels = None if y is None else check_labels("y", storable("y", y), n)
        group = None if groups is None else check_labels("groups", storable("groups", groups), n)
        self.name = name
        self.group_by = group_by
        self.X = frozen(x, copy=copy)
        self.y = None if labels is None else frozen(labels, copy=copy)
        self.groups = None if group is None else frozen(group, copy=copy)
        self.hash = known_hash or hash_named_arrays(
            "probe",
            {
                n: a
                for n, a in (("X", self.X), ("y", self.y), ("groups", self.groups))
                if a is not None
            },
        )
        self.group_labels: Array | None = None
        self._group_codes: npt.NDArray[np.intp] | None = None
        if self.groups is not None:
            labels_, codes = factorize(self.groups)
            self.group_labels = frozen(labels_, copy=False)
            self._group_codes = frozen(codes, copy=False)

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
        meta = {"name": self.name, "hash": self.hash, "group_by": self.group_by}
        return pack_arrays("probe", meta, arrays)

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, *, verified: bool = False
    ) -> ProbeSet:
        """Load a probe set written by :meth:`to_bytes`, checking its hash.

        Parameters
        ----------
        data : bytes
            Output of :meth:`to_bytes`.
        verified : bool
            As for :meth:`Fingerprint.from_bytes` (a tracker reading a stored probe set
            passes True): neither the document's checksum nor the probe hash is computed
            again; the hash recorded in it is taken (the writer computed it from these
            arrays before storing them).

        Returns
        -------
        ProbeSet

        Raises
        ------
        CorruptRecord
            Truncated, altered or foreign bytes (format 2: the whole document must match
            its checksum), a header field of the wrong type or an unknown one (at any
            nesting depth), or content that no longer matches the recorded hash.
        StoreFormatError
            Written in a newer format by a newer mlineage.

        Examples
        --------
        >>> ProbeSet.from_bytes(ProbeSet([[0.5]], name="tiny").to_bytes()).name
        'tiny'
        """
        meta, arrays = unpack_arrays(data, "probe", verified=verified)
        try:
            unknown = set(meta) - {"name", "hash", "group_by"}
            if unknown or not {"name", "hash"} <= set(meta) or set(arrays) - {"X", "y", "groups"}:
                raise InvalidInput(
                    f"the header has fields {sorted(meta)} and arrays {sorted(arrays)}; expected "
                    "name, hash (and group_by), and X (and y, groups)"
                )
            probe = cls.__new__(cls)
            probe._build(
                arrays["X"],
                arrays.get("y"),
                arrays.get("groups"),
                meta["name"],
                meta.get("group_by", "group"),
                meta["hash"] if verified and isinstance(meta["hash"], str) else None,
                copy=False,
            )
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
        p = None if proba is None else proba_matrix("proba", storable("proba", proba), n)
        labels = None if classes is None else check_labels("classes", storable("classes", classes))
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
            pred = prediction_vector("predictions", storable("predictions", predictions), n)
        emb = (
            None if embeddings is None else embedding_matrix(storable("embeddings", embeddings), n)
        )
        accuracy = None
        groups: tuple[GroupMetrics, ...] = ()
        calibration = None
        if self.y is not None:
            same_kind(("y", self.y), ("predictions", pred))
            correct = equal_mask(pred, self.y)
            accuracy = float(np.count_nonzero(correct) / n)
            if self._group_codes is not None and self.group_labels is not None:
                k = self.group_labels.shape[0]
                sizes = np.bincount(self._group_codes, minlength=k)
                hits = np.bincount(self._group_codes[correct], minlength=k)
                groups = tuple(
                    GroupMetrics(plain_label(label), int(s), float(h / s))
                    for label, s, h in zip(
                        self.group_labels, sizes.tolist(), hits.tolist(), strict=True
                    )
                )
            if p is not None:
                calibration = expected_calibration_error(p, self.y, n_bins, classes=labels)
        fingerprint = Fingerprint(
            self.hash,
            pred,
            proba=p,
            embeddings=emb,
            classes=labels,
            accuracy=accuracy,
            groups=groups,
            calibration=calibration,
            group_by=self.group_by,
            _copy=copy,
        )
        fingerprint.probe = self
        return fingerprint

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
            Of the model's outputs on this probe set.

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
        parts: dict[str, list[Array]] = {name: [] for name in callables}
        n = len(self)
        for start in range(0, n, int(batch_size)):
            batch = np.array(self.X[start : start + int(batch_size)], copy=True)
            for name, fn in callables.items():
                out = storable(f"the output of {name}", fn(batch))
                if out.ndim == 0 or out.shape[0] != batch.shape[0]:
                    got = "a scalar" if out.ndim == 0 else f"{out.shape[0]} rows"
                    raise InvalidInput(
                        f"{name} returned {got} (shape {out.shape}) for the batch of rows "
                        f"{start}..{start + batch.shape[0] - 1} ({batch.shape[0]} rows); it "
                        "must return one output per input row"
                    )
                if parts[name] and shape_family(out) != shape_family(parts[name][0]):
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
