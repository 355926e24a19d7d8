"""What the object-store backends share: bucket + prefix naming, URI parsing, key mapping,
error translation around reads, and streamed uploads that become visible only when verified.
"""

from __future__ import annotations

import contextlib
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from mlineage.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidKey,
    NotFound,
    StoreError,
    StoreUnavailable,
)
from mlineage.storage._base import PutMode, Store, check_mode, validate_key

__all__ = [
    "BucketStore",
    "ObjectInfo",
    "Upload",
    "new_write_token",
    "parse_bucket_uri",
    "redact_url",
]

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


def redact_url(url: str, mask: str = "") -> str:
    """Return ``url`` without any ``user:password@`` part, for error messages and URIs.

    Parameters
    ----------
    url : str
    mask : str
        Put in place of the user info, followed by ``@`` (``"***"``); default: nothing.

    Examples
    --------
    >>> redact_url("s3://KEY:SECRET@bucket/p", "***")
    's3://***@bucket/p'
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # an unparsable netloc ("[" unbalanced): keep nothing of it
        scheme, _, _ = url.partition("://")
        return f"{scheme}://{mask}@..." if mask else f"{scheme}://..."
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{mask}@{host}" if mask else host))


_CREDENTIAL_CHAINS = {
    "s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials or "
    "an instance role",
    "gs": "GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login` or the "
    "metadata server",
}


def parse_bucket_uri(uri: str, allowed: tuple[str, ...] = ()) -> tuple[str, str, dict[str, str]]:
    """Split ``scheme://bucket/prefix?name=value`` into bucket, prefix and parameters.

    Raises
    ------
    InvalidInput
        For a URI without a bucket, with a fragment, or with a parameter not in ``allowed``.
    """
    scheme, _, rest = uri.partition("://")
    authority = rest.split("/", 1)[0]
    if "@" in authority or ":" in authority:
        # Credentials in a URI end up in logs, shell history, reprs and error messages. A
        # secret may hold '/', so everything up to the last '@' is masked.
        shown = (
            f"{scheme}://***@{rest.rpartition('@')[2]}"
            if "@" in rest
            else f"{scheme}://***/{rest.partition('/')[2]}"
        )
        chain = _CREDENTIAL_CHAINS.get(scheme.lower(), "the SDK's credential chain")
        raise InvalidInput(
            f"storage URI {shown!r} has credentials in it (a user or password before the "
            "bucket); mlineage takes none in URIs, which end up in logs and shell history: "
            f"remove them and give them to the SDK's credential chain instead ({chain})"
        )
    if any(ord(c) < 32 for c in uri):
        raise InvalidInput(f"storage URI {uri!r} contains a control character (NUL, newline)")
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


@dataclass(frozen=True)
class ObjectInfo:
    """What an object store says about one object, without its bytes being read.

    Attributes
    ----------
    key : str
        The object's key in the store (as :meth:`Store.list` gives it).
    size : int
        Bytes.
    etag : str or None
        A tag of the content from the service: S3's ETag (the MD5 of the bytes for a
        single-part upload, a hash of the parts' MD5s for a multipart one), GCS's MD5 or,
        for composed objects, CRC32C.
    version : str or None
        S3's version id when the bucket is versioned; GCS's generation (always).
    modified : float or None
        Last modification, POSIX seconds.
    """

    key: str
    size: int
    etag: str | None
    version: str | None
    modified: float | None


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

    The :class:`Store` operations are written here once; a backend supplies the SDK's
    requests (``_read``, ``_write``, ``_list_names``, ``_start_upload``, ...) and says how
    to read its errors (``_translate``, ``_is_missing``, ``_is_conflict``). Each create
    carries a random token in the object's user metadata (``mlineage-write``), so a create
    whose first attempt landed but whose reply was lost succeeds on retry instead of
    reporting its own object as :class:`~mlineage.errors.AlreadyExists`.

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
    #: Name of the service, for messages ("S3", "GCS").
    service: str = ""
    #: The endpoint requests go to (credentials removed), for messages; set by subclasses.
    endpoint_url: str
    #: The SDK's client; closed by :meth:`close` if the store made it.
    _client: Any
    _owns_client: bool
    #: Exception types an SDK call raises for reasons outside our code (set by subclasses).
    _sdk_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, bucket: str, prefix: str = "", *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        if isinstance(bucket, str) and ("@" in bucket or ":" in bucket):
            # Never echoed: "KEY:SECRET@bucket" is credentials pasted where a name goes.
            raise InvalidKey(
                "bucket name contains '@' or ':' (credentials?); pass the bare bucket name "
                "and give credentials to the SDK's credential chain"
            )
        if (
            not isinstance(bucket, str)
            or not bucket
            or "/" in bucket
            or bucket != bucket.strip()
            or any(ord(c) < 32 for c in bucket)
        ):
            raise InvalidKey(
                f"bucket name {bucket!r} is empty or contains '/', spaces or control characters"
            )
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
        self._bucket_checked = False

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
    def _is_conflict(self, exc: BaseException) -> bool:
        """Whether an SDK exception says that a create-only write found its key taken."""

    @abstractmethod
    def _bucket_exists(self) -> bool:
        """Whether the bucket exists (SDK errors propagate)."""

    @abstractmethod
    def _read(self, name: str) -> bytes:
        """The bytes of object ``name``."""

    @abstractmethod
    def _read_chunks(self, name: str) -> Iterator[bytes]:
        """The bytes of object ``name``, streamed in chunks."""

    @abstractmethod
    def _write(self, name: str, data: bytes, metadata: dict[str, str] | None) -> None:
        """Write object ``name``: create-only with user ``metadata``, or overwrite if None."""

    @abstractmethod
    def _metadata(self, name: str) -> dict[str, str]:
        """The user metadata of object ``name`` (empty if it is gone)."""

    def _may_have_retried(self, exc: BaseException) -> bool:
        """Whether the request that raised ``exc`` may have been sent more than once."""
        return True

    @abstractmethod
    def _object_exists(self, name: str) -> bool:
        """Whether object ``name`` exists."""

    @abstractmethod
    def _list_names(self, prefix: str, *, delimited: bool) -> Iterator[str]:
        """Object names starting with ``prefix``; ``delimited``: only those directly under
        it, plus the deeper levels as common prefixes ending in ``/``."""

    @abstractmethod
    def _list_info(self, prefix: str) -> Iterator[ObjectInfo]:
        """The objects whose names start with ``prefix``, as the listing describes them
        (``key`` is the object name; :meth:`list_objects` makes it a store key)."""

    @abstractmethod
    def _delete(self, name: str) -> None:
        """Remove object ``name``; a missing object is not an error."""

    @abstractmethod
    def _start_upload(self, name: str, size: int) -> Upload:
        """Begin an invisible upload in parts of the object ``name`` (``size`` bytes)."""

    # -- the Store operations, built on them -----------------------------------------------

    def _where(self) -> str:
        return f"bucket {self.bucket!r} at {self.service} endpoint {self.endpoint_url}"

    def _no_bucket(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"bucket {self.bucket!r} does not exist at {self.service} endpoint "
            f"{self.endpoint_url}; create it first or fix the storage URI"
        )

    def _ensure_bucket(self) -> None:
        # A missing object and a missing bucket look alike to the SDKs (a bare 404, or
        # exists() answering False), so the bucket is checked once per store instead.
        if self._bucket_checked:
            return
        try:
            found = self._bucket_exists()
        except self._sdk_errors as exc:
            raise self._translate(exc, "open the bucket") from exc
        if not found:
            raise self._no_bucket()
        self._bucket_checked = True

    def _name(self, key: str, *, write: bool = False) -> str:
        """The object name of ``key``, once the key is valid, the bucket there, and (for
        ``write``) the store writable."""
        name = self._object_name(key)
        if write:
            self._check_writable(key)
        self._ensure_bucket()
        return name

    @contextlib.contextmanager
    def _reading(self, key: str) -> Iterator[None]:
        """Translate the errors of reading ``key``: a missing key is NotFound."""
        try:
            yield
        except self._sdk_errors as exc:
            if self._is_missing(exc):
                raise NotFound(f"no object {key!r} in store {self.uri}") from None
            raise self._translate(exc, f"read {key!r}") from exc

    @contextlib.contextmanager
    def _doing(self, action: str) -> Iterator[None]:
        """Translate the SDK's errors while trying to ``action``."""
        try:
            yield
        except self._sdk_errors as exc:
            raise self._translate(exc, action) from exc

    def get(self, key: str) -> bytes:
        # docstring inherited
        name = self._name(key)
        with self._reading(key):
            return self._read(name)

    def _get_chunks(self, key: str) -> Iterator[bytes]:
        # docstring inherited
        name = self._name(key)
        with self._reading(key):
            yield from self._read_chunks(name)

    def put(self, key: str, data: bytes, *, mode: PutMode = "create") -> None:
        # docstring inherited
        check_mode(mode)
        name = self._name(key, write=True)
        token = new_write_token()
        try:
            self._write(name, bytes(data), {WRITE_TOKEN_FIELD: token} if mode == "create" else None)
        except self._sdk_errors as exc:
            if mode != "create" or not self._is_conflict(exc):
                raise self._translate(exc, f"write {key!r}") from exc
            if not (self._may_have_retried(exc) and self._written_by(name, token)):
                raise AlreadyExists(f"{key!r} already exists in store {self.uri}") from None

    def _written_by(self, name: str, token: str) -> bool:
        # A retried create that finds the key taken may be looking at its own first attempt,
        # which landed although its reply was lost; the token it carried tells.
        try:
            return self._metadata(name).get(WRITE_TOKEN_FIELD) == token
        except self._sdk_errors:
            return False

    def exists(self, key: str) -> bool:
        # docstring inherited
        name = self._name(key)
        with self._doing(f"look up {key!r}"):
            return self._object_exists(name)

    def list(self, prefix: str = "") -> Iterator[str]:
        # docstring inherited
        self._ensure_bucket()
        with self._doing(f"list {prefix!r}"):
            for name in self._list_names(self._list_prefix(prefix), delimited=False):
                key = self._key_of(name)
                if key is not None:
                    yield key

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """The objects under ``prefix`` with their size, content tag and version.

        One listing request per 1,000 objects; no object is read. Objects :meth:`list`
        leaves out (folder markers, names with empty segments) are left out here too.

        Parameters
        ----------
        prefix : str
            A plain string prefix of keys, as for :meth:`list`.

        Returns
        -------
        iterator of ObjectInfo

        Raises
        ------
        StoreUnavailable
            The bucket does not exist or the service cannot be reached.
        """
        self._ensure_bucket()
        with self._doing(f"list {prefix!r}"):
            for info in self._list_info(self._list_prefix(prefix)):
                key = self._key_of(info.key)
                if key is not None:
                    yield ObjectInfo(key, info.size, info.etag, info.version, info.modified)

    def list_dir(self, prefix: str) -> Iterator[str]:
        # docstring inherited
        # The server groups deeper keys by their next segment (a delimiter), so a directory
        # of a few models costs one request, not a walk over every record under it.
        self._ensure_bucket()
        full = self._list_prefix(prefix)
        names: set[str] = set()
        with self._doing(f"list {prefix!r}"):
            for name in self._list_names(full, delimited=True):
                if name.endswith("/"):
                    names.add(name[len(full) :].rstrip("/"))
                elif self._key_of(name) is not None:
                    names.add(name[len(full) :])
        names.discard("")
        yield from sorted(names)

    def delete(self, key: str) -> None:
        # docstring inherited
        name = self._name(key, write=True)
        with self._doing(f"delete {key!r}"):
            self._delete(name)

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
        except self._sdk_errors as exc:
            if self._is_conflict(exc):
                return  # another writer stored this content-addressed blob meanwhile
            raise self._translate(exc, f"upload {key!r}") from exc

    def close(self) -> None:
        # docstring inherited
        if self._owns_client:
            self._client.close()
