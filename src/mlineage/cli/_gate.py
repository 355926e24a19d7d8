"""``mlineage gate`` and ``mlineage promote``: the promotion gate, for CI pipelines.

Exit status 0 when the gate passes (``promote``: the alias moved, also when forced), 1
when it refuses (``promote``: nothing moved, also when the alias moved meanwhile), 2 on an
error: a bad policy file (the message names the key and its line), an unknown version.
"""

from __future__ import annotations

import click

from mlineage.cli._common import command, complete_models, open_tracker, print_result

_POLICY = "Policy file: .toml, .yaml/.yml (pip install 'mlineage[gate]') or .json."


@command(
    "gate",
    short_help="may CANDIDATE replace production? (exit 0 pass, 1 refused)",
    epilog="""\b
Examples:
  mlineage gate fraud-detector fraud-2024-12 --policy gate.toml
  mlineage gate fraud-detector 0190ab12 --policy gate.toml --against staging --json""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("candidate")
@click.option("--policy", required=True, metavar="FILE", help=_POLICY)
@click.option(
    "--against",
    metavar="REF",
    help="Compare with this alias or version (default: the policy's against, else production).",
)
def gate(
    store: str | None, as_json: bool, model: str, candidate: str, policy: str, against: str | None
) -> int:
    """Evaluate the policy's rules on CANDIDATE against the version it would replace:
    each rule's measured value, threshold and verdict. Writes nothing.

    Exit status 0 when every rule passes, 1 when the gate refuses.
    """
    tracker = open_tracker(model, store)
    result = tracker.gate(candidate, against, policy=policy)
    print_result(result, as_json, click.echo)
    return 0 if result.passed else 1


@command(
    "promote",
    short_help="move an alias to CANDIDATE if the gate passes; keep the verdict",
    epilog="""\b
Examples:
  mlineage promote fraud-detector fraud-2024-12 --policy gate.toml
  mlineage promote fraud-detector fraud-2024-12 --policy gate.toml --alias staging
  mlineage promote fraud-detector fraud-2024-12 --policy gate.toml --force \\
      --reason "hotfix approved by on-call"
""",
)
@click.argument("model", shell_complete=complete_models)
@click.argument("candidate")
@click.option("--policy", required=True, metavar="FILE", help=_POLICY)
@click.option("--alias", default="production", help="The alias to move.")
@click.option(
    "--against",
    metavar="REF",
    help="Compare with this alias or version (default: the policy's against, else --alias).",
)
@click.option("--force", is_flag=True, help="Move even if the gate refuses (needs --reason).")
@click.option("--reason", metavar="TEXT", help="Why; recorded with the verdict and the move.")
def promote(
    store: str | None,
    as_json: bool,
    model: str,
    candidate: str,
    policy: str,
    alias: str,
    against: str | None,
    force: bool,
    reason: str | None,
) -> int:
    """Run the gate on CANDIDATE and move ALIAS to it only if every rule passes (or with
    --force and --reason), as a compare-and-set on the version the gate compared with.
    The verdict is kept as `gate` evidence on CANDIDATE either way
    (`mlineage evidence MODEL --kind gate`).

    Exit status 0 when the alias moved, 1 when it did not (the gate refused, or the alias
    moved after the gate looked at it).
    """
    tracker = open_tracker(model, store, read_only=False)
    promotion = tracker.promote(
        candidate, alias, policy=policy, against=against, force=force, reason=reason
    )
    print_result(promotion, as_json, click.echo)
    return 0 if promotion.promoted else 1
