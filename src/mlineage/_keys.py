"""The store's key layout, in one place (see docs/storage-format.md)."""

from __future__ import annotations

# Blob keys belong to content addressing; re-exported here with the rest of the layout.
from mlineage.content import blob_key

__all__ = [
    "MODELS",
    "blob_key",
    "event_key",
    "events_prefix",
    "name_key",
    "pack_key",
    "packs_prefix",
    "record_id",
    "version_key",
    "versions_prefix",
]

MODELS = "models/"


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


def name_key(model: str, name: str) -> str:
    """Key of the claim on a unique version name."""
    return f"{MODELS}{model}/names/{name}.json"
