"""Google Cloud Storage, through google-cloud-storage.

The SDK is imported when a store is created, never at ``import mlineage``: it is an optional
extra (``pip install 'mlineage[gcs]'``) and slow to import.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from mlineage.content import CHUNK
from mlineage.errors import MissingDependency, StoreError, StoreUnavailable
from mlineage.storage._cloud import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    BucketStore,
    ObjectInfo,
    Upload,
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
    :class:`~mlineage.errors.StoreUnavailable` within about 10-15 s. The create token is
    custom metadata; the SDK does not report retries, so every create that finds its key
    taken reads it back.

    Examples
    --------
    >>> store = GCSStore("my-bucket", "lineage/prod")  # doctest: +SKIP
    >>> store.uri  # doctest: +SKIP
    'gs://my-bucket/lineage/prod'
    """

    scheme = "gs"
    service = "GCS"
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
        self._owns_client = client is None
        if client is None:
            client = _make_client(storage, project)
        self._client = client
        self._bucket = client.bucket(bucket)
        self._timeout = (CONNECT_TIMEOUT, READ_TIMEOUT)
        # Retried writes are safe here: a create carries its generation precondition and an
        # overwrite writes the same bytes again.
        self._retry = default_retry.with_timeout(RETRY_TIMEOUT)
        self.endpoint_url = redact_url(
            str(getattr(client, "api_endpoint", None) or _DEFAULT_ENDPOINT)
        )

    # -- error mapping --------------------------------------------------------------------

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

    def _is_conflict(self, exc: BaseException) -> bool:
        # docstring inherited
        return isinstance(exc, self._errors.PreconditionFailed)

    # -- requests -------------------------------------------------------------------------

    def _bucket_exists(self) -> bool:
        # docstring inherited
        # Listing (storage.objects.list) rather than reading the bucket's metadata
        # (storage.buckets.get) works with object-level roles such as objectAdmin.
        try:
            list(
                self._client.list_blobs(
                    self._bucket,
                    prefix=self._list_prefix(""),
                    max_results=1,
                    timeout=self._timeout,
                    retry=self._retry,
                )
            )
        except self._errors.NotFound:
            return False
        return True

    def _read(self, name: str) -> bytes:
        # docstring inherited
        blob = self._bucket.blob(name)
        data: bytes = blob.download_as_bytes(timeout=self._timeout, retry=self._retry)
        return data

    def _read_chunks(self, name: str) -> Iterator[bytes]:
        # docstring inherited
        blob = self._bucket.blob(name)
        with blob.open("rb", chunk_size=CHUNK * 8, retry=self._retry) as reader:
            yield from iter(lambda: reader.read(CHUNK), b"")

    def _write(self, name: str, data: bytes, metadata: dict[str, str] | None) -> None:
        # docstring inherited
        blob = self._bucket.blob(name)
        condition: dict[str, Any] = {}
        if metadata is not None:
            condition["if_generation_match"] = 0
            blob.metadata = metadata
        blob.upload_from_string(
            data,
            content_type="application/octet-stream",
            timeout=self._timeout,
            retry=self._retry,
            **condition,
        )

    def _metadata(self, name: str) -> dict[str, str]:
        # docstring inherited
        # The SDK retries an upload whose reply was lost but does not say so: every create
        # that finds its key taken reads this (one metadata read, only then).
        blob = self._bucket.get_blob(name, timeout=self._timeout, retry=self._retry)
        return dict((blob.metadata if blob is not None else None) or {})

    def _object_exists(self, name: str) -> bool:
        # docstring inherited
        blob = self._bucket.blob(name)
        return bool(blob.exists(timeout=self._timeout, retry=self._retry))

    def _list_names(self, prefix: str, *, delimited: bool) -> Iterator[str]:
        # docstring inherited
        blobs = self._client.list_blobs(
            self._bucket,
            prefix=prefix,
            delimiter="/" if delimited else None,
            timeout=self._timeout,
            retry=self._retry,
        )
        for blob in blobs:
            yield blob.name
        yield from blobs.prefixes  # filled in while the pages above were read

    def _list_info(self, prefix: str) -> Iterator[ObjectInfo]:
        # docstring inherited
        blobs = self._client.list_blobs(
            self._bucket, prefix=prefix, timeout=self._timeout, retry=self._retry
        )
        for blob in blobs:
            # MD5 is of the bytes; composed objects have none, only a CRC32C.
            tag = f"md5:{blob.md5_hash}" if blob.md5_hash else f"crc32c:{blob.crc32c}"
            yield ObjectInfo(
                key=blob.name,
                size=int(blob.size or 0),
                etag=tag if (blob.md5_hash or blob.crc32c) else None,
                version=None if blob.generation is None else str(blob.generation),
                modified=None if blob.updated is None else blob.updated.timestamp(),
            )

    def _delete(self, name: str) -> None:
        # docstring inherited
        with contextlib.suppress(self._errors.NotFound):
            self._bucket.blob(name).delete(timeout=self._timeout, retry=self._retry)

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
