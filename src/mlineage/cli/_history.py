"""Query commands: ``models``, ``history``, ``show``, ``blame``, ``diff``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

import mlineage.cli._tables as tables
from mlineage._ids import handle
from mlineage.cli._common import (
    command,
    complete_models,
    count_option,
    on_option,
    open_tracker,
    print_json,
    print_result,
    print_table,
    require_metric,
    version_dict,
)

if TYPE_CHECKING:
    from mlineage.blame import Direction


@command(
    "models",
    short_help="list the models in the store",
    epilog="""\b
Examples:
  mlineage models
  mlineage --store s3://ml-lineage/prod models --json""",
)
def models(store: str | None, as_json: bool) -> int:
    """List the models in the store, one name a line, or "(no models)"."""
    from mlineage.storage import open_store
    from mlineage.tracker import list_models

    names = list_models(open_store(store, read_only=True))
    if as_json:
        print_json(names)
    elif not names:
        click.echo("(no models)")
    elif sys.stdout.isatty():
        print_table(["model"], [[name] for name in names])
    else:  # one name a line, for `for m in $(mlineage models)`
        click.echo("\n".join(names))
    return 0


@command(
    "history",
    short_help="first-parent history, newest first",
    epilog="""\b
Examples:
  mlineage history fraud-detector --limit 10
  mlineage history fraud-detector production --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("ref", required=False)
@count_option("--limit", 50, "Show at most N versions.")
def history(store: str | None, as_json: bool, model: str, ref: str | None, limit: int) -> int:
    """First-parent history of REF (default: the latest version), newest first."""
    from mlineage.views.text import history_table

    tracker = open_tracker(model, store)
    versions = tracker.history(ref)
    if as_json:
        print_json([version_dict(v) for v in versions[:limit]])
    elif not versions:
        click.echo(tracker.summary_text(ref, limit=limit))
    else:
        heading, header, rows, after = history_table(tracker, versions, limit)
        right = range(3, len(header) - 1)  # the metrics
        print_table(header, rows, title=heading, notes=after, right=tuple(right))
    return 0


@command(
    "show",
    short_help="one version in full",
    epilog="""\b
Examples:
  mlineage show fraud-detector production
  mlineage show fraud-detector 3f2a9c1e --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("ref")
def show(store: str | None, as_json: bool, model: str, ref: str) -> int:
    """One version (an alias, a version id or prefix, or a name) in full.

    Also shows its current status, its annotations, the evidence attached to it (newest
    first; `mlineage evidence` lists more), where it was imported from, and the aliases
    that point at it.
    """
    tracker = open_tracker(model, store)
    version = tracker.get_version(ref)
    data = version_dict(version)
    data["current_status"] = tracker.status(version).value
    data["annotations"] = [e.model_dump(mode="json") for e in tracker.annotations(version)]
    evidence = [e for e in tracker.evidence() if e.version == version.id]
    data["evidence"] = [e.model_dump(mode="json") for e in evidence]
    data["aliases"] = [a for a, v in tracker.aliases().items() if v.id == version.id]
    if as_json:
        print_json(data)
        return 0
    width = max(len(k) for k in data)
    for key, value in data.items():
        if value in (None, "", [], {}, ()) or key == "evidence":
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        click.echo(f"{key.ljust(width)}  {text}")
    for event in evidence:
        summary = json.dumps(event.summary, ensure_ascii=False)
        payload = "" if event.payload is None else f" (payload {event.payload_size:,} B)"
        click.echo(
            f"{'evidence'.ljust(width)}  {event.created_at:%Y-%m-%d %H:%M} {event.kind} "
            f"{handle(event.id)} {summary}{payload}"
        )
    return 0


@command(
    "blame",
    short_help="which update moved a metric the wrong way",
    epilog="""\b
Examples:
  mlineage blame fraud-detector accuracy
  mlineage blame fraud-detector loss --direction increase --on production --limit 5
  mlineage blame fraud-detector accuracy --slice-by region""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("metric")
@click.option(
    "--direction",
    type=click.Choice(["decrease", "increase"]),
    default="decrease",
    help="Which way the metric moving is bad.",
)
@on_option
@count_option("--limit", 20, "Show the N worst steps; 0 shows all.")
@click.option(
    "--with-drift",
    is_flag=True,
    help="Add each shown step's data drift (from stored profiles) and the rank correlation "
    "of drift with the metric getting worse.",
)
@click.option("--slice-by", metavar="G", help="Blame per group of the fingerprints' probe set.")
def blame(
    store: str | None,
    as_json: bool,
    model: str,
    metric: str,
    direction: Direction,
    on: str | None,
    limit: int,
    with_drift: bool,
    slice_by: str | None,
) -> int:
    """Which update moved METRIC the wrong way: every step along the history, worst first.

    With --slice-by G: per group G of the probe set, the update that hurt it (from the
    fingerprints). Exit status 1 when no step moved it the wrong way (no culprit).
    """
    tracker = open_tracker(model, store)
    if slice_by is None:
        require_metric(tracker, metric)
    if with_drift:
        from mlineage.cli._drift import blame_with_drift

        return blame_with_drift(tracker, metric, direction, on, limit, as_json)
    if slice_by is not None:
        slices = tracker.blame(metric, direction, on=on, slice_by=slice_by)
        print_result(slices, as_json, click.echo)
        return 0 if slices.worst() is not None else 1
    report = tracker.blame_report(metric, direction, on=on)
    shown = None if limit == 0 else limit
    print_result(report, as_json, tables.blame, shown)
    return 0 if report.culprit is not None else 1


@command(
    "diff",
    short_help="what changed between two versions",
    epilog="""\b
Examples:
  mlineage diff fraud-detector v0 production
  mlineage diff fraud-detector 3f2a9c1e 8b07d2aa --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("a")
@click.argument("b")
def diff(store: str | None, as_json: bool, model: str, a: str, b: str) -> int:
    """What changed from version A to version B.

    Hyperparameters, metric deltas, the data snapshot (and its files, when both have
    manifests), row counts, the checkpoint, the captured environments, notes and tags.
    """
    tracker = open_tracker(model, store)
    result = tracker.diff(a, b)
    print_result(result, as_json, click.echo)
    return 0
