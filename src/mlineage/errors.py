"""Every error mlineage raises, in one hierarchy.

Catch :class:`MLineageError` to handle all of them. Classes also subclass the builtin that
fits (``KeyError``, ``ValueError``, ...) so that code written against the prototype, which
caught builtins, keeps working::

    MLineageError
    ├── StoreError                      a storage backend could not do what was asked
    │   ├── NotFound (KeyError)         no object under that key
    │   ├── AlreadyExists (FileExistsError)   create-only write, key taken
    │   ├── InvalidKey (ValueError)     key that could escape the store or is malformed
    │   ├── UnknownScheme (ValueError)  storage URI with a scheme no backend handles
    │   ├── MissingDependency (ImportError)   backend extra not installed
    │   ├── StoreUnavailable (ConnectionError)  backend cannot be reached
    │   ├── StoreFormatError            store written by a newer mlineage
    │   ├── ReadOnlyError (PermissionError)   write through a read-only tracker
    │   ├── UnsupportedObject (CorruptRecord)  symlink, FIFO, device or oversized file in a store
    │   ├── StoreReadOnly (PermissionError)    file system mounted read-only
    │   ├── PermissionDenied (PermissionError) the OS refuses to write (or read) a file
    │   └── StoreFull (OSError)         no space left on the device, or quota exceeded
    ├── CorruptRecord (ValueError)      stored bytes that do not decode to a record
    ├── InvalidInput (ValueError)       bad value passed by the caller
    │   ├── MissingField                a required field of a version was not set
    │   ├── InvalidName                 model / version / alias name not allowed
    │   ├── InvalidMetric               metric that is not a finite real number
    │   ├── InvalidHyperparameter (TypeError)  value JSON cannot hold
    │   ├── InvalidTime                 unparsable or out-of-range time
    │   ├── PathNotFound (FileNotFoundError)  path to hash missing, or a dangling symlink
    │   ├── UnreadablePath (PermissionError)  file or directory the OS refuses to read
    │   ├── UnsupportedPath             FIFO, socket, device, or a symlink cycle
    │   ├── InvalidRecord (TypeError)   record built by hand with a wrong or unknown field
    │   ├── UnhashableData (TypeError)  array or column that cannot be hashed without pickle
    │   ├── PayloadTooLarge             evidence payload over the size limit
    │   ├── InvalidPolicy               gate policy with an unknown key or a wrong value
    │   └── InvalidSource               connector source it cannot read (card, dvc.lock)
    ├── LookupFailed (LookupError)
    │   ├── ModelNotFound (KeyError)    no such model in the store
    │   ├── VersionNotFound (KeyError)  no version matches the reference
    │   ├── AmbiguousReference          id prefix matching several versions
    │   ├── AliasNotFound (KeyError)    alias never set, or not set at that time
    │   ├── MetricNotFound (KeyError)   version has no such metric
    │   ├── ProfileNotFound (KeyError)  version's data snapshot has no stored profile
    │   ├── FingerprintNotFound (KeyError)  no fingerprint on that probe set
    │   └── EvidenceNotFound (KeyError) no such evidence event, or it has no payload
    ├── NameTaken (ValueError)          version name already claimed in the model
    ├── AliasConflict (ValueError)      compare-and-set alias move refused: it moved meanwhile
    ├── HashMismatch (ValueError)       content does not match its recorded hash
    ├── PathChanged                     file modified while it was being hashed
    ├── CheckoutError                   a version could not be reconstructed
    ├── ExportFailed (ConnectionError)  an export target refused the events or is unreachable
    └── Untestable                      raised by a bisect test: skip this version
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AliasConflict",
    "AliasNotFound",
    "AlreadyExists",
    "AmbiguousReference",
    "CheckoutError",
    "CorruptRecord",
    "EvidenceNotFound",
    "ExportFailed",
    "FingerprintNotFound",
    "HashMismatch",
    "InvalidHyperparameter",
    "InvalidInput",
    "InvalidKey",
    "InvalidMetric",
    "InvalidName",
    "InvalidPolicy",
    "InvalidRecord",
    "InvalidSource",
    "InvalidTime",
    "LookupFailed",
    "MLineageError",
    "MetricNotFound",
    "MissingDependency",
    "MissingField",
    "ModelNotFound",
    "NameTaken",
    "NotFound",
    "PermissionDenied",
    "PathChanged",
    "PathNotFound",
    "PayloadTooLarge",
    "ProfileNotFound",
    "ReadOnlyError",
    "SourceNotFound",
    "StoreError",
    "StoreFormatError",
    "StoreFull",
    "StoreReadOnly",
    "StoreUnavailable",
    "UnhashableData",
    "UnknownScheme",
    "UnreadablePath",
    "UnsupportedObject",
    "UnsupportedPath",
    "Untestable",
    "VersionNotFound",
]


class MLineageError(Exception):
    """Root of every error raised by mlineage."""

    def __str__(self) -> str:
        # KeyError.__str__ quotes its argument; messages here are sentences, not keys.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class StoreError(MLineageError):
    """A storage backend could not do what was asked."""


class NotFound(StoreError, KeyError):
    """No object is stored under the requested key."""


class AlreadyExists(StoreError, FileExistsError):
    """A create-only write found the key already taken; the stored bytes are untouched."""


class InvalidKey(StoreError, ValueError):
    """A store key is malformed or could escape the store's root."""


class UnknownScheme(StoreError, ValueError):
    """A storage URI names a scheme that no backend handles."""


class MissingDependency(StoreError, ImportError):
    """A backend needs an optional extra that is not installed."""


