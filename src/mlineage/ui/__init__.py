"""``mlineage ui``: a local, read-only web explorer of a whole lineage store.

:func:`serve` runs it (``mlineage ui`` on the command line); :func:`create_app` returns the
ASGI application to run under another server. The store page lists every model (latest
version, aliases, last update, version count, newest gate verdict); a model's page is the
HTML report's own frontend fed from the JSON API instead of an embedded block, a page of
versions at a time, updated live while other processes log; any two versions compare on
demand (data drift from their stored profiles, behaviour from their stored fingerprints);
search finds versions by name, tag, alias or a metric range. The JSON API under ``/api/``
is described in docs/ui.md. Needs the ``ui`` extra: ``pip install 'mlineage[ui]'``.

Nothing here writes to the store: the server answers GET (and HEAD) only.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from typing import TYPE_CHECKING, Any

from mlineage.errors import InvalidInput, MissingDependency

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from mlineage import Store

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "create_app", "serve"]

#: The interface the server binds unless told otherwise: this machine only.
DEFAULT_HOST = "127.0.0.1"
#: The port the server listens on unless told otherwise.
DEFAULT_PORT = 8765
_EXTRA = "mlineage ui needs Starlette and uvicorn: pip install 'mlineage[ui]'"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _require() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(f"{_EXTRA} ({exc})") from exc


def create_app(
    store: str | os.PathLike[str] | Store | None = None, *, loopback: bool = True
) -> Starlette:
    """The read-only ASGI application of the UI over ``store``.

    Parameters
    ----------
    store : str, os.PathLike or Store, optional
        The store to show, opened read-only. Default: as :func:`mlineage.open_store`
        (``$MLINEAGE_STORE`` or ``./.mlineage``).
    loopback : bool
        Answer only requests addressed to ``127.0.0.1``, ``localhost`` or ``::1`` (a
        guard against DNS rebinding). Default True.

    Returns
    -------
    starlette.applications.Starlette
        The application.

    Raises
    ------
    MissingDependency
        If the ``ui`` extra (Starlette, uvicorn) is not installed.
    StoreError
        If the store cannot be opened.

    Examples
    --------
    >>> import mlineage as ml
    >>> from mlineage.ui import create_app
    >>> t = ml.Tracker("doc-ui-app", storage="memory://ui-app-doc", capture_environment=False)
    >>> app = create_app(t.store)
    >>> sorted(r.path for r in app.routes)[:2]
    ['/', '/api/models']
    """
    _require()
    from mlineage.ui._app import create_app as build

    return build(store, loopback=loopback)


def serve(
    store: str | os.PathLike[str] | Store | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open: bool = False,
    log_level: str = "warning",
) -> None:
    """Serve the UI of ``store`` until interrupted (Ctrl-C).

    Parameters
    ----------
    store : str, os.PathLike or Store, optional
        The store to show (read-only). Default: as :func:`mlineage.open_store`.
    host : str
        The interface to bind. Default ``127.0.0.1``: this machine only. Any other address
        makes the store readable by anyone who can reach it: the UI has no authentication,
        and a warning says so on stderr.
    port : int
        The TCP port (0: any free port). Default 8765.
    open : bool
        Open the store page in the default web browser once the server is up.
    log_level : str
        uvicorn's log level (``"info"`` logs every request).

    Raises
    ------
    MissingDependency
        If the ``ui`` extra is not installed (the message gives the pip line).
    InvalidInput
        If ``host`` is not a string or ``port`` not in 0-65535.
    StoreError
        If the store cannot be opened.

    Examples
    --------
    ``mlineage.ui.serve("s3://bucket/lineage", port=8765, open=True)``, then browse
    http://127.0.0.1:8765/.
    """
    if not isinstance(host, str) or not host:
        raise InvalidInput(f"host must be an interface name or address, got {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidInput(f"port must be an integer from 0 to 65535, got {port!r}")
    loopback = host in _LOOPBACK_HOSTS
    app = create_app(store, loopback=loopback)
    import uvicorn  # the ui extra, checked by create_app

    if not loopback:
        print(
            f"warning: mlineage ui is listening on {host}, not only on this machine; it has "
            "no authentication, so anyone who can reach that address can read the store",
            file=sys.stderr,
        )
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
    _announce_when_started(server, host, open)
    server.run()


def _announce_when_started(server: Any, host: str, open_it: bool) -> None:
    """Once listening: print the address (the port chosen when ``port=0``), open a browser
    when asked."""
    import threading
    import time

    def wait_and_announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            address = f"http://{shown}:{port}/"
            print(f"mlineage ui: serving at {address} (Ctrl-C stops it)", flush=True)
            if open_it:
                webbrowser.open(address)

    threading.Thread(target=wait_and_announce, daemon=True).start()
