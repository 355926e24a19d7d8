"""Behaviour commands: ``compare`` (two versions on a shared probe set) and ``shifts``."""

from __future__ import annotations

import click

import mlineage.cli._tables as tables
from mlineage.cli._common import (
    command,
    complete_models,
    count_option,
    on_option,
    open_tracker,
    print_result,
)


@command(
    "compare",
    short_help="how behaviour changed between two versions",
    epilog="""\b
Examples:
  mlineage compare fraud-detector                 # latest against its parent
  mlineage compare fraud-detector production      # production against its parent
  mlineage compare fraud-detector v3 v4 --probe holdout --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.option("--probe", metavar="P", help="Probe set name or hash (default: the shared one).")
@count_option("--top", 20, "List at most N flipped examples.")
def compare(
    store: str | None,
    as_json: bool,
    model: str,
    a: str | None,
    b: str | None,
    probe: str | None,
    top: int,
) -> int:
    """Behaviour from version A to version B on the probe set both were fingerprinted on.

    With only A: A against its first parent; with neither: the latest version against its
    first parent. Churn, flip rates, per-group accuracy, representation drift and
    calibration, from the stored fingerprints.
    """
    tracker = open_tracker(model, store)
    diff = tracker.analysis.compare(a, b, probe=probe, top=top)
    print_result(diff, as_json, tables.compare)
    return 0


@command(
    "shifts",
    short_help="steps where behaviour moved but metrics stayed flat",
    epilog="""\b
Examples:
  mlineage shifts fraud-detector
  mlineage shifts fraud-detector --on production --threshold 0.1 --json""",
)
@click.argument("model", shell_complete=complete_models)
@on_option
@click.option("--probe", metavar="P", help="Probe set name or hash (default: the most used).")
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    metavar="T",
    help="One fixed threshold for churn, 1 - CKA and |ECE change| (default: each judged "
    "against the history's own step-to-step noise, robust z > 3.5).",
)
@click.option(
    "--noise",
    type=click.FloatRange(min=0.0),
    default=2.0,
    help="A metric is flat within NOISE x its robust step noise.",
)
def shifts(
    store: str | None,
    as_json: bool,
    model: str,
    on: str | None,
    probe: str | None,
    threshold: float | None,
    noise: float,
) -> int:
    """Silent shifts: updates whose behaviour moved while every metric stayed in its noise.

    Behaviour moved when churn, 1 - CKA or |ECE change| is an anomalous step among the
    history's own steps (robust z > 3.5 over the ordinary ones, above a small floor), or
    above --threshold. Exit status 1 when there is none.
    """
    tracker = open_tracker(model, store)
    result = tracker.analysis.silent_shifts(threshold, on, probe=probe, noise=noise)
    print_result(result, as_json, tables.shifts)
    return 0 if result.shifts else 1
