"""Commands about what a name designates: ``checkout``, ``aliases``."""

from __future__ import annotations

import click

from mlineage.cli._common import (
    command,
    complete_models,
    open_tracker,
    print_json,
    print_table,
    version_dict,
)


@command(
    "checkout",
    short_help="what a ref designated at a time; --to writes its files",
    epilog="""\b
Examples:
  mlineage checkout fraud-detector production --at 2024-01-15
  mlineage checkout fraud-detector production --at 2024-01-15 --to ./restored""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("ref", required=False)
@click.option("--at", metavar="TIME", help="ISO time or date (a date = end of that day, UTC).")
@click.option("--to", metavar="DIR", help="Directory to materialise the version in.")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty --to directory.")
def checkout(
    store: str | None,
    as_json: bool,
    model: str,
    ref: str | None,
    at: str | None,
    to: str | None,
    overwrite: bool,
) -> int:
    """What REF (an alias, a version or a name; default: the model) designated at TIME.

    Prints that version and how the environment then differs from now; with --to, writes
    the version's files, verified by hash, into DIR.
    """
    tracker = open_tracker(model, store)
    result = tracker.checkout(ref, at=at, to=to, overwrite=overwrite)
    if as_json:
        env = result.environment_diff
        print_json(
            {
                "version": version_dict(result.version),
                "requested": result.requested,
                "at": None if result.at is None else result.at.isoformat(),
                "path": None if result.path is None else str(result.path),
                "files": [str(f) for f in result.files],
                "environment_diff": None if env is None else env.to_dict(),
            }
        )
    else:
        click.echo(result)
    return 0


@command(
    "aliases",
    short_help="current aliases",
    epilog="""\b
Examples:
  mlineage aliases fraud-detector
  mlineage aliases fraud-detector --json""",
)
@click.argument("model", shell_complete=complete_models)
def aliases(store: str | None, as_json: bool, model: str) -> int:
    """The aliases that point at a version now: alias, version handle, name."""
    tracker = open_tracker(model, store)
    current = {alias: version.id for alias, version in tracker.aliases().items()}
    if as_json:
        print_json(current)
        return 0
    rows = [
        (alias, tracker.abbrev(version_id), tracker.get_version(version_id).name or "")
        for alias, version_id in current.items()
    ]
    print_table(("alias", "version", "name"), rows)
    return 0
