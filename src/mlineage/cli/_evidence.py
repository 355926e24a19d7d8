"""``mlineage evidence``: what tools found about versions (evidence events)."""

from __future__ import annotations

import click

import mlineage.cli._tables as tables
from mlineage.cli._common import command, complete_models, open_tracker, print_result


@command(
    "evidence",
    short_help="evidence attached to versions (drift reports, gate verdicts, ...)",
    epilog="""\b
Examples:
  mlineage evidence fraud-detector
  mlineage evidence fraud-detector --kind evidently --on production
  mlineage evidence fraud-detector --kind gate --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.option("--kind", metavar="K", help="Only evidence of this kind (evidently, gate, ...).")
@click.option(
    "--on",
    metavar="REF",
    help="Only evidence on the first-parent history of REF, newest version first.",
)
def evidence(store: str | None, as_json: bool, model: str, kind: str | None, on: str | None) -> int:
    """The evidence attached to MODEL's versions, newest first: kind, version, summary,
    tool and payload size (`--json`: every field, payload blob keys included).

    Exit status 1 when there is none.
    """
    tracker = open_tracker(model, store)
    table = tracker.evidence(kind=kind, on=on)
    print_result(table, as_json, tables.evidence)
    return 0 if len(table) else 1
