"""Records <-> JSON bytes, with a format number so later releases can read old stores.

Each stored record is one JSON document::

    {"format": 2, "type": "version", "record": {...ModelVersion fields...}}

``FORMAT`` is the newest format this release writes; it reads every format in
``READ_FORMATS``. Reading a document whose format is newer raises
:class:`~mlineage.errors.StoreFormatError` (upgrade mlineage); anything that does not
decode to a valid record raises :class:`~mlineage.errors.CorruptRecord` naming the key.
Every released format has a test store under ``tests/data/``.

The codec owns every stored document: version and event records, the store marker, name
claims (:mod:`._documents`) and packs (:mod:`._packs`). Format 2 changed only the pack: a
header line with the versions' index as columns and a checksum, then one record per line.
Format 3 added record fields (a snapshot's ``created_at``, ``schema_version``, ``notes``
and ``metadata``; a version's ``committed_at`` and ``fingerprints``) and the fingerprint
event; older records read with those fields empty (see docs/storage-format.md).
"""

from mlineage.codec._documents import (
    FORMAT,
    MAX_PACK_SIZE,
    MAX_RECORD_SIZE,
    READ_FORMATS,
    STORE_MARKER_KEY,
    check_format,
    decode_claim,
    decode_event,
    decode_marker,
    decode_version,
    encode_claim,
    encode_event,
    encode_marker,
    encode_version,
    parse_json,
)
from mlineage.codec._packs import (
    PackContents,
    decode_pack,
    encode_pack,
    pack_listed_ids,
    read_pack,
)

__all__ = [
    "FORMAT",
    "MAX_PACK_SIZE",
    "MAX_RECORD_SIZE",
    "READ_FORMATS",
    "STORE_MARKER_KEY",
    "PackContents",
    "check_format",
    "decode_claim",
    "decode_event",
    "decode_marker",
    "decode_pack",
    "decode_version",
    "encode_claim",
    "encode_event",
    "encode_marker",
    "encode_pack",
    "encode_version",
    "pack_listed_ids",
    "parse_json",
    "read_pack",
]
