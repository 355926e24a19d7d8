"""The store's key layout, in one place (see docs/storage-format.md).

Blob keys (``blobs/sha256/...``) belong to content addressing: :mod:`mlineage.content`
turns digests into keys and back. Every other key the store holds is built here.
"""

from __future__ import annotations

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


def versions_prefix(model: str) -> str:
    """Prefix of every version record of ``model``."""
    return f"{MODELS}{model}/versions/"


def version_key(model: str, version_id: str) -> str:
    """Key of one version record."""
    return f"{MODELS}{model}/versions/{version_id}.json"


def events_prefix(model: str) -> str:
    """Prefix of every event record of ``model``."""
    return f"{MODELS}{model}/events/"


def event_key(model: str, event_id: str) -> str:
    """Key of one event record."""
    return f"{MODELS}{model}/events/{event_id}.json"


def packs_prefix(model: str) -> str:
    """Prefix of every pack object of ``model``."""
    return f"{MODELS}{model}/packs/"


def pack_key(model: str, pack_id: str) -> str:
    """Key of one pack (many records in one object, written by compaction)."""
    return f"{MODELS}{model}/packs/{pack_id}.json"


def record_id(key: str) -> str:
    """The id in a record key (``.../versions/<id>.json`` -> ``<id>``)."""
    return key.rsplit("/", 1)[-1].removesuffix(".json")


def names_prefix(model: str) -> str:
    """Prefix of every name claim of ``model``."""
    return f"{MODELS}{model}/names/"


def drift_cache_key(model: str, digest: str) -> str:
    """Key of a drift lookup of ``model`` whose canonical inputs hash to ``digest`` (hex)."""
    return f"{MODELS}{model}/cache/drift/{digest}.json"


def name_key(model: str, name: str) -> str:
    """Key of the claim on a unique version name."""
    return f"{MODELS}{model}/names/{name}.json"


def aliases_prefix(model: str) -> str:
    """Prefix of every alias log of ``model`` (one listing finds all their entries)."""
    return f"{MODELS}{model}/aliases/"


def alias_log_prefix(model: str, alias: str) -> str:
    """Prefix of the entries of one alias's log."""
    return f"{MODELS}{model}/aliases/{alias}/"


def alias_log_key(model: str, alias: str, seq: int) -> str:
    """Key of entry ``seq`` (1, 2, ...) of an alias's log: one move, written create-only."""
    return f"{MODELS}{model}/aliases/{alias}/{seq:0{SEQ_DIGITS}d}.json"


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
