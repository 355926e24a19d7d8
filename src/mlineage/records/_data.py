"""What a version points at: its data snapshot, its checkpoint, its environment."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, Field, JsonValue

from mlineage.errors import InvalidInput, InvalidRecord
from mlineage.records._base import Record, held, hold

if TYPE_CHECKING:
    from mlineage.engines._listing import SnapshotParts
    from mlineage.hashing import ArrayDigest

__all__ = ["ArtifactRef", "DataSnapshot", "EnvironmentSnapshot", "hold_blob", "pending_blob"]


class ArtifactRef(Record):
    """A file or directory identified by content: where it was, its hash and size.

    Attributes
    ----------
    path : str
        Where the artifact was when it was recorded (as given by the user).
    hash : str
        ``"sha256:<hex>"``; for a directory, the hash of its manifest.
    size : int
        Total bytes.
    kind : {"file", "directory"}
    num_files : int
        1 for a file.
    manifest : str or None
        Store key of the directory manifest blob (relative path, size, hash per file).
    blob : str or None
        Store key of the archived bytes when the artifact was archived into the store.
    """

    path: str
    hash: str
    size: int = Field(ge=0)
    kind: Literal["file", "directory"] = "file"
    num_files: int = Field(default=1, ge=0)
    manifest: str | None = None
    blob: str | None = None


class DataSnapshot(Record):
    """The exact data a version was trained on, identified by content.

    ``DataSnapshot(path=..., hash=...)`` records a snapshot whose hash you computed
    yourself; :meth:`from_path`, :meth:`from_array` and :meth:`from_dataframe` compute it.

    Attributes
    ----------
    path : str or None
        Where the data lives (a file, a directory, a table name, a URI).
    hash : str
        Content hash, conventionally ``"<algorithm>:<hex>"``.
    size : int or None
        Total bytes, when known.
    num_files : int or None
        Files in a directory snapshot.
    num_rows : int or None
        Rows, for tabular or array data. The canonical name; ``record_count`` (the
        prototype's name) is the same value: accepted by the constructor and readable.
    columns : dict or None
        Column name -> dtype, for tabular data.
    manifest : str or None
        Store key of the per-file manifest blob of a directory snapshot.
    profile : str or None
        Store key of the statistical profile blob used for drift analysis.
    source : str
        How the snapshot was made: ``"reference"``, ``"path"``, ``"array"``, ``"dataframe"``.
    schema_version : str or None
        The data's schema version, if you track one.
    created_at : datetime or None
        When the snapshot was taken (UTC; default: when the object was made). None for
        snapshots recorded by a store older than format 3.
    notes : str or None
    metadata : dict
        Free-form JSON.

    Examples
    --------
    >>> s = DataSnapshot(path="./data/", hash="sha256:" + "a" * 64, record_count=120)
    >>> s.num_rows, s.record_count
    (120, 120)
    >>> str(s)
    "DataSnapshot(path='./data/', hash=sha256:aaaaaaaaaaaa...)"
    """

    path: str | None = None
    hash: str = Field(min_length=1)
    size: int | None = Field(default=None, ge=0)
    num_files: int | None = Field(default=None, ge=0)
    num_rows: int | None = Field(default=None, ge=0)
    columns: dict[str, str] | None = None
    manifest: str | None = None
    profile: str | None = None
    source: Literal["reference", "path", "array", "dataframe"] = "reference"
    schema_version: str | None = None
    created_at: AwareDatetime | None = None
    notes: str | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    @classmethod
    def _prepare_arguments(cls, args: tuple[Any, ...], data: dict[str, Any]) -> dict[str, Any]:
        if args:
            raise InvalidRecord("DataSnapshot takes keyword arguments (path=..., hash=...)")
        if "record_count" in data:
            count = data.pop("record_count")
            rows = data.get("num_rows")
            if rows is not None and count is not None and rows != count:
                raise InvalidRecord(
                    f"DataSnapshot: record_count={count!r} and num_rows={rows!r} are one value "
                    "(two names for the row count); pass one of them"
                )
            if rows is None:
                data["num_rows"] = count
        if "created_at" not in data:
            data["created_at"] = datetime.now(timezone.utc)
        return data

    @property
    def record_count(self) -> int | None:
        """The row count (the prototype's name for :attr:`num_rows`)."""
        return self.num_rows

    def __hash__(self) -> int:
        # Equal snapshots hash equal; the dict fields (columns, metadata) are left out.
        return hash((self.path, self.hash, self.size, self.num_rows, self.created_at))

    def __eq__(self, other: object) -> bool:
        # By fields: the blobs a new snapshot holds until it is logged are not part of it.
        if isinstance(other, DataSnapshot):
            return type(self) is type(other) and self.__dict__ == other.__dict__
        return NotImplemented

    def __str__(self) -> str:
        shown = self.hash if len(self.hash) <= 19 else self.hash[:19] + "..."
        return f"DataSnapshot(path={self.path!r}, hash={shown})"

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        workers: int | None = None,
        cache: bool = True,
        progress: bool | None = None,
        notes: str | None = None,
        profile: bool = False,
        label: str | None = None,
    ) -> DataSnapshot:
        """Snapshot a file or directory by content.

        The hash is deterministic: the same bytes under the same relative paths give the
        same hash on any machine, whatever order the files are created or listed in (see
        :func:`mlineage.hashing.hash_path` for symlinks, empty directories and errors).
        A directory's per-file manifest (path, size, sha256) is kept and written to the
        store's blobs when the snapshot is logged, so ``Tracker.diff`` can later say which
        files were added, removed or changed. Unchanged files are not read again (a local
        cache keyed by path, size, mtime and inode).

        Parameters
        ----------
        path : path-like
        workers : int, optional
            Hashing threads (default: a few per core).
        cache : bool
            Use the local hash cache (``$MLINEAGE_CACHE_DIR``, default ``~/.cache/mlineage``).
        progress : bool, optional
            Progress line on stderr: None = only on a terminal and when slower than ~1 s.
        notes : str, optional
            Free text kept with the snapshot.
        profile : bool
            Also profile the data for drift analysis (``tracker.analysis.drift``): a
            Parquet or CSV file, or a directory of them, read batch by batch in bounded
            memory (needs pandas, and pyarrow for Parquet: ``pip install 'mlineage[data]'``).
            The profile is stored as a blob when the snapshot is logged.
        label : str, optional
            With ``profile``: the label column, profiled as the label.

        Raises
        ------
        PathNotFound, UnreadablePath, UnsupportedPath, PathChanged
        InvalidInput
            ``profile=True`` on a path that is not Parquet/CSV data.
        MissingDependency
            ``profile=True`` without pandas (or pyarrow, for Parquet).
        """
        from mlineage.content import blob_key_of
        from mlineage.hashing import hash_path

        digest = hash_path(path, workers=workers, cache=cache, progress=progress)
        pending: dict[str, bytes] = {}
        manifest_key = None
        if digest.kind == "directory":
            manifest_bytes = digest.manifest_bytes()
            manifest_key = blob_key_of(manifest_bytes)
            pending[manifest_key] = manifest_bytes
        profile_key = None
        if profile:
            from mlineage.stats._snapshot_profile import profile_path

            profile_key = _pend(pending, profile_path(path, label))
        snapshot = cls(
            path=os.fspath(path),
            hash=digest.hash,
            size=digest.size,
            num_files=digest.num_files,
            manifest=manifest_key,
            profile=profile_key,
            source="path",
            notes=notes,
        )
        hold(snapshot, pending=pending)
        return snapshot

    @classmethod
    def from_array(
        cls,
        X: Any,  # noqa: N803
        y: Any = None,
        *,
        path: str | None = None,
        profile: bool = False,
    ) -> DataSnapshot:
        """Snapshot in-memory numpy data (features ``X`` and optional labels ``y``).

        The hash covers dtype (with byte order), shape and bytes, so it is the same in every
        process and on every machine of the same byte order; the row count and column
        dtypes are recorded. Object arrays are refused (they would need pickling).

        With ``profile=True`` the data is also profiled
        (:meth:`mlineage.analysis.DataProfile.from_array`; ``y`` as the label) and the
        profile stored as a blob when the snapshot is logged, so
        ``tracker.analysis.drift`` works after the data is gone.

        Raises
        ------
        UnhashableData
        InvalidInput
            With ``profile``: data that cannot be profiled.
        """
        from mlineage.hashing import hash_array

        digest, profiled = hash_array(X, y), None
        if profile:
            from mlineage.stats._snapshot_profile import profile_array

            profiled = profile_array(X, y)
        return cls._held(path, digest, profiled, "array")

    @classmethod
    def from_dataframe(
        cls,
        df: Any,
        *,
        path: str | None = None,
        profile: bool = False,
        label: str | None = None,
    ) -> DataSnapshot:
        """Snapshot a pandas DataFrame: column names, dtypes, index and values.

        pandas is only needed if you pass a DataFrame; mlineage does not depend on it.
        With ``profile=True`` the frame is also profiled (``label`` names its label
        column) and the profile stored as a blob when the snapshot is logged.

        Raises
        ------
        UnhashableData
            For cells that have no stable byte form (lists, dicts, arbitrary objects).
        InvalidInput
            With ``profile``: ``label`` is not a column, or a column cannot be profiled.
        """
        from mlineage.hashing import hash_dataframe

        digest, profiled = hash_dataframe(df), None
        if profile:
            from mlineage.stats._snapshot_profile import profile_frame

            profiled = profile_frame(df, label)
        return cls._held(path, digest, profiled, "dataframe")

    @classmethod
    def _held(
        cls, path: str | None, digest: ArrayDigest, profiled: tuple[str, bytes] | None, source: str
    ) -> DataSnapshot:
        """A snapshot of in-memory data holding its profile's bytes until it is logged."""
        pending: dict[str, bytes] = {}
        profile_key = None if profiled is None else _pend(pending, profiled)
        snapshot = cls(
            path=path,
            hash=digest.hash,
            num_rows=digest.num_rows,
            columns=digest.columns,
            profile=profile_key,
            source=source,
        )
        hold(snapshot, pending=pending)
        return snapshot

    @classmethod
    def from_uri(
        cls,
        uri: str | os.PathLike[str],
        *,
        profile: bool = False,
        label: str | None = None,
        notes: str | None = None,
    ) -> DataSnapshot:
        """Snapshot data where it lives, from its object listing, without downloading it.

        ``s3://bucket/prefix/``, ``gs://bucket/prefix/``, ``file:///dir`` or a local path.
        The listing (key, size, ETag or MD5/CRC32C, S3 version id in a versioned bucket or
        GCS generation; size and modification time for local files) becomes the manifest,
        and the hash is the hash of the listing, so ``Tracker.diff`` names the objects
        added, removed or changed (see docs/engines.md for exactly what identifies an
        object and what is lost). With ``profile=True`` the Parquet objects are profiled
        in streaming batches with pyarrow (needs ``mlineage[data]``).

        Raises
        ------
        PathNotFound
            Nothing under ``uri``.
        InvalidInput
            ``uri`` not a non-empty string or path, an unknown scheme, keys a manifest cannot
            hold, or (with ``profile``) no Parquet.
        StoreUnavailable, MissingDependency
            As for stores on the same URI.
        """
        from mlineage.engines.objects import snapshot_parts

        if isinstance(uri, os.PathLike):
            uri = os.fspath(uri)
        if not isinstance(uri, str) or not uri:
            raise InvalidInput(
                f"from_uri needs a URI or path as a non-empty string (s3://bucket/prefix/, "
                f"gs://bucket/prefix/, file:///dir or a folder), got {uri!r}"
            )
        return _of_listing(snapshot_parts(uri, profile=profile, label=label), notes)

    @classmethod
    def from_spark(
        cls,
        df: Any,
        *,
        profile: bool = False,
        label: str | None = None,
        path: str | None = None,
        notes: str | None = None,
    ) -> DataSnapshot:
        """Snapshot a Spark DataFrame by the files it reads, never collecting its rows.

        ``df.inputFiles()`` with each file's size, modification time and Hadoop checksum
        (when the file system has one) becomes the manifest; ``profile=True`` profiles
        the frame on the executors (:func:`mlineage.engines.spark.profile`). ``path``
        names the data (a table name); by default the files' common folder. Needs
        ``pip install 'mlineage[spark]'``.

        Raises
        ------
        InvalidInput
            The frame reads no files, or (with ``profile``) cannot be profiled.
        """
        from mlineage.engines.spark import snapshot_parts

        return _of_listing(snapshot_parts(df, profile=profile, label=label, path=path), notes)

    @classmethod
    def from_dask(
        cls,
        ddf: Any,
        *,
        source: str | None = None,
        profile: bool = False,
        label: str | None = None,
        notes: str | None = None,
    ) -> DataSnapshot:
        """Snapshot a Dask DataFrame by the objects it reads, never computing it locally.

        ``source`` (the URI or folder it was read from; by default the path given to
        ``dd.read_parquet``) is listed as in :meth:`from_uri`; ``profile=True`` profiles
        the frame on the workers (:func:`mlineage.engines.dask.profile`). Needs
        ``pip install 'mlineage[dask]'``.

        Raises
        ------
        InvalidInput
            No source given or found, or (with ``profile``) the frame cannot be profiled.
        """
        from mlineage.engines.dask import snapshot_parts

        parts = snapshot_parts(ddf, source=source, profile=profile, label=label)
        return _of_listing(parts, notes)

    def with_profile(self, profile: Any) -> DataSnapshot:
        """This snapshot with ``profile`` attached (stored as a blob when it is logged).

        Parameters
        ----------
        profile : mlineage.analysis.DataProfile
            A profile of the snapshot's data, e.g. built batch by batch with
            ``DataProfile.from_batches``.

        Returns
        -------
        DataSnapshot
            A copy whose ``profile`` is the profile's blob key.

        Raises
        ------
        InvalidInput
            If ``profile`` is not a ``DataProfile``.
        """
        from mlineage.stats._snapshot_profile import profile_bytes

        pending = dict(held(self, "pending") or {})
        copy = self.model_copy(update={"profile": _pend(pending, profile_bytes(profile))})
        hold(copy, pending=pending)
        return copy


def _pend(pending: dict[str, bytes], blob: tuple[str, bytes]) -> str:
    key, data = blob
    pending[key] = data
    return key


def hold_blob(snapshot: DataSnapshot, key: str, data: bytes) -> None:
    """Let ``snapshot`` carry the bytes of blob ``key`` until its version is logged.

    For snapshots made outside this module from bytes the store does not have yet (an
    object listing's manifest, :mod:`mlineage.engines`): the writer stores them before
    the version record, as for :meth:`DataSnapshot.from_path`. The bytes travel with the
    object (never a table shared by the process); copies made by
    :meth:`~DataSnapshot.with_profile` keep them.

    >>> snapshot = DataSnapshot(path="s3://bucket/jan/")
    >>> hold_blob(snapshot, "blobs/sha256/00/" + "0" * 62, b"{}")
    >>> pending_blob(snapshot, "blobs/sha256/00/" + "0" * 62)
    b'{}'
    """
    pending = dict(held(snapshot, "pending") or {})
    pending[key] = data
    hold(snapshot, pending=pending)


def pending_blob(snapshot: DataSnapshot, key: str) -> bytes | None:
    """The bytes of blob ``key`` that ``snapshot`` computed and holds until it is logged.

    A snapshot made by :meth:`DataSnapshot.from_path` (a directory's manifest), or with a
    profile, carries those blobs itself until a writer stores them; any number of
    snapshots, in any threads, each with its own. None for a snapshot that holds no
    such blob (one decoded from a store, or built with ``DataSnapshot(...)``).

    Examples
    --------
    >>> snapshot = DataSnapshot(path="d/", hash="sha256:1")
    >>> pending_blob(snapshot, "blobs/sha256/00/" + "0" * 62) is None
    True
    """
    pending = held(snapshot, "pending")
    return None if pending is None else pending.get(key)


class EnvironmentSnapshot(Record):
    """The software environment a version was produced in.

    Captured automatically at log time and stored once per distinct environment as a
    content-addressed blob that versions point at (``ModelVersion.environment_ref``).
    Never holds environment variables, tokens or credentials.

    Attributes
    ----------
    python_version : str
    implementation : str
        ``"CPython"``, ``"PyPy"``, ...
    platform : str
        ``platform.platform()``.
    machine : str
        CPU architecture.
    packages : dict
        Installed distribution name (normalised) -> version.
    git_commit, git_branch : str or None
        Of the repository the training script ran in, when there is one.
    git_dirty : bool or None
        Whether that work tree had uncommitted changes.
    torch_version, cuda_version : str or None
        When torch was imported by the training script.
    captured_at : datetime or None
    """

    python_version: str = ""
    implementation: str = ""
    platform: str = ""
    machine: str = ""
    packages: dict[str, str] = Field(default_factory=dict)
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    torch_version: str | None = None
    cuda_version: str | None = None
    captured_at: datetime | None = None


def _of_listing(parts: SnapshotParts, notes: str | None) -> DataSnapshot:
    """A snapshot identified by an engine's object listing, its manifest held until the
    version that uses it is written (``from_uri`` / ``from_spark`` / ``from_dask``)."""
    from mlineage.content import blob_key_of

    digest = parts.listing.digest()
    manifest = digest.manifest_bytes()
    key = blob_key_of(manifest)
    snap = DataSnapshot(
        path=parts.path,
        hash=digest.hash,
        size=digest.size,
        num_files=digest.num_files,
        num_rows=None if parts.profile is None else parts.profile.num_rows,
        columns=parts.columns,
        manifest=key,
        source="reference",
        notes=notes,
        metadata={"listing": parts.listing.metadata()},
    )
    hold_blob(snap, key, manifest)
    return snap if parts.profile is None else snap.with_profile(parts.profile)
