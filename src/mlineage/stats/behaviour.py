"""Behavioural change between two models on the same examples: churn, flips, compatibility.

Every function compares predictions on the same rows, in the same order. The true labels,
when a measure needs them, come first (``y_true``, then ``old``, then ``new``), as in
scikit-learn. Definitions follow the literature named on each function; docs/behaviour.md
collects them with the edge-case conventions:

- Inputs are 1-D with at least one row, all of the same length; anything else raises
  :class:`~mlineage.errors.InvalidInput`. A rate over zero examples is undefined, so an
  empty input is an error rather than ``nan``.
- Labels are compared with ``==``. Numbers against text (``1`` against ``"1"``) raise
  :class:`~mlineage.errors.InvalidInput`, because numpy would silently call them all
  different. ``nan`` in labels or predictions raises too: a missing prediction is not a
  class.
- Backward trust compatibility with no correct old prediction is ``1.0`` ("nothing to
  break"), the same vacuous answer the negative flip rate gives (``0.0``).
"""

import mlineage.stats._behaviour as _behaviour
from mlineage.stats._behaviour import *  # noqa: F403
from mlineage.stats._behaviour import GroupLabel as GroupLabel

__all__: list[str] = []
__all__ += _behaviour.__all__
