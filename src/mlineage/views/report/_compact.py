"""The report data of a very long lineage: what a reader opens, and the shape of the rest.

Above :data:`~mlineage.report._data.COMPACT_ABOVE` versions a report cannot embed every
record (a million versions made a 1 GB page). :func:`compact_parts` reads the lineage's
columns (parents, children, kinds, creation times, metrics: no record is decoded for
them) and embeds:

- **details** (the full record) of the versions a reader will open: every version an
  alias points or pointed at, blame suspects, versions with analysis badges, the
  :data:`RECENT` most recent versions, the :data:`TIPS` most recent branch tips, the
  main line's tip;
- **stubs** (id, name, kind, parents, time, primary metric) of the versions that give
  the DAG its shape: roots, forks, merges and their parents, the other branch tips;
- one **run** row for each stretch of plain versions between them ("N versions"), whose
  records are read with ``mlineage show`` or ``mlineage ui``;
- metric timelines downsampled by LTTB to about :data:`POINTS` points, keeping every
  suspect, change point and alias move.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import mlineage.views.report._data as _data
from mlineage.views.report._insights import explain
from mlineage.views.report._plots import lttb_arrays

if TYPE_CHECKING:
    import numpy as np

    from mlineage.analysis.lineage import AnalysedTracker

__all__ = ["POINTS", "RECENT", "TIPS", "compact_parts"]

#: The most recent versions embedded with their details.
RECENT = 1_000
#: The most recent branch tips embedded with their details (the others as stubs).
TIPS = 1_000
#: About this many points per metric chart (plus every kept point).
POINTS = 2_000
#: Main-line versions handed to the analyses (their data and behaviour along the line
#: are read from the store by the analyses themselves; these say whether any exist).
_RECENT_SPINE = 200


def compact_parts(
    tracker: AnalysedTracker, metric: str | None, analyses: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The report data after its head, for a lineage too long to embed whole."""
    import numpy as np

    g: Any = tracker.graph  # the columnar lineage (mlineage._graph_columns)
    n = len(g)
    first = np.frombuffer(g._first, dtype=np.int64)[:n]
    children = g._children.counts()[:n]
    extra: dict[int, tuple[int, ...]] = g._extra
    created = np.frombuffer(g._created, dtype=np.int64)[:n]
    spine = _spine_indices(g, first, children, created)
    spine_pos = {int(i): p for p, i in enumerate(spine)}
    counts = {
        name: int(np.count_nonzero(~np.isnan(np.frombuffer(col, dtype=np.float64))))
        for name, col in g._metrics.items()
        if len(col)
    }
    counts = {k: v for k, v in counts.items() if v}
    primary = _data._primary_metric(tracker, counts, metric)
    current_aliases = tracker.aliases()
    moved: set[int] = set()
    for alias, target in current_aliases.items():
        moved.add(g._idx(target.id))
        for move in tracker.alias_history(alias):
            if move.version is not None:
                moved.add(g._idx(move.version))
    change_points = _data._change_points(tracker, analyses, counts)
    tip = g.node(int(spine[-1]))
    metrics = []
    for name in sorted(counts, key=lambda m: (m != primary, m)):
        nodes, values = g.metric_along(spine, name)
        positions = nodes.tolist()
        suspects = _data.metric_suspects(tracker, name, tip) if len(positions) >= 2 else []
        points = change_points.get(name, [])
        keep = {g._idx(s["version"]) for s in suspects} | {g._idx(c["version"]) for c in points}
        metrics.append(
            {
                "name": name,
                "direction": _data.bad_direction(name),
                "versions": counts[name],
                "timeline": _timeline(positions, values, spine_pos, keep | moved),
                "suspects": suspects,
                "change_points": points,
            }
        )
    recent_spine = [g.node(int(i)) for i in spine[-_RECENT_SPINE:]]
    insights, compare = explain(
        tracker, recent_spine, _data.suspects_by_version(metrics), keep=lambda _: False
    )
    detail = _detail_set(g, n, children, created, moved, insights, tip.id)
    structure = _structure_set(first, children, extra)
    kept = detail | structure
    rows, spine_rows, runs = _rows(tracker, g, first, kept, detail, spine_pos, primary)
    environments: dict[str, dict[str, Any]] = {}
    for i in sorted(detail):
        version = g.node(i)
        ref = version.environment_ref
        if ref is not None and ref not in environments:
            environments[ref] = _data._environment(tracker, version)
    return {
        "primary_metric": primary,
        "spine": [r[0] for r in spine_rows],
        "spine_positions": [r[1] for r in spine_rows],
        "spine_length": len(spine),
        "versions": rows,
        "environments": environments,
        "aliases": _data._aliases(tracker, current_aliases),
        "metrics": metrics,
        "thresholds": _data.THRESHOLDS,
        "insights": insights,
        "compare": compare,
        "analyses": _data._tables(analyses),
        "compact": {
            "versions": n,
            "detailed": len(detail),
            "stubs": len(kept) - len(detail),
            "runs": runs,
            "recent": RECENT,
            "tips": TIPS,
            "points": POINTS,
        },
    }


