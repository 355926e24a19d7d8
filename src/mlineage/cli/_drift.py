"""Data drift and bisection: ``drift``, ``drift-along``, ``blame --with-drift``, ``bisect run``."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING

import click

import mlineage.cli._tables as tables
from mlineage.cli._common import (
    command,
    complete_models,
    on_option,
    open_tracker,
    print_json,
    print_result,
    print_table,
)
from mlineage.errors import MLineageError

if TYPE_CHECKING:
    from mlineage.blame import Direction
    from mlineage.records import ModelVersion
    from mlineage.tracker import Tracker

#: ``git bisect run``'s convention: this exit status means "cannot test this version".
SKIP_STATUS = 125

_WRITE_CACHE = click.option(
    "--write-cache",
    is_flag=True,
    help="Store the computed reports in the store's drift cache (default: compute only; "
    "reports already cached are read either way).",
)


@command(
    "drift",
    short_help="data drift between two versions, from stored profiles",
    epilog="""\b
Examples:
  mlineage drift fraud-detector                    # latest against its first parent
  mlineage drift fraud-detector month-7            # month-7 against its first parent
  mlineage drift fraud-detector v0 production --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    help="Significance level of each feature's test, after the correction.",
)
@click.option(
    "--correction",
    type=click.Choice(["bonferroni", "bh"]),
    default="bonferroni",
    help="Multiple-testing correction over the features: Bonferroni or Benjamini-Hochberg.",
)
@_WRITE_CACHE
def drift(
    store: str | None,
    as_json: bool,
    model: str,
    a: str | None,
    b: str | None,
    alpha: float,
    correction: str,
    write_cache: bool,
) -> int:
    """Per-feature data drift from version A to version B, from their stored profiles.

    Without B: A against its first parent; without either: the latest version against its
    first parent. Works after the data itself is gone. A version logged without a profile
    is an error that says how to record one.
    """
    tracker = open_tracker(model, store, read_only=not write_cache)
    report = tracker.analysis.drift(a, b, alpha=alpha, correction=correction)  # type: ignore[arg-type]
    print_result(report, as_json, tables.drift)
    return 0


@command(
    "drift-along",
    short_help="data drift of every step of a history, anomalies flagged",
    epilog="""\b
Examples:
  mlineage drift-along fraud-detector
  mlineage drift-along fraud-detector --on production --write-cache --json""",
)
@click.argument("model", shell_complete=complete_models)
@on_option
@_WRITE_CACHE
def drift_along(
    store: str | None, as_json: bool, model: str, on: str | None, write_cache: bool
) -> int:
    """Data drift of each version against its first parent along a history, oldest first.

    Each step is an "anomalous step" when its drift score's robust z-score among the
    steps exceeds 3.5 (docs/analysis.md, "Verdicts"), with its data verdict (features
    drifted at Bonferroni p < 0.05; dataset drift when at least 50 % did); steps without
    profiles are listed with the reason.
    """
    tracker = open_tracker(model, store, read_only=not write_cache)
    along = tracker.analysis.drift_along(on)
    print_result(along, as_json, tables.drift_along)
    return 0


def blame_with_drift(
    tracker: Tracker, metric: str, direction: Direction, on: str | None, limit: int, as_json: bool
) -> int:
    """``mlineage blame --with-drift``: the report with each shown step's drift."""
    report = tracker.analysis.blame(metric, direction, on=on)
    shown = None if limit == 0 else limit
    correlation = report.drift_correlation()
    if as_json:
        print_json({**report.to_dict(shown), "drift_correlation": correlation.to_dict()})
    else:
        tables.blame(report, shown)
        click.echo("")
        print_table(
            ["#", "version", "data drift of the step"],
            [
                [str(rank), tables.version_label(step.version), step.drift.summary()]
                for rank, step in enumerate(report.steps[:shown], 1)
                if step.drift is not None
            ],
            title=str(correlation),
        )
    return 0 if report.culprit is not None else 1


@click.group(
    "bisect",
    short_help="find the first bad version by binary search",
    epilog="""\b
Examples:
  mlineage bisect run fraud-detector v0 production -- ./evaluate.sh
  mlineage bisect run fraud-detector v0 production --json -- ./evaluate.sh
\b
`run` takes --json, --store URI and --debug, like every command.""",
)
def bisect() -> None:
    """Find the first bad version between a good and a bad one (like git bisect)."""


@command(
    "run",
    short_help="bisect by running a command on each candidate version",
    epilog="""\b
Examples:
  mlineage bisect run fraud-detector v0 production -- ./evaluate.sh
  mlineage bisect run fraud-detector month-1 month-12 -- python check.py --min-acc 0.9
\b
The command sees MLINEAGE_VERSION (the version id) and MLINEAGE_CHECKOUT (a directory
where the version was checked out; empty when its files could not be restored).
Its exit status: 0 good, 125 skip (cannot test), 1-127 bad, 128 or more aborts.""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("good")
@click.argument("bad")
@click.argument("cmd", nargs=-1, required=True, type=click.UNPROCESSED)
def bisect_run(
    store: str | None, as_json: bool, model: str, good: str, bad: str, cmd: tuple[str, ...]
) -> int:
    """Binary-search the first-parent path from GOOD to BAD, running CMD on each candidate.

    Each candidate is checked out into a temporary directory (MLINEAGE_CHECKOUT) and CMD
    run with MLINEAGE_VERSION set; CMD's output goes to stderr. Exit status 0 with the
    first bad version; 2 when CMD aborted (status >= 128) or could not be run.
    """
    tracker = open_tracker(model, store)
    result = tracker.bisect(good, bad, lambda version: _run(tracker, version, cmd))
    print_result(result, as_json, click.echo)
    return 0


def _run(tracker: Tracker, version: ModelVersion, cmd: tuple[str, ...]) -> bool | None:
    with tempfile.TemporaryDirectory(prefix="mlineage-bisect-") as tmp:
        target = os.path.join(tmp, "checkout")
        try:
            tracker.checkout(version, to=target)
        except MLineageError as exc:
            click.echo(
                f"mlineage: {version.short_id} could not be checked out ({exc}); running the "
                "command with MLINEAGE_CHECKOUT empty",
                err=True,
            )
            target = ""
        env = {**os.environ, "MLINEAGE_VERSION": version.id, "MLINEAGE_CHECKOUT": target}
        try:
            status = subprocess.run(list(cmd), env=env, stdout=sys.stderr, check=False).returncode
        except OSError as exc:
            raise MLineageError(f"bisect could not run {cmd[0]!r}: {exc}") from None
    if status == 0:
        return True
    if status == SKIP_STATUS:
        return None
    if 0 < status < 128:
        return False
    raise MLineageError(
        f"bisect aborted: {' '.join(cmd)!r} exited with status {status} on version "
        f"{version.short_id} (128 or more, or a signal, aborts, as in git bisect run)"
    )


bisect.add_command(bisect_run)
