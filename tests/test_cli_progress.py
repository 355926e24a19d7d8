"""The progress bar of long jobs (hashing, archiving, imports): rich, with an ETA."""

from __future__ import annotations

import io
import os
import pty
import threading

import pytest

from mlineage._progress import Progress


def test_a_bar_shows_percent_size_speed_and_eta_and_ends_its_line() -> None:
    out = io.StringIO()
    with Progress(4096, "hashing data/", enabled=True, stream=out) as bar:
        for _ in range(4):
            bar.update(1024)
    text = out.getvalue()
    assert text.endswith("\n") and "\x1b" not in text  # not a terminal: no escape codes
    line = text.splitlines()[-1]
    for part in ("hashing data/", "100%", "4.0/4.0 KiB", "/s", "ETA"):
        assert part in line, part


def test_items_are_counted_with_their_unit() -> None:
    out = io.StringIO()
    with Progress(10, "importing", enabled=True, stream=out, unit="runs") as bar:
        bar.update(3)
    line = out.getvalue().splitlines()[-1]
    assert "3/10 runs" in line and "30%" in line and "ETA" in line


def test_quick_jobs_pipes_and_mlineage_progress_0_stay_silent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    with Progress(100, "x", stream=out) as bar:  # automatic, and not a terminal
        bar.update(100)
    assert not bar.active and out.getvalue() == ""
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        with Progress(100, "x", stream=terminal, delay=60) as bar:  # a quick job
            bar.update(100)
        assert bar.active
        monkeypatch.setenv("MLINEAGE_PROGRESS", "0")
        assert not Progress(100, "x", stream=terminal).active
    os.set_blocking(leader, False)
    try:
        assert os.read(leader, 1024) == b""
    except OSError:  # nothing was written: EAGAIN, or EIO once the terminal is closed
        pass
    finally:
        os.close(leader)


def test_on_a_terminal_the_bar_is_drawn_live() -> None:
    leader, follower = pty.openpty()
    with (
        os.fdopen(follower, "w") as terminal,
        Progress(2048, "archiving", stream=terminal, delay=0) as bar,
    ):
        bar.update(1024)
        bar.update(1024)
    drawn = b""
    os.set_blocking(leader, False)
    try:
        while chunk := os.read(leader, 65536):
            drawn += chunk
    except (BlockingIOError, OSError):
        pass
    os.close(leader)
    assert b"archiving" in drawn and b"ETA" in drawn and b"\x1b[" in drawn


def test_updates_from_several_threads_all_count() -> None:
    out = io.StringIO()
    with Progress(4000, "x", enabled=True, stream=out, unit="items") as bar:
        threads = [
            threading.Thread(target=lambda: [bar.update(1) for _ in range(1000)]) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert bar.done == 4000 and "4000/4000 items" in out.getvalue()


def test_a_closed_stream_does_not_fail_the_work() -> None:
    out = io.StringIO()
    bar = Progress(10, "x", enabled=True, stream=out)
    with bar:
        bar.update(1)
        out.close()
        bar.update(5)
        bar.update(4)
    assert not bar.active  # drawing stopped, and no error reached the work
