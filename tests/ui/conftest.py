"""Fixtures for the UI tests: a store the tests build, and real servers over it.

The session's store holds the demo's model (profiles, fingerprints, a gate verdict), a
model whose every free-text field is markup (the report's XSS payloads), a damaged model
(a record that is not JSON), and an empty model for live updates. ``ui_server`` is the
real ``mlineage ui`` command in a subprocess on a free port of 127.0.0.1; ``running``
serves an app built here (for a small page size) with uvicorn in a thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.report.conftest import guard_page, hostile_lineage

import mlineage as ml

SRC = Path(__file__).parents[2] / "src"
DEMO = "fraud-detector"
XSS_MODEL = "xss-model"
DAMAGED = "damaged"
LIVE = "live-model"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    """One HTTP request with the standard library; an error status is an Answer too."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return Answer(res.status, res.read(), {k.lower(): v for k, v in res.headers.items()})
    except urllib.error.HTTPError as err:
        return Answer(err.code, err.read(), {k.lower(): v for k, v in err.headers.items()})


def log_named(tracker: ml.Tracker, name: str, **fields: Any) -> ml.ModelVersion:
    return tracker.log(
        model_path=f"{name}.pt",
        dataset=ml.DataSnapshot(path=f"data/{name}", hash=f"sha256:{name}"),
        name=name,
        **fields,
    )


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's store (see the module docstring); tests must not change it, except
    the live model, which only grows."""
    from mlineage.demo import build_demo

    root = tmp_path_factory.mktemp("ui") / "demo"
    path = build_demo(root, report=False).store
    hostile_lineage(ml.Tracker(XSS_MODEL, storage=path, capture_environment=False))
    damaged = ml.Tracker(DAMAGED, storage=path, capture_environment=False)
    log_named(damaged, "d0")
    (record,) = (path / "models" / DAMAGED / "versions").glob("*.json")
    record.write_bytes(b"{ this is not json")
    log_named(ml.Tracker(LIVE, storage=path, capture_environment=False), "first", tags=["seed"])
    return path


@pytest.fixture(scope="session")
def ui_server(store: Path) -> Iterator[str]:
    """``mlineage --store STORE ui --port P`` in a subprocess; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlineage", "--store", str(store), "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_until_up(base: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            if request(base + "/api/models").status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"no server at {base} after 60 s")


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port of 127.0.0.1 in a thread."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class Opened:
    """A UI page open in the browser, with what it did besides drawing."""

    page: Any
    base: str
    outside: list[str] = field(default_factory=list)  # requests not to the server
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser: Any, ui_server: str) -> Iterator[Callable[..., Opened]]:
    """Open a path of the UI; afterwards assert no request left 127.0.0.1:PORT, no console
    error, no dialog, and no markup from the data ran."""
    opened: list[Opened] = []

    def open_(path: str, *, ready: str = "true", base: str = ui_server) -> Opened:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        result = Opened(page, base)
        opened.append(result)

        guard_page(page, (base + "/", "data:"), result.outside, result.errors, result.dialogs)
        page.goto(base + path)
        page.wait_for_selector(f"html[data-ready='{ready}']", timeout=30_000)
        return result

    yield open_
    for result in opened:
        pwned = result.page.evaluate("window.__pwned || null")
        result.page.close()
        assert result.outside == [], f"requests left the server: {result.outside}"
        assert result.dialogs == [], f"dialogs opened: {result.dialogs}"
        assert pwned is None, f"markup from the data ran script (payload in {pwned})"
        # A damaged model's page logs its failed fetch (a 422) as a console error: the
        # only console errors allowed are the failed resource loads of that model.
        others = [e for e in result.errors if "status of 422" not in e]
        assert others == [], f"console errors: {others}"
