"""What changed between two versions: hyperparameters, metrics, data, notes, tags.

:func:`diff_versions` compares two :class:`~mlineage.records.ModelVersion` records and
needs nothing else. ``Tracker.diff`` adds what only the store knows (per-file data
changes from manifests, environment differences).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import JsonValue

import mlineage.views.html as _html
from mlineage.records import DataSnapshot, ModelVersion

__all__ = ["DictDiff", "VersionDiff", "diff_dicts", "diff_versions"]


@dataclass(frozen=True)
class DictDiff:
    """Keys added, removed and changed between two flat dicts.

    Attributes
    ----------
    added : dict
        Key -> new value.
    removed : dict
        Key -> old value.
    changed : dict
        Key -> ``(old, new)``.
    """

    added: dict[str, Any] = field(default_factory=dict)
    removed: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """Whether nothing changed."""
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "added": dict(self.added),
            "removed": dict(self.removed),
            "changed": {k: list(v) for k, v in self.changed.items()},
        }

    def lines(self, label: str) -> list[str]:
        """Readable ``+ key = value`` / ``- key`` / ``~ key: old -> new`` lines."""
        out = [f"  + {label} {k} = {v!r}" for k, v in sorted(self.added.items())]
        out += [f"  - {label} {k} (was {v!r})" for k, v in sorted(self.removed.items())]
        out += [f"  ~ {label} {k}: {a!r} -> {b!r}" for k, (a, b) in sorted(self.changed.items())]
        return out


def diff_dicts(old: dict[str, Any], new: dict[str, Any]) -> DictDiff:
    """Compare two dicts key by key (values compared with ``==``).

    Examples
    --------
    >>> d = diff_dicts({"lr": 0.1, "bs": 32}, {"lr": 0.01, "wd": 0.0})
    >>> d.added, d.removed, d.changed
    ({'wd': 0.0}, {'bs': 32}, {'lr': (0.1, 0.01)})
    """
    added = {k: v for k, v in new.items() if k not in old}
    removed = {k: v for k, v in old.items() if k not in new}
    changed = {k: (old[k], new[k]) for k in old.keys() & new.keys() if old[k] != new[k]}
    return DictDiff(added, removed, dict(sorted(changed.items())))


@dataclass(frozen=True)
class VersionDiff:
    """The difference between version ``a`` (older side) and version ``b``.

    Attributes
    ----------
    a, b : ModelVersion
    hyperparameters : DictDiff
    metrics : dict
        Metric -> ``(a value or None, b value or None, delta or None)`` for every metric
        either side has.
    dataset_changed : bool
        Whether the data snapshots' hashes differ.
    data_files : DictDiff or None
        Per-file changes (path -> sha256) when both snapshots have manifests in the store.
    rows : tuple or None
        ``(a rows, b rows)`` when either snapshot knows its row count.
    model_changed : bool or None
        Whether the checkpoints' hashes differ (None when either was not hashed).
    environment : Any
        An ``EnvironmentDiff`` when both versions captured their environment, else None.
    notes : tuple of str
    tags_added, tags_removed : tuple of str
    """

    a: ModelVersion
    b: ModelVersion
    hyperparameters: DictDiff
    metrics: dict[str, tuple[float | None, float | None, float | None]]
    dataset_changed: bool
    data_files: DictDiff | None = None
    rows: tuple[int | None, int | None] | None = None
    model_changed: bool | None = None
    environment: Any = None
    notes: tuple[str, str] = ("", "")
    tags_added: tuple[str, ...] = ()
    tags_removed: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether the two versions differ in nothing this diff compares."""
        env_empty = self.environment is None or self.environment.is_empty
        return (
            self.hyperparameters.is_empty
            and not self.dataset_changed
            and not self.model_changed
            and env_empty
            and not self.tags_added
            and not self.tags_removed
            and all(d in (None, 0.0) for _, _, d in self.metrics.values())
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole diff."""
        env = self.environment
        return {
            "a": self.a.id,
            "b": self.b.id,
            "hyperparameters": self.hyperparameters.to_dict(),
            "metrics": {k: list(v) for k, v in self.metrics.items()},
            "dataset": {
                "changed": self.dataset_changed,
                "a": _snapshot_dict(self.a.dataset),
                "b": _snapshot_dict(self.b.dataset),
                "files": None if self.data_files is None else self.data_files.to_dict(),
                "rows": None if self.rows is None else list(self.rows),
            },
            "model_changed": self.model_changed,
            "environment": None if env is None else env.to_dict(),
            "notes": list(self.notes),
            "tags_added": list(self.tags_added),
            "tags_removed": list(self.tags_removed),
        }

    def _repr_html_(self) -> str:
        return _html.diff_html(self)

    def __str__(self) -> str:
        a, b = self.a, self.b
        lines = [f"diff {a.short_id} -> {b.short_id}"]
        if self.dataset_changed:
            lines.append(
                f"  data: {a.dataset.path or '?'} ({a.dataset.hash}) -> "
                f"{b.dataset.path or '?'} ({b.dataset.hash})"
            )
            if self.data_files is not None:
                files = self.data_files
                lines.append(
                    f"  data files: {len(files.added)} added, {len(files.removed)} removed, "
                    f"{len(files.changed)} changed"
                )
                lines += files.lines("file")[:20]
            if self.rows is not None:
                lines.append(f"  rows: {self.rows[0]} -> {self.rows[1]}")
        else:
            lines.append("  data: unchanged")
        if self.model_changed is not None:
            lines.append(f"  model checkpoint: {'changed' if self.model_changed else 'same bytes'}")
        lines += self.hyperparameters.lines("hyperparameter")
        for name, (va, vb, delta) in self.metrics.items():
            if delta is None:
                lines.append(f"  metric {name}: {va} -> {vb}")
            else:
                lines.append(f"  metric {name}: {va:.6g} -> {vb:.6g} ({delta:+.6g})")
        if self.environment is not None and not self.environment.is_empty:
            lines += ["  " + line for line in str(self.environment).splitlines()]
        if self.tags_added or self.tags_removed:
            lines.append(f"  tags: +{list(self.tags_added)} -{list(self.tags_removed)}")
        if self.notes[1] and self.notes[0] != self.notes[1]:
            lines.append(f"  notes: {self.notes[1]}")
        return "\n".join(lines)


def _snapshot_dict(snapshot: DataSnapshot) -> dict[str, JsonValue]:
    return {"path": snapshot.path, "hash": snapshot.hash, "num_rows": snapshot.num_rows}


def diff_versions(a: ModelVersion, b: ModelVersion) -> VersionDiff:
    """Compare two versions' records (no store access).

    Parameters
    ----------
    a : ModelVersion
        The reference side (usually the older version or the parent).
    b : ModelVersion
        The side being explained.

    Returns
    -------
    VersionDiff
    """
    metrics: dict[str, tuple[float | None, float | None, float | None]] = {}
    for name in list(a.metrics) + [m for m in b.metrics if m not in a.metrics]:
        va, vb = a.metrics.get(name), b.metrics.get(name)
        metrics[name] = (va, vb, None if va is None or vb is None else vb - va)
    rows = None
    if a.dataset.num_rows is not None or b.dataset.num_rows is not None:
        rows = (a.dataset.num_rows, b.dataset.num_rows)
    model_changed = None
    if a.model_artifact is not None and b.model_artifact is not None:
        model_changed = a.model_artifact.hash != b.model_artifact.hash
    return VersionDiff(
        a=a,
        b=b,
        hyperparameters=diff_dicts(dict(a.hyperparameters), dict(b.hyperparameters)),
        metrics=metrics,
        dataset_changed=a.dataset.hash != b.dataset.hash,
        rows=rows,
        model_changed=model_changed,
        notes=(a.notes, b.notes),
        tags_added=tuple(t for t in b.tags if t not in a.tags),
        tags_removed=tuple(t for t in a.tags if t not in b.tags),
    )
