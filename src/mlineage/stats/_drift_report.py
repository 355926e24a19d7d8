"""Drift between two data profiles: per-feature statistics and a dataset verdict."""

from __future__ import annotations

import math
import operator
import sys
from dataclasses import MISSING, asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlineage import _optional as optional
from mlineage._ids import shown_id
from mlineage.errors import CorruptRecord, InvalidInput
from mlineage.stats._bounds import psi_error as _psi_error
from mlineage.stats._bounds import w1_normed_error
from mlineage.stats._chi2 import Chi2Result, benjamini_hochberg, bonferroni, chi2_contingency
from mlineage.stats._columns import ColumnProfile
from mlineage.stats._data_profile import DataProfile
from mlineage.stats._distances import (
    bin_counts,
    js_distance,
    psi_edges,
    psi_from_counts,
    wasserstein,
)
from mlineage.stats._ks import KSResult, kolmogorov_pvalue, ks_pvalue, ks_statistic_sorted
from mlineage.stats._moments import scale_of
from mlineage.stats._present import drift_report_html, drift_verdict, short_repr
from mlineage.stats._sketch import (
    OTHER,
)
from mlineage.stats._stored_fields import PLAIN, FieldSpec, describe

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]


# --------------------------------------------------------------------------------------
# Drift between two profiles


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """Drift of one column between a reference and a current profile.

    Attributes
    ----------
    name : str
        Column name.
    kind : {"numeric", "categorical"}
        Column kind (the reference's, when they differ).
    test : {"ks", "chi2", "none"}
        Test behind ``pvalue``; ``"none"`` when the column could not be tested (see
        ``note``).
    statistic, pvalue : float or None
        KS ``D`` and its p-value, or chi-squared and its p-value.
    pvalue_corrected : float or None
        After the multiple-testing correction over all tested features.
    drifted : bool
        ``pvalue_corrected < alpha``.
    method : {"exact", "sketch"}
        Whether both sides kept exact values (numeric) or all their categories' exact
        counts (categorical), or a sketch (or pooled categories) entered the statistic.
    error_bound : float
        Numeric KS: bound on ``|statistic - exact statistic|`` (``eps_a + eps_b``).
        Categorical: bound on the error of any category's share in the table
        (``count_error / count`` summed over both sides). 0 when exact.
    n_ref, n_cur : int
        Values counted on each side.
    wasserstein_normed, psi, js_distance, linf : float or None
        Companion distances (W1/std and PSI for numeric columns; PSI, JS distance in
        natural log, and for the label the L-infinity distance of class proportions,
        for categorical ones).
    note : str or None
        Why a column was not tested, or other caveats.
    w1_error, psi_error : float or None
        Bounds on how far ``wasserstein_normed`` and ``psi`` can be from the raw data's
        values when a sketch entered them (:mod:`mlineage.stats._bounds`); 0 when exact,
        None when the distance is None (or the report was cached before bounds existed).
    """

    name: str
    kind: str
    test: str
    statistic: float | None
    pvalue: float | None
    pvalue_corrected: float | None
    drifted: bool
    method: str
    error_bound: float
    n_ref: int
    n_cur: int
    wasserstein_normed: float | None = None
    psi: float | None = None
    js_distance: float | None = None
    linf: float | None = None
    note: str | None = None
    w1_error: float | None = None
    psi_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Fields as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> FeatureDrift:
        """The inverse of :meth:`to_dict`.

        Every field is checked: names and notes are strings, statistics numbers or None,
        ``drifted`` a bool, counts non-negative integers; unknown fields are refused.

        Raises
        ------
        CorruptRecord
            If ``data`` does not hold a feature's drift.
        """
        return cls(**_FEATURE_SPEC.check(data))


