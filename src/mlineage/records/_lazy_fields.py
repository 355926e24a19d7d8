"""A lazy :class:`~mlineage.records.ModelVersion`'s fields, read one at a time.

Each field of ``ModelVersion`` (but ``id``) has a :class:`LazyField` on the class: a version
whose record is unread, or kept in its tracker's :class:`~mlineage.records.RecordCache`,
reads the field there (:meth:`RecordCache.field`), from the record parsed from JSON and
validated for that field alone by :func:`read_field`: the field's own pydantic validator
and the record's checks that involve it. What validating the whole record gives is the
reference: a hypothesis test compares the two on every field and any JSON value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel

from mlineage.records._base import VersionStatus
from mlineage.records._data import DataSnapshot
from mlineage.records._lazy import RecordCache, record_of

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = [
    "DATASET_FIELDS_SET",
    "DATASET_FIELD_COUNT",
    "LazyField",
    "install",
    "parents_ok",
    "read_field",
]

_setattr = object.__setattr__
#: The fields set that decoded data snapshots setting every field share (see
#: ``records._version._share_fields_set``).
DATASET_FIELDS_SET = set(DataSnapshot.model_fields)
DATASET_FIELD_COUNT = len(DATASET_FIELDS_SET)


class LazyField:
    """A field of a lazy :class:`ModelVersion`, read from its record (see ``records._lazy``).

    A non-data descriptor: an eagerly built version's field is in its ``__dict__``, which
    Python looks at first, so only a version whose record is unread (or kept in its
    tracker's cache) comes here. Without it, Python would first raise and catch an
    ``AttributeError`` and then call ``ModelVersion.__getattr__``: about 0.9 µs for every
    field looked at, against 0.15 µs here. On the class it is not there (as pydantic
    leaves fields), so subclasses and pydantic see the fields as before.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, version: BaseModel | None, owner: type | None = None) -> Any:
        if version is not None:
            private = version.__pydantic_private__
            if private is not None and "source" in private:
                cache: RecordCache | None = private.get("records")
                if cache is not None:  # this field alone (see RecordCache.field)
                    return cache.field(
                        private["source"],
                        private["index"],
                        version.__dict__["id"],
                        self.name,
                        read_field,
                    )
                record = record_of(version)  # the record read into the version
                if record is not None:
                    return record.__dict__[self.name]
        # ModelVersion.__getattr__ then says what is missing, as without the descriptor.
        raise AttributeError(self.name)


def parents_ok(version_id: str, parents: tuple[str, ...]) -> bool:
    """No parent repeats and none is the version itself (ModelVersion's own check)."""
    return len(set(parents)) == len(parents) and version_id not in parents


def _plain_str(value: Any) -> str:
    if type(value) is not str:
        raise ValueError(f"not a string: {type(value).__name__}")
    return value


def _field_checks() -> dict[str, Callable[[Any], Any]]:
    """For each field of ModelVersion, what validating a record does to its JSON value
    (pydantic's validator of the field's type and constraints; a type check for a plain
    ``str``)."""
    from pydantic import TypeAdapter

    checks: dict[str, Callable[[Any], Any]] = {}
    for name, info in _MODEL_FIELDS.items():
        annotation = info.annotation
        if annotation is str and not info.metadata:
            checks[name] = _plain_str
            continue
        # The field's own FieldInfo carries its constraints (a pattern, a length).
        target: Any = Annotated[annotation, info] if info.metadata else annotation
        checks[name] = TypeAdapter(target).validate_python
    return checks


_FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {}
#: ModelVersion's fields (:func:`install`).
_MODEL_FIELDS: dict[str, FieldInfo] = {}


def install(model: type[BaseModel]) -> None:
    """Put a :class:`LazyField` on ``model`` (``ModelVersion``) for each field but ``id``,
    and read those fields with ``model``'s validators (``records._version`` calls it once
    the class exists)."""
    _MODEL_FIELDS.update(model.model_fields)
    for name in model.model_fields:
        if name != "id":  # always in a version's own __dict__
            setattr(model, name, LazyField(name))


def read_field(raw: dict[str, Any], fields: dict[str, Any], name: str, version_id: str) -> Any:
    """Field ``name`` of a version record parsed from JSON (``raw``, every field present),
    as validating the whole record gives it (a :data:`~mlineage.records.FieldReader`).

    The checks that look at two fields are made where either is read: ``parents``
    against the id, and a ``committed_at`` left null (stored so when it equals
    ``created_at``) takes ``created_at`` when the version is committed. Raises
    ``ValueError`` where validating the whole record would fail.
    """
    checks = _FIELD_CHECKS
    if not checks:  # built on first use: importing mlineage builds no validator
        checks.update(_field_checks())
    value = checks[name](raw[name])
    if name == "parents":
        if value and not parents_ok(version_id, value):
            raise ValueError("parents repeat a version or name the version itself")
    elif name == "committed_at":
        if value is None and _known(raw, fields, "status", version_id) is VersionStatus.COMMITTED:
            value = _known(raw, fields, "created_at", version_id)
    elif name == "dataset" and len(value.__pydantic_fields_set__) == DATASET_FIELD_COUNT:
        _setattr(value, "__pydantic_fields_set__", DATASET_FIELDS_SET)
    return value


def _known(raw: dict[str, Any], fields: dict[str, Any], name: str, version_id: str) -> Any:
    """Field ``name`` from ``fields``, or read into it (:func:`read_field`)."""
    try:
        return fields[name]
    except KeyError:
        value = fields[name] = read_field(raw, fields, name, version_id)
        return value
