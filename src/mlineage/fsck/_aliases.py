"""fsck's checks of a model's alias logs (store format 4) and of what alias moves cite."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mlineage import _keys
from mlineage.fsck._report import Problem
from mlineage.records import AliasEvent, Event, EvidenceEvent

__all__ = ["alias_log_problems"]


def alias_log_problems(
    model: str,
    listed: Iterable[str],
    events: Mapping[str, Event],
    keys: Mapping[str, str],
    damaged: set[str],
) -> list[Problem]:
    """Gaps in each alias's log, and alias moves citing evidence that is in no record.

    Parameters
    ----------
    listed : iterable of str
        Every alias log key listed (damaged entries included: a damaged entry is not a gap).
    events : mapping
        Event id -> every event of the model that decoded.
    keys : mapping
        Event id -> the key of its alias log entry (others: ``events/<id>.json``).
    damaged : set of str
        Ids of records that did not decode.
    """
    problems = []
    numbers: dict[str, set[int]] = {}
    for key in listed:
        where = _keys.parse_alias_log_key(model, key)
        if where is not None:
            numbers.setdefault(where[0], set()).add(where[1])
    for alias, seqs in sorted(numbers.items()):
        missing = sorted(set(range(1, max(seqs) + 1)) - seqs)
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" and more" if len(missing) > 10 else "")
            problems.append(
                Problem(
                    "alias-log-gap",
                    _keys.alias_log_prefix(model, alias),
                    f"the log of alias {alias!r} lacks entries {shown}: entries are never "
                    "deleted, and a mover that has not seen a deleted entry can write it "
                    "again, so compare-and-set moves of this alias cannot be trusted; restore "
                    "the entries from a backup",
                )
            )
    for event in sorted(events.values(), key=lambda e: e.id):
        if not isinstance(event, AliasEvent) or event.evidence is None:
            continue
        cited = events.get(event.evidence)
        if isinstance(cited, EvidenceEvent) or event.evidence in damaged:
            continue
        problems.append(
            Problem(
                "dangling-event",
                keys.get(event.id, _keys.event_key(model, event.id)),
                f"move of alias {event.alias!r} cites evidence {event.evidence}, which is in "
                "no evidence record of the model",
            )
        )
    return problems
