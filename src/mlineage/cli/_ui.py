"""``mlineage ui``: serve a local, read-only web explorer of the store."""

from __future__ import annotations

import click

from mlineage.cli._common import command


@command(
    "ui",
    short_help="browse the store in a local, read-only web UI",
    epilog="""\b
Examples:
  mlineage ui --open
  mlineage --store s3://ml-lineage/prod ui --port 9000""",
)
@click.option(
    "--host",
    default="127.0.0.1",
    help="Interface to bind; any other than this machine's is unauthenticated (warned).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    help="Port to listen on (0: any free port, printed at start).",
)
@click.option("--open", "open_it", is_flag=True, help="Open the store page in a browser.")
def ui(store: str | None, as_json: bool, host: str, port: int, open_it: bool) -> int:
    """Serve every model of the store at http://HOST:PORT/ until Ctrl-C.

    Read-only (GET only): the store page, each model's lineage (the report's views, live
    as versions arrive), comparisons of any two versions, search, and the JSON API under
    /api/ (docs/ui.md). Needs the ui extra: pip install 'mlineage[ui]'.
    """
    from mlineage.ui import serve  # imported here: `mlineage --help` does not need it

    serve(store, host=host, port=port, open=open_it)
    return 0
