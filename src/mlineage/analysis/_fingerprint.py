"""A model version's outputs on a probe set: :class:`Fingerprint` (private module).

Public as :class:`mlineage.analysis.Fingerprint` and ``mlineage.analysis.probes.Fingerprint``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy.typing as npt

from mlineage.analysis._arrays import (
    _embedding_matrix,
    _frozen,
    _pack,
    _prediction_vector,
    _proba,
    _storable,
    _unpack,
)
from mlineage.analysis.behaviour import GroupMetrics, _labels
from mlineage.analysis.calibration import CalibrationResult
from mlineage.errors import CorruptRecord, InvalidInput

if TYPE_CHECKING:
    from mlineage.analysis._probeset import ProbeSet

__all__ = ["Fingerprint"]


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
    group_by : str, default "group"
        What the group labels are (the probe set's ``group_by``).

    Attributes
    ----------
    probe_hash, predictions, proba, embeddings, classes, accuracy, groups, calibration, group_by
        As given (arrays read-only, ``groups`` a tuple).
    probe : ProbeSet or None
        The probe set it was made from, when made by :meth:`ProbeSet.evaluate` or
        :meth:`ProbeSet.fingerprint` (so that logging it can store the probe set too);
        None when read back or built by hand. Not part of the bytes.

    Raises
    ------
    InvalidInput
        Arrays of inconsistent lengths or shapes.

    Examples
    --------
    >>> from mlineage.analysis import ProbeSet
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
        group_by: str = "group",
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
        self.group_by = str(group_by)
        self.probe: ProbeSet | None = None

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
            probabilities and labels), ``n_classes`` (None without probabilities),
            ``embedding_dim`` (None without embeddings) and ``group_by`` (what the
            groups are).

        Examples
        --------
        >>> from mlineage.analysis import ProbeSet
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
            "group_by": self.group_by,
        }

    def to_bytes(self) -> bytes:
        """Serialise to the portable container described in the module docstring.

        Returns
        -------
        bytes
            The same fingerprint always gives the same bytes.

        Examples
        --------
        >>> from mlineage.analysis import ProbeSet
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
            "group_by": self.group_by,
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
                group_by=meta.get("group_by", "group"),
                _copy=False,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptRecord(f"damaged serialised fingerprint: {exc}") from exc
