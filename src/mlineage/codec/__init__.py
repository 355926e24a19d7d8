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

# Re-exported as they are: each part's ``__all__`` is what the codec offers.
import mlineage.codec._documents as _documents
import mlineage.codec._packs as _packs
from mlineage.codec._documents import *  # noqa: F403
from mlineage.codec._packs import *  # noqa: F403

__all__: list[str] = []
__all__ += _documents.__all__
__all__ += _packs.__all__
