"""The base of every record: strict frozen models, typed errors, names, statuses."""

from __future__ import annotations

import re
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from mlineage._ids import ID_PATTERN
from mlineage._text import surrogate_message
from mlineage.errors import InvalidName, InvalidRecord

__all__ = [
    "HELD",
    "MAX_NAME_LENGTH",
    "Record",
    "VersionStatus",
    "explain_validation",
    "held",
    "hold",
    "validate_name",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_NAME_LENGTH = 128


def validate_name(name: object, what: str = "model") -> str:
    """Check a model, version or alias name and return it.

    A name is 1-128 characters of ASCII letters, digits, ``.``, ``_`` and ``-``, starting
    with a letter or digit. That keeps every name a safe single path segment on every
    backend (no ``/``, no ``..``, no NUL). Version names and aliases also may not look like
    a version id (32 hex digits), so references stay unambiguous.

    Parameters
    ----------
    name : object
        The candidate.
    what : str
        ``"model"``, ``"version name"`` or ``"alias"``, used in the error message.

    Raises
    ------
    InvalidName
        If ``name`` breaks any rule; the message says which.

    Examples
    --------
    >>> validate_name("fraud-detector")
    'fraud-detector'
    """
    if not isinstance(name, str):
        raise InvalidName(f"{what} must be a str, got {type(name).__name__}: {name!r}")
    if not name:
        raise InvalidName(f"{what} is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"{what} {name[:40]!r}... is {len(name)} characters; the limit is {MAX_NAME_LENGTH}"
        )
    if not _NAME.match(name):
        raise InvalidName(
            f"{what} {name!r} is not allowed: use ASCII letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (no '/', spaces or '..' tricks)"
        )
    if what != "model" and ID_PATTERN.match(name):
        raise InvalidName(f"{what} {name!r} looks like a version id; choose another")
    return name


class VersionStatus(str, Enum):
    """Lifecycle state of a version.

    A version a tracker writes is ``COMMITTED`` (with ``committed_at`` set); later states
    are recorded as :class:`StatusEvent` records and reported by ``Tracker.status``. A
    version built by hand (``ModelVersion(...)``) starts ``STAGED`` until
    :meth:`ModelVersion.commit`.
    """

    STAGED = "staged"
    PENDING = "pending"
    COMMITTED = "committed"
    FAILED = "failed"
    DEPRECATED = "deprecated"
    ROLLED_BACK = "rolled_back"
    ARCHIVED = "archived"


if TYPE_CHECKING:
    from pydantic._internal._model_construction import ModelMetaclass
else:
    ModelMetaclass = type(BaseModel)  # pydantic's metaclass, without a private import


class RecordMeta(ModelMetaclass):
    """Builds records called by hand: positional and legacy arguments, typed errors.

    Only a call of the class (``DataSnapshot(...)``) comes here; decoding a stored record
    (``model_validate_json``) does not, so stored records are read exactly as written and
    at full speed. A class may define ``_prepare_arguments(args, data) -> data`` to map
    the prototype's positional arguments and names, and fill defaults such as "now"; it
    may put under :data:`HELD` what the new record carries besides its fields (see
    :func:`hold`).
    """

    def __call__(cls, *args: Any, **data: Any) -> Any:  # noqa: N805
        prepare = getattr(cls, "_prepare_arguments", None)
        if prepare is not None:
            data = prepare(args, data)
        elif args:
            raise InvalidRecord(f"{cls.__name__} takes keyword arguments only")
        held = data.pop(HELD, None)
        try:
            record = super().__call__(**data)
        except ValidationError as exc:
            raise InvalidRecord(explain_validation(cls, exc)) from None  # type: ignore[arg-type]
        if held:
            hold(record, **held)
        return record


#: The argument under which ``_prepare_arguments`` hands a new record its held state.
HELD = "__held__"


def hold(record: BaseModel, **state: Any) -> None:
    """Let ``record`` carry ``state`` besides its fields (never stored, never compared).

    What a record holds travels with the object itself, not in a table shared by the
    process: a snapshot's blobs waiting to be written, the store a version was read
    from. It sits in pydantic's private slot (``__pydantic_private__``), which records
    decoded from a store leave empty; the records that hold something compare and hash
    by their fields only.
    """
    private = record.__pydantic_private__
    if private is None:
        object.__setattr__(record, "__pydantic_private__", dict(state))
    else:
        private.update(state)


def held(record: BaseModel, name: str) -> Any:
    """What ``record`` holds under ``name`` (see :func:`hold`), or None."""
    private = record.__pydantic_private__
    return None if private is None else private.get(name)


class Record(BaseModel, metaclass=RecordMeta):
    """A frozen record that refuses unknown fields; bad fields raise :class:`InvalidRecord`."""

    # cache_strings="keys": a decoded record's dict keys (metric and hyperparameter
    # names) are shared with the records decoded before it; its values are not looked up
    # in pydantic's string cache, which costs more than it saves for ids and hashes.
    model_config = ConfigDict(frozen=True, extra="forbid", cache_strings="keys")


def explain_validation(cls: type[BaseModel], error: ValidationError) -> str:
    """One sentence per problem of a record built by hand, naming the field."""
    name = cls.__name__
    problems = []
    for item in error.errors()[:5]:
        field = ".".join(str(part) for part in item["loc"]) or "(record)"
        if item["type"] == "extra_forbidden":
            accepted = ", ".join(cls.model_fields)
            problems.append(f"unknown field {field!r} (accepted: {accepted})")
        elif item["type"] == "missing":
            problems.append(f"missing required field {field!r}")
        elif item["type"] == "string_unicode":  # a constrained str with a lone surrogate
            problem = surrogate_message(item.get("input"), field)
            problems.append(problem or f"field {field!r}: {item['msg']}")
        else:
            problems.append(f"field {field!r}: {item['msg']} (got {item.get('input')!r:.60})")
    more = len(error.errors()) - len(problems)
    tail = f"; and {more} more" if more > 0 else ""
    return f"{name}: " + "; ".join(problems) + tail
