"""``mlineage demo``: build a realistic demo store and its HTML report."""

from __future__ import annotations

import time

import click

from mlineage.cli._common import command, print_json


@command(
    "demo",
    short_help="build a realistic demo store (12 monthly updates) and its HTML report",
    epilog="""\b
Examples:
  mlineage demo
  mlineage demo --path /tmp/demo --force""",
)
@click.option(
    "--path",
    default="mlineage-demo",
    metavar="DIR",
    help="Directory for the store, checkpoints and report (new or empty).",
)
@click.option("--force", is_flag=True, help="Replace what an earlier demo left in --path.")
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
def demo(store: str | None, as_json: bool, path: str, force: bool, no_report: bool) -> int:
    """Build a lineage store of a small fraud model updated monthly through 2024.

    May's labels are corrupted (blame finds it), September onboards a new merchant category
    (a silent data shift), June's fine-tune for a rare region is merged back in August, and
    `production` moves three times, once rolled back. The model is real: logistic
    regression in numpy, warm-started every month. --store is ignored (the demo makes its
    own store under --path).
    """
    from mlineage.demo import DEMO_MODEL, build_demo

    started = time.perf_counter()
    result = build_demo(path, force=force, report=not no_report)
    seconds = time.perf_counter() - started
    store_arg = str(result.store)
    if as_json:
        print_json(
            {
                "path": str(result.path),
                "store": store_arg,
                "report": None if no_report else str(result.report),
                "model": DEMO_MODEL,
                "versions": result.versions,
                "culprit": result.culprit,
                "seconds": round(seconds, 2),
            }
        )
        return 0
    click.echo(
        f"Built {result.versions} versions of {DEMO_MODEL!r} in {seconds:.1f} s: store {store_arg}"
    )
    if not no_report:
        click.echo(f"Report: {result.report.resolve().as_uri()}  (open it in a browser)")
    click.echo("Try next:")
    click.echo(f"  mlineage --store {store_arg} log --graph {DEMO_MODEL}")
    click.echo(f"  mlineage --store {store_arg} blame {DEMO_MODEL} accuracy")
    click.echo(f"  mlineage --store {store_arg} checkout {DEMO_MODEL} production --at 2024-06-05")
    return 0
