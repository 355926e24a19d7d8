"""Evidently's tests: its own environment (pandas < 3) runs them; DO_NOT_TRACK is set."""

from __future__ import annotations

import os

# Evidently reads this before it could report usage; set it before any test imports it.
os.environ.setdefault("DO_NOT_TRACK", "1")
