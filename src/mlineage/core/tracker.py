"""The prototype's ``mlineage.core.tracker``: :class:`~mlineage.tracker.Tracker`."""

from mlineage.tracker import Tracker

__all__ = ["Tracker"]
