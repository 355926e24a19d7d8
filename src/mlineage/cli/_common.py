"""What every command shares: ``--store``, ``--json`` and ``--debug``, output, typed errors.

Nothing heavy is imported here: ``mlineage --help`` loads this module, and the tracker,
numpy and rich are imported by the commands that use them.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from mlineage.errors import MLineageError

if TYPE_CHECKING:
    from mlineage.records import ModelVersion
    from mlineage.tracker import Tracker

FC = TypeVar("FC", bound=Callable[..., Any])

STORE_HELP = "Store path or URI (default: $MLINEAGE_STORE, else ./.mlineage)."
DEBUG_HELP = "Show the traceback of an error instead of a one-line message."

#: ``--on REF``, the version whose first-parent history a command walks.
on_option = click.option(
    "--on", metavar="REF", help="Version whose history to walk (default: latest)."
)


def count_option(name: str, default: int | None, help: str) -> Callable[[FC], FC]:
    """An option ``name N`` taking a whole number >= 0; ``--help`` shows its default."""
    return click.option(
        name,
        type=click.IntRange(min=0),
        default=default,
        metavar="N",
        help=help,
    )


@dataclass
class GlobalOptions:
    """The options given before the command (``mlineage --store S --debug history ...``)."""

    store: str | None = None
    debug: bool = False


def command(
    name: str, *, short_help: str, epilog: str
) -> Callable[[Callable[..., int]], click.Command]:
    """Make a function a ``mlineage`` command.

    The command also takes ``--json`` (passed to the function as ``as_json``), ``--store``
    and ``--debug``, which may follow the command name or precede it; the function gets
    ``store``, the one that applies. A :class:`~mlineage.errors.MLineageError` or an
    ``OSError`` it raises becomes ``mlineage: error: <message>`` on stderr and exit status
    2, unless ``--debug`` was given; a closed output pipe ends the command quietly with
    status 0.

    The function's docstring is the command's ``--help`` text; ``epilog`` holds examples
    (start it with ``\\b`` so click keeps its lines as they are).
    """

    def decorate(func: Callable[..., int]) -> click.Command:
        @functools.wraps(func)
        def run(*, store: str | None, debug: bool, **kwargs: Any) -> int:
            ctx = click.get_current_context()
            given = ctx.find_object(GlobalOptions) or GlobalOptions()
            debug = debug or given.debug
            store = given.store if store is None else store
            try:
                if "fill_model" in run.__dict__:
                    arguments, required = run.__dict__["fill_model"]
                    _fill_model(arguments, required, kwargs, store, ctx)
                return func(store=store, **kwargs)
            except MLineageError as exc:
                if debug:
                    raise
                click.echo(f"mlineage: error: {exc}", err=True)
                ctx.exit(2)
            except BrokenPipeError:  # `mlineage history m | head`
                silence_stdout()
                ctx.exit(0)
            except OSError as exc:  # the machine refused (an I/O error): not a bug of ours
                if debug:
                    raise
                click.echo(f"mlineage: error: {os_error_message(exc)}", err=True)
                ctx.exit(2)

        cmd = click.command(name, short_help=short_help, epilog=epilog)(run)
        arguments = [p for p in cmd.params if isinstance(p, click.Argument)]
        if _model_may_be_omitted(arguments):
            required = [p.name for p in arguments if p.required]
            for param in arguments[1:]:
                param.metavar = param.make_metavar(click.Context(cmd))
                param.required = False
            arguments[0].required = False
            cmd.epilog = (cmd.epilog or "") + _MODEL_EPILOG
            run.__dict__["fill_model"] = (arguments, required)
        cmd.params += [
            click.Option(["--json", "as_json"], is_flag=True, help="Machine-readable output."),
            click.Option(["--store"], metavar="URI", help=STORE_HELP),
            click.Option(["--debug"], is_flag=True, help=DEBUG_HELP),
        ]
        return cmd

    return decorate


_MODEL_EPILOG = "\n\b\nMODEL may be left out when the store holds one model."


def _model_may_be_omitted(arguments: list[click.Argument]) -> bool:
    """A command whose first argument names an existing model, all arguments single."""
    return (
        bool(arguments)
        and arguments[0].name == "model"
        and arguments[0]._custom_shell_complete is complete_models
        and all(p.nargs == 1 for p in arguments)
    )


def _fill_model(
    arguments: list[click.Argument],
    required: list[str | None],
    kwargs: dict[str, Any],
    store: str | None,
    ctx: click.Context,
) -> None:
    """Put the store's one model in MODEL when it was left out (the values move right).

    ``mlineage blame accuracy`` in a store of one model means ``blame <model> accuracy``:
    the first value is the model only when the store has a model of that name, or when
    every other argument is already filled.
    """
    names = [str(p.name) for p in arguments]
    values = [kwargs[n] for n in names]
    room = values[-1] is None
    if values[0] is not None and not room:
        return  # every argument given: the first is the model
    from mlineage.storage import open_store
    from mlineage.tracker import list_models

    models = list_models(open_store(store, read_only=True))
    held = f"{len(models)} models: {', '.join(models)}" if models else "no models"
    incomplete = any(n in required and v is None for n, v in zip(names, values, strict=True))
    if values[0] in models:
        pass
    elif len(models) == 1:
        values = [models[0], *values[:-1]]
    elif values[0] is None:
        raise click.UsageError(
            f"Missing argument 'MODEL': the store holds {held}; name one "
            "(it may be left out only when the store holds exactly one model).",
            ctx,
        )
    elif incomplete:
        raise click.UsageError(
            f"{values[0]!r} is not a model of this store, which holds {held}; "
            "name the model first.",
            ctx,
        )
    kwargs.update(zip(names, values, strict=True))
    for name, param in zip(names, arguments, strict=True):
        if name in required and kwargs[name] is None:
            raise click.UsageError(f"Missing argument '{param.human_readable_name}'.", ctx)


def os_error_message(exc: OSError) -> str:
    """One line for an ``OSError``: what the system said, and about which file."""
    what = exc.strerror or str(exc) or type(exc).__name__
    files = [os.fsdecode(f) for f in (exc.filename, exc.filename2) if f is not None]
    where = f": {' -> '.join(files)}" if files else ""
    return f"{what}{where} (--debug shows where it happened)"


def silence_stdout() -> None:
    """Point stdout at the null device, so that flushing it at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON, non-ASCII characters as they are."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_result(result: Any, as_json: bool, draw: Callable[..., None], *args: Any) -> None:
    """Print a result of the library: with ``--json`` ``result.to_dict(*args)``, else what
    ``draw(result, *args)`` prints (a table of :mod:`mlineage.cli._tables`, or ``click.echo``
    for the result's own text)."""
    if as_json:
        print_json(result.to_dict(*args))
    else:
        draw(result, *args)


