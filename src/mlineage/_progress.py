"""A dependency-free progress line for long jobs (bytes, or items such as runs), on stderr."""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def _human(num_bytes: float) -> str:
    value, unit = float(num_bytes), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.0f} B" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"


class Progress:
    """Progress on one ``\\r``-rewritten line of stderr, shown only when it helps.

    With ``enabled=None`` the line appears only if stderr is a terminal, the environment
    variable ``MLINEAGE_PROGRESS`` is not ``"0"``, and the work has already taken ``delay``
    seconds, so quick jobs, pipes and log files stay silent. ``enabled=True`` draws from the
    start on any stream (a CI log, a test's captured stderr); ``enabled=False`` never draws.
    :meth:`update` may be called from several threads.

    Parameters
    ----------
    total : int
        Bytes (or items) expected.
    label : str
        Text before the figures, e.g. ``"hashing data/"``.
    enabled : bool or None
        See above.
    stream : TextIO or None
        Where to draw; ``sys.stderr`` (looked up when drawing) if None.
    delay : float
        Seconds of silence before an automatic (``enabled=None``) line appears.
    interval : float
        Minimum seconds between redraws.
    unit : str or None
        None counts bytes (``2.0 KiB/4.0 KiB``); a word counts items (``"runs"``:
        ``12/1000 runs``).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(2048, "copying", enabled=True, stream=out) as bar:
    ...     bar.update(1024)
    ...     bar.update(1024)
    >>> out.getvalue().splitlines()[-1].strip()
    'copying 100% 2.0 KiB/2.0 KiB'
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
        self._last_draw = -float("inf")
        self._width = 0
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
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            if self._width:
                if exc_type is None:
                    self._draw(time.monotonic())
                # End the line so whatever is printed next (a traceback, a prompt) starts
                # on a fresh one.
                self._write("\n")

    @property
    def active(self) -> bool:
        """Whether this bar may draw at all (False: :meth:`update` does nothing)."""
        return self._active

    def update(self, num_bytes: int) -> None:
        """Record ``num_bytes`` more bytes (or items) done, and redraw if it is time to."""
        if not self._active:
            return
        with self._lock:
            self.done += num_bytes
            now = time.monotonic()
            if now >= self._show_after and now - self._last_draw >= self._interval:
                self._draw(now)

    def _draw(self, now: float) -> None:
        self._last_draw = now
        elapsed = now - self._start
        pct = 100.0 * self.done / self.total if self.total else 100.0
        if self.unit is None:
            text = f"{self.label} {min(pct, 100.0):3.0f}% {_human(self.done)}/{_human(self.total)}"
            if elapsed >= 0.5:
                text += f" {_human(self.done / elapsed)}/s"
        else:
            text = f"{self.label} {min(pct, 100.0):3.0f}% {self.done}/{self.total} {self.unit}"
            if elapsed >= 0.5:
                text += f" {self.done / elapsed:.0f} {self.unit}/s"
        # Pad with spaces so a shorter line fully covers the previous, longer one.
        self._write("\r" + text.ljust(self._width))
        self._width = max(self._width, len(text))

    def _write(self, text: str) -> None:
        try:
            out = self._out()
            out.write(text)
            out.flush()
        except (OSError, ValueError):
            # A closed or broken stderr must not fail the work being reported on.
            self._active = False
