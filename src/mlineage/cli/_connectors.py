"""``mlineage import`` and ``mlineage export``: bring history in from other systems, send it out.

Each verb calls one function of :mod:`mlineage.connectors` and prints its
:class:`~mlineage.connectors.ImportSummary` (``--json``: as an object). ``--dry-run`` reads
the source and reports, writing nothing. Long imports draw a progress line on a terminal
(``MLINEAGE_PROGRESS=0`` turns it off). The SDKs are imported by the connectors when a verb
runs, so ``mlineage --help`` does not load them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from mlineage.cli._common import command, print_result
from mlineage.cli._openlineage import openlineage_export

if TYPE_CHECKING:
    from mlineage.connectors import ImportSummary
    from mlineage.tracker import Tracker

__all__ = ["export", "import_"]

DRY_RUN_HELP = "Read the source and report what would change; write nothing."


@contextmanager
def _progress(label: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing one line, started at the first call."""
    from mlineage._progress import Progress

    bars: list[Progress] = []

    def update(done: int, total: int) -> None:
        if not bars:
            bars.append(Progress(total, label, unit=unit).__enter__())
        bars[0].update(done - bars[0].done)

    try:
        yield update
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


def _tracker(model: str, store: str | None, dry_run: bool) -> Tracker:
    """The model to import into: created on first import; read-only for a dry run."""
    from mlineage.tracker import Tracker

    # The environment of the machine that imports is not the one the history was made in.
    return Tracker(model, storage=store, read_only=dry_run, capture_environment=False)


def _run(
    tracker: Tracker,
    unit: str,
    as_json: bool,
    call: Callable[[Tracker, Callable[[int, int], None]], ImportSummary],
) -> int:
    """Call a connector with a progress line counting ``unit``; print its summary."""
    verb = "exporting" if unit == "versions" else "importing"
    with _progress(f"{verb} {unit}", unit) as progress:
        summary = call(tracker, progress)
    print_result(summary, as_json, click.echo)
    return 0


def _importer(
    unit: str,
) -> Callable[[Callable[..., ImportSummary]], Callable[..., int]]:
    """Make an import verb a command function.

    The verb gets the tracker of MODEL (created on first import; read-only for
    ``--dry-run``), a ``progress(done, total)`` callback counting ``unit``, ``dry_run`` and
    its own options; it returns the connector's summary, which is printed (``--json``: as
    an object).
    """

    def decorate(verb: Callable[..., ImportSummary]) -> Callable[..., int]:
        @functools.wraps(verb)
        def run(
            *, store: str | None, as_json: bool, model: str, dry_run: bool, **options: Any
        ) -> int:
            return _run(
                _tracker(model, store, dry_run),
                unit,
                as_json,
                lambda tracker, progress: verb(tracker, progress, dry_run=dry_run, **options),
            )

        return run

    return decorate


@click.group(
    "import",
    short_help="import history from MLflow, Hugging Face or DVC",
    epilog="""\b
Examples:
  mlineage import mlflow fraud-detector fraud --tracking-uri sqlite:///mlflow.db
  mlineage import hf llm-family base/README.md ft/README.md --dry-run
  mlineage import dvc fraud-detector ./fraud-repo --rev main --json
\b
Each takes --dry-run, --json, --store URI and --debug, like every command.""",
)
def import_() -> None:
    """Import history from another system into a model (MLflow, Hugging Face, DVC)."""


@click.group(
    "export",
    short_help="export a model's lineage (to MLflow or OpenLineage)",
    epilog="""\b
Examples:
  mlineage export mlflow fraud-detector --tracking-uri sqlite:///mlflow.db
  mlineage export openlineage fraud-detector --out events.ndjson
  mlineage export openlineage fraud-detector --url http://localhost:5000 --json
\b
Each takes --dry-run, --json, --store URI and --debug, like every command.""",
)
def export() -> None:
    """Export a model's lineage to another system (MLflow runs, OpenLineage run events)."""