#: Verdict cells drawn in red on a terminal.
_ALARMS = frozenset({"DRIFT", "ANOMALOUS"})
#: Verdict cells starting so are drawn red too (``anomalous step (drift score z ...)``).
_ALARM_PREFIXES = ("anomalous step",)
_ALARM = "bold red"


def _alarming(cell: str) -> bool:
    return cell in _ALARMS or cell.startswith(_ALARM_PREFIXES)


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    notes: Sequence[str] = (),
    right: Sequence[int] = (),
) -> None:
    """Print a table with rich: ``title`` above it, ``notes`` (lines) below.

    On a terminal: a bold header over a rule, colour, cells fitted to the window. Into a
    pipe or file: the same columns as plain text (no colour, no escape code, no box; one
    line a row, separated by two spaces, nothing cut), for ``grep`` and ``awk``; ``--json``
    is the machine-readable form. Cells are shown as text (``[production]`` is not rich
    markup). No rows: the title and notes only. ``right``: indices of the columns aligned
    right (numbers). On a terminal the version column is yellow (as in ``mlineage log``)
    and DRIFT / anomalous-step cells red.
    """
    # Imported here: rich costs tens of milliseconds, and `mlineage --help` needs none of it.
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    tty = sys.stdout.isatty()
    if title:
        click.echo(title)
    if not rows:  # the title says what there is (or is not): no empty table
        for line in notes:
            click.echo(line)
        return
    cells = [[str(c) for c in row] for row in rows]
    table = Table(
        box=box.SIMPLE_HEAD if tty else None,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if tty else "",
    )
    for i, header in enumerate(headers):
        table.add_column(
            Text(header),
            justify="right" if i in right else "left",
            style="yellow" if tty and header in ("id", "version") else None,
        )
    for row in cells:
        table.add_row(*(Text(c, style=_ALARM if tty and _alarming(c) else "") for c in row))
    if tty:
        Console(highlight=False).print(table)
    else:
        widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
        console = Console(
            width=sum(widths) + 2 * len(widths) + 1,
            color_system=None,
            force_terminal=False,
            highlight=False,
        )
        with console.capture() as captured:
            console.print(table)
        click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))
    for line in notes:
        click.echo(line)


def open_tracker(model: str, store: str | None, *, read_only: bool = True) -> Tracker:
    """Load ``model`` from ``store`` (read-only unless asked otherwise)."""
    from mlineage.tracker import Tracker  # imported here: `mlineage --help` does not need it

    return Tracker.load(model, storage=store, read_only=read_only)


def require_metric(tracker: Tracker, metric: str | None) -> None:
    """Raise :class:`~mlineage.errors.MetricNotFound` listing the metrics that exist when
    no version of ``tracker`` logged ``metric`` (None: nothing to check)."""
    from mlineage.errors import MetricNotFound

    names = tracker.graph.metric_names()
    if metric is None or metric in names:
        return
    have = ", ".join(names) if names else "none (log metrics={...} with a version)"
    raise MetricNotFound(
        f"no version of model {tracker.model!r} logged metric {metric!r}; the metrics "
        f"logged: {have}"
    )


def version_dict(version: ModelVersion) -> dict[str, Any]:
    """A version record as JSON-ready data."""
    data: dict[str, Any] = version.model_dump(mode="json")
    return data


def complete_models(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of a MODEL argument: the models of the store given so far."""
    from mlineage.storage import open_store
    from mlineage.tracker import list_models

    # While completing, click parses without running callbacks: read the options given.
    store = ctx.params.get("store")
    if store is None and ctx.parent is not None:
        store = ctx.parent.params.get("store")
    try:
        names = list_models(open_store(store, read_only=True))
    except MLineageError:  # no store yet, or a bad URI: nothing to offer
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]
