"""Lazily read version records: a :class:`~mlineage.records.ModelVersion` that holds only
its id until something looks at another field.

A version loaded from a pack starts with only its id in ``__dict__`` and a pointer to its
bytes in ``__pydantic_private__`` (:func:`~mlineage.records.lazy_versions`); the first
access to any other field reads and validates the whole record (:func:`materialise`).
``ModelVersion`` calls :func:`materialise` from every method that looks at its fields, so
a lazy version is indistinguishable from one decoded eagerly. An eagerly built version
has no ``source`` there and pays nothing for this.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

__all__ = ["VersionSource", "is_lazy", "materialise"]

_setattr = object.__setattr__
#: What a lazy version holds (in ``__pydantic_private__``) until its record is read.
_LAZY_SLOTS = ("source", "index")


class VersionSource(Protocol):
    """Where a lazy version's full record comes from (a pack, see ``mlineage.codec``)."""

    def load_version(self, index: int, version_id: str) -> BaseModel:
        """Read, validate and return record ``index``, which must have id ``version_id``."""
        ...


def materialise(version: BaseModel) -> bool:
    """Read a lazy version's record into it; False if it was not lazy."""
    private = version.__pydantic_private__
    if private is None or "source" not in private:
        return False
    full = private["source"].load_version(private["index"], version.__dict__["id"])
    version.__dict__.update(full.__dict__)
    _setattr(version, "__pydantic_fields_set__", full.__pydantic_fields_set__)
    _setattr(version, "__pydantic_extra__", None)
    # What else the version holds (the store it was read from) stays.
    rest = {k: v for k, v in private.items() if k not in _LAZY_SLOTS}
    _setattr(version, "__pydantic_private__", rest or None)
    return True


def is_lazy(version: BaseModel) -> bool:
    """Whether ``version``'s record has not been read yet (for tests and diagnostics)."""
    private = version.__pydantic_private__
    return private is not None and "source" in private
