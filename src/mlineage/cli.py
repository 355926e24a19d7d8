"""The ``mlineage`` command: query a lineage store from the shell.

::

    mlineage [--store URI] models
    mlineage [--store URI] history MODEL [REF] [--limit N] [--json]
    mlineage [--store URI] show MODEL REF [--json]
    mlineage [--store URI] blame MODEL METRIC [--direction decrease|increase] [--on REF]
                                 [--limit N] [--json]
    mlineage [--store URI] diff MODEL A B [--json]
    mlineage [--store URI] checkout MODEL [REF] [--at TIME] [--to DIR] [--overwrite] [--json]
    mlineage [--store URI] aliases MODEL [--json]
    mlineage [--store URI] fsck [--repair] [--temp-age SECONDS] [--no-blobs] [--json]
    mlineage [--store URI] compact MODEL

``--store`` may also follow the command (``mlineage fsck --store s3://bucket/lineage``).
``fsck`` checks the whole store and lists every problem; ``--repair`` removes leftover
temporary files older than ``--temp-age`` seconds (default 600) and nothing else.
``compact`` bundles a model's loose records (and small packs) into packs and prints how many
records it wrote.
``checkout`` answers "what did REF (an alias, a version, or the model when omitted) designate
at TIME", and with ``--to DIR`` writes that version's verified files there.

Exit status: 0 on success, 1 when the answer is "nothing found" (no culprit) or fsck found
problems, 2 on an error (the message goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from mlineage.errors import MLineageError
from mlineage.fsck import DEFAULT_TEMP_AGE, fsck
from mlineage.records import ModelVersion
from mlineage.storage import open_store
from mlineage.tracker import Tracker, list_models

__all__ = ["main"]


def _version_dict(version: ModelVersion) -> dict[str, Any]:
    data: dict[str, Any] = version.model_dump(mode="json")
    return data


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _tracker(args: argparse.Namespace) -> Tracker:
    return Tracker.load(args.model, storage=args.store, read_only=True)


def _cmd_models(args: argparse.Namespace) -> int:
    models = list_models(open_store(args.store, read_only=True))
    if args.json:
        _print_json(models)
    else:
        print("\n".join(models) if models else "(no models)")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    tracker = _tracker(args)
    if args.json:
        history = tracker.history(args.ref)
        _print_json([_version_dict(v) for v in history[: args.limit]])
    else:
        print(tracker.summary_text(args.ref, limit=args.limit))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    tracker = _tracker(args)
    version = tracker.get_version(args.ref)
    data = _version_dict(version)
    data["current_status"] = tracker.status(version).value
    data["annotations"] = [e.model_dump(mode="json") for e in tracker.annotations(version)]
    data["aliases"] = [a for a, v in tracker.aliases().items() if v.id == version.id]
    if args.json:
        _print_json(data)
        return 0
    width = max(len(k) for k in data)
    for key, value in data.items():
        if value in (None, "", [], {}, ()):
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        print(f"{key.ljust(width)}  {text}")
    return 0


def _cmd_blame(args: argparse.Namespace) -> int:
    tracker = _tracker(args)
    report = tracker.blame_report(args.metric, args.direction, on=args.on)
    limit = None if args.limit <= 0 else args.limit
    if args.json:
        _print_json(report.to_dict(limit))
    else:
        print(report.text(limit))
    return 0 if report.culprit is not None else 1


def _cmd_diff(args: argparse.Namespace) -> int:
    tracker = _tracker(args)
    diff = tracker.diff(args.a, args.b)
    if args.json:
        _print_json(diff.to_dict())
    else:
        print(diff)
    return 0


def _cmd_checkout(args: argparse.Namespace) -> int:
    tracker = _tracker(args)
    result = tracker.checkout(args.ref, at=args.at, to=args.to, overwrite=args.overwrite)
    if args.json:
        env = result.environment_diff
        _print_json(
            {
                "version": _version_dict(result.version),
                "requested": result.requested,
                "at": None if result.at is None else result.at.isoformat(),
                "path": None if result.path is None else str(result.path),
                "files": [str(f) for f in result.files],
                "environment_diff": None if env is None else env.to_dict(),
            }
        )
    else:
        print(result)
    return 0


def _cmd_aliases(args: argparse.Namespace) -> int:
    tracker = _tracker(args)
    current = {alias: version.id for alias, version in tracker.aliases().items()}
    if args.json:
        _print_json(current)
    else:
        for alias, version_id in current.items():
            name = tracker.get_version(version_id).name or ""
            print(f"{alias}\t{tracker.abbrev(version_id)}\t{name}")
    return 0


def _cmd_fsck(args: argparse.Namespace) -> int:
    report = fsck(
        args.store, repair=args.repair, verify_blobs=not args.no_blobs, temp_age=args.temp_age
    )
    if args.json:
        _print_json(report.to_dict())
    else:
        for path in report.removed:
            what = "aborted" if "(incomplete upload" in path else "removed temporary file"
            print(f"{what} {path}")
        print(report)
    return 0 if report.ok else 1


def _cmd_compact(args: argparse.Namespace) -> int:
    tracker = Tracker.load(args.model, storage=args.store)
    packed = tracker.compact()
    if args.json:
        _print_json({"model": args.model, "packed": packed})
    else:
        plural = "" if packed == 1 else "s"
        print(f"packed {packed} record{plural} of model {args.model!r} ({tracker.store.uri})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mlineage`` command."""
    parser = argparse.ArgumentParser(
        prog="mlineage", description="Query the lineage of continually trained models."
    )
    parser.add_argument(
        "--store",
        default=None,
        help="store path or URI (default: $MLINEAGE_STORE, else ./.mlineage)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        # Also accepted after the command; SUPPRESS keeps an absent one from hiding the
        # one given before the command.
        p.add_argument("--store", default=argparse.SUPPRESS, help="store path or URI")
        return p

    command("models", "list the models in the store").set_defaults(func=_cmd_models)
    p = command("history", "first-parent history, newest first")
    p.add_argument("model")
    p.add_argument("ref", nargs="?", default=None, help="version (default: latest)")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_history)
    p = command("show", "one version in full")
    p.add_argument("model")
    p.add_argument("ref")
    p.set_defaults(func=_cmd_show)
    p = command("blame", "which update moved a metric the wrong way")
    p.add_argument("model")
    p.add_argument("metric")
    p.add_argument("--direction", choices=["decrease", "increase"], default="decrease")
    p.add_argument("--on", default=None, help="version whose history to walk (default: latest)")
    p.add_argument(
        "--limit", type=int, default=20, help="show the N worst steps (default 20; 0 = all)"
    )
    p.set_defaults(func=_cmd_blame)
    p = command("diff", "what changed between two versions")
    p.add_argument("model")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(func=_cmd_diff)
    p = command("checkout", "what a ref designated at a time; --to writes its files")
    p.add_argument("model")
    p.add_argument("ref", nargs="?", default=None, help="alias, version or name (default: model)")
    p.add_argument("--at", default=None, help="ISO time or date (a date = end of that day, UTC)")
    p.add_argument("--to", default=None, help="directory to materialise the version in")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --to directory")
    p.set_defaults(func=_cmd_checkout)
    p = command("aliases", "current aliases")
    p.add_argument("model")
    p.set_defaults(func=_cmd_aliases)
    p = command("fsck", "check the whole store for damage (exit 1 if any)")
    p.add_argument(
        "--repair",
        action="store_true",
        help="remove leftover temporary files older than --temp-age (nothing else)",
    )
    p.add_argument(
        "--temp-age",
        type=float,
        default=DEFAULT_TEMP_AGE,
        metavar="SECONDS",
        help="minimum age of a temporary file --repair removes; a younger one may belong "
        f"to a running writer (default {DEFAULT_TEMP_AGE:g})",
    )
    p.add_argument("--no-blobs", action="store_true", help="do not hash every blob's bytes")
    p.set_defaults(func=_cmd_fsck)
    p = command("compact", "bundle a model's loose records into packs, for fast loading")
    p.add_argument("model")
    p.set_defaults(func=_cmd_compact)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except MLineageError as exc:
        print(f"mlineage: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `mlineage history | head`
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
