"""The words and tables of the analysis results: one verdict vocabulary, HTML cells.

docs/analysis.md ("Verdicts") defines each verdict once, and every text and HTML view
(``DriftReport``, ``DriftStep``, ``DriftAlong``, ``SilentShifts``, the CLI's ``drift``,
``drift-along`` and ``shifts``) words it with the functions here, always with its rule:

- **feature drift**: a feature's test p-value, corrected over the tested features
  (Bonferroni or Benjamini-Hochberg), below ``alpha`` (:func:`feature_rule`);
- **dataset drift**: at least ``drift_share`` of the tested features drifted
  (:func:`dataset_rule`);
- **anomalous step**: a step's score (drift score, churn, ...) has a robust z-score
  ``(x - median) / (1.4826 MAD)`` above the threshold among the steps of its history
  (:func:`step_words`);
- **label shift**: the label column's own test, uncorrected, below ``alpha``
  (:func:`label_words`).

So a step where a feature moved hugely reads "1 of 7 features drifted (Bonferroni
p < 0.05; dataset drift needs >= 50 %): amount KS 0.48 ..." and never "no drift".

The results' ``_repr_html_`` build their tables with :mod:`mlineage._tables` (every cell
escaped), as ``mlineage._html`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from mlineage._ids import shown_id
from mlineage._tables import html_pairs, html_table

# Typed loosely: the results import this module, so it imports none of them (no circle).
DriftReport = Any
FeatureDrift = Any

__all__ = [
    "behaviour_html",
    "behaviour_words",
    "calibration_html",
    "dataset_rule",
    "drift_rules",
    "drift_verdict",
    "feature_rule",
    "feature_words",
    "html_more",
    "label_words",
    "new_axes",
    "pvalue_words",
    "short_repr",
    "step_words",
    "version_axis",
]

#: The most characters a result's ``repr()`` has (notebooks and logs show it whole).
REPR_LIMIT = 2_000
#: The most rows a result's notebook table shows before "... N more".
HTML_ROWS = 20
_TEST_NAMES = {"ks": "KS", "chi2": "χ²"}


def pvalue_words(p: float | None) -> str:
    """``p<1e-10``, ``p=0.0032``, ``p=0.41``; ``p=-`` when untested.

    Examples
    --------
    >>> pvalue_words(2e-174), pvalue_words(0.0412)
    ('p<1e-10', 'p=0.041')
    """
    if p is None:
        return "p=-"
    return "p<1e-10" if p < 1e-10 else f"p={p:.2g}"


def _pct(share: float) -> str:
    return f"{100 * share:.3g} %"


def feature_rule(alpha: float, correction: str) -> str:
    """The feature-drift rule in words: ``Bonferroni p < 0.05``.

    Examples
    --------
    >>> feature_rule(0.05, "bh")
    'BH p < 0.05'
    """
    return f"{'Bonferroni' if correction == 'bonferroni' else 'BH'} p < {alpha:g}"


def dataset_rule(drift_share: float) -> str:
    """The dataset-drift rule in words: ``dataset drift needs ≥ 50 %``."""
    return f"dataset drift needs ≥ {_pct(drift_share)}"


def feature_words(f: FeatureDrift) -> str:
    """A feature's move in a few words: ``amount KS 0.48 p<1e-10 PSI 1.48``.

    The test statistic (``±`` its bound when a sketch entered it) and corrected p-value,
    then PSI, or the note of a column that could not be tested.
    """
    if f.test == "none" or f.statistic is None:
        return f"{f.name} not tested ({f.note or 'no values'})"
    test = _TEST_NAMES.get(f.test, f.test)
    text = f"{f.name} {test} {_statistic(f)} {pvalue_words(f.pvalue_corrected)}"
    if f.psi is not None:
        text += f" PSI {f.psi:.3g}"
    return text


def _statistic(f: FeatureDrift) -> str:
    """The test statistic, ``±`` its bound when a KLL sketch entered it: ``0.48±0.033``."""
    if f.statistic is None:
        return "-"
    stat = f"{f.statistic:.3g}"
    if f.method == "sketch" and f.kind == "numeric" and f.error_bound:
        stat += f"±{f.error_bound:.2g}"
    return stat


def label_words(label: FeatureDrift | None, alpha: float) -> str:
    """``labels shifted (χ² p<1e-10 < 0.05)``, ``labels: no shift (...)``; "" without one."""
    if label is None:
        return ""
    if label.test == "none" or label.pvalue is None:
        return f"labels not tested ({label.note or 'no values'})"
    test = _TEST_NAMES.get(label.test, label.test)
    p = pvalue_words(label.pvalue)
    if label.drifted:
        return f"labels shifted ({test} {p} < {alpha:g})"
    return f"labels: no shift ({test} {p} ≥ {alpha:g})"


def drift_rules(report: DriftReport) -> str:
    """Both drift rules of a report: ``Bonferroni p < 0.05; dataset drift needs ≥ 50 %``."""
    return f"{feature_rule(report.alpha, report.correction)}; {dataset_rule(report.drift_share)}"


def drift_verdict(report: DriftReport, top: int = 3, rules: bool = True) -> str:
    """The verdict of a drift report in one sentence, every rule stated.

    ``2 of 7 features drifted (Bonferroni p < 0.05; dataset drift needs ≥ 50 %): amount
    KS 0.48 p<1e-10 PSI 1.48, velocity ...; labels shifted (χ² p<1e-10 < 0.05)``; with
    dataset drift it starts ``dataset drift: ``; with no drifted feature it names the
    largest move instead. ``rules=False`` leaves the parenthesis out, for lists whose
    heading states the rules once (:func:`drift_rules`).
    """
    tested = [f for f in report.features if f.test != "none"]
    drifted = report.drifted
    if not tested:
        text = f"no feature could be tested ({len(report.features)} columns; see the notes)"
    else:
        text = f"{len(drifted)} of {len(tested)} features drifted"
        if rules:
            text += f" ({drift_rules(report)})"
        if report.dataset_drift:
            text = "dataset drift: " + text
        if drifted:
            text += ": " + ", ".join(feature_words(f) for f in drifted[:top])
            if len(drifted) > top:
                text += f", and {len(drifted) - top} more"
        else:
            largest = max(tested, key=lambda f: (f.psi or 0.0, f.statistic or 0.0))
            text += "; largest move: " + feature_words(largest)
    label = label_words(report.label, report.alpha)
    return text + (f"; {label}" if label else "")


def step_words(z: float | None, threshold: float, what: str = "drift score") -> str:
    """An anomalous-step verdict: ``anomalous step (drift score z +6.2 > 3.5)``.

    Examples
    --------
    >>> step_words(0.4, 3.5)
    'ordinary step (drift score z +0.4 ≤ 3.5)'
    >>> step_words(None, 3.5)
    'not judged (anomalous step needs 3 steps with a drift score)'
    """
    if z is None:
        return f"not judged (anomalous step needs 3 steps with a {what})"
    # one decimal (no "-0.0"), two where one would read as the threshold itself
    shown = f"{round(z, 1) + 0.0:+.1f}" if round(z, 1) != threshold else f"{z:+.2f}"
    if z > threshold:
        return f"anomalous step ({what} z {shown} > {threshold:g})"
    return f"ordinary step ({what} z {shown} ≤ {threshold:g})"


def short_repr(name: str, text: str) -> str:
    """``<Name text>`` cut to :data:`REPR_LIMIT` characters (what every result's repr is)."""
    body = " ".join(text.split())
    if len(body) > REPR_LIMIT - len(name) - 4:
        body = body[: REPR_LIMIT - len(name) - 8] + " ..."
    return f"<{name} {body}>"


def html_more(shown: int, total: int, where: str) -> str:
    """``<p>... N more (all in where)</p>`` when rows were left out, else ""."""
    more = total - shown
    return f"<p>... {more} more (all in {escape(where)})</p>" if more > 0 else ""


def _bounded(value: float | None, error: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" + (f"±{error:.2g}" if error else "")


def drift_report_html(report: DriftReport) -> str:
    """A drift report for a notebook: the verdict, then the most drifted features."""
    ranked = report._ranked()
    shown = ranked[:HTML_ROWS] + ([report.label] if report.label is not None else [])
    rows: list[tuple[Any, ...]] = []
    for f in shown:
        verdict = "drifted" if f.drifted else ("-" if f.test != "none" else (f.note or "-"))
        name = f.name if f is not report.label else f"{f.name} (label)"
        test = _TEST_NAMES.get(f.test, f.test)
        w1, psi = _bounded(f.wasserstein_normed, f.w1_error), _bounded(f.psi, f.psi_error)
        p = pvalue_words(f.pvalue_corrected)
        rows.append((name, f.kind, test, _statistic(f), p, verdict, w1, psi))
    head = ""
    if report.reference is not None and report.current is not None:
        head = f"drift {shown_id(report.reference)} → {shown_id(report.current)}: "
    caption = head + drift_verdict(report)
    headers = ["feature", "kind", "test", "statistic", "p (corrected)", "verdict", "W1/std", "PSI"]
    return (
        f"<div>{html_table(rows, headers, caption)}"
        f"{html_more(min(len(ranked), HTML_ROWS), len(ranked), 'to_pandas()')}</div>"
    )


def _pct2(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def behaviour_words(diff: Any) -> str:
    """A ``BehaviorDiff`` in one line: ``1,000 probes: churn 4.10 %, NFR 1.20 %, ...``."""
    parts = [f"{diff.n:,} probes: churn {_pct2(diff.churn)}"]
    if diff.accuracy_old is not None and diff.accuracy_new is not None:
        parts.append(f"accuracy {_pct2(diff.accuracy_old)} -> {_pct2(diff.accuracy_new)}")
    if diff.negative_flip_rate is not None:
        parts.append(f"NFR {_pct2(diff.negative_flip_rate)}")
    if diff.linear_cka is not None:
        parts.append(f"CKA {diff.linear_cka:.3f}")
    if diff.calibration_old is not None and diff.calibration_new is not None:
        parts.append(f"ECE {diff.calibration_old.ece:.3f} -> {diff.calibration_new.ece:.3f}")
    if diff.groups and diff.groups[0].accuracy_delta is not None:
        worst = diff.groups[0]
        parts.append(f"worst group {worst.group} {100 * worst.accuracy_delta:+.2f} pp")
    return ", ".join(parts)


def behaviour_html(diff: Any) -> str:
    """A ``BehaviorDiff`` for a notebook: the measures, the worst groups, the top flips."""
    pairs: list[tuple[str, object]] = [("probe set", f"{diff.probe_hash[:19]}... ({diff.n:,})")]
    pairs.append(("churn", f"{_pct2(diff.churn)} ({diff.changed:,} changed)"))
    for label, value in (
        ("accuracy before", diff.accuracy_old),
        ("accuracy after", diff.accuracy_new),
        ("negative flip rate", diff.negative_flip_rate),
        ("positive flip rate", diff.positive_flip_rate),
    ):
        if value is not None:
            pairs.append((label, _pct2(value)))
    for label, value in (
        ("backward trust compatibility", diff.backward_trust_compatibility),
        ("linear CKA", diff.linear_cka),
        ("Procrustes distance", diff.procrustes_distance),
    ):
        if value is not None:
            pairs.append((label, f"{value:.4f}"))
    if diff.calibration_old is not None and diff.calibration_new is not None:
        pairs.append(("ECE", f"{diff.calibration_old.ece:.4f} → {diff.calibration_new.ece:.4f}"))
    pairs += [("note", note) for note in diff.notes[:5]]
    out = [html_pairs(pairs, "behaviour diff")]
    if diff.groups:
        rows = [
            (
                g.group,
                g.n,
                _pct2(g.accuracy_old),
                _pct2(g.accuracy_new),
                "-" if g.accuracy_delta is None else f"{100 * g.accuracy_delta:+.2f} pp",
                _pct2(g.negative_flip_rate),
                _pct2(g.churn),
            )
            for g in diff.groups[:HTML_ROWS]
        ]
        headers = ["group", "n", "acc. before", "acc. after", "change", "NFR", "churn"]
        out.append(html_table(rows, headers, "groups, worst first"))
        out.append(html_more(len(rows), len(diff.groups), "to_pandas()"))
    if diff.top_flips:
        flips = [
            (f.index, f.kind, f.old, f.new, f.label, f.confidence_drop) for f in diff.top_flips[:10]
        ]
        headers = ["row", "kind", "before", "after", "label", "drop"]
        out.append(html_table(flips, headers, "flips"))
        out.append(html_more(len(flips), len(diff.top_flips), "top_flips"))
    return "<div>" + "".join(out) + "</div>"


def calibration_html(result: Any) -> str:
    """A ``CalibrationResult``: ECE, MCE and the reliability bins that hold predictions."""
    filled = [b for b in result.bins if b.count]
    rows = [
        (f"({b.lower:.3g}, {b.upper:.3g}]", b.count, b.confidence, b.accuracy)
        for b in filled[:HTML_ROWS]
    ]
    caption = (
        f"calibration of {result.n:,} predictions: ECE {result.ece:.4f}, MCE {result.mce:.4f} "
        f"({len(result.bins)} bins, {len(filled)} with predictions)"
    )
    table = html_table(rows, ["confidence bin", "count", "mean confidence", "accuracy"], caption)
    return f"<div>{table}{html_more(len(rows), len(filled), 'to_dict()')}</div>"


def new_axes(ax: Any, what: str) -> Any:
    """``ax``, or the axes of a new 8 x 3.5 in figure; MissingDependency without matplotlib."""
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt  # optional and slow: imported when a plot is drawn
    except ImportError as exc:
        from mlineage.errors import MissingDependency

        raise MissingDependency(
            f"{what}.plot() needs matplotlib, which is not installed; "
            "run: pip install 'mlineage[plot]'"
        ) from exc
    return plt.subplots(figsize=(8, 3.5))[1]


def version_axis(ax: Any, versions: Sequence[Any], x: str) -> list[Any]:
    """Put ``versions`` on the x axis of ``ax``; returns each version's x position.

    ``x="version"``: integer positions, ticks only at whole positions (never 0.5), labelled
    with the version's name (else its id's first 12 digits), at most 12 of them;
    ``x="time"``: the versions' ``created_at``, with matplotlib's concise date labels.
    matplotlib is imported here, when a plot is drawn.

    Raises
    ------
    InvalidInput
        ``x`` is neither ``"version"`` nor ``"time"``.
    """
    from mlineage.errors import InvalidInput

    if x not in ("version", "time"):
        raise InvalidInput(f"x must be 'version' or 'time', got {x!r}")
    import matplotlib.dates as mdates  # optional, imported when a plot is drawn
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if x == "time":
        locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.set_xlabel("logged at (UTC)")
        return [v.created_at for v in versions]
    labels = [v.name or v.short_id for v in versions]

    def label(value: float, _: object) -> str:
        k = round(value)
        return labels[k] if abs(value - k) < 1e-9 and 0 <= k < len(labels) else ""

    ax.xaxis.set_major_locator(MaxNLocator(nbins=min(max(len(labels), 1), 12), integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel("version (oldest first)")
    return list(range(len(versions)))