@dataclass(frozen=True)
class DriftReport:
    """Per-feature drift between two profiles, and the dataset-level verdict.

    Attributes
    ----------
    features : list of FeatureDrift
        One entry per feature column of the reference (and columns only in current).
    drifted_share : float
        Drifted features / tested features (0 when none could be tested).
    dataset_drift : bool
        ``drifted_share >= drift_share`` (Evidently's rule, default 0.5).
    label : FeatureDrift or None
        Label shift, when both profiles have a label column.
    alpha, drift_share : float
        The thresholds used.
    correction : str
        ``"bonferroni"`` or ``"bh"``.
    reference, current : str or None
        Ids of the versions compared, when the report comes from a lineage
        (``tracker.analysis.drift``); None for two profiles compared directly.
    """

    features: list[FeatureDrift]
    drifted_share: float
    dataset_drift: bool
    label: FeatureDrift | None
    alpha: float
    correction: str
    drift_share: float
    reference: str | None = None
    current: str | None = None

    @property
    def drifted(self) -> list[FeatureDrift]:
        """The drifted features, most significant first."""
        return [f for f in self._ranked() if f.drifted]

    def _ranked(self) -> list[FeatureDrift]:
        def key(f: FeatureDrift) -> tuple[int, float, float, str]:
            p = 2.0 if f.pvalue_corrected is None else f.pvalue_corrected
            return (0 if f.drifted else 1, p, -(f.statistic or 0.0), f.name)

        return sorted(self.features, key=key)

    def summary(self, top: int = 5) -> str:
        """One sentence: the verdict with its rules and the ``top`` most drifted features.

        ``2 of 7 features drifted (Bonferroni p < 0.05; dataset drift needs ≥ 50 %): amount
        KS 0.48 p<1e-10 PSI 1.48, ...; labels shifted (χ² p<1e-10 < 0.05)``: the verdict
        vocabulary of docs/analysis.md ("Verdicts"), shared by every view.

        Parameters
        ----------
        top : int
            How many drifted features to name.

        Returns
        -------
        str
        """
        return drift_verdict(self, top)

    def __str__(self) -> str:
        header = ("feature", "kind", "test", "statistic", "p (corr.)", "drift", "W1/std", "PSI")
        rows = [header]
        for f in self._ranked() + ([self.label] if self.label is not None else []):
            name = f.name if f is not self.label else f"{f.name} (label)"
            drift = "DRIFT" if f.drifted else ("-" if f.test != "none" else (f.note or "-"))
            stats = (_fmt(f.statistic), _fmt(f.pvalue_corrected), drift)
            rows.append((name, f.kind, f.test, *stats, _fmt(f.wasserstein_normed), _fmt(f.psi)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return self._head() + self.summary() + "\n\n" + "\n".join(x.rstrip() for x in lines)

    def _head(self) -> str:
        if self.reference is None or self.current is None:
            return ""
        return f"drift {shown_id(self.reference)} -> {shown_id(self.current)}: "

    def __repr__(self) -> str:
        return short_repr("DriftReport", self._head() + self.summary(top=3))

    def _repr_html_(self) -> str:
        return drift_report_html(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the whole report."""
        return {
            "features": [f.to_dict() for f in self.features],
            "drifted_share": self.drifted_share,
            "dataset_drift": self.dataset_drift,
            "label": None if self.label is None else self.label.to_dict(),
            "alpha": self.alpha,
            "correction": self.correction,
            "drift_share": self.drift_share,
            "reference": self.reference,
            "current": self.current,
        }

    @classmethod
    def from_dict(cls, data: Any) -> DriftReport:
        """The inverse of :meth:`to_dict` (how a cached report is read back).

        Raises
        ------
        CorruptRecord
            If ``data`` does not hold a drift report.

        Examples
        --------
        >>> ref = DataProfile.from_array([[0.0], [1.0], [2.0]])
        >>> report = drift_between(ref, ref)
        >>> DriftReport.from_dict(report.to_dict()) == report
        True
        """
        values = dict(_REPORT_SPEC.check(data))
        features, label = values.pop("features"), values.pop("label", None)
        if not isinstance(features, list):
            raise CorruptRecord(
                f"a stored drift report's features are {describe(features)}, not a list"
            )
        if not 0.0 <= values["drifted_share"] <= 1.0:
            raise CorruptRecord(
                f"a stored drift report's drifted_share is {values['drifted_share']!r}, "
                "outside [0, 1]"
            )
        return cls(
            features=_features(features),
            label=None if label is None else FeatureDrift.from_dict(label),
            **values,
        )

    def to_pandas(self) -> pd.DataFrame:
        """One row per feature (and one for the label, ``role == "label"``).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependency
            pandas is not installed (``pip install 'mlineage[data]'``).
        """
        pd = optional.pandas("DriftReport.to_pandas()")
        rows = [{"role": "feature", **f.to_dict()} for f in self.features]
        if self.label is not None:
            rows.append({"role": "label", **self.label.to_dict()})
        return pd.DataFrame(rows)


#: What each stored field must be (see :class:`FieldSpec`).
_FEATURE_FIELDS = {
    "name": "str",
    "kind": "str",
    "test": "str",
    "statistic": "number?",
    "pvalue": "number?",
    "pvalue_corrected": "number?",
    "drifted": "bool",
    "method": "str",
    "error_bound": "number",
    "n_ref": "count",
    "n_cur": "count",
    "wasserstein_normed": "number?",
    "psi": "number?",
    "js_distance": "number?",
    "linf": "number?",
    "note": "str?",
    "w1_error": "number?",
    "psi_error": "number?",
}
_REPORT_FIELDS = {
    "features": "any",
    "drifted_share": "number",
    "dataset_drift": "bool",
    "label": "any",
    "alpha": "number",
    "correction": "str",
    "drift_share": "number",
    "reference": "str?",
    "current": "str?",
}
_FEATURE_SPEC = FieldSpec(
    "feature drift",
    _FEATURE_FIELDS,
    required={f.name for f in fields(FeatureDrift) if f.default is MISSING},
)
_REPORT_SPEC = FieldSpec(
    "drift report",
    _REPORT_FIELDS,
    required={f.name for f in fields(DriftReport) if f.default is MISSING},
)
_FEATURE_ORDER = tuple(sorted(_FEATURE_FIELDS))
_FEATURE_FIELD_ORDER = tuple(f.name for f in fields(FeatureDrift))
_FEATURE_PLAIN = [frozenset(PLAIN[_FEATURE_FIELDS[name]]) for name in _FEATURE_ORDER]


def _features(items: list[Any]) -> list[FeatureDrift]:
    """``FeatureDrift.from_dict`` of each item, with a fast path for what a cached report
    holds (canonical JSON: every field, sorted, of its plain type), checked in C loops."""
    out = []
    for item in items:
        if (
            type(item) is dict
            and tuple(item) == _FEATURE_ORDER
            and all(map(operator.contains, _FEATURE_PLAIN, map(type, item.values())))
            and item["n_ref"] >= 0
            and item["n_cur"] >= 0
        ):
            # positional: twice as fast as keywords for a frozen dataclass of 16 fields
            out.append(FeatureDrift(*map(item.__getitem__, _FEATURE_FIELD_ORDER)))
        else:
            out.append(FeatureDrift.from_dict(item))
    return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def drift_between(
    reference: DataProfile,
    current: DataProfile,
    *,
    alpha: float = 0.05,
    correction: Literal["bonferroni", "bh"] = "bonferroni",
    drift_share: float = 0.5,
    psi_bins: int = 10,
) -> DriftReport:
    """Per-feature drift between two profiles, from the profiles alone.

    Numeric columns: two-sided KS (drift test), Wasserstein-1 normalised by the
    reference's std, and PSI on reference-quantile bins. When both columns are exact, these
    equal :func:`~mlineage.stats.drift.ks_2samp` etc. on the raw data. When a sketch is
    involved, both CDFs are evaluated on the union of the points where either can jump (the
    sketches' retained items, the exact values), so the KS statistic is within
    ``eps_a + eps_b`` (:func:`sketch_rank_error`, 99% confidence) of the statistic of the
    raw data, and its p-value is the asymptotic one for the columns' counts ``n_a, n_b``.

    Categorical columns: chi-squared on the 2 x K table over the union of the reported
    categories (the "other" bucket is one more category), plus JS distance (natural log)
    and PSI. Sketched counts enter as their guaranteed lower bounds, the rest of the count
    as "other"; ``error_bound`` then bounds each category's share error, and the p-value
    treats the table as exact.

    The p-values of the tested features are corrected (Bonferroni, or Benjamini-Hochberg
    with ``correction="bh"``); a feature drifts when its corrected p-value is below
    ``alpha``; the dataset drifts when the share of drifted features among the tested ones
    is at least ``drift_share``. A column empty on either side, present on one side only,
    or of different kinds is reported with ``test="none"`` and a note, and not counted.
    With a label column on both sides, ``label`` holds the same tests (uncorrected) plus
    the L-infinity distance between class proportions.

    Parameters
    ----------
    reference, current : DataProfile
        The two profiles.
    alpha : float
        Significance level, in (0, 1).
    correction : {"bonferroni", "bh"}
        Multiple-testing correction across features.
    drift_share : float
        Share of drifted features that makes dataset drift, in (0, 1].
    psi_bins : int
        Reference-quantile bins for numeric PSI.

    Returns
    -------
    DriftReport

    Raises
    ------
    InvalidInput
        ``reference`` or ``current`` is not a DataProfile, thresholds are out of range,
        or the correction is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = DataProfile.from_array(rng.normal(size=(2000, 3)), columns=["a", "b", "c"])
    >>> x = rng.normal(size=(2000, 3))
    >>> x[:, 0] += 1.0
    >>> report = drift_between(ref, DataProfile.from_array(x, columns=["a", "b", "c"]))
    >>> [f.name for f in report.drifted], report.dataset_drift
    (['a'], False)
    """
    for arg, value in (("reference", reference), ("current", current)):
        if not isinstance(value, DataProfile):
            raise InvalidInput(
                f"drift_between: {arg} must be a DataProfile, got {type(value).__name__}; "
                "build one with DataProfile.from_array / from_dataframe / from_batches, or "
                "read a stored one with DataProfile.from_bytes"
            )
    if not (0 < alpha < 1):
        raise InvalidInput(f"alpha must lie in (0, 1), got {alpha!r}")
    if not (0 < drift_share <= 1):
        raise InvalidInput(f"drift_share must lie in (0, 1], got {drift_share!r}")
    if correction not in ("bonferroni", "bh"):
        raise InvalidInput(f"correction must be 'bonferroni' or 'bh', got {correction!r}")
    names = reference.columns + [c for c in current.columns if c not in reference.columns]
    raw: list[FeatureDrift] = []
    for name in names:
        if name not in reference.columns or name not in current.columns:
            side = "reference" if name in reference.columns else "current"
            col = reference[name] if side == "reference" else current[name]
            raw.append(_skipped(col, f"only in {side}"))
            continue
        raw.append(_compare(reference[name], current[name], psi_bins, label=False))
    tested = [i for i, f in enumerate(raw) if f.pvalue is not None]
    pvals = [raw[i].pvalue for i in tested]
    if tested:
        adjust = bonferroni if correction == "bonferroni" else benjamini_hochberg
        corrected = adjust(np.asarray(pvals, dtype=np.float64))
        for i, p in zip(tested, corrected.tolist(), strict=True):
            raw[i] = _replace(raw[i], pvalue_corrected=p, drifted=p < alpha)
    n_drift = sum(f.drifted for f in raw)
    share = n_drift / len(tested) if tested else 0.0
    label = None
    if reference.label_profile is not None and current.label_profile is not None:
        lab = _compare(reference.label_profile, current.label_profile, psi_bins, label=True)
        if lab.pvalue is not None:
            lab = _replace(lab, pvalue_corrected=lab.pvalue, drifted=lab.pvalue < alpha)
        label = lab
    return DriftReport(
        features=raw,
        drifted_share=share,
        dataset_drift=bool(tested) and share >= drift_share,
        label=label,
        alpha=alpha,
        correction=correction,
        drift_share=drift_share,
    )


def _replace(f: FeatureDrift, **changes: Any) -> FeatureDrift:
    return FeatureDrift(**{**f.to_dict(), **changes})


def _skipped(col: ColumnProfile, note: str, n_cur: int = 0) -> FeatureDrift:
    return FeatureDrift(
        name=col.name,
        kind=col.kind,
        test="none",
        statistic=None,
        pvalue=None,
        pvalue_corrected=None,
        drifted=False,
        method="exact",
        error_bound=0.0,
        n_ref=col.count,
        n_cur=n_cur,
        note=note,
    )


def _compare(a: ColumnProfile, b: ColumnProfile, psi_bins: int, *, label: bool) -> FeatureDrift:
    if a.kind != b.kind:
        return _skipped(a, f"kind differs ({a.kind} vs {b.kind})", b.count)
    if a.count == 0 or b.count == 0:
        side = "reference" if a.count == 0 else "current"
        return _skipped(a, f"no values in {side}", b.count)
    if a.kind == "numeric":
        return _compare_numeric(a, b, psi_bins)
    return _compare_categorical(a, b, label=label)


def _tested(
    a: ColumnProfile,
    b: ColumnProfile,
    result: KSResult | Chi2Result,
    method: str,
    bound: float,
    **measures: Any,
) -> FeatureDrift:
    """Column ``a`` against ``b`` by KS or chi2, before the correction sets ``drifted``."""
    numeric = isinstance(result, KSResult)
    return FeatureDrift(
        name=a.name,
        kind="numeric" if numeric else "categorical",
        test="ks" if numeric else "chi2",
        statistic=result.statistic,
        pvalue=result.pvalue,
        pvalue_corrected=result.pvalue,
        drifted=False,
        method=method,
        error_bound=bound,
        n_ref=a.count,
        n_cur=b.count,
        **measures,
    )


def _compare_numeric(a: ColumnProfile, b: ColumnProfile, psi_bins: int) -> FeatureDrift:
    ranks = np.linspace(0.0, 1.0, psi_bins + 1)[1:-1]
    # W1 / std and quantile bins are scale-free: on columns of huge (or only tiny) values
    # they are taken on the values divided by a power of two (exact), as the moments are,
    # so that differences of huge values cannot overflow
    k = scale_of(max(abs(v) for v in (a.min, a.max, b.min, b.max) if v is not None))
    if a.is_exact and b.is_exact:
        va, vb = a.values, b.values
        ks = ks_pvalue(ks_statistic_sorted(va, vb), va.size, vb.size)
        sa, sb = (va, vb) if k == 0 else (np.ldexp(va, -k), np.ldexp(vb, -k))
        w1 = wasserstein(sa, sb)
        std = float(np.std(sa))
        edges = psi_edges(sa, psi_bins)
        ref_counts, cur_counts = bin_counts(sa, edges), bin_counts(sb, edges)
        bound = 0.0
        w1_error = psi_error = 0.0
    else:
        points = np.union1d(a.support(), b.support())
        fa, fb = a.cdf(points), b.cdf(points)
        diffs = np.abs(fa - fb)
        bound = a.rank_error + b.rank_error
        d_sketch = float(diffs.max())
        # The p-value of the smallest statistic the raw data can have (D - bound, with 99%
        # confidence): conservative, so sketch error alone never reads as drift.
        pvalue = kolmogorov_pvalue(max(d_sketch - bound, 0.0), a.count, b.count)
        ks = KSResult(d_sketch, pvalue, "asymp", a.count, b.count)
        w1 = float(np.sum(diffs[:-1] * np.diff(np.ldexp(points, -k))))
        std = math.ldexp(a.std or 0.0, -k)
        edges = np.unique(a.quantiles(ranks))
        ref_counts = np.diff(np.concatenate(([0.0], a.cdf(edges), [1.0])))
        cur_counts = np.diff(np.concatenate(([0.0], b.cdf(edges), [1.0])))
        ref_counts, cur_counts = np.clip(ref_counts, 0, None), np.clip(cur_counts, 0, None)
        low = min(math.ldexp(v, -k) for v in (a.min, b.min) if v is not None)
        high = max(math.ldexp(v, -k) for v in (a.max, b.max) if v is not None)
        w1_error = w1_normed_error(bound, low, high, max(std, math.ldexp(0.001, -k)))
        psi_error = _psi_error(
            ref_counts, cur_counts, 2 * a.rank_error, 2 * b.rank_error, a.count, b.count
        )
    return _tested(
        a,
        b,
        ks,
        "exact" if a.is_exact and b.is_exact else "sketch",
        bound,
        # the floor is 0.001 in the data's unit; the ratio saturates at float max
        wasserstein_normed=min(w1 / max(std, math.ldexp(0.001, -k)), sys.float_info.max),
        psi=psi_from_counts(ref_counts, cur_counts),
        w1_error=w1_error,
        psi_error=psi_error,
    )


def _compare_categorical(a: ColumnProfile, b: ColumnProfile, *, label: bool) -> FeatureDrift:
    # The reported counts (exact, or the sketch's guaranteed lower bounds) and the rest of
    # each column's count as one more category; error_bound bounds each category's share.
    ref = dict(a.categories)
    cur = dict(b.categories)
    pooled = bool(a.other or b.other)
    if pooled:
        ref[OTHER] = ref.get(OTHER, 0) + a.other
        cur[OTHER] = cur.get(OTHER, 0) + b.other
    chi = chi2_contingency(ref, cur)
    cats = list(ref) + [c for c in cur if c not in ref]
    rc = np.array([ref.get(c, 0) for c in cats], dtype=np.float64)
    cc = np.array([cur.get(c, 0) for c in cats], dtype=np.float64)
    linf = float(np.max(np.abs(rc / rc.sum() - cc / cc.sum()))) if label else None
    bound = a.count_error / a.count + b.count_error / b.count
    notes = ["categories beyond top_k pooled as " + OTHER] if pooled else []
    if bound:
        notes.append(f"category shares within {bound:.2g} of the true ones (count_error)")
    return _tested(
        a,
        b,
        chi,
        "sketch" if pooled or bound else "exact",
        bound,
        psi=psi_from_counts(rc, cc),
        psi_error=_psi_error(
            rc, cc, a.count_error / a.count, b.count_error / b.count, a.count, b.count
        ),
        js_distance=js_distance(rc, cc),
        linf=linf,
        note="; ".join(notes) or None,
    )
