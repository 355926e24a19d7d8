"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.storage.servers import GCSServer, S3Server, run_fake_gcs, run_seaweedfs

# -- object-store servers (S3: SeaweedFS, GCS: fake-gcs-server) ---------------------------
#
# One server of each kind per test session, started on first use on free ports of
# 127.0.0.1. Tests get isolation from fresh prefixes (``server.new_uri()``) or fresh
# buckets (``server.create_bucket()``), not from fresh servers. To reach a server:
#   - in this process: request ``s3_env`` / ``gcs_env``, which also sets the environment
#     variables boto3 / google-cloud-storage read, so ``open_store("s3://...")`` works;
#   - in a subprocess: pass ``env={**os.environ, **server.env}``.
# A server that cannot start fails the tests that asked for it; it never skips them.

# No test may fall back to a cloud metadata service (169.254.169.254) when looking for
# credentials: traffic must stay on this machine. google-auth reads its switch at import
# time, so set both here, before any test imports an SDK; subprocesses inherit them.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("NO_GCE_CHECK", "true")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A SeaweedFS S3 gateway for the session, with one bucket (``s3_server.bucket``)."""
    with run_seaweedfs() as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSServer]:
    """A fake-gcs-server for the session, with one bucket (``gcs_server.bucket``)."""
    with run_fake_gcs() as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """:func:`s3_server`, with its endpoint and credentials in ``os.environ`` for this test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def gcs_env(gcs_server: GCSServer, monkeypatch: pytest.MonkeyPatch) -> GCSServer:
    """:func:`gcs_server`, with ``STORAGE_EMULATOR_HOST`` set for this test."""
    for name, value in gcs_server.env.items():
        monkeypatch.setenv(name, value)
    return gcs_server


# -- end of object-store servers -----------------------------------------------------------


# -- browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium for the session, or a skip that says why there is none.

    One for the whole session (the report's and the UI's browser tests): Playwright's sync
    API cannot run twice at once in one thread.
    """
    from tests.report.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}; install Debian's chromium "
            "(apt-get install -y chromium) or set MLINEAGE_CHROMIUM to run the browser tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]'); browser tests skipped")
    playwright = sync_playwright().start()
    try:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:  # any launch failure: report it as the skip reason
        playwright.stop()
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        pytest.skip(f"Chromium at {CHROMIUM} could not start ({first_line}); browser tests skipped")
    yield instance
    instance.close()
    playwright.stop()
