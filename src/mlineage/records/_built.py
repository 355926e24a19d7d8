"""Versions built by the writer in this process: made without a second validation, and
encoded without the lazy-read wrap (both checked against pydantic's own result in the
tests, to the byte)."""

from __future__ import annotations

import functools
from typing import Any

from pydantic_core import SchemaSerializer

from mlineage.records._base import VersionStatus
from mlineage.records._version import _KIND, ModelVersion

__all__ = ["checked_version", "version_json"]

_new = object.__new__
_setattr = object.__setattr__
_VERSION_FIELDS_ORDERED = tuple(ModelVersion.model_fields)


def checked_version(**fields: Any) -> ModelVersion:
    """A version from ``fields`` its maker checked and converted itself (the writer).

    ``fields`` holds every field of :class:`ModelVersion` in order, each already of the type
    and value validation gives it (``Writer.build`` checks and converts what a user set:
    metrics, hyperparameters, tags, name, time; the rest it made). Validating them again
    was a quarter of a ``log_version``'s own CPU; they are taken as they are. What the
    writer does not check itself is checked here: the kind's pattern, the parents, and
    that text is plain ``str`` (validation turns a ``str`` subclass into one). Anything
    unexpected goes through the validating constructor, whose error names the field.
    """
    if (
        tuple(fields) != _VERSION_FIELDS_ORDERED
        or type(fields["model"]) is not str
        or type(fields["model_path"]) is not str
        or type(fields["notes"]) is not str
        or not (fields["name"] is None or type(fields["name"]) is str)
        or not all(type(text) is str for text in (*fields["tags"], *fields["metrics"]))
        or not isinstance(fields["kind"], str)
        or _KIND.fullmatch(fields["kind"]) is None
        or fields["status"] is not VersionStatus.COMMITTED
        or fields["committed_at"] is not fields["created_at"]
        or fields["id"] in fields["parents"]
        or len(set(fields["parents"])) != len(fields["parents"])
    ):
        return ModelVersion(**fields)
    version: ModelVersion = _new(ModelVersion)
    _setattr(version, "__dict__", fields)
    _setattr(version, "__pydantic_fields_set__", set(_VERSION_FIELDS_ORDERED))
    _setattr(version, "__pydantic_extra__", None)
    _setattr(version, "__pydantic_private__", None)
    return version


def version_json(version: ModelVersion) -> bytes:
    """``version.model_dump_json().encode()``, faster for a version built in this process.

    A version read lazily goes through the model's own serializer, whose wrap reads the
    record first; one built eagerly (``__pydantic_private__`` None: the writer's) through
    the same schema without that wrap, a Python call per record less.
    """
    if version.__pydantic_private__ is None:
        eager = _eager_serializer()
        if eager is not None:
            return eager.to_json(version)
    return ModelVersion.__pydantic_serializer__.to_json(version)


@functools.cache
def _eager_serializer() -> SchemaSerializer | None:
    # ModelVersion's core schema is {definitions: {function-after (the validator): {model
    # (with the wrap serializer)}}}; anything else (another pydantic): no shortcut.
    top: dict[str, Any] = dict(ModelVersion.__pydantic_core_schema__)
    after = top.get("schema") if top.get("type") == "definitions" else None
    model = after.get("schema") if isinstance(after, dict) else None
    if not isinstance(after, dict) or not isinstance(model, dict):
        return None
    serialization = model.get("serialization")
    if model.get("cls") is not ModelVersion or not isinstance(serialization, dict):
        return None
    if serialization.get("type") != "function-wrap":
        return None
    plain = {key: value for key, value in model.items() if key != "serialization"}
    return SchemaSerializer({**top, "schema": {**after, "schema": plain}})
