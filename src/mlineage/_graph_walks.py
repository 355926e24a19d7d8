"""Walks of the lineage graph's parent column over *runs* of nodes, not nodes.

Most nodes are the first child of the node just before them (a training line logs one
version after another), so these walks step over runs of such nodes: a run starts at
node ``a`` and goes on while ``first[i] == i - 1``. Walking up from a node in a run
reaches every node of the run below it, then ``first[a]``; walking down reaches every
node above it. A walk keeps ranges of node numbers, not nodes, and :func:`ranges` turns
them into one numpy array: a main line of 10^6 versions with a branch every 50 is about
40,000 steps in Python instead of 10^6. A graph whose lines interleave node by node
(two branches logged in turns) has runs of one node: where runs are that short
(:func:`short_runs`), stepping a node at a time is cheaper (:func:`chain_nodes`,
:func:`reach_nodes`).

``first`` is :class:`~mlineage._graph_columns.GraphColumns`' first-parent column (an
``array("q")``, -1 for a root) and ``extra`` its merges (node -> every parent, first
parent first).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Children",
    "chain_nodes",
    "chain_ranges",
    "ranges",
    "reach_nodes",
    "reach_ranges",
    "run_starts",
    "short_runs",
]


class Children:
    """Each node's children, in the order they were linked.

    One int per node (its first child, -1 for none) and a list only for the nodes with
    more than one child (branch points), instead of a list per node: 8 bytes a version
    rather than about 90. ``children[node]`` is a tuple of node numbers, oldest link first.
    """

    __slots__ = ("_first", "_more")

    def __init__(self) -> None:
        self._first = array("q")  # first child, -1 for none
        self._more: dict[int, list[int]] = {}  # every child of a node with more than one

    def __len__(self) -> int:
        return len(self._first)

    def __getitem__(self, node: int) -> tuple[int, ...]:
        child = self._first[node]
        if child < 0:
            return ()
        more = self._more.get(node)
        return (child,) if more is None else tuple(more)

    def grow(self, count: int) -> None:
        """Add ``count`` nodes without children."""
        self._first.extend(array("q", [-1]) * count)

    def truncate(self, size: int) -> None:
        """Keep the first ``size`` nodes (the others have no children)."""
        del self._first[size:]

    def add(self, parent: int, child: int) -> None:
        """Link ``child`` as the newest child of ``parent``."""
        first = self._first
        if first[parent] < 0:
            first[parent] = child
            return
        more = self._more.get(parent)
        if more is None:
            self._more[parent] = [first[parent], child]
        else:
            more.append(child)

    def counts(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """How many children each node has."""
        import numpy as np

        counts = (np.frombuffer(self._first, dtype=np.int64) >= 0).astype(np.int64)
        for node, more in self._more.items():
            counts[node] = len(more)
        return counts

    def leaves(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The nodes without children, ascending."""
        import numpy as np

        return np.flatnonzero(np.frombuffer(self._first, dtype=np.int64) < 0)

    def edges(self) -> int:
        """How many parent -> child links there are."""
        linked = len(self._first) - self._first.count(-1)
        return linked + sum(len(more) - 1 for more in self._more.values())


#: Runs shorter than this on average are walked node by node (a step over a run costs
#: about as much as this many steps over nodes).
SHORT_RUN = 8


def run_starts(first: array[int]) -> list[int]:
    """Node numbers where a run starts, ascending (node 0 always does)."""
    import numpy as np  # numpy is not imported at `import mlineage`

    column = np.frombuffer(first, dtype=np.int64)
    breaks = column != np.arange(-1, len(column) - 1, dtype=np.int64)
    del column  # the view pins the column's buffer (an append would fail while it lives)
    breaks[:1] = True
    return np.flatnonzero(breaks).tolist()  # type: ignore[no-any-return]


def short_runs(starts: list[int], count: int) -> bool:
    """Whether runs (``starts`` of ``count`` nodes) are too short to walk run by run."""
    return len(starts) * SHORT_RUN > count


def chain_nodes(first: array[int], start: int) -> list[int]:
    """``start``'s first-parent chain, node by node, newest first."""
    chain = [start]
    append = chain.append
    i = first[start]
    while i >= 0:
        append(i)
        i = first[i]
    return chain


def reach_nodes(
    first: array[int],
    extra: dict[int, tuple[int, ...]],
    children: Children,
    start: int,
    upward: bool,
) -> set[int]:
    """Every node reachable from ``start`` (itself excluded), node by node."""
    seen: set[int] = set()
    if upward:
        links = extra.get(start)
        stack = list(links) if links is not None else ([first[start]] if first[start] >= 0 else [])
        add, pop, extend, append = seen.add, stack.pop, stack.extend, stack.append
        while stack:
            node = pop()
            if node not in seen:
                add(node)
                links = extra.get(node)
                if links is not None:
                    extend(links)
                elif first[node] >= 0:
                    append(first[node])
        return seen
    stack = list(children[start])
    add, pop, extend = seen.add, stack.pop, stack.extend
    while stack:
        node = pop()
        if node not in seen:
            add(node)
            extend(children[node])
    return seen


