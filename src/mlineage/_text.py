"""Lone surrogates: finding them in records and text, and escaping them in JSON.

A leaf module (it imports only pydantic): records, the codec, the report and checkout use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from pydantic import BaseModel

__all__ = ["escape_surrogates", "surrogate_message"]

# A lone surrogate: what os.fsdecode and errors="surrogateescape" make of bytes that are not
# UTF-8. It is not Unicode: no UTF-8 encoder (nor JSON reader) accepts it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def surrogate_message(value: object, where: str) -> str | None:
    """What is wrong with the first lone surrogate in ``value``'s text; None if it has none.

    Looks through strings, dict keys and values, lists, tuples and the fields of pydantic
    models (records), so the message names the place (``version.hyperparameters['opt']``,
    ``version.metrics key 'acc\\udcff'``, ``version.dataset.path``), the position and
    what to do. A record holding one cannot be written as JSON and is refused rather
    than altered (pydantic would write a dict key with U+FFFD in its place). Called only
    once encoding has shown there is one, so logging pays nothing for it.

    Parameters
    ----------
    value : object
        A record, or any text, dict or list.
    where : str
        What ``value`` is, to start the message (``"version"``, ``"title"``).

    Returns
    -------
    str or None

    Examples
    --------
    >>> print(surrogate_message({"path": "data/caf\\udce9.csv"}, "metadata"))
    metadata['path'] holds a lone surrogate '\\udce9' at position 8 ...
    """
    found = _find_surrogate(value, where)
    if found is None:
        return None
    place, text, match = found
    return (
        f"{place} holds a lone surrogate {match.group()!r} at position {match.start()} "
        f"({text!r:.80}): not Unicode, so no UTF-8 or JSON file can hold it; such text "
        "comes from a file name or bytes that are not UTF-8 (os.fsdecode, "
        "errors='surrogateescape'); decode them explicitly, e.g. "
        "os.fsencode(text).decode('utf-8', 'backslashreplace') (or errors='replace'), and "
        "pass that"
    )


def escape_surrogates(json_text: str) -> str:
    """``json_text`` with each lone surrogate written as its JSON ``\\uXXXX`` escape.

    For JSON written as UTF-8 that may hold names decoded with ``surrogateescape`` (file
    names in a manifest, column names in a profile): UTF-8 has no form for them, but JSON
    escapes keep them exactly, and ``json.loads`` gives the same string back. Only for JSON
    text (surrogates occur there inside strings only).

    Examples
    --------
    >>> import json
    >>> escape_surrogates(json.dumps(["caf\\udce9"], ensure_ascii=False))
    '["caf\\\\udce9"]'
    """
    if json_text.isascii():  # constant time for an ASCII str; most JSON is
        return json_text
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", json_text)


def _find_surrogate(value: object, where: str) -> tuple[str, str, re.Match[str]] | None:
    if isinstance(value, str):
        match = _SURROGATE.search(value)
        return None if match is None else (where, value, match)
    if isinstance(value, BaseModel):
        return _first(
            _find_surrogate(getattr(value, name), f"{where}.{name}")
            for name in type(value).model_fields
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _find_surrogate(key, f"{where} key {key!r}") or _find_surrogate(
                item, f"{where}[{key!r}]"
            )
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        return _first(_find_surrogate(item, f"{where}[{i}]") for i, item in enumerate(value))
    return None


def _first(
    candidates: Iterator[tuple[str, str, re.Match[str]] | None],
) -> tuple[str, str, re.Match[str]] | None:
    return next((found for found in candidates if found is not None), None)
