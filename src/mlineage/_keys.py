"""The store's key layout, in one place (see docs/storage-format.md).

Blob keys (``blobs/sha256/...``) belong to content addressing: :mod:`mlineage.content`
turns digests into keys and back. Every other key the store holds is built here.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "MODELS",
    "SEQ_DIGITS",
    "alias_log_key",
    "alias_log_prefix",
    "aliases_prefix",
    "drift_cache_key",
    "event_key",
    "events_prefix",
    "name_key",
    "names_prefix",
    "pack_key",
    "packs_prefix",
    "parse_alias_log_key",
    "record_id",
    "version_key",
    "versions_prefix",
]

MODELS = "models/"
#: Digits of an alias log entry's number (``000000000001.json``): sorting keys sorts moves.
SEQ_DIGITS = 12


def _record_folder(folder: str) -> tuple[Callable[[str], str], Callable[[str, str], str]]:
    """The prefix and key builders of a folder of ``<id>.json`` records under each model
    (``models/<model>/<folder>/<id>.json``)."""

    def prefix(model: str) -> str:
        return f"{MODELS}{model}/{folder}/"

    def key(model: str, record_id: str) -> str:
        return f"{MODELS}{model}/{folder}/{record_id}.json"

    prefix.__doc__ = f"Prefix of every record in ``{folder}/`` of ``model``."
    key.__doc__ = f"Key of one record in ``{folder}/`` of ``model``."
    return prefix, key


# Packs hold many records in one object (written by compaction); a name's record claims
# a unique version name.
versions_prefix, version_key = _record_folder("versions")
events_prefix, event_key = _record_folder("events")
packs_prefix, pack_key = _record_folder("packs")
names_prefix, name_key = _record_folder("names")


def record_id(key: str) -> str:
    """The id in a record key (``.../versions/<id>.json`` -> ``<id>``)."""
    return key.rsplit("/", 1)[-1].removesuffix(".json")


def drift_cache_key(model: str, digest: str) -> str:
    """Key of a drift lookup of ``model`` whose canonical inputs hash to ``digest`` (hex)."""
    return f"{MODELS}{model}/cache/drift/{digest}.json"


def aliases_prefix(model: str) -> str:
    """Prefix of every alias log of ``model`` (one listing finds all their entries)."""
    return f"{MODELS}{model}/aliases/"


def alias_log_prefix(model: str, alias: str) -> str:
    """Prefix of the entries of one alias's log."""
    return f"{aliases_prefix(model)}{alias}/"


def alias_log_key(model: str, alias: str, seq: int) -> str:
    """Key of entry ``seq`` (1, 2, ...) of an alias's log: one move, written create-only."""
    return f"{alias_log_prefix(model, alias)}{seq:0{SEQ_DIGITS}d}.json"


def parse_alias_log_key(model: str, key: str) -> tuple[str, int] | None:
    """``(alias, seq)`` of an alias log key of ``model``, or None if ``key`` is not one.

    Examples
    --------
    >>> parse_alias_log_key("m", "models/m/aliases/production/000000000007.json")
    ('production', 7)
    >>> parse_alias_log_key("m", "models/m/aliases/production/7.json") is None
    True
    """
    rest = key.removeprefix(aliases_prefix(model))
    alias, slash, name = rest.partition("/")
    digits = name.removesuffix(".json")
    if (
        rest == key
        or not slash
        or not alias
        or len(digits) != SEQ_DIGITS
        or not digits.isascii()
        or not digits.isdigit()
        or not name.endswith(".json")
        or int(digits) < 1
    ):
        return None
    return alias, int(digits)