@command(
    "mlflow",
    short_help="an MLflow experiment's finished runs as versions",
    epilog="""\b
Examples:
  mlineage import mlflow fraud-detector fraud --tracking-uri sqlite:///mlflow.db
  mlineage import mlflow fraud-detector fraud --alias-prefix mlflow- --dry-run --json""",
)
@click.argument("model")
@click.argument("experiment")
@click.option("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: MLflow's).")
@click.option("--filter", "filter_string", metavar="F", help="MLflow search filter string.")
@click.option("--parent-tag", metavar="TAG", help="Run tag holding the parent run's id.")
@click.option(
    "--alias-prefix",
    default="",
    show_default=False,
    metavar="P",
    help="Prefix of imported aliases.",
)
@click.option("--metric-history", is_flag=True, help="Keep full metric histories as evidence.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN_HELP)
@_importer("runs")
def import_mlflow(
    tracker: Tracker,
    progress: Callable[[int, int], None],
    *,
    experiment: str,
    tracking_uri: str | None,
    filter_string: str | None,
    parent_tag: str | None,
    alias_prefix: str,
    metric_history: bool,
    dry_run: bool,
) -> ImportSummary:
    """Import EXPERIMENT's finished runs into MODEL (runs imported before are skipped)."""
    from mlineage.connectors import mlflow

    return mlflow.import_runs(
        tracker,
        experiment,
        tracking_uri,
        filter_string,
        parent_tag,
        alias_prefix=alias_prefix,
        metric_history=metric_history,
        dry_run=dry_run,
        progress=progress,
    )


@command(
    "hf",
    short_help="Hugging Face model cards as a model tree",
    epilog="""\b
Examples:
  mlineage import hf llm-family base/README.md ft/README.md
  mlineage import hf llm-family acme/fraud-ft --json     # a repo id: fetched from the Hub""",
)
@click.argument("model")
@click.argument("cards", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help=DRY_RUN_HELP)
@_importer("cards")
def import_hf(
    tracker: Tracker, progress: Callable[[int, int], None], *, cards: tuple[str, ...], dry_run: bool
) -> ImportSummary:
    """Import model CARDS (card files, or repo ids read from the Hub) into MODEL, each
    version named after its repo id with '/' written as '--'."""
    from mlineage.connectors import hf

    return hf.import_model_tree(tracker, cards, dry_run=dry_run, progress=progress)


@command(
    "dvc",
    short_help="a DVC repository's data, params and metrics, one version per commit",
    epilog="""\b
Examples:
  mlineage import dvc fraud-detector ./fraud-repo
  mlineage import dvc fraud-detector ./fraud-repo --rev main~5..main --json""",
)
@click.argument("model")
@click.argument("repo", type=click.Path(file_okay=False))
@click.option(
    "--rev",
    "revs",
    multiple=True,
    metavar="REV",
    help="git revisions to walk (git rev-list syntax, repeatable); default: HEAD only.",
)
@click.option("--dry-run", is_flag=True, help=DRY_RUN_HELP)
@_importer("commits")
def import_dvc(
    tracker: Tracker,
    progress: Callable[[int, int], None],
    *,
    repo: str,
    revs: tuple[str, ...],
    dry_run: bool,
) -> ImportSummary:
    """Import the DVC repository REPO into MODEL: one version per git commit."""
    from mlineage.connectors import dvc

    return dvc.import_repo(tracker, repo, list(revs) or None, dry_run=dry_run, progress=progress)


@command(
    "mlflow",
    short_help="a model's versions as runs of an MLflow experiment",
    epilog="""\b
Examples:
  mlineage export mlflow fraud-detector --tracking-uri sqlite:///mlflow.db
  mlineage export mlflow fraud-detector --experiment fraud-lineage --json""",
)
@click.argument("model")
@click.option("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: MLflow's).")
@click.option("--experiment", metavar="NAME", help="Experiment to write (default: MODEL).")
@click.option("--dry-run", is_flag=True, help=DRY_RUN_HELP)
def export_mlflow(
    store: str | None,
    as_json: bool,
    model: str,
    tracking_uri: str | None,
    experiment: str | None,
    dry_run: bool,
) -> int:
    """Write MODEL's versions as finished runs (versions exported before are skipped)."""
    from mlineage.cli._common import open_tracker
    from mlineage.connectors import mlflow

    return _run(
        open_tracker(model, store),
        "versions",
        as_json,
        lambda tracker, progress: mlflow.export(
            tracker, tracking_uri, experiment, dry_run=dry_run, progress=progress
        ),
    )


import_.add_command(import_mlflow)
import_.add_command(import_hf)
import_.add_command(import_dvc)
export.add_command(export_mlflow)
export.add_command(openlineage_export)
