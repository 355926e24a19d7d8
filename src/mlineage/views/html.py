"""HTML views for notebooks: the ``_repr_html_`` of trackers and result objects.

Jupyter shows an object by calling its ``_repr_html_``; each class's method is one line
that calls a builder here. Every value that comes from a record (names, notes, tags,
hyperparameters, paths, messages) goes through :func:`html.escape`, so a note holding
markup shows as text. The tables use no script and no external style, and their plain
``str()``/``repr()`` counterparts stay what they were.
"""

from __future__ import annotations

from html import escape
from typing import Any

from mlineage._tables import html_pairs as _pairs
from mlineage._tables import html_table as table

# The objects shown are typed loosely: their modules call this leaf from their
# ``_repr_html_``, so it imports none of them (not even for type hints).
BlameReport = Any
Checkout = Any
VersionDiff = Any
FsckReport = Any
Tracker = Any

__all__ = ["blame_html", "checkout_html", "diff_html", "fsck_html", "table", "tracker_html"]

#: How many versions of history a tracker's summary shows.
HISTORY_ROWS = 5


def tracker_html(tracker: Tracker) -> str:
    """A tracker as Jupyter shows it: counts, aliases, latest metrics, recent history."""
    latest = tracker.latest()
    aliases = tracker.aliases()
    head = _pairs(
        [
            ("model", tracker.model),
            ("store", tracker.store.uri + (" (read-only)" if tracker.read_only else "")),
            ("versions", len(tracker)),
            ("branch tips", len(tracker.leaves()) if latest is not None else 0),
            ("aliases", ", ".join(f"{a} → {tracker.abbrev(v)}" for a, v in aliases.items())),
            ("latest", "" if latest is None else f"{tracker.abbrev(latest)} {latest.name or ''}"),
            (
                "latest metrics",
                ""
                if latest is None
                else ", ".join(f"{k}={v:.6g}" for k, v in latest.metrics.items()),
            ),
        ],
        caption=f"mlineage Tracker {tracker.model!r}",
    )
    if latest is None:
        return f"<div>{head}</div>"
    history = tracker.history()
    shown = history[:HISTORY_ROWS]
    metrics: list[str] = []
    for version in shown:
        metrics += [m for m in version.metrics if m not in metrics]
    metrics = metrics[:4]
    by_version: dict[str, list[str]] = {}
    for alias, target in aliases.items():
        by_version.setdefault(target.id, []).append(alias)
    rows = [
        [
            tracker.abbrev(v),
            f"{v.created_at:%Y-%m-%d %H:%M}",
            v.name or "",
            ", ".join(by_version.get(v.id, [])),
            v.kind,
            *(v.metrics.get(m) for m in metrics),
            v.notes[:80],
        ]
        for v in shown
    ]
    more = len(history) - len(shown)
    caption = "history, newest first" + (f" ({more} older not shown)" if more > 0 else "")
    headers = ["id", "created (UTC)", "name", "aliases", "kind", *metrics, "notes"]
    body = table(rows, headers, caption)
    return f"<div>{head}{body}</div>"


def diff_html(diff: VersionDiff) -> str:
    """A :class:`~mlineage.diff.VersionDiff` as a table of what changed."""
    a, b = diff.a, diff.b
    rows: list[tuple[str, object, object, object]] = []
    rows.append(
        (
            "data",
            f"{a.dataset.path or ''} {a.dataset.hash}",
            f"{b.dataset.path or ''} {b.dataset.hash}",
            "changed" if diff.dataset_changed else "unchanged",
        )
    )
    if diff.data_files is not None:
        files = diff.data_files
        counts = (
            f"{len(files.added)} added, {len(files.removed)} removed, {len(files.changed)} changed"
        )
        rows.append(("data files", "", "", counts))
    if diff.rows is not None:
        rows.append(("rows", diff.rows[0], diff.rows[1], ""))
    if diff.model_changed is not None:
        rows.append(("checkpoint", "", "", "changed" if diff.model_changed else "same bytes"))
    hp = diff.hyperparameters
    rows += [(f"hyperparameter {k}", None, v, "added") for k, v in sorted(hp.added.items())]
    rows += [(f"hyperparameter {k}", v, None, "removed") for k, v in sorted(hp.removed.items())]
    rows += [(f"hyperparameter {k}", x, y, "changed") for k, (x, y) in hp.changed.items()]
    for name, (va, vb, delta) in diff.metrics.items():
        rows.append((f"metric {name}", va, vb, "" if delta is None else f"{delta:+.6g}"))
    env = diff.environment
    if env is not None and not env.is_empty:
        rows += [("environment", "", "", line.strip()) for line in str(env).splitlines()]
    if diff.tags_added or diff.tags_removed:
        rows.append(("tags", ", ".join(diff.tags_removed), ", ".join(diff.tags_added), ""))
    if diff.notes[0] != diff.notes[1]:
        rows.append(("notes", diff.notes[0], diff.notes[1], ""))
    caption = f"diff {a.short_id} → {b.short_id}"
    headers = ["", f"a {a.name or a.short_id}", f"b {b.name or b.short_id}", "change"]
    return table(rows, headers, caption)


def blame_html(report: BlameReport, limit: int = 10) -> str:
    """A :class:`~mlineage.blame.BlameReport`: its worst ``limit`` steps as a table."""
    noise = "n/a" if report.scale is None else f"{report.scale:.4g}"
    caption = f"blame {report.metric} ({report.direction} is bad); step noise {noise}"
    if not report.steps:
        return _pairs([("result", "fewer than two versions carry this metric")], caption)
    rows = [
        (
            rank,
            step.version.short_id,
            step.version.name or "",
            step.before,
            step.after,
            f"{step.delta:+.6g}",
            "" if step.score is None else f"{step.score:+.1f}",
        )
        for rank, step in enumerate(report.steps[:limit], 1)
    ]
    more = len(report.steps) - len(rows)
    if more > 0:
        caption += f" ({more} more steps not shown)"
    return table(rows, ["#", "version", "name", "before", "after", "delta", "score"], caption)


def checkout_html(checkout: Checkout) -> str:
    """A :class:`~mlineage.checkout.Checkout`: the version, its inputs, the environment."""
    v = checkout.version
    env = checkout.environment_diff
    rows: list[tuple[str, object]] = [
        ("requested", checkout.requested),
        ("at", "now" if checkout.at is None else checkout.at.isoformat()),
        ("version", v.id + (f" ({v.name})" if v.name else "")),
        ("created", v.created_at.isoformat()),
        ("model", v.model_path + (f" ({v.model_artifact.hash})" if v.model_artifact else "")),
        ("dataset", f"{checkout.dataset.path or ''} ({checkout.dataset.hash})"),
        ("hyperparameters", checkout.hyperparameters),
        (
            "environment",
            "not captured"
            if env is None
            else ("same as now" if env.is_empty else "differs from now: " + str(env)),
        ),
    ]
    if checkout.path is not None:
        rows.append(("written to", f"{checkout.path} ({len(checkout.files)} files)"))
    return _pairs(rows, caption=f"checkout {checkout.requested!r}")


def fsck_html(report: FsckReport) -> str:
    """A :class:`~mlineage.fsck.FsckReport`: the summary line and every problem."""
    summary = f"<p>{escape(report.summary())}</p>"
    if report.ok:
        return f"<div>{summary}</div>"
    rows = [(p.kind, p.key, p.message) for p in report.problems]
    return f"<div>{summary}{table(rows, ['kind', 'key', 'message'])}</div>"
