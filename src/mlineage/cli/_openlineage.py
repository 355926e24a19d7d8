"""``mlineage export openlineage``: a model's lineage as OpenLineage run events.

:data:`openlineage_export` is the command; ``mlineage export`` (in
:mod:`mlineage.cli._connectors`) registers it beside ``export mlflow``.
"""

from __future__ import annotations

from typing import Any

import click

from mlineage.cli._common import (
    command,
    complete_models,
    open_tracker,
    print_json,
)

__all__ = ["openlineage_export"]


@command(
    "openlineage",
    short_help="a model's lineage as OpenLineage run events (NDJSON or HTTP)",
    epilog="""\b
Examples:
  mlineage export openlineage fraud-detector > events.ndjson
  mlineage export openlineage fraud-detector --out events.ndjson --ref production
  mlineage export openlineage fraud-detector --url http://localhost:5000 --dry-run
  mlineage export openlineage fraud-detector --url http://localhost:5000 --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.option("--ref", metavar="REF", help="Only REF and its ancestors (default: every version).")
@click.option(
    "--out",
    "-o",
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write the events to FILE, one JSON event a line ('-': standard output).",
)
@click.option(
    "--url",
    metavar="URL",
    help="POST each event to this OpenLineage server (Marquez: http://localhost:5000).",
)
@click.option(
    "--endpoint",
    default="api/v1/lineage",
    help="Path of the lineage endpoint under URL.",
)
@click.option(
    "--api-key",
    envvar="OPENLINEAGE_API_KEY",
    metavar="KEY",
    help="Bearer token for URL (default: $OPENLINEAGE_API_KEY).",
)
@click.option(
    "--namespace",
    default="mlineage",
    help="OpenLineage namespace of the job and of the model datasets.",
)
@click.option(
    "--dry-run", is_flag=True, help="Build the events and check the URL; write and send nothing."
)
def openlineage_export(
    store: str | None,
    as_json: bool,
    model: str,
    ref: str | None,
    out: str | None,
    url: str | None,
    endpoint: str,
    api_key: str | None,
    namespace: str,
    dry_run: bool,
) -> int:
    """MODEL's versions as OpenLineage COMPLETE run events, parents first: one run per
    version (run id = version id), its data snapshot and parent models as inputs, the
    model as output with an `mlineage` facet.

    With neither --out nor --url the events go to standard output, one a line. Sending
    again is safe: the same versions give the same events. Needs
    `pip install 'mlineage[openlineage]'`. Exit status 1 when MODEL has no version.
    """
    from mlineage.connectors import openlineage

    tracker = open_tracker(model, store)
    run_events = openlineage.events(tracker, ref, namespace=namespace)
    if url is not None:
        openlineage.check_url(url)
    to_stdout = out == "-" or (out is None and url is None)
    summary: dict[str, Any] = {
        "model": model,
        "count": len(run_events),
        "runs": [e.run.runId for e in run_events],
        "out": None if to_stdout else out,
        "url": url,
        "sent": 0,
        "dry_run": dry_run,
    }
    if not dry_run:
        if to_stdout and as_json:  # the events are the machine-readable answer
            summary["events"] = openlineage.to_dicts(run_events)
        elif to_stdout:
            click.echo(openlineage.to_ndjson(run_events), nl=False)
        elif out is not None:
            with click.open_file(out, "w", encoding="utf-8", atomic=True) as f:
                f.write(openlineage.to_ndjson(run_events))
        if url is not None:
            summary["sent"] = openlineage.post(run_events, url, endpoint=endpoint, api_key=api_key)
    if as_json:
        print_json(summary)
        return 0 if run_events else 1
    wrote, sent = ("would write", "would send") if dry_run else ("wrote", "sent")
    lines = []
    if out is not None and out != "-":
        lines.append(f"{wrote} {len(run_events)} event(s) to {out}")
    if url is not None:
        lines.append(f"{sent} {len(run_events)} event(s) to {url}")
    if dry_run and to_stdout:
        lines.append(f"would print {len(run_events)} event(s)")
    if lines:
        # Standard output may carry the events themselves: the account goes to stderr then.
        click.echo("\n".join(lines), err=to_stdout and not dry_run)
    return 0 if run_events else 1
