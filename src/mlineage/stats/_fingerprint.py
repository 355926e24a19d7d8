"""A model version's outputs on a probe set: :class:`Fingerprint` (private module).

Public as :class:`mlineage.analysis.Fingerprint` and ``mlineage.stats.probes.Fingerprint``.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy.typing as npt

from mlineage.errors import CorruptRecord, InvalidInput
from mlineage.stats._arrays import (
    embedding_matrix,
    frozen,
    pack_arrays,
    prediction_vector,
    proba_matrix,
    storable,
    unpack_arrays,
)
from mlineage.stats._behaviour import GroupMetrics, check_labels
from mlineage.stats._inputs import as_count, as_real
from mlineage.stats.calibration import CalibrationResult


class ProbeSource(Protocol):
    """What a fingerprint keeps of the probe set it was made from (a :class:`ProbeSet`)."""

    @property
    def name(self) -> str:
        """The probe set's name."""
        ...

    def to_bytes(self) -> bytes:
        """The probe set's portable bytes."""
        ...


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
        Arrays of inconsistent lengths or shapes; an ``accuracy`` that is not a number in
        [0, 1]; ``groups`` that are not :class:`GroupMetrics` with distinct labels,
        positive integer sizes adding up to ``n`` and accuracies in [0, 1] that add up to
        ``accuracy``; a ``calibration`` of another number of rows, or without ``proba``
        and ``accuracy``; a ``group_by`` that is not a non-empty string.

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
        pred = prediction_vector("predictions", storable("predictions", predictions), None)
        n = pred.shape[0]
        p = None if proba is None else proba_matrix("proba", storable("proba", proba), n)
        emb = (
            None if embeddings is None else embedding_matrix(storable("embeddings", embeddings), n)
        )
        labels = None if classes is None else check_labels("classes", storable("classes", classes))
        acc = None if accuracy is None else as_real(accuracy, "accuracy", 0.0, 1.0)
        if not isinstance(group_by, str) or not group_by:
            raise InvalidInput(f"group_by must be a non-empty string, got {group_by!r:.80}")
        self.groups = _checked_groups(groups, n, acc)
        if calibration is not None:
            if not isinstance(calibration, CalibrationResult):
                raise InvalidInput(
                    f"calibration must be a CalibrationResult, got {type(calibration).__name__}"
                )
            if calibration.n != n or p is None or acc is None:
                raise InvalidInput(
                    f"calibration over {calibration.n} rows does not fit a fingerprint of "
                    f"{n} rows{'' if p is not None else ' without proba'}"
                    f"{'' if acc is not None else ' without accuracy'}"
                )
        self.probe_hash = probe_hash
        self.predictions = frozen(pred, copy=_copy)
        self.proba = None if p is None else frozen(p, copy=_copy)
        self.embeddings = None if emb is None else frozen(emb, copy=_copy)
        self.classes = None if labels is None else frozen(labels, copy=_copy)
        self.accuracy = acc
        self.calibration = calibration
        self.group_by = group_by
        self.probe: ProbeSource | None = None

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
        return pack_arrays("fingerprint", meta, arrays)

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, *, verified: bool = False
    ) -> Fingerprint:
        """Load a fingerprint written by :meth:`to_bytes`.

        Parameters
        ----------
        data : bytes
            Output of :meth:`to_bytes`.
        verified : bool
            The caller checked these exact bytes against a content hash of them (a blob
            read by its key): the document's own checksum is not computed again (every
            field is still checked).

        Returns
        -------
        Fingerprint

        Raises
        ------
        CorruptRecord
            Truncated, altered or foreign bytes: the whole document must match its
            checksum (format 2), and every header field is checked as the constructor
            checks it (types, ranges, group sizes adding up to ``n``, per-group accuracies
            adding up to ``accuracy``). Also for any nesting depth of the header.
        StoreFormatError
            Written in a newer format by a newer mlineage.

        Examples
        --------
        >>> Fingerprint.from_bytes(b"junk")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlineage.errors.CorruptRecord: not a serialised mlineage fingerprint: ...
        """
        meta, arrays = unpack_arrays(data, "fingerprint", verified=verified)
        try:
            unknown = set(meta) - _META_KEYS | set(arrays) - _ARRAYS
            missing = _META_KEYS - {"group_by"} - set(meta)  # format 1 could lack group_by
            if unknown or missing:
                raise InvalidInput(f"fields {sorted(unknown)} unknown, {sorted(missing)} missing")
            groups, calibration = meta["groups"], meta["calibration"]
            if not isinstance(groups, list) or not all(
                isinstance(g, list) and len(g) == 3 for g in groups
            ):
                raise InvalidInput(f"groups are {groups!r:.80}, not [label, n, accuracy] lists")
            return cls(
                meta["probe_hash"],
                arrays["predictions"],
                proba=arrays.get("proba"),
                embeddings=arrays.get("embeddings"),
                classes=arrays.get("classes"),
                accuracy=meta["accuracy"],
                groups=[GroupMetrics(*g) for g in groups],
                calibration=None
                if calibration is None
                else CalibrationResult.from_dict(calibration),
                group_by=meta.get("group_by", "group"),
                _copy=False,
            )
        except (KeyError, InvalidInput) as exc:
            raise CorruptRecord(f"damaged serialised fingerprint: {exc}") from None


_META_KEYS = {"probe_hash", "accuracy", "groups", "calibration", "group_by"}
_ARRAYS = {"predictions", "proba", "embeddings", "classes"}
#: Slack for per-group accuracies (hits / size, rounded to floats) adding up.
_TOLERANCE = 1e-6


def _checked_groups(
    groups: tuple[GroupMetrics, ...] | list[GroupMetrics], n: int, accuracy: float | None
) -> tuple[GroupMetrics, ...]:
    """``groups`` as a tuple, each checked, together a partition of the ``n`` rows."""
    if isinstance(groups, (str, bytes)) or not isinstance(groups, (tuple, list)):
        raise InvalidInput(f"groups must be a list of GroupMetrics, got {type(groups).__name__}")
    out, labels, hits = [], set(), 0
    for g in groups:
        if not isinstance(g, GroupMetrics):
            raise InvalidInput(f"groups must hold GroupMetrics, got {g!r:.80}")
        label = g.group
        if isinstance(label, float):
            as_real(label, "a group label")
        elif not isinstance(label, (str, int)):
            raise InvalidInput(
                f"group label {label!r:.80} ({type(label).__name__}) is not a str, int, "
                "float or bool"
            )
        if str(label) in labels:
            raise InvalidInput(f"group {str(label)!r} is listed twice")
        labels.add(str(label))
        size = as_count(g.n, f"the size of group {str(label)!r}", minimum=1)
        share = as_real(g.accuracy, f"the accuracy of group {str(label)!r}", 0.0, 1.0)
        correct = share * size
        if abs(correct - round(correct)) > _TOLERANCE * size:
            raise InvalidInput(
                f"group {str(label)!r}: accuracy {share!r} of {size} rows is not a share "
                "of whole rows"
            )
        hits += round(correct)
        out.append(GroupMetrics(label, size, share))
    if out:
        total = sum(g.n for g in out)
        if total != n:
            raise InvalidInput(f"the groups hold {total} rows, the fingerprint {n}")
        if accuracy is None or abs(accuracy * n - hits) > _TOLERANCE * n:
            raise InvalidInput(
                f"the groups' accuracies add up to {hits} correct of {n} rows, but the "
                f"accuracy is {accuracy!r}"
            )
    return tuple(out)
