"""Turning what users pass (numpy scalars, tuples, dates as strings) into storable values."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from pydantic import JsonValue

from mlineage.errors import (
    InvalidHyperparameter,
    InvalidInput,
    InvalidMetric,
    InvalidRecord,
    InvalidTime,
)
from mlineage.records import MAX_ORIGIN_EXTRA_BYTES, Origin
from mlineage.records._small import encoded_size, too_large

__all__ = [
    "MAX_DEPTH",
    "MAX_FUTURE_SKEW",
    "MAX_INT_DIGITS",
    "as_utc",
    "check_log_time",
    "coerce_hyperparameters",
    "coerce_metrics",
    "coerce_origin",
    "coerce_small",
    "coerce_tags",
    "one_of",
    "parse_time",
]

_MAX_TAG_LENGTH = 256
#: Deepest nesting of lists and dicts in a hyperparameter (or metadata) value. Records are
#: decoded by a JSON parser with a recursion limit; a limit well inside it means whatever
#: is accepted also loads.
MAX_DEPTH = 64
#: Largest integer magnitude in a hyperparameter, in decimal digits: Python refuses to
#: convert integers of more than 4,300 digits to and from text (a denial-of-service guard).
MAX_INT_DIGITS = 1000
#: How far ahead of this machine's clock a backfilled ``log(timestamp=...)`` may be. A
#: version from the future would become every later version's default parent, and every
#: later ``log()`` would then be refused as predating its parent.
MAX_FUTURE_SKEW = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# A calendar date alone (2024-01-15, 20240115, optionally with a UTC "Z"): end of that day.
_DATE_ONLY = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})Z?")


def one_of(*, required: bool = True, **spellings: Any) -> Any:
    """The one value given among two spellings of an argument (``model=`` / ``model_name=``).

    Raises
    ------
    InvalidInput
        If both are given, or (``required``) neither.
    """
    given = {name: value for name, value in spellings.items() if value is not None}
    names = " or ".join(f"{name}=" for name in spellings)
    if len(given) > 1:
        raise InvalidInput(f"pass {names}, not both (they are two names for one argument)")
    if not given and required:
        raise InvalidInput(f"{names} is required")
    return next(iter(given.values()), None)


def coerce_metrics(metrics: object) -> dict[str, float]:
    """Return ``metrics`` as ``{str: float}``; refuse anything else, naming the metric.

    Accepts Python and numpy real numbers (ints included). Refuses booleans, strings, None,
    NaN and infinities: a metric that is not a finite number would make every delta and
    blame score meaningless, so it is rejected with the metric's name rather than stored.

    Raises
    ------
    InvalidMetric
    """
    if type(metrics) is not dict and not isinstance(metrics, Mapping):
        raise InvalidMetric(
            f"metrics must be a dict of name -> number, got {type(metrics).__name__}"
        )
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise InvalidMetric(f"metric names must be non-empty str, got {key!r}")
        if type(value) is float:  # the common case, without the ABC checks below
            number = value
        else:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                if hasattr(value, "item") and getattr(value, "shape", None) == ():
                    value = value.item()  # 0-d numpy array or tensor-like scalar
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise InvalidMetric(
                        f"metric {key!r} must be a real number, got {type(value).__name__}: "
                        f"{value!r:.80}"
                    )
            try:
                number = float(value)
            except (OverflowError, ValueError):
                number = math.inf  # 10**400, Fraction(10**400): beyond any float
        if not math.isfinite(number):
            raise InvalidMetric(
                f"metric {key!r} is {number}; mlineage stores finite numbers only "
                "(leave the metric out, or record the failure in notes/tags)"
            )
        out[str.__str__(key)] = number  # plain str, as validation would make it
    return out


def _json_value(value: Any, where: str, depth: int = 0) -> JsonValue:
    if value is None or isinstance(value, bool) or type(value) is str:
        return value
    if type(value) is dict and depth < MAX_DEPTH:
        return _json_object(value, where, depth)
    if isinstance(value, str):
        return str.__str__(value)  # plain text of a str subclass, as pydantic makes it
    if isinstance(value, numbers.Integral):
        number = int(value)
        if number.bit_length() > _MAX_INT_BITS:
            raise InvalidHyperparameter(
                f"hyperparameter {where} is an integer of {number.bit_length()} bits; "
                f"integers are stored with at most {MAX_INT_DIGITS} digits (store a "
                "larger one as a string)"
            )
        return number
    if depth >= MAX_DEPTH and isinstance(value, (Mapping, list, tuple)):
        raise InvalidHyperparameter(
            f"hyperparameter {where} is nested more than {MAX_DEPTH} levels deep (or "
            "refers to itself); flatten it or store it as a string"
        )
    if isinstance(value, numbers.Real):
        try:
            real = float(value)
        except (OverflowError, ValueError):
            real = math.inf
        if not math.isfinite(real):
            raise InvalidHyperparameter(
                f"hyperparameter {where} is {real}; JSON cannot hold NaN or infinity "
                "(store it as a string, e.g. 'inf', if you mean it)"
            )
        return real
    if isinstance(value, Mapping):
        return _json_object(value, where, depth)
    if isinstance(value, (list, tuple)):
        return [_json_value(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind is not None and hasattr(value, "tolist"):
        if kind in "biuf":
            return _json_value(value.tolist(), where, depth)
        raise InvalidHyperparameter(
            f"hyperparameter {where} is an array of dtype {value.dtype}; only arrays of "
            "numbers or booleans are converted"
        )
    raise InvalidHyperparameter(
        f"hyperparameter {where} is a {type(value).__name__} ({value!r:.60}), which JSON "
        "cannot hold; pass numbers, strings, booleans, None, lists or dicts of them"
    )


#: Bits of the largest integer a hyperparameter may be (MAX_INT_DIGITS decimal digits).
_MAX_INT_BITS = MAX_INT_DIGITS * 3.33


def _json_object(value: Mapping[Any, Any], where: str, depth: int) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidHyperparameter(
                f"hyperparameter {where} has a non-string key {key!r}; use str keys"
            )
        kind = type(item)
        if (
            kind is str
            or item is None
            or kind is bool
            or (kind is float and math.isfinite(item))
            or (kind is int and item.bit_length() <= _MAX_INT_BITS)
        ):
            out[str.__str__(key)] = item  # plain JSON already (the common case)
        else:
            out[str.__str__(key)] = _json_value(item, f"{where}[{key!r}]", depth + 1)
    return out


def coerce_hyperparameters(hyperparameters: object) -> dict[str, JsonValue]:
    """Return ``hyperparameters`` as JSON values, converting numpy scalars and arrays.

    Raises
    ------
    InvalidHyperparameter
        Naming the key path (``hyperparameters['optim']['betas'][0]``) of the bad value.
    """
    if not isinstance(hyperparameters, Mapping):
        raise InvalidHyperparameter(
            f"hyperparameters must be a dict, got {type(hyperparameters).__name__}"
        )
    converted = _json_value(hyperparameters, "hyperparameters")
    assert isinstance(converted, dict)  # a Mapping converts to a dict
    return converted


def _small_scalar(value: object, where: str) -> bool | int | float | str | None:
    if value is None or isinstance(value, (bool, str)):
        return value
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind == "b" and getattr(value, "ndim", 1) == 0:
        return bool(value)  # numpy.bool_
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)):
        return float(value)
    raise InvalidInput(
        f"{where} is {value!r:.60} ({type(value).__name__}); a small JSON object holds finite "
        "numbers, strings, booleans and None, or flat lists of them (put nested or "
        "structured output in the payload)"
    )


def coerce_small(value: object, what: str, limit: int) -> dict[str, Any]:
    """Return ``value`` as a small flat JSON object (an evidence summary, an origin's extra).

    ``str`` keys; values ``None``, ``bool``, ``int``, finite ``float``, ``str`` or a flat
    list (or 1-d array) of them; numpy scalars are converted; at most ``limit`` bytes of
    compact JSON. None is ``{}``.

    Raises
    ------
    InvalidInput
        Naming the key and the value (or the size and the limit).

    Examples
    --------
    >>> coerce_small({"share": 0.5, "drifted": ("a", "b")}, "summary", 1024)
    {'share': 0.5, 'drifted': ['a', 'b']}
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a dict, got {type(value).__name__}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > 128:
            raise InvalidInput(f"{what} keys are str of 1-128 characters, got {key!r:.60}")
        where = f"{what}[{key!r}]"
        if isinstance(item, (list, tuple)) or getattr(item, "ndim", 0) == 1:
            items = item.tolist() if hasattr(item, "tolist") else item
            out[key] = [_small_scalar(x, f"{where}[{i}]") for i, x in enumerate(items)]
        else:
            out[key] = _small_scalar(item, where)
    size = encoded_size(out)
    if size > limit:
        raise InvalidInput(f"{too_large(what, size, limit)}; nothing was written")
    return out


def coerce_origin(origin: object) -> Origin | None:
    """A version's origin as a record: an :class:`Origin`, a dict of its fields, or None.

    Raises
    ------
    InvalidInput
        Naming the field; ``extra`` is checked as by :func:`coerce_small`.
    """
    if origin is None or isinstance(origin, Origin):
        return origin
    if not isinstance(origin, Mapping):
        raise InvalidInput(
            f"origin must be an ml.Origin or a dict of its fields, got {type(origin).__name__}"
        )
    fields = dict(origin)
    if "extra" in fields:
        fields["extra"] = coerce_small(fields["extra"], "origin extra", MAX_ORIGIN_EXTRA_BYTES)
    try:
        return Origin(**fields)
    except InvalidRecord as exc:
        raise InvalidRecord(f"{exc}; nothing was written") from None


def coerce_tags(tags: object) -> tuple[str, ...]:
    """Return ``tags`` as a tuple of unique non-empty strings, in the order given.

    Raises
    ------
    InvalidInput
    """
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, (list, tuple, set, frozenset)):
        raise InvalidInput(f"tags must be a list of str, got {type(tags).__name__}")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidInput(f"tags must be non-empty str, got {tag!r}")
        if len(tag) > _MAX_TAG_LENGTH or any(ord(c) < 32 for c in tag):
            raise InvalidInput(
                f"tag {tag[:40]!r} is longer than {_MAX_TAG_LENGTH} characters or holds "
                "control characters"
            )
        if tag not in out:
            out.append(tag)
    return tuple(out)


