"""The ``mlineage`` command: query a lineage store from the shell.

::

    mlineage [--store URI] [--debug] models
    mlineage [--store URI] [--debug] log MODEL [--graph] [--limit N] [--metric M] [--json]
    mlineage [--store URI] [--debug] history MODEL [REF] [--limit N] [--json]
    mlineage [--store URI] [--debug] show MODEL REF [--json]
    mlineage [--store URI] [--debug] blame MODEL METRIC [--direction decrease|increase]
                                           [--on REF] [--limit N] [--with-drift] [--slice-by G]
                                           [--json]
    mlineage [--store URI] [--debug] diff MODEL A B [--json]
    mlineage [--store URI] [--debug] compare MODEL [A] [B] [--probe P] [--top N] [--json]
    mlineage [--store URI] [--debug] shifts MODEL [--on REF] [--probe P] [--threshold T]
                                            [--noise K] [--json]
    mlineage [--store URI] [--debug] checkout MODEL [REF] [--at TIME] [--to DIR]
                                              [--overwrite] [--json]
    mlineage [--store URI] [--debug] aliases MODEL [--json]
    mlineage [--store URI] [--debug] alias set MODEL ALIAS REF [--at TIME] [--expect REF]
                                               [--reason TEXT] [--json]
    mlineage [--store URI] [--debug] alias rm MODEL ALIAS [--at TIME] [--json]
    mlineage [--store URI] [--debug] annotate MODEL REF [--notes TEXT] [--tag T ...] [--json]
    mlineage [--store URI] [--debug] evidence MODEL [--kind K] [--on REF] [--json]
    mlineage [--store URI] [--debug] gate MODEL CANDIDATE --policy FILE [--against REF] [--json]
    mlineage [--store URI] [--debug] promote MODEL CANDIDATE --policy FILE [--alias A]
                                             [--against REF] [--force --reason TEXT] [--json]
    mlineage [--store URI] [--debug] report MODEL [-o FILE] [--metric M] [--title T] [--open]
    mlineage [--store URI] [--debug] fsck [--repair] [--temp-age SECONDS] [--no-blobs] [--json]
    mlineage [--store URI] [--debug] compact MODEL [--json]
    mlineage [--store URI] [--debug] drift MODEL [A] [B] [--alpha P] [--correction C]
                                           [--write-cache] [--json]
    mlineage [--store URI] [--debug] drift-along MODEL [--on REF] [--write-cache] [--json]
    mlineage [--store URI] [--debug] bisect run MODEL GOOD BAD [--json] -- CMD [ARG...]
    mlineage [--store URI] [--debug] import mlflow MODEL EXPERIMENT [--tracking-uri URI]
                                     [--filter F] [--parent-tag T] [--alias-prefix P]
                                     [--metric-history] [--dry-run] [--json]
    mlineage [--store URI] [--debug] import hf MODEL CARD... [--dry-run] [--json]
    mlineage [--store URI] [--debug] import dvc MODEL REPO [--rev REV ...] [--dry-run] [--json]
    mlineage [--store URI] [--debug] export mlflow MODEL [--tracking-uri URI]
                                     [--experiment NAME] [--dry-run] [--json]
    mlineage [--store URI] [--debug] export openlineage MODEL [--ref REF] [--out FILE]
                                     [--url URL] [--namespace NS] [--dry-run] [--json]
    mlineage [--store URI] [--debug] ui [--host 127.0.0.1] [--port 8765] [--open]

``MODEL`` may be left out when the store holds one model. Tables are drawn by rich on a
terminal and as plain columns into a pipe; ``docs/cli.md`` has the full reference, generated
from these commands. ``--store`` and ``--debug`` may also follow the command (``mlineage
fsck --store s3://bucket/lineage``). ``fsck`` checks the whole store and lists every
problem; ``--repair`` removes leftover temporary files older than ``--temp-age`` seconds
(default 600) and nothing else. ``compact`` bundles a model's loose records (and small
packs) into packs and prints how many records it wrote. ``checkout`` answers "what did REF
(an alias, a version, or the model when omitted) designate at TIME", and with ``--to DIR``
writes that version's verified files there.

Exit status: 0 on success, 1 when the answer is "nothing found" (no culprit, no silent
shift, no evidence), fsck found problems, ``alias set --expect`` was refused because the
alias had moved, or ``gate``/``promote`` refused the candidate, 2 on an error (the message
goes to stderr; ``--debug`` shows the traceback instead) or a usage error.

The command is built on click, one module per family of commands: ``_history`` (queries),
``_log`` (the DAG), ``_checkout`` (what a name designates), ``_annotate`` (events written
afterwards: annotations, alias moves), ``_evidence`` (evidence events), ``_report`` (the
HTML report), ``_store`` (the store as a whole), ``_drift`` (data drift and bisection),
``_behaviour`` (compare, shifts), ``_gate`` (gate, promote), ``_demo`` (the demo),
``_connectors`` (import, export), ``_ui`` (the web UI);
``_common`` holds what they share, ``_tables`` the tables results are printed as. A new
command goes into one of them, or a new module, and is added to :data:`cli` below.
Command modules import the tracker, numpy and rich inside the command functions, so that
``mlineage --help`` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from mlineage.cli import (
    _annotate,
    _behaviour,
    _checkout,
    _connectors,
    _demo,
    _drift,
    _evidence,
    _gate,
    _history,
    _log,
    _report,
    _store,
    _ui,
)
from mlineage.cli._common import DEBUG_HELP, STORE_HELP, GlobalOptions, silence_stdout

__all__ = ["cli", "main"]


@click.group(
    # Every option's default is shown in its --help (one that has one).
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
        "show_default": True,
    },
    epilog="""\b