def _spine_indices(g: Any, first: Any, children: Any, created: Any) -> np.ndarray[Any, Any]:
    """The main line (first-parent history of the deepest tip; ties: the newest), oldest
    first, as node indices."""
    import numpy as np

    n = len(first)
    order = np.arange(n) if bool((first < np.arange(n)).all()) else _topological(g, first)
    depth_list = [0] * n
    first_list = first.tolist()
    for i in order.tolist():
        p = first_list[i]
        depth_list[i] = 1 if p < 0 else depth_list[p] + 1
    depth = np.asarray(depth_list, dtype=np.int64)
    leaves = np.flatnonzero(children == 0)
    # deepest, then newest
    best = leaves[np.lexsort((created[leaves], depth[leaves]))[-1]]
    return g.first_parent_array(g._ids[int(best)])[::-1]  # type: ignore[no-any-return]


def _topological(g: Any, first: Any) -> np.ndarray[Any, Any]:
    import numpy as np

    ids = [v.id for v in g.topological_order()]
    return np.asarray([g._idx(i) for i in ids], dtype=np.int64)


def _timeline(
    positions: list[int], values: Any, spine_pos: Mapping[int, int], keep: set[int]
) -> list[list[float]]:
    import numpy as np

    x = np.asarray([spine_pos[i] for i in positions], dtype=np.float64)
    chosen = set(lttb_arrays(x, values, POINTS))
    index_of = {node: k for k, node in enumerate(positions)}
    chosen |= {index_of[i] for i in keep if i in index_of}
    return [[int(x[k]), float(values[k])] for k in sorted(chosen)]


def _detail_set(
    g: Any,
    n: int,
    children: Any,
    created: Any,
    moved: set[int],
    insights: Mapping[str, Any],
    tip: str,
) -> set[int]:
    import numpy as np

    recent = np.argsort(created, kind="stable")[-RECENT:]
    leaves = np.flatnonzero(children == 0)
    tips = leaves[np.argsort(created[leaves], kind="stable")[-TIPS:]]
    out = set(recent.tolist()) | set(tips.tolist()) | moved | {g._idx(tip)}
    out |= {g._idx(vid) for vid in insights}
    return out


def _structure_set(first: Any, children: Any, extra: Mapping[int, tuple[int, ...]]) -> set[int]:
    """Roots, forks, tips, merges and every parent of a merge: the DAG's shape."""
    import numpy as np

    out = set(np.flatnonzero((first < 0) | (children != 1)).tolist())
    for merge, parents in extra.items():
        out.add(merge)
        out.update(parents)
    return out