def parse_time(at: object, *, what: str = "at") -> datetime:
    """Parse a point in time: a datetime, a date, or an ISO 8601 string.

    Naive datetimes are taken as UTC. A date alone (``date(2024, 1, 15)`` or
    ``"2024-01-15"``) means the *end* of that day in UTC, so "what was running on 15
    January" includes what was deployed during that day.

    Raises
    ------
    InvalidTime
        For anything else, or an unparsable string.

    Examples
    --------
    >>> parse_time("2024-01-15").isoformat()
    '2024-01-15T23:59:59.999999+00:00'
    """
    if isinstance(at, datetime):
        return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at
    if isinstance(at, date):
        return datetime.combine(at, time.max, tzinfo=timezone.utc)
    if isinstance(at, str):
        text = at.strip()
        try:
            day = _DATE_ONLY.fullmatch(text)
            if day is not None:
                return datetime.combine(
                    date(int(day[1]), int(day[2]), int(day[3])), time.max, tzinfo=timezone.utc
                )
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidTime(
                f"{what}={at!r} is not an ISO 8601 date or time; use e.g. '2024-01-15' or "
                "'2024-01-15T09:30:00+00:00'"
            ) from None
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed
    raise InvalidTime(
        f"{what} must be a datetime, date or ISO 8601 string, got {type(at).__name__}: {at!r}"
    )


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC (naive values are taken as UTC).

    Raises
    ------
    InvalidTime
        If the time in UTC is outside the years 1-9999 (``9999-12-31T23:59:59-01:00``).
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise InvalidTime(
            f"{value.isoformat()} is outside the years 1-9999 once converted to UTC"
        ) from None


def check_log_time(when: datetime, *, now: datetime | None = None) -> datetime:
    """Check a backfilled creation time (UTC) for ``log(timestamp=...)`` and return it.

    Raises
    ------
    InvalidTime
        Before 1970 (ids encode milliseconds since the Unix epoch), or more than
        :data:`MAX_FUTURE_SKEW` ahead of this machine's clock.
    """
    if when < _EPOCH:
        raise InvalidTime(
            f"timestamp {when.isoformat()} is before 1970-01-01; version ids encode the "
            "creation time as milliseconds since 1970, so history starts there"
        )
    limit = (now or datetime.now(timezone.utc)) + MAX_FUTURE_SKEW
    if when > limit:
        raise InvalidTime(
            f"timestamp {when.isoformat()} is in the future (more than "
            f"{MAX_FUTURE_SKEW} after this machine's clock, "
            f"{limit - MAX_FUTURE_SKEW:%Y-%m-%d %H:%M} UTC); a version from the future would "
            "become the parent of every later one; check the clock or the value"
        )
    return when
