"""The answer of ``tracker.evidence(kind=, on=)``: evidence events, one row each.

Its own module so that the tracker's interface (:mod:`mlineage._tracker_protocol`) can name
it without importing the functions that write and read evidence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import mlineage.views.html as _html
from mlineage import _optional as optional
from mlineage._ids import handle
from mlineage.records import EvidenceEvent

__all__ = ["EvidenceTable"]


@dataclass(frozen=True)
class EvidenceTable:
    """Evidence events, one row each: the answer of ``tracker.evidence(kind=, on=)``.

    Iterating gives the :class:`~mlineage.records.EvidenceEvent` objects (pass one to
    ``tracker.load_evidence`` for its payload); ``len``, indexing and truth work as for
    a list.

    Attributes
    ----------
    events : tuple of EvidenceEvent
        Newest first, or by version along the history of ``on`` (newest version first).
    names : dict
        Version id -> version name, for the versions that have one.
    kind : str or None
        The kind asked for.
    on : str or None
        Id of the version whose history was walked.
    """

    events: tuple[EvidenceEvent, ...]
    names: dict[str, str] = field(default_factory=dict)
    kind: str | None = None
    on: str | None = None

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[EvidenceEvent]:
        return iter(self.events)

    def __getitem__(self, position: int) -> EvidenceEvent:
        return self.events[position]

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per event: its fields and ``version_name``."""
        return [
            {**e.model_dump(mode="json"), "version_name": self.names.get(e.version)}
            for e in self.events
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"kind": ..., "on": ..., "evidence": [rows]}``."""
        return {"kind": self.kind, "on": self.on, "evidence": self.rows()}

    def to_pandas(self) -> Any:
        """One row per event, indexed by event id, with ``summary.<key>`` columns.

        Columns ``version``, ``version_name``, ``kind``, ``created_at`` (UTC),
        ``tool``, ``tool_version``, ``payload``, ``payload_size``, then one
        ``summary.<key>`` column per summary key (None where an event lacks it).

        Raises
        ------
        MissingDependency
            If pandas is not installed.
        """
        pd = optional.pandas("EvidenceTable.to_pandas()")
        base = ["version", "version_name", "kind", "created_at", "tool", "tool_version"]
        base += ["payload", "payload_size"]
        keys = sorted({k for e in self.events for k in e.summary})
        rows = []
        for e in self.events:
            row: dict[str, Any] = {"id": e.id, "version_name": self.names.get(e.version)}
            row.update({name: getattr(e, name) for name in base if name != "version_name"})
            row.update({f"summary.{k}": e.summary.get(k) for k in keys})
            rows.append(row)
        frame = pd.DataFrame(rows, columns=["id", *base, *(f"summary.{k}" for k in keys)])
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        return frame.set_index("id")

    def _heading(self) -> str:
        what = "evidence" if self.kind is None else f"{self.kind!r} evidence"
        where = "" if self.on is None else f" along the history of {handle(self.on)}"
        return f"{len(self.events)} {what}{where}"

    def _cells(self, event: EvidenceEvent) -> list[str]:
        name = self.names.get(event.version)
        tool = " ".join(t for t in (event.tool, event.tool_version) if t)
        return [
            f"{event.created_at:%Y-%m-%d %H:%M}",
            event.kind,
            handle(event.version) + (f" {name}" if name else ""),
            json.dumps(event.summary, ensure_ascii=False),
            tool,
            "" if event.payload_size is None else f"{event.payload_size:,} B",
        ]

    def __str__(self) -> str:
        if not self.events:
            return f"{self._heading()}: none"
        lines = [self._heading()]
        for event in self.events:
            when, kind, version, summary, tool, size = self._cells(event)
            summary = summary if len(summary) <= 80 else summary[:77] + "..."
            extra = ", ".join(x for x in (tool, size and f"payload {size}") if x)
            lines.append(
                f"  {when}  {kind:<10} {version}  {summary}" + (f"  ({extra})" if extra else "")
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        headers = ["recorded", "kind", "version", "summary", "tool", "payload"]
        return _html.table([self._cells(e) for e in self.events], headers, self._heading())
