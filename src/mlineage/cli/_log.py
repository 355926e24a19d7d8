"""``mlineage log``: every version newest first, optionally as a DAG like ``git log --graph``."""

from __future__ import annotations

import sys
from itertools import islice
from typing import TYPE_CHECKING, Any

import click

from mlineage.cli._common import (
    command,
    complete_models,
    count_option,
    open_tracker,
    print_json,
    require_metric,
)

if TYPE_CHECKING:
    from mlineage.tracker import Tracker
    from mlineage.views.text import GraphRow

#: Lane colours on a terminal, by lane number (as git cycles them).
_LANE_COLOURS = ("red", "green", "yellow", "blue", "magenta", "cyan")


def _paint_graph(text: str) -> str:
    """Colour each lane character by its lane (a terminal only)."""
    out = []
    for pos, char in enumerate(text):
        if char == " ":
            out.append(char)
            continue
        lane = pos // 2 if char in "*|" else (pos + 1) // 2
        colour = _LANE_COLOURS[lane % len(_LANE_COLOURS)]
        out.append(click.style(char, fg=colour, bold=char == "*"))
    return "".join(out)


def _row_dict(tracker: Tracker, row: GraphRow, aliases: list[str]) -> dict[str, Any]:
    v = row.version
    return {
        "id": v.id,
        "short_id": tracker.abbrev(v),
        "name": v.name,
        "parents": list(v.parents),
        "kind": v.kind,
        "created_at": v.created_at.isoformat(),
        "aliases": aliases,
        "metrics": dict(v.metrics),
        "lane": row.lane,
        "graph": row.graph,
        "after": list(row.after),
    }


@command(
    "log",
    short_help="every version newest first; --graph draws the DAG",
    epilog="""\b
Examples:
  mlineage log fraud-detector --graph
  mlineage log fraud-detector --graph --limit 20 --metric accuracy
  mlineage log fraud-detector --graph --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.option("--graph", "draw", is_flag=True, help="Draw branch and merge lanes (* | / \\).")
@count_option("--limit", None, "Show the newest N versions (default: all).")
@click.option("--metric", metavar="M", help="Metric to show (default: each version's first).")
def log(
    store: str | None,
    as_json: bool,
    model: str,
    draw: bool,
    limit: int | None,
    metric: str | None,
) -> int:
    """Every version of MODEL, newest first: short id, name, aliases, kind, a metric.

    With --graph, the lineage DAG is drawn beside them as git log --graph draws commits:
    `*` is the version, `|` a lane continuing, `\\` a merge opening a lane for its other
    parent, `/` a branch joining the line it started from. Colour only on a terminal.
    --json gives the rows with their lane and graph characters.
    """
    from mlineage.views.text import graph_rows

    tracker = open_tracker(model, store)
    require_metric(tracker, metric)
    graph = tracker.graph
    aliases_of: dict[str, list[str]] = {}
    for alias, target in tracker.aliases().items():
        aliases_of.setdefault(target.id, []).append(alias)
    newest_first = reversed(graph.ids())
    versions = (graph.get(version_id) for version_id in newest_first)
    # Parents from the graph, so that only the versions shown have their records read.
    rows = islice(graph_rows(versions, lambda i: [p.id for p in graph.parents(i)]), limit)
    if as_json:
        print_json([_row_dict(tracker, r, aliases_of.get(r.version.id, [])) for r in rows])
        return 0
    colour = sys.stdout.isatty()
    for row in rows:
        v = row.version
        lanes = row.graph if draw else ""
        shown = metric if metric is not None else next(iter(v.metrics), None)
        parts = [click.style(tracker.abbrev(v), fg="yellow") if colour else tracker.abbrev(v)]
        if v.name:
            parts.append(v.name)
        if v.id in aliases_of:
            label = f"[{', '.join(aliases_of[v.id])}]"
            parts.append(click.style(label, fg="green", bold=True) if colour else label)
        parts.append(f"({v.kind})")
        if shown is not None and shown in v.metrics:
            parts.append(f"{shown}={v.metrics[shown]:.4g}")
        prefix = (_paint_graph(lanes) if colour else lanes) + " " if draw else ""
        click.echo(prefix + " ".join(parts))
        if draw:
            for line in row.after:
                click.echo(_paint_graph(line) if colour else line)
    return 0
