"""``mlineage report``: write the offline HTML lineage report."""

from __future__ import annotations

import click

from mlineage.cli._common import (
    command,
    complete_models,
    open_tracker,
    print_json,
    require_metric,
)


@command(
    "report",
    short_help="write the offline HTML lineage report",
    epilog="""\b
Examples:
  mlineage report fraud-detector
  mlineage report fraud-detector -o incident-42.html --metric accuracy --open""",
)
@click.argument("model", shell_complete=complete_models)
@click.option(
    "-o",
    "--output",
    default="lineage.html",
    metavar="FILE",
    help="The HTML file to write (replaced if it exists).",
)
@click.option("--metric", metavar="M", help="Metric shown first (default: the most recorded).")
@click.option("--title", metavar="TEXT", help="Page title (default: '<model> lineage').")
@click.option(
    "--open",
    "open_it",
    is_flag=True,
    help="Open the report in a browser (prints its file:// address when none can open).",
)
def report(
    store: str | None,
    as_json: bool,
    model: str,
    output: str,
    metric: str | None,
    title: str | None,
    open_it: bool,
) -> int:
    """Write MODEL's lineage report: one self-contained HTML file that needs no network.

    The DAG with branches and merges, aliases and their moves, each metric along the main
    line with blame suspects, any version's details, a diff between any two
    (docs/report.md).
    """
    tracker = open_tracker(model, store)
    require_metric(tracker, metric)
    path = tracker.report(output, metric=metric, title=title)
    if as_json:
        print_json({"model": model, "path": str(path)})
    else:
        click.echo(f"wrote {path}")
    if open_it:
        import webbrowser  # imported here: only --open needs it

        uri = path.resolve().as_uri()
        if not webbrowser.open(uri):  # no browser here (a server, a container, ssh)
            click.echo(f"no browser could be opened here; open {uri} yourself", err=as_json)
    return 0
