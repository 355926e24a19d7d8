"""Text views of a tracker's lineage (``Tracker.summary``, ``mlineage history``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlineage.records import ModelVersion

if TYPE_CHECKING:
    from mlineage.tracker import Tracker

__all__ = ["SummaryText", "summary_text"]


class SummaryText(str):
    """Text that shows as itself, not as a quoted string, in a REPL and a notebook."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(str(self))}</pre>"


def summary_text(tracker: Tracker, history: list[ModelVersion], limit: int | None = 50) -> str:
    """``history`` (newest first) as a table: id, time, name and aliases, metrics, notes."""
    if not history:
        return f"model {tracker.model!r}: no versions yet ({tracker.store.uri})"
    shown = history if limit is None else history[:limit]
    by_version: dict[str, list[str]] = {}
    for alias, version in tracker.aliases().items():
        by_version.setdefault(version.id, []).append(alias)
    metric_names: list[str] = []
    for version in shown:
        metric_names += [m for m in version.metrics if m not in metric_names]
    metric_names = metric_names[:4]
    header = ["id", "created (UTC)", "name", *metric_names, "notes"]
    rows = []
    for version in shown:
        label = version.name or ""
        if version.id in by_version:
            label = (label + " " if label else "") + f"[{', '.join(by_version[version.id])}]"
        rows.append(
            [tracker.abbrev(version), f"{version.created_at:%Y-%m-%d %H:%M}", label]
            + [f"{version.metrics[m]:.4f}" if m in version.metrics else "-" for m in metric_names]
            + [version.notes[:50] + ("…" if len(version.notes) > 50 else "")]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        f"model {tracker.model!r}: {len(tracker)} versions, "
        f"{len(tracker.leaves())} branch tip(s), store {tracker.store.uri}",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if len(history) > len(shown):
        lines.append(f"... {len(history) - len(shown)} older versions")
    return "\n".join(line.rstrip() for line in lines)
