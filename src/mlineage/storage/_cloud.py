"""What the object-store backends share: bucket + prefix naming, URI parsing, key mapping,
error translation around reads, and streamed uploads that become visible only when verified.
"""

from __future__ import annotations

import contextlib
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from mlineage.errors import InvalidInput, InvalidKey, NotFound, StoreError
from mlineage.storage._base import Store, validate_key

__all__ = ["BucketStore", "Upload", "new_write_token", "parse_bucket_uri", "redact_url"]

#: Seconds allowed to open a TCP connection to an object store.
CONNECT_TIMEOUT = 3.0
#: Seconds allowed between bytes of a response (not for the whole response). Short, because
#: it is paid once per attempt: with three attempts a server that accepts connections but
#: never answers still fails the call in about 15 s rather than half a minute or more.
READ_TIMEOUT = 4.0
#: User-metadata field holding the token of the create that wrote an object.
WRITE_TOKEN_FIELD = "mlineage-write"


def new_write_token() -> str:
    """A random token that identifies one create-only write among all others.

    SDKs retry a request whose reply was lost; a retried create then finds the object its
    first attempt wrote. Comparing the stored token with its own lets the store report that
    as success rather than :class:`~mlineage.errors.AlreadyExists`.
    """
    return uuid.uuid4().hex


def redact_url(url: str) -> str:
    """Return ``url`` without any ``user:password@`` part, for error messages and URIs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def parse_bucket_uri(uri: str, allowed: tuple[str, ...] = ()) -> tuple[str, str, dict[str, str]]:
    """Split ``scheme://bucket/prefix?name=value`` into bucket, prefix and parameters.

    Raises
    ------
    InvalidInput
        For a URI without a bucket, with a fragment, or with a parameter not in ``allowed``.
    """
    parts = urlsplit(uri)
    if not parts.netloc:
        raise InvalidInput(
            f"storage URI {uri!r} names no bucket; write {parts.scheme}://bucket/prefix"
        )
    if parts.fragment:
        raise InvalidInput(f"storage URI {uri!r} has a '#' fragment; bucket URIs take none")
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) if allowed else "none"
        raise InvalidInput(
            f"storage URI {redact_url(uri)!r} has unknown parameter(s) {', '.join(unknown)}; "
            f"accepted: {accepted}"
        )
    return parts.netloc, parts.path, params


class Upload(Protocol):
    """An upload in parts that is invisible until :meth:`close` (S3 multipart, GCS resumable)."""

    def write(self, chunk: bytes) -> None:
        """Send the next bytes."""

    def close(self) -> None:
        """Complete the upload: the object becomes visible."""

    def terminate(self) -> None:
        """Discard the upload: nothing becomes visible."""


class BucketStore(Store):
    """Base of stores that keep each key as one object ``<prefix>/<key>`` in a bucket.

    Parameters
    ----------
    bucket : str
        Bucket name.
    prefix : str
        Key prefix inside the bucket (no leading or trailing ``/`` needed); ``""`` for the
        bucket root. It must itself be a valid key: no empty, ``.`` or ``..`` segments.
    read_only : bool
        Refuse every write.
    """

    #: URI scheme, set by each subclass.
    scheme: str = ""
    #: Size of each part of a streamed upload (S3: at least 5 MiB, at most 10,000 parts;
    #: GCS: a multiple of 256 KiB).
    part_size = 64 << 20
    #: The SDK's client; closed by :meth:`close` if the store made it.
    _client: Any
    _owns_client: bool
    #: Exception types an SDK call raises for reasons outside our code (set by subclasses).
    _sdk_errors: tuple[type[BaseException], ...] = ()
    #: SDK exceptions meaning a create-only upload found its key taken.
    _conflict_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, bucket: str, prefix: str = "", *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        if not isinstance(bucket, str) or not bucket or "/" in bucket or bucket != bucket.strip():
            raise InvalidKey(f"bucket name {bucket!r} is empty or contains '/' or spaces")
        if not isinstance(prefix, str):
            raise InvalidKey(f"bucket prefix must be a str, got {type(prefix).__name__}")
        prefix = prefix.strip("/")
        if prefix:
            try:
                validate_key(prefix)
            except InvalidKey as exc:
                raise InvalidKey(f"invalid prefix for bucket {bucket!r}: {exc}") from None
        self.bucket = bucket
        self.prefix = prefix

    @property
    def uri(self) -> str:
        # docstring inherited
        return f"{self.scheme}://{self.bucket}/{self.prefix}".rstrip("/")

    def _object_name(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _list_prefix(self, prefix: str) -> str:
        # A plain string prefix, not a key: "models/a" must also match "models/ab/...".
        return f"{self.prefix}/{prefix}" if self.prefix else prefix

    def _key_of(self, name: str) -> str | None:
        """The store key for object ``name``, or None for objects the store cannot address.

        Objects put there by other tools (console "folder" markers ending in ``/``, names
        with ``//``) are left out of listings, since :meth:`get` would refuse their keys.
        """
        if self.prefix:
            if not name.startswith(self.prefix + "/"):
                return None
            name = name[len(self.prefix) + 1 :]
        try:
            return validate_key(name)
        except InvalidKey:
            return None

    # -- what each SDK supplies ------------------------------------------------------------

    @abstractmethod
    def _translate(self, exc: BaseException, action: str) -> StoreError:
        """Map an SDK exception to mlineage's hierarchy, without echoing credentials."""

    @abstractmethod
    def _is_missing(self, exc: BaseException) -> bool:
        """Whether an SDK exception says that the object read does not exist."""

    @abstractmethod
    def _start_upload(self, name: str, size: int) -> Upload:
        """Begin an invisible upload in parts of the object ``name`` (``size`` bytes)."""

    # -- built on them ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self, key: str) -> Iterator[None]:
        """Translate the errors of reading ``key``: a missing key is NotFound."""
        try:
            yield
        except self._sdk_errors as exc:
            if self._is_missing(exc):
                raise NotFound(f"no object {key!r} in store {self.uri}") from None
            raise self._translate(exc, f"read {key!r}") from exc

    def _put_stream(
        self, key: str, chunks: Iterator[bytes], size: int, verify: Callable[[], None]
    ) -> None:
        # docstring inherited
        # The upload is completed only after verify(), and terminated on any error, so no
        # partial or wrong object is ever visible. A killed process leaves an incomplete
        # upload (S3: reported by `mlineage fsck`, aborted by `--repair`; GCS: expires).
        name = self._object_name(key)
        try:
            upload = self._start_upload(name, size)
            try:
                for chunk in chunks:
                    upload.write(chunk)
                verify()
                upload.close()
            except BaseException:
                with contextlib.suppress(Exception):
                    upload.terminate()
                raise
        except self._conflict_errors:
            return  # another writer stored this content-addressed blob meanwhile
        except self._sdk_errors as exc:
            raise self._translate(exc, f"upload {key!r}") from exc

    def close(self) -> None:
        # docstring inherited
        if self._owns_client:
            self._client.close()
