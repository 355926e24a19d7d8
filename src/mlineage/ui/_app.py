"""The ASGI application of ``mlineage ui``: GET-only routes over a :class:`StoreView`.

Pages are static shells (no data in the markup); their script fetches the JSON API. Every
response carries a Content-Security-Policy that allows requests to this server only, so a
page can load nothing from elsewhere. Every path and query parameter that names something
in the store is checked with the library's own name rules before the store is touched;
errors are JSON ``{"error": type, "message": text, "status": code}``.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import threading
from collections.abc import AsyncIterator
from functools import cache
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlineage.errors import (
    AmbiguousReference,
    InvalidInput,
    InvalidName,
    MLineageError,
    NotFound,
)
from mlineage.tracker import Tracker
from mlineage.ui._service import StoreView, check_model, check_ref

__all__ = ["CSP", "LOOPBACK", "create_app"]

#: Requests to this server only; no inline script or style, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Host names a loopback-bound server answers to (guards against DNS rebinding).
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Longest query value read (names and references are at most 128 characters).
MAX_QUERY = 256
_ASSETS = {
    "report.js": ("mlineage.report", "text/javascript; charset=utf-8"),
    "report.css": ("mlineage.report", "text/css; charset=utf-8"),
    "ui.js": ("mlineage.ui", "text/javascript; charset=utf-8"),
    "ui.css": ("mlineage.ui", "text/css; charset=utf-8"),
}
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/report.css">
<link rel="stylesheet" href="/assets/ui.css">
</head>
<body data-page="{page}" data-model="{model}">
<nav class="ui-bar"><a href="/">mlineage ui</a> <span class="muted">{store}</span>
<span id="ui-live" class="muted" role="status"></span></nav>
<div id="ui-top"></div>
<div id="app"><header class="page-header"><h1>{title}</h1>
<p id="loading">Loading\u2026</p>
<noscript><p class="notice">This page is drawn by JavaScript; the same data is at
<code>/api/</code> as JSON.</p></noscript></header></div>
<div id="ui-bottom"></div>
<script src="/assets/ui.js"></script>
</body>
</html>
"""


class ApiError(Exception):
    """An error answered as JSON with an HTTP status."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def _json(data: Any, status: int = 200) -> Response:
    try:
        body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:  # NaN or an infinity (a drift statistic of a constant column)
        body = json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":"))
    return Response(body, status, media_type="application/json")


def _finite(data: Any) -> Any:
    """``data`` with every NaN and infinity replaced by None: JSON has no such numbers."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


def _error(status: int, kind: str, message: str) -> Response:
    return _json({"error": kind, "message": message, "status": status}, status)


def _status(exc: MLineageError) -> int:
    if isinstance(exc, (InvalidName, InvalidInput, AmbiguousReference)):
        return 400
    if isinstance(exc, NotFound):
        return 404
    # A record or blob the store holds but cannot be read: the store's fault, not the
    # request's; the page shows it in an error panel for that model.
    return 422


def _param(request: Request, name: str) -> str:
    value = request.path_params.get(name)
    if value is None:
        value = request.query_params.get(name, "")
    if len(value) > MAX_QUERY:
        raise ApiError(
            400, "InvalidInput", f"{name} is {len(value)} characters; at most {MAX_QUERY}"
        )
    return str(value)


def _number(request: Request, name: str, default: float) -> float:
    raw = _param(request, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "InvalidInput", f"{name} must be a number, got {raw!r}") from None
    if math.isnan(value):
        raise ApiError(400, "InvalidInput", f"{name} must be a number, got NaN")
    return value


@cache
def _asset(name: str) -> bytes:
    package, _ = _ASSETS[name]
    return files(package).joinpath("assets").joinpath(name).read_bytes()