def chain_ranges(first: array[int], starts: list[int], start: int) -> tuple[list[int], list[int]]:
    """``start``'s first-parent chain as ranges from ``his[k]`` down to ``los[k]``, newest
    range first (``starts``: :func:`run_starts`)."""
    los: list[int] = []
    his: list[int] = []
    i = start
    while i >= 0:
        run = starts[bisect_right(starts, i) - 1]
        his.append(i)
        los.append(run)
        i = first[run]
    return los, his


def reach_ranges(
    first: array[int],
    extra: dict[int, tuple[int, ...]],
    starts: list[int],
    start: int,
    upward: bool,
) -> tuple[list[int], list[int]]:
    """Every node reachable from ``start`` (itself included; up: through parents, down:
    through children) as disjoint ranges ``los[k]`` to ``his[k]``, the first holding
    ``start`` (at its top going up, at its bottom going down), the rest in any order
    (``starts``: :func:`run_starts`)."""
    if upward:
        return _up(first, extra, starts, start)
    return _down(first, extra, starts, start)


def _up(
    first: array[int], extra: dict[int, tuple[int, ...]], starts: list[int], start: int
) -> tuple[list[int], list[int]]:
    merges = sorted(extra)
    los: list[int] = []
    his: list[int] = []
    top: dict[int, int] = {}  # run -> the highest node reached in it
    stack = [start]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        x = pop()
        run = starts[bisect_right(starts, x) - 1]
        reached = top.get(run, run - 1)
        if x <= reached:
            continue
        top[run] = x
        los.append(reached + 1)
        his.append(x)
        if reached < run and first[run] >= 0:  # the run's first visit: go on below it
            push(first[run])
        for merge in merges[bisect_left(merges, reached + 1) : bisect_right(merges, x)]:
            extend(extra[merge][1:])  # its first parent is in the run, or below it
    return los, his


def _down(
    first: array[int], extra: dict[int, tuple[int, ...]], starts: list[int], start: int
) -> tuple[list[int], list[int]]:
    import numpy as np

    count = len(first)
    # The children that do not continue their parent's run, sorted by parent: runs that
    # start below a parent, and merges through their other parents.
    runs = np.asarray(starts, dtype=np.int64)
    column = np.frombuffer(first, dtype=np.int64)
    parents = column[runs]
    del column
    branching = parents >= 0
    runs, parents = runs[branching], parents[branching]
    order = np.argsort(parents, kind="stable")
    run_parent: list[int] = parents[order].tolist()
    run_child: list[int] = runs[order].tolist()
    pairs = sorted((parent, merge) for merge, links in extra.items() for parent in links[1:])
    merge_parent = [parent for parent, _ in pairs]
    merge_child = [merge for _, merge in pairs]
    los: list[int] = []
    his: list[int] = []
    bottom: dict[int, int] = {}  # run -> the lowest node reached in it
    stack = [start]
    pop, extend = stack.pop, stack.extend
    while stack:
        y = pop()
        k = bisect_right(starts, y) - 1
        below = bottom.get(starts[k])
        if below is None:
            below = starts[k + 1] if k + 1 < len(starts) else count
        if y >= below:
            continue
        bottom[starts[k]] = y
        los.append(y)
        his.append(below - 1)
        extend(run_child[bisect_left(run_parent, y) : bisect_left(run_parent, below)])
        extend(merge_child[bisect_left(merge_parent, y) : bisect_left(merge_parent, below)])
    return los, his


def ranges(
    los: Sequence[int], his: Sequence[int], *, descending: bool
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The ranges ``los[k]..his[k]`` one after another, each going up (or each going down),
    as one int64 array; an empty range (``his[k] < los[k]``) adds nothing."""
    import numpy as np

    lo = np.asarray(los, dtype=np.int64)
    hi = np.asarray(his, dtype=np.int64)
    lengths = np.maximum(hi - lo + 1, 0)
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    # position p of range k, which begins at b = ends[k] - lengths[k], holds
    # hi[k] - (p - b) going down and lo[k] + (p - b) going up
    if descending:
        return np.repeat(hi + ends - lengths, lengths) - np.arange(total, dtype=np.int64)
    return np.repeat(lo - ends + lengths, lengths) + np.arange(total, dtype=np.int64)
