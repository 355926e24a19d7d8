"""The tables the commands print: result objects -> rows for :func:`print_table`.

Each function takes a result of the library (a blame report, a drift report, ...) and
prints it as one or more rich tables. The sentences around them (headings, verdicts) are
the result objects' own (``summary()``, the first line of ``str()``), so the CLI, the
notebook and the report say the same thing; only the layout is decided here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mlineage._ids import handle
from mlineage.cli._common import print_table

if TYPE_CHECKING:
    from mlineage.analysis import BehaviorDiff, DriftAlong, SilentShifts
    from mlineage.blame import BlameReport
    from mlineage.evidence import EvidenceTable
    from mlineage.records import ModelVersion
    from mlineage.stats import DriftReport


def _g(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def version_label(version: ModelVersion) -> str:
    """``handle name`` of a version (its handle alone when it has no name)."""
    return version.short_id + (f" {version.name}" if version.name else "")


def blame(report: BlameReport, limit: int | None) -> None:
    """The steps of a blame report, worst first, and what changed at the culprit."""
    lines = report.text(limit).splitlines()
    if not report.steps:
        click.echo(lines[0])
        return
    # The culprit's evidence: the indented lines the report prints under its first step.
    evidence = ["  " + line.strip() for line in lines[1:] if line.startswith("     ")]
    rows = [
        [
            str(rank),
            step.version.short_id,
            step.version.name or "",
            f"{step.before:.6g}",
            f"{step.after:.6g}",
            f"{step.delta:+.6g}",
            _g(step.score, "+.1f"),
        ]
        for rank, step in enumerate(report.steps[:limit], 1)
    ]
    notes = []
    if evidence:
        notes = [f"what changed at {version_label(report.steps[0].version)}:", *evidence]
    if limit is not None and len(report.steps) > limit:
        notes.append(lines[-1])
    print_table(
        ["#", "version", "name", "before", "after", "change", "score"],
        rows,
        title=lines[0],
        notes=notes,
        right=(0, 3, 4, 5, 6),
    )


def drift(report: DriftReport) -> None:
    """Per-feature drift between two versions, under the report's verdict."""
    head = ""
    if report.reference is not None and report.current is not None:
        head = f"drift {handle(report.reference)} -> {handle(report.current)}: "
    features = [*report._ranked(), *([report.label] if report.label is not None else [])]
    rows = []
    for f in features:
        verdict = "DRIFT" if f.drifted else ("-" if f.test != "none" else (f.note or "-"))
        rows.append(
            [
                f.name if f is not report.label else f"{f.name} (label)",
                f.kind,
                f.test,
                _g(f.statistic),
                _g(f.pvalue_corrected),
                verdict,
                _g(f.wasserstein_normed),
                _g(f.psi),
            ]
        )
    print_table(
        ["feature", "kind", "test", "statistic", "p (corr.)", "drift", "W1/std", "PSI"],
        rows,
        title=head + report.summary(),
        right=(3, 4, 6, 7),
    )


def drift_along(along: DriftAlong) -> None:
    """Each step's drift score, robust z, step verdict (with its rule) and data verdict."""
    rows = [
        [
            s.version.short_id,
            s.version.name or "",
            _g(s.score, ".3g"),
            _g(s.z, "+.1f"),
            along.verdict(s),
            s.summary(3, False),  # the rules are stated once, in the title
        ]
        for s in along.steps
    ]
    print_table(
        ["version", "name", "score", "z", "step", "data"],
        rows,
        title=str(along).splitlines()[0],
        right=(2, 3),
    )


def compare(diff: BehaviorDiff) -> None:
    """Behaviour between two versions: the measures, per group, and the top flips."""
    lines = str(diff).splitlines()
    data = diff.to_dict()
    measures = [
        ["churn", f"{_pct(data['churn'])} ({data['changed']:,} predictions changed)"],
        ["accuracy", f"{_pct(data['accuracy_old'])} -> {_pct(data['accuracy_new'])}"],
        ["negative flip rate", _pct(data["negative_flip_rate"])],
        ["positive flip rate", _pct(data["positive_flip_rate"])],
        ["backward trust compatibility", _g(data["backward_trust_compatibility"])],
        ["linear CKA", _g(data.get("linear_cka"))],
        ["Procrustes distance", _g(data.get("procrustes_distance"))],
    ]
    old, new = data.get("calibration_old"), data.get("calibration_new")
    if old is not None and new is not None:
        measures.append(["ECE", f"{old['ece']:.4f} -> {new['ece']:.4f}"])
        measures.append(["MCE", f"{old['mce']:.4f} -> {new['mce']:.4f}"])
    print_table(["measure", "value"], measures, title=lines[0])
    groups = data.get("groups") or []
    if groups:
        click.echo("")
        print_table(
            ["group", "n", "acc old", "acc new", "change", "NFR", "churn"],
            [
                [
                    str(g["group"]),
                    f"{g['n']:,}",
                    _pct(g["accuracy_old"]),
                    _pct(g["accuracy_new"]),
                    "-" if g["accuracy_delta"] is None else f"{100 * g['accuracy_delta']:+.2f} pp",
                    _pct(g["negative_flip_rate"]),
                    _pct(g["churn"]),
                ]
                for g in groups
            ],
            title="Groups (worst first):",
            right=(1, 2, 3, 4, 5, 6),
        )
    flips = data.get("top_flips") or []
    if flips:
        click.echo("")
        print_table(
            ["example", "flip", "old -> new", "label", "confidence drop"],
            [
                [
                    f"#{f['index']}",
                    f["kind"],
                    f"{f['old']} -> {f['new']}",
                    str(f["label"]),
                    _g(f["confidence_drop"], "+.3f"),
                ]
                for f in flips
            ],
            title="Top flips:",
            right=(4,),
        )
    for note in data.get("notes") or []:
        click.echo(f"note: {note}")


def shifts(result: SilentShifts) -> None:
    """The silent shifts: behaviour measures and the metrics that stayed flat."""
    head = str(result).splitlines()
    if not result.shifts:
        for line in head:
            click.echo(line)
        return
    rows = []
    for s in result.shifts:
        flat = ", ".join(f"{m} {d:+.4g}" for m, (d, _) in s.metrics.items()) or "no metrics"
        ece = "-" if s.ece_delta is None else f"{s.ece_before:.3f} -> {s.ece_after:.3f}"
        rows.append(
            [
                s.version.short_id,
                s.version.name or "",
                "+".join(s.moved),
                f"{100 * s.churn:.1f}%",
                _g(s.cka, ".3f"),
                ece,
                flat,
            ]
        )
    print_table(
        ["version", "name", "moved", "churn", "CKA", "ECE", "metrics (flat)"],
        rows,
        title=head[0],
        right=(3, 4),
    )


def evidence(table: EvidenceTable) -> None:
    """The evidence events, newest first."""
    text = str(table).splitlines()
    if not table.events:
        click.echo(text[0])
        return
    rows = []
    for event in table.events:
        when, kind, version, summary, tool, size = table._cells(event)
        rows.append(
            [
                when,
                kind,
                version,
                summary[:77] + "..." if len(summary) > 80 else summary,
                tool,
                size,
            ]
        )
    print_table(
        ["recorded", "kind", "version", "summary", "tool", "payload"],
        rows,
        title=text[0],
        right=(5,),
    )