Examples:
  mlineage --store ./lineage-store log fraud-detector --graph
  mlineage history fraud-detector --limit 10
  mlineage blame fraud-detector accuracy --json
  mlineage alias set fraud-detector production fraud-w2
  mlineage report fraud-detector -o lineage.html --open

\b
Exit status: 0 on success; 1 when blame finds no culprit or fsck finds a problem;
2 on an error or a usage error.
Shell completion (bash; zsh and fish likewise):
  eval "$(_MLINEAGE_COMPLETE=bash_source mlineage)\"""",
)
@click.option("--store", metavar="URI", help=STORE_HELP)
@click.option("--debug", is_flag=True, help=DEBUG_HELP)
@click.pass_context
def cli(ctx: click.Context, store: str | None, debug: bool) -> None:
    """Query the lineage of continually trained models."""
    ctx.obj = GlobalOptions(store=store, debug=debug)


for _command in (
    _history.models,
    _log.log,
    _history.history,
    _history.show,
    _history.blame,
    _history.diff,
    _behaviour.compare,
    _behaviour.shifts,
    _checkout.checkout,
    _checkout.aliases,
    _annotate.alias,
    _annotate.annotate,
    _evidence.evidence,
    _gate.gate,
    _gate.promote,
    _report.report,
    _store.fsck,
    _store.compact,
    _drift.drift,
    _drift.drift_along,
    _drift.bisect,
    _demo.demo,
    _connectors.import_,
    _connectors.export,
    _ui.ui,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    Usage: mlineage [OPTIONS] COMMAND [ARGS]...
    ...
    0
    """
    try:
        status = cli.main(
            args=None if argv is None else list(argv),
            prog_name="mlineage",
            standalone_mode=False,
        )
        # Output to a pipe is buffered: flush it here, where a reader that went away
        # (`mlineage history m | head`) can still be handled, rather than at exit.
        sys.stdout.flush()
    except click.ClickException as exc:  # usage errors: click's message, exit status 2
        exc.show()
        return exc.exit_code
    except click.Abort:  # Ctrl-C
        click.echo("Aborted!", err=True)
        return 1
    except BrokenPipeError:
        silence_stdout()
        return 0
    return int(status)
