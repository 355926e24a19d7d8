"""Commands that say something about versions afterwards: ``annotate``, ``alias set|rm``.

They write events (the versions themselves never change), so they open the store
writable; everything else on the command line opens it read-only.
"""

from __future__ import annotations

import click

from mlineage.cli._common import (
    DEBUG_HELP,
    STORE_HELP,
    GlobalOptions,
    command,
    complete_models,
    open_tracker,
    print_json,
)


@command(
    "annotate",
    short_help="attach notes and tags to a version afterwards",
    epilog="""\b
Examples:
  mlineage annotate fraud-detector fraud-w3 --notes "regression: bad January labels"
  mlineage annotate fraud-detector 3f2a9c1e --tag incident-42 --tag do-not-deploy""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("ref")
@click.option("--notes", default="", show_default=False, metavar="TEXT", help="A note to attach.")
@click.option("--tag", "tags", multiple=True, metavar="T", help="A tag to add (repeatable).")
def annotate(
    store: str | None, as_json: bool, model: str, ref: str, notes: str, tags: tuple[str, ...]
) -> int:
    """Attach a note and/or tags to version REF of MODEL (the version is unchanged).

    The annotation is an event kept beside the version: `show` and `history` list it.
    """
    if not notes and not tags:
        raise click.UsageError("give --notes TEXT and/or --tag T")
    tracker = open_tracker(model, store, read_only=False)
    event = tracker.annotate(ref, notes=notes, tags=tags)
    if as_json:
        print_json(event.model_dump(mode="json"))
    else:
        click.echo(f"annotated {tracker.abbrev(event.version)} (event {event.id})")
    return 0


@click.group(
    "alias",
    short_help="move or remove an alias (production, staging)",
    epilog="""\b
Examples:
  mlineage alias set fraud-detector production fraud-w2
  mlineage alias set fraud-detector production fraud-w1 --at 2024-01-15T09:00
  mlineage alias rm fraud-detector staging""",
)
@click.option("--store", metavar="URI", help=STORE_HELP)
@click.option("--debug", is_flag=True, help=DEBUG_HELP)
@click.pass_context
def alias(ctx: click.Context, store: str | None, debug: bool) -> None:
    """Point an alias at a version, or remove it. Every move is kept (`mlineage aliases`
    lists where they point now; `show` and the report show their history).

    `set` and `rm` take --json (the event written), --store and --debug, as every command.
    """
    given = ctx.find_object(GlobalOptions) or GlobalOptions()
    ctx.obj = GlobalOptions(
        store=given.store if store is None else store, debug=debug or given.debug
    )


@command(
    "set",
    short_help="point ALIAS at REF",
    epilog="""\b
Examples:
  mlineage alias set fraud-detector production fraud-w2
  mlineage alias set fraud-detector production 3f2a9c1e --at 2024-01-15
  mlineage alias set fraud-detector production fraud-w3 --expect fraud-w2""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("name", metavar="ALIAS")
@click.argument("ref")
@click.option("--at", metavar="TIME", help="When the move took effect (default: now).")
@click.option(
    "--expect",
    metavar="REF",
    help="Move only if ALIAS points at version REF now (or if REF is a move's event id, "
    "only if that is still its latest move); otherwise refuse, write nothing, exit 1.",
)
@click.option(
    "--reason", default="", show_default=False, metavar="TEXT", help="Why, recorded with the move."
)
def alias_set(
    store: str | None,
    as_json: bool,
    model: str,
    name: str,
    ref: str,
    at: str | None,
    expect: str | None,
    reason: str,
) -> int:
    """Point ALIAS of MODEL at version REF (from --at, default now).

    With --expect, the move is a compare-and-set: refused (exit status 1, nothing
    written) if someone else moved ALIAS meanwhile.
    """
    from mlineage.errors import AliasConflict

    tracker = open_tracker(model, store, read_only=False)
    try:
        event = tracker.set_alias(name, ref, at=at, expect=expect, reason=reason)
    except AliasConflict as exc:
        if as_json:
            found = None if exc.found is None else exc.found.model_dump(mode="json")
            print_json({"refused": str(exc), "expected": exc.expected, "found": found})
        else:
            click.echo(f"mlineage: refused: {exc}", err=True)
        return 1
    if as_json:
        print_json(event.model_dump(mode="json"))
    else:
        target = tracker.abbrev(ref)
        click.echo(f"{name} -> {target} (from {event.effective_at.isoformat()})")
    return 0


@command(
    "rm",
    short_help="remove ALIAS",
    epilog="""\b
Examples:
  mlineage alias rm fraud-detector staging""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("name", metavar="ALIAS")
@click.option("--at", metavar="TIME", help="When the removal took effect (default: now).")
def alias_rm(store: str | None, as_json: bool, model: str, name: str, at: str | None) -> int:
    """Remove ALIAS of MODEL (its past moves are kept)."""
    tracker = open_tracker(model, store, read_only=False)
    tracker.alias_history(name)  # an alias never set is an error, not a silent no-op
    event = tracker.set_alias(name, None, at=at)
    if as_json:
        print_json(event.model_dump(mode="json"))
    else:
        click.echo(f"removed {name} (from {event.effective_at.isoformat()})")
    return 0


alias.add_command(alias_set)
alias.add_command(alias_rm)
