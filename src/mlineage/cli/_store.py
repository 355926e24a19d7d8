"""Commands about the store as a whole: ``fsck``, ``compact``."""

from __future__ import annotations

import click

from mlineage.cli._common import command, complete_models, open_tracker, print_json
from mlineage.fsck import DEFAULT_TEMP_AGE
from mlineage.fsck import fsck as check_store


@command(
    "fsck",
    short_help="check the whole store for damage (exit 1 if any)",
    epilog="""\b
Examples:
  mlineage --store s3://ml-lineage/prod fsck
  mlineage fsck --store ./lineage-store --repair --no-blobs""",
)
@click.option(
    "--repair",
    is_flag=True,
    help="Remove leftover temporary files older than --temp-age (nothing else).",
)
@click.option(
    "--temp-age",
    type=click.FloatRange(min=0),
    default=DEFAULT_TEMP_AGE,
    show_default=False,  # the help says it
    metavar="SECONDS",
    help="Minimum age of a temporary file --repair removes; a younger one may belong to a "
    f"running writer (default {DEFAULT_TEMP_AGE:g}).",
)
@click.option("--no-blobs", is_flag=True, help="Do not hash every blob's bytes.")
def fsck(store: str | None, as_json: bool, repair: bool, temp_age: float, no_blobs: bool) -> int:
    """Check the whole store and list every problem; exit status 1 if there is any.

    --repair removes leftover temporary files (and aborts incomplete uploads) older than
    --temp-age, and nothing else.
    """
    report = check_store(store, repair=repair, verify_blobs=not no_blobs, temp_age=temp_age)
    if as_json:
        print_json(report.to_dict())
    else:
        for path in report.removed:
            what = "aborted" if "(incomplete upload" in path else "removed temporary file"
            click.echo(f"{what} {path}")
        click.echo(report)
    return 0 if report.ok else 1


@command(
    "compact",
    short_help="bundle a model's loose records into packs, for fast loading",
    epilog="""\b
Examples:
  mlineage compact fraud-detector
  mlineage --store s3://ml-lineage/prod compact fraud-detector --json""",
)
@click.argument("model", shell_complete=complete_models)
def compact(store: str | None, as_json: bool, model: str) -> int:
    """Bundle MODEL's loose records (and small packs) into packs; print how many it wrote."""
    tracker = open_tracker(model, store, read_only=False)
    packed = tracker.compact()
    if as_json:
        print_json({"model": model, "packed": packed})
    else:
        plural = "" if packed == 1 else "s"
        click.echo(f"packed {packed} record{plural} of model {model!r} ({tracker.store.uri})")
    return 0
