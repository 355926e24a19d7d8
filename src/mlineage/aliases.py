"""Alias moves: each alias's log of moves, and compare-and-set on it (store format 4).

Every move of an alias is written create-only as the next entry of that alias's own log,
``models/<model>/aliases/<alias>/<seq:012d>.json`` (numbered from 1). The create-only
write is the compare-and-set: two movers that read the same latest entry both try to
write the entry after it, and the store lets exactly one succeed. The other reads the log
again and either tries the next number (an unconditional move) or, when the move was
conditional (``expect=``) and the alias is no longer where it was expected, refuses with
:class:`~mlineage.errors.AliasConflict`, writing nothing.

A move is one write, so a killed mover leaves a whole move or none, and nothing to clean
up. Alias logs are never packed or deleted (see :mod:`mlineage.compaction`): a deleted
entry could be written again by a mover that had not seen it, which would break the
compare-and-set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

from mlineage import _keys, refs
from mlineage._coerce import as_utc, parse_time
from mlineage._columns import utc_micros
from mlineage._ids import ID_PATTERN, new_id
from mlineage.codec import encode_event
from mlineage.errors import (
    AliasConflict,
    AliasNotFound,
    AlreadyExists,
    InvalidInput,
    InvalidTime,
)
from mlineage.index import LineageIndex
from mlineage.records import AliasEvent, EvidenceEvent, ModelVersion, validate_name
from mlineage.refs import Ref

if TYPE_CHECKING:
    from mlineage.writer import Writer

__all__ = ["ABSENT", "MAX_ATTEMPTS", "Absent", "Expect", "current_aliases", "set_alias"]

#: How many times an unconditional move tries the next entry while others keep moving
#: the alias before it gives up (each failed try means another move succeeded).
MAX_ATTEMPTS = 64


class Absent:
    """The type of :data:`ABSENT`: ``set_alias(..., expect=ml.ABSENT)`` moves an alias
    only if it points nowhere (never set, or removed)."""

    def __repr__(self) -> str:
        return "mlineage.ABSENT"


#: ``expect=ABSENT``: the alias must not be set (a first promotion).
ABSENT: Final = Absent()

#: What ``set_alias(..., expect=...)`` accepts.
Expect = Ref | AliasEvent | Absent | None


@dataclass(frozen=True)
class _Expectation:
    """What the alias must look like for a conditional move to go ahead."""

    #: ``"event"``: the latest move is ``value``; ``"version"``: the alias points at
    #: version ``value`` now; ``"absent"``: it points nowhere now.
    kind: str
    value: str | None
    words: str

    def check(self, index: LineageIndex, alias: str) -> None:
        head = index.alias_head(alias)
        if self.kind == "event":
            ok = head is not None and head.id == self.value
        else:
            ok = _current(index, alias) == self.value
        if ok:
            return
        if head is None:
            found = "it was never set"
        else:
            now = _current(index, alias)
            where = "points nowhere" if now is None else f"points at {_describe(index, now)}"
            found = (
                f"it {where}, its latest move being move {head.seq or '(before format 4)'} "
                f"(event {head.id}, recorded {head.created_at.isoformat()})"
            )
        raise AliasConflict(
            f"alias {alias!r} of model {index.model!r} is not where this move expected: "
            f"expected {self.words}, but {found}; nothing was written (someone else moved "
            "it: look again and decide anew)",
            alias=alias,
            expected=self.words,
            found=head,
        )


def _current(index: LineageIndex, alias: str) -> str | None:
    """The version id ``alias`` points at now, or None (never set, or removed)."""
    if alias not in index.alias_events:
        return None
    try:
        return refs.resolve(index, alias).id
    except AliasNotFound:
        return None


def _describe(index: LineageIndex, version_id: str) -> str:
    version = index.graph.get(version_id)
    return index.graph.handle(version_id) + (f" ({version.name})" if version.name else "")


def _expectation(index: LineageIndex, alias: str, expect: Expect) -> _Expectation | None:
    """Turn ``expect`` into what to check; None for an unconditional move."""
    if expect is None:
        return None
    if isinstance(expect, Absent):
        return _Expectation("absent", None, "it to be unset")
    if isinstance(expect, AliasEvent) or (
        isinstance(expect, str) and ID_PATTERN.match(expect) and expect not in index.graph
    ):
        event_id = expect.id if isinstance(expect, AliasEvent) else expect
        if event_id not in index.events:
            index.refresh_alias(alias)  # a move written by another process meanwhile
        event = index.events.get(event_id)
        if isinstance(event, AliasEvent):
            if event.alias != alias:
                raise InvalidInput(
                    f"expect={event_id} is a move of alias {event.alias!r}, not of {alias!r}"
                )
            return _Expectation("event", event_id, f"its latest move to be event {event_id}")
        if isinstance(expect, AliasEvent):
            raise InvalidInput(f"expect= names move {event_id}, which is not in this model")
    if not isinstance(expect, (str, ModelVersion)):
        raise InvalidInput(
            "expect= takes a version (id, prefix, name, alias or ModelVersion), an alias "
            f"move (AliasEvent or its id), mlineage.ABSENT or None, got {type(expect).__name__}"
        )
    version = refs.get_version(index, expect)
    return _Expectation("version", version.id, f"it to point at {_describe(index, version.id)}")


def _evidence_id(index: LineageIndex, evidence: str | EvidenceEvent | None) -> str | None:
    if evidence is None:
        return None
    event_id = evidence.id if isinstance(evidence, EvidenceEvent) else evidence
    if not isinstance(index.events.get(event_id), EvidenceEvent):
        raise InvalidInput(
            f"evidence={event_id!r} is not an evidence event of model {index.model!r}; attach "
            "the evidence first (tracker.attach_evidence) and pass the event it returns"
        )
    return event_id


def set_alias(
    writer: Writer,
    alias: str,
    ref: Ref | None,
    at: object = None,
    expect: Expect = None,
    evidence: str | EvidenceEvent | None = None,
    forced: bool = False,
    reason: str = "",
) -> AliasEvent:
    """``Tracker.set_alias``: validate, then write the move as the alias log's next entry.

    Raises
    ------
    AliasConflict
        With ``expect``: the alias is not where it was expected (nothing written).
    InvalidName, InvalidInput, InvalidTime, VersionNotFound, ReadOnlyError
        Bad arguments (nothing written).
    """
    writer.check_writable("move an alias")
    index = writer.index
    validate_name(alias, "alias")
    writer.refuse_shadowing(alias, "alias")
    version = None if ref is None else refs.get_version(index, ref)
    fixed = None if at is None else as_utc(parse_time(at))
    check_time(index, alias, version, fixed or datetime.now(timezone.utc))
    if not isinstance(forced, bool) or not isinstance(reason, str):
        raise InvalidInput(f"forced must be a bool and reason a str, got {forced!r}, {reason!r}")
    if forced and not reason.strip():
        raise InvalidInput("a forced move needs a reason (reason='...'); nothing was written")
    with index.lock:
        expectation = _expectation(index, alias, expect)
        evidence_id = _evidence_id(index, evidence)
        for _ in range(MAX_ATTEMPTS):
            if expectation is not None:
                expectation.check(index, alias)
            seq = index.alias_seq.get(alias, 0) + 1
            now = datetime.now(timezone.utc)
            event = AliasEvent(
                id=new_id(now),
                model=index.model,
                created_at=now,
                alias=alias,
                version=None if version is None else version.id,
                effective_at=now if fixed is None else fixed,  # a move "now" is when written
                seq=seq,
                evidence=evidence_id,
                forced=forced,
                reason=reason,
            )
            writer.ensure_marker()
            key = _keys.alias_log_key(index.model, alias, seq)
            try:
                writer.store.put(key, encode_event(event), mode="create")
            except AlreadyExists:
                # Someone else wrote entry `seq` first: read what they wrote, then decide.
                index.refresh_alias(alias)
                index.alias_seq[alias] = max(seq, index.alias_seq.get(alias, 0))
                continue
            index.alias_log_keys.add(key)
            index.add_event(event)
            return event
        raise AliasConflict(
            f"alias {alias!r} of model {index.model!r} was moved by others {MAX_ATTEMPTS} "
            "times while this move waited for its turn; nothing was written; try again",
            alias=alias,
            expected="a turn to write the next move",
            found=index.alias_head(alias),
        )


def check_time(
    index: LineageIndex, alias: str, version: ModelVersion | None, effective: datetime
) -> None:
    """Refuse a move that would take effect before its version was created."""
    if version is not None and utc_micros(effective) < index.graph.created_micros(version.id):
        raise InvalidTime(
            f"alias {alias!r} cannot point at {version.short_id} from "
            f"{effective.isoformat()}: that version was only created at "
            f"{version.created_at.isoformat()}"
        )


def current_aliases(index: LineageIndex) -> dict[str, ModelVersion]:
    """Every alias that points somewhere now -> its version (``Tracker.aliases``)."""
    out = {}
    with index.lock:
        for alias in sorted(index.alias_events):
            try:
                out[alias] = refs.resolve(index, alias)
            except AliasNotFound:
                continue  # removed, or only set from a future time
    return out