def _rows(
    tracker: AnalysedTracker,
    g: Any,
    first: Any,
    kept: set[int],
    detail: set[int],
    spine_pos: Mapping[int, int],
    primary: str | None,
) -> tuple[list[dict[str, Any]], list[tuple[str, int]], int]:
    """Rows parents-first: kept versions, and one run row per elided stretch."""
    aliases_of: dict[str, list[str]] = {}
    for alias, target in tracker.aliases().items():
        aliases_of.setdefault(target.id, []).append(alias)
    with_events = set(tracker.versions_with_events())
    first_list = first.tolist()
    extra: Mapping[int, tuple[int, ...]] = g._extra
    ids = g._ids
    # Names of the stubs from the tracker's name index: a stub's record is never read
    # (reading one record of a pack maps the pack; stubs are spread over all of them).
    stub_ids = {ids[i] for i in kept - detail}
    names = {vid: name for name, vid in tracker._index.names.items() if vid in stub_ids}
    created = g._created
    # run members: every elided node, grouped along its first-parent chain
    run_of: dict[int, int] = {}
    runs: list[list[int]] = []
    for i in sorted(set(range(len(first_list))) - kept):
        p = first_list[i]
        if p >= 0 and p in run_of:
            run_of[i] = run_of[p]
            runs[run_of[i]].append(i)
        else:
            run_of[i] = len(runs)
            runs.append([i])
    run_id = [f"run-{ids[r[0]]}" for r in runs]
    rows: list[dict[str, Any]] = []
    spine_rows: list[tuple[str, int]] = []
    emitted: set[int] = set()
    order = sorted(kept | {r[-1] for r in runs})  # node index order: parents first

    def parent_ref(p: int) -> str:
        return run_id[run_of[p]] if p in run_of else ids[p]

    for i in order:
        if i in run_of:
            r = run_of[i]
            if r in emitted:
                continue
            emitted.add(r)
            members = runs[r]
            head, last = members[0], members[-1]
            p = first_list[head]
            rows.append(
                _run_row(run_id[r], members, [] if p < 0 else [parent_ref(p)], ids, created)
            )
            if last in spine_pos:
                spine_rows.append((run_id[r], spine_pos[last]))
            continue
        if i in detail:
            version = g.node(i)
            aliases = aliases_of.get(version.id, [])
            row = _data._version_row(tracker, version, aliases, with_events)
        else:
            row = _stub(tracker, g, i, with_events, primary, names)
        parents = extra.get(i) or ([] if first_list[i] < 0 else [first_list[i]])
        row["parents"] = [parent_ref(p) for p in parents]
        rows.append(row)
        if i in spine_pos:
            spine_rows.append((ids[i], spine_pos[i]))
    return rows, spine_rows, len(runs)


def _run_row(
    run_id: str, members: list[int], parents: list[str], ids: list[str], created: Any
) -> dict[str, Any]:
    from datetime import datetime, timedelta, timezone

    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)

    def when(i: int) -> str:
        return (epoch + timedelta(microseconds=created[i])).isoformat()

    # Fields a run row does not need are left out; the page fills in their defaults
    # (kind update, status committed, no metrics, aliases, annotations or tags).
    return {
        "id": run_id,
        "run": {
            "count": len(members),
            "first": ids[members[0]],
            "last": ids[members[-1]],
            "from": when(members[0]),
            "to": when(members[-1]),
        },
        "parents": parents,
        "created_at": when(members[-1]),
    }


def _stub(
    tracker: AnalysedTracker,
    g: Any,
    i: int,
    with_events: set[str],
    primary: str | None,
    names: Mapping[str, str],
) -> dict[str, Any]:
    """A version that gives the DAG its shape, from the lineage's columns alone."""
    from datetime import datetime, timedelta, timezone

    vid = g._ids[i]
    when = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=g._created[i])
    row: dict[str, Any] = {
        "id": vid,
        "stub": True,
        "short": tracker.abbrev(vid),
        "created_at": when.isoformat(),
    }
    # Defaults are left out (the page fills them in): a stub is one of tens of thousands.
    if vid in names:
        row["name"] = names[vid]
    if g._kinds[i] != "update":
        row["kind"] = g._kinds[i]
    if vid in with_events:
        row["status"] = tracker.status(vid).value
    if primary is not None:
        value = g.metric_values([i], primary)[0]
        if value is not None:
            row["metrics"] = {primary: value}
    return row
