"""Lazily read version records: a :class:`~mlineage.records.ModelVersion` that holds only
its id until something looks at another field.

A version loaded from a pack starts with only its id in ``__dict__`` and a pointer to its
bytes in ``__pydantic_private__``; the first access to any other field reads and validates
the whole record (:func:`materialise`). ``ModelVersion`` calls :func:`materialise` from
every method that looks at its fields, so a lazy version is indistinguishable from one
decoded eagerly. An eagerly built version has ``__pydantic_private__ = None`` and pays
nothing for this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mlineage.records import ModelVersion

__all__ = ["VersionSource", "is_lazy", "lazy_version", "lazy_versions", "materialise"]

_new = object.__new__
_setattr = object.__setattr__


class VersionSource(Protocol):
    """Where a lazy version's full record comes from (a pack, see ``mlineage.codec``)."""

    def load_version(self, index: int, version_id: str) -> ModelVersion:
        """Read, validate and return record ``index``, which must have id ``version_id``."""
        ...


def lazy_version(version_id: str, source: VersionSource, index: int) -> ModelVersion:
    """A :class:`ModelVersion` whose fields are read from ``source`` on first access.

    Costs about a microsecond, against 10-20 for decoding and validating the record; a
    tracker loading 10^5 versions from packs builds its lineage from the packs' index
    and reads a record only when something looks at it.
    """
    return lazy_versions([version_id], source, start=index)[0]


def lazy_versions(
    version_ids: list[str], source: VersionSource, *, start: int = 0
) -> list[ModelVersion]:
    """:func:`lazy_version` of record ``start + i`` of ``source`` for each ``version_ids[i]``."""
    from mlineage.records import ModelVersion  # records imports this module

    out: list[ModelVersion] = []
    append, new, setattr_ = out.append, _new, _setattr
    for index, version_id in enumerate(version_ids, start):
        version = new(ModelVersion)
        setattr_(version, "__dict__", {"id": version_id})
        # __pydantic_fields_set__ and __pydantic_extra__ stay unset until the record is
        # read (__getattr__ reads it when asked for them): two fewer writes per version.
        setattr_(version, "__pydantic_private__", {"source": source, "index": index})
        append(version)
    return out


def materialise(version: ModelVersion) -> bool:
    """Read a lazy version's record into it; False if it was not lazy."""
    private = version.__pydantic_private__
    if private is None:
        return False
    full = private["source"].load_version(private["index"], version.__dict__["id"])
    version.__dict__.update(full.__dict__)
    _setattr(version, "__pydantic_fields_set__", full.__pydantic_fields_set__)
    _setattr(version, "__pydantic_extra__", None)
    _setattr(version, "__pydantic_private__", None)
    return True


def is_lazy(version: ModelVersion) -> bool:
    """Whether ``version``'s record has not been read yet (for tests and diagnostics)."""
    return version.__pydantic_private__ is not None