def create_app(store: Any, *, loopback: bool = True) -> Starlette:
    """The read-only ASGI app over ``store``.

    Parameters
    ----------
    store : str, os.PathLike or Store
        The store to show (opened read-only).
    loopback : bool
        Answer only requests addressed to a loopback host name (``127.0.0.1``,
        ``localhost``, ``::1``), which stops a web page elsewhere from reaching the server
        through DNS rebinding. ``serve`` turns it off when binding another interface.

    Returns
    -------
    starlette.applications.Starlette
        The application; run it with any ASGI server (``serve`` uses uvicorn).
    """
    view = StoreView(store)
    # The endpoints are plain functions: Starlette runs them in its thread pool, so a slow
    # store read (a first load, a 100,000-version page) never stalls the other requests.
    page_store = html.escape(view.store.uri)

    def shell(page: str, title: str, model: str = "") -> Response:
        text = _PAGE.format(
            page=page,
            title=html.escape(title),
            model=html.escape(model, quote=True),
            store=page_store,
        )
        return Response(text, media_type="text/html; charset=utf-8")

    def store_page(request: Request) -> Response:
        return shell("store", "Models")

    def model_page(request: Request) -> Response:
        model = check_model(_param(request, "model"))
        return shell("model", f"{model} lineage", model)

    def asset(request: Request) -> Response:
        name = _param(request, "name")
        if name not in _ASSETS:
            raise ApiError(404, "NotFound", f"no asset {name!r}")
        return Response(_asset(name), media_type=_ASSETS[name][1])

    def api_models(request: Request) -> Response:
        return _json({"store": view.store.uri, "models": view.models()})

    def api_model(request: Request) -> Response:
        model = _param(request, "model")
        return _json(_summary(view, model))

    def api_state(request: Request) -> Response:
        return _json(view.state(_param(request, "model")))

    def api_report(request: Request) -> Response:
        page = _number(request, "page", 0)
        if page != int(page):
            raise ApiError(400, "InvalidInput", f"page must be a whole number, got {page}")
        return _json(view.report(_param(request, "model"), int(page)))

    def api_version(request: Request) -> Response:
        ref = check_ref(_param(request, "ref"))

        def show(tracker: Tracker) -> dict[str, Any]:
            # The fields of `mlineage show --json`.
            version = tracker.get_version(ref)
            data: dict[str, Any] = version.model_dump(mode="json")
            data["current_status"] = tracker.status(version).value
            data["annotations"] = [e.model_dump(mode="json") for e in tracker.annotations(version)]
            evidence = [e for e in tracker.evidence() if e.version == version.id]
            data["evidence"] = [e.model_dump(mode="json") for e in evidence]
            data["aliases"] = [a for a, v in tracker.aliases().items() if v.id == version.id]
            return data

        return _json(view.read(_param(request, "model"), show))

    def api_compare(request: Request) -> Response:
        a, b = _param(request, "a"), _param(request, "b")
        if not a or not b:
            raise ApiError(400, "InvalidInput", "give two versions: ?a=REF&b=REF")
        return _json(view.compare(_param(request, "model"), a, b))

    def api_search(request: Request) -> Response:
        found = view.search(
            _param(request, "q"),
            tag=_param(request, "tag"),
            alias=_param(request, "alias"),
            metric=_param(request, "metric"),
            low=_number(request, "min", -math.inf),
            high=_number(request, "max", math.inf),
        )
        return _json(found)

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _error(exc.status, exc.kind, exc.message)

    async def on_mlineage_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MLineageError)
        return _error(_status(exc), type(exc).__name__, str(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = {404: "no such page or endpoint", 405: "this server is read-only: GET only"}
        message = detail.get(exc.status_code, str(exc.detail))
        return _error(exc.status_code, "HTTPError", message)

    async def on_other(request: Request, exc: Exception) -> Response:
        return _error(500, type(exc).__name__, f"unexpected error: {exc}")

    get = ["GET"]
    routes = [
        Route("/", store_page, methods=get),
        Route("/models/{model}", model_page, methods=get),
        Route("/assets/{name}", asset, methods=get),
        Route("/api/models", api_models, methods=get),
        Route("/api/models/{model}", api_model, methods=get),
        Route("/api/models/{model}/state", api_state, methods=get),
        Route("/api/models/{model}/report", api_report, methods=get),
        Route("/api/models/{model}/versions/{ref}", api_version, methods=get),
        Route("/api/models/{model}/compare", api_compare, methods=get),
        Route("/api/search", api_search, methods=get),
    ]
    middleware = [Middleware(_Headers)]
    if loopback:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK)))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=view.warm, name="mlineage-ui-warm", daemon=True).start()
        yield

    app = Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=middleware,
        exception_handlers={
            ApiError: on_api_error,
            MLineageError: on_mlineage_error,
            HTTPException: on_http,
            Exception: on_other,
        },
    )
    app.state.view = view
    return app


def _summary(view: StoreView, model: str) -> dict[str, Any]:
    check_model(model)
    for entry in view.models():
        if entry["model"] == model:
            return entry
    return view.state(model)  # raises ModelNotFound


class _Headers:
    """Adds the security headers to every response (pure ASGI: no buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
