"""Amazon S3 and S3-compatible object stores (MinIO, SeaweedFS, ...), through boto3.

boto3 is imported when a store is created, never at ``import mlineage``: it costs a few
hundred milliseconds and is an optional extra (``pip install 'mlineage[s3]'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from mlineage.content import CHUNK
from mlineage.errors import MissingDependency, StoreError, StoreUnavailable
from mlineage.storage._base import PartialUpload
from mlineage.storage._cloud import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    BucketStore,
    ObjectInfo,
    parse_bucket_uri,
    redact_url,
)

__all__ = ["S3Store", "open_s3_uri"]

#: Attempts per request, the first included: with the timeouts in ``_cloud``, an endpoint
#: that never answers fails in about ``MAX_ATTEMPTS * READ_TIMEOUT`` seconds plus backoff.
MAX_ATTEMPTS = 3

# Error codes S3 (and compatible servers) use for a refused identity or signature.
_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "TokenRefreshRequired",
    }
)
# Below this size a PUT is sent without "Expect: 100-continue" (see _drop_expect_header).
_EXPECT_CONTINUE_MIN_BYTES = 1 << 20
# A create-only put that lost: 412 when the key exists, 409 when a concurrent conditional
# write to the same key is still in flight (that writer is about to own the key).
_PRECONDITION_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


def _import_boto3() -> tuple[Any, Any, Any]:
    try:
        import boto3  # type: ignore[import-untyped]
        import botocore.config  # type: ignore[import-untyped]
        import botocore.exceptions  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependency(
            "the s3:// backend needs boto3, which is not installed; run: pip install 'mlineage[s3]'"
        ) from exc
    return boto3, botocore.config.Config, botocore.exceptions


def _drop_expect_header(model: Any, params: dict[str, Any], **_: Any) -> None:
    """Send small PUTs without ``Expect: 100-continue``.

    botocore asks for the server's go-ahead before every PUT body, which costs a round trip
    per write. That pays off only for large bodies the server might refuse (an existing
    checkpoint blob); mlineage's records are a few KB. Some S3-compatible servers also
    mishandle the handshake for an empty body and leave a stray response on the connection,
    which made the next request time out and be retried.
    """
    if model.name != "PutObject":
        return
    headers = params.get("headers", {})
    body = params.get("body")
    size = len(body) if isinstance(body, (bytes, bytearray)) else None
    getbuffer = getattr(body, "getbuffer", None)
    if size is None and getbuffer is not None:
        size = getbuffer().nbytes
    if size is not None and size < _EXPECT_CONTINUE_MIN_BYTES:
        headers.pop("Expect", None)


def _error_code(exc: Any) -> tuple[str, int]:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


class S3Store(BucketStore):
    """Objects under a prefix of an S3 bucket, one object per key.

    Create-only writes use ``PutObject`` with ``If-None-Match: *``, which S3 (since 2024)
    and compatible servers that support it evaluate atomically, so concurrent writers
    need no locks.
    The bucket must exist; it is checked once, on first use.

    Parameters
    ----------
    bucket : str
        Bucket name.
    prefix : str
        Key prefix inside the bucket; ``""`` for the whole bucket. A prefix with empty,
        ``.`` or ``..`` segments is refused.
    endpoint_url : str, optional
        S3-compatible endpoint such as ``http://127.0.0.1:9000``. Without it boto3 reads
        ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (or the profile's ``endpoint_url``),
        else talks to AWS.
    read_only : bool
        Refuse every write.
    client : botocore client, optional
        A ready ``boto3`` S3 client; then ``endpoint_url`` and ``client_kwargs`` must be
        left out. Without it a client is made from a fresh boto3 session, with the standard
        credential chain (environment, ``AWS_PROFILE``, config files, instance roles).
    **client_kwargs
        Passed to ``boto3.Session().client("s3", ...)``, e.g. ``region_name``; a
        ``config=botocore.config.Config(...)`` is merged over the bounded defaults.

    Raises
    ------
    InvalidKey
        For an empty bucket name or a bad prefix.
    MissingDependency
        If boto3 is not installed.

    Notes
    -----
    Requests time out after 3 s to connect and 4 s between bytes and are tried 3 times,
    so an unreachable endpoint raises :class:`~mlineage.errors.StoreUnavailable` within
    about 10-15 s. The create token is the header ``x-amz-meta-mlineage-write``, read
    back only when botocore reports that it retried the create.

    Examples
    --------
    An explicit endpoint is part of the store's URI, so the URI reopens the same store:

    >>> store = S3Store(  # doctest: +SKIP
    ...     "my-bucket", "lineage/prod", endpoint_url="http://127.0.0.1:9000"
    ... )
    >>> store.uri  # doctest: +SKIP
    's3://my-bucket/lineage/prod?endpoint_url=http://127.0.0.1:9000'
    """

    scheme = "s3"
    service = "S3"
    # boto3 clients are thread-safe, and S3 latency, not bandwidth, bounds a fetch of many
    # small records.
    max_workers = 16

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        read_only: bool = False,
        client: Any = None,
        **client_kwargs: Any,
    ) -> None:
        super().__init__(bucket, prefix, read_only=read_only)
        boto3, config_class, self._errors = _import_boto3()
        self._sdk_errors = (self._errors.ClientError, self._errors.BotoCoreError)
        self._owns_client = client is None
        if client is None:
            config = config_class(
                connect_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
                retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
                max_pool_connections=self.max_workers,
            )
            user_config = client_kwargs.pop("config", None)
            if user_config is not None:
                config = config.merge(user_config)
            # A session per store: boto3's default session is not safe to share across
            # threads while clients are being created.
            client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint_url, config=config, **client_kwargs
            )
            # Registered on the same event as botocore's own handler, after it, so that the
            # header it adds can be taken out again. A client passed in is left as it is.
            client.meta.events.register_last("before-call.s3", _drop_expect_header)
        elif endpoint_url is not None or client_kwargs:
            raise TypeError("pass either client= or endpoint_url/client options, not both")
        self._client = client
        self._endpoint_arg = endpoint_url
        self.endpoint_url = redact_url(str(client.meta.endpoint_url))

    @property
    def uri(self) -> str:
        # docstring inherited
        base = super().uri
        if self._endpoint_arg is None:
            return base
        # An explicit endpoint is part of the store's identity: keep it so the URI reopens
        # the same store without the environment.
        return f"{base}?endpoint_url={quote(redact_url(self._endpoint_arg), safe=':/')}"

    # -- error mapping --------------------------------------------------------------------

    def _translate(self, exc: BaseException, action: str) -> StoreError:
        # docstring inherited
        errors = self._errors
        if isinstance(exc, errors.ClientError):
            code, status = _error_code(exc)
            if code == "NoSuchBucket":
                return self._no_bucket()
            if code in _AUTH_CODES or status in (401, 403):
                return StoreUnavailable(
                    f"access to {self._where()} was refused ({code or status}) while trying to "
                    f"{action}; check the AWS credentials (AWS_ACCESS_KEY_ID / "
                    "AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and the bucket policy"
                )
            message = exc.response.get("Error", {}).get("Message", "")
            if status >= 500 or status == 429 or code in ("SlowDown", "Throttling"):
                return StoreUnavailable(
                    f"{self._where()} could not {action} after {MAX_ATTEMPTS} attempts: "
                    f"{code or status} {message}".rstrip()
                )
            return StoreError(
                f"{self._where()} refused to {action}: {code or status} {message}".rstrip()
            )
        if isinstance(exc, (errors.NoCredentialsError, errors.PartialCredentialsError)):
            return StoreUnavailable(
                f"no usable AWS credentials for {self._where()}; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run on a host with an instance role"
            )
        if isinstance(exc, (errors.ConnectionError, errors.HTTPClientError)):
            return StoreUnavailable(
                f"cannot reach {self._where()} to {action} ({type(exc).__name__} after "
                f"{MAX_ATTEMPTS} attempts); check the endpoint URL and that the server is up"
            )
        return StoreError(f"{self._where()} failed to {action}: {type(exc).__name__}: {exc}")

    def _is_missing(self, exc: BaseException) -> bool:
        # docstring inherited
        missing = ("NoSuchKey", "404")
        return isinstance(exc, self._errors.ClientError) and _error_code(exc)[0] in missing

    def _is_conflict(self, exc: BaseException) -> bool:
        # docstring inherited
        if not isinstance(exc, self._errors.ClientError):
            return False
        code, status = _error_code(exc)
        return code in _PRECONDITION_CODES or status == 412

    # -- requests -------------------------------------------------------------------------

    def _bucket_exists(self) -> bool:
        # docstring inherited
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except self._errors.ClientError as exc:
            if _error_code(exc)[1] == 404:
                return False
            raise
        return True

    def _read(self, name: str) -> bytes:
        # docstring inherited
        data: bytes = self._client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        return data

    def _read_chunks(self, name: str) -> Iterator[bytes]:
        # docstring inherited
        body = self._client.get_object(Bucket=self.bucket, Key=name)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def _write(self, name: str, data: bytes, metadata: dict[str, str] | None) -> None:
        # docstring inherited
        if metadata is None:
            self._client.put_object(Bucket=self.bucket, Key=name, Body=data)
            return
        self._client.put_object(
            Bucket=self.bucket, Key=name, Body=data, IfNoneMatch="*", Metadata=metadata
        )

    def _metadata(self, name: str) -> dict[str, str]:
        # docstring inherited
        head = self._client.head_object(Bucket=self.bucket, Key=name)
        return dict(head.get("Metadata", {}))

    def _may_have_retried(self, exc: BaseException) -> bool:
        # docstring inherited
        # botocore reports its retries, so only a retried create reads the metadata.
        response = getattr(exc, "response", None) or {}
        return bool(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))

    def _object_exists(self, name: str) -> bool:
        # docstring inherited
        try:
            self._client.head_object(Bucket=self.bucket, Key=name)
        except self._errors.ClientError as exc:
            if _error_code(exc)[1] == 404:
                return False
            raise
        return True

    def _list_names(self, prefix: str, *, delimited: bool) -> Iterator[str]:
        # docstring inherited
        grouping = {"Delimiter": "/"} if delimited else {}
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **grouping):
            for entry in page.get("CommonPrefixes", ()):
                yield entry["Prefix"]
            for entry in page.get("Contents", ()):
                yield entry["Key"]

    def _list_info(self, prefix: str) -> Iterator[ObjectInfo]:
        # docstring inherited
        # A versioned bucket is listed by version, so each current object comes with the
        # id that fetches exactly these bytes later; delete markers hide deleted keys.
        status = self._client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        if status in ("Enabled", "Suspended"):
            paginator = self._client.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for entry in page.get("Versions", ()):
                    if entry.get("IsLatest"):
                        yield _s3_info(entry, entry.get("VersionId"))
            return
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for entry in page.get("Contents", ()):
                yield _s3_info(entry, None)

    def _delete(self, name: str) -> None:
        # docstring inherited
        # S3 answers 204 for a missing key too, which is the idempotence we promise.
        self._client.delete_object(Bucket=self.bucket, Key=name)

    def delete_many(self, keys: Iterable[str]) -> None:
        # docstring inherited
        # DeleteObjects removes up to 1,000 keys per request: compacting 10,000 loose
        # records costs 10 requests, not 10,000.
        keys = list(keys)
        if not keys:
            return
        names = [self._object_name(k) for k in keys]  # validates every key first
        self._check_writable(keys[0])
        self._ensure_bucket()
        batches = [names[i : i + 1000] for i in range(0, len(names), 1000)]

        def delete(batch: list[str]) -> None:
            try:
                answer = self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": n} for n in batch], "Quiet": True},
                )
            except self._sdk_errors as exc:
                raise self._translate(exc, f"delete {len(batch)} keys") from exc
            failed = [e for e in answer.get("Errors", ()) if e.get("Code") != "NoSuchKey"]
            if failed:
                first = failed[0]
                raise StoreError(
                    f"could not delete {len(failed)} of {len(batch)} keys in {self.uri}, "
                    f"e.g. {self._key_of(first.get('Key', '')) or first.get('Key')!r}: "
                    f"{first.get('Code')} {first.get('Message', '')}".rstrip()
                )

        if len(batches) == 1:
            delete(batches[0])
            return
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(batches))) as pool:
            list(pool.map(delete, batches))

    def _start_upload(self, name: str, size: int) -> _MultipartUpload:
        # Parts grow for files over 576 GB, to stay within S3's 10,000 parts. Completing
        # is not conditional: blobs are content-addressed, so completing over a copy
        # another writer finished meanwhile rewrites the same bytes.
        part_size = max(self.part_size, -(-size // 9_000))
        return _MultipartUpload(self._client, self.bucket, name, part_size)

    def partial_uploads(self) -> Iterator[PartialUpload]:
        # docstring inherited
        self._ensure_bucket()
        paginator = self._client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._list_prefix("")):
                for upload in page.get("Uploads", ()):
                    key = self._key_of(upload["Key"])
                    if key is not None:
                        yield PartialUpload(key, upload["UploadId"], upload["Initiated"])
        except self._sdk_errors as exc:
            raise self._translate(exc, "list incomplete uploads") from exc

    def abort_partial_upload(self, upload: PartialUpload) -> None:
        # docstring inherited
        try:
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._object_name(upload.key), UploadId=upload.upload_id
            )
        except self._errors.ClientError as exc:
            if _error_code(exc)[0] != "NoSuchUpload":
                raise self._translate(exc, f"abort the upload of {upload.key!r}") from exc
        except self._errors.BotoCoreError as exc:
            raise self._translate(exc, f"abort the upload of {upload.key!r}") from exc


class _MultipartUpload:
    """An S3 multipart upload of parts of ``part_size`` bytes (the last may be smaller)."""

    def __init__(self, client: Any, bucket: str, name: str, part_size: int) -> None:
        self._client = client
        self._where = {"Bucket": bucket, "Key": name}
        self._part_size = part_size
        self._id = client.create_multipart_upload(**self._where)["UploadId"]
        self._parts: list[dict[str, Any]] = []
        self._buffer = bytearray()

    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) >= self._part_size:
            self._send()

    def _send(self) -> None:
        number = len(self._parts) + 1
        answer = self._client.upload_part(
            **self._where, UploadId=self._id, PartNumber=number, Body=bytes(self._buffer)
        )
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})
        self._buffer.clear()

    def close(self) -> None:
        if self._buffer or not self._parts:
            self._send()
        self._client.complete_multipart_upload(
            **self._where, UploadId=self._id, MultipartUpload={"Parts": self._parts}
        )

    def terminate(self) -> None:
        self._client.abort_multipart_upload(**self._where, UploadId=self._id)


def _s3_info(entry: dict[str, Any], version: str | None) -> ObjectInfo:
    modified = entry.get("LastModified")
    return ObjectInfo(
        key=entry["Key"],
        size=int(entry.get("Size", 0)),
        etag=entry.get("ETag", "").strip('"') or None,
        version=version,
        modified=None if modified is None else modified.timestamp(),
    )


def open_s3_uri(uri: str, read_only: bool = False) -> S3Store:
    """Open ``s3://bucket/prefix[?endpoint_url=http://host:port]`` as an :class:`S3Store`.

    Parameters
    ----------
    uri : str
        The storage URI. The only parameter understood is ``endpoint_url``; without it
        boto3's own configuration (``AWS_ENDPOINT_URL``, profiles) decides.
    read_only : bool
        Open the store read-only.

    Returns
    -------
    S3Store
    """
    bucket, prefix, params = parse_bucket_uri(uri, allowed=("endpoint_url",))
    return S3Store(bucket, prefix, endpoint_url=params.get("endpoint_url"), read_only=read_only)
