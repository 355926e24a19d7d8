"""``tracker.bisect``: binary search for the first bad version, like ``git bisect``.

Given a known-good version and a known-bad one on its first-parent history, and a test
that says whether a version is good, find the first bad version with ``ceil(log2 n)``
evaluations for the ``n`` versions after the good one (the bad one included). A version the
test cannot judge (it returns None or raises :class:`~mlineage.errors.Untestable`), or one
listed in ``skip``, is skipped as ``git bisect skip`` does: the search tests the untested
version nearest the middle instead; if only skipped versions remain between the last good
and the first bad ones, the answer is ambiguous and every one of them is a candidate.

The test's answer is read strictly: True or False (Python or numpy booleans) or None.
Anything else — the string ``"False"``, a process exit code (0 means good to ``git bisect
run`` but is falsy to Python), a 0-d array — stops the search with
:class:`~mlineage.errors.InvalidInput` naming the value, rather than being read by its
truthiness. ``mlineage bisect run`` maps a command's exit status itself, as ``git bisect
run`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlineage.errors import InvalidInput, Untestable
from mlineage.records import ModelVersion

if TYPE_CHECKING:
    from mlineage._tracker_protocol import TrackerLike
    from mlineage.refs import Ref

__all__ = ["BisectResult", "bisect"]

#: ``test(version)``: True (a bool or numpy bool) when the version is good, False when
#: bad, None (or raising Untestable) when it cannot be judged; anything else is an error.
Test = Callable[[ModelVersion], "bool | None"]


@dataclass(frozen=True)
class BisectResult:
    """The outcome of a bisection.

    Attributes
    ----------
    good, bad : ModelVersion
        The versions the search started from.
    first_bad : ModelVersion
        The earliest version known to be bad: the answer when not ``ambiguous``.
    candidates : list of ModelVersion
        The versions that may be the first bad one, oldest first: ``[first_bad]``, or
        with skips the untested versions before it too.
    evaluated : list of (ModelVersion, bool or None)
        Every version the test ran on, in order, with its outcome (None: untestable).
    skipped : list of ModelVersion
        Versions skipped (untestable, or listed in ``skip``), in the order met.
    ambiguous : bool
        Skipped versions hide which of ``candidates`` is the first bad one.
    steps : int
        Versions after ``good`` up to ``bad``: ``ceil(log2 steps)`` evaluations without skips.
    """

    good: ModelVersion
    bad: ModelVersion
    first_bad: ModelVersion
    candidates: list[ModelVersion]
    evaluated: list[tuple[ModelVersion, bool | None]]
    skipped: list[ModelVersion]
    ambiguous: bool
    steps: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "good": self.good.id,
            "bad": self.bad.id,
            "first_bad": self.first_bad.id,
            "first_bad_name": self.first_bad.name,
            "ambiguous": self.ambiguous,
            "candidates": [v.id for v in self.candidates],
            "evaluated": [
                {"version": v.id, "name": v.name, "good": outcome} for v, outcome in self.evaluated
            ],
            "skipped": [v.id for v in self.skipped],
            "steps": self.steps,
        }

    def __str__(self) -> str:
        def label(v: ModelVersion) -> str:
            return v.short_id + (f" ({v.name})" if v.name else "")

        if self.ambiguous:
            head = (
                f"only skipped versions are left: the first bad version is one of "
                f"{', '.join(label(v) for v in self.candidates)}"
            )
        else:
            head = f"first bad version: {label(self.first_bad)}"
        lines = [head, f"{len(self.evaluated)} evaluation(s) over {self.steps} version(s):"]
        for v, outcome in self.evaluated:
            word = "untestable" if outcome is None else ("good" if outcome else "bad")
            lines.append(f"  {label(v)}  {word}")
        return "\n".join(lines)


def bisect(
    tracker: TrackerLike, good: Ref, bad: Ref, test: Test, *, skip: Iterable[Ref] = ()
) -> BisectResult:
    """The first bad version on the first-parent path from ``good`` to ``bad``
    (``tracker.bisect``).

    A binary search like ``git bisect``: ``test(version)`` returns True when the version
    is good, False when bad, None (or raises ``mlineage.analysis.Untestable``) to skip
    it, as are the versions in ``skip``; at most ``ceil(log2 n)`` tests without skips.
    See docs/analysis.md.

    Returns
    -------
    BisectResult
        The first bad version, the versions tested with their outcomes, the skipped ones,
        and whether skips left the answer ambiguous.

    Raises
    ------
    InvalidInput
        ``test`` is not callable (raised before any evaluation); ``good`` is not a
        first-parent ancestor of ``bad``; ``test`` returned something other than a bool,
        a numpy bool or None (the message names the value and its type: the string
        ``"False"`` or an exit code is not read by its truthiness).
    """
    if not callable(test):
        raise InvalidInput(
            f"bisect's test must be callable (a function of a ModelVersion returning True "
            f"for good, False for bad, None to skip), got {_shown(test)}"
        )
    reads = tracker._reads
    good_v, bad_v = reads.version(good), reads.version(bad)
    path = reads.history_versions(bad_v)
    ids = [v.id for v in path]
    if good_v.id == bad_v.id or good_v.id not in ids:
        raise InvalidInput(
            f"good version {good_v.short_id} is not an ancestor of bad version "
            f"{bad_v.short_id} along first parents; bisect searches the first-parent path "
            "from a good version to a later bad one"
        )
    candidates = path[ids.index(good_v.id) + 1 :]
    skip_ids = {reads.version(r).id for r in skip}
    untestable: set[int] = set()
    evaluated: list[tuple[ModelVersion, bool | None]] = []
    skipped: list[ModelVersion] = []
    lo, hi = 0, len(candidates) - 1  # the first bad one is in [lo, hi]; hi is bad
    while lo < hi:
        mid = _nearest_untested((lo + hi) // 2, lo, hi, untestable)
        if mid is None:
            break
        version = candidates[mid]
        outcome: bool | None
        if version.id in skip_ids:
            outcome = None
        else:
            try:
                outcome = _outcome(test(version), version)
            except Untestable:
                outcome = None
            evaluated.append((version, outcome))
        if outcome is None:
            untestable.add(mid)
            skipped.append(version)
        elif outcome:
            lo = mid + 1
        else:
            hi = mid
    return BisectResult(
        good=good_v,
        bad=bad_v,
        first_bad=candidates[hi],
        candidates=candidates[lo : hi + 1],
        evaluated=evaluated,
        skipped=skipped,
        ambiguous=lo < hi,
        steps=len(candidates),
    )


def _nearest_untested(mid: int, lo: int, hi: int, untestable: set[int]) -> int | None:
    """The index in [lo, hi) nearest ``mid`` (earlier first) that was not found untestable."""
    for distance in range(hi - lo):
        for i in (mid - distance, mid + distance):
            if lo <= i < hi and i not in untestable:
                return i
    return None


def _outcome(result: object, version: ModelVersion) -> bool | None:
    """The test's answer: a bool, a numpy bool or None; anything else is InvalidInput."""
    if result is None:
        return None
    if isinstance(result, (bool, np.bool_)):
        return bool(result)
    label = version.short_id + (f" ({version.name})" if version.name else "")
    raise InvalidInput(
        f"bisect's test returned {_shown(result)} for version {label}; it must return True "
        "(good), False (bad) or None (skip), or raise Untestable. Truthiness is not "
        "guessed: the string 'False' is truthy and an exit code of 0 means good. For a "
        "process's exit status return `status == 0`, or use `mlineage bisect run`, which "
        "reads it as git bisect run does (0 good, 125 skip, 1-127 bad)"
    )


def _shown(value: object) -> str:
    """``repr`` (shortened) and the type, for messages about a value of the wrong kind."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    kind = type(value)
    module = "" if kind.__module__ == "builtins" else kind.__module__ + "."
    return f"{text} ({module}{kind.__qualname__})"
