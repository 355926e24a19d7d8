"""Reference resolution: what a string (id, handle, prefix, name, alias, model) designates.

A **handle** is the short name mlineage prints for a version: the id's last 8 hex digits,
longer only when an older version shares them (:func:`mlineage._ids.handle` has the
scheme). A **prefix** is the id's first 4 or more digits, as in git; because ids are
time-ordered, prefixes of versions logged close together look alike, so mlineage never
prints one.

Functions of a :class:`~mlineage.index.LineageIndex`; ``Tracker.get_version``,
``Tracker.resolve`` and ``Tracker.abbrev`` delegate here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from mlineage._columns import utc_micros
from mlineage._ids import HANDLE_LENGTH, ID_PATTERN
from mlineage.errors import (
    AliasNotFound,
    AmbiguousReference,
    InvalidInput,
    InvalidTime,
    VersionNotFound,
)
from mlineage.index import LineageIndex
from mlineage.records import ModelVersion

if TYPE_CHECKING:
    from mlineage.graph import NodeArray

__all__ = [
    "MIN_PREFIX",
    "Ref",
    "abbrev",
    "find_origin",
    "get_version",
    "history_indices",
    "resolve",
]

Ref = str | ModelVersion
#: Fewest hex digits an id prefix needs.
MIN_PREFIX = 4
_HEX = frozenset("0123456789abcdef")


def get_version(index: LineageIndex, ref: Ref) -> ModelVersion:
    """The version ``ref`` names: a ModelVersion, full id, name, alias, handle or prefix.

    Tried in that order; an alias means its current target. A handle (8 or more hex
    digits: the end of an id) names the oldest version whose id ends with it; a prefix (4
    or more hex digits: the start of an id) must match one version only.

    Raises
    ------
    VersionNotFound
        If nothing matches.
    AmbiguousReference
        If an id prefix matches several versions, or the string is the handle of one
        version and the prefix of another; the message lists them by handle.
    """
    graph, model = index.graph, index.model
    with index.lock:
        if isinstance(ref, ModelVersion):
            if ref.id in graph:
                return graph.get(ref.id)
            raise VersionNotFound(f"version {ref.id} is not in model {model!r}")
        if not isinstance(ref, str):
            raise VersionNotFound(
                f"a version reference is an id, prefix, name or alias (str), "
                f"got {type(ref).__name__}: {ref!r}"
            )
        if ref in graph:
            return graph.get(ref)
        if ref in index.names:
            return graph.get(index.names[ref])
        if ref in index.alias_events:
            return resolve(index, ref)
        lowered = ref.lower()
        if len(lowered) >= MIN_PREFIX and _HEX.issuperset(lowered):
            by_handle = graph.match_handle(lowered)
            matches = graph.match_prefix(lowered)
            if by_handle is not None and matches in ([], [by_handle]):
                return graph.get(by_handle)
            if len(matches) == 1 and by_handle is None:
                return graph.get(matches[0])
            if matches:
                found = dict.fromkeys(([] if by_handle is None else [by_handle]) + matches[:10])
                shown = ", ".join(graph.handle(m) for m in found)
                more = " and more" if len(matches) > 10 else ""
                raise AmbiguousReference(
                    f"id prefix {ref!r} matches several versions of {model!r} (by handle: "
                    f"{shown}{more}); give a handle (an id's last {HANDLE_LENGTH} digits, "
                    "as mlineage prints it) or more digits"
                )
        hint = ""
        if ID_PATTERN.match(lowered) is None and len(lowered) < MIN_PREFIX:
            hint = f" (id prefixes need at least {MIN_PREFIX} hex digits)"
        raise VersionNotFound(f"no version, name or alias {ref!r} in model {model!r}{hint}")


def abbrev(index: LineageIndex, ref: Ref, minimum: int = HANDLE_LENGTH) -> str:
    """The version's handle: the last 8 hex digits of its id, unique in the store.

    Longer (12, 16, ... digits) only when an older version's id ends with the same
    digits; at least ``minimum`` digits. Every handle resolves with :func:`get_version`.
    See :func:`mlineage._ids.handle` for the scheme.
    """
    with index.lock:
        version_id = get_version(index, ref).id
        short = index.graph.handle(version_id)
    return version_id[-max(minimum, len(short)) :]


def history_indices(index: LineageIndex, on: Ref | None) -> NodeArray:
    """Graph indices of the first-parent history of ``on`` (default: latest), oldest first
    (an int64 array)."""
    graph = index.graph
    if on is None:
        latest = graph.latest()
        if latest is None:
            import numpy as np

            return np.empty(0, dtype=np.int64)
        return graph.first_parent_array(latest.id)[::-1]
    return graph.first_parent_array(get_version(index, on).id)[::-1]


def resolve(index: LineageIndex, ref: Ref | None, at: datetime | None = None) -> ModelVersion:
    """The version ``ref`` designated at ``at`` (an aware datetime; None: now).

    An alias: where it pointed at ``at``; None or the model's name (when no version or
    alias is called that): the latest version created at or before ``at``; a version: the
    latest on its first-parent history at ``at``.

    Raises
    ------
    AliasNotFound, InvalidTime, VersionNotFound
        As :meth:`mlineage.Tracker.resolve`, which documents when each is raised.
    """
    graph = index.graph
    with index.lock:
        if isinstance(ref, str) and ref in index.alias_events and ref not in index.names:
            moves = index.alias_events[ref]
            # "Now" for an alias is the current time: a move recorded with a future
            # effective time is not in force yet.
            cutoff = datetime.now(timezone.utc) if at is None else at
            candidates = [m for m in moves if m.effective_at <= cutoff]
            if not candidates:
                raise AliasNotFound(
                    f"alias {ref!r} was not set at {at}; its first move was at "
                    f"{moves[0].effective_at.isoformat()}"
                )
            move = candidates[-1]
            if move.version is None:
                raise AliasNotFound(f"alias {ref!r} was removed at {move.effective_at.isoformat()}")
            return graph.get(move.version)
        if ref is None or (
            ref == index.model and ref not in index.names and ref not in index.alias_events
        ):
            line: Sequence[int] | NodeArray = graph.creation_indices()
        else:
            line = graph.first_parent_array(get_version(index, ref).id)[::-1]
        if not len(line):
            raise VersionNotFound(f"model {index.model!r} has no versions yet")
        if at is None:
            return graph.node(int(line[-1]))
        position = graph.latest_at(line, utc_micros(at))
        if position is None:
            first = graph.node(int(line[0]))
            raise InvalidTime(
                f"{at.isoformat()} is before the first version "
                f"{first.short_id} ({first.created_at.isoformat()})"
            )
        return graph.node(int(line[position]))


def find_origin(index: LineageIndex, system: str, foreign_id: str) -> list[ModelVersion]:
    """The versions imported from ``foreign_id`` of ``system`` (``ModelVersion.origin``),
    oldest first; empty if none.

    Answered from the index (a pack's ``origins`` column, or the loose records read at
    load): no record is read, so a connector can ask once per item it imports.

    Raises
    ------
    InvalidInput
        If ``system`` or ``foreign_id`` is not a str.
    """
    if not isinstance(system, str) or not isinstance(foreign_id, str):
        raise InvalidInput(
            f"find_origin(system, id) takes two str, got {system!r:.40} and {foreign_id!r:.40}"
        )
    with index.lock:
        ids = sorted(index.origins.get((system, foreign_id), ()))
        return [index.graph.get(i) for i in ids]
