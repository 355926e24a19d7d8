"""Google Cloud Storage, through google-cloud-storage.

The SDK is imported when a store is created, never at ``import mlineage``: it is an optional
extra (``pip install 'mlineage[gcs]'``) and slow to import.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from mlineage.content import CHUNK
from mlineage.errors import (
    AlreadyExists,
    MissingDependency,
    StoreError,
    StoreUnavailable,
)
from mlineage.storage._base import PutMode
from mlineage.storage._cloud import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    WRITE_TOKEN_FIELD,
    BucketStore,
    Upload,
    new_write_token,
    parse_bucket_uri,
    redact_url,
)

__all__ = ["GCSStore", "open_gcs_uri"]

#: Seconds a request keeps being retried (with exponential backoff) before it fails; the
#: SDK's default is 120 s, far too long for a training script waiting on a dead endpoint.
RETRY_TIMEOUT = 10.0
#: Environment variable the SDK reads to talk to an emulator instead of Google.
EMULATOR_ENV_VAR = "STORAGE_EMULATOR_HOST"
_DEFAULT_ENDPOINT = "https://storage.googleapis.com"


def _import_gcs() -> tuple[Any, Any, Any]:
    try:
        import google.api_core.exceptions as api_exceptions
        import google.cloud.storage as storage  # type: ignore[import-untyped]
        from google.cloud.storage.retry import DEFAULT_RETRY  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependency(
            "the gs:// backend needs google-cloud-storage, which is not installed; "
            "run: pip install 'mlineage[gcs]'"
        ) from exc
    return storage, api_exceptions, DEFAULT_RETRY


def _sdk_errors(api_exceptions: Any) -> tuple[type[BaseException], ...]:
    """Exception types a storage call can raise for reasons outside our code."""
    import requests
    from google.auth.exceptions import GoogleAuthError

    return (
        api_exceptions.GoogleAPICallError,
        api_exceptions.RetryError,
        requests.exceptions.RequestException,
        GoogleAuthError,
        ConnectionError,
        TimeoutError,
    )


def _make_client(storage: Any, project: str | None) -> Any:
    from google.auth.exceptions import DefaultCredentialsError

    if os.environ.get(EMULATOR_ENV_VAR):
        # Emulators accept any request and a real credential lookup would fail (or reach for
        # a metadata server), so talk to them anonymously.
        from google.auth.credentials import AnonymousCredentials

        anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return storage.Client(project=project, credentials=anonymous)
    try:
        return storage.Client(project=project)
    except DefaultCredentialsError as exc:
        raise StoreUnavailable(
            "no Google Cloud credentials found for the gs:// store; run "
            "'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS"
        ) from exc


class GCSStore(BucketStore):
    """Objects under a prefix of a Google Cloud Storage bucket, one object per key.

    Create-only writes upload with ``if_generation_match=0`` ("only if no live object has
    this name"), which GCS evaluates atomically, so concurrent writers need no locks. The
    bucket must exist; it is checked once, on first use.

    Parameters
    ----------
    bucket : str
        Bucket name.
    prefix : str
        Object-name prefix inside the bucket; ``""`` for the whole bucket. A prefix with
        empty, ``.`` or ``..`` segments is refused.
    client : google.cloud.storage.Client, optional
        A ready client. Without it one is made with Application Default Credentials, or
        anonymous credentials when ``STORAGE_EMULATOR_HOST`` names an emulator.
    read_only : bool
        Refuse every write.
    project : str, optional
        Project for a client made here; by default the one the credentials imply.

    Raises
    ------
    InvalidKey
        For an empty bucket name or a bad prefix.
    MissingDependency
        If google-cloud-storage is not installed.
    StoreUnavailable
        If no credentials can be found.

    Notes
    -----
    Requests time out after 3 s to connect and 4 s between bytes, and transient failures
    are retried for at most 10 s, so an unreachable endpoint raises
    :class:`~mlineage.errors.StoreUnavailable` within about 10-15 s. Each create carries a
    random token in the object's custom metadata (``mlineage-write``), so a create whose
    first attempt landed but whose reply was lost succeeds on retry instead of reporting
    its own object as :class:`~mlineage.errors.AlreadyExists`.

    Examples
    --------
    >>> store = GCSStore("my-bucket", "lineage/prod")  # doctest: +SKIP
    >>> store.uri  # doctest: +SKIP
    'gs://my-bucket/lineage/prod'
    """

    scheme = "gs"
    # The SDK's HTTP session pools 10 connections; more threads would only wait for them.
    max_workers = 10

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        read_only: bool = False,
        project: str | None = None,
    ) -> None:
        super().__init__(bucket, prefix, read_only=read_only)
        storage, self._errors, default_retry = _import_gcs()
        self._sdk_errors = _sdk_errors(self._errors)
        self._conflict_errors = (self._errors.PreconditionFailed,)
        self._owns_client = client is None
        if client is None:
            client = _make_client(storage, project)
        self._client = client
        self._bucket = client.bucket(bucket)
        self._timeout = (CONNECT_TIMEOUT, READ_TIMEOUT)
        # Retried writes are safe here: a create carries its generation precondition and an
        # overwrite writes the same bytes again.
        self._retry = default_retry.with_timeout(RETRY_TIMEOUT)
        #: The endpoint requests go to (credentials removed), for messages.
        self.endpoint_url = redact_url(
            str(getattr(client, "api_endpoint", None) or _DEFAULT_ENDPOINT)
        )
        self._bucket_checked = False

    # -- error mapping --------------------------------------------------------------------

    def _where(self) -> str:
        return f"bucket {self.bucket!r} at GCS endpoint {self.endpoint_url}"

    def _translate(self, exc: BaseException, action: str) -> StoreError:
        # docstring inherited
        import requests
        from google.auth import exceptions as auth_exceptions

        errors = self._errors
        if isinstance(exc, (errors.Unauthorized, errors.Forbidden, auth_exceptions.RefreshError)):
            return StoreUnavailable(
                f"access to {self._where()} was refused ({type(exc).__name__}) while trying "
                f"to {action}; check the Google Cloud credentials "
                "(GOOGLE_APPLICATION_CREDENTIALS, gcloud auth) and the bucket's IAM roles"
            )
        if isinstance(
            exc,
            (
                errors.RetryError,
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                auth_exceptions.TransportError,
                ConnectionError,
                TimeoutError,
            ),
        ):
            return StoreUnavailable(
                f"cannot reach {self._where()} to {action} ({type(exc).__name__}, retried "
                f"for up to {RETRY_TIMEOUT:.0f} s); check the network (or {EMULATOR_ENV_VAR} "
                "when using an emulator)"
            )
        if isinstance(exc, (errors.ServerError, errors.TooManyRequests)):
            return StoreUnavailable(f"{self._where()} could not {action}: {exc.message}")
        message = getattr(exc, "message", None) or str(exc)
        return StoreError(f"{self._where()} refused to {action}: {type(exc).__name__}: {message}")

    def _is_missing(self, exc: BaseException) -> bool:
        # docstring inherited
        return isinstance(exc, self._errors.NotFound)

    def _ensure_bucket(self) -> None:
        # Blob.exists() answers False for a missing bucket as for a missing object, so check
        # the bucket once. Listing (storage.objects.list) rather than reading the bucket's
        # metadata (storage.buckets.get) works with object-level roles such as objectAdmin.
        if self._bucket_checked:
            return
        try:
            pages = self._client.list_blobs(
                self._bucket,
                prefix=self._list_prefix(""),
                max_results=1,
                timeout=self._timeout,
                retry=self._retry,
            )
            list(pages)
        except self._errors.NotFound as exc:
            raise StoreUnavailable(
                f"bucket {self.bucket!r} does not exist at GCS endpoint {self.endpoint_url}; "
                "create it first or fix the storage URI"
            ) from exc
        except self._sdk_errors as exc:
            raise self._translate(exc, "open the bucket") from exc
        self._bucket_checked = True

    # -- the five operations --------------------------------------------------------------

    def get(self, key: str) -> bytes:
        # docstring inherited
        name = self._object_name(key)
        self._ensure_bucket()
        with self._reading(key):
            data: bytes = self._bucket.blob(name).download_as_bytes(
                timeout=self._timeout, retry=self._retry
            )
        return data

    def put(self, key: str, data: bytes, *, mode: PutMode = "create") -> None:
        # docstring inherited
        if mode not in ("create", "overwrite"):
            raise ValueError(f"mode must be 'create' or 'overwrite', got {mode!r}")
        name = self._object_name(key)
        self._check_writable(key)
        self._ensure_bucket()
        blob = self._bucket.blob(name)
        condition: dict[str, Any] = {}
        token = new_write_token()
        if mode == "create":
            condition["if_generation_match"] = 0
            blob.metadata = {WRITE_TOKEN_FIELD: token}
        try:
            blob.upload_from_string(
                bytes(data),
                content_type="application/octet-stream",
                timeout=self._timeout,
                retry=self._retry,
                **condition,
            )
        except self._errors.PreconditionFailed as exc:
            if mode != "create":
                raise self._translate(exc, f"write {key!r}") from exc
            if not self._written_by(name, token):
                raise AlreadyExists(f"{key!r} already exists in store {self.uri}") from None
        except self._sdk_errors as exc:
            raise self._translate(exc, f"write {key!r}") from exc

    def _written_by(self, name: str, token: str) -> bool:
        # The SDK retries an upload whose reply was lost; the retry then finds the object
        # its first attempt wrote. The SDK does not say whether it retried, so every lost
        # create looks at the token (one metadata read, only when the key is taken).
        try:
            blob = self._bucket.get_blob(name, timeout=self._timeout, retry=self._retry)
        except self._sdk_errors:
            return False
        return blob is not None and (blob.metadata or {}).get(WRITE_TOKEN_FIELD) == token

    def exists(self, key: str) -> bool:
        # docstring inherited
        name = self._object_name(key)
        self._ensure_bucket()
        try:
            return bool(self._bucket.blob(name).exists(timeout=self._timeout, retry=self._retry))
        except self._sdk_errors as exc:
            raise self._translate(exc, f"look up {key!r}") from exc

    def list(self, prefix: str = "") -> Iterator[str]:
        # docstring inherited
        self._ensure_bucket()
        try:
            blobs = self._client.list_blobs(
                self._bucket,
                prefix=self._list_prefix(prefix),
                timeout=self._timeout,
                retry=self._retry,
            )
            for blob in blobs:
                key = self._key_of(blob.name)
                if key is not None:
                    yield key
        except self._sdk_errors as exc:
            raise self._translate(exc, f"list {prefix!r}") from exc

    def list_dir(self, prefix: str) -> Iterator[str]:
        # docstring inherited
        # The server groups deeper names by their next segment ("delimiter"), so a directory
        # of a few models costs one request, not a walk over every record under it.
        self._ensure_bucket()
        full = self._list_prefix(prefix)
        names: set[str] = set()
        try:
            blobs = self._client.list_blobs(
                self._bucket, prefix=full, delimiter="/", timeout=self._timeout, retry=self._retry
            )
            for blob in blobs:
                if self._key_of(blob.name) is not None:
                    names.add(blob.name[len(full) :])
            # Filled in while the pages above were read.
            names.update(p[len(full) :].rstrip("/") for p in blobs.prefixes)
        except self._sdk_errors as exc:
            raise self._translate(exc, f"list {prefix!r}") from exc
        names.discard("")
        yield from sorted(names)

    def delete(self, key: str) -> None:
        # docstring inherited
        name = self._object_name(key)
        self._check_writable(key)
        self._ensure_bucket()
        try:
            self._bucket.blob(name).delete(timeout=self._timeout, retry=self._retry)
        except self._errors.NotFound:
            return
        except self._sdk_errors as exc:
            raise self._translate(exc, f"delete {key!r}") from exc

    def _start_upload(self, name: str, size: int) -> Upload:
        # A resumable upload, finalised (create-only) by close(). A session whose process
        # died is never finalised, so nothing is visible; GCS discards it after a week.
        # (The writer must not just be dropped: closing it, as garbage collection does,
        # would finalise it; _put_stream terminates it.)
        writer: Upload = self._bucket.blob(name).open(
            "wb",
            chunk_size=self.part_size,
            retry=self._retry,
            if_generation_match=0,
            content_type="application/octet-stream",
            timeout=self._timeout,
        )
        return writer

    def _get_chunks(self, key: str) -> Iterator[bytes]:
        # docstring inherited
        blob = self._bucket.blob(self._object_name(key))
        self._ensure_bucket()
        with (
            self._reading(key),
            blob.open("rb", chunk_size=CHUNK * 8, retry=self._retry) as reader,
        ):
            yield from iter(lambda: reader.read(CHUNK), b"")


def open_gcs_uri(uri: str, read_only: bool = False) -> GCSStore:
    """Open ``gs://bucket/prefix`` as a :class:`GCSStore`.

    Parameters
    ----------
    uri : str
        The storage URI; ``STORAGE_EMULATOR_HOST`` in the environment selects an emulator.
    read_only : bool
        Open the store read-only.

    Returns
    -------
    GCSStore
    """
    bucket, prefix, _ = parse_bucket_uri(uri)
    return GCSStore(bucket, prefix, read_only=read_only)
