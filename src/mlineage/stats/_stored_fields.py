"""Checking the fields of a stored analysis result (a cached drift report) read back as JSON.

A stored result is derived data that anyone who can write the store can alter; reading it
back checks every field's type so a damaged entry is a :class:`~mlineage.errors.CorruptRecord`
(and recomputed by its cache), never a wrong answer or a raw ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from mlineage.errors import CorruptRecord

__all__ = ["PLAIN", "FieldSpec", "describe"]

#: The plain types JSON decodes each kind of field to (exact types: a bool is no count).
PLAIN: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "str?": (str, type(None)),
    "number": (float,),
    "number?": (float, type(None)),
    "bool": (bool,),
    "count": (int,),
}


def describe(value: object) -> str:
    """A value and its type, shortened, for a message."""
    return f"{value!r:.60} ({type(value).__name__})"


class FieldSpec:
    """What each field of a stored ``what`` must be.

    Kinds: ``"str"``, ``"number"`` (int or float, read as float), ``"bool"``, ``"count"``
    (an int >= 0) or ``"any"`` (checked by the caller); a trailing ``"?"`` also allows
    None. Fields not in ``required`` may be left out.
    """

    def __init__(self, what: str, spec: Mapping[str, str], required: Collection[str]) -> None:
        self.what = what
        self.spec = dict(spec)
        self.required = frozenset(required)
        self._plain = {name: PLAIN.get(kind, ()) for name, kind in self.spec.items()}
        self._counts = [name for name, kind in self.spec.items() if kind == "count"]

    def check(self, data: Any) -> dict[str, Any]:
        """The fields of ``data``, each of its kind, or CorruptRecord.

        ``data`` itself when every field has its plain JSON type, else a converted copy.
        """
        what, spec = self.what, self.spec
        if not isinstance(data, dict):
            raise CorruptRecord(f"a stored {what} is {describe(data)}, not a JSON object")
        if not (data.keys() <= spec.keys() and self.required <= data.keys()):
            unknown = sorted(str(k) for k in data if k not in spec)
            missing = sorted(self.required - data.keys())
            raise CorruptRecord(f"a stored {what} has unknown fields {unknown} or lacks {missing}")
        # Run for every feature of every cached report: plain JSON types take one set lookup.
        plain = self._plain
        odd = [n for n, v in data.items() if type(v) not in plain[n] and spec[n] != "any"]
        out = data
        if odd:
            out = {
                **data,
                **{n: _converted(data[n], spec[n], f"a stored {what}'s {n}") for n in odd},
            }
        for name in self._counts:
            if name in out and out[name] < 0:
                raise CorruptRecord(f"a stored {what}'s {name} is {out[name]}, a negative count")
        return out


def _converted(value: object, kind: str, field: str) -> Any:
    """A field not of its plain JSON type: an int or a float subclass for a number, a str
    subclass for a str; anything else is CorruptRecord."""
    base = kind.rstrip("?")
    if base == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base == "str" and isinstance(value, str):
        return str(value)
    expected = kind.replace("?", " or None")
    raise CorruptRecord(f"{field} is {describe(value)}, not a {expected}")
