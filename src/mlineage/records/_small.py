"""Small flat JSON objects kept inside records: evidence summaries, an origin's extras.

A record is loaded with every version of a model, so what it holds inline stays small
and flat: ``str`` keys (1-128 characters) and values that are JSON scalars (``None``,
``bool``, ``int``, finite ``float``, ``str``) or lists of them, at most a few KiB once
encoded. Anything bigger or nested belongs in a blob (an evidence payload).
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import (
    AfterValidator,
    FiniteFloat,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
)

__all__ = [
    "MAX_ORIGIN_EXTRA_BYTES",
    "MAX_SUMMARY_BYTES",
    "MAX_SUMMARY_KEY",
    "OriginExtra",
    "Scalar",
    "Summary",
    "SummaryValue",
    "check_small",
    "encoded_size",
    "too_large",
]

#: Largest evidence summary, as compact UTF-8 JSON.
MAX_SUMMARY_BYTES = 16 * 1024
#: Largest ``Origin.extra``, as compact UTF-8 JSON.
MAX_ORIGIN_EXTRA_BYTES = 4 * 1024
#: Longest key of a small object.
MAX_SUMMARY_KEY = 128

# Strict scalars: True stays a bool and 1 an int, on input and after a round trip.
Scalar = StrictBool | StrictInt | FiniteFloat | StrictStr | None
SummaryValue = Scalar | list[Scalar]


def encoded_size(value: object) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (how the limits are measured).

    Examples
    --------
    >>> encoded_size({"drift_share": 0.25})
    21
    """
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_small(value: dict[str, SummaryValue], what: str, limit: int) -> dict[str, SummaryValue]:
    """Check the keys and the encoded size of a small object; return it unchanged.

    Raises
    ------
    ValueError
        Naming ``what``, the key or the size and the limit (pydantic turns it into the
        record's validation error).
    """
    for key in value:
        if not key or len(key) > MAX_SUMMARY_KEY:
            raise ValueError(f"{what} key {key[:40]!r} must be 1-{MAX_SUMMARY_KEY} characters long")
    size = encoded_size(value)
    if size > limit:
        raise ValueError(too_large(what, size, limit))
    return value


def too_large(what: str, size: int, limit: int) -> str:
    """The message for a small object over its limit."""
    return (
        f"{what} is {size:,} bytes of JSON; the limit is {limit:,} (keep a few numbers and "
        "names here, and the full output in the payload)"
    )


# The size is checked where records are built (python mode), not on every decode of a
# stored record (json mode), which a record's own size limit bounds already: encoding a
# summary again to measure it would double the cost of loading an evidence event.


def _summary(value: dict[str, SummaryValue], info: ValidationInfo) -> dict[str, SummaryValue]:
    return value if info.mode == "json" else check_small(value, "summary", MAX_SUMMARY_BYTES)


def _extra(value: dict[str, SummaryValue], info: ValidationInfo) -> dict[str, SummaryValue]:
    if info.mode == "json":
        return value
    return check_small(value, "origin extra", MAX_ORIGIN_EXTRA_BYTES)


#: An evidence event's summary (at most :data:`MAX_SUMMARY_BYTES`).
Summary = Annotated[dict[str, SummaryValue], AfterValidator(_summary)]
#: An origin's ``extra`` (at most :data:`MAX_ORIGIN_EXTRA_BYTES`).
OriginExtra = Annotated[dict[str, SummaryValue], AfterValidator(_extra)]
