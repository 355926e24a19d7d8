"""What fsck found: :class:`Problem` and :class:`FsckReport`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import mlineage.views.html as _html

__all__ = ["FsckReport", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a store.

    Attributes
    ----------
    kind : str
        A short stable string (see the module docstring), e.g. ``"corrupt-record"``.
    key : str
        The store key (or, for a temporary file, the path relative to the store root)
        the problem is about.
    message : str
        What is wrong, in a sentence.
    """

    kind: str
    key: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """``{"kind": ..., "key": ..., "message": ...}``."""
        return {"kind": self.kind, "key": self.key, "message": self.message}

    def __str__(self) -> str:
        return f"{self.kind}: {self.key}: {self.message}"


@dataclass
class FsckReport:
    """What :func:`fsck` found (and removed).

    Attributes
    ----------
    store : str
        URI of the store checked.
    problems : list of Problem
        Every problem found, grouped by model, in the order they were found.
    removed : list of str
        Temporary files removed by ``repair=True`` (paths relative to the store root),
        and incomplete uploads it aborted.
    checked : dict of str to int
        How many models, versions, events, packs, name claims, blobs and temporary files
        were looked at.
    """

    store: str
    problems: list[Problem] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def counts(self) -> dict[str, int]:
        """Problem kind -> how many, sorted by kind."""
        return dict(sorted(Counter(p.kind for p in self.problems).items()))

    def summary(self) -> str:
        """One line: what was checked, how many problems of which kinds, what was removed."""
        checked = ", ".join(
            f"{n} {what if n != 1 else what.removesuffix('s')}" for what, n in self.checked.items()
        )
        if self.ok:
            verdict = "no problems"
        else:
            kinds = ", ".join(f"{n} {kind}" for kind, n in self.counts.items())
            plural = "s" if len(self.problems) != 1 else ""
            verdict = f"{len(self.problems)} problem{plural} ({kinds})"
        line = f"{self.store}: checked {checked}: {verdict}"
        if self.removed:
            plural = "s" if len(self.removed) != 1 else ""
            line += f"; removed {len(self.removed)} temporary file{plural} or upload{plural}"
        return line

    def _repr_html_(self) -> str:
        return _html.fsck_html(self)

    def __str__(self) -> str:
        return "\n".join([*(str(p) for p in self.problems), self.summary()])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: store, ok, checked, counts, problems, removed."""
        return {
            "store": self.store,
            "ok": self.ok,
            "checked": dict(self.checked),
            "counts": self.counts,
            "problems": [p.to_dict() for p in self.problems],
            "removed": list(self.removed),
        }
