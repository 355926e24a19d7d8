"""Commands about what a name designates: ``checkout``, ``aliases``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mlineage.cli._common import (
    command,
    complete_models,
    open_tracker,
    print_json,
    print_table,
    version_dict,
)

if TYPE_CHECKING:
    from mlineage.checkout import Checkout
    from mlineage.environment import EnvironmentDiff


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

    Prints that version and its environment summed up: how many packages it had, how
    many differ from the current environment, and the first of those differences (--json
    has every package). With --to, writes the version's files, verified by hash, into DIR.
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
        _print_checkout(result)
    return 0


#: Package differences listed one a line; more are counted (``--json`` has them all).
_SHOWN_PACKAGES = 10


def _print_checkout(result: Checkout) -> None:
    """The version, then the environment as counts and its differences from now."""
    text = str(result).splitlines()
    for line in text:
        if line.startswith("  environment"):
            break
        click.echo(line)
    env, diff = result.environment, result.environment_diff
    if env is None or diff is None:
        click.echo("  environment: none was captured when it was logged")
    elif diff.is_empty:
        click.echo(f"  environment: same as now ({len(env.packages)} packages)")
    else:
        changed, then, now = diff.packages_changed, diff.packages_removed, diff.packages_added
        click.echo(
            f"  environment: {len(env.packages)} packages then; {len(changed)} at another "
            f"version now, {len(then)} only then, {len(now)} only now"
        )
        rows = [[what, *pair] for what, pair in _scalar_changes(diff)]
        packages = [[n, old, new] for n, (old, new) in sorted(changed.items())]
        packages += [[n, v, "-"] for n, v in sorted(then.items())]
        packages += [[n, "-", v] for n, v in sorted(now.items())]
        rows += packages[:_SHOWN_PACKAGES]
        more = len(packages) - _SHOWN_PACKAGES
        notes = [f"  ... and {more} more packages (--json lists them all)"] if more > 0 else []
        print_table(["", "then", "now"], rows, notes=notes)
    for line in text:
        if line.startswith("  written to"):
            click.echo(line)


def _scalar_changes(diff: EnvironmentDiff) -> list[tuple[str, tuple[str, str]]]:
    fields = {
        "python": diff.python,
        "platform": diff.platform,
        "git commit": diff.git_commit,
        "git dirty": diff.git_dirty,
        "torch": diff.torch,
        "cuda": diff.cuda,
    }
    return [
        (name, ("-" if old is None else str(old), "-" if new is None else str(new)))
        for name, pair in fields.items()
        if pair is not None
        for old, new in [pair]
    ]


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
    if not rows:
        click.echo("(no aliases)")
    print_table(("alias", "version", "name"), rows)
    return 0