class StoreUnavailable(StoreError, ConnectionError):
    """The storage backend (bucket, endpoint) cannot be reached or refuses access."""


class StoreFormatError(StoreError):
    """The store was written in a format this version of mlineage cannot read."""


class ReadOnlyError(StoreError, PermissionError):
    """A write was attempted through a tracker or store opened read-only."""


class CorruptRecord(MLineageError, ValueError):
    """Stored bytes do not decode to a valid record (truncated, garbled, unknown format)."""


class InvalidInput(MLineageError, ValueError):
    """A value passed by the caller is not acceptable."""


class MissingField(InvalidInput):
    """A required field of a version (``model_path``, ``dataset``) was not set."""


class InvalidName(InvalidInput):
    """A model, version or alias name is empty, too long, or could escape the store."""


class InvalidMetric(InvalidInput):
    """A metric value is not a finite real number."""


class InvalidHyperparameter(InvalidInput, TypeError):
    """A hyperparameter value cannot be stored as JSON."""


class InvalidRecord(InvalidInput, TypeError):
    """A record (``DataSnapshot(...)``, ``ModelVersion(...)``) built with a bad or unknown field."""


class InvalidTime(InvalidInput):
    """A time could not be parsed, or lies outside the recorded history."""


class PathNotFound(InvalidInput, FileNotFoundError):
    """A path to hash does not exist, or is a symlink whose target does not exist."""


class UnreadablePath(InvalidInput, PermissionError):
    """The operating system refused to read a file or list a directory."""


class UnsupportedPath(InvalidInput):
    """A path is a FIFO, socket or device, or symlinks lead into a cycle."""


class UnhashableData(InvalidInput, TypeError):
    """An array or column holds Python objects that cannot be hashed without pickle."""


class LookupFailed(MLineageError, LookupError):
    """A reference (model, version, alias, metric) did not resolve."""


class ModelNotFound(LookupFailed, KeyError):
    """The store holds no model of that name."""


class VersionNotFound(LookupFailed, KeyError):
    """No version matches the given id, id prefix, name or alias."""


class AmbiguousReference(LookupFailed):
    """An id prefix matches several versions."""


class AliasNotFound(LookupFailed, KeyError):
    """The alias was never set, or did not point anywhere at the requested time."""


class FingerprintNotFound(LookupFailed, KeyError):
    """A version has no fingerprint on the probe set asked for (or two share none)."""


class MetricNotFound(LookupFailed, KeyError):
    """A version does not carry the requested metric."""


class NameTaken(MLineageError, ValueError):
    """A version name is already claimed by another version of the same model."""


class AliasConflict(MLineageError, ValueError):
    """A compare-and-set alias move was refused: the alias is not where it was expected.

    Nothing was written. The attributes say what the mover expected and what it found.
    """

    def __init__(self, message: str, *, alias: str, expected: str, found: Any) -> None:
        super().__init__(message)
        #: The alias that was to move.
        self.alias = alias
        #: What the mover expected, in words (a version, an event, "unset").
        self.expected = expected
        #: The alias's latest move (an ``AliasEvent``) when the move was refused, or None
        #: if it was never set. (Typed loosely: this lowest module imports no records.)
        self.found = found


class EvidenceNotFound(LookupFailed, KeyError):
    """No evidence event of that id in the model, or the event has no payload to load."""


class PayloadTooLarge(InvalidInput):
    """An evidence payload is larger than the store keeps as one evidence blob."""


class InvalidSource(InvalidInput):
    """A connector's source document (a model card, a ``dvc.lock``) cannot be read as its
    system documents it; the message names the file or entity."""


class SourceNotFound(LookupFailed, KeyError):
    """A connector's source (an MLflow experiment, a card file, a repository) does not exist."""


class InvalidPolicy(InvalidInput):
    """A promotion gate's policy has an unknown key, a value of the wrong type or range, or
    is not valid TOML/YAML/JSON; the message names the key and the line of the file."""

    def __init__(
        self, message: str, *, key: str | None = None, line: int | None = None, source: str = ""
    ) -> None:
        super().__init__(message)
        #: The offending key as a dotted path (``"metrics.accuracy.max_drop"``), if any.
        self.key = key
        #: Its 1-based line in the policy text, when known.
        self.line = line
        #: Where the policy came from: a file path, or ``"<string>"``.
        self.source = source


class HashMismatch(MLineageError, ValueError):
    """Content does not match the hash recorded for it."""


class PathChanged(MLineageError):
    """A file was modified while it was being hashed, so the hash describes no real state."""


class CheckoutError(MLineageError):
    """A version could not be reconstructed (missing or altered files)."""


class ExportFailed(MLineageError, ConnectionError):
    """An export target (an OpenLineage endpoint) refused the events or could not be reached."""


class UnsupportedObject(StoreError, CorruptRecord):
    """A store entry is a symlink, FIFO, device or socket, or larger than the format allows."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        #: The store key (or path relative to the root) of the entry.
        self.key = key


class StoreReadOnly(StoreError, PermissionError):
    """The file system holding the store (or a checkout target) is mounted read-only."""


class PermissionDenied(StoreError, PermissionError):
    """The operating system refuses to write (or read) a file of the store or a checkout."""


class StoreFull(StoreError, OSError):
    """No space is left on the device holding the store or a checkout, or a quota is full."""


class ProfileNotFound(LookupFailed, KeyError):
    """A version's data snapshot has no stored profile, so drift cannot be computed."""


class Untestable(MLineageError):
    """Raised by a bisect test for a version it cannot judge: the version is skipped."""
