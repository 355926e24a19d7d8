"""A progress bar for long jobs (bytes, or items such as runs), on stderr, drawn by rich.

rich is imported only when a bar is actually drawn (after ``delay`` seconds on a terminal),
so quick jobs and ``import mlineage`` never pay for it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """A progress bar with speed and ETA (``rich.progress``), shown only when it helps.

    With ``enabled=None`` the bar appears only if stderr is a terminal, the environment
    variable ``MLINEAGE_PROGRESS`` is not ``"0"``, and the work has already taken ``delay``
    seconds, so quick jobs, pipes and log files stay silent. ``enabled=True`` draws from the
    start on any stream (a CI log, a test's captured stderr: there rich writes the final
    state once, at the end, without escape codes); ``enabled=False`` never draws.
    :meth:`update` may be called from several threads.

    Parameters
    ----------
    total : int
        Bytes (or items) expected.
    label : str
        Text before the bar, e.g. ``"hashing data/"``.
    enabled : bool or None
        See above.
    stream : TextIO or None
        Where to draw; ``sys.stderr`` (looked up when drawing) if None.
    delay : float
        Seconds of silence before an automatic (``enabled=None``) bar appears.
    interval : float
        Minimum seconds between redraws.
    unit : str or None
        None counts bytes (``2.0/4.0 KiB``, with the speed); a word counts items
        (``"runs"``: ``12/1000 runs``).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(2048, "copying", enabled=True, stream=out) as bar:
    ...     bar.update(1024)
    ...     bar.update(1024)
    >>> line = out.getvalue().splitlines()[-1]
    >>> "copying" in line and "100%" in line and "2.0/2.0 KiB" in line and "\x1b" not in line
    True
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        delay: float = 1.0,
        interval: float = 0.1,
        unit: str | None = None,
    ) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.done = 0
        self.unit = unit
        self._stream = stream
        self._interval = interval
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._bar: Any = None  # the rich Progress, once drawing has started
        self._task: Any = None
        if enabled is None:
            self._active = os.environ.get("MLINEAGE_PROGRESS") != "0" and self._is_tty()
            self._show_after = self._start + delay
        else:
            self._active = enabled
            self._show_after = self._start

    def _out(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def _is_tty(self) -> bool:
        try:
            return self._out().isatty()
        except (AttributeError, ValueError):
            # A replaced or closed stderr: there is no terminal to draw on.
            return False

    def __enter__(self) -> Progress:
        if self._active and time.monotonic() >= self._show_after:
            with self._lock:
                self._begin()
        return self

    def __exit__(self, *exc_info: object) -> None:
        # With or without an exception, the bar stops the same way.
        with self._lock:
            if self._bar is not None:
                # Stopping ends the line, so whatever is printed next (a traceback, a
                # prompt) starts on a fresh one.
                self._guard(self._bar.stop)
                self._bar = None

    @property
    def active(self) -> bool:
        """Whether this bar may draw at all (False: :meth:`update` does nothing)."""
        return self._active

    def update(self, num_bytes: int) -> None:
        """Record ``num_bytes`` more bytes (or items) done; the bar redraws on its own."""
        if not self._active:
            return
        with self._lock:
            self.done += num_bytes
            if self._bar is None and time.monotonic() >= self._show_after:
                self._begin()
            if self._bar is not None:
                self._guard(lambda: self._bar.update(self._task, completed=self.done))

    def _begin(self) -> None:
        # Imported here: rich costs tens of milliseconds, paid only by a bar that shows.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as RichProgress

        if self.unit is None:
            figures: list[Any] = [DownloadColumn(binary_units=True), TransferSpeedColumn()]
        else:
            figures = [MofNCompleteColumn(), TextColumn(self.unit)]
        console = Console(file=self._out(), highlight=False)
        bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            *figures,
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=max(1.0, 1.0 / max(self._interval, 1e-3)),
        )
        self._task = bar.add_task(self.label, total=self.total or None, completed=self.done)
        self._bar = bar
        self._guard(bar.start)

    def _guard(self, action: Any) -> None:
        try:
            action()
        except (OSError, ValueError):
            # A closed or broken stderr must not fail the work being reported on.
            self._active = False
            self._bar = None
